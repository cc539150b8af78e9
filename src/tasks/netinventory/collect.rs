//! What is read from one device (§B.2): the typing of the discovery (sysObjectID, sysDescr,
//! serial, firmware, MAC), INFO's extras, the ports of IF-MIB with their addresses, duplex,
//! VLANs, trunk flag, neighbours (LLDP, CDP) and connected MACs (BRIDGE-MIB and Q-BRIDGE, per
//! VLAN context when needed), aggregation (LACP, PAgP), ENTITY-MIB components, and a printer's
//! cartridges and page counters — by the reference agents' rules.
//!
//! The code is plain, not async: each request blocks on the session's future
//! ([`Query`]), so that one state machine per request kind is compiled, not one per table.
//! Every table read has a bound; an agent whose answers exceed it, loop or do not increase
//! makes the device an ERROR, never a hang or an unbounded allocation.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::xml::Node;
use crate::snmp::device::{canonical_mac, snmp_discover, text, uptime, Device as Discovered};
use crate::snmp::sysobject::SysObjectIds;
use crate::snmp::{oid, Agent, Oid, SnmpError, Value};

/// Most values one walk reads (a table column): a 4,096-port chassis' ifTable column fits
/// many times over; an agent that answers more is refused.
pub const MAX_WALK_ROWS: usize = 16_384;
/// Most values all the walks of one device read together (16 full tables): an agent that
/// answers every table at its bound is refused rather than walked for ever.
pub const MAX_DEVICE_VALUES: usize = 16 * MAX_WALK_ROWS;
/// Most ports kept.
pub const MAX_PORTS: usize = 8_192;
/// Most connected MACs kept per port, and VLAN contexts tried.
const MAX_MACS_PER_PORT: usize = 4_096;
const MAX_VLAN_CONTEXTS: usize = 64;
/// Longest text value kept.
const MAX_TEXT: usize = 1024;

/// Why a device has no inventory.
#[derive(Debug)]
pub enum CollectError {
    Snmp(SnmpError),
    TooLarge(&'static str),
    /// More than MAX_DEVICE_VALUES values over all the walks.
    TooMany,
}

impl std::fmt::Display for CollectError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            CollectError::Snmp(e) => write!(f, "SNMP communication error: {e}"),
            CollectError::TooLarge(t) => write!(
                f,
                "the agent's {t} holds more than {MAX_WALK_ROWS} values: refused"
            ),
            CollectError::TooMany => write!(
                f,
                "the agent answered more than {MAX_DEVICE_VALUES} values in all: refused"
            ),
        }
    }
}

impl From<SnmpError> for CollectError {
    fn from(e: SnmpError) -> Self {
        CollectError::Snmp(e)
    }
}

/// Blocking requests on an agent.
pub struct Query<'a> {
    pub agent: &'a mut Agent,
    /// Values the walks read so far (bounded by MAX_DEVICE_VALUES).
    read: usize,
}

type Rows = Vec<(Vec<u32>, Value)>;

