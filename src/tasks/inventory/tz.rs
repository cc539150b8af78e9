//! The local time zone, found where the C library would look (TZ, `/etc/localtime`, OpenWrt's
//! `/etc/TZ` and UCI, Debian's `/etc/timezone`) but evaluated here, so that glibc, musl, old
//! uClibc configurations and `--root` trees all give the same answer.
//!
//! Two formats are understood: TZif files (RFC 9636, versions 1 to 4) and POSIX TZ strings
//! (`CET-1CEST,M3.5.0,M10.5.0/3`), which TZif files of version 2 and later also carry in their
//! footer for the times after their last transition.

use std::sync::Mutex;

use super::root::Root;
use super::time::{civil_from_days, days_from_civil};

/// Largest TZif file read; real ones are under 4 KiB.
pub const MAX_TZIF: usize = 64 * 1024;
/// Most transitions taken from a TZif file.
pub const MAX_TRANSITIONS: usize = 8192;
/// Most local time types in a TZif file (they are indexed by a byte).
pub const MAX_TYPES: usize = 256;
/// Longest POSIX TZ string or zone name accepted.
pub const MAX_TZ_STRING: usize = 256;
/// Largest UTC offset accepted, in seconds (POSIX allows hours up to 24).
const MAX_OFFSET: i32 = 24 * 3600 + 59 * 60 + 59;
/// Largest transition time of day in a rule (RFC 9636 allows -167 to 167 hours).
const MAX_RULE_TIME: i32 = 167 * 3600 + 59 * 60 + 59;
/// Distinct time zone warnings kept to avoid repeating them (several collectors load the zone).
const MAX_REMEMBERED_WARNINGS: usize = 16;

/// Where zone names (`Europe/Paris`) are looked up, in the root.
const ZONEINFO_DIRS: [&str; 3] = [
    "/usr/share/zoneinfo",
    "/usr/lib/zoneinfo",
    "/usr/share/lib/zoneinfo",
];

/// One local time type of a TZif file.
#[derive(Clone, Debug, PartialEq)]
struct LocalType {
    /// Seconds east of UTC.
    offset: i32,
    abbr: String,
}

/// When a POSIX rule switches, in the year it is evaluated for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum DateRule {
    /// `Jn`: day 1 to 365, February 29 never counted.
    NoLeap(u16),
    /// `n`: day 0 to 365, February 29 counted.
    Zero(u16),
    /// `Mm.w.d`: weekday `d` (0 = Sunday) of week `w` (5 = last) of month `m`.
    Month { month: u8, week: u8, weekday: u8 },
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Change {
    date: DateRule,
    /// Local time of day of the switch, in seconds (may be negative or past 24 h).
    time: i32,
}

#[derive(Clone, Debug, PartialEq)]
struct Dst {
    name: String,
    offset: i32,
    start: Change,
    end: Change,
}

/// A POSIX TZ rule. Offsets are kept east-positive (the string has them west-positive).
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    std_name: String,
    std_offset: i32,
    dst: Option<Dst>,
}

/// The local time zone: TZif transitions, and a rule for the times they do not cover.
#[derive(Clone, Debug, PartialEq)]
pub struct Zone {
    transitions: Vec<i64>,
    /// Local type index of each transition (validated against `types`).
    type_of: Vec<u8>,
    types: Vec<LocalType>,
    rule: Option<Rule>,
}

impl Zone {
    pub fn utc() -> Zone {
        Zone::from_rule(Rule {
            std_name: "UTC".into(),
            std_offset: 0,
            dst: None,
        })
    }

    /// A zone that follows one POSIX rule at all times.
    pub fn from_rule(rule: Rule) -> Zone {
        Zone {
            transitions: Vec::new(),
            type_of: Vec::new(),
            types: Vec::new(),
            rule: Some(rule),
        }
    }

