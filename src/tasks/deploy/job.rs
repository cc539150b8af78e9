//! The job the agent hands a deploy task process on its standard input (never on its command
//! line, where every user of the machine could read the server's password): which family, the
//! server target that ordered it, the DEVICEID, the PROLOG option's parameters (OCS), and the
//! agent's settings (connection, TLS, proxy, deployment policy), as the configuration file
//! spells them.
//!
//! ```text
//! uagent-deploy-job 1
//! family ocs
//! server http://ocs.example.org/ocsinventory
//! deviceid box-2026-01-01-00-00-00
//! max-delay 86400
//! param TYPE=CONF ON=1 FRAG_LATENCY=10
//! param TYPE=PACK ID=1764620001 INFO_LOC=ocs.example.org/download …
//! settings
//! deploy = "ocs"
//! …
//! ```
//! Values in `param` lines are percent-encoded (`%20` for a space, `%25`, `%3D`…).

use std::fmt;
use std::fmt::Write as _;

use crate::config::Settings;

/// Largest job read on standard input.
pub const MAX_JOB_BYTES: usize = 512 * 1024;
/// Most `param` lines (one per OCS package, plus CONF).
pub const MAX_PARAMS: usize = 256;
/// Most attributes on one `param` line.
pub const MAX_ATTRIBUTES: usize = 64;
const MAGIC: &str = "uagent-deploy-job 1";

/// Which server family a job is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// OCS Inventory's DOWNLOAD option.
    Ocs,
    /// GLPI (glpiinventory) and FusionInventory deploy jobs.
    Glpi,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::Ocs => "ocs",
            Family::Glpi => "glpi",
        }
    }

    pub fn from_name(s: &str) -> Option<Family> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ocs" => Some(Family::Ocs),
            "glpi" => Some(Family::Glpi),
            _ => None,
        }
    }
}

/// One PARAM of an option: its attributes in order.
pub type Params = Vec<(String, String)>;

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub family: Family,
    /// The server target as given to `--server`.
    pub server: String,
    pub deviceid: String,
    /// The target's period in seconds (how long GLPI parts are kept).
    pub max_delay: u64,
    /// OCS: the DOWNLOAD option's PARAMs.
    pub params: Vec<Params>,
    pub settings: Settings,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobError(pub String);

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "bad deploy job: {}", self.0)
    }
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_graphic() && b != b'%' && b != b'=' {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn decode(s: &str) -> Result<String, JobError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| JobError("bad %-escape in a param".into()))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| JobError("a param is not UTF-8".into()))
}

fn one_word(what: &str, v: &str) -> Result<(), JobError> {
    if v.is_empty() || v.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(JobError(format!("bad {what}")));
    }
    Ok(())
}

