//! PCI devices from `/sys/bus/pci/devices` (CONTROLLERS, and VIDEOS for display controllers),
//! without lspci. Names come from a pci.ids file when the system has one; class names are
//! built in, since routers and minimal systems rarely carry pci.ids.
//!
//! pci.ids is over a megabyte: the devices are read first, then one streaming pass over the
//! file keeps only the names they need.

use std::io;

use super::sink::{Section, Sink};
use super::{Category, Context};
use crate::sys::Root;

/// Most devices listed; the rest is left out with a warning.
pub const MAX_DEVICES: usize = 1024;
/// Where distributions install pci.ids, in the order they are tried.
pub const PCI_IDS: [&str; 3] = [
    "/usr/share/misc/pci.ids",
    "/usr/share/hwdata/pci.ids",
    "/usr/share/pci.ids",
];
const DEVICES_DIR: &str = "/sys/bus/pci/devices";
const DRM_DIR: &str = "/sys/class/drm";
/// Bits of a `resource` line's flags: memory, prefetchable.
const IORESOURCE_MEM: u64 = 0x200;
const IORESOURCE_PREFETCH: u64 = 0x2000;
/// Base address registers in a `resource` file; the line after them is the option ROM.
const BARS: usize = 6;

/// Name lookups in the files of the pci.ids family (pci.ids, usb.ids): one streaming pass that
/// keeps only the names asked for.
pub mod ids {
    use std::collections::{BTreeMap, BTreeSet};
    use std::fs::File;
    use std::io::Read;

    use crate::sys::root::{LineReader, Root};

    /// Longest name kept; the rest of a longer one is cut.
    pub const MAX_NAME: usize = 256;

    /// What to look up.
    #[derive(Debug, Default)]
    pub struct Wanted {
        pub vendors: BTreeSet<u16>,
        pub devices: BTreeSet<(u16, u16)>,
        pub classes: BTreeSet<u8>,
        pub subclasses: BTreeSet<(u8, u8)>,
    }

    /// What was found.
    #[derive(Debug, Default)]
    pub struct Names {
        pub vendors: BTreeMap<u16, String>,
        pub devices: BTreeMap<(u16, u16), String>,
        pub classes: BTreeMap<u8, String>,
        pub subclasses: BTreeMap<(u8, u8), String>,
    }

    impl Names {
        pub fn vendor(&self, v: u16) -> Option<&str> {
            self.vendors.get(&v).map(String::as_str)
        }

        pub fn device(&self, v: u16, d: u16) -> Option<&str> {
            self.devices.get(&(v, d)).map(String::as_str)
        }

        fn complete(&self, w: &Wanted) -> bool {
            self.vendors.len() == w.vendors.len()
                && self.devices.len() == w.devices.len()
                && self.classes.len() == w.classes.len()
                && self.subclasses.len() == w.subclasses.len()
        }
    }

