//! Facts about the operating system that the inventory and the agent both use: the host name,
//! the DNS domain, the distribution (os-release, OpenWrt's release file).

use super::root::Root;

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
    let name = raw_hostname(root);
    name.split('.').next().unwrap_or(&name).to_string()
}

/// The host name as the system has it, a dotted one left whole.
pub fn raw_hostname(root: &Root) -> String {
    root.value("/proc/sys/kernel/hostname")
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
        .unwrap_or_else(|| "localhost".to_string())
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