    /// The zone of the system under inventory, from the first source that gives one
    /// (see the module documentation); UTC when none does.
    /// The zone of the system under `root`, read once per run (several collectors ask).
    pub fn load(root: &Root) -> Zone {
        use std::sync::Mutex;
        static LOADED: Mutex<Option<(std::path::PathBuf, Zone)>> = Mutex::new(None);
        let mut cache = LOADED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((base, zone)) = cache.as_ref() {
            if base == root.base() {
                return zone.clone();
            }
        }
        let zone = Zone::read(root);
        *cache = Some((root.base().to_path_buf(), zone.clone()));
        zone
    }

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

    /// Offset east of UTC in seconds and abbreviation in force at `utc` (seconds since epoch).
    pub fn offset_at(&self, utc: i64) -> (i32, String) {
        let n = self.transitions.partition_point(|&t| t <= utc);
        let from_type = |i: usize| {
            self.types
                .get(i)
                .map(|t| (t.offset, t.abbr.clone()))
                .unwrap_or_else(|| (0, "UTC".into()))
        };
        if n == 0 && !self.types.is_empty() && (!self.transitions.is_empty() || self.rule.is_none())
        {
            // Before the first transition, or a file without any: the first type.
            return from_type(0);
        }
        if n > 0 && (n < self.transitions.len() || self.rule.is_none()) {
            return from_type(usize::from(self.type_of[n - 1]));
        }
        match &self.rule {
            Some(r) => r.offset_at(utc),
            None => (0, "UTC".into()),
        }
    }
}

/// Whether each warning was already given (the zone is loaded by several collectors).
static WARNED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn warn_once(msg: String) {
    let mut seen = match WARNED.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    if seen.contains(&msg) {
        return;
    }
    log::warn!("{msg}");
    if seen.len() < MAX_REMEMBERED_WARNINGS {
        seen.push(msg);
    }
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

// ---- TZif ----

struct Header {
    version: u8,
    isut: usize,
    isstd: usize,
    leap: usize,
    time: usize,
    types: usize,
    chars: usize,
}

const HEADER_LEN: usize = 44;

fn header(data: &[u8]) -> Result<Header, &'static str> {
    if data.len() < HEADER_LEN || &data[..4] != b"TZif" {
        return Err("no TZif header");
    }
    let count = |i: usize| {
        let b = &data[20 + 4 * i..24 + 4 * i];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
    };
    let h = Header {
        version: data[4],
        isut: count(0),
        isstd: count(1),
        leap: count(2),
        time: count(3),
        types: count(4),
        chars: count(5),
    };
    if h.time > MAX_TRANSITIONS {
        return Err("too many transitions");
    }
    if h.types > MAX_TYPES {
        return Err("too many local time types");
    }
    if (h.isut != 0 && h.isut != h.types) || (h.isstd != 0 && h.isstd != h.types) {
        return Err("inconsistent counts");
    }
    Ok(h)
}

/// Length of the data block that follows a header, with `tsize`-byte times.
fn block_len(h: &Header, tsize: usize) -> Option<usize> {
    let parts = [
        h.time.checked_mul(tsize)?,
        h.time,
        h.types.checked_mul(6)?,
        h.chars,
        h.leap.checked_mul(tsize + 4)?,
        h.isstd,
        h.isut,
    ];
    parts.iter().try_fold(0usize, |a, &b| a.checked_add(b))
}

/// Reads the transitions and types of one data block.
fn parse_block(data: &[u8], h: &Header, tsize: usize) -> Result<Zone, &'static str> {
    let len = block_len(h, tsize).ok_or("counts overflow")?;
    if data.len() < len {
        return Err("truncated");
    }
    if h.types == 0 {
        return Err("no local time type");
    }
    let mut at = 0;
    let mut transitions = Vec::with_capacity(h.time);
    for i in 0..h.time {
        let b = &data[at + i * tsize..at + (i + 1) * tsize];
        let t = if tsize == 8 {
            i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
        } else {
            i64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        if transitions.last().is_some_and(|&last| t <= last) {
            return Err("transition times out of order");
        }
        transitions.push(t);
    }
    at += h.time * tsize;
    let type_of = data[at..at + h.time].to_vec();
    if type_of.iter().any(|&i| usize::from(i) >= h.types) {
        return Err("transition to a missing type");
    }
    at += h.time;
    let chars = &data[at + h.types * 6..at + h.types * 6 + h.chars];
    let mut types = Vec::with_capacity(h.types);
    for i in 0..h.types {
        let b = &data[at + i * 6..at + i * 6 + 6];
        let offset = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        if offset.unsigned_abs() > MAX_OFFSET as u32 || b[4] > 1 {
            return Err("bad local time type");
        }
        let idx = usize::from(b[5]);
        if idx >= chars.len() {
            return Err("abbreviation index out of range");
        }
        let rest = &chars[idx..];
        let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
        types.push(LocalType {
            offset,
            abbr: String::from_utf8_lossy(&rest[..end]).into_owned(),
        });
    }
    Ok(Zone {
        transitions,
        type_of,
        types,
        rule: None,
    })
}

