//! How a message's body is delimited: Content-Length, chunked, or the end of the connection.

use super::{trim_ows, Error, Header};

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
