use super::*;
use crate::sys::root::LineReader;
use crate::tasks::inventory::test_support::{get, run};
use std::fs;
use std::path::{Path, PathBuf};

fn fixture() -> Root {
    Root::at(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/pci-usb"
    )))
}

fn scan(text: &str, wanted: &ids::Wanted) -> ids::Names {
    ids::scan(&mut LineReader::new(text.as_bytes(), "test.ids"), wanted)
}

#[test]
fn sysfs_devices_give_ids_class_revision_subsystem_and_driver() {
    let list = devices(&fixture());
    let slots: Vec<&str> = list.iter().map(Device::slot).collect();
    assert_eq!(
        slots,
        [
            "00:00.0",
            "00:02.0",
            "00:14.0",
            "00:1f.6",
            "02:00.0",
            "0001:00:00.0"
        ]
    );
    let gpu = &list[1];
    assert_eq!(
        *gpu,
        Device {
            address: "0000:00:02.0".into(),
            vendor: 0x8086,
            device: 0x5916,
            subsystem: Some((0x17aa, 0x224b)),
            class: 0x030000,
            revision: Some(0x02),
            driver: Some("i915".into()),
        }
    );
    assert_eq!(list[0].driver, None, "host bridge has no driver");
    assert_eq!(list[3].subsystem, None, "subsystem 0000:0000 kept");
    assert_eq!(
        (list[2].class_code(), list[2].subclass_code()),
        (0x0c, 0x03)
    );
}

#[test]
fn ids_scan_keeps_only_wanted_names_and_ignores_subsystem_lines() {
    let text = "# comment\n\
                8086  Intel Corporation\n\
                \t1000  82542 Gigabit Ethernet Controller (Fiber)\n\
                \t1001  Not wanted\n\
                10de  NVIDIA Corporation\n\
                \t2206  GA102 [GeForce RTX 3080]\n\
                \t\t8086 1000  Subsystem line that looks like a vendor and a device\n\
                c0de  Lower-case vendor ids start with c too\n\
                \t0001  Device of c0de\n\
                C 02  Network controller\n\
                \t00  Ethernet controller\n\
                \t80  Network controller\n\
                C 03  Display controller\n";
    let mut wanted = ids::Wanted::default();
    wanted.vendors.extend([0x8086, 0xc0de]);
    wanted
        .devices
        .extend([(0x8086, 0x1000), (0x10de, 0x2206), (0xc0de, 0x0001)]);
    wanted.classes.insert(0x02);
    wanted.subclasses.insert((0x02, 0x00));
    let names = scan(text, &wanted);
    assert_eq!(names.vendor(0x8086), Some("Intel Corporation"));
    assert_eq!(names.vendor(0x10de), None, "unwanted vendor kept");
    assert_eq!(
        names.device(0x8086, 0x1000),
        Some("82542 Gigabit Ethernet Controller (Fiber)")
    );
    assert_eq!(
        names.device(0x10de, 0x2206),
        Some("GA102 [GeForce RTX 3080]")
    );
    assert_eq!(names.device(0xc0de, 0x0001), Some("Device of c0de"));
    assert!(names.device(0x8086, 0x1001).is_none());
    assert_eq!(
        names.classes.get(&0x02).map(String::as_str),
        Some("Network controller")
    );
    assert_eq!(
        names.subclasses.get(&(0x02, 0x00)).map(String::as_str),
        Some("Ethernet controller")
    );
    assert_eq!(names.subclasses.len(), 1);
}

#[test]
fn ids_scan_cuts_overlong_names_and_skips_malformed_lines() {
    let long = "x".repeat(ids::MAX_NAME * 2);
    let text = format!("8086  {long}\n\t12  too short an id\n\tzzzz  not hex\n\t1234\n");
    let mut wanted = ids::Wanted::default();
    wanted.vendors.insert(0x8086);
    wanted.devices.insert((0x8086, 0x1234));
    let names = scan(&text, &wanted);
    assert_eq!(names.vendor(0x8086).map(str::len), Some(ids::MAX_NAME));
    assert!(names.devices.is_empty());
}