impl<'a> Query<'a> {
    pub fn new(agent: &'a mut Agent) -> Query<'a> {
        Query { agent, read: 0 }
    }

    /// Every value under `root` with its index (the arcs after `root`).
    pub fn walk(&mut self, root: &str, what: &'static str) -> Result<Rows, CollectError> {
        let base = oid(root);
        let rows = smol::block_on(self.agent.walk(&base, MAX_WALK_ROWS + 1))?;
        if rows.len() > MAX_WALK_ROWS {
            return Err(CollectError::TooLarge(what));
        }
        self.read += rows.len();
        if self.read > MAX_DEVICE_VALUES {
            return Err(CollectError::TooMany);
        }
        Ok(rows
            .into_iter()
            .filter_map(|(o, v)| Some((o.suffix(&base)?.to_vec(), v)))
            .filter(|(_, v)| v.is_value())
            .collect())
    }

    /// A walk whose failure (other than a refusal for size) leaves the table out.
    fn optional(&mut self, root: &str, what: &'static str) -> Result<Rows, CollectError> {
        match self.walk(root, what) {
            Ok(r) => Ok(r),
            Err(CollectError::TooLarge(t)) => Err(CollectError::TooLarge(t)),
            Err(CollectError::TooMany) => Err(CollectError::TooMany),
            Err(CollectError::Snmp(SnmpError::Usm(e))) => Err(CollectError::Snmp(SnmpError::Usm(e))),
            // A table whose OIDs loop or do not increase: the agent is broken there.
            Err(e @ CollectError::Snmp(SnmpError::Unexpected(_))) => {
                log::warn!("{what}: {e}; left out");
                Ok(Vec::new())
            }
            Err(e) => {
                log::debug!("{what}: {e}; left out");
                Ok(Vec::new())
            }
        }
    }

    pub fn get(&mut self, o: &str) -> Option<Value> {
        smol::block_on(self.agent.get_one(&oid(o))).ok().flatten()
    }
}

/// Rows indexed by one arc.
fn by_index(rows: &Rows) -> BTreeMap<u32, &Value> {
    rows.iter()
        .filter(|(s, _)| s.len() == 1)
        .map(|(s, v)| (s[0], v))
        .collect()
}

fn by_suffix(rows: &Rows) -> BTreeMap<&[u32], &Value> {
    rows.iter().map(|(s, v)| (s.as_slice(), v)).collect()
}

fn cut(mut s: String) -> String {
    if s.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

fn string(v: &Value) -> Option<String> {
    text(v).map(cut)
}

/// `up(1)` or 1 → "1".
fn constant(v: &Value) -> Option<String> {
    match v {
        Value::Integer(i) => Some(i.to_string()),
        other => other.as_u64().map(|n| n.to_string()).or_else(|| {
            let t = text(other)?;
            let inner = t.rsplit_once('(')?.1.strip_suffix(')')?;
            inner.parse::<i64>().ok().map(|n| n.to_string())
        }),
    }
}

fn count(v: &Value) -> Option<String> {
    match v {
        Value::Integer(i) => Some(i.to_string()),
        other => other.as_u64().map(|n| n.to_string()),
    }
}

fn number(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(i) => Some(*i),
        other => other.as_u64().and_then(|n| i64::try_from(n).ok()),
    }
}

/// One port: its scalar fields by name, and what the switch rules add.
#[derive(Debug, Default, Clone)]
pub struct Port {
    pub fields: BTreeMap<&'static str, String>,
    pub ips: Vec<String>,
    pub vlans: Vec<(i64, String, Option<bool>)>,
    pub trunk: Option<bool>,
    /// An LLDP/CDP neighbour (CDP=1), or connected MACs.
    pub neighbour: Option<BTreeMap<&'static str, String>>,
    pub macs: Vec<String>,
    pub aggregate: Vec<u32>,
}

/// A device's inventory, before it is written.
#[derive(Debug, Default)]
pub struct Inventory {
    pub info: Discovered,
    pub extra: BTreeMap<&'static str, String>,
    pub ports: BTreeMap<u32, Port>,
    pub components: Vec<BTreeMap<&'static str, String>>,
    pub cartridges: BTreeMap<String, String>,
    pub pagecounters: BTreeMap<&'static str, String>,
}

/// The columns of ifTable/ifXTable/EtherLike by the names of the output.
const IF_COLUMNS: &[(&str, &str, u8)] = &[
    ("IFNUMBER", ".1.3.6.1.2.1.2.2.1.1", b'k'),
    ("IFDESCR", ".1.3.6.1.2.1.2.2.1.2", b's'),
    ("IFTYPE", ".1.3.6.1.2.1.2.2.1.3", b'k'),
    ("IFMTU", ".1.3.6.1.2.1.2.2.1.4", b'n'),
    ("MAC", ".1.3.6.1.2.1.2.2.1.6", b'm'),
    ("IFINTERNALSTATUS", ".1.3.6.1.2.1.2.2.1.7", b'k'),
    ("IFSTATUS", ".1.3.6.1.2.1.2.2.1.8", b'k'),
    ("IFLASTCHANGE", ".1.3.6.1.2.1.2.2.1.9", b't'),
    ("IFINOCTETS", ".1.3.6.1.2.1.2.2.1.10", b'n'),
    ("IFINERRORS", ".1.3.6.1.2.1.2.2.1.14", b'n'),
    ("IFOUTOCTETS", ".1.3.6.1.2.1.2.2.1.16", b'n'),
    ("IFOUTERRORS", ".1.3.6.1.2.1.2.2.1.20", b'n'),
    ("IFALIAS", ".1.3.6.1.2.1.31.1.1.1.18", b's'),
    ("IFPORTDUPLEX", ".1.3.6.1.2.1.10.7.2.1.19", b'k'),
];
const IF_NAME: &str = ".1.3.6.1.2.1.31.1.1.1.1";
const IF_DESCR: &str = ".1.3.6.1.2.1.2.2.1.2";
const IF_SPEED: &str = ".1.3.6.1.2.1.2.2.1.5";
const IF_HIGH_SPEED: &str = ".1.3.6.1.2.1.31.1.1.1.15";
const IP_AD_ENT_IFINDEX: &str = ".1.3.6.1.2.1.4.20.1.2";
const BASE_PORT_IFINDEX: &str = ".1.3.6.1.2.1.17.1.4.1.2";

/// Reads everything of §B.2 from `agent`.
pub fn collect(
    agent: &mut Agent,
    ip: Ipv4Addr,
    ids: &RefCell<SysObjectIds>,
    kind: Option<&str>,
    vlan_contexts: &mut dyn FnMut(u32) -> Option<Agent>,
) -> Result<Inventory, CollectError> {
    let mut inv = Inventory::default();
    smol::block_on(snmp_discover(agent, ip, ids, &mut inv.info))?;
    if let Some(k) = kind {
        inv.info.kind = Some(k.to_string());
    }
    let mut q = Query::new(agent);
    info_extras(&mut q, &mut inv);
    ports(&mut q, &mut inv)?;
    components(&mut q, &mut inv)?;
    match inv.info.kind.as_deref() {
        Some("PRINTER") => printer(&mut q, &mut inv)?,
        Some("NETWORKING") => {
            vlans(&mut q, &mut inv)?;
            trunks(&mut q, &mut inv)?;
            neighbours(&mut q, &mut inv)?;
            connected_macs(&mut q, &mut inv, vlan_contexts)?;
            aggregates(&mut q, &mut inv)?;
        }
        _ => {}
    }
    Ok(inv)
}

fn info_extras(q: &mut Query, inv: &mut Inventory) {
    let cpu = q
        .get(".1.3.6.1.4.1.9.9.109.1.1.1.1.6.1")
        .or_else(|| q.get(".1.3.6.1.4.1.9.9.109.1.1.1.1.3.1"));
    if let Some(v) = cpu.as_ref().and_then(count) {
        inv.extra.insert("CPU", v);
    }
    if let Some(v) = q.get(".1.3.6.1.2.1.25.2.3.1.5.1").as_ref().and_then(number) {
        if v >= 0 {
            inv.extra.insert("MEMORY", (v / 1024 / 1024).to_string());
        }
    }
    // RAM: UCD's memTotalReal (kB), Cisco's (bytes), hrMemorySize (kB).
    let ram = [
        (".1.3.6.1.4.1.2021.4.5.0", 1024),
        (".1.3.6.1.4.1.9.3.6.6.0", 1024 * 1024),
        (".1.3.6.1.2.1.25.2.2.0", 1024),
    ]
    .into_iter()
    .find_map(|(o, div)| Some(q.get(o).as_ref().and_then(number)? / div));
    if let Some(r) = ram.filter(|r| *r >= 0) {
        inv.extra.insert("RAM", r.to_string());
    }
}

fn ports(q: &mut Query, inv: &mut Inventory) -> Result<(), CollectError> {
    let ports = &mut inv.ports;
    for &(name, o, kind) in IF_COLUMNS {
        for (suffix, v) in q.optional(o, "ifTable")? {
            let [index] = suffix[..] else { continue };
            let value = match kind {
                b'k' => constant(&v),
                b'n' => count(&v),
                b'm' => port_mac(&v),
                b't' => match v {
                    Value::TimeTicks(t) => Some(uptime(t)),
                    ref other => string(other),
                },
                _ => string(&v),
            };
            let Some(value) = value.filter(|s| !s.is_empty()) else {
                continue;
            };
            if !ports.contains_key(&index) && ports.len() == MAX_PORTS {
                return Err(CollectError::TooLarge("ifTable"));
            }
            ports.entry(index).or_default().fields.insert(name, value);
        }
    }
    // IFNAME: ifName, or ifDescr when the agent has no ifName at all.
    let mut names = q.optional(IF_NAME, "ifXTable")?;
    if names.is_empty() {
        names = q.optional(IF_DESCR, "ifTable")?;
    }
    for (suffix, v) in names {
        if let ([index], Some(s)) = (&suffix[..], string(&v)) {
            if let Some(p) = ports.get_mut(index) {
                p.fields.insert("IFNAME", s);
            } else if ports.len() < MAX_PORTS {
                ports.entry(*index).or_default().fields.insert("IFNAME", s);
            }
        }
    }
    let high = q.optional(IF_HIGH_SPEED, "ifXTable")?;
    let high = by_index(&high);
    for (suffix, v) in q.optional(IF_SPEED, "ifTable")? {
        let [index] = suffix[..] else { continue };
        let hs = high.get(&index).and_then(|h| h.as_u64()).unwrap_or(0);
        let speed = if hs > 0 { hs.saturating_mul(1_000_000) } else { v.as_u64().unwrap_or(0) };
        if let Some(p) = ports.get_mut(&index) {
            p.fields.insert("IFSPEED", speed.to_string());
        } else if ports.len() < MAX_PORTS {
            ports.entry(index).or_default().fields.insert("IFSPEED", speed.to_string());
        }
    }
    let mut addrs = q.optional(IP_AD_ENT_IFINDEX, "ipAddrTable")?;
    addrs.sort_by(|a, b| a.0.cmp(&b.0));
    for (suffix, v) in addrs {
        let Some(i) = number(&v).and_then(|i| u32::try_from(i).ok()).filter(|i| *i > 0) else {
            continue;
        };
        let [a, b, c, d] = suffix[..] else { continue };
        let (Ok(a), Ok(b), Ok(c), Ok(d)) = (u8::try_from(a), u8::try_from(b), u8::try_from(c), u8::try_from(d)) else {
            continue;
        };
        if let Some(p) = ports.get_mut(&i) {
            let ip = Ipv4Addr::new(a, b, c, d).to_string();
            p.fields.insert("IP", ip.clone());
            p.ips.push(ip);
        }
    }
    Ok(())
}

fn components(q: &mut Query, inv: &mut Inventory) -> Result<(), CollectError> {
    const CLASSES: [&str; 12] = [
        "other", "unknown", "chassis", "backplane", "container", "powerSupply", "fan", "sensor",
        "module", "port", "stack", "cpu",
    ];
    let rows = q.optional(".1.3.6.1.2.1.47.1.1.1.1", "entPhysicalTable")?;
    let mut by: BTreeMap<u32, BTreeMap<&'static str, String>> = BTreeMap::new();
    for (suffix, v) in &rows {
        let [col, index] = suffix[..] else { continue };
        let (name, value) = match col {
            2 => ("DESCRIPTION", string(v)),
            4 => ("CONTAINEDININDEX", count(v)),
            5 => (
                "TYPE",
                number(v)
                    .and_then(|c| usize::try_from(c - 1).ok())
                    .and_then(|c| CLASSES.get(c))
                    .map(|s| s.to_string()),
            ),
            7 => ("NAME", string(v)),
            8 => ("REVISION", string(v)),
            9 => ("FIRMWARE", string(v)),
            10 => ("VERSION", string(v)),
            11 => ("SERIAL", string(v)),
            12 => ("MANUFACTURER", string(v)),
            13 => ("MODEL", string(v)),
            16 => ("FRU", constant(v)),
            _ => continue,
        };
        if let Some(value) = value.filter(|s| !s.is_empty()) {
            let e = by.entry(index).or_default();
            e.insert("INDEX", index.to_string());
            e.insert(name, value);
        }
    }
    inv.components = by.into_values().collect();
    Ok(())
}

fn printer(q: &mut Query, inv: &mut Inventory) -> Result<(), CollectError> {
    let colors = q.optional(".1.3.6.1.2.1.43.12.1.1.4.1", "prtMarkerColorantTable")?;
    let colors = by_index(&colors);
    let col = |n: u8, q: &mut Query| q.optional(&format!(".1.3.6.1.2.1.43.11.1.1.{n}.1"), "prtMarkerSuppliesTable");
    let color_ids = col(3, q)?;
    let types = col(5, q)?;
    let descrs = col(6, q)?;
    let units = col(7, q)?;
    let maxes = col(8, q)?;
    let levels = col(9, q)?;
    let (color_ids, types, units, maxes, levels) = (
        by_index(&color_ids),
        by_index(&types),
        by_index(&units),
        by_index(&maxes),
        by_index(&levels),
    );
    for (i, d) in by_index(&descrs) {
        let (Some(max), Some(cur)) = (maxes.get(&i).and_then(|v| number(v)), levels.get(&i).and_then(|v| number(v))) else {
            continue;
        };
        let description = string(d).unwrap_or_default();
        let type_id = types.get(&i).and_then(|v| number(v)).unwrap_or(0);
        let lower = description.to_ascii_lowercase();
        let kind = match type_id {
            3 | 21 => "TONER",
            4 | 8 => "WASTETONER",
            5 | 6 | 12 => "CARTRIDGE",
            9 => "DRUM",
            10 => "DEVELOPER",
            15 => "FUSERKIT",
            18 => "MAINTENANCEKIT",
            20 => "TRANSFERKIT",
            32 => "STAPLES",
            1 if lower.contains("maintenance") => "MAINTENANCEKIT",
            1 if lower.contains("fuser") => "FUSERKIT",
            1 if lower.contains("transfer") => "TRANSFERKIT",
            _ => continue,
        };
        let mut name = kind.to_string();
        if matches!(kind, "TONER" | "DRUM" | "CARTRIDGE" | "DEVELOPER") {
            let color = match color_ids.get(&i).and_then(|v| number(v)).filter(|c| *c > 0) {
                Some(c) if !colors.is_empty() => {
                    let Some(c) = u32::try_from(c).ok().and_then(|c| colors.get(&c)).and_then(|v| string(v)) else {
                        continue;
                    };
                    c.split_whitespace().next().unwrap_or("").to_string()
                }
                _ => ["cyan", "magenta", "yellow", "black"]
                    .into_iter()
                    .find(|c| lower.contains(c) || (*c == "yellow" && lower.contains("jaune")) || (*c == "black" && lower.contains("noir")))
                    .unwrap_or("black")
                    .to_string(),
            };
            name.push_str(&color.to_ascii_uppercase());
        }
        let value = match cur {
            -2 => "WARNING".to_string(),
            -3 => "OK".to_string(),
            _ if max != -2 => {
                if max == 0 {
                    continue;
                }
                (100 * cur / max).to_string()
            }
            _ => {
                let unit = units.get(&i).and_then(|v| number(v)).unwrap_or(0);
                match unit {
                    19 => cur.to_string(),
                    18 => format!("{cur}items"),
                    17 => format!("{cur}m"),
                    16 => format!("{cur}feet"),
                    15 => format!("{}ml", cur as f64 / 10.0),
                    13 => format!("{}g", cur as f64 / 10.0),
                    11 => format!("{cur}hours"),
                    8 => format!("{cur}sheets"),
                    7 => format!("{cur}impressions"),
                    4 => format!("{}mm", cur as f64 / 1000.0),
                    _ => format!("{cur}?"),
                }
            }
        };
        if name.chars().all(|c| c.is_ascii_alphanumeric()) {
            inv.cartridges.insert(name, value);
        }
    }
    // Page counters: the Kyocera counter, else prtMarkerLifeCount; Kyocera's others.
    let counters: &[(&str, &[&str])] = &[
        ("TOTAL", &[".1.3.6.1.4.1.1347.42.10.1.1.12.1.1", ".1.3.6.1.2.1.43.10.2.1.4.1.1"]),
        ("BLACK", &[".1.3.6.1.4.1.1347.42.3.1.2.1.1.1.1"]),
        ("COLOR", &[".1.3.6.1.4.1.1347.42.3.1.2.1.1.1.3"]),
        ("COPYTOTAL", &[".1.3.6.1.4.1.1347.42.3.1.1.1.1.2"]),
        ("PRINTTOTAL", &[".1.3.6.1.4.1.1347.42.3.1.1.1.1.1"]),
        ("FAXTOTAL", &[".1.3.6.1.4.1.1347.42.3.1.1.1.1.4"]),
    ];
    for (name, oids) in counters {
        if let Some(v) = oids.iter().find_map(|o| q.get(o).as_ref().and_then(number)) {
            inv.pagecounters.insert(name, v.to_string());
        }
    }
    Ok(())
}

/// The bits of a PortList: port n is bit n-1, most significant first.
fn port_bit(list: &[u8], port: u32) -> Option<bool> {
    let i = usize::try_from(port.checked_sub(1)?).ok()?;
    Some(list.get(i / 8)? & (0x80 >> (i % 8)) != 0)
}

fn vlans(q: &mut Query, inv: &mut Inventory) -> Result<(), CollectError> {
    let mut found: BTreeMap<u32, Vec<(i64, String, Option<bool>)>> = BTreeMap::new();
    // Cisco VTP.
    let names = q.optional(".1.3.6.1.4.1.9.9.46.1.3.1.1.4.1", "vtpVlanTable")?;
    let status = q.optional(".1.3.6.1.4.1.9.9.68.1.2.2.1.2", "vmMembershipTable")?;
    if !names.is_empty() && !status.is_empty() {
        let names = by_index(&names);
        for (suffix, v) in &status {
            let (Some(&port), Some(vlan)) = (suffix.last(), number(v)) else { continue };
            let name = u32::try_from(vlan).ok().and_then(|n| names.get(&n)).and_then(|v| string(v)).unwrap_or_default();
            found.entry(port).or_default().push((vlan, name, None));
        }
    }
    // Q-BRIDGE.
    let sname = q.optional(".1.3.6.1.2.1.17.7.1.4.3.1.1", "dot1qVlanStaticTable")?;
    let row = q.optional(".1.3.6.1.2.1.17.7.1.4.3.1.5", "dot1qVlanStaticTable")?;
    if !sname.is_empty() && !row.is_empty() {
        let s_egress = q.optional(".1.3.6.1.2.1.17.7.1.4.3.1.2", "dot1qVlanStaticTable")?;
        let s_untagged = q.optional(".1.3.6.1.2.1.17.7.1.4.3.1.4", "dot1qVlanStaticTable")?;
        let c_egress = q.optional(".1.3.6.1.2.1.17.7.1.4.2.1.4", "dot1qVlanCurrentTable")?;
        let c_untagged = q.optional(".1.3.6.1.2.1.17.7.1.4.2.1.5", "dot1qVlanCurrentTable")?;
        let (sname, s_egress, s_untagged) = (by_index(&sname), by_index(&s_egress), by_index(&s_untagged));
        // The current tables are indexed by time mark and VLAN: the last arc is the VLAN.
        let current = |rows: &Rows, vlan: u32| -> Option<Vec<u8>> {
            rows.iter()
                .find(|(s, _)| s.last() == Some(&vlan))
                .and_then(|(_, v)| v.as_bytes().map(<[u8]>::to_vec))
        };
        let port_ids: Vec<u32> = inv.ports.keys().copied().collect();
        for (vlan, st) in by_index(&row) {
            if number(st) != Some(1) {
                continue;
            }
            let name = sname.get(&vlan).and_then(|v| string(v)).unwrap_or_default();
            let egress = current(&c_egress, vlan).or_else(|| s_egress.get(&vlan).and_then(|v| v.as_bytes().map(<[u8]>::to_vec)));
            let untagged = current(&c_untagged, vlan).or_else(|| s_untagged.get(&vlan).and_then(|v| v.as_bytes().map(<[u8]>::to_vec)));
            let (Some(egress), Some(untagged)) = (egress, untagged) else { continue };
            for &p in &port_ids {
                let (Some(e), Some(u)) = (port_bit(&egress, p), port_bit(&untagged, p)) else { continue };
                let tagged = !u && e;
                if tagged || u {
                    found.entry(p).or_default().push((i64::from(vlan), name.clone(), Some(tagged)));
                }
            }
        }
    }
    // LLDP-EXT-DOT1.
    if found.is_empty() {
        let names = q.optional(".1.0.8802.1.1.2.1.5.32962.1.2.3.1.2", "lldpXdot1LocVlanNameTable")?;
        let links = q.optional(".1.0.8802.1.1.2.1.3.7.1.3", "lldpLocPortTable")?;
        if !names.is_empty() && !links.is_empty() {
            let links = by_index(&links);
            for (suffix, v) in &names {
                let [port, vlan] = suffix[..] else { continue };
                if let Some(l) = links.get(&port) {
                    let n = string(l).and_then(|s| s.parse::<u32>().ok()).unwrap_or(port);
                    found.entry(n).or_default().push((i64::from(vlan), string(v).unwrap_or_default(), None));
                }
            }
        } else {
            for (suffix, v) in q.optional(".1.0.8802.1.1.2.1.5.32962.1.2.1.1.1", "lldpXdot1LocTable")? {
                if let ([port], Some(n)) = (&suffix[..], number(&v)) {
                    found.entry(*port).or_default().push((n, format!("VLAN {n}"), None));
                }
            }
        }
    }
    for (port, v) in found {
        if let Some(p) = inv.ports.get_mut(&port) {
            p.vlans = v;
        }
    }
    tplink_vlans(q, inv)
}

const TPLINK: &str = ".1.3.6.1.4.1.11863";
/// TPLINK-DOT1Q-VLAN-MIB: the port name of each ifIndex, and each VLAN's row.
const TPLINK_VLAN_PORT_NUMBER: &str = ".1.3.6.1.4.1.11863.6.14.1.1.1.1.1";
const TPLINK_VLAN_CONFIG: &str = ".1.3.6.1.4.1.11863.6.14.1.2.1.1";

/// The ports a TP-Link port list names: `1/0/1-4,1/0/7` is 1/0/1 … 1/0/4 and 1/0/7 (a range
/// is the text before its first number's last digit run; at most MAX_PORTS names).
pub fn tplink_port_list(def: &str) -> Vec<String> {
    let mut out = Vec::new();
    for item in def.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let range = item.split_once('-').and_then(|(a, b)| {
            let digits = a.len() - a.trim_end_matches(|c: char| c.is_ascii_digit()).len();
            let (prefix, first) = a.split_at(a.len() - digits);
            let (first, last) = (first.parse::<u32>().ok()?, b.parse::<u32>().ok()?);
            (last > first).then_some((prefix, first, last))
        });
        match range {
            Some((prefix, first, last)) => {
                for n in first..=last {
                    if out.len() == MAX_PORTS {
                        return out;
                    }
                    out.push(format!("{prefix}{n}"));
                }
            }
            None if out.len() < MAX_PORTS => out.push(item.to_string()),
            None => return out,
        }
    }
    out
}

