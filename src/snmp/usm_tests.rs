use super::*;
use crate::core::digest::hex;
use crate::snmp::message::{self, Incoming};
use crate::snmp::oid;

const ENGINE: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

/// RFC 3414 A.3.1 and A.3.2: "maplesyrup" to Ku and to Kul for engine 00…02.
#[test]
fn keys_match_rfc3414_appendix_a3() {
    let ku = password_to_key(Kind::Md5, b"maplesyrup");
    assert_eq!(hex(&ku), "9faf3283884e92834ebc9847d8edd963");
    assert_eq!(
        hex(&localize(Kind::Md5, &ku, &ENGINE)),
        "526f5eed9fcce26f8964c2930787d82b"
    );
    let ku = password_to_key(Kind::Sha1, b"maplesyrup");
    assert_eq!(hex(&ku), "9fb5cc0381497b3793528939ff788d5d79145211");
    assert_eq!(
        hex(&localize(Kind::Sha1, &ku, &ENGINE)),
        "6695febc9288e36282235fc7151f128497b38f3f"
    );
}

/// RFC 7860's SHA-2 keys follow A.2 with the SHA-2 hash; the values are pysnmp's (an
/// independent implementation) for the same password and engine.
#[test]
fn sha2_keys_match_an_independent_implementation() {
    let cases = [
        (Kind::Sha224, "0bd8827c6e29f8065e08e09237f177e410f69b90e1782be682075674"),
        (Kind::Sha256, "8982e0e549e866db361a6b625d84cccc11162d453ee8ce3a6445c2d6776f0f8b"),
        (Kind::Sha384, "3b298f16164a11184279d5432bf169e2d2a48307de02b3d3f7e2b4f36eb6f0455a53689a3937eea07319a633d2ccba78"),
        (Kind::Sha512, "22a5a36cedfcc085807a128d7bc6c2382167ad6c0dbc5fdff856740f3d84c099ad1ea87a8db096714d9788bd544047c9021e4229ce27e4c0a69250adfcffbb0b"),
    ];
    for (h, want) in cases {
        assert_eq!(
            hex(&localize(h, &password_to_key(h, b"maplesyrup"), &ENGINE)),
            want,
            "{h:?}"
        );
    }
}

/// Key extension: Reeder's (3DES, Cisco's AES-192/256) and Blumenthal's (AES-192/256), against
/// the Reeder draft's 3DES vector (MD5) and pysnmp's values (SHA-1).
#[test]
fn privacy_keys_are_extended_as_the_drafts_say() {
    let pw = b"maplesyrup";
    assert_eq!(
        hex(&priv_key(Kind::Md5, PrivProto::TripleDes, pw, &ENGINE)),
        "526f5eed9fcce26f8964c2930787d82b79eff44a90650ee0a3a40abfac5acc12"
    );
    assert_eq!(
        hex(&priv_key(Kind::Sha1, PrivProto::TripleDes, pw, &ENGINE)),
        "6695febc9288e36282235fc7151f128497b38f3f9b8b6d78936ba6e7d19dfd9c"
    );
    assert_eq!(
        hex(&priv_key(Kind::Sha1, PrivProto::Aes256C, pw, &ENGINE)),
        "6695febc9288e36282235fc7151f128497b38f3f9b8b6d78936ba6e7d19dfd9c"
    );
    assert_eq!(
        hex(&priv_key(Kind::Sha1, PrivProto::Aes256, pw, &ENGINE)),
        "6695febc9288e36282235fc7151f128497b38f3f505e07eb9af25568fa1f5dbe"
    );
    assert_eq!(
        hex(&priv_key(Kind::Sha1, PrivProto::Aes192, pw, &ENGINE)),
        "6695febc9288e36282235fc7151f128497b38f3f505e07eb"
    );
    assert_eq!(priv_key(Kind::Sha1, PrivProto::Des, pw, &ENGINE).len(), 16);
}

/// AES-CFB128 against NIST SP 800-38A F.3.13 (the IV's three parts carry its 16 bytes).
#[test]
fn aes_cfb_matches_nist_sp800_38a() {
    let key: Vec<u8> = (0..16)
        .map(|i| {
            [
                0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf,
                0x4f, 0x3c,
            ][i]
        })
        .collect();
    let salt = [8, 9, 10, 11, 12, 13, 14, 15];
    let plain = [
        0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96, 0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93, 0x17,
        0x2a, 0xae, 0x2d,
    ];
    let c = encrypt(
        PrivProto::Aes128,
        &key,
        0x0001_0203,
        0x0405_0607,
        &salt,
        &plain,
    );
    assert_eq!(hex(&c[..16]), "3b3fd92eb72dad20333449f8e83cfb4a");
    assert_eq!(c.len(), plain.len(), "CFB has no padding");
    let back = decrypt(PrivProto::Aes128, &key, 0x0001_0203, 0x0405_0607, &salt, &c).unwrap();
    assert_eq!(back, plain);
}