    /// The first of `candidates` that exists, opened for streaming.
    pub fn open(root: &Root, candidates: &[&'static str]) -> Option<LineReader<File>> {
        candidates
            .iter()
            .find(|p| root.exists(p))
            .and_then(|p| root.lines(p))
    }

    /// `8086  Intel Corporation` → (0x8086, "Intel Corporation"), for an id of `digits` hex
    /// digits followed by blanks and a name.
    /// `hhhh  Name` (or `hh  Name`): the id and the name's bytes. Lines are handled as bytes
    /// and only the names kept are decoded: pci.ids is over a megabyte.
    fn id_and_name(s: &[u8], digits: usize) -> Option<(u16, &[u8])> {
        let id = s.get(..digits)?;
        let rest = &s[digits..];
        if !id.iter().all(u8::is_ascii_hexdigit) || !matches!(rest.first(), Some(b' ' | b'\t')) {
            return None;
        }
        let name = rest.trim_ascii();
        if name.is_empty() {
            return None;
        }
        let id = id.iter().fold(0u16, |v, &b| {
            v << 4 | (b as char).to_digit(16).unwrap_or(0) as u16
        });
        Some((id, name))
    }

    fn keep(name: &[u8]) -> String {
        let name = String::from_utf8_lossy(name);
        match name.char_indices().nth(MAX_NAME) {
            Some((cut, _)) => name[..cut].to_string(),
            None => name.into_owned(),
        }
    }

    enum Block {
        Vendor(u16),
        Class(u8),
        Other,
    }

    /// Reads the file once. Vendor lines are four hex digits at the start of a line, devices one
    /// tab in; two tabs in are subsystems or interfaces, never wanted. `C xx` starts a class,
    /// its subclasses one tab in. Other sections (usb.ids has many) are skipped. The pass ends
    /// early once everything wanted was found.
    pub fn scan<R: Read>(lines: &mut LineReader<R>, wanted: &Wanted) -> Names {
        let mut names = Names::default();
        let mut block = Block::Other;
        // Most of the file is devices and subsystems of vendors nobody asked about: only a
        // line's first bytes are looked at before it is skipped.
        loop {
            if matches!(block, Block::Other) {
                lines.skip_lines_starting_with(b'\t');
            }
            let Some(line) = lines.next_line_bytes() else {
                break;
            };
            let Some(&first) = line.first() else { continue };
            if first == b'\t' {
                if line.get(1) == Some(&b'\t') {
                    continue;
                }
                let inner = &line[1..];
                let found = match block {
                    Block::Vendor(v) => id_and_name(inner, 4)
                        .filter(|(d, _)| wanted.devices.contains(&(v, *d)))
                        .map(|(d, name)| names.devices.insert((v, d), keep(name))),
                    Block::Class(c) => id_and_name(inner, 2)
                        .filter(|(sub, _)| wanted.subclasses.contains(&(c, *sub as u8)))
                        .map(|(sub, name)| names.subclasses.insert((c, sub as u8), keep(name))),
                    Block::Other => None,
                };
                if found.is_some() && names.complete(wanted) {
                    break;
                }
                continue;
            }
            if first == b'#' {
                continue;
            }
            if let Some(class) = line.strip_prefix(b"C ") {
                block = match id_and_name(class, 2) {
                    Some((c, name)) => {
                        let c = c as u8;
                        if wanted.classes.contains(&c) {
                            names.classes.insert(c, keep(name));
                        }
                        if wanted
                            .subclasses
                            .range((c, 0)..=(c, u8::MAX))
                            .next()
                            .is_some()
                        {
                            Block::Class(c)
                        } else {
                            Block::Other
                        }
                    }
                    None => Block::Other,
                };
            } else if let Some((v, name)) = id_and_name(line, 4) {
                if wanted.vendors.contains(&v) {
                    names.vendors.insert(v, keep(name));
                }
                block = if wanted
                    .devices
                    .range((v, 0)..=(v, u16::MAX))
                    .next()
                    .is_some()
                {
                    Block::Vendor(v)
                } else {
                    Block::Other
                };
            } else {
                block = Block::Other;
            }
            if names.complete(wanted) {
                break;
            }
        }
        names
    }
}

/// One PCI function as sysfs describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// Domain, bus, device and function: `0000:00:02.0`.
    pub address: String,
    pub vendor: u16,
    pub device: u16,
    pub subsystem: Option<(u16, u16)>,
    /// Class, subclass and programming interface: 0xCCSSPP.
    pub class: u32,
    pub revision: Option<u8>,
    pub driver: Option<String>,
}

impl Device {
    /// The address as lspci shows it: without the domain when it is 0000.
    pub fn slot(&self) -> &str {
        self.address.strip_prefix("0000:").unwrap_or(&self.address)
    }

    pub fn class_code(&self) -> u8 {
        (self.class >> 16) as u8
    }

    pub fn subclass_code(&self) -> u8 {
        (self.class >> 8) as u8
    }
}

fn hex_attr(root: &Root, path: &str) -> Option<u32> {
    let v = root.value(path)?;
    let digits = v.strip_prefix("0x").unwrap_or(&v);
    u32::from_str_radix(digits, 16).ok()
}

/// Reads one device; `None` when its identity cannot be read.
pub fn read_device(root: &Root, address: &str) -> Option<Device> {
    let dir = format!("{DEVICES_DIR}/{address}");
    let attr = |name: &str| hex_attr(root, &format!("{dir}/{name}"));
    let vendor = u16::try_from(attr("vendor")?).ok()?;
    let device = u16::try_from(attr("device")?).ok()?;
    let subsystem = match (attr("subsystem_vendor"), attr("subsystem_device")) {
        (Some(v), Some(d)) if v != 0 && v != 0xFFFF => {
            Some((u16::try_from(v).ok()?, u16::try_from(d).ok()?))
        }
        _ => None,
    };
    let driver = root
        .read_link(&format!("{dir}/driver"))
        .and_then(|l| l.rsplit('/').next().map(str::to_string))
        .filter(|d| !d.is_empty());
    Some(Device {
        address: address.to_string(),
        vendor,
        device,
        subsystem,
        class: attr("class")? & 0xFF_FFFF,
        revision: attr("revision").and_then(|r| u8::try_from(r).ok()),
        driver,
    })
}

/// Every PCI function of the system, in address order.
pub fn devices(root: &Root) -> Vec<Device> {
    let mut names = root.list(DEVICES_DIR);
    names.retain(|n| !n.starts_with('.'));
    if names.len() > MAX_DEVICES {
        log::warn!("{DEVICES_DIR} has more than {MAX_DEVICES} devices: the rest is left out");
        names.truncate(MAX_DEVICES);
    }
    names
        .iter()
        .filter_map(|n| {
            let d = read_device(root, n);
            if d.is_none() {
                log::warn!("cannot read the identity of PCI device {n} in {DEVICES_DIR}");
            }
            d
        })
        .collect()
}