/// TP-Link's own VLAN table (the reference agents' TpLink rule), for the ports that have no
/// VLAN from the standard MIBs.
fn tplink_vlans(q: &mut Query, inv: &mut Inventory) -> Result<(), CollectError> {
    if inv.ports.values().all(|p| !p.vlans.is_empty()) {
        return Ok(());
    }
    match q.get(".1.3.6.1.2.1.1.2.0") {
        Some(Value::ObjectId(o)) if o.starts_with(&oid(TPLINK)) => {}
        _ => return Ok(()),
    }
    let names = q.optional(TPLINK_VLAN_PORT_NUMBER, "vlanPortConfigTable")?;
    if names.is_empty() {
        return Ok(());
    }
    let col = |n: u8, q: &mut Query| q.optional(&format!("{TPLINK_VLAN_CONFIG}.{n}"), "vlanConfigTable");
    let status = col(6, q)?;
    let descr = col(2, q)?;
    if status.is_empty() || descr.is_empty() {
        return Ok(());
    }
    let (ids, tagged, untagged, removed) = (col(1, q)?, col(3, q)?, col(4, q)?, col(5, q)?);
    let (descr, ids, tagged, untagged, removed) =
        (by_suffix(&descr), by_suffix(&ids), by_suffix(&tagged), by_suffix(&untagged), by_suffix(&removed));
    // Port name -> VLAN number -> (name, tagged).
    let mut by_port: BTreeMap<String, BTreeMap<i64, (String, bool)>> = BTreeMap::new();
    for (suffix, st) in &status {
        if number(st) != Some(1) {
            continue;
        }
        let s = suffix.as_slice();
        let Some(id) = ids.get(s).and_then(|v| number(v).or_else(|| string(v)?.parse().ok())) else {
            continue;
        };
        let name = descr.get(s).and_then(|v| string(v)).unwrap_or_default();
        for (list, is_tagged) in [(&tagged, true), (&untagged, false)] {
            for port in list.get(s).and_then(|v| string(v)).map(|d| tplink_port_list(&d)).unwrap_or_default() {
                by_port.entry(port).or_default().insert(id, (name.clone(), is_tagged));
            }
        }
        for port in removed.get(s).and_then(|v| string(v)).map(|d| tplink_port_list(&d)).unwrap_or_default() {
            if let Some(v) = by_port.get_mut(&port) {
                v.remove(&id);
            }
        }
    }
    for (suffix, v) in &names {
        let ([index], Some(name)) = (&suffix[..], string(v)) else { continue };
        let (Some(p), Some(vlans)) = (inv.ports.get_mut(index), by_port.get(&name)) else { continue };
        if p.vlans.is_empty() {
            p.vlans = vlans.iter().map(|(n, (name, t))| (*n, name.clone(), Some(*t))).collect();
        }
    }
    Ok(())
}

