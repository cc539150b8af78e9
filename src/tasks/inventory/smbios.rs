//! SMBIOS tables read raw from `/sys/firmware/dmi/tables` (no dmidecode): memory modules
//! (MEMORIES), expansion slots (SLOTS), connectors (PORTS), and the system identity that BIOS
//! falls back on when `/sys/class/dmi/id` says nothing.
//!
//! The table is firmware data and is not trusted: every offset is checked, a structure that runs
//! past the end stops the walk, and a string index out of range reads as no string.

use std::fs::File;
use std::io::{self, Read};

use super::bios::{self, DmiInfo};
use super::sink::{Section, Sink};
use super::{Category, Context};
use crate::sys::Root;

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
    let file = match File::open(root.path(path)) {
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

// Names of the SMBIOS enumerations, as dmidecode prints them (what the reference agents send).

fn memory_form_factor(code: u8) -> Option<&'static str> {
    const NAMES: [&str; 16] = [
        "Other",
        "Unknown",
        "SIMM",
        "SIP",
        "Chip",
        "DIP",
        "ZIP",
        "Proprietary Card",
        "DIMM",
        "TSOP",
        "Row Of Chips",
        "RIMM",
        "SODIMM",
        "SRIMM",
        "FB-DIMM",
        "Die",
    ];
    NAMES.get(usize::from(code).checked_sub(1)?).copied()
}

fn memory_type(code: u8) -> Option<&'static str> {
    const NAMES: [&str; 36] = [
        "Other",
        "Unknown",
        "DRAM",
        "EDRAM",
        "VRAM",
        "SRAM",
        "RAM",
        "ROM",
        "Flash",
        "EEPROM",
        "FEPROM",
        "EPROM",
        "CDRAM",
        "3DRAM",
        "SDRAM",
        "SGRAM",
        "RDRAM",
        "DDR",
        "DDR2",
        "DDR2 FB-DIMM",
        "Reserved",
        "Reserved",
        "Reserved",
        "DDR3",
        "FBD2",
        "DDR4",
        "LPDDR",
        "LPDDR2",
        "LPDDR3",
        "LPDDR4",
        "Logical non-volatile device",
        "HBM",
        "HBM2",
        "DDR5",
        "LPDDR5",
        "HBM3",
    ];
    NAMES
        .get(usize::from(code).checked_sub(1)?)
        .copied()
        .filter(|n| *n != "Reserved")
}

fn memory_correction(code: u8) -> Option<&'static str> {
    const NAMES: [&str; 7] = [
        "Other",
        "Unknown",
        "None",
        "Parity",
        "Single-bit ECC",
        "Multi-bit ECC",
        "CRC",
    ];
    NAMES.get(usize::from(code).checked_sub(1)?).copied()
}

fn connector_type(code: u8) -> Option<&'static str> {
    const NAMES: [&str; 0x24] = [
        "None",
        "Centronics",
        "Mini Centronics",
        "Proprietary",
        "DB-25 male",
        "DB-25 female",
        "DB-15 male",
        "DB-15 female",
        "DB-9 male",
        "DB-9 female",
        "RJ-11",
        "RJ-45",
        "50 Pin MiniSCSI",
        "Mini DIN",
        "Micro DIN",
        "PS/2",
        "Infrared",
        "HP-HIL",
        "Access Bus (USB)",
        "SSA SCSI",
        "Circular DIN-8 male",
        "Circular DIN-8 female",
        "On Board IDE",
        "On Board Floppy",
        "9 Pin Dual Inline (pin 10 cut)",
        "25 Pin Dual Inline (pin 26 cut)",
        "50 Pin Dual Inline",
        "68 Pin Dual Inline",
        "On Board Sound Input From CD-ROM",
        "Mini Centronics Type-14",
        "Mini Centronics Type-26",
        "Mini Jack (headphones)",
        "BNC",
        "IEEE 1394",
        "SAS/SATA Plug Receptacle",
        "USB Type-C Receptacle",
    ];
    const PC98: [&str; 5] = [
        "PC-98",
        "PC-98 Hireso",
        "PC-H98",
        "PC-98 Note",
        "PC-98 Full",
    ];
    match code {
        0xA0..=0xA4 => Some(PC98[usize::from(code - 0xA0)]),
        0xFF => Some("Other"),
        _ => NAMES.get(usize::from(code)).copied(),
    }
}

fn port_type(code: u8) -> Option<&'static str> {
    const NAMES: [&str; 0x24] = [
        "None",
        "Parallel Port XT/AT Compatible",
        "Parallel Port PS/2",
        "Parallel Port ECP",
        "Parallel Port EPP",
        "Parallel Port ECP/EPP",
        "Serial Port XT/AT Compatible",
        "Serial Port 16450 Compatible",
        "Serial Port 16550 Compatible",
        "Serial Port 16550A Compatible",
        "SCSI Port",
        "MIDI Port",
        "Joystick Port",
        "Keyboard Port",
        "Mouse Port",
        "SSA SCSI",
        "USB",
        "Firewire (IEEE P1394)",
        "PCMCIA Type I",
        "PCMCIA Type II",
        "PCMCIA Type III",
        "Cardbus",
        "Access Bus Port",
        "SCSI II",
        "SCSI Wide",
        "PC-98",
        "PC-98 Hireso",
        "PC-H98",
        "Video Port",
        "Audio Port",
        "Modem Port",
        "Network Port",
        "SATA",
        "SAS",
        "MFDP (Multi-Function Display Port)",
        "Thunderbolt",
    ];
    match code {
        0xA0 => Some("8251 Compatible"),
        0xA1 => Some("8251 FIFO Compatible"),
        0xFF => Some("Other"),
        _ => NAMES.get(usize::from(code)).copied(),
    }
}

