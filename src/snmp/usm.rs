//! SNMPv3's user-based security model (RFC 3412 messages, RFC 3414 USM): engine discovery,
//! the time window, keys from passwords (RFC 3414 A.2, RFC 7860 for SHA-2), authentication by
//! HMAC (MD5, SHA-1, SHA-224/256/384/512 cut to 12, 12, 16, 24, 32, 48 bytes), privacy by
//! DES-CBC (RFC 3414 8), 3DES-EDE-CBC (Reeder's draft), AES-CFB128 (RFC 3826) with 128, 192 or
//! 256-bit keys (the longer keys extended by Blumenthal's draft, or by Reeder's as Cisco does:
//! `aes192c`, `aes256c`).
//!
//! The hashes and HMAC are [`crate::core::digest`]'s; the block ciphers are RustCrypto's `aes`
//! and `des`, behind one enum so that each mode is compiled once. Reports the agent sends back
//! (unknown user, wrong digest, decryption error…) become errors that say what to fix: a
//! wrong password fails at once, never as a timeout.

use std::time::Instant;

use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};

use super::ber::{self, Reader};
use super::message::{
    decode_pdu, encode_pdu, AuthProto, Incoming, Pdu, PrivProto, UsmUser, REPORT,
};
use super::{Oid, SnmpError, Value};
use crate::core::digest::Kind;

/// msgFlags bits.
const FLAG_AUTH: u8 = 1;
const FLAG_PRIV: u8 = 2;
const FLAG_REPORTABLE: u8 = 4;
/// The user-based security model's number.
const USM: i64 = 3;
/// msgMaxSize we announce: the largest UDP payload over IPv4.
const MAX_SIZE: i64 = 65_507;
/// Longest engine id (RFC 3411: 5 to 32 bytes) and user name (32) accepted from outside.
const MAX_ENGINE_ID: usize = 32;
/// Bytes of the password expanded and hashed into a key (RFC 3414 A.2.1).
const PASSWORD_EXPANSION: usize = 1_048_576;
/// Shortest password net-snmp and RFC 3414 accept.
pub const MIN_PASSWORD: usize = 8;

/// usmStats counters an agent reports (1.3.6.1.6.3.15.1.1.N.0).
const USM_STATS: [u32; 9] = [1, 3, 6, 1, 6, 3, 15, 1, 1];
const NOT_IN_TIME_WINDOW: u32 = 2;
const UNKNOWN_ENGINE_ID: u32 = 4;

fn hash_of(a: AuthProto) -> Kind {
    match a {
        AuthProto::Md5 => Kind::Md5,
        AuthProto::Sha1 => Kind::Sha1,
        AuthProto::Sha224 => Kind::Sha224,
        AuthProto::Sha256 => Kind::Sha256,
        AuthProto::Sha384 => Kind::Sha384,
        AuthProto::Sha512 => Kind::Sha512,
    }
}

/// Bytes of the authentication parameter: the HMAC cut (RFC 3414: 12; RFC 7860: 16 to 48).
pub fn mac_len(a: AuthProto) -> usize {
    match a {
        AuthProto::Md5 | AuthProto::Sha1 => 12,
        AuthProto::Sha224 => 16,
        AuthProto::Sha256 => 24,
        AuthProto::Sha384 => 32,
        AuthProto::Sha512 => 48,
    }
}

/// Ku: the password repeated over 1 MiB and hashed (RFC 3414 A.2.1).
pub fn password_to_key(h: Kind, password: &[u8]) -> Vec<u8> {
    let mut hasher = h.hasher();
    if password.is_empty() {
        return hasher.finish();
    }
    let mut chunk = [0u8; 64];
    let mut at = 0usize;
    let mut done = 0usize;
    while done < PASSWORD_EXPANSION {
        for c in chunk.iter_mut() {
            *c = password[at];
            at = (at + 1) % password.len();
        }
        hasher.update(&chunk);
        done += 64;
    }
    hasher.finish()
}

/// Kul: Ku localized to an engine, H(Ku ‖ engineID ‖ Ku) (RFC 3414 A.2.2).
pub fn localize(h: Kind, ku: &[u8], engine_id: &[u8]) -> Vec<u8> {
    h.digest(&[ku, engine_id, ku])
}

