//! USB devices (USBDEVICES) from `/sys/bus/usb/devices`, without lsusb: the descriptors the
//! kernel read, named from usb.ids (one streaming pass, as for PCI) when the device gives no
//! strings of its own.
//!
//! Root hubs (`usbN`) are left out: they are the host controllers' stand-ins (vendor 1d6b,
//! Linux Foundation), already listed in CONTROLLERS. The GLPI agent drops them too, by product
//! id 0001/0002, which also drops real devices that happen to use those ids; the sysfs name is
//! exact.

use std::io;

use super::pci::ids;
use super::sink::{Section, Sink};
use super::Context;
use crate::sys::Root;

/// Most devices listed; the rest is left out with a warning.
pub const MAX_DEVICES: usize = 1024;
/// Where distributions install usb.ids, in the order they are tried.
pub const USB_IDS: [&str; 3] = [
    "/usr/share/misc/usb.ids",
    "/usr/share/hwdata/usb.ids",
    "/var/lib/usbutils/usb.ids",
];
const DEVICES_DIR: &str = "/sys/bus/usb/devices";
/// Serial numbers shorter than this are counters or garbage, not serials (the GLPI agent's rule).
const MIN_SERIAL: usize = 5;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Device {
    /// Name in sysfs: `1-1.2` (bus, then the port path).
    pub name: String,
    pub vendor: u16,
    pub product: u16,
    pub manufacturer: Option<String>,
    pub product_name: Option<String>,
    pub serial: Option<String>,
    pub class: Option<u8>,
    pub subclass: Option<u8>,
}

/// A device rather than an interface (`1-1:1.0`) or a root hub (`usb1`).
pub fn is_device(name: &str) -> bool {
    !name.contains(':')
        && !name.starts_with("usb")
        && name
            .split_once('-')
            .is_some_and(|(bus, _)| !bus.is_empty() && bus.bytes().all(|b| b.is_ascii_digit()))
}

fn hex_attr(root: &Root, path: &str) -> Option<u32> {
    let v = root.value(path)?;
    u32::from_str_radix(v.strip_prefix("0x").unwrap_or(&v), 16).ok()
}

fn text_attr(root: &Root, path: &str) -> Option<String> {
    root.value(path).and_then(|v| super::bios::clean(&v))
}

/// Reads one device; `None` when its ids cannot be read. `entries` is the listing of
/// `/sys/bus/usb/devices`, where its interfaces are found.
pub fn read_device(root: &Root, name: &str, entries: &[String]) -> Option<Device> {
    let dir = format!("{DEVICES_DIR}/{name}");
    let vendor = u16::try_from(hex_attr(root, &format!("{dir}/idVendor"))?).ok()?;
    let product = u16::try_from(hex_attr(root, &format!("{dir}/idProduct"))?).ok()?;
    let byte = |path: String| hex_attr(root, &path).and_then(|v| u8::try_from(v).ok());
    let mut class = byte(format!("{dir}/bDeviceClass"));
    let mut subclass = byte(format!("{dir}/bDeviceSubClass"));
    // Class 0: each interface says what it is; the first one speaks for the device.
    if class == Some(0) {
        let prefix = format!("{name}:");
        if let Some(first) = entries.iter().find(|e| e.starts_with(&prefix)) {
            let iface = format!("{DEVICES_DIR}/{first}");
            class = byte(format!("{iface}/bInterfaceClass")).or(class);
            subclass = byte(format!("{iface}/bInterfaceSubClass")).or(subclass);
        }
    }
    Some(Device {
        name: name.to_string(),
        vendor,
        product,
        manufacturer: text_attr(root, &format!("{dir}/manufacturer")),
        product_name: text_attr(root, &format!("{dir}/product")),
        serial: text_attr(root, &format!("{dir}/serial")).filter(|s| s.len() >= MIN_SERIAL),
        class,
        subclass,
    })
}

/// Every USB device but the root hubs, in sysfs name order.
pub fn devices(root: &Root) -> Vec<Device> {
    let entries = root.list(DEVICES_DIR);
    let mut names: Vec<&String> = entries.iter().filter(|n| is_device(n)).collect();
    if names.len() > MAX_DEVICES {
        log::warn!("{DEVICES_DIR} has more than {MAX_DEVICES} devices: the rest is left out");
        names.truncate(MAX_DEVICES);
    }
    names
        .into_iter()
        .filter_map(|n| {
            let d = read_device(root, n, &entries);
            if d.is_none() {
                log::warn!("cannot read the ids of USB device {n} in {DEVICES_DIR}");
            }
            d
        })
        .collect()
}

/// Vendor and product names from usb.ids, when the system has it.
pub fn lookup_names(root: &Root, devices: &[Device]) -> ids::Names {
    let Some(mut lines) = ids::open(root, &USB_IDS) else {
        return ids::Names::default();
    };
    let mut wanted = ids::Wanted::default();
    for d in devices {
        wanted.vendors.insert(d.vendor);
        wanted.devices.insert((d.vendor, d.product));
    }
    ids::scan(&mut lines, &wanted)
}

