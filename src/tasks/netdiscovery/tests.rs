use std::net::Ipv4Addr;

use crate::snmp::device::{canonical_mac, uptime};
use super::ipdiscover::{OnLink, arp_request, parse_arp_reply, parse_ptr_answer, ptr_query, Order};
use super::job::Job;
use super::output::{message, Content};
use super::probes::{echo_request, is_echo_reply, nbstat_request, parse_arp_table, parse_nbstat, PingKind};
use crate::snmp::sysobject::{by_enterprise, lookup_in};
use super::*;
use crate::snmp::{oid, Value, Version};

#[cfg(feature = "client")]
fn option(xml: &str) -> crate::protocol::messages::OptionBlock {
    let p = crate::protocol::messages::parse_prolog(xml.as_bytes()).unwrap();
    p.option("NETDISCOVERY").unwrap().clone()
}

#[cfg(feature = "client")]
#[test]
fn a_server_job_is_read_and_checked_whole() {
    let ok = option(r#"<REPLY><OPTION><NAME>NETDISCOVERY</NAME>
        <PARAM THREADS_DISCOVERY="32" TIMEOUT="0" PID="17" CORE_DISCOVERY="1"/>
        <RANGEIP ID="7" IPSTART="10.0.0.1" IPEND="10.0.0.100" ENTITY="3"/>
        <RANGEIP ID="8" IPSTART="10.0.1.1" IPEND="10.0.1.1" PORT="161,1161"/>
        <AUTHENTICATION ID="3" VERSION="2c" COMMUNITY="pub&amp;lic"/>
        <AUTHENTICATION ID="4" VERSION="3" USERNAME="u" AUTHPROTOCOL="SHA256" AUTHPASSPHRASE="x"/>
        <AUTHENTICATION ID="5" VERSION="1" COMMUNITY="private" PORT="1161"/>
        </OPTION><RESPONSE>SEND</RESPONSE></REPLY>"#);
    let job = Job::from_prolog(&ok).unwrap();
    assert_eq!(job.pid, "17");
    assert_eq!(job.threads, 32);
    // TIMEOUT 0 is 1 s, not 60.
    assert_eq!(job.timeout, 1);
    assert_eq!(job.address_count(), 101);
    assert_eq!(job.ranges[0].entity.as_deref(), Some("3"));
    assert_eq!(job.ranges[1].ports, vec![161, 1161]);
    // Every credential, v3 too, in order.
    assert_eq!(job.credentials.len(), 3);
    assert_eq!(job.credentials[0].community, "pub&lic");
    assert_eq!(job.credentials[0].version, Version::V2c);
    assert_eq!(job.credentials[1].version, Version::V3);
    assert_eq!(job.credentials[1].auth_protocol, "SHA256");
    assert_eq!(job.credentials[2].port, Some(1161));
    // The text the agent writes on the task's stdin reads back as the same job.
    assert_eq!(Job::from_text(&job.to_text()).unwrap(), job);
    // The job, communities included, is one of the task's arguments: the agent hands those on
    // the task's standard input (tasks::argv), so they reach no command line.
    let args = Args::from_prolog(&ok).unwrap();
    assert_eq!(args.job_text().map(Job::from_text).map(Result::unwrap), Some(job.clone()));

    let refused = |xml: &str| Job::from_prolog(&option(xml)).unwrap_err().to_string();
    let wrap = |inner: &str| format!("<REPLY><OPTION><NAME>NETDISCOVERY</NAME>{inner}</OPTION></REPLY>");
    let param = r#"<PARAM PID="1" TIMEOUT="1"/>"#;
    let auth = r#"<AUTHENTICATION ID="1" VERSION="2c" COMMUNITY="public"/>"#;
    assert!(refused(&wrap(&format!("{param}{auth}"))).contains("no range"));
    assert!(refused(&wrap(&format!(r#"{param}<RANGEIP ID="1" IPSTART="10.0.0.9" IPEND="10.0.0.1"/>"#))).contains("backwards"));
    let big = refused(&wrap(&format!(r#"{param}<RANGEIP ID="2" IPSTART="10.0.0.0" IPEND="10.255.255.255"/>"#)));
    assert!(big.contains("16777216 addresses") && big.contains(&job::MAX_JOB_ADDRESSES.to_string()), "{big}");
    assert!(refused(&wrap(&format!(r#"{param}<RANGEIP ID="1" IPSTART="10.0.0.1" IPEND="10.0.0.300"/>"#))).contains("not an IPv4"));
    assert!(refused(&wrap(r#"<PARAM TIMEOUT="1"/><RANGEIP ID="1" IPSTART="10.0.0.1" IPEND="10.0.0.2"/>"#)).contains("PID"));
    let range = r#"<RANGEIP ID="1" IPSTART="10.0.0.1" IPEND="10.0.0.2"/>"#;
    assert!(refused(&wrap(&format!(r#"{param}{range}<AUTHENTICATION ID="9" VERSION="2c"/>"#))).contains("without COMMUNITY"));
    assert!(refused(&wrap(&format!(r#"{param}{range}<AUTHENTICATION ID="9" VERSION="7" COMMUNITY="x"/>"#))).contains("unknown SNMP version"));
    assert!(refused(&wrap(&format!(r#"<PARAM PID="1" THREADS_DISCOVERY="many"/>{range}"#))).contains("THREADS_DISCOVERY"));
    assert!(Args::from_prolog(&option(&wrap(range))).is_none());
}

#[test]
fn the_job_text_round_trips_with_awkward_values() {
    let job = a_job();
    let text = job.to_text();
    assert!(!text.contains("a b&c=d%\n"));
    assert_eq!(Job::from_text(&text).unwrap(), job);
    assert!(Job::from_text("range id=1&start=10.0.0.1&end=10.0.0.2\n").is_err());
    assert!(Job::from_text("job pid=1&threads=1&timeout=1&retries=0\nrange id=1&start=10.0.0.1&end=10.0.0.2&ports=%ZZ\n").is_err());
    assert!(Job::from_text(&"x".repeat(job::MAX_JOB_TEXT + 1)).is_err());
}

fn a_job() -> Job {
    Job {
        pid: "42".into(),
        threads: 7,
        timeout: 2,
        retries: 1,
        ranges: vec![job::Range {
            id: "1".into(),
            start: Ipv4Addr::new(10, 1, 0, 1),
            end: Ipv4Addr::new(10, 1, 0, 14),
            entity: Some("0".into()),
            ports: vec![161, 1161],
        }],
        credentials: vec![job::Credential {
            id: "3".into(),
            version: Version::V2c,
            community: "a b&c=d%\n".into(),
            port: Some(1161),
            ..Default::default()
        }],
    }
}

/// The agent's way: the job is one of the arguments, which travel on the task's standard input
/// (`tasks::argv`); they read back the same, and so does the job.
#[test]
fn the_task_command_and_its_job_round_trip() {
    use argh::FromArgs;
    let a = Args {
        job: Some(a_job().to_text()),
        deviceid: Some("box-2026-01-01-00-00-00".into()),
        sysobject_ids: Some("/usr/share/fusioninventory/sysobject.ids".into()),
        frames: true,
        control: true,
        debug: true,
        ..Args::default()
    };
    let argv = a.to_argv();
    let framed = crate::tasks::argv::encode(&argv);
    let argv = crate::tasks::argv::decode(&mut &framed[..]).unwrap();
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let back = Args::from_args(&["uagent", "task", "netdiscovery"], &argv).unwrap();
    assert_eq!(back, a);
    assert_eq!(Job::from_text(back.job_text().unwrap()).unwrap(), a_job());
}

#[test]
fn launcher_options_make_a_job() {
    let a = Args {
        first: Some("192.168.0.1".into()),
        last: Some("192.168.0.30".into()),
        community: vec!["c1".into()],
        v1: true,
        v2c: true,
        credentials: vec!["version:2c,community:c2,port:1161".into()],
        port: vec!["161,1161".into()],
        timeout: Some(0),
        threads: Some(1000),
        ..Args::default()
    };
    let job = a.job_from_options().unwrap();
    assert_eq!(job.address_count(), 30);
    assert_eq!(job.timeout, 1);
    assert_eq!(job.threads, job::MAX_THREADS);
    assert_eq!(job.credentials.len(), 3);
    assert_eq!(job.credentials[2].port, Some(1161));
    let none = Args::default().job_from_options().unwrap_err();
    assert_eq!(none.to_string(), "no first or host address");
    let default = Args { host: Some("10.0.0.1".into()), ..Args::default() }.job_from_options().unwrap();
    assert_eq!(default.credentials[0].community, "public");
    assert_eq!(default.credentials[0].version, Version::V1);
    assert!(Args { host: Some("10.0.0.1".into()), credentials: vec!["version:3,username:u,authprotocol:rot13,authpassword:12345678".into()], ..Args::default() }
        .job_from_options()
        .is_err());
}

#[test]
fn messages_have_the_reference_shape() {
    let d = Device {
        ip: "10.0.0.5".into(),
        mac: Some("00:1a:2b:3c:4d:5e".into()),
        snmphostname: Some("sw<1>".into()),
        ips: vec!["10.0.0.5".into(), "10.9.0.1".into()],
        authsnmp: Some("3".into()),
        ..Device::default()
    };
    let m = String::from_utf8(message("box-2026", "17", &Content::Device(&d))).unwrap();
    assert!(m.contains("<REQUEST><CONTENT><DEVICE><AUTHSNMP>3</AUTHSNMP><IP>10.0.0.5</IP><IPS><IP>10.0.0.5</IP><IP>10.9.0.1</IP></IPS><MAC>00:1a:2b:3c:4d:5e</MAC><SNMPHOSTNAME>sw&lt;1&gt;</SNMPHOSTNAME></DEVICE><MODULEVERSION>"), "{m}");
    assert!(m.contains("<PROCESSNUMBER>17</PROCESSNUMBER></CONTENT><DEVICEID>box-2026</DEVICEID><QUERY>NETDISCOVERY</QUERY></REQUEST>"), "{m}");
    let start = String::from_utf8(message("d", "1", &Content::Start)).unwrap();
    assert!(start.contains("<AGENT><AGENTVERSION>") && start.contains("<START>1</START></AGENT><MODULEVERSION>"));
    let nbip = String::from_utf8(message("d", "1", &Content::Nbip(14))).unwrap();
    assert!(nbip.contains("<AGENT><NBIP>14</NBIP></AGENT><PROCESSNUMBER>") && !nbip.contains("MODULEVERSION"));
    assert!(String::from_utf8(exit_message("d", "9")).unwrap().contains("<EXIT>1</EXIT>"));
}

#[test]
fn macs_and_uptimes_are_canonical() {
    assert_eq!(canonical_mac(&Value::Octets(vec![0, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e])).as_deref(), Some("00:1a:2b:3c:4d:5e"));
    assert_eq!(canonical_mac(&Value::Octets(b"0x001A2B3C4D5E".to_vec())).as_deref(), Some("00:1a:2b:3c:4d:5e"));
    assert_eq!(canonical_mac(&Value::Octets(b"0:1a:2b:3c:4d:5e".to_vec())).as_deref(), Some("00:1a:2b:3c:4d:5e"));
    assert_eq!(canonical_mac(&Value::Octets(vec![9, 9, 0, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e])).as_deref(), Some("00:1a:2b:3c:4d:5e"));
    assert_eq!(canonical_mac(&Value::Octets(vec![0; 6])), None);
    assert_eq!(canonical_mac(&Value::Octets(vec![1, 2, 3])), None);
    assert_eq!(uptime(389_675_321), "45 days, 02:25:53.21");
    assert_eq!(uptime(0), "0 days, 00:00:00.00");
}

#[test]
fn the_neighbour_table_keeps_complete_entries() {
    let t = "IP address       HW type     Flags       HW address            Mask     Device\n\
             10.0.0.1         0x1         0x2         00:11:22:33:44:55     *        eth0\n\
             10.0.0.2         0x1         0x0         00:00:00:00:00:00     *        eth0\n\
             10.0.0.3         0x1         0x6         AA:BB:CC:DD:EE:FF     *        br-lan\n\
             garbage\n";
    let e = parse_arp_table(t);
    assert_eq!(e.len(), 2);
    assert_eq!(e[1], (Ipv4Addr::new(10, 0, 0, 3), "aa:bb:cc:dd:ee:ff".into(), "br-lan".into()));
}

#[test]
fn icmp_echo_packets() {
    let p = echo_request(0x1234, 7);
    assert_eq!((p[0], &p[4..8]), (8, &[0x12, 0x34, 0, 7][..]));
    // The checksum of a packet with its checksum is zero.
    let sum: u32 = p.chunks(2).map(|c| u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0))).sum();
    assert_eq!((sum & 0xffff) + (sum >> 16), 0xffff);
    let mut reply = p.clone();
    reply[0] = 0;
    assert!(is_echo_reply(&reply, PingKind::Datagram, 0, 7));
    assert!(!is_echo_reply(&reply, PingKind::Datagram, 0, 8));
    let mut with_ip = vec![0x45; 1];
    with_ip.extend_from_slice(&[0; 19]);
    with_ip.extend_from_slice(&reply);
    assert!(is_echo_reply(&with_ip, PingKind::Raw, 0x1234, 7));
    assert!(!is_echo_reply(&with_ip, PingKind::Raw, 0x1235, 7));
    assert!(!is_echo_reply(&with_ip[..22], PingKind::Raw, 0x1234, 7));
}

fn nbstat_answer(txid: u16) -> Vec<u8> {
    let mut a = txid.to_be_bytes().to_vec();
    a.extend_from_slice(&[0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    a.extend_from_slice(&nbstat_request(0)[12..46]);
    a.extend_from_slice(&[0, 0x21, 0, 1, 0, 0, 0, 0, 0, 0]);
    let names: [(&str, u8, u8); 4] = [("WS01", 0, 0x04), ("IS~WS01", 0, 0x04), ("LAB", 0, 0x84), ("ALICE", 3, 0x04)];
    a.push(names.len() as u8);
    for (n, suffix, flags) in names {
        let mut e = format!("{n:<15}").into_bytes();
        e.push(suffix);
        e.extend_from_slice(&[flags, 0]);
        a.extend_from_slice(&e);
    }
    a.extend_from_slice(&[0x52, 0x54, 0, 0x12, 0x34, 0x56]);
    a
}

#[test]
fn netbios_node_status() {
    let q = nbstat_request(0xabcd);
    assert_eq!(q.len(), 50);
    assert_eq!(&q[12..15], b"\x20CK");
    let st = parse_nbstat(&nbstat_answer(9), 9).unwrap();
    assert_eq!(st.name.as_deref(), Some("WS01"));
    assert_eq!(st.workgroup.as_deref(), Some("LAB"));
    assert_eq!(st.user.as_deref(), Some("ALICE"));
    assert_eq!(st.mac.as_deref(), Some("52:54:00:12:34:56"));
    assert_eq!(parse_nbstat(&nbstat_answer(9), 10), None);
    let a = nbstat_answer(9);
    for n in 0..a.len() - 6 {
        let _ = parse_nbstat(&a[..n], 9);
    }
}

#[test]
fn sysobject_ids_lookups_take_the_longest_prefix() {
    let file = "# comment\n9\tCisco\tNETWORKING\n9.1\tCisco\tNETWORKING\tgeneric\n9.1.516\tCisco\tNETWORKING\tCatalyst 3750\n91\tOther\n8072.3.2.10\tNet-SNMP\tCOMPUTER\tLinux\n";
    let e = lookup_in(file.as_bytes(), &[9, 1, 516]).unwrap();
    assert_eq!(e.model.as_deref(), Some("Catalyst 3750"));
    assert_eq!(lookup_in(file.as_bytes(), &[9, 1, 999]).unwrap().model.as_deref(), Some("generic"));
    assert_eq!(lookup_in(file.as_bytes(), &[9, 2]).unwrap().model, None);
    assert_eq!(lookup_in(file.as_bytes(), &[910]), None);
    assert_eq!(lookup_in(file.as_bytes(), &[91, 1]).unwrap().manufacturer, "Other");
    // Without the file: the enterprise number.
    assert_eq!(by_enterprise(&oid(".1.3.6.1.4.1.2636.1.1.1.2.29")).unwrap().manufacturer, "Juniper");
    assert_eq!(by_enterprise(&oid(".1.3.6.1.2.1.1")), None);
    // The real file, from ../shared.
    let shared = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/sysobject.ids/sysobject.ids");
    if let Ok(f) = std::fs::File::open(shared) {
        let e = lookup_in(f, &[9, 1, 516]).unwrap();
        assert_eq!((e.manufacturer.as_str(), e.kind.as_deref()), ("Cisco", Some("NETWORKING")));
    }
}

const PRINTER_WALK: &str = r#".1.3.6.1.2.1.1.1.0 = STRING: "RICOH Aficio MP 171 1.00.1 / RICOH Network Printer C model"
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.367.1.1
.1.3.6.1.2.1.1.3.0 = Timeticks: (1234) 0:00:12.34
.1.3.6.1.2.1.1.4.0 = STRING: "Unknown (edit /etc/snmp/snmpd.conf)"
.1.3.6.1.2.1.1.5.0 = STRING: "Aficio MP 171"
.1.3.6.1.2.1.1.6.0 = STRING: "C0172"
.1.3.6.1.2.1.2.2.1.5.1 = Gauge32: 100000000
.1.3.6.1.2.1.2.2.1.6.1 = Hex-STRING: 00 26 73 12 34 56
.1.3.6.1.2.1.2.2.1.6.2 = Hex-STRING: 00 00 00 00 00 00
.1.3.6.1.2.1.4.20.1.1.1.1.1.1 = IpAddress: 1.1.1.1
.1.3.6.1.2.1.4.20.1.2.1.1.1.1 = INTEGER: 1
.1.3.6.1.2.1.25.3.2.1.3.1 = STRING: "RICOH Aficio MP 171"
.1.3.6.1.2.1.43.5.1.1.17.1 = STRING: "XXXXXXXX"
.1.3.6.1.2.1.47.1.1.1.1.11.1 = STRING: "K3456789"
"#;

#[test]
fn a_recorded_printer_is_typed_and_named() {
    let walk = crate::snmp::WalkFile::read(PRINTER_WALK.as_bytes()).unwrap();
    let mut agent = crate::snmp::Agent::File(walk);
    let ids = RefCell::new(SysObjectIds::new(Some("/nonexistent/sysobject.ids")));
    let mut d = Device::default();
    smol::block_on(device::snmp_discover(&mut agent, Ipv4Addr::new(1, 1, 1, 1), &ids, &mut d)).unwrap();
    assert_eq!(d.manufacturer.as_deref(), Some("Ricoh"));
    assert_eq!(d.kind.as_deref(), Some("PRINTER"));
    assert_eq!(d.model.as_deref(), Some("RICOH Aficio MP 171"));
    assert_eq!(d.snmphostname.as_deref(), Some("Aficio MP 171"));
    assert_eq!(d.location.as_deref(), Some("C0172"));
    assert_eq!(d.contact, None);
    assert_eq!(d.mac.as_deref(), Some("00:26:73:12:34:56"));
    assert_eq!(d.serial.as_deref(), Some("K3456789"));
    assert_eq!(d.uptime.as_deref(), Some("0 days, 00:00:12.34"));
    assert_eq!(d.ips, vec!["1.1.1.1".to_string()]);
}

#[test]
fn ipdiscover_frames_and_names() {
    let f = arp_request([2, 0, 0, 0, 0, 1], Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 9));
    assert_eq!(f.len(), 60);
    assert_eq!(&f[12..14], &[8, 6]);
    let mut reply = f.clone();
    reply[20..22].copy_from_slice(&[0, 2]);
    reply[22..28].copy_from_slice(&[0x52, 0x54, 0, 0, 0, 9]);
    reply[28..32].copy_from_slice(&[10, 0, 0, 9]);
    assert_eq!(parse_arp_reply(&reply), Some((Ipv4Addr::new(10, 0, 0, 9), "52:54:00:00:00:09".into())));
    assert_eq!(parse_arp_reply(&f), None);
    assert_eq!(parse_arp_reply(&reply[..30]), None);
    assert_eq!(Order::parse(" 192.168.1.0 ", Some("50")).unwrap().latency_ms, 50);
    assert_eq!(Order::parse("192.168.1.0", Some("99999")).unwrap().latency_ms, ipdiscover::MAX_LATENCY_MS);
    assert!(Order::parse("lan", None).is_err());
    // A PTR answer with a compressed name, as resolvers send them.
    let q = ptr_query(0x4242, Ipv4Addr::new(10, 0, 0, 9));
    let mut a = q.clone();
    a[2] = 0x81;
    a[3] = 0x80;
    a[7] = 1;
    a.extend_from_slice(&[0xc0, 12, 0, 12, 0, 1, 0, 0, 0, 60]);
    let name = b"\x07printer\x03lab\x00";
    a.extend_from_slice(&(name.len() as u16).to_be_bytes());
    a.extend_from_slice(name);
    assert_eq!(parse_ptr_answer(&a, 0x4242).as_deref(), Some("printer.lab"));
    assert_eq!(parse_ptr_answer(&a, 0x4243), None);
    for n in 0..a.len() {
        let _ = parse_ptr_answer(&a[..n], 0x4242);
    }
    // A pointer loop ends.
    let mut looped = q.clone();
    looped[2] = 0x81;
    looped[7] = 1;
    looped.extend_from_slice(&[0xc0, (q.len()) as u8]);
    assert_eq!(parse_ptr_answer(&looped, 0x4242), None);
}

#[test]
fn an_address_of_a_swept_network_that_did_not_answer_arp_is_skipped() {
    let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    let on_link = OnLink::with(&[(ip("10.77.0.0"), ip("255.255.255.0"))], &[ip("10.77.0.1"), ip("10.77.0.4")]);
    assert!(!on_link.absent(ip("10.77.0.1")));
    assert!(!on_link.absent(ip("10.77.0.4")));
    assert!(on_link.absent(ip("10.77.0.6")));
    // The network and broadcast addresses answer no ARP: probed as before.
    assert!(!on_link.absent(ip("10.77.0.0")));
    assert!(!on_link.absent(ip("10.77.0.255")));
    // Off the swept networks: probed.
    assert!(!on_link.absent(ip("10.78.0.6")));
    // Nothing swept (no CAP_NET_RAW): everything is probed.
    assert!(!OnLink::default().absent(ip("10.77.0.6")));
    assert_eq!(OnLink::default().swept(), 0);
}
