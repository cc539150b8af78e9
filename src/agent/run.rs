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
            ServerKind::Glpi => self
                .contact(&server, url_text)
                .await
                .map(PrologAnswer::Glpi),
            _ => server.prolog(kind == ServerKind::Unknown).await,
        };
        if let Ok(PrologAnswer::Glpi(_)) = &answer {
            if kind != ServerKind::Glpi {
                log::info!("{url_text}: a GLPI server (native protocol)");
                self.targets[i].state.server = ServerKind::Glpi;
                answer = self
                    .contact(&server, url_text)
                    .await
                    .map(PrologAnswer::Glpi);
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
                    if let Some(body) = self.make_inventory(i, json, outcome).await {
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
        if (send_inventory || force) && self.wants_task("inventory") {
            if let Some(body) = self.make_inventory(i, json, outcome).await {
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
        match &answer {
            PrologAnswer::Xml(p) => {
                self.prolog_tasks(i, p, outcome).await;
                self.glpi_deploy(i, None, outcome).await;
            }
            PrologAnswer::Glpi(c) => self.glpi_deploy(i, Some(c), outcome).await,
        }
        self.schedule_next(i, period_hours);
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
    async fn prolog_tasks(&self, i: usize, prolog: &Prolog, outcome: &mut Outcome) {
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
            if let Err(e) = self.task(&cmd, false).await {
                log::error!("{name}: the {} task {e}", info.name);
                outcome.task_failed = true;
            }
        }
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

    /// Runs the inventory task for a server target: its zlib-compressed output.
    async fn make_inventory(&self, i: usize, json: bool, outcome: &mut Outcome) -> Option<Vec<u8>> {
        let t = &self.targets[i];
        let mut args = self.inventory_args(t, if json { "json" } else { "xml" });
        args.compress = true;
        args.digests = Some(t.digests_file().to_string_lossy().into_owned());
        args.digests_out = Some(t.new_digests_file().to_string_lossy().into_owned());
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

/// The host name as the runs see it (for logs).
pub fn hostname() -> String {
    os::hostname(&Root::live())
}

#[cfg(test)]
mod tests {
    use super::*;

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
