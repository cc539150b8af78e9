//! Sending the magic packet: a raw Ethernet frame where the agent may open a packet socket,
//! else a UDP datagram.

use std::fmt;
use std::net::{Ipv4Addr, UdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::libc;
use nix::sys::socket::{self, AddressFamily, LinkAddr, MsgFlags, SockFlag, SockType, SockaddrLike};

use super::parse::{ethernet_frame, magic_packet, Method, Request, Target};
use super::route::{ethernet_interfaces, udp_destinations, Iface};
use super::ETHERTYPE_WOL;

/// Why a method could not be used.
#[derive(Debug)]
enum SendError {
    /// Not allowed here (no CAP_NET_RAW): expected when not root, said at info level.
    NotPermitted(String),
    Failed(String),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            SendError::NotPermitted(e) | SendError::Failed(e) => f.write_str(e),
        }
    }
}

/// The raw socket, opened on first use and kept for every machine; or why it cannot be.
enum RawSocket {
    Unopened,
    Open(OwnedFd),
    Unavailable { not_permitted: bool, why: String },
}

pub struct Sender<'a> {
    req: &'a Request,
    ifaces: &'a [Iface],
    links: &'a [(String, LinkAddr)],
    raw: RawSocket,
    /// The lack of CAP_NET_RAW was said once; the other machines need not repeat it.
    told_not_permitted: bool,
}

