use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use super::ber::{self, BerError, Reader};
use super::message::{self, Credential, Pdu, Security, Version};
use super::*;

fn o(s: &str) -> Oid {
    Oid::parse(s).unwrap()
}

#[test]
fn oids_encode_as_the_standard_says() {
    // sysDescr.0: 06 08 2b 06 01 02 01 01 01 00
    let mut out = Vec::new();
    ber::push_oid(&mut out, &o(".1.3.6.1.2.1.1.1.0"));
    assert_eq!(out, [0x06, 0x08, 0x2b, 6, 1, 2, 1, 1, 1, 0]);
    // Arcs of several bytes, and the largest one.
    for s in [
        ".1.3.6.1.4.1.2636.1.1.1.2.29",
        ".2.999.3",
        ".1.3.4294967295",
        ".0.0",
    ] {
        let enc = ber::encode_oid(&o(s));
        assert_eq!(ber::decode_oid(&enc).unwrap(), o(s), "{s}");
    }
    assert_eq!(o(".1.3.6").to_string(), ".1.3.6");
    assert_eq!(Oid::parse("1.3.x"), None);
    assert_eq!(Oid::parse(""), None);
}

#[test]
fn integers_round_trip_in_their_shortest_form() {
    for (v, want) in [
        (0i64, &[0x02, 1, 0][..]),
        (127, &[2, 1, 0x7f]),
        (128, &[2, 2, 0, 0x80]),
        (-1, &[2, 1, 0xff]),
        (-129, &[2, 2, 0xff, 0x7f]),
    ] {
        let mut out = Vec::new();
        ber::push_integer(&mut out, v);
        assert_eq!(out, want, "{v}");
        assert_eq!(Reader::new(&out).integer().unwrap(), v);
    }
    for v in [i64::MIN, i64::MAX, 65536, -65536] {
        let mut out = Vec::new();
        ber::push_integer(&mut out, v);
        assert_eq!(Reader::new(&out).integer().unwrap(), v);
    }
    let mut out = Vec::new();
    ber::push_unsigned(&mut out, ber::COUNTER64, u64::MAX);
    assert_eq!(out.len(), 2 + 9);
    let (tag, b) = Reader::new(&out).any().unwrap();
    assert_eq!(
        message::decode_value(tag, b).unwrap(),
        Value::Counter64(u64::MAX)
    );
}

#[test]
fn the_decoder_refuses_what_is_out_of_bounds() {
    // Length past the end.
    assert_eq!(
        Reader::new(&[0x04, 0x05, 1, 2]).any(),
        Err(BerError::Truncated)
    );
    // Indefinite length, and a length of four bytes.
    assert_eq!(
        Reader::new(&[0x30, 0x80, 0, 0]).any(),
        Err(BerError::BadLength)
    );
    assert_eq!(
        Reader::new(&[0x04, 0x84, 0, 0, 0, 1, 0]).any(),
        Err(BerError::BadLength)
    );
    // Nothing after the tag.
    assert_eq!(Reader::new(&[0x04]).any(), Err(BerError::Truncated));
    // An integer of nine bytes, an empty one.
    assert!(Reader::new(&[2, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9])
        .integer()
        .is_err());
    assert!(Reader::new(&[2, 0]).integer().is_err());
    // An OID whose last arc does not end, an arc above 2^32, too many arcs.
    assert_eq!(ber::decode_oid(&[0x2b, 0x86]), Err(BerError::Truncated));
    assert_eq!(
        ber::decode_oid(&[0x2b, 0x90, 0x80, 0x80, 0x80, 0x80, 0]),
        Err(BerError::BadOid)
    );
    assert_eq!(ber::decode_oid(&[0x2b; 200]), Err(BerError::BadOid));
    assert_eq!(ber::decode_oid(&[]), Err(BerError::BadOid));
}