/// Bytes of the privacy key a protocol uses (key and pre-IV for the CBC ones).
fn priv_key_len(p: PrivProto) -> usize {
    match p {
        PrivProto::Des | PrivProto::Aes128 => 16,
        PrivProto::Aes192 | PrivProto::Aes192C => 24,
        PrivProto::Aes256 | PrivProto::Aes256C | PrivProto::TripleDes => 32,
    }
}

/// The localized privacy key, extended to the protocol's length: by hashing the key so far
/// (Blumenthal), or by the password-to-key steps with the key so far as the password (Reeder,
/// which 3DES and Cisco's AES-192/256 use).
pub fn priv_key(h: Kind, p: PrivProto, password: &[u8], engine_id: &[u8]) -> Vec<u8> {
    let want = priv_key_len(p);
    let mut key = localize(h, &password_to_key(h, password), engine_id);
    while key.len() < want {
        let more = match p {
            PrivProto::Aes192 | PrivProto::Aes256 => h.digest(&[&key]),
            _ => localize(h, &password_to_key(h, &key), engine_id),
        };
        key.extend_from_slice(&more);
    }
    key.truncate(want);
    key
}

/// One block cipher, chosen at run time.
enum Cipher {
    Des(des::Des),
    Tdes(des::TdesEde3),
    Aes128(aes::Aes128),
    Aes192(aes::Aes192),
    Aes256(aes::Aes256),
}

impl Cipher {
    fn new(p: PrivProto, key: &[u8]) -> Option<Cipher> {
        Some(match p {
            PrivProto::Des => Cipher::Des(des::Des::new_from_slice(key.get(..8)?).ok()?),
            PrivProto::TripleDes => {
                Cipher::Tdes(des::TdesEde3::new_from_slice(key.get(..24)?).ok()?)
            }
            PrivProto::Aes128 => Cipher::Aes128(aes::Aes128::new_from_slice(key.get(..16)?).ok()?),
            PrivProto::Aes192 | PrivProto::Aes192C => {
                Cipher::Aes192(aes::Aes192::new_from_slice(key.get(..24)?).ok()?)
            }
            PrivProto::Aes256 | PrivProto::Aes256C => {
                Cipher::Aes256(aes::Aes256::new_from_slice(key.get(..32)?).ok()?)
            }
        })
    }

    fn encrypt(&self, b: &mut [u8]) {
        match self {
            Cipher::Des(c) => c.encrypt_block(GenericArray::from_mut_slice(b)),
            Cipher::Tdes(c) => c.encrypt_block(GenericArray::from_mut_slice(b)),
            Cipher::Aes128(c) => c.encrypt_block(GenericArray::from_mut_slice(b)),
            Cipher::Aes192(c) => c.encrypt_block(GenericArray::from_mut_slice(b)),
            Cipher::Aes256(c) => c.encrypt_block(GenericArray::from_mut_slice(b)),
        }
    }

    fn decrypt(&self, b: &mut [u8]) {
        match self {
            Cipher::Des(c) => c.decrypt_block(GenericArray::from_mut_slice(b)),
            Cipher::Tdes(c) => c.decrypt_block(GenericArray::from_mut_slice(b)),
            Cipher::Aes128(c) => c.decrypt_block(GenericArray::from_mut_slice(b)),
            Cipher::Aes192(c) => c.decrypt_block(GenericArray::from_mut_slice(b)),
            Cipher::Aes256(c) => c.decrypt_block(GenericArray::from_mut_slice(b)),
        }
    }
}

fn is_aes(p: PrivProto) -> bool {
    !matches!(p, PrivProto::Des | PrivProto::TripleDes)
}

/// The IV: AES's boots ‖ time ‖ salt (RFC 3826 3.1.2.1); DES's pre-IV (the key's last 8
/// bytes) XOR salt (RFC 3414 8.1.1.1).
fn iv(p: PrivProto, key: &[u8], boots: u32, time: u32, salt: &[u8; 8]) -> Vec<u8> {
    if is_aes(p) {
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(&boots.to_be_bytes());
        v.extend_from_slice(&time.to_be_bytes());
        v.extend_from_slice(salt);
        v
    } else {
        let pre = &key[key.len() - 8..];
        pre.iter().zip(salt).map(|(a, b)| a ^ b).collect()
    }
}

