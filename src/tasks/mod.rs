//! Tasks: the agent's features. Each one runs on its own (a launcher, or a child process of the
//! agent with a time limit) so that the resident part stays small.
//!
//! This file is the registry: one line per task gives its folder, the Cargo feature that
//! builds it, its name, its launcher and which server order starts it. A task folder has its
//! `Args` (one argh command line for the launcher and for `uagent task NAME`, with the
//! `to_argv` the agent starts it with: they travel on the task's standard input, never its
//! command line, see [`argv`]) and `main(&Args) -> i32`.

pub mod argv;
#[cfg(any(feature = "netdiscovery", feature = "netinventory"))]
pub mod jobtext;
#[cfg(any(feature = "netdiscovery", feature = "netinventory"))]
pub mod netout;

use crate::core::{exit, logger};

/// What the agent and the command line know of a task.
#[derive(Debug)]
pub struct Info {
    /// `uagent NAME`, `uagent task NAME`, and its name in `--tasks` and GLPI's CONTACT.
    pub name: &'static str,
    /// For people: "wake-on-LAN".
    pub title: &'static str,
    /// The Cargo feature that builds it ("" when always built).
    pub feature: &'static str,
    /// The link name that runs it (`uagent-inventory`), after the Perl agents' launchers.
    pub launcher: &'static str,
    /// The PROLOG reply's OPTION that starts it (OCS, FusionInventory).
    pub prolog_option: Option<&'static str>,
    /// Whether this build has it.
    pub built: bool,
}

