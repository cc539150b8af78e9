//! TZif files (RFC 9636): transitions and local time types, the 64-bit data of version 2 and
//! later when present, and the POSIX rule of their footer.

use super::{parse_posix, LocalType, Zone, MAX_OFFSET, MAX_TRANSITIONS, MAX_TYPES, MAX_TZ_STRING};

struct Header {
    version: u8,
    isut: usize,
    isstd: usize,
    leap: usize,
    time: usize,
    types: usize,
    chars: usize,
}

const HEADER_LEN: usize = 44;

fn header(data: &[u8]) -> Result<Header, &'static str> {
    if data.len() < HEADER_LEN || &data[..4] != b"TZif" {
        return Err("no TZif header");
    }
    let count = |i: usize| {
        let b = &data[20 + 4 * i..24 + 4 * i];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
    };
    let h = Header {
        version: data[4],
        isut: count(0),
        isstd: count(1),
        leap: count(2),
        time: count(3),
        types: count(4),
        chars: count(5),
    };
    if h.time > MAX_TRANSITIONS {
        return Err("too many transitions");
    }
    if h.types > MAX_TYPES {
        return Err("too many local time types");
    }
    if (h.isut != 0 && h.isut != h.types) || (h.isstd != 0 && h.isstd != h.types) {
        return Err("inconsistent counts");
    }
    Ok(h)
}

/// Length of the data block that follows a header, with `tsize`-byte times.
fn block_len(h: &Header, tsize: usize) -> Option<usize> {
    let parts = [
        h.time.checked_mul(tsize)?,
        h.time,
        h.types.checked_mul(6)?,
        h.chars,
        h.leap.checked_mul(tsize + 4)?,
        h.isstd,
        h.isut,
    ];
    parts.iter().try_fold(0usize, |a, &b| a.checked_add(b))
}

/// Reads the transitions and types of one data block.
fn parse_block(data: &[u8], h: &Header, tsize: usize) -> Result<Zone, &'static str> {
    let len = block_len(h, tsize).ok_or("counts overflow")?;
    if data.len() < len {
        return Err("truncated");
    }
    if h.types == 0 {
        return Err("no local time type");
    }
    let mut at = 0;
    let mut transitions = Vec::with_capacity(h.time);
    for i in 0..h.time {
        let b = &data[at + i * tsize..at + (i + 1) * tsize];
        let t = if tsize == 8 {
            i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
        } else {
            i64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        if transitions.last().is_some_and(|&last| t <= last) {
            return Err("transition times out of order");
        }
        transitions.push(t);
    }
    at += h.time * tsize;
    let type_of = data[at..at + h.time].to_vec();
    if type_of.iter().any(|&i| usize::from(i) >= h.types) {
        return Err("transition to a missing type");
    }
    at += h.time;
    let chars = &data[at + h.types * 6..at + h.types * 6 + h.chars];
    let mut types = Vec::with_capacity(h.types);
    for i in 0..h.types {
        let b = &data[at + i * 6..at + i * 6 + 6];
        let offset = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        if offset.unsigned_abs() > MAX_OFFSET as u32 || b[4] > 1 {
            return Err("bad local time type");
        }
        let idx = usize::from(b[5]);
        if idx >= chars.len() {
            return Err("abbreviation index out of range");
        }
        let rest = &chars[idx..];
        let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
        types.push(LocalType {
            offset,
            abbr: String::from_utf8_lossy(&rest[..end]).into_owned(),
        });
    }
    Ok(Zone {
        transitions,
        type_of,
        types,
        rule: None,
    })
}

/// A TZif file: the 64-bit data of version 2 and later when present, with its footer rule.
/// Leap second records are skipped (they shift "right/" zones by under a minute).
pub fn parse_tzif(data: &[u8]) -> Result<Zone, &'static str> {
    let h1 = header(data)?;
    if h1.version == 0 {
        return parse_block(&data[HEADER_LEN..], &h1, 4);
    }
    let v1_len = block_len(&h1, 4).ok_or("counts overflow")?;
    let second = HEADER_LEN
        .checked_add(v1_len)
        .filter(|&s| s <= data.len())
        .ok_or("truncated")?;
    let data2 = &data[second..];
    let h2 = header(data2)?;
    let mut zone = parse_block(&data2[HEADER_LEN..], &h2, 8)?;
    let after = HEADER_LEN + block_len(&h2, 8).ok_or("counts overflow")?;
    let footer = &data2[after..];
    if let Some(rest) = footer.strip_prefix(b"\n") {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("footer without end")?;
        if end > MAX_TZ_STRING {
            return Err("footer too long");
        }
        let text = std::str::from_utf8(&rest[..end]).map_err(|_| "footer not text")?;
        if !text.is_empty() {
            zone.rule = Some(parse_posix(text).ok_or("bad TZ string in footer")?);
        }
    }
    Ok(zone)
}
