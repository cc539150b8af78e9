//! Wake-on-LAN: wakes machines on this machine's LANs with a magic packet (six 0xFF bytes, then
//! the target's MAC 16 times), sent as a raw Ethernet frame (ethertype 0x0842) where the agent
//! may open one, else as a UDP broadcast. A server asks for it in its PROLOG reply (OPTION
//! WAKEONLAN); `uagent wakeonlan` does the same by hand.
//!
//! Which interfaces and addresses to use is decided by pure functions of the interface list
//! ([`udp_destinations`], [`ethernet_interfaces`]); only [`live_interfaces`] and the two senders
//! touch the system.

use std::fmt;
use std::net::{Ipv4Addr, UdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::libc;
use nix::net::if_::InterfaceFlags;
use nix::sys::socket::{self, AddressFamily, LinkAddr, MsgFlags, SockFlag, SockType, SockaddrLike};

use crate::cli::{TaskArgs, WakeonlanArgs};
use crate::core::exit;

/// Most machines woken in one run; a longer list is refused (by hand) or cut (from a server).
pub const MAX_TARGETS: usize = 256;
/// Most UDP ports one run sends to.
pub const MAX_PORTS: usize = 8;
/// Most network interfaces looked at, and IPv4 addresses kept per interface.
pub const MAX_INTERFACES: usize = 1024;
pub const MAX_ADDRESSES: usize = 64;
/// Longest part of a bad argument quoted back in an error message.
const MAX_QUOTED: usize = 64;

/// The usual Wake-on-LAN port ("discard"); 7 ("echo") is the other one in use.
pub const DEFAULT_PORT: u16 = 9;
/// Ethertype of a Wake-on-LAN frame.
pub const ETHERTYPE_WOL: u16 = 0x0842;
/// Length of the magic packet: the sync stream and 16 copies of the MAC.
pub const MAGIC_LEN: usize = 6 + 16 * 6;
/// Length of the Ethernet frame carrying it (header and payload, without the FCS).
pub const FRAME_LEN: usize = 14 + MAGIC_LEN;

/// A MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// Quotes a bad value back, cut to a readable length (it may come from a server).
fn quoted(text: &str) -> String {
    let mut shown: String = text.chars().take(MAX_QUOTED).collect();
    if text.chars().nth(MAX_QUOTED).is_some() {
        shown.push('…');
    }
    format!("\"{}\"", shown.escape_debug())
}

fn hex_digit(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Reads `00:11:22:33:44:55`, `00-11-22-33-44-55` or `001122334455` (either case).
pub fn parse_mac(text: &str) -> Result<Mac, String> {
    let bad = || {
        format!(
            "invalid MAC address {}: expected six hex bytes like 00:11:22:33:44:55",
            quoted(text)
        )
    };
    let b = text.trim().as_bytes();
    let step = match b.len() {
        12 => 2,
        17 => 3,
        _ => return Err(bad()),
    };
    let sep = b.get(2).copied().filter(|_| step == 3);
    if sep.is_some_and(|s| s != b':' && s != b'-') {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (k, byte) in mac.iter_mut().enumerate() {
        let i = k * step;
        if let Some(sep) = sep {
            if k > 0 && b[i - 1] != sep {
                return Err(bad());
            }
        }
        match (hex_digit(b[i]), hex_digit(b[i + 1])) {
            (Some(hi), Some(lo)) => *byte = hi << 4 | lo,
            _ => return Err(bad()),
        }
    }
    Ok(Mac(mac))
}

/// The magic packet for `mac`: what the sleeping network card looks for in any frame.
pub fn magic_packet(mac: &Mac) -> [u8; MAGIC_LEN] {
    let mut p = [0xffu8; MAGIC_LEN];
    for copy in p[6..].chunks_exact_mut(6) {
        copy.copy_from_slice(&mac.0);
    }
    p
}

/// The Ethernet frame carrying the magic packet: to everyone on the link (a switch that has
/// forgotten the sleeping machine floods it anyway), from `source`, ethertype 0x0842.
pub fn ethernet_frame(source: [u8; 6], mac: &Mac) -> [u8; FRAME_LEN] {
    let mut f = [0xffu8; FRAME_LEN];
    f[6..12].copy_from_slice(&source);
    f[12..14].copy_from_slice(&ETHERTYPE_WOL.to_be_bytes());
    f[14..].copy_from_slice(&magic_packet(mac));
    f
}

/// A way of sending the magic packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A raw frame on the link (AF_PACKET, needs CAP_NET_RAW): reaches the card whatever
    /// IP configuration the sleeping machine had.
    Ethernet,
    /// A UDP datagram to a broadcast address (or to the machine's address).
    Udp,
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Method::Ethernet => "ethernet",
            Method::Udp => "udp",
        })
    }
}

