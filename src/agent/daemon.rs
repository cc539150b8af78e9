//! Managed mode: the resident agent. One thread, one smol executor: it sleeps until the next
//! target is due (no periodic wake-ups), serves the HTTP port meanwhile, runs each pass's tasks
//! as child processes, and obeys signals (TERM/INT stop cleanly, HUP reloads the settings).

use std::fs;
use std::io;
use std::time::Duration;

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use smol::{future, Async, LocalExecutor, Timer};

use super::run::Agent;
use crate::config::Settings;
use crate::core::schedule;
use crate::core::schedule::NowRequest;
use crate::core::time;
use crate::state::lock::Lock;
use crate::state::{write_atomic, Vardir};

/// Why the scheduler woke up.
enum Wake {
    Due,
    Now(NowRequest),
    Signal(Signal),
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

/// First contacts: a date kept from an earlier run stands; otherwise a random point between
/// 50 % and 100 % of `delaytime`, so that a fleet started together does not call together.
fn first_schedule(agent: &mut Agent) {
    let now = time::now();
    let delay = agent.settings.schedule.delaytime;
    for t in &mut agent.targets {
        if agent.settings.schedule.force {
            t.state.next_run = now;
        } else if t.state.next_run <= now {
            t.state.next_run = now + schedule::first_delay(delay) as i64;
        }
        log::info!(
            "{}: next run at {}",
            t.name(),
            time::format_datetime(t.state.next_run)
        );
    }
}

pub fn main(settings: Settings, reload: &dyn Fn() -> Result<Settings, String>) -> i32 {
    let lock = match Lock::take(&Vardir::new(&settings.state.vardir)) {
        Ok(l) => l,
        Err(e) => {
            log::error!("{e}");
            // Whoever started this one (procd, systemd, a shell) must see why it stopped.
            if settings.log.logger != "stderr" {
                eprintln!("uagent: {e}");
            }
            return crate::core::exit::RUNNING;
        }
    };
    let signals = match Signals::new() {
        Ok(s) => s,
        Err(e) => {
            log::error!("cannot watch signals: {e}");
            return crate::core::exit::USAGE;
        }
    };
    let pidfile = settings.daemon.pidfile.clone();
    if let Some(p) = &pidfile {
        if let Err(e) = write_atomic(p, format!("{}\n", std::process::id()).as_bytes()) {
            log::warn!("cannot write the pid file {}: {e}", p.display());
        }
    }
    crate::state::clean_stale(settings.statedir());
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
            return crate::core::exit::USAGE;
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
    let mut httpd = start_httpd(&mut agent, now_tx.clone(), ex);
    loop {
        if let Some(h) = &httpd {
            h.refresh(&agent);
        }
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
            future::or(async { Wake::Signal(signals.next().await) }, async {
                // Going idle, once every wake-up source is registered: give back the code
                // pages start-up or the last wake-up touched (what still runs from here on
                // is little more than parking the thread).
                super::resident::trim();
                future::pending().await
            }),
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
                        httpd = start_httpd(&mut agent, now_tx.clone(), ex);
                    }
                    Err(e) => log::error!("cannot reload the settings, keeping the old ones: {e}"),
                }
                continue;
            }
            Wake::Signal(sig) => {
                log::info!("{sig}: stopping");
                save_all(&mut agent);
                return crate::core::exit::OK;
            }
        }
        // A pass, in a process of its own (the HTTP client and TLS never stay resident here);
        // a stop signal meanwhile kills it. Its targets' state is then read back from disk,
        // where the pass kept it.
        let now = time::now();
        let due: Vec<usize> = (0..agent.targets.len())
            .filter(|&i| agent.targets[i].state.next_run <= now)
            .collect();
        if due.is_empty() {
            continue;
        }
        save_all(&mut agent);
        let stop = future::or(
            async {
                run_pass_process(&agent, &due).await;
                None
            },
            async { Some(signals.next().await) },
        )
        .await;
        agent.set_status("waiting");
        for i in due {
            agent.reload_target(i);
        }
        if let Some(sig) = stop {
            if sig == Signal::SIGHUP {
                log::info!("SIGHUP during a run: the run was stopped; reload with SIGHUP again");
                continue;
            }
            log::info!("{sig}: stopping (the running task was killed)");
            return crate::core::exit::OK;
        }
    }
}

