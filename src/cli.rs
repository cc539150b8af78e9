//! Command line: the `uagent` binary and its subcommands. Without a subcommand it is the agent
//! (half-managed from cron, or `--daemon`); the launchers named after the Perl agents'
//! (`uagent-inventory`, `uagent-injector`) are links to the same binary, recognised by name.

use argh::FromArgs;

use crate::config::{Settings, DEFAULT_CONF_FILE};
use crate::core::exit;

#[derive(FromArgs, Debug, Default)]
/// uagent: inventory and management agent for OCS Inventory NG and GLPI servers.
/// Without a subcommand: contact the servers, run the tasks they ask for, send the results.
pub struct Cli {
    /// server URL(s), comma-separated (OCS: http://host/ocsinventory; GLPI: https://host/)
    #[argh(option, short = 's')]
    pub server: Vec<String>,
    /// write inventories into DIR too (- for stdout)
    #[argh(option, short = 'l')]
    pub local: Vec<String>,
    /// TAG sent in ACCOUNTINFO
    #[argh(option, short = 't')]
    pub tag: Option<String>,
    /// sleep a random 0..N seconds first (spreads fleets run from cron)
    #[argh(option, short = 'w')]
    pub wait: Option<u64>,
    /// skip targets whose next contact date has not come yet
    #[argh(switch)]
    pub lazy: bool,
    /// send an inventory even if the server did not ask for one
    #[argh(switch, short = 'f')]
    pub force: bool,
    /// tasks to run, comma-separated (default: all this build has)
    #[argh(option)]
    pub tasks: Vec<String>,
    /// tasks never to run, comma-separated
    #[argh(option)]
    pub no_task: Vec<String>,
    /// inventory categories to leave out, comma-separated
    #[argh(option)]
    pub no_category: Vec<String>,
    /// configuration file (default /etc/uagent/agent.cfg)
    #[argh(option)]
    pub conf_file: Option<String>,
    /// state kept across reboots (DEVICEID); default /var/lib/uagent
    #[argh(option)]
    pub vardir: Option<String>,
    /// per-target state and spool (default: the vardir; may be in RAM)
    #[argh(option)]
    pub statedir: Option<String>,
    /// more log lines
    #[argh(switch)]
    pub debug: bool,
    /// HTTP timeout in seconds (default 180)
    #[argh(option)]
    pub timeout: Option<u64>,
    /// time limit of one task process in seconds (default 600)
    #[argh(option)]
    pub task_timeout: Option<u64>,
    /// proxy URL (default: http_proxy/https_proxy/no_proxy from the environment)
    #[argh(option, short = 'P')]
    pub proxy: Option<String>,
    /// user for HTTP Basic authentication
    #[argh(option, short = 'u')]
    pub user: Option<String>,
    /// password for HTTP Basic authentication
    #[argh(option, short = 'p')]
    pub password: Option<String>,
    /// CA certificates (PEM) to trust instead of the built-in roots
    #[argh(option)]
    pub ca_cert_file: Option<String>,
    /// directory of CA certificates to trust instead of the built-in roots
    #[argh(option)]
    pub ca_cert_dir: Option<String>,
    /// do not check server certificates (dangerous)
    #[argh(switch)]
    pub no_ssl_check: bool,
    /// accept only a server certificate with this SHA-256 fingerprint (sha256:AB:CD…)
    #[argh(option)]
    pub ssl_fingerprint: Vec<String>,
    /// client certificate and key (PEM)
    #[argh(option)]
    pub ssl_cert_file: Option<String>,
    /// seconds before the first contact of a daemon (random between 50 % and 100 %; default 3600)
    #[argh(option)]
    pub delaytime: Option<u64>,
    /// stay resident and run on the servers' schedule
    #[argh(switch, short = 'd')]
    pub daemon: bool,
    /// daemon: write the pid to FILE
    #[argh(option)]
    pub pidfile: Option<String>,
    /// daemon: no HTTP server
    #[argh(switch)]
    pub no_httpd: bool,
    /// daemon: HTTP server address (default: all)
    #[argh(option)]
    pub httpd_ip: Option<String>,
    /// daemon: HTTP server port (default 62354)
    #[argh(option)]
    pub httpd_port: Option<u16>,
    /// daemon: addresses allowed to call /now (IPs, CIDR ranges, host names), comma-separated
    #[argh(option)]
    pub httpd_trust: Vec<String>,
    /// log to stderr (default), file or syslog
    #[argh(option)]
    pub logger: Option<String>,
    /// log file (implies --logger file)
    #[argh(option)]
    pub logfile: Option<String>,
    /// rotate the log file at this size in MiB (default 10)
    #[argh(option)]
    pub logfile_maxsize: Option<u64>,
    /// print the version and exit
    #[argh(switch)]
    pub version: bool,
    /// internal: one pass over these targets (indexes), reporting status lines on stdout (the
    /// daemon runs its passes this way)
    #[argh(option)]
    pub only_targets: Option<String>,

