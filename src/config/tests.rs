use super::*;
use std::fs;

#[test]
fn a_config_file_sets_keys_and_the_command_line_wins_after() {
    let dir = std::env::temp_dir().join(format!("uagent-conf-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("conf.d")).unwrap();
    fs::write(
        dir.join("agent.cfg"),
        "# comment\nserver = http://a/ocsinventory, https://b/\ntag = 'site a'\nno-ssl-check = 1\n\
         delaytime = 60 # seconds\nbogus-key = 1\ninclude \"conf.d/\"\n",
    )
    .unwrap();
    fs::write(
        dir.join("conf.d/10-more.cfg"),
        "httpd_trust = 10.0.0.0/8,192.168.1.1\nbasevardir = /var/x\n",
    )
    .unwrap();
    let mut s = Settings::default();
    let mut notes = Vec::new();
    s.load_file(&dir.join("agent.cfg"), &mut notes).unwrap();
    assert_eq!(s.targets.servers, ["http://a/ocsinventory", "https://b/"]);
    assert_eq!(s.tasks.tag.as_deref(), Some("site a"));
    assert!(s.connection.no_ssl_check);
    assert_eq!(s.schedule.delaytime, 60);
    assert_eq!(s.httpd.httpd_trust, ["10.0.0.0/8", "192.168.1.1"]);
    assert_eq!(s.state.vardir, Path::new("/var/x"));
    assert_eq!(notes.len(), 1);
    assert!(notes[0].contains("agent.cfg:6: unknown setting \"bogus-key\""));
    s.set("tag", "cli").unwrap();
    assert_eq!(s.tasks.tag.as_deref(), Some("cli"));
    fs::write(dir.join("bad.cfg"), "wait = soon\n").unwrap();
    assert!(Settings::default()
        .load_file(&dir.join("bad.cfg"), &mut notes)
        .unwrap_err()
        .contains("bad.cfg:1"));
    assert!(Settings::default()
        .load_file(&dir.join("missing.cfg"), &mut notes)
        .is_err());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn defaults_floors_and_caps_come_from_the_table() {
    let mut s = Settings::default();
    assert_eq!(s.connection.timeout, 180);
    assert_eq!(s.tasks.task_timeout, 600);
    assert_eq!(s.httpd.httpd_port, 62354);
    assert_eq!(s.log.logger, "stderr");
    s.set("timeout", "0").unwrap();
    s.set("DEBUG", "7").unwrap();
    s.set("Logger", "Syslog").unwrap();
    assert_eq!(s.connection.timeout, 1);
    assert_eq!(s.log.debug, 2);
    assert_eq!(s.log.logger, "syslog");
    assert!(s.set("httpd-port", "70000").is_err());
    assert_eq!(
        s.tasks.full_inventory_postpone, 14,
        "the GLPI agent's default"
    );
    assert_eq!(s.tasks.itemtype, "Computer");
    s.set("full-inventory-postpone", "99999999").unwrap();
    assert_eq!(
        s.tasks.full_inventory_postpone,
        crate::state::target::MAX_POSTPONE
    );
    assert!(s.set("tag", "a\nb").is_err());
    assert!(s
        .set("nonsense", "1")
        .unwrap_err()
        .contains("unknown setting"));
}

#[test]
fn keys_and_short_options_are_unique() {
    for (i, a) in KEYS.iter().enumerate() {
        for b in &KEYS[i + 1..] {
            assert_ne!(a.name, b.name);
            assert!(
                a.short.is_none() || a.short != b.short,
                "-{:?} twice",
                a.short
            );
        }
    }
}

#[test]
fn settings_written_as_text_read_back_the_same() {
    let mut s = Settings::default();
    for (k, v) in [
        ("server", "http://a/ocsinventory,https://user:pw@b/"),
        ("tag", "site \"a\" # not a comment"),
        ("lazy", "1"),
        ("debug", "2"),
        ("statedir", "/var/run/uagent"),
        ("httpd-port", "8080"),
        ("password", "p=w'd"),
        ("no-ssl-check", "yes"),
        ("oauth-client-id", "agent"),
        ("oauth-client-secret", "s\"e=c r#et"),
        ("partial", "software,cpu"),
        ("itemtype", "NetworkEquipment"),
        ("full-inventory-postpone", "3"),
    ] {
        s.set(k, v).unwrap();
    }
    let text = s.to_text();
    let mut back = Settings::default();
    back.load_text(&text, "settings").unwrap();
    assert_eq!(back, s, "{text}");
    assert_eq!(Settings::default().to_text(), "");
}
