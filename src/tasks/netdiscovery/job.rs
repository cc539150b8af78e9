//! A discovery job: the ranges to scan, the SNMP credentials to try and how hard to try.
//! It comes from a server's PROLOG option NETDISCOVERY (checked here: a job that cannot be
//! done is refused whole, with the reason), or from the launcher's options. The agent hands
//! it to the task process on its standard input in the text form of [`Job::to_text`]: the
//! community strings never go on a command line.

use std::fmt;
use std::net::Ipv4Addr;


/// Most addresses one job scans (a /16); a larger range is refused, not cut.
pub const MAX_JOB_ADDRESSES: u64 = 65_536;
/// Most ranges and credentials of one job.
pub const MAX_RANGES: usize = 256;
pub const MAX_CREDENTIALS: usize = 64;
/// Most ports tried per credential.
pub const MAX_PORTS: usize = 8;
/// Most addresses in flight at once, and the default.
pub const MAX_THREADS: usize = 256;
pub const DEFAULT_THREADS: usize = 20;
/// Longest SNMP timeout accepted (seconds); a missing or 0 TIMEOUT means 1 s.
pub const MAX_TIMEOUT: u64 = 60;
pub const MAX_RETRIES: u32 = 5;
/// Longest job text read on standard input.
pub const MAX_JOB_TEXT: usize = 256 * 1024;
/// The SNMP port when none is given.
pub const SNMP_PORT: u16 = 161;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub id: String,
    pub start: Ipv4Addr,
    pub end: Ipv4Addr,
    pub entity: Option<String>,
    /// SNMP ports for this range (empty: 161).
    pub ports: Vec<u16>,
}

impl Range {
    pub fn len(&self) -> u64 {
        u64::from(u32::from(self.end)) - u64::from(u32::from(self.start)) + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn addresses(&self) -> impl Iterator<Item = Ipv4Addr> {
        (u32::from(self.start)..=u32::from(self.end)).map(Ipv4Addr::from)
    }
}

/// A credential of the job: the SNMP client's shared form (v1/v2c communities, v3 users).
pub use crate::snmp::credential::CredentialSpec as Credential;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// PROCESSNUMBER of every message (the server's PID of the job).
    pub pid: String,
    pub threads: usize,
    pub timeout: u64,
    pub retries: u32,
    pub ranges: Vec<Range>,
    pub credentials: Vec<Credential>,
}

