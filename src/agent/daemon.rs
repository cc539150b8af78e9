//! Managed mode: the resident agent. One thread, one smol executor: it sleeps until the next
//! target is due (no periodic wake-ups), serves the HTTP port meanwhile, runs each pass's tasks
//! as child processes, and obeys signals (TERM/INT stop cleanly, HUP reloads the settings).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use smol::{future, Async, LocalExecutor, Timer};

use super::run::{Agent, Outcome};
use crate::config::Settings;
use crate::random;
use crate::tasks::inventory::time;
use crate::vardir::write_atomic;

/// The single-instance lock: `<vardir>/uagent.lock`, flocked, holding the pid.
pub struct Lock {
    _file: Flock<File>,
    path: PathBuf,
}

impl Lock {
    pub fn take(vardir: &Path) -> Result<Lock, String> {
        fs::create_dir_all(vardir)
            .map_err(|e| format!("cannot create {}: {e}", vardir.display()))?;
        let path = vardir.join("uagent.lock");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(mut locked) => {
                let _ = locked.set_len(0);
                let _ = writeln!(&mut *locked, "{}", std::process::id());
                Ok(Lock {
                    _file: locked,
                    path,
                })
            }
            Err((mut file, _)) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                Err(format!(
                    "another uagent daemon is running on {} (pid {}); stop it first",
                    vardir.display(),
                    pid.trim()
                ))
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Why the scheduler woke up.
enum Wake {
    Due,
    Now(NowRequest),
    Signal(Signal),
}

/// A run-now request from the HTTP server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NowRequest {
    Target(usize),
    All,
}

/// Signals as a readable file descriptor, so that the executor waits for them like for any I/O.
struct Signals(Async<SignalFd>);

impl Signals {
    fn new() -> io::Result<Signals> {
        let mut mask = SigSet::empty();
        for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
            mask.add(s);
        }
        mask.thread_block().map_err(io::Error::from)?;
        let fd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(io::Error::from)?;
        Ok(Signals(Async::new(fd)?))
    }

    async fn next(&self) -> Signal {
        loop {
            let got = self
                .0
                .read_with(|fd| match fd.read_signal() {
                    Ok(Some(info)) => Ok(info.ssi_signo),
                    Ok(None) => Err(io::ErrorKind::WouldBlock.into()),
                    Err(e) => Err(io::Error::from(e)),
                })
                .await;
            if let Ok(Ok(sig)) = got.map(|n| Signal::try_from(n as i32)) {
                return sig;
            }
        }
    }
}

/// Removes what an interrupted run may have left in the state directory.
fn clean_stale_state(statedir: &Path) {
    let Ok(targets) = fs::read_dir(statedir.join("targets")) else {
        return;
    };
    for t in targets.flatten() {
        let _ = fs::remove_file(t.path().join("digests.new"));
        if let Ok(files) = fs::read_dir(t.path()) {
            for f in files.flatten() {
                if f.file_name().to_string_lossy().contains(".tmp") {
                    let _ = fs::remove_file(f.path());
                }
            }
        }
    }
}

/// First contacts: a date kept from an earlier run stands; otherwise a random point between
/// 50 % and 100 % of `delaytime`, so that a fleet started together does not call together.
fn first_schedule(agent: &mut Agent) {
    let now = time::now();
    let delay = agent.settings.delaytime;
    for t in &mut agent.targets {
        if agent.settings.force {
            t.state.next_run = now;
        } else if t.state.next_run <= now {
            t.state.next_run = now + (delay / 2 + random::below(delay / 2 + 1)) as i64;
        }
        log::info!(
            "{}: next run at {}",
            t.name(),
            time::format_datetime(t.state.next_run)
        );
    }
}

pub fn main(settings: Settings, reload: &dyn Fn() -> Result<Settings, String>) -> i32 {
    let lock = match Lock::take(&settings.vardir) {
        Ok(l) => l,
        Err(e) => {
            log::error!("{e}");
            return crate::exit::RUNNING;
        }
    };
    let signals = match Signals::new() {
        Ok(s) => s,
        Err(e) => {
            log::error!("cannot watch signals: {e}");
            return crate::exit::USAGE;
        }
    };
    let pidfile = settings.pidfile.clone();
    if let Some(p) = &pidfile {
        if let Err(e) = write_atomic(p, format!("{}\n", std::process::id()).as_bytes()) {
            log::warn!("cannot write the pid file {}: {e}", p.display());
        }
    }
    clean_stale_state(settings.statedir());
    let code = super::block_on(async {
        let ex = LocalExecutor::new();
        ex.run(serve(settings, reload, &signals, &ex)).await
    });
    if let Some(p) = &pidfile {
        let _ = fs::remove_file(p);
    }
    drop(lock);
    code
}