/// Runs a pass process; its status lines feed /status, its log lines the daemon's logger.
async fn run_pass_process(agent: &Agent, due: &[usize]) {
    let s = &agent.settings;
    // Each task has its own limit; this one only catches a pass that hangs around them (the
    // inventory, another task, and a deploy task per family enabled).
    let tasks = 2 + s.deploy.deploy.len().min(2) as u64;
    let limit = Duration::from_secs(
        s.tasks
            .task_timeout
            .saturating_mul(tasks)
            .saturating_add(s.connection.timeout.saturating_mul(4))
            .saturating_add(60),
    );
    let on_line = |line: &str| {
        if let Some(status) = line.strip_prefix("status ") {
            agent.set_status(status);
        }
    };
    let pass = super::PassArgs::new(due);
    match super::child::run_pass(&pass, &s.to_text(), limit, &on_line).await {
        Ok(code) if code != 0 => log::info!("pass ended with exit code {code}"),
        Ok(_) => {}
        Err(e) => log::error!("the pass {e}"),
    }
}

fn save_all(agent: &mut Agent) {
    for t in &mut agent.targets {
        t.save();
    }
}

/// The HTTP server while it runs, and what it shows.
#[cfg(feature = "httpd")]
struct Httpd {
    _task: smol::Task<()>,
    view: std::rc::Rc<std::cell::RefCell<crate::httpd::View>>,
}

#[cfg(not(feature = "httpd"))]
struct Httpd;

impl Httpd {
    /// Shows the targets' next runs as they are now.
    #[cfg(feature = "httpd")]
    fn refresh(&self, agent: &Agent) {
        use crate::state::target::Destination;
        self.view.borrow_mut().targets = agent
            .targets
            .iter()
            .map(|t| crate::httpd::TargetView {
                name: t.name().to_string(),
                is_server: matches!(t.dest, Destination::Server(_)),
                next_run: t.state.next_run,
            })
            .collect();
    }

    #[cfg(not(feature = "httpd"))]
    fn refresh(&self, _: &Agent) {}
}

#[cfg(feature = "httpd")]
fn start_httpd(
    agent: &mut Agent,
    now: smol::channel::Sender<NowRequest>,
    ex: &LocalExecutor<'_>,
) -> Option<Httpd> {
    use crate::state::target::Destination;
    use std::cell::RefCell;
    use std::rc::Rc;
    let s = &agent.settings;
    if s.httpd.no_httpd {
        return None;
    }
    let ip = match s
        .httpd
        .httpd_ip
        .as_deref()
        .map(str::parse::<std::net::IpAddr>)
    {
        None => None,
        Some(Ok(ip)) => Some(ip),
        Some(Err(_)) => {
            log::error!(
                "httpd: --httpd-ip {:?} is not an IP address; no HTTP server",
                s.httpd.httpd_ip.as_deref().unwrap_or("")
            );
            return None;
        }
    };
    let server_hosts = agent
        .targets
        .iter()
        .map(|t| match &t.dest {
            Destination::Server(u) => crate::protocol::server::server_url(u)
                .map(|u| u.host)
                .unwrap_or_default(),
            Destination::Local(_) => String::new(),
        })
        .collect();
    let cfg = crate::httpd::Config {
        ip,
        port: s.httpd.httpd_port,
        trust: s.httpd.httpd_trust.clone(),
        server_hosts,
        shared_dir: Vardir::new(&s.state.vardir).shared_dir(),
        log_file: s.log.logfile.clone(),
        deviceid: agent.deviceid.clone(),
        ..crate::httpd::Config::default()
    };
    let listener = match crate::httpd::bind(&cfg) {
        Ok(l) => l,
        Err(e) => {
            log::error!("httpd: {e}; going on without the HTTP server");
            return None;
        }
    };
    let view = Rc::new(RefCell::new(crate::httpd::View {
        status: "waiting".into(),
        targets: Vec::new(),
    }));
    let shown = Rc::clone(&view);
    agent.on_status = Some(Box::new(move |status| {
        shown.borrow_mut().status = status.to_string()
    }));
    let task = ex.spawn(crate::httpd::serve(listener, cfg, Rc::clone(&view), now));
    let h = Httpd { _task: task, view };
    h.refresh(agent);
    Some(h)
}

#[cfg(not(feature = "httpd"))]
fn start_httpd(
    agent: &mut Agent,
    _now: smol::channel::Sender<NowRequest>,
    _ex: &LocalExecutor<'_>,
) -> Option<Httpd> {
    if !agent.settings.httpd.no_httpd {
        log::info!("this build has no HTTP server (built without the httpd feature)");
    }
    None
}
