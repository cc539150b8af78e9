#![no_main]
//! The server's request-target decoding: routes, %-decoding once, and the name check.
use libfuzzer_sys::fuzz_target;
use uagent::http::parse::percent_decode;
use uagent::httpd::routes::{route, safe_name, Route};

fuzz_target!(|s: &str| {
    if let Route::Shared(name) = route(s) {
        assert!(safe_name(&name), "a served name passed the check");
    }
    let mut out = vec![0; s.len()];
    if let Ok(d) = percent_decode(s.as_bytes(), &mut out) {
        assert!(d.len() <= s.len());
    }
});
