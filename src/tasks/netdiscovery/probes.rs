//! The probes that need no SNMP: the kernel's neighbour table (`/proc/net/arp`), ICMP echo
//! (an unprivileged ICMP datagram socket where `net.ipv4.ping_group_range` lets this process
//! open one, else a raw socket as root), and NetBIOS node status (NBSTAT, UDP 137).

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{self, AddressFamily, SockFlag, SockProtocol, SockType};
use smol::{future, Async, Timer};

pub use crate::snmp::device::mac_text;
use crate::sys::Root;

/// Largest neighbour table read.
pub const MAX_ARP_TABLE: usize = 4 * 1024 * 1024;
/// Most ICMP packets looked at while waiting for one echo reply.
const MAX_PING_STRAYS: usize = 4096;
/// Most names read from one NBSTAT answer.
const MAX_NB_NAMES: usize = 64;
/// How long a NetBIOS node gets to answer (RFC 1002's value, as the Perl agents wait).
pub const NBSTAT_WAIT: Duration = Duration::from_millis(250);

/// The complete entries of `/proc/net/arp`: address, MAC and interface.
pub fn parse_arp_table(text: &str) -> Vec<(Ipv4Addr, String, String)> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 {
            continue;
        }
        let (Ok(ip), Ok(flags)) = (
            f[0].parse::<Ipv4Addr>(),
            u32::from_str_radix(f[2].trim_start_matches("0x"), 16),
        ) else {
            continue;
        };
        // ATF_COM: the entry is resolved.
        if flags & 0x2 == 0 {
            continue;
        }
        let bytes: Vec<u8> = f[3]
            .split(':')
            .filter_map(|x| u8::from_str_radix(x, 16).ok())
            .collect();
        if let Some(mac) = mac_text(&bytes) {
            out.push((ip, mac, f[5].to_string()));
        }
    }
    out
}

/// The MAC the kernel knows for `ip`, if its neighbour entry is complete.
pub fn arp_lookup(root: &Root, ip: Ipv4Addr) -> Option<String> {
    let text = String::from_utf8_lossy(&root.read_bytes("/proc/net/arp", MAX_ARP_TABLE)?).into_owned();
    parse_arp_table(&text)
        .into_iter()
        .find(|(a, _, _)| *a == ip)
        .map(|(_, m, _)| m)
}

/// How this process may send ICMP echo requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingKind {
    /// An ICMP datagram socket (`ping_group_range`): the kernel sets the identifier.
    Datagram,
    /// A raw socket (CAP_NET_RAW): replies come with their IP header, every echo reply of
    /// the host is seen and filtered here.
    Raw,
    Unavailable,
}

fn icmp_socket(kind: SockType) -> Result<OwnedFd, Errno> {
    socket::socket(
        AddressFamily::Inet,
        kind,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        SockProtocol::Icmp,
    )
}

/// Which socket works here, tried once at the start of a job.
pub fn ping_kind() -> PingKind {
    match icmp_socket(SockType::Datagram) {
        Ok(_) => return PingKind::Datagram,
        Err(e) => log::debug!("no ICMP datagram socket ({e}); trying a raw one"),
    }
    match icmp_socket(SockType::Raw) {
        Ok(_) => PingKind::Raw,
        Err(e) => {
            log::warn!(
                "ICMP echo is not possible here: no ICMP datagram socket (net.ipv4.ping_group_range does not include this group) and no raw socket ({e}); hosts are found by SNMP, NetBIOS and the neighbour table only"
            );
            PingKind::Unavailable
        }
    }
}

fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in b.chunks(2) {
        let w = u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0));
        sum = sum.wrapping_add(w);
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request with this identifier and sequence number.
pub fn echo_request(id: u16, seq: u16) -> Vec<u8> {
    let mut p = vec![8, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(b"uagent-discovery");
    let c = checksum(&p);
    p[2..4].copy_from_slice(&c.to_be_bytes());
    p
}

/// Whether `data` (with its IP header for a raw socket) is the echo reply to `seq`/`id`.
pub fn is_echo_reply(data: &[u8], kind: PingKind, id: u16, seq: u16) -> bool {
    let icmp = if kind == PingKind::Raw {
        let Some(&first) = data.first() else {
            return false;
        };
        let ihl = usize::from(first & 0x0f) * 4;
        if first >> 4 != 4 || ihl < 20 {
            return false;
        }
        match data.get(ihl..) {
            Some(d) => d,
            None => return false,
        }
    } else {
        data
    };
    icmp.len() >= 8
        && icmp[0] == 0
        && u16::from_be_bytes([icmp[6], icmp[7]]) == seq
        // A datagram socket's identifier is the kernel's choice, and only its replies come.
        && (kind == PingKind::Datagram || u16::from_be_bytes([icmp[4], icmp[5]]) == id)
}

/// Whether `ip` answers an ICMP echo within `timeout`.
pub async fn ping(ip: Ipv4Addr, kind: PingKind, timeout: Duration) -> bool {
    let sock = match kind {
        PingKind::Datagram => icmp_socket(SockType::Datagram),
        PingKind::Raw => icmp_socket(SockType::Raw),
        PingKind::Unavailable => return false,
    };
    let Ok(fd) = sock else { return false };
    let Ok(sock) = Async::new(UdpSocket::from(fd)) else {
        return false;
    };
    let id = (crate::core::random::u64() & 0xffff) as u16;
    let seq = (u32::from(ip) & 0xffff) as u16;
    let to = SocketAddr::from((ip, 0));
    if sock.send_to(&echo_request(id, seq), to).await.is_err() {
        return false;
    }
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 1500];
    // A raw socket sees every echo reply of the host (the other addresses' too): the deadline
    // ends the wait, this bound only the work.
    for _ in 0..MAX_PING_STRAYS {
        let recv = async { Some(sock.recv_from(&mut buf).await) };
        let timer = async {
            Timer::at(deadline).await;
            None
        };
        match future::or(recv, timer).await {
            Some(Ok((n, from))) => {
                if from.ip() == ip && is_echo_reply(&buf[..n], kind, id, seq) {
                    return true;
                }
            }
            _ => return false,
        }
    }
    false
}

/// What a NetBIOS node says of itself.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    pub name: Option<String>,
    pub workgroup: Option<String>,
    pub user: Option<String>,
    pub mac: Option<String>,
}

/// A node status request (RFC 1002 4.2.17) for the wildcard name `*`.
pub fn nbstat_request(txid: u16) -> Vec<u8> {
    let mut p = Vec::with_capacity(50);
    p.extend_from_slice(&txid.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    p.push(32);
    let mut name = [0u8; 16];
    name[0] = b'*';
    for b in name {
        p.push(b'A' + (b >> 4));
        p.push(b'A' + (b & 0x0f));
    }
    p.push(0);
    p.extend_from_slice(&[0, 0x21, 0, 1]);
    p
}

/// Reads a node status answer to `txid`.
pub fn parse_nbstat(data: &[u8], txid: u16) -> Option<NodeStatus> {
    if data.len() < 12 || u16::from_be_bytes([data[0], data[1]]) != txid || data[2] & 0x80 == 0 {
        return None;
    }
    // The answer's name: labels, or a compression pointer.
    let mut i = 12;
    loop {
        let len = usize::from(*data.get(i)?);
        if len == 0 {
            i += 1;
            break;
        }
        if len & 0xc0 == 0xc0 {
            i += 2;
            break;
        }
        i += 1 + len;
    }
    // type, class, ttl, rdlength
    let rtype = u16::from_be_bytes([*data.get(i)?, *data.get(i + 1)?]);
    if rtype != 0x21 {
        return None;
    }
    i += 10;
    let count = usize::from(*data.get(i)?).min(MAX_NB_NAMES);
    i += 1;
    let mut st = NodeStatus::default();
    for _ in 0..count {
        let entry = data.get(i..i + 18)?;
        i += 18;
        let name = String::from_utf8_lossy(&entry[..15]).trim_end().to_string();
        let suffix = entry[15];
        let group = entry[16] & 0x80 != 0;
        match (suffix, group) {
            (0x00, false) if !name.starts_with("IS~") && st.name.is_none() => st.name = Some(name),
            (0x00, true) if st.workgroup.is_none() => st.workgroup = Some(name),
            (0x03, false) if st.user.is_none() => st.user = Some(name),
            _ => {}
        }
    }
    st.mac = data.get(i..i + 6).and_then(mac_text);
    Some(st)
}

/// Asks `ip` for its NetBIOS names.
pub async fn nbstat(ip: Ipv4Addr) -> Option<NodeStatus> {
    let sock = Async::<UdpSocket>::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))).ok()?;
    let txid = (crate::core::random::u64() & 0xffff) as u16;
    let to = SocketAddr::from((ip, 137));
    sock.send_to(&nbstat_request(txid), to).await.ok()?;
    let deadline = Instant::now() + NBSTAT_WAIT;
    let mut buf = [0u8; 1500];
    for _ in 0..16 {
        let recv = async { Some(sock.recv_from(&mut buf).await) };
        let timer = async {
            Timer::at(deadline).await;
            None
        };
        match future::or(recv, timer).await {
            Some(Ok((n, from))) if from == to => {
                if let Some(st) = parse_nbstat(&buf[..n], txid) {
                    return Some(st);
                }
            }
            Some(Ok(_)) => {}
            _ => return None,
        }
    }
    None
}