/// As the GLPI agent: an Ethernet frame where possible, else UDP.
pub const DEFAULT_METHODS: [Method; 2] = [Method::Ethernet, Method::Udp];

/// Comma-separated values of a repeatable option, blanks dropped.
fn items(list: &[String]) -> impl Iterator<Item = &str> {
    list.iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// `--methods`: in order of preference, without repeats; none given means the default.
pub fn parse_methods(list: &[String]) -> Result<Vec<Method>, String> {
    let mut out = Vec::new();
    for m in items(list) {
        let method = match m.to_ascii_lowercase().as_str() {
            "ethernet" => Method::Ethernet,
            "udp" => Method::Udp,
            _ => {
                return Err(format!(
                    "unknown method {}: expected ethernet or udp",
                    quoted(m)
                ))
            }
        };
        if !out.contains(&method) {
            out.push(method);
        }
    }
    if out.is_empty() {
        out.extend_from_slice(&DEFAULT_METHODS);
    }
    Ok(out)
}

/// `--port`: UDP ports, 9 when none is given.
pub fn parse_ports(list: &[String]) -> Result<Vec<u16>, String> {
    let mut out = Vec::new();
    for p in items(list) {
        let port = p
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("invalid port {}: expected 1 to 65535", quoted(p)))?;
        if !out.contains(&port) {
            if out.len() == MAX_PORTS {
                return Err(format!("more than {MAX_PORTS} ports"));
            }
            out.push(port);
        }
    }
    if out.is_empty() {
        out.push(DEFAULT_PORT);
    }
    Ok(out)
}

/// An IPv4 address; blank means none.
pub fn parse_ip(text: &str) -> Result<Option<Ipv4Addr>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse().map(Some).map_err(|_| {
        format!(
            "invalid IP address {}: expected an IPv4 address like 192.168.1.20",
            quoted(text)
        )
    })
}

/// One machine to wake.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub mac: Mac,
    /// Where the machine was last seen: picks the interface (or is the destination).
    pub ip: Option<Ipv4Addr>,
}

/// What one run does.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub targets: Vec<Target>,
    pub methods: Vec<Method>,
    pub ports: Vec<u16>,
    pub interface: Option<String>,
}

/// The machines named by `--mac` (comma-separated, repeatable) and `--ip`: one address for them
/// all, or one for each (in order, blank for none).
pub fn parse_targets(macs: &[String], ips: &[String]) -> Result<Vec<Target>, String> {
    let macs: Vec<&str> = items(macs).collect();
    if macs.is_empty() {
        return Err("no MAC address given (--mac 00:11:22:33:44:55)".into());
    }
    if macs.len() > MAX_TARGETS {
        return Err(format!(
            "{} MAC addresses: at most {MAX_TARGETS} in one run",
            macs.len()
        ));
    }
    let ips = ips
        .iter()
        .map(|s| parse_ip(s))
        .collect::<Result<Vec<_>, _>>()?;
    if ips.len() > 1 && ips.len() != macs.len() {
        return Err(format!(
            "{} IP addresses for {} MAC addresses: give one for all, or one for each",
            ips.len(),
            macs.len()
        ));
    }
    macs.iter()
        .enumerate()
        .map(|(i, m)| {
            Ok(Target {
                mac: parse_mac(m)?,
                ip: ips.get(i).or(ips.first()).copied().flatten(),
            })
        })
        .collect()
}

