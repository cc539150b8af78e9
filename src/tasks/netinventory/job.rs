//! An SNMP inventory job: the devices to query, the credentials, how long to wait. It comes
//! from a GLPI/FusionInventory server's PROLOG option SNMPQUERY (§B.1), from OCS's option SNMP
//! (§D.2, see [`super::ocs`]), or from the launcher's options; the agent hands it to the task
//! on its standard input in the text of [`Job::to_text`], so credentials reach no command line.

use std::fmt;

use crate::snmp::credential::CredentialSpec as Credential;
use crate::tasks::jobtext;

/// Most devices of one job, and credentials.
pub const MAX_DEVICES: usize = 4096;
pub const MAX_CREDENTIALS: usize = 64;
/// Devices queried at once, at most.
pub const MAX_THREADS: usize = 32;
/// Longest SNMP timeout (seconds); a missing or 0 TIMEOUT means 15 s (the plugin's intent).
pub const MAX_TIMEOUT: u64 = 60;
pub const DEFAULT_TIMEOUT: u64 = 15;
/// Longest job text read on standard input.
pub const MAX_JOB_TEXT: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Device {
    /// The server's id of the device (INFO/ID), 0 by hand.
    pub id: String,
    pub ip: String,
    /// NETWORKING, PRINTER… as the server knows it (wins over our typing).
    pub kind: Option<String>,
    /// The id of the credential to use; empty: the first.
    pub auth: String,
    pub port: Option<u16>,
    /// A recorded walk to read instead of the network.
    pub file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub pid: String,
    pub timeout: u64,
    pub retries: u32,
    pub threads: usize,
    pub devices: Vec<Device>,
    pub credentials: Vec<Credential>,
}

