//! Finding peer agents that may share GLPI file parts (`deploy-p2p = yes` only: by default the
//! LAN is never probed). The candidates are the addresses of the /24 around each of this
//! machine's IPv4 addresses that are also in that interface's network, never its network or
//! broadcast address (nor the .0 and .255 of the /24), never this machine; each is tried with a
//! TCP connection to the agents' port, 1 s at most, a few at a time.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use async_io::{Async, Timer};
use smol::future;

/// Connections tried at once.
const PROBES_AT_ONCE: usize = 16;
/// How long one probe waits.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Most interfaces' addresses looked at.
const MAX_NETS: usize = 16;

/// The addresses worth probing around `nets` (address and mask of each interface address).
pub fn candidates(nets: &[(Ipv4Addr, Ipv4Addr)]) -> Vec<Ipv4Addr> {
    let mut out: Vec<Ipv4Addr> = Vec::new();
    for &(addr, mask) in nets.iter().take(MAX_NETS) {
        if addr.is_loopback() || addr.is_link_local() || addr.is_unspecified() || addr.is_broadcast() {
            continue;
        }
        let m = u32::from(mask);
        if m.leading_ones() >= 31 || m.count_ones() != m.leading_ones() {
            continue;
        }
        let a = u32::from(addr);
        let net = a & m;
        let bcast = net | !m;
        let base = a & 0xffff_ff00;
        for host in 1..=254u32 {
            let ip = base | host;
            if ip == a || ip & m != net || ip == net || ip == bcast {
                continue;
            }
            let ip = Ipv4Addr::from(ip);
            if !out.contains(&ip) {
                out.push(ip);
            }
        }
    }
    // Nearest first, so that the likeliest peers (same switch) answer first.
    if let Some(&(me, _)) = nets.first() {
        let me = u32::from(me);
        out.sort_by_key(|ip| u32::from(*ip).abs_diff(me));
    }
    out
}

/// This machine's IPv4 addresses with their masks, on interfaces that are up (not loopback).
pub fn live_nets() -> Vec<(Ipv4Addr, Ipv4Addr)> {
    use nix::net::if_::InterfaceFlags;
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for a in addrs {
        if !a.flags.contains(InterfaceFlags::IFF_UP) || a.flags.contains(InterfaceFlags::IFF_LOOPBACK) {
            continue;
        }
        let v4 = |s: Option<nix::sys::socket::SockaddrStorage>| s.and_then(|s| s.as_sockaddr_in().map(|s| s.ip()));
        if let (Some(ip), Some(mask)) = (v4(a.address), v4(a.netmask)) {
            out.push((ip, mask));
        }
        if out.len() == MAX_NETS {
            break;
        }
    }
    out
}

/// The candidates that accept a TCP connection on `port`.
pub async fn probe(candidates: &[Ipv4Addr], port: u16) -> Vec<Ipv4Addr> {
    let mut found = Vec::new();
    for batch in candidates.chunks(PROBES_AT_ONCE) {
        let ex = smol::LocalExecutor::new();
        let tasks: Vec<_> = batch
            .iter()
            .map(|&ip| {
                ex.spawn(async move {
                    let addr = SocketAddr::from((ip, port));
                    let ok = future::or(async { Async::<TcpStream>::connect(addr).await.is_ok() }, async {
                        Timer::after(PROBE_TIMEOUT).await;
                        false
                    })
                    .await;
                    ok.then_some(ip)
                })
            })
            .collect();
        let results = ex
            .run(async {
                let mut r = Vec::new();
                for t in tasks {
                    r.push(t.await);
                }
                r
            })
            .await;
        found.extend(results.into_iter().flatten());
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn candidates_stay_in_the_24_and_skip_network_and_broadcast() {
        let c = candidates(&[(ip("192.168.1.10"), ip("255.255.255.0"))]);
        assert_eq!(c.len(), 253);
        for bad in ["192.168.1.0", "192.168.1.255", "192.168.1.10", "192.168.0.1", "192.168.2.1"] {
            assert!(!c.contains(&ip(bad)), "{bad}");
        }
        assert_eq!(c[0], ip("192.168.1.9"));
        // A /16: only the /24 around us, never its .0 or .255.
        let c = candidates(&[(ip("10.1.2.3"), ip("255.255.0.0"))]);
        assert_eq!(c.len(), 253);
        assert!(c.iter().all(|a| a.octets()[..3] == [10, 1, 2]));
        assert!(!c.contains(&ip("10.1.2.0")) && !c.contains(&ip("10.1.2.255")));
        // A /28 inside the /24: only its own hosts, less network and broadcast.
        let c = candidates(&[(ip("172.16.5.20"), ip("255.255.255.240"))]);
        assert_eq!(c.len(), 13);
        assert!(!c.contains(&ip("172.16.5.16")) && !c.contains(&ip("172.16.5.31")));
        // Nothing around loopback, link-local, /31 or /32 addresses.
        assert!(candidates(&[(ip("127.0.0.1"), ip("255.0.0.0")), (ip("169.254.3.4"), ip("255.255.0.0")), (ip("10.0.0.1"), ip("255.255.255.254")), (ip("10.0.0.9"), ip("255.255.255.255"))]).is_empty());
    }

    #[test]
    fn a_probe_finds_a_listener_and_nothing_else() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let found = smol::block_on(probe(&[ip("127.0.0.1")], port));
        assert_eq!(found, [ip("127.0.0.1")]);
        drop(listener);
        let found = smol::block_on(probe(&[ip("127.0.0.1")], port));
        assert!(found.is_empty());
    }
}