fn trunks(q: &mut Query, inv: &mut Inventory) -> Result<(), CollectError> {
    let cisco = q.optional(".1.3.6.1.4.1.9.9.46.1.6.1.1.14", "vlanTrunkPortTable")?;
    let mut found: Vec<(u32, bool)> = Vec::new();
    if !cisco.is_empty() {
        for (s, v) in &cisco {
            if let [i] = s[..] {
                found.push((i, number(v) == Some(1)));
            }
        }
    } else {
        let juniper = q.optional(".1.3.6.1.4.1.2636.3.40.1.5.1.7.1.5", "jnxExVlanPortAccessMode")?;
        let (rows, trunk_value) = if !juniper.is_empty() {
            (juniper, 2)
        } else {
            (q.optional(".1.0.8802.1.1.2.1.5.32962.1.2.1.1.1", "lldpXdot1LocTable")?, 0)
        };
        if !rows.is_empty() {
            let bridge = q.optional(BASE_PORT_IFINDEX, "dot1dBasePortTable")?;
            let bridge = by_index(&bridge);
            for (s, v) in &rows {
                let Some(&port) = s.last() else { continue };
                let i = bridge.get(&port).and_then(|v| number(v)).and_then(|i| u32::try_from(i).ok()).unwrap_or(port);
                found.push((i, number(v) == Some(trunk_value)));
            }
        }
    }
    for (i, t) in found {
        if let Some(p) = inv.ports.get_mut(&i) {
            p.trunk = Some(t);
        }
    }
    Ok(())
}

