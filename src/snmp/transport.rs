//! Requests over UDP (IPv4 or IPv6) on smol: one socket per session, a timeout per attempt
//! and a number of retries, request ids matched. A datagram from another address, with
//! another request id, another community or that does not decode is not an answer: it is
//! ignored and the wait goes on until the deadline.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use smol::{future, Async, Timer};

use super::message::{self, Credential, Pdu, Version};
use super::{Oid, SnmpError, Value};

/// Default receive buffer: the largest UDP payload over IPv4.
pub const MAX_DATAGRAM: usize = 65_507;
/// Most stray datagrams one request waits through before it gives up (a flood must not keep
/// it busy past its deadline either: the deadline still holds).
const MAX_STRAYS: usize = 256;

#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Wait for one attempt.
    pub timeout: Duration,
    /// Attempts after the first.
    pub retries: u32,
    /// GETBULK max-repetitions in walks.
    pub max_repetitions: u32,
    /// Largest answer read; a longer one is cut and fails to decode. Discovery reads only a
    /// few short values and keeps this small, for memory with many requests in flight.
    pub recv_buffer: usize,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            timeout: Duration::from_secs(1),
            retries: 0,
            max_repetitions: 10,
            recv_buffer: MAX_DATAGRAM,
        }
    }
}

pub struct Session {
    socket: Async<UdpSocket>,
    peer: SocketAddr,
    pub cred: Credential,
    pub opts: SessionOptions,
    next_id: i32,
    /// Whether GETBULK works with this agent: unknown until a walk tried it.
    pub bulk: Option<bool>,
}

fn same_peer(a: SocketAddr, b: SocketAddr) -> bool {
    let canon = |s: SocketAddr| match s {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::from((v4, v6.port())),
            None => s,
        },
        v4 => v4,
    };
    canon(a) == canon(b)
}