fn sample_response(id: i32, community: &str) -> Vec<u8> {
    let pdu = Pdu {
        kind: message::RESPONSE,
        request_id: id,
        error_status: 0,
        error_index: 0,
        varbinds: vec![
            (
                o(".1.3.6.1.2.1.1.1.0"),
                Value::Octets(b"Linux box".to_vec()),
            ),
            (
                o(".1.3.6.1.2.1.1.2.0"),
                Value::ObjectId(o(".1.3.6.1.4.1.8072.3.2.10")),
            ),
            (o(".1.3.6.1.2.1.1.3.0"), Value::TimeTicks(4_000_000_000)),
            (
                o(".1.3.6.1.2.1.4.20.1.1.10.0.0.1"),
                Value::IpAddress([10, 0, 0, 1]),
            ),
            (o(".1.3.6.1.2.1.2.2.1.10.1"), Value::Counter32(u32::MAX)),
            (o(".1.3.6.1.2.1.2.2.1.5.1"), Value::Gauge32(1_000_000_000)),
            (o(".1.3.6.1.2.1.31.1.1.1.6.1"), Value::Counter64(1 << 40)),
            (o(".1.3.6.1.2.1.1.9.0"), Value::NoSuchObject),
            (o(".1.3.6.1.2.1.1.8.1"), Value::NoSuchInstance),
            (o(".1.3.6.1.2.1.99"), Value::EndOfMibView),
            (o(".1.3.6.1.2.1.2.2.1.7.1"), Value::Integer(-3)),
        ],
    };
    message::encode(&Credential::community(Version::V2c, community), &pdu)
}

#[test]
fn messages_round_trip() {
    let data = sample_response(77, "public");
    let m = message::decode(&data).unwrap();
    assert_eq!(m.version, Version::V2c);
    assert_eq!(m.security, Security::Community("public".into()));
    assert_eq!(m.pdu.request_id, 77);
    assert_eq!(m.pdu.varbinds.len(), 11);
    assert_eq!(m.pdu.varbinds[2].1, Value::TimeTicks(4_000_000_000));
    assert_eq!(m.pdu.varbinds[3].1.to_text(), "10.0.0.1");
    assert!(!m.pdu.varbinds[7].1.is_value());
    // Every cut of a valid message is refused, never a panic.
    for n in 0..data.len() {
        assert!(message::decode(&data[..n]).is_err(), "cut at {n}");
    }
    // Bytes after the message.
    let mut more = data.clone();
    more.push(0);
    assert!(message::decode(&more).is_err());
    // A GETBULK request carries its parameters where the error fields are.
    let bulk = Pdu::bulk(5, 0, 25, &[o(".1.3.6.1.2.1.2")]);
    let m = message::decode(&message::encode(
        &Credential::community(Version::V2c, "c"),
        &bulk,
    ))
    .unwrap();
    assert_eq!((m.pdu.kind, m.pdu.error_index), (message::GET_BULK, 25));
}

#[test]
fn v3_messages_are_named_not_misread() {
    // version 3 in the envelope: not for the community decoder (the USM reads those).
    let mut out = Vec::new();
    ber::push_with(&mut out, ber::SEQUENCE, |m| {
        ber::push_integer(m, 3);
        ber::push_with(m, ber::SEQUENCE, |_| {});
    });
    assert!(matches!(
        message::decode(&out),
        Err(SnmpError::Unsupported(_))
    ));
}

#[test]
fn contexts_follow_the_community_at_vlan_convention() {
    let c = Credential::community(Version::V2c, "public");
    let v = c.with_context("10");
    assert_eq!(v.security, Security::Community("public@10".into()));
    assert_eq!(
        v.with_context("20").security,
        Security::Community("public@20".into())
    );
    assert_eq!(Version::parse("2c"), Some(Version::V2c));
    assert_eq!(Version::parse("1"), Some(Version::V1));
    assert_eq!(Version::parse("3"), Some(Version::V3));
    assert_eq!(Version::parse("4"), None);
}

#[test]
fn printable_text_and_hex() {
    assert_eq!(printable(b"  HP LaserJet \0junk"), "HP LaserJet");
    assert_eq!(printable(&[0, 0x1b, 0xff]), "0x001bff");
    assert_eq!(printable(b"caf\xe9"), "caf\u{e9}");
}

