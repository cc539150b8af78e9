use super::parse::*;
use super::route::*;
use super::*;
use std::net::Ipv4Addr;

const M: Mac = Mac([0x00, 0x11, 0x22, 0xaa, 0xbb, 0xcc]);

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn net(addr: [u8; 4], prefix: u32) -> V4Net {
    V4Net {
        addr: Ipv4Addr::from(addr),
        mask: Ipv4Addr::from(u32::MAX.checked_shl(32 - prefix).unwrap_or(0)),
        broadcast: None,
    }
}

fn iface(name: &str, nets: &[V4Net]) -> Iface {
    Iface {
        name: name.into(),
        up: true,
        loopback: false,
        broadcast: true,
        mac: Some([2, 0, 0, 0, 0, name.len() as u8]),
        v4: nets.to_vec(),
    }
}

/// lo, a LAN, a second LAN, a tunnel and a down interface.
fn router() -> Vec<Iface> {
    let mut lo = iface("lo", &[net([127, 0, 0, 1], 8)]);
    lo.loopback = true;
    lo.mac = None;
    let mut tun = iface("tun0", &[net([10, 8, 0, 1], 32)]);
    tun.broadcast = false;
    tun.mac = None;
    let mut down = iface("eth9", &[net([172, 16, 0, 1], 16)]);
    down.up = false;
    vec![
        lo,
        iface("br-lan", &[net([192, 168, 1, 1], 24)]),
        iface("eth1", &[net([10, 203, 7, 1], 24)]),
        tun,
        down,
        iface("eth2", &[]),
    ]
}

#[test]
fn macs_are_read_with_colons_dashes_or_nothing_in_either_case() {
    for text in [
        "00:11:22:aa:bb:cc",
        "00-11-22-AA-BB-CC",
        "001122aAbBcC",
        " 00:11:22:aa:bb:cc\n",
    ] {
        assert_eq!(parse_mac(text), Ok(M), "{text}");
    }
    assert_eq!(M.to_string(), "00:11:22:aa:bb:cc");
}

#[test]
fn malformed_macs_are_refused_with_the_expected_form() {
    for text in [
        "",
        "00:11:22:aa:bb",
        "00:11:22:aa:bb:cc:dd",
        "00:11-22:aa:bb:cc",
        "00.11.22.aa.bb.cc",
        "0:11:22:aa:bb:cc0",
        "00:11:22:aa:bb:cg",
        "+0:11:22:aa:bb:cc",
        "00112233445",
        "0011223344556",
        "ééééééé",
    ] {
        let e = parse_mac(text).unwrap_err();
        assert!(
            e.ends_with(": expected six hex bytes like 00:11:22:33:44:55"),
            "{text}: {e}"
        );
    }
    assert_eq!(
        parse_mac("zz").unwrap_err(),
        "invalid MAC address \"zz\": expected six hex bytes like 00:11:22:33:44:55"
    );
    let long = "x".repeat(10_000);
    assert!(parse_mac(&long).unwrap_err().len() < 200);
}

#[test]
fn the_magic_packet_is_six_ff_then_the_mac_sixteen_times() {
    let p = magic_packet(&M);
    assert_eq!(p.len(), 102);
    assert_eq!(p[..6], [0xff; 6]);
    for k in 0..16 {
        assert_eq!(p[6 + 6 * k..12 + 6 * k], M.0, "copy {k}");
    }
}

#[test]
fn the_ethernet_frame_is_broadcast_from_the_interface_with_ethertype_0842() {
    let f = ethernet_frame([2, 1, 2, 3, 4, 5], &M);
    assert_eq!(f.len(), 116);
    assert_eq!(f[..6], [0xff; 6]);
    assert_eq!(f[6..12], [2, 1, 2, 3, 4, 5]);
    assert_eq!(f[12..14], [0x08, 0x42]);
    assert_eq!(f[14..], magic_packet(&M));
}

#[test]
fn methods_default_to_ethernet_then_udp_and_keep_the_order_given() {
    assert_eq!(parse_methods(&[]), Ok(vec![Method::Ethernet, Method::Udp]));
    assert_eq!(
        parse_methods(&s(&["udp,ethernet"])),
        Ok(vec![Method::Udp, Method::Ethernet])
    );
    assert_eq!(parse_methods(&s(&["UDP", "udp"])), Ok(vec![Method::Udp]));
    assert!(parse_methods(&s(&["icmp"]))
        .unwrap_err()
        .contains("unknown method \"icmp\""));
}

