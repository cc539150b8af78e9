//! HTTP/1.1 message heads and body framing, shared by the client and the agent's HTTP server.
//!
//! Nothing here allocates: the caller hands over the bytes received so far and a fixed array
//! of header slots. Too few bytes yet is the normal answer [`Status::Partial`]; going past a
//! limit is a named [`Error`]. Heads accept a bare LF as line end (RFC 9112 §2.2 lets a
//! recipient do so); chunked framing wants CRLF, which every real sender writes.

use std::fmt;

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

/// A parsed status line and header block; the fields are in `headers[..header_count]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseHead<'b> {
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    pub status: u16,
    /// Empty when the reason phrase is missing or not UTF-8.
    pub reason: &'b str,
    pub header_count: usize,
    /// Bytes of the buffer the head took, empty line included: the body starts there.
    pub len: usize,
}

/// A parsed request line and header block; the fields are in `headers[..header_count]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestHead<'b> {
    pub method: &'b str,
    pub target: &'b str,
    pub minor_version: u8,
    pub header_count: usize,
    pub len: usize,
}

/// Parses a response head at the start of `buf`, filling `headers`.
pub fn parse_response_head<'b>(
    buf: &'b [u8],
    headers: &mut [Header<'b>],
) -> Result<Status<ResponseHead<'b>>, Error> {
    // Reject a peer that is not speaking HTTP as soon as its first bytes say so.
    let n = buf.len().min(5);
    if buf[..n] != b"HTTP/"[..n] {
        return Err(Error::BadStatusLine);
    }
    let mut lines = Lines { buf, pos: 0 };
    let Some(line) = lines.next()? else {
        return Ok(Status::Partial);
    };
    let (minor_version, status, reason) = status_line(line).ok_or(Error::BadStatusLine)?;
    let Some(header_count) = header_block(&mut lines, headers)? else {
        return Ok(Status::Partial);
    };
    Ok(Status::Complete(ResponseHead {
        minor_version,
        status,
        reason,
        header_count,
        len: lines.pos,
    }))
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

/// Line splitter bounded by MAX_HEAD_BYTES.
struct Lines<'b> {
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
fn header_block<'b>(
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
fn header_line(line: &[u8]) -> Result<Header<'_>, Error> {
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

/// `HTTP/1.x SP 3DIGIT [SP reason]`; a missing reason is tolerated.
fn status_line(line: &[u8]) -> Option<(u8, u16, &str)> {
    let minor = version(line.get(..8)?)?;
    let rest = line.get(8..)?;
    let (sp, code, rest) = (rest.first()?, rest.get(1..4)?, &rest[4.min(rest.len())..]);
    if *sp != b' ' || !code.iter().all(u8::is_ascii_digit) || code[0] == b'0' {
        return None;
    }
    let status = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    let reason = match rest.split_first() {
        None => &[][..],
        Some((b' ', reason)) => reason,
        Some(_) => return None,
    };
    if !reason.iter().all(|&b| is_field_byte(b)) {
        return None;
    }
    Some((minor, status, std::str::from_utf8(reason).unwrap_or("")))
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

/// `HTTP/1.0` or `HTTP/1.1` → the minor version.
fn version(v: &[u8]) -> Option<u8> {
    match v {
        b"HTTP/1.0" => Some(0),
        b"HTTP/1.1" => Some(1),
        _ => None,
    }
}

/// RFC 9110 token characters.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Field-value bytes: visible ASCII, SP, HTAB and obs-text. No NUL, CR, LF or DEL.
fn is_field_byte(b: u8) -> bool {
    b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80
}

fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// How the body of a message is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyLength {
    /// No body at all.
    Empty,
    Length(u64),
    Chunked,
    /// Until the server closes the connection (responses only).
    UntilClose,
}

/// Framing of a response body (RFC 9112 §6.3). Replies to HEAD, 1xx, 204 and 304 have none.
pub fn response_body_length(
    request_was_head: bool,
    status: u16,
    headers: &[Header<'_>],
) -> Result<BodyLength, Error> {
    if request_was_head || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(BodyLength::Empty);
    }
    Ok(framing(headers)?.unwrap_or(BodyLength::UntilClose))
}

