//! What to wake and how, from the command line or a server's order: MAC and IP addresses,
//! methods, ports; and the bytes of the magic packet.

use std::fmt;
use std::net::Ipv4Addr;

use super::{DEFAULT_PORT, ETHERTYPE_WOL, FRAME_LEN, MAGIC_LEN, MAX_PORTS, MAX_QUOTED, MAX_TARGETS};

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
pub fn quoted(text: &str) -> String {
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

/// The UDP ports of one run, at most [`MAX_PORTS`].
pub type Ports = heapless::Vec<u16, MAX_PORTS>;

/// `--port`: UDP ports, 9 when none is given.
pub fn parse_ports(list: &[String]) -> Result<Ports, String> {
    let mut out = Ports::new();
    for p in items(list) {
        let port = p
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("invalid port {}: expected 1 to 65535", quoted(p)))?;
        if !out.contains(&port) && out.push(port).is_err() {
            return Err(format!("more than {MAX_PORTS} ports"));
        }
    }
    if out.is_empty() {
        out = Ports::from_slice(&[DEFAULT_PORT]).unwrap_or_default();
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
    pub ports: Ports,
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
