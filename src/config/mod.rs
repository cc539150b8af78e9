//! The agent's settings: defaults, then the configuration file (`key = value`, the reference
//! agents' keys), then the command line, each overriding the one before.
//!
//! Every setting is one row of the table in [`settings!`] below: its field, type, default,
//! key, short option and help. The struct, its defaults, the reader of `agent.cfg` and the
//! command line (see [`cmdline`]) all come from that row.

pub mod cmdline;
mod compat;
mod file;
mod value;

use std::path::{Path, PathBuf};

use crate::core::AGENT_PORT;
use crate::state::DEFAULT_VARDIR;
pub use file::DEFAULT_CONF_FILE;
use value::Value;
pub use value::YesNo;

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
    /// A password or secret: never shown, never logged.
    pub secret: bool,
    /// Where the value lives in [`Settings`], and its type: a table of data rather than code
    /// per key, which keeps the binary small.
    offset: usize,
    ty: value::Ty,
    /// Bounds of a number (a floor, a cap), applied after parsing.
    min: u64,
    max: u64,
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
        value::set(s, self.offset, self.ty, text, self.min, self.max)
            .map_err(|e| format!("{}: {e}", self.name))
    }

    /// The value in `s`, as the file would spell it.
    pub fn show(&self, s: &Settings) -> String {
        value::show(s, self.offset, self.ty)
    }
}

/// Keys whose values are secrets.
const SECRET_KEYS: &[&str] = &["password", "oauth-client-secret"];

/// Whether `key` is one of [`SECRET_KEYS`] (a `const fn`: the table is a static).
const fn is_secret(key: &str) -> bool {
    let mut i = 0;
    while i < SECRET_KEYS.len() {
        let (a, b) = (SECRET_KEYS[i].as_bytes(), key.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return true;
            }
        }
        i += 1;
    }
    false
}

