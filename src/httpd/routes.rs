//! The route table (request-target → [`Route`]), the rules that keep a requested file name
//! inside the vardir's `shared/` folder, and the pages. No sockets here: [`super::server`]
//! sends what these functions decide.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::fcntl::OFlag;

use super::View;
use crate::core::markup::write_xml_text;
use crate::core::time::format_datetime;
use crate::http::parse::{percent_decode, query_pairs, split_target, MAX_TARGET_LEN};

/// Longest file name (after decoding) accepted for a download.
pub const MAX_NAME_BYTES: usize = 1024;
/// Longest SHA-512 in hex, the last part of a `/deploy/getFile/` path.
const SHA512_HEX_LEN: usize = 128;
/// Most of the log sent by the log route: its end, when the file is larger.
pub const MAX_LOG_BYTES: u64 = 1024 * 1024;

/// What a request-target asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `/`: the status page.
    Index,
    /// `/status`: one line for anyone.
    Status,
    /// `/now` (and Fusion's `/now/…`): a run, for trusted callers, or the event its query
    /// asks for.
    Now(NowEvent),
    /// A file of `shared/` by its decoded name relative to that folder, already checked by
    /// [`safe_name`]; the filesystem checks are [`open_shared`]'s.
    Shared(Vec<u8>),
    /// `/?action=log&deviceid=ID`, the ID decoded.
    Log(Vec<u8>),
    /// A name that would leave `shared/` (or hide its meaning behind encodings): 403.
    Forbidden,
    /// A malformed target or query: 400.
    BadRequest(&'static str),
    NotFound,
}

impl Route {
    /// A short name for logs (never the target itself, which the peer chose).
    pub fn label(&self) -> &'static str {
        match self {
            Route::Index => "index",
            Route::Status => "status",
            Route::Now(e) if e.partial.is_empty() => "now",
            Route::Now(_) => "now (partial inventory event)",
            Route::Shared(_) => "shared file",
            Route::Log(_) => "log",
            Route::Forbidden => "forbidden name",
            Route::BadRequest(why) => why,
            Route::NotFound => "unknown path",
        }
    }
}

/// Maps a request-target (origin form, or absolute form whose scheme and authority are
/// ignored) to its route. The path itself is not percent-decoded: `/%73tatus` is not
/// `/status`, and a `%` in a deploy path is refused.
pub fn route(target: &str) -> Route {
    let Some(target) = origin_form(target) else {
        return Route::BadRequest("request target is not a path");
    };
    let (path, query) = split_target(target);
    match path {
        "/" => root_with_query(query),
        "/status" => Route::Status,
        "/now" => now_event(query),
        p if p.starts_with("/now/") => now_event(query),
        p => match p.strip_prefix("/deploy/getFile/") {
            Some(rest) => deploy_file(rest),
            None => Route::NotFound,
        },
    }
}

/// Most categories one `/now` event names.
pub const MAX_EVENT_CATEGORIES: usize = 32;
/// Longest target id an event names (`server0`).
const MAX_TARGET_ID: usize = 64;

/// What a `/now` query asks for, as the GLPI agent reads it: `partial=yes&category=A,B`
/// is a partial inventory of those categories, `target=ID` limits it to one target
/// (`server0`, `local0`…); anything else (or nothing) is a plain run now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NowEvent {
    /// Checked category names; empty for a plain run.
    pub partial: Vec<String>,
    pub target: Option<String>,
}

