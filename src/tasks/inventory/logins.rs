//! Who is logged in now (USERS, from utmp) and who logged in last (HARDWARE/LASTLOGGEDUSER and
//! DATELASTLOGGEDUSER, from the end of wtmp), read from the files themselves since `who` and
//! `last` are often missing from busybox builds.
//!
//! Record layouts understood:
//! - glibc and uClibc, every architecture: 384 bytes; `ut_type` i16 at 0, `ut_line[32]` at 8,
//!   `ut_user[32]` at 44, `ut_tv` as two 32-bit words at 340 (glibc keeps them 32-bit on
//!   64-bit machines for compatibility).
//! - musl's `utmpx` (written by utmps on Alpine; musl itself writes no utmp): 400 bytes, the
//!   same up to `ut_user`, then a 64-bit `tv_sec` at 344.
//!
//! The layout is told from the records themselves (the agent may be a static musl build on a
//! glibc system). The byte order is the machine's own on a live system; under `--root` it is
//! the one that gives sensible `ut_type` values. OpenWrt keeps no utmp: then there is nothing
//! to report, without a word.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use super::sink::{Section, Sink};
use super::{Category, Context};
use crate::core::time;
use crate::sys::Root;

/// Where utmp is, first found wins.
const UTMP_FILES: [&str; 2] = ["/run/utmp", "/var/run/utmp"];
const WTMP_FILE: &str = "/var/log/wtmp";
/// Most utmp records read (utmp holds one per terminal).
pub const MAX_UTMP_RECORDS: usize = 8192;
/// Most bytes of wtmp read back from its end looking for the last login.
pub const MAX_WTMP_TAIL: u64 = 256 * 1024;
/// Most distinct logins listed in USERS.
pub const MAX_LOGINS: usize = 1024;
/// Records read at once.
const CHUNK_RECORDS: usize = 16;

const USER_PROCESS: i16 = 7;
/// `ut_type` values defined by every libc (EMPTY to ACCOUNTING).
const MAX_UT_TYPE: i16 = 9;
/// A login time earlier than this (1973) comes from a wrong guess of the layout.
const MIN_PLAUSIBLE_TIME: i64 = 100_000_000;
/// …and one later than this (2242) too.
const MAX_PLAUSIBLE_TIME: i64 = 1 << 33;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Layout {
    pub size: usize,
    /// `tv_sec` offset; 64-bit when `time64`.
    tv_at: usize,
    time64: bool,
    pub big_endian: bool,
}

const GLIBC: Layout = Layout {
    size: 384,
    tv_at: 340,
    time64: false,
    big_endian: false,
};
const MUSL: Layout = Layout {
    size: 400,
    tv_at: 344,
    time64: true,
    big_endian: false,
};
const LINE_AT: usize = 8;
const USER_AT: usize = 44;
const FIELD_LEN: usize = 32;

/// One utmp/wtmp record, the parts used here.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub kind: i16,
    pub user: String,
    /// Seconds since the epoch.
    pub time: i64,
}

impl Layout {
    fn i16_at(&self, b: &[u8], at: usize) -> i16 {
        let v = [b[at], b[at + 1]];
        if self.big_endian {
            i16::from_be_bytes(v)
        } else {
            i16::from_le_bytes(v)
        }
    }

    fn time(&self, b: &[u8]) -> i64 {
        let at = self.tv_at;
        if self.time64 {
            let mut v = [0; 8];
            v.copy_from_slice(&b[at..at + 8]);
            if self.big_endian {
                i64::from_be_bytes(v)
            } else {
                i64::from_le_bytes(v)
            }
        } else {
            let v = [b[at], b[at + 1], b[at + 2], b[at + 3]];
            i64::from(if self.big_endian {
                i32::from_be_bytes(v)
            } else {
                i32::from_le_bytes(v)
            })
        }
    }