fn slot_type(code: u8) -> Option<&'static str> {
    const NAMES: [&str; 0x28] = [
        "Other",
        "Unknown",
        "ISA",
        "MCA",
        "EISA",
        "PCI",
        "PC Card (PCMCIA)",
        "VLB",
        "Proprietary",
        "Processor Card",
        "Proprietary Memory Card",
        "I/O Riser Card",
        "NuBus",
        "PCI-66",
        "AGP",
        "AGP 2x",
        "AGP 4x",
        "PCI-X",
        "AGP 8x",
        "M.2 Socket 1-DP",
        "M.2 Socket 1-SD",
        "M.2 Socket 2",
        "M.2 Socket 3",
        "MXM Type I",
        "MXM Type II",
        "MXM Type III",
        "MXM Type III-HE",
        "MXM Type IV",
        "MXM 3.0 Type A",
        "MXM 3.0 Type B",
        "PCI Express 2 SFF-8639 (U.2)",
        "PCI Express 3 SFF-8639 (U.2)",
        "PCI Express Mini 52-pin with bottom-side keep-outs",
        "PCI Express Mini 52-pin without bottom-side keep-outs",
        "PCI Express Mini 76-pin",
        "PCI Express 4 SFF-8639 (U.2)",
        "PCI Express 5 SFF-8639 (U.2)",
        "OCP NIC 3.0 Small Form Factor (SFF)",
        "OCP NIC 3.0 Large Form Factor (LFF)",
        "OCP NIC Prior to 3.0",
    ];
    const FROM_A0: [&str; 0x27] = [
        "PC-98/C20",
        "PC-98/C24",
        "PC-98/E",
        "PC-98/Local Bus",
        "PC-98/Card",
        "PCI Express",
        "PCI Express x1",
        "PCI Express x2",
        "PCI Express x4",
        "PCI Express x8",
        "PCI Express x16",
        "PCI Express 2",
        "PCI Express 2 x1",
        "PCI Express 2 x2",
        "PCI Express 2 x4",
        "PCI Express 2 x8",
        "PCI Express 2 x16",
        "PCI Express 3",
        "PCI Express 3 x1",
        "PCI Express 3 x2",
        "PCI Express 3 x4",
        "PCI Express 3 x8",
        "PCI Express 3 x16",
        "",
        "PCI Express 4",
        "PCI Express 4 x1",
        "PCI Express 4 x2",
        "PCI Express 4 x4",
        "PCI Express 4 x8",
        "PCI Express 4 x16",
        "PCI Express 5",
        "PCI Express 5 x1",
        "PCI Express 5 x2",
        "PCI Express 5 x4",
        "PCI Express 5 x8",
        "PCI Express 5 x16",
        "PCI Express 6+",
        "EDSFF E1",
        "EDSFF E3",
    ];
    let name = match code {
        0x30 => Some("CXL FLexbus 1.0"),
        0xA0..=0xFF => FROM_A0.get(usize::from(code - 0xA0)).copied(),
        _ => NAMES.get(usize::from(code).checked_sub(1)?).copied(),
    };
    name.filter(|n| !n.is_empty())
}

fn slot_width(code: u8) -> Option<&'static str> {
    const NAMES: [&str; 14] = [
        "", "", "8-bit", "16-bit", "32-bit", "64-bit", "128-bit", "x1", "x2", "x4", "x8", "x12",
        "x16", "x32",
    ];
    NAMES
        .get(usize::from(code).checked_sub(1)?)
        .copied()
        .filter(|n| !n.is_empty())
}

/// Slot types whose ID byte is a slot number (the others leave it unused).
fn slot_has_number(kind: u8) -> bool {
    matches!(kind, 0x04..=0x06 | 0x0E..=0x13 | 0x1F..=0x23 | 0xA5..=0xB6 | 0xB8..=0xBD)
}

/// One MEMORIES entry, from a type 17 structure.
#[derive(Debug, Default, PartialEq)]
pub struct Memory {
    /// 1-based position among the memory devices (NUMSLOTS).
    pub slot: i64,
    pub locator: Option<String>,
    pub form_factor: Option<&'static str>,
    pub kind: Option<&'static str>,
    /// MT/s.
    pub speed: Option<u32>,
    /// MiB; `None` for an empty slot or an unknown size.
    pub capacity: Option<u64>,
    pub serial: Option<String>,
    pub manufacturer: Option<String>,
    pub part_number: Option<String>,
    pub correction: Option<&'static str>,
}

/// Size of a memory device in MiB: 0x7FFF sends to the extended size (2.7+), bit 15 means KiB.
fn memory_size(s: &Structure) -> Option<u64> {
    match s.word(0x0C)? {
        0 | 0xFFFF => None,
        0x7FFF => s
            .dword(0x1C)
            .map(|e| u64::from(e & 0x7FFF_FFFF))
            .filter(|e| *e != 0),
        kib if kib & 0x8000 != 0 => Some(u64::from(kib & 0x7FFF) / 1024),
        mib => Some(u64::from(mib)),
    }
}

/// A speed word, with 0xFFFF sending to a 32-bit extended field (3.3+).
fn memory_speed(s: &Structure, at: usize, extended_at: usize) -> Option<u32> {
    match s.word(at)? {
        0 => None,
        0xFFFF => s
            .dword(extended_at)
            .map(|e| e & 0x7FFF_FFFF)
            .filter(|e| *e != 0),
        n => Some(u32::from(n)),
    }
}

/// Memory strings that name no one, beyond the usual placeholders ("Manufacturer0",
/// "SerNum1", "PartNum2", "Undefined").
fn memory_placeholder(s: &str) -> bool {
    let squeezed: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    [
        "manufacturer",
        "undefined",
        "sernum",
        "serialnum",
        "partnum",
    ]
    .iter()
    .any(|w| squeezed.contains(w))
}

/// Manufacturers the reference agents drop as well: JEDEC codes left in hex ("0x2C00"),
/// zero-filled codes, and locator-like text ("Bank 0 DIMM").
fn unnamed_manufacturer(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    memory_placeholder(s)
        || lower.starts_with("0x")
        || lower.contains("00000")
        || lower.contains(" dimm")
}

