//! Fetching files for a deployment: small ones (an info file) in memory, large ones (fragments,
//! parts) streamed to a file that a later run resumes with an HTTP Range request. Every host,
//! redirects included, must be allowed by `deploy-sources`; free space is checked before a body
//! is written (against its announced length) and while it is (every MiB).

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use super::targz::is_no_space;
use super::{check_space, Ctx};
use crate::http::{Client, Download, HttpError, Scheme, Url};

/// Redirects followed for one file.
const MAX_REDIRECTS: usize = 5;
/// Largest fragment or part accepted (a larger one is refused, not fetched).
pub const MAX_FILE_BYTES: u64 = 2 << 30;
/// Bytes written between two free-space checks.
const SPACE_CHECK_EVERY: u64 = 1024 * 1024;

#[derive(Debug)]
pub enum FetchError {
    /// The host is not in `deploy-sources` (or a redirect left it, or left HTTPS).
    Refused(String),
    /// The server answered with an error status.
    Status(u16, String),
    Http(HttpError),
    NoSpace(String),
    /// The body is larger than allowed.
    TooLarge(String),
    Io(String),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            FetchError::Refused(s) | FetchError::NoSpace(s) | FetchError::TooLarge(s) | FetchError::Io(s) => {
                f.write_str(s)
            }
            FetchError::Status(code, reason) => write!(f, "HTTP {code} {reason}"),
            FetchError::Http(e) => e.fmt(f),
        }
    }
}

/// Where a redirect leads, checked against the sources (and kept on HTTPS when `https_only`).
fn follow(ctx: &Ctx, from: &Url, location: Option<&str>, https_only: bool) -> Result<Url, FetchError> {
    let Some(loc) = location.map(str::trim).filter(|l| !l.is_empty()) else {
        return Err(FetchError::Status(302, "redirect without a Location".into()));
    };
    let next = if loc.contains("://") {
        Url::parse(loc).map_err(|e| FetchError::Refused(format!("redirect to a bad URL: {e}")))?
    } else {
        let mut u = from.clone();
        if loc.starts_with('/') {
            u.path = loc.to_string();
        } else {
            let base = from.path.rsplit_once('/').map_or("", |(b, _)| b);
            u.path = format!("{base}/{loc}");
        }
        u
    };
    check_source(ctx, &next, https_only)?;
    Ok(next)
}

/// Refuses a URL whose host `deploy-sources` does not allow, or plain http when HTTPS is required.
pub fn check_source(ctx: &Ctx, url: &Url, https_only: bool) -> Result<(), FetchError> {
    if https_only && url.scheme != Scheme::Https {
        return Err(FetchError::Refused(format!("{url}: not HTTPS")));
    }
    if !ctx.policy.source_allowed(url) {
        return Err(FetchError::Refused(format!(
            "{} is not among deploy-sources ({})",
            url.authority(),
            ctx.policy.sources()
        )));
    }
    Ok(())
}

struct Memory {
    body: Vec<u8>,
    limit: usize,
    status: u16,
}

impl Download for Memory {
    fn head(&mut self, status: u16, _: &[(String, String)]) -> Result<bool, String> {
        self.status = status;
        Ok((200..300).contains(&status))
    }

    fn data(&mut self, data: &[u8]) -> Result<(), String> {
        if self.body.len() + data.len() > self.limit {
            return Err(format!("larger than {} bytes", self.limit));
        }
        self.body.extend_from_slice(data);
        Ok(())
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// GETs a small file (at most `limit` bytes) into memory, following allowed redirects.
pub async fn small(ctx: &Ctx, url: &Url, limit: usize, https_only: bool) -> Result<Vec<u8>, FetchError> {
    check_source(ctx, url, https_only)?;
    let mut url = url.clone();
    for _ in 0..=MAX_REDIRECTS {
        let mut m = Memory {
            body: Vec::new(),
            limit,
            status: 0,
        };
        let resp = ctx
            .files
            .download(&url, &[], ctx.deadline.left(), &mut m)
            .await
            .map_err(|e| match e {
                HttpError::Aborted(why) => FetchError::TooLarge(format!("{url}: {why}")),
                e => FetchError::Http(e),
            })?;
        match resp.status {
            200..=299 => return Ok(m.body),
            301 | 302 | 303 | 307 | 308 => {
                url = follow(ctx, &url, resp.header("location"), https_only)?;
            }
            s => return Err(FetchError::Status(s, resp.reason)),
        }
    }
    Err(FetchError::Refused(format!("more than {MAX_REDIRECTS} redirects")))
}

/// Streams a body into a file, checking space as it goes.
struct ToFile<'a> {
    file: Option<File>,
    partial: &'a Path,
    /// Bytes already in the partial file (a Range request asked for the rest).
    have: u64,
    min_free: u64,
    status: u16,
    written: u64,
    since_check: u64,
    limit: u64,
    error: Option<FetchError>,
}

impl ToFile<'_> {
    fn fail(&mut self, e: FetchError) -> String {
        let s = e.to_string();
        self.error = Some(e);
        s
    }
}

