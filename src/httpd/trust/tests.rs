use super::*;
use std::cell::Cell;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn list(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn no_dns(name: &str) -> io::Result<Vec<IpAddr>> {
    panic!("unexpected resolution of {name}")
}

fn caller(t: &Trust, peer: &str) -> Caller {
    t.caller_with(ip(peer), Instant::now(), &no_dns)
}

#[test]
fn ip_entries_trust_exactly_that_address_and_nothing_is_trusted_by_default() {
    let t = Trust::new(&list(&["192.168.1.10", " 2001:db8::1 "]), &[]);
    assert_eq!(caller(&t, "192.168.1.10"), Caller::Trusted);
    assert_eq!(caller(&t, "192.168.1.11"), Caller::Untrusted);
    assert_eq!(caller(&t, "2001:db8::1"), Caller::Trusted);
    assert_eq!(caller(&t, "2001:db8::2"), Caller::Untrusted);
    let empty = Trust::new(&[], &[]);
    assert_eq!(caller(&empty, "127.0.0.1"), Caller::Untrusted);
    assert_eq!(caller(&empty, "::1"), Caller::Untrusted);
}

#[test]
fn cidr_ranges_of_both_families_match_on_their_prefix() {
    let t = Trust::new(
        &list(&["10.0.0.0/8", "2001:db8:1::/48", "172.16.5.7/0"]),
        &[],
    );
    assert_eq!(caller(&t, "10.255.1.2"), Caller::Trusted);
    assert_eq!(caller(&t, "2001:db8:1:ffff::9"), Caller::Trusted);
    assert_eq!(caller(&t, "2001:db8:2::9"), Caller::Untrusted);
    // /0 of IPv4 trusts every IPv4 caller but no IPv6 one.
    assert_eq!(caller(&t, "203.0.113.9"), Caller::Trusted);
    assert_eq!(caller(&t, "2001:db9::1"), Caller::Untrusted);
    let narrow = Trust::new(&list(&["192.168.1.128/25"]), &[]);
    assert_eq!(caller(&narrow, "192.168.1.200"), Caller::Trusted);
    assert_eq!(caller(&narrow, "192.168.1.100"), Caller::Untrusted);
}

#[test]
fn ipv4_mapped_peers_match_ipv4_entries_and_mapped_entries_match_ipv4_peers() {
    let t = Trust::new(&list(&["127.0.0.1", "::ffff:10.1.0.0/112"]), &[]);
    assert_eq!(caller(&t, "::ffff:127.0.0.1"), Caller::Trusted);
    assert_eq!(caller(&t, "::ffff:127.0.0.2"), Caller::Untrusted);
    assert_eq!(caller(&t, "10.1.44.5"), Caller::Trusted);
    assert_eq!(caller(&t, "::ffff:10.1.44.5"), Caller::Trusted);
    // ::1 is not 127.0.0.1, and the deprecated IPv4-compatible form is not mapped.
    assert_eq!(caller(&t, "::1"), Caller::Untrusted);
    assert_eq!(caller(&t, "::127.0.0.1"), Caller::Untrusted);
}

#[test]
fn malformed_entries_are_dropped_and_the_rest_still_count() {
    let t = Trust::new(
        &list(&[
            "10.0.0.0/33",
            "300.1.1.1/8",
            "bad host",
            "a..b",
            "",
            "1.2.3.4",
        ]),
        &[],
    );
    assert_eq!(t.entries, [Entry::Net(ip("1.2.3.4"), 32)]);
    assert_eq!(caller(&t, "10.0.0.1"), Caller::Untrusted);
}

#[test]
fn server_hosts_name_their_targets_and_local_targets_match_nothing() {
    let hosts = list(&["", "10.0.0.5", "[2001:db8::5]", "10.0.0.5"]);
    let t = Trust::new(&list(&["10.9.0.0/16"]), &hosts);
    assert_eq!(caller(&t, "10.0.0.5"), Caller::ServerOf(vec![1, 3]));
    assert_eq!(caller(&t, "2001:db8::5"), Caller::ServerOf(vec![2]));
    assert_eq!(caller(&t, "10.9.1.1"), Caller::Trusted);
    assert_eq!(caller(&t, "10.0.0.6"), Caller::Untrusted);
}

#[test]
fn host_names_are_resolved_at_most_once_a_minute_and_kept_when_resolution_fails() {
    let calls = Cell::new(0);
    let answer: RefCell<io::Result<Vec<IpAddr>>> =
        RefCell::new(Ok(vec![ip("192.0.2.7"), ip("::ffff:192.0.2.8")]));
    let resolve = |name: &str| {
        calls.set(calls.get() + 1);
        assert!(
            name == "glpi.example" || name == "trusted.example",
            "{name}"
        );
        match &*answer.borrow() {
            Ok(v) => Ok(v.clone()),
            Err(e) => Err(io::Error::new(e.kind(), "no such host")),
        }
    };
    let t = Trust::new(&list(&["Trusted.Example."]), &list(&["glpi.example", ""]));
    let t0 = Instant::now();
    assert_eq!(
        t.caller_with(ip("192.0.2.8"), t0, &resolve),
        Caller::ServerOf(vec![0])
    );
    assert_eq!(calls.get(), 2, "both names resolved once");
    t.caller_with(ip("192.0.2.9"), t0 + Duration::from_secs(59), &resolve);
    assert_eq!(calls.get(), 2, "not again within a minute");

    *answer.borrow_mut() = Err(io::ErrorKind::NotFound.into());
    let later = t0 + RESOLVE_EVERY;
    assert_eq!(
        t.caller_with(ip("192.0.2.7"), later, &resolve),
        Caller::ServerOf(vec![0]),
        "old addresses kept"
    );
    assert_eq!(calls.get(), 4);

    *answer.borrow_mut() = Ok(vec![ip("198.51.100.1")]);
    let t2 = later + RESOLVE_EVERY;
    assert_eq!(
        t.caller_with(ip("192.0.2.7"), t2, &resolve),
        Caller::Untrusted
    );
    assert_eq!(
        t.caller_with(ip("198.51.100.1"), t2, &resolve),
        Caller::ServerOf(vec![0])
    );
}

#[test]
fn a_name_with_too_many_addresses_keeps_the_first_ones() {
    let many = |_: &str| {
        Ok((0..100u32)
            .map(|i| IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i)))
            .collect())
    };
    let t = Trust::new(&list(&["many.example"]), &[]);
    let now = Instant::now();
    assert_eq!(t.caller_with(ip("10.0.0.31"), now, &many), Caller::Trusted);
    assert_eq!(
        t.caller_with(ip("10.0.0.32"), now, &many),
        Caller::Untrusted
    );
}

#[test]
fn localhost_resolves_with_the_system_resolver_to_the_loopback_address() {
    let t = Trust::new(&list(&["localhost"]), &[]);
    assert_eq!(t.caller(ip("127.0.0.1")), Caller::Trusted);
    assert_eq!(t.caller(ip("::ffff:127.0.0.1")), Caller::Trusted);
    assert_eq!(t.caller(ip("192.0.2.1")), Caller::Untrusted);
}

#[test]
fn without_names_the_resolver_is_never_called() {
    let t = Trust::new(&list(&["10.0.0.1"]), &list(&["10.0.0.2"]));
    assert_eq!(caller(&t, "10.0.0.2"), Caller::ServerOf(vec![0]));
    assert!(!Caller::Untrusted.is_trusted() && Caller::Trusted.is_trusted());
}