const WALK: &str = r#".1.3.6.1.2.1.1.1.0 = STRING: "Cisco IOS Software, C3750 Software
Technical Support: http://www.cisco.com/techsupport
Copyright (c) 1986-2012 by Cisco Systems, Inc. = yes"
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.9.1.516
iso.3.6.1.2.1.1.3.0 = Timeticks: (389675321) 45 days, 2:25:53.21
SNMPv2-MIB::sysContact.0 = STRING: admin "root"
SNMPv2-MIB::sysName.0 = STRING: "sw-1.example"
.1.3.6.1.2.1.1.6.0 = ""
.1.3.6.1.2.1.2.2.1.6.1 = Hex-STRING: 00 1A 2B 3C 4D 5E 
.1.3.6.1.2.1.2.2.1.6.2 = Hex-STRING: 00 1A 2B 3C 4D 5F 00 11 22 33 44 55 66 77 88 99
AA BB 
IF-MIB::ifOperStatus.1 = INTEGER: up(1)
.1.3.6.1.2.1.2.2.1.10.1 = Counter32: 1234
.1.3.6.1.2.1.31.1.1.1.6.1 = Counter64: 12345678901234
.1.3.6.1.2.1.4.20.1.1.10.0.0.1 = IpAddress: 10.0.0.1
.1.3.6.1.2.1.2.2.1.5.1 = Gauge32: 100000000
.1.3.6.1.2.1.17.1.1.0 = Hex-STRING: 00 1A 2B 3C 4D 00
UNKNOWN-MIB::foo.0 = STRING: "skipped"
.1.3.6.1.2.1.99.0 = No Such Object available on this agent at this OID
"#;

#[test]
fn walk_files_read_every_form() {
    let w = WalkFile::read(WALK.as_bytes()).unwrap();
    let get = |s: &str| w.get(&[o(s)]).pop().unwrap().1;
    let descr = get(".1.3.6.1.2.1.1.1.0");
    let descr = String::from_utf8(descr.as_bytes().unwrap().to_vec()).unwrap();
    assert!(descr.starts_with("Cisco IOS Software, C3750"), "{descr}");
    assert!(descr.ends_with("Cisco Systems, Inc. = yes"), "{descr}");
    assert_eq!(descr.lines().count(), 3);
    assert_eq!(
        get(".1.3.6.1.2.1.1.2.0"),
        Value::ObjectId(o(".1.3.6.1.4.1.9.1.516"))
    );
    assert_eq!(get(".1.3.6.1.2.1.1.3.0"), Value::TimeTicks(389_675_321));
    assert_eq!(
        get(".1.3.6.1.2.1.1.4.0"),
        Value::Octets(b"admin \"root\"".to_vec())
    );
    assert_eq!(
        get(".1.3.6.1.2.1.1.5.0"),
        Value::Octets(b"sw-1.example".to_vec())
    );
    assert_eq!(get(".1.3.6.1.2.1.1.6.0"), Value::Octets(Vec::new()));
    assert_eq!(get(".1.3.6.1.2.1.2.2.1.6.2").as_bytes().unwrap().len(), 18);
    assert_eq!(get(".1.3.6.1.2.1.2.2.1.8.1"), Value::Integer(1));
    assert_eq!(
        get(".1.3.6.1.2.1.31.1.1.1.6.1"),
        Value::Counter64(12_345_678_901_234)
    );
    assert_eq!(
        get(".1.3.6.1.2.1.4.20.1.1.10.0.0.1"),
        Value::IpAddress([10, 0, 0, 1])
    );
    assert_eq!(get(".1.3.6.1.2.1.99.0"), Value::NoSuchObject);
    let ifs = w.walk(&o(".1.3.6.1.2.1.2.2.1.6"), 100);
    assert_eq!(ifs.len(), 2);
    assert_eq!(w.walk(&o(".1.3.6.1.2.1"), 3).len(), 3);
    assert_eq!(w.len(), 14);
}