    #[argh(subcommand)]
    pub command: Option<Command>,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum Command {
    Inventory(InventoryArgs),
    Inject(InjectArgs),
    #[cfg(feature = "wakeonlan")]
    Wakeonlan(WakeonlanArgs),
    Task(TaskArgs),
}

#[derive(FromArgs, Debug, Default)]
/// Write one inventory of this machine (or of a system under --root), XML to stdout by default.
#[argh(subcommand, name = "inventory")]
pub struct InventoryArgs {
    /// read every file under DIR instead of / and ask the running system nothing
    #[argh(option)]
    pub root: Option<String>,
    /// output format: xml (default), json or html
    #[argh(option)]
    pub format: Option<String>,
    /// same as --format json
    #[argh(switch)]
    pub json: bool,
    /// same as --format html
    #[argh(switch)]
    pub html: bool,
    /// write to FILE (or into DIR as <deviceid>.<format>) instead of stdout
    #[argh(option, short = 'o')]
    pub output: Option<String>,
    /// the TAG sent in ACCOUNTINFO
    #[argh(option, short = 't')]
    pub tag: Option<String>,
    /// categories to leave out, comma-separated (see --list-categories); may be repeated
    #[argh(option)]
    pub no_category: Vec<String>,
    /// list the categories and exit
    #[argh(switch)]
    pub list_categories: bool,
    /// state directory (holds the DEVICEID); default /var/lib/uagent
    #[argh(option)]
    pub vardir: Option<String>,
    /// more log lines
    #[argh(switch)]
    pub debug: bool,
}

#[derive(FromArgs, Debug, Default)]
/// Upload saved inventories (XML or JSON, plain or zlib) to a server.
#[argh(subcommand, name = "inject")]
pub struct InjectArgs {
    /// server URL
    #[argh(option, short = 'u')]
    pub url: Option<String>,
    /// an inventory file
    #[argh(option, short = 'f')]
    pub file: Vec<String>,
    /// every file of a directory
    #[argh(option, short = 'd')]
    pub directory: Option<String>,
    /// with --directory: its subdirectories too
    #[argh(switch, short = 'R')]
    pub recursive: bool,
    /// read one inventory from standard input
    #[argh(switch)]
    pub stdin: bool,
    /// delete each file once the server accepted it
    #[argh(switch, short = 'r')]
    pub remove: bool,
    /// the User-Agent to present
    #[argh(option)]
    pub useragent: Option<String>,
    /// HTTP timeout in seconds (default 180)
    #[argh(option)]
    pub timeout: Option<u64>,
    /// proxy URL
    #[argh(option, short = 'P')]
    pub proxy: Option<String>,
    /// user for HTTP Basic authentication
    #[argh(option)]
    pub user: Option<String>,
    /// password for HTTP Basic authentication
    #[argh(option, short = 'p')]
    pub password: Option<String>,
    /// CA certificates (PEM) to trust instead of the built-in roots
    #[argh(option)]
    pub ca_cert_file: Option<String>,
    /// directory of CA certificates to trust
    #[argh(option)]
    pub ca_cert_dir: Option<String>,
    /// do not check server certificates (dangerous)
    #[argh(switch)]
    pub no_ssl_check: bool,
    /// accept only a server certificate with this SHA-256 fingerprint
    #[argh(option)]
    pub ssl_fingerprint: Vec<String>,
    /// client certificate and key (PEM)
    #[argh(option)]
    pub ssl_cert_file: Option<String>,
    /// more log lines
    #[argh(switch)]
    pub debug: bool,
}

#[cfg(feature = "wakeonlan")]
#[derive(FromArgs, Debug, Default)]
/// Wake machines of this machine's LANs with a magic packet (Wake-on-LAN).
#[argh(subcommand, name = "wakeonlan")]
pub struct WakeonlanArgs {
    /// MAC address(es) to wake, comma-separated: 00:11:22:33:44:55, 00-11-22-33-44-55 or 001122334455
    #[argh(option)]
    pub mac: Vec<String>,
    /// IPv4 address of the machine(s): the packet goes out of the interface whose subnet holds it, or is sent to it when none does
    #[argh(option)]
    pub ip: Option<String>,
    /// ways to send, first that works wins: ethernet (raw frame, needs CAP_NET_RAW), udp (default ethernet,udp)
    #[argh(option)]
    pub methods: Vec<String>,
    /// send on this network interface only
    #[argh(option)]
    pub interface: Option<String>,
    /// UDP port(s), comma-separated (default 9; 7 is the other usual one)
    #[argh(option)]
    pub port: Vec<String>,
    /// more log lines
    #[argh(switch)]
    pub debug: bool,
}

#[derive(FromArgs, Debug, Default)]
/// Run one task as the agent does (internal: the agent starts its tasks this way).
#[argh(subcommand, name = "task")]
pub struct TaskArgs {
    /// the task: inventory or wakeonlan
    #[argh(positional)]
    pub name: String,
    /// the DEVICEID to use
    #[argh(option)]
    pub deviceid: Option<String>,
    /// inventory format: xml or json
    #[argh(option)]
    pub format: Option<String>,
    /// ACCOUNTINFO entry KEY=VALUE (repeatable)
    #[argh(option)]
    pub accountinfo: Vec<String>,
    /// categories to leave out
    #[argh(option)]
    pub no_category: Vec<String>,
    /// file of the previous section digests (the new ones go to FILE.new)
    #[argh(option)]
    pub digests: Option<String>,
    /// write the result to FILE instead of stdout
    #[argh(option)]
    pub output: Option<String>,
    /// zlib-compress what goes to stdout
    #[argh(switch)]
    pub compress: bool,
    /// wakeonlan: a MAC address to wake (repeatable)
    #[argh(option)]
    pub mac: Vec<String>,
    /// wakeonlan: the IPv4 address of the machine of the --mac at the same place ("" for none)
    #[argh(option)]
    pub ip: Vec<String>,
    /// more log lines
    #[argh(switch)]
    pub debug: bool,
}

/// Writes a line on stdout. Unlike `println!`, a closed pipe (`uagent --help | head -1`) is
/// not a panic: release builds abort on panics without a word.
pub fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

/// Subcommand implied by the name the binary was called by.
fn implied_subcommand(argv0: &str) -> Option<&'static str> {
    let name = argv0.rsplit('/').next().unwrap_or(argv0);
    match name {
        "uagent-inventory" => Some("inventory"),
        "uagent-injector" => Some("inject"),
        "uagent-wakeonlan" => Some("wakeonlan"),
        _ => None,
    }
}

