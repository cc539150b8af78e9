//! System, board and firmware identity (BIOS section).
//!
//! PCs and ARM servers have DMI (`/sys/class/dmi/id`, or the raw SMBIOS tables); boards
//! without it are described by the device tree (`model`, `compatible`, `serial-number`) and by
//! the board lines some kernels put in cpuinfo. Placeholder strings that firmware vendors leave
//! in DMI are dropped.

use std::io;

use super::sink::{Section, Sink};
use super::Context;
use crate::sys::Root;

/// Longest `/sys/class/dmi/id` value read (the kernel writes at most a page).
const MAX_DMI_VALUE: usize = 4096;

/// Identity read from DMI, whichever way.
#[derive(Debug, Default, Clone)]
pub struct DmiInfo {
    pub bios_vendor: Option<String>,
    pub bios_version: Option<String>,
    pub bios_date: Option<String>,
    pub sys_vendor: Option<String>,
    pub product_name: Option<String>,
    pub product_version: Option<String>,
    pub product_serial: Option<String>,
    pub product_uuid: Option<String>,
    pub product_sku: Option<String>,
    pub board_vendor: Option<String>,
    pub board_name: Option<String>,
    pub board_serial: Option<String>,
    pub chassis_type: Option<u8>,
    pub chassis_serial: Option<String>,
    pub chassis_asset_tag: Option<String>,
}

impl DmiInfo {
    /// `/sys/class/dmi/id`, the kernel's view of SMBIOS types 0–3.
    pub fn from_sysfs(root: &Root) -> DmiInfo {
        let get = |name: &str| {
            let path = format!("/sys/class/dmi/id/{name}");
            // Serial numbers are readable by root only: not worth a warning for other users.
            // A value is one line of at most a page: a bigger file is cut (with a warning).
            let text = root.read_limited(&path, MAX_DMI_VALUE, true)?;
            clean(&String::from_utf8_lossy(&text))
        };
        DmiInfo {
            bios_vendor: get("bios_vendor"),
            bios_version: get("bios_version"),
            bios_date: get("bios_date"),
            sys_vendor: get("sys_vendor"),
            product_name: get("product_name"),
            product_version: get("product_version"),
            product_serial: get("product_serial"),
            product_uuid: get("product_uuid"),
            product_sku: get("product_sku"),
            board_vendor: get("board_vendor"),
            board_name: get("board_name"),
            board_serial: get("board_serial"),
            chassis_type: get("chassis_type").and_then(|t| t.parse().ok()),
            chassis_serial: get("chassis_serial"),
            chassis_asset_tag: get("chassis_asset_tag"),
        }
    }

    /// Fills what is missing from `other`.
    pub fn merge(&mut self, other: DmiInfo) {
        macro_rules! fill {
            ($($f:ident),*) => { $( if self.$f.is_none() { self.$f = other.$f; } )* };
        }
        fill!(
            bios_vendor,
            bios_version,
            bios_date,
            sys_vendor,
            product_name,
            product_version,
            product_serial,
            product_uuid,
            product_sku,
            board_vendor,
            board_name,
            board_serial,
            chassis_type,
            chassis_serial,
            chassis_asset_tag
        );
    }
}

/// Trims a DMI or device-tree string; `None` when empty or a known placeholder.
pub fn clean(raw: &str) -> Option<String> {
    let s = raw.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    if s.is_empty() || is_placeholder(s) {
        None
    } else {
        Some(s.to_string())
    }
}

/// Values firmware leaves in DMI fields that say nothing.
pub fn is_placeholder(s: &str) -> bool {
    const WORDS: [&str; 27] = [
        "to be filled by o.e.m.",
        "to be filled by oem",
        "default string",
        "not specified",
        "not applicable",
        "system serial number",
        "system product name",
        "system manufacturer",
        "system version",
        "chassis serial number",
        "chassis manufacture",
        "base board serial number",
        "type2 - board serial number",
        "type1productconfigid",
        "sku",
        "none",
        "n/a",
        "na",
        "oem",
        "o.e.m.",
        "unknown",
        "invalid",
        "0123456789",
        "123456789",
        "serial number",
        "xxxxxxxxxxxx",
        "empty",
    ];
    let lower = s.to_ascii_lowercase();
    if WORDS.contains(&lower.as_str()) {
        return true;
    }
    // Runs of one repeated character ("0000000000", "FFFFFFFF", "        ").
    let mut chars = lower.chars();
    let first = chars.next();
    first.is_some_and(|f| matches!(f, '0' | 'f' | 'x' | '.' | '-') && chars.all(|c| c == f))
}

