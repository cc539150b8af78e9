//! The command line of the SNMP inventory (`uagent netinventory`, the `uagent-netinventory`
//! launcher with glpi-netinventory's options, and `uagent task netinventory` as the agent
//! starts it), and the job a server's order gives.

use argh::FromArgs;

use super::job::{Device, Job, JobError, DEFAULT_TIMEOUT, MAX_THREADS, MAX_TIMEOUT};
use crate::snmp::credential::CredentialSpec as Credential;
use crate::snmp::Version;

#[derive(FromArgs, Debug, Default, Clone, PartialEq)]
/// Inventory network devices (switches, access points, printers, UPSes) over SNMP and print
/// them as the GLPI/FusionInventory SNMPQUERY messages.
#[argh(subcommand, name = "netinventory")]
pub struct Args {
    /// device to query (repeatable)
    #[argh(option)]
    pub host: Vec<String>,
    /// read the device's SNMP answers from this snmpwalk file instead of the network (repeatable)
    #[argh(option)]
    pub file: Vec<String>,
    /// SNMP community (SNMP v2c; default public)
    #[argh(option)]
    pub community: Option<String>,
    /// SNMP credentials as version:2c,community:NAME or version:3,username:U,authprotocol:sha,authpassword:P,privprotocol:aes,privpassword:Q
    #[argh(option)]
    pub credentials: Vec<String>,
    /// SNMP port (default 161)
    #[argh(option)]
    pub port: Option<u16>,
    /// SNMP timeout in seconds (default 15)
    #[argh(option)]
    pub timeout: Option<u64>,
    /// SNMP retries (default 0)
    #[argh(option)]
    pub retries: Option<u32>,
    /// the device's type (NETWORKING, PRINTER…) instead of the one found
    #[argh(option, long = "type")]
    pub kind: Option<String>,
    /// devices queried at once (default 1)
    #[argh(option)]
    pub threads: Option<usize>,
    /// also print the START and END messages
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
    /// OCS's SNMP job (`-`: standard input): the QUERY=SNMP message
    #[argh(option, hidden_help)]
    pub ocs_job: Option<String>,
    /// write the messages as frames for the agent
    #[argh(switch, hidden_help)]
    pub frames: bool,
}

impl Args {
    /// The arguments that parse back into these (after `uagent task netinventory`).
    pub fn to_argv(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut each = |name: &str, values: &[String]| {
            for v in values {
                out.push(format!("--{name}"));
                out.push(v.clone());
            }
        };
        let one = |v: Option<String>| v.into_iter().collect::<Vec<_>>();
        each("host", &self.host);
        each("file", &self.file);
        each("community", self.community.as_slice());
        each("credentials", &self.credentials);
        each("port", &one(self.port.map(|v| v.to_string())));
        each("timeout", &one(self.timeout.map(|v| v.to_string())));
        each("retries", &one(self.retries.map(|v| v.to_string())));
        each("type", self.kind.as_slice());
        each("threads", &one(self.threads.map(|v| v.to_string())));
        each("output", self.output.as_slice());
        each("sysobject-ids", self.sysobject_ids.as_slice());
        each("pid", self.pid.as_slice());
        each("deviceid", self.deviceid.as_slice());
        each("job", self.job.as_slice());
        each("ocs-job", self.ocs_job.as_slice());
        for (on, name) in [
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

    /// The job's text, when the arguments carry it.
    pub fn job_text(&self) -> Option<&str> {
        self.job.as_deref().filter(|j| *j != "-")
    }

    /// The task for a server's OPTION SNMPQUERY; `None` (with the reason logged) when the job
    /// cannot be done.
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
                log::error!("SNMPQUERY: {e}; nothing queried");
                None
            }
        }
    }

    /// The task for an OCS server's OPTION SNMP (§D.2); `None` (with the reason logged) when
    /// the option gives nothing to do.
    #[cfg(feature = "client")]
    pub fn from_ocs_prolog(option: &crate::protocol::messages::OptionBlock) -> Option<Args> {
        match super::ocs::OcsJob::from_prolog(option) {
            Ok(job) if job.addresses.is_empty() => {
                log::info!("SNMP: the server names no network nor device; nothing scanned");
                None
            }
            Ok(job) => Some(Args {
                ocs_job: Some(job.to_text()),
                frames: true,
                ..Args::default()
            }),
            Err(e) => {
                log::error!("SNMP: {e}; nothing scanned");
                None
            }
        }
    }

    /// The job these options describe (the launcher's way).
    pub fn job_from_options(&self) -> Result<Job, JobError> {
        let mut job = Job {
            pid: self.pid.clone().unwrap_or_else(|| std::process::id().to_string()),
            timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT).clamp(1, MAX_TIMEOUT),
            retries: self.retries.unwrap_or(0).min(5),
            threads: self.threads.unwrap_or(1).clamp(1, MAX_THREADS),
            ..Job::default()
        };
        for h in &self.host {
            job.devices.push(Device {
                id: "0".into(),
                ip: h.clone(),
                kind: self.kind.clone(),
                port: self.port,
                ..Device::default()
            });
        }
        for f in &self.file {
            job.devices.push(Device {
                id: "0".into(),
                ip: self.host.first().cloned().unwrap_or_else(|| "1.1.1.1".into()),
                kind: self.kind.clone(),
                file: Some(f.clone()),
                ..Device::default()
            });
        }
        if !self.file.is_empty() {
            job.devices.retain(|d| d.file.is_some());
        }
        if job.devices.is_empty() {
            return Err(JobError("no host nor file given".into()));
        }
        for (i, text) in self.credentials.iter().enumerate() {
            job.credentials
                .push(Credential::from_cli(text, i + 1).map_err(JobError)?);
        }
        if job.credentials.is_empty() {
            job.credentials.push(Credential {
                id: "1".into(),
                version: Version::V2c,
                community: self.community.clone().unwrap_or_else(|| "public".into()),
                ..Credential::default()
            });
        }
        job.check()?;
        Ok(job)
    }
}
