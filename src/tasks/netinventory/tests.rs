use super::job::Job;
use super::ocs::wildcard;
use super::*;

#[test]
fn the_launcher_job_round_trips_through_its_text() {
    let a = Args {
        host: vec!["10.0.0.5".into()],
        credentials: vec!["version:3,username:u,authprotocol:sha256,authpassword:a-password,privprotocol:aes,privpassword:p-password".into()],
        timeout: Some(0),
        ..Args::default()
    };
    let job = a.job_from_options().unwrap();
    assert_eq!(job.timeout, 1);
    assert_eq!(Job::from_text(&job.to_text()).unwrap(), job);
    assert!(Args::default().job_from_options().is_err());
}

#[cfg(feature = "client")]
#[test]
fn a_server_snmpquery_is_read_whole() {
    let p = crate::protocol::messages::parse_prolog(
        br#"<REPLY><OPTION><NAME>SNMPQUERY</NAME>
        <PARAM THREADS_QUERY="4" TIMEOUT="0" PID="1234"/>
        <DEVICE TYPE="NETWORKING" ID="72" IP="10.0.0.5" AUTHSNMP_ID="3"/>
        <DEVICE TYPE="PRINTER" ID="73" IP="10.0.0.6" AUTHSNMP_ID="4" PORT="1161"/>
        <AUTHENTICATION ID="3" VERSION="2c" COMMUNITY="public"/>
        <AUTHENTICATION ID="4" VERSION="3" USERNAME="u" AUTHPROTOCOL="SHA" AUTHPASSPHRASE="a-password" PRIVPROTOCOL="AES256C" PRIVPASSPHRASE="p-password"/>
        </OPTION></REPLY>"#,
    )
    .unwrap();
    let option = p.option("SNMPQUERY").unwrap();
    let job = Job::from_prolog(option).unwrap();
    assert_eq!((job.pid.as_str(), job.threads, job.timeout), ("1234", 4, 15));
    assert_eq!(job.devices[1].port, Some(1161));
    assert_eq!(job.credential_of(&job.devices[1]).unwrap().priv_protocol, "AES256C");
    let args = Args::from_prolog(option).unwrap();
    assert_eq!(args.job_text().map(Job::from_text).map(Result::unwrap), Some(job));
    let argv = args.to_argv();
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    use argh::FromArgs;
    assert_eq!(Args::from_args(&["netinventory"], &argv).unwrap(), args);
}

#[test]
fn ocs_conditions_take_wildcards() {
    assert!(wildcard("*Cisco*", "a Cisco IOS"));
    assert!(wildcard("Linux*", "Linux box"));
    assert!(wildcard("*box", "Linux box"));
    assert!(wildcard("exact", "exact"));
    assert!(!wildcard("*Cisco*", "Juniper"));
}