/// Part numbers some firmware writes as hex (`0x4B48583...`): decoded when that gives text.
fn decode_hex_part(s: &str) -> Option<String> {
    let hex = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .filter(|b| *b != 0)
        .collect();
    let text = std::str::from_utf8(&bytes).ok()?.trim();
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic() || b == b' '))
        .then(|| text.to_string())
}

pub fn memory_device(s: &Structure, slot: i64, arrays: &[(u16, u8)]) -> Memory {
    let correction = s
        .word(0x04)
        .and_then(|h| arrays.iter().find(|(a, _)| *a == h))
        .or(arrays.first())
        .and_then(|(_, ec)| memory_correction(*ec));
    let manufacturer = s.clean(0x17).filter(|m| !unnamed_manufacturer(m));
    let part_number = s
        .clean(0x1A)
        .map(|p| decode_hex_part(&p).unwrap_or(p))
        .filter(|p| !memory_placeholder(p) && !p.to_ascii_lowercase().contains("dimm"));
    Memory {
        slot,
        locator: s.clean(0x10),
        form_factor: s.byte(0x0E).and_then(memory_form_factor),
        kind: s.byte(0x12).and_then(memory_type),
        speed: memory_speed(s, 0x15, 0x54).or_else(|| memory_speed(s, 0x20, 0x58)),
        capacity: memory_size(s),
        serial: s.clean(0x18).filter(|v| !memory_placeholder(v)),
        manufacturer,
        part_number,
        correction,
    }
}

/// One SLOTS entry, from a type 9 structure.
#[derive(Debug, Default, PartialEq)]
pub struct Slot {
    pub name: String,
    pub description: Option<String>,
    pub designation: Option<String>,
    /// `free` or `used`; `None` when the firmware does not know.
    pub status: Option<&'static str>,
}

/// `index` is the 1-based position of the slot, named after it when the firmware gives no name.
pub fn system_slot(s: &Structure, index: usize) -> Option<Slot> {
    let kind = s.byte(0x05)?;
    let width = s.byte(0x06)?;
    let usage = s.byte(0x07)?;
    let type_name = slot_type(kind);
    // "x16 PCI Express", as dmidecode writes it, unless the type name has its width already.
    let description = match (slot_width(width), type_name) {
        (Some(w), Some(t)) if !t.contains(" x") => Some(format!("{w} {t}")),
        (_, t) => t.map(str::to_string),
    };
    let id = s.byte(0x09);
    let designation = match kind {
        0x07 => id
            .zip(s.byte(0x0A))
            .map(|(a, b)| format!("Adapter {a}, Socket {b}")),
        k if slot_has_number(k) => id.map(|n| n.to_string()),
        _ => None,
    };
    Some(Slot {
        name: s.clean(0x04).unwrap_or_else(|| format!("Slot {index}")),
        description,
        designation,
        status: match usage {
            3 => Some("free"),
            4 => Some("used"),
            _ => None,
        },
    })
}

/// One PORTS entry, from a type 8 structure.
#[derive(Debug, Default, PartialEq)]
pub struct Port {
    pub name: Option<String>,
    pub caption: Option<&'static str>,
    pub description: &'static str,
    pub kind: &'static str,
}

pub fn port_connector(s: &Structure) -> Option<Port> {
    s.byte(0x08)?;
    Some(Port {
        // The external designator ("USB 1", "Serial 2") says more than the internal one
        // ("J1A1"), which is kept for ports that have no other.
        name: s.clean(0x06).or_else(|| s.clean(0x04)),
        caption: s.byte(0x07).and_then(connector_type),
        description: s.byte(0x05).and_then(connector_type).unwrap_or("None"),
        // The JSON schema requires a type.
        kind: s.byte(0x08).and_then(port_type).unwrap_or("Other"),
    })
}

fn too_many(section: &str) {
    log::warn!("{TABLE_PATH} has more than {MAX_ENTRIES} {section} entries: the rest is left out");
}

/// Memory devices, empty slots included. An empty slot is listed without CAPACITY, as the GLPI
/// and Fusion agents do (dmidecode's "No Module Installed" gives them no size): OCS counts it
/// as a free slot, GLPI drops it. Flash devices (firmware storage, not memory) are skipped
/// after being counted in NUMSLOTS, as those agents do.
pub fn write_memories(t: &Tables, sink: &mut dyn Sink) -> io::Result<()> {
    let mut arrays: Vec<(u16, u8)> = Vec::new();
    for s in t.structures().filter(|s| s.kind == 16) {
        if arrays.len() >= MAX_ARRAYS {
            break;
        }
        if let Some(ec) = s.byte(0x06) {
            arrays.push((s.handle, ec));
        }
    }
    let mut slot = 0;
    let mut written = 0;
    for s in t.structures().filter(|s| s.kind == 17) {
        slot += 1;
        // The 2.1 layout ends at 0x15; shorter is not a memory device.
        if s.bytes(0, 0x15).is_none() {
            continue;
        }
        let m = memory_device(&s, slot, &arrays);
        if m.kind == Some("Flash") {
            continue;
        }
        if written == MAX_ENTRIES {
            too_many("memory");
            break;
        }
        written += 1;
        sink.begin(Section::Memories)?;
        if let Some(c) = m.capacity {
            sink.int("CAPACITY", i64::try_from(c).unwrap_or(i64::MAX))?;
        }
        sink.opt_text("CAPTION", m.locator.as_deref())?;
        sink.opt_text("DESCRIPTION", m.form_factor)?;
        sink.opt_text("TYPE", m.kind)?;
        if let Some(speed) = m.speed {
            sink.text("SPEED", &format!("{speed} MT/s"))?;
        }
        sink.opt_text("SERIALNUMBER", m.serial.as_deref())?;
        sink.opt_text("MANUFACTURER", m.manufacturer.as_deref())?;
        sink.opt_text("MODEL", m.part_number.as_deref())?;
        sink.int("NUMSLOTS", m.slot)?;
        sink.opt_text("FORMFACTOR", m.form_factor)?;
        sink.opt_text("MEMORYCORRECTION", m.correction)?;
        sink.end()?;
    }
    Ok(())
}