/// A TZif file: the 64-bit data of version 2 and later when present, with its footer rule.
/// Leap second records are skipped (they shift "right/" zones by under a minute).
fn parse_tzif(data: &[u8]) -> Result<Zone, &'static str> {
    let h1 = header(data)?;
    if h1.version == 0 {
        return parse_block(&data[HEADER_LEN..], &h1, 4);
    }
    let v1_len = block_len(&h1, 4).ok_or("counts overflow")?;
    let second = HEADER_LEN
        .checked_add(v1_len)
        .filter(|&s| s <= data.len())
        .ok_or("truncated")?;
    let data2 = &data[second..];
    let h2 = header(data2)?;
    let mut zone = parse_block(&data2[HEADER_LEN..], &h2, 8)?;
    let after = HEADER_LEN + block_len(&h2, 8).ok_or("counts overflow")?;
    let footer = &data2[after..];
    if let Some(rest) = footer.strip_prefix(b"\n") {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("footer without end")?;
        if end > MAX_TZ_STRING {
            return Err("footer too long");
        }
        let text = std::str::from_utf8(&rest[..end]).map_err(|_| "footer not text")?;
        if !text.is_empty() {
            zone.rule = Some(parse_posix(text).ok_or("bad TZ string in footer")?);
        }
    }
    Ok(zone)
}

// ---- POSIX TZ strings ----

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn at_end(&self) -> bool {
        self.i >= self.b.len()
    }

    /// `<+03>` (letters, digits, signs) or three or more letters.
    fn name(&mut self) -> Option<String> {
        let start = self.i;
        let text = if self.eat(b'<') {
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'-')
            {
                self.i += 1;
            }
            let text = &self.b[start + 1..self.i];
            if !self.eat(b'>') {
                return None;
            }
            text
        } else {
            while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                self.i += 1;
            }
            &self.b[start..self.i]
        };
        if text.len() < 3 {
            return None;
        }
        Some(String::from_utf8_lossy(text).into_owned())
    }

    fn number(&mut self, max_digits: usize) -> Option<i32> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) && self.i - start < max_digits {
            self.i += 1;
        }
        if self.i == start {
            return None;
        }
        std::str::from_utf8(&self.b[start..self.i])
            .ok()?
            .parse()
            .ok()
    }

    /// `[+-]hh[:mm[:ss]]` in seconds, hours up to `max_hours`.
    fn hms(&mut self, max: i32) -> Option<i32> {
        let negative = if self.eat(b'-') {
            true
        } else {
            self.eat(b'+');
            false
        };
        let h = self.number(3)?;
        let mut secs = h * 3600;
        if self.eat(b':') {
            let m = self.number(2).filter(|m| *m < 60)?;
            secs += m * 60;
            if self.eat(b':') {
                secs += self.number(2).filter(|s| *s < 60)?;
            }
        }
        if secs > max {
            return None;
        }
        Some(if negative { -secs } else { secs })
    }

    fn starts_offset(&self) -> bool {
        self.peek()
            .is_some_and(|c| c.is_ascii_digit() || c == b'+' || c == b'-')
    }

    fn date(&mut self) -> Option<DateRule> {
        if self.eat(b'J') {
            let n = self.number(3).filter(|n| (1..=365).contains(n))?;
            Some(DateRule::NoLeap(n as u16))
        } else if self.eat(b'M') {
            let month = self.number(2).filter(|m| (1..=12).contains(m))?;
            let week = self
                .eat(b'.')
                .then(|| self.number(1))?
                .filter(|w| (1..=5).contains(w))?;
            let weekday = self
                .eat(b'.')
                .then(|| self.number(1))?
                .filter(|d| (0..=6).contains(d))?;
            Some(DateRule::Month {
                month: month as u8,
                week: week as u8,
                weekday: weekday as u8,
            })
        } else {
            let n = self.number(3).filter(|n| (0..=365).contains(n))?;
            Some(DateRule::Zero(n as u16))
        }
    }

    fn change(&mut self) -> Option<Change> {
        let date = self.date()?;
        let time = if self.eat(b'/') {
            self.hms(MAX_RULE_TIME)?
        } else {
            2 * 3600
        };
        Some(Change { date, time })
    }
}

