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
    assert_eq!(s.log.logger, ["stderr"]);
    s.set("timeout", "0").unwrap();
    s.set("DEBUG", "7").unwrap();
    s.set("Logger", "Syslog,STDERR").unwrap();
    s.finish();
    assert_eq!(s.connection.timeout, 1);
    assert_eq!(s.log.debug, 2);
    assert_eq!(s.log.logger, ["syslog", "stderr"]);
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

#[test]
fn every_key_reads_back_what_it_shows() {
    let mut s = Settings::default();
    for k in KEYS {
        let shown = k.show(&s);
        k.set(&mut s, &shown)
            .unwrap_or_else(|e| panic!("{}: {e}", k.name));
        assert_eq!(k.show(&s), shown, "{}", k.name);
    }
    assert_eq!(s, Settings::default());
}

#[test]
fn files_and_folders_past_their_limits_are_errors_that_name_them() {
    let dir = std::env::temp_dir().join(format!("uagent-conf-limits-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("many")).unwrap();
    // Past the size limit, cut mid-line where `server = http://127` would have been read.
    let mut big = "#".repeat(file::MAX_CONF_FILE as usize - 10);
    big.push_str("\nserver = http://127.0.0.1/ocsinventory\n");
    fs::write(dir.join("big.cfg"), &big).unwrap();
    let mut notes = Vec::new();
    let mut s = Settings::default();
    let e = s.load_file(&dir.join("big.cfg"), &mut notes).unwrap_err();
    assert!(e.contains("big.cfg") && e.contains("larger than"), "{e}");
    assert!(
        s.targets.servers.is_empty(),
        "nothing of a refused file is applied"
    );
    // An included folder with more files than its limit.
    for i in 0..=file::MAX_INCLUDED_FILES {
        fs::write(dir.join(format!("many/{i:04}.cfg")), "delaytime = 60\n").unwrap();
    }
    fs::write(dir.join("inc.cfg"), "include \"many/\"\n").unwrap();
    let e = Settings::default()
        .load_file(&dir.join("inc.cfg"), &mut notes)
        .unwrap_err();
    assert!(e.contains("many") && e.contains("more than"), "{e}");
    // A FIFO in place of the file: an error at once, not a wait.
    nix::unistd::mkfifo(&dir.join("fifo.cfg"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    let e = Settings::default()
        .load_file(&dir.join("fifo.cfg"), &mut notes)
        .unwrap_err();
    assert!(e.contains("fifo.cfg") && e.contains("FIFO"), "{e}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn nested_includes_do_a_bounded_amount_of_work() {
    // Three folders of 256 files, each file including the next folder, within the depth
    // limit: 256^3 reads without a bound on the whole load.
    let dir = std::env::temp_dir().join(format!("uagent-conf-nest-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    for level in 1..=4 {
        fs::create_dir_all(dir.join(format!("d{level}"))).unwrap();
    }
    for level in 1..=3 {
        for i in 0..file::MAX_INCLUDED_FILES {
            let next = format!("include \"../d{}/\"\n", level + 1);
            fs::write(dir.join(format!("d{level}/{i:04}.cfg")), next).unwrap();
        }
    }
    fs::write(dir.join("d4/last.cfg"), "delaytime = 60\n").unwrap();
    fs::write(dir.join("agent.cfg"), "include \"d1/\"\n").unwrap();
    let t0 = std::time::Instant::now();
    let e = Settings::default()
        .load_file(&dir.join("agent.cfg"), &mut Vec::new())
        .unwrap_err();
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        t0.elapsed()
    );
    assert!(e.contains("configuration files in one load"), "{e}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_tag_past_its_bound_is_a_clear_error() {
    let mut s = Settings::default();
    assert!(s.set("tag", &"t".repeat(200 * 1024)).is_ok());
    // Room is left for the other settings in a pass's settings and a file.
    const { assert!(MAX_TAG_BYTES + 16 * 1024 <= 256 * 1024) };
    let e = s.set("tag", &"t".repeat(MAX_TAG_BYTES + 1)).unwrap_err();
    assert!(e.starts_with("tag:") && e.contains("longer than"), "{e}");
}
