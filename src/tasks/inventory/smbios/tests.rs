use crate::tasks::inventory::test_support::{get, run, Recorder};
use super::*;
use crate::tasks::inventory::sink::Section;
use crate::tasks::inventory::Category;
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