/// Encrypts a scoped PDU: CFB128 for AES (no padding), CBC for DES and 3DES (padded to 8).
pub fn encrypt(
    p: PrivProto,
    key: &[u8],
    boots: u32,
    time: u32,
    salt: &[u8; 8],
    plain: &[u8],
) -> Vec<u8> {
    let Some(c) = Cipher::new(p, key) else {
        return Vec::new();
    };
    let mut reg = iv(p, key, boots, time, salt);
    let mut out = plain.to_vec();
    if is_aes(p) {
        for chunk in out.chunks_mut(16) {
            c.encrypt(&mut reg);
            for (x, k) in chunk.iter_mut().zip(&reg) {
                *x ^= k;
            }
            reg[..chunk.len()].copy_from_slice(chunk);
        }
    } else {
        out.resize(plain.len().div_ceil(8) * 8, 0);
        for chunk in out.chunks_mut(8) {
            for (x, v) in chunk.iter_mut().zip(&reg) {
                *x ^= v;
            }
            c.encrypt(chunk);
            reg.copy_from_slice(chunk);
        }
    }
    out
}

/// Decrypts; `None` when the length cannot be CBC's.
pub fn decrypt(
    p: PrivProto,
    key: &[u8],
    boots: u32,
    time: u32,
    salt: &[u8; 8],
    data: &[u8],
) -> Option<Vec<u8>> {
    let c = Cipher::new(p, key)?;
    let mut reg = iv(p, key, boots, time, salt);
    let mut out = data.to_vec();
    if is_aes(p) {
        for chunk in out.chunks_mut(16) {
            c.encrypt(&mut reg);
            let next: Vec<u8> = chunk.to_vec();
            for (x, k) in chunk.iter_mut().zip(&reg) {
                *x ^= k;
            }
            reg[..next.len()].copy_from_slice(&next);
        }
    } else {
        if data.len() % 8 != 0 {
            return None;
        }
        for chunk in out.chunks_mut(8) {
            let next = chunk.to_vec();
            c.decrypt(chunk);
            for (x, v) in chunk.iter_mut().zip(&reg) {
                *x ^= v;
            }
            reg.copy_from_slice(&next);
        }
    }
    Some(out)
}

/// What the agent's engine told us: its id, boots and time (at the instant we learned it).
#[derive(Debug, Clone)]
struct Engine {
    id: Vec<u8>,
    boots: u32,
    time: u32,
    at: Instant,
}

/// What to do with a REPORT an agent sent for a request.
#[derive(Debug, PartialEq)]
pub enum ReportAction {
    /// Our time was off: take the agent's and send again.
    Resync,
    /// The engine is not the one we know (it restarted or changed): discover again.
    Rediscover,
    /// A refusal that another try will not change.
    Fail(SnmpError),
}

/// The meaning of a REPORT's first variable.
pub fn report_action(pdu: &Pdu) -> ReportAction {
    let Some((oid, _)) = pdu.varbinds.first() else {
        return ReportAction::Fail(SnmpError::Usm("the agent sent an empty report".into()));
    };
    let stat = oid
        .suffix(&Oid(USM_STATS.to_vec()))
        .and_then(|s| s.first().copied());
    let why = match stat {
        Some(NOT_IN_TIME_WINDOW) => return ReportAction::Resync,
        Some(UNKNOWN_ENGINE_ID) => return ReportAction::Rediscover,
        Some(1) => "the agent does not allow this security level for the user (usmStatsUnsupportedSecLevels): check whether it wants authentication and privacy",
        Some(3) => "unknown user name (usmStatsUnknownUserNames)",
        Some(5) => "wrong authentication password or protocol (usmStatsWrongDigests)",
        Some(6) => "decryption error: wrong privacy password or protocol (usmStatsDecryptionErrors)",
        _ if oid.starts_with(&Oid(vec![1, 3, 6, 1, 6, 3, 12, 1, 5])) => {
            "unknown context (snmpUnknownContexts)"
        }
        _ => return ReportAction::Fail(SnmpError::Usm(format!("the agent reported {oid}"))),
    };
    ReportAction::Fail(SnmpError::Usm(why.into()))
}

/// The USM state of one session: the user, the agent's engine, the keys localized to it, and
/// the counters of message ids and salts.
pub struct Usm {
    user: UsmUser,
    engine: Option<Engine>,
    auth_key: Vec<u8>,
    priv_key: Vec<u8>,
    next_msg_id: i32,
    salt: u64,
    /// Whether an encrypted request of this session was answered (the privacy key works).
    pub privacy_checked: bool,
}

