//! The SNMP client the network tasks share: our own BER ([`ber`]), the messages of SNMP v1 and
//! v2c with room for another security model ([`message`]), requests over UDP on smol with a
//! timeout, retries and request ids matched ([`transport`]), table walks that try GETBULK and
//! fall back to GETNEXT ([`walk`]), and a backend that answers from a recorded snmpwalk file
//! ([`file`]) so that every test can replay a device without a network.
//!
//! [`Agent`] is what the tasks talk to: a live session or a walk file, with the same `get` and
//! `walk`.

pub mod ber;
pub mod credential;
pub mod device;
pub mod file;
pub mod message;
pub mod sysobject;
pub mod transport;
#[cfg(feature = "snmpv3")]
pub mod usm;
pub mod walk;

use std::fmt;

pub use file::WalkFile;
pub use message::{Credential, Version};
pub use transport::{Session, SessionOptions};

/// Most arcs of an object identifier read from outside.
pub const MAX_OID_ARCS: usize = 128;
/// Most variable bindings read from one response.
pub const MAX_VARBINDS: usize = 1024;
/// Longest OCTET STRING kept from a response (a datagram holds less anyway).
pub const MAX_VALUE_BYTES: usize = 65_535;

/// An object identifier: `.1.3.6.1.2.1.1.1.0`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Oid(pub Vec<u32>);

impl Oid {
    /// Reads `.1.3.6…` or `1.3.6…`; `None` for anything else.
    pub fn parse(s: &str) -> Option<Oid> {
        let s = s.trim();
        let s = s.strip_prefix('.').unwrap_or(s);
        if s.is_empty() {
            return None;
        }
        let mut arcs = Vec::new();
        for part in s.split('.') {
            if arcs.len() == MAX_OID_ARCS {
                return None;
            }
            arcs.push(part.parse::<u32>().ok()?);
        }
        Some(Oid(arcs))
    }

    pub fn starts_with(&self, prefix: &Oid) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// This OID with `arcs` appended.
    pub fn child(&self, arcs: &[u32]) -> Oid {
        let mut v = self.0.clone();
        v.extend_from_slice(arcs);
        Oid(v)
    }

    /// The arcs after `prefix` (`None` when it is not one).
    pub fn suffix(&self, prefix: &Oid) -> Option<&[u32]> {
        self.starts_with(prefix).then(|| &self.0[prefix.0.len()..])
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for a in &self.0 {
            write!(f, ".{a}")?;
        }
        Ok(())
    }
}

/// A constant OID from its text (for the tables of the tasks).
pub fn oid(s: &str) -> Oid {
    Oid::parse(s).unwrap_or_default()
}

/// A value as an agent returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Integer(i64),
    Octets(Vec<u8>),
    Null,
    ObjectId(Oid),
    IpAddress([u8; 4]),
    Counter32(u32),
    Gauge32(u32),
    TimeTicks(u32),
    Opaque(Vec<u8>),
    Counter64(u64),
    /// v2c exceptions in place of a value.
    NoSuchObject,
    NoSuchInstance,
    EndOfMibView,
}

impl Value {
    /// Whether this is a real value (not NULL nor one of the v2c exceptions).
    pub fn is_value(&self) -> bool {
        !matches!(
            self,
            Value::Null | Value::NoSuchObject | Value::NoSuchInstance | Value::EndOfMibView
        )
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Octets(b) | Value::Opaque(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Integer(i) => u64::try_from(i).ok(),
            Value::Counter32(v) | Value::Gauge32(v) | Value::TimeTicks(v) => Some(u64::from(v)),
            Value::Counter64(v) => Some(v),
            _ => None,
        }
    }

    /// The value as text the way the reference agents canonicalise it: printable strings as
    /// they are (cut at the first control character), other bytes as `0x…` hex, numbers in
    /// decimal, OIDs dotted.
    pub fn to_text(&self) -> String {
        match self {
            Value::Integer(i) => i.to_string(),
            Value::Octets(b) | Value::Opaque(b) => printable(b),
            Value::ObjectId(o) => o.to_string(),
            Value::IpAddress(a) => std::net::Ipv4Addr::from(*a).to_string(),
            Value::Counter32(v) | Value::Gauge32(v) | Value::TimeTicks(v) => v.to_string(),
            Value::Counter64(v) => v.to_string(),
            Value::Null | Value::NoSuchObject | Value::NoSuchInstance | Value::EndOfMibView => {
                String::new()
            }
        }
    }
}

