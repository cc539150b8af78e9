//! Request heads, as the daemon's HTTP server reads them, and its request-targets: path, query
//! pairs and percent-decoding.

use super::{header_block, is_tchar, version, Error, Header, Lines, Status, MAX_TARGET_LEN};

/// A parsed request line and header block; the fields are in `headers[..header_count]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestHead<'b> {
    pub method: &'b str,
    pub target: &'b str,
    pub minor_version: u8,
    pub header_count: usize,
    pub len: usize,
}

/// Parses a request head at the start of `buf`, filling `headers`. Empty lines before the
/// request line are skipped (RFC 9112 §2.2: some clients send a CRLF after a POST body).
pub fn parse_request_head<'b>(
    buf: &'b [u8],
    headers: &mut [Header<'b>],
) -> Result<Status<RequestHead<'b>>, Error> {
    let mut lines = Lines { buf, pos: 0 };
    let line = loop {
        match lines.next()? {
            None => return Ok(Status::Partial),
            Some(b"") => continue,
            Some(line) => break line,
        }
    };
    let (method, target, minor_version) = request_line(line)?;
    let Some(header_count) = header_block(&mut lines, headers)? else {
        return Ok(Status::Partial);
    };
    Ok(Status::Complete(RequestHead {
        method,
        target,
        minor_version,
        header_count,
        len: lines.pos,
    }))
}

fn request_line(line: &[u8]) -> Result<(&str, &str, u8), Error> {
    let bad = Error::BadRequestLine;
    let sp1 = line.iter().position(|&b| b == b' ').ok_or(bad)?;
    let sp2 = line.iter().rposition(|&b| b == b' ').ok_or(bad)?;
    let (method, target, ver) = (
        &line[..sp1],
        &line[sp1 + 1..sp2.max(sp1 + 1)],
        &line[sp2 + 1..],
    );
    if sp2 <= sp1 || method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err(bad);
    }
    if target.len() > MAX_TARGET_LEN {
        return Err(Error::TargetTooLong);
    }
    if target.is_empty() || !target.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(bad);
    }
    let minor = version(ver).ok_or(bad)?;
    // Both parts are ASCII, checked above.
    let method = std::str::from_utf8(method).map_err(|_| bad)?;
    let target = std::str::from_utf8(target).map_err(|_| bad)?;
    Ok((method, target, minor))
}

/// The path and the query (after the first `?`, without it) of an origin-form
/// request-target. A fragment cannot occur: the request line has no `#` part.
pub fn split_target(target: &str) -> (&str, Option<&str>) {
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

/// The `name=value` pairs of a query, still percent-encoded, split on `&`. A pair without
/// `=` has an empty value; empty pairs (`a=1&&b=2`) are skipped.
pub fn query_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
}

/// Decodes the `%XX` escapes of `raw` once into `out`, which must be at least as long as
/// `raw` (decoding never lengthens). A `%` without two hex digits after it is an error
/// rather than a literal: a sender that means `%` writes `%25`, and guessing would let two
/// readers of one target disagree. `+` stays `+` (RFC 3986; only HTML forms mean a space).
pub fn percent_decode<'o>(raw: &[u8], out: &'o mut [u8]) -> Result<&'o [u8], Error> {
    if out.len() < raw.len() {
        return Err(Error::TargetTooLong);
    }
    let hex = |b: Option<&u8>| b.and_then(|&b| (b as char).to_digit(16));
    let (mut i, mut n) = (0, 0);
    while i < raw.len() {
        out[n] = if raw[i] == b'%' {
            let (Some(h), Some(l)) = (hex(raw.get(i + 1)), hex(raw.get(i + 2))) else {
                return Err(Error::BadPercentEncoding);
            };
            i += 3;
            (h * 16 + l) as u8
        } else {
            i += 1;
            raw[i - 1]
        };
        n += 1;
    }
    Ok(&out[..n])
}
