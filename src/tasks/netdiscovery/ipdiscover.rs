//! OCS IpDiscover: an ARP sweep of the subnet the server elected this agent for (not the
//! subnet of the default route, the Perl agent's known bug), one who-has every `latency` ms
//! on a packet socket (CAP_NET_RAW); without that right, the kernel's neighbour table for the
//! subnet, with a warning. Names come from reverse DNS when a resolver is configured. The
//! result goes into the inventory as `CONTENT/IPDISCOVER/H{I,M,N}`.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::libc;
use nix::net::if_::InterfaceFlags;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{self, AddressFamily, LinkAddr, MsgFlags, SockFlag, SockType, SockaddrLike};

use super::probes::{mac_text, parse_arp_table, MAX_ARP_TABLE};
use crate::sys::Root;

/// The narrowest mask accepted: a /16 (65,534 hosts), as the reference agent refuses wider.
pub const MIN_PREFIX: u8 = 16;
/// Most latency between two requests accepted (ms); the server's default is 100.
pub const MAX_LATENCY_MS: u64 = 1000;
/// Longest sweep: a latency that would make it longer is shortened (a /16 at the server's
/// default 100 ms would take 109 minutes, past any task's time limit).
pub const MAX_SWEEP: Duration = Duration::from_secs(300);
/// How long replies are awaited after the last request.
const LAST_WAIT: Duration = Duration::from_millis(1000);
/// Most hosts kept.
pub const MAX_HOSTS: usize = 65_536;
const ETH_P_ARP: u16 = 0x0806;
/// Wait for one reverse DNS answer, and how many silent answers in a row stop the lookups.
const DNS_WAIT: Duration = Duration::from_millis(800);
const DNS_MAX_SILENT: usize = 2;

/// One host found: `H{I, M, N}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub ip: Ipv4Addr,
    pub mac: String,
    /// `-` when unknown, as OCS stores it.
    pub name: String,
}

/// The subnet scanned and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Result {
    pub interface: String,
    pub subnet: Ipv4Addr,
    pub mask: Ipv4Addr,
    pub hosts: Vec<Host>,
}

/// The server's order: `<PARAM IPDISC_LAT="100" …>192.168.1.0</PARAM>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub subnet: Ipv4Addr,
    pub latency_ms: u64,
}

impl Order {
    pub fn parse(subnet: &str, latency: Option<&str>) -> std::result::Result<Order, String> {
        let subnet: Ipv4Addr = subnet
            .trim()
            .parse()
            .map_err(|_| format!("IPDISCOVER: {:?} is not an IPv4 subnet", subnet.trim()))?;
        let latency_ms = latency
            .and_then(|l| l.trim().parse::<u64>().ok())
            .unwrap_or(100)
            .min(MAX_LATENCY_MS);
        Ok(Order { subnet, latency_ms })
    }
}

fn prefix_len(mask: Ipv4Addr) -> u8 {
    u32::from(mask).leading_ones() as u8
}

struct Local {
    name: String,
    ip: Ipv4Addr,
    mask: Ipv4Addr,
    link: Option<LinkAddr>,
}

/// Every IPv4 address of this machine, with its interface's flags and Ethernet address.
fn ipv4_interfaces() -> std::result::Result<Vec<(Local, InterfaceFlags)>, String> {
    let addrs = nix::ifaddrs::getifaddrs()
        .map_err(|e| format!("cannot list the network interfaces (getifaddrs): {e}"))?;
    let mut found: Vec<(Local, InterfaceFlags)> = Vec::new();
    let mut links: Vec<(String, LinkAddr)> = Vec::new();
    for a in addrs.take(4096) {
        let Some(addr) = a.address else { continue };
        if let Some(l) = addr.as_link_addr() {
            links.push((a.interface_name.clone(), *l));
            continue;
        }
        let (Some(v4), Some(mask)) = (
            addr.as_sockaddr_in(),
            a.netmask.and_then(|m| m.as_sockaddr_in().map(|m| m.ip())),
        ) else {
            continue;
        };
        let local = Local {
            name: a.interface_name.clone(),
            ip: v4.ip(),
            mask,
            link: None,
        };
        found.push((local, a.flags));
    }
    for (l, _) in &mut found {
        l.link = links.iter().find(|(n, _)| *n == l.name).map(|(_, k)| *k);
    }
    Ok(found)
}

