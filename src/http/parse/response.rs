//! Response heads: the status line and the header block, as the client reads them.

use super::{header_block, is_field_byte, version, Error, Header, Lines, Status};

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
