use super::*;
use crate::httpd::TargetView;
use std::os::unix::fs::symlink;
use std::path::PathBuf;

fn shared(name: &str) -> Route {
    Route::Shared(name.as_bytes().to_vec())
}

#[test]
fn route_table_maps_the_fusion_and_ocs_paths() {
    let cases = [
        ("/", Route::Index),
        ("/?", Route::Index),
        ("/?lang=fr", Route::Index),
        ("/status", Route::Status),
        ("/status?x=1", Route::Status),
        ("/now", Route::Now(NowEvent::default())),
        ("/now/abc", Route::Now(NowEvent::default())),
        ("/now?x", Route::Now(NowEvent::default())),
        ("/nowhere", Route::NotFound),
        ("/status/", Route::NotFound),
        ("/%73tatus", Route::NotFound),
        ("/index.html", Route::NotFound),
        ("/?action=download&file=pkg/a.zip", shared("pkg/a.zip")),
        ("/?file=a%20b&action=download", shared("a b")),
        (
            "/?action=log&deviceid=box-2024",
            Route::Log(b"box-2024".to_vec()),
        ),
        ("/?action=log", Route::Log(Vec::new())),
        (
            "/?action=download",
            Route::BadRequest("download without file="),
        ),
        ("/?action=wakeup", Route::BadRequest("unknown action")),
        (
            "/?action=log&deviceid=%zz",
            Route::BadRequest("malformed %-escape in deviceid"),
        ),
        (
            "/?action=download&file=%4",
            Route::BadRequest("malformed %-escape in file"),
        ),
        ("http://agent:62354/status", Route::Status),
        ("HTTPS://agent", Route::Index),
        (
            "http://agent?action=log",
            Route::BadRequest("request target is not a path"),
        ),
        ("*", Route::BadRequest("request target is not a path")),
        ("status", Route::BadRequest("request target is not a path")),
    ];
    for (target, want) in cases {
        assert_eq!(route(target), want, "{target}");
    }
}

#[test]
fn now_events_name_checked_categories_and_a_target() {
    let ev = |partial: &[&str], target: Option<&str>| {
        Route::Now(NowEvent {
            partial: partial.iter().map(|s| s.to_string()).collect(),
            target: target.map(str::to_string),
        })
    };
    let cases = [
        (
            "/now?partial=yes&category=software",
            ev(&["software"], None),
        ),
        (
            "/now?partial=yes&category=softwares%2Cprocess,software&target=server0",
            ev(&["software", "process"], Some("server0")),
        ),
        // Partial without a category is a plain run, as the GLPI agent reads it.
        ("/now?partial=yes", ev(&[], None)),
        ("/now?category=software", ev(&[], None)),
        ("/now?target=local1", ev(&[], Some("local1"))),
        (
            "/now?partial=yes&category=nonesuch",
            Route::BadRequest("no known category in a /now event"),
        ),
        (
            "/now?partial=yes&category=database,software",
            ev(&["software"], None),
        ),
        (
            "/now?partial=yes&category=%zz",
            Route::BadRequest("malformed %-escape in a /now event"),
        ),
        (
            "/now?target=../x",
            Route::BadRequest("bad target in a /now event"),
        ),
    ];
    for (target, want) in cases {
        assert_eq!(route(target), want, "{target}");
    }
    let many = format!("/now?partial=yes&category={}", "cpu,".repeat(100));
    assert_eq!(route(&many), ev(&["cpu"], None), "repeats are one");
}

