//! Installed packages (SOFTWARES), straight from the package databases: dpkg's status file,
//! opkg's (OpenWrt), apk's installed db (Alpine, newer OpenWrt), and rpm through `rpm -qa`
//! when a live system has it. Each database is streamed: memory does not grow with the number
//! of packages.

use std::io::{self, Read};
use std::process::{Command, Stdio};

use super::sink::{Section, Sink};
use super::Context;
use crate::core::time;
use crate::core::tz::Zone;
use crate::sys::root::{LineReader, Root};

/// Longest text kept for one field of a package.
const MAX_FIELD: usize = 1024;

/// One package, reused from record to record.
#[derive(Default, Debug, Clone, PartialEq)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub status: String,
    pub size: Option<i64>,
    pub publisher: String,
    pub comments: String,
    pub category: String,
    pub url: String,
    pub install_time: Option<i64>,
}

impl Package {
    fn clear(&mut self) {
        self.name.clear();
        self.version.clear();
        self.arch.clear();
        self.status.clear();
        self.size = None;
        self.publisher.clear();
        self.comments.clear();
        self.category.clear();
        self.url.clear();
        self.install_time = None;
    }
}

fn set(field: &mut String, value: &str) {
    field.clear();
    let value = value.trim();
    let mut end = value.len().min(MAX_FIELD);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    field.push_str(&value[..end]);
}

/// Reads a Debian-style control file (dpkg and opkg status: `Key: value` stanzas separated by
/// blank lines, continuation lines starting with a space) and calls `each` per stanza.
pub fn read_stanzas<R: Read>(
    lines: &mut LineReader<R>,
    each: impl FnMut(&mut Package) -> io::Result<()>,
) -> io::Result<()> {
    read_records(lines, b':', each, |p, key, value| match key {
        b"Package" => set(&mut p.name, value),
        b"Version" => set(&mut p.version, value),
        b"Architecture" => set(&mut p.arch, value),
        b"Status" => set(&mut p.status, value),
        b"Installed-Size" => p.size = value.trim().parse().ok(),
        b"Maintainer" => set(&mut p.publisher, value),
        b"Description" => set(&mut p.comments, value),
        b"Section" => set(&mut p.category, value),
        b"Homepage" => set(&mut p.url, value),
        b"Installed-Time" => p.install_time = value.trim().parse().ok(),
        _ => {}
    })
}

/// Reads apk's `installed` db (`X:value` lines, records separated by blank lines).
pub fn read_apk<R: Read>(
    lines: &mut LineReader<R>,
    each: impl FnMut(&mut Package) -> io::Result<()>,
) -> io::Result<()> {
    read_records(lines, b':', each, |p, key, value| match key {
        b"P" => set(&mut p.name, value),
        b"V" => set(&mut p.version, value),
        b"A" => set(&mut p.arch, value),
        b"I" => p.size = value.trim().parse().ok(),
        b"T" => set(&mut p.comments, value),
        b"U" => set(&mut p.url, value),
        b"m" => set(&mut p.publisher, value),
        b"t" => p.install_time = value.trim().parse().ok(),
        _ => {}
    })
}

/// Keys this agent reads: only their values are decoded (the databases are mostly file lists,
/// dependencies and long descriptions, skipped as bytes).
fn wanted_key(key: &[u8]) -> bool {
    matches!(
        key,
        b"Package"
            | b"Version"
            | b"Architecture"
            | b"Status"
            | b"Installed-Size"
            | b"Maintainer"
            | b"Description"
            | b"Section"
            | b"Homepage"
            | b"Installed-Time"
            | b"P"
            | b"V"
            | b"A"
            | b"I"
            | b"T"
            | b"U"
            | b"m"
            | b"t"
    )
}

