//! SNMP messages: a PDU inside the envelope of a security model. v1 and v2c wrap the PDU with
//! a community string (RFC 1157, RFC 1901); the envelope is chosen by [`Security`], so that a
//! user-based model (v3, RFC 3414) adds a variant and its own `wrap`/`unwrap` without touching
//! the PDU code, the transport or the walks.

use super::ber::{self, BerError, Reader};
use super::{Oid, SnmpError, Value, MAX_VALUE_BYTES, MAX_VARBINDS};

pub const GET: u8 = 0xa0;
pub const GET_NEXT: u8 = 0xa1;
pub const RESPONSE: u8 = 0xa2;
pub const GET_BULK: u8 = 0xa5;
pub const REPORT: u8 = 0xa8;

/// The protocol version on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2c,
    V3,
}

impl Version {
    fn wire(self) -> i64 {
        match self {
            Version::V1 => 0,
            Version::V2c => 1,
            Version::V3 => 3,
        }
    }

    /// `1`, `2c` (also `2`, `v2c`…), `3` as servers and command lines spell it.
    pub fn parse(s: &str) -> Option<Version> {
        match s.trim().trim_start_matches(['v', 'V']) {
            "1" => Some(Version::V1),
            "2c" | "2C" | "2" => Some(Version::V2c),
            "3" => Some(Version::V3),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Version::V1 => "1",
            Version::V2c => "2c",
            Version::V3 => "3",
        }
    }
}

/// How messages are wrapped and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Security {
    /// v1/v2c: the community string travels in clear.
    Community(String),
    /// v3: the user-based security model (RFC 3414); the crypto is in [`super::usm`], built
    /// with the `snmpv3` feature.
    Usm(Box<UsmUser>),
}

/// Authentication protocols of SNMPv3 (RFC 3414, RFC 7860).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthProto {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl AuthProto {
    /// `md5`, `sha`/`sha1`, `sha224` … `sha512` (GLPI's `SHA256`, glpi-agent's `sha256`,
    /// net-snmp's `SHA-256`).
    pub fn parse(s: &str) -> Option<AuthProto> {
        let s = s.trim().to_ascii_lowercase().replace(['-', '_'], "");
        Some(match s.as_str() {
            "md5" | "hmacmd5" => AuthProto::Md5,
            "sha" | "sha1" | "hmacsha" => AuthProto::Sha1,
            "sha224" => AuthProto::Sha224,
            "sha256" => AuthProto::Sha256,
            "sha384" => AuthProto::Sha384,
            "sha512" => AuthProto::Sha512,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            AuthProto::Md5 => "md5",
            AuthProto::Sha1 => "sha",
            AuthProto::Sha224 => "sha224",
            AuthProto::Sha256 => "sha256",
            AuthProto::Sha384 => "sha384",
            AuthProto::Sha512 => "sha512",
        }
    }
}

/// Privacy protocols of SNMPv3: DES (RFC 3414), AES-128 (RFC 3826), AES-192/256 with the
/// Blumenthal draft's key extension, the same with Cisco's (Reeder's) key extension
/// (`aes192c`, `aes256c`), and 3DES-EDE (Reeder's draft).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivProto {
    Des,
    TripleDes,
    Aes128,
    Aes192,
    Aes256,
    Aes192C,
    Aes256C,
}

impl PrivProto {
    /// `des`, `3des`, `aes`/`aes128`, `aes192`, `aes256`, `aes192c`, `aes256c` (GLPI's
    /// spellings and glpi-agent's, case-insensitive).
    pub fn parse(s: &str) -> Option<PrivProto> {
        let s = s.trim().to_ascii_lowercase().replace(['-', '_'], "");
        Some(match s.as_str() {
            "des" | "cbcdes" => PrivProto::Des,
            "3des" | "3desede" | "des3" | "tripledes" => PrivProto::TripleDes,
            "aes" | "aes128" | "cfb128aes" => PrivProto::Aes128,
            "aes192" | "cfb192aes" => PrivProto::Aes192,
            "aes256" | "cfb256aes" => PrivProto::Aes256,
            "aes192c" => PrivProto::Aes192C,
            "aes256c" => PrivProto::Aes256C,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            PrivProto::Des => "des",
            PrivProto::TripleDes => "3des",
            PrivProto::Aes128 => "aes",
            PrivProto::Aes192 => "aes192",
            PrivProto::Aes256 => "aes256",
            PrivProto::Aes192C => "aes192c",
            PrivProto::Aes256C => "aes256c",
        }
    }
}

/// An SNMPv3 user: its name, authentication and privacy (each with its password), and the
/// context asked (empty, or `vlan-N` for a VLAN's bridge tables).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct UsmUser {
    pub name: String,
    pub auth: Option<(AuthProto, String)>,
    pub privacy: Option<(PrivProto, String)>,
    pub context: String,
}

