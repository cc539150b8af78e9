//! The agent proper, the small main process: it loads the settings, keeps per-target state in
//! the state directory, talks to the servers (PROLOG or CONTACT), starts the tasks they ask for
//! as child processes with a time limit, and sends what the tasks produce.
//!
//! `run` is one pass over every target (the half-managed mode, from cron); the daemon runs the
//! same pass on its own schedule, in a process of its own (`uagent pass`).

pub mod child;
#[cfg(feature = "daemon")]
pub mod daemon;
#[cfg(feature = "daemon")]
pub mod resident;
pub mod run;

use std::io::Read;

use argh::FromArgs;
use smol::future;

use crate::config::Settings;
use crate::core::{exit, logger, schedule};

/// Largest settings text a pass reads on its standard input.
const MAX_PASS_SETTINGS: u64 = 1024 * 1024;

/// Runs `fut` on the one-thread executor, with the child-process reaper driven here rather
/// than by a thread of its own.
pub fn block_on<T>(fut: impl std::future::Future<Output = T>) -> T {
    smol::block_on(future::or(fut, async {
        match smol::process::driver().await {}
    }))
}

#[derive(FromArgs, Debug, Default, Clone, PartialEq)]
/// One pass of the daemon over some of its targets, in a process of its own so that the TLS and
/// HTTP client state never stays in the resident process. The settings come on standard input
/// (never on the command line, where every user could read the passwords); status changes go
/// to stdout as `status TEXT` lines, for the daemon's /status.
#[argh(subcommand, name = "pass")]
pub struct PassArgs {
    /// the targets of this pass, by index, comma-separated
    #[argh(option)]
    pub targets: String,
}

impl PassArgs {
    pub fn new(targets: &[usize]) -> PassArgs {
        PassArgs {
            targets: targets
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// The arguments that parse back into these (after `uagent pass`).
    pub fn to_argv(&self) -> Vec<String> {
        vec!["--targets".into(), self.targets.clone()]
    }

    fn indexes(&self) -> Vec<usize> {
        self.targets
            .split(',')
            .filter_map(|i| i.trim().parse().ok())
            .collect()
    }
}

/// `uagent pass --targets 0,2`, with the settings on standard input.
pub fn pass_main(command: &[&str], args: &[&str]) -> i32 {
    let a = match PassArgs::from_args(command, args) {
        Ok(a) => a,
        Err(early) => return crate::core::console::early_exit(&early, command),
    };
    logger::init("core", 0);
    let mut text = String::new();
    if let Err(e) = std::io::stdin()
        .lock()
        .take(MAX_PASS_SETTINGS + 1)
        .read_to_string(&mut text)
    {
        log::error!("cannot read the settings on standard input: {e}");
        return exit::USAGE;
    }
    // Cut settings would be other settings (a URL cut mid-way): refused whole.
    if text.len() as u64 > MAX_PASS_SETTINGS {
        log::error!("the settings on standard input are larger than {MAX_PASS_SETTINGS} bytes");
        return exit::USAGE;
    }
    let mut settings = Settings::default();
    if let Err(e) = settings.load_text(&text, "settings") {
        log::error!("{e}");
        return exit::USAGE;
    }
    // The daemon relays these lines to its own destination.
    logger::init("core", settings.log.debug);
    settings.daemon.daemon = false;
    let mut agent = match run::Agent::new(settings) {
        Ok(a) => a,
        Err(e) => {
            log::error!("{e}");
            return e.exit_code();
        }
    };
    agent.only = Some(a.indexes());
    agent.on_status = Some(Box::new(|status| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "status {status}");
        let _ = out.flush();
    }));
    block_on(agent.run_pass(false)).exit_code()
}

/// `uagent --server … [--local …]`: one pass over the targets, then exit (half-managed mode).
pub fn main(settings: Settings) -> i32 {
    if settings.schedule.wait > 0 {
        let d = schedule::initial_wait(settings.schedule.wait);
        log::info!(
            "waiting {} s before the run (--wait {})",
            d.as_secs(),
            settings.schedule.wait
        );
        std::thread::sleep(d);
    }
    let lazy = settings.schedule.lazy;
    let mut agent = match run::Agent::new(settings) {
        Ok(a) => a,
        Err(e) => {
            log::error!("{e}");
            return e.exit_code();
        }
    };
    log::info!(
        "uagent {} on {} ({})",
        env!("CARGO_PKG_VERSION"),
        run::hostname(),
        agent.deviceid
    );
    let outcome = block_on(agent.run_pass(lazy));
    outcome.exit_code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pass_command_line_round_trips() {
        let a = PassArgs::new(&[0, 2, 11]);
        let argv = a.to_argv();
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let back = PassArgs::from_args(&["uagent", "pass"], &argv).unwrap();
        assert_eq!(back, a);
        assert_eq!(back.indexes(), [0, 2, 11]);
    }
}