/// A port's address: a MAC, or a Fibre Channel WWN (8 bytes; a shorter value padded to 6
/// bytes behind `10:00`), as the reference agents canonicalise them.
fn port_mac(v: &Value) -> Option<String> {
    let b = v.as_bytes()?;
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":");
    match b.len() {
        8 => Some(hex(b)),
        1..=5 => {
            let mut w = vec![0x10, 0];
            w.extend(std::iter::repeat_n(0, 6 - b.len()));
            w.extend_from_slice(b);
            Some(hex(&w))
        }
        _ => canonical_mac(v),
    }
}

fn mac_of_octets(v: &Value) -> Option<String> {
    canonical_mac(v)
}

/// `0x…` chassis ids and plain hex names as MACs.
fn mac_of_text(s: &str) -> Option<String> {
    let hex = s.strip_prefix("0x").unwrap_or(s).replace([':', '-', '.', ' '], "");
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Vec<u8> = (0..6).filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()).collect();
    crate::snmp::device::mac_text(&bytes)
}

fn neighbours(q: &mut Query, inv: &mut Inventory) -> Result<(), CollectError> {
    let vendor = inv.info.manufacturer.clone().unwrap_or_default();
    // LLDP.
    let col = |n: u8, q: &mut Query| q.optional(&format!(".1.0.8802.1.1.2.1.4.1.1.{n}"), "lldpRemTable");
    let subtype = col(4, q)?;
    let chassis = col(5, q)?;
    let mut lldp: BTreeMap<u32, BTreeMap<&'static str, String>> = BTreeMap::new();
    if !chassis.is_empty() {
        let port_id = col(7, q)?;
        let port_desc = col(8, q)?;
        let sys_name = col(9, q)?;
        let sys_desc = col(10, q)?;
        let (subtype, port_id, port_desc, sys_name, sys_desc) =
            (by_suffix(&subtype), by_suffix(&port_id), by_suffix(&port_desc), by_suffix(&sys_name), by_suffix(&sys_desc));
        let mut map = q.optional(".1.3.6.1.4.1.9.5.1.4.1.1.11.1", "portIfIndex")?;
        if map.is_empty() {
            map = q.optional(BASE_PORT_IFINDEX, "dot1dBasePortTable")?;
        }
        let map = by_index(&map);
        for (suffix, mac) in &chassis {
            let s = suffix.as_slice();
            let descr = sys_desc.get(s).and_then(|v| string(v));
            let name = sys_name.get(s).and_then(|v| string(v));
            if (descr.is_none() && name.is_none()) || s.len() < 2 {
                continue;
            }
            if subtype.get(s).and_then(|v| number(v)) != Some(4) {
                continue;
            }
            let Some(sysmac) = mac_of_octets(mac) else { continue };
            let mut c = BTreeMap::new();
            c.insert("SYSMAC", sysmac);
            if let Some(d) = descr {
                c.insert("SYSDESCR", d);
            }
            if let Some(n) = name {
                c.insert("SYSNAME", n);
            }
            if let Some(p) = port_id.get(s) {
                // A port id that is a MAC is not a port number.
                let is_mac = p.as_bytes().is_some_and(|b| b.len() == 6);
                if !is_mac {
                    if let Some(t) = string(p) {
                        c.insert("IFNUMBER", t);
                    }
                }
            }
            if let Some(d) = port_desc.get(s).and_then(|v| string(v)) {
                c.insert("IFDESCR", d);
            }
            let local = s[s.len() - 2];
            let iface = match map.get(&local) {
                Some(v) if vendor != "Juniper" => number(v).and_then(|i| u32::try_from(i).ok()).unwrap_or(local),
                _ => local,
            };
            lldp.insert(iface, c);
        }
    }
    for (i, c) in lldp {
        if let Some(p) = inv.ports.get_mut(&i) {
            p.neighbour = Some(c);
        }
    }
    // CDP.
    let col = |n: u8, q: &mut Query| q.optional(&format!(".1.3.6.1.4.1.9.9.23.1.2.1.1.{n}"), "cdpCacheTable");
    let addr = col(4, q)?;
    if addr.is_empty() {
        return Ok(());
    }
    let version = col(5, q)?;
    let device_id = col(6, q)?;
    let device_port = col(7, q)?;
    let platform = col(8, q)?;
    let sys_name = col(17, q)?;
    let (version, device_id, device_port, platform, sys_name) =
        (by_suffix(&version), by_suffix(&device_id), by_suffix(&device_port), by_suffix(&platform), by_suffix(&sys_name));
    let mut cdp: BTreeMap<u32, BTreeMap<&'static str, String>> = BTreeMap::new();
    let mut twice: Vec<u32> = Vec::new();
    for (suffix, a) in &addr {
        let s = suffix.as_slice();
        if s.len() < 2 {
            continue;
        }
        let iface = s[s.len() - 2];
        let ip = match a.as_bytes() {
            Some(b) if b.len() == 4 => Ipv4Addr::new(b[0], b[1], b[2], b[3]),
            _ => continue,
        };
        if ip.is_unspecified() {
            continue;
        }
        let (Some(descr), Some(model)) = (version.get(s).and_then(|v| string(v)), platform.get(s).and_then(|v| string(v))) else {
            continue;
        };
        let mut c = BTreeMap::new();
        c.insert("IP", ip.to_string());
        c.insert("SYSDESCR", descr);
        c.insert("MODEL", model);
        if let Some(p) = device_port.get(s) {
            match string(p) {
                Some(t) if t.chars().all(|c| c.is_ascii_digit()) => {
                    c.insert("IFNUMBER", t);
                }
                Some(t) => {
                    c.insert("IFDESCR", t);
                }
                None => {}
            }
        }
        if let Some(n) = sys_name.get(s).and_then(|v| string(v)) {
            c.insert("SYSNAME", n);
        }
        if let Some(d) = device_id.get(s) {
            let raw = d.as_bytes().unwrap_or(&[]);
            if raw.len() == 6 && text(d).is_some_and(|t| t.starts_with("0x")) {
                if let Some(m) = mac_of_octets(d) {
                    c.insert("SYSMAC", m);
                }
            } else if let Some(t) = string(d) {
                if let Some(m) = mac_of_text(&t).filter(|_| t.len() == 12) {
                    c.insert("SYSMAC", m);
                } else if !c.contains_key("SYSNAME") {
                    c.insert("SYSNAME", t);
                }
            }
        }
        if let Some(m) = c.get("SYSNAME").and_then(|n| n.strip_prefix("SIP")).and_then(mac_of_text) {
            c.insert("SYSMAC", m);
        }
        if let std::collections::btree_map::Entry::Vacant(e) = cdp.entry(iface) {
            e.insert(c);
        } else {
            twice.push(iface);
        }
    }
    for i in twice {
        cdp.remove(&i);
    }
    for (i, c) in cdp {
        let Some(p) = inv.ports.get_mut(&i) else { continue };
        match &mut p.neighbour {
            None => p.neighbour = Some(c),
            Some(l) => {
                let same = (l.get("SYSDESCR").is_some() && l.get("SYSDESCR") == c.get("SYSDESCR"))
                    || (l.get("SYSNAME").is_some() && l.get("SYSNAME") == c.get("SYSNAME"))
                    || (l.get("SYSMAC").is_some()
                        && c.get("SYSNAME").and_then(|n| mac_of_text(n)).as_ref() == l.get("SYSMAC"));
                if same {
                    for k in ["IP", "MODEL"] {
                        if let Some(v) = c.get(k) {
                            l.insert(k, v.clone());
                        }
                    }
                } else {
                    log::debug!("CDP: LLDP and CDP name different neighbours on interface {i}: none kept");
                    p.neighbour = None;
                }
            }
        }
    }
    Ok(())
}