/// A small agent on loopback: answers GET and GETNEXT from a table, refuses GETBULK when
/// told to (as a v1-only agent would, by silence), and sends a spoofed or stray datagram
/// before each real answer.
fn responder(table: Vec<(Oid, Value)>, bulk: bool, community: &'static str) -> SocketAddr {
    responder_on("127.0.0.1:0", table, bulk, community)
}

fn responder_on(
    bind: &str,
    table: Vec<(Oid, Value)>,
    bulk: bool,
    community: &'static str,
) -> SocketAddr {
    let sock = UdpSocket::bind(bind).unwrap();
    let addr = sock.local_addr().unwrap();
    let stray = UdpSocket::bind(bind).unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        sock.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let Ok(m) = message::decode(&buf[..n]) else {
                continue;
            };
            if m.security != Security::Community(community.into()) {
                continue;
            }
            let mut out = Vec::new();
            match m.pdu.kind {
                message::GET => {
                    for (oid, _) in &m.pdu.varbinds {
                        let v = table
                            .iter()
                            .find(|(k, _)| k == oid)
                            .map_or(Value::NoSuchObject, |(_, v)| v.clone());
                        out.push((oid.clone(), v));
                    }
                }
                message::GET_NEXT | message::GET_BULK => {
                    if m.pdu.kind == message::GET_BULK && !bulk {
                        continue;
                    }
                    let reps = if m.pdu.kind == message::GET_BULK {
                        m.pdu.error_index as usize
                    } else {
                        1
                    };
                    let mut at = m.pdu.varbinds[0].0.clone();
                    for _ in 0..reps {
                        match table.iter().find(|(k, _)| *k > at) {
                            Some((k, v)) => {
                                out.push((k.clone(), v.clone()));
                                at = k.clone();
                            }
                            None => {
                                out.push((at.clone(), Value::EndOfMibView));
                                break;
                            }
                        }
                    }
                }
                _ => continue,
            }
            let reply = |id: i32, c: &str| {
                message::encode(
                    &Credential::community(Version::V2c, c),
                    &Pdu {
                        kind: message::RESPONSE,
                        request_id: id,
                        error_status: 0,
                        error_index: 0,
                        varbinds: out.clone(),
                    },
                )
            };
            // A stray answer (wrong id), a spoofed one (right id, from another port), a
            // reply with another community, garbage, then the real one.
            let _ = sock.send_to(&reply(m.pdu.request_id.wrapping_add(1), community), from);
            let _ = stray.send_to(&reply(m.pdu.request_id, community), from);
            let _ = sock.send_to(&reply(m.pdu.request_id, "other"), from);
            let _ = sock.send_to(b"\x30\x82\xff\xff", from);
            let _ = sock.send_to(&reply(m.pdu.request_id, community), from);
        }
    });
    addr
}

fn table() -> Vec<(Oid, Value)> {
    let mut t: Vec<(Oid, Value)> = (1..=25)
        .map(|i| {
            (
                o(&format!(".1.3.6.1.2.1.2.2.1.2.{i}")),
                Value::Octets(format!("eth{i}").into_bytes()),
            )
        })
        .collect();
    t.insert(0, (o(".1.3.6.1.2.1.1.5.0"), Value::Octets(b"lab".to_vec())));
    t.push((o(".1.3.6.1.2.1.2.2.1.3.1"), Value::Integer(6)));
    t.sort_by(|a, b| a.0.cmp(&b.0));
    t
}

fn session(addr: SocketAddr, community: &str) -> Session {
    Session::open(
        addr,
        Credential::community(Version::V2c, community),
        SessionOptions {
            timeout: Duration::from_millis(300),
            retries: 0,
            max_repetitions: 7,
            ..SessionOptions::default()
        },
    )
    .unwrap()
}