/// Declares the tasks: their modules, [`ALL`], and [`Command`], the parsed command line of any
/// task this build has.
macro_rules! registry {
    ($(
        $Variant:ident($module:ident) if cfg($($cfg:tt)*):
            $name:literal, $title:literal, feature $feature:literal, launcher $launcher:literal,
            prolog $prolog:expr;
    )*) => {
        $( #[cfg($($cfg)*)] pub mod $module; )*

        /// Every task uagent has, built here or not.
        pub const ALL: &[Info] = &[ $( Info {
            name: $name,
            title: $title,
            feature: $feature,
            launcher: $launcher,
            prolog_option: $prolog,
            built: cfg!($($cfg)*),
        }, )* ];

        /// One task with its arguments. Made once per task run, so its size (that of the
        /// largest command line) does not matter.
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant)]
        pub enum Command {
            $( #[cfg($($cfg)*)] $Variant($module::Args), )*
        }

        impl Command {
            pub fn name(&self) -> &'static str {
                match self { $( #[cfg($($cfg)*)] Command::$Variant(_) => $name, )* }
            }

            fn debug(&self) -> bool {
                match self { $( #[cfg($($cfg)*)] Command::$Variant(a) => a.debug, )* }
            }

            /// More log lines from the task.
            pub fn set_debug(&mut self, on: bool) {
                match self { $( #[cfg($($cfg)*)] Command::$Variant(a) => a.debug = on, )* }
            }

            /// The task `name` as a PROLOG reply's OPTION orders it; `None` when the option
            /// gives nothing valid to do.
            #[cfg(feature = "client")]
            pub fn from_prolog(
                name: &str,
                option: &crate::protocol::messages::OptionBlock,
            ) -> Option<Command> {
                let _ = option;
                match name {
                    $( #[cfg($($cfg)*)] $name => $module::Args::from_prolog(option).map(Command::$Variant), )*
                    _ => None,
                }
            }

            /// The task's name and arguments, as `uagent task` reads them back.
            pub fn to_argv(&self) -> Vec<String> {
                let args = match self { $( #[cfg($($cfg)*)] Command::$Variant(a) => a.to_argv(), )* };
                let mut out = vec![self.name().to_string()];
                out.extend(args);
                out
            }

            /// Parses the arguments of the task `name` (`command` is how the help names it);
            /// `None` when this build has no such task.
            pub fn parse(
                command: &[&str],
                name: &str,
                args: &[&str],
            ) -> Option<Result<Command, argh::EarlyExit>> {
                use argh::FromArgs;
                let _ = (command, args);
                match name {
                    $( #[cfg($($cfg)*)] $name => Some(
                        $module::Args::from_args(command, args).map(Command::$Variant),
                    ), )*
                    _ => None,
                }
            }

            /// Runs the task in this process; its exit code.
            pub fn run(&self) -> i32 {
                match self { $( #[cfg($($cfg)*)] Command::$Variant(a) => $module::main(a), )* }
            }
        }
    };
}

registry! {
    Inventory(inventory) if cfg(all()):
        "inventory", "inventory", feature "", launcher "uagent-inventory", prolog None;
    Wakeonlan(wakeonlan) if cfg(feature = "wakeonlan"):
        "wakeonlan", "wake-on-LAN", feature "wakeonlan", launcher "uagent-wakeonlan",
        prolog Some("WAKEONLAN");
    Deploy(deploy) if cfg(feature = "deploy"):
        "deploy", "deployment", feature "deploy", launcher "uagent-deploy",
        prolog Some("DOWNLOAD");
    Netdiscovery(netdiscovery) if cfg(feature = "netdiscovery"):
        "netdiscovery", "network discovery", feature "netdiscovery",
        launcher "uagent-netdiscovery", prolog Some("NETDISCOVERY");
    Netinventory(netinventory) if cfg(feature = "netinventory"):
        "netinventory", "network inventory", feature "netinventory",
        launcher "uagent-netinventory", prolog Some("SNMPQUERY");
}

/// The task named `name`, built here or not.
pub fn find(name: &str) -> Option<&'static Info> {
    ALL.iter().find(|t| t.name == name)
}

/// The tasks this build has, in the order they run.
pub fn built() -> impl Iterator<Item = &'static Info> {
    ALL.iter().filter(|t| t.built)
}

/// Why a task cannot run here: the one sentence for every build that lacks one.
pub fn not_built(t: &Info) -> String {
    format!(
        "this build has no {} (built without the {} feature)",
        t.title, t.feature
    )
}

/// `uagent NAME ARGS…` or a launcher link: one task, run by hand.
pub fn launcher_main(command: &[&str], name: &str, args: &[&str]) -> i32 {
    // Every launcher answers --version, as the Perl agents' do.
    if args.first() == Some(&"--version") {
        crate::core::console::say(&format!("uagent {}", env!("CARGO_PKG_VERSION")));
        return exit::OK;
    }
    let cmd = match parse_or_exit(command, name, args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    logger::init(cmd.name(), u8::from(cmd.debug()));
    cmd.run()
}

/// `uagent task NAME ARGS…`: one task in this process. The agent starts its tasks as
/// `uagent task` alone, with the name and arguments on standard input (see [`argv`]).
pub fn task_main(command: &[&str], args: &[&str]) -> i32 {
    // The daemon blocks the signals it reads through a signalfd, and a blocked mask survives
    // exec: a task must be stoppable like any process.
    let _ = nix::sys::signal::SigSet::all().thread_unblock();
    delay_for_tests();
    let from_stdin;
    let args: Vec<&str> = if args.is_empty() {
        from_stdin = match argv::decode(&mut std::io::stdin().lock()) {
            Ok(a) => a,
            Err(e) => {
                logger::init("core", 0);
                log::error!("uagent task: {e}");
                return exit::USAGE;
            }
        };
        from_stdin.iter().map(String::as_str).collect()
    } else {
        args.to_vec()
    };
    let Some((name, rest)) = args.split_first() else {
        logger::init("core", 0);
        log::error!("uagent task: which task?");
        return exit::USAGE;
    };
    let mut path = command.to_vec();
    path.push(name);
    match parse_or_exit(&path, name, rest) {
        Ok(cmd) => {
            logger::init(cmd.name(), u8::from(cmd.debug()));
            cmd.run()
        }
        Err(code) => code,
    }
}

/// The task's command, or the exit code after its help, its usage error, or the news that this
/// build has no such task.
fn parse_or_exit(command: &[&str], name: &str, args: &[&str]) -> Result<Command, i32> {
    match Command::parse(command, name, args) {
        Some(Ok(cmd)) => Ok(cmd),
        Some(Err(early)) => Err(crate::core::console::early_exit(&early, command)),
        None => {
            logger::init("core", 0);
            match find(name) {
                Some(t) => log::error!("{}", not_built(t)),
                None => log::error!(
                    "unknown task {name:?}; this build has: {}",
                    built().map(|t| t.name).collect::<Vec<_>>().join(", ")
                ),
            }
            Err(exit::USAGE)
        }
    }
}

/// `UAGENT_TASK_DELAY=N` makes a task process wait N seconds before it starts: the way to see
/// the agent's time limit and its status while a task runs, without a slow system at hand.
fn delay_for_tests() {
    if let Some(secs) = std::env::var("UAGENT_TASK_DELAY")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_secs(secs.min(3600)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every task's command line, written by `to_argv`, reads back as the same command.
    #[test]
    fn every_task_command_round_trips_through_its_argv() {
        #[cfg_attr(not(any(feature = "wakeonlan", feature = "deploy")), allow(unused_mut))]
        let mut cases = vec![Command::Inventory(inventory::Args {
            deviceid: Some("box-2026-01-01-00-00-00".into()),
            accountinfo: vec!["TAG=site a".into()],
            compress: true,
            ..Default::default()
        })];
        #[cfg(feature = "wakeonlan")]
        cases.push(Command::Wakeonlan(wakeonlan::Args {
            mac: vec!["00:11:22:aa:bb:cc".into()],
            ip: vec!["".into()],
            ..Default::default()
        }));
        #[cfg(feature = "deploy")]
        cases.push(Command::Deploy(deploy::Args {
            job: Some("-".into()),
            debug: true,
        }));
        #[cfg(feature = "netdiscovery")]
        cases.push(Command::Netdiscovery(netdiscovery::Args {
            community: vec!["on the command line by hand".into()],
            deviceid: Some("box-2026-01-01-00-00-00".into()),
            sysobject_ids: Some("/usr/share/glpi-agent/sysobject.ids".into()),
            frames: true,
            control: true,
            ..Default::default()
        }));
        #[cfg(feature = "netinventory")]
        cases.push(Command::Netinventory(netinventory::Args {
            host: vec!["10.0.0.1".into()],
            credentials: vec!["version:3,username:u".into()],
            deviceid: Some("box-2026-01-01-00-00-00".into()),
            frames: true,
            control: true,
            ..Default::default()
        }));
        for cmd in cases {
            let argv = cmd.to_argv();
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            let (name, rest) = argv.split_first().unwrap();
            let back = Command::parse(&["uagent", "task", name], name, rest)
                .unwrap()
                .unwrap_or_else(|e| panic!("{argv:?}: {}", e.output));
            assert_eq!(back, cmd);
        }
        assert_eq!(ALL.iter().filter(|t| t.built).count(), built().count());
    }

    #[test]
    fn a_task_this_build_lacks_is_named_with_its_feature() {
        let t = Info {
            name: "deploy",
            title: "deployment",
            feature: "deploy",
            launcher: "",
            prolog_option: None,
            built: false,
        };
        assert_eq!(
            not_built(&t),
            "this build has no deployment (built without the deploy feature)"
        );
        assert!(Command::parse(&["uagent"], "nonesuch", &[]).is_none());
    }
}