/// MACs by interface from an FDB (`address → bridge port`, `bridge port → ifIndex`).
fn fdb(q: &mut Query, table: &str) -> Result<BTreeMap<u32, Vec<String>>, CollectError> {
    let rows = q.optional(table, "forwarding database")?;
    let mut out: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    if rows.is_empty() {
        return Ok(out);
    }
    let bridge = q.optional(BASE_PORT_IFINDEX, "dot1dBasePortTable")?;
    let bridge = by_index(&bridge);
    for (suffix, v) in &rows {
        let Some(port) = number(v).and_then(|p| u32::try_from(p).ok()) else { continue };
        let Some(iface) = bridge.get(&port).and_then(|v| number(v)).and_then(|i| u32::try_from(i).ok()) else {
            continue;
        };
        if suffix.len() < 6 {
            continue;
        }
        let bytes: Vec<u8> = suffix[suffix.len() - 6..].iter().map(|&b| b as u8).collect();
        let mac = bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
        let list = out.entry(iface).or_default();
        if list.len() < MAX_MACS_PER_PORT {
            list.push(mac);
        }
    }
    Ok(out)
}

fn add_macs(inv: &mut Inventory, found: BTreeMap<u32, Vec<String>>) {
    for (i, macs) in found {
        let Some(p) = inv.ports.get_mut(&i) else { continue };
        if p.neighbour.is_some() {
            continue;
        }
        let own = p.fields.get("MAC").cloned();
        for m in macs {
            if Some(&m) != own.as_ref() && !p.macs.contains(&m) && p.macs.len() < MAX_MACS_PER_PORT {
                p.macs.push(m);
            }
        }
    }
}