/// Declares the settings: for each group a struct of its fields with their defaults, the
/// `Settings` struct made of the groups, and the table [`KEYS`] of every key. A row:
/// `field: Type = default, "key", short, "META", "help" [, min N] [, max N];` where `min` and
/// `max` bound a number, or the bytes of a text or list.
macro_rules! settings {
    ($(
        $(#[doc = $gdoc:literal])*
        $group:ident: $Group:ident {
            $(
                $field:ident: $ty:ty = $default:expr, $key:literal, $short:expr, $meta:literal,
                $help:literal $(, min $min:expr)? $(, max $max:expr)?;
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
            secret: is_secret($key),
            offset: core::mem::offset_of!(Settings, $group.$field),
            ty: <$ty as Value>::TY,
            min: 0 $( + $min )?,
            max: u64::MAX $( - u64::MAX + $max )?,
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
        html: bool = false, "html", None, "",
            "write the inventories of --local targets as HTML";
        json: bool = false, "json", None, "",
            "write the inventories of --local targets as JSON (GLPI's format)";
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
            "time limit of one task process in seconds", min 1;
        tag: Option<String> = None, "tag", Some('t'), "TAG",
            "TAG sent in ACCOUNTINFO", max MAX_TAG_BYTES as u64;
        no_category: Vec<String> = Vec::new(), "no-category", None, "LIST",
            "inventory categories to leave out, comma-separated";
        full_inventory_postpone: u64 = 14, "full-inventory-postpone", None, "N",
            "GLPI: send only the categories that changed (a partial inventory) for up to N runs in a row, then a full one (0: always full)",
            max crate::state::target::MAX_POSTPONE;
        full: bool = false, "full", None, "",
            "GLPI: send a full inventory this time";
        partial: Vec<String> = Vec::new(), "partial", None, "LIST",
            "GLPI: send only these categories now, as a partial inventory";
        itemtype: String = "Computer".to_string(), "itemtype", None, "TYPE",
            "GLPI asset type: Computer, NetworkEquipment (a router filed with the switches) or auto (NetworkEquipment on OpenWrt)";
        additional_content: Option<String> = None, "additional-content", None, "FILE",
            "merge the sections of FILE (XML or JSON) into the inventory";
        assetname_support: u64 = 1, "assetname-support", None, "N",
            "HARDWARE/NAME: 1 short host name, 2 FQDN, 3 the host name as is";
        sysobject_ids: Option<String> = None, "sysobject-ids", None, "FILE",
            "GLPI's sysobject.ids, to type network devices (default: the GLPI or FusionInventory agent's copy)";
        no_snmp: bool = false, "no-snmp", None, "",
            "OCS: leave out the SNMP scan the server orders in its PROLOG reply (its SNMP option)";
    }
    /// How the servers are reached.
    connection: Connection {
        timeout: u64 = 180, "timeout", None, "S",
            "HTTP timeout in seconds", min 1;
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
        no_compression: bool = false, "no-compression", Some('C'), "",
            "send messages uncompressed";
        oauth_client_id: Option<String> = None, "oauth-client-id", None, "ID",
            "GLPI 11: OAuth2 client id (client credentials grant)";
        oauth_client_secret: Option<String> = None, "oauth-client-secret", None, "SECRET",
            "GLPI 11: OAuth2 client secret (kept in memory only, never logged)";
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
            "stay resident and run on the servers' schedule (in the background unless --no-fork)";
        no_fork: bool = false, "no-fork", None, "",
            "daemon: stay in the foreground (systemd, procd)";
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
        httpd_log_by_deviceid: bool = false, "httpd-log-by-deviceid", None, "",
            "daemon: serve the log (/?action=log) to any caller giving the DEVICEID, not only to trusted ones";
    }
    /// Software deployment (OCS packages, GLPI deploy jobs): off unless `deploy` names a family.
    deploy: Deploy {
        deploy: Vec<String> = Vec::new(), "deploy", None, "LIST",
            "deployment families allowed to run, comma-separated: ocs, glpi (default: none, deployment off)";
        deploy_servers: Vec<String> = Vec::new(), "deploy-servers", None, "LIST",
            "server targets that may order deployments, as given to --server or by host (default: every server target)";
        deploy_sources: Vec<String> = Vec::new(), "deploy-sources", None, "LIST",
            "hosts (host or host:port) allowed for info files, fragments and mirrors (default: the ordering server's host)";
        deploy_paths: Vec<String> = Vec::new(), "deploy-paths", None, "LIST",
            "folders where STORE, copy, move, mkdir and delete may write (default: none; never / or the vardir)";
        deploy_exec: YesNo = YesNo(true), "deploy-exec", None, "yes|no",
            "let deployments run commands (OCS EXECUTE and LAUNCH, GLPI cmd); no: files only";
        deploy_min_free: u64 = 4, "deploy-min-free", None, "MIB",
            "free space in MiB a download or extraction must leave on its filesystem";
        deploy_exec_timeout: u64 = 600, "deploy-exec-timeout", None, "S",
            "longest run of one deployment command in seconds (caps the server's EXECUTION_TIMEOUT)", min 1;
        deploy_p2p: YesNo = YesNo(false), "deploy-p2p", None, "yes|no",
            "fetch GLPI file parts from peer agents of this machine's /24 first (no: never probe the LAN)";
    }
    /// Where log lines go.
    log: Log {
        logger: Vec<String> = vec!["stderr".to_string()], "logger", None, "LIST",
            "log to stderr, file, syslog, or several (comma-separated)";
        logfile: Option<PathBuf> = None, "logfile", None, "FILE",
            "log file (implies --logger file)";
        logfile_maxsize: u64 = 10, "logfile-maxsize", None, "MIB",
            "rotate the log file at this size in MiB";
        logfacility: String = "LOG_DAEMON".to_string(), "logfacility", None, "NAME",
            "syslog facility (LOG_DAEMON, LOG_USER, LOG_LOCAL0…7)";
        debug: u8 = 0, "debug", None, "",
            "more log lines (twice: everything)", max 2;
    }
}

pub use compat::{Compat, COMPAT};

/// Longest TAG: far more than a server keeps (OCS and GLPI store 255 characters; the tasks get
/// it on their standard input, so no system limit on arguments applies), and less than a
/// configuration file holds (256 KiB), so that a TAG past it is this clear error rather than
/// a file refused for its size.
pub const MAX_TAG_BYTES: usize = 240 * 1024;

/// A name as the file or the command line spells it: any case, `_` or `-`.
pub fn normalize(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace('_', "-")
}

/// The key of a name, or of the reference agents' other spelling of it.
pub fn key(name: &str) -> Option<&'static Key> {
    let name = normalize(name);
    let name = match compat::find(&name) {
        Some(Compat::Alias(k)) => k,
        _ => name.as_str(),
    };
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
        for l in &mut self.log.logger {
            *l = l.to_ascii_lowercase();
        }
        if self.log.logfile.is_some() && self.log.logger == ["stderr"] {
            self.log.logger = vec!["file".into()];
        }
    }

    /// Where the log lines go.
    pub fn log_destinations(&self) -> crate::core::logger::Destinations<'_> {
        crate::core::logger::Destinations {
            loggers: &self.log.logger,
            logfile: self.log.logfile.as_deref(),
            max_mib: self.log.logfile_maxsize,
            facility: &self.log.logfacility,
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
