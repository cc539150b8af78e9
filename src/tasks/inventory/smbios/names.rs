//! Names of the SMBIOS enumerations, as dmidecode prints them (what the reference agents send).

pub(super) fn memory_form_factor(code: u8) -> Option<&'static str> {
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

pub(super) fn memory_type(code: u8) -> Option<&'static str> {
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

pub(super) fn memory_correction(code: u8) -> Option<&'static str> {
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

pub(super) fn connector_type(code: u8) -> Option<&'static str> {
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

pub(super) fn port_type(code: u8) -> Option<&'static str> {
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

pub(super) fn slot_type(code: u8) -> Option<&'static str> {
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

pub(super) fn slot_width(code: u8) -> Option<&'static str> {
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
pub(super) fn slot_has_number(kind: u8) -> bool {
    matches!(kind, 0x04..=0x06 | 0x0E..=0x13 | 0x1F..=0x23 | 0xA5..=0xB6 | 0xB8..=0xBD)
}