impl Session {
    pub fn open(
        peer: SocketAddr,
        cred: Credential,
        opts: SessionOptions,
    ) -> Result<Session, SnmpError> {
        let local: SocketAddr = if peer.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = Async::<UdpSocket>::bind(local).map_err(|e| SnmpError::Io(e.to_string()))?;
        Ok(Session {
            socket,
            peer,
            cred,
            opts,
            next_id: (crate::core::random::u64() & 0x3fff_ffff) as i32,
            bulk: None,
        })
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    pub fn version(&self) -> Version {
        self.cred.version
    }

    fn take_id(&mut self) -> i32 {
        let id = self.next_id;
        self.next_id = if id >= i32::MAX - 1 { 1 } else { id + 1 };
        id
    }

    /// Sends `pdu` (its request id is set here) and waits for the matching response.
    pub async fn exchange(&mut self, mut pdu: Pdu) -> Result<Pdu, SnmpError> {
        pdu.request_id = self.take_id();
        let datagram = message::encode(&self.cred, &pdu);
        for _attempt in 0..=self.opts.retries {
            self.socket
                .send_to(&datagram, self.peer)
                .await
                .map_err(|e| SnmpError::Io(e.to_string()))?;
            let deadline = Instant::now() + self.opts.timeout;
            if let Some(answer) = self.receive(pdu.request_id, deadline).await? {
                return Ok(answer);
            }
        }
        Err(SnmpError::Timeout)
    }

    /// The response to `id` arriving before `deadline`, or `None`.
    async fn receive(&self, id: i32, deadline: Instant) -> Result<Option<Pdu>, SnmpError> {
        let mut buf = vec![0u8; self.opts.recv_buffer.clamp(484, MAX_DATAGRAM)];
        for _ in 0..MAX_STRAYS {
            let recv = async { Some(self.socket.recv_from(&mut buf).await) };
            let timer = async {
                Timer::at(deadline).await;
                None
            };
            let (n, from) = match future::or(recv, timer).await {
                None => return Ok(None),
                Some(Ok(r)) => r,
                // ICMP port unreachable surfaces as ECONNREFUSED on some systems: no agent.
                Some(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    return Ok(None)
                }
                Some(Err(e)) => return Err(SnmpError::Io(e.to_string())),
            };
            if !same_peer(from, self.peer) {
                log::debug!("SNMP: ignored a datagram from {from} (asked {})", self.peer);
                continue;
            }
            match message::decode(&buf[..n]) {
                Ok(m)
                    if m.pdu.request_id == id
                        && m.pdu.kind == message::RESPONSE
                        && m.version == self.cred.version
                        && m.security == self.cred.security =>
                {
                    return Ok(Some(m.pdu));
                }
                Ok(m) => log::debug!(
                    "SNMP: ignored a message from {from} (request id {}, expected {id})",
                    m.pdu.request_id
                ),
                Err(e) => log::debug!("SNMP: ignored a datagram from {from}: {e}"),
            }
        }
        Ok(None)
    }

    fn check(pdu: Pdu, asked: usize) -> Result<Vec<(Oid, Value)>, SnmpError> {
        if pdu.error_status != 0 {
            return Err(SnmpError::Status {
                status: pdu.error_status,
                index: pdu.error_index,
            });
        }
        if pdu.varbinds.len() < asked {
            return Err(SnmpError::Unexpected("fewer values than asked"));
        }
        Ok(pdu.varbinds)
    }

    /// GET. With v1, an OID the agent lacks fails the whole request (noSuchName): it is left
    /// out and the rest asked again, so that the answer has one entry per OID as with v2c.
    pub async fn get(&mut self, oids: &[Oid]) -> Result<Vec<(Oid, Value)>, SnmpError> {
        let mut missing = vec![false; oids.len()];
        for _ in 0..=oids.len() {
            let ask: Vec<Oid> = oids
                .iter()
                .zip(&missing)
                .filter(|(_, m)| !**m)
                .map(|(o, _)| o.clone())
                .collect();
            if ask.is_empty() {
                break;
            }
            let pdu = self.exchange(Pdu::request(message::GET, 0, &ask)).await?;
            match Self::check(pdu, ask.len()) {
                Ok(values) => {
                    let mut values = values.into_iter();
                    return Ok(oids
                        .iter()
                        .zip(&missing)
                        .map(|(o, m)| match m {
                            true => (o.clone(), Value::NoSuchObject),
                            false => values.next().unwrap_or((o.clone(), Value::NoSuchObject)),
                        })
                        .collect());
                }
                Err(SnmpError::Status { status: 2, index }) if index >= 1 => {
                    // The index counts among the OIDs asked this time.
                    let Some(pos) = missing
                        .iter()
                        .enumerate()
                        .filter(|(_, m)| !**m)
                        .nth((index - 1) as usize)
                        .map(|(i, _)| i)
                    else {
                        return Err(SnmpError::Unexpected("error index out of range"));
                    };
                    missing[pos] = true;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(oids
            .iter()
            .map(|o| (o.clone(), Value::NoSuchObject))
            .collect())
    }

    /// GETNEXT; v1's noSuchName (the end of the MIB) is an empty answer.
    pub async fn get_next(&mut self, oids: &[Oid]) -> Result<Vec<(Oid, Value)>, SnmpError> {
        let pdu = self
            .exchange(Pdu::request(message::GET_NEXT, 0, oids))
            .await?;
        match Self::check(pdu, oids.len()) {
            Err(SnmpError::Status { status: 2, .. }) if self.version() == Version::V1 => {
                Ok(Vec::new())
            }
            r => r,
        }
    }

    /// GETBULK (v2c only).
    pub async fn get_bulk(
        &mut self,
        oids: &[Oid],
        non_repeaters: u32,
        max_repetitions: u32,
    ) -> Result<Vec<(Oid, Value)>, SnmpError> {
        if self.version() == Version::V1 {
            return Err(SnmpError::Unsupported("GETBULK with SNMPv1".into()));
        }
        let pdu = self
            .exchange(Pdu::bulk(
                0,
                i64::from(non_repeaters),
                i64::from(max_repetitions),
                oids,
            ))
            .await?;
        let r = Self::check(pdu, 0)?;
        Ok(r)
    }
}
