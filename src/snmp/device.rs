//! One device, and what SNMP tells of it (§A.4 of the network tasks' notes): the system
//! group, the type, maker and model from the sysObjectID, the MAC and serial chains, the
//! firmware and the addresses.

use std::cell::RefCell;
use std::net::Ipv4Addr;

use super::sysobject::SysObjectIds;
use crate::snmp::{oid, Agent, Oid, SnmpError, Value};

/// `aa:bb:cc:dd:ee:ff` from six bytes; `None` for all zeros or all ones.
pub fn mac_text(b: &[u8]) -> Option<String> {
    // All zeros, all ones, or six spaces (a blank text where an address should be).
    if b.len() != 6
        || b.iter().all(|&x| x == 0)
        || b.iter().all(|&x| x == 0xff)
        || b.iter().all(|&x| x == b' ')
    {
        return None;
    }
    Some(
        b.iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

/// Most rows read from each table a discovery walks (interfaces, addresses, entities).
const MAX_ROWS: usize = 256;
const MAX_ENTITY_ROWS: usize = 32;

/// The fields of a DEVICE, by their XML names.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Device {
    pub ip: String,
    pub mac: Option<String>,
    pub dnshostname: Option<String>,
    pub netbiosname: Option<String>,
    pub workgroup: Option<String>,
    pub usersession: Option<String>,
    pub snmphostname: Option<String>,
    pub description: Option<String>,
    pub location: Option<String>,
    pub contact: Option<String>,
    pub uptime: Option<String>,
    pub kind: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub firmware: Option<String>,
    pub ips: Vec<String>,
    pub authsnmp: Option<String>,
    pub authport: Option<String>,
    pub entity: Option<String>,
}

impl Device {
    /// Whether anything was found (the reference agents' rule: a MAC or a name).
    pub fn found(&self) -> bool {
        self.mac.is_some()
            || self.snmphostname.is_some()
            || self.dnshostname.is_some()
            || self.netbiosname.is_some()
            || self.authsnmp.is_some()
    }

    /// The fields in the alphabetical order the reference agents write them.
    pub fn fields(&self) -> Vec<(&'static str, &str)> {
        let all: [(&'static str, Option<&str>); 19] = [
            ("AUTHPORT", self.authport.as_deref()),
            ("AUTHSNMP", self.authsnmp.as_deref()),
            ("CONTACT", self.contact.as_deref()),
            ("DESCRIPTION", self.description.as_deref()),
            ("DNSHOSTNAME", self.dnshostname.as_deref()),
            ("ENTITY", self.entity.as_deref()),
            ("FIRMWARE", self.firmware.as_deref()),
            ("IP", Some(self.ip.as_str())),
            ("LOCATION", self.location.as_deref()),
            ("MAC", self.mac.as_deref()),
            ("MANUFACTURER", self.manufacturer.as_deref()),
            ("MODEL", self.model.as_deref()),
            ("NETBIOSNAME", self.netbiosname.as_deref()),
            ("SERIAL", self.serial.as_deref()),
            ("SNMPHOSTNAME", self.snmphostname.as_deref()),
            ("TYPE", self.kind.as_deref()),
            ("UPTIME", self.uptime.as_deref()),
            ("USERSESSION", self.usersession.as_deref()),
            ("WORKGROUP", self.workgroup.as_deref()),
        ];
        all.into_iter()
            .filter_map(|(k, v)| Some((k, v.filter(|s| !s.is_empty())?)))
            .collect()
    }
}

/// A MAC from an SNMP value: six bytes, `0x…` hex or `a:b:c:d:e:f` text; more than six
/// bytes keep the last six; all zeros is no MAC.
pub fn canonical_mac(v: &Value) -> Option<String> {
    let b = v.as_bytes()?;
    let bytes: Vec<u8> = if b.len() == 6 {
        b.to_vec()
    } else if let Ok(t) = std::str::from_utf8(b) {
        let t = t.trim();
        if let Some(hex) = t.strip_prefix("0x") {
            (0..hex.len() / 2)
                .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
                .collect()
        } else if t.contains(':') {
            t.split(':')
                .filter_map(|x| u8::from_str_radix(x, 16).ok())
                .collect()
        } else {
            b.to_vec()
        }
    } else {
        b.to_vec()
    };
    if bytes.len() < 6 {
        return None;
    }
    mac_text(&bytes[bytes.len() - 6..])
}

/// A string value canonicalised (cut at the first control character, trimmed), `None` when
/// empty.
pub fn text(v: &Value) -> Option<String> {
    let mut t = v.to_text();
    if t.len() > MAX_TEXT_BYTES {
        let mut end = MAX_TEXT_BYTES;
        while !t.is_char_boundary(end) {
            end -= 1;
        }
        t.truncate(end);
    }
    (!t.is_empty()).then_some(t)
}

/// Longest text kept from a value (sysDescr and the like; SNMPv2-MIB's DisplayString is at
/// most 255 bytes): an agent's 64 KiB string is cut here.
pub const MAX_TEXT_BYTES: usize = 4096;

/// `451 days, 00:56:29.21`, as Net::SNMP prints TimeTicks.
pub fn uptime(ticks: u32) -> String {
    let t = u64::from(ticks);
    let (days, r) = (t / 8_640_000, t % 8_640_000);
    let (h, r) = (r / 360_000, r % 360_000);
    let (m, r) = (r / 6_000, r % 6_000);
    let (s, cs) = (r / 100, r % 100);
    format!("{days} days, {h:02}:{m:02}:{s:02}.{cs:02}")
}

/// net-snmp's placeholders that say nothing.
fn placeholder(s: &str) -> bool {
    let conf = s
        .find("/etc")
        .is_some_and(|i| s[i..].contains("snmp") && s[i..].contains(".conf"));
    (conf && (s.contains("edit /etc") || s.contains("configure /etc")))
        || s.starts_with("Unknown (edit")
}

/// The type and maker from the first word of sysDescr and a few patterns, when the
/// sysObjectID said nothing.
fn from_description(d: &str) -> (Option<&'static str>, Option<&'static str>) {
    let first = d
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let known: &[(&str, &str, Option<&str>)] = &[
        ("cisco", "Cisco", Some("NETWORKING")),
        ("juniper", "Juniper", Some("NETWORKING")),
        ("ricoh", "Ricoh", Some("PRINTER")),
        ("hp", "Hewlett-Packard", None),
        ("xerox", "Xerox", Some("PRINTER")),
        ("lexmark", "Lexmark", Some("PRINTER")),
        ("brother", "Brother", Some("PRINTER")),
        ("canon", "Canon", Some("PRINTER")),
        ("epson", "Epson", Some("PRINTER")),
        ("kyocera", "Kyocera", Some("PRINTER")),
        ("mikrotik", "MikroTik", Some("NETWORKING")),
        ("routeros", "MikroTik", Some("NETWORKING")),
        ("huawei", "Huawei", Some("NETWORKING")),
        ("zyxel", "Zyxel", Some("NETWORKING")),
        ("d-link", "D-Link", Some("NETWORKING")),
        ("netgear", "Netgear", Some("NETWORKING")),
    ];
    if let Some((_, m, t)) = known.iter().find(|(w, _, _)| *w == first) {
        return (*t, Some(m));
    }
    if d.contains("Switch") {
        (Some("NETWORKING"), None)
    } else if d.contains("JETDIRECT") {
        (Some("PRINTER"), Some("Hewlett-Packard"))
    } else if d.starts_with("Linux TS-") {
        (Some("STORAGE"), Some("Qnap"))
    } else {
        (None, None)
    }
}

const SYS_DESCR: &str = ".1.3.6.1.2.1.1.1.0";
const SYS_OBJECT_ID: &str = ".1.3.6.1.2.1.1.2.0";
const SYS_UPTIME: &str = ".1.3.6.1.2.1.1.3.0";
const SYS_CONTACT: &str = ".1.3.6.1.2.1.1.4.0";
const SYS_NAME: &str = ".1.3.6.1.2.1.1.5.0";
const SYS_LOCATION: &str = ".1.3.6.1.2.1.1.6.0";
const BRIDGE_ADDRESS: &str = ".1.3.6.1.2.1.17.1.1.0";
const PPM_PRINTER_NAME: &str = ".1.3.6.1.4.1.2699.1.2.1.2.1.1.2.1";
const IP_AD_ENT_ADDR: &str = ".1.3.6.1.2.1.4.20.1.1";
const IP_AD_ENT_IFINDEX: &str = ".1.3.6.1.2.1.4.20.1.2";
const IF_PHYS_ADDRESS: &str = ".1.3.6.1.2.1.2.2.1.6";
const IF_SPEED: &str = ".1.3.6.1.2.1.2.2.1.5";
const ENT_FIRMWARE_REV: &str = ".1.3.6.1.2.1.47.1.1.1.1.9";
const ENT_SOFTWARE_REV: &str = ".1.3.6.1.2.1.47.1.1.1.1.10";
const ENT_SERIAL: &str = ".1.3.6.1.2.1.47.1.1.1.1.11";
const ENT_MODEL: &str = ".1.3.6.1.2.1.47.1.1.1.1.13";
const PRT_SERIAL: &str = ".1.3.6.1.2.1.43.5.1.1.17";
const PRT_SUPPLIES: &str = ".1.3.6.1.2.1.43.11.1.1.6.1.1";
const HR_DEVICE_DESCR: &str = ".1.3.6.1.2.1.25.3.2.1.3.1";
const UPS_MODEL: &str = ".1.3.6.1.2.1.33.1.1.5.0";
const PRT_VENDOR: &str = ".1.3.6.1.2.1.43.8.2.1.14.1.1";

const BROCADE: &str = ".1.3.6.1.4.1.1991";
const BROCADE_SERIAL: &str = ".1.3.6.1.4.1.1991.1.1.1.1.2.0";
const BROCADE_FIRMWARE: &str = ".1.3.6.1.4.1.1991.1.1.2.1.11.0";
const UBNT_AP_MAC: &str = ".1.3.6.1.4.1.41112.1.4.5.1.4.1";
/// MikroTik (MIKROTIK-MIB mtxrSystem): serial and firmware; the model is sysDescr's
/// `RouterOS <board>`.
const MIKROTIK: &str = ".1.3.6.1.4.1.14988";
const MIKROTIK_SERIAL: &str = ".1.3.6.1.4.1.14988.1.1.7.3.0";
const MIKROTIK_FIRMWARE: &str = ".1.3.6.1.4.1.14988.1.1.7.4.0";
/// TP-Link (TPLINK-SYSINFO-MIB tpSysInfo…: hardware version, software version, MAC, serial);
/// older models answer the same columns under their sysObjectID + `.1.1.1`.
const TPLINK: &str = ".1.3.6.1.4.1.11863";
const TPLINK_SYSINFO: &str = ".1.3.6.1.4.1.11863.6.1.1";
/// HP ProCurve / Aruba switches (hpEtherSwitch): HP-HTTP-MG's serial and ROM version.
const HP_ETHER_SWITCH: &str = ".1.3.6.1.4.1.11.2.3.7.11";
const HP_HTTP_MG_ROM_VERSION: &str = ".1.3.6.1.4.1.11.2.36.1.1.2.8.0";
const HP_HTTP_MG_SERIAL: &str = ".1.3.6.1.4.1.11.2.36.1.1.2.9.0";
/// Serial numbers in vendor MIBs (Juniper, Hirschmann, Xerox, Ricoh, Lexmark, Canon, Brother,
/// APC, Force10 ×2, BlueCoat, Compaq ×2, Aruba), asked when the standard ones say nothing.
const SERIAL_OIDS: &[&str] = &[
    ".1.3.6.1.4.1.2636.3.1.3.0",
    ".1.3.6.1.4.1.248.14.1.1.9.1.10.1",
    ".1.3.6.1.4.1.253.8.53.3.2.1.3.1",
    ".1.3.6.1.4.1.367.3.2.1.2.1.4.0",
    ".1.3.6.1.4.1.641.2.1.2.1.6.1",
    ".1.3.6.1.4.1.1602.1.2.1.4.0",
    ".1.3.6.1.4.1.2435.2.3.9.4.2.1.5.5.1.0",
    ".1.3.6.1.4.1.318.1.1.4.1.5.0",
    ".1.3.6.1.4.1.6027.3.8.1.1.5.0",
    ".1.3.6.1.4.1.6027.3.10.1.2.2.1.12.1",
    ".1.3.6.1.4.1.3417.2.11.1.4.0",
    ".1.3.6.1.4.1.232.2.2.2.1.0",
    ".1.3.6.1.4.1.232.11.2.10.3.0",
    ".1.3.6.1.4.1.14823.2.3.3.1.2.1.1.4.144.76.129.206.143.6",
];
/// Firmware versions in vendor MIBs (Cisco IOS, Hirschmann, Juniper).
const FIRMWARE_OIDS: &[&str] = &[
    ".1.3.6.1.4.1.9.9.25.1.1.1.2.5",
    ".1.3.6.1.4.1.248.14.1.1.2.0",
    ".1.3.6.1.4.1.2636.3.40.1.4.1.1.1.5.0",
];

/// The first of `oids` that has a value, asked in one request.
async fn first_answer(agent: &mut Agent, oids: &[&str]) -> Option<String> {
    let asked: Vec<Oid> = oids.iter().map(|o| oid(o)).collect();
    let values = agent.get(&asked).await.ok()?;
    values
        .iter()
        .filter(|(_, v)| v.is_value())
        .find_map(|(_, v)| text(v))
}

/// The first real value of a walk.
async fn first_of(agent: &mut Agent, table: &str) -> Option<String> {
    let rows = agent.walk(&oid(table), MAX_ENTITY_ROWS).await.ok()?;
    rows.iter()
        .filter_map(|(_, v)| text(v))
        .find(|t| !t.chars().all(|c| c == 'X' || c == 'x'))
}

/// Asks the agent what §A.4 needs and fills `d`. An error means the agent did not answer the
/// first request (the credential does not work, or there is no agent).
pub async fn snmp_discover(
    agent: &mut Agent,
    ip: Ipv4Addr,
    ids: &RefCell<SysObjectIds>,
    d: &mut Device,
) -> Result<(), SnmpError> {
    let base: Vec<Oid> = [
        SYS_DESCR,
        SYS_OBJECT_ID,
        SYS_UPTIME,
        SYS_CONTACT,
        SYS_NAME,
        SYS_LOCATION,
        BRIDGE_ADDRESS,
    ]
    .iter()
    .map(|s| oid(s))
    .collect();
    let values = agent.get(&base).await?;
    let v = |i: usize| values.get(i).map(|(_, v)| v).filter(|v| v.is_value());
    if v(0).is_none() && v(1).is_none() {
        return Err(SnmpError::Unexpected("neither sysDescr nor sysObjectID"));
    }
    d.description = v(0).and_then(text);
    d.uptime = v(2).and_then(|v| match v {
        Value::TimeTicks(t) => Some(uptime(*t)),
        other => text(other),
    });
    d.contact = v(3).and_then(text).filter(|s| !placeholder(s));
    d.snmphostname = v(4).and_then(text);
    d.location = v(5).and_then(text).filter(|s| !placeholder(s));

    // 1. sysObjectID.
    if let Some(Value::ObjectId(o)) = v(1) {
        let found = ids.borrow_mut().lookup(o);
        if let Some(e) = found {
            d.manufacturer = Some(e.manufacturer);
            d.kind = e.kind;
            d.model = e.model;
        }
    }
    // 2. sysDescr.
    if d.kind.is_none() || d.manufacturer.is_none() {
        let (t, m) = from_description(d.description.as_deref().unwrap_or(""));
        if d.kind.is_none() {
            d.kind = t.map(str::to_string);
        }
        if d.manufacturer.is_none() {
            d.manufacturer = m.map(str::to_string);
        }
    }
    // 4. A printer answers the Printer-MIB or has a first hrDevice.
    if d.kind.is_none() {
        let probe = agent.get(&[oid(PRT_SUPPLIES), oid(HR_DEVICE_DESCR)]).await;
        if probe.is_ok_and(|r| r.iter().any(|(_, v)| v.is_value())) {
            d.kind = Some("PRINTER".into());
        }
    }
    // 5. Model and maker fallbacks.
    if d.model.is_none() {
        d.model = match d.kind.as_deref() {
            Some("PRINTER") => agent
                .get_one(&oid(HR_DEVICE_DESCR))
                .await
                .ok()
                .flatten()
                .and_then(|v| text(&v)),
            Some("POWER") => agent
                .get_one(&oid(UPS_MODEL))
                .await
                .ok()
                .flatten()
                .and_then(|v| text(&v)),
            _ => first_of(agent, ENT_MODEL).await,
        };
    }
    if d.manufacturer.is_none() {
        d.manufacturer = agent
            .get_one(&oid(PRT_VENDOR))
            .await
            .ok()
            .flatten()
            .and_then(|v| text(&v));
    }
    if d.model.as_deref().is_some_and(|m| {
        m.split_whitespace()
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("dell"))
    }) {
        d.manufacturer = Some("Dell".into());
    }
    // 6. The host name of a printer without sysName.
    if d.snmphostname.is_none() {
        d.snmphostname = agent
            .get_one(&oid(PPM_PRINTER_NAME))
            .await
            .ok()
            .flatten()
            .and_then(|v| text(&v));
    }
    // Per-manufacturer rules (the reference agents' MibSupport): Ubiquiti's access point
    // MAC is its MAC and, without colons, its serial; Brocade's serial and firmware; MikroTik,
    // TP-Link and HP ProCurve in [`vendor_rules`].
    let sysobject = match v(1) {
        Some(Value::ObjectId(o)) => o.clone(),
        _ => Oid::default(),
    };
    let mut vendor_serial = None;
    let mut vendor_firmware = None;
    if sysobject.starts_with(&oid(BROCADE)) {
        vendor_serial = agent
            .get_one(&oid(BROCADE_SERIAL))
            .await
            .ok()
            .flatten()
            .and_then(|v| text(&v));
        vendor_firmware = agent
            .get_one(&oid(BROCADE_FIRMWARE))
            .await
            .ok()
            .flatten()
            .and_then(|v| text(&v));
    }
    let vendor = vendor_rules(agent, &sysobject, d.description.as_deref()).await;
    vendor_serial = vendor_serial.or(vendor.serial);
    vendor_firmware = vendor_firmware.or(vendor.firmware);
    let mut vendor_mac = vendor.mac;
    match vendor.model {
        Some(m) if vendor.model_wins || d.model.is_none() => d.model = Some(m),
        _ => {}
    }
    if let Ok(Some(m)) = agent.get_one(&oid(UBNT_AP_MAC)).await {
        vendor_mac = canonical_mac(&m);
        vendor_serial = vendor_mac.as_ref().map(|m| m.replace(':', ""));
    }
    // 7. The MAC.
    d.mac = match v(6).and_then(canonical_mac).or(vendor_mac) {
        Some(m) => Some(m),
        None => mac_from_interfaces(agent, ip).await,
    };
    // 8. Serial, 9. firmware, each with the vendor OIDs last.
    d.serial = match vendor_serial {
        Some(s) => Some(s),
        None => match first_of(agent, ENT_SERIAL).await {
            Some(s) => Some(s),
            None => match first_of(agent, PRT_SERIAL).await {
                Some(s) => Some(s),
                None => first_answer(agent, SERIAL_OIDS).await,
            },
        },
    }
    .filter(|s| !s.chars().all(|c| c == 'X' || c == 'x'));
    d.firmware = match vendor_firmware {
        Some(f) => Some(f),
        None => match first_of(agent, ENT_SOFTWARE_REV).await {
            Some(f) => Some(f),
            None => match first_of(agent, ENT_FIRMWARE_REV).await {
                Some(f) => Some(f),
                None => first_answer(agent, FIRMWARE_OIDS).await,
            },
        },
    };
    // 10. Addresses.
    if let Ok(rows) = agent.walk(&oid(IP_AD_ENT_ADDR), MAX_ROWS).await {
        let mut ips: Vec<Ipv4Addr> = rows
            .iter()
            .filter_map(|(_, v)| match v {
                Value::IpAddress(a) => Some(Ipv4Addr::from(*a)),
                _ => None,
            })
            .collect();
        ips.sort();
        ips.dedup();
        d.ips = ips.iter().map(Ipv4Addr::to_string).collect();
    }
    Ok(())
}

/// §A.4 step 7 after the bridge address: the interface that holds the queried address, the
/// only MAC among the interfaces, or the first of an interface with a speed.
async fn mac_from_interfaces(agent: &mut Agent, ip: Ipv4Addr) -> Option<String> {
    let macs = agent.walk(&oid(IF_PHYS_ADDRESS), MAX_ROWS).await.ok()?;
    let base = oid(IF_PHYS_ADDRESS);
    let by_index: Vec<(u32, String)> = macs
        .iter()
        .filter_map(|(o, v)| Some((*o.suffix(&base)?.first()?, canonical_mac(v)?)))
        .collect();
    if by_index.is_empty() {
        return None;
    }
    let holder = oid(IP_AD_ENT_IFINDEX).child(&ip.octets().map(u32::from));
    if let Ok(Some(Value::Integer(i))) = agent.get_one(&holder).await {
        if let Some((_, m)) = by_index.iter().find(|(n, _)| i64::from(*n) == i) {
            return Some(m.clone());
        }
    }
    let mut distinct: Vec<&String> = by_index.iter().map(|(_, m)| m).collect();
    distinct.sort();
    distinct.dedup();
    if distinct.len() == 1 {
        return Some(distinct[0].clone());
    }
    let speeds = agent.walk(&oid(IF_SPEED), MAX_ROWS).await.ok()?;
    let speed_base = oid(IF_SPEED);
    by_index
        .iter()
        .find(|(n, _)| {
            speeds.iter().any(|(o, v)| {
                o.suffix(&speed_base) == Some(&[*n][..]) && v.as_u64().is_some_and(|s| s > 0)
            })
        })
        .map(|(_, m)| m.clone())
}

/// What a manufacturer's own MIB says of the device (the reference agents' MibSupport for
/// MikroTik, TP-Link and HP ProCurve/Aruba switches).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Vendor {
    pub serial: Option<String>,
    pub firmware: Option<String>,
    pub mac: Option<String>,
    pub model: Option<String>,
    /// The model replaces the one sysobject.ids gave (MikroTik's board name), rather than
    /// filling it when there is none (TP-Link).
    pub model_wins: bool,
}

