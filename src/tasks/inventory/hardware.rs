//! HARDWARE: the machine's summary row (memory, swap, DNS, default gateway, virtualization)
//! and the facts it repeats from other sections for the OCS server's hardware table.

use std::io;

use super::sink::{Section, Sink};
use super::{vm, Context, Facts};
use crate::sys::Root;

/// `MemTotal` and `SwapTotal` of `/proc/meminfo`, in MiB (kB / 1024, as the reference agents do).
pub fn meminfo(text: &str) -> (Option<i64>, Option<i64>) {
    let mut mem = None;
    let mut swap = None;
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let kb = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<i64>().ok());
        match key.trim() {
            "MemTotal" => mem = kb.map(|k| k / 1024),
            "SwapTotal" => swap = kb.map(|k| k / 1024),
            _ => {}
        }
    }
    (mem, swap)
}

/// The resolver configuration: name servers and the local domain.
#[derive(Debug, Default)]
pub struct Resolver {
    pub servers: Vec<String>,
    pub domain: Option<String>,
}

impl Resolver {
    pub fn parse(text: &str, into: &mut Resolver) {
        for line in text.lines() {
            let mut words = line.split_whitespace();
            match (words.next(), words.next()) {
                (Some("nameserver"), Some(ip))
                    if !into.servers.iter().any(|s| s == ip) && into.servers.len() < 16 =>
                {
                    into.servers.push(ip.to_string());
                }
                (Some("domain" | "search"), Some(d)) if into.domain.is_none() => {
                    into.domain = Some(d.to_string())
                }
                _ => {}
            }
        }
    }

    /// `/etc/resolv.conf`; on OpenWrt it points at dnsmasq on loopback, and the servers the
    /// uplink gave are in `resolv.conf.auto`.
    pub fn read(root: &Root) -> Resolver {
        let mut r = Resolver::default();
        if let Some(text) = root.read("/etc/resolv.conf") {
            Resolver::parse(&text, &mut r);
        }
        let only_loopback = r
            .servers
            .iter()
            .all(|s| s.starts_with("127.") || s == "::1");
        if only_loopback {
            for auto in [
                "/tmp/resolv.conf.d/resolv.conf.auto",
                "/tmp/resolv.conf.auto",
            ] {
                if let Some(text) = root.read(auto) {
                    let mut up = Resolver::default();
                    Resolver::parse(&text, &mut up);
                    if !up.servers.is_empty() {
                        r.servers = up.servers;
                    }
                    r.domain = r.domain.or(up.domain);
                    break;
                }
            }
        }
        r
    }

    /// Name servers joined with `/`, as HARDWARE/DNS carries them.
    pub fn dns(&self) -> Option<String> {
        if self.servers.is_empty() {
            None
        } else {
            Some(self.servers.join("/"))
        }
    }
}

/// One line of `/proc/net/route`.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub iface: String,
    pub destination: u32,
    pub gateway: u32,
    pub mask: u32,
}

/// IPv4 routes; addresses in the file are in the kernel's byte order (little-endian hex on
/// every machine, since the kernel prints the raw 32-bit word in host order).
pub fn parse_routes(text: &str) -> Vec<Route> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 {
            continue;
        }
        let word = |s: &str| u32::from_str_radix(s, 16).ok();
        if let (Some(d), Some(g), Some(m)) = (word(f[1]), word(f[2]), word(f[7])) {
            out.push(Route {
                iface: f[0].to_string(),
                destination: d,
                gateway: g,
                mask: m,
            });
        }
        if out.len() >= 4096 {
            break;
        }
    }
    out
}