    /// Decodes one record of `self.size` bytes; `None` when it cannot be one of this layout.
    pub fn decode(&self, b: &[u8]) -> Option<Record> {
        if b.len() < self.size {
            return None;
        }
        let kind = self.i16_at(b, 0);
        if !(0..=MAX_UT_TYPE).contains(&kind) {
            return None;
        }
        text_field(&b[LINE_AT..LINE_AT + FIELD_LEN])?;
        let user = text_field(&b[USER_AT..USER_AT + FIELD_LEN])?;
        Some(Record {
            kind,
            user,
            time: self.time(b),
        })
    }
}

/// A NUL-padded text field; `None` when it holds control characters (not a text field).
fn text_field(b: &[u8]) -> Option<String> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let text = &b[..end];
    if text.iter().any(|&c| c < 0x20 || c == 0x7f) {
        return None;
    }
    Some(String::from_utf8_lossy(text).into_owned())
}

/// The layouts worth trying: the machine's byte order on a live system, both under a root.
fn candidates(live: bool) -> Vec<Layout> {
    let orders: &[bool] = if live {
        &[cfg!(target_endian = "big")]
    } else {
        &[false, true]
    };
    let mut out = Vec::new();
    for &big_endian in orders {
        for base in [GLIBC, MUSL] {
            out.push(Layout { big_endian, ..base });
        }
    }
    out
}

/// How well `layout` reads the record-aligned `sample`: `None` if any record is impossible,
/// else the number of records that are clearly right (a used type with a sensible time).
fn score(layout: &Layout, sample: &[u8]) -> Option<usize> {
    let mut good = 0;
    for rec in sample.chunks_exact(layout.size) {
        let r = layout.decode(rec)?;
        if r.kind != 0 && (MIN_PLAUSIBLE_TIME..MAX_PLAUSIBLE_TIME).contains(&r.time) {
            good += 1;
        }
    }
    Some(good)
}

/// Picks the layout of a file of `len` bytes from a sample of its first and last records.
fn detect(file: &mut File, len: u64, live: bool) -> io::Result<Option<Layout>> {
    let sample_len = (CHUNK_RECORDS * MUSL.size) as u64;
    let mut head = Vec::new();
    file.seek(SeekFrom::Start(0))?;
    file.by_ref().take(sample_len).read_to_end(&mut head)?;
    let tail_start = len.saturating_sub(sample_len);
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(tail_start))?;
    file.by_ref().take(sample_len).read_to_end(&mut tail)?;
    let mut best: Option<(usize, Layout)> = None;
    for layout in candidates(live) {
        let size = layout.size as u64;
        if len % size != 0 {
            continue;
        }
        let skip = ((size - tail_start % size) % size) as usize;
        let head_score = score(&layout, &head[..head.len() / layout.size * layout.size]);
        let tail_score = score(&layout, tail.get(skip..).unwrap_or(&[]));
        let (Some(h), Some(t)) = (head_score, tail_score) else {
            continue;
        };
        if best.is_none_or(|(s, _)| h + t > s) {
            best = Some((h + t, layout));
        }
    }
    Ok(best.map(|(_, l)| l))
}

/// Opens a utmp-format file and tells its layout; `None` (with a warning when the file is
/// there but not understood) otherwise.
fn open_records(root: &Root, path: &str) -> Option<(File, u64, Layout)> {
    let mut file = root.open(path)?;
    let len = match file.metadata() {
        Ok(m) => m.len(),
        Err(e) => {
            log::warn!("cannot read {path}: {e}");
            return None;
        }
    };
    if len == 0 {
        return None;
    }
    match detect(&mut file, len, root.is_live()) {
        Ok(Some(layout)) => Some((file, len, layout)),
        Ok(None) => {
            log::warn!("{path} is not in a utmp format this agent knows: ignored");
            None
        }
        Err(e) => {
            log::warn!("cannot read {path}: {e}");
            None
        }
    }
}