#[test]
fn a_walk_file_becomes_a_device_with_ports() {
    let walk = "\
.1.3.6.1.2.1.1.1.0 = STRING: \"Cisco IOS Software, C3750\"
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.9.1.516
.1.3.6.1.2.1.1.5.0 = STRING: \"sw1\"
.1.3.6.1.2.1.2.2.1.1.1 = INTEGER: 1
.1.3.6.1.2.1.2.2.1.1.2 = INTEGER: 2
.1.3.6.1.2.1.2.2.1.2.1 = STRING: \"Gi1/0/1\"
.1.3.6.1.2.1.2.2.1.2.2 = STRING: \"Gi1/0/2\"
.1.3.6.1.2.1.2.2.1.3.1 = INTEGER: 6
.1.3.6.1.2.1.2.2.1.5.1 = Gauge32: 100000000
.1.3.6.1.2.1.2.2.1.5.2 = Gauge32: 4294967295
.1.3.6.1.2.1.31.1.1.1.15.2 = Gauge32: 10000
.1.3.6.1.2.1.2.2.1.6.1 = Hex-STRING: 00 1A 2B 3C 4D 5E
.1.3.6.1.2.1.17.1.4.1.2.1 = INTEGER: 1
.1.3.6.1.2.1.17.4.3.1.2.0.17.34.51.68.85 = INTEGER: 1
.1.3.6.1.2.1.17.4.3.1.2.0.26.43.60.77.94 = INTEGER: 1
";
    let dir = std::env::temp_dir().join(format!("ni-walk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("sw.walk");
    std::fs::write(&f, walk).unwrap();
    let a = Args {
        file: vec![f.to_string_lossy().into_owned()],
        ..Args::default()
    };
    let job = a.job_from_options().unwrap();
    let ids = RefCell::new(SysObjectIds::new(Some("/nonexistent")));
    let node = inventory_device(&job, &job.devices[0], &ids);
    let mut out = Vec::new();
    xml::write(&mut out, &node);
    let s = String::from_utf8(out).unwrap();
    assert!(s.contains("<IFNAME>Gi1/0/1</IFNAME>"), "{s}");
    assert!(s.contains("<IFSPEED>10000000000</IFSPEED>"), "ifHighSpeed wins: {s}");
    assert!(s.contains("<MANUFACTURER>Cisco</MANUFACTURER>"), "{s}");
    // The port's own MAC is not a connected one.
    assert!(s.contains("<CONNECTION><MAC>00:11:22:33:44:55</MAC></CONNECTION>"), "{s}");
    assert!(s.starts_with("<DEVICE><INFO><COMMENTS>"), "keys in order: {s}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The SNMP option of an OCS PROLOG, as the stock server writes it (types with their labels,
/// a network, a device and a community).
#[cfg(feature = "client")]
const OCS_SNMP_PROLOG: &[u8] = br#"<REPLY><OPTION><NAME>SNMP</NAME>
    <PARAM TYPE="NETWORK" SUBNET="127.77.0.0/30"/>
    <PARAM TYPE="DEVICE" IPADDR="127.77.1.9" MACADDR="00:11:22:33:44:55"/>
    <PARAM TYPE="SNMP_TYPE" TYPE_NAME="Default" TABLE_TYPE_NAME="snmp_default" CONDITION_OID="1.3.6.1.2.1.1.1.0" CONDITION_VALUE="" LABEL_NAME="DefaultName" OID="1.3.6.1.2.1.1.5.0"/>
    <PARAM TYPE="SNMP_TYPE" TYPE_NAME="Default" TABLE_TYPE_NAME="snmp_default" CONDITION_OID="1.3.6.1.2.1.1.1.0" CONDITION_VALUE="" LABEL_NAME="DefaultAddressIP" OID="1.3.6.1.2.1.4.20.1.1"/>
    <PARAM TYPE="SNMP_TYPE" TYPE_NAME="Linux" TABLE_TYPE_NAME="snmp_linux" CONDITION_OID="1.3.6.1.2.1.1.1.0" CONDITION_VALUE="Linux*" LABEL_NAME="LinuxName" OID="1.3.6.1.2.1.1.5.0"/>
    <PARAM TYPE="COMMUNITY" VERSION="2c" NAME="a-community" USERNAME="" AUTHKEY="" AUTHPASSWD=""/>
    </OPTION><RESPONSE>SEND</RESPONSE></REPLY>"#;

#[cfg(feature = "client")]
#[test]
fn an_ocs_snmp_option_becomes_a_task_whose_arguments_round_trip() {
    use super::ocs::OcsJob;
    let p = crate::protocol::messages::parse_prolog(OCS_SNMP_PROLOG).unwrap();
    let option = p.option("SNMP").unwrap();
    let job = OcsJob::from_prolog(option).unwrap();
    // A /30: its two hosts, and the device.
    let ips: Vec<String> = job.addresses.iter().map(|a| a.to_string()).collect();
    assert_eq!(ips, ["127.77.0.1", "127.77.0.2", "127.77.1.9"]);
    assert_eq!(job.labels.len(), 3);
    assert_eq!(job.credentials[0].community, "a-community");
    assert_eq!(OcsJob::from_text(&job.to_text()).unwrap(), job);
    let args = Args::from_ocs_prolog(option).unwrap();
    assert!(args.frames && args.job.is_none());
    assert_eq!(args.ocs_job.as_deref().map(OcsJob::from_text).map(Result::unwrap), Some(job));
    let argv = args.to_argv();
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    use argh::FromArgs;
    assert_eq!(Args::from_args(&["netinventory"], &argv).unwrap(), args);
    // The agent's time limit covers the job.
    let floor = std::time::Duration::from_secs(1);
    assert!(time_limit(&args, floor) > floor);
}

#[cfg(feature = "client")]
#[test]
fn an_ocs_snmp_option_without_types_or_a_target_orders_nothing() {
    // No COMMUNITY: public, as the OCS unix agent does.
    let no_community = String::from_utf8_lossy(OCS_SNMP_PROLOG).replace(r#"TYPE="COMMUNITY""#, r#"TYPE="X""#);
    let p = crate::protocol::messages::parse_prolog(no_community.as_bytes()).unwrap();
    let job = super::ocs::OcsJob::from_prolog(p.option("SNMP").unwrap()).unwrap();
    assert_eq!(job.credentials[0].community, "public");
    let no_types = String::from_utf8_lossy(OCS_SNMP_PROLOG).replace(r#"TYPE="SNMP_TYPE""#, r#"TYPE="X""#);
    let p = crate::protocol::messages::parse_prolog(no_types.as_bytes()).unwrap();
    assert_eq!(Args::from_ocs_prolog(p.option("SNMP").unwrap()), None);
    let no_target = String::from_utf8_lossy(OCS_SNMP_PROLOG)
        .replace(r#"TYPE="NETWORK""#, r#"TYPE="X""#)
        .replace(r#"TYPE="DEVICE""#, r#"TYPE="X""#);
    let p = crate::protocol::messages::parse_prolog(no_target.as_bytes()).unwrap();
    assert_eq!(Args::from_ocs_prolog(p.option("SNMP").unwrap()), None);
    let wide = String::from_utf8_lossy(OCS_SNMP_PROLOG).replace("127.77.0.0/30", "10.0.0.0/8");
    let p = crate::protocol::messages::parse_prolog(wide.as_bytes()).unwrap();
    assert_eq!(Args::from_ocs_prolog(p.option("SNMP").unwrap()), None);
}

/// The server's type conditions on a small walk: the custom types go before snmp_default, a
/// condition value is matched with its wildcards, a label that is a table is walked.
#[test]
fn ocs_types_are_chosen_by_their_conditions_on_a_walk() {
    use super::ocs::{inventory, Label, OcsJob};
    use crate::snmp::{Agent, WalkFile};
    let walk = |descr: &str| {
        let text = format!(
            ".1.3.6.1.2.1.1.1.0 = STRING: \"{descr}\"\n\
             .1.3.6.1.2.1.1.5.0 = STRING: \"box1\"\n\
             .1.3.6.1.2.1.1.6.0 = STRING: \"\"\n\
             .1.3.6.1.2.1.2.2.1.6.2 = Hex-STRING: 00 1A 2B 3C 4D 5E\n\
             .1.3.6.1.2.1.4.20.1.1.10.0.0.1 = IpAddress: 10.0.0.1\n\
             .1.3.6.1.2.1.4.20.1.1.127.0.0.1 = IpAddress: 127.0.0.1\n"
        );
        Agent::File(WalkFile::read(text.as_bytes()).unwrap())
    };
    let label = |t: &str, table: &str, cvalue: &str, name: &str, oid: &str| Label {
        type_name: t.into(),
        table: table.into(),
        condition_oid: "1.3.6.1.2.1.1.1.0".into(),
        condition_value: cvalue.into(),
        label: name.into(),
        oid: oid.into(),
    };
    let job = OcsJob {
        labels: vec![
            label("Default", "snmp_default", "", "DefaultName", "1.3.6.1.2.1.1.5.0"),
            label("Default", "snmp_default", "", "DefaultAddressIP", "1.3.6.1.2.1.4.20.1.1"),
            label("Default", "snmp_default", "", "DefaultLocation", "1.3.6.1.2.1.1.6.0"),
            label("Cisco", "snmp_cisco", "*Cisco IOS*", "CiscoName", "1.3.6.1.2.1.1.5.0"),
            label("Linux", "snmp_linux", "Linux*", "LinuxName", "1.3.6.1.2.1.1.5.0"),
            label("Linux", "snmp_linux", "Linux*", "LinuxMac", "1.3.6.1.2.1.2.2.1.6.2"),
        ],
        ..OcsJob::default()
    };
    let text = |n: Option<Node>| {
        let mut out = Vec::new();
        if let Some(n) = n {
            xml::write(&mut out, &n);
        }
        String::from_utf8(out).unwrap()
    };
    // A Linux box: the Linux type, though snmp_default comes first in the server's list (the
    // children are written sorted).
    let got = text(inventory(&job, &mut walk("Linux box1 6.1.0")));
    assert_eq!(got, "<snmp_linux><LinuxMac>00:1A:2B:3C:4D:5E</LinuxMac><LinuxName>box1</LinuxName></snmp_linux>");
    // A Cisco switch: the contains-wildcard.
    let got = text(inventory(&job, &mut walk("Cisco IOS Software, C3750")));
    assert_eq!(got, "<snmp_cisco><CiscoName>box1</CiscoName></snmp_cisco>");
    // Anything else answering: snmp_default, the address table walked and joined, the
    // empty location left out.
    let got = text(inventory(&job, &mut walk("FreeBSD gw 14.1")));
    assert_eq!(
        got,
        "<snmp_default><DefaultAddressIP>10.0.0.1 - 127.0.0.1</DefaultAddressIP><DefaultName>box1</DefaultName></snmp_default>"
    );
    // No type at all whose condition OID answers: nothing.
    let none = OcsJob {
        labels: vec![Label {
            condition_oid: "1.3.6.1.4.1.9999.1.0".into(),
            ..label("Default", "snmp_default", "", "DefaultName", "1.3.6.1.2.1.1.5.0")
        }],
        ..OcsJob::default()
    };
    assert_eq!(text(inventory(&none, &mut walk("Linux"))), "");
    // The first type whose condition holds decides, even when none of its labels has a
    // value: no element then (an empty one would be an empty row), and no other type.
    let empty = OcsJob {
        labels: vec![
            label("Linux", "snmp_linux", "Linux*", "LinuxLocation", "1.3.6.1.2.1.1.6.0"),
            label("Linux", "snmp_linux", "Linux*", "LinuxNothing", "1.3.6.1.4.1.9999.1"),
            label("Default", "snmp_default", "", "DefaultName", "1.3.6.1.2.1.1.5.0"),
        ],
        ..OcsJob::default()
    };
    assert_eq!(text(inventory(&empty, &mut walk("Linux box1"))), "");
    // "Linux*" is a prefix: a description that only contains it is not Linux.
    let got = text(inventory(&job, &mut walk("Embedded Linux 5.4")));
    assert!(got.starts_with("<snmp_default>"), "{got}");
}

#[test]
fn the_walks_of_one_device_have_a_bound_in_all() {
    use super::collect::{CollectError, Query, MAX_DEVICE_VALUES, MAX_WALK_ROWS};
    use crate::snmp::{Agent, WalkFile};
    let mut walk = String::new();
    for i in 1..=MAX_WALK_ROWS {
        walk.push_str(&format!(".1.3.6.1.2.1.2.2.1.1.{i} = INTEGER: {i}\n"));
    }
    let mut agent = Agent::File(WalkFile::read(walk.as_bytes()).unwrap());
    let mut q = Query::new(&mut agent);
    for _ in 0..MAX_DEVICE_VALUES / MAX_WALK_ROWS {
        assert_eq!(q.walk(".1.3.6.1.2.1.2.2.1.1", "ifTable").unwrap().len(), MAX_WALK_ROWS);
    }
    let e = q.walk(".1.3.6.1.2.1.2.2.1.1", "ifTable").unwrap_err();
    assert!(matches!(e, CollectError::TooMany), "{e}");
    assert!(e.to_string().contains(&format!("more than {MAX_DEVICE_VALUES} values in all")), "{e}");
    // One more row than a table may hold is refused by name.
    walk.push_str(&format!(".1.3.6.1.2.1.2.2.1.1.{} = INTEGER: 0\n", MAX_WALK_ROWS + 1));
    let mut agent = Agent::File(WalkFile::read(walk.as_bytes()).unwrap());
    let e = Query::new(&mut agent).walk(".1.3.6.1.2.1.2.2.1.1", "ifTable").unwrap_err();
    assert!(e.to_string().contains("ifTable holds more than 16384 values"), "{e}");
}

#[test]
fn oversized_strings_are_cut_at_their_bound() {
    use crate::snmp::device::{text, MAX_TEXT_BYTES};
    use crate::snmp::Value;
    let big = Value::Octets("é".repeat(40_000).into_bytes());
    let t = text(&big).unwrap();
    assert!(t.len() <= MAX_TEXT_BYTES && t.len() > MAX_TEXT_BYTES - 2, "{}", t.len());
    assert!(t.chars().all(|c| c == 'é'), "cut on a character boundary");
    let walk = format!(
        ".1.3.6.1.2.1.1.1.0 = STRING: \"{}\"\n.1.3.6.1.2.1.1.5.0 = STRING: \"n\"\n",
        "x".repeat(65_000)
    );
    let dir = std::env::temp_dir().join(format!("ni-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("big.walk");
    std::fs::write(&f, walk).unwrap();
    let a = Args {
        file: vec![f.to_string_lossy().into_owned()],
        ..Args::default()
    };
    let job = a.job_from_options().unwrap();
    let ids = RefCell::new(SysObjectIds::new(Some("/nonexistent")));
    let mut out = Vec::new();
    xml::write(&mut out, &inventory_device(&job, &job.devices[0], &ids));
    let s = String::from_utf8(out).unwrap();
    assert!(s.contains(&format!("<COMMENTS>{}</COMMENTS>", "x".repeat(MAX_TEXT_BYTES))), "{}", &s[..200]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tplink_port_lists_expand_their_ranges() {
    use super::collect::tplink_port_list;
    assert_eq!(tplink_port_list("1/0/1-3,1/0/7"), ["1/0/1", "1/0/2", "1/0/3", "1/0/7"]);
    assert_eq!(tplink_port_list("1/0/9-11"), ["1/0/9", "1/0/10", "1/0/11"]);
    assert_eq!(tplink_port_list(" 5 ,, 8-9"), ["5", "8", "9"]);
    assert_eq!(tplink_port_list("1/0/4-2"), ["1/0/4-2"], "not a range");
    assert_eq!(tplink_port_list("1-4294967295").len(), super::collect::MAX_PORTS, "bounded");
}

#[test]
fn a_tplink_switch_has_the_vlans_of_its_own_mib() {
    let walk = "\
.1.3.6.1.2.1.1.1.0 = STRING: \"JetStream 24-Port Gigabit L2 Managed Switch\"
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.11863.1.1.3
.1.3.6.1.2.1.2.2.1.1.49153 = INTEGER: 49153
.1.3.6.1.2.1.2.2.1.1.49154 = INTEGER: 49154
.1.3.6.1.2.1.2.2.1.1.49155 = INTEGER: 49155
.1.3.6.1.2.1.2.2.1.2.49153 = STRING: \"gigabitEthernet 1/0/1 : copper\"
.1.3.6.1.2.1.2.2.1.2.49154 = STRING: \"gigabitEthernet 1/0/2 : copper\"
.1.3.6.1.2.1.2.2.1.2.49155 = STRING: \"gigabitEthernet 1/0/3 : copper\"
.1.3.6.1.4.1.11863.6.14.1.1.1.1.1.49153 = STRING: \"1/0/1\"
.1.3.6.1.4.1.11863.6.14.1.1.1.1.1.49154 = STRING: \"1/0/2\"
.1.3.6.1.4.1.11863.6.14.1.1.1.1.1.49155 = STRING: \"1/0/3\"
.1.3.6.1.4.1.11863.6.14.1.2.1.1.1.1 = INTEGER: 1
.1.3.6.1.4.1.11863.6.14.1.2.1.1.1.10 = INTEGER: 10
.1.3.6.1.4.1.11863.6.14.1.2.1.1.2.1 = STRING: \"System-VLAN\"
.1.3.6.1.4.1.11863.6.14.1.2.1.1.2.10 = STRING: \"office\"
.1.3.6.1.4.1.11863.6.14.1.2.1.1.3.1 = STRING: \"\"
.1.3.6.1.4.1.11863.6.14.1.2.1.1.3.10 = STRING: \"1/0/3\"
.1.3.6.1.4.1.11863.6.14.1.2.1.1.4.1 = STRING: \"1/0/1-3\"
.1.3.6.1.4.1.11863.6.14.1.2.1.1.4.10 = STRING: \"1/0/2\"
.1.3.6.1.4.1.11863.6.14.1.2.1.1.5.1 = STRING: \"1/0/2\"
.1.3.6.1.4.1.11863.6.14.1.2.1.1.6.1 = INTEGER: 1
.1.3.6.1.4.1.11863.6.14.1.2.1.1.6.10 = INTEGER: 1
";
    let dir = std::env::temp_dir().join(format!("ni-tplink-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("tplink.walk");
    std::fs::write(&f, walk).unwrap();
    let a = Args {
        file: vec![f.to_string_lossy().into_owned()],
        ..Args::default()
    };
    let job = a.job_from_options().unwrap();
    let ids = RefCell::new(SysObjectIds::new(Some("/nonexistent")));
    let mut out = Vec::new();
    xml::write(&mut out, &inventory_device(&job, &job.devices[0], &ids));
    let s = String::from_utf8(out).unwrap();
    let port = |n: &str| {
        let at = s.find(&format!("<IFNUMBER>{n}</IFNUMBER>")).unwrap();
        let end = s[at..].find("</PORT>").unwrap();
        s[at..at + end].to_string()
    };
    let untagged1 = "<VLAN><NAME>System-VLAN</NAME><NUMBER>1</NUMBER><TAGGED>0</TAGGED></VLAN>";
    assert!(port("49153").contains(&format!("<VLANS>{untagged1}</VLANS>")), "{s}");
    // 1/0/2 is removed from VLAN 1 and untagged in 10.
    assert!(
        port("49154").contains("<VLANS><VLAN><NAME>office</NAME><NUMBER>10</NUMBER><TAGGED>0</TAGGED></VLAN></VLANS>"),
        "{s}"
    );
    assert!(
        port("49155").contains(&format!(
            "<VLANS>{untagged1}<VLAN><NAME>office</NAME><NUMBER>10</NUMBER><TAGGED>1</TAGGED></VLAN></VLANS>"
        )),
        "{s}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
