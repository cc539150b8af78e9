//! TZif files and instants built for the tests of the parsers and of zone lookup.

use crate::core::time::days_from_civil;

pub fn at(y: i64, mo: u32, d: u32, h: i64, mi: i64, s: i64) -> i64 {
    days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s
}

/// One TZif data block: transitions, their types, (offset, is_dst, abbreviation index).
pub struct Block<'a> {
    pub times: Vec<i64>,
    pub idx: Vec<u8>,
    pub types: Vec<(i32, u8, u8)>,
    pub chars: &'a [u8],
}

pub fn block(out: &mut Vec<u8>, version: u8, b: &Block, tsize: usize) {
    out.extend_from_slice(b"TZif");
    out.push(version);
    out.extend_from_slice(&[0; 15]);
    for n in [0, 0, 0, b.times.len(), b.types.len(), b.chars.len()] {
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
    for &t in &b.times {
        if tsize == 8 {
            out.extend_from_slice(&t.to_be_bytes());
        } else {
            out.extend_from_slice(&(t as i32).to_be_bytes());
        }
    }
    out.extend_from_slice(&b.idx);
    for &(o, dst, i) in &b.types {
        out.extend_from_slice(&o.to_be_bytes());
        out.push(dst);
        out.push(i);
    }
    out.extend_from_slice(b.chars);
}

pub fn paris_block() -> Block<'static> {
    Block {
        times: vec![at(2023, 3, 26, 1, 0, 0), at(2023, 10, 29, 1, 0, 0)],
        idx: vec![1, 2],
        types: vec![(561, 0, 0), (7200, 1, 4), (3600, 0, 9)],
        chars: b"LMT\0CEST\0CET\0",
    }
}

pub fn tzif_v2(v1: &Block, v2: &Block, footer: &str) -> Vec<u8> {
    let mut out = Vec::new();
    block(&mut out, b'2', v1, 4);
    block(&mut out, b'2', v2, 8);
    out.push(b'\n');
    out.extend_from_slice(footer.as_bytes());
    out.push(b'\n');
    out
}
