//! The agent's settings: defaults, then the configuration file (`key = value`, the reference
//! agents' keys), then the command line, each overriding the one before.
//!
//! Every setting is one row of the table in [`settings!`] below: its field, type, default,
//! key, short option and help. The struct, its defaults, the reader of `agent.cfg` and the
//! command line (see [`cmdline`]) all come from that row.

pub mod cmdline;
mod file;
mod value;

use std::path::{Path, PathBuf};

use crate::core::AGENT_PORT;
use crate::state::DEFAULT_VARDIR;
pub use file::DEFAULT_CONF_FILE;
use value::Value;

/// One setting, as the file and the command line know it.
pub struct Key {
    /// The key in `agent.cfg`, and the long option (`--name`).
    pub name: &'static str,
    pub short: Option<char>,
    pub group: Group,
    /// What the value looks like in the help (`URL`); empty for a switch.
    pub meta: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    set: fn(&mut Settings, &str) -> Result<(), String>,
    show: fn(&Settings) -> String,
}

/// How a setting is given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `--name VALUE`; the last one wins.
    Single,
    /// `--name A,B` or `--name A --name B`: the values add up.
    List,
    /// `--name` alone means yes.
    Switch,
    /// `--name` counts (`--debug --debug`); the file gives the number.
    Counter,
}

impl Key {
    /// Applies `text` (from the file, or the command line's value) to `s`.
    pub fn set(&self, s: &mut Settings, text: &str) -> Result<(), String> {
        (self.set)(s, text)
    }

    /// The value in `s`, as the file would spell it.
    pub fn show(&self, s: &Settings) -> String {
        (self.show)(s)
    }
}

