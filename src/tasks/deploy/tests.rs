use super::*;

#[test]
fn policy_paths_never_reach_the_root_or_the_agents_folders() {
    let base = std::env::temp_dir().join(format!("uagent-policy-{}", std::process::id()));
    let _ = fs::remove_dir_all(&base);
    fs::create_dir_all(base.join("var")).unwrap();
    fs::create_dir_all(base.join("allowed/sub")).unwrap();
    std::os::unix::fs::symlink("/etc", base.join("allowed/escape")).unwrap();
    let mut s = crate::config::Settings::default();
    s.state.vardir = base.join("var");
    s.set(
        "deploy-paths",
        &format!("/,{},{}", base.join("allowed").display(), base.join("var/x").display()),
    )
    .unwrap();
    let server = Url::parse("http://ocs.example:8080/ocsinventory").unwrap();
    let p = Policy::new(&s, &server);
    let a = base.join("allowed");
    assert!(p.writable(&a.join("sub/new/file").to_string_lossy()).is_ok());
    assert!(p.writable(&a.join("sub/../../elsewhere").to_string_lossy()).is_err());
    assert!(p.writable(&a.join("escape/passwd").to_string_lossy()).is_err(), "a link out of deploy-paths");
    assert!(p.writable("/").is_err());
    assert!(p.writable(&base.join("var/x/y").to_string_lossy()).is_err());
    assert!(p.writable("relative/path").is_err());
    assert!(p.removable(&a.to_string_lossy()).is_err());
    assert!(p.removable(&a.join("sub").to_string_lossy()).is_ok());
    // Sources: the server's host by default, any port.
    assert!(p.source_allowed(&Url::parse("https://ocs.example:8543/download").unwrap()));
    assert!(!p.source_allowed(&Url::parse("http://evil.example/download").unwrap()));
    s.set("deploy-sources", "mirror.example:8080,10.0.0.1").unwrap();
    let p = Policy::new(&s, &server);
    assert!(p.source_allowed(&Url::parse("http://mirror.example:8080/x").unwrap()));
    assert!(!p.source_allowed(&Url::parse("http://mirror.example:8081/x").unwrap()));
    assert!(p.source_allowed(&Url::parse("http://10.0.0.1:1/x").unwrap()));
    assert!(!p.source_allowed(&Url::parse("http://ocs.example/x").unwrap()));
    fs::remove_dir_all(&base).unwrap();
}

#[test]
fn space_checks_say_how_much_there_is() {
    let tmp = std::env::temp_dir();
    assert!(check_space(&tmp, 0, 0).is_ok());
    let e = check_space(&tmp, u64::MAX / 2, 0).unwrap_err();
    assert!(e.contains("KiB free"), "{e}");
}