pub fn write_slots(t: &Tables, sink: &mut dyn Sink) -> io::Result<()> {
    let mut index = 0;
    for s in t.structures().filter(|s| s.kind == 9) {
        index += 1;
        // Before 2.1 the structure is 0x0C bytes; shorter is garbage.
        if s.bytes(0, 0x0C).is_none() {
            continue;
        }
        let Some(slot) = system_slot(&s, index) else {
            continue;
        };
        if index > MAX_ENTRIES {
            too_many("slot");
            break;
        }
        sink.begin(Section::Slots)?;
        sink.text("NAME", &slot.name)?;
        sink.opt_text("DESCRIPTION", slot.description.as_deref())?;
        sink.opt_text("DESIGNATION", slot.designation.as_deref())?;
        sink.opt_text("STATUS", slot.status)?;
        sink.end()?;
    }
    Ok(())
}

pub fn write_ports(t: &Tables, sink: &mut dyn Sink) -> io::Result<()> {
    let mut written = 0;
    for s in t.structures().filter(|s| s.kind == 8) {
        let Some(port) = port_connector(&s) else {
            continue;
        };
        if written == MAX_ENTRIES {
            too_many("port");
            break;
        }
        written += 1;
        sink.begin(Section::Ports)?;
        sink.opt_text("NAME", port.name.as_deref())?;
        sink.opt_text("CAPTION", port.caption)?;
        sink.text("DESCRIPTION", port.description)?;
        sink.text("TYPE", port.kind)?;
        sink.end()?;
    }
    Ok(())
}

pub fn collect(ctx: &mut Context, sink: &mut dyn Sink) -> io::Result<()> {
    let Some(tables) = &ctx.smbios else {
        return Ok(());
    };
    if ctx.opts.wants(Category::Memory) {
        write_memories(tables, sink)?;
    }
    if ctx.opts.wants(Category::Slot) {
        write_slots(tables, sink)?;
    }
    if ctx.opts.wants(Category::Port) {
        write_ports(tables, sink)?;
    }
    Ok(())
}

/// A sink that keeps what it is given, for the tests of the collectors.
#[cfg(test)]
pub(crate) mod recorder {
    use std::io;

    use crate::tasks::inventory::cpu::CpuInfo;
    use crate::tasks::inventory::sink::{Section, Sink, Value};
    use crate::tasks::inventory::smbios::Tables;
    use crate::tasks::inventory::{Category, Context, Facts, Options, Root};

    /// Runs one collector over `root` and keeps what it writes.
    pub fn run(
        root: Root,
        skip: Vec<Category>,
        smbios: Option<Tables>,
        collect: fn(&mut Context, &mut dyn Sink) -> io::Result<()>,
    ) -> Recorder {
        let opts = Options {
            root,
            deviceid: "test-2024-01-01-00-00-00".into(),
            accountinfo: Vec::new(),
            skip,
            previous: None,
            digests: false,
        };
        let mut ctx = Context {
            opts: &opts,
            root: &opts.root,
            facts: Facts::default(),
            cpuinfo: CpuInfo::default(),
            smbios,
        };
        let mut rec = Recorder::default();
        collect(&mut ctx, &mut rec).unwrap();
        rec
    }

