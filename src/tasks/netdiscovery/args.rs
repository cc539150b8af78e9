//! The command line of the discovery (`uagent netdiscovery`, the `uagent-netdiscovery`
//! launcher with glpi-netdiscovery's options, and `uagent task netdiscovery` as the agent
//! starts it), and the job a server's order gives.

use argh::FromArgs;

use super::job::{
    self, parse_ipv4, parse_ports, Credential, Job, JobError, Range, MAX_RETRIES, MAX_THREADS,
    MAX_TIMEOUT,
};
use crate::snmp::Version;

#[derive(FromArgs, Debug, Default, Clone, PartialEq)]
/// Find the devices of an IPv4 range (SNMP, NetBIOS, ICMP echo, the neighbour table) and print
/// them as the GLPI/FusionInventory NETDISCOVERY messages.
#[argh(subcommand, name = "netdiscovery")]
pub struct Args {
    /// first address of the range
    #[argh(option)]
    pub first: Option<String>,
    /// last address of the range (default: --first)
    #[argh(option)]
    pub last: Option<String>,
    /// one address to scan (same as --first ADDR alone)
    #[argh(option)]
    pub host: Option<String>,
    /// read the device's SNMP answers from this snmpwalk file instead of the network (the IP is --host, else 1.1.1.1)
    #[argh(option)]
    pub file: Option<String>,
    /// SNMP community (repeatable; SNMP v1 unless --v2c, both with --v1 --v2c; default public)
    #[argh(option)]
    pub community: Vec<String>,
    /// SNMP credentials as version:2c,community:NAME[,port:N] or version:3,username:U,authprotocol:sha,authpassword:P,privprotocol:aes,privpassword:Q (repeatable)
    #[argh(option)]
    pub credentials: Vec<String>,
    /// use SNMP v1 for --community
    #[argh(switch)]
    pub v1: bool,
    /// use SNMP v2c for --community
    #[argh(switch)]
    pub v2c: bool,
    /// SNMP port(s), comma-separated (default 161)
    #[argh(option)]
    pub port: Vec<String>,
    /// SNMP timeout in seconds (default 1)
    #[argh(option)]
    pub timeout: Option<u64>,
    /// SNMP retries (default 0)
    #[argh(option)]
    pub retries: Option<u32>,
    /// addresses scanned at once (default 20)
    #[argh(option)]
    pub threads: Option<usize>,
    /// the ENTITY given to every device found
    #[argh(option)]
    pub entity: Option<String>,
    /// also print the START, NBIP and END messages
    #[argh(switch)]
    pub control: bool,
    /// write the messages to FILE, or into DIR one file each, instead of stdout
    #[argh(option, short = 'o')]
    pub output: Option<String>,
    /// GLPI's sysobject.ids (default: the GLPI or FusionInventory agent's copy, if installed)
    #[argh(option)]
    pub sysobject_ids: Option<String>,
    /// PROCESSNUMBER of the messages (default: this process's id)
    #[argh(option)]
    pub pid: Option<String>,
    /// more log lines
    #[argh(switch)]
    pub debug: bool,
    /// the DEVICEID of the messages (the agent gives its own)
    #[argh(option, hidden_help)]
    pub deviceid: Option<String>,
    /// the job, `-` for standard input (the agent's way: credentials stay off the command line)
    #[argh(option, hidden_help)]
    pub job: Option<String>,
    /// write the messages as frames for the agent
    #[argh(switch, hidden_help)]
    pub frames: bool,
}