#[test]
fn live_requests_ignore_strays_and_walk_with_bulk() {
    let addr = responder(table(), true, "lab");
    let mut s = session(addr, "lab");
    smol::block_on(async {
        let r = s
            .get(&[o(".1.3.6.1.2.1.1.5.0"), o(".1.3.6.1.2.1.1.6.0")])
            .await
            .unwrap();
        assert_eq!(r[0].1, Value::Octets(b"lab".to_vec()));
        assert_eq!(r[1].1, Value::NoSuchObject);
        let w = walk::walk(&mut s, &o(".1.3.6.1.2.1.2.2.1.2"), 1000)
            .await
            .unwrap();
        assert_eq!(w.len(), 25);
        assert_eq!(w[24].1, Value::Octets(b"eth25".to_vec()));
        assert_eq!(s.bulk, Some(true));
        let w = walk::walk(&mut s, &o(".1.3.6.1.2.1.2.2.1.2"), 10)
            .await
            .unwrap();
        assert_eq!(w.len(), 10);
    });
}

#[test]
fn a_walk_falls_back_to_getnext_when_bulk_gets_no_answer() {
    let addr = responder(table(), false, "lab");
    let mut s = session(addr, "lab");
    smol::block_on(async {
        let w = walk::walk(&mut s, &o(".1.3.6.1.2.1.2.2.1"), 1000)
            .await
            .unwrap();
        assert_eq!(w.len(), 26);
        assert_eq!(s.bulk, Some(false));
    });
}

