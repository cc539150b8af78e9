//! HTTP/1.1 message heads and body framing, shared by the client and the agent's HTTP server.
//!
//! Nothing here allocates: the caller hands over the bytes received so far and a fixed array
//! of header slots. Too few bytes yet is the normal answer [`Status::Partial`]; going past a
//! limit is a named [`Error`]. Heads accept a bare LF as line end (RFC 9112 §2.2 lets a
//! recipient do so); chunked framing wants CRLF, which every real sender writes.

mod chunked;
mod framing;
mod request;
mod response;

use std::fmt;

pub use chunked::ChunkedDecoder;
pub use framing::{parse_content_length, request_body_length, response_body_length, BodyLength};
pub use request::{parse_request_head, percent_decode, query_pairs, split_target, RequestHead};
pub use response::{parse_response_head, ResponseHead};

/// Longest head (start line, header fields and the empty line) accepted.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most header fields in one head; also the size of the slot array callers usually pass.
pub const MAX_HEADERS: usize = 64;
/// Longest request-target in a request line.
pub const MAX_TARGET_LEN: usize = 8 * 1024;
/// Most hex digits in a chunk size: 16 fill a u64, more can only be padding or an attack.
pub const MAX_CHUNK_SIZE_DIGITS: u8 = 16;
/// Longest chunk-size line with its extensions, which are ignored.
pub const MAX_CHUNK_LINE_BYTES: usize = 1024;
/// Longest trailer section of a chunked body, which is ignored.
pub const MAX_TRAILER_BYTES: usize = 8 * 1024;

/// What went wrong in a message. Says what, not where: the caller knows the peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    HeadTooLarge,
    TooManyHeaders,
    BadStatusLine,
    BadRequestLine,
    TargetTooLong,
    BadHeader,
    BadContentLength,
    BadTransferEncoding,
    /// Both Transfer-Encoding and Content-Length: refused rather than guessing which one the
    /// sender meant (the ambiguity behind request smuggling).
    ConflictingLength,
    BadChunk,
    TrailersTooLarge,
    BodyTooLarge,
    /// A `%` in a request-target not followed by two hex digits.
    BadPercentEncoding,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::HeadTooLarge => write!(f, "head longer than {MAX_HEAD_BYTES} bytes"),
            Error::TooManyHeaders => write!(f, "more than {MAX_HEADERS} header fields"),
            Error::BadStatusLine => f.write_str("malformed status line"),
            Error::BadRequestLine => f.write_str("malformed request line"),
            Error::TargetTooLong => write!(f, "request target longer than {MAX_TARGET_LEN} bytes"),
            Error::BadHeader => f.write_str("malformed header field"),
            Error::BadContentLength => f.write_str("invalid Content-Length"),
            Error::BadTransferEncoding => f.write_str("unsupported Transfer-Encoding"),
            Error::ConflictingLength => f.write_str("both Transfer-Encoding and Content-Length"),
            Error::BadChunk => f.write_str("malformed chunked body"),
            Error::TrailersTooLarge => {
                write!(f, "chunked trailers longer than {MAX_TRAILER_BYTES} bytes")
            }
            Error::BodyTooLarge => f.write_str("body larger than the limit"),
            Error::BadPercentEncoding => f.write_str("malformed %-escape in the request target"),
        }
    }
}

impl std::error::Error for Error {}

/// A parse that needs more input is not an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status<T> {
    Complete(T),
    Partial,
}

/// One header field, borrowed from the caller's buffer. The value has its surrounding
/// whitespace removed; it is bytes because obs-text (0x80-0xFF) is allowed on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'b> {
    pub name: &'b str,
    pub value: &'b [u8],
}

impl<'b> Header<'b> {
    pub const EMPTY: Header<'static> = Header {
        name: "",
        value: b"",
    };

    /// The value as text, when it is UTF-8.
    pub fn value_str(&self) -> Option<&'b str> {
        std::str::from_utf8(self.value).ok()
    }
}

/// First header called `name` (case-insensitive).
pub fn find_header<'b>(headers: &[Header<'b>], name: &str) -> Option<Header<'b>> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .copied()
}

/// Line splitter bounded by MAX_HEAD_BYTES.
pub(super) struct Lines<'b> {
    buf: &'b [u8],
    pos: usize,
}

impl<'b> Lines<'b> {
    /// Next line without its CRLF or LF; `None` when it is not all there yet.
    fn next(&mut self) -> Result<Option<&'b [u8]>, Error> {
        let limit = self.buf.len().min(MAX_HEAD_BYTES);
        let rest = self.buf.get(self.pos..limit).unwrap_or_default();
        let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
            return if self.buf.len() >= MAX_HEAD_BYTES {
                Err(Error::HeadTooLarge)
            } else {
                Ok(None)
            };
        };
        self.pos += lf + 1;
        let line = &rest[..lf];
        Ok(Some(line.strip_suffix(b"\r").unwrap_or(line)))
    }
}

/// Header lines up to the empty line; `None` when the block is not complete yet.
pub(super) fn header_block<'b>(
    lines: &mut Lines<'b>,
    headers: &mut [Header<'b>],
) -> Result<Option<usize>, Error> {
    let mut count = 0;
    loop {
        let Some(line) = lines.next()? else {
            return Ok(None);
        };
        if line.is_empty() {
            return Ok(Some(count));
        }
        let slot = headers.get_mut(count).ok_or(Error::TooManyHeaders)?;
        *slot = header_line(line)?;
        count += 1;
    }
}

/// `name: value`. A line starting with whitespace (obs-fold) or with whitespace before the
/// colon fails the name check, as RFC 9112 §5 asks.
pub(super) fn header_line(line: &[u8]) -> Result<Header<'_>, Error> {
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(Error::BadHeader)?;
    let name = &line[..colon];
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(Error::BadHeader);
    }
    let value = trim_ows(&line[colon + 1..]);
    if !value.iter().all(|&b| is_field_byte(b)) {
        return Err(Error::BadHeader);
    }
    let name = std::str::from_utf8(name).map_err(|_| Error::BadHeader)?;
    Ok(Header { name, value })
}

/// `HTTP/1.0` or `HTTP/1.1` → the minor version.
pub(super) fn version(v: &[u8]) -> Option<u8> {
    match v {
        b"HTTP/1.0" => Some(0),
        b"HTTP/1.1" => Some(1),
        _ => None,
    }
}

/// RFC 9110 token characters.
pub(super) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Field-value bytes: visible ASCII, SP, HTAB and obs-text. No NUL, CR, LF or DEL.
pub(super) fn is_field_byte(b: u8) -> bool {
    b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80
}

pub(super) fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

#[cfg(test)]
mod tests;
