//! The operating system: distribution (os-release, OpenWrt's release file), kernel, host
//! names, boot time and time zone.

use std::io;

use super::root::Root;
use super::sink::{Section, Sink};
use super::time;
use super::tz::Zone;
use super::{Category, Context};

/// Values of a shell-style `KEY=value` file (os-release, openwrt_release).
pub fn parse_assignments(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        out.push((key.to_string(), unquote(raw.trim())));
    }
    out
}

fn unquote(raw: &str) -> String {
    let bytes = raw.as_bytes();
    if bytes.len() >= 2 && bytes[0] == b'\'' && bytes[bytes.len() - 1] == b'\'' {
        return raw[1..raw.len() - 1].to_string();
    }
    let inner = if bytes.len() >= 2 && bytes[0] == b'"' && bytes[bytes.len() - 1] == b'"' {
        &raw[1..raw.len() - 1]
    } else {
        raw
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

#[derive(Debug, Default, PartialEq)]
pub struct Distro {
    pub name: Option<String>,
    pub version: Option<String>,
    pub full_name: Option<String>,
}

impl Distro {
    pub fn read(root: &Root) -> Distro {
        let os_release = root
            .read("/etc/os-release")
            .or_else(|| root.read("/usr/lib/os-release"));
        let mut d = Distro::default();
        if let Some(text) = os_release {
            let p = parse_assignments(&text);
            d.name = get(&p, "NAME").map(str::to_string);
            d.version = get(&p, "VERSION_ID")
                .or_else(|| get(&p, "VERSION"))
                .map(str::to_string);
            d.full_name = get(&p, "PRETTY_NAME").map(str::to_string);
        }
        // OpenWrt builds without os-release still have their own release file.
        if let Some(text) = root.read("/etc/openwrt_release") {
            let p = parse_assignments(&text);
            d.name = d.name.or_else(|| get(&p, "DISTRIB_ID").map(str::to_string));
            d.version = d
                .version
                .or_else(|| get(&p, "DISTRIB_RELEASE").map(str::to_string));
            d.full_name = d
                .full_name
                .or_else(|| get(&p, "DISTRIB_DESCRIPTION").map(str::to_string));
        }
        if d.name.is_none() {
            if let Some(v) = root.value("/etc/alpine-release") {
                d.name = Some("Alpine Linux".into());
                d.version = Some(v);
            } else if let Some(v) = root.value("/etc/debian_version") {
                d.name = Some("Debian GNU/Linux".into());
                d.version = Some(v);
            }
        }
        if d.name.is_none() {
            log::warn!("cannot tell the operating system: no /etc/os-release, /usr/lib/os-release or release file");
        }
        if d.full_name.is_none() {
            d.full_name = match (&d.name, &d.version) {
                (Some(n), Some(v)) => Some(format!("{n} {v}")),
                (Some(n), None) => Some(n.clone()),
                _ => None,
            };
        }
        d
    }
}

/// Short host name, from the kernel (the same file on the live system and under a root).
pub fn hostname(root: &Root) -> String {
    let name = root
        .value("/proc/sys/kernel/hostname")
        .or_else(|| root.value("/etc/hostname"))
        .or_else(|| {
            if root.is_live() {
                nix::unistd::gethostname()
                    .ok()
                    .map(|h| h.to_string_lossy().into_owned())
            } else {
                None
            }
        })
        .unwrap_or_else(|| "localhost".to_string());
    name.split('.').next().unwrap_or(&name).to_string()
}

/// DNS domain of the host: `/etc/hosts` first (the FQDN beside the host name), then
/// the resolver's `domain`/`search`.
pub fn dns_domain(root: &Root, host: &str, resolv_domain: Option<&str>) -> Option<String> {
    if let Some(hosts) = root.read("/etc/hosts") {
        for line in hosts.lines() {
            let line = line.split('#').next().unwrap_or("");
            let names: Vec<&str> = line.split_whitespace().skip(1).collect();
            if names
                .iter()
                .any(|n| *n == host || n.split('.').next() == Some(host))
            {
                if let Some(fqdn) = names
                    .iter()
                    .find(|n| n.starts_with(host) && n.contains('.'))
                {
                    return fqdn.split_once('.').map(|(_, d)| d.to_string());
                }
            }
        }
    }
    resolv_domain.map(str::to_string)
}

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
    let fqdn = match &domain {
        Some(d) => format!("{host}.{d}"),
        None => host.clone(),
    };
    sink.text("FQDN", &fqdn)?;
    sink.opt_text("DNS_DOMAIN", domain.as_deref())?;
    sink.opt_text("SSH_KEY", ssh_key(root).as_deref())?;
    let zone = Zone::load(root);
    let now = time::now();
    // The boot time needs the running clock: only the live system can tell it.
    if root.is_live() {
        if let Some(up) = root
            .value("/proc/uptime")
            .and_then(|u| u.split('.').next()?.parse::<i64>().ok())
        {
            let boot = now - up;
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
    sink.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_values_are_unquoted() {
        let p = parse_assignments(
            "NAME=\"Debian GNU/Linux\"\nVERSION_ID='12'\n# c\nID=debian\nX=\"a \\\"q\\\"\"\n",
        );
        assert_eq!(get(&p, "NAME"), Some("Debian GNU/Linux"));
        assert_eq!(get(&p, "VERSION_ID"), Some("12"));
        assert_eq!(get(&p, "ID"), Some("debian"));
        assert_eq!(get(&p, "X"), Some("a \"q\""));
    }
}