#[test]
fn a_wrong_community_times_out_after_the_retries() {
    let addr = responder(table(), true, "lab");
    let mut s = session(addr, "nope");
    s.opts.retries = 2;
    let t0 = std::time::Instant::now();
    let r = smol::block_on(s.get(&[o(".1.3.6.1.2.1.1.5.0")]));
    assert_eq!(r, Err(SnmpError::Timeout));
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(850) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[test]
fn requests_go_over_ipv6_too() {
    let addr = responder_on("[::1]:0", table(), true, "lab");
    assert!(addr.is_ipv6());
    let mut s = session(addr, "lab");
    let r = smol::block_on(s.get(&[o(".1.3.6.1.2.1.1.5.0")])).unwrap();
    assert_eq!(r[0].1, Value::Octets(b"lab".to_vec()));
}

/// What the discovery makes of a walk (no sysobject.ids: the vendor rules alone).
fn discover_walk(walk: &str) -> device::Device {
    let mut agent = Agent::File(WalkFile::read(walk.as_bytes()).unwrap());
    let ids = std::cell::RefCell::new(sysobject::SysObjectIds::new(Some("/nonexistent")));
    let mut d = device::Device::default();
    smol::block_on(device::snmp_discover(
        &mut agent,
        "10.0.0.1".parse().unwrap(),
        &ids,
        &mut d,
    ))
    .unwrap();
    d
}

#[test]
fn mikrotik_serial_firmware_and_board_from_its_mib() {
    let d = discover_walk(
        "\
.1.3.6.1.2.1.1.1.0 = STRING: \"RouterOS RB951Ui-2HnD\"
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.14988.1
.1.3.6.1.2.1.1.5.0 = STRING: \"gw\"
.1.3.6.1.2.1.47.1.1.1.1.11.1 = STRING: \"not-this-one\"
.1.3.6.1.4.1.14988.1.1.7.3.0 = STRING: \"5A2B04C3D1E2\"
.1.3.6.1.4.1.14988.1.1.7.4.0 = STRING: \"6.48.6\"
",
    );
    assert_eq!(d.serial.as_deref(), Some("5A2B04C3D1E2"));
    assert_eq!(d.firmware.as_deref(), Some("6.48.6"));
    assert_eq!(d.model.as_deref(), Some("RB951Ui-2HnD"));
    assert_eq!(
        d.manufacturer.as_deref(),
        Some("MikroTik"),
        "sysDescr's first word"
    );
    // Another sysDescr: no model from it, and the serial still from the MikroTik MIB.
    let d = discover_walk(
        "\
.1.3.6.1.2.1.1.1.0 = STRING: \"CRS326 switch\"
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.14988.1
.1.3.6.1.4.1.14988.1.1.7.3.0 = STRING: \"ABC\"
",
    );
    assert_eq!((d.model, d.serial.as_deref()), (None, Some("ABC")));
}

#[test]
fn tplink_sysinfo_current_and_older_forms() {
    let d = discover_walk(
        "\
.1.3.6.1.2.1.1.1.0 = STRING: \"JetStream 24-Port Gigabit L2 Managed Switch\"
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.11863.1.1.3
.1.3.6.1.4.1.11863.6.1.1.5.0 = STRING: \"T2600G-28TS 2.0\"
.1.3.6.1.4.1.11863.6.1.1.6.0 = STRING: \"2.0.0 Build 20170628 Rel.55184(s)\"
.1.3.6.1.4.1.11863.6.1.1.7.0 = STRING: \"50-C7-BF-11-22-33\"
.1.3.6.1.4.1.11863.6.1.1.8.0 = STRING: \"2175063000123\"
",
    );
    assert_eq!(d.model.as_deref(), Some("T2600G-28TS"));
    assert_eq!(
        d.firmware.as_deref(),
        Some("2.0.0 Build 20170628 Rel.55184(s)")
    );
    assert_eq!(
        d.mac.as_deref(),
        Some("50:c7:bf:11:22:33"),
        "the dashed MAC of tpSysInfoMacAddr"
    );
    assert_eq!(d.serial.as_deref(), Some("2175063000123"));
    assert_eq!(
        d.kind.as_deref(),
        Some("NETWORKING"),
        "a Switch by sysDescr"
    );
    // Older firmware: the same columns under the sysObjectID; a bridge address wins for the MAC.
    let d = discover_walk(
        "\
.1.3.6.1.2.1.1.1.0 = STRING: \"TL-SG3210\"
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.11863.1.1.2
.1.3.6.1.2.1.17.1.1.0 = Hex-STRING: 00 0A EB 00 00 01
.1.3.6.1.4.1.11863.1.1.2.1.1.1.5.0 = STRING: \"TL-SG3210 1.0\"
.1.3.6.1.4.1.11863.1.1.2.1.1.1.6.0 = STRING: \"1.0.2 Build 20110526\"
.1.3.6.1.4.1.11863.1.1.2.1.1.1.7.0 = STRING: \"TP-LINK bootutil\"
.1.3.6.1.4.1.11863.1.1.2.1.1.1.8.0 = STRING: \"00-0A-EB-00-00-02\"
",
    );
    assert_eq!(d.model.as_deref(), Some("TL-SG3210"));
    assert_eq!(d.firmware.as_deref(), Some("1.0.2 Build 20110526"));
    assert_eq!(d.mac.as_deref(), Some("00:0a:eb:00:00:01"));
    assert_eq!(
        d.serial.as_deref(),
        Some("00-0A-EB-00-00-02"),
        "the column after the banner"
    );
    // Not a TP-Link: nothing of its MIB is read.
    let d = discover_walk(
        "\
.1.3.6.1.2.1.1.1.0 = STRING: \"other\"
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.99999.1
.1.3.6.1.4.1.11863.6.1.1.8.0 = STRING: \"2175063000123\"
",
    );
    assert_eq!(d.serial, None);
}

#[test]
fn hp_procurve_serial_and_rom_version_from_http_mg() {
    let d = discover_walk(
        "\
.1.3.6.1.2.1.1.1.0 = STRING: \"ProCurve J9279A Switch 2510G-24, revision Y.11.16, ROM N.10.02\"
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.11.2.3.7.11.87
.1.3.6.1.2.1.47.1.1.1.1.10.1 = STRING: \"Y.11.16\"
.1.3.6.1.2.1.47.1.1.1.1.11.1 = STRING: \"CN0000AAAA\"
.1.3.6.1.4.1.11.2.36.1.1.2.8.0 = STRING: \"N.10.02\"
.1.3.6.1.4.1.11.2.36.1.1.2.9.0 = STRING: \"CN123ABCDE\"
",
    );
    assert_eq!(d.serial.as_deref(), Some("CN123ABCDE"));
    assert_eq!(d.firmware.as_deref(), Some("N.10.02"));
    // Without the HTTP-MG values, the ENTITY-MIB ones.
    let d = discover_walk(
        "\
.1.3.6.1.2.1.1.1.0 = STRING: \"ProCurve J9279A Switch 2510G-24\"
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.11.2.3.7.11.87
.1.3.6.1.2.1.47.1.1.1.1.10.1 = STRING: \"Y.11.16\"
.1.3.6.1.2.1.47.1.1.1.1.11.1 = STRING: \"CN0000AAAA\"
",
    );
    assert_eq!(
        (d.serial.as_deref(), d.firmware.as_deref()),
        (Some("CN0000AAAA"), Some("Y.11.16"))
    );
}

/// An agent whose every GETNEXT/GETBULK answer is `answer` (an OID that does not move on).
fn stuck_responder(answer: Oid) -> SocketAddr {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut served = 0;
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let Ok(m) = message::decode(&buf[..n]) else {
                continue;
            };
            served += 1;
            let reply = message::encode(
                &Credential::community(Version::V2c, "public"),
                &Pdu {
                    kind: message::RESPONSE,
                    request_id: m.pdu.request_id,
                    error_status: 0,
                    error_index: 0,
                    varbinds: vec![(answer.clone(), Value::Integer(served))],
                },
            );
            let _ = sock.send_to(&reply, from);
        }
    });
    addr
}

