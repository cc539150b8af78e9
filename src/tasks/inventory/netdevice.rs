//! The machine as GLPI's network device (`--itemtype NetworkEquipment`): what its network
//! inventory (SNMP) would say of a router, from what the agent reads itself. GLPI then files
//! the router with the switches: `network_device` (name, model, firmware, addresses,
//! memory, uptime), `network_ports` (one per interface, with SNMP's interface numbers and
//! types) and `firmwares` (the OS release).

use std::io;

use super::network::Interface;
use super::sink::{Section, Sink};
use super::{Context, Facts};
use crate::sys::os::Distro;

/// Most addresses listed for the device as a whole.
pub const MAX_DEVICE_IPS: usize = 256;

/// IANA ifType of an interface (what SNMP's ifType says of it).
pub fn iftype(i: &Interface) -> i64 {
    match i.kind {
        Some("ethernet") | Some("alias") => 6,
        Some("wifi") => 71,
        Some("bridge") => 209,
        Some("aggregate") => 161,
        Some("loopback") => 24,
        Some("infiniband") => 199,
        Some("dialup") => 23,
        Some("fibrechannel") => 56,
        // ARPHRD_NONE: tun devices, WireGuard.
        _ if i.arp_type == Some(65534) => 131,
        _ => 1,
    }
}

/// What a device is known by: the MAC of the interface of the default route (else the first
/// one with a MAC), and every address but loopback's.
pub fn gather(list: &[Interface], via: Option<&str>, facts: &mut Facts) {
    let real = |i: &&Interface| i.kind != Some("loopback");
    let has_mac = |i: &&Interface| i.mac.as_deref().is_some_and(|m| m != "00:00:00:00:00:00");
    facts.mac = list
        .iter()
        .filter(real)
        .filter(has_mac)
        .find(|i| Some(i.name.as_str()) == via)
        .or_else(|| list.iter().filter(real).find(has_mac))
        .and_then(|i| i.mac.clone());
    facts.ips.clear();
    let all = list.iter().filter(real).flat_map(|i| {
        i.v4.iter()
            .map(|(ip, _)| ip.to_string())
            .chain(i.v6.iter().map(|(ip, _)| ip.to_string()))
    });
    // A bridge and its ports share link-local addresses: each once.
    for ip in all {
        if facts.ips.len() >= MAX_DEVICE_IPS {
            break;
        }
        if !facts.ips.contains(&ip) {
            facts.ips.push(ip);
        }
    }
}

/// One NETWORK_PORTS entry per interface but loopback. No traffic counters: they change at
/// every run, and a partial inventory would then always carry the ports.
pub fn write_ports(list: &[Interface], sink: &mut dyn Sink) -> io::Result<()> {
    for i in list.iter().filter(|i| i.kind != Some("loopback")) {
        sink.begin(Section::NetworkPorts)?;
        sink.opt_int("IFNUMBER", i.ifindex)?;
        sink.text("IFNAME", &i.name)?;
        sink.text("IFDESCR", &i.name)?;
        sink.int("IFTYPE", iftype(i))?;
        sink.opt_text("MAC", i.mac.as_deref())?;
        sink.opt_int("IFMTU", i.mtu)?;
        // sysfs gives Mb/s; SNMP's ifSpeed is in bits per second.
        sink.opt_int("IFSPEED", i.speed.map(|mbps| mbps.saturating_mul(1_000_000)))?;
        sink.int("IFSTATUS", if i.up { 1 } else { 2 })?;
        sink.int("IFINTERNALSTATUS", if i.admin_up { 1 } else { 2 })?;
        for (ip, _) in &i.v4 {
            sink.text("IPS", &ip.to_string())?;
        }
        for (ip, _) in &i.v6 {
            sink.text("IPS", &ip.to_string())?;
        }
        sink.end()?;
    }
    Ok(())
}