#[test]
fn controllers_and_videos_are_named_from_pci_ids() {
    let rec = run(fixture(), Vec::new(), None, collect);
    let c = rec.section(Section::Controllers);
    assert_eq!(c.len(), 6);
    let gpu = c[1];
    assert_eq!(get(gpu, "NAME"), Some("HD Graphics 620"));
    assert_eq!(get(gpu, "CAPTION"), Some("HD Graphics 620"));
    assert_eq!(get(gpu, "MANUFACTURER"), Some("Intel Corporation"));
    assert_eq!(get(gpu, "TYPE"), Some("VGA compatible controller"));
    assert_eq!(get(gpu, "PCICLASS"), Some("0300"));
    assert_eq!(get(gpu, "PCISLOT"), Some("00:02.0"));
    assert_eq!(get(gpu, "VENDORID"), Some("8086"));
    assert_eq!(get(gpu, "PRODUCTID"), Some("5916"));
    assert_eq!(get(gpu, "PCISUBSYSTEMID"), Some("17aa:224b"));
    assert_eq!(get(gpu, "REV"), Some("02"));
    assert_eq!(get(gpu, "DRIVER"), Some("i915"));
    // A vendor pci.ids does not know, in a class it does not list: built-in class name.
    assert_eq!(get(c[3], "NAME"), Some("Signal processing controller"));
    assert_eq!(get(c[3], "MANUFACTURER"), None);
    assert_eq!(get(c[3], "CAPTION"), None);
    // The domain is kept when it is not 0000.
    assert_eq!(get(c[5], "PCISLOT"), Some("0001:00:00.0"));
    assert_eq!(get(c[5], "NAME"), Some("Virtio 1.0 network device"));
    assert_eq!(get(c[4], "TYPE"), Some("Network controller"));

    let v = rec.section(Section::Videos);
    assert_eq!(v.len(), 1);
    assert_eq!(get(v[0], "NAME"), Some("HD Graphics 620"));
    assert_eq!(get(v[0], "CHIPSET"), Some("HD Graphics 620"));
    assert_eq!(get(v[0], "MEMORY"), Some("256"));
    assert_eq!(get(v[0], "RESOLUTION"), Some("1920x1080"));
    assert_eq!(get(v[0], "PCISLOT"), Some("00:02.0"));
}

#[test]
fn skipped_categories_are_not_written() {
    let rec = run(fixture(), vec![Category::Video], None, collect);
    assert_eq!(rec.sections(), [Section::Controllers; 6]);
    let rec = run(fixture(), vec![Category::Controller], None, collect);
    assert_eq!(rec.sections(), [Section::Videos]);
    let rec = run(
        fixture(),
        vec![Category::Controller, Category::Video],
        None,
        collect,
    );
    assert!(rec.entries.is_empty());
}

/// A root with one display controller and, optionally, a pci.ids at `ids_at`.
fn one_device_root(name: &str, ids_at: Option<(&str, &str)>) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("uagent-pci-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let dev = dir.join("sys/bus/pci/devices/0000:01:00.0");
    fs::create_dir_all(&dev).unwrap();
    for (file, value) in [
        ("vendor", "0x10de"),
        ("device", "0x2206"),
        ("class", "0x030000"),
    ] {
        fs::write(dev.join(file), format!("{value}\n")).unwrap();
    }
    if let Some((path, text)) = ids_at {
        let file = dir.join(path.trim_start_matches('/'));
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(file, text).unwrap();
    }
    dir
}

#[test]
fn without_pci_ids_the_built_in_class_names_are_used() {
    let dir = one_device_root("noids", None);
    let rec = run(Root::at(&dir), Vec::new(), None, collect);
    let c = rec.section(Section::Controllers);
    assert_eq!(get(c[0], "NAME"), Some("VGA compatible controller"));
    assert_eq!(get(c[0], "TYPE"), Some("VGA compatible controller"));
    assert_eq!(get(c[0], "MANUFACTURER"), None);
    assert_eq!(get(c[0], "REV"), None, "no revision file");
    let v = rec.section(Section::Videos);
    assert_eq!(get(v[0], "NAME"), Some("VGA compatible controller"));
    assert_eq!(get(v[0], "CHIPSET"), None);
    assert_eq!(get(v[0], "MEMORY"), None);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hwdata_pci_ids_is_used_and_its_names_win_over_the_built_in_ones() {
    let text = "10de  NVIDIA Corporation\n\t2206  GA102 [GeForce RTX 3080]\n\
                C 03  Display controller\n\t00  VGA-compatible display\n";
    let dir = one_device_root("hwdata", Some(("/usr/share/hwdata/pci.ids", text)));
    let rec = run(Root::at(&dir), Vec::new(), None, collect);
    let c = rec.section(Section::Controllers);
    assert_eq!(get(c[0], "MANUFACTURER"), Some("NVIDIA Corporation"));
    assert_eq!(get(c[0], "TYPE"), Some("VGA-compatible display"));
    let v = rec.section(Section::Videos);
    assert_eq!(
        get(v[0], "NAME"),
        Some("GeForce RTX 3080"),
        "marketing name"
    );
    assert_eq!(get(v[0], "CHIPSET"), Some("GA102 [GeForce RTX 3080]"));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn aperture_is_the_largest_prefetchable_memory_window_before_the_rom() {
    let resource = "0x00000000f0000000 0x00000000f0ffffff 0x0000000000140204\n\
                    0x00000000c0000000 0x00000000dfffffff 0x000000000014220c\n\
                    0x00000000e0000000 0x00000000e7ffffff 0x000000000014220c\n\
                    0x0000000000000000 0x0000000000000000 0x0000000000000000\n\
                    0x000000000000e000 0x000000000000e03f 0x0000000000040101\n\
                    0x0000000000000000 0x0000000000000000 0x0000000000000000\n\
                    0x0000000000000000 0x00000000ffffffff 0x000000000000221a\n";
    assert_eq!(aperture_mib(resource), Some(512));
    assert_eq!(aperture_mib("0x0 0xfff 0x40101\n"), None, "I/O only");
    assert_eq!(aperture_mib("garbage\n0x1 zz\n"), None);
}
