//! The SNMP decoder on any datagram: a message, its PDU and every value type; then the BER
//! reader walked over the raw bytes, and the walk-file reader on the same bytes as text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use uagent::snmp::{ber, message, WalkFile};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = message::decode(data) {
        // What decodes encodes again, and reads back the same.
        let cred = message::Credential {
            version: m.version,
            security: m.security.clone(),
        };
        let again = message::encode(&cred, &m.pdu);
        let back = message::decode(&again).expect("re-encoded message decodes");
        assert_eq!(back.pdu.varbinds.len(), m.pdu.varbinds.len());
    }
    let mut r = ber::Reader::new(data);
    for _ in 0..64 {
        match r.any() {
            Ok((tag, content)) => {
                let _ = message::decode_value(tag, content);
                let _ = ber::decode_oid(content);
            }
            Err(_) => break,
        }
    }
    let _ = WalkFile::read(data);
});
