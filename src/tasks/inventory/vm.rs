//! Is this machine physical, a virtual machine, or a container? (HARDWARE/VMSYSTEM)
//!
//! Containers are told by the markers their runtimes leave; virtual machines by the DMI
//! vendor and product, the device tree, or the x86 `hypervisor` flag.

use crate::sys::Root;

/// What DMI or the device tree says about the virtual hardware.
fn hypervisor_from_identity(text: &str) -> Option<&'static str> {
    let t = text.to_ascii_lowercase();
    Some(if t.contains("vmware") {
        "VMware"
    } else if t.contains("virtualbox") || t.contains("innotek") {
        "VirtualBox"
    } else if t.contains("qemu") || t.contains("bochs") {
        "QEMU"
    } else if ["kvm", "amazon ec2", "google compute engine", "openstack"]
        .iter()
        .any(|k| t.contains(k))
    {
        "KVM"
    } else if t.contains("xen") {
        "Xen"
    } else if t.contains("parallels") {
        "Parallels"
    } else if t.contains("microsoft corporation") && t.contains("virtual") {
        "Hyper-V"
    } else if t.contains("bhyve") {
        "bhyve"
    } else {
        return None;
    })
}

fn container(root: &Root) -> Option<&'static str> {
    if root.exists("/.dockerenv") {
        return Some("Docker");
    }
    if root.exists("/run/.containerenv") {
        return Some("Podman");
    }
    if let Some(env) = root.read_bytes("/proc/1/environ", 64 * 1024) {
        for var in env.split(|b| *b == 0) {
            match var {
                b"container=lxc" | b"container=lxc-libvirt" => return Some("lxc"),
                b"container=docker" => return Some("Docker"),
                b"container=podman" => return Some("Podman"),
                b"container=systemd-nspawn" => return Some("systemd-nspawn"),
                _ => {}
            }
        }
    }
    if let Some(cg) = root.read("/proc/1/cgroup") {
        if cg.contains("/docker/") || cg.contains("docker-") {
            return Some("Docker");
        }
        if cg.contains("/lxc/") || cg.contains("lxc.payload") {
            return Some("lxc");
        }
    }
    if root.exists("/proc/vz") && !root.exists("/proc/bc") {
        return Some("Virtuozzo");
    }
    None
}

/// The value of HARDWARE/VMSYSTEM: `Physical`, or the kind of virtualization.
pub fn detect(root: &Root, hypervisor_flag: bool) -> String {
    if let Some(c) = container(root) {
        return c.to_string();
    }
    let identity: String = ["sys_vendor", "product_name", "bios_vendor", "board_vendor"]
        .iter()
        .filter_map(|f| root.value(&format!("/sys/class/dmi/id/{f}")))
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(h) = hypervisor_from_identity(&identity) {
        return h.to_string();
    }
    if let Some(h) = root.value("/sys/hypervisor/type") {
        if h == "xen" {
            return "Xen".to_string();
        }
    }
    let dt = super::bios::DeviceTree::read(root);
    if let Some(h) = dt
        .compatible
        .as_deref()
        .or(dt.model.as_deref())
        .and_then(hypervisor_from_identity)
    {
        return h.to_string();
    }
    if hypervisor_flag {
        return "Virtual Machine".to_string();
    }
    "Physical".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dmi_identities_name_their_hypervisor() {
        assert_eq!(
            hypervisor_from_identity("QEMU Standard PC (Q35 + ICH9, 2009)"),
            Some("QEMU")
        );
        assert_eq!(
            hypervisor_from_identity("VMware, Inc. VMware Virtual Platform"),
            Some("VMware")
        );
        assert_eq!(
            hypervisor_from_identity("Microsoft Corporation Virtual Machine"),
            Some("Hyper-V")
        );
        assert_eq!(hypervisor_from_identity("Dell Inc. PowerEdge R640"), None);
    }
}