impl Default for Job {
    fn default() -> Self {
        Job {
            pid: String::new(),
            threads: DEFAULT_THREADS,
            timeout: 1,
            retries: 0,
            ranges: Vec::new(),
            credentials: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError(pub String);

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(s: impl Into<String>) -> Result<T, JobError> {
    Err(JobError(s.into()))
}

pub fn parse_ipv4(what: &str, s: &str) -> Result<Ipv4Addr, JobError> {
    s.trim()
        .parse()
        .map_err(|_| JobError(format!("{what} {:?} is not an IPv4 address", cut(s))))
}

fn cut(s: &str) -> &str {
    let mut end = s.len().min(64);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `161,1161` → ports.
pub fn parse_ports(s: &str) -> Result<Vec<u16>, JobError> {
    let mut out = Vec::new();
    for p in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let port: u16 = p
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| JobError(format!("port {:?} is not a number from 1 to 65535", cut(p))))?;
        if out.len() == MAX_PORTS {
            return err(format!("more than {MAX_PORTS} ports"));
        }
        out.push(port);
    }
    Ok(out)
}

impl Job {
    /// Addresses of every range.
    pub fn address_count(&self) -> u64 {
        self.ranges.iter().map(Range::len).sum()
    }

    /// The checks every job passes, from a server or by hand.
    pub fn check(&self) -> Result<(), JobError> {
        if self.ranges.is_empty() {
            return err("no range to scan (RANGEIP with IPSTART and IPEND)");
        }
        if self.ranges.len() > MAX_RANGES {
            return err(format!("more than {MAX_RANGES} ranges"));
        }
        if self.credentials.len() > MAX_CREDENTIALS {
            return err(format!("more than {MAX_CREDENTIALS} credentials"));
        }
        for r in &self.ranges {
            if r.start > r.end {
                return err(format!("range {} goes backwards ({} > {})", r.id, r.start, r.end));
            }
            if r.len() > MAX_JOB_ADDRESSES {
                return err(format!(
                    "range {} ({} - {}) has {} addresses, more than the {MAX_JOB_ADDRESSES} (a /16) one job may scan",
                    r.id, r.start, r.end, r.len()
                ));
            }
        }
        if self.address_count() > MAX_JOB_ADDRESSES {
            return err(format!(
                "the ranges hold {} addresses, more than the {MAX_JOB_ADDRESSES} (a /16) one job may scan",
                self.address_count()
            ));
        }
        Ok(())
    }

    /// The job of a PROLOG option NETDISCOVERY (§A.1): refused whole when it has no PID, no
    /// valid range, a range that goes backwards or is too large, or a malformed credential.
    #[cfg(feature = "client")]
    pub fn from_prolog(option: &crate::protocol::messages::OptionBlock) -> Result<Job, JobError> {
        let named = |n: &'static str| {
            option
                .params
                .iter()
                .filter(move |p| p.name.eq_ignore_ascii_case(n))
        };
        let param = named("PARAM")
            .next()
            .ok_or_else(|| JobError("no PARAM".into()))?;
        let mut job = Job {
            pid: param
                .attr("PID")
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .ok_or_else(|| JobError("no PID in PARAM".into()))?
                .to_string(),
            ..Job::default()
        };
        if let Some(t) = param.attr("THREADS_DISCOVERY") {
            job.threads = t
                .trim()
                .parse::<usize>()
                .map_err(|_| JobError(format!("THREADS_DISCOVERY {:?} is not a number", cut(t))))?
                .clamp(1, MAX_THREADS);
        }
        // A missing or 0 TIMEOUT is the plugin's 1 s, not the Perl agents' 60 s.
        if let Some(t) = param.attr("TIMEOUT") {
            let t: u64 = t
                .trim()
                .parse()
                .map_err(|_| JobError(format!("TIMEOUT {:?} is not a number", cut(t))))?;
            job.timeout = t.clamp(1, MAX_TIMEOUT);
        }
        for r in named("RANGEIP") {
            let (Some(s), Some(e)) = (r.attr("IPSTART"), r.attr("IPEND")) else {
                return err("a RANGEIP without IPSTART and IPEND");
            };
            if job.ranges.len() == MAX_RANGES {
                return err(format!("more than {MAX_RANGES} RANGEIP"));
            }
            job.ranges.push(Range {
                id: r.attr("ID").unwrap_or("").to_string(),
                start: parse_ipv4("IPSTART", s)?,
                end: parse_ipv4("IPEND", e)?,
                entity: r.attr("ENTITY").map(str::to_string),
                ports: parse_ports(r.attr("PORT").unwrap_or(""))?,
            });
        }
        for a in named("AUTHENTICATION") {
            let id = a.attr("ID").unwrap_or("").to_string();
            if a.attr("TYPE").is_some_and(|t| !t.eq_ignore_ascii_case("snmp")) {
                log::info!("NETDISCOVERY: credential {id} is a remote one (ESX, ssh, WinRM), not for discovery: skipped");
                continue;
            }
            let mut c = Credential::from_attrs(a.attrs.iter().filter(|(k, _)| {
                !k.eq_ignore_ascii_case("TYPE") && !k.eq_ignore_ascii_case("PROTOCOL")
            }).map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(JobError)?;
            if c.id.is_empty() {
                c.id = id;
            }
            if job.credentials.len() == MAX_CREDENTIALS {
                return err(format!("more than {MAX_CREDENTIALS} credentials"));
            }
            job.credentials.push(c);
        }
        job.check()?;
        Ok(job)
    }

    /// The job as text for the task's standard input: one line per part, `key=value` pairs
    /// separated by `&`, values percent-encoded.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let line = |out: &mut String, kind: &str, pairs: &[(&str, String)]| {
            out.push_str(kind);
            for (i, (k, v)) in pairs.iter().enumerate() {
                out.push(if i == 0 { ' ' } else { '&' });
                out.push_str(k);
                out.push('=');
                out.push_str(&crate::tasks::jobtext::encode(v));
            }
            out.push('\n');
        };
        line(
            &mut out,
            "job",
            &[
                ("pid", self.pid.clone()),
                ("threads", self.threads.to_string()),
                ("timeout", self.timeout.to_string()),
                ("retries", self.retries.to_string()),
            ],
        );
        let ports = |p: &[u16]| p.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
        for r in &self.ranges {
            let mut pairs = vec![
                ("id", r.id.clone()),
                ("start", r.start.to_string()),
                ("end", r.end.to_string()),
                ("ports", ports(&r.ports)),
            ];
            if let Some(e) = &r.entity {
                pairs.push(("entity", e.clone()));
            }
            line(&mut out, "range", &pairs);
        }
        for c in &self.credentials {
            line(&mut out, "auth", &c.pairs());
        }
        out
    }

    /// Reads [`Job::to_text`] back, and checks the job.
    pub fn from_text(text: &str) -> Result<Job, JobError> {
        if text.len() > MAX_JOB_TEXT {
            return err(format!("a job text longer than {MAX_JOB_TEXT} bytes"));
        }
        let mut job = Job::default();
        let mut seen_job = false;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
            let mut pairs = Vec::new();
            for p in rest.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                pairs.push((k, crate::tasks::jobtext::decode(v).map_err(JobError)?));
            }
            let get = |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
            let need = |k: &str| get(k).ok_or_else(|| JobError(format!("job text: {kind} without {k}")));
            let number = |k: &str| -> Result<u64, JobError> {
                need(k)?
                    .parse()
                    .map_err(|_| JobError(format!("job text: {kind} {k} is not a number")))
            };
            match kind {
                "job" => {
                    seen_job = true;
                    job.pid = need("pid")?.to_string();
                    job.threads = (number("threads")? as usize).clamp(1, MAX_THREADS);
                    job.timeout = number("timeout")?.clamp(1, MAX_TIMEOUT);
                    job.retries = (number("retries")? as u32).min(MAX_RETRIES);
                }
                "range" => {
                    if job.ranges.len() == MAX_RANGES {
                        return err(format!("more than {MAX_RANGES} ranges"));
                    }
                    job.ranges.push(Range {
                        id: need("id")?.to_string(),
                        start: parse_ipv4("start", need("start")?)?,
                        end: parse_ipv4("end", need("end")?)?,
                        entity: get("entity").map(str::to_string),
                        ports: parse_ports(get("ports").unwrap_or(""))?,
                    })
                }
                "auth" => {
                    if job.credentials.len() == MAX_CREDENTIALS {
                        return err(format!("more than {MAX_CREDENTIALS} credentials"));
                    }
                    let mut c = Credential::default();
                    for (k, v) in &pairs {
                        if !c.set(k, v).map_err(|e| JobError(format!("job text: {e}")))? {
                            return err(format!("job text: unknown key {:?}", cut(k)));
                        }
                    }
                    c.check().map_err(JobError)?;
                    job.credentials.push(c);
                }
                other => return err(format!("job text: unknown line {:?}", cut(other))),
            }
        }
        if !seen_job {
            return err("job text: no job line");
        }
        job.check()?;
        Ok(job)
    }
}