    #[derive(Default)]
    pub struct Recorder {
        pub entries: Vec<(Section, Vec<(&'static str, String)>)>,
    }

    impl Recorder {
        /// The entries of one section, in order.
        pub fn section(&self, section: Section) -> Vec<&Vec<(&'static str, String)>> {
            self.entries
                .iter()
                .filter(|(s, _)| *s == section)
                .map(|(_, f)| f)
                .collect()
        }

        pub fn sections(&self) -> Vec<Section> {
            self.entries.iter().map(|(s, _)| *s).collect()
        }
    }

    /// The value of `key` in an entry.
    pub fn get<'a>(entry: &'a [(&'static str, String)], key: &str) -> Option<&'a str> {
        entry
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    impl Sink for Recorder {
        fn begin(&mut self, section: Section) -> io::Result<()> {
            self.entries.push((section, Vec::new()));
            Ok(())
        }
        fn field(&mut self, key: &'static str, value: Value<'_>) -> io::Result<()> {
            let text = match value {
                Value::Str(s) => s.to_string(),
                Value::Int(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
            };
            if let Some((_, fields)) = self.entries.last_mut() {
                fields.push((key, text));
            }
            Ok(())
        }
        fn open(&mut self, _key: &'static str) -> io::Result<()> {
            Ok(())
        }
        fn close(&mut self) -> io::Result<()> {
            Ok(())
        }
        fn end(&mut self) -> io::Result<()> {
            Ok(())
        }
        fn scalar(&mut self, _key: &'static str, _value: &str) -> io::Result<()> {
            Ok(())
        }
        fn finish(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::recorder::{get, run, Recorder};
    use super::*;
    use std::fs;
    use std::path::PathBuf;

    /// Lays out SMBIOS structures the way firmware does: header, formatted area, strings.
    #[derive(Default)]
    struct Builder {
        data: Vec<u8>,
    }

    impl Builder {
        /// `len` is the formatted length (header included); `set` writes values at their
        /// specification offsets.
        fn add(
            mut self,
            kind: u8,
            handle: u16,
            len: u8,
            set: &[(usize, &[u8])],
            strings: &[&str],
        ) -> Self {
            let mut formatted = vec![0u8; usize::from(len)];
            formatted[0] = kind;
            formatted[1] = len;
            formatted[2..4].copy_from_slice(&handle.to_le_bytes());
            for (at, bytes) in set {
                formatted[*at..*at + bytes.len()].copy_from_slice(bytes);
            }
            self.data.extend_from_slice(&formatted);
            for s in strings {
                self.data.extend_from_slice(s.as_bytes());
                self.data.push(0);
            }
            if strings.is_empty() {
                self.data.push(0);
            }
            self.data.push(0);
            self
        }

        fn end(self) -> Vec<u8> {
            self.add(END_OF_TABLE, 0xFEFF, 4, &[], &[]).data
        }
    }

    fn fix_checksum(ep: &mut [u8], at: usize, range: std::ops::Range<usize>) {
        ep[at] = 0;
        let sum = ep[range].iter().fold(0u8, |s, b| s.wrapping_add(*b));
        ep[at] = 0u8.wrapping_sub(sum);
    }

    fn entry_point_2(major: u8, minor: u8, table_len: usize) -> Vec<u8> {
        let mut ep = vec![0u8; 0x1F];
        ep[..4].copy_from_slice(b"_SM_");
        ep[0x05] = 0x1F;
        ep[0x06] = major;
        ep[0x07] = minor;
        ep[0x10..0x15].copy_from_slice(b"_DMI_");
        ep[0x16..0x18].copy_from_slice(&(table_len as u16).to_le_bytes());
        ep[0x18..0x1C].copy_from_slice(&0x000F_0000u32.to_le_bytes());
        ep[0x1C..0x1E].copy_from_slice(&9u16.to_le_bytes());
        ep[0x1E] = (major << 4) | minor;
        fix_checksum(&mut ep, 0x15, 0x10..0x1F);
        fix_checksum(&mut ep, 0x04, 0..0x1F);
        ep
    }

    fn entry_point_3(major: u8, minor: u8, max_len: u32) -> Vec<u8> {
        let mut ep = vec![0u8; 0x18];
        ep[..5].copy_from_slice(b"_SM3_");
        ep[0x06] = 0x18;
        ep[0x07] = major;
        ep[0x08] = minor;
        ep[0x0A] = 1;
        ep[0x0C..0x10].copy_from_slice(&max_len.to_le_bytes());
        fix_checksum(&mut ep, 0x05, 0..0x18);
        ep
    }

    /// A root holding only the two SMBIOS files.
    struct TempRoot(PathBuf);

    impl TempRoot {
        fn new(name: &str, ep: &[u8], table: &[u8]) -> TempRoot {
            let dir =
                std::env::temp_dir().join(format!("uagent-smbios-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            let tables = dir.join("sys/firmware/dmi/tables");
            fs::create_dir_all(&tables).unwrap();
            fs::write(tables.join("smbios_entry_point"), ep).unwrap();
            fs::write(tables.join("DMI"), table).unwrap();
            TempRoot(dir)
        }
        fn root(&self) -> Root {
            Root::at(&self.0)
        }
    }

    impl Drop for TempRoot {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const UUID: [u8; 16] = [
        0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE,
        0xFF,
    ];

    /// Types 0 to 3 of a desktop, with placeholders where firmware often leaves them.
    fn identity() -> Builder {
        Builder::default()
            .add(
                0,
                0x0000,
                0x1A,
                &[(0x04, &[1]), (0x05, &[2]), (0x08, &[3])],
                &["American Megatrends Inc.", "F.42", "04/01/2024"],
            )
            .add(
                1,
                0x0001,
                0x1B,
                &[
                    (0x04, &[1]),
                    (0x05, &[2]),
                    (0x06, &[3]),
                    (0x07, &[4]),
                    (0x08, &UUID),
                    (0x19, &[5]),
                ],
                &[
                    "Micro-Star International Co., Ltd.",
                    "MS-7C56",
                    "1.0",
                    "To Be Filled By O.E.M.",
                    "SKU-42",
                ],
            )
            .add(
                2,
                0x0002,
                0x0F,
                &[(0x04, &[1]), (0x05, &[2]), (0x07, &[3])],
                &["Micro-Star", "B550-A PRO (MS-7C56)", "07C5611_M31E123456"],
            )
            .add(
                3,
                0x0003,
                0x16,
                &[(0x05, &[0x83]), (0x07, &[1]), (0x08, &[2])],
                &["Default string", "ASSET-7"],
            )
    }

    #[test]
    fn entry_point_2_8_gives_version_and_exact_table_length() {
        let ep = parse_entry_point(&entry_point_2(2, 8, 1234)).unwrap();
        assert_eq!(
            ep,
            EntryPoint {
                major: 2,
                minor: 8,
                table_len: 1234,
                checksum_ok: true
            }
        );
    }

    #[test]
    fn entry_point_3_x_gives_version_and_maximum_table_length() {
        let ep = parse_entry_point(&entry_point_3(3, 4, 0x2000)).unwrap();
        assert_eq!(
            ep,
            EntryPoint {
                major: 3,
                minor: 4,
                table_len: 0x2000,
                checksum_ok: true
            }
        );
    }

    #[test]
    fn entry_point_versions_misreported_by_some_bioses_are_corrected() {
        assert_eq!(
            parse_entry_point(&entry_point_2(2, 51, 10)).unwrap().minor,
            6
        );
        let ep = parse_entry_point(&entry_point_2(2, 33, 10)).unwrap();
        assert_eq!((ep.major, ep.minor), (2, 3));
    }

    #[test]
    fn garbage_or_short_entry_points_are_refused_and_bad_checksums_flagged() {
        assert!(parse_entry_point(b"garbage garbage garbage garbage").is_err());
        assert!(parse_entry_point(&entry_point_3(3, 0, 100)[..0x10]).is_err());
        assert!(parse_entry_point(&entry_point_2(2, 8, 100)[..0x12]).is_err());
        assert!(parse_entry_point(b"").is_err());
        let mut ep = entry_point_3(3, 0, 100);
        ep[0x0C] ^= 0xFF;
        assert!(!parse_entry_point(&ep).unwrap().checksum_ok);
    }

    #[test]
    fn smbios_2_8_tables_give_the_identity_with_a_little_endian_uuid() {
        let table = identity().end();
        let fixture = TempRoot::new("ident", &entry_point_2(2, 8, table.len()), &table);
        let tables = Tables::read(&fixture.root()).unwrap();
        assert_eq!((tables.major, tables.minor), (2, 8));
        let info = tables.dmi_info();
        assert_eq!(
            info.bios_vendor.as_deref(),
            Some("American Megatrends Inc.")
        );
        assert_eq!(info.bios_version.as_deref(), Some("F.42"));
        assert_eq!(info.bios_date.as_deref(), Some("04/01/2024"));
        assert_eq!(
            info.sys_vendor.as_deref(),
            Some("Micro-Star International Co., Ltd.")
        );
        assert_eq!(info.product_name.as_deref(), Some("MS-7C56"));
        assert_eq!(info.product_version.as_deref(), Some("1.0"));
        assert_eq!(info.product_serial, None, "placeholder kept");
        assert_eq!(
            info.product_uuid.as_deref(),
            Some("00112233-4455-6677-8899-aabbccddeeff")
        );
        assert_eq!(info.product_sku.as_deref(), Some("SKU-42"));
        assert_eq!(info.board_vendor.as_deref(), Some("Micro-Star"));
        assert_eq!(info.board_name.as_deref(), Some("B550-A PRO (MS-7C56)"));
        assert_eq!(info.board_serial.as_deref(), Some("07C5611_M31E123456"));
        assert_eq!(info.chassis_type, Some(3), "lock bit not masked");
        assert_eq!(info.chassis_serial, None);
        assert_eq!(info.chassis_asset_tag.as_deref(), Some("ASSET-7"));
    }

    #[test]
    fn uuid_before_smbios_2_6_is_shown_as_stored_and_unset_uuids_are_none() {
        let table = identity().end();
        let fixture = TempRoot::new("uuid25", &entry_point_2(2, 5, table.len()), &table);
        let info = Tables::read(&fixture.root()).unwrap().dmi_info();
        assert_eq!(
            info.product_uuid.as_deref(),
            Some("33221100-5544-7766-8899-aabbccddeeff")
        );
        assert_eq!(format_uuid(&[0xFF; 16], true), None);
        assert_eq!(format_uuid(&[0; 16], true), None);
    }

    #[test]
    fn smbios_3_tables_are_read_up_to_the_end_of_table_structure() {
        let mut table = identity().end();
        // 3.x gives a maximum length: what follows the end-of-table structure is not read.
        table.extend_from_slice(&[9, 0x20, 0, 0]);
        let fixture = TempRoot::new("v3", &entry_point_3(3, 3, table.len() as u32), &table);
        let tables = Tables::read(&fixture.root()).unwrap();
        assert_eq!((tables.major, tables.minor), (3, 3));
        assert_eq!(tables.structures().count(), 4);
        assert_eq!(tables.structures().last().unwrap().kind, 3);
    }

    #[test]
    fn missing_or_unreadable_tables_give_nothing() {
        let dir = std::env::temp_dir().join(format!("uagent-smbios-none-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        assert!(Tables::read(&Root::at(&dir)).is_none());
        fs::remove_dir_all(&dir).unwrap();
        let fixture = TempRoot::new(
            "garbage-ep",
            b"not an entry point at all",
            &identity().end(),
        );
        assert!(Tables::read(&fixture.root()).is_none());
    }

    #[test]
    fn a_table_cut_anywhere_keeps_the_whole_structures_before_the_cut() {
        let table = identity().end();
        let mut kinds_seen = Vec::new();
        for n in 0..=table.len() {
            let tables = Tables::new(2, 8, table[..n].to_vec());
            // Everything must run on the cut table without a panic.
            let info = tables.dmi_info();
            let mut rec = Recorder::default();
            write_memories(&tables, &mut rec).unwrap();
            write_slots(&tables, &mut rec).unwrap();
            write_ports(&tables, &mut rec).unwrap();
            kinds_seen.push(tables.structures().count());
            if n < table.len() - 6 {
                assert!(
                    info.chassis_asset_tag.is_none(),
                    "cut at {n}: a cut structure was read"
                );
            }
        }
        assert_eq!(kinds_seen[0], 0);
        assert_eq!(*kinds_seen.last().unwrap(), 4);
        // The count only grows with the length.
        assert!(kinds_seen.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn a_structure_shorter_than_its_header_stops_the_walk() {
        let mut table = Builder::default()
            .add(0, 0, 0x12, &[(0x04, &[1])], &["Vendor"])
            .data;
        table.extend_from_slice(&[1, 2, 0, 0, 0, 0]);
        table.extend(identity().end());
        let tables = Tables::new(3, 0, table);
        assert_eq!(tables.structures().count(), 1);
        assert_eq!(tables.dmi_info().bios_vendor.as_deref(), Some("Vendor"));
        assert_eq!(tables.dmi_info().sys_vendor, None);
    }

    #[test]
    fn strings_without_the_final_double_nul_are_not_read() {
        let mut table = Builder::default()
            .add(0, 0, 0x12, &[(0x04, &[1])], &["Vendor"])
            .data;
        // A type 1 whose string set never ends.
        table.extend_from_slice(&[1, 0x08, 1, 0, 1, 1, 1, 1]);
        table.extend_from_slice(b"Maker\0Model");
        let tables = Tables::new(3, 0, table);
        assert_eq!(tables.structures().count(), 1);
        assert_eq!(tables.dmi_info().sys_vendor, None);
    }

    #[test]
    fn string_indexes_out_of_range_read_as_no_string() {
        let table = Builder::default()
            .add(
                1,
                1,
                0x1B,
                &[(0x04, &[1]), (0x05, &[7]), (0x06, &[0]), (0x07, &[255])],
                &["Maker"],
            )
            .add(2, 2, 0x0F, &[(0x04, &[1])], &[])
            .end();
        let info = Tables::new(3, 0, table).dmi_info();
        assert_eq!(info.sys_vendor.as_deref(), Some("Maker"));
        assert_eq!(info.product_name, None);
        assert_eq!(info.product_version, None);
        assert_eq!(info.product_serial, None);
        assert_eq!(info.board_vendor, None);
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut seed: u32 = 0x1234_5678;
        for len in [0usize, 3, 4, 17, 64, 300, 4096] {
            for _ in 0..50 {
                let data: Vec<u8> = (0..len)
                    .map(|_| {
                        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        // Small values often, so that lengths and string indexes are plausible.
                        let b = (seed >> 24) as u8;
                        if b & 0x80 != 0 {
                            b & 0x1F
                        } else {
                            b
                        }
                    })
                    .collect();
                let tables = Tables::new(3, 0, data);
                let _ = tables.dmi_info();
                let mut rec = Recorder::default();
                write_memories(&tables, &mut rec).unwrap();
                write_slots(&tables, &mut rec).unwrap();
                write_ports(&tables, &mut rec).unwrap();
            }
        }
    }

    /// A type 17 structure in the 3.3 layout.
    fn dimm(
        handle: u16,
        size: u16,
        set: &[(usize, &[u8])],
        strings: &[&str],
        b: Builder,
    ) -> Builder {
        let mut all: Vec<(usize, &[u8])> = vec![(0x04, &[0x00, 0x10])];
        let size = size.to_le_bytes();
        all.push((0x0C, &size));
        all.extend_from_slice(set);
        b.add(17, handle, 0x5C, &all, strings)
    }

    fn memory_table() -> Vec<u8> {
        let b = Builder::default().add(16, 0x1000, 0x17, &[(0x06, &[5])], &[]);
        let b = dimm(
            0x1100,
            0x7FFF,
            &[
                (0x0E, &[0x09]),
                (0x10, &[1]),
                (0x12, &[0x22]),
                (0x15, &[0x80, 0x0C]),
                (0x17, &[2]),
                (0x18, &[3]),
                (0x1A, &[4]),
                (0x1C, &32768u32.to_le_bytes()),
            ],
            &["DIMM_A1", "Kingston", "1A2B3C4D", "KF548C38-16    "],
            b,
        );
        // An empty slot.
        let b = dimm(
            0x1101,
            0,
            &[
                (0x0E, &[0x09]),
                (0x10, &[1]),
                (0x12, &[0x02]),
                (0x17, &[2]),
                (0x18, &[3]),
            ],
            &["DIMM_A2", "Manufacturer01", "SerNum01"],
            b,
        );
        // The firmware's own flash, not memory.
        let b = dimm(0x1102, 4, &[(0x0E, &[0x05]), (0x12, &[0x09])], &[], b);
        // A module sized in KiB (bit 15), speed unknown but configured speed given, hex part number.
        let b = dimm(
            0x1103,
            0x8000 | 2048,
            &[
                (0x0E, &[0x0D]),
                (0x10, &[1]),
                (0x12, &[0x1E]),
                (0x20, &[0x40, 0x06]),
                (0x17, &[2]),
                (0x1A, &[3]),
            ],
            &["ChannelB", "0x2C00", "0x4D54353300"],
            b,
        );
        // Speed past 65534 MT/s goes to the extended field.
        let b = dimm(
            0x1104,
            16384,
            &[
                (0x12, &[0x22]),
                (0x15, &[0xFF, 0xFF]),
                (0x54, &70000u32.to_le_bytes()),
            ],
            &[],
            b,
        );
        b.end()
    }

    #[test]
    fn memory_devices_give_sizes_types_speeds_and_empty_slots() {
        let tables = Tables::new(3, 3, memory_table());
        let mut rec = Recorder::default();
        write_memories(&tables, &mut rec).unwrap();
        let m = rec.section(Section::Memories);
        assert_eq!(m.len(), 4, "flash device listed");

        assert_eq!(get(m[0], "CAPACITY"), Some("32768"), "extended size");
        assert_eq!(get(m[0], "CAPTION"), Some("DIMM_A1"));
        assert_eq!(get(m[0], "DESCRIPTION"), Some("DIMM"));
        assert_eq!(get(m[0], "FORMFACTOR"), Some("DIMM"));
        assert_eq!(get(m[0], "TYPE"), Some("DDR5"));
        assert_eq!(get(m[0], "SPEED"), Some("3200 MT/s"));
        assert_eq!(get(m[0], "MANUFACTURER"), Some("Kingston"));
        assert_eq!(get(m[0], "SERIALNUMBER"), Some("1A2B3C4D"));
        assert_eq!(get(m[0], "MODEL"), Some("KF548C38-16"));
        assert_eq!(get(m[0], "NUMSLOTS"), Some("1"));
        assert_eq!(get(m[0], "MEMORYCORRECTION"), Some("Single-bit ECC"));

        assert_eq!(get(m[1], "CAPACITY"), None, "empty slot has a size");
        assert_eq!(get(m[1], "CAPTION"), Some("DIMM_A2"));
        assert_eq!(get(m[1], "NUMSLOTS"), Some("2"));
        assert_eq!(get(m[1], "TYPE"), Some("Unknown"));
        assert_eq!(get(m[1], "MANUFACTURER"), None);
        assert_eq!(get(m[1], "SERIALNUMBER"), None);

        // The flash device still counts as slot 3.
        assert_eq!(get(m[2], "NUMSLOTS"), Some("4"));
        assert_eq!(get(m[2], "CAPACITY"), Some("2"), "KiB granularity");
        assert_eq!(get(m[2], "DESCRIPTION"), Some("SODIMM"));
        assert_eq!(get(m[2], "TYPE"), Some("LPDDR4"));
        assert_eq!(get(m[2], "SPEED"), Some("1600 MT/s"), "configured speed");
        assert_eq!(get(m[2], "MANUFACTURER"), None, "JEDEC hex code kept");
        assert_eq!(get(m[2], "MODEL"), Some("MT53"), "hex part number");

        assert_eq!(get(m[3], "SPEED"), Some("70000 MT/s"));
        assert_eq!(get(m[3], "CAPACITY"), Some("16384"));
    }

    #[test]
    fn extended_size_is_not_read_from_a_structure_too_short_to_hold_it() {
        // A 2.3 layout (0x1B bytes) saying 0x7FFF: the extended field is not there.
        let table = Builder::default()
            .add(
                17,
                1,
                0x1B,
                &[(0x0C, &0x7FFFu16.to_le_bytes()), (0x12, &[0x1A])],
                &[],
            )
            .end();
        let mut rec = Recorder::default();
        write_memories(&Tables::new(2, 3, table), &mut rec).unwrap();
        let m = rec.section(Section::Memories);
        assert_eq!(m.len(), 1);
        assert_eq!(get(m[0], "CAPACITY"), None);
        assert_eq!(get(m[0], "TYPE"), Some("DDR4"));
    }

    fn slots_and_ports() -> Vec<u8> {
        Builder::default()
            .add(
                8,
                0x800,
                0x09,
                &[
                    (0x04, &[1]),
                    (0x05, &[0x00]),
                    (0x06, &[2]),
                    (0x07, &[0x12]),
                    (0x08, &[0x10]),
                ],
                &["J1A1", "USB 1"],
            )
            .add(
                9,
                0x900,
                0x11,
                &[
                    (0x04, &[1]),
                    (0x05, &[0xA5]),
                    (0x06, &[0x0D]),
                    (0x07, &[4]),
                    (0x09, &[2]),
                ],
                &["PCIEX16_1"],
            )
            .add(17, 0x1700, 0x28, &[(0x0C, &[0, 0x20])], &[])
            .add(
                9,
                0x901,
                0x11,
                &[
                    (0x04, &[1]),
                    (0x05, &[0xB6]),
                    (0x06, &[0x0D]),
                    (0x07, &[3]),
                    (0x09, &[3]),
                ],
                &["PCIEX16_2"],
            )
            .add(
                8,
                0x801,
                0x09,
                &[(0x04, &[1]), (0x05, &[0x16]), (0x08, &[0x77])],
                &["SATA1"],
            )
            .add(
                9,
                0x902,
                0x11,
                &[(0x05, &[0x17]), (0x06, &[0x0A]), (0x07, &[2]), (0x09, &[9])],
                &[],
            )
            .end()
    }

    #[test]
    fn slots_give_type_with_width_id_and_lower_case_status() {
        let mut rec = Recorder::default();
        write_slots(&Tables::new(3, 0, slots_and_ports()), &mut rec).unwrap();
        let s = rec.section(Section::Slots);
        assert_eq!(s.len(), 3);
        assert_eq!(get(s[0], "NAME"), Some("PCIEX16_1"));
        assert_eq!(get(s[0], "DESCRIPTION"), Some("x16 PCI Express"));
        assert_eq!(get(s[0], "DESIGNATION"), Some("2"));
        assert_eq!(get(s[0], "STATUS"), Some("used"));
        assert_eq!(
            get(s[1], "DESCRIPTION"),
            Some("PCI Express 3 x16"),
            "width said twice"
        );
        assert_eq!(get(s[1], "STATUS"), Some("free"));
        // An M.2 socket with no name, no meaningful ID, and an unknown usage.
        assert_eq!(get(s[2], "NAME"), Some("Slot 3"));
        assert_eq!(get(s[2], "DESCRIPTION"), Some("x4 M.2 Socket 3"));
        assert_eq!(get(s[2], "DESIGNATION"), None);
        assert_eq!(get(s[2], "STATUS"), None);
    }

    #[test]
    fn ports_are_named_after_the_external_designator_and_always_typed() {
        let mut rec = Recorder::default();
        write_ports(&Tables::new(3, 0, slots_and_ports()), &mut rec).unwrap();
        let p = rec.section(Section::Ports);
        assert_eq!(p.len(), 2);
        assert_eq!(get(p[0], "NAME"), Some("USB 1"));
        assert_eq!(get(p[0], "CAPTION"), Some("Access Bus (USB)"));
        assert_eq!(get(p[0], "DESCRIPTION"), Some("None"));
        assert_eq!(get(p[0], "TYPE"), Some("USB"));
        assert_eq!(get(p[1], "NAME"), Some("SATA1"));
        assert_eq!(get(p[1], "CAPTION"), Some("None"));
        assert_eq!(get(p[1], "DESCRIPTION"), Some("On Board IDE"));
        assert_eq!(get(p[1], "TYPE"), Some("Other"), "out-of-spec port type");
    }

    fn run_collect(skip: Vec<Category>, table: Vec<u8>) -> Recorder {
        let root = Root::at(&std::env::temp_dir());
        run(root, skip, Some(Tables::new(3, 0, table)), collect)
    }

    #[test]
    fn sections_are_written_contiguously_whatever_the_table_order() {
        let rec = run_collect(Vec::new(), slots_and_ports());
        assert_eq!(
            rec.sections(),
            [
                Section::Memories,
                Section::Slots,
                Section::Slots,
                Section::Slots,
                Section::Ports,
                Section::Ports
            ]
        );
        assert_eq!(
            get(rec.section(Section::Memories)[0], "CAPACITY"),
            Some("8192")
        );
    }

    #[test]
    fn skipped_categories_are_not_written() {
        let rec = run_collect(vec![Category::Memory, Category::Port], slots_and_ports());
        assert_eq!(rec.sections(), [Section::Slots; 3]);
        let rec = run_collect(vec![Category::Slot], slots_and_ports());
        assert!(!rec.sections().contains(&Section::Slots));
        assert!(rec.sections().contains(&Section::Ports));
    }
}