pub fn request_from_command(a: &WakeonlanArgs) -> Result<Request, String> {
    let ips: Vec<String> = a.ip.iter().cloned().collect();
    Ok(Request {
        targets: parse_targets(&a.mac, &ips)?,
        methods: parse_methods(&a.methods)?,
        ports: parse_ports(&a.port)?,
        interface: a.interface.clone().filter(|i| !i.is_empty()),
    })
}

/// The task as the agent starts it: `--mac`/`--ip` pairs from the server's PARAMs, defaults
/// for the rest.
pub fn request_from_task(a: &TaskArgs) -> Result<Request, String> {
    Ok(Request {
        targets: parse_targets(&a.mac, &a.ip)?,
        methods: DEFAULT_METHODS.to_vec(),
        ports: vec![DEFAULT_PORT],
        interface: None,
    })
}

/// An IPv4 address of an interface and its network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct V4Net {
    pub addr: Ipv4Addr,
    pub mask: Ipv4Addr,
    /// The broadcast address the system gives, if any.
    pub broadcast: Option<Ipv4Addr>,
}

impl V4Net {
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let m = u32::from(self.mask);
        u32::from(ip) & m == u32::from(self.addr) & m
    }

    /// The network's broadcast address (none on /31 and /32 networks). The system's wins, but
    /// when none was configured glibc reports the interface's own address in its place.
    pub fn broadcast_addr(&self) -> Option<Ipv4Addr> {
        if u32::from(self.mask).leading_ones() >= 31 {
            return None;
        }
        let computed = Ipv4Addr::from(u32::from(self.addr) | !u32::from(self.mask));
        Some(
            self.broadcast
                .filter(|b| *b != self.addr && self.contains(*b))
                .unwrap_or(computed),
        )
    }
}

/// What the senders need to know of a network interface.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Iface {
    pub name: String,
    pub up: bool,
    pub loopback: bool,
    /// The link can broadcast (Ethernet, Wi-Fi, bridges; not tunnels or PPP).
    pub broadcast: bool,
    /// Its Ethernet address, when it has one.
    pub mac: Option<[u8; 6]>,
    pub v4: Vec<V4Net>,
}

/// Checks that `--interface` names an interface that can be used.
fn check_interface(ifaces: &[Iface], name: &str) -> Result<(), String> {
    match ifaces.iter().find(|i| i.name == name) {
        None => Err(format!("no network interface named {}", quoted(name))),
        Some(i) if !i.up => Err(format!("network interface {name} is down")),
        Some(_) => Ok(()),
    }
}

/// Where the UDP packets for a machine go: with its IP, the broadcast address of the interface
/// whose network holds it, or the IP itself when none does (routed like any unicast); without,
/// every up, non-loopback interface's broadcast address (255.255.255.255 if there is none).
pub fn udp_destinations(
    ifaces: &[Iface],
    ip: Option<Ipv4Addr>,
    only: Option<&str>,
) -> Result<Vec<Ipv4Addr>, String> {
    if let Some(name) = only {
        check_interface(ifaces, name)?;
    }
    let nets = || {
        ifaces
            .iter()
            .filter(|i| i.up && !i.loopback && only.is_none_or(|n| i.name == n))
            .flat_map(|i| i.v4.iter())
    };
    if let Some(ip) = ip {
        return Ok(match nets().find(|n| n.contains(ip)) {
            Some(net) => vec![net.broadcast_addr().unwrap_or(ip)],
            None => vec![ip],
        });
    }
    let mut out = Vec::new();
    for b in nets().filter_map(V4Net::broadcast_addr) {
        if !out.contains(&b) {
            out.push(b);
        }
    }
    if out.is_empty() {
        if let Some(name) = only {
            return Err(format!(
                "network interface {name} has no IPv4 broadcast address"
            ));
        }
        out.push(Ipv4Addr::BROADCAST);
    }
    Ok(out)
}