fn connected_macs(
    q: &mut Query,
    inv: &mut Inventory,
    vlan_contexts: &mut dyn FnMut(u32) -> Option<Agent>,
) -> Result<(), CollectError> {
    let found = fdb(q, ".1.3.6.1.2.1.17.4.3.1.2")?;
    add_macs(inv, found);
    let qbridge = fdb(q, ".1.3.6.1.2.1.17.7.1.2.2.1.2")?;
    if !qbridge.is_empty() {
        add_macs(inv, qbridge);
        return Ok(());
    }
    // One context per VLAN of the ports without a neighbour (VLAN 1 is the default context).
    let mut vlans: Vec<u32> = Vec::new();
    for p in inv.ports.values().filter(|p| p.neighbour.is_none()) {
        for (n, _, _) in &p.vlans {
            if let Ok(n) = u32::try_from(*n) {
                if n != 1 && !vlans.contains(&n) && vlans.len() < MAX_VLAN_CONTEXTS {
                    vlans.push(n);
                }
            }
        }
    }
    let mut any = false;
    for v in vlans {
        let Some(mut agent) = vlan_contexts(v) else { continue };
        let mut vq = Query::new(&mut agent);
        let found = fdb(&mut vq, ".1.3.6.1.2.1.17.4.3.1.2")?;
        if !found.is_empty() {
            any = true;
            add_macs(inv, found);
        }
    }
    if !any {
        let macs = q.optional(".1.3.6.1.2.1.4.22.1.2", "ipNetToMediaTable")?;
        let mut found: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        for (suffix, v) in &macs {
            if let (Some(&i), Some(m)) = (suffix.first(), canonical_mac(v)) {
                found.entry(i).or_default().push(m);
            }
        }
        add_macs(inv, found);
    }
    Ok(())
}

fn aggregates(q: &mut Query, inv: &mut Inventory) -> Result<(), CollectError> {
    let mut agg: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (s, v) in q.optional(".1.2.840.10006.300.43.1.2.1.1.13", "dot3adAggPortTable")? {
        let ([i], Some(a)) = (&s[..], number(&v).and_then(|a| u32::try_from(a).ok())) else { continue };
        if a != 0 && a != *i {
            agg.entry(a).or_default().push(*i);
        }
    }
    for (s, v) in q.optional(".1.3.6.1.4.1.9.9.98.1.1.1.1.5", "pagpEtherChannelTable")? {
        let ([i], Some(n)) = (&s[..], number(&v).filter(|n| *n > 0)) else { continue };
        if let Ok(a) = u32::try_from(n + 5000) {
            agg.entry(a).or_default().push(*i);
        }
    }
    for (a, members) in agg {
        if let Some(p) = inv.ports.get_mut(&a) {
            p.aggregate = members;
        }
    }
    Ok(())
}