/// The OS release as the device's firmware.
pub fn write_firmware(distro: &Distro, sink: &mut dyn Sink) -> io::Result<()> {
    let Some(name) = distro.name.as_deref() else {
        return Ok(());
    };
    sink.begin(Section::Firmwares)?;
    sink.text("NAME", name)?;
    sink.opt_text("VERSION", distro.version.as_deref())?;
    sink.opt_text("DESCRIPTION", distro.full_name.as_deref())?;
    sink.text("TYPE", "system")?;
    sink.end()
}

/// `X days, HH:MM:SS`, as the schema's uptime is written.
pub fn uptime_text(secs: i64) -> String {
    let s = secs.max(0);
    format!(
        "{} days, {:02}:{:02}:{:02}",
        s / 86_400,
        s % 86_400 / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// NETWORK_DEVICE, from the facts every collector gathered.
pub fn write_device(ctx: &Context, sink: &mut dyn Sink) -> io::Result<()> {
    let f = &ctx.facts;
    sink.begin(Section::NetworkDevice)?;
    sink.text("TYPE", "Networking")?;
    sink.text("NAME", f.asset_name.as_deref().unwrap_or(&f.hostname))?;
    let description = match (&f.os_full_name, &f.kernel_release, &f.arch) {
        (Some(os), Some(k), Some(a)) => Some(format!("{os}, Linux {k} {a}")),
        (Some(os), _, _) => Some(os.clone()),
        _ => None,
    };
    sink.opt_text("DESCRIPTION", description.as_deref())?;
    sink.opt_text("FIRMWARE", f.os_full_name.as_deref().or(f.os_name.as_deref()))?;
    sink.opt_text("MODEL", f.model.as_deref())?;
    sink.opt_text("MANUFACTURER", f.manufacturer.as_deref())?;
    sink.opt_text("SERIAL", f.serial.as_deref())?;
    sink.opt_text("MAC", f.mac.as_deref())?;
    for ip in &f.ips {
        sink.text("IPS", ip)?;
    }
    sink.opt_int("MEMORY", f.memory_mib)?;
    sink.opt_int("RAM", f.memory_mib)?;
    if let Some(up) = f.uptime {
        sink.text("UPTIME", &uptime_text(up))?;
    }
    sink.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_carry_snmp_numbers_and_types() {
        let eth = Interface {
            name: "eth0".into(),
            kind: Some("ethernet"),
            mac: Some("aa:bb:cc:00:11:22".into()),
            ifindex: Some(2),
            speed: Some(1000),
            up: true,
            admin_up: true,
            v4: vec![("192.168.1.1".parse().unwrap(), "255.255.255.0".parse().unwrap())],
            ..Interface::default()
        };
        let wg = Interface {
            name: "wg0".into(),
            kind: None,
            arp_type: Some(65534),
            ..Interface::default()
        };
        let lo = Interface {
            name: "lo".into(),
            kind: Some("loopback"),
            v4: vec![("127.0.0.1".parse().unwrap(), "255.0.0.0".parse().unwrap())],
            ..Interface::default()
        };
        let rec = {
            let mut r = super::super::test_support::Recorder::default();
            write_ports(&[lo.clone(), eth.clone(), wg.clone()], &mut r).unwrap();
            r
        };
        let ports = rec.section(Section::NetworkPorts);
        assert_eq!(ports.len(), 2, "loopback is not a port");
        let get = super::super::test_support::get;
        assert_eq!(get(ports[0], "IFTYPE"), Some("6"));
        assert_eq!(get(ports[0], "IFSPEED"), Some("1000000000"));
        assert_eq!(get(ports[0], "IFSTATUS"), Some("1"));
        assert_eq!(get(ports[0], "IPS"), Some("192.168.1.1"));
        assert_eq!(get(ports[1], "IFTYPE"), Some("131"));
        assert_eq!(get(ports[1], "IFSTATUS"), Some("2"));
        let mut facts = Facts::default();
        gather(&[lo, eth, wg], Some("eth0"), &mut facts);
        assert_eq!(facts.mac.as_deref(), Some("aa:bb:cc:00:11:22"));
        assert_eq!(facts.ips, ["192.168.1.1"]);
        assert_eq!(uptime_text(90_061), "1 days, 01:01:01");
    }
}
