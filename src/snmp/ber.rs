//! BER, the subset SNMP uses: definite lengths only, tags of one byte, INTEGER, OCTET STRING,
//! NULL, OBJECT IDENTIFIER, SEQUENCE and the SNMP application and context types. Every length
//! is checked against what is left of its enclosing value, so a decoder never reads past the
//! datagram, and OIDs and integers have named bounds.

use std::fmt;

use super::{Oid, MAX_OID_ARCS};

pub const INTEGER: u8 = 0x02;
pub const OCTET_STRING: u8 = 0x04;
pub const NULL: u8 = 0x05;
pub const OBJECT_ID: u8 = 0x06;
pub const SEQUENCE: u8 = 0x30;
pub const IP_ADDRESS: u8 = 0x40;
pub const COUNTER32: u8 = 0x41;
pub const GAUGE32: u8 = 0x42;
pub const TIMETICKS: u8 = 0x43;
pub const OPAQUE: u8 = 0x44;
pub const COUNTER64: u8 = 0x46;
pub const NO_SUCH_OBJECT: u8 = 0x80;
pub const NO_SUCH_INSTANCE: u8 = 0x81;
pub const END_OF_MIB_VIEW: u8 = 0x82;

/// Largest length field accepted: a UDP datagram is never larger.
pub const MAX_LENGTH: usize = 65_535;
/// Most content bytes of an INTEGER (a Counter64 with its sign byte is 9).
const MAX_INTEGER_BYTES: usize = 9;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BerError {
    /// The data ends before the value it announces.
    Truncated,
    /// A length in the long form of more than 3 bytes, the indefinite form, or above MAX_LENGTH.
    BadLength,
    /// Another tag than the one the structure calls for.
    UnexpectedTag { want: u8, got: u8 },
    /// An INTEGER of no byte or more than fits.
    BadInteger,
    /// An OID with no arc, too many arcs, or an arc above 2^32.
    BadOid,
    /// Bytes left after the value that should end the data.
    TrailingBytes,
}

impl fmt::Display for BerError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            BerError::Truncated => f.write_str("the message ends inside a value"),
            BerError::BadLength => f.write_str("a length that is not definite or is too large"),
            BerError::UnexpectedTag { want, got } => {
                write!(f, "tag 0x{got:02x} where 0x{want:02x} was expected")
            }
            BerError::BadInteger => f.write_str("an integer of no byte or too many bytes"),
            BerError::BadOid => write!(
                f,
                "an object identifier that is empty, has more than {MAX_OID_ARCS} arcs or an arc above 2^32"
            ),
            BerError::TrailingBytes => f.write_str("bytes after the end of the message"),
        }
    }
}

/// Reads values one after another from a slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data, pos: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    pub fn finish(&self) -> Result<(), BerError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(BerError::TrailingBytes)
        }
    }

    fn byte(&mut self) -> Result<u8, BerError> {
        let b = *self.data.get(self.pos).ok_or(BerError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    /// The next value: its tag and its content bytes.
    pub fn any(&mut self) -> Result<(u8, &'a [u8]), BerError> {
        let tag = self.byte()?;
        let first = self.byte()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 3 {
                return Err(BerError::BadLength);
            }
            let mut len = 0usize;
            for _ in 0..n {
                len = (len << 8) | usize::from(self.byte()?);
            }
            len
        };
        if len > MAX_LENGTH {
            return Err(BerError::BadLength);
        }
        let end = self.pos.checked_add(len).ok_or(BerError::BadLength)?;
        let content = self.data.get(self.pos..end).ok_or(BerError::Truncated)?;
        self.pos = end;
        Ok((tag, content))
    }

    /// The next value, which must have tag `want`.
    pub fn expect(&mut self, want: u8) -> Result<&'a [u8], BerError> {
        let (got, content) = self.any()?;
        if got != want {
            return Err(BerError::UnexpectedTag { want, got });
        }
        Ok(content)
    }

    pub fn sequence(&mut self, tag: u8) -> Result<Reader<'a>, BerError> {
        self.expect(tag).map(Reader::new)
    }

    pub fn integer(&mut self) -> Result<i64, BerError> {
        decode_integer(self.expect(INTEGER)?)
    }

    pub fn octets(&mut self) -> Result<&'a [u8], BerError> {
        self.expect(OCTET_STRING)
    }

    pub fn oid(&mut self) -> Result<Oid, BerError> {
        decode_oid(self.expect(OBJECT_ID)?)
    }
}