impl Usm {
    /// Checks the user: passwords of at least 8 characters where a protocol needs one,
    /// privacy only with authentication.
    pub fn new(user: UsmUser) -> Result<Usm, SnmpError> {
        if user.name.is_empty() || user.name.len() > MAX_ENGINE_ID {
            return Err(SnmpError::Usm(
                "a user name of 1 to 32 characters is needed".into(),
            ));
        }
        if user.privacy.is_some() && user.auth.is_none() {
            return Err(SnmpError::Usm(
                "privacy needs authentication (authPriv)".into(),
            ));
        }
        for (what, pass) in [
            ("authentication", user.auth.as_ref().map(|a| &a.1)),
            ("privacy", user.privacy.as_ref().map(|p| &p.1)),
        ] {
            if pass.is_some_and(|p| p.len() < MIN_PASSWORD) {
                return Err(SnmpError::Usm(format!(
                    "the {what} password is shorter than {MIN_PASSWORD} characters (RFC 3414)"
                )));
            }
        }
        let r = crate::core::random::u64();
        Ok(Usm {
            user,
            engine: None,
            auth_key: Vec::new(),
            priv_key: Vec::new(),
            next_msg_id: (r & 0x3fff_ffff) as i32,
            salt: r >> 1,
            privacy_checked: false,
        })
    }

    pub fn knows_engine(&self) -> bool {
        self.engine.is_some()
    }

    /// Forgets the engine (it restarted, or another answers at the address).
    pub fn forget_engine(&mut self) {
        self.engine = None;
    }

    fn flags(&self) -> u8 {
        FLAG_REPORTABLE
            | if self.user.auth.is_some() {
                FLAG_AUTH
            } else {
                0
            }
            | if self.user.privacy.is_some() {
                FLAG_PRIV
            } else {
                0
            }
    }

    fn take_msg_id(&mut self) -> i32 {
        let id = self.next_msg_id;
        self.next_msg_id = if id >= i32::MAX - 1 { 1 } else { id + 1 };
        id
    }

    /// The discovery probe (RFC 3414 4): no user, no engine, reportable; the agent answers a
    /// report with its engine id, boots and time.
    pub fn discovery(&mut self) -> (i32, Vec<u8>) {
        let id = self.take_msg_id();
        let pdu = Pdu::request(super::message::GET, id, &[]);
        let mut scoped = Vec::new();
        ber::push_with(&mut scoped, ber::SEQUENCE, |s| {
            ber::push(s, ber::OCTET_STRING, b"");
            ber::push(s, ber::OCTET_STRING, b"");
            encode_pdu(s, &pdu);
        });
        let msg = wrap(
            id,
            FLAG_REPORTABLE,
            &[],
            0,
            0,
            b"",
            &[],
            &[],
            &scoped,
            false,
        )
        .0;
        (id, msg)
    }

    /// Takes the engine a discovery report (or a time-window report) names, and localizes the
    /// keys to it when it is new.
    pub fn learn(&mut self, m: &Incoming) -> Result<(), SnmpError> {
        if m.engine_id.is_empty() || m.engine_id.len() > MAX_ENGINE_ID {
            return Err(SnmpError::Usm("the agent gave no usable engine id".into()));
        }
        let new = self.engine.as_ref().is_none_or(|e| e.id != m.engine_id);
        self.engine = Some(Engine {
            id: m.engine_id.clone(),
            boots: m.boots,
            time: m.time,
            at: Instant::now(),
        });
        if new {
            if let Some((a, pass)) = &self.user.auth {
                let h = hash_of(*a);
                self.auth_key = localize(h, &password_to_key(h, pass.as_bytes()), &m.engine_id);
                if let Some((p, ppass)) = &self.user.privacy {
                    self.priv_key = priv_key(h, *p, ppass.as_bytes(), &m.engine_id);
                }
            }
        }
        Ok(())
    }

    /// Whether the user encrypts.
    pub fn has_privacy(&self) -> bool {
        self.user.privacy.is_some()
    }

    /// `pdu` authenticated but not encrypted (authNoPriv), whatever the user's level: the
    /// probe that tells a wrong privacy password (the agent answers it, and stays silent on the
    /// encrypted request it cannot decrypt) from an agent that does not answer at all.
    pub fn encode_without_privacy(&mut self, pdu: &Pdu) -> Result<(i32, Vec<u8>), SnmpError> {
        let privacy = self.user.privacy.take();
        let r = self.encode(pdu);
        self.user.privacy = privacy;
        r
    }