/// The settings of an agent run: defaults, the configuration file, then this command line.
pub fn settings(cli: &Cli) -> Result<Settings, String> {
    let mut s = Settings::default();
    match &cli.conf_file {
        Some(f) => s.load_file(std::path::Path::new(f))?,
        None => {
            if std::path::Path::new(DEFAULT_CONF_FILE).exists() {
                s.load_file(std::path::Path::new(DEFAULT_CONF_FILE))?;
            }
        }
    }
    let mut set = |k: &str, v: String| s.set(k, &v);
    let join = |v: &Vec<String>| v.join(",");
    if !cli.server.is_empty() {
        set("server", join(&cli.server))?;
    }
    if !cli.local.is_empty() {
        set("local", join(&cli.local))?;
    }
    if !cli.tasks.is_empty() {
        set("tasks", join(&cli.tasks))?;
    }
    if !cli.no_task.is_empty() {
        set("no-task", join(&cli.no_task))?;
    }
    if !cli.no_category.is_empty() {
        set("no-category", join(&cli.no_category))?;
    }
    if !cli.ssl_fingerprint.is_empty() {
        set("ssl-fingerprint", join(&cli.ssl_fingerprint))?;
    }
    if !cli.httpd_trust.is_empty() {
        set("httpd-trust", join(&cli.httpd_trust))?;
    }
    let opts: [(&str, Option<String>); 19] = [
        ("tag", cli.tag.clone()),
        ("wait", cli.wait.map(|v| v.to_string())),
        ("vardir", cli.vardir.clone()),
        ("statedir", cli.statedir.clone()),
        ("timeout", cli.timeout.map(|v| v.to_string())),
        ("task-timeout", cli.task_timeout.map(|v| v.to_string())),
        ("proxy", cli.proxy.clone()),
        ("user", cli.user.clone()),
        ("password", cli.password.clone()),
        ("ca-cert-file", cli.ca_cert_file.clone()),
        ("ca-cert-dir", cli.ca_cert_dir.clone()),
        ("ssl-cert-file", cli.ssl_cert_file.clone()),
        ("delaytime", cli.delaytime.map(|v| v.to_string())),
        ("pidfile", cli.pidfile.clone()),
        ("httpd-ip", cli.httpd_ip.clone()),
        ("httpd-port", cli.httpd_port.map(|v| v.to_string())),
        ("logger", cli.logger.clone()),
        ("logfile", cli.logfile.clone()),
        (
            "logfile-maxsize",
            cli.logfile_maxsize.map(|v| v.to_string()),
        ),
    ];
    for (k, v) in opts {
        if let Some(v) = v {
            set(k, v)?;
        }
    }
    for (k, on) in [
        ("lazy", cli.lazy),
        ("force", cli.force),
        ("no-ssl-check", cli.no_ssl_check),
        ("daemon", cli.daemon),
        ("no-httpd", cli.no_httpd),
    ] {
        if on {
            set(k, "1".into())?;
        }
    }
    if cli.debug {
        s.debug = s.debug.max(1);
    }
    if s.logfile.is_some() && s.logger == "stderr" {
        s.logger = "file".into();
    }
    Ok(s)
}

