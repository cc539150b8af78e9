//! The agent's settings: defaults, then the configuration file (`key = value`, the reference
//! agents' keys), then the command line, each overriding the one before.

use std::fs;
use std::path::{Path, PathBuf};

use crate::state::DEFAULT_VARDIR;

/// Configuration file read when `--conf-file` is not given (a missing one is fine).
pub const DEFAULT_CONF_FILE: &str = "/etc/uagent/agent.cfg";
/// Largest configuration file read, and deepest `include` chain.
const MAX_CONF_FILE: u64 = 256 * 1024;
const MAX_INCLUDE_DEPTH: usize = 4;

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub servers: Vec<String>,
    pub locals: Vec<String>,
    pub tag: Option<String>,
    /// Random delay before a run, in seconds (0..wait).
    pub wait: u64,
    pub lazy: bool,
    pub force: bool,
    pub tasks: Vec<String>,
    pub no_task: Vec<String>,
    pub no_category: Vec<String>,
    pub vardir: PathBuf,
    /// Per-target state and spool; the vardir unless set (on OpenWrt: in RAM).
    pub statedir: Option<PathBuf>,
    pub debug: u8,
    /// HTTP timeout (connect, each read, whole request), seconds.
    pub timeout: u64,
    /// Time limit of one task process, seconds.
    pub task_timeout: u64,
    pub proxy: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub ca_cert_file: Option<String>,
    pub ca_cert_dir: Option<String>,
    pub no_ssl_check: bool,
    pub ssl_fingerprint: Vec<String>,
    pub ssl_cert_file: Option<String>,
    pub no_compression: bool,
    pub delaytime: u64,
    pub daemon: bool,
    pub pidfile: Option<PathBuf>,
    pub no_httpd: bool,
    pub httpd_ip: Option<String>,
    pub httpd_port: u16,
    pub httpd_trust: Vec<String>,
    pub logger: String,
    pub logfile: Option<PathBuf>,
    /// MiB.
    pub logfile_maxsize: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            servers: Vec::new(),
            locals: Vec::new(),
            tag: None,
            wait: 0,
            lazy: false,
            force: false,
            tasks: Vec::new(),
            no_task: Vec::new(),
            no_category: Vec::new(),
            vardir: PathBuf::from(DEFAULT_VARDIR),
            statedir: None,
            debug: 0,
            timeout: 180,
            task_timeout: 600,
            proxy: None,
            user: None,
            password: None,
            ca_cert_file: None,
            ca_cert_dir: None,
            no_ssl_check: false,
            ssl_fingerprint: Vec::new(),
            ssl_cert_file: None,
            no_compression: false,
            delaytime: 3600,
            daemon: false,
            pidfile: None,
            no_httpd: false,
            httpd_ip: None,
            httpd_port: 62354,
            httpd_trust: Vec::new(),
            logger: "stderr".to_string(),
            logfile: None,
            logfile_maxsize: 10,
        }
    }
}

impl Settings {
    pub fn statedir(&self) -> &Path {
        self.statedir.as_deref().unwrap_or(&self.vardir)
    }

