//! The command line, composed of the parts' own: without a command, `uagent` is the agent
//! (half-managed from cron, or `--daemon`), whose options are the settings table's; a task's
//! name runs that task by hand (its own argh command line); `inject` uploads saved results.
//! The launchers named after the Perl agents' (`uagent-inventory`, `uagent-injector`, …) are
//! links to this binary, recognised by the name it was called by.

use crate::config::cmdline::{self, Line, Opt};
use crate::config::{Group, Settings, DEFAULT_CONF_FILE};
use crate::core::console::say;
use crate::core::{exit, logger};
use crate::tasks;

/// The agent's options that are not settings.
const AGENT_OPTS: &[Opt] = &[
    Opt {
        name: "conf-file",
        short: None,
        meta: "FILE",
        help: "configuration file (default /etc/uagent/agent.cfg)",
    },
    Opt {
        name: "version",
        short: None,
        meta: "",
        help: "print the version and exit",
    },
    Opt {
        name: "help",
        short: Some('h'),
        meta: "",
        help: "print this help and exit",
    },
    Opt {
        name: "list-tasks",
        short: None,
        meta: "",
        help: "list the tasks this build has and exit",
    },
    Opt {
        name: "list-categories",
        short: None,
        meta: "",
        help: "list the inventory categories and exit",
    },
    Opt {
        name: "setup",
        short: None,
        meta: "",
        help: "print the files and folders in use, and the settings, and exit",
    },
];

/// Every group of settings: the agent takes them all.
pub const ALL_GROUPS: &[Group] = &[
    Group::Targets,
    Group::Schedule,
    Group::Tasks,
    Group::Connection,
    Group::StateDirs,
    Group::Daemon,
    Group::Httpd,
    Group::Deploy,
    Group::Log,
];

/// The injector's launcher name, beside the tasks' own.
const INJECTOR: &str = "uagent-injector";

/// The command a launcher link stands for.
fn implied_command(argv0: &str) -> Option<&'static str> {
    let name = argv0.rsplit('/').next().unwrap_or(argv0);
    if name == INJECTOR {
        return Some("inject");
    }
    tasks::ALL
        .iter()
        .find(|t| !t.launcher.is_empty() && t.launcher == name)
        .map(|t| t.name)
}

pub fn main() -> i32 {
    let args: Vec<String> = std::env::args().collect();
    let argv0 = args.first().map_or("uagent", String::as_str);
    let program = argv0.rsplit('/').next().unwrap_or("uagent");
    let mut rest: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    let implied = implied_command(argv0);
    if let Some(c) = implied {
        rest.insert(0, c);
    }
    // How a part's help names the command: `uagent-inventory`, or `uagent inventory`.
    let path = |name: &'static str| -> Vec<&str> {
        match implied {
            Some(_) => vec![program],
            None => vec![program, name],
        }
    };
    match rest.split_first() {
        Some((&"task", args)) => tasks::task_main(&[program, "task"], args),
        Some((&"pass", args)) => pass_main(&[program, "pass"], args),
        Some((&"inject", args)) => inject_main(&path("inject"), args),
        Some((name, args)) if tasks::find(name).is_some() => {
            tasks::launcher_main(&path(tasks::find(name).map_or("", |t| t.name)), name, args)
        }
        _ => agent_main(program, &rest),
    }
}

/// The agent's help: its options, then the commands.
fn agent_help(program: &str) -> String {
    let mut h = cmdline::help(
        &format!("{program} [OPTIONS]\n       {program} COMMAND [OPTIONS]"),
        "uagent: inventory and management agent for OCS Inventory NG and GLPI servers.\n\
         Without a command: contact the servers, run the tasks they ask for, send the results.",
        AGENT_OPTS,
        ALL_GROUPS,
    );
    h.push_str("\n\nCommands:\n");
    for t in tasks::built() {
        h.push_str(&format!(
            "  {:<12}  run the {} task here\n",
            t.name, t.title
        ));
    }
    h.push_str(&format!(
        "  {:<12}  upload saved inventories to a server",
        "inject"
    ));
    h
}