fn now_event(query: Option<&str>) -> Route {
    let Some(query) = query else {
        return Route::Now(NowEvent::default());
    };
    // The first occurrence of each parameter counts; a bad %-escape spoils the event.
    let value = |name: &str| -> Result<Option<String>, ()> {
        match query_pairs(query).find(|(k, _)| *k == name) {
            None => Ok(None),
            Some((_, v)) => decode(v)
                .map(|b| Some(String::from_utf8_lossy(&b).into_owned()))
                .ok_or(()),
        }
    };
    let (Ok(partial), Ok(category), Ok(target)) =
        (value("partial"), value("category"), value("target"))
    else {
        return Route::BadRequest("malformed %-escape in a /now event");
    };
    let mut event = NowEvent::default();
    if let Some(t) = target.filter(|t| !t.is_empty()) {
        if t.len() > MAX_TARGET_ID || !t.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Route::BadRequest("bad target in a /now event");
        }
        event.target = Some(t);
    }
    let wants_partial =
        partial.is_some_and(|p| matches!(p.to_ascii_lowercase().as_str(), "yes" | "1" | "true"));
    // As the GLPI agent: partial without a category is a plain run; categories this agent
    // does not have are left out, and an event with none it has is refused.
    if let (true, Some(list)) = (wants_partial, category) {
        let names: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        for name in &names {
            let Some(c) = crate::tasks::inventory::Category::from_name(name) else {
                log::debug!("httpd: /now event: no category {name:?} here");
                continue;
            };
            if event.partial.len() >= MAX_EVENT_CATEGORIES {
                return Route::BadRequest("too many categories in a /now event");
            }
            if !event.partial.iter().any(|n| n == c.name()) {
                event.partial.push(c.name().to_string());
            }
        }
        if event.partial.is_empty() && !names.is_empty() {
            return Route::BadRequest("no known category in a /now event");
        }
    }
    Route::Now(event)
}

/// `/path?q` from `/path?q` or from `http://host:port/path?q` (RFC 9112 §3.2.2).
fn origin_form(target: &str) -> Option<&str> {
    if target.starts_with('/') {
        return Some(target);
    }
    for scheme in ["http://", "https://"] {
        let Some(rest) = target
            .get(..scheme.len())
            .filter(|s| s.eq_ignore_ascii_case(scheme))
            .and_then(|_| target.get(scheme.len()..))
        else {
            continue;
        };
        return match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => rest.get(i..),
            Some(_) => None,
            None => Some("/"),
        };
    }
    None
}

/// `/` alone is the page; `/?action=download&file=…` and `/?action=log&deviceid=…` are the
/// OCS 2.x draft's routes. The first occurrence of each parameter counts.
fn root_with_query(query: Option<&str>) -> Route {
    let Some(query) = query else {
        return Route::Index;
    };
    let first = |name: &str| query_pairs(query).find(|(k, _)| *k == name).map(|(_, v)| v);
    match first("action") {
        None => Route::Index,
        Some("download") => match first("file") {
            Some(raw) => shared_by_name(raw),
            None => Route::BadRequest("download without file="),
        },
        Some("log") => match decode(first("deviceid").unwrap_or("")) {
            Some(id) => Route::Log(id),
            None => Route::BadRequest("malformed %-escape in deviceid"),
        },
        Some(_) => Route::BadRequest("unknown action"),
    }
}

fn decode(raw: &str) -> Option<Vec<u8>> {
    let mut out = vec![0; raw.len().min(MAX_TARGET_LEN)];
    percent_decode(raw.as_bytes(), &mut out)
        .ok()
        .map(<[u8]>::to_vec)
}

/// The `file=` value of a download. An encoded `/`, `\` or NUL is refused before decoding
/// (a slash the sender had to hide is not a folder separator we want), then the name once
/// decoded must pass [`safe_name`].
fn shared_by_name(raw: &str) -> Route {
    let hidden = raw.as_bytes().windows(3).any(|w| {
        w[0] == b'%'
            && (w[1..].eq_ignore_ascii_case(b"2f")
                || w[1..].eq_ignore_ascii_case(b"5c")
                || w[1..] == *b"00")
    });
    if hidden {
        return Route::Forbidden;
    }
    match decode(raw) {
        Some(name) if safe_name(&name) => Route::Shared(name),
        Some(_) => Route::Forbidden,
        None => Route::BadRequest("malformed %-escape in file"),
    }
}

/// A relative name that stays below its folder by its letters alone: not empty, not
/// absolute, no `.` or `..` or empty component, no NUL, backslash, control character or
/// `%` (what is left of a second layer of encoding), at most [`MAX_NAME_BYTES`].
/// Symbolic links are [`open_shared`]'s concern.
pub fn safe_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && !name
            .iter()
            .any(|&b| b < 0x20 || b == 0x7f || b == b'\\' || b == b'%')
        && name
            .split(|&b| b == b'/')
            .all(|c| !c.is_empty() && c != b"." && c != b"..")
}