/// The interface whose IPv4 network is `subnet`.
fn find_interface(subnet: Ipv4Addr) -> std::result::Result<Local, String> {
    ipv4_interfaces()?
        .into_iter()
        .find(|(l, flags)| {
            flags.contains(InterfaceFlags::IFF_UP)
                && !flags.contains(InterfaceFlags::IFF_LOOPBACK)
                && u32::from(l.ip) & u32::from(l.mask) == u32::from(subnet)
        })
        .map(|(l, _)| l)
        .ok_or_else(|| format!("IPDISCOVER: no interface of this machine is on the subnet {subnet}"))
}

/// An ARP who-has for `target` from `(mac, ip)`, padded to the Ethernet minimum.
pub fn arp_request(mac: [u8; 6], ip: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(60);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&ETH_P_ARP.to_be_bytes());
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&ip.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&target.octets());
    f.resize(60, 0);
    f
}

/// The sender of an ARP reply frame: its address and MAC.
pub fn parse_arp_reply(frame: &[u8]) -> Option<(Ipv4Addr, String)> {
    let arp = frame.get(14..42)?;
    if frame.get(12..14)? != ETH_P_ARP.to_be_bytes() || arp[6..8] != [0, 2] {
        return None;
    }
    let ip = Ipv4Addr::new(arp[14], arp[15], arp[16], arp[17]);
    Some((ip, mac_text(&arp[8..14])?))
}

fn link_with(link: &LinkAddr, protocol: u16) -> Option<LinkAddr> {
    let mut sll: libc::sockaddr_ll = *link.as_ref();
    sll.sll_protocol = protocol.to_be();
    // SAFETY: `sll` is a complete sockaddr_ll copied from the system's own and the length
    // given is its size.
    unsafe {
        LinkAddr::from_raw(
            (&sll as *const libc::sockaddr_ll).cast(),
            Some(std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t),
        )
    }
}

/// A packet socket bound to `local`'s link for ARP, and `local`'s Ethernet address; `Err` with
/// `true` when not allowed.
fn arp_socket(local: &Local) -> std::result::Result<(OwnedFd, [u8; 6]), (bool, String)> {
    let link = local
        .link
        .as_ref()
        .ok_or((false, format!("{} has no Ethernet address", local.name)))?;
    let mac: [u8; 6] = link
        .addr()
        .ok_or((false, format!("{} has no Ethernet address", local.name)))?;
    let fd: OwnedFd = socket::socket(AddressFamily::Packet, SockType::Raw, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|e| (matches!(e, Errno::EPERM | Errno::EACCES), format!("cannot open a packet socket: {e}")))?;
    let bound = link_with(link, ETH_P_ARP).ok_or((false, "bad link-layer address".to_string()))?;
    socket::bind(fd.as_raw_fd(), &bound).map_err(|e| (false, format!("cannot bind to {}: {e}", local.name)))?;
    Ok((fd, mac))
}

/// One who-has to each of `targets` on `local`'s link, `gap` apart, then `last_wait` for late
/// replies: the senders inside `local`'s network that answered, with their MAC.
fn arp_exchange(
    local: &Local,
    targets: &mut dyn Iterator<Item = Ipv4Addr>,
    gap: Duration,
    last_wait: Duration,
) -> std::result::Result<Vec<(Ipv4Addr, String)>, (bool, String)> {
    let (fd, mac) = arp_socket(local)?;
    let mask = u32::from(local.mask);
    let net = u32::from(local.ip) & mask;
    let mut found: Vec<(Ipv4Addr, String)> = Vec::new();
    let mut buf = [0u8; 1600];
    let mut read_until = |deadline: Instant, found: &mut Vec<(Ipv4Addr, String)>| loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let Ok(n) = socket::recv(fd.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT) else {
            continue;
        };
        if let Some((ip, m)) = parse_arp_reply(&buf[..n]) {
            let inside = u32::from(ip) & mask == net;
            if inside && ip != local.ip && !found.iter().any(|(a, _)| *a == ip) && found.len() < MAX_HOSTS {
                found.push((ip, m));
            }
        }
        if left.is_zero() {
            return;
        }
    };
    for target in targets {
        if target == local.ip {
            continue;
        }
        let frame = arp_request(mac, local.ip, target);
        if let Err(e) = socket::send(fd.as_raw_fd(), &frame, MsgFlags::empty()) {
            return Err((false, format!("cannot send on {}: {e}", local.name)));
        }
        read_until(Instant::now() + gap, &mut found);
    }
    read_until(Instant::now() + last_wait, &mut found);
    found.sort();
    Ok(found)
}

