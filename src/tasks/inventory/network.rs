//! Network interfaces (NETWORKS): `/sys/class/net` for each interface's kind and state, the
//! addresses from `getifaddrs` on a live system and `/proc/net/if_inet6`, the gateways from
//! `/proc/net/route`. One entry per address, as the reference agents send them.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::hardware::{default_route, parse_routes, route_addr, routes_big_endian};
use super::sink::{Section, Sink};
use super::{Category, Context};
use crate::sys::Root;

/// Most interfaces listed; the rest is left out with a warning.
pub const MAX_INTERFACES: usize = 1024;
/// Most addresses listed for one interface.
pub const MAX_ADDRESSES: usize = 64;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Interface {
    pub name: String,
    pub mac: Option<String>,
    pub mtu: Option<i64>,
    pub up: bool,
    pub speed: Option<i64>,
    pub driver: Option<String>,
    pub pci_slot: Option<String>,
    pub kind: Option<&'static str>,
    pub virtual_dev: bool,
    pub slaves: Vec<String>,
    pub v4: Vec<(Ipv4Addr, Ipv4Addr)>,
    pub v6: Vec<(Ipv6Addr, u8)>,
    pub gateway: Option<String>,
    /// The kernel's interface index (SNMP's ifIndex).
    pub ifindex: Option<i64>,
    /// Set up by the administrator (IFF_UP), whether or not a link is there.
    pub admin_up: bool,
    /// ARPHRD_* of `/sys/class/net/NAME/type`.
    pub arp_type: Option<i64>,
}

fn uevent_value(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('=').map(str::to_string))
}

/// Reads what `/sys/class/net/NAME` says of one interface.
pub fn read_interface(root: &Root, name: &str) -> Interface {
    let dir = format!("/sys/class/net/{name}");
    let mut i = Interface {
        name: name.to_string(),
        ..Interface::default()
    };
    i.mac = root
        .value(&format!("{dir}/address"))
        .map(|m| m.to_ascii_lowercase());
    i.mtu = root.number(&format!("{dir}/mtu"));
    i.ifindex = root.number(&format!("{dir}/ifindex"));
    let flags = root
        .value(&format!("{dir}/flags"))
        .and_then(|f| i64::from_str_radix(f.trim_start_matches("0x"), 16).ok());
    i.admin_up = flags.is_some_and(|f| f & 0x1 == 0x1);
    let operstate = root.value(&format!("{dir}/operstate")).unwrap_or_default();
    i.up = match operstate.as_str() {
        "up" => true,
        // Loopback and tunnels report no state; their flags say whether they are up and running.
        "unknown" => i.admin_up,
        _ => false,
    };
    i.speed = root.number(&format!("{dir}/speed")).filter(|s| *s > 0);
    let has_device = root.exists(&format!("{dir}/device"));
    if let Some(uevent) = root.read(&format!("{dir}/device/uevent")) {
        i.driver = uevent_value(&uevent, "DRIVER");
        i.pci_slot = uevent_value(&uevent, "PCI_SLOT_NAME");
    }
    let arp_type = root.number(&format!("{dir}/type"));
    i.arp_type = arp_type;
    let is_wifi =
        root.exists(&format!("{dir}/phy80211")) || root.exists(&format!("{dir}/wireless"));
    let is_bridge = root.exists(&format!("{dir}/bridge")) || root.exists(&format!("{dir}/brif"));
    let is_bond = root.exists(&format!("{dir}/bonding"));
    i.kind = if name == "lo" || arp_type == Some(772) {
        Some("loopback")
    } else if is_wifi {
        Some("wifi")
    } else if is_bridge {
        Some("bridge")
    } else if is_bond {
        Some("aggregate")
    } else if name.contains(':') {
        Some("alias")
    } else {
        match arp_type {
            Some(32) => Some("infiniband"),
            Some(512) => Some("dialup"),
            Some(774) | Some(787) => Some("fibrechannel"),
            Some(1) | None => Some("ethernet"),
            _ => None,
        }
    };
    if is_bridge {
        i.slaves = root.list(&format!("{dir}/brif"));
    } else if is_bond {
        if let Some(s) = root.value(&format!("{dir}/bonding/slaves")) {
            i.slaves = s.split_whitespace().map(str::to_string).collect();
        }
    }
    i.virtual_dev = !has_device
        || root.exists(&format!("/sys/devices/virtual/net/{name}"))
        || i.kind == Some("loopback");
    i
}

/// `/proc/net/if_inet6`: address, index, prefix length, scope, flags, name.
pub fn parse_if_inet6(text: &str) -> Vec<(String, Ipv6Addr, u8)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 || f[0].len() != 32 {
            continue;
        }
        let Ok(bits) = u128::from_str_radix(f[0], 16) else {
            continue;
        };
        let Ok(prefix) = u8::from_str_radix(f[2], 16) else {
            continue;
        };
        out.push((f[5].to_string(), Ipv6Addr::from(bits), prefix.min(128)));
        if out.len() >= MAX_INTERFACES * 4 {
            break;
        }
    }
    out
}

fn v6_mask(prefix: u8) -> Ipv6Addr {
    let bits = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix))
    };
    Ipv6Addr::from(bits)
}

/// IPv4 addresses and masks of the live system, by interface name.
fn live_v4() -> Vec<(String, Ipv4Addr, Ipv4Addr)> {
    let mut out = Vec::new();
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        log::warn!("cannot list the network addresses (getifaddrs failed)");
        return out;
    };
    for a in addrs {
        let (Some(addr), mask) = (a.address, a.netmask) else {
            continue;
        };
        let Some(v4) = addr.as_sockaddr_in() else {
            continue;
        };
        let mask = mask
            .and_then(|m| m.as_sockaddr_in().map(|m| m.ip()))
            .unwrap_or(Ipv4Addr::BROADCAST);
        out.push((a.interface_name.clone(), v4.ip(), mask));
    }
    out
}

