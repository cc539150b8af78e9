//! Requests over UDP (IPv4 or IPv6) on smol: one socket per session, a timeout per attempt
//! and a number of retries, request ids matched. A datagram from another address, with
//! another request id, another community or that does not decode is not an answer: it is
//! ignored and the wait goes on until the deadline.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use smol::{future, Async, Timer};

use super::message::{self, Credential, Incoming, Pdu, Security, Version};
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
    /// v3: the user-based security model's state (engine, keys, counters).
    #[cfg(feature = "snmpv3")]
    usm: Option<super::usm::Usm>,
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
        #[cfg(feature = "snmpv3")]
        let usm = match &cred.security {
            Security::Usm(u) => Some(super::usm::Usm::new((**u).clone())?),
            Security::Community(_) => None,
        };
        #[cfg(not(feature = "snmpv3"))]
        if matches!(cred.security, Security::Usm(_)) {
            return Err(SnmpError::Unsupported(
                "SNMPv3: this build has no SNMPv3 (built without the snmpv3 feature)".into(),
            ));
        }
        let socket = Async::<UdpSocket>::bind(local).map_err(|e| SnmpError::Io(e.to_string()))?;
        Ok(Session {
            socket,
            peer,
            cred,
            opts,
            next_id: (crate::core::random::u64() & 0x3fff_ffff) as i32,
            bulk: None,
            #[cfg(feature = "snmpv3")]
            usm,
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
        #[cfg(feature = "snmpv3")]
        if self.usm.is_some() {
            return self.exchange_v3(pdu).await;
        }
        let datagram = message::encode(&self.cred, &pdu);
        let (id, cred) = (pdu.request_id, &self.cred);
        let got = send_and_wait(
            &self.socket,
            self.peer,
            &self.opts,
            &datagram,
            &mut |data| match message::decode(data) {
                Ok(m)
                    if m.pdu.request_id == id
                        && m.pdu.kind == message::RESPONSE
                        && m.version == cred.version
                        && m.security == cred.security =>
                {
                    Some(Ok(Incoming {
                        msg_id: 0,
                        engine_id: Vec::new(),
                        boots: 0,
                        time: 0,
                        pdu: m.pdu,
                    }))
                }
                Ok(m) => {
                    log::debug!(
                        "SNMP: ignored a message (request id {}, expected {id})",
                        m.pdu.request_id
                    );
                    None
                }
                Err(e) => {
                    log::debug!("SNMP: ignored a datagram: {e}");
                    None
                }
            },
        )
        .await?;
        Ok(got.pdu)
    }

    /// v3: discovers the engine first, then sends; a report that the time is off or the engine
    /// changed is acted on once, any other report is the error it names.
    #[cfg(feature = "snmpv3")]
    async fn exchange_v3(&mut self, pdu: Pdu) -> Result<Pdu, SnmpError> {
        use super::usm::{report_action, ReportAction};
        let Session {
            socket,
            peer,
            opts,
            usm,
            ..
        } = self;
        let Some(usm) = usm.as_mut() else {
            return Err(SnmpError::Unsupported("no USM state".into()));
        };
        let (mut resynced, mut rediscovered) = (false, false);
        loop {
            if !usm.knows_engine() {
                let (id, probe) = usm.discovery();
                let m = send_and_wait(socket, *peer, opts, &probe, &mut |data| {
                    v3_match(usm.decode(data), id)
                })
                .await?;
                usm.learn(&m)?;
            }
            let (id, datagram) = usm.encode(&pdu)?;
            let m = if usm.has_privacy() && !usm.privacy_checked {
                first_private(socket, *peer, opts, usm, id, &datagram).await?
            } else {
                send_and_wait(socket, *peer, opts, &datagram, &mut |data| {
                    v3_match(usm.decode(data), id)
                })
                .await?
            };
            if m.pdu.kind != message::REPORT {
                return Ok(m.pdu);
            }
            match report_action(&m.pdu) {
                ReportAction::Resync if !resynced => {
                    log::debug!("{peer}: SNMPv3 time window resynchronised");
                    usm.learn(&m)?;
                    resynced = true;
                }
                ReportAction::Rediscover if !rediscovered => {
                    usm.forget_engine();
                    rediscovered = true;
                }
                ReportAction::Fail(e) => return Err(e),
                _ => {
                    return Err(SnmpError::Usm(
                        "the agent still refuses the engine's time or id after a resynchronisation"
                            .into(),
                    ))
                }
            }
        }
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

/// What a v3 datagram means for the request with message id `id`: the answer (or a report),
/// an error that ends the request (its digest or decryption failed), or nothing (another
/// message, garbage).
#[cfg(feature = "snmpv3")]
fn v3_match(r: Result<Incoming, SnmpError>, id: i32) -> Option<Result<Incoming, SnmpError>> {
    match r {
        Ok(m) if m.msg_id == id => Some(Ok(m)),
        Ok(m) => {
            log::debug!(
                "SNMP: ignored a v3 message (msgID {}, expected {id})",
                m.msg_id
            );
            None
        }
        Err(e @ SnmpError::Usm(_)) => Some(Err(e)),
        Err(e) => {
            log::debug!("SNMP: ignored a datagram: {e}");
            None
        }
    }
}

/// Sends `datagram` (again after each silent attempt) and waits for the datagram `accept`
/// takes: at most `retries + 1` timeouts. A datagram from another address, or one `accept`
/// leaves, is ignored and the wait goes on until the deadline.
#[allow(clippy::type_complexity)]
async fn send_and_wait(
    socket: &Async<UdpSocket>,
    peer: SocketAddr,
    opts: &SessionOptions,
    datagram: &[u8],
    accept: &mut dyn FnMut(&[u8]) -> Option<Result<Incoming, SnmpError>>,
) -> Result<Incoming, SnmpError> {
    let mut buf = vec![0u8; opts.recv_buffer.clamp(484, MAX_DATAGRAM)];
    for _attempt in 0..=opts.retries {
        socket
            .send_to(datagram, peer)
            .await
            .map_err(|e| SnmpError::Io(e.to_string()))?;
        let deadline = Instant::now() + opts.timeout;
        for _ in 0..MAX_STRAYS {
            let recv = async { Some(socket.recv_from(&mut buf).await) };
            let timer = async {
                Timer::at(deadline).await;
                None
            };
            let (n, from) = match future::or(recv, timer).await {
                None => break,
                Some(Ok(r)) => r,
                // ICMP port unreachable surfaces as ECONNREFUSED on some systems: no agent.
                Some(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
                Some(Err(e)) => return Err(SnmpError::Io(e.to_string())),
            };
            if !same_peer(from, peer) {
                log::debug!("SNMP: ignored a datagram from {from} (asked {peer})");
                continue;
            }
            if let Some(r) = accept(&buf[..n]) {
                return r;
            }
        }
    }
    Err(SnmpError::Timeout)
}

/// The first encrypted request of a session goes out with an authenticated, unencrypted probe
/// (a GET of sysUpTime.0) beside it. An agent that cannot decrypt a request drops it without a
/// word (net-snmp does), which would look like a dead agent: when the probe is answered and the
/// request is not, shortly after, the privacy password or protocol is wrong, and the error says
/// so at once instead of after every retry's timeout.
#[cfg(feature = "snmpv3")]
async fn first_private(
    socket: &Async<UdpSocket>,
    peer: SocketAddr,
    opts: &SessionOptions,
    usm: &mut super::usm::Usm,
    id: i32,
    datagram: &[u8],
) -> Result<Incoming, SnmpError> {
    let probe_pdu = Pdu::request(message::GET, 0, &[super::oid(".1.3.6.1.2.1.1.3.0")]);
    let (probe_id, probe) = usm.encode_without_privacy(&probe_pdu)?;
    let mut buf = vec![0u8; opts.recv_buffer.clamp(484, MAX_DATAGRAM)];
    let sent = Instant::now();
    for d in [datagram, &probe[..]] {
        socket
            .send_to(d, peer)
            .await
            .map_err(|e| SnmpError::Io(e.to_string()))?;
    }
    let mut deadline = sent + opts.timeout;
    let mut probe_answered = false;
    for _ in 0..MAX_STRAYS {
        let recv = async { Some(socket.recv_from(&mut buf).await) };
        let timer = async {
            Timer::at(deadline).await;
            None
        };
        let (n, from) = match future::or(recv, timer).await {
            None if probe_answered => {
                return Err(SnmpError::Usm(
                    "decryption error: the agent answers this user's authenticated requests but not its encrypted ones: wrong privacy password or protocol".into(),
                ))
            }
            None => break,
            Some(Ok(r)) => r,
            Some(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
            Some(Err(e)) => return Err(SnmpError::Io(e.to_string())),
        };
        if !same_peer(from, peer) {
            continue;
        }
        match usm.decode(&buf[..n]) {
            Ok(m) if m.msg_id == id => {
                usm.privacy_checked = true;
                return Ok(m);
            }
            Ok(m) if m.msg_id == probe_id && !probe_answered => {
                probe_answered = true;
                if m.pdu.kind == message::REPORT {
                    // A refusal of the probe (wrong digest, unknown user…) is the request's too.
                    if let super::usm::ReportAction::Fail(e) = super::usm::report_action(&m.pdu) {
                        return Err(e);
                    }
                }
                // The encrypted request went first: give it four times the probe's round trip
                // (at least a second) to be answered too.
                let rtt = sent.elapsed();
                deadline = deadline.min(Instant::now() + (rtt * 4).max(Duration::from_secs(1)));
            }
            Ok(_) => {}
            Err(e @ SnmpError::Usm(_)) => return Err(e),
            Err(_) => {}
        }
    }
    // Silence: the usual retries decide.
    send_and_wait(socket, peer, opts, datagram, &mut |data| {
        v3_match(usm.decode(data), id)
    })
    .await
}