/// Framing of a request body: without Content-Length or Transfer-Encoding there is none.
pub fn request_body_length(headers: &[Header<'_>]) -> Result<BodyLength, Error> {
    Ok(framing(headers)?.unwrap_or(BodyLength::Empty))
}

/// What Transfer-Encoding and Content-Length say, `None` when neither is present. Only the
/// `chunked` coding is supported; repeated Content-Length values must all agree.
fn framing(headers: &[Header<'_>]) -> Result<Option<BodyLength>, Error> {
    let mut chunked = false;
    let mut length: Option<u64> = None;
    for h in headers {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if chunked || !h.value.eq_ignore_ascii_case(b"chunked") {
                return Err(Error::BadTransferEncoding);
            }
            chunked = true;
        } else if h.name.eq_ignore_ascii_case("content-length") {
            // `Content-Length: 42, 42` is a legal way of repeating the field.
            for part in h.value.split(|&b| b == b',') {
                let n = parse_content_length(trim_ows(part))?;
                if length.is_some_and(|l| l != n) {
                    return Err(Error::BadContentLength);
                }
                length = Some(n);
            }
        }
    }
    match (chunked, length) {
        (true, Some(_)) => Err(Error::ConflictingLength),
        (true, None) => Ok(Some(BodyLength::Chunked)),
        (false, Some(n)) => Ok(Some(BodyLength::Length(n))),
        (false, None) => Ok(None),
    }
}

/// Decimal digits only: no sign, no spaces inside, no overflow.
pub fn parse_content_length(v: &[u8]) -> Result<u64, Error> {
    if v.is_empty() {
        return Err(Error::BadContentLength);
    }
    v.iter().try_fold(0u64, |n, &b| {
        if !b.is_ascii_digit() {
            return Err(Error::BadContentLength);
        }
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or(Error::BadContentLength)
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChunkState {
    /// Hex digits of the chunk size (how many read so far).
    Size(u8),
    /// Whitespace after the size: only `;` or the CR may follow.
    SizeWs,
    /// `;ext` up to the CR, ignored.
    Ext,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    /// At the start of a trailer line, or of the final empty line.
    TrailerStart,
    Trailer,
    TrailerLf,
    EndLf,
    Done,
}

/// Incremental decoder of a chunked body: feed it whatever arrived, take the data out.
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: ChunkState,
    /// Size of the current chunk while reading it, then what is left of it.
    remaining: u64,
    line_len: usize,
    trailer_len: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    pub fn new() -> Self {
        ChunkedDecoder {
            state: ChunkState::Size(0),
            remaining: 0,
            line_len: 0,
            trailer_len: 0,
        }
    }

    /// True once the last chunk and the trailers have been read; bytes after that belong to
    /// the next message.
    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Decodes from the start of `input`. Returns how many bytes were used and the body
    /// data among them (a slice of `input`). It stops after each run of data, so call it
    /// again on `&input[used..]` until `used` reaches the end or the body is done.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<(usize, &'a [u8]), Error> {
        use ChunkState::*;
        let mut i = 0;
        while i < input.len() {
            if self.state == Data {
                let n =
                    (input.len() - i).min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
                self.remaining -= n as u64;
                if self.remaining == 0 {
                    self.state = DataCr;
                }
                return Ok((i + n, &input[i..i + n]));
            }
            let b = input[i];
            i += 1;
            if matches!(self.state, Size(_) | SizeWs | Ext) {
                self.line_len += 1;
                if self.line_len > MAX_CHUNK_LINE_BYTES {
                    return Err(Error::BadChunk);
                }
            }
            self.state = match (self.state, b) {
                (Done, _) => return Ok((i - 1, &[])),
                (Size(n), _) if b.is_ascii_hexdigit() => {
                    if n >= MAX_CHUNK_SIZE_DIGITS {
                        return Err(Error::BadChunk);
                    }
                    let d = (b as char).to_digit(16).unwrap_or(0);
                    self.remaining = self.remaining << 4 | u64::from(d);
                    Size(n + 1)
                }
                (Size(n), b' ' | b'\t') if n > 0 => SizeWs,
                (SizeWs, b' ' | b'\t') => SizeWs,
                (Size(n), b';') if n > 0 => Ext,
                (SizeWs, b';') => Ext,
                (Size(n), b'\r') if n > 0 => SizeLf,
                (SizeWs | Ext, b'\r') => SizeLf,
                (Ext, _) if b == b'\t' || (b >= 0x20 && b != 0x7f) => Ext,
                (SizeLf, b'\n') if self.remaining == 0 => TrailerStart,
                (SizeLf, b'\n') => Data,
                (DataCr, b'\r') => DataLf,
                (DataLf, b'\n') => {
                    self.remaining = 0;
                    self.line_len = 0;
                    Size(0)
                }
                (TrailerStart, b'\r') => EndLf,
                (TrailerStart | Trailer, _) if b == b'\t' || (b >= 0x20 && b != 0x7f) => {
                    self.trailer_len += 1;
                    if self.trailer_len > MAX_TRAILER_BYTES {
                        return Err(Error::TrailersTooLarge);
                    }
                    Trailer
                }
                (Trailer, b'\r') => TrailerLf,
                (TrailerLf, b'\n') => TrailerStart,
                (EndLf, b'\n') => Done,
                _ => return Err(Error::BadChunk),
            };
            if self.state == Done {
                return Ok((i, &[]));
            }
        }
        Ok((i, &[]))
    }
}
