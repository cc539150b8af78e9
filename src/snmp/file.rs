//! A recorded agent: the text of `snmpwalk` (net-snmp) read back, so that a device can be
//! replayed without a network (`--file WALK`). Accepted forms, as the reference agents' walk
//! files have them: numeric OIDs (`-On`: `.1.3.6.1…`), the `iso.3.6.1…` form, and the common
//! symbolic prefixes (`SNMPv2-MIB::sysDescr.0`, `IF-MIB::ifDescr.3`…); values typed
//! `STRING:`, `Hex-STRING:`, `INTEGER:` (also `up(1)`), `OID:`, `Timeticks: (N) …`,
//! `Counter32/64:`, `Gauge32:`, `IpAddress:`, `Network Address:`, and strings that go on
//! over several lines.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::ber::Reader;
use super::message::{decode_value, encode_value};
use super::{Oid, SnmpError, Value, MAX_OID_ARCS, MAX_VALUE_BYTES};

/// Largest walk file read.
pub const MAX_WALK_FILE: u64 = 512 * 1024 * 1024;
/// Longest line, and longest value spread over several lines.
pub const MAX_WALK_LINE: usize = 1024 * 1024;
/// Most values kept from one file.
pub const MAX_WALK_VALUES: usize = 4_000_000;

/// Symbolic prefixes of `snmpwalk` without `-On`, as numeric OIDs.
const PREFIXES: &[(&str, &str)] = &[
    ("iso", ".1"),
    ("SNMPv2-SMI::mib-2", ".1.3.6.1.2.1"),
    ("SNMPv2-SMI::enterprises", ".1.3.6.1.4.1"),
    ("SNMPv2-SMI::experimental", ".1.3.6.1.3"),
    ("SNMPv2-MIB::sysDescr", ".1.3.6.1.2.1.1.1"),
    ("SNMPv2-MIB::sysObjectID", ".1.3.6.1.2.1.1.2"),
    ("SNMPv2-MIB::sysUpTime", ".1.3.6.1.2.1.1.3"),
    ("DISMAN-EVENT-MIB::sysUpTimeInstance", ".1.3.6.1.2.1.1.3.0"),
    ("SNMPv2-MIB::sysContact", ".1.3.6.1.2.1.1.4"),
    ("SNMPv2-MIB::sysName", ".1.3.6.1.2.1.1.5"),
    ("SNMPv2-MIB::sysLocation", ".1.3.6.1.2.1.1.6"),
    ("SNMPv2-MIB::sysServices", ".1.3.6.1.2.1.1.7"),
    ("SNMPv2-MIB::sysORID", ".1.3.6.1.2.1.1.9.1.2"),
    ("SNMPv2-MIB::sysORDescr", ".1.3.6.1.2.1.1.9.1.3"),
    ("RFC1213-MIB::sysDescr", ".1.3.6.1.2.1.1.1"),
    ("RFC1213-MIB::sysObjectID", ".1.3.6.1.2.1.1.2"),
    ("RFC1213-MIB::sysName", ".1.3.6.1.2.1.1.5"),
    ("RFC1213-MIB::sysContact", ".1.3.6.1.2.1.1.4"),
    ("RFC1213-MIB::sysLocation", ".1.3.6.1.2.1.1.6"),
    ("RFC1213-MIB::ipAdEntAddr", ".1.3.6.1.2.1.4.20.1.1"),
    ("RFC1213-MIB::ipAdEntIfIndex", ".1.3.6.1.2.1.4.20.1.2"),
    ("IF-MIB::ifIndex", ".1.3.6.1.2.1.2.2.1.1"),
    ("IF-MIB::ifDescr", ".1.3.6.1.2.1.2.2.1.2"),
    ("IF-MIB::ifType", ".1.3.6.1.2.1.2.2.1.3"),
    ("IF-MIB::ifMtu", ".1.3.6.1.2.1.2.2.1.4"),
    ("IF-MIB::ifSpeed", ".1.3.6.1.2.1.2.2.1.5"),
    ("IF-MIB::ifPhysAddress", ".1.3.6.1.2.1.2.2.1.6"),
    ("IF-MIB::ifAdminStatus", ".1.3.6.1.2.1.2.2.1.7"),
    ("IF-MIB::ifOperStatus", ".1.3.6.1.2.1.2.2.1.8"),
    ("IF-MIB::ifLastChange", ".1.3.6.1.2.1.2.2.1.9"),
    ("IF-MIB::ifInOctets", ".1.3.6.1.2.1.2.2.1.10"),
    ("IF-MIB::ifInErrors", ".1.3.6.1.2.1.2.2.1.14"),
    ("IF-MIB::ifOutOctets", ".1.3.6.1.2.1.2.2.1.16"),
    ("IF-MIB::ifOutErrors", ".1.3.6.1.2.1.2.2.1.20"),
    ("IF-MIB::ifName", ".1.3.6.1.2.1.31.1.1.1.1"),
    ("IF-MIB::ifHighSpeed", ".1.3.6.1.2.1.31.1.1.1.15"),
    ("IF-MIB::ifAlias", ".1.3.6.1.2.1.31.1.1.1.18"),
    ("IP-MIB::ipAdEntAddr", ".1.3.6.1.2.1.4.20.1.1"),
    ("IP-MIB::ipAdEntIfIndex", ".1.3.6.1.2.1.4.20.1.2"),
    ("IP-MIB::ipAdEntNetMask", ".1.3.6.1.2.1.4.20.1.3"),
    ("IP-MIB::ipNetToMediaPhysAddress", ".1.3.6.1.2.1.4.22.1.2"),
    ("BRIDGE-MIB::dot1dBaseBridgeAddress", ".1.3.6.1.2.1.17.1.1"),
    (
        "BRIDGE-MIB::dot1dBasePortIfIndex",
        ".1.3.6.1.2.1.17.1.4.1.2",
    ),
    ("BRIDGE-MIB::dot1dTpFdbAddress", ".1.3.6.1.2.1.17.4.3.1.1"),
    ("BRIDGE-MIB::dot1dTpFdbPort", ".1.3.6.1.2.1.17.4.3.1.2"),
    ("ENTITY-MIB::entPhysicalDescr", ".1.3.6.1.2.1.47.1.1.1.1.2"),
    ("ENTITY-MIB::entPhysicalClass", ".1.3.6.1.2.1.47.1.1.1.1.5"),
    ("ENTITY-MIB::entPhysicalName", ".1.3.6.1.2.1.47.1.1.1.1.7"),
    (
        "ENTITY-MIB::entPhysicalHardwareRev",
        ".1.3.6.1.2.1.47.1.1.1.1.8",
    ),
    (
        "ENTITY-MIB::entPhysicalFirmwareRev",
        ".1.3.6.1.2.1.47.1.1.1.1.9",
    ),
    (
        "ENTITY-MIB::entPhysicalSoftwareRev",
        ".1.3.6.1.2.1.47.1.1.1.1.10",
    ),
    (
        "ENTITY-MIB::entPhysicalSerialNum",
        ".1.3.6.1.2.1.47.1.1.1.1.11",
    ),
    (
        "ENTITY-MIB::entPhysicalMfgName",
        ".1.3.6.1.2.1.47.1.1.1.1.12",
    ),
    (
        "ENTITY-MIB::entPhysicalModelName",
        ".1.3.6.1.2.1.47.1.1.1.1.13",
    ),
    (
        "HOST-RESOURCES-MIB::hrDeviceDescr",
        ".1.3.6.1.2.1.25.3.2.1.3",
    ),
    (
        "HOST-RESOURCES-MIB::hrStorageSize",
        ".1.3.6.1.2.1.25.2.3.1.5",
    ),
    ("HOST-RESOURCES-MIB::hrMemorySize", ".1.3.6.1.2.1.25.2.2"),
    (
        "Printer-MIB::prtGeneralSerialNumber",
        ".1.3.6.1.2.1.43.5.1.1.17",
    ),
];