#[test]
fn deploy_paths_need_three_hex_components_of_the_right_sizes() {
    let sha = "ab".repeat(64);
    let ok = format!("/deploy/getFile/a/ab/{sha}");
    assert_eq!(route(&ok), shared(&format!("a/ab/{sha}")));
    assert_eq!(route("/deploy/getFile/0/0f/0f1e"), shared("0/0f/0f1e"));
    let refused = [
        "/deploy/getFile/".to_string(),
        "/deploy/getFile/a/ab".to_string(),
        format!("/deploy/getFile/a/ab/{sha}a"),
        "/deploy/getFile/a/ab/../../etc/passwd".to_string(),
        "/deploy/getFile/a/ab/%2e%2e".to_string(),
        "/deploy/getFile/a/ab%2fcd/ef".to_string(),
        "/deploy/getFile/a/ab/cd/ef".to_string(),
        "/deploy/getFile/ab/ab/cd".to_string(),
        "/deploy/getFile/g/ab/cd".to_string(),
        "/deploy/getFile/a//ab".to_string(),
    ];
    for t in refused {
        assert_eq!(route(&t), Route::Forbidden, "{t}");
    }
}

#[test]
fn download_names_that_could_leave_the_folder_are_forbidden() {
    let tricks = [
        "..",
        "../etc/passwd",
        "a/../../etc/passwd",
        "a/..",
        "./a",
        "a/./b",
        "%2e%2e/etc/passwd",
        "%2E%2E%2Fetc%2Fpasswd",
        "a%2fb",
        "a%2Fb",
        "..%5cwin.ini",
        "a\\b",
        "%252e%252e%252fetc",
        "%25",
        "/etc/passwd",
        "%2fetc%2fpasswd",
        "a%00.txt",
        "a//b",
        "a/",
        "",
        "a%0ab",
        "a%7f",
    ];
    for t in tricks {
        let target = format!("/?action=download&file={t}");
        assert_eq!(route(&target), Route::Forbidden, "{t:?}");
    }
    let long = format!("/?action=download&file={}", "a".repeat(MAX_NAME_BYTES + 1));
    assert_eq!(route(&long), Route::Forbidden);
    let at_limit = "a".repeat(MAX_NAME_BYTES);
    assert_eq!(
        route(&format!("/?action=download&file={at_limit}")),
        shared(&at_limit)
    );
    // Names that merely contain dots are fine.
    for ok in ["..a", "a..", "a/.b/c..d", "caf%C3%A9"] {
        assert!(
            matches!(
                route(&format!("/?action=download&file={ok}")),
                Route::Shared(_)
            ),
            "{ok}"
        );
    }
}

