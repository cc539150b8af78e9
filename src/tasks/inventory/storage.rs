//! Disks (STORAGES): block devices of `/sys/block`, and the raw flash of routers from
//! `/proc/mtd`. Loop devices, RAM disks, zram and the `mtdblock` views of flash are not disks.

use std::io;

use super::sink::{Section, Sink};
use super::Context;
use crate::sys::Root;

const MIB: i64 = 1024 * 1024;

/// Block devices that are not disks.
pub fn is_pseudo_block(name: &str) -> bool {
    [
        "loop", "ram", "zram", "mtdblock", "nbd", "dm-", "fd", "ubiblock",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

#[derive(Debug, Default, PartialEq)]
pub struct Disk {
    pub name: String,
    pub size_mib: Option<i64>,
    pub model: Option<String>,
    pub manufacturer: Option<String>,
    pub serial: Option<String>,
    pub firmware: Option<String>,
    pub kind: &'static str,
    pub interface: Option<&'static str>,
    pub description: Option<String>,
}

fn sd_manufacturer(manfid: &str, mmc_type: Option<&str>) -> Option<&'static str> {
    let id = u32::from_str_radix(manfid.trim_start_matches("0x"), 16).ok()?;
    // SD cards and eMMC chips use two different JEDEC-like registries.
    Some(if mmc_type == Some("MMC") {
        match id {
            0x11 => "Toshiba",
            0x13 => "Micron",
            0x15 => "Samsung",
            0x45 => "SanDisk",
            0x90 => "SK Hynix",
            _ => return None,
        }
    } else {
        match id {
            0x02 => "Toshiba",
            0x03 => "SanDisk",
            0x1b => "Samsung",
            0x27 => "Phison",
            0x28 => "Lexar",
            0x41 => "Kingston",
            0x74 => "Transcend",
            _ => return None,
        }
    })
}

pub fn read_disk(root: &Root, name: &str) -> Disk {
    let dir = format!("/sys/block/{name}");
    let get = |rel: &str| {
        root.value(&format!("{dir}/{rel}"))
            .and_then(|v| super::bios::clean(&v))
    };
    let mut d = Disk {
        name: name.to_string(),
        kind: "disk",
        ..Disk::default()
    };
    d.size_mib = root
        .number(&format!("{dir}/size"))
        .map(|sectors| sectors.saturating_mul(512) / MIB);
    let removable = root.number(&format!("{dir}/removable")) == Some(1);
    if name.starts_with("mmcblk") {
        let mmc_type = get("device/type");
        d.interface = Some("MMC");
        d.model = get("device/name");
        d.serial = get("device/serial");
        d.manufacturer = get("device/manfid")
            .and_then(|m| sd_manufacturer(&m, mmc_type.as_deref()).map(str::to_string));
        d.description = Some(mmc_type.unwrap_or_else(|| "SD/MMC".to_string()));
    } else if name.starts_with("nvme") {
        d.interface = Some("NVME");
        d.model = get("device/model");
        d.serial = get("device/serial");
        d.firmware = get("device/firmware_rev");
    } else if name.starts_with("vd") || name.starts_with("xvd") {
        d.interface = Some(if name.starts_with('x') {
            "XEN"
        } else {
            "VIRTIO"
        });
        d.serial = get("serial");
        d.manufacturer = get("device/vendor").map(|v| {
            if v == "0x1af4" {
                "Red Hat".to_string()
            } else {
                v
            }
        });
    } else {
        d.interface = if name.starts_with("sd") || name.starts_with("sr") {
            Some("SCSI")
        } else {
            None
        };
        d.model = get("device/model");
        d.manufacturer = get("device/vendor");
        d.firmware = get("device/rev");
        d.serial = get("device/serial").or_else(|| get("device/wwid"));
    }
    if name.starts_with("sr") {
        d.kind = "cdrom";
    } else if removable {
        d.kind = "removable";
    }
    d
}

/// `/proc/mtd`: `mtd3: 00f80000 00010000 "firmware"` (size and erase block in hex bytes).
pub fn parse_mtd(text: &str) -> Vec<(String, i64, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((dev, rest)) = line.split_once(':') else {
            continue;
        };
        if !dev.starts_with("mtd") {
            continue;
        }
        let mut f = rest.split_whitespace();
        let Some(size) = f.next().and_then(|s| i64::from_str_radix(s, 16).ok()) else {
            continue;
        };
        let label = rest.split('"').nth(1).unwrap_or("").to_string();
        out.push((dev.to_string(), size, label));
        if out.len() >= 256 {
            break;
        }
    }
    out
}

pub fn collect(ctx: &mut Context, sink: &mut dyn Sink) -> io::Result<()> {
    let root = ctx.root;
    for name in root.list("/sys/block") {
        if is_pseudo_block(&name) {
            continue;
        }
        let d = read_disk(root, &name);
        sink.begin(Section::Storages)?;
        sink.text("NAME", &d.name)?;
        sink.text("TYPE", d.kind)?;
        sink.opt_int("DISKSIZE", d.size_mib)?;
        sink.opt_text("MODEL", d.model.as_deref())?;
        sink.opt_text("MANUFACTURER", d.manufacturer.as_deref())?;
        sink.opt_text("SERIAL", d.serial.as_deref())?;
        // The OCS server's storages table calls it SERIALNUMBER.
        sink.opt_text("SERIALNUMBER", d.serial.as_deref())?;
        sink.opt_text("FIRMWARE", d.firmware.as_deref())?;
        sink.opt_text("INTERFACE", d.interface)?;
        sink.opt_text("DESCRIPTION", d.description.as_deref().or(d.interface))?;
        sink.end()?;
    }
    if let Some(text) = root.read("/proc/mtd") {
        for (dev, bytes, label) in parse_mtd(&text) {
            sink.begin(Section::Storages)?;
            sink.text("NAME", &dev)?;
            sink.text("TYPE", "flash")?;
            // Flash partitions are often smaller than a MiB: round up so none reads 0.
            sink.int("DISKSIZE", (bytes + MIB - 1) / MIB)?;
            sink.text("MODEL", &label)?;
            sink.text("INTERFACE", "MTD")?;
            sink.text(
                "DESCRIPTION",
                &format!("raw flash partition ({bytes} bytes)"),
            )?;
            sink.end()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mtd_partitions_are_parsed() {
        let text = "dev:    size   erasesize  name\nmtd0: 00030000 00010000 \"u-boot\"\nmtd3: 00f80000 00010000 \"firmware\"\n";
        assert_eq!(
            parse_mtd(text),
            vec![
                ("mtd0".into(), 0x30000, "u-boot".into()),
                ("mtd3".into(), 0xf80000, "firmware".into())
            ]
        );
    }

    #[test]
    fn pseudo_block_devices_are_not_disks() {
        for n in ["loop0", "ram3", "zram0", "mtdblock2", "dm-0"] {
            assert!(is_pseudo_block(n), "{n}");
        }
        for n in ["sda", "vda", "mmcblk0", "nvme0n1"] {
            assert!(!is_pseudo_block(n), "{n}");
        }
    }
}