/// Parses `std offset [dst [offset] [,start[/time],end[/time]]]`. As in musl, a lone name
/// (`UTC`, OpenWrt's default) is that name at offset zero. Without rules, DST follows the
/// US rules (`M3.2.0,M11.1.0`), as glibc and tzcode do.
pub fn parse_posix(s: &str) -> Option<Rule> {
    let s = s.trim();
    if s.len() > MAX_TZ_STRING {
        return None;
    }
    let mut c = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    let std_name = c.name()?;
    if c.at_end() {
        return Some(Rule {
            std_name,
            std_offset: 0,
            dst: None,
        });
    }
    let std_offset = -c.hms(MAX_OFFSET)?;
    if c.at_end() {
        return Some(Rule {
            std_name,
            std_offset,
            dst: None,
        });
    }
    let dst_name = c.name()?;
    let dst_offset = if c.starts_offset() {
        -c.hms(MAX_OFFSET)?
    } else {
        std_offset + 3600
    };
    let (start, end) = if c.at_end() {
        let us = |month, week| Change {
            date: DateRule::Month {
                month,
                week,
                weekday: 0,
            },
            time: 2 * 3600,
        };
        (us(3, 2), us(11, 1))
    } else {
        if !c.eat(b',') {
            return None;
        }
        let start = c.change()?;
        if !c.eat(b',') {
            return None;
        }
        (start, c.change()?)
    };
    if !c.at_end() {
        return None;
    }
    Some(Rule {
        std_name,
        std_offset,
        dst: Some(Dst {
            name: dst_name,
            offset: dst_offset,
            start,
            end,
        }),
    })
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

impl DateRule {
    /// The day (since the epoch) this rule names in `year`.
    fn day(self, year: i64) -> i64 {
        let jan1 = days_from_civil(year, 1, 1);
        match self {
            DateRule::NoLeap(n) => {
                let n = i64::from(n);
                jan1 + n - 1 + i64::from(is_leap(year) && n >= 60)
            }
            DateRule::Zero(n) => jan1 + i64::from(n),
            DateRule::Month {
                month,
                week,
                weekday,
            } => {
                let m = u32::from(month);
                let first = days_from_civil(year, m, 1);
                let next = if m == 12 {
                    days_from_civil(year + 1, 1, 1)
                } else {
                    days_from_civil(year, m + 1, 1)
                };
                // 1970-01-01 was a Thursday (weekday 4).
                let first_wd = (first + 4).rem_euclid(7);
                let mut day = first
                    + (i64::from(weekday) - first_wd).rem_euclid(7)
                    + 7 * (i64::from(week) - 1);
                while day >= next {
                    day -= 7;
                }
                day
            }
        }
    }
}

impl Change {
    /// The UTC instant of this change in `year`, the offset `before` being in force up to it.
    fn utc(self, year: i64, before: i32) -> i64 {
        self.date.day(year) * 86_400 + i64::from(self.time) - i64::from(before)
    }
}

impl Rule {
    pub fn offset_at(&self, utc: i64) -> (i32, String) {
        let Some(d) = &self.dst else {
            return (self.std_offset, self.std_name.clone());
        };
        let (year, _, _) = civil_from_days((utc + i64::from(self.std_offset)).div_euclid(86_400));
        // The switches of the neighbouring years too: with times past 24 h or before 0 h,
        // or in the southern hemisphere, the one in force may belong to another year.
        let mut events = [(0i64, false); 6];
        for (k, y) in (year - 1..=year + 1).enumerate() {
            events[2 * k] = (d.start.utc(y, self.std_offset), true);
            events[2 * k + 1] = (d.end.utc(y, d.offset), false);
        }
        events.sort_by_key(|e| e.0);
        let mut dst = !events[0].1;
        for (t, state) in events {
            if t <= utc {
                dst = state;
            }
        }
        if dst {
            (d.offset, d.name.clone())
        } else {
            (self.std_offset, self.std_name.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::PathBuf;

    fn at(y: i64, mo: u32, d: u32, h: i64, mi: i64, s: i64) -> i64 {
        days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s
    }

    fn rule(s: &str) -> Rule {
        parse_posix(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    fn off(r: &Rule, t: i64) -> (i32, String) {
        r.offset_at(t)
    }

    #[test]
    fn paris_rule_switches_on_the_last_sundays_of_march_and_october() {
        let r = rule("CET-1CEST,M3.5.0,M10.5.0/3");
        assert_eq!(off(&r, at(2024, 1, 15, 12, 0, 0)), (3600, "CET".into()));
        assert_eq!(off(&r, at(2024, 7, 1, 12, 0, 0)), (7200, "CEST".into()));
        // 2024-03-31 02:00 CET is 01:00 UTC; 2024-10-27 03:00 CEST is 01:00 UTC.
        assert_eq!(off(&r, at(2024, 3, 31, 0, 59, 59)).0, 3600);
        assert_eq!(off(&r, at(2024, 3, 31, 1, 0, 0)).0, 7200);
        assert_eq!(off(&r, at(2024, 10, 27, 0, 59, 59)).0, 7200);
        assert_eq!(off(&r, at(2024, 10, 27, 1, 0, 0)).0, 3600);
    }

    #[test]
    fn sydney_rule_keeps_summer_time_across_the_new_year() {
        let r = rule("AEST-10AEDT,M10.1.0,M4.1.0/3");
        assert_eq!(off(&r, at(2023, 12, 31, 23, 0, 0)), (39600, "AEDT".into()));
        assert_eq!(off(&r, at(2024, 1, 1, 0, 30, 0)), (39600, "AEDT".into()));
        assert_eq!(off(&r, at(2024, 7, 1, 0, 0, 0)), (36000, "AEST".into()));
        // 2024-04-07 03:00 AEDT = 04-06 16:00 UTC; 2024-10-06 02:00 AEST = 10-05 16:00 UTC.
        assert_eq!(off(&r, at(2024, 4, 6, 15, 59, 59)).0, 39600);
        assert_eq!(off(&r, at(2024, 4, 6, 16, 0, 0)).0, 36000);
        assert_eq!(off(&r, at(2024, 10, 5, 15, 59, 59)).0, 36000);
        assert_eq!(off(&r, at(2024, 10, 5, 16, 0, 0)).0, 39600);
    }

    #[test]
    fn quoted_names_and_minutes_in_offsets() {
        let r = rule("<+0330>-3:30");
        assert_eq!(off(&r, at(2024, 6, 1, 0, 0, 0)), (12600, "+0330".into()));
        let r = rule("<-03>3");
        assert_eq!(off(&r, at(2024, 6, 1, 0, 0, 0)), (-10800, "-03".into()));
        let r = rule("XXX-5:45:30");
        assert_eq!(off(&r, 0), (20730, "XXX".into()));
    }

    #[test]
    fn utc_forms_have_offset_zero() {
        assert_eq!(off(&rule("UTC0"), 1_700_000_000), (0, "UTC".into()));
        assert_eq!(off(&rule("UTC"), 1_700_000_000), (0, "UTC".into()));
        assert_eq!(Zone::utc().offset_at(-5), (0, "UTC".into()));
    }

    #[test]
    fn dst_without_rules_follows_the_us_rules_and_an_hour_ahead() {
        let r = rule("EST5EDT");
        // 2024-03-10 02:00 EST = 07:00 UTC; 2024-11-03 02:00 EDT = 06:00 UTC.
        assert_eq!(off(&r, at(2024, 3, 10, 6, 59, 59)), (-18000, "EST".into()));
        assert_eq!(off(&r, at(2024, 3, 10, 7, 0, 0)), (-14400, "EDT".into()));
        assert_eq!(off(&r, at(2024, 11, 3, 5, 59, 59)).0, -14400);
        assert_eq!(off(&r, at(2024, 11, 3, 6, 0, 0)).0, -18000);
    }

    #[test]
    fn julian_day_rules_count_february_29_only_in_the_zero_based_form() {
        // J60 is March 1 in every year; 59 is February 29 in a leap year.
        let j = rule("AAA0BBB,J60/0,J300/0");
        let z = rule("AAA0BBB,59/0,300/0");
        assert_eq!(off(&j, at(2024, 2, 29, 12, 0, 0)).1, "AAA");
        assert_eq!(off(&j, at(2024, 3, 1, 0, 0, 0)).1, "BBB");
        assert_eq!(off(&z, at(2024, 2, 29, 0, 0, 0)).1, "BBB");
        assert_eq!(off(&z, at(2024, 2, 28, 23, 59, 59)).1, "AAA");
        assert_eq!(off(&z, at(2023, 3, 1, 0, 0, 0)).1, "BBB");
        assert_eq!(off(&z, at(2023, 2, 28, 23, 0, 0)).1, "AAA");
    }

    #[test]
    fn v3_rules_with_negative_times_and_all_year_dst() {
        // Nuuk: switches at -1:00 local standard time on the last Sunday of March.
        let r = rule("<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
        assert_eq!(off(&r, at(2024, 3, 31, 0, 59, 59)), (-7200, "-02".into()));
        assert_eq!(off(&r, at(2024, 3, 31, 1, 0, 0)), (-3600, "-01".into()));
        // DST the whole year round.
        let r = rule("EST5EDT,0/0,J365/25");
        for t in [
            at(2024, 6, 1, 0, 0, 0),
            at(2024, 12, 31, 23, 0, 0),
            at(2025, 1, 1, 4, 30, 0),
            at(2025, 1, 1, 5, 30, 0),
        ] {
            assert_eq!(off(&r, t), (-14400, "EDT".into()), "at {t}");
        }
    }

    #[test]
    fn garbage_tz_strings_are_refused() {
        for s in [
            "",
            "Europe/Paris",
            "CET-1CEST,M13.5.0,M10.5.0",
            "CET-1CEST,M3.6.0,M10.5.0",
            "CET-25",
            "CE-1",
            "CET-1CEST,M3.5.0",
            "CET-1CEST,M3.5.0,M10.5.0/3junk",
            "<+03-3",
        ] {
            assert_eq!(parse_posix(s), None, "{s:?}");
        }
    }

    /// One TZif data block: transitions, their types, (offset, is_dst, abbreviation index).
    struct Block<'a> {
        times: Vec<i64>,
        idx: Vec<u8>,
        types: Vec<(i32, u8, u8)>,
        chars: &'a [u8],
    }

    fn block(out: &mut Vec<u8>, version: u8, b: &Block, tsize: usize) {
        out.extend_from_slice(b"TZif");
        out.push(version);
        out.extend_from_slice(&[0; 15]);
        for n in [0, 0, 0, b.times.len(), b.types.len(), b.chars.len()] {
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        for &t in &b.times {
            if tsize == 8 {
                out.extend_from_slice(&t.to_be_bytes());
            } else {
                out.extend_from_slice(&(t as i32).to_be_bytes());
            }
        }
        out.extend_from_slice(&b.idx);
        for &(o, dst, i) in &b.types {
            out.extend_from_slice(&o.to_be_bytes());
            out.push(dst);
            out.push(i);
        }
        out.extend_from_slice(b.chars);
    }

    fn paris_block() -> Block<'static> {
        Block {
            times: vec![at(2023, 3, 26, 1, 0, 0), at(2023, 10, 29, 1, 0, 0)],
            idx: vec![1, 2],
            types: vec![(561, 0, 0), (7200, 1, 4), (3600, 0, 9)],
            chars: b"LMT\0CEST\0CET\0",
        }
    }

    fn tzif_v2(v1: &Block, v2: &Block, footer: &str) -> Vec<u8> {
        let mut out = Vec::new();
        block(&mut out, b'2', v1, 4);
        block(&mut out, b'2', v2, 8);
        out.push(b'\n');
        out.extend_from_slice(footer.as_bytes());
        out.push(b'\n');
        out
    }

    #[test]
    fn tzif_v2_uses_the_64_bit_data_and_the_footer_after_the_last_transition() {
        // The v1 block says something else: only the v2 block must be read.
        let v1 = Block {
            times: vec![],
            idx: vec![],
            types: vec![(-3600, 0, 0)],
            chars: b"XXX\0",
        };
        let z = parse_tzif(&tzif_v2(&v1, &paris_block(), "CET-1CEST,M3.5.0,M10.5.0/3")).unwrap();
        assert_eq!(z.offset_at(at(1900, 1, 1, 0, 0, 0)), (561, "LMT".into()));
        assert_eq!(z.offset_at(at(2023, 7, 1, 0, 0, 0)), (7200, "CEST".into()));
        assert_eq!(z.offset_at(at(2023, 12, 1, 0, 0, 0)), (3600, "CET".into()));
        // Past the last transition the footer rule applies.
        assert_eq!(
            z.offset_at(at(2024, 3, 31, 0, 59, 59)),
            (3600, "CET".into())
        );
        assert_eq!(z.offset_at(at(2024, 7, 1, 0, 0, 0)), (7200, "CEST".into()));
        assert_eq!(z.offset_at(at(2100, 7, 1, 0, 0, 0)), (7200, "CEST".into()));
    }

    #[test]
    fn tzif_v1_keeps_the_last_type_after_its_last_transition() {
        let mut data = Vec::new();
        block(&mut data, 0, &paris_block(), 4);
        let z = parse_tzif(&data).unwrap();
        assert_eq!(z.offset_at(at(2023, 7, 1, 0, 0, 0)), (7200, "CEST".into()));
        assert_eq!(z.offset_at(at(2030, 7, 1, 0, 0, 0)), (3600, "CET".into()));
    }

    #[test]
    fn tzif_without_transitions_uses_its_only_type() {
        let utc = Block {
            times: vec![],
            idx: vec![],
            types: vec![(0, 0, 0)],
            chars: b"UTC\0",
        };
        let z = parse_tzif(&tzif_v2(&utc, &utc, "UTC0")).unwrap();
        assert_eq!(z.offset_at(1_700_000_000), (0, "UTC".into()));
        let mut data = Vec::new();
        block(&mut data, 0, &utc, 4);
        assert_eq!(parse_tzif(&data).unwrap().offset_at(0), (0, "UTC".into()));
    }

    #[test]
    fn broken_tzif_files_are_refused() {
        let good = tzif_v2(&paris_block(), &paris_block(), "CET-1CEST,M3.5.0,M10.5.0/3");
        assert!(parse_tzif(&good).is_ok());
        for cut in [0, 10, 43, 60, good.len() - 30] {
            assert!(parse_tzif(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad_index = paris_block();
        bad_index.idx = vec![1, 7];
        assert!(parse_tzif(&tzif_v2(&paris_block(), &bad_index, "")).is_err());
        let mut bad_abbr = paris_block();
        bad_abbr.types[0].2 = 200;
        assert!(parse_tzif(&tzif_v2(&paris_block(), &bad_abbr, "")).is_err());
        let mut unordered = paris_block();
        unordered.times.reverse();
        assert!(parse_tzif(&tzif_v2(&paris_block(), &unordered, "")).is_err());
        assert!(parse_tzif(&tzif_v2(&paris_block(), &paris_block(), "C%T")).is_err());
        let mut huge = good.clone();
        huge[20 + 12..24 + 12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(parse_tzif(&huge).is_err());
    }

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
            Zone::read(&Root::at(&self.0))
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