/// The sweep of the order's subnet on a packet socket bound to the interface; `Err` with
/// `true` when not allowed.
fn sweep(local: &Local, order: &Order) -> std::result::Result<Vec<(Ipv4Addr, String)>, (bool, String)> {
    let net = u32::from(order.subnet);
    let mask = u32::from(local.mask);
    let first = net + 1;
    let last = (net | !mask).saturating_sub(1);
    let hosts = u64::from(last.saturating_sub(first)) + 1;
    let mut latency = Duration::from_millis(order.latency_ms);
    if latency * (hosts.min(u64::from(u32::MAX)) as u32) > MAX_SWEEP {
        latency = MAX_SWEEP / (hosts.max(1) as u32);
        log::info!(
            "IPDISCOVER: {hosts} addresses at {} ms would take longer than {} s: {} µs between requests",
            order.latency_ms,
            MAX_SWEEP.as_secs(),
            latency.as_micros()
        );
    }
    arp_exchange(local, &mut (first..=last).map(Ipv4Addr::from), latency, LAST_WAIT)
}

/// Most on-link addresses a discovery sweeps by ARP before probing; above, every address is
/// probed (a /20 takes 2 s of requests at [`PRESWEEP_GAP`]).
pub const MAX_PRESWEEP: u64 = 4096;
/// Between two who-has of the discovery's sweep.
const PRESWEEP_GAP: Duration = Duration::from_micros(500);

/// What an ARP sweep ahead of a network discovery learnt: the networks of this machine's
/// Ethernet interfaces that were swept, and which of their addresses are there. An address of
/// a swept network that answered no ARP request cannot answer SNMP, NetBIOS or ICMP either,
/// so the discovery skips it instead of spending a timeout on it.
#[derive(Debug, Default)]
pub struct OnLink {
    /// (network, mask) of each interface swept.
    nets: Vec<(u32, u32)>,
    /// What answered, this machine's own addresses and the kernel's neighbour table entries.
    present: std::collections::HashSet<Ipv4Addr>,
}

impl OnLink {
    /// An `OnLink` as a sweep of `nets` that found `present` would leave it.
    #[cfg(test)]
    pub fn with(nets: &[(Ipv4Addr, Ipv4Addr)], present: &[Ipv4Addr]) -> OnLink {
        OnLink {
            nets: nets.iter().map(|&(n, m)| (u32::from(n), u32::from(m))).collect(),
            present: present.iter().copied().collect(),
        }
    }

    /// True when `ip` is on a swept network (not its network or broadcast address) and
    /// nothing there holds it.
    pub fn absent(&self, ip: Ipv4Addr) -> bool {
        let a = u32::from(ip);
        !self.present.contains(&ip)
            && self
                .nets
                .iter()
                .any(|&(net, mask)| a & mask == net && a != net && a != net | !mask)
    }

    pub fn swept(&self) -> usize {
        self.nets.len()
    }
}

/// Every up, non-loopback, broadcast-capable IPv4 interface with its Ethernet address, and
/// every IPv4 address of this machine.
fn local_links() -> std::result::Result<(Vec<Local>, Vec<Ipv4Addr>), String> {
    let all = ipv4_interfaces()?;
    let own = all.iter().map(|(l, _)| l.ip).collect();
    let locals = all
        .into_iter()
        .filter(|(l, flags)| {
            flags.contains(InterfaceFlags::IFF_UP)
                && flags.contains(InterfaceFlags::IFF_BROADCAST)
                && !flags.contains(InterfaceFlags::IFF_LOOPBACK)
                && !flags.contains(InterfaceFlags::IFF_NOARP)
                && prefix_len(l.mask) >= MIN_PREFIX
                && prefix_len(l.mask) <= 30
        })
        .map(|(l, _)| l)
        .take(64)
        .collect();
    Ok((locals, own))
}