#[test]
fn ports_default_to_9_and_7_can_be_added() {
    assert_eq!(parse_ports(&[]).unwrap(), [9]);
    assert_eq!(parse_ports(&s(&["9,7"])).unwrap(), [9, 7]);
    assert_eq!(parse_ports(&s(&["7", "7"])).unwrap(), [7]);
    assert!(parse_ports(&s(&["0"])).is_err());
    assert!(parse_ports(&s(&["70000"])).is_err());
    assert!(parse_ports(&s(&["1,2,3,4,5,6,7,8,9"])).is_err());
}

#[test]
fn one_ip_goes_with_every_mac_or_one_with_each() {
    let t = parse_targets(&s(&["00:11:22:aa:bb:cc,001122aabbcd"]), &s(&["10.0.0.5"])).unwrap();
    assert_eq!(t.len(), 2);
    assert!(t.iter().all(|t| t.ip == Some(Ipv4Addr::new(10, 0, 0, 5))));
    let t = parse_targets(
        &s(&["00:11:22:aa:bb:cc", "001122aabbcd"]),
        &s(&["", "10.0.0.6"]),
    )
    .unwrap();
    assert_eq!(t[0].ip, None);
    assert_eq!(t[1].ip, Some(Ipv4Addr::new(10, 0, 0, 6)));
    assert_eq!(t[1].mac, Mac([0, 0x11, 0x22, 0xaa, 0xbb, 0xcd]));
    assert!(parse_targets(&s(&["001122aabbcc"]), &[]).unwrap()[0]
        .ip
        .is_none());
}

#[test]
fn bad_target_lists_are_usage_errors() {
    assert!(parse_targets(&[], &[]).unwrap_err().contains("no MAC"));
    assert!(parse_targets(&s(&["001122aabbcc"]), &s(&["10.0.0.300"]))
        .unwrap_err()
        .starts_with("invalid IP address \"10.0.0.300\""));
    assert!(parse_targets(&s(&["a"; 3]), &s(&["", ""]))
        .unwrap_err()
        .contains("one for each"));
    let many = vec!["001122aabbcc".to_string(); MAX_TARGETS + 1];
    assert!(parse_targets(&many, &[]).unwrap_err().contains("at most"));
    assert!(parse_targets(&s(&["001122aabbcc,nope"]), &[])
        .unwrap_err()
        .starts_with("invalid MAC address \"nope\""));
}

#[test]
fn udp_goes_to_the_broadcast_of_the_network_holding_the_ip() {
    let r = router();
    let ip = Some(Ipv4Addr::new(10, 203, 7, 2));
    assert_eq!(
        udp_destinations(&r, ip, None),
        Ok(vec![Ipv4Addr::new(10, 203, 7, 255)])
    );
    // The broadcast address the system gives wins over the computed one.
    let mut r2 = r.clone();
    r2[2].v4[0].broadcast = Some(Ipv4Addr::new(10, 203, 7, 127));
    assert_eq!(
        udp_destinations(&r2, ip, None),
        Ok(vec![Ipv4Addr::new(10, 203, 7, 127)])
    );
}

#[test]
fn udp_to_an_ip_on_no_local_network_is_sent_to_the_ip() {
    let r = router();
    for ip in [Ipv4Addr::new(10, 203, 8, 5), Ipv4Addr::new(172, 16, 0, 9)] {
        assert_eq!(udp_destinations(&r, Some(ip), None), Ok(vec![ip]), "{ip}");
    }
}

#[test]
fn udp_without_ip_goes_to_every_up_lan_broadcast() {
    assert_eq!(
        udp_destinations(&router(), None, None),
        Ok(vec![
            Ipv4Addr::new(192, 168, 1, 255),
            Ipv4Addr::new(10, 203, 7, 255)
        ])
    );
    assert_eq!(
        udp_destinations(&router(), None, Some("eth1")),
        Ok(vec![Ipv4Addr::new(10, 203, 7, 255)])
    );
    let lo_only = vec![router().remove(0)];
    assert_eq!(
        udp_destinations(&lo_only, None, None),
        Ok(vec![Ipv4Addr::BROADCAST])
    );
}

#[test]
fn a_named_interface_must_exist_be_up_and_fit_the_method() {
    let r = router();
    assert!(udp_destinations(&r, None, Some("wlan7"))
        .unwrap_err()
        .contains("no network interface named \"wlan7\""));
    assert!(udp_destinations(&r, None, Some("eth9"))
        .unwrap_err()
        .contains("down"));
    assert!(udp_destinations(&r, None, Some("eth2"))
        .unwrap_err()
        .contains("no IPv4 broadcast"));
    assert!(ethernet_interfaces(&r, None, Some("tun0"))
        .unwrap_err()
        .contains("not an Ethernet link"));
    let names = |v: Vec<&Iface>| v.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(ethernet_interfaces(&r, None, Some("eth2")).unwrap()),
        ["eth2"]
    );
}