impl std::fmt::Debug for UsmUser {
    /// Without the passwords.
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "UsmUser({:?}, auth {:?}, priv {:?}, context {:?})",
            self.name,
            self.auth.as_ref().map(|a| a.0),
            self.privacy.as_ref().map(|p| p.0),
            self.context
        )
    }
}

/// One set of credentials: the version and its security parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub version: Version,
    pub security: Security,
}

impl Credential {
    pub fn community(version: Version, community: &str) -> Credential {
        Credential {
            version,
            security: Security::Community(community.to_string()),
        }
    }

    /// The same credential for another context, as BRIDGE-MIB tables per VLAN want it: for a
    /// community, `community@context` (the convention Cisco agents follow).
    pub fn with_context(&self, context: &str) -> Credential {
        match &self.security {
            Security::Usm(u) => Credential {
                version: self.version,
                security: Security::Usm(Box::new(UsmUser {
                    context: format!("vlan-{context}"),
                    ..(**u).clone()
                })),
            },
            Security::Community(c) => {
                let base = c.split('@').next().unwrap_or(c);
                Credential {
                    version: self.version,
                    security: Security::Community(format!("{base}@{context}")),
                }
            }
        }
    }
}

/// A PDU. For GETBULK, `error_status` and `error_index` carry non-repeaters and
/// max-repetitions, as on the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct Pdu {
    pub kind: u8,
    pub request_id: i32,
    pub error_status: i64,
    pub error_index: i64,
    pub varbinds: Vec<(Oid, Value)>,
}

impl Pdu {
    pub fn request(kind: u8, request_id: i32, oids: &[Oid]) -> Pdu {
        Pdu {
            kind,
            request_id,
            error_status: 0,
            error_index: 0,
            varbinds: oids.iter().map(|o| (o.clone(), Value::Null)).collect(),
        }
    }

    pub fn bulk(request_id: i32, non_repeaters: i64, max_repetitions: i64, oids: &[Oid]) -> Pdu {
        Pdu {
            error_status: non_repeaters,
            error_index: max_repetitions,
            ..Pdu::request(GET_BULK, request_id, oids)
        }
    }
}

/// A message as the transport matches it: the PDU, and for v3 the USM's fields (a v1/v2c
/// message has no engine, message id 0).
#[derive(Debug)]
pub struct Incoming {
    pub msg_id: i32,
    pub engine_id: Vec<u8>,
    pub boots: u32,
    pub time: u32,
    pub pdu: Pdu,
}

/// A decoded message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub version: Version,
    pub security: Security,
    pub pdu: Pdu,
}

pub fn encode_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Integer(i) => ber::push_integer(out, *i),
        Value::Octets(b) => ber::push(out, ber::OCTET_STRING, b),
        Value::Null => ber::push(out, ber::NULL, &[]),
        Value::ObjectId(o) => ber::push_oid(out, o),
        Value::IpAddress(a) => ber::push(out, ber::IP_ADDRESS, a),
        Value::Counter32(x) => ber::push_unsigned(out, ber::COUNTER32, u64::from(*x)),
        Value::Gauge32(x) => ber::push_unsigned(out, ber::GAUGE32, u64::from(*x)),
        Value::TimeTicks(x) => ber::push_unsigned(out, ber::TIMETICKS, u64::from(*x)),
        Value::Opaque(b) => ber::push(out, ber::OPAQUE, b),
        Value::Counter64(x) => ber::push_unsigned(out, ber::COUNTER64, *x),
        Value::NoSuchObject => ber::push(out, ber::NO_SUCH_OBJECT, &[]),
        Value::NoSuchInstance => ber::push(out, ber::NO_SUCH_INSTANCE, &[]),
        Value::EndOfMibView => ber::push(out, ber::END_OF_MIB_VIEW, &[]),
    }
}