/// The interfaces an Ethernet frame for a machine goes out of: `only`; else the one whose
/// network holds its IP; else every up, non-loopback Ethernet interface with an IPv4 address
/// (the LANs the UDP method would reach too).
pub fn ethernet_interfaces<'a>(
    ifaces: &'a [Iface],
    ip: Option<Ipv4Addr>,
    only: Option<&str>,
) -> Result<Vec<&'a Iface>, String> {
    if let Some(name) = only {
        check_interface(ifaces, name)?;
    }
    let links: Vec<&Iface> = ifaces
        .iter()
        .filter(|i| i.up && !i.loopback && i.broadcast && i.mac.is_some())
        .filter(|i| only.is_none_or(|n| i.name == n))
        .collect();
    if let Some(name) = only {
        if links.is_empty() {
            return Err(format!("network interface {name} is not an Ethernet link"));
        }
        return Ok(links);
    }
    if let Some(ip) = ip {
        let holding: Vec<&Iface> = links
            .iter()
            .copied()
            .filter(|i| i.v4.iter().any(|n| n.contains(ip)))
            .collect();
        if !holding.is_empty() {
            return Ok(holding);
        }
    }
    let lans: Vec<&Iface> = links.into_iter().filter(|i| !i.v4.is_empty()).collect();
    if lans.is_empty() {
        return Err("no Ethernet interface that is up and has an IPv4 address".into());
    }
    Ok(lans)
}

/// The link-layer address of each Ethernet interface, by name: where a raw frame is sent to.
pub type Links = Vec<(String, LinkAddr)>;

/// The interfaces of the live system, and their link-layer addresses.
pub fn live_interfaces() -> Result<(Vec<Iface>, Links), String> {
    let addrs = nix::ifaddrs::getifaddrs()
        .map_err(|e| format!("cannot list the network interfaces (getifaddrs): {e}"))?;
    let mut ifaces: Vec<Iface> = Vec::new();
    let mut links = Vec::new();
    for a in addrs {
        let pos = match ifaces.iter().position(|i| i.name == a.interface_name) {
            Some(p) => p,
            None if ifaces.len() == MAX_INTERFACES => {
                log::warn!("more than {MAX_INTERFACES} network interfaces: the rest is left out");
                break;
            }
            None => {
                ifaces.push(Iface {
                    name: a.interface_name.clone(),
                    up: a.flags.contains(InterfaceFlags::IFF_UP),
                    loopback: a.flags.contains(InterfaceFlags::IFF_LOOPBACK),
                    broadcast: a.flags.contains(InterfaceFlags::IFF_BROADCAST),
                    ..Iface::default()
                });
                ifaces.len() - 1
            }
        };
        let iface = &mut ifaces[pos];
        let Some(addr) = a.address else { continue };
        if let Some(v4) = addr.as_sockaddr_in() {
            if iface.v4.len() < MAX_ADDRESSES {
                let ip = |s: Option<nix::sys::socket::SockaddrStorage>| {
                    s.and_then(|s| s.as_sockaddr_in().map(|s| s.ip()))
                };
                iface.v4.push(V4Net {
                    addr: v4.ip(),
                    mask: ip(a.netmask).unwrap_or(Ipv4Addr::BROADCAST),
                    broadcast: ip(a.broadcast).filter(|b| !b.is_unspecified()),
                });
            }
        } else if let Some(link) = addr.as_link_addr() {
            if link.hatype() == libc::ARPHRD_ETHER && link.halen() == 6 {
                iface.mac = link.addr();
                links.push((a.interface_name.clone(), *link));
            }
        }
    }
    Ok((ifaces, links))
}

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

struct Sender<'a> {
    req: &'a Request,
    ifaces: &'a [Iface],
    links: &'a [(String, LinkAddr)],
    raw: RawSocket,
    /// The lack of CAP_NET_RAW was said once; the other machines need not repeat it.
    told_not_permitted: bool,
}