/// Declares the settings: for each group a struct of its fields with their defaults, the
/// `Settings` struct made of the groups, and the table [`KEYS`] of every key. A row:
/// `field: Type = default, "key", short, "META", "help" [, fix FN];` where `fix` adjusts a
/// parsed value (a floor, a cap).
macro_rules! settings {
    ($(
        $(#[doc = $gdoc:literal])*
        $group:ident: $Group:ident {
            $(
                $field:ident: $ty:ty = $default:expr, $key:literal, $short:expr, $meta:literal,
                $help:literal $(, fix $fix:expr)?;
            )*
        }
    )*) => {
        /// The parts of the settings, in the order the help lists them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Group { $( $Group, )* }

        $(
            $(#[doc = $gdoc])*
            #[derive(Debug, Clone, PartialEq)]
            pub struct $Group {
                $( #[doc = $help] pub $field: $ty, )*
            }

            impl Default for $Group {
                fn default() -> Self {
                    $Group { $( $field: $default, )* }
                }
            }
        )*

        /// Every setting of the agent, by group.
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct Settings {
            $( pub $group: $Group, )*
        }

        /// Every key, in the order of the help.
        pub static KEYS: &[Key] = &[ $( $( Key {
            name: $key,
            short: $short,
            group: Group::$Group,
            meta: $meta,
            help: $help,
            kind: <$ty as Value>::KIND,
            set: |s: &mut Settings, text: &str| {
                let v = <$ty as Value>::parse(text).map_err(|e| format!("{}: {e}", $key))?;
                $( let v = ($fix)(v); )?
                s.$group.$field = v;
                Ok(())
            },
            show: |s: &Settings| Value::show(&s.$group.$field),
        }, )* )* ];
    };
}

settings! {
    /// Where results go: servers and local folders, each a target with its own state.
    targets: Targets {
        servers: Vec<String> = Vec::new(), "server", Some('s'), "URL",
            "server URL(s), comma-separated (OCS: http://host/ocsinventory; GLPI: https://host/)";
        locals: Vec<String> = Vec::new(), "local", Some('l'), "DIR",
            "write inventories into DIR too (- for stdout)";
    }
    /// When a run happens.
    schedule: Schedule {
        wait: u64 = 0, "wait", Some('w'), "N",
            "sleep a random 0..N seconds first (spreads fleets run from cron)";
        lazy: bool = false, "lazy", None, "",
            "skip targets whose next contact date has not come yet";
        force: bool = false, "force", Some('f'), "",
            "send an inventory even if the server did not ask for one";
        delaytime: u64 = 3600, "delaytime", None, "S",
            "seconds before the first contact of a daemon (random between 50 % and 100 %)";
    }
    /// Which tasks run, and what they are given.
    tasks: Tasks {
        tasks: Vec<String> = Vec::new(), "tasks", None, "LIST",
            "tasks to run, comma-separated (default: all this build has)";
        no_task: Vec<String> = Vec::new(), "no-task", None, "LIST",
            "tasks never to run, comma-separated";
        task_timeout: u64 = 600, "task-timeout", None, "S",
            "time limit of one task process in seconds", fix |v: u64| v.max(1);
        tag: Option<String> = None, "tag", Some('t'), "TAG",
            "TAG sent in ACCOUNTINFO";
        no_category: Vec<String> = Vec::new(), "no-category", None, "LIST",
            "inventory categories to leave out, comma-separated";
        sysobject_ids: Option<String> = None, "sysobject-ids", None, "FILE",
            "GLPI's sysobject.ids, to type network devices (default: the GLPI or FusionInventory agent's copy)";
    }
    /// How the servers are reached.
    connection: Connection {
        timeout: u64 = 180, "timeout", None, "S",
            "HTTP timeout in seconds", fix |v: u64| v.max(1);
        proxy: Option<String> = None, "proxy", Some('P'), "URL",
            "proxy URL (default: http_proxy/https_proxy/no_proxy from the environment)";
        user: Option<String> = None, "user", Some('u'), "USER",
            "user for HTTP Basic authentication";
        password: Option<String> = None, "password", Some('p'), "PASSWORD",
            "password for HTTP Basic authentication";
        ca_cert_file: Option<String> = None, "ca-cert-file", None, "FILE",
            "CA certificates (PEM) to trust instead of the built-in roots";
        ca_cert_dir: Option<String> = None, "ca-cert-dir", None, "DIR",
            "directory of CA certificates to trust instead of the built-in roots";
        no_ssl_check: bool = false, "no-ssl-check", None, "",
            "do not check server certificates (dangerous)";
        ssl_fingerprint: Vec<String> = Vec::new(), "ssl-fingerprint", None, "FP",
            "accept only a server certificate with this SHA-256 fingerprint (sha256:AB:CD…)";
        ssl_cert_file: Option<String> = None, "ssl-cert-file", None, "FILE",
            "client certificate and key (PEM)";
        no_compression: bool = false, "no-compression", None, "",
            "send messages uncompressed";
    }
    /// Where the state is kept.
    state: StateDirs {
        vardir: PathBuf = PathBuf::from(DEFAULT_VARDIR), "vardir", None, "DIR",
            "state kept across reboots (DEVICEID)";
        statedir: Option<PathBuf> = None, "statedir", None, "DIR",
            "per-target state and spool (default: the vardir; may be in RAM)";
    }
    /// Managed mode.
    daemon: Daemon {
        daemon: bool = false, "daemon", Some('d'), "",
            "stay resident and run on the servers' schedule";
        pidfile: Option<PathBuf> = None, "pidfile", None, "FILE",
            "daemon: write the pid to FILE";
    }
    /// The daemon's HTTP server.
    httpd: Httpd {
        no_httpd: bool = false, "no-httpd", None, "",
            "daemon: no HTTP server";
        httpd_ip: Option<String> = None, "httpd-ip", None, "IP",
            "daemon: HTTP server address (default: all)";
        httpd_port: u16 = AGENT_PORT, "httpd-port", None, "PORT",
            "daemon: HTTP server port";
        httpd_trust: Vec<String> = Vec::new(), "httpd-trust", None, "LIST",
            "daemon: addresses allowed to call /now (IPs, CIDR ranges, host names), comma-separated";
    }
    /// Where log lines go.
    log: Log {
        logger: String = "stderr".to_string(), "logger", None, "NAME",
            "log to stderr, file or syslog", fix |v: String| v.to_ascii_lowercase();
        logfile: Option<PathBuf> = None, "logfile", None, "FILE",
            "log file (implies --logger file)";
        logfile_maxsize: u64 = 10, "logfile-maxsize", None, "MIB",
            "rotate the log file at this size in MiB";
        debug: u8 = 0, "debug", None, "",
            "more log lines (twice: everything)", fix |v: u8| v.min(2);
    }
}

/// Other names of keys: the reference agents' spellings.
const ALIASES: &[(&str, &str)] = &[
    ("basevardir", "vardir"),
    ("backend-collect-timeout", "task-timeout"),
];

/// The key of a name as the file or the command line spells it (any case, `_` or `-`).
pub fn key(name: &str) -> Option<&'static Key> {
    let name = name.trim().to_ascii_lowercase().replace('_', "-");
    let name = ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name.as_str(), |(_, k)| k);
    KEYS.iter().find(|k| k.name == name)
}

impl Settings {
    pub fn statedir(&self) -> &Path {
        self.state.statedir.as_deref().unwrap_or(&self.state.vardir)
    }

    /// Applies one `key = value` setting (file or command line); an error names the key.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        match key(name) {
            Some(k) => k.set(self, value.trim()),
            None => Err(format!("unknown setting {:?}", name.trim())),
        }
    }

    /// What follows from the settings together: `--logfile` means logging to it.
    pub fn finish(&mut self) {
        if self.log.logfile.is_some() && self.log.logger == "stderr" {
            self.log.logger = "file".into();
        }
    }

    /// The settings as a configuration file: every key that differs from its default, quoted
    /// so that the reader gives back exactly these settings (the daemon hands its settings to
    /// its passes this way, never on their command line).
    pub fn to_text(&self) -> String {
        let defaults = Settings::default();
        let mut out = String::new();
        for k in KEYS {
            let v = k.show(self);
            if v != k.show(&defaults) {
                out.push_str(&format!("{} = \"{v}\"\n", k.name));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
