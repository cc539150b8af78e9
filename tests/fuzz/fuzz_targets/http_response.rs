#![no_main]
//! Response heads, their framing, and a chunked body after them fed in uneven pieces.
use libfuzzer_sys::fuzz_target;
use uagent::http::parse::*;

fuzz_target!(|data: &[u8]| {
    let mut slots = [Header::EMPTY; MAX_HEADERS];
    if let Ok(Status::Complete(h)) = parse_response_head(data, &mut slots) {
        assert!(h.len <= data.len().min(MAX_HEAD_BYTES) && h.header_count <= MAX_HEADERS);
        let _ = response_body_length(false, h.status, &slots[..h.header_count]);
    }
    decode_chunked(data);
});

/// Decodes `data` as a chunked body, in pieces whose sizes come from the data itself.
fn decode_chunked(data: &[u8]) {
    let mut d = ChunkedDecoder::new();
    let (mut pos, mut fed) = (0, 0);
    while !d.is_done() && pos < data.len() {
        fed = (fed.max(pos) + 1 + usize::from(data[pos] % 7)).min(data.len());
        match d.decode(&data[pos..fed]) {
            Ok((used, body)) => {
                assert!(used <= fed - pos && body.len() <= used);
                pos += used;
            }
            Err(_) => return,
        }
    }
}