    /// The datagram for `pdu` (its request id already set); the message id to match.
    pub fn encode(&mut self, pdu: &Pdu) -> Result<(i32, Vec<u8>), SnmpError> {
        let Some(e) = self.engine.clone() else {
            return Err(SnmpError::Usm("no engine discovered".into()));
        };
        let id = self.take_msg_id();
        let time = e
            .time
            .saturating_add(e.at.elapsed().as_secs().min(u64::from(u32::MAX)) as u32);
        let mut scoped = Vec::new();
        ber::push_with(&mut scoped, ber::SEQUENCE, |s| {
            ber::push(s, ber::OCTET_STRING, &e.id);
            ber::push(s, ber::OCTET_STRING, self.user.context.as_bytes());
            encode_pdu(s, pdu);
        });
        let mut salt = [0u8; 8];
        let (data, encrypted) = match &self.user.privacy {
            Some((p, _)) => {
                self.salt = self.salt.wrapping_add(1);
                salt = if is_aes(*p) {
                    self.salt.to_be_bytes()
                } else {
                    let mut s = [0u8; 8];
                    s[..4].copy_from_slice(&e.boots.to_be_bytes());
                    s[4..].copy_from_slice(&(self.salt as u32).to_be_bytes());
                    s
                };
                (
                    encrypt(*p, &self.priv_key, e.boots, time, &salt, &scoped),
                    true,
                )
            }
            None => (scoped, false),
        };
        let mac = self
            .user
            .auth
            .as_ref()
            .map(|(a, _)| mac_len(*a))
            .unwrap_or(0);
        let priv_params: &[u8] = if encrypted { &salt } else { &[] };
        let (mut msg, at) = wrap(
            id,
            self.flags(),
            &e.id,
            e.boots,
            time,
            self.user.name.as_bytes(),
            &vec![0; mac],
            priv_params,
            &data,
            encrypted,
        );
        if let Some((a, _)) = self.user.auth {
            let digest = hash_of(a).hmac(&self.auth_key, &[&msg]);
            msg[at..at + mac].copy_from_slice(&digest[..mac]);
        }
        Ok((id, msg))
    }

    /// Reads a v3 datagram: checks its HMAC when it says it is authenticated (a response to
    /// an authenticated request must be), decrypts it when it says it is encrypted.
    pub fn decode(&self, data: &[u8]) -> Result<Incoming, SnmpError> {
        let mut top = Reader::new(data);
        let mut m = top.sequence(ber::SEQUENCE)?;
        top.finish()?;
        if m.integer()? != 3 {
            return Err(SnmpError::Unexpected("not an SNMPv3 message"));
        }
        let mut global = m.sequence(ber::SEQUENCE)?;
        let msg_id =
            i32::try_from(global.integer()?).map_err(|_| SnmpError::Unexpected("msgID"))?;
        let _max = global.integer()?;
        let flags = *global
            .octets()?
            .first()
            .ok_or(SnmpError::Unexpected("msgFlags"))?;
        if global.integer()? != USM {
            return Err(SnmpError::Unexpected("not the user-based security model"));
        }
        let sp_bytes = m.octets()?;
        let mut sp = Reader::new(sp_bytes).sequence(ber::SEQUENCE)?;
        let engine_id = sp.octets()?.to_vec();
        let boots = u32::try_from(sp.integer()?).unwrap_or(0);
        let time = u32::try_from(sp.integer()?).unwrap_or(0);
        let user = sp.octets()?;
        let auth = sp.octets()?;
        let privp = sp.octets()?;
        let is_report_level = flags & (FLAG_AUTH | FLAG_PRIV) == 0;
        if flags & FLAG_AUTH != 0 {
            let Some((a, _)) = self.user.auth else {
                return Err(SnmpError::Unexpected(
                    "an authenticated message for a user without authentication",
                ));
            };
            if user != self.user.name.as_bytes() || self.auth_key.is_empty() {
                return Err(SnmpError::Unexpected(
                    "a message for another user or engine",
                ));
            }
            let mac = mac_len(a);
            if auth.len() != mac {
                return Err(SnmpError::Usm(
                    "an authentication parameter of the wrong length".into(),
                ));
            }
            // Where the parameter sits in the datagram: zeroed for the HMAC.
            let at = auth.as_ptr() as usize - data.as_ptr() as usize;
            let mut copy = data.to_vec();
            copy[at..at + mac].fill(0);
            let want = hash_of(a).hmac(&self.auth_key, &[&copy]);
            if !constant_eq(&want[..mac], auth) {
                return Err(SnmpError::Usm(
                    "a response whose digest does not match: wrong authentication password or protocol".into(),
                ));
            }
        } else if self.user.auth.is_some() && !is_report_level {
            return Err(SnmpError::Unexpected("an unauthenticated response"));
        }
        let plain;
        let mut scoped = if flags & FLAG_PRIV != 0 {
            let Some((p, _)) = self.user.privacy else {
                return Err(SnmpError::Unexpected(
                    "an encrypted message for a user without privacy",
                ));
            };
            let enc = m.octets()?;
            let salt: [u8; 8] = privp
                .try_into()
                .map_err(|_| SnmpError::Usm("a privacy parameter that is not 8 bytes".into()))?;
            plain = decrypt(p, &self.priv_key, boots, time, &salt, enc).ok_or_else(|| {
                SnmpError::Usm("decryption error: wrong privacy password or protocol".into())
            })?;
            // Garbage after decryption: the keys differ (the agent's would have refused ours).
            let mut r = Reader::new(&plain);
            r.sequence(ber::SEQUENCE).map_err(|_| {
                SnmpError::Usm("decryption error: the response does not decrypt (wrong privacy password or protocol)".into())
            })?
        } else {
            m.sequence(ber::SEQUENCE)?
        };
        let _context_engine = scoped.octets()?;
        let _context = scoped.octets()?;
        let pdu = decode_pdu(&mut scoped)?;
        Ok(Incoming {
            msg_id,
            engine_id,
            boots,
            time,
            pdu,
        })
    }
}

