//! SMBIOS tables read raw from `/sys/firmware/dmi/tables` (no dmidecode): memory modules
//! (MEMORIES), expansion slots (SLOTS), connectors (PORTS), and the system identity that BIOS
//! falls back on when `/sys/class/dmi/id` says nothing.
//!
//! The table is firmware data and is not trusted: every offset is checked, a structure that runs
//! past the end stops the walk, and a string index out of range reads as no string.

use std::io::{self, Read};

mod names;
mod records;

use super::bios::{self, DmiInfo};
use crate::sys::Root;
pub use records::{collect, memory_device, port_connector, system_slot, write_memories, write_ports, write_slots, Memory, Port, Slot};

pub const ENTRY_POINT_PATH: &str = "/sys/firmware/dmi/tables/smbios_entry_point";
pub const TABLE_PATH: &str = "/sys/firmware/dmi/tables/DMI";
/// Largest structure table read. SMBIOS 3 allows 4 GiB; real tables are a few KiB.
pub const MAX_TABLE: usize = 1024 * 1024;
/// Longest entry point read (3.x: 24 bytes, 2.x: 31).
const MAX_ENTRY_POINT: usize = 64;
/// Most entries written in one section; a longer table is garbage, cut there with a warning.
pub const MAX_ENTRIES: usize = 4096;
/// Most physical memory arrays (type 16) remembered for MEMORYCORRECTION.
const MAX_ARRAYS: usize = 64;

const END_OF_TABLE: u8 = 127;

/// What the entry point says of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryPoint {
    pub major: u8,
    pub minor: u8,
    /// Length of the table (2.x: exact; 3.x: an upper bound).
    pub table_len: usize,
    pub checksum_ok: bool,
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn checksum_ok(b: &[u8]) -> bool {
    b.iter().fold(0u8, |sum, x| sum.wrapping_add(*x)) == 0
}

/// Reads an SMBIOS 3.x (`_SM3_`), 2.x (`_SM_`) or legacy (`_DMI_`) entry point.
pub fn parse_entry_point(ep: &[u8]) -> Result<EntryPoint, String> {
    let short = |want: usize| format!("it is {} bytes, {want} expected", ep.len());
    if ep.starts_with(b"_SM3_") {
        if ep.len() < 0x18 {
            return Err(short(0x18));
        }
        let len = usize::from(ep[0x06]).clamp(0x18, ep.len());
        Ok(EntryPoint {
            major: ep[0x07],
            minor: ep[0x08],
            table_len: le32(ep, 0x0C).map_or(0, |n| n as usize),
            checksum_ok: checksum_ok(&ep[..len]),
        })
    } else if ep.starts_with(b"_SM_") {
        // The length byte says 0x1F; a few old BIOSes wrote 0x1E for the same layout.
        if ep.len() < 0x1E {
            return Err(short(0x1F));
        }
        let len = usize::from(ep[0x05]).clamp(0x1E, ep.len());
        let (major, minor) = match (ep[0x06], ep[0x07]) {
            // Versions some BIOSes report by mistake, corrected as the kernel does.
            (2, 31) | (2, 33) => (2, 3),
            (2, 51) => (2, 6),
            v => v,
        };
        Ok(EntryPoint {
            major,
            minor,
            table_len: le16(ep, 0x16).map_or(0, usize::from),
            checksum_ok: checksum_ok(&ep[..len]) && checksum_ok(&ep[0x10..len]),
        })
    } else if ep.starts_with(b"_DMI_") {
        if ep.len() < 0x0F {
            return Err(short(0x0F));
        }
        let bcd = ep[0x0E];
        Ok(EntryPoint {
            major: bcd >> 4,
            minor: bcd & 0x0F,
            table_len: le16(ep, 0x06).map_or(0, usize::from),
            checksum_ok: checksum_ok(&ep[..0x0F]),
        })
    } else {
        Err("no _SM3_, _SM_ or _DMI_ anchor".into())
    }
}