/// Records of `key<sep>value` lines separated by blank lines; continuation lines (starting
/// with white space) are skipped. `apply` sets one field; `each` gets every record with a name.
fn read_records<R: Read>(
    lines: &mut LineReader<R>,
    sep: u8,
    mut each: impl FnMut(&mut Package) -> io::Result<()>,
    mut apply: impl FnMut(&mut Package, &[u8], &str),
) -> io::Result<()> {
    let mut p = Package::default();
    let mut invalid_utf8 = false;
    while let Some(line) = lines.next_line_bytes() {
        if line.iter().all(u8::is_ascii_whitespace) {
            if !p.name.is_empty() {
                each(&mut p)?;
            }
            p.clear();
            continue;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == sep) else {
            continue;
        };
        let (key, value) = (&line[..colon], &line[colon + 1..]);
        if !wanted_key(key) {
            continue;
        }
        match std::str::from_utf8(value) {
            Ok(v) => apply(&mut p, key, v),
            Err(_) => {
                invalid_utf8 = true;
                apply(&mut p, key, &String::from_utf8_lossy(value));
            }
        }
    }
    if !p.name.is_empty() {
        each(&mut p)?;
    }
    if invalid_utf8 {
        lines.note_invalid_utf8();
    }
    Ok(())
}

/// Whether a dpkg or opkg `Status` says the package is installed (`install ok installed`,
/// `hold ok installed`, `install user installed`).
fn installed(status: &str) -> bool {
    status.split_whitespace().nth(2) == Some("installed")
}

struct Writer<'a> {
    sink: &'a mut dyn Sink,
    zone: &'a Zone,
    count: usize,
}

impl Writer<'_> {
    fn write(&mut self, p: &Package, from: &str, size_factor: i64) -> io::Result<()> {
        let s = &mut *self.sink;
        s.begin(Section::Softwares)?;
        s.text("NAME", &p.name)?;
        s.text("VERSION", &p.version)?;
        s.text("ARCH", &p.arch)?;
        s.text("FROM", from)?;
        s.opt_int("FILESIZE", p.size.map(|v| v.saturating_mul(size_factor)))?;
        s.text("PUBLISHER", &p.publisher)?;
        s.text("COMMENTS", &p.comments)?;
        s.text("SYSTEM_CATEGORY", &p.category)?;
        if let Some(t) = p.install_time.filter(|t| *t > 0) {
            s.text(
                "INSTALLDATE",
                &time::format_datetime(t + i64::from(self.zone.offset_at(t).0)),
            )?;
        }
        s.end()?;
        self.count += 1;
        Ok(())
    }
}

fn dpkg(root: &Root, w: &mut Writer) -> io::Result<()> {
    let Some(lines) = root.lines("/var/lib/dpkg/status") else {
        return Ok(());
    };
    // Dependency lists of big packages run over the line limit; only their start is needed.
    let mut lines = lines.quiet_long_lines();
    // dpkg keeps no install date (the file lists' dates are those of the last unpack, and a
    // stat per package costs more than the rest of the database): none is sent.
    read_stanzas(&mut lines, |p| {
        if !installed(&p.status) {
            return Ok(());
        }
        w.write(p, "deb", 1024)
    })
}

fn opkg(root: &Root, w: &mut Writer) -> io::Result<()> {
    let Some(lines) = root.lines("/usr/lib/opkg/status") else {
        return Ok(());
    };
    // Dependency lists of big packages run over the line limit; only their start is needed.
    let mut lines = lines.quiet_long_lines();
    read_stanzas(&mut lines, |p| {
        if !installed(&p.status) {
            return Ok(());
        }
        // The status file lacks size and description; the package's control file has them.
        let mut p = p.clone();
        if let Some(mut control) = root.lines(&format!("/usr/lib/opkg/info/{}.control", p.name)) {
            read_stanzas(&mut control, |c| {
                p.size = p.size.or(c.size);
                if p.comments.is_empty() {
                    p.comments = c.comments.clone();
                }
                if p.publisher.is_empty() {
                    p.publisher = c.publisher.clone();
                }
                if p.category.is_empty() {
                    p.category = c.category.clone();
                }
                Ok(())
            })?;
        }
        w.write(&p, "opkg", 1)
    })
}

fn apk(root: &Root, w: &mut Writer) -> io::Result<()> {
    let Some(lines) = root.lines("/lib/apk/db/installed") else {
        return Ok(());
    };
    // Dependency lists of big packages run over the line limit; only their start is needed.
    let mut lines = lines.quiet_long_lines();
    read_apk(&mut lines, |p| w.write(p, "apk", 1))
}