/// Name of an SMBIOS chassis type, as the reference agents report it.
pub fn chassis_name(t: u8) -> Option<&'static str> {
    Some(match t & 0x7f {
        1 => "Other",
        3 => "Desktop",
        4 => "Low Profile Desktop",
        5 => "Pizza Box",
        6 => "Mini Tower",
        7 => "Tower",
        8 => "Portable",
        9 => "Laptop",
        10 => "Notebook",
        11 => "Hand Held",
        12 => "Docking Station",
        13 => "All in One",
        14 => "Sub Notebook",
        15 => "Space-saving",
        16 => "Lunch Box",
        17 => "Main Server Chassis",
        18 => "Expansion Chassis",
        19 => "SubChassis",
        20 => "Bus Expansion Chassis",
        21 => "Peripheral Chassis",
        22 => "RAID Chassis",
        23 => "Rack Mount Chassis",
        24 => "Sealed-case PC",
        25 => "Multi-system chassis",
        26 => "Compact PCI",
        27 => "Advanced TCA",
        28 => "Blade",
        29 => "Blade Enclosure",
        30 => "Tablet",
        31 => "Convertible",
        32 => "Detachable",
        33 => "IoT Gateway",
        34 => "Embedded PC",
        35 => "Mini PC",
        36 => "Stick PC",
        _ => return None,
    })
}

/// The device tree's view of the board (ARM, MIPS, PowerPC, RISC-V).
#[derive(Debug, Default)]
pub struct DeviceTree {
    pub model: Option<String>,
    /// First `compatible` entry, e.g. `xiaomi,mi-router-4a-gigabit`.
    pub compatible: Option<String>,
    pub serial: Option<String>,
}

impl DeviceTree {
    pub fn read(root: &Root) -> DeviceTree {
        // /proc/device-tree is a link to this on current kernels; read the canonical place first.
        let get = |name: &str| {
            ["/sys/firmware/devicetree/base/", "/proc/device-tree/"]
                .iter()
                .find_map(|dir| root.read_bytes(&format!("{dir}{name}"), 4096))
        };
        let first = |bytes: Vec<u8>| {
            let s = bytes.split(|b| *b == 0).next().unwrap_or(&[]).to_vec();
            clean(&String::from_utf8_lossy(&s))
        };
        DeviceTree {
            model: get("model").and_then(first),
            compatible: get("compatible").and_then(first),
            serial: get("serial-number").and_then(first),
        }
    }
}

/// A cpuinfo serial of all zeros means "not set".
fn real_serial(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .filter(|v| !v.bytes().all(|b| b == b'0'))
        .map(str::to_string)
}

pub fn collect(ctx: &mut Context, sink: &mut dyn Sink) -> io::Result<()> {
    let root = ctx.root;
    let mut dmi = DmiInfo::from_sysfs(root);
    if let Some(tables) = &ctx.smbios {
        dmi.merge(tables.dmi_info());
    }
    let dt = DeviceTree::read(root);
    let board = &ctx.cpuinfo.board;

    let system_model = dt
        .model
        .clone()
        .or_else(|| dmi.product_name.clone())
        .or_else(|| board.machine.clone())
        .or_else(|| board.model.clone());
    let system_serial = dt
        .serial
        .clone()
        .or_else(|| real_serial(&board.serial))
        .or_else(|| dmi.product_serial.clone());
    let board_model = dmi
        .board_name
        .clone()
        .or_else(|| dt.compatible.clone())
        .or_else(|| board.hardware.clone())
        .or_else(|| board.system_type.clone());

    ctx.facts.uuid = dmi.product_uuid.clone();
    ctx.facts.model = system_model.clone();
    ctx.facts.manufacturer = dmi.sys_vendor.clone();
    ctx.facts.serial = system_serial.clone();
    ctx.facts.chassis_type = dmi.chassis_type.and_then(chassis_name).map(str::to_string);

    sink.begin(Section::Bios)?;
    sink.opt_text("SMANUFACTURER", dmi.sys_vendor.as_deref())?;
    sink.opt_text("SMODEL", system_model.as_deref())?;
    sink.opt_text("SSN", system_serial.as_deref())?;
    sink.opt_text("SKUNUMBER", dmi.product_sku.as_deref())?;
    sink.opt_text("BMANUFACTURER", dmi.bios_vendor.as_deref())?;
    sink.opt_text("BVERSION", dmi.bios_version.as_deref())?;
    sink.opt_text("BDATE", dmi.bios_date.as_deref())?;
    sink.opt_text("MMANUFACTURER", dmi.board_vendor.as_deref())?;
    sink.opt_text("MMODEL", board_model.as_deref())?;
    sink.opt_text(
        "MSN",
        dmi.board_serial.as_deref().or(board.revision.as_deref()),
    )?;
    sink.opt_text("ASSETTAG", dmi.chassis_asset_tag.as_deref())?;
    sink.opt_text("ENCLOSURESERIAL", dmi.chassis_serial.as_deref())?;
    sink.opt_text("TYPE", ctx.facts.chassis_type.as_deref())?;
    sink.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_dropped_and_real_values_kept() {
        for p in [
            "To Be Filled By O.E.M.",
            "Default string",
            "Not Specified",
            "System Serial Number",
            "0000000",
            " ",
        ] {
            assert_eq!(clean(p), None, "{p}");
        }
        assert_eq!(clean("QEMU\n").as_deref(), Some("QEMU"));
        assert_eq!(clean("PF2ZXXYZ").as_deref(), Some("PF2ZXXYZ"));
    }
}