/// Reads at most `limit` bytes. A table readable by root only is not worth a warning for other
/// users: BIOS then uses `/sys/class/dmi/id`.
fn read_limited(root: &Root, path: &str, limit: usize) -> Option<Vec<u8>> {
    let file = match crate::sys::root::open_regular(&root.path(path)) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            log::debug!("cannot read {path}: {e}");
            return None;
        }
        Err(e) => {
            log::warn!("cannot read {path}: {e}");
            return None;
        }
    };
    let mut buf = Vec::new();
    if let Err(e) = file.take(limit as u64).read_to_end(&mut buf) {
        // A table is read up to the length its entry point gives, and no further.
        log::warn!("cannot read {path}: {e}");
        return None;
    }
    Some(buf)
}

/// Why a walk stopped before the end-of-table structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Broken {
    /// Fewer than 4 bytes left for a header.
    ShortHeader,
    /// A length byte under 4.
    BadLength(u8),
    /// The formatted area or the strings run past the end.
    Unterminated,
}

/// One structure: its formatted area (header included, so offsets are those of the
/// specification) and its string set.
#[derive(Clone, Copy, Debug)]
pub struct Structure<'a> {
    pub kind: u8,
    pub handle: u16,
    formatted: &'a [u8],
    strings: &'a [u8],
}

impl<'a> Structure<'a> {
    pub fn byte(&self, at: usize) -> Option<u8> {
        self.formatted.get(at).copied()
    }

    pub fn word(&self, at: usize) -> Option<u16> {
        le16(self.formatted, at)
    }

    pub fn dword(&self, at: usize) -> Option<u32> {
        le32(self.formatted, at)
    }

    pub fn bytes(&self, at: usize, len: usize) -> Option<&'a [u8]> {
        self.formatted.get(at..at + len)
    }

    /// The string whose index is at `at`, trimmed; `None` for index 0, an index past the last
    /// string, or an empty string.
    pub fn string(&self, at: usize) -> Option<String> {
        let index = usize::from(self.byte(at)?);
        if index == 0 {
            return None;
        }
        let raw = self.strings.split(|b| *b == 0).nth(index - 1)?;
        let text = String::from_utf8_lossy(raw);
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_string())
    }

    /// The string at `at` without firmware placeholders.
    fn clean(&self, at: usize) -> Option<String> {
        bios::clean(&self.string(at)?)
    }
}

/// The structure at `offset` and where the next one starts.
fn structure_at(data: &[u8], offset: usize) -> Result<(Structure<'_>, usize), Broken> {
    let header = data.get(offset..offset + 4).ok_or(Broken::ShortHeader)?;
    let len = header[1];
    if len < 4 {
        return Err(Broken::BadLength(len));
    }
    let start = offset + usize::from(len);
    let formatted = data.get(offset..start).ok_or(Broken::Unterminated)?;
    // Strings are never empty, so the first double NUL ends the set (a set with no strings
    // is the double NUL alone).
    let end = data
        .get(start..)
        .and_then(|rest| rest.windows(2).position(|w| w == [0, 0]))
        .ok_or(Broken::Unterminated)?;
    let structure = Structure {
        kind: header[0],
        handle: u16::from_le_bytes([header[2], header[3]]),
        formatted,
        strings: &data[start..start + end],
    };
    Ok((structure, start + end + 2))
}

/// Walks the structures up to the end-of-table one or the first broken one.
pub struct Structures<'a> {
    data: &'a [u8],
    offset: usize,
}

impl<'a> Iterator for Structures<'a> {
    type Item = Structure<'a>;

    fn next(&mut self) -> Option<Structure<'a>> {
        if self.offset >= self.data.len() {
            return None;
        }
        match structure_at(self.data, self.offset) {
            Ok((s, next)) if s.kind != END_OF_TABLE => {
                self.offset = next;
                Some(s)
            }
            _ => {
                self.offset = self.data.len();
                None
            }
        }
    }
}

pub struct Tables {
    pub major: u8,
    pub minor: u8,
    /// The structure table, cut after the last well-formed structure.
    pub data: Vec<u8>,
}