#[test]
fn a_walk_that_loops_back_or_stands_still_is_an_error_not_a_hang() {
    let root = o(".1.3.6.1.2.1.2.2.1.2");
    for answer in [o(".1.3.6.1.2.1.2.2.1.2.1"), o(".1.3.6.1.2.1.2.2.1.2")] {
        let addr = stuck_responder(answer.clone());
        let mut s = session(addr, "public");
        let t0 = std::time::Instant::now();
        // The first answer (.1) moves on from the root; the second is the same OID again.
        let r = smol::block_on(walk::walk(&mut s, &root, 100_000));
        assert_eq!(
            r,
            Err(SnmpError::Unexpected("the agent's OIDs do not increase")),
            "{answer}"
        );
        assert!(t0.elapsed() < Duration::from_secs(5));
    }
}

#[test]
fn walk_files_are_kept_in_oid_order_whatever_the_arcs() {
    let long = "x".repeat(70_000);
    let text = format!(
        "\
.1.3.6.1.9.16384 = INTEGER: 3
.1.3.6.1.9.4294967295 = INTEGER: 4
.1.3.6.1.9.16383 = INTEGER: 2
.1.3.6.1.9.127 = INTEGER: 1
.1.3.6.1.9.127 = INTEGER: 99
.1.3.6.1.9.128.1 = STRING: \"{long}\"
"
    );
    let w = WalkFile::read(text.as_bytes()).unwrap();
    assert_eq!(w.len(), 5, "the repeated OID kept once");
    let rows = w.walk(&o(".1.3.6.1.9"), 100);
    let got: Vec<String> = rows.iter().map(|(k, _)| k.to_string()).collect();
    assert_eq!(
        got,
        [
            ".1.3.6.1.9.127",
            ".1.3.6.1.9.128.1",
            ".1.3.6.1.9.16383",
            ".1.3.6.1.9.16384",
            ".1.3.6.1.9.4294967295"
        ]
    );
    assert_eq!(rows[0].1, Value::Integer(1), "the first of equal OIDs");
    assert_eq!(
        rows[1].1.as_bytes().map(<[u8]>::len),
        Some(MAX_VALUE_BYTES),
        "cut as a response would be"
    );
    assert_eq!(w.get(&[o(".1.3.6.1.9.4294967295")])[0].1, Value::Integer(4));
    assert_eq!(w.get(&[o(".1.3.6.1.9.5")])[0].1, Value::NoSuchObject);
    assert_eq!(w.walk(&o(".1.3.6.1.9.128"), 10).len(), 1);
    assert_eq!(w.walk(&o(".1.3.6.1.9"), 2).len(), 2);
}
