//! One pass over the targets: for a server, PROLOG (or CONTACT), the spooled inventory first,
//! then the tasks it asked for and their results; for a local folder, an inventory file. Used
//! by a half-managed run (cron) and by the daemon's schedule.

use std::path::Path;
use std::time::Duration;

use super::child::{self, TaskError};
use crate::config::Settings;
use crate::core::schedule::{next_delay, retry_delay};
use crate::core::time;
use crate::http::Client;
use crate::protocol::messages::{Prolog, Response};
use crate::protocol::server::{
    client_options, server_url, user_agent, CommError, PrologAnswer, Server,
};
use crate::state::spool::{self, Spool};
use crate::state::target::{Destination, ServerKind, Target};
use crate::state::{ids, Vardir};
use crate::sys::{os, Root};
use crate::tasks::{self, inventory, Command};

/// What went wrong during a pass, for the exit code (README.md documents them).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub config_error: bool,
    pub unreachable: bool,
    pub refused: bool,
    pub task_failed: bool,
    pub output_failed: bool,
}

impl Outcome {
    pub fn exit_code(&self) -> i32 {
        if self.config_error {
            crate::core::exit::USAGE
        } else if self.output_failed {
            crate::core::exit::OUTPUT
        } else if self.task_failed {
            crate::core::exit::TASK
        } else if self.refused {
            crate::core::exit::REFUSED
        } else if self.unreachable {
            crate::core::exit::UNREACHABLE
        } else {
            crate::core::exit::OK
        }
    }

    fn comm(&mut self, e: &CommError) {
        match e {
            CommError::Unreachable(_) => self.unreachable = true,
            CommError::Refused(_) => self.refused = true,
        }
    }
}

/// Where the agent says what it is doing.
pub type StatusHook = Box<dyn Fn(&str)>;

pub struct Agent {
    pub settings: Settings,
    pub deviceid: String,
    pub agentid: String,
    /// Built for a pass and dropped after it (its TLS roots are not worth keeping resident).
    pub client: Option<Client>,
    pub targets: Vec<Target>,
    /// Targets of this pass (indexes), when not all: the daemon runs its passes this way.
    pub only: Option<Vec<usize>>,
    /// Told `waiting` or `running task NAME` (the daemon's /status shows it).
    pub on_status: Option<StatusHook>,
}

impl Agent {
    pub fn new(settings: Settings) -> Result<Agent, String> {
        let vardir = Vardir::new(&settings.state.vardir);
        let deviceid = ids::deviceid(&vardir, &Root::live());
        let agentid = vardir.agentid();
        let statedir = settings.statedir().to_path_buf();
        let mut targets = Vec::new();
        for s in &settings.targets.servers {
            server_url(s)?;
            targets.push(Target::new(Destination::Server(s.clone()), &statedir));
        }
        for l in &settings.targets.locals {
            targets.push(Target::new(Destination::Local(l.clone()), &statedir));
        }
        Ok(Agent {
            settings,
            deviceid,
            agentid,
            client: None,
            targets,
            only: None,
            on_status: None,
        })
    }

    /// Builds the HTTP client if a server target needs one and it is not there.
    fn ensure_client(&mut self) -> Result<(), String> {
        if self.client.is_none() && !self.settings.targets.servers.is_empty() {
            self.client = Some(
                Client::new(client_options(&self.settings.connection, user_agent()))
                    .map_err(|e| e.to_string())?,
            );
        }
        Ok(())
    }

    /// Reads a target's state back from its file (after a pass process changed it).
    pub fn reload_target(&mut self, i: usize) {
        if let Some(t) = self.targets.get_mut(i) {
            *t = Target::new(t.dest.clone(), self.settings.statedir());
        }
    }

    pub fn set_status(&self, s: &str) {
        if let Some(f) = &self.on_status {
            f(s);
        }
    }

