//! Which interfaces and addresses a magic packet goes out of: pure functions of the interface
//! list, and the one function that reads it from the live system.

use std::net::Ipv4Addr;

use nix::libc;
use nix::net::if_::InterfaceFlags;
use nix::sys::socket::LinkAddr;

use super::parse::quoted;
use super::{MAX_ADDRESSES, MAX_INTERFACES};

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
pub fn check_interface(ifaces: &[Iface], name: &str) -> Result<(), String> {
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