/// Sweeps by ARP the addresses of `ranges` (first, last) that lie on this machine's Ethernet
/// networks, `wait` for the last replies. Networks that cannot be swept (no CAP_NET_RAW, no
/// Ethernet address, more than [`MAX_PRESWEEP`] addresses in all) are left out of the result,
/// so their addresses are probed as before.
pub fn presweep(ranges: &[(Ipv4Addr, Ipv4Addr)], wait: Duration, root: &Root) -> OnLink {
    let mut out = OnLink::default();
    let (locals, own) = match local_links() {
        Ok(l) => l,
        Err(e) => {
            log::debug!("no ARP sweep: {e}");
            return out;
        }
    };
    // The addresses of the ranges inside each local network, as (first, last) pieces.
    let mut plan: Vec<(&Local, Vec<(u32, u32)>)> = Vec::new();
    let mut total = 0u64;
    for l in &locals {
        let mask = u32::from(l.mask);
        let net = u32::from(l.ip) & mask;
        if plan.iter().any(|(p, _)| u32::from(p.ip) & u32::from(p.mask) == net && p.mask == l.mask) {
            continue;
        }
        let (lo, hi) = (net + 1, (net | !mask) - 1);
        let pieces: Vec<(u32, u32)> = ranges
            .iter()
            .filter_map(|&(a, b)| {
                let (a, b) = (u32::from(a).max(lo), u32::from(b).min(hi));
                (a <= b).then_some((a, b))
            })
            .collect();
        if pieces.is_empty() {
            continue;
        }
        total += pieces.iter().map(|&(a, b)| u64::from(b - a) + 1).sum::<u64>();
        plan.push((l, pieces));
    }
    if plan.is_empty() {
        return out;
    }
    if total > MAX_PRESWEEP {
        log::debug!("no ARP sweep: {total} on-link addresses, more than {MAX_PRESWEEP}");
        return out;
    }
    let started = Instant::now();
    for (l, pieces) in plan {
        let mut targets = pieces.iter().flat_map(|&(a, b)| (a..=b).map(Ipv4Addr::from));
        match arp_exchange(l, &mut targets, PRESWEEP_GAP, wait) {
            Ok(found) => {
                let mask = u32::from(l.mask);
                out.nets.push((u32::from(l.ip) & mask, mask));
                out.present.extend(found.into_iter().map(|(ip, _)| ip));
            }
            Err((_, why)) => log::debug!("no ARP sweep on {}: {why}", l.name),
        }
    }
    out.present.extend(own);
    if let Some(b) = root.read_bytes("/proc/net/arp", MAX_ARP_TABLE) {
        let text = String::from_utf8_lossy(&b);
        out.present.extend(parse_arp_table(&text).into_iter().map(|(ip, _, _)| ip));
    }
    log::info!(
        "ARP sweep of {} network(s) in {} ms: {} address(es) present",
        out.nets.len(),
        started.elapsed().as_millis(),
        out.present.len()
    );
    out
}

/// Runs the order: the hosts of the subnet, or why not.
pub fn run(order: &Order, root: &Root) -> std::result::Result<Result, String> {
    let local = find_interface(order.subnet)?;
    let prefix = prefix_len(local.mask);
    if prefix < MIN_PREFIX {
        return Err(format!(
            "IPDISCOVER: {} is a /{prefix}, wider than a /{MIN_PREFIX}: not scanned",
            order.subnet
        ));
    }
    log::info!(
        "IPDISCOVER: ARP sweep of {}/{prefix} on {}, {} ms between requests",
        order.subnet,
        local.name,
        order.latency_ms
    );
    let found = match sweep(&local, order) {
        Ok(f) => f,
        Err((not_permitted, why)) => {
            log::warn!(
                "IPDISCOVER: {why}{}; using the kernel's neighbour table instead (only hosts this machine already talked to)",
                if not_permitted { " (CAP_NET_RAW needed)" } else { "" }
            );
            let text = root
                .read_bytes("/proc/net/arp", MAX_ARP_TABLE)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let mask = u32::from(local.mask);
            parse_arp_table(&text)
                .into_iter()
                .filter(|(ip, _, dev)| dev == &local.name && u32::from(*ip) & mask == u32::from(order.subnet))
                .map(|(ip, mac, _)| (ip, mac))
                .take(MAX_HOSTS)
                .collect()
        }
    };
    let mut resolver = Resolver::new(root);
    let hosts = found
        .into_iter()
        .map(|(ip, mac)| Host {
            name: resolver.name(ip).unwrap_or_else(|| "-".into()),
            ip,
            mac,
        })
        .collect();
    Ok(Result {
        interface: local.name,
        subnet: order.subnet,
        mask: local.mask,
        hosts,
    })
}