/// The settings of an agent run: defaults, the configuration file, then this command line.
/// Unknown keys of the file come back as notes, for the caller to log.
pub fn settings(line: &Line) -> Result<(Settings, Vec<String>), String> {
    let mut s = Settings::default();
    let mut notes = Vec::new();
    match line.value("conf-file") {
        Some(f) => s.load_file(std::path::Path::new(f), &mut notes)?,
        None => {
            let default = std::path::Path::new(DEFAULT_CONF_FILE);
            if default.exists() {
                s.load_file(default, &mut notes)?;
            }
        }
    }
    line.apply(&mut s)?;
    s.finish();
    Ok((s, notes))
}

fn usage_error(program: &str, e: &str) -> i32 {
    logger::init("core", 0);
    log::error!("{e}");
    log::info!("run {program} --help for the options");
    exit::USAGE
}

fn agent_main(program: &str, args: &[&str]) -> i32 {
    let line = match cmdline::parse(args, AGENT_OPTS, ALL_GROUPS) {
        Ok(l) => l,
        Err(e) => return usage_error(program, &e),
    };
    if line.has("help") {
        say(&agent_help(program));
        return exit::OK;
    }
    if line.has("version") {
        say(&format!("uagent {}", env!("CARGO_PKG_VERSION")));
        return exit::OK;
    }
    if line.has("list-tasks") {
        for t in tasks::built() {
            say(&format!("{:<12} {}", t.name, t.title));
        }
        return exit::OK;
    }
    if line.has("list-categories") {
        return tasks::launcher_main(&[program], "inventory", &["--list-categories"]);
    }
    let (settings, notes) = match settings(&line) {
        Ok(s) => s,
        Err(e) => return usage_error(program, &e),
    };
    if line.has("setup") {
        logger::init("core", 0);
        for n in notes.iter().chain(&line.notices) {
            log::warn!("{n}");
        }
        say(&setup(&line, &settings));
        return exit::OK;
    }
    logger::init("core", settings.log.debug);
    if let Err(e) = logger::configure(&settings.log_destinations()) {
        log::error!("{e}");
        return exit::USAGE;
    }
    // Every unknown, unsupported or mistyped setting is said on every start, where the
    // lines go (the logger had to be set up first).
    for n in notes.iter().chain(&line.notices) {
        log::warn!("{n}");
    }
    match check(&settings) {
        Ok(notices) => notices.iter().for_each(|n| log::info!("{n}")),
        Err(e) => {
            log::error!("{e}");
            return exit::USAGE;
        }
    }
    if settings.targets.servers.is_empty() && settings.targets.locals.is_empty() {
        log::error!(
            "nothing to do: give --server URL or --local DIR (or a command, see {program} --help)"
        );
        return exit::USAGE;
    }
    if settings.daemon.daemon {
        if settings.targets.locals.iter().any(|l| l == "-") {
            log::error!("--local - (standard output) makes no sense with --daemon: give a folder");
            return exit::USAGE;
        }
        // A reload says again what the file has that uagent does not take.
        let reload = || {
            self::settings(&line).map(|(s, notes)| {
                notes.iter().for_each(|n| log::warn!("{n}"));
                s
            })
        };
        return daemon_main(settings, &reload);
    }
    half_managed_main(settings)
}

/// What names tasks and categories, checked against what this build has: a typo, or a task
/// this build lacks, is an error (a run that does nothing and exits 0 would hide it); the Perl
/// agents' categories that uagent does not collect come back as notices.
fn check(s: &Settings) -> Result<Vec<String>, String> {
    let built: Vec<&str> = tasks::built().map(|t| t.name).collect();
    for name in &s.tasks.tasks {
        match tasks::find(name) {
            Some(t) if t.built => {}
            Some(t) => {
                return Err(format!(
                    "--tasks {name}: {}; this build has: {}",
                    tasks::not_built(t),
                    built.join(", ")
                ))
            }
            None => {
                return Err(format!(
                    "--tasks {name}: no such task; this build has: {}",
                    built.join(", ")
                ))
            }
        }
    }
    if let Some(name) = s.tasks.no_task.iter().find(|n| tasks::find(n).is_none()) {
        return Err(format!(
            "--no-task {name}: no such task; this build has: {}",
            built.join(", ")
        ));
    }
    let (_, others) = tasks::inventory::parse_categories(&s.tasks.no_category)?;
    Ok(others
        .iter()
        .map(|c| format!("--no-category {c}: not inventoried by uagent anyway"))
        .collect())
}

