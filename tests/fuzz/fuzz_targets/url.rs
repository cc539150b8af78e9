#![no_main]
//! URL parsing, its display round trip, and no_proxy matching.
use libfuzzer_sys::fuzz_target;
use uagent::http::url::{no_proxy_matches, split_no_proxy, Url};

fuzz_target!(|s: &str| {
    if let Ok(u) = Url::parse_default_http(s) {
        let again = Url::parse(&u.to_string()).expect("a displayed URL parses again");
        assert_eq!((again.scheme, &again.host, again.port), (u.scheme, &u.host, u.port));
        assert_eq!(again.target(), u.target());
        let _ = no_proxy_matches(&split_no_proxy(s), &u.host);
    }
});