/// A TP-Link tpSysInfo column under the current MIB, else under the sysObjectID.
async fn tplink_column(agent: &mut Agent, sysobject: &Oid, n: u32) -> Option<String> {
    match get_text(agent, &oid(TPLINK_SYSINFO).child(&[n, 0])).await {
        Some(t) => Some(t),
        None => get_text(agent, &sysobject.child(&[1, 1, 1, n, 0])).await,
    }
}

async fn get_text(agent: &mut Agent, o: &Oid) -> Option<String> {
    let v = agent.get_one(o).await.ok().flatten()?;
    text(&v)
}

/// The vendor rules that apply to `sysobject` (nothing for other makers).
pub async fn vendor_rules(agent: &mut Agent, sysobject: &Oid, description: Option<&str>) -> Vendor {
    let mut out = Vendor::default();
    if sysobject.starts_with(&oid(MIKROTIK)) {
        out.serial = get_text(agent, &oid(MIKROTIK_SERIAL)).await;
        out.firmware = get_text(agent, &oid(MIKROTIK_FIRMWARE)).await;
        out.model = description
            .and_then(|d| d.strip_prefix("RouterOS"))
            .filter(|rest| rest.starts_with(char::is_whitespace))
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_string);
        out.model_wins = true;
    } else if sysobject.starts_with(&oid(TPLINK)) {
        out.firmware = tplink_column(agent, sysobject, 6).await;
        // Some older units hold a boot banner (`TP-LINK …`) where the MAC should be: the
        // next column has it then.
        let mut mac = tplink_column(agent, sysobject, 7).await;
        if mac.as_deref().is_some_and(|m| m.starts_with("TP-LINK")) {
            mac = get_text(agent, &sysobject.child(&[1, 1, 1, 8, 0])).await;
        }
        out.mac = mac.and_then(|m| canonical_mac(&Value::Octets(m.replace('-', ":").into_bytes())));
        let mut serial = tplink_column(agent, sysobject, 8).await;
        if serial.as_deref().is_some_and(|s| s.starts_with("TP-LINK")) {
            serial = get_text(agent, &sysobject.child(&[1, 1, 1, 8, 0])).await;
        }
        // Older units of the newer generation answer an uptime there: their MAC text is the
        // serial.
        if serial.as_deref().is_some_and(|s| s.contains("days")) {
            serial = get_text(agent, &oid(TPLINK_SYSINFO).child(&[7, 0])).await;
        }
        out.serial = serial;
        out.model = tplink_column(agent, sysobject, 5)
            .await
            .and_then(|hw| hw.split_whitespace().next().map(str::to_string));
    } else if sysobject.starts_with(&oid(HP_ETHER_SWITCH)) {
        out.serial = get_text(agent, &oid(HP_HTTP_MG_SERIAL)).await;
        out.firmware = get_text(agent, &oid(HP_HTTP_MG_ROM_VERSION)).await;
    }
    out
}