/// `--setup`: the files and folders in use, then every setting (secrets hidden).
fn setup(line: &Line, s: &Settings) -> String {
    let conf = line.value("conf-file").unwrap_or(DEFAULT_CONF_FILE);
    let read = if std::path::Path::new(conf).exists() {
        "read"
    } else {
        "not found"
    };
    let mut out = format!(
        "conf-file: {conf} ({read})\nvardir: {}\nstatedir: {}\nbinary: {}\n\nsettings:",
        s.state.vardir.display(),
        s.statedir().display(),
        std::env::current_exe().map_or_else(|_| "?".into(), |p| p.display().to_string()),
    );
    for k in crate::config::KEYS {
        let v = k.show(s);
        let v = if k.secret && !v.is_empty() {
            "(set, not shown)".to_string()
        } else {
            v
        };
        out.push_str(&format!("\n  {} = {v}", k.name));
    }
    out
}

#[cfg(feature = "client")]
fn inject_main(command: &[&str], args: &[&str]) -> i32 {
    crate::inject::main(command, args)
}

#[cfg(not(feature = "client"))]
fn inject_main(_: &[&str], _: &[&str]) -> i32 {
    logger::init("core", 0);
    log::error!("this build cannot send anything (built without the client feature)");
    exit::USAGE
}

#[cfg(feature = "client")]
fn pass_main(command: &[&str], args: &[&str]) -> i32 {
    crate::agent::pass_main(command, args)
}

#[cfg(not(feature = "client"))]
fn pass_main(_: &[&str], _: &[&str]) -> i32 {
    exit::USAGE
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
fn half_managed_main(settings: Settings) -> i32 {
    crate::agent::main(settings)
}

#[cfg(not(feature = "client"))]
fn half_managed_main(_: Settings) -> i32 {
    log::error!(
        "this build has no agent (built without the client feature): use `uagent inventory`"
    );
    exit::USAGE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launcher_names_imply_their_command() {
        assert_eq!(
            implied_command("/usr/bin/uagent-inventory"),
            Some("inventory")
        );
        assert_eq!(implied_command("uagent-injector"), Some("inject"));
        assert_eq!(
            implied_command("uagent-wakeonlan"),
            Some("wakeonlan"),
            "a launcher is known even when this build lacks its task"
        );
        assert_eq!(implied_command("uagent-netdiscovery"), Some("netdiscovery"));
        assert_eq!(implied_command("/usr/bin/uagent"), None);
    }

    #[test]
    fn the_command_line_overrides_the_configuration_file() {
        let dir = std::env::temp_dir().join(format!("uagent-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("agent.cfg");
        std::fs::write(
            &conf,
            "server = http://from-file/\ntag = file\ntimeout = 5\nlazy = 1\nlogfile = /tmp/x.log\n",
        )
        .unwrap();
        let line = cmdline::parse(
            &[
                "--conf-file",
                conf.to_str().unwrap(),
                "--tag",
                "cli",
                "--server",
                "http://a/,http://b/",
            ],
            AGENT_OPTS,
            ALL_GROUPS,
        )
        .unwrap();
        let (s, notes) = settings(&line).unwrap();
        assert_eq!(s.tasks.tag.as_deref(), Some("cli"));
        assert_eq!(s.targets.servers, ["http://a/", "http://b/"]);
        assert_eq!(s.connection.timeout, 5);
        assert!(s.schedule.lazy);
        assert_eq!(s.log.logger, ["file"], "--logfile means logging to it");
        assert!(notes.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_help_names_every_built_command() {
        let h = agent_help("uagent");
        for t in tasks::built() {
            assert!(h.contains(&format!("  {}", t.name)));
        }
        assert!(h.contains("  inject"));
        let commands = h.split("Commands:").nth(1).unwrap();
        assert!(
            !commands.contains("  task") && !commands.contains("  pass"),
            "internal commands stay out of the help"
        );
    }
}
