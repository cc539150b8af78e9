//! Who may ask for a run: the server targets' hosts and the `--httpd-trust` entries (IP
//! addresses, CIDR ranges, host names), as in the GLPI agent. Nothing is trusted implicitly,
//! not even 127.0.0.1.
//!
//! Host names are resolved with the system resolver, which blocks the (single) thread, so
//! they are resolved only when a trust decision is needed and at most every
//! [`RESOLVE_EVERY`]; a failed resolution keeps the addresses found before.

use std::cell::RefCell;
use std::io;
use std::net::{IpAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::http::url::{in_network, parse_cidr};

/// How long resolved addresses are used before the names are resolved again (GLPI's 60 s).
pub const RESOLVE_EVERY: Duration = Duration::from_secs(60);
/// Addresses kept for one host name; a name with more is a misconfiguration or an attack.
pub const MAX_ADDRESSES_PER_NAME: usize = 32;
/// Longest host name (RFC 1035).
const MAX_NAME_LEN: usize = 253;

/// What the caller of a request is to this agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    Untrusted,
    /// Trusted by an `--httpd-trust` entry, not the host of any server target.
    Trusted,
    /// The host of these server targets (indices into the targets).
    ServerOf(Vec<usize>),
}

impl Caller {
    pub fn is_trusted(&self) -> bool {
        !matches!(self, Caller::Untrusted)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Entry {
    Net(IpAddr, u8),
    Name(String),
}

/// A resolver: host name → addresses. The system one, or a fake in tests.
pub type Resolve<'r> = &'r dyn Fn(&str) -> io::Result<Vec<IpAddr>>;

#[derive(Debug, Default)]
struct Cache {
    at: Option<Instant>,
    /// Addresses of each `Entry::Name`, by position in `Trust::entries`.
    entries: Vec<Vec<IpAddr>>,
    servers: Vec<Vec<IpAddr>>,
}

/// The trust list of one server configuration.
#[derive(Debug)]
pub struct Trust {
    entries: Vec<Entry>,
    /// By target index; `None` for a local target.
    servers: Vec<Option<Entry>>,
    cache: RefCell<Cache>,
}

impl Trust {
    /// Builds the list; entries that are neither an address, a range nor a host name are
    /// left out with a warning.
    pub fn new(trust: &[String], server_hosts: &[String]) -> Trust {
        let mut entries = Vec::new();
        for raw in trust {
            let e = raw.trim();
            if e.is_empty() {
                continue;
            }
            match parse_entry(e) {
                Some(entry) => entries.push(entry),
                None => log::warn!(
                    "httpd-trust: {e:?} is neither an IP address, a CIDR range nor a host name; ignored"
                ),
            }
        }
        let servers = server_hosts
            .iter()
            .map(|h| {
                let h = h.trim();
                (!h.is_empty()).then(|| match parse_ip(h) {
                    Some(ip) => Entry::Net(ip, full_bits(ip)),
                    None => Entry::Name(h.trim_end_matches('.').to_ascii_lowercase()),
                })
            })
            .collect();
        Trust {
            entries,
            servers,
            cache: RefCell::new(Cache::default()),
        }
    }

    /// What `peer` is, resolving the names with the system resolver when due.
    pub fn caller(&self, peer: IpAddr) -> Caller {
        self.caller_with(peer, Instant::now(), &resolve_system)
    }

    /// [`Trust::caller`] at time `now` with resolver `resolve`.
    pub fn caller_with(&self, peer: IpAddr, now: Instant, resolve: Resolve<'_>) -> Caller {
        self.refresh(now, resolve);
        let peer = canonical(peer);
        let cache = self.cache.borrow();
        let matches = |entry: &Entry, resolved: Option<&Vec<IpAddr>>| match entry {
            Entry::Net(net, bits) => in_network(peer, (*net, *bits)),
            Entry::Name(_) => resolved.is_some_and(|a| a.contains(&peer)),
        };
        let servers: Vec<usize> = self
            .servers
            .iter()
            .enumerate()
            .filter(|(i, e)| {
                e.as_ref()
                    .is_some_and(|e| matches(e, cache.servers.get(*i)))
            })
            .map(|(i, _)| i)
            .collect();
        if !servers.is_empty() {
            return Caller::ServerOf(servers);
        }
        let trusted = self
            .entries
            .iter()
            .enumerate()
            .any(|(i, e)| matches(e, cache.entries.get(i)));
        if trusted {
            Caller::Trusted
        } else {
            Caller::Untrusted
        }
    }

    fn has_names(&self) -> bool {
        let is_name = |e: &Entry| matches!(e, Entry::Name(_));
        self.entries.iter().any(is_name) || self.servers.iter().flatten().any(is_name)
    }

    /// Resolves every name when the cache is older than [`RESOLVE_EVERY`].
    fn refresh(&self, now: Instant, resolve: Resolve<'_>) {
        if !self.has_names() {
            return;
        }
        let mut cache = self.cache.borrow_mut();
        if cache
            .at
            .is_some_and(|at| now.saturating_duration_since(at) < RESOLVE_EVERY)
        {
            return;
        }
        cache.at = Some(now);
        let cache = &mut *cache;
        cache.entries.resize(self.entries.len(), Vec::new());
        cache.servers.resize(self.servers.len(), Vec::new());
        for (e, addrs) in self.entries.iter().zip(cache.entries.iter_mut()) {
            resolve_into(e, addrs, resolve);
        }
        for (e, addrs) in self.servers.iter().zip(cache.servers.iter_mut()) {
            if let Some(e) = e {
                resolve_into(e, addrs, resolve);
            }
        }
    }
}

/// Resolves a name entry into `addrs`, keeping the old addresses when resolution fails.
fn resolve_into(e: &Entry, addrs: &mut Vec<IpAddr>, resolve: Resolve<'_>) {
    let Entry::Name(name) = e else { return };
    match resolve(name) {
        Ok(found) => {
            addrs.clear();
            for ip in found.into_iter().map(canonical) {
                if !addrs.contains(&ip) && addrs.len() < MAX_ADDRESSES_PER_NAME {
                    addrs.push(ip);
                }
            }
        }
        Err(e) => log::warn!(
            "httpd: cannot resolve trusted host {name}: {e}; keeping its {} known address(es)",
            addrs.len()
        ),
    }
}

fn resolve_system(name: &str) -> io::Result<Vec<IpAddr>> {
    Ok((name, 0).to_socket_addrs()?.map(|a| a.ip()).collect())
}

/// An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, what a dual-stack socket reports for an
/// IPv4 peer) as the IPv4 address, so that IPv4 entries match it.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn full_bits(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

/// An address, bracketed or not.
fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(s);
    s.parse().ok().map(canonical)
}

fn parse_entry(e: &str) -> Option<Entry> {
    if e.contains('/') {
        let (net, bits) = parse_cidr(e)?;
        // A mapped IPv6 range is the IPv4 range it maps.
        return Some(match net {
            IpAddr::V6(v6) if bits >= 96 && v6.to_ipv4_mapped().is_some() => {
                Entry::Net(canonical(net), bits - 96)
            }
            _ => Entry::Net(net, bits),
        });
    }
    if let Some(ip) = parse_ip(e) {
        return Some(Entry::Net(ip, full_bits(ip)));
    }
    let name = e.trim_end_matches('.');
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    valid.then(|| Entry::Name(name.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests;
