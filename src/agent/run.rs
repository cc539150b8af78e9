//! One pass over the targets: for a server, PROLOG (or CONTACT), the spooled inventory first,
//! then the tasks it asked for and their results; for a local folder, an inventory file. Used
//! by a half-managed run (cron) and by the daemon's schedule.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use super::child::{self, TaskError};
use crate::config::Settings;
use crate::core::schedule::{self, next_delay, retry_delay};
use crate::core::time;
use crate::http::Client;
use crate::protocol::compress::zlib_head;
use crate::protocol::messages::{InventoryReply, Prolog, Response};
use crate::protocol::oauth::OAuth;
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
    /// OAuth2 client credentials and the token they got, in this process's memory only.
    pub oauth: Option<OAuth>,
}

/// How much of the inventory a run sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Full(&'static str),
    /// Only what changed since the last inventory the server took (GLPI).
    Changed,
    /// These categories, asked for (`--partial`, a `/now` event).
    Named(Vec<String>),
}

/// What to send to a target: the `--partial` categories when asked; for GLPI, what changed,
/// for up to `full-inventory-postpone` runs after a full one, unless `--full`, an error or a
/// new server calls for a full one; for an OCS server always everything (its CHECKSUM says
/// what changed).
pub fn scope(
    settings: &Settings,
    state: &crate::state::target::State,
    has_digests: bool,
    json: bool,
) -> Scope {
    let t = &settings.tasks;
    if !t.partial.is_empty() && json {
        return Scope::Named(t.partial.clone());
    }
    if !json {
        Scope::Full("not a GLPI server")
    } else if t.full {
        Scope::Full("--full")
    } else if t.full_inventory_postpone == 0 {
        Scope::Full("full-inventory-postpone is 0")
    } else if state.full_next {
        Scope::Full("the last one did not get through, or the server changed")
    } else if !has_digests {
        Scope::Full("no digests of an earlier inventory")
    } else if u64::from(state.partials) >= t.full_inventory_postpone {
        Scope::Full("full-inventory-postpone partial ones in a row")
    } else {
        Scope::Changed
    }
}

/// Whether a compressed GLPI inventory says `"partial": true` before its content.
pub fn is_partial(compressed: &[u8]) -> bool {
    let head = zlib_head(compressed, 1024);
    let head = String::from_utf8_lossy(&head);
    let head = head.split("\"content\"").next().unwrap_or("");
    head.contains("\"partial\":true")
}

/// Why an agent cannot start.
#[derive(Debug)]
pub enum AgentError {
    /// A setting that cannot be used (a server URL that does not parse).
    Config(String),
    /// The vardir cannot keep the agent's identity.
    Identity(ids::IdError),
}

impl fmt::Display for AgentError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            AgentError::Config(e) => f.write_str(e),
            AgentError::Identity(e) => write!(f, "{e}"),
        }
    }
}

impl AgentError {
    pub fn exit_code(&self) -> i32 {
        match self {
            AgentError::Config(_) => crate::core::exit::USAGE,
            AgentError::Identity(_) => crate::core::exit::STATE,
        }
    }
}