/// A `shared/` folder with a file, a subfolder, and links in and out; and a secret
/// beside it.
fn fixture(tag: &str) -> (PathBuf, PathBuf) {
    let root = std::env::temp_dir().join(format!("uagent-httpd-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    let dir = root.join("shared");
    fs::create_dir_all(dir.join("pkg")).unwrap();
    fs::write(dir.join("pkg/a.bin"), b"payload").unwrap();
    fs::write(root.join("secret"), b"secret").unwrap();
    symlink(root.join("secret"), dir.join("out")).unwrap();
    symlink("../../secret", dir.join("pkg/out-relative")).unwrap();
    symlink("/etc", dir.join("etc")).unwrap();
    symlink("pkg/a.bin", dir.join("in")).unwrap();
    symlink("missing", dir.join("dangling")).unwrap();
    (root, dir)
}

fn open(dir: &Path, name: &str) -> Result<Vec<u8>, Refusal> {
    use std::io::Read;
    let (mut f, len) = open_shared(dir, name.as_bytes())?;
    let mut v = Vec::new();
    f.read_to_end(&mut v).unwrap();
    assert_eq!(v.len() as u64, len);
    Ok(v)
}

#[test]
fn links_out_of_the_shared_folder_are_forbidden_links_inside_are_followed() {
    let (root, dir) = fixture("links");
    assert_eq!(open(&dir, "pkg/a.bin").unwrap(), b"payload");
    assert_eq!(open(&dir, "in").unwrap(), b"payload");
    assert_eq!(open(&dir, "out"), Err(Refusal::Forbidden));
    assert_eq!(open(&dir, "pkg/out-relative"), Err(Refusal::Forbidden));
    assert_eq!(open(&dir, "etc/passwd"), Err(Refusal::Forbidden));
    assert_eq!(
        open(&dir, "pkg"),
        Err(Refusal::Forbidden),
        "no folder listing"
    );
    assert_eq!(open(&dir, "missing"), Err(Refusal::NotFound));
    assert_eq!(open(&dir, "dangling"), Err(Refusal::NotFound));
    assert_eq!(open(&dir, "pkg/a.bin/x"), Err(Refusal::NotFound));
    assert_eq!(open(&dir, "../secret"), Err(Refusal::Forbidden));
    assert_eq!(
        open(&root.join("none"), "pkg/a.bin"),
        Err(Refusal::NotFound)
    );
    fs::remove_dir_all(root).unwrap();
}

#[test]
fn a_fifo_in_the_shared_folder_is_refused_without_blocking() {
    let (root, dir) = fixture("fifo");
    nix::unistd::mkfifo(
        &dir.join("pipe"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    assert_eq!(open(&dir, "pipe"), Err(Refusal::Forbidden));
    fs::remove_dir_all(root).unwrap();
}

#[test]
fn the_log_is_sent_from_its_last_mebibyte() {
    use std::io::Read;
    let (root, _) = fixture("log");
    let log = root.join("agent.log");
    let mut text = vec![b'a'; MAX_LOG_BYTES as usize];
    text.extend_from_slice(b"tail\n");
    fs::write(&log, &text).unwrap();
    let (mut f, left) = open_log(&log).unwrap();
    assert_eq!(left, MAX_LOG_BYTES);
    let mut got = Vec::new();
    f.read_to_end(&mut got).unwrap();
    assert_eq!(got.len() as u64, MAX_LOG_BYTES);
    assert!(got.ends_with(b"aaaatail\n"));
    fs::write(&log, b"short\n").unwrap();
    assert_eq!(open_log(&log).unwrap().1, 6);
    fs::remove_dir_all(root).unwrap();
}

#[test]
fn deviceid_must_match_exactly_and_an_empty_one_never_matches() {
    assert!(same_secret(
        b"box-2024-01-01-00-00-00",
        "box-2024-01-01-00-00-00"
    ));
    assert!(!same_secret(
        b"box-2024-01-01-00-00-0",
        "box-2024-01-01-00-00-00"
    ));
    assert!(!same_secret(
        b"BOX-2024-01-01-00-00-00",
        "box-2024-01-01-00-00-00"
    ));
    assert!(!same_secret(b"", ""));
}

fn view() -> View {
    View {
        status: "running task <inventory>".into(),
        targets: vec![
            TargetView {
                name: "https://ocs.example/ocsinventory?a=1&b=<2>".into(),
                is_server: true,
                next_run: 1_700_000_000,
            },
            TargetView {
                name: "/var/tmp/inv".into(),
                is_server: false,
                next_run: 0,
            },
        ],
    }
}

#[test]
fn index_page_shows_names_and_the_run_link_only_to_trusted_callers_escaped() {
    let trusted = String::from_utf8(index_page(&view(), true)).unwrap();
    assert!(trusted.contains(concat!("<h1>uagent ", env!("CARGO_PKG_VERSION"), "</h1>")));
    assert!(trusted.contains("Status: running task &lt;inventory&gt;"));
    assert!(trusted.contains("server: https://ocs.example/ocsinventory?a=1&amp;b=&lt;2&gt;"));
    assert!(trusted.contains("local: /var/tmp/inv</td><td>1970-01-01 00:00:00 UTC"));
    assert!(trusted.contains("2023-11-14 22:13:20 UTC"));
    assert!(trusted.contains("<a href=\"/now\">"));

    let anyone = String::from_utf8(index_page(&view(), false)).unwrap();
    assert!(!anyone.contains("ocs.example") && !anyone.contains("/var/tmp"));
    assert!(anyone.contains("server target</td><td>2023-11-14 22:13:20 UTC"));
    assert!(anyone.contains("local target"));
    assert!(!anyone.contains("/now"));
    let none = String::from_utf8(index_page(&View::default(), false)).unwrap();
    assert!(none.contains("No target."));
}