impl Job {
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{MAGIC}\nfamily {}\nserver {}\ndeviceid {}\nmax-delay {}\n",
            self.family.name(),
            self.server,
            self.deviceid,
            self.max_delay
        );
        for p in &self.params {
            out.push_str("param");
            for (k, v) in p {
                let _ = write!(out, " {}={}", encode(k), encode(v));
            }
            out.push('\n');
        }
        out.push_str("settings\n");
        out.push_str(&self.settings.to_text());
        out
    }

    pub fn from_text(text: &str) -> Result<Job, JobError> {
        if text.len() > MAX_JOB_BYTES {
            return Err(JobError(format!("longer than {MAX_JOB_BYTES} bytes")));
        }
        let mut lines = text.split('\n');
        if lines.next().map(str::trim_end) != Some(MAGIC) {
            return Err(JobError("not a uagent deploy job".into()));
        }
        let mut family = None;
        let mut server = None;
        let mut deviceid = None;
        let mut max_delay = 0;
        let mut params = Vec::new();
        let mut settings_at = None;
        let mut offset = MAGIC.len() + 1;
        for line in lines.by_ref() {
            offset += line.len() + 1;
            let line = line.trim_end_matches('\r');
            let (key, value) = line.split_once(' ').unwrap_or((line, ""));
            match key {
                "family" => {
                    family = Some(
                        Family::from_name(value)
                            .ok_or_else(|| JobError(format!("unknown family {value:?}")))?,
                    )
                }
                "server" => {
                    one_word("server", value)?;
                    server = Some(value.to_string());
                }
                "deviceid" => {
                    one_word("deviceid", value)?;
                    deviceid = Some(value.to_string());
                }
                "max-delay" => {
                    max_delay = value
                        .parse()
                        .map_err(|_| JobError("bad max-delay".into()))?
                }
                "param" => {
                    if params.len() == MAX_PARAMS {
                        return Err(JobError(format!("more than {MAX_PARAMS} params")));
                    }
                    let mut attrs = Vec::new();
                    for pair in value.split(' ').filter(|p| !p.is_empty()) {
                        if attrs.len() == MAX_ATTRIBUTES {
                            return Err(JobError(format!(
                                "more than {MAX_ATTRIBUTES} attributes in a param"
                            )));
                        }
                        let (k, v) = pair
                            .split_once('=')
                            .ok_or_else(|| JobError("a param attribute without =".into()))?;
                        attrs.push((decode(k)?, decode(v)?));
                    }
                    params.push(attrs);
                }
                "settings" => {
                    settings_at = Some(offset.min(text.len()));
                    break;
                }
                "" => {}
                other => return Err(JobError(format!("unknown line {other:?}"))),
            }
        }
        let at = settings_at.ok_or_else(|| JobError("no settings".into()))?;
        let mut settings = Settings::default();
        settings
            .load_text(&text[at..], "the job's settings")
            .map_err(JobError)?;
        Ok(Job {
            family: family.ok_or_else(|| JobError("no family".into()))?,
            server: server.ok_or_else(|| JobError("no server".into()))?,
            deviceid: deviceid.ok_or_else(|| JobError("no deviceid".into()))?,
            max_delay,
            params,
            settings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_round_trips_through_its_text() {
        let mut settings = Settings::default();
        settings.set("deploy", "ocs,glpi").unwrap();
        settings.set("password", "p a=s%s\"w").unwrap();
        settings.set("ca-cert-file", "/etc/ssl/ca one.pem").unwrap();
        let job = Job {
            family: Family::Ocs,
            server: "http://127.0.0.1/ocsinventory".into(),
            deviceid: "box-2026-01-01-00-00-00".into(),
            max_delay: 86_400,
            params: vec![
                vec![("TYPE".into(), "CONF".into()), ("ON".into(), "1".into())],
                vec![
                    ("TYPE".into(), "PACK".into()),
                    ("ID".into(), "1764620001".into()),
                    ("COMMENT".into(), "a b=c%d\né".into()),
                    ("EMPTY".into(), "".into()),
                ],
            ],
            settings,
        };
        let back = Job::from_text(&job.to_text()).unwrap();
        assert_eq!(back, job);
    }

    #[test]
    fn bad_jobs_are_refused_with_a_reason() {
        for bad in [
            "",
            "hello\n",
            "uagent-deploy-job 1\nfamily ftp\nsettings\n",
            "uagent-deploy-job 1\nfamily ocs\nserver a b\nsettings\n",
            "uagent-deploy-job 1\nfamily ocs\nserver s\ndeviceid d\nparam A\nsettings\n",
            "uagent-deploy-job 1\nfamily ocs\nserver s\ndeviceid d\nparam A=%zz\nsettings\n",
            "uagent-deploy-job 1\nfamily ocs\nserver s\ndeviceid d\n",
            "uagent-deploy-job 1\nfamily ocs\nserver s\ndeviceid d\nsettings\nnonsense = 1\n",
        ] {
            assert!(Job::from_text(bad).is_err(), "{bad:?}");
        }
        let many = format!(
            "uagent-deploy-job 1\nfamily ocs\nserver s\ndeviceid d\n{}settings\n",
            "param A=1\n".repeat(MAX_PARAMS + 1)
        );
        assert!(Job::from_text(&many).unwrap_err().0.contains("params"));
    }
}
