//! Device typing from the sysObjectID: GLPI's `sysobject.ids` (GPL-2.0 data, read from a file
//! at run time, never built in), and the IANA enterprise numbers of the best-known makers for
//! when the file is not installed. The file is read line by line for each new sysObjectID
//! (a discovery meets few of them): nothing of its 400 KiB stays in memory.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::snmp::Oid;

/// Where the GLPI and FusionInventory agents install the file; the first that exists is
/// read when no path is set.
pub const DEFAULT_PATHS: &[&str] = &[
    "/usr/share/uagent/sysobject.ids",
    "/usr/share/glpi-agent/sysobject.ids",
    "/usr/share/glpi-agent/share/sysobject.ids",
    "/usr/share/fusioninventory/sysobject.ids",
];
/// Largest file read, and longest line.
const MAX_FILE: u64 = 16 * 1024 * 1024;
const MAX_LINE: usize = 4096;
/// Most sysObjectIDs whose answer is remembered.
const MAX_CACHE: usize = 256;

/// What the file says of a sysObjectID.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Entry {
    pub manufacturer: String,
    pub kind: Option<String>,
    pub model: Option<String>,
}

/// `1.3.6.1.4.1`, under which every id of the file is written.
fn enterprises() -> Oid {
    Oid(vec![1, 3, 6, 1, 4, 1])
}

/// Manufacturers by IANA private enterprise number, for when the file is missing or silent.
const ENTERPRISES: &[(u32, &str, Option<&str>)] = &[
    (2, "IBM", None),
    (9, "Cisco", Some("NETWORKING")),
    (11, "Hewlett-Packard", None),
    (23, "Novell", None),
    (43, "3Com", Some("NETWORKING")),
    (45, "Nortel", Some("NETWORKING")),
    (171, "D-Link", Some("NETWORKING")),
    (207, "Allied Telesis", Some("NETWORKING")),
    (253, "Xerox", Some("PRINTER")),
    (311, "Microsoft", Some("COMPUTER")),
    (318, "APC", Some("POWER")),
    (367, "Ricoh", Some("PRINTER")),
    (534, "Eaton", Some("POWER")),
    (641, "Lexmark", Some("PRINTER")),
    (674, "Dell", None),
    (789, "NetApp", Some("STORAGE")),
    (890, "Zyxel", Some("NETWORKING")),
    (1347, "Kyocera", Some("PRINTER")),
    (1588, "Brocade", Some("NETWORKING")),
    (1602, "Canon", Some("PRINTER")),
    (1916, "Extreme Networks", Some("NETWORKING")),
    (1991, "Foundry Networks", Some("NETWORKING")),
    (2011, "Huawei", Some("NETWORKING")),
    (2021, "Net-SNMP", None),
    (2435, "Brother", Some("PRINTER")),
    (2636, "Juniper", Some("NETWORKING")),
    (3375, "F5", Some("NETWORKING")),
    (4526, "Netgear", Some("NETWORKING")),
    (6027, "Force10", Some("NETWORKING")),
    (6486, "Alcatel-Lucent", Some("NETWORKING")),
    (6527, "Nokia", Some("NETWORKING")),
    (6574, "Synology", Some("STORAGE")),
    (8072, "Net-SNMP", None),
    (8741, "SonicWall", Some("NETWORKING")),
    (11863, "TP-Link", Some("NETWORKING")),
    (12356, "Fortinet", Some("NETWORKING")),
    (14823, "Aruba", Some("NETWORKING")),
    (14988, "MikroTik", Some("NETWORKING")),
    (18334, "Konica Minolta", Some("PRINTER")),
    (24681, "Qnap", Some("STORAGE")),
    (25461, "Palo Alto Networks", Some("NETWORKING")),
    (25506, "H3C", Some("NETWORKING")),
    (30065, "Arista", Some("NETWORKING")),
    (41112, "Ubiquiti", Some("NETWORKING")),
];

/// The enterprise number's maker, without the file.
pub fn by_enterprise(oid: &Oid) -> Option<Entry> {
    let n = *oid.suffix(&enterprises())?.first()?;
    let (_, m, t) = ENTERPRISES.iter().find(|(e, _, _)| *e == n)?;
    Some(Entry {
        manufacturer: m.to_string(),
        kind: t.map(str::to_string),
        model: None,
    })
}

/// The longest entry of `file` whose id is `id` or one of its prefixes (on arc boundaries).
pub fn lookup_in(file: impl Read, id: &[u32]) -> Option<Entry> {
    let mut r = BufReader::new(file.take(MAX_FILE));
    let mut best: Option<(usize, Entry)> = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut r).take(MAX_LINE as u64).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if line.len() >= MAX_LINE && line.last() != Some(&b'\n') {
            // A line longer than any entry: skip the rest of it.
            let mut rest = Vec::new();
            let _ = (&mut r).take(MAX_FILE).read_until(b'\n', &mut rest);
            continue;
        }
        if line
            .first()
            .is_none_or(|b| *b == b'#' || !b.is_ascii_digit())
        {
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let mut cols = text.trim_end_matches(['\r', '\n']).split('\t');
        let Some(key) = cols.next() else { continue };
        // Compare arc by arc without building the OID.
        let mut n = 0;
        let mut ok = true;
        for part in key.split('.') {
            match part.parse::<u32>() {
                Ok(a) if id.get(n) == Some(&a) => n += 1,
                _ => {
                    ok = false;
                    break;
                }
            }
        }
        if !ok || n == 0 || best.as_ref().is_some_and(|(b, _)| *b >= n) {
            continue;
        }
        let col = |c: Option<&str>| {
            c.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let Some(manufacturer) = col(cols.next()) else {
            continue;
        };
        best = Some((
            n,
            Entry {
                manufacturer,
                kind: col(cols.next()),
                model: col(cols.next()),
            },
        ));
    }
    best.map(|(_, e)| e)
}

/// The file (if any) and what it said of the sysObjectIDs met so far.
pub struct SysObjectIds {
    path: Option<PathBuf>,
    cache: Vec<(Oid, Option<Entry>)>,
}

impl SysObjectIds {
    /// The file at `path`, or the first of [`DEFAULT_PATHS`] that exists; without one, typing
    /// uses the enterprise numbers only (said once, at info level).
    pub fn new(path: Option<&str>) -> SysObjectIds {
        let path = match path {
            Some(p) => {
                if !Path::new(p).is_file() {
                    log::warn!("sysobject.ids: {p} cannot be read; devices are typed by their enterprise number only");
                }
                Some(PathBuf::from(p))
            }
            None => {
                let found = DEFAULT_PATHS
                    .iter()
                    .map(PathBuf::from)
                    .find(|p| p.is_file());
                if found.is_none() {
                    log::info!("no sysobject.ids installed ({}): devices are typed by their enterprise number only", DEFAULT_PATHS.join(", "));
                }
                found
            }
        };
        SysObjectIds {
            path,
            cache: Vec::new(),
        }
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// What is known of `oid`: the file's entry, else the enterprise number's maker.
    pub fn lookup(&mut self, oid: &Oid) -> Option<Entry> {
        if let Some((_, e)) = self.cache.iter().find(|(o, _)| o == oid) {
            return e.clone();
        }
        let from_file = oid.suffix(&enterprises()).and_then(|id| {
            let f = std::fs::File::open(self.path.as_ref()?).ok()?;
            lookup_in(f, id)
        });
        let e = from_file.or_else(|| by_enterprise(oid));
        if self.cache.len() < MAX_CACHE {
            self.cache.push((oid.clone(), e.clone()));
        }
        e
    }
}