impl Default for Job {
    fn default() -> Self {
        Job {
            pid: String::new(),
            timeout: DEFAULT_TIMEOUT,
            retries: 0,
            threads: 1,
            devices: Vec::new(),
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

fn port(v: &str) -> Result<Option<u16>, JobError> {
    match v.split(',').map(str::trim).find(|p| !p.is_empty()) {
        None => Ok(None),
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .map(Some)
            .ok_or_else(|| JobError(format!("port {p:?} is not a number from 1 to 65535"))),
    }
}

impl Job {
    pub fn check(&self) -> Result<(), JobError> {
        if self.devices.is_empty() {
            return err("no device to query");
        }
        if self.devices.len() > MAX_DEVICES {
            return err(format!("more than {MAX_DEVICES} devices"));
        }
        if self.credentials.len() > MAX_CREDENTIALS {
            return err(format!("more than {MAX_CREDENTIALS} credentials"));
        }
        for d in &self.devices {
            if d.file.is_none() && d.ip.parse::<std::net::IpAddr>().is_err() {
                return err(format!("device {}: {:?} is not an IP address", d.id, d.ip));
            }
        }
        Ok(())
    }

    /// The credential of a device: the one its AUTHSNMP_ID names, else the first.
    pub fn credential_of(&self, d: &Device) -> Option<&Credential> {
        self.credentials
            .iter()
            .find(|c| !d.auth.is_empty() && c.id == d.auth)
            .or_else(|| self.credentials.first())
    }

    /// The job of a PROLOG option SNMPQUERY (§B.1): refused whole when it has no PID, no
    /// device, or a malformed one.
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
        if let Some(t) = param.attr("THREADS_QUERY") {
            job.threads = t.trim().parse::<usize>().unwrap_or(1).clamp(1, MAX_THREADS);
        }
        // A missing or 0 TIMEOUT is the plugin's 15 s, not the Perl agents' 60 s.
        if let Some(t) = param.attr("TIMEOUT") {
            let t: u64 = t
                .trim()
                .parse()
                .map_err(|_| JobError(format!("TIMEOUT {t:?} is not a number")))?;
            job.timeout = if t == 0 { DEFAULT_TIMEOUT } else { t.min(MAX_TIMEOUT) };
        }
        for d in named("DEVICE") {
            if job.devices.len() == MAX_DEVICES {
                return err(format!("more than {MAX_DEVICES} DEVICE"));
            }
            let Some(ip) = d.attr("IP") else {
                return err("a DEVICE without IP");
            };
            job.devices.push(Device {
                id: d.attr("ID").unwrap_or("0").to_string(),
                ip: ip.trim().to_string(),
                kind: d.attr("TYPE").map(str::to_string).filter(|t| !t.is_empty()),
                auth: d.attr("AUTHSNMP_ID").unwrap_or("").to_string(),
                port: port(d.attr("PORT").unwrap_or(""))?,
                file: None,
            });
        }
        for a in named("AUTHENTICATION") {
            if a.attr("TYPE").is_some_and(|t| !t.eq_ignore_ascii_case("snmp")) {
                continue;
            }
            if job.credentials.len() == MAX_CREDENTIALS {
                return err(format!("more than {MAX_CREDENTIALS} credentials"));
            }
            let c = Credential::from_attrs(
                a.attrs
                    .iter()
                    .filter(|(k, _)| !k.eq_ignore_ascii_case("TYPE") && !k.eq_ignore_ascii_case("PROTOCOL"))
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .map_err(JobError)?;
            job.credentials.push(c);
        }
        if job.credentials.is_empty() {
            return err("no AUTHENTICATION");
        }
        job.check()?;
        Ok(job)
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        jobtext::line(
            &mut out,
            "job",
            &[
                ("pid", self.pid.clone()),
                ("timeout", self.timeout.to_string()),
                ("retries", self.retries.to_string()),
                ("threads", self.threads.to_string()),
            ],
        );
        for d in &self.devices {
            let mut pairs = vec![("id", d.id.clone()), ("ip", d.ip.clone()), ("auth", d.auth.clone())];
            if let Some(k) = &d.kind {
                pairs.push(("type", k.clone()));
            }
            if let Some(p) = d.port {
                pairs.push(("port", p.to_string()));
            }
            if let Some(f) = &d.file {
                pairs.push(("file", f.clone()));
            }
            jobtext::line(&mut out, "device", &pairs);
        }
        for c in &self.credentials {
            jobtext::line(&mut out, "auth", &c.pairs());
        }
        out
    }

    pub fn from_text(text: &str) -> Result<Job, JobError> {
        if text.len() > MAX_JOB_TEXT {
            return err(format!("a job text longer than {MAX_JOB_TEXT} bytes"));
        }
        let mut job = Job::default();
        let mut seen = false;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (kind, pairs) = jobtext::parse_line(line).map_err(JobError)?;
            let get = |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
            let number = |k: &str| -> Result<u64, JobError> {
                get(k)
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| JobError(format!("job text: {kind} {k} is not a number")))
            };
            match kind {
                "job" => {
                    seen = true;
                    job.pid = get("pid").unwrap_or_default();
                    job.timeout = number("timeout")?.clamp(1, MAX_TIMEOUT);
                    job.retries = (number("retries")? as u32).min(5);
                    job.threads = (number("threads")? as usize).clamp(1, MAX_THREADS);
                }
                "device" => {
                    if job.devices.len() == MAX_DEVICES {
                        return err(format!("more than {MAX_DEVICES} devices"));
                    }
                    job.devices.push(Device {
                        id: get("id").unwrap_or_default(),
                        ip: get("ip").unwrap_or_default(),
                        auth: get("auth").unwrap_or_default(),
                        kind: get("type"),
                        port: port(&get("port").unwrap_or_default())?,
                        file: get("file"),
                    });
                }
                "auth" => {
                    if job.credentials.len() == MAX_CREDENTIALS {
                        return err(format!("more than {MAX_CREDENTIALS} credentials"));
                    }
                    let mut c = Credential::default();
                    for (k, v) in &pairs {
                        if !c.set(k, v).map_err(JobError)? {
                            return err(format!("job text: unknown key {k:?}"));
                        }
                    }
                    c.check().map_err(JobError)?;
                    job.credentials.push(c);
                }
                other => return err(format!("job text: unknown line {:?}", other.get(..32).unwrap_or(other))),
            }
        }
        if !seen {
            return err("job text: no job line");
        }
        job.check()?;
        Ok(job)
    }
}