/// Dotted form of an address as `/proc/net/route` prints it.
pub fn route_addr(word: u32, big_endian_file: bool) -> String {
    let b = if big_endian_file {
        word.to_be_bytes()
    } else {
        word.to_le_bytes()
    };
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

/// Whether the routes were printed by a big-endian kernel: a default route's mask is 0
/// either way, so the byte order is guessed from the host part of a network route
/// (`0A000000` little-endian is 10.0.0.0 only read as big-endian). Live runs use the build's
/// own byte order.
pub fn routes_big_endian(root: &Root, routes: &[Route]) -> bool {
    if root.is_live() {
        return cfg!(target_endian = "big");
    }
    // Netmasks are contiguous ones from the top: in the right order, !mask+1 is a power of two.
    let mut votes = 0i32;
    for r in routes.iter().filter(|r| r.mask != 0 && r.mask != u32::MAX) {
        let le = u32::from_be_bytes(r.mask.to_le_bytes());
        let be = r.mask;
        let contiguous = |m: u32| (!m).wrapping_add(1).is_power_of_two();
        match (contiguous(le), contiguous(be)) {
            (true, false) => votes -= 1,
            (false, true) => votes += 1,
            _ => {}
        }
    }
    votes > 0
}

/// The default gateway and the interface it goes through.
pub fn default_route(root: &Root) -> Option<(String, String)> {
    let routes = parse_routes(&root.read("/proc/net/route")?);
    let be = routes_big_endian(root, &routes);
    routes
        .iter()
        .find(|r| r.destination == 0 && r.mask == 0 && r.gateway != 0)
        .map(|r| (route_addr(r.gateway, be), r.iface.clone()))
}

/// Fills the facts only HARDWARE needs (the others come from their own collectors).
pub fn gather(ctx: &mut Context) {
    let root = ctx.root;
    let f = &mut ctx.facts;
    if let Some(text) = root.read_expected("/proc/meminfo") {
        let (mem, swap) = meminfo(&text);
        f.memory_mib = mem;
        f.swap_mib = swap;
    }
    if f.default_gateway.is_none() {
        f.default_gateway = default_route(root).map(|(gw, _)| gw);
    }
    f.vmsystem = Some(vm::detect(root, ctx.cpuinfo.hypervisor));
    if f.uuid.is_none() {
        f.uuid = root
            .value("/sys/class/dmi/id/product_uuid")
            .and_then(|u| super::bios::clean(&u));
    }
}

pub fn write(f: &Facts, sink: &mut dyn Sink, checksum: u32) -> io::Result<()> {
    sink.begin(Section::Hardware)?;
    sink.text("NAME", f.asset_name.as_deref().unwrap_or(&f.hostname))?;
    sink.opt_int("MEMORY", f.memory_mib)?;
    sink.opt_int("SWAP", f.swap_mib)?;
    sink.opt_text("UUID", f.uuid.as_deref())?;
    sink.opt_text("DNS", f.dns.as_deref())?;
    sink.opt_text("WORKGROUP", f.workgroup.as_deref())?;
    sink.opt_text("DEFAULTGATEWAY", f.default_gateway.as_deref())?;
    sink.opt_text("VMSYSTEM", f.vmsystem.as_deref())?;
    sink.opt_text("CHASSIS_TYPE", f.chassis_type.as_deref())?;
    sink.opt_text("LASTLOGGEDUSER", f.last_user.as_deref())?;
    sink.opt_text("DATELASTLOGGEDUSER", f.last_user_date.as_deref())?;
    // What the OCS server's hardware table reads.
    sink.opt_text("OSNAME", f.os_full_name.as_deref().or(f.os_name.as_deref()))?;
    sink.opt_text("OSVERSION", f.kernel_release.as_deref())?;
    sink.opt_text("OSCOMMENTS", f.kernel_build.as_deref())?;
    sink.opt_text("PROCESSORT", f.cpu_name.as_deref())?;
    sink.opt_int("PROCESSORS", f.cpu_speed)?;
    if f.cpu_packages > 0 {
        sink.int("PROCESSORN", f.cpu_packages as i64)?;
    }
    sink.opt_text("ARCHNAME", f.arch.as_deref())?;
    sink.opt_text("ARCH", f.arch.as_deref())?;
    sink.opt_text("IPADDR", f.ipaddr.as_deref())?;
    sink.int("CHECKSUM", i64::from(checksum))?;
    sink.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_is_read_in_mib() {
        let (m, s) =
            meminfo("MemTotal:        4010772 kB\nMemFree: 1 kB\nSwapTotal:       998396 kB\n");
        assert_eq!((m, s), (Some(3916), Some(974)));
    }

    #[test]
    fn resolver_collects_servers_and_domain() {
        let mut r = Resolver::default();
        Resolver::parse(
            "# x\nsearch lan example.org\nnameserver 192.168.1.1\nnameserver 9.9.9.9\n",
            &mut r,
        );
        assert_eq!(r.dns().as_deref(), Some("192.168.1.1/9.9.9.9"));
        assert_eq!(r.domain.as_deref(), Some("lan"));
    }

    #[test]
    fn routes_decode_the_default_gateway() {
        let text =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                    eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                    eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        let routes = parse_routes(text);
        assert_eq!(routes.len(), 2);
        assert_eq!(route_addr(routes[0].gateway, false), "192.168.1.1");
        let root = Root::at(std::path::Path::new("/nonexistent"));
        assert!(!routes_big_endian(&root, &routes));
    }
}