/// A v3 message around `data` (a scoped PDU, or its encryption); also the offset of the
/// authentication parameter in it, for the HMAC.
#[allow(clippy::too_many_arguments)]
fn wrap(
    msg_id: i32,
    flags: u8,
    engine: &[u8],
    boots: u32,
    time: u32,
    user: &[u8],
    auth: &[u8],
    privp: &[u8],
    data: &[u8],
    encrypted: bool,
) -> (Vec<u8>, usize) {
    let mut sp_inner = Vec::new();
    ber::push(&mut sp_inner, ber::OCTET_STRING, engine);
    ber::push_integer(&mut sp_inner, i64::from(boots));
    ber::push_integer(&mut sp_inner, i64::from(time));
    ber::push(&mut sp_inner, ber::OCTET_STRING, user);
    // auth is at most 48 bytes: its length is one byte.
    let auth_in_inner = sp_inner.len() + 2;
    ber::push(&mut sp_inner, ber::OCTET_STRING, auth);
    ber::push(&mut sp_inner, ber::OCTET_STRING, privp);
    let mut sp = Vec::new();
    ber::push(&mut sp, ber::SEQUENCE, &sp_inner);
    let auth_in_sp = sp.len() - sp_inner.len() + auth_in_inner;
    let mut body = Vec::new();
    ber::push_integer(&mut body, 3);
    ber::push_with(&mut body, ber::SEQUENCE, |g| {
        ber::push_integer(g, i64::from(msg_id));
        ber::push_integer(g, MAX_SIZE);
        ber::push(g, ber::OCTET_STRING, &[flags]);
        ber::push_integer(g, USM);
    });
    let before_sp = body.len();
    ber::push(&mut body, ber::OCTET_STRING, &sp);
    let auth_in_body = body.len() - sp.len() + auth_in_sp;
    let _ = before_sp;
    if encrypted {
        ber::push(&mut body, ber::OCTET_STRING, data);
    } else {
        body.extend_from_slice(data);
    }
    let mut out = Vec::with_capacity(body.len() + 4);
    ber::push(&mut out, ber::SEQUENCE, &body);
    let at = out.len() - body.len() + auth_in_body;
    (out, at)
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a decoded message is a report.
pub fn is_report(pdu: &Pdu) -> bool {
    pdu.kind == REPORT
}

/// The value of a report's counter (for logs).
pub fn report_value(pdu: &Pdu) -> Option<&Value> {
    pdu.varbinds.first().map(|(_, v)| v)
}

#[cfg(test)]
#[path = "usm_tests.rs"]
mod tests;