pub fn main() -> i32 {
    let args: Vec<String> = std::env::args().collect();
    let argv0 = args.first().cloned().unwrap_or_else(|| "uagent".into());
    let mut rest: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    if let Some(sub) = implied_subcommand(&argv0) {
        rest.insert(0, sub);
    }
    let cmd_name = argv0.rsplit('/').next().unwrap_or("uagent");
    // Without the task the subcommand does not exist: say why rather than "unrecognized".
    if !cfg!(feature = "wakeonlan") && rest.first() == Some(&"wakeonlan") {
        crate::core::logger::init("core", 0);
        log::error!("this build has no wake-on-LAN (built without the wakeonlan feature)");
        return exit::USAGE;
    }
    let cli = match Cli::from_args(&[cmd_name], &rest) {
        Ok(cli) => cli,
        Err(early) => {
            return match early.status {
                Ok(()) => {
                    say(&early.output);
                    exit::OK
                }
                Err(()) => {
                    eprintln!(
                        "{}\nRun {cmd_name} --help for more information.",
                        early.output
                    );
                    exit::USAGE
                }
            };
        }
    };
    if cli.version {
        say(&format!("uagent {}", env!("CARGO_PKG_VERSION")));
        return exit::OK;
    }
    match &cli.command {
        Some(Command::Inventory(a)) => crate::tasks::inventory::command::run(a),
        Some(Command::Task(a)) => crate::tasks::run_task(a),
        Some(Command::Inject(a)) => run_inject(a),
        #[cfg(feature = "wakeonlan")]
        Some(Command::Wakeonlan(a)) => crate::tasks::wakeonlan::command(a),
        None => run_agent(&cli, cmd_name),
    }
}

