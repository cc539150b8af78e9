#![no_main]
//! Request heads (what the daemon's server will parse) and the chunked body after them.
use libfuzzer_sys::fuzz_target;
use uagent::http::parse::*;

fuzz_target!(|data: &[u8]| {
    let mut slots = [Header::EMPTY; MAX_HEADERS];
    if let Ok(Status::Complete(h)) = parse_request_head(data, &mut slots) {
        assert!(h.len <= data.len().min(MAX_HEAD_BYTES) && h.target.len() <= MAX_TARGET_LEN);
        if let Ok(BodyLength::Chunked) = request_body_length(&slots[..h.header_count]) {
            let mut d = ChunkedDecoder::new();
            let mut rest = &data[h.len..];
            while let Ok((used, _)) = d.decode(rest) {
                if used == 0 {
                    break;
                }
                rest = &rest[used..];
            }
        }
    }
});