/// Logins of the USER_PROCESS records of a utmp file, each once, in file order.
pub fn current_logins(root: &Root) -> Vec<String> {
    let mut logins: Vec<String> = Vec::new();
    let Some(path) = UTMP_FILES.iter().find(|p| root.exists(p)) else {
        return logins;
    };
    let Some((mut file, len, layout)) = open_records(root, path) else {
        return logins;
    };
    let total = (len / layout.size as u64) as usize;
    if total > MAX_UTMP_RECORDS {
        log::warn!("{path} has more than {MAX_UTMP_RECORDS} records: the rest is not read");
    }
    let mut buf = vec![0; CHUNK_RECORDS * layout.size];
    let mut done = 0;
    if let Err(e) = file.seek(SeekFrom::Start(0)) {
        log::warn!("cannot read {path}: {e}");
        return logins;
    }
    while done < total.min(MAX_UTMP_RECORDS) {
        let n = CHUNK_RECORDS.min(total - done);
        let chunk = &mut buf[..n * layout.size];
        if let Err(e) = file.read_exact(chunk) {
            // utmp is rewritten in place; a record cut short ends the list.
            log::debug!("cannot read {path}: {e}");
            break;
        }
        for rec in chunk.chunks_exact(layout.size) {
            let Some(r) = layout.decode(rec) else {
                continue;
            };
            if r.kind == USER_PROCESS
                && !r.user.is_empty()
                && !logins.contains(&r.user)
                && logins.len() < MAX_LOGINS
            {
                logins.push(r.user);
            }
        }
        done += n;
    }
    logins
}

/// The last USER_PROCESS record of wtmp, looked for from the end, at most `MAX_WTMP_TAIL`
/// bytes back.
pub fn last_login(root: &Root) -> Option<Record> {
    let (mut file, len, layout) = open_records(root, WTMP_FILE)?;
    let size = layout.size as u64;
    let stop = len.saturating_sub(MAX_WTMP_TAIL);
    let mut buf = vec![0; CHUNK_RECORDS * layout.size];
    let mut pos = len;
    while pos > stop {
        let start = pos
            .saturating_sub(CHUNK_RECORDS as u64 * size)
            .max(stop.div_ceil(size) * size);
        if start >= pos {
            break;
        }
        let chunk = &mut buf[..(pos - start) as usize];
        if let Err(e) = file
            .seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(chunk))
        {
            log::warn!("cannot read {WTMP_FILE}: {e}");
            return None;
        }
        for rec in chunk.chunks_exact(layout.size).rev() {
            if let Some(r) = layout.decode(rec) {
                if r.kind == USER_PROCESS && !r.user.is_empty() {
                    return Some(r);
                }
            }
        }
        pos = start;
    }
    None
}

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// DATELASTLOGGEDUSER as the reference agents send it: the date `last` prints
/// (`Mon Dec 11 09:34`, day padded with a space, no year), which they copy from its output
/// and servers display as is.
pub fn last_style_date(local: i64) -> String {
    let (_, m, d, h, mi, _) = time::parts(local);
    let weekday = (local.div_euclid(86_400) + 4).rem_euclid(7) as usize;
    format!(
        "{} {} {d:>2} {h:02}:{mi:02}",
        WEEKDAYS[weekday],
        MONTHS[(m as usize).saturating_sub(1).min(11)]
    )
}

pub fn collect(ctx: &mut Context, sink: &mut dyn Sink) -> io::Result<()> {
    let root = ctx.root;
    if ctx.opts.wants(Category::Hardware) {
        if let Some(r) = last_login(root) {
            ctx.facts.last_user = Some(r.user);
            if r.time > 0 {
                let zone = crate::sys::tz::zone(root);
                let local = r.time + i64::from(zone.offset_at(r.time).0);
                ctx.facts.last_user_date = Some(last_style_date(local));
            }
        }
    }
    if ctx.opts.wants(Category::User) {
        for login in current_logins(root) {
            sink.begin(Section::Users)?;
            sink.text("LOGIN", &login)?;
            sink.end()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
