//! The agent proper, the small main process: it loads the settings, keeps per-target state in
//! the state directory, talks to the servers (PROLOG or CONTACT), starts the tasks they ask for
//! as child processes with a time limit, and sends what the tasks produce.
//!
//! `run` is one pass over every target (the half-managed mode, from cron); the daemon calls
//! the same pass on its own schedule.

pub mod child;
#[cfg(feature = "daemon")]
pub mod daemon;
#[cfg(feature = "daemon")]
pub mod resident;
pub mod run;

use crate::config::Settings;
use smol::future;

/// Runs `fut` on the one-thread executor, with the child-process reaper driven here rather
/// than by a thread of its own.
pub fn block_on<T>(fut: impl std::future::Future<Output = T>) -> T {
    smol::block_on(future::or(fut, async {
        match smol::process::driver().await {}
    }))
}

/// `uagent --only-targets 0,2 …`: the daemon's pass, in a process of its own so that the TLS
/// and HTTP client state never stays in the resident process. Status changes go to stdout as
/// `status TEXT` lines, for the daemon's /status.
pub fn pass(mut settings: Settings, only: &str) -> i32 {
    settings.daemon = false;
    let mut agent = match run::Agent::new(settings) {
        Ok(a) => a,
        Err(e) => {
            log::error!("{e}");
            return crate::core::exit::USAGE;
        }
    };
    agent.only = Some(
        only.split(',')
            .filter_map(|i| i.trim().parse().ok())
            .collect(),
    );
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
    if settings.wait > 0 {
        let d = crate::core::schedule::initial_wait(settings.wait);
        log::info!(
            "waiting {} s before the run (--wait {})",
            d.as_secs(),
            settings.wait
        );
        std::thread::sleep(d);
    }
    let lazy = settings.lazy;
    let mut agent = match run::Agent::new(settings) {
        Ok(a) => a,
        Err(e) => {
            log::error!("{e}");
            return crate::core::exit::USAGE;
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