/// `rpm -qa` on a live system that has rpm: fields separated by tabs.
fn rpm(root: &Root, w: &mut Writer) -> io::Result<()> {
    if !root.is_live() || !root.exists("/var/lib/rpm") {
        return Ok(());
    }
    let Some(bin) = ["/usr/bin/rpm", "/bin/rpm"]
        .into_iter()
        .find(|b| root.exists(b))
    else {
        return Ok(());
    };
    let child = Command::new(bin)
        .args(["-qa", "--queryformat", "%{NAME}\t%{ARCH}\t%{VERSION}-%{RELEASE}\t%{INSTALLTIME}\t%{SIZE}\t%{VENDOR}\t%{SUMMARY}\t%{GROUP}\n"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .env("LC_ALL", "C")
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            log::warn!("cannot run {bin}: {e}");
            return Ok(());
        }
    };
    let Some(out) = child.stdout.take() else {
        return Ok(());
    };
    let mut lines = LineReader::new(out, "rpm -qa");
    let mut p = Package::default();
    let mut result = Ok(());
    while let Some(line) = lines.next_line() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 8 || f[0].is_empty() {
            continue;
        }
        p.clear();
        set(&mut p.name, f[0]);
        set(&mut p.arch, f[1]);
        set(&mut p.version, f[2]);
        p.install_time = f[3].parse().ok();
        p.size = f[4].parse().ok();
        set(&mut p.publisher, f[5].trim_start_matches("(none)"));
        set(&mut p.comments, f[6]);
        set(&mut p.category, f[7].trim_start_matches("Unspecified"));
        result = w.write(&p, "rpm", 1);
        if result.is_err() {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    result
}

pub fn collect(ctx: &mut Context, sink: &mut dyn Sink) -> io::Result<()> {
    let zone = crate::sys::tz::zone(ctx.root);
    let mut w = Writer {
        sink,
        zone: &zone,
        count: 0,
    };
    dpkg(ctx.root, &mut w)?;
    opkg(ctx.root, &mut w)?;
    apk(ctx.root, &mut w)?;
    rpm(ctx.root, &mut w)?;
    let dbs = [
        "/var/lib/dpkg/status",
        "/usr/lib/opkg/status",
        "/lib/apk/db/installed",
        "/var/lib/rpm",
    ];
    if w.count == 0 && !dbs.iter().any(|db| ctx.root.exists(db)) {
        log::warn!("no package database found (dpkg, opkg, apk or rpm): SOFTWARES is empty");
    }
    log::debug!("{} packages", w.count);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stanzas(text: &str) -> Vec<Package> {
        let mut lines = LineReader::new(text.as_bytes(), "t");
        let mut out = Vec::new();
        read_stanzas(&mut lines, |p| {
            out.push(p.clone());
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn dpkg_stanzas_keep_installed_packages_only() {
        let text = "Package: bash\nStatus: install ok installed\nInstalled-Size: 2664\nArchitecture: amd64\n\
                    Version: 5.2.15-2+b7\nDescription: GNU Bourne Again SHell\n This is long.\n\n\
                    Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n\n\n\
                    Package: held\nStatus: hold ok installed\nVersion: 2";
        let all = stanzas(text);
        assert_eq!(all.len(), 3);
        let kept: Vec<_> = all
            .iter()
            .filter(|p| installed(&p.status))
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(kept, ["bash", "held"]);
        assert_eq!(all[0].comments, "GNU Bourne Again SHell");
        assert_eq!(all[0].size, Some(2664));
    }

    #[test]
    fn apk_records_are_read_by_letter() {
        let text = "C:Q1x=\nP:musl\nV:1.2.5-r0\nA:aarch64\nI:409600\nT:the C library\nt:1727424000\n\nP:busybox\nV:1.36.1-r29\n";
        let mut lines = LineReader::new(text.as_bytes(), "t");
        let mut out = Vec::new();
        read_apk(&mut lines, |p| {
            out.push(p.clone());
            Ok(())
        })
        .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(
            (out[0].name.as_str(), out[0].version.as_str()),
            ("musl", "1.2.5-r0")
        );
        assert_eq!(out[0].install_time, Some(1727424000));
        assert_eq!(out[1].name, "busybox");
    }

    #[test]
    fn overlong_fields_are_cut_on_a_character_boundary() {
        let mut f = String::new();
        set(&mut f, &"é".repeat(MAX_FIELD));
        assert!(f.len() <= MAX_FIELD);
        assert!(f.chars().all(|c| c == 'é'));
    }
}