    /// Applies one `key = value` setting (file or command line); an error names the key.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let key = key.trim().to_ascii_lowercase().replace('_', "-");
        let v = value.trim();
        let list = |v: &str| -> Vec<String> {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let opt = |v: &str| {
            if v.is_empty() {
                None
            } else {
                Some(v.to_string())
            }
        };
        let num = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{key}: {v:?} is not a number"))
        };
        let flag = |v: &str| match v.to_ascii_lowercase().as_str() {
            "" | "1" | "yes" | "true" | "on" => Ok(true),
            "0" | "no" | "false" | "off" => Ok(false),
            _ => Err(format!("{key}: {v:?} is not a yes/no value")),
        };
        match key.as_str() {
            "server" => self.servers = list(v),
            "local" => self.locals = list(v),
            "tag" => self.tag = opt(v),
            "wait" => self.wait = num(v)?,
            "lazy" => self.lazy = flag(v)?,
            "force" => self.force = flag(v)?,
            "tasks" => self.tasks = list(v),
            "no-task" => self.no_task = list(v),
            "no-category" => self.no_category = list(v),
            "vardir" | "basevardir" => self.vardir = PathBuf::from(v),
            "statedir" => self.statedir = opt(v).map(PathBuf::from),
            "debug" => self.debug = num(v)?.min(2) as u8,
            "timeout" => self.timeout = num(v)?.max(1),
            "task-timeout" | "backend-collect-timeout" => self.task_timeout = num(v)?.max(1),
            "proxy" => self.proxy = opt(v),
            "user" => self.user = opt(v),
            "password" => self.password = opt(v),
            "ca-cert-file" => self.ca_cert_file = opt(v),
            "ca-cert-dir" => self.ca_cert_dir = opt(v),
            "no-ssl-check" => self.no_ssl_check = flag(v)?,
            "ssl-fingerprint" => self.ssl_fingerprint = list(v),
            "ssl-cert-file" => self.ssl_cert_file = opt(v),
            "no-compression" => self.no_compression = flag(v)?,
            "delaytime" => self.delaytime = num(v)?,
            "daemon" => self.daemon = flag(v)?,
            "pidfile" => self.pidfile = opt(v).map(PathBuf::from),
            "no-httpd" => self.no_httpd = flag(v)?,
            "httpd-ip" => self.httpd_ip = opt(v),
            "httpd-port" => {
                self.httpd_port = v
                    .parse()
                    .map_err(|_| format!("httpd-port: {v:?} is not a port"))?
            }
            "httpd-trust" => self.httpd_trust = list(v),
            "logger" => self.logger = v.to_ascii_lowercase(),
            "logfile" => self.logfile = opt(v).map(PathBuf::from),
            "logfile-maxsize" => self.logfile_maxsize = num(v)?,
            _ => return Err(format!("unknown setting {key:?}")),
        }
        Ok(())
    }

    /// Reads a configuration file into these settings. Unknown keys are warned about and
    /// skipped (a newer file on an older agent must not stop it); bad values are errors.
    pub fn load_file(&mut self, path: &Path) -> Result<(), String> {
        self.load_file_at(path, 0)
    }

    fn load_file_at(&mut self, path: &Path, depth: usize) -> Result<(), String> {
        use std::io::Read;
        let mut text = String::new();
        fs::File::open(path)
            .and_then(|f| f.take(MAX_CONF_FILE).read_to_string(&mut text))
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix("include") {
                if depth >= MAX_INCLUDE_DEPTH {
                    return Err(format!(
                        "{}:{}: includes nested too deep",
                        path.display(),
                        n + 1
                    ));
                }
                let target = unquote(rest.trim());
                let target = path.parent().unwrap_or(Path::new("/")).join(target);
                self.include(&target, depth + 1)?;
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(format!(
                    "{}:{}: expected `key = value`",
                    path.display(),
                    n + 1
                ));
            };
            let value = unquote(value.trim());
            match self.set(key, &value) {
                Ok(()) => {}
                Err(e) if e.starts_with("unknown setting") => {
                    log::warn!("{}:{}: {e}, ignored", path.display(), n + 1)
                }
                Err(e) => return Err(format!("{}:{}: {e}", path.display(), n + 1)),
            }
        }
        Ok(())
    }

    /// `include "conf.d/"` reads every `*.cfg` of a directory in name order.
    fn include(&mut self, target: &Path, depth: usize) -> Result<(), String> {
        if target.is_dir() {
            let mut files: Vec<PathBuf> = fs::read_dir(target)
                .map_err(|e| format!("cannot read {}: {e}", target.display()))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "cfg"))
                .collect();
            files.sort();
            for f in files.iter().take(256) {
                self.load_file_at(f, depth)?;
            }
            Ok(())
        } else if target.exists() {
            self.load_file_at(target, depth)
        } else {
            Ok(())
        }
    }
}

/// Strips surrounding quotes; an unquoted value loses a trailing ` # comment`.
fn unquote(v: &str) -> String {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        return v[1..v.len() - 1].to_string();
    }
    match v.find(" #") {
        Some(i) => v[..i].trim_end().to_string(),
        None => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_sets_keys_and_the_command_line_wins_after() {
        let dir = std::env::temp_dir().join(format!("uagent-conf-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("conf.d")).unwrap();
        fs::write(
            dir.join("agent.cfg"),
            "# comment\nserver = http://a/ocsinventory, https://b/\ntag = 'site a'\nno-ssl-check = 1\n\
             delaytime = 60 # seconds\nbogus-key = 1\ninclude \"conf.d/\"\n",
        )
        .unwrap();
        fs::write(
            dir.join("conf.d/10-more.cfg"),
            "httpd_trust = 10.0.0.0/8,192.168.1.1\n",
        )
        .unwrap();
        let mut s = Settings::default();
        s.load_file(&dir.join("agent.cfg")).unwrap();
        assert_eq!(s.servers, ["http://a/ocsinventory", "https://b/"]);
        assert_eq!(s.tag.as_deref(), Some("site a"));
        assert!(s.no_ssl_check);
        assert_eq!(s.delaytime, 60);
        assert_eq!(s.httpd_trust, ["10.0.0.0/8", "192.168.1.1"]);
        s.set("tag", "cli").unwrap();
        assert_eq!(s.tag.as_deref(), Some("cli"));
        fs::write(dir.join("bad.cfg"), "wait = soon\n").unwrap();
        assert!(Settings::default()
            .load_file(&dir.join("bad.cfg"))
            .unwrap_err()
            .contains("bad.cfg:1"));
        assert!(Settings::default()
            .load_file(&dir.join("missing.cfg"))
            .is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