    /// Runs a task process with the agent's time limit, saying so in the status.
    async fn task(&self, cmd: &Command, inherit_stdout: bool) -> Result<Vec<u8>, TaskError> {
        self.set_status(&format!("running task {}", cmd.name()));
        let result = child::run(
            cmd,
            Duration::from_secs(self.settings.tasks.task_timeout),
            inherit_stdout,
        )
        .await;
        self.set_status("waiting");
        result
    }

    fn wants_task(&self, name: &str) -> bool {
        let s = &self.settings.tasks;
        (s.tasks.is_empty() || s.tasks.iter().any(|t| t == name))
            && !s.no_task.iter().any(|t| t == name)
    }

    /// Runs every target (or, with `only_due`, those whose time has come).
    pub async fn run_pass(&mut self, only_due: bool) -> Outcome {
        let mut outcome = Outcome::default();
        if let Err(e) = self.ensure_client() {
            log::error!("{e}");
            outcome.config_error = true;
            return outcome;
        }
        for i in 0..self.targets.len() {
            if self.only.as_ref().is_some_and(|only| !only.contains(&i)) {
                continue;
            }
            let now = time::now();
            let t = &self.targets[i];
            if only_due && t.state.next_run > now {
                log::info!(
                    "{}: next run at {}, not yet (--lazy)",
                    t.name(),
                    time::format_datetime(t.state.next_run)
                );
                continue;
            }
            match self.targets[i].dest.clone() {
                Destination::Server(url) => self.run_server(i, &url, &mut outcome).await,
                Destination::Local(dir) => self.run_local(i, &dir, &mut outcome).await,
            }
            self.targets[i].save();
        }
        outcome
    }