/// Class names of the PCI Code and ID Assignment Specification, as pci.ids spells them.
fn builtin_class(class: u8) -> Option<&'static str> {
    Some(match class {
        0x00 => "Unclassified device",
        0x01 => "Mass storage controller",
        0x02 => "Network controller",
        0x03 => "Display controller",
        0x04 => "Multimedia controller",
        0x05 => "Memory controller",
        0x06 => "Bridge",
        0x07 => "Communication controller",
        0x08 => "Generic system peripheral",
        0x09 => "Input device controller",
        0x0A => "Docking station",
        0x0B => "Processor",
        0x0C => "Serial bus controller",
        0x0D => "Wireless controller",
        0x0E => "Intelligent controller",
        0x0F => "Satellite communications controller",
        0x10 => "Encryption controller",
        0x11 => "Signal processing controller",
        0x12 => "Processing accelerators",
        0x13 => "Non-Essential Instrumentation",
        0x40 => "Coprocessor",
        0xFF => "Unassigned class",
        _ => return None,
    })
}

/// Subclass names of the classes found on the machines this agent is for.
fn builtin_subclass(class: u8, sub: u8) -> Option<&'static str> {
    Some(match (class, sub) {
        (0x01, 0x00) => "SCSI storage controller",
        (0x01, 0x01) => "IDE interface",
        (0x01, 0x04) => "RAID bus controller",
        (0x01, 0x05) => "ATA controller",
        (0x01, 0x06) => "SATA controller",
        (0x01, 0x07) => "Serial Attached SCSI controller",
        (0x01, 0x08) => "Non-Volatile memory controller",
        (0x01, 0x80) => "Mass storage controller",
        (0x02, 0x00) => "Ethernet controller",
        (0x02, 0x07) => "Infiniband controller",
        (0x02, 0x80) => "Network controller",
        (0x03, 0x00) => "VGA compatible controller",
        (0x03, 0x01) => "XGA compatible controller",
        (0x03, 0x02) => "3D controller",
        (0x03, 0x80) => "Display controller",
        (0x04, 0x00) => "Multimedia video controller",
        (0x04, 0x01) => "Multimedia audio controller",
        (0x04, 0x03) => "Audio device",
        (0x04, 0x80) => "Multimedia controller",
        (0x05, 0x00) => "RAM memory",
        (0x05, 0x01) => "FLASH memory",
        (0x06, 0x00) => "Host bridge",
        (0x06, 0x01) => "ISA bridge",
        (0x06, 0x04) => "PCI bridge",
        (0x06, 0x07) => "CardBus bridge",
        (0x06, 0x80) => "Bridge",
        (0x07, 0x00) => "Serial controller",
        (0x07, 0x03) => "Modem",
        (0x07, 0x80) => "Communication controller",
        (0x08, 0x05) => "SD Host controller",
        (0x08, 0x06) => "IOMMU",
        (0x08, 0x80) => "System peripheral",
        (0x0C, 0x00) => "FireWire (IEEE 1394)",
        (0x0C, 0x03) => "USB controller",
        (0x0C, 0x05) => "SMBus",
        (0x0C, 0x80) => "Serial bus controller",
        (0x0D, 0x11) => "Bluetooth",
        (0x0D, 0x80) => "Wireless controller",
        (0x10, 0x80) => "Encryption controller",
        (0x11, 0x80) => "Signal processing controller",
        _ => return None,
    })
}

/// The names one run needs, from pci.ids when there is one.
pub fn lookup_names(root: &Root, devices: &[Device]) -> ids::Names {
    let Some(mut lines) = ids::open(root, &PCI_IDS) else {
        return ids::Names::default();
    };
    let mut wanted = ids::Wanted::default();
    for d in devices {
        wanted.vendors.insert(d.vendor);
        wanted.devices.insert((d.vendor, d.device));
        wanted.classes.insert(d.class_code());
        wanted
            .subclasses
            .insert((d.class_code(), d.subclass_code()));
    }
    ids::scan(&mut lines, &wanted)
}

/// What a device is called, from the names found and the built-in classes.
#[derive(Debug, PartialEq)]
pub struct Named<'a> {
    pub manufacturer: Option<&'a str>,
    pub device: Option<&'a str>,
    /// Subclass name, else class name.
    pub kind: Option<&'a str>,
}