/// The DEVICE element of a device's inventory (§B.3).
pub fn device_node(inv: &Inventory, id: &str) -> Node {
    let d = &inv.info;
    let mut info: Vec<Node> = Vec::new();
    let mut put = |k: &'static str, v: Option<&String>| {
        if let Some(n) = v.and_then(|v| Node::leaf(k, v.clone())) {
            info.push(n);
        }
    };
    put("COMMENTS", d.description.as_ref());
    put("CONTACT", d.contact.as_ref());
    put("FIRMWARE", d.firmware.as_ref());
    put("LOCATION", d.location.as_ref());
    put("MAC", d.mac.as_ref());
    put("MANUFACTURER", d.manufacturer.as_ref());
    put("MODEL", d.model.as_ref());
    put("NAME", d.snmphostname.as_ref());
    put("SERIAL", d.serial.as_ref());
    put("TYPE", d.kind.as_ref());
    put("UPTIME", d.uptime.as_ref());
    for (k, v) in &inv.extra {
        put(k, Some(v));
    }
    info.push(Node::Leaf("ID", id.to_string()));
    if !d.ips.is_empty() {
        info.push(Node::Branch("IPS", d.ips.iter().map(|i| Node::Leaf("IP", i.clone())).collect()));
    }
    let mut device = vec![Node::Branch("INFO", info)];
    if !inv.ports.is_empty() {
        let ports = inv.ports.values().map(port_node).collect();
        device.push(Node::Branch("PORTS", ports));
    }
    if !inv.components.is_empty() {
        device.push(Node::Branch(
            "COMPONENTS",
            inv.components
                .iter()
                .map(|c| Node::Branch("COMPONENT", c.iter().map(|(k, v)| Node::Leaf(k, v.clone())).collect()))
                .collect(),
        ));
    }
    if let Some(f) = &d.firmware {
        let mut fw = vec![
            Node::Leaf("DESCRIPTION", "device firmware".into()),
            Node::Leaf("TYPE", "device".into()),
            Node::Leaf("VERSION", f.clone()),
        ];
        fw.extend(d.model.as_ref().and_then(|m| Node::leaf("NAME", m.clone())));
        fw.extend(d.manufacturer.as_ref().and_then(|m| Node::leaf("MANUFACTURER", m.clone())));
        device.push(Node::Branch("FIRMWARES", fw));
    }
    if !inv.cartridges.is_empty() {
        device.push(Node::Named(
            "CARTRIDGES".into(),
            inv.cartridges
                .iter()
                .map(|(k, v)| Node::Named(k.clone(), Vec::new(), Some(v.clone())))
                .collect(),
            None,
        ));
    }
    if !inv.pagecounters.is_empty() {
        device.push(Node::Branch(
            "PAGECOUNTERS",
            inv.pagecounters.iter().map(|(k, v)| Node::Leaf(k, v.clone())).collect(),
        ));
    }
    Node::Branch("DEVICE", device)
}

fn port_node(p: &Port) -> Node {
    let mut c: Vec<Node> = p.fields.iter().map(|(k, v)| Node::Leaf(k, v.clone())).collect();
    if !p.ips.is_empty() {
        c.push(Node::Branch("IPS", p.ips.iter().map(|i| Node::Leaf("IP", i.clone())).collect()));
    }
    if let Some(t) = p.trunk {
        c.push(Node::Leaf("TRUNK", if t { "1" } else { "0" }.into()));
    }
    if !p.vlans.is_empty() {
        c.push(Node::Branch(
            "VLANS",
            p.vlans
                .iter()
                .map(|(n, name, tagged)| {
                    let mut v = vec![Node::Leaf("NAME", name.clone()), Node::Leaf("NUMBER", n.to_string())];
                    if let Some(t) = tagged {
                        v.push(Node::Leaf("TAGGED", if *t { "1" } else { "0" }.into()));
                    }
                    Node::Branch("VLAN", v)
                })
                .collect(),
        ));
    }
    if let Some(n) = &p.neighbour {
        c.push(Node::Branch(
            "CONNECTIONS",
            vec![
                Node::Leaf("CDP", "1".into()),
                Node::Branch("CONNECTION", n.iter().map(|(k, v)| Node::Leaf(k, v.clone())).collect()),
            ],
        ));
    } else if !p.macs.is_empty() {
        c.push(Node::Branch(
            "CONNECTIONS",
            vec![Node::Branch("CONNECTION", p.macs.iter().map(|m| Node::Leaf("MAC", m.clone())).collect())],
        ));
    }
    if !p.aggregate.is_empty() {
        c.push(Node::Branch(
            "AGGREGATE",
            p.aggregate.iter().map(|i| Node::Leaf("PORT", i.to_string())).collect(),
        ));
    }
    Node::Branch("PORT", c)
}

/// The ERROR element of a device that could not be inventoried.
pub fn error_node(id: &str, kind: Option<&str>, message: &str) -> Node {
    let mut e = vec![Node::Leaf("ID", id.to_string()), Node::Leaf("MESSAGE", message.to_string())];
    e.push(Node::Leaf("TYPE", kind.unwrap_or("NETWORKING").to_string()));
    Node::Branch("DEVICE", vec![Node::Branch("ERROR", e)])
}

/// The OID type of a value for OCS labels: binary bytes as `AA:BB:…`.
pub fn ocs_text(v: &Value) -> String {
    match v {
        Value::Octets(b) | Value::Opaque(b) if !b.is_empty() && b.iter().any(|&c| c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r')) => {
            b.iter().map(|x| format!("{x:02X}")).collect::<Vec<_>>().join(":")
        }
        Value::TimeTicks(t) => uptime(*t),
        other => other.to_text(),
    }
}

pub fn oid_of(s: &str) -> Option<Oid> {
    Oid::parse(s)
}
