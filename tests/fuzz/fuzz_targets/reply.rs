#![no_main]
//! Server replies as the agent reads them: decompression under a limit, then the PROLOG,
//! inventory and CONTACT readers (XML and JSON).
use libfuzzer_sys::fuzz_target;
use uagent::protocol::{compress, messages};

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = compress::decode_reply(data, 1 << 20) {
        assert!(body.len() <= 1 << 20);
        let _ = messages::parse_prolog(&body);
        let _ = messages::parse_inventory_reply(&body);
        let _ = messages::parse_contact(&body);
    }
});