/// A two's complement INTEGER.
pub fn decode_integer(b: &[u8]) -> Result<i64, BerError> {
    if b.is_empty() || b.len() > 8 {
        return Err(BerError::BadInteger);
    }
    let mut v: i64 = if b[0] & 0x80 != 0 { -1 } else { 0 };
    for &x in b {
        v = (v << 8) | i64::from(x);
    }
    Ok(v)
}

/// An unsigned value (Counter32, Gauge32, TimeTicks, Counter64): a leading zero byte allowed.
pub fn decode_unsigned(b: &[u8]) -> Result<u64, BerError> {
    if b.is_empty() || b.len() > MAX_INTEGER_BYTES || (b.len() == MAX_INTEGER_BYTES && b[0] != 0) {
        return Err(BerError::BadInteger);
    }
    // Agents that encode a value with its top bit set and no leading zero mean it unsigned.
    Ok(b.iter().fold(0u64, |v, &x| (v << 8) | u64::from(x)))
}

pub fn decode_oid(b: &[u8]) -> Result<Oid, BerError> {
    if b.is_empty() {
        return Err(BerError::BadOid);
    }
    let mut arcs = Vec::new();
    let mut v: u64 = 0;
    let mut in_arc = false;
    for (i, &x) in b.iter().enumerate() {
        v = (v << 7) | u64::from(x & 0x7f);
        in_arc = x & 0x80 != 0;
        if v > u64::from(u32::MAX) + 80 {
            return Err(BerError::BadOid);
        }
        if in_arc {
            continue;
        }
        if arcs.is_empty() && i < b.len() {
            // The first subidentifier holds the first two arcs.
            let (a, c) = match v {
                0..=39 => (0, v),
                40..=79 => (1, v - 40),
                _ => (2, v - 80),
            };
            arcs.push(a as u32);
            arcs.push(u32::try_from(c).map_err(|_| BerError::BadOid)?);
        } else {
            arcs.push(u32::try_from(v).map_err(|_| BerError::BadOid)?);
        }
        if arcs.len() > MAX_OID_ARCS {
            return Err(BerError::BadOid);
        }
        v = 0;
    }
    if in_arc {
        return Err(BerError::Truncated);
    }
    Ok(Oid(arcs))
}

/// Writes a length in the definite form.
fn push_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else if len < 0x1_0000 {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    } else {
        out.extend_from_slice(&[0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8]);
    }
}

/// Appends one value.
pub fn push(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    push_length(out, content.len());
    out.extend_from_slice(content);
}

/// Appends a constructed value whose content `build` writes.
pub fn push_with(out: &mut Vec<u8>, tag: u8, build: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::new();
    build(&mut inner);
    push(out, tag, &inner);
}

pub fn push_integer(out: &mut Vec<u8>, v: i64) {
    let bytes = v.to_be_bytes();
    // Drop leading bytes that only repeat the sign.
    let mut start = 0;
    while start < 7 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    push(out, INTEGER, &bytes[start..]);
}

/// An unsigned value under an application tag (with a leading zero when its top bit is set).
pub fn push_unsigned(out: &mut Vec<u8>, tag: u8, v: u64) {
    let bytes = v.to_be_bytes();
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(7);
    let mut content = Vec::with_capacity(9);
    if bytes[start] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(&bytes[start..]);
    push(out, tag, &content);
}

fn push_base128(out: &mut Vec<u8>, v: u64) {
    let mut tmp = [0u8; 10];
    let mut n = 0;
    let mut v = v;
    loop {
        tmp[n] = (v & 0x7f) as u8;
        n += 1;
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        out.push(tmp[i] | if i > 0 { 0x80 } else { 0 });
    }
}

pub fn encode_oid(oid: &Oid) -> Vec<u8> {
    let a = &oid.0;
    let mut out = Vec::with_capacity(a.len() + 4);
    match a.len() {
        0 => out.push(0),
        1 => push_base128(&mut out, u64::from(a[0]) * 40),
        _ => {
            push_base128(&mut out, u64::from(a[0].min(2)) * 40 + u64::from(a[1]));
            for &x in &a[2..] {
                push_base128(&mut out, u64::from(x));
            }
        }
    }
    out
}

pub fn push_oid(out: &mut Vec<u8>, oid: &Oid) {
    push(out, OBJECT_ID, &encode_oid(oid));
}