/// `/deploy/getFile/<c>/<cc>/<sha512>` (the Fusion agents' peer-to-peer sharing): three
/// hex components of 1, 2 and up to 128 digits, served from `shared/<c>/<cc>/<sha512>`.
/// The digest is not checked (SHA-512 would need a crate; the downloader checks it anyway).
fn deploy_file(rest: &str) -> Route {
    let parts: Vec<&str> = rest.split('/').collect();
    let hex = |s: &str, min: usize, max: usize| {
        (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
    };
    match parts[..] {
        [c, cc, sha] if hex(c, 1, 1) && hex(cc, 2, 2) && hex(sha, 1, SHA512_HEX_LEN) => {
            Route::Shared(rest.as_bytes().to_vec())
        }
        _ => Route::Forbidden,
    }
}

/// Why a file is not served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 403: outside `shared/`, not a regular file, or unreadable.
    Forbidden,
    /// 404: no such file (or no `shared/` folder at all).
    NotFound,
}

/// Opens `shared_dir/name` for reading when its real path (links followed) is a regular file
/// inside the real `shared_dir`. Returns the file and its length. A link inside the folder
/// pointing inside it is fine; one pointing out is refused. The file is opened without
/// following a last link and without blocking (a FIFO put there cannot hang the server).
pub fn open_shared(shared_dir: &Path, name: &[u8]) -> Result<(File, u64), Refusal> {
    if !safe_name(name) {
        return Err(Refusal::Forbidden);
    }
    let base = fs::canonicalize(shared_dir).map_err(|_| Refusal::NotFound)?;
    let real =
        fs::canonicalize(base.join(OsStr::from_bytes(name))).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => Refusal::NotFound,
            _ => Refusal::Forbidden,
        })?;
    if real == base || !real.starts_with(&base) {
        return Err(Refusal::Forbidden);
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NONBLOCK | OFlag::O_NOFOLLOW).bits())
        .open(&real)
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => Refusal::NotFound,
            _ => Refusal::Forbidden,
        })?;
    match file.metadata() {
        Ok(m) if m.is_file() => Ok((file, m.len())),
        _ => Err(Refusal::Forbidden),
    }
}

/// Opens the log positioned at its last [`MAX_LOG_BYTES`]; returns it and the bytes left.
pub fn open_log(path: &Path) -> io::Result<(File, u64)> {
    // Without blocking, and only a regular file: a FIFO there cannot hang the server.
    let mut file = crate::sys::root::open_regular(path)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(MAX_LOG_BYTES);
    file.seek(SeekFrom::Start(start))?;
    Ok((file, len - start))
}

/// Compares without stopping at the first difference, so that the time taken does not tell
/// a caller how much of a guessed DEVICEID was right.
pub fn same_secret(given: &[u8], expected: &str) -> bool {
    crate::core::redact::same_secret(given, expected.as_bytes())
}

/// The status page: version, status, each target's next run; target names and the "run
/// now" link only for trusted callers.
pub fn index_page(view: &View, trusted: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    // Writing into a Vec cannot fail.
    let _ = write_index(&mut out, view, trusted);
    out
}

fn write_index(out: &mut Vec<u8>, view: &View, trusted: bool) -> io::Result<()> {
    out.write_all(
        b"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>uagent</title></head>\n\
          <body>\n<h1>uagent ",
    )?;
    write_xml_text(out, env!("CARGO_PKG_VERSION"))?;
    out.write_all(b"</h1>\n<p>Status: ")?;
    write_xml_text(out, &view.status)?;
    out.write_all(b"</p>\n")?;
    if view.targets.is_empty() {
        out.write_all(b"<p>No target.</p>\n")?;
    } else {
        out.write_all(b"<table>\n<tr><th>Target</th><th>Next run</th></tr>\n")?;
        for t in &view.targets {
            out.write_all(b"<tr><td>")?;
            let kind = if t.is_server { "server" } else { "local" };
            if trusted {
                write!(out, "{kind}: ")?;
                write_xml_text(out, &t.name)?;
            } else {
                write!(out, "{kind} target")?;
            }
            writeln!(
                out,
                "</td><td>{} UTC</td></tr>",
                format_datetime(t.next_run)
            )?;
        }
        out.write_all(b"</table>\n")?;
    }
    if trusted {
        out.write_all(b"<p><a href=\"/now\">Force an Inventory</a></p>\n")?;
    }
    out.write_all(b"</body></html>\n")
}

#[cfg(test)]
mod tests;