/// The numeric OID of a name as snmpwalk prints it; `None` for a symbol not in the table.
pub fn resolve_name(name: &str) -> Option<Oid> {
    let name = name.trim();
    if name.starts_with('.') || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Oid::parse(name);
    }
    // The longest prefix that ends at a dot or at the end of the name.
    let (prefix, oid) = PREFIXES
        .iter()
        .filter(|(p, _)| {
            name.starts_with(p) && matches!(name.as_bytes().get(p.len()), None | Some(b'.'))
        })
        .max_by_key(|(p, _)| p.len())?;
    let rest = &name[prefix.len()..];
    Oid::parse(&format!("{oid}{rest}")).filter(|o| o.0.len() <= MAX_OID_ARCS)
}

/// A value's text after `TYPE:` as net-snmp prints it.
fn parse_value(kind: &str, text: &str) -> Option<Value> {
    let t = text.trim();
    let number = |t: &str| -> Option<u64> {
        // `up(1)` and `10 milli-seconds`: the number in brackets, else the first word.
        if let (Some(a), Some(b)) = (t.rfind('('), t.rfind(')')) {
            if a < b {
                return t[a + 1..b].trim().parse().ok();
            }
        }
        t.split_whitespace().next()?.parse().ok()
    };
    Some(match kind {
        "STRING" => Value::Octets(unquote(t).into_bytes()),
        "Hex-STRING" | "Opaque" | "BITS" => {
            let hex: Vec<u8> = t
                .split_whitespace()
                .map_while(|w| u8::from_str_radix(w, 16).ok())
                .collect();
            if kind == "Opaque" {
                Value::Opaque(hex)
            } else {
                Value::Octets(hex)
            }
        }
        "INTEGER" => {
            let signed = if let (Some(a), Some(b)) = (t.rfind('('), t.rfind(')')) {
                t.get(a + 1..b)?.trim().parse().ok()
            } else {
                t.split_whitespace().next()?.parse().ok()
            };
            Value::Integer(signed?)
        }
        "OID" => Value::ObjectId(resolve_name(t)?),
        "Timeticks" => Value::TimeTicks(u32::try_from(number(t)?).ok()?),
        "Counter32" => Value::Counter32(u32::try_from(number(t)?).ok()?),
        "Gauge32" | "Unsigned32" => Value::Gauge32(u32::try_from(number(t)?).ok()?),
        "Counter64" => Value::Counter64(number(t)?),
        "IpAddress" => Value::IpAddress(t.parse::<std::net::Ipv4Addr>().ok()?.octets()),
        "Network Address" => {
            let b: Vec<u8> = t
                .split(':')
                .filter_map(|w| u8::from_str_radix(w.trim(), 16).ok())
                .collect();
            Value::IpAddress(b.try_into().ok()?)
        }
        _ => return None,
    })
}

