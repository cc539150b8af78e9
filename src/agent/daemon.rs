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
            t.state.next_run = now.saturating_add(schedule::first_delay(delay) as i64);
        }
        // Whatever the state file says: not sooner than the floor after the last contact,
        // not later than a period from now.
        t.state.next_run = schedule::due_date(t.state.next_run, t.state.last_contact, now);
        log::info!(
            "{}: next run at {}",
            t.name(),
            time::format_datetime(t.state.next_run)
        );
    }
}

/// Goes into the background as the Perl agents' `--daemon` does: a child in a session of its
/// own, in `/`, with its standard streams on /dev/null; the parent exits at once with 0.
/// Runs before anything starts a thread (fork copies only the calling one).
fn detach() -> Result<(), String> {
    use nix::unistd::{fork, setsid, ForkResult};
    // SAFETY: the process has one thread here (no executor, no reactor yet), so the child
    // gets a consistent copy of everything.
    match unsafe { fork() }.map_err(|e| format!("cannot go into the background: {e}"))? {
        // Not a return: destructors (the lock's, which removes its file) belong to the child.
        ForkResult::Parent { .. } => std::process::exit(crate::core::exit::OK),
        ForkResult::Child => {}
    }
    setsid().map_err(|e| format!("setsid: {e}"))?;
    let _ = std::env::set_current_dir("/");
    let null = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| format!("cannot open /dev/null: {e}"))?;
    use nix::unistd::{dup2_stderr, dup2_stdin, dup2_stdout};
    dup2_stdin(&null)
        .and_then(|_| dup2_stdout(&null))
        .and_then(|_| dup2_stderr(&null))
        .map_err(|e| format!("cannot redirect the standard streams: {e}"))?;
    Ok(())
}

pub fn main(settings: Settings, reload: &dyn Fn() -> Result<Settings, String>) -> i32 {
    let mut lock = match Lock::take(&Vardir::new(&settings.state.vardir)) {
        Ok(l) => l,
        Err(e) => {
            log::error!("{e}");
            // Whoever started this one (procd, systemd, a shell) must see why it stopped.
            if !crate::core::logger::to_stderr() {
                eprintln!("uagent: {e}");
            }
            return crate::core::exit::RUNNING;
        }
    };
    if !settings.daemon.no_fork {
        if crate::core::logger::to_stderr() {
            log::warn!("going into the background: log lines on stderr are lost from now on (--logger file or syslog keeps them; --no-fork stays in the foreground)");
        }
        if let Err(e) = detach() {
            log::error!("{e}");
            return crate::core::exit::USAGE;
        }
        lock.write_pid();
    }
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
            return e.exit_code();
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
        let now = time::now();
        let next = agent
            .targets
            .iter()
            .map(|t| due(t, now))
            .min()
            .unwrap_or(i64::MAX);
        let wait = next
            .saturating_sub(now)
            .clamp(0, schedule::MAX_PERIOD as i64) as u64;
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
        // A partial inventory event: its target, and the categories.
        let mut event: Option<(usize, String)> = None;
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
                    NowRequest::Partial { target, categories } => {
                        let Some(t) = agent.targets.get(target) else {
                            continue;
                        };
                        log::info!(
                            "partial inventory event for target {}: {categories}",
                            t.name()
                        );
                        event = Some((target, categories));
                    }
                }
            }
            Wake::Signal(Signal::SIGHUP) => {
                log::info!("SIGHUP: reloading the settings");
                save_all(&mut agent);
                match reload().and_then(|s| Agent::new(s).map_err(|e| e.to_string())) {
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
        // An event runs its target at once and leaves the schedule as it was.
        let now = time::now();
        let (due, partial) = match event {
            Some((target, categories)) => (vec![target], Some(categories)),
            None => (
                (0..agent.targets.len())
                    .filter(|&i| due(&agent.targets[i], now) <= now)
                    .collect(),
                None,
            ),
        };
        if due.is_empty() {
            continue;
        }
        if let Some(code) = pass(&mut agent, &due, partial.as_deref(), signals).await {
            return code;
        }
    }
}