impl Agent {
    pub fn new(settings: Settings) -> Result<Agent, AgentError> {
        let vardir = Vardir::new(&settings.state.vardir);
        let deviceid = ids::deviceid(&vardir, &Root::live()).map_err(AgentError::Identity)?;
        let agentid = vardir.agentid().map_err(AgentError::Identity)?;
        let statedir = settings.statedir().to_path_buf();
        check_inventory_settings(&settings).map_err(AgentError::Config)?;
        let oauth = OAuth::from_settings(&settings.connection).map_err(AgentError::Config)?;
        let mut targets = Vec::new();
        for s in &settings.targets.servers {
            server_url(s).map_err(AgentError::Config)?;
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
            oauth,
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
        self.task_with_input(cmd, inherit_stdout, None).await
    }

    /// [`Agent::task`] with `input` on the task's standard input.
    async fn task_with_input(
        &self,
        cmd: &Command,
        inherit_stdout: bool,
        input: Option<&[u8]>,
    ) -> Result<Vec<u8>, TaskError> {
        self.set_status(&format!("running task {}", cmd.name()));
        let result = child::run(
            cmd,
            Duration::from_secs(self.settings.tasks.task_timeout),
            inherit_stdout,
            input,
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

    /// Why deployment of `family` (`ocs`, `glpi`) ordered by the server target `url` does not
    /// run here, or `None` when it may: it must be built, wanted (`--tasks`, `--no-task`),
    /// named by `deploy`, and the target must be among `deploy-servers` when that is given.
    fn deploy_refusal(&self, family: &str, url: &str) -> Option<String> {
        let info = tasks::find("deploy")?;
        if !info.built {
            return Some(tasks::not_built(info));
        }
        if !self.wants_task("deploy") {
            return Some("the deploy task is left out by --tasks or --no-task".into());
        }
        let d = &self.settings.deploy;
        if !d.deploy.iter().any(|f| f.eq_ignore_ascii_case(family)) {
            return Some(format!(
                "deployment is off here (`deploy = {family}` in the configuration turns it on)"
            ));
        }
        let norm = |s: &str| s.trim().trim_end_matches('/').to_ascii_lowercase();
        let host = server_url(url).map(|u| u.host).unwrap_or_default();
        // An entry is the target as given to --server, or (without a scheme) its host.
        let allowed = |s: &String| norm(s) == norm(url) || (!s.contains("://") && norm(s) == host);
        if !d.deploy_servers.is_empty() && !d.deploy_servers.iter().any(allowed) {
            return Some("this server is not among deploy-servers".into());
        }
        None
    }

    /// Runs the deploy task for target `i`, its job (settings, server, the option's
    /// parameters) on the task's standard input.
    #[cfg(feature = "deploy")]
    async fn deploy(
        &self,
        i: usize,
        family: tasks::deploy::job::Family,
        params: Vec<Vec<(String, String)>>,
        outcome: &mut Outcome,
    ) {
        let t = &self.targets[i];
        let job = tasks::deploy::job::Job {
            family,
            server: t.name().to_string(),
            deviceid: self.deviceid.clone(),
            max_delay: t.state.max_delay,
            params,
            settings: self.settings.clone(),
        };
        let cmd = Command::Deploy(tasks::deploy::Args {
            job: Some("-".into()),
            debug: self.settings.log.debug > 0,
        });
        let text = job.to_text();
        if let Err(e) = self
            .task_with_input(&cmd, false, Some(text.as_bytes()))
            .await
        {
            log::error!("{}: the deploy task {e}", t.name());
            outcome.task_failed = true;
        }
    }

    /// GLPI deploy jobs for target `i`: after a CONTACT whose answer serves `deploy` from
    /// glpiinventory (as the GLPI agent follows it), or with the XML protocol (FusionInventory's
    /// and glpiinventory's plugin URLs) when the glpi family is on.
    async fn glpi_deploy(
        &self,
        i: usize,
        contact: Option<&crate::protocol::messages::Contact>,
        outcome: &mut Outcome,
    ) {
        let name = self.targets[i].name().to_string();
        let offered = match contact {
            Some(c) => {
                c.tasks
                    .iter()
                    .any(|(t, s)| t == "deploy" && s == "glpiinventory")
                    && !c.disabled.iter().any(|t| t.eq_ignore_ascii_case("deploy"))
            }
            None => true,
        };
        if !offered {
            return;
        }
        if let Some(why) = self.deploy_refusal("glpi", &name) {
            if contact.is_some() {
                log::info!("{name}: the server serves deploy jobs; {why}");
            }
            return;
        }
        #[cfg(feature = "deploy")]
        self.deploy(i, tasks::deploy::job::Family::Glpi, Vec::new(), outcome)
            .await;
        #[cfg(not(feature = "deploy"))]
        let _ = outcome;
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
            // A date past a period from now is a corrupt one: it cannot silence a target.
            let due = schedule::due_date(t.state.next_run, i64::MIN, now);
            if only_due && due > now {
                log::info!(
                    "{}: next run at {}, not yet (--lazy)",
                    t.name(),
                    time::format_datetime(t.state.next_run)
                );
                continue;
            }
            let next_run = self.targets[i].state.next_run;
            match self.targets[i].dest.clone() {
                Destination::Server(url) => self.run_server(i, &url, &mut outcome).await,
                Destination::Local(dir) => self.run_local(i, &dir, &mut outcome).await,
            }
            // A partial inventory asked for (`--partial`, a `/now` event) is extra: the
            // schedule stays as it was.
            if !self.settings.tasks.partial.is_empty() {
                self.targets[i].state.next_run = next_run;
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
            itemtype: Some(s.itemtype.clone()).filter(|i| !i.eq_ignore_ascii_case("computer")),
            additional_content: s.additional_content.clone(),
            assetname_support: Some(s.assetname_support).filter(|n| *n != 1),
            root: inventory_root(),
            ..inventory::Args::default()
        }
    }

    async fn run_local(&mut self, i: usize, dir: &str, outcome: &mut Outcome) {
        if !self.wants_task("inventory") {
            return;
        }
        if !self.settings.tasks.partial.is_empty() {
            log::info!("{dir}: a partial inventory is for GLPI servers: nothing written here");
            return;
        }
        let t = &self.targets[i];
        // `--html` and `--json` are the local targets' formats, as in the Perl agents.
        let format = if self.settings.targets.html {
            "html"
        } else if self.settings.targets.json {
            "json"
        } else {
            "xml"
        };
        let mut args = self.inventory_args(t, format);
        if dir != "-" {
            let file = Path::new(dir).join(format!("{}.{format}", self.deviceid));
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
        t.state.next_run = schedule::date_after(time::now(), self.settings.schedule.delaytime);
    }

    async fn run_server(&mut self, i: usize, url_text: &str, outcome: &mut Outcome) {
        let Some(client) = &self.client else { return };
        // What the logs call it: the URL without its userinfo.
        let shown = self.targets[i].name().to_string();
        self.targets[i].state.last_contact = time::now();
        let url = match server_url(url_text) {
            Ok(u) => u,
            Err(e) => {
                log::error!("{e}");
                outcome.refused = true;
                return;
            }
        };
        let kind = self.targets[i].state.server;
        let mut server = Server {
            client,
            url,
            deviceid: &self.deviceid,
            agentid: &self.agentid,
            compress: !self.settings.connection.no_compression,
            // The token is GLPI's: an OCS server gets none, a server of unknown kind one when
            // it asks (401).
            oauth: self.oauth.as_ref().filter(|_| kind != ServerKind::Xml),
            token_first: kind == ServerKind::Glpi,
        };

        // 1. What does the server want?
        let mut answer = match kind {
            ServerKind::Glpi => self
                .contact(&server, url_text)
                .await
                .map(PrologAnswer::Glpi),
            _ => server.prolog(kind == ServerKind::Unknown).await,
        };
        if let Ok(PrologAnswer::Glpi(_)) = &answer {
            if kind != ServerKind::Glpi {
                log::info!("{shown}: a GLPI server (native protocol)");
                let st = &mut self.targets[i].state;
                st.server = ServerKind::Glpi;
                // Another kind of server: what the old one held says nothing of this one.
                st.full_next = true;
                server.token_first = true;
                answer = self
                    .contact(&server, url_text)
                    .await
                    .map(PrologAnswer::Glpi);
            }
        } else if let (Ok(PrologAnswer::Xml(_)), ServerKind::Unknown) = (&answer, kind) {
            self.targets[i].state.server = ServerKind::Xml;
            server.oauth = None;
        }
        if let (Err(_), ServerKind::Glpi) = (&answer, kind) {
            // It may have stopped speaking JSON: find out again next time.
            self.targets[i].state.server = ServerKind::Unknown;
        }
        if let Ok(PrologAnswer::Glpi(c)) = &answer {
            if let Some(v) = &c.inventory_version {
                let st = &mut self.targets[i].state;
                if !st.server_version.is_empty() && st.server_version != *v {
                    log::info!(
                        "{url_text}: the server's inventory version changed ({} to {v}): a full inventory next",
                        st.server_version
                    );
                    st.full_next = true;
                }
                st.set_server_version(v);
            }
        }
        let json = self.targets[i].state.server == ServerKind::Glpi;

        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                log::error!("{shown}: {e}");
                outcome.comm(&e);
                self.schedule_retry(i);
                self.targets[i].state.full_next = true;
                // Nothing is lost: the inventory is made now and kept for the next contact.
                if self.wants_task("inventory") {
                    if let Some(body) = self.make_inventory(i, json, &[], None, outcome).await {
                        self.spool(i, json, &body, outcome);
                        self.targets[i].discard_digests();
                    }
                }
                return;
            }
        };

        if !self.settings.tasks.partial.is_empty() && !json {
            log::info!(
                "{url_text}: a partial inventory is part of GLPI's native protocol only: nothing sent to this server"
            );
            return;
        }

        // 2. The inventory a previous run could not deliver goes first.
        let spool = Spool::new(&self.targets[i].dir);
        if let Some((kind, body)) = spool.get() {
            let spooled_json = kind == spool::Kind::Json;
            match self.deliver(&server, i, &body, spooled_json, true).await {
                Ok(_) => {
                    log::info!("{shown}: sent the inventory kept from an earlier run");
                    spool.remove(kind);
                    delivered(&mut self.targets[i].state, &body, spooled_json);
                }
                Err(e @ CommError::Refused(_)) => {
                    // The server answered and will not take it: keep it aside for the admin
                    // and go on, or this one file would block every later inventory.
                    log::error!("{shown}: the server refused the kept inventory: {e}");
                    outcome.comm(&e);
                    let stamp = time::format_deviceid_stamp(time::now());
                    match spool.set_aside(kind, &stamp) {
                        Ok(p) => log::warn!(
                            "{shown}: the refused inventory was moved to {}; going on with a fresh one",
                            p.display()
                        ),
                        Err(e) => log::warn!("{shown}: the refused inventory was dropped: {e}"),
                    }
                }
                Err(e) => {
                    log::error!("{shown}: cannot send the kept inventory: {e}");
                    outcome.comm(&e);
                    self.schedule_retry(i);
                    self.targets[i].state.full_next = true;
                    return;
                }
            }
        }

        // 3. The tasks asked for.
        let (send_inventory, period_hours, server_no_category) = match &answer {
            PrologAnswer::Xml(p) => {
                log::info!(
                    "{shown}: PROLOG answer {:?}, period {} h",
                    p.response,
                    p.prolog_freq.map_or("unchanged".into(), |f| f.to_string())
                );
                (
                    p.response == Response::Send,
                    p.prolog_freq.map(f64::from),
                    Vec::new(),
                )
            }
            PrologAnswer::Glpi(c) => {
                let inv = c
                    .tasks
                    .iter()
                    .any(|(t, srv)| t == "inventory" && (srv == "glpi" || srv.is_empty()))
                    || c.tasks.is_empty();
                log::info!(
                    "{shown}: CONTACT answer {}, period {:.1} h",
                    c.status,
                    c.expiration_hours.unwrap_or(0.0)
                );
                (
                    c.status == "ok" && inv,
                    c.expiration_hours,
                    c.no_category.clone(),
                )
            }
        };
        let force = self.settings.schedule.force || !self.settings.tasks.partial.is_empty();
        let ipdiscover = match &answer {
            PrologAnswer::Xml(p) => ipdiscover_order(p),
            PrologAnswer::Glpi(_) => None,
        };
        if (send_inventory || force) && self.wants_task("inventory") {
            let made = self
                .make_inventory(i, json, &server_no_category, ipdiscover, outcome)
                .await;
            if let Some(body) = made {
                match self.deliver(&server, i, &body, json, false).await {
                    Ok(reply) => {
                        let partial = json && is_partial(&body);
                        log::info!(
                            "{shown}: {} inventory sent ({} bytes compressed)",
                            if partial { "partial" } else { "full" },
                            body.len()
                        );
                        delivered(&mut self.targets[i].state, &body, json);
                        let t = &mut self.targets[i];
                        t.commit_digests();
                        if let Some(info) = reply.account_update {
                            t.state.set_accountinfo(info);
                        }
                    }
                    Err(e) => {
                        log::error!("{shown}: {e}");
                        outcome.comm(&e);
                        self.spool(i, json, &body, outcome);
                        self.targets[i].discard_digests();
                        self.targets[i].state.full_next = true;
                    }
                }
            }
        } else if !send_inventory {
            log::info!("{shown}: no inventory wanted now (--force sends one anyway)");
        }
        match &answer {
            PrologAnswer::Xml(p) => {
                self.prolog_tasks(i, p, &server, outcome).await;
                self.glpi_deploy(i, None, outcome).await;
            }
            PrologAnswer::Glpi(c) => self.glpi_deploy(i, Some(c), outcome).await,
        }
        self.schedule_next(i, period_hours);
    }

    /// Sends an inventory. While a GLPI server answers `pending`, the inventory waits in the
    /// spool (unless it came from there), so that a stop meanwhile loses nothing; it leaves
    /// the spool once the server took it.
    async fn deliver(
        &self,
        server: &Server<'_>,
        i: usize,
        body: &[u8],
        json: bool,
        from_spool: bool,
    ) -> Result<InventoryReply, CommError> {
        let name = self.targets[i].name().to_string();
        let dir = self.targets[i].dir.clone();
        let kind = if json {
            spool::Kind::Json
        } else {
            spool::Kind::Xml
        };
        let mut kept = from_spool;
        let mut on_pending = |tries: u32, wait: Duration| {
            log::info!(
                "{name}: the server answers pending (try {tries} of {}); asking again in {} s",
                crate::protocol::server::MAX_PENDING_TRIES,
                wait.as_secs()
            );
            if !kept {
                match Spool::new(&dir).put(kind, body) {
                    Ok(path) => {
                        log::info!("{name}: inventory kept in {} meanwhile", path.display())
                    }
                    Err(e) => log::error!("{name}: cannot keep the inventory: {e}"),
                }
                kept = true;
            }
        };
        let result = server.send_inventory(body, json, &mut on_pending).await;
        if result.is_ok() && kept && !from_spool {
            Spool::new(&dir).remove(kind);
        }
        result
    }

    async fn contact(
        &self,
        server: &Server<'_>,
        url: &str,
    ) -> Result<crate::protocol::messages::Contact, CommError> {
        let installed: Vec<&str> = tasks::built().map(|t| t.name).collect();
        // Deployment is announced only when it would run for this server.
        let enabled: Vec<&str> = installed
            .iter()
            .copied()
            .filter(|t| self.wants_task(t))
            .filter(|t| *t != "deploy" || self.deploy_refusal("glpi", url).is_none())
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
            if info.name == "deploy" {
                self.ocs_deploy(i, option, outcome).await;
                continue;
            }
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
            #[cfg(feature = "netinventory")]
            if let Command::Netinventory(a) = &mut cmd {
                a.deviceid = Some(self.deviceid.clone());
                a.sysobject_ids = self.settings.tasks.sysobject_ids.clone();
                let args = a.clone();
                let limit = tasks::netinventory::time_limit(
                    &args,
                    Duration::from_secs(self.settings.tasks.task_timeout),
                );
                let exit = args
                    .job_text()
                    .and_then(tasks::netinventory::job_pid)
                    .map(|pid| tasks::netinventory::exit_message(&self.deviceid, &pid));
                self.framed_task(name, &cmd, limit, "SNMPQUERY", exit, server, outcome)
                    .await;
                continue;
            }
            let _ = server;
            if let Err(e) = self.task(&cmd, false).await {
                log::error!("{name}: the {} task {e}", info.name);
                outcome.task_failed = true;
            }
        }
        if let Some(option) = prolog.option("SNMP") {
            self.ocs_snmp(i, option, server, outcome).await;
        }
    }

    /// OCS's SNMP option (§D.2 of the network notes): the netinventory task scans the
    /// server's networks and devices and its QUERY=SNMP message goes to the server; unless
    /// `no-snmp`, `--no-task netinventory`, or a build without the task says otherwise.
    async fn ocs_snmp(
        &self,
        i: usize,
        option: &crate::protocol::messages::OptionBlock,
        server: &Server<'_>,
        outcome: &mut Outcome,
    ) {
        let name = self.targets[i].name();
        let why_not = if self.settings.tasks.no_snmp {
            Some("no-snmp is set".to_string())
        } else if !self.wants_task("netinventory") {
            Some("the netinventory task is not enabled here (--tasks, --no-task)".to_string())
        } else {
            tasks::find("netinventory")
                .filter(|t| !t.built)
                .map(tasks::not_built)
        };
        if let Some(why) = why_not {
            log::info!("{name}: the server asks for an SNMP scan; {why}: nothing scanned");
            return;
        }
        #[cfg(feature = "netinventory")]
        {
            let Some(mut args) = tasks::netinventory::Args::from_ocs_prolog(option) else {
                return;
            };
            args.deviceid = Some(self.deviceid.clone());
            args.debug = self.settings.log.debug > 0;
            let limit = tasks::netinventory::time_limit(
                &args,
                Duration::from_secs(self.settings.tasks.task_timeout),
            );
            let cmd = Command::Netinventory(args);
            self.framed_task(name, &cmd, limit, "SNMP", None, server, outcome)
                .await;
        }
        #[cfg(not(feature = "netinventory"))]
        let _ = (option, server, outcome);
    }

    /// OCS packages offered by a PROLOG's DOWNLOAD option: the deploy task, or one line saying
    /// why not. The CONF every agent gets, with no package, says nothing (unless results of an
    /// earlier run are still to be sent).
    async fn ocs_deploy(
        &self,
        i: usize,
        option: &crate::protocol::messages::OptionBlock,
        outcome: &mut Outcome,
    ) {
        let name = self.targets[i].name();
        let packs = option
            .params
            .iter()
            .filter(|p| {
                p.attr("TYPE")
                    .is_some_and(|t| t.eq_ignore_ascii_case("PACK"))
            })
            .count();
        if packs == 0 && !self.targets[i].deploy_results_file().exists() {
            return;
        }
        if let Some(why) = self.deploy_refusal("ocs", name) {
            log::info!(
                "{name}: the server offers {packs} package(s) (DOWNLOAD); {why}: none is touched"
            );
            return;
        }
        #[cfg(feature = "deploy")]
        {
            let params = option.params.iter().map(|p| p.attrs.clone()).collect();
            self.deploy(i, tasks::deploy::job::Family::Ocs, params, outcome)
                .await;
        }
        #[cfg(not(feature = "deploy"))]
        let _ = outcome;
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
        let limit = tasks::netdiscovery::time_limit(
            &args,
            Duration::from_secs(self.settings.tasks.task_timeout),
        );
        let exit = args
            .job_text()
            .and_then(tasks::netdiscovery::job_pid)
            .map(|pid| tasks::netdiscovery::exit_message(&self.deviceid, &pid));
        self.framed_task(name, cmd, limit, "NETDISCOVERY", exit, server, outcome)
            .await;
    }

    /// A network task whose messages (frames) go to the server as they arrive; `exit` is
    /// sent when the task does not finish (time limit, failure).
    #[cfg(any(feature = "netdiscovery", feature = "netinventory"))]
    #[allow(clippy::too_many_arguments)]
    async fn framed_task(
        &self,
        name: &str,
        cmd: &Command,
        limit: Duration,
        query: &str,
        exit: Option<Vec<u8>>,
        server: &Server<'_>,
        outcome: &mut Outcome,
    ) {
        use std::cell::Cell;
        let sent = Cell::new(0usize);
        let failed: Cell<Option<CommError>> = Cell::new(None);
        let dropped = Cell::new(0usize);
        let task = cmd.name();
        self.set_status(&format!("running task {task}"));
        let what = format!("{query} message");
        let result = child::run_frames(cmd, limit, async |msg: Vec<u8>| {
            let err = failed.take();
            if err.is_some() {
                // The server could not be reached: the rest would fail the same way.
                dropped.set(dropped.get() + 1);
                failed.set(err);
                return;
            }
            match server.send_message(&what, &msg).await {
                Ok(_) => sent.set(sent.get() + 1),
                Err(e) => failed.set(Some(e)),
            }
        })
        .await;
        self.set_status("waiting");
        if let Some(e) = failed.take() {
            log::error!(
                "{name}: {e}; {} {query} message(s) not sent",
                dropped.get() + 1
            );
            outcome.comm(&e);
            return;
        }
        log::info!("{name}: {} {query} message(s) sent", sent.get());
        if let Err(e) = result {
            log::error!("{name}: the {task} task {e}");
            outcome.task_failed = true;
            if let Some(exit) = exit {
                if let Err(e) = server.send_message(&format!("{query} EXIT"), &exit).await {
                    log::error!("{name}: cannot send the EXIT of the {task} task: {e}");
                }
            }
        }
    }

    /// Runs the inventory task for a server target: its zlib-compressed output.
    async fn make_inventory(
        &self,
        i: usize,
        json: bool,
        server_no_category: &[String],
        ipdiscover: Option<(String, Option<String>)>,
        outcome: &mut Outcome,
    ) -> Option<Vec<u8>> {
        let t = &self.targets[i];
        let mut args = self.inventory_args(t, if json { "json" } else { "xml" });
        // GLPI's CONTACT may leave categories out, beside the local --no-category; a name
        // uagent does not know is the server's business, not a reason to send nothing.
        for c in server_no_category {
            match inventory::parse_categories(std::slice::from_ref(c)) {
                Ok(_) => args.no_category.push(c.clone()),
                Err(e) => log::info!("{}: the server's no-category: {e}: ignored", t.name()),
            }
        }
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
        match scope(&self.settings, &t.state, t.digests_file().exists(), json) {
            Scope::Full(why) => log::debug!("{}: a full inventory ({why})", t.name()),
            Scope::Changed => args.changed_only = true,
            Scope::Named(categories) => args.partial = categories,
        }
        if !json {
            let history = t.deploy_history_file();
            if history.exists() {
                args.download_history = Some(history.to_string_lossy().into_owned());
            }
        }
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

    /// Keeps an inventory for the next contact. When it cannot be kept (a full disk), the run
    /// says so by its exit code: the result was not written, it is not in the spool.
    fn spool(&self, i: usize, json: bool, body: &[u8], outcome: &mut Outcome) {
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
            Err(e) => {
                log::error!("{}: cannot keep the inventory: {e}", t.name());
                outcome.output_failed = true;
            }
        }
    }

    /// After a successful contact: the server's period, less a random share so that a fleet
    /// spreads out (the reference agents' formula).
    fn schedule_next(&mut self, i: usize, period_hours: Option<f64>) {
        let t = &mut self.targets[i];
        if let Some(secs) = period_hours.and_then(schedule::period_from_hours) {
            t.state.max_delay = secs;
        }
        if t.state.max_delay == 0 {
            t.state.max_delay = self.settings.schedule.delaytime;
        }
        t.state.max_delay = t.state.max_delay.min(schedule::MAX_PERIOD);
        t.state.errors = 0;
        t.state.next_run = schedule::date_after(time::now(), next_delay(t.state.max_delay));
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
        t.state.next_run = schedule::date_after(time::now(), retry_delay(t.state.errors, cap));
    }
}

/// `UAGENT_INVENTORY_ROOT=DIR` makes the agent's inventories those of the system under DIR
/// (`uagent inventory --root DIR`): the way to run the agent, its schedule and its server
/// conversation on a router's files (tests, the partial-inventory simulation) from another
/// machine.
fn inventory_root() -> Option<String> {
    std::env::var("UAGENT_INVENTORY_ROOT")
        .ok()
        .filter(|d| !d.is_empty())
}

/// The server took an inventory: counts the partial ones since the last full one.
fn delivered(st: &mut crate::state::target::State, body: &[u8], json: bool) {
    if json && is_partial(body) {
        st.partials = st.partials.saturating_add(1);
    } else {
        st.partials = 0;
        st.full_next = false;
    }
}

/// Refuses the GLPI inventory settings the task would refuse at each run, once and up front.
fn check_inventory_settings(s: &Settings) -> Result<(), String> {
    let t = &s.tasks;
    inventory::ItemType::parse(&t.itemtype, &Root::at(std::path::Path::new("/nonexistent")))?;
    inventory::AssetName::from_number(t.assetname_support)?;
    inventory::parse_categories(&t.partial)?;
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::compress::zlib;
    use crate::state::target::State;

    #[test]
    fn glpi_targets_get_partials_until_the_postponement_runs_out() {
        let mut s = Settings::default();
        let mut st = State::default();
        assert_eq!(scope(&s, &st, true, true), Scope::Changed);
        assert!(
            matches!(scope(&s, &st, true, false), Scope::Full(_)),
            "OCS: its CHECKSUM"
        );
        assert!(
            matches!(scope(&s, &st, false, true), Scope::Full(_)),
            "no digests yet"
        );
        st.partials = 13;
        assert_eq!(scope(&s, &st, true, true), Scope::Changed);
        st.partials = 14;
        assert!(matches!(scope(&s, &st, true, true), Scope::Full(_)));
        st.partials = 0;
        st.full_next = true;
        assert!(
            matches!(scope(&s, &st, true, true), Scope::Full(_)),
            "after an error"
        );
        st.full_next = false;
        s.tasks.full = true;
        assert!(
            matches!(scope(&s, &st, true, true), Scope::Full(_)),
            "--full"
        );
        s.tasks.full = false;
        s.tasks.full_inventory_postpone = 0;
        assert!(matches!(scope(&s, &st, true, true), Scope::Full(_)));
        s.tasks.partial = vec!["software".into()];
        assert_eq!(
            scope(&s, &st, true, true),
            Scope::Named(vec!["software".into()])
        );
    }

    #[test]
    fn the_partial_flag_is_read_from_the_head_of_the_compressed_inventory() {
        let pad = "x".repeat(100_000);
        let partial = format!(
            "{{\"action\":\"inventory\",\"partial\":true,\"content\":{{\"a\":\"{pad}\"}}}}"
        );
        let full = format!(
            "{{\"action\":\"inventory\",\"content\":{{\"a\":\"\\\"partial\\\":true{pad}\"}}}}"
        );
        assert!(is_partial(&zlib(partial.as_bytes())));
        assert!(
            !is_partial(&zlib(full.as_bytes())),
            "only before the content"
        );
        assert!(!is_partial(b"not zlib"));
        let mut st = State {
            partials: 2,
            full_next: true,
            ..State::default()
        };
        delivered(&mut st, &zlib(partial.as_bytes()), true);
        assert_eq!((st.partials, st.full_next), (3, true));
        delivered(&mut st, &zlib(full.as_bytes()), true);
        assert_eq!((st.partials, st.full_next), (0, false));
    }

    fn agent(settings: &[(&str, &str)]) -> Agent {
        let dir = std::env::temp_dir().join(format!("uagent-run-{}", std::process::id()));
        let mut s = Settings::default();
        s.state.vardir = dir;
        s.set("server", "http://ocs.example.org/ocsinventory")
            .unwrap();
        for (k, v) in settings {
            s.set(k, v).unwrap();
        }
        Agent::new(s).unwrap()
    }

    #[test]
    fn deployment_is_off_until_a_family_is_named_and_no_task_wins() {
        let url = "http://ocs.example.org/ocsinventory";
        let why = agent(&[]).deploy_refusal("ocs", url).unwrap();
        if cfg!(feature = "deploy") {
            assert!(why.contains("`deploy = ocs`"), "{why}");
            assert_eq!(agent(&[("deploy", "ocs")]).deploy_refusal("ocs", url), None);
            assert!(agent(&[("deploy", "ocs")])
                .deploy_refusal("glpi", url)
                .is_some());
            let no_task = agent(&[("deploy", "ocs,glpi"), ("no-task", "deploy")]);
            assert!(no_task
                .deploy_refusal("ocs", url)
                .unwrap()
                .contains("--no-task"));
            let only = agent(&[
                ("deploy", "ocs"),
                ("deploy-servers", "http://other/ocsinventory"),
            ]);
            assert!(only
                .deploy_refusal("ocs", url)
                .unwrap()
                .contains("deploy-servers"));
            for entry in ["ocs.example.org", "HTTP://ocs.example.org/ocsinventory/"] {
                let ok = agent(&[("deploy", "ocs"), ("deploy-servers", entry)]);
                assert_eq!(ok.deploy_refusal("ocs", url), None, "{entry}");
            }
        } else {
            assert!(why.contains("deploy feature"), "{why}");
        }
        let _ = std::fs::remove_dir_all(agent(&[]).settings.state.vardir);
    }
}