impl Args {
    /// The arguments that parse back into these (after `uagent task netdiscovery`). The job's
    /// text is one of them: the agent hands a task its arguments on its standard input, so the
    /// communities it holds are on no command line.
    pub fn to_argv(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut each = |name: &str, values: &[String]| {
            for v in values {
                out.push(format!("--{name}"));
                out.push(v.clone());
            }
        };
        let num = |v: Option<String>| v.into_iter().collect::<Vec<_>>();
        each("first", self.first.as_slice());
        each("last", self.last.as_slice());
        each("host", self.host.as_slice());
        each("file", self.file.as_slice());
        each("community", &self.community);
        each("credentials", &self.credentials);
        each("port", &self.port);
        each("timeout", &num(self.timeout.map(|v| v.to_string())));
        each("retries", &num(self.retries.map(|v| v.to_string())));
        each("threads", &num(self.threads.map(|v| v.to_string())));
        each("entity", self.entity.as_slice());
        each("output", self.output.as_slice());
        each("sysobject-ids", self.sysobject_ids.as_slice());
        each("pid", self.pid.as_slice());
        each("deviceid", self.deviceid.as_slice());
        each("job", self.job.as_slice());
        for (on, name) in [
            (self.v1, "--v1"),
            (self.v2c, "--v2c"),
            (self.control, "--control"),
            (self.debug, "--debug"),
            (self.frames, "--frames"),
        ] {
            if on {
                out.push(name.into());
            }
        }
        out
    }

    /// The job's text, when the arguments carry it (not `-`, standard input).
    pub fn job_text(&self) -> Option<&str> {
        self.job.as_deref().filter(|j| *j != "-")
    }

    /// The task for a server's OPTION NETDISCOVERY; `None` (with the reason logged) when the
    /// job cannot be done: nothing is scanned then.
    #[cfg(feature = "client")]
    pub fn from_prolog(option: &crate::protocol::messages::OptionBlock) -> Option<Args> {
        match Job::from_prolog(option) {
            Ok(job) => Some(Args {
                job: Some(job.to_text()),
                frames: true,
                control: true,
                ..Args::default()
            }),
            Err(e) => {
                log::error!("NETDISCOVERY: {e}; nothing scanned");
                None
            }
        }
    }

    /// The job these options describe (the launcher's way).
    pub fn job_from_options(&self) -> Result<Job, JobError> {
        let first = self.first.as_deref().or(self.host.as_deref());
        let first = match (first, &self.file) {
            (Some(f), _) => parse_ipv4("--first", f)?,
            (None, Some(_)) => std::net::Ipv4Addr::new(1, 1, 1, 1),
            (None, None) => return Err(JobError("no first or host address".into())),
        };
        let last = match (&self.last, &self.host) {
            (Some(l), _) => parse_ipv4("--last", l)?,
            _ => first,
        };
        let mut ports = Vec::new();
        for p in &self.port {
            ports.extend(parse_ports(p)?);
        }
        let mut job = Job {
            pid: self
                .pid
                .clone()
                .unwrap_or_else(|| std::process::id().to_string()),
            threads: self.threads.unwrap_or(job::DEFAULT_THREADS).clamp(1, MAX_THREADS),
            timeout: self.timeout.unwrap_or(1).clamp(1, MAX_TIMEOUT),
            retries: self.retries.unwrap_or(0).min(MAX_RETRIES),
            ranges: vec![Range {
                id: "1".into(),
                start: first,
                end: last,
                entity: self.entity.clone(),
                ports,
            }],
            credentials: Vec::new(),
        };
        let versions: Vec<Version> = match (self.v1, self.v2c) {
            (true, true) => vec![Version::V1, Version::V2c],
            (false, true) => vec![Version::V2c],
            _ => vec![Version::V1],
        };
        for c in &self.community {
            for v in &versions {
                job.credentials.push(Credential {
                    id: (job.credentials.len() + 1).to_string(),
                    version: *v,
                    community: c.clone(),
                    ..Credential::default()
                });
            }
        }
        for text in &self.credentials {
            job.credentials
                .push(parse_credentials(text, job.credentials.len() + 1)?);
        }
        if job.credentials.is_empty() {
            job.credentials.push(Credential {
                id: "1".into(),
                version: Version::V1,
                community: "public".into(),
                ..Credential::default()
            });
        }
        job.check()?;
        Ok(job)
    }
}

/// `version:2c,community:public,port:1161` or `version:3,username:u,…` (glpi-netdiscovery's
/// --credentials).
fn parse_credentials(text: &str, n: usize) -> Result<Credential, JobError> {
    Credential::from_cli(text, n).map_err(JobError)
}
