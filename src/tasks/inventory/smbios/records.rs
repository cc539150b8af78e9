//! The structures the inventory sends, read from the table: memory devices (type 17) for
//! MEMORIES, system slots (type 9) for SLOTS, port connectors (type 8) for PORTS; and the
//! writers of those sections.

use std::io;

use super::names::{connector_type, memory_correction, memory_form_factor, memory_type, port_type, slot_has_number, slot_type, slot_width};
use super::{Structure, Tables, MAX_ARRAYS, MAX_ENTRIES, TABLE_PATH};
use crate::tasks::inventory::sink::{Section, Sink};
use crate::tasks::inventory::{Category, Context};

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