/// Reverse DNS over UDP to the first name server of resolv.conf; it gives up after a few
/// silent answers in a row, so that a dead resolver costs seconds, not minutes.
struct Resolver {
    server: Option<SocketAddr>,
    silent: usize,
}

impl Resolver {
    fn new(root: &Root) -> Resolver {
        let server = root.read("/etc/resolv.conf").and_then(|t| {
            t.lines().find_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some("nameserver"))
                    .then(|| w.next()?.parse::<std::net::IpAddr>().ok())
                    .flatten()
                    .map(|ip| SocketAddr::new(ip, 53))
            })
        });
        if server.is_none() {
            log::debug!("IPDISCOVER: no name server configured: no names");
        }
        Resolver { server, silent: 0 }
    }

    fn name(&mut self, ip: Ipv4Addr) -> Option<String> {
        let server = self.server?;
        if self.silent >= DNS_MAX_SILENT {
            return None;
        }
        let sock = UdpSocket::bind(if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }).ok()?;
        sock.set_read_timeout(Some(DNS_WAIT)).ok()?;
        let id = (crate::core::random::u64() & 0xffff) as u16;
        sock.send_to(&ptr_query(id, ip), server).ok()?;
        let mut buf = [0u8; 1500];
        let deadline = Instant::now() + DNS_WAIT;
        while Instant::now() < deadline {
            match sock.recv_from(&mut buf) {
                Ok((n, from)) if from == server => {
                    self.silent = 0;
                    if let Some(name) = parse_ptr_answer(&buf[..n], id) {
                        return Some(name);
                    }
                    if buf.get(..2) == Some(&id.to_be_bytes()) {
                        return None;
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        self.silent += 1;
        None
    }
}

/// A DNS query for the PTR record of `ip` (`d.c.b.a.in-addr.arpa`).
pub fn ptr_query(id: u16, ip: Ipv4Addr) -> Vec<u8> {
    let mut q = Vec::with_capacity(64);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    let o = ip.octets();
    for label in [o[3], o[2], o[1], o[0]].iter().map(u8::to_string).chain(["in-addr".into(), "arpa".into()]) {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&[0, 12, 0, 1]);
    q
}

/// A name of at most 255 bytes at `pos`, following compression pointers a bounded number of
/// times; and the position after it in the record.
fn read_name(msg: &[u8], mut pos: usize) -> Option<(String, usize)> {
    let mut name = String::new();
    let mut end = None;
    for _ in 0..32 {
        let len = usize::from(*msg.get(pos)?);
        if len == 0 {
            return Some((name, end.unwrap_or(pos + 1)));
        }
        if len & 0xc0 == 0xc0 {
            let target = (len & 0x3f) << 8 | usize::from(*msg.get(pos + 1)?);
            end.get_or_insert(pos + 2);
            pos = target;
            continue;
        }
        let label = msg.get(pos + 1..pos + 1 + len)?;
        if !name.is_empty() {
            name.push('.');
        }
        name.push_str(&String::from_utf8_lossy(label));
        if name.len() > 255 {
            return None;
        }
        pos += 1 + len;
    }
    None
}

/// The first PTR name of an answer to `id`.
pub fn parse_ptr_answer(msg: &[u8], id: u16) -> Option<String> {
    if msg.len() < 12 || msg[..2] != id.to_be_bytes() || msg[2] & 0x80 == 0 || msg[3] & 0x0f != 0 {
        return None;
    }
    let qd = u16::from_be_bytes([msg[4], msg[5]]);
    let an = u16::from_be_bytes([msg[6], msg[7]]).min(32);
    let mut pos = 12;
    for _ in 0..qd.min(4) {
        pos = read_name(msg, pos)?.1 + 4;
    }
    for _ in 0..an {
        let (_, p) = read_name(msg, pos)?;
        let rtype = u16::from_be_bytes([*msg.get(p)?, *msg.get(p + 1)?]);
        let rdlen = usize::from(u16::from_be_bytes([*msg.get(p + 8)?, *msg.get(p + 9)?]));
        if rtype == 12 {
            return read_name(msg, p + 10).map(|(n, _)| n).filter(|n| !n.is_empty());
        }
        pos = p + 10 + rdlen;
    }
    None
}
