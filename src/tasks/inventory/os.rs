//! OPERATINGSYSTEM: distribution, kernel, host names, boot time and time zone, from the facts
//! [`crate::sys::os`] reads.

use std::io;

use super::sink::{Section, Sink};
use super::{Category, Context};
use crate::core::time;
use crate::sys::os::{dns_domain, hostname, raw_hostname, Distro};
use crate::sys::Root;

fn machine(ctx: &Context) -> Option<String> {
    if ctx.root.is_live() {
        let u = nix::sys::utsname::uname().ok()?;
        return Some(u.machine().to_string_lossy().into_owned());
    }
    ctx.cpuinfo.arch().map(str::to_string)
}

/// An SSH host public key, as GLPI reports it (`type base64`).
fn ssh_key(root: &Root) -> Option<String> {
    for kind in ["rsa", "ecdsa", "ed25519"] {
        if let Some(text) = root.value(&format!("/etc/ssh/ssh_host_{kind}_key.pub")) {
            let mut words = text.split_whitespace();
            if let (Some(t), Some(k)) = (words.next(), words.next()) {
                return Some(format!("{t} {k}"));
            }
        }
    }
    None
}

pub fn collect(ctx: &mut Context, sink: &mut dyn Sink) -> io::Result<()> {
    let root = ctx.root;
    let distro = Distro::read(root);
    let host = hostname(root);
    let kernel = root.value("/proc/sys/kernel/osrelease");
    let build = root.value("/proc/sys/kernel/version");
    let arch = machine(ctx);
    let resolver = super::hardware::Resolver::read(root);
    let domain = dns_domain(root, &host, resolver.domain.as_deref());

    let f = &mut ctx.facts;
    f.hostname = host.clone();
    f.os_name = distro.name.clone();
    f.os_version = distro.version.clone();
    f.os_full_name = distro.full_name.clone();
    f.kernel_release = kernel.clone();
    f.kernel_build = build;
    f.arch = arch.clone();
    f.domain = domain.clone();
    f.dns = resolver.dns();
    f.workgroup = resolver.domain.clone();
    let fqdn = match &domain {
        Some(d) => format!("{host}.{d}"),
        None => host.clone(),
    };
    f.asset_name = Some(match ctx.opts.asset_name {
        super::AssetName::Short => host.clone(),
        super::AssetName::Fqdn => fqdn.clone(),
        super::AssetName::AsIs => raw_hostname(root),
    });
    // The uptime needs the running clock: only the live system can tell it.
    if root.is_live() {
        f.uptime = root
            .value("/proc/uptime")
            .and_then(|u| u.split('.').next()?.parse::<i64>().ok());
    }

    if !ctx.opts.wants(Category::Os) {
        return Ok(());
    }
    sink.begin(Section::OperatingSystem)?;
    sink.text("KERNEL_NAME", "linux")?;
    sink.opt_text("KERNEL_VERSION", kernel.as_deref())?;
    sink.opt_text("NAME", distro.name.as_deref())?;
    sink.opt_text("VERSION", distro.version.as_deref())?;
    sink.opt_text("FULL_NAME", distro.full_name.as_deref())?;
    sink.opt_text("ARCH", arch.as_deref())?;
    sink.text("FQDN", &fqdn)?;
    sink.opt_text("DNS_DOMAIN", domain.as_deref())?;
    sink.opt_text("SSH_KEY", ssh_key(root).as_deref())?;
    let zone = crate::sys::tz::zone(root);
    let now = time::now();
    // The boot time needs the running clock: only the live system can tell it. The kernel's
    // own `btime` first: now less the uptime moves by a second from one run to the next,
    // which would make the section look changed at every run.
    if root.is_live() {
        let btime = root.read("/proc/stat").and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|v| v.trim().parse::<i64>().ok())
        });
        if let Some(boot) = btime.or_else(|| ctx.facts.uptime.map(|up| now - up)) {
            sink.text(
                "BOOT_TIME",
                &time::format_datetime(boot + i64::from(zone.offset_at(boot).0)),
            )?;
        }
    }
    let (offset, abbrev) = zone.offset_at(now);
    sink.open("TIMEZONE")?;
    sink.text("NAME", &abbrev)?;
    let sign = if offset < 0 { '-' } else { '+' };
    let o = offset.unsigned_abs();
    sink.text(
        "OFFSET",
        &format!("{sign}{:02}{:02}", o / 3600, o % 3600 / 60),
    )?;
    sink.close()?;
    sink.end()?;
    if ctx.opts.itemtype == super::ItemType::NetworkEquipment {
        super::netdevice::write_firmware(&distro, sink)?;
    }
    Ok(())
}