/// Runs a pass over `due` (a partial inventory of `partial` when given) in a process of its
/// own, then reads their state back; `Some(exit code)` when a stop signal came meanwhile.
async fn pass(
    agent: &mut Agent,
    due: &[usize],
    partial: Option<&str>,
    signals: &Signals,
) -> Option<i32> {
    save_all(agent);
    let stop = future::or(
        async {
            run_pass_process(agent, due, partial).await;
            None
        },
        async { Some(signals.next().await) },
    )
    .await;
    agent.set_status("waiting");
    for &i in due {
        agent.reload_target(i);
    }
    match stop {
        None => None,
        Some(Signal::SIGHUP) => {
            log::info!("SIGHUP during a run: the run was stopped; reload with SIGHUP again");
            None
        }
        Some(sig) => {
            log::info!("{sig}: stopping (the running task was killed)");
            Some(crate::core::exit::OK)
        }
    }
}

/// When target `t` may run: its date, but never sooner than [`schedule::MIN_CONTACT_INTERVAL`]
/// after its last contact, whatever a server answered or asked through `/now`.
fn due(t: &crate::state::target::Target, now: i64) -> i64 {
    schedule::due_date(t.state.next_run, t.state.last_contact, now)
}

/// Runs a pass process; its status lines feed /status, its log lines the daemon's logger.
async fn run_pass_process(agent: &Agent, due: &[usize], partial: Option<&str>) {
    let s = &agent.settings;
    // Each task has its own limit; this one only catches a pass that hangs around them (the
    // inventory, another task, and a deploy task per family enabled). A GLPI server answering
    // `pending` may keep the kept inventory and the new one waiting for their whole ration of
    // tries.
    let tasks = 2 + s.deploy.deploy.len().min(2) as u64;
    use crate::protocol::server::{MAX_PENDING_TRIES, MAX_PENDING_WAIT};
    let pending = MAX_PENDING_WAIT
        .as_secs()
        .saturating_mul(u64::from(MAX_PENDING_TRIES))
        .saturating_mul(2);
    // PROLOG or CONTACT, the kept and the new inventory with their pending retries, and a
    // token fetched twice.
    let requests = 4 + 2 * u64::from(MAX_PENDING_TRIES) + 2;
    let limit = Duration::from_secs(
        s.tasks
            .task_timeout
            .saturating_mul(tasks)
            .saturating_add(s.connection.timeout.saturating_mul(requests))
            .saturating_add(pending)
            .saturating_add(60),
    );
    let on_line = |line: &str| {
        if let Some(status) = line.strip_prefix("status ") {
            agent.set_status(status);
        }
    };
    let pass = super::PassArgs::new(due);
    let text = match partial {
        Some(categories) => {
            let mut s = s.clone();
            s.tasks.partial = categories.split(',').map(str::to_string).collect();
            s.to_text()
        }
        None => s.to_text(),
    };
    match super::child::run_pass(&pass, &text, limit, &on_line).await {
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
    let (mut servers, mut locals) = (0, 0);
    let mut target_ids = Vec::new();
    let mut target_origins = Vec::new();
    for t in &agent.targets {
        match &t.dest {
            Destination::Server(u) => {
                target_ids.push(format!("server{servers}"));
                servers += 1;
                target_origins.push(
                    crate::protocol::server::server_url(u)
                        .ok()
                        .map(|u| u.authority()),
                );
            }
            Destination::Local(_) => {
                target_ids.push(format!("local{locals}"));
                locals += 1;
                target_origins.push(None);
            }
        }
    }
    let cfg = crate::httpd::Config {
        ip,
        port: s.httpd.httpd_port,
        trust: s.httpd.httpd_trust.clone(),
        server_hosts,
        target_ids,
        target_origins,
        shared_dir: Vardir::new(&s.state.vardir).shared_dir(),
        log_file: s.log.logfile.clone(),
        deviceid: agent.deviceid.clone(),
        log_by_deviceid: s.httpd.httpd_log_by_deviceid,
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