#[test]
fn ethernet_goes_out_of_the_lan_holding_the_ip_or_every_lan() {
    let r = router();
    let names = |v: Vec<&Iface>| v.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(ethernet_interfaces(&r, Some(Ipv4Addr::new(192, 168, 1, 40)), None).unwrap()),
        ["br-lan"]
    );
    // Unknown network, or no IP: every up Ethernet LAN (not lo, the tunnel, the down
    // interface or the one without an address).
    for ip in [None, Some(Ipv4Addr::new(8, 8, 8, 8))] {
        assert_eq!(
            names(ethernet_interfaces(&r, ip, None).unwrap()),
            ["br-lan", "eth1"]
        );
    }
    let lo_only = vec![router().remove(0)];
    assert!(ethernet_interfaces(&lo_only, None, None).is_err());
}

#[test]
fn small_networks_have_no_broadcast_address() {
    assert_eq!(net([10, 0, 0, 1], 32).broadcast_addr(), None);
    assert_eq!(net([10, 0, 0, 1], 31).broadcast_addr(), None);
    assert_eq!(
        net([10, 0, 0, 1], 30).broadcast_addr(),
        Some(Ipv4Addr::new(10, 0, 0, 3))
    );
    assert!(net([10, 0, 0, 1], 0).contains(Ipv4Addr::new(1, 2, 3, 4)));
}

#[test]
fn a_reported_broadcast_equal_to_the_address_or_outside_the_network_is_not_used() {
    for reported in [[10, 203, 7, 1], [10, 203, 8, 255]] {
        let n = V4Net {
            broadcast: Some(Ipv4Addr::from(reported)),
            ..net([10, 203, 7, 1], 24)
        };
        assert_eq!(n.broadcast_addr(), Some(Ipv4Addr::new(10, 203, 7, 255)));
    }
}

#[cfg(feature = "client")]
#[test]
fn wakeonlan_params_become_mac_and_ip_pairs_and_bad_ones_are_left_out() {
    use crate::protocol::messages::OptionBlock;
    use crate::protocol::xml::Node;
    let param = |attrs: &[(&str, &str)]| Node {
        name: "PARAM".into(),
        attrs: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Node::default()
    };
    let option = OptionBlock {
        name: "WAKEONLAN".into(),
        params: vec![
            param(&[("MAC", "00-11-22-AA-BB-CC"), ("IP", "10.203.7.2")]),
            param(&[("MAC", "not a mac"), ("IP", "10.203.7.3")]),
            param(&[("IP", "10.203.7.4")]),
            param(&[("MAC", "001122aabbcd")]),
            param(&[("MAC", "00:11:22:aa:bb:ce"), ("IP", "fe80::1")]),
            Node {
                name: "OTHER".into(),
                ..param(&[("MAC", "00:11:22:aa:bb:cf")])
            },
        ],
    };
    let args = Args::from_prolog(&option).unwrap();
    assert_eq!(
        args.mac,
        ["00:11:22:aa:bb:cc", "00:11:22:aa:bb:cd", "00:11:22:aa:bb:ce"]
    );
    assert_eq!(args.ip, ["10.203.7.2", "", ""]);
    assert_eq!(args.request().unwrap().targets.len(), 3);
    let many = OptionBlock {
        name: "WAKEONLAN".into(),
        params: vec![param(&[("MAC", "001122aabbcc")]); 1000],
    };
    assert_eq!(Args::from_prolog(&many).unwrap().mac.len(), MAX_TARGETS);
    let none = OptionBlock {
        name: "WAKEONLAN".into(),
        params: vec![param(&[("MAC", "bad")])],
    };
    assert_eq!(Args::from_prolog(&none), None);
}

#[test]
fn the_task_command_line_round_trips() {
    let cases = [
        Args::default(),
        Args {
            mac: s(&["00:11:22:aa:bb:cc", "001122aabbcd"]),
            ip: s(&["10.0.0.2", ""]),
            methods: s(&["udp"]),
            interface: Some("br-lan".into()),
            port: s(&["9,7"]),
            debug: true,
        },
    ];
    for a in cases {
        let argv = a.to_argv();
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let back = <Args as argh::FromArgs>::from_args(&["uagent", "task", "wakeonlan"], &argv)
            .unwrap_or_else(|e| panic!("{argv:?}: {}", e.output));
        assert_eq!(back, a);
    }
}
