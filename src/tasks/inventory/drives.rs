//! Mounted filesystems (DRIVES) from `/proc/mounts`, without the kernel's pseudo filesystems
//! but with what routers mount (overlay, jffs2, ubifs, squashfs). Sizes come from statvfs,
//! which only the live system can answer.

use std::io;

use super::sink::{Section, Sink};
use super::Context;
use crate::sys::Root;

/// Most mounts listed.
pub const MAX_MOUNTS: usize = 4096;

const PSEUDO: [&str; 30] = [
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "tmpfs",
    "ramfs",
    "cgroup",
    "cgroup2",
    "securityfs",
    "debugfs",
    "tracefs",
    "pstore",
    "bpf",
    "mqueue",
    "hugetlbfs",
    "configfs",
    "fusectl",
    "autofs",
    "binfmt_misc",
    "efivarfs",
    "rpc_pipefs",
    "nsfs",
    "selinuxfs",
    "usbfs",
    "devfs",
    "fuse.gvfsd-fuse",
    "fuse.portal",
    "nfsd",
    "overlayfs",
    "rootfs",
];

/// Decodes the octal escapes of `/proc/mounts` (`\040` is a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = (b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)))
        .then(|| {
            b[i + 1..i + 4]
                .iter()
                .fold(0u32, |v, c| v * 8 + u32::from(c - b'0'))
        })
        .and_then(|v| u8::try_from(v).ok());
        if let Some(byte) = octal {
            out.push(byte);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Debug, PartialEq)]
pub struct Mount {
    pub device: String,
    pub point: String,
    pub fstype: String,
}

/// Real filesystems of a mount table, one per mount point.
pub fn parse_mounts(text: &str) -> Vec<Mount> {
    let mut out: Vec<Mount> = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 3 {
            continue;
        }
        let (device, point, fstype) = (unescape(f[0]), unescape(f[1]), f[2]);
        if PSEUDO.contains(&fstype) {
            continue;
        }
        // Container runtimes' layers are not the host's filesystems.
        if fstype == "overlay" && (point.contains("/docker/") || point.contains("/containers/")) {
            continue;
        }
        if let Some(m) = out.iter_mut().find(|m| m.point == point) {
            // The last mount on a point hides the others.
            m.device = device;
            m.fstype = fstype.to_string();
            continue;
        }
        if out.len() >= MAX_MOUNTS {
            log::warn!("more than {MAX_MOUNTS} mounts: the rest is left out");
            break;
        }
        out.push(Mount {
            device,
            point,
            fstype: fstype.to_string(),
        });
    }
    out
}

/// (device name, link name) pairs from `/dev/disk/by-label` or `/dev/disk/by-uuid`: a few
/// entries, searched in order.
fn by_links(root: &Root, dir: &str) -> Vec<(String, String)> {
    let mut map = Vec::new();
    for name in root.list(dir) {
        if let Some(target) = root.read_link(&format!("{dir}/{name}")) {
            let dev = target.rsplit('/').next().unwrap_or(&target).to_string();
            map.push((dev, unescape(&name.replace("\\x", "\\"))));
        }
    }
    map
}

fn link_of<'a>(links: &'a [(String, String)], dev: &str) -> Option<&'a str> {
    links
        .iter()
        .find(|(d, _)| d == dev)
        .map(|(_, name)| name.as_str())
}

/// MiB of `blocks` of `unit` bytes; statvfs field widths differ between 32- and 64-bit libcs.
fn mib(blocks: impl Into<u64>, unit: impl Into<u64>) -> i64 {
    (blocks.into().saturating_mul(unit.into()) / (1024 * 1024)) as i64
}

pub fn collect(ctx: &mut Context, sink: &mut dyn Sink) -> io::Result<()> {
    let root = ctx.root;
    let Some(text) = root.read_expected("/proc/mounts") else {
        return Ok(());
    };
    let labels = by_links(root, "/dev/disk/by-label");
    let uuids = by_links(root, "/dev/disk/by-uuid");
    for m in parse_mounts(&text) {
        let dev_name = m.device.rsplit('/').next().unwrap_or("");
        sink.begin(Section::Drives)?;
        sink.text("VOLUMN", &m.device)?;
        sink.text("TYPE", &m.point)?;
        sink.text("FILESYSTEM", &m.fstype)?;
        sink.opt_text("LABEL", link_of(&labels, dev_name))?;
        sink.opt_text("SERIAL", link_of(&uuids, dev_name))?;
        if root.is_live() {
            if let Ok(st) = nix::sys::statvfs::statvfs(m.point.as_str()) {
                sink.int("TOTAL", mib(st.blocks(), st.fragment_size()))?;
                sink.int("FREE", mib(st.blocks_available(), st.fragment_size()))?;
            }
        }
        sink.end()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudo_filesystems_are_dropped_and_router_ones_kept() {
        let text = "/dev/root /rom squashfs ro,relatime 0 0\nproc /proc proc rw 0 0\n\
                    sysfs /sys sysfs rw 0 0\ntmpfs /tmp tmpfs rw 0 0\n/dev/mtdblock6 /overlay jffs2 rw 0 0\n\
                    overlayfs:/overlay / overlay rw 0 0\n/dev/sda1 /mnt/my\\040disk ext4 rw 0 0\n\
                    overlay /var/lib/docker/overlay2/abc/merged overlay rw 0 0\n";
        let m = parse_mounts(text);
        let points: Vec<_> = m.iter().map(|m| m.point.as_str()).collect();
        assert_eq!(points, ["/rom", "/overlay", "/", "/mnt/my disk"]);
        assert_eq!(m[2].fstype, "overlay");
    }

    #[test]
    fn octal_escapes_out_of_byte_range_are_kept_as_text() {
        assert_eq!(unescape("/mnt/a\\040b"), "/mnt/a b");
        assert_eq!(unescape("/mnt/\\777x\\0"), "/mnt/\\777x\\0");
    }
}