impl Sender<'_> {
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
    fn wake(&mut self, t: &Target) -> Result<(), String> {
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

/// Wakes every machine of the request; the exit code.
pub fn run(req: &Request) -> i32 {
    let (ifaces, links) = match live_interfaces() {
        Ok(l) => l,
        Err(e) => {
            log::error!("{e}");
            return exit::TASK;
        }
    };
    if let Some(name) = &req.interface {
        if let Err(e) = check_interface(&ifaces, name) {
            log::error!("{e}");
            return exit::USAGE;
        }
    }
    let mut sender = Sender {
        req,
        ifaces: &ifaces,
        links: &links,
        raw: RawSocket::Unopened,
        told_not_permitted: false,
    };
    let mut failed = 0;
    for t in &req.targets {
        if let Err(e) = sender.wake(t) {
            log::error!("cannot wake {}: {e}", t.mac);
            failed += 1;
        }
    }
    if failed > 0 {
        exit::TASK
    } else {
        exit::OK
    }
}

/// `uagent wakeonlan` (and the `uagent-wakeonlan` launcher).
pub fn command(a: &WakeonlanArgs) -> i32 {
    crate::core::logger::init("wakeonlan", u8::from(a.debug));
    match request_from_command(a) {
        Ok(req) => run(&req),
        Err(e) => {
            log::error!("{e}");
            exit::USAGE
        }
    }
}

/// `uagent task wakeonlan`, as the agent starts it (the logger is already set up).
pub fn run_task(a: &TaskArgs) -> i32 {
    match request_from_task(a) {
        Ok(req) => run(&req),
        Err(e) => {
            log::error!("{e}");
            exit::USAGE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: Mac = Mac([0x00, 0x11, 0x22, 0xaa, 0xbb, 0xcc]);

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn net(addr: [u8; 4], prefix: u32) -> V4Net {
        V4Net {
            addr: Ipv4Addr::from(addr),
            mask: Ipv4Addr::from(u32::MAX.checked_shl(32 - prefix).unwrap_or(0)),
            broadcast: None,
        }
    }

    fn iface(name: &str, nets: &[V4Net]) -> Iface {
        Iface {
            name: name.into(),
            up: true,
            loopback: false,
            broadcast: true,
            mac: Some([2, 0, 0, 0, 0, name.len() as u8]),
            v4: nets.to_vec(),
        }
    }

    /// lo, a LAN, a second LAN, a tunnel and a down interface.
    fn router() -> Vec<Iface> {
        let mut lo = iface("lo", &[net([127, 0, 0, 1], 8)]);
        lo.loopback = true;
        lo.mac = None;
        let mut tun = iface("tun0", &[net([10, 8, 0, 1], 32)]);
        tun.broadcast = false;
        tun.mac = None;
        let mut down = iface("eth9", &[net([172, 16, 0, 1], 16)]);
        down.up = false;
        vec![
            lo,
            iface("br-lan", &[net([192, 168, 1, 1], 24)]),
            iface("eth1", &[net([10, 203, 7, 1], 24)]),
            tun,
            down,
            iface("eth2", &[]),
        ]
    }

    #[test]
    fn macs_are_read_with_colons_dashes_or_nothing_in_either_case() {
        for text in [
            "00:11:22:aa:bb:cc",
            "00-11-22-AA-BB-CC",
            "001122aAbBcC",
            " 00:11:22:aa:bb:cc\n",
        ] {
            assert_eq!(parse_mac(text), Ok(M), "{text}");
        }
        assert_eq!(M.to_string(), "00:11:22:aa:bb:cc");
    }

    #[test]
    fn malformed_macs_are_refused_with_the_expected_form() {
        for text in [
            "",
            "00:11:22:aa:bb",
            "00:11:22:aa:bb:cc:dd",
            "00:11-22:aa:bb:cc",
            "00.11.22.aa.bb.cc",
            "0:11:22:aa:bb:cc0",
            "00:11:22:aa:bb:cg",
            "+0:11:22:aa:bb:cc",
            "00112233445",
            "0011223344556",
            "ééééééé",
        ] {
            let e = parse_mac(text).unwrap_err();
            assert!(
                e.ends_with(": expected six hex bytes like 00:11:22:33:44:55"),
                "{text}: {e}"
            );
        }
        assert_eq!(
            parse_mac("zz").unwrap_err(),
            "invalid MAC address \"zz\": expected six hex bytes like 00:11:22:33:44:55"
        );
        let long = "x".repeat(10_000);
        assert!(parse_mac(&long).unwrap_err().len() < 200);
    }

    #[test]
    fn the_magic_packet_is_six_ff_then_the_mac_sixteen_times() {
        let p = magic_packet(&M);
        assert_eq!(p.len(), 102);
        assert_eq!(p[..6], [0xff; 6]);
        for k in 0..16 {
            assert_eq!(p[6 + 6 * k..12 + 6 * k], M.0, "copy {k}");
        }
    }

    #[test]
    fn the_ethernet_frame_is_broadcast_from_the_interface_with_ethertype_0842() {
        let f = ethernet_frame([2, 1, 2, 3, 4, 5], &M);
        assert_eq!(f.len(), 116);
        assert_eq!(f[..6], [0xff; 6]);
        assert_eq!(f[6..12], [2, 1, 2, 3, 4, 5]);
        assert_eq!(f[12..14], [0x08, 0x42]);
        assert_eq!(f[14..], magic_packet(&M));
    }

    #[test]
    fn methods_default_to_ethernet_then_udp_and_keep_the_order_given() {
        assert_eq!(parse_methods(&[]), Ok(vec![Method::Ethernet, Method::Udp]));
        assert_eq!(
            parse_methods(&s(&["udp,ethernet"])),
            Ok(vec![Method::Udp, Method::Ethernet])
        );
        assert_eq!(parse_methods(&s(&["UDP", "udp"])), Ok(vec![Method::Udp]));
        assert!(parse_methods(&s(&["icmp"]))
            .unwrap_err()
            .contains("unknown method \"icmp\""));
    }

    #[test]
    fn ports_default_to_9_and_7_can_be_added() {
        assert_eq!(parse_ports(&[]), Ok(vec![9]));
        assert_eq!(parse_ports(&s(&["9,7"])), Ok(vec![9, 7]));
        assert_eq!(parse_ports(&s(&["7", "7"])), Ok(vec![7]));
        assert!(parse_ports(&s(&["0"])).is_err());
        assert!(parse_ports(&s(&["70000"])).is_err());
        assert!(parse_ports(&s(&["1,2,3,4,5,6,7,8,9"])).is_err());
    }

    #[test]
    fn one_ip_goes_with_every_mac_or_one_with_each() {
        let t = parse_targets(&s(&["00:11:22:aa:bb:cc,001122aabbcd"]), &s(&["10.0.0.5"])).unwrap();
        assert_eq!(t.len(), 2);
        assert!(t.iter().all(|t| t.ip == Some(Ipv4Addr::new(10, 0, 0, 5))));
        let t = parse_targets(
            &s(&["00:11:22:aa:bb:cc", "001122aabbcd"]),
            &s(&["", "10.0.0.6"]),
        )
        .unwrap();
        assert_eq!(t[0].ip, None);
        assert_eq!(t[1].ip, Some(Ipv4Addr::new(10, 0, 0, 6)));
        assert_eq!(t[1].mac, Mac([0, 0x11, 0x22, 0xaa, 0xbb, 0xcd]));
        assert!(parse_targets(&s(&["001122aabbcc"]), &[]).unwrap()[0]
            .ip
            .is_none());
    }

    #[test]
    fn bad_target_lists_are_usage_errors() {
        assert!(parse_targets(&[], &[]).unwrap_err().contains("no MAC"));
        assert!(parse_targets(&s(&["001122aabbcc"]), &s(&["10.0.0.300"]))
            .unwrap_err()
            .starts_with("invalid IP address \"10.0.0.300\""));
        assert!(parse_targets(&s(&["a"; 3]), &s(&["", ""]))
            .unwrap_err()
            .contains("one for each"));
        let many = vec!["001122aabbcc".to_string(); MAX_TARGETS + 1];
        assert!(parse_targets(&many, &[]).unwrap_err().contains("at most"));
        assert!(parse_targets(&s(&["001122aabbcc,nope"]), &[])
            .unwrap_err()
            .starts_with("invalid MAC address \"nope\""));
    }

    #[test]
    fn udp_goes_to_the_broadcast_of_the_network_holding_the_ip() {
        let r = router();
        let ip = Some(Ipv4Addr::new(10, 203, 7, 2));
        assert_eq!(
            udp_destinations(&r, ip, None),
            Ok(vec![Ipv4Addr::new(10, 203, 7, 255)])
        );
        // The broadcast address the system gives wins over the computed one.
        let mut r2 = r.clone();
        r2[2].v4[0].broadcast = Some(Ipv4Addr::new(10, 203, 7, 127));
        assert_eq!(
            udp_destinations(&r2, ip, None),
            Ok(vec![Ipv4Addr::new(10, 203, 7, 127)])
        );
    }

    #[test]
    fn udp_to_an_ip_on_no_local_network_is_sent_to_the_ip() {
        let r = router();
        for ip in [Ipv4Addr::new(10, 203, 8, 5), Ipv4Addr::new(172, 16, 0, 9)] {
            assert_eq!(udp_destinations(&r, Some(ip), None), Ok(vec![ip]), "{ip}");
        }
    }

    #[test]
    fn udp_without_ip_goes_to_every_up_lan_broadcast() {
        assert_eq!(
            udp_destinations(&router(), None, None),
            Ok(vec![
                Ipv4Addr::new(192, 168, 1, 255),
                Ipv4Addr::new(10, 203, 7, 255)
            ])
        );
        assert_eq!(
            udp_destinations(&router(), None, Some("eth1")),
            Ok(vec![Ipv4Addr::new(10, 203, 7, 255)])
        );
        let lo_only = vec![router().remove(0)];
        assert_eq!(
            udp_destinations(&lo_only, None, None),
            Ok(vec![Ipv4Addr::BROADCAST])
        );
    }

    #[test]
    fn a_named_interface_must_exist_be_up_and_fit_the_method() {
        let r = router();
        assert!(udp_destinations(&r, None, Some("wlan7"))
            .unwrap_err()
            .contains("no network interface named \"wlan7\""));
        assert!(udp_destinations(&r, None, Some("eth9"))
            .unwrap_err()
            .contains("down"));
        assert!(udp_destinations(&r, None, Some("eth2"))
            .unwrap_err()
            .contains("no IPv4 broadcast"));
        assert!(ethernet_interfaces(&r, None, Some("tun0"))
            .unwrap_err()
            .contains("not an Ethernet link"));
        let names = |v: Vec<&Iface>| v.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(ethernet_interfaces(&r, None, Some("eth2")).unwrap()),
            ["eth2"]
        );
    }

    #[test]
    fn ethernet_goes_out_of_the_lan_holding_the_ip_or_every_lan() {
        let r = router();
        let names = |v: Vec<&Iface>| v.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(ethernet_interfaces(&r, Some(Ipv4Addr::new(192, 168, 1, 40)), None).unwrap()),
            ["br-lan"]
        );
        // Unknown network, or no IP: every up Ethernet LAN (not lo, the tunnel, the down
        // interface or the one without an address).
        for ip in [None, Some(Ipv4Addr::new(8, 8, 8, 8))] {
            assert_eq!(
                names(ethernet_interfaces(&r, ip, None).unwrap()),
                ["br-lan", "eth1"]
            );
        }
        let lo_only = vec![router().remove(0)];
        assert!(ethernet_interfaces(&lo_only, None, None).is_err());
    }

    #[test]
    fn small_networks_have_no_broadcast_address() {
        assert_eq!(net([10, 0, 0, 1], 32).broadcast_addr(), None);
        assert_eq!(net([10, 0, 0, 1], 31).broadcast_addr(), None);
        assert_eq!(
            net([10, 0, 0, 1], 30).broadcast_addr(),
            Some(Ipv4Addr::new(10, 0, 0, 3))
        );
        assert!(net([10, 0, 0, 1], 0).contains(Ipv4Addr::new(1, 2, 3, 4)));
    }

    #[test]
    fn a_reported_broadcast_equal_to_the_address_or_outside_the_network_is_not_used() {
        for reported in [[10, 203, 7, 1], [10, 203, 8, 255]] {
            let n = V4Net {
                broadcast: Some(Ipv4Addr::from(reported)),
                ..net([10, 203, 7, 1], 24)
            };
            assert_eq!(n.broadcast_addr(), Some(Ipv4Addr::new(10, 203, 7, 255)));
        }
    }
}