/// `"a \"b\""` → `a "b"`; text without quotes as it is.
fn unquote(t: &str) -> String {
    let Some(inner) = t.strip_prefix('"') else {
        return t.to_string();
    };
    let inner = inner.strip_suffix('"').unwrap_or(inner);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether a quoted string that starts this value is still open at its end.
fn open_quote(t: &str) -> bool {
    let t = t.trim_start();
    let Some(rest) = t.strip_prefix('"') else {
        return false;
    };
    let mut escaped = false;
    for c in rest.chars() {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => return false,
            _ => {}
        }
    }
    true
}

/// One `OID = TYPE: value` entry, the value possibly with continuation lines joined.
fn parse_entry(line: &str) -> Option<(Oid, Value)> {
    let (name, rest) = line.split_once(" = ")?;
    let oid = resolve_name(name)?;
    let rest = rest.trim_end_matches(['\r', '\n']);
    let value = match rest.split_once(": ") {
        Some((kind, text)) if !kind.contains('"') => parse_value(kind.trim(), text)?,
        _ => match rest.trim() {
            "\"\"" | "" => Value::Octets(Vec::new()),
            t if t.starts_with('"') => Value::Octets(unquote(t).into_bytes()),
            t if t.starts_with("No Such") || t.starts_with("No more") => return None,
            "NULL" => Value::Null,
            t if t.ends_with(':') => {
                // `Hex-STRING:` or `STRING:` with an empty value.
                parse_value(t.trim_end_matches(':'), "")?
            }
            _ => return None,
        },
    };
    Some((oid, value))
}