impl Tables {
    pub fn read(root: &Root) -> Option<Tables> {
        let raw = read_limited(root, ENTRY_POINT_PATH, MAX_ENTRY_POINT)?;
        let ep = match parse_entry_point(&raw) {
            Ok(ep) => ep,
            Err(why) => {
                log::warn!("cannot use {ENTRY_POINT_PATH}: {why}");
                return None;
            }
        };
        if !ep.checksum_ok {
            log::warn!("{ENTRY_POINT_PATH} has a bad checksum: its table is read anyway");
        }
        if ep.table_len > MAX_TABLE {
            log::warn!(
                "{TABLE_PATH} is said to be {} bytes, more than {MAX_TABLE}: only the beginning is read",
                ep.table_len
            );
        }
        let data = read_limited(root, TABLE_PATH, ep.table_len.min(MAX_TABLE))?;
        Some(Tables::new(ep.major, ep.minor, data))
    }

    /// Checks the table once (with one warning if it is broken) so that later walks need not.
    pub fn new(major: u8, minor: u8, mut data: Vec<u8>) -> Tables {
        let mut offset = 0;
        while offset < data.len() {
            match structure_at(&data, offset) {
                Ok((s, next)) => {
                    offset = next;
                    if s.kind == END_OF_TABLE {
                        break;
                    }
                }
                Err(_) if data[offset..].iter().all(|b| *b == 0) => break,
                Err(why) => {
                    let why = match why {
                        Broken::ShortHeader => "a header is cut".to_string(),
                        Broken::BadLength(n) => format!("a structure says its length is {n}"),
                        Broken::Unterminated => "a structure runs past the end".to_string(),
                    };
                    log::warn!(
                        "{TABLE_PATH}: {why} at offset {offset}: the rest of the table is ignored"
                    );
                    break;
                }
            }
        }
        data.truncate(offset);
        Tables { major, minor, data }
    }

    pub fn structures(&self) -> Structures<'_> {
        Structures {
            data: &self.data,
            offset: 0,
        }
    }

    fn at_least(&self, major: u8, minor: u8) -> bool {
        (self.major, self.minor) >= (major, minor)
    }

    /// System, board and firmware identity from types 0 to 3 (the first of each, as the
    /// kernel's `/sys/class/dmi/id` does).
    pub fn dmi_info(&self) -> DmiInfo {
        let mut info = DmiInfo::default();
        let mut seen = [false; 4];
        for s in self.structures() {
            let Some(done) = seen.get_mut(usize::from(s.kind)) else {
                continue;
            };
            if *done {
                continue;
            }
            *done = true;
            match s.kind {
                0 => {
                    info.bios_vendor = s.clean(0x04);
                    info.bios_version = s.clean(0x05);
                    info.bios_date = s.clean(0x08);
                }
                1 => {
                    info.sys_vendor = s.clean(0x04);
                    info.product_name = s.clean(0x05);
                    info.product_version = s.clean(0x06);
                    info.product_serial = s.clean(0x07);
                    info.product_uuid = s
                        .bytes(0x08, 16)
                        .and_then(|b| format_uuid(b, self.at_least(2, 6)));
                    info.product_sku = s.clean(0x19);
                }
                2 => {
                    info.board_vendor = s.clean(0x04);
                    info.board_name = s.clean(0x05);
                    info.board_serial = s.clean(0x07);
                }
                _ => {
                    info.chassis_type = s.byte(0x05).map(|t| t & 0x7F).filter(|t| *t != 0);
                    info.chassis_serial = s.clean(0x07);
                    info.chassis_asset_tag = s.clean(0x08);
                }
            }
        }
        info
    }
}

/// A system UUID as the kernel's `product_uuid` shows it. From SMBIOS 2.6 on, the first three
/// fields are stored little-endian; before, as written. All zeros or all ones means "not set".
pub fn format_uuid(b: &[u8], little_endian_fields: bool) -> Option<String> {
    if b.len() != 16 || b.iter().all(|x| *x == 0) || b.iter().all(|x| *x == 0xFF) {
        return None;
    }
    let order: [usize; 16] = if little_endian_fields {
        [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15]
    } else {
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
    };
    let mut out = String::with_capacity(36);
    for (n, i) in order.iter().enumerate() {
        if matches!(n, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push_str(&format!("{:02x}", b[*i]));
    }
    Some(out)
}

#[cfg(test)]
mod tests;
