//! Which time zone a system uses, found where the C library would look (TZ, `/etc/localtime`,
//! OpenWrt's `/etc/TZ` and UCI, Debian's `/etc/timezone`) but evaluated by [`crate::core::tz`],
//! so that glibc, musl, old uClibc configurations and `--root` trees all give the same answer.

use std::sync::Mutex;

use super::root::Root;
use crate::core::tz::{parse_posix, parse_tzif, Zone, MAX_TZIF, MAX_TZ_STRING};

/// Distinct time zone warnings kept to avoid repeating them (several collectors load the zone).
const MAX_REMEMBERED_WARNINGS: usize = 16;

/// Where zone names (`Europe/Paris`) are looked up, in the root.
const ZONEINFO_DIRS: [&str; 3] = [
    "/usr/share/zoneinfo",
    "/usr/lib/zoneinfo",
    "/usr/share/lib/zoneinfo",
];

/// The zone of the system under `root`, read once per run (several collectors ask); UTC when
/// no source gives one.
pub fn zone(root: &Root) -> Zone {
    use std::sync::Mutex;
    static LOADED: Mutex<Option<(std::path::PathBuf, Zone)>> = Mutex::new(None);
    let mut cache = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((base, zone)) = cache.as_ref() {
        if base == root.base() {
            return zone.clone();
        }
    }
    let zone = read(root);
    *cache = Some((root.base().to_path_buf(), zone.clone()));
    zone
}

/// The first source that gives a zone, in the order the C libraries look.
fn read(root: &Root) -> Zone {
    if root.is_live() {
        if let Some(tz) = std::env::var_os("TZ") {
            if let Some(z) = from_tz_variable(root, &tz.to_string_lossy()) {
                return z;
            }
        }
    }
    if root.exists("/etc/localtime") {
        if let Some(z) = from_tzif_file(root, "/etc/localtime") {
            return z;
        }
    }
    if let Some(text) = root.value("/etc/TZ") {
        match parse_posix(&text) {
            Some(rule) => return Zone::from_rule(rule),
            None => warn_once(format!(
                "/etc/TZ does not hold a POSIX TZ string ({}): ignored",
                shorten(&text)
            )),
        }
    }
    if let Some(text) = root.read("/etc/config/system") {
        let (timezone, zonename) = uci_timezone(&text);
        if let Some(tz) = timezone {
            match parse_posix(&tz) {
                Some(rule) => return Zone::from_rule(rule),
                None => warn_once(format!(
                    "/etc/config/system: timezone {:?} is not a POSIX TZ string: ignored",
                    shorten(&tz)
                )),
            }
        }
        if let Some(z) = zonename.and_then(|n| from_zone_name(root, &n)) {
            return z;
        }
    }
    if let Some(name) = root.value("/etc/timezone") {
        if let Some(z) = from_zone_name(root, &name) {
            return z;
        }
    }
    Zone::utc()
}

/// Whether each warning was already given (the zone is loaded by several collectors).
static WARNED: Mutex<heapless::Vec<String, MAX_REMEMBERED_WARNINGS>> =
    Mutex::new(heapless::Vec::new());

fn warn_once(msg: String) {
    let mut seen = match WARNED.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    if seen.contains(&msg) {
        return;
    }
    log::warn!("{msg}");
    // Past the bound a warning may be said again: better than forgetting to say it.
    let _ = seen.push(msg);
}

/// Text quoted in a warning, cut short.
fn shorten(s: &str) -> String {
    s.chars().take(64).collect()
}

/// `TZ` as the C libraries read it: `:name` or a name with a `/` before any `,` is a file
/// (absolute, or under the zoneinfo directories); otherwise a zoneinfo file of that name wins
/// (as in glibc), then the text is a POSIX string. Empty means UTC, as in glibc and musl.
fn from_tz_variable(root: &Root, tz: &str) -> Option<Zone> {
    if tz.is_empty() {
        return Some(Zone::utc());
    }
    let file = match tz.strip_prefix(':') {
        Some(rest) => Some(rest),
        None => match tz.find('/') {
            Some(slash) if !tz[..slash].contains(',') => Some(tz),
            _ => None,
        },
    };
    if let Some(file) = file {
        if file.is_empty() {
            return None;
        }
        if file.starts_with('/') {
            if root.exists(file) {
                return from_tzif_file(root, file);
            }
            warn_once(format!("TZ names {file}, which does not exist: ignored"));
            return None;
        }
        let z = from_zone_name(root, file);
        if z.is_none() {
            warn_once(format!(
                "TZ names the zone {file:?}, which is not installed: ignored"
            ));
        }
        return z;
    }
    if valid_zone_name(tz) && zoneinfo_path(root, tz).is_some() {
        return from_zone_name(root, tz);
    }
    match parse_posix(tz) {
        Some(rule) => Some(Zone::from_rule(rule)),
        None => {
            warn_once(format!(
                "TZ={} is neither a POSIX TZ string nor an installed zone: ignored",
                shorten(tz)
            ));
            None
        }
    }
}

/// A zone name must stay inside the zoneinfo directory.
fn valid_zone_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_TZ_STRING
        && !name.starts_with('/')
        && name
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+-.".contains(&b))
}

fn zoneinfo_path(root: &Root, name: &str) -> Option<String> {
    ZONEINFO_DIRS
        .iter()
        .map(|dir| format!("{dir}/{name}"))
        .find(|p| root.metadata(p).is_some_and(|m| m.is_file()))
}

/// A zone name (`Europe/Paris`) looked up in the root's zoneinfo directories.
fn from_zone_name(root: &Root, name: &str) -> Option<Zone> {
    let name = name.trim();
    if !valid_zone_name(name) {
        return None;
    }
    from_tzif_file(root, &zoneinfo_path(root, name)?)
}