fn write_device(d: &Device, names: &ids::Names, sink: &mut dyn Sink) -> io::Result<()> {
    let listed = names.device(d.vendor, d.product);
    sink.begin(Section::UsbDevices)?;
    sink.text("VENDORID", &format!("{:04x}", d.vendor))?;
    sink.text("PRODUCTID", &format!("{:04x}", d.product))?;
    // The device's own strings first: they name the exact model, usb.ids names a family.
    sink.opt_text("NAME", d.product_name.as_deref().or(listed))?;
    sink.opt_text(
        "MANUFACTURER",
        d.manufacturer.as_deref().or(names.vendor(d.vendor)),
    )?;
    sink.opt_text("SERIAL", d.serial.as_deref())?;
    // Decimal, as lsusb prints the class and the schema's examples show it.
    if let Some(c) = d.class {
        sink.text("CLASS", &c.to_string())?;
    }
    if let Some(s) = d.subclass {
        sink.text("SUBCLASS", &s.to_string())?;
    }
    sink.opt_text("CAPTION", listed.or(d.product_name.as_deref()))?;
    sink.end()
}

pub fn collect(ctx: &mut Context, sink: &mut dyn Sink) -> io::Result<()> {
    let list = devices(ctx.root);
    if list.is_empty() {
        return Ok(());
    }
    let names = lookup_names(ctx.root, &list);
    for d in &list {
        write_device(d, &names, sink)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::inventory::test_support::{get, run};
    use std::fs;
    use std::path::Path;

    fn fixture() -> Root {
        Root::at(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/pci-usb"
        )))
    }

    #[test]
    fn devices_are_told_from_interfaces_and_root_hubs() {
        for name in ["1-1", "1-1.2", "3-10.4.1", "12-2"] {
            assert!(is_device(name), "{name}");
        }
        for name in [
            "usb1",
            "usb12",
            "1-0:1.0",
            "1-1:1.0",
            "1-1.2:2.1",
            "",
            "x-1",
            "-1",
        ] {
            assert!(!is_device(name), "{name}");
        }
    }

    #[test]
    fn sysfs_gives_ids_strings_and_the_interface_class_when_the_device_has_none() {
        let list = devices(&fixture());
        let names: Vec<&str> = list.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            ["1-1", "1-2", "1-2.1", "1-2.2"],
            "root hub or interface listed"
        );
        let keyboard = &list[0];
        assert_eq!((keyboard.vendor, keyboard.product), (0x046d, 0xc31c));
        assert_eq!(keyboard.manufacturer.as_deref(), Some("Logitech"));
        assert_eq!(keyboard.product_name.as_deref(), Some("USB Keyboard"));
        assert_eq!(
            (keyboard.class, keyboard.subclass),
            (Some(3), Some(1)),
            "first interface"
        );
        assert_eq!(
            (list[1].class, list[1].subclass),
            (Some(9), Some(0)),
            "hub class"
        );
        assert_eq!(
            list[2].manufacturer.as_deref(),
            Some("SanDisk"),
            "not trimmed"
        );
        assert_eq!(list[2].serial.as_deref(), Some("4C530001230614116073"));
        assert_eq!(list[3].serial, None, "two-character serial kept");
        assert_eq!(list[3].class, Some(0xe0));
    }

    #[test]
    fn names_come_from_the_device_then_from_usb_ids() {
        let rec = run(fixture(), Vec::new(), None, collect);
        let u = rec.section(Section::UsbDevices);
        assert_eq!(u.len(), 4);
        assert_eq!(get(u[0], "VENDORID"), Some("046d"));
        assert_eq!(get(u[0], "PRODUCTID"), Some("c31c"));
        assert_eq!(get(u[0], "NAME"), Some("USB Keyboard"));
        assert_eq!(get(u[0], "MANUFACTURER"), Some("Logitech"));
        assert_eq!(get(u[0], "CAPTION"), Some("Keyboard K120"));
        assert_eq!(get(u[0], "CLASS"), Some("3"));
        assert_eq!(get(u[0], "SUBCLASS"), Some("1"));
        assert_eq!(get(u[0], "SERIAL"), None);
        // No manufacturer string: usb.ids names the vendor.
        assert_eq!(get(u[1], "MANUFACTURER"), Some("Genesys Logic, Inc."));
        assert_eq!(get(u[2], "SERIAL"), Some("4C530001230614116073"));
        // No strings at all.
        assert_eq!(get(u[3], "NAME"), Some("Bluetooth wireless interface"));
        assert_eq!(get(u[3], "MANUFACTURER"), Some("Intel Corp."));
        assert_eq!(get(u[3], "CLASS"), Some("224"), "decimal");
    }

    #[test]
    fn without_usb_ids_only_the_device_strings_name_it() {
        let dir = std::env::temp_dir().join(format!("uagent-usb-noids-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let dev = dir.join("sys/bus/usb/devices/2-1");
        fs::create_dir_all(&dev).unwrap();
        fs::write(dev.join("idVendor"), "8087\n").unwrap();
        fs::write(dev.join("idProduct"), "0a2b\n").unwrap();
        fs::write(dev.join("bDeviceClass"), "e0\n").unwrap();
        let rec = run(Root::at(&dir), Vec::new(), None, collect);
        let u = rec.section(Section::UsbDevices);
        assert_eq!(u.len(), 1);
        assert_eq!(get(u[0], "VENDORID"), Some("8087"));
        assert_eq!(get(u[0], "NAME"), None);
        assert_eq!(get(u[0], "MANUFACTURER"), None);
        assert_eq!(get(u[0], "CAPTION"), None);
        assert_eq!(get(u[0], "CLASS"), Some("224"));
        assert_eq!(get(u[0], "SUBCLASS"), None);
        fs::remove_dir_all(&dir).unwrap();
    }
}