impl<'a> Sender<'a> {
    pub fn new(req: &'a Request, ifaces: &'a [Iface], links: &'a [(String, LinkAddr)]) -> Sender<'a> {
        Sender {
            req,
            ifaces,
            links,
            raw: RawSocket::Unopened,
            told_not_permitted: false,
        }
    }
    fn raw_socket(&mut self) -> Result<&OwnedFd, SendError> {
        if let RawSocket::Unopened = self.raw {
            // Protocol 0: this socket only sends, nothing is queued to it.
            self.raw = match socket::socket(
                AddressFamily::Packet,
                SockType::Raw,
                SockFlag::SOCK_CLOEXEC,
                None,
            ) {
                Ok(fd) => RawSocket::Open(fd),
                Err(e @ (Errno::EPERM | Errno::EACCES)) => RawSocket::Unavailable {
                    not_permitted: true,
                    why: format!(
                        "not allowed to open a raw Ethernet socket (CAP_NET_RAW needed): {e}"
                    ),
                },
                Err(e) => RawSocket::Unavailable {
                    not_permitted: false,
                    why: format!("cannot open a raw Ethernet socket: {e}"),
                },
            };
        }
        match &self.raw {
            RawSocket::Open(fd) => Ok(fd),
            RawSocket::Unavailable {
                not_permitted: true,
                why,
            } => Err(SendError::NotPermitted(why.clone())),
            RawSocket::Unavailable { why, .. } => Err(SendError::Failed(why.clone())),
            RawSocket::Unopened => Err(SendError::Failed("no raw socket".into())),
        }
    }

    /// Sends the frame out of every chosen interface; done if at least one took it.
    fn ethernet(&mut self, t: &Target) -> Result<(), SendError> {
        let chosen = ethernet_interfaces(self.ifaces, t.ip, self.req.interface.as_deref())
            .map_err(SendError::Failed)?;
        let links = self.links;
        let fd = self.raw_socket()?.as_raw_fd();
        let mut sent = Vec::new();
        let mut errors = Vec::new();
        for iface in chosen {
            let (Some(source), Some((_, link))) =
                (iface.mac, links.iter().find(|(n, _)| *n == iface.name))
            else {
                continue;
            };
            let frame = ethernet_frame(source, &t.mac);
            match send_frame(fd, link, &frame) {
                Ok(()) => sent.push(iface.name.as_str()),
                Err(e) => errors.push(format!("on {}: {e}", iface.name)),
            }
        }
        if sent.is_empty() {
            return Err(SendError::Failed(if errors.is_empty() {
                "no Ethernet interface to send on".into()
            } else {
                errors.join("; ")
            }));
        }
        for e in &errors {
            log::warn!("cannot send the frame for {} {e}", t.mac);
        }
        log::info!(
            "magic packet for {} sent as an Ethernet frame on {}",
            t.mac,
            sent.join(", ")
        );
        Ok(())
    }

    /// Sends the datagram to every destination and port; done if at least one went out.
    fn udp(&self, t: &Target) -> Result<(), SendError> {
        let dests = udp_destinations(self.ifaces, t.ip, self.req.interface.as_deref())
            .map_err(SendError::Failed)?;
        let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
            .and_then(|s| s.set_broadcast(true).map(|_| s))
            .map_err(|e| SendError::Failed(format!("cannot open a UDP socket: {e}")))?;
        let packet = magic_packet(&t.mac);
        let mut sent = Vec::new();
        let mut errors = Vec::new();
        for d in &dests {
            for p in &self.req.ports {
                match sock.send_to(&packet, (*d, *p)) {
                    Ok(_) => sent.push(format!("{d}:{p}")),
                    Err(e) => errors.push(format!("to {d}:{p}: {e}")),
                }
            }
        }
        if sent.is_empty() {
            return Err(SendError::Failed(errors.join("; ")));
        }
        for e in &errors {
            log::warn!("cannot send the UDP packet for {} {e}", t.mac);
        }
        log::info!(
            "magic packet for {} sent by UDP to {}",
            t.mac,
            sent.join(", ")
        );
        Ok(())
    }

    fn send(&mut self, m: Method, t: &Target) -> Result<(), SendError> {
        match m {
            Method::Ethernet => self.ethernet(t),
            Method::Udp => self.udp(t),
        }
    }

    /// Tries the methods in order; UDP is the last resort even when not asked for, since a
    /// datagram that may wake the machine beats none.
    pub fn wake(&mut self, t: &Target) -> Result<(), String> {
        let mut last = String::new();
        for &m in &self.req.methods {
            match self.send(m, t) {
                Ok(()) => return Ok(()),
                Err(e @ SendError::NotPermitted(_)) => {
                    if !self.told_not_permitted {
                        log::info!("{m} method: {e}");
                        self.told_not_permitted = true;
                    }
                    last = e.to_string();
                }
                Err(e) => {
                    log::warn!("{m} method for {}: {e}", t.mac);
                    last = e.to_string();
                }
            }
        }
        if !self.req.methods.contains(&Method::Udp) {
            log::info!(
                "{}: {} not possible, sending UDP instead (not asked for by --methods)",
                t.mac,
                self.req
                    .methods
                    .iter()
                    .map(Method::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            );
            match self.udp(t) {
                Ok(()) => return Ok(()),
                Err(e) => last = e.to_string(),
            }
        }
        Err(last)
    }
}

/// Sends one frame out of the interface `link` names.
fn send_frame(fd: i32, link: &LinkAddr, frame: &[u8]) -> Result<(), String> {
    let mut sll: libc::sockaddr_ll = *link.as_ref();
    sll.sll_protocol = ETHERTYPE_WOL.to_be();
    sll.sll_halen = 6;
    sll.sll_addr = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0];
    // SAFETY: `sll` is a fully initialised sockaddr_ll (copied from the system's own) and the
    // length given is its size.
    let addr = unsafe {
        LinkAddr::from_raw(
            (&sll as *const libc::sockaddr_ll).cast(),
            Some(std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t),
        )
    }
    .ok_or("bad link-layer address")?;
    match socket::sendto(fd, frame, &addr, MsgFlags::empty()) {
        Ok(n) if n == frame.len() => Ok(()),
        Ok(n) => Err(format!("only {n} of {} bytes sent", frame.len())),
        Err(e) => Err(e.to_string()),
    }
}