/// A walk file's values, sorted by OID, kept compact: each entry is its OID's arcs as
/// base-128 varints (behind a 2-byte length) then its value in BER, one after the other in
/// `data`, and `index` holds where each starts in OID order. A 48-port switch's walk of
/// 17,000 lines takes about 600 KiB this way, a fifth of a vector of decoded values.
#[derive(Debug, Default, Clone)]
pub struct WalkFile {
    data: Vec<u8>,
    index: Vec<u32>,
}

/// Most bytes of entries kept from a walk file (the `data` offsets are 32-bit).
const MAX_WALK_DATA: usize = u32::MAX as usize;

fn put_varint(out: &mut Vec<u8>, v: u32) {
    let mut tmp = [0u8; 5];
    let mut n = 0;
    let mut v = v;
    loop {
        tmp[n] = (v & 0x7f) as u8;
        n += 1;
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        out.push(tmp[i] | if i > 0 { 0x80 } else { 0 });
    }
}

/// The arcs of a key written by `put_varint`.
fn arcs(key: &[u8]) -> impl Iterator<Item = u32> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let mut v: u32 = 0;
        while let Some(&b) = key.get(i) {
            i += 1;
            v = (v << 7) | u32::from(b & 0x7f);
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    })
}

impl WalkFile {
    pub fn open(path: &Path) -> Result<WalkFile, SnmpError> {
        let f = std::fs::File::open(path)
            .map_err(|e| SnmpError::File(format!("cannot read {}: {e}", path.display())))?;
        WalkFile::read(f).map_err(|e| SnmpError::File(format!("{}: {e}", path.display())))
    }