#[cfg(feature = "client")]
fn run_inject(a: &InjectArgs) -> i32 {
    crate::inject::run(a)
}

#[cfg(not(feature = "client"))]
fn run_inject(_: &InjectArgs) -> i32 {
    crate::core::logger::init("core", 0);
    log::error!("this build cannot send anything (built without the client feature)");
    exit::USAGE
}

fn run_agent(cli: &Cli, cmd_name: &str) -> i32 {
    let settings = match settings(cli) {
        Ok(s) => s,
        Err(e) => {
            crate::core::logger::init("core", 0);
            log::error!("{e}");
            return exit::USAGE;
        }
    };
    crate::core::logger::init("core", settings.debug);
    // A daemon's pass logs on stderr: the daemon relays its lines to its own destination.
    let logger = if cli.only_targets.is_some() {
        "stderr"
    } else {
        settings.logger.as_str()
    };
    if let Err(e) = crate::core::logger::configure(
        logger,
        settings.logfile.as_deref(),
        settings.logfile_maxsize,
    ) {
        log::error!("{e}");
        return exit::USAGE;
    }
    if settings.servers.is_empty() && settings.locals.is_empty() {
        log::error!("nothing to do: give --server URL or --local DIR (or a subcommand, see {cmd_name} --help)");
        return exit::USAGE;
    }
    if let Some(only) = &cli.only_targets {
        return pass_main(settings, only);
    }
    if settings.daemon {
        if settings.locals.iter().any(|l| l == "-") {
            log::error!("--local - (standard output) makes no sense with --daemon: give a folder");
            return exit::USAGE;
        }
        return daemon_main(settings, &|| crate::cli::settings(cli));
    }
    agent_main(settings)
}

#[cfg(feature = "daemon")]
fn daemon_main(settings: Settings, reload: &dyn Fn() -> Result<Settings, String>) -> i32 {
    crate::agent::daemon::main(settings, reload)
}

#[cfg(not(feature = "daemon"))]
fn daemon_main(_: Settings, _: &dyn Fn() -> Result<Settings, String>) -> i32 {
    log::error!("this build has no daemon mode (built without the daemon feature): run it from cron instead");
    exit::USAGE
}

#[cfg(feature = "client")]
fn agent_main(settings: Settings) -> i32 {
    crate::agent::main(settings)
}

#[cfg(feature = "client")]
fn pass_main(settings: Settings, only: &str) -> i32 {
    crate::agent::pass(settings, only)
}

#[cfg(not(feature = "client"))]
fn pass_main(_: Settings, _: &str) -> i32 {
    exit::USAGE
}

#[cfg(not(feature = "client"))]
fn agent_main(_: Settings) -> i32 {
    log::error!(
        "this build has no agent (built without the client feature): use `uagent inventory`"
    );
    exit::USAGE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launcher_names_imply_their_subcommand() {
        assert_eq!(
            implied_subcommand("/usr/bin/uagent-inventory"),
            Some("inventory")
        );
        assert_eq!(implied_subcommand("uagent-injector"), Some("inject"));
        assert_eq!(implied_subcommand("uagent-wakeonlan"), Some("wakeonlan"));
        assert_eq!(implied_subcommand("/usr/bin/uagent"), None);
    }

    #[test]
    fn the_command_line_overrides_the_configuration_file() {
        let dir = std::env::temp_dir().join(format!("uagent-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("agent.cfg");
        std::fs::write(
            &conf,
            "server = http://from-file/\ntag = file\ntimeout = 5\nlazy = 1\n",
        )
        .unwrap();
        let cli = Cli::from_args(
            &["uagent"],
            &[
                "--conf-file",
                conf.to_str().unwrap(),
                "--tag",
                "cli",
                "--server",
                "http://a/,http://b/",
            ],
        )
        .unwrap();
        let s = settings(&cli).unwrap();
        assert_eq!(s.tag.as_deref(), Some("cli"));
        assert_eq!(s.servers, ["http://a/", "http://b/"]);
        assert_eq!(s.timeout, 5);
        assert!(s.lazy);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