/// Bytes as text: UTF-8 (or Latin-1) up to the first control character, trimmed; a string
/// that starts with a control character (binary) as `0x…` hex.
pub fn printable(b: &[u8]) -> String {
    let end = b
        .iter()
        .position(|&c| c < 0x20 && c != b'\t' && c != b'\n' && c != b'\r')
        .unwrap_or(b.len());
    if end == 0 && !b.is_empty() {
        let mut s = String::from("0x");
        for c in b {
            s.push_str(&format!("{c:02x}"));
        }
        return s;
    }
    let text = &b[..end];
    match std::str::from_utf8(text) {
        Ok(s) => s.trim().to_string(),
        Err(_) => text
            .iter()
            .map(|&c| char::from(c))
            .collect::<String>()
            .trim()
            .to_string(),
    }
}

/// Why a request got no usable answer.
#[derive(Debug, Clone, PartialEq)]
pub enum SnmpError {
    /// No answer within the timeout, retries included.
    Timeout,
    Io(String),
    /// The answer could not be decoded.
    Decode(ber::BerError),
    /// A decoded answer that is not a response to what was asked.
    Unexpected(&'static str),
    /// The agent's error-status (`tooBig(1)`, `noSuchName(2)`, `genErr(5)`, …) at an index.
    Status {
        status: i64,
        index: i64,
    },
    /// A walk file that cannot be read.
    File(String),
    /// What this build or this backend does not do (a security model it lacks).
    Unsupported(String),
    /// SNMPv3: the user-based security model refused the request or its answer (unknown
    /// user, wrong digest, decryption error…): the credential is wrong, retrying will not help.
    Usm(String),
}

impl fmt::Display for SnmpError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            SnmpError::Timeout => f.write_str("no response"),
            SnmpError::Io(e) => write!(f, "socket error: {e}"),
            SnmpError::Decode(e) => write!(f, "undecodable response: {e}"),
            SnmpError::Unexpected(w) => write!(f, "unexpected response: {w}"),
            SnmpError::Status { status, index } => {
                write!(f, "error status {} at index {index}", status_name(*status))
            }
            SnmpError::File(e) => f.write_str(e),
            SnmpError::Unsupported(e) => f.write_str(e),
            SnmpError::Usm(e) => write!(f, "SNMPv3: {e}"),
        }
    }
}

impl From<ber::BerError> for SnmpError {
    fn from(e: ber::BerError) -> SnmpError {
        SnmpError::Decode(e)
    }
}

pub fn status_name(status: i64) -> String {
    let name = match status {
        1 => "tooBig",
        2 => "noSuchName",
        3 => "badValue",
        4 => "readOnly",
        5 => "genErr",
        6 => "noAccess",
        16 => "authorizationError",
        _ => return status.to_string(),
    };
    format!("{name}({status})")
}

/// Where answers come from: a live agent over UDP, or a recorded walk.
#[allow(clippy::large_enum_variant)]
pub enum Agent {
    Live(Session),
    File(WalkFile),
}

impl Agent {
    /// The value of each OID (NULL-like exceptions for those the agent lacks).
    pub async fn get(&mut self, oids: &[Oid]) -> Result<Vec<(Oid, Value)>, SnmpError> {
        match self {
            Agent::Live(s) => s.get(oids).await,
            Agent::File(f) => Ok(f.get(oids)),
        }
    }

    /// One value, `None` when the agent has none.
    pub async fn get_one(&mut self, oid: &Oid) -> Result<Option<Value>, SnmpError> {
        let mut r = self.get(std::slice::from_ref(oid)).await?;
        Ok(r.pop().map(|(_, v)| v).filter(Value::is_value))
    }

    /// Every value under `root`, at most `max`.
    pub async fn walk(&mut self, root: &Oid, max: usize) -> Result<Vec<(Oid, Value)>, SnmpError> {
        match self {
            Agent::Live(s) => walk::walk(s, root, max).await,
            Agent::File(f) => Ok(f.walk(root, max)),
        }
    }
}

#[cfg(test)]
mod tests;
