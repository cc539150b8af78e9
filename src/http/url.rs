//! The URLs the agent is given (server, proxy) and the `no_proxy` rules.
//!
//! Only what an HTTP client needs: http/https, userinfo, a host name, IPv4 or `[IPv6]` literal,
//! a port and the path with its query. The fragment is dropped; `Display` leaves out the
//! password so that a URL can go in a log line.

use std::fmt;
use std::net::IpAddr;

/// Longest URL accepted.
pub const MAX_URL_LEN: usize = 8 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlError(pub String);

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid URL: {}", self.0)
    }
}

impl std::error::Error for UrlError {}

#[derive(Clone, PartialEq, Eq)]
pub struct Url {
    pub scheme: Scheme,
    /// Userinfo, percent-decoded.
    pub user: Option<String>,
    pub password: Option<String>,
    /// Lowercase; an IPv6 literal is kept without its brackets.
    pub host: String,
    pub port: u16,
    /// Path and query as given, percent-encoding bytes that cannot go on the wire as they
    /// are; empty when the URL has none (`http://host`), which the OCS convention of adding
    /// `/ocsinventory` needs to tell apart from `http://host/`.
    pub path: String,
}

// Debug without the password.
impl fmt::Debug for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Url({self})")
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, UrlError> {
    Err(UrlError(msg.into()))
}

impl Url {
    /// Parses an absolute `http://` or `https://` URL.
    pub fn parse(s: &str) -> Result<Url, UrlError> {
        let s = s.trim();
        if s.len() > MAX_URL_LEN {
            return err(format!("longer than {MAX_URL_LEN} bytes"));
        }
        let Some((scheme, rest)) = s.split_once("://") else {
            return err(format!(
                "no scheme in \"{}\" (expected http:// or https://)",
                redact(s)
            ));
        };
        let scheme = if scheme.eq_ignore_ascii_case("http") {
            Scheme::Http
        } else if scheme.eq_ignore_ascii_case("https") {
            Scheme::Https
        } else {
            return err(format!(
                "unsupported scheme \"{scheme}\" (only http and https)"
            ));
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(u) => match u.split_once(':') {
                Some((user, pass)) => (Some(percent_decode(user)), Some(percent_decode(pass))),
                None => (Some(percent_decode(u)), None),
            },
        };
        let (host, port) = split_host_port(hostport)?;
        let port = match port {
            None | Some("") => scheme.default_port(),
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => return err(format!("bad port \"{p}\"")),
            },
        };
        Ok(Url {
            scheme,
            user,
            password,
            host,
            port,
            path: percent_encode_path(path),
        })
    }

    /// The agents' reading of a server or proxy given on the command line: with no scheme,
    /// `host` or `host/path` means `http://host/path`.
    pub fn parse_default_http(s: &str) -> Result<Url, UrlError> {
        if s.contains("://") {
            Url::parse(s)
        } else {
            Url::parse(&format!("http://{}", s.trim()))
        }
    }

    /// The request-target in origin form: the path, `/` when there is none.
    pub fn target(&self) -> String {
        if self.path.starts_with('/') {
            self.path.clone()
        } else {
            format!("/{}", self.path)
        }
    }

    /// `host:port` with IPv6 brackets, what a socket connects to and errors name.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.bracketed_host(), self.port)
    }

    /// The Host header: the port only when it is not the scheme's default.
    pub fn host_header(&self) -> String {
        if self.port == self.scheme.default_port() {
            self.bracketed_host()
        } else {
            self.authority()
        }
    }

    fn bracketed_host(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }
}

/// `scheme://host[:port]/path`, without the userinfo.
impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}{}",
            self.scheme.as_str(),
            self.host_header(),
            self.target()
        )
    }
}

/// A URL string for an error message, without what might be a password.
fn redact(s: &str) -> &str {
    match s.rfind('@') {
        Some(at) => &s[at + 1..],
        None => s,
    }
}

fn split_host_port(s: &str) -> Result<(String, Option<&str>), UrlError> {
    let (host, port) = if let Some(v6) = s.strip_prefix('[') {
        let Some((addr, rest)) = v6.split_once(']') else {
            return err("unclosed [ in the host");
        };
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return err(format!("bad IPv6 address [{addr}]"));
        }
        let port = match rest {
            "" => None,
            r => Some(
                r.strip_prefix(':')
                    .ok_or(UrlError(format!("junk after [{addr}]")))?,
            ),
        };
        (addr, port)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return err("no host");
    }
    if !s.starts_with('[')
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    {
        return err(format!("bad host name \"{host}\""));
    }
    Ok((host.to_ascii_lowercase(), port))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).and_then(|&c| hex(c)),
            b.get(i + 2).and_then(|&c| hex(c)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes what may not appear raw in a request-target (spaces, controls, non-ASCII).
fn percent_encode_path(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if (0x21..=0x7e).contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Splits a `no_proxy` value (`a.example, .b.example 10.0.0.0/8`) into entries.
pub fn split_no_proxy(value: &str) -> Vec<String> {
    value
        .split([',', ' ', '\t'])
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect()
}

/// True when `host` (as in [`Url::host`]) must be reached directly. An entry is `*` (every
/// host), a domain (`example.com` and `.example.com` both match it and its subdomains, on
/// label boundaries), an IP address, or an IP network in CIDR form. Host names are not
/// resolved, so an IP entry only matches a URL that uses that address. A `:port` suffix on an
/// entry is ignored.
pub fn no_proxy_matches(entries: &[String], host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host_ip = host.parse::<IpAddr>().ok();
    entries.iter().any(|entry| {
        let e = entry.trim().to_ascii_lowercase();
        if e == "*" {
            return true;
        }
        if let Some(net) = parse_cidr(&e) {
            return host_ip.is_some_and(|ip| in_network(ip, net));
        }
        let e = strip_port(&e);
        if let Ok(ip) = e.parse::<IpAddr>() {
            return host_ip == Some(ip);
        }
        let domain = e.trim_start_matches("*.").trim_start_matches('.');
        let domain = domain.trim_end_matches('.');
        !domain.is_empty()
            && (host == domain
                || (host.ends_with(domain) && host[..host.len() - domain.len()].ends_with('.')))
    })
}

/// Removes `[…]` around an IPv6 entry and a `:port` suffix.
fn strip_port(e: &str) -> &str {
    if let Some(v6) = e.strip_prefix('[') {
        return v6.split(']').next().unwrap_or_default();
    }
    match e.split_once(':') {
        Some((h, p)) if !p.contains(':') => h,
        _ => e,
    }
}

/// `address/bits`, the address bracketed or not (also used by the daemon's trust list).
pub(crate) fn parse_cidr(e: &str) -> Option<(IpAddr, u8)> {
    let (addr, bits) = e.split_once('/')?;
    let addr: IpAddr = addr
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((addr, bits))
}

/// True when `ip` is in the network; an address of the other family never is.
pub(crate) fn in_network(ip: IpAddr, (net, bits): (IpAddr, u8)) -> bool {
    let (a, b, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let shift = width - u32::from(bits);
    shift >= 128 || (a >> shift) == (b >> shift)
}

#[cfg(test)]
mod tests;
