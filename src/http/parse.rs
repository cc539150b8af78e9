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
            if matches!(self.state, Size(_) | SizeWs | Ext) && b != b'\r' {
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

#[cfg(test)]
mod tests {
    use super::*;

    const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-compress\r\nContent-Length: 5\r\nX-Empty:\r\n\r\nhello";
    const REQUEST: &[u8] =
        b"POST /ocsinventory?x=1 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\nabc";

    fn response(buf: &[u8]) -> Result<Status<(ResponseHead<'_>, Vec<Header<'_>>)>, Error> {
        let mut slots = [Header::EMPTY; MAX_HEADERS];
        Ok(match parse_response_head(buf, &mut slots)? {
            Status::Complete(h) => Status::Complete((h, slots[..h.header_count].to_vec())),
            Status::Partial => Status::Partial,
        })
    }

    fn request(buf: &[u8]) -> Result<Status<(RequestHead<'_>, Vec<Header<'_>>)>, Error> {
        let mut slots = [Header::EMPTY; MAX_HEADERS];
        Ok(match parse_request_head(buf, &mut slots)? {
            Status::Complete(h) => Status::Complete((h, slots[..h.header_count].to_vec())),
            Status::Partial => Status::Partial,
        })
    }

    fn response_err(buf: &[u8]) -> Error {
        response(buf).expect_err("expected an error")
    }

    #[test]
    fn response_head_gives_status_reason_headers_and_body_offset() {
        let Status::Complete((h, fields)) = response(RESPONSE).unwrap() else {
            panic!("partial")
        };
        assert_eq!((h.minor_version, h.status, h.reason), (1, 200, "OK"));
        assert_eq!(&RESPONSE[h.len..], b"hello");
        assert_eq!(fields.len(), 3);
        assert_eq!(fields[0].name, "Content-Type");
        assert_eq!(fields[0].value, b"application/x-compress");
        assert_eq!(
            fields[2],
            Header {
                name: "X-Empty",
                value: b""
            }
        );
        assert_eq!(find_header(&fields, "content-length").unwrap().value, b"5");
    }

    #[test]
    fn every_prefix_of_a_response_head_is_partial() {
        let head_len = RESPONSE.len() - 5;
        for cut in 0..head_len {
            assert_eq!(
                response(&RESPONSE[..cut]),
                Ok(Status::Partial),
                "cut at {cut}"
            );
        }
        assert!(matches!(
            response(&RESPONSE[..head_len]),
            Ok(Status::Complete(_))
        ));
    }

    #[test]
    fn every_prefix_of_a_request_head_is_partial() {
        let head_len = REQUEST.len() - 3;
        for cut in 0..head_len {
            assert_eq!(
                request(&REQUEST[..cut]),
                Ok(Status::Partial),
                "cut at {cut}"
            );
        }
        let Status::Complete((h, fields)) = request(REQUEST).unwrap() else {
            panic!("partial")
        };
        assert_eq!(
            (h.method, h.target, h.minor_version),
            ("POST", "/ocsinventory?x=1", 1)
        );
        assert_eq!(h.len, head_len);
        assert_eq!(
            fields[0],
            Header {
                name: "Host",
                value: b"example.com"
            }
        );
    }

    /// A head of exactly `len` bytes: status line, one padding header, empty line.
    fn head_of_len(len: usize) -> Vec<u8> {
        let fixed = b"HTTP/1.1 200 OK\r\nX-Pad: \r\n\r\n".len();
        let mut v = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
        v.resize(len - 4, b'a');
        v.extend_from_slice(b"\r\n\r\n");
        assert!(len > fixed);
        v
    }

    #[test]
    fn head_of_exactly_max_head_bytes_is_accepted_one_more_is_too_large() {
        let at = head_of_len(MAX_HEAD_BYTES);
        assert!(matches!(response(&at), Ok(Status::Complete(h)) if h.0.len == MAX_HEAD_BYTES));
        let over = head_of_len(MAX_HEAD_BYTES + 1);
        assert_eq!(response_err(&over), Error::HeadTooLarge);
        // Also when only the first MAX_HEAD_BYTES have arrived.
        assert_eq!(response_err(&over[..MAX_HEAD_BYTES]), Error::HeadTooLarge);
        assert_eq!(response(&over[..MAX_HEAD_BYTES - 1]), Ok(Status::Partial));
    }

    #[test]
    fn max_headers_fields_are_accepted_one_more_is_too_many() {
        let head = |n: usize| {
            let mut v = b"HTTP/1.1 204 No Content\r\n".to_vec();
            for i in 0..n {
                v.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
            }
            v.extend_from_slice(b"\r\n");
            v
        };
        let ok = head(MAX_HEADERS);
        assert!(
            matches!(response(&ok), Ok(Status::Complete((h, _))) if h.header_count == MAX_HEADERS)
        );
        assert_eq!(response_err(&head(MAX_HEADERS + 1)), Error::TooManyHeaders);
        // A caller with fewer slots gets the error at its own count.
        let mut two = [Header::EMPTY; 2];
        assert_eq!(
            parse_response_head(&head(3), &mut two),
            Err(Error::TooManyHeaders)
        );
    }

    #[test]
    fn request_target_of_max_length_is_accepted_one_more_is_too_long() {
        let req = |n: usize| format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(n - 1));
        assert!(matches!(
            request(req(MAX_TARGET_LEN).as_bytes()),
            Ok(Status::Complete(_))
        ));
        assert_eq!(
            request(req(MAX_TARGET_LEN + 1).as_bytes()),
            Err(Error::TargetTooLong)
        );
    }

    #[test]
    fn header_values_with_controls_and_folded_or_spaced_names_are_refused() {
        let bad: &[&[u8]] = &[
            b"HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX: a\x7fb\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX : a\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n: a\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX(y): a\r\n\r\n",
        ];
        for b in bad {
            assert_eq!(
                response_err(b),
                Error::BadHeader,
                "{:?}",
                String::from_utf8_lossy(b)
            );
        }
    }

    #[test]
    fn header_values_are_trimmed_and_may_hold_obs_text() {
        let Status::Complete((_, f)) =
            response(b"HTTP/1.1 200 OK\r\nX:  \t caf\xc3\xa9 \t\r\n\r\n").unwrap()
        else {
            panic!("partial")
        };
        assert_eq!(f[0].value_str(), Some("café"));
    }

    #[test]
    fn malformed_status_lines_are_refused() {
        let bad: &[&[u8]] = &[
            b"HTTP/2 200 OK\r\n\r\n",
            b"HTTP/1.2 200 OK\r\n\r\n",
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 099 Low\r\n\r\n",
            b"HTTP/1.1  200 OK\r\n\r\n",
            b"HTTP/1.1 200OK\r\n\r\n",
            b"HTTP/1.1 200 O\0K\r\n\r\n",
            b"http/1.1 200 OK\r\n\r\n",
        ];
        for b in bad {
            assert_eq!(
                response_err(b),
                Error::BadStatusLine,
                "{:?}",
                String::from_utf8_lossy(b)
            );
        }
    }

    #[test]
    fn a_peer_not_speaking_http_is_refused_from_its_first_bytes() {
        assert_eq!(response_err(b"\x16\x03"), Error::BadStatusLine);
        assert_eq!(response_err(b"SSH-2"), Error::BadStatusLine);
        assert_eq!(response(b"HTT"), Ok(Status::Partial));
    }

    #[test]
    fn missing_reason_and_bare_lf_line_ends_are_tolerated() {
        let Status::Complete((h, f)) = response(b"HTTP/1.0 404\nServer: x\n\nbody").unwrap() else {
            panic!("partial")
        };
        assert_eq!(
            (h.minor_version, h.status, h.reason, h.len),
            (0, 404, "", 24)
        );
        assert_eq!(f[0].value, b"x");
    }

    #[test]
    fn request_parser_skips_leading_empty_lines_and_refuses_bad_request_lines() {
        let Status::Complete((h, _)) = request(b"\r\n\r\nGET / HTTP/1.0\r\n\r\n").unwrap() else {
            panic!("partial")
        };
        assert_eq!((h.method, h.target, h.minor_version), ("GET", "/", 0));
        let bad: &[&[u8]] = &[
            b"GET / HTTP/1.2\r\n\r\n",
            b"GET /\r\n\r\n",
            b"GET  / HTTP/1.1\r\n\r\n",
            b"G(T / HTTP/1.1\r\n\r\n",
            b"GET /a b HTTP/1.1\r\n\r\n",
            b"GET /\x01 HTTP/1.1\r\n\r\n",
            b"GET\r\n\r\n",
        ];
        for b in bad {
            assert_eq!(
                request(b),
                Err(Error::BadRequestLine),
                "{:?}",
                String::from_utf8_lossy(b)
            );
        }
    }

    fn fields(list: &[(&'static str, &'static str)]) -> Vec<Header<'static>> {
        list.iter()
            .map(|(n, v)| Header {
                name: n,
                value: v.as_bytes(),
            })
            .collect()
    }

    #[test]
    fn replies_to_head_and_204_304_1xx_have_no_body_whatever_the_headers_say() {
        let h = fields(&[("Content-Length", "10")]);
        assert_eq!(response_body_length(true, 200, &h), Ok(BodyLength::Empty));
        for status in [100, 204, 304] {
            assert_eq!(
                response_body_length(false, status, &h),
                Ok(BodyLength::Empty)
            );
        }
        assert_eq!(
            response_body_length(false, 200, &h),
            Ok(BodyLength::Length(10))
        );
        assert_eq!(
            response_body_length(false, 200, &[]),
            Ok(BodyLength::UntilClose)
        );
        assert_eq!(request_body_length(&[]), Ok(BodyLength::Empty));
    }

    #[test]
    fn chunked_with_content_length_is_refused_and_only_chunked_coding_is_known() {
        let both = fields(&[("Transfer-Encoding", "chunked"), ("Content-Length", "3")]);
        assert_eq!(
            response_body_length(false, 200, &both),
            Err(Error::ConflictingLength)
        );
        assert_eq!(request_body_length(&both), Err(Error::ConflictingLength));
        let te = fields(&[("transfer-encoding", "Chunked")]);
        assert_eq!(request_body_length(&te), Ok(BodyLength::Chunked));
        for v in ["gzip, chunked", "identity", ""] {
            let h = [Header {
                name: "Transfer-Encoding",
                value: v.as_bytes(),
            }];
            assert_eq!(
                request_body_length(&h),
                Err(Error::BadTransferEncoding),
                "{v}"
            );
        }
        let twice = fields(&[
            ("Transfer-Encoding", "chunked"),
            ("Transfer-Encoding", "chunked"),
        ]);
        assert_eq!(request_body_length(&twice), Err(Error::BadTransferEncoding));
    }

    #[test]
    fn content_length_repeats_must_agree_and_values_must_be_plain_digits() {
        let same = fields(&[("Content-Length", "42"), ("content-length", "42, 42")]);
        assert_eq!(request_body_length(&same), Ok(BodyLength::Length(42)));
        let differ = fields(&[("Content-Length", "42"), ("Content-Length", "43")]);
        assert_eq!(request_body_length(&differ), Err(Error::BadContentLength));
        assert_eq!(parse_content_length(b"18446744073709551615"), Ok(u64::MAX));
        for v in ["18446744073709551616", "-1", "+5", "1 2", "", "0x10", "42,"] {
            let h = [Header {
                name: "Content-Length",
                value: v.as_bytes(),
            }];
            assert_eq!(
                request_body_length(&h),
                Err(Error::BadContentLength),
                "{v:?}"
            );
        }
    }

    /// Decodes `input` fed in pieces of `step` bytes; returns the body and the bytes left.
    fn decode_in_steps(input: &[u8], step: usize) -> Result<(Vec<u8>, usize), Error> {
        let mut d = ChunkedDecoder::new();
        let mut body = Vec::new();
        let mut fed = 0;
        let mut pos = 0;
        while !d.is_done() {
            if pos == fed {
                if fed == input.len() {
                    break;
                }
                fed = (fed + step).min(input.len());
            }
            let (used, data) = d.decode(&input[pos..fed])?;
            body.extend_from_slice(data);
            pos += used;
        }
        assert!(d.is_done(), "decoder not done after all input");
        Ok((body, input.len() - pos))
    }

    const CHUNKED: &[u8] = b"5;name=value;q=\"x\"\r\nhello\r\n9 \r\n, world!\n\r\n0\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\nNEXT";

    #[test]
    fn chunked_body_with_extensions_and_trailers_decodes_in_any_pieces() {
        for step in [1, 2, 3, 7, CHUNKED.len()] {
            let (body, left) = decode_in_steps(CHUNKED, step).unwrap();
            assert_eq!(body, b"hello, world!\n", "step {step}");
            assert_eq!(left, 4, "bytes after the body stay for the next message");
        }
    }

    #[test]
    fn chunk_sizes_of_sixteen_hex_digits_are_read_seventeen_are_refused() {
        let mut d = ChunkedDecoder::new();
        assert_eq!(d.decode(b"00000000000000ff\r\n"), Ok((18, &b""[..])));
        let (used, data) = d.decode(&[b'x'; 300]).unwrap();
        assert_eq!((used, data.len()), (255, 255));
        let mut d = ChunkedDecoder::new();
        assert_eq!(d.decode(b"00000000000000001\r\n"), Err(Error::BadChunk));
        let mut d = ChunkedDecoder::new();
        assert_eq!(d.decode(b"ffffffffffffffff\r\n").map(|r| r.0), Ok(18));
    }

    #[test]
    fn malformed_chunked_framing_is_refused() {
        let bad: &[&[u8]] = &[
            b"\r\n",
            b";ext\r\n",
            b"5\r\nhelloX\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"5 5\r\nhello\r\n",
            b"g\r\n",
            b"-1\r\n",
            b"0\r\nX: \x01\r\n\r\n",
            b"0\r\n\r\r",
            b"5;a\x00\r\n",
        ];
        for b in bad {
            let r = decode_in_steps(b, 1);
            assert!(
                matches!(r, Err(Error::BadChunk)),
                "{:?} gave {r:?}",
                String::from_utf8_lossy(b)
            );
        }
    }

    #[test]
    fn chunk_lines_and_trailers_past_their_limits_are_refused() {
        let mut line = b"1;".to_vec();
        line.resize(MAX_CHUNK_LINE_BYTES, b'a');
        line.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
        assert!(
            decode_in_steps(&line, 64).is_ok(),
            "line of exactly the limit"
        );
        let mut long = b"1;".to_vec();
        long.resize(MAX_CHUNK_LINE_BYTES + 1, b'a');
        long.extend_from_slice(b"\r\n");
        assert_eq!(decode_in_steps(&long, 64), Err(Error::BadChunk));

        let mut trailers = b"0\r\n".to_vec();
        for _ in 0..MAX_TRAILER_BYTES / 8 {
            trailers.extend_from_slice(b"X: 12345\r\n");
        }
        let mut at_limit = trailers.clone();
        at_limit.extend_from_slice(b"\r\n");
        assert!(
            decode_in_steps(&at_limit, 512).is_ok(),
            "trailers of exactly the limit"
        );
        trailers.extend_from_slice(b"Y\r\n\r\n");
        assert_eq!(
            decode_in_steps(&trailers, 512),
            Err(Error::TrailersTooLarge)
        );
    }

    #[test]
    fn targets_split_into_path_and_query_and_queries_into_raw_pairs() {
        assert_eq!(split_target("/"), ("/", None));
        assert_eq!(split_target("/?"), ("/", Some("")));
        assert_eq!(split_target("/a?b=1?c"), ("/a", Some("b=1?c")));
        let pairs: Vec<_> = query_pairs("action=log&&deviceid=a%20b&flag&=x").collect();
        assert_eq!(
            pairs,
            [
                ("action", "log"),
                ("deviceid", "a%20b"),
                ("flag", ""),
                ("", "x")
            ]
        );
        assert_eq!(query_pairs("").count(), 0);
    }

    fn decoded(raw: &str) -> Result<Vec<u8>, Error> {
        let mut out = [0u8; 64];
        percent_decode(raw.as_bytes(), &mut out).map(<[u8]>::to_vec)
    }

    #[test]
    fn percent_decoding_happens_once_and_refuses_broken_escapes() {
        assert_eq!(decoded("a%2Fb%2fc").unwrap(), b"a/b/c");
        assert_eq!(decoded("%252e").unwrap(), b"%2e", "decoded once only");
        assert_eq!(decoded("a+b%00").unwrap(), b"a+b\0");
        assert_eq!(decoded("%C3%A9").unwrap(), "é".as_bytes());
        for bad in ["%", "%2", "%zz", "a%g0", "%%41"] {
            assert_eq!(decoded(bad), Err(Error::BadPercentEncoding), "{bad:?}");
        }
        let mut small = [0u8; 2];
        assert_eq!(
            percent_decode(b"abc", &mut small),
            Err(Error::TargetTooLong)
        );
    }

    #[test]
    fn errors_read_as_sentences() {
        assert_eq!(
            Error::HeadTooLarge.to_string(),
            "head longer than 16384 bytes"
        );
        assert_eq!(
            Error::TooManyHeaders.to_string(),
            "more than 64 header fields"
        );
    }
}