    /// Reads walk text; entries that do not parse are skipped (counted in a debug line).
    pub fn read(r: impl Read) -> Result<WalkFile, String> {
        let mut reader = BufReader::new(r.take(MAX_WALK_FILE));
        let mut w = WalkFile::default();
        let mut pending = String::new();
        let mut skipped = 0usize;
        let mut line = Vec::new();
        let mut flush = |pending: &mut String, w: &mut WalkFile| {
            if !pending.is_empty() {
                match parse_entry(pending) {
                    Some((oid, value)) => w.push(&oid, value),
                    None => skipped += 1,
                }
                pending.clear();
            }
        };
        loop {
            line.clear();
            let n = (&mut reader)
                .take(MAX_WALK_LINE as u64 + 1)
                .read_until(b'\n', &mut line)
                .map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            if line.len() > MAX_WALK_LINE {
                return Err(format!("a line longer than {MAX_WALK_LINE} bytes"));
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\r', '\n']);
            let starts_entry = text.contains(" = ")
                && text
                    .split(" = ")
                    .next()
                    .is_some_and(|n| !n.contains(char::is_whitespace) && !n.contains('"'));
            let continues = !pending.is_empty()
                && (!starts_entry || pending_is_open(&pending))
                && pending.len() < MAX_WALK_LINE;
            if continues {
                pending.push('\n');
                pending.push_str(text);
                continue;
            }
            flush(&mut pending, &mut w);
            if w.index.len() >= MAX_WALK_VALUES {
                return Err(format!("more than {MAX_WALK_VALUES} values"));
            }
            if w.data.len() >= MAX_WALK_DATA - 2 * MAX_WALK_LINE {
                return Err(format!("more than {MAX_WALK_DATA} bytes of values"));
            }
            if starts_entry {
                pending.push_str(text);
            }
        }
        flush(&mut pending, &mut w);
        if skipped > 0 {
            log::debug!("walk file: {skipped} entries not understood, skipped");
        }
        // Sorted by OID, the first of equal OIDs kept.
        let data = &w.data;
        w.index
            .sort_by(|&a, &b| arcs(key(data, a)).cmp(arcs(key(data, b))));
        w.index.dedup_by(|a, b| key(data, *a) == key(data, *b));
        w.data.shrink_to_fit();
        w.index.shrink_to_fit();
        Ok(w)
    }

    /// Appends one entry (a string value longer than a response could carry is cut there,
    /// as the live decoder cuts it).
    fn push(&mut self, oid: &Oid, value: Value) {
        let value = match value {
            Value::Octets(mut b) => {
                b.truncate(MAX_VALUE_BYTES);
                Value::Octets(b)
            }
            Value::Opaque(mut b) => {
                b.truncate(MAX_VALUE_BYTES);
                Value::Opaque(b)
            }
            v => v,
        };
        let Ok(at) = u32::try_from(self.data.len()) else {
            return;
        };
        let mut k = Vec::with_capacity(oid.0.len() * 2);
        for &a in &oid.0 {
            put_varint(&mut k, a);
        }
        let Ok(klen) = u16::try_from(k.len()) else {
            return;
        };
        self.data.extend_from_slice(&klen.to_le_bytes());
        self.data.extend_from_slice(&k);
        encode_value(&mut self.data, &value);
        self.index.push(at);
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    fn oid_at(&self, at: u32) -> Oid {
        Oid(arcs(key(&self.data, at)).collect())
    }

    fn value_at(&self, at: u32) -> Value {
        let k = key(&self.data, at);
        let start = at as usize + 2 + k.len();
        let mut r = Reader::new(self.data.get(start..).unwrap_or(&[]));
        r.any()
            .ok()
            .and_then(|(tag, content)| decode_value(tag, content).ok())
            .unwrap_or(Value::NoSuchObject)
    }

    fn find(&self, o: &Oid) -> Result<usize, usize> {
        self.index
            .binary_search_by(|&at| arcs(key(&self.data, at)).cmp(o.0.iter().copied()))
    }

    pub fn get(&self, oids: &[Oid]) -> Vec<(Oid, Value)> {
        oids.iter()
            .map(|o| {
                let v = self
                    .find(o)
                    .map_or(Value::NoSuchObject, |i| self.value_at(self.index[i]));
                (o.clone(), v)
            })
            .collect()
    }

    pub fn walk(&self, root: &Oid, max: usize) -> Vec<(Oid, Value)> {
        let start = self.index.partition_point(|&at| {
            arcs(key(&self.data, at)).cmp(root.0.iter().copied()) != std::cmp::Ordering::Greater
        });
        self.index[start..]
            .iter()
            .map(|&at| (at, self.oid_at(at)))
            .take_while(|(_, k)| k.starts_with(root))
            .take(max)
            .map(|(at, k)| (k, self.value_at(at)))
            .collect()
    }
}

/// The varint arcs of the entry at `at`.
fn key(data: &[u8], at: u32) -> &[u8] {
    let at = at as usize;
    let n = match data.get(at..at + 2) {
        Some(&[a, b]) => usize::from(u16::from_le_bytes([a, b])),
        _ => 0,
    };
    data.get(at + 2..at + 2 + n).unwrap_or(&[])
}

/// Whether the entry gathered so far is a quoted string or hex dump still open.
fn pending_is_open(pending: &str) -> bool {
    let Some((_, rest)) = pending.split_once(" = ") else {
        return false;
    };
    match rest.split_once(": ") {
        Some((kind, text)) if kind.trim() == "STRING" => open_quote(text),
        Some(_) => false,
        None => open_quote(rest),
    }
}