    /// The inventory task for target `t`: this agent's DEVICEID, the TAG and the ACCOUNTINFO
    /// the server keeps, the categories left out.
    fn inventory_args(&self, t: &Target, format: &str) -> inventory::Args {
        let s = &self.settings.tasks;
        let mut accountinfo: Vec<String> = t
            .state
            .accountinfo
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !t
            .state
            .accountinfo
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("TAG"))
        {
            accountinfo.extend(s.tag.iter().map(|tag| format!("TAG={tag}")));
        }
        inventory::Args {
            deviceid: Some(self.deviceid.clone()),
            format: Some(format.into()),
            accountinfo,
            no_category: s.no_category.clone(),
            debug: self.settings.log.debug > 0,
            ..inventory::Args::default()
        }
    }

    async fn run_local(&mut self, i: usize, dir: &str, outcome: &mut Outcome) {
        if !self.wants_task("inventory") {
            return;
        }
        let t = &self.targets[i];
        let mut args = self.inventory_args(t, "xml");
        if dir != "-" {
            let file = Path::new(dir).join(format!("{}.xml", self.deviceid));
            args.output = Some(file.to_string_lossy().into_owned());
        }
        let result = self.task(&Command::Inventory(args), dir == "-").await;
        match result {
            Ok(_) => log::info!("{dir}: inventory written"),
            Err(TaskError::Failed(status)) => {
                log::error!("{dir}: the inventory task {status}");
                outcome.output_failed = true;
            }
            Err(e) => {
                log::error!("{dir}: the inventory task {e}");
                outcome.task_failed = true;
            }
        }
        let t = &mut self.targets[i];
        t.state.next_run = time::now() + self.settings.schedule.delaytime as i64;
    }

    async fn run_server(&mut self, i: usize, url_text: &str, outcome: &mut Outcome) {
        let Some(client) = &self.client else { return };
        let url = match server_url(url_text) {
            Ok(u) => u,
            Err(e) => {
                log::error!("{e}");
                outcome.refused = true;
                return;
            }
        };
        let server = Server {
            client,
            url,
            deviceid: &self.deviceid,
            agentid: &self.agentid,
        };
        let kind = self.targets[i].state.server;

        // 1. What does the server want?
        let mut answer = match kind {
            ServerKind::Glpi => self.contact(&server).await.map(PrologAnswer::Glpi),
            _ => server.prolog(kind == ServerKind::Unknown).await,
        };
        if let Ok(PrologAnswer::Glpi(_)) = &answer {
            if kind != ServerKind::Glpi {
                log::info!("{url_text}: a GLPI server (native protocol)");
                self.targets[i].state.server = ServerKind::Glpi;
                answer = self.contact(&server).await.map(PrologAnswer::Glpi);
            }
        } else if let (Ok(PrologAnswer::Xml(_)), ServerKind::Unknown) = (&answer, kind) {
            self.targets[i].state.server = ServerKind::Xml;
        }
        if let (Err(_), ServerKind::Glpi) = (&answer, kind) {
            // It may have stopped speaking JSON: find out again next time.
            self.targets[i].state.server = ServerKind::Unknown;
        }
        let json = self.targets[i].state.server == ServerKind::Glpi;

        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                log::error!("{url_text}: {e}");
                outcome.comm(&e);
                self.schedule_retry(i);
                // Nothing is lost: the inventory is made now and kept for the next contact.
                if self.wants_task("inventory") {
                    if let Some(body) = self.make_inventory(i, json, None, outcome).await {
                        self.spool(i, json, &body);
                        self.targets[i].discard_digests();
                    }
                }
                return;
            }
        };

        // 2. The inventory a previous run could not deliver goes first.
        let spool = Spool::new(&self.targets[i].dir);
        if let Some((kind, body)) = spool.get() {
            match server
                .send_inventory(&body, kind == spool::Kind::Json)
                .await
            {
                Ok(_) => {
                    log::info!("{url_text}: sent the inventory kept from an earlier run");
                    spool.remove(kind);
                }
                Err(e) => {
                    log::error!("{url_text}: cannot send the kept inventory: {e}");
                    outcome.comm(&e);
                    self.schedule_retry(i);
                    return;
                }
            }
        }

        // 3. The tasks asked for.
        let (send_inventory, period_hours) = match &answer {
            PrologAnswer::Xml(p) => {
                log::info!(
                    "{url_text}: PROLOG answer {:?}, period {} h",
                    p.response,
                    p.prolog_freq.map_or("unchanged".into(), |f| f.to_string())
                );
                (p.response == Response::Send, p.prolog_freq.map(f64::from))
            }
            PrologAnswer::Glpi(c) => {
                let inv = c
                    .tasks
                    .iter()
                    .any(|(t, srv)| t == "inventory" && (srv == "glpi" || srv.is_empty()))
                    || c.tasks.is_empty();
                log::info!(
                    "{url_text}: CONTACT answer {}, period {:.1} h",
                    c.status,
                    c.expiration_hours.unwrap_or(0.0)
                );
                (c.status == "ok" && inv, c.expiration_hours)
            }
        };
        let force = self.settings.schedule.force;
        let ipdiscover = match &answer {
            PrologAnswer::Xml(p) => ipdiscover_order(p),
            PrologAnswer::Glpi(_) => None,
        };
        if (send_inventory || force) && self.wants_task("inventory") {
            if let Some(body) = self.make_inventory(i, json, ipdiscover, outcome).await {
                match server.send_inventory(&body, json).await {
                    Ok(reply) => {
                        log::info!(
                            "{url_text}: inventory sent ({} bytes compressed)",
                            body.len()
                        );
                        let t = &mut self.targets[i];
                        t.commit_digests();
                        if let Some(info) = reply.account_update {
                            t.state.set_accountinfo(info);
                        }
                    }
                    Err(e) => {
                        log::error!("{url_text}: {e}");
                        outcome.comm(&e);
                        self.spool(i, json, &body);
                        self.targets[i].discard_digests();
                    }
                }
            }
        } else if !send_inventory {
            log::info!("{url_text}: no inventory wanted now (--force sends one anyway)");
        }
        if let PrologAnswer::Xml(p) = &answer {
            self.prolog_tasks(i, p, &server, outcome).await;
        }
        self.schedule_next(i, period_hours);
    }

    async fn contact(
        &self,
        server: &Server<'_>,
    ) -> Result<crate::protocol::messages::Contact, CommError> {
        let installed: Vec<&str> = tasks::built().map(|t| t.name).collect();
        let enabled: Vec<&str> = installed
            .iter()
            .copied()
            .filter(|t| self.wants_task(t))
            .collect();
        let s = &self.settings;
        let port = (s.daemon.daemon && !s.httpd.no_httpd).then_some(s.httpd.httpd_port);
        server
            .contact(s.tasks.tag.as_deref(), &installed, &enabled, port)
            .await
    }

    /// The tasks a PROLOG reply orders through its OPTIONs (wake-on-LAN, …), one after the
    /// other, each in its own process.
    async fn prolog_tasks(
        &self,
        i: usize,
        prolog: &Prolog,
        server: &Server<'_>,
        outcome: &mut Outcome,
    ) {
        let name = self.targets[i].name();
        for info in tasks::ALL {
            let Some(option) = info.prolog_option.and_then(|o| prolog.option(o)) else {
                continue;
            };
            if !info.built {
                log::info!(
                    "{name}: the server asks for {}; {}",
                    info.title,
                    tasks::not_built(info)
                );
                continue;
            }
            if !self.wants_task(info.name) {
                log::info!(
                    "{name}: the server asks for {}, a task not enabled here (--tasks, --no-task)",
                    info.title
                );
                continue;
            }
            let Some(mut cmd) = Command::from_prolog(info.name, option) else {
                log::error!(
                    "{name}: the server asks for {} but gives nothing valid to do",
                    info.title
                );
                continue;
            };
            cmd.set_debug(self.settings.log.debug > 0);
            #[cfg(feature = "netdiscovery")]
            if let Command::Netdiscovery(a) = &mut cmd {
                a.deviceid = Some(self.deviceid.clone());
                a.sysobject_ids = self.settings.tasks.sysobject_ids.clone();
                let args = a.clone();
                self.netdiscovery(name, &cmd, args, server, outcome).await;
                continue;
            }
            let _ = server;
            if let Err(e) = self.task(&cmd, false).await {
                log::error!("{name}: the {} task {e}", info.name);
                outcome.task_failed = true;
            }
        }
    }

    /// A discovery job: each message the task writes goes to the server as it arrives. When
    /// the task does not finish (time limit, failure), the server is told with an EXIT.
    #[cfg(feature = "netdiscovery")]
    async fn netdiscovery(
        &self,
        name: &str,
        cmd: &Command,
        args: tasks::netdiscovery::Args,
        server: &Server<'_>,
        outcome: &mut Outcome,
    ) {
        use std::cell::Cell;
        let limit = tasks::netdiscovery::time_limit(
            &args,
            Duration::from_secs(self.settings.tasks.task_timeout),
        );
        let sent = Cell::new(0usize);
        let failed: Cell<Option<CommError>> = Cell::new(None);
        let dropped = Cell::new(0usize);
        self.set_status("running task netdiscovery");
        let result = child::run_frames(cmd, limit, async |msg: Vec<u8>| {
            let err = failed.take();
            if err.is_some() {
                // The server could not be reached: the rest would fail the same way.
                dropped.set(dropped.get() + 1);
                failed.set(err);
                return;
            }
            match server.send_message("NETDISCOVERY message", &msg).await {
                Ok(_) => sent.set(sent.get() + 1),
                Err(e) => failed.set(Some(e)),
            }
        })
        .await;
        self.set_status("waiting");
        if let Some(e) = failed.take() {
            log::error!(
                "{name}: {e}; {} discovery message(s) not sent",
                dropped.get() + 1
            );
            outcome.comm(&e);
            return;
        }
        log::info!("{name}: {} discovery message(s) sent", sent.get());
        if let Err(e) = result {
            log::error!("{name}: the netdiscovery task {e}");
            outcome.task_failed = true;
            if let Some(pid) = args.stdin().and_then(|t| tasks::netdiscovery::job_pid(&t)) {
                let exit = tasks::netdiscovery::exit_message(&self.deviceid, &pid);
                if let Err(e) = server.send_message("NETDISCOVERY EXIT", &exit).await {
                    log::error!("{name}: cannot send the EXIT of the discovery: {e}");
                }
            }
        }
    }

    /// Runs the inventory task for a server target: its zlib-compressed output.
    async fn make_inventory(
        &self,
        i: usize,
        json: bool,
        ipdiscover: Option<(String, Option<String>)>,
        outcome: &mut Outcome,
    ) -> Option<Vec<u8>> {
        let t = &self.targets[i];
        let mut args = self.inventory_args(t, if json { "json" } else { "xml" });
        if let Some((subnet, latency)) = ipdiscover {
            log::info!(
                "{}: the server asks for an IpDiscover sweep of {subnet}",
                t.name()
            );
            args.ipdiscover = Some(subnet);
            args.ipdisc_lat = latency;
        }
        args.compress = true;
        args.digests = Some(t.digests_file().to_string_lossy().into_owned());
        args.digests_out = Some(t.new_digests_file().to_string_lossy().into_owned());
        if let Err(e) = std::fs::create_dir_all(&t.dir) {
            log::warn!("cannot create {}: {e}", t.dir.display());
        }
        match self.task(&Command::Inventory(args), false).await {
            Ok(body) => Some(body),
            Err(e) => {
                log::error!("{}: the inventory task {e}", t.name());
                outcome.task_failed = true;
                None
            }
        }
    }

    fn spool(&self, i: usize, json: bool, body: &[u8]) {
        let t = &self.targets[i];
        let kind = if json {
            spool::Kind::Json
        } else {
            spool::Kind::Xml
        };
        match Spool::new(&t.dir).put(kind, body) {
            Ok(path) => log::info!(
                "{}: inventory kept in {} until the server takes it",
                t.name(),
                path.display()
            ),
            Err(e) => log::error!("{}: cannot keep the inventory: {e}", t.name()),
        }
    }

    /// After a successful contact: the server's period, less a random share so that a fleet
    /// spreads out (the reference agents' formula).
    fn schedule_next(&mut self, i: usize, period_hours: Option<f64>) {
        let t = &mut self.targets[i];
        if let Some(h) = period_hours {
            t.state.max_delay = (h * 3600.0) as u64;
        }
        if t.state.max_delay == 0 {
            t.state.max_delay = self.settings.schedule.delaytime;
        }
        t.state.errors = 0;
        t.state.next_run = time::now() + next_delay(t.state.max_delay) as i64;
    }

    /// After a failed contact: 60 s, doubling each time, up to the normal period.
    fn schedule_retry(&mut self, i: usize) {
        let t = &mut self.targets[i];
        t.state.errors = t.state.errors.saturating_add(1);
        let cap = if t.state.max_delay > 0 {
            t.state.max_delay
        } else {
            self.settings.schedule.delaytime
        }
        .max(60);
        t.state.next_run = time::now() + retry_delay(t.state.errors, cap) as i64;
    }
}

/// OCS IpDiscover's order in a PROLOG reply: `<PARAM IPDISC_LAT="100">subnet</PARAM>` (or the
/// legacy `<PARAM>subnet</PARAM>`); the inventory carries the result.
fn ipdiscover_order(p: &Prolog) -> Option<(String, Option<String>)> {
    let param = p
        .option("IPDISCOVER")?
        .params
        .iter()
        .find(|n| n.name.eq_ignore_ascii_case("PARAM"))?;
    let subnet = param.text.trim();
    (!subnet.is_empty()).then(|| {
        (
            subnet.to_string(),
            param.attr("IPDISC_LAT").map(str::to_string),
        )
    })
}

/// The host name as the runs see it (for logs).
pub fn hostname() -> String {
    os::hostname(&Root::live())
}