fn from_tzif_file(root: &Root, path: &str) -> Option<Zone> {
    let data = root.read_bytes(path, MAX_TZIF)?;
    match parse_tzif(&data) {
        Ok(z) => Some(z),
        Err(why) => {
            warn_once(format!(
                "{path} is not a usable time zone file ({why}): ignored"
            ));
            None
        }
    }
}

/// `timezone` and `zonename` of the `config system` section of OpenWrt's UCI file.
fn uci_timezone(text: &str) -> (Option<String>, Option<String>) {
    let mut in_system = false;
    let mut seen_system = false;
    let (mut timezone, mut zonename) = (None, None);
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("config") => {
                if seen_system {
                    break;
                }
                in_system = words.next().map(unquote) == Some("system");
                seen_system = in_system;
            }
            Some("option") if in_system => {
                // The value is the rest of the line, which may hold spaces inside its quotes.
                let rest = line.trim_start()["option".len()..].trim_start();
                let (key, value) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                let value = Some(unquote(value.trim()).to_string()).filter(|v| !v.is_empty());
                match unquote(key) {
                    "timezone" => timezone = value,
                    "zonename" => zonename = value,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    (timezone, zonename)
}

fn unquote(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'\'' || b[0] == b'"') && b[b.len() - 1] == b[0] {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::tz::test_data::{at, paris_block, tzif_v2};
    use std::fs;
    use std::path::PathBuf;

    struct TempRoot(PathBuf);

    impl TempRoot {
        fn new(tag: &str) -> TempRoot {
            let dir = std::env::temp_dir().join(format!("uagent-tz-{tag}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(dir.join("etc/config")).unwrap();
            TempRoot(dir)
        }

        fn write(&self, path: &str, data: &[u8]) {
            let p = self.0.join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, data).unwrap();
        }

        fn zone(&self) -> Zone {
            read(&Root::at(&self.0))
        }
    }

    impl Drop for TempRoot {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn localtime_link_into_zoneinfo_is_read_inside_the_root() {
        let r = TempRoot::new("link");
        let data = tzif_v2(&paris_block(), &paris_block(), "CET-1CEST,M3.5.0,M10.5.0/3");
        r.write("usr/share/zoneinfo/Europe/Paris", &data);
        std::os::unix::fs::symlink(
            "/usr/share/zoneinfo/Europe/Paris",
            r.0.join("etc/localtime"),
        )
        .unwrap();
        assert_eq!(r.zone().offset_at(at(2024, 7, 1, 0, 0, 0)).1, "CEST");
    }

    #[test]
    fn garbage_localtime_falls_back_to_etc_tz() {
        let r = TempRoot::new("garbage");
        r.write("etc/localtime", b"this is not a zone file");
        r.write("etc/TZ", b"<+0545>-5:45\n");
        assert_eq!(r.zone().offset_at(0), (20700, "+0545".into()));
    }

    #[test]
    fn openwrt_uci_timezone_is_read_from_the_system_section() {
        let r = TempRoot::new("uci");
        r.write(
            "etc/config/system",
            b"config foo 'x'\n\toption timezone 'XXX9'\n\n\
              config system\n\toption hostname 'OpenWrt'\n\toption zonename 'Europe/Paris'\n\
              \toption timezone 'CET-1CEST,M3.5.0,M10.5.0/3'\n\nconfig timeserver 'ntp'\n",
        );
        let z = r.zone();
        assert_eq!(z.offset_at(at(2024, 1, 1, 0, 0, 0)), (3600, "CET".into()));
        assert_eq!(z.offset_at(at(2024, 7, 1, 0, 0, 0)), (7200, "CEST".into()));
    }

    #[test]
    fn debian_timezone_name_is_looked_up_in_zoneinfo() {
        let r = TempRoot::new("debian");
        r.write("etc/timezone", b"Europe/Paris\n");
        let data = tzif_v2(&paris_block(), &paris_block(), "CET-1CEST,M3.5.0,M10.5.0/3");
        r.write("usr/share/zoneinfo/Europe/Paris", &data);
        assert_eq!(r.zone().offset_at(at(2024, 1, 1, 0, 0, 0)).1, "CET");
        // A name that leaves the zoneinfo directory is not followed.
        r.write("etc/timezone", b"../../../etc/secret\n");
        r.write("etc/secret", &data);
        assert_eq!(r.zone(), Zone::utc());
    }

    #[test]
    fn empty_root_is_utc() {
        let r = TempRoot::new("empty");
        assert_eq!(r.zone(), Zone::utc());
    }

    #[test]
    fn tz_variable_forms() {
        let r = TempRoot::new("env");
        let data = tzif_v2(&paris_block(), &paris_block(), "CET-1CEST,M3.5.0,M10.5.0/3");
        r.write("usr/share/zoneinfo/Europe/Paris", &data);
        let root = Root::at(&r.0);
        let summer = at(2024, 7, 1, 0, 0, 0);
        for tz in [":Europe/Paris", "Europe/Paris"] {
            let z = from_tz_variable(&root, tz).unwrap();
            assert_eq!(z.offset_at(summer).1, "CEST", "{tz}");
        }
        let z = from_tz_variable(&root, ":/usr/share/zoneinfo/Europe/Paris").unwrap();
        assert_eq!(z.offset_at(summer).1, "CEST");
        assert!(from_tz_variable(&root, "/usr/share/zoneinfo/Nowhere").is_none());
        let z = from_tz_variable(&root, "CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        assert_eq!(z.offset_at(summer).0, 7200);
        assert_eq!(from_tz_variable(&root, "").unwrap(), Zone::utc());
        assert!(from_tz_variable(&root, "Mars/Olympus").is_none());
        assert!(from_tz_variable(&root, "!!").is_none());
    }
}