/// Every interface of the system, with its addresses and gateway.
pub fn interfaces(root: &Root) -> Vec<Interface> {
    if !root.exists("/sys/class/net") {
        log::warn!("cannot list the network interfaces: no /sys/class/net");
    }
    let mut names = root.list("/sys/class/net");
    if names.len() > MAX_INTERFACES {
        log::warn!("more than {MAX_INTERFACES} network interfaces: the rest is left out");
        names.truncate(MAX_INTERFACES);
    }
    let mut list: Vec<Interface> = names
        .iter()
        .filter(|n| !n.starts_with('.') && !n.contains('/'))
        .map(|n| read_interface(root, n))
        .collect();
    if root.is_live() {
        for (name, ip, mask) in live_v4() {
            if let Some(i) = list.iter_mut().find(|i| i.name == name) {
                if i.v4.len() < MAX_ADDRESSES {
                    i.v4.push((ip, mask));
                }
            }
        }
    }
    if let Some(text) = root.read("/proc/net/if_inet6") {
        for (name, ip, prefix) in parse_if_inet6(&text) {
            if let Some(i) = list.iter_mut().find(|i| i.name == name) {
                if i.v6.len() < MAX_ADDRESSES {
                    i.v6.push((ip, prefix));
                }
            }
        }
    }
    if let Some(text) = root.read("/proc/net/route") {
        let routes = parse_routes(&text);
        let be = routes_big_endian(root, &routes);
        for r in routes.iter().filter(|r| r.gateway != 0) {
            if let Some(i) = list.iter_mut().find(|i| i.name == r.iface) {
                // The default route's gateway wins over a more specific one.
                if i.gateway.is_none() || r.destination == 0 {
                    i.gateway = Some(route_addr(r.gateway, be));
                }
            }
        }
    }
    list
}

fn write_common(i: &Interface, sink: &mut dyn Sink) -> io::Result<()> {
    sink.text("DESCRIPTION", &i.name)?;
    sink.opt_text("MACADDR", i.mac.as_deref())?;
    sink.text("STATUS", if i.up { "Up" } else { "Down" })?;
    sink.opt_text("TYPE", i.kind)?;
    sink.flag("VIRTUALDEV", i.virtual_dev)?;
    sink.opt_text("DRIVER", i.driver.as_deref())?;
    sink.opt_text("PCISLOT", i.pci_slot.as_deref())?;
    sink.opt_int("SPEED", i.speed)?;
    sink.opt_int("MTU", i.mtu)?;
    if !i.slaves.is_empty() {
        sink.text("SLAVES", &i.slaves.join(","))?;
    }
    Ok(())
}

pub fn collect(ctx: &mut Context, sink: &mut dyn Sink) -> io::Result<()> {
    let list = interfaces(ctx.root);
    let default = default_route(ctx.root);
    ctx.facts.default_gateway = default.as_ref().map(|(gw, _)| gw.clone());
    let via = default.as_ref().map(|(_, iface)| iface.as_str());
    let first_v4 = |pred: &dyn Fn(&Interface) -> bool| {
        list.iter()
            .filter(|i| pred(i))
            .find_map(|i| i.v4.first())
            .map(|(ip, _)| ip.to_string())
    };
    ctx.facts.ipaddr = first_v4(&|i| Some(i.name.as_str()) == via)
        .or_else(|| first_v4(&|i| i.kind != Some("loopback")));
    super::netdevice::gather(&list, via, &mut ctx.facts);

    if !ctx.opts.wants(Category::Network) {
        return Ok(());
    }
    if ctx.opts.itemtype == super::ItemType::NetworkEquipment {
        // A network device lists its ports, one per interface, instead of one entry per
        // address.
        return super::netdevice::write_ports(&list, sink);
    }
    for i in &list {
        if i.v4.is_empty() && i.v6.is_empty() {
            sink.begin(Section::Networks)?;
            write_common(i, sink)?;
            sink.end()?;
        }
        for (ip, mask) in &i.v4 {
            sink.begin(Section::Networks)?;
            write_common(i, sink)?;
            sink.text("IPADDRESS", &ip.to_string())?;
            sink.text("IPMASK", &mask.to_string())?;
            let subnet = Ipv4Addr::from(u32::from(*ip) & u32::from(*mask));
            sink.text("IPSUBNET", &subnet.to_string())?;
            sink.opt_text("IPGATEWAY", i.gateway.as_deref())?;
            sink.end()?;
        }
        for (ip, prefix) in &i.v6 {
            sink.begin(Section::Networks)?;
            write_common(i, sink)?;
            let mask = v6_mask(*prefix);
            sink.text("IPADDRESS6", &ip.to_string())?;
            sink.text("IPMASK6", &mask.to_string())?;
            let subnet = Ipv6Addr::from(u128::from(*ip) & u128::from(mask));
            sink.text("IPSUBNET6", &subnet.to_string())?;
            sink.end()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_inet6_lines_give_address_and_prefix() {
        let text = "fe800000000000002ad127fffe3c9a10 07 40 20 80   br-lan\n\
                    fd000000000000000000000000000002 02 40 00 80     eth0\nbad line\n";
        let v = parse_if_inet6(text);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].0, "br-lan");
        assert_eq!(v[0].1.to_string(), "fe80::2ad1:27ff:fe3c:9a10");
        assert_eq!(v[0].2, 64);
        assert_eq!(v6_mask(64).to_string(), "ffff:ffff:ffff:ffff::");
    }
}
