#![no_main]
//! OCS info files as the deploy task reads them (`https://<INFO_LOC>/<ID>/info`).
use libfuzzer_sys::fuzz_target;
use uagent::tasks::deploy::info;

fuzz_target!(|data: &[u8]| {
    if let Ok(i) = info::parse(data) {
        assert!(i.fragments <= info::MAX_FRAGMENTS);
        assert!(!i.id.is_empty() && i.id.bytes().all(|b| b.is_ascii_digit()));
    }
});
