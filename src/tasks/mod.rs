//! Tasks: the agent's features. Each one runs on its own (a launcher, or a child process of the
//! agent with a time limit) so that the resident part stays small.

pub mod inventory;
#[cfg(feature = "wakeonlan")]
pub mod wakeonlan;

use crate::cli::TaskArgs;
use crate::core::{exit, logger};

/// `uagent task NAME`: one task in this process, as the agent starts them.
pub fn run_task(a: &TaskArgs) -> i32 {
    // The daemon blocks the signals it reads through a signalfd, and a blocked mask survives
    // exec: a task must be stoppable like any process.
    let _ = nix::sys::signal::SigSet::all().thread_unblock();
    delay_for_tests();
    match a.name.as_str() {
        "inventory" => {
            logger::init("inventory", u8::from(a.debug));
            inventory::command::run_task(a)
        }
        #[cfg(feature = "wakeonlan")]
        "wakeonlan" => {
            logger::init("wakeonlan", u8::from(a.debug));
            wakeonlan::run_task(a)
        }
        other => {
            logger::init("core", 0);
            log::error!("unknown task {other:?}");
            exit::USAGE
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