async fn serve(
    settings: Settings,
    reload: &dyn Fn() -> Result<Settings, String>,
    signals: &Signals,
    ex: &LocalExecutor<'_>,
) -> i32 {
    let mut agent = match Agent::new(settings) {
        Ok(a) => a,
        Err(e) => {
            log::error!("{e}");
            return crate::exit::USAGE;
        }
    };
    agent.client = None;
    log::info!(
        "uagent {} daemon started on {} ({})",
        env!("CARGO_PKG_VERSION"),
        super::run::hostname(),
        agent.deviceid
    );
    first_schedule(&mut agent);
    let (now_tx, now_rx) = smol::channel::bounded::<NowRequest>(16);
    let mut httpd = start_httpd(&agent, now_tx.clone(), ex);
    loop {
        let next = agent
            .targets
            .iter()
            .map(|t| t.state.next_run)
            .min()
            .unwrap_or(i64::MAX);
        let wait = (next - time::now()).clamp(0, 365 * 86_400) as u64;
        let wake = future::or(
            future::or(
                async {
                    Timer::after(Duration::from_secs(wait)).await;
                    Wake::Due
                },
                async {
                    match now_rx.recv().await {
                        Ok(r) => Wake::Now(r),
                        Err(_) => future::pending().await,
                    }
                },
            ),
            async { Wake::Signal(signals.next().await) },
        )
        .await;
        match wake {
            Wake::Due => {}
            Wake::Now(r) => {
                let now = time::now();
                match r {
                    NowRequest::Target(i) => {
                        if let Some(t) = agent.targets.get_mut(i) {
                            log::info!(
                                "rescheduling next contact for target {} right now",
                                t.name()
                            );
                            t.state.next_run = now;
                        }
                    }
                    NowRequest::All => {
                        log::info!("rescheduling next contact for all targets right now");
                        for t in &mut agent.targets {
                            t.state.next_run = now;
                        }
                    }
                }
            }
            Wake::Signal(Signal::SIGHUP) => {
                log::info!("SIGHUP: reloading the settings");
                save_all(&mut agent);
                match reload().and_then(Agent::new) {
                    Ok(mut new) => {
                        new.client = None;
                        first_schedule(&mut new);
                        agent = new;
                        drop(httpd.take());
                        httpd = start_httpd(&agent, now_tx.clone(), ex);
                    }
                    Err(e) => log::error!("cannot reload the settings, keeping the old ones: {e}"),
                }
                continue;
            }
            Wake::Signal(sig) => {
                log::info!("{sig}: stopping");
                save_all(&mut agent);
                return crate::exit::OK;
            }
        }
        // A pass; a stop signal meanwhile kills the running task (its future is dropped) and
        // the state reached so far is kept.
        let stop = future::or(
            async {
                let _: Outcome = agent.run_pass(true).await;
                None
            },
            async { Some(signals.next().await) },
        )
        .await;
        agent.client = None;
        save_all(&mut agent);
        if let Some(sig) = stop {
            if sig == Signal::SIGHUP {
                log::info!("SIGHUP during a run: the run was stopped; reload with SIGHUP again");
                continue;
            }
            log::info!("{sig}: stopping (the running task was killed)");
            return crate::exit::OK;
        }
    }
}

fn save_all(agent: &mut Agent) {
    for t in &mut agent.targets {
        t.save();
    }
}

#[cfg(feature = "httpd")]
fn start_httpd<'a>(
    agent: &Agent,
    now: smol::channel::Sender<NowRequest>,
    ex: &LocalExecutor<'a>,
) -> Option<smol::Task<()>> {
    let _ = (agent, now, ex);
    None
}

#[cfg(not(feature = "httpd"))]
fn start_httpd<'a>(
    agent: &Agent,
    _now: smol::channel::Sender<NowRequest>,
    _ex: &LocalExecutor<'a>,
) -> Option<smol::Task<()>> {
    if !agent.settings.no_httpd {
        log::info!("this build has no HTTP server (built without the httpd feature)");
    }
    None
}
