use super::*;

#[test]
fn full_url_gives_userinfo_host_port_and_path_with_query() {
    let u =
        Url::parse("HTTP://bob:s%40cret@Server.Example.COM:8080/ocs/inventory?a=1#frag").unwrap();
    assert_eq!(u.scheme, Scheme::Http);
    assert_eq!(u.user.as_deref(), Some("bob"));
    assert_eq!(u.password.as_deref(), Some("s@cret"));
    assert_eq!((u.host.as_str(), u.port), ("server.example.com", 8080));
    assert_eq!(u.path, "/ocs/inventory?a=1");
    assert_eq!(u.authority(), "server.example.com:8080");
    assert_eq!(
        u.to_string(),
        "http://server.example.com:8080/ocs/inventory?a=1"
    );
    assert!(
        !format!("{u:?}").contains("cret"),
        "Debug must not show the password"
    );
}

#[test]
fn default_ports_are_left_out_of_the_host_header() {
    let u = Url::parse("https://glpi.example/front/inventory.php").unwrap();
    assert_eq!((u.port, u.host_header()), (443, "glpi.example".to_string()));
    let u = Url::parse("http://h:80").unwrap();
    assert_eq!(
        (u.port, u.host_header(), u.target()),
        (80, "h".to_string(), "/".to_string())
    );
    let u = Url::parse("http://h:").unwrap();
    assert_eq!(u.port, 80);
}

#[test]
fn ipv6_literals_keep_brackets_only_on_the_wire() {
    let u = Url::parse("http://[::1]:8080/x").unwrap();
    assert_eq!((u.host.as_str(), u.port), ("::1", 8080));
    assert_eq!(u.authority(), "[::1]:8080");
    let u = Url::parse("https://[FE80::1]").unwrap();
    assert_eq!(
        (u.host.as_str(), u.host_header()),
        ("fe80::1", "[fe80::1]".to_string())
    );
}

#[test]
fn path_is_empty_only_when_the_url_has_none() {
    assert_eq!(Url::parse("http://h").unwrap().path, "");
    assert_eq!(Url::parse("http://h/").unwrap().path, "/");
    let q = Url::parse("http://h?x=1").unwrap();
    assert_eq!((q.path.as_str(), q.target()), ("?x=1", "/?x=1".to_string()));
}

#[test]
fn bare_host_or_host_path_means_http() {
    let u = Url::parse_default_http("ocs.lan").unwrap();
    assert_eq!(
        (u.scheme, u.host.as_str(), u.port, u.path.as_str()),
        (Scheme::Http, "ocs.lan", 80, "")
    );
    let u = Url::parse_default_http("glpi.lan:8080/front/inventory.php").unwrap();
    assert_eq!(u.to_string(), "http://glpi.lan:8080/front/inventory.php");
    let u = Url::parse_default_http("https://x").unwrap();
    assert_eq!(u.scheme, Scheme::Https);
}

#[test]
fn spaces_and_non_ascii_in_paths_are_percent_encoded() {
    assert_eq!(Url::parse("http://h/a b/é").unwrap().path, "/a%20b/%C3%A9");
}

#[test]
fn bad_urls_are_refused_without_echoing_the_password() {
    for bad in [
        "ftp://h/",
        "h/path",
        "http://",
        "http:///x",
        "http://h:0/",
        "http://h:65536/",
        "http://h:8o/",
        "http://[::1/",
        "http://[zz::1]/",
        "http://[::1]x/",
        "http://bad host/",
        "http://a_b%/",
    ] {
        assert!(Url::parse(bad).is_err(), "{bad} was accepted");
    }
    let e = Url::parse("user:hunter2@host/x").unwrap_err().to_string();
    assert!(!e.contains("hunter2"), "{e}");
    assert!(Url::parse(&format!("http://h/{}", "a".repeat(MAX_URL_LEN))).is_err());
}

fn np(list: &str) -> Vec<String> {
    split_no_proxy(list)
}

#[test]
fn no_proxy_domains_match_on_label_boundaries() {
    let e = np("example.com, .corp.lan");
    assert!(no_proxy_matches(&e, "example.com"));
    assert!(no_proxy_matches(&e, "www.example.com"));
    assert!(!no_proxy_matches(&e, "badexample.com"));
    assert!(no_proxy_matches(&e, "corp.lan"));
    assert!(no_proxy_matches(&e, "a.b.corp.lan"));
    assert!(!no_proxy_matches(&e, "corp.lan.evil"));
    assert!(no_proxy_matches(&np("*.example.org"), "x.example.org"));
    assert!(no_proxy_matches(&np("EXAMPLE.com:8080"), "Example.COM"));
}

#[test]
fn no_proxy_star_matches_all_and_empty_matches_none() {
    assert!(no_proxy_matches(&np("*"), "anything"));
    assert!(!no_proxy_matches(&np(""), "anything"));
    assert!(!no_proxy_matches(&np(" , ,"), "anything"));
}

#[test]
fn no_proxy_ip_and_cidr_entries_match_literal_addresses() {
    let e = np("127.0.0.1 10.0.0.0/8,[::1], fd00::/8, 192.168.1.0/33");
    assert!(no_proxy_matches(&e, "127.0.0.1"));
    assert!(no_proxy_matches(&e, "10.20.30.40"));
    assert!(!no_proxy_matches(&e, "11.0.0.1"));
    assert!(no_proxy_matches(&e, "::1"));
    assert!(no_proxy_matches(&e, "fd12:3456::1"));
    assert!(!no_proxy_matches(&e, "fe80::1"));
    assert!(
        !no_proxy_matches(&e, "192.168.1.1"),
        "an invalid prefix matches nothing"
    );
    assert!(!no_proxy_matches(&e, "localhost"), "names are not resolved");
    assert!(no_proxy_matches(&np("0.0.0.0/0"), "8.8.8.8"));
    assert!(no_proxy_matches(&np("::/0"), "2001:db8::1"));
}