pub fn name<'a>(d: &Device, names: &'a ids::Names) -> Named<'a> {
    let (c, s) = (d.class_code(), d.subclass_code());
    let subclass = names
        .subclasses
        .get(&(c, s))
        .map(String::as_str)
        .or_else(|| builtin_subclass(c, s));
    let class = names
        .classes
        .get(&c)
        .map(String::as_str)
        .or_else(|| builtin_class(c));
    Named {
        manufacturer: names.vendor(d.vendor),
        device: names.device(d.vendor, d.device),
        kind: subclass.or(class),
    }
}

fn write_controller(d: &Device, n: &Named, sink: &mut dyn Sink) -> io::Result<()> {
    sink.begin(Section::Controllers)?;
    sink.opt_text("NAME", n.device.or(n.kind))?;
    sink.opt_text("MANUFACTURER", n.manufacturer)?;
    // The OCS server shows CAPTION; GLPI's agent puts the device name there too.
    sink.opt_text("CAPTION", n.device)?;
    sink.opt_text("TYPE", n.kind)?;
    sink.text("PCICLASS", &format!("{:04x}", d.class >> 8))?;
    sink.text("PCISLOT", d.slot())?;
    sink.text("VENDORID", &format!("{:04x}", d.vendor))?;
    sink.text("PRODUCTID", &format!("{:04x}", d.device))?;
    if let Some((v, s)) = d.subsystem {
        sink.text("PCISUBSYSTEMID", &format!("{v:04x}:{s:04x}"))?;
    }
    if let Some(r) = d.revision {
        sink.text("REV", &format!("{r:02x}"))?;
    }
    sink.opt_text("DRIVER", d.driver.as_deref())?;
    sink.end()
}

/// The largest prefetchable memory window of a device, in MiB: the video memory aperture of
/// a graphics card.
pub fn aperture_mib(resource: &str) -> Option<i64> {
    resource
        .lines()
        .take(BARS)
        .filter_map(|line| {
            let mut f = line
                .split_whitespace()
                .map(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok());
            let (start, end, flags) = (f.next()??, f.next()??, f.next()??);
            let prefetchable = flags & IORESOURCE_MEM != 0 && flags & IORESOURCE_PREFETCH != 0;
            (prefetchable && end > start).then(|| (end - start).saturating_add(1))
        })
        .max()
        .map(|bytes| i64::try_from(bytes >> 20).unwrap_or(i64::MAX))
        .filter(|mib| *mib > 0)
}

/// The current mode of the first connected output of the DRM card on this PCI device.
pub fn drm_resolution(root: &Root, address: &str) -> Option<String> {
    let entries = root.list(DRM_DIR);
    let cards = entries.iter().filter(|n| {
        n.strip_prefix("card")
            .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
    });
    for card in cards {
        let link = root.read_link(&format!("{DRM_DIR}/{card}/device"));
        if link.as_deref().and_then(|l| l.rsplit('/').next()) != Some(address) {
            continue;
        }
        let prefix = format!("{card}-");
        for output in entries.iter().filter(|n| n.starts_with(&prefix)) {
            if root.value(&format!("{DRM_DIR}/{output}/status")).as_deref() == Some("connected") {
                if let Some(mode) = root.value(&format!("{DRM_DIR}/{output}/modes")) {
                    return Some(mode);
                }
            }
        }
    }
    None
}

fn write_video(root: &Root, d: &Device, n: &Named, sink: &mut dyn Sink) -> io::Result<()> {
    // pci.ids writes marketing names in brackets: "GA102 [GeForce RTX 3080]".
    let marketing = n.device.and_then(|name| {
        let inner = name.rsplit_once('[')?.1.strip_suffix(']')?;
        (!inner.trim().is_empty()).then_some(inner.trim())
    });
    sink.begin(Section::Videos)?;
    sink.opt_text("NAME", marketing.or(n.device).or(n.kind))?;
    sink.opt_text("CHIPSET", n.device)?;
    let resource = root.read(&format!("{DEVICES_DIR}/{}/resource", d.address));
    sink.opt_int("MEMORY", resource.as_deref().and_then(aperture_mib))?;
    sink.opt_text("RESOLUTION", drm_resolution(root, &d.address).as_deref())?;
    sink.text("PCISLOT", d.slot())?;
    sink.end()
}

pub fn collect(ctx: &mut Context, sink: &mut dyn Sink) -> io::Result<()> {
    let controllers = ctx.opts.wants(Category::Controller);
    let videos = ctx.opts.wants(Category::Video);
    if !controllers && !videos {
        return Ok(());
    }
    let list = devices(ctx.root);
    if list.is_empty() {
        return Ok(());
    }
    let names = lookup_names(ctx.root, &list);
    if controllers {
        for d in &list {
            write_controller(d, &name(d, &names), sink)?;
        }
    }
    if videos {
        for d in list.iter().filter(|d| d.class_code() == 0x03) {
            write_video(ctx.root, d, &name(d, &names), sink)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