impl Download for ToFile<'_> {
    fn head(&mut self, status: u16, headers: &[(String, String)]) -> Result<bool, String> {
        self.status = status;
        let length: Option<u64> = header(headers, "content-length").and_then(|v| v.trim().parse().ok());
        let append = match status {
            206 => {
                // "bytes START-END/TOTAL": it must start where the partial file ends.
                let start = header(headers, "content-range")
                    .and_then(|v| v.trim().strip_prefix("bytes "))
                    .and_then(|v| v.split('-').next())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                if start != Some(self.have) {
                    return Err(self.fail(FetchError::Io("a partial reply that does not start where the file was cut".into())));
                }
                true
            }
            200..=299 => false,
            _ => return Ok(false),
        };
        let total = if append { self.have } else { 0 } + length.unwrap_or(0);
        if total > self.limit {
            return Err(self.fail(FetchError::TooLarge(format!(
                "{total} bytes announced, more than the {}-byte limit",
                self.limit
            ))));
        }
        if let Some(n) = length {
            let dir = self.partial.parent().unwrap_or(Path::new("/"));
            check_space(dir, n, self.min_free).map_err(|e| self.fail(FetchError::NoSpace(e)))?;
        }
        let opened = if append {
            OpenOptions::new().append(true).open(self.partial)
        } else {
            self.have = 0;
            File::create(self.partial)
        };
        match opened {
            Ok(f) => self.file = Some(f),
            Err(e) => return Err(self.fail(FetchError::Io(format!("{}: {e}", self.partial.display())))),
        }
        Ok(true)
    }

    fn data(&mut self, data: &[u8]) -> Result<(), String> {
        self.written += data.len() as u64;
        if self.have + self.written > self.limit {
            let limit = self.limit;
            return Err(self.fail(FetchError::TooLarge(format!("larger than the {limit}-byte limit"))));
        }
        self.since_check += data.len() as u64;
        if self.since_check >= SPACE_CHECK_EVERY {
            self.since_check = 0;
            let dir = self.partial.parent().unwrap_or(Path::new("/"));
            check_space(dir, 0, self.min_free).map_err(|e| self.fail(FetchError::NoSpace(e)))?;
        }
        let Some(f) = &mut self.file else {
            return Err("no file to write to".into());
        };
        if let Err(e) = f.write_all(data) {
            let what = format!("{}: {e}", self.partial.display());
            let err = if is_no_space(&e) { FetchError::NoSpace(what) } else { FetchError::Io(what) };
            return Err(self.fail(err));
        }
        Ok(())
    }
}

/// What a fetch to a file did.
pub struct Fetched {
    pub bytes: u64,
    pub resumed_from: u64,
    pub took: Duration,
    pub url: Url,
}

/// Fetches `url` into `done` through `partial` (kept for a Range request after an interrupted
/// fetch) with `client` (the job's file client, or the peers' one). `timeout` bounds the whole
/// fetch. Hosts must be in `deploy-sources` unless `any_host` (peers found by the p2p probe,
/// whose parts are checked by their SHA-512 like every other).
pub async fn to_file(
    ctx: &Ctx,
    client: &Client,
    url: &Url,
    (partial, done): (&Path, &Path),
    timeout: Duration,
    any_host: bool,
) -> Result<Fetched, FetchError> {
    if !any_host {
        check_source(ctx, url, false)?;
    }
    let started = Instant::now();
    let mut url = url.clone();
    for _ in 0..=MAX_REDIRECTS {
        let have = fs::metadata(partial).map(|m| m.len()).unwrap_or(0);
        let range = format!("bytes={have}-");
        let headers: Vec<(&str, &str)> = if have > 0 { vec![("Range", range.as_str())] } else { Vec::new() };
        let mut sink = ToFile {
            file: None,
            partial,
            have,
            min_free: ctx.policy.min_free,
            status: 0,
            written: 0,
            since_check: 0,
            limit: MAX_FILE_BYTES,
            error: None,
        };
        let result = client.download(&url, &headers, timeout, &mut sink).await;
        let resumed_from = sink.have;
        if let Some(f) = sink.file.take() {
            if let Err(e) = f.sync_all() {
                return Err(if is_no_space(&e) {
                    FetchError::NoSpace(e.to_string())
                } else {
                    FetchError::Io(e.to_string())
                });
            }
        }
        let resp = match result {
            Ok(r) => r,
            Err(HttpError::Aborted(why)) => return Err(sink.error.take().unwrap_or(FetchError::Io(why))),
            Err(e) => return Err(FetchError::Http(e)),
        };
        match resp.status {
            200..=299 => {
                fs::rename(partial, done).map_err(|e| FetchError::Io(format!("{}: {e}", done.display())))?;
                return Ok(Fetched {
                    bytes: resumed_from + sink.written,
                    resumed_from,
                    took: started.elapsed(),
                    url,
                });
            }
            416 => {
                // The range asked for is past the end: start over next time.
                let _ = fs::remove_file(partial);
                return Err(FetchError::Status(416, resp.reason));
            }
            301 | 302 | 303 | 307 | 308 if !any_host => {
                url = follow(ctx, &url, resp.header("location"), false)?
            }
            s => return Err(FetchError::Status(s, resp.reason)),
        }
    }
    Err(FetchError::Refused(format!("more than {MAX_REDIRECTS} redirects")))
}