#[test]
fn every_privacy_protocol_round_trips() {
    let data: Vec<u8> = (0..77u8).collect();
    let salt = [1, 2, 3, 4, 5, 6, 7, 8];
    for p in [
        PrivProto::Des,
        PrivProto::TripleDes,
        PrivProto::Aes128,
        PrivProto::Aes192,
        PrivProto::Aes256,
        PrivProto::Aes192C,
        PrivProto::Aes256C,
    ] {
        let key = priv_key(Kind::Sha256, p, b"privacy-pass", &ENGINE);
        let c = encrypt(p, &key, 7, 99, &salt, &data);
        assert_ne!(&c[..data.len()], &data[..], "{p:?}");
        let back = decrypt(p, &key, 7, 99, &salt, &c).unwrap();
        assert_eq!(&back[..data.len()], &data[..], "{p:?}");
        // Another key gives something else.
        let other = priv_key(Kind::Sha256, p, b"privacy-wrong", &ENGINE);
        let garbage = decrypt(p, &other, 7, 99, &salt, &c).unwrap();
        assert_ne!(&garbage[..data.len()], &data[..], "{p:?}");
    }
    // A DES ciphertext that is not whole blocks.
    assert!(decrypt(PrivProto::Des, &[0; 16], 0, 0, &salt, &[0; 9]).is_none());
}

fn user(auth: AuthProto, privacy: Option<(PrivProto, &str)>) -> UsmUser {
    UsmUser {
        name: "inventory".into(),
        auth: Some((auth, "auth-password".into())),
        privacy: privacy.map(|(p, s)| (p, s.into())),
        context: String::new(),
    }
}

fn learned(u: UsmUser) -> Usm {
    let mut usm = Usm::new(u).unwrap();
    usm.learn(&Incoming {
        msg_id: 0,
        engine_id: ENGINE.to_vec(),
        boots: 3,
        time: 1000,
        pdu: Pdu::request(message::REPORT, 0, &[]),
    })
    .unwrap();
    usm
}

/// A message encoded under a user decodes under the same user (HMAC checked, PDU decrypted),
/// for every authentication protocol; a flipped byte, another password or another privacy
/// password are refused with the error that names it.
#[test]
fn messages_authenticate_and_decrypt() {
    let pdu = Pdu::request(message::GET, 42, &[oid(".1.3.6.1.2.1.1.5.0")]);
    for a in [
        AuthProto::Md5,
        AuthProto::Sha1,
        AuthProto::Sha224,
        AuthProto::Sha256,
        AuthProto::Sha384,
        AuthProto::Sha512,
    ] {
        let mut usm = learned(user(a, Some((PrivProto::Aes128, "privacy-pass"))));
        let (id, msg) = usm.encode(&pdu).unwrap();
        let m = usm.decode(&msg).unwrap();
        assert_eq!((m.msg_id, m.pdu.request_id), (id, 42), "{a:?}");
        assert_eq!(m.pdu.varbinds, pdu.varbinds);
        assert_eq!(m.engine_id, ENGINE);
        // Tampered.
        let mut bad = msg.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(
            matches!(usm.decode(&bad), Err(SnmpError::Usm(e)) if e.contains("digest")),
            "{a:?}"
        );
        // Another authentication password.
        let mut other = user(a, Some((PrivProto::Aes128, "privacy-pass")));
        other.auth = Some((a, "another-password".into()));
        assert!(
            matches!(learned(other).decode(&msg), Err(SnmpError::Usm(e)) if e.contains("authentication"))
        );
        // Another privacy password: a fast, named decryption error.
        let wrong = learned(user(a, Some((PrivProto::Aes128, "privacy-wrong"))));
        match wrong.decode(&msg) {
            Err(SnmpError::Usm(e)) => assert!(e.contains("decryption error"), "{e}"),
            other => panic!("{a:?}: {other:?}"),
        }
    }
    // authNoPriv and DES.
    for privacy in [
        None,
        Some((PrivProto::Des, "privacy-pass")),
        Some((PrivProto::TripleDes, "privacy-pass")),
    ] {
        let mut usm = learned(user(AuthProto::Sha1, privacy));
        let (_, msg) = usm.encode(&pdu).unwrap();
        assert_eq!(usm.decode(&msg).unwrap().pdu.request_id, 42);
    }
}

#[test]
fn users_and_reports_are_checked() {
    let mut u = user(AuthProto::Md5, None);
    u.auth = Some((AuthProto::Md5, "short".into()));
    assert!(Usm::new(u).is_err());
    let mut u = user(AuthProto::Md5, None);
    u.auth = None;
    u.privacy = Some((PrivProto::Des, "privacy-pass".into()));
    assert!(Usm::new(u).is_err(), "privacy without authentication");
    // The discovery probe decodes as a reportable, unauthenticated GET with no variable.
    let mut usm = Usm::new(user(AuthProto::Sha256, None)).unwrap();
    let (id, probe) = usm.discovery();
    let m = usm.decode(&probe).unwrap();
    assert_eq!(m.msg_id, id);
    assert!(m.pdu.varbinds.is_empty());
    // Reports.
    let report = |s: &str| {
        let mut p = Pdu::request(message::REPORT, 0, &[oid(s)]);
        p.varbinds[0].1 = Value::Counter32(1);
        report_action(&p)
    };
    assert_eq!(report(".1.3.6.1.6.3.15.1.1.2.0"), ReportAction::Resync);
    assert_eq!(report(".1.3.6.1.6.3.15.1.1.4.0"), ReportAction::Rediscover);
    for (o, word) in [
        (".1.3.6.1.6.3.15.1.1.3.0", "unknown user"),
        (".1.3.6.1.6.3.15.1.1.5.0", "wrong authentication"),
        (".1.3.6.1.6.3.15.1.1.6.0", "wrong privacy"),
        (".1.3.6.1.6.3.15.1.1.1.0", "security level"),
    ] {
        match report(o) {
            ReportAction::Fail(SnmpError::Usm(e)) => assert!(e.contains(word), "{e}"),
            r => panic!("{o}: {r:?}"),
        }
    }
}