pub fn decode_value(tag: u8, b: &[u8]) -> Result<Value, BerError> {
    let u32_of = |b: &[u8]| -> Result<u32, BerError> {
        // Values wider than 32 bits are cut to their low 32 bits rather than refused.
        Ok(ber::decode_unsigned(b)? as u32)
    };
    Ok(match tag {
        ber::INTEGER => Value::Integer(ber::decode_integer(b)?),
        ber::OCTET_STRING => Value::Octets(b[..b.len().min(MAX_VALUE_BYTES)].to_vec()),
        ber::NULL => Value::Null,
        ber::OBJECT_ID => Value::ObjectId(ber::decode_oid(b)?),
        ber::IP_ADDRESS => {
            let a: [u8; 4] = b.try_into().map_err(|_| BerError::BadInteger)?;
            Value::IpAddress(a)
        }
        ber::COUNTER32 => Value::Counter32(u32_of(b)?),
        ber::GAUGE32 => Value::Gauge32(u32_of(b)?),
        ber::TIMETICKS => Value::TimeTicks(u32_of(b)?),
        ber::OPAQUE => Value::Opaque(b.to_vec()),
        ber::COUNTER64 => Value::Counter64(ber::decode_unsigned(b)?),
        ber::NO_SUCH_OBJECT => Value::NoSuchObject,
        ber::NO_SUCH_INSTANCE => Value::NoSuchInstance,
        ber::END_OF_MIB_VIEW => Value::EndOfMibView,
        // An unknown type is kept as bytes: one odd value must not lose the whole response.
        _ => Value::Opaque(b.to_vec()),
    })
}

pub fn encode_pdu(out: &mut Vec<u8>, pdu: &Pdu) {
    ber::push_with(out, pdu.kind, |p| {
        ber::push_integer(p, i64::from(pdu.request_id));
        ber::push_integer(p, pdu.error_status);
        ber::push_integer(p, pdu.error_index);
        ber::push_with(p, ber::SEQUENCE, |list| {
            for (oid, v) in &pdu.varbinds {
                ber::push_with(list, ber::SEQUENCE, |vb| {
                    ber::push_oid(vb, oid);
                    encode_value(vb, v);
                });
            }
        });
    });
}

pub fn decode_pdu(r: &mut Reader) -> Result<Pdu, SnmpError> {
    let (kind, content) = r.any()?;
    if !(0xa0..=0xa8).contains(&kind) {
        return Err(SnmpError::Unexpected("not a PDU"));
    }
    let mut p = Reader::new(content);
    let request_id =
        i32::try_from(p.integer()?).map_err(|_| SnmpError::Unexpected("request id"))?;
    let error_status = p.integer()?;
    let error_index = p.integer()?;
    let mut list = p.sequence(ber::SEQUENCE)?;
    let mut varbinds = Vec::new();
    while !list.is_empty() {
        if varbinds.len() == MAX_VARBINDS {
            return Err(SnmpError::Unexpected("too many variable bindings"));
        }
        let mut vb = list.sequence(ber::SEQUENCE)?;
        let oid = vb.oid()?;
        let (tag, b) = vb.any()?;
        varbinds.push((oid, decode_value(tag, b)?));
    }
    Ok(Pdu {
        kind,
        request_id,
        error_status,
        error_index,
        varbinds,
    })
}

/// The datagram for `pdu` under a community (v1, v2c); a v3 message is the USM's to make.
pub fn encode(cred: &Credential, pdu: &Pdu) -> Vec<u8> {
    let mut out = Vec::new();
    let c = match &cred.security {
        Security::Community(c) => c.as_str(),
        Security::Usm(_) => "",
    };
    ber::push_with(&mut out, ber::SEQUENCE, |m| {
        ber::push_integer(m, cred.version.wire());
        ber::push(m, ber::OCTET_STRING, c.as_bytes());
        encode_pdu(m, pdu);
    });
    out
}

/// Reads a datagram. Only v1/v2c envelopes are understood; a v3 one is refused by name.
pub fn decode(data: &[u8]) -> Result<Message, SnmpError> {
    let mut top = Reader::new(data);
    let mut m = top.sequence(ber::SEQUENCE)?;
    top.finish()?;
    let version = match m.integer()? {
        0 => Version::V1,
        1 => Version::V2c,
        3 => return Err(SnmpError::Unsupported("an SNMPv3 message".into())),
        _ => return Err(SnmpError::Unexpected("unknown version")),
    };
    let community = m.octets()?;
    let pdu = decode_pdu(&mut m)?;
    m.finish()?;
    Ok(Message {
        version,
        security: Security::Community(String::from_utf8_lossy(community).into_owned()),
        pdu,
    })
}
