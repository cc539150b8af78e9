//! OCS Inventory packages: the PROLOG's DOWNLOAD option (a CONF parameter, one PACK per package),
//! each package's info file over verified HTTPS, its fragments fetched one per cycle as the
//! server's latencies, PERIOD_LENGTH and the package's PRI say, then built (hashed and unpacked
//! in one pass over the fragments), stored or run, and its result sent (`QUERY=DOWNLOAD`).
//!
//! Results, as the server stores them in `devices.TVALUE`: `SUCCESS`; `EXIT_CODE_<n>` for a
//! command that exits with n ≠ 0 (as the Windows agent says, not the unix agent's
//! `SUCCESS_<n>`); `SUCCESS_ALREADY_SETUP`; `ERR_DOWNLOAD_INFO`, `ERR_BAD_ID`, `ERR_BAD_DIGEST`,
//! `ERR_BUILD`, `ERR_EXECUTE`, `ERR_EXECUTE_TIMEOUT`, `ERR_TIMEOUT`, `ERR_OUT_OF_SPACE`,
//! `ERR_DOWNLOAD_PACK` (a fragment that cannot be fetched after [`MAX_FETCH_ERRORS`] tries), and
//! `ERR_BAD_PARAM` when this agent's settings refuse what the package asks (a source outside
//! `deploy-sources`, a PATH outside `deploy-paths`, a command under `deploy-exec = no`).
//! A package whose fragments are not all fetched when the task's time is up stays with the
//! server's `NOTIFIED` and is resumed at the next PROLOG, fragment by fragment, until TIMEOUT
//! days after it was first seen.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;
use std::time::Duration;

use super::digest::{self, Hasher, Md5, Sha1};
use super::exec::{self, Ending};
use super::fetch::{self, FetchError};
use super::info::{self, Act, Algo, Info};
use super::job::Params;
use super::targz::{remove_tree, BuildError, Unpacker};
use super::{check_space, Ctx};
use crate::core::{exit, time};
use crate::http::Url;
use crate::protocol::server::Server;
use crate::state::deploy::{self as store, private_dir, valid_package_id};
use crate::state::{read_small, write_atomic};

/// Failed fetches of one package's fragments (over all runs) before it is given up.
pub const MAX_FETCH_ERRORS: u32 = 20;
/// Failed fetches of one package in one run before it waits for the next run.
const MAX_TRIES_PER_RUN: u32 = 3;
/// Pause after a failed fetch.
const RETRY_PAUSE: Duration = Duration::from_secs(1);
/// Least time left for building and running a package; with less it waits for the next run.
const MIN_ACT_TIME: Duration = Duration::from_secs(5);
/// Read size when joining fragments.
const READ_CHUNK: usize = 64 * 1024;
/// Lines of a command's output kept for the log.
const LOG_LINES: usize = 10;

/// The CONF parameter, with the unix agent's fallbacks for what it lacks.
#[derive(Debug, Clone, PartialEq)]
pub struct Conf {
    pub on: bool,
    pub frag_latency: Duration,
    pub cycle_latency: Duration,
    pub period_latency: Duration,
    pub period_length: u32,
    pub timeout_days: u64,
    pub execution_timeout: Duration,
    /// Attributes this agent does not read, kept for the log.
    pub other: Params,
}

/// One PACK parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Pack {
    pub id: String,
    pub info_loc: String,
    pub pack_loc: String,
    pub force: bool,
    pub attrs: Params,
}

fn attr<'a>(p: &'a Params, name: &str) -> Option<&'a str> {
    p.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

fn secs(p: &Params, name: &str, default: u64, max: u64) -> u64 {
    attr(p, name)
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(default)
        .min(max)
}

/// The CONF and PACK parameters of a DOWNLOAD option.
pub fn parse_option(params: &[Params]) -> (Conf, Vec<Pack>) {
    let empty = Params::new();
    let conf = params
        .iter()
        .find(|p| attr(p, "TYPE").is_some_and(|t| t.eq_ignore_ascii_case("CONF")))
        .unwrap_or(&empty);
    const KNOWN: [&str; 8] = [
        "TYPE", "ON", "FRAG_LATENCY", "CYCLE_LATENCY", "PERIOD_LATENCY", "PERIOD_LENGTH", "TIMEOUT",
        "EXECUTION_TIMEOUT",
    ];
    let conf = Conf {
        on: attr(conf, "ON") != Some("0"),
        frag_latency: Duration::from_secs(secs(conf, "FRAG_LATENCY", 10, 3600)),
        cycle_latency: Duration::from_secs(secs(conf, "CYCLE_LATENCY", 10, 3600)),
        period_latency: Duration::from_secs(secs(conf, "PERIOD_LATENCY", 0, 24 * 3600)),
        period_length: secs(conf, "PERIOD_LENGTH", 10, 1000).max(1) as u32,
        timeout_days: secs(conf, "TIMEOUT", 7, 3650),
        execution_timeout: Duration::from_secs(60 * secs(conf, "EXECUTION_TIMEOUT", 120, 7 * 24 * 60)),
        other: conf
            .iter()
            .filter(|(k, _)| !KNOWN.iter().any(|n| k.eq_ignore_ascii_case(n)))
            .cloned()
            .collect(),
    };
    let packs = params
        .iter()
        .filter(|p| attr(p, "TYPE").is_some_and(|t| t.eq_ignore_ascii_case("PACK")))
        .map(|p| Pack {
            id: attr(p, "ID").unwrap_or("").to_string(),
            info_loc: attr(p, "INFO_LOC").unwrap_or("").to_string(),
            pack_loc: attr(p, "PACK_LOC").unwrap_or("").to_string(),
            force: attr(p, "FORCE") == Some("1"),
            attrs: p.clone(),
        })
        .collect();
    (conf, packs)
}

/// A result code, as the server stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    Success,
    Exit(i32),
    AlreadySetup,
    DownloadInfo,
    DownloadPack,
    BadId,
    BadDigest,
    BadParam,
    Build,
    Execute,
    ExecuteTimeout,
    Timeout,
    OutOfSpace,
}

impl Code {
    pub fn text(&self) -> String {
        match self {
            Code::Success => "SUCCESS".into(),
            Code::Exit(n) => format!("EXIT_CODE_{n}"),
            Code::AlreadySetup => "SUCCESS_ALREADY_SETUP".into(),
            Code::DownloadInfo => "ERR_DOWNLOAD_INFO".into(),
            Code::DownloadPack => "ERR_DOWNLOAD_PACK".into(),
            Code::BadId => "ERR_BAD_ID".into(),
            Code::BadDigest => "ERR_BAD_DIGEST".into(),
            Code::BadParam => "ERR_BAD_PARAM".into(),
            Code::Build => "ERR_BUILD".into(),
            Code::Execute => "ERR_EXECUTE".into(),
            Code::ExecuteTimeout => "ERR_EXECUTE_TIMEOUT".into(),
            Code::Timeout => "ERR_TIMEOUT".into(),
            Code::OutOfSpace => "ERR_OUT_OF_SPACE".into(),
        }
    }
}

/// A package being fetched in this run.
struct Active {
    pack: Pack,
    info: Info,
    /// `<proto>://<PACK_LOC>/<ID>/`
    base: Option<Url>,
    /// The first fragment not fetched yet (fragments + 1 when all are here).
    next: u32,
    errors: u32,
    tries: u32,
    parked: bool,
}

struct Run<'a> {
    ctx: &'a Ctx,
    server: Server<'a>,
    conf: Conf,
    /// Results the server could not be told this run (kept for the next).
    undelivered: Vec<(String, String)>,
}

impl Run<'_> {
    async fn report(&mut self, id: &str, code: &Code) {
        let code = code.text();
        match self.server.send_download_result(id, &code).await {
            Ok(()) => log::info!("package {id}: result {code} sent to {}", self.ctx.server),
            Err(e) => {
                log::error!("package {id}: cannot send the result {code}: {e}; kept for the next run");
                self.undelivered.push((id.to_string(), code));
            }
        }
    }

    /// Sends what earlier runs could not.
    async fn flush_undelivered(&mut self) {
        let path = self.ctx.dirs.results();
        for (id, code) in store::read_results(&path) {
            match self.server.send_download_result(&id, &code).await {
                Ok(()) => log::info!("package {id}: result {code} from an earlier run sent"),
                Err(e) => {
                    log::warn!("package {id}: the result {code} from an earlier run is still not delivered: {e}");
                    self.undelivered.push((id, code));
                }
            }
        }
    }

    fn save_undelivered(&self) {
        let path = self.ctx.dirs.results();
        if self.undelivered.is_empty() && !path.exists() {
            return;
        }
        if let Err(e) = store::write_results(&path, &self.undelivered) {
            log::error!("cannot keep the undelivered results in {}: {e}", path.display());
        }
    }

    fn clean(&self, id: &str) {
        remove_tree(&self.ctx.dirs.package(id));
    }

    /// Ends a package: its result sent, its folder removed, the history updated on success.
    async fn finish(&mut self, id: &str, code: Code) {
        if code == Code::Success {
            if let Err(e) = store::add_history(&self.ctx.dirs.history(), id) {
                log::error!("package {id}: cannot add it to the history: {e}");
            }
        }
        self.clean(id);
        self.report(id, &code).await;
    }

    /// Checks a package offered by the PROLOG and reads (or fetches) its info file; `None` when
    /// it ended here (its result sent).
    async fn prepare(&mut self, pack: Pack) -> Option<Active> {
        let ctx = self.ctx;
        let id = pack.id.clone();
        if !valid_package_id(&id) {
            log::error!("package {id:?}: not a package id (digits only)");
            self.report(&id, &Code::BadId).await;
            return None;
        }
        if !pack.force && store::read_history(&ctx.dirs.history()).contains(&id) {
            log::info!("package {id}: already done here (in the history; FORCE=1 redeploys it)");
            self.clean(&id);
            self.report(&id, &Code::AlreadySetup).await;
            return None;
        }
        let dir = ctx.dirs.package(&id);
        if let Err(e) = private_dir(&dir) {
            log::error!("package {id}: cannot create {}: {e}", dir.display());
            let code = if super::targz::is_no_space(&e) { Code::OutOfSpace } else { Code::Build };
            self.finish(&id, code).await;
            return None;
        }
        let now = time::now();
        let since = match read_small(&ctx.dirs.since(&id)).ok().flatten().and_then(|s| s.trim().parse::<i64>().ok()) {
            Some(s) => s,
            None => {
                let _ = write_atomic(&ctx.dirs.since(&id), format!("{now}\n").as_bytes());
                now
            }
        };
        let days = (now - since).max(0) as u64 / 86_400;
        if now - since > (self.conf.timeout_days as i64) * 86_400 {
            log::error!("package {id}: first seen {days} day(s) ago, past the server's TIMEOUT of {} day(s)", self.conf.timeout_days);
            self.finish(&id, Code::Timeout).await;
            return None;
        }
        let Ok(info_url) = Url::parse(&format!("https://{}/{id}/info", pack.info_loc.trim_end_matches('/'))) else {
            log::error!("package {id}: INFO_LOC {:?} does not make a URL", pack.info_loc);
            self.finish(&id, Code::DownloadInfo).await;
            return None;
        };
        if let Err(e) = fetch::check_source(ctx, &info_url, true) {
            log::error!("package {id}: info file {info_url} refused: {e}");
            self.finish(&id, Code::BadParam).await;
            return None;
        }
        let info_file = ctx.dirs.info(&id);
        let body = match fs::read(&info_file) {
            Ok(b) => b,
            Err(_) => match fetch::small(ctx, &info_url, super::MAX_SMALL_BODY, true).await {
                Ok(b) => {
                    if let Err(e) = write_atomic(&info_file, &b) {
                        log::warn!("package {id}: cannot keep its info file: {e}");
                    }
                    b
                }
                Err(e) => {
                    log::error!("package {id}: cannot get the info file {info_url}: {e}");
                    self.finish(&id, Code::DownloadInfo).await;
                    return None;
                }
            },
        };
        let info = match info::parse(&body) {
            Ok(i) => i,
            Err(e) => {
                log::error!("package {id}: {info_url}: {e}");
                self.finish(&id, Code::DownloadInfo).await;
                return None;
            }
        };
        if info.id != id {
            log::error!("package {id}: its info file names package {}", info.id);
            self.finish(&id, Code::BadId).await;
            return None;
        }
        let act = match &info.act {
            Act::Store(p) => format!("STORE to {p}"),
            Act::Execute(c) => format!("EXECUTE `{c}`"),
            Act::Launch(n) => format!("LAUNCH {n}"),
        };
        log::info!(
            "package {id}: {act}, {} fragment(s) over {}, priority {}, digest {} {} (info from {info_url})",
            info.fragments,
            if info.https { "HTTPS" } else { "HTTP" },
            info.priority,
            info.algo.map_or("?", Algo::name),
            info.digest
        );
        // What this agent's settings allow.
        let refusal = match &info.act {
            Act::Execute(_) | Act::Launch(_) if !ctx.policy.exec => {
                Some("deploy-exec = no: this agent runs no command".to_string())
            }
            Act::Store(p) => ctx.policy.writable(&store_path(p, &ctx.vardir)).err(),
            _ => None,
        };
        if let Some(why) = refusal {
            log::error!("package {id}: refused: {why}");
            self.finish(&id, Code::BadParam).await;
            return None;
        }
        if info.fragments > 0 && info.algo.is_none() {
            log::error!(
                "package {id}: digest {:?} encoded {:?}: this agent checks MD5 or SHA1, hex or base64",
                info.attrs.iter().find(|(k, _)| k == "DIGEST_ALGO").map(|(_, v)| v.as_str()).unwrap_or(""),
                info.attrs.iter().find(|(k, _)| k == "DIGEST_ENCODE").map(|(_, v)| v.as_str()).unwrap_or("")
            );
            self.finish(&id, Code::BadDigest).await;
            return None;
        }
        let base = if info.fragments > 0 {
            let proto = if info.https { "https" } else { "http" };
            let url = match Url::parse(&format!("{proto}://{}/{id}/", pack.pack_loc.trim_end_matches('/'))) {
                Ok(u) => u,
                Err(e) => {
                    log::error!("package {id}: PACK_LOC {:?}: {e}", pack.pack_loc);
                    self.finish(&id, Code::DownloadPack).await;
                    return None;
                }
            };
            if let Err(e) = fetch::check_source(ctx, &url, false) {
                log::error!("package {id}: fragments from {url} refused: {e}");
                self.finish(&id, Code::BadParam).await;
                return None;
            }
            if let Some(a) = info.algo {
                log::warn!(
                    "package {id}: {} is a weak digest; what vouches for this package is its info file, fetched over verified HTTPS",
                    a.name()
                );
            }
            Some(url)
        } else {
            None
        };
        if info.priority > self.conf.period_length {
            log::warn!(
                "package {id}: priority {} is above PERIOD_LENGTH {}: the server's schedule never fetches it (it ends with ERR_TIMEOUT)",
                info.priority,
                self.conf.period_length
            );
        }
        let next = (1..=info.fragments)
            .find(|n| !ctx.dirs.fragment(&id, *n).exists())
            .unwrap_or(info.fragments + 1);
        if next > 1 {
            log::info!("package {id}: fragments 1 to {} fetched by an earlier run", next - 1);
        }
        let errors = read_small(&ctx.dirs.errors(&id)).ok().flatten().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
        Some(Active {
            pack,
            info,
            base,
            next,
            errors,
            tries: 0,
            parked: false,
        })
    }

    /// One step of a package: its next fragment, or, when all are here, the package itself.
    /// Returns whether the package is finished (its result sent).
    async fn step(&mut self, a: &mut Active) -> bool {
        let ctx = self.ctx;
        let id = a.pack.id.clone();
        if a.next <= a.info.fragments {
            let n = a.next;
            let Some(base) = &a.base else { return false };
            let mut url = base.clone();
            url.path = format!("{}{id}-{n}", base.path);
            let (partial, done) = (ctx.dirs.fragment_partial(&id, n), ctx.dirs.fragment(&id, n));
            match fetch::to_file(ctx, &ctx.files, &url, (&partial, &done), ctx.deadline.left(), false).await {
                Ok(f) => {
                    let resumed = if f.resumed_from > 0 {
                        format!(", resumed at byte {}", f.resumed_from)
                    } else {
                        String::new()
                    };
                    log::info!(
                        "package {id}: fragment {n}/{} from {}: {} bytes in {:.1} s{resumed}",
                        a.info.fragments,
                        f.url,
                        f.bytes,
                        f.took.as_secs_f64()
                    );
                    a.next += 1;
                }
                Err(FetchError::NoSpace(e)) => {
                    log::error!("package {id}: fragment {n}: {e}");
                    self.finish(&id, Code::OutOfSpace).await;
                    return true;
                }
                Err(FetchError::Refused(e)) => {
                    log::error!("package {id}: fragment {n}: {e}");
                    self.finish(&id, Code::BadParam).await;
                    return true;
                }
                Err(e @ FetchError::TooLarge(_)) => {
                    log::error!("package {id}: fragment {n} from {url}: {e}");
                    self.finish(&id, Code::DownloadPack).await;
                    return true;
                }
                Err(e) => {
                    a.errors += 1;
                    a.tries += 1;
                    let _ = write_atomic(&ctx.dirs.errors(&id), format!("{}\n", a.errors).as_bytes());
                    log::warn!("package {id}: fragment {n} from {url}: {e} (failure {} of {MAX_FETCH_ERRORS})", a.errors);
                    if a.errors >= MAX_FETCH_ERRORS {
                        log::error!("package {id}: fragment {n} could not be fetched {MAX_FETCH_ERRORS} times: given up");
                        self.finish(&id, Code::DownloadPack).await;
                        return true;
                    }
                    if a.tries >= MAX_TRIES_PER_RUN {
                        log::warn!("package {id}: fragment {n} failed {MAX_TRIES_PER_RUN} times in this run; the next run tries again");
                        a.parked = true;
                    }
                    ctx.deadline.sleep(RETRY_PAUSE).await;
                    return false;
                }
            }
            if a.next <= a.info.fragments {
                return false;
            }
        }
        if ctx.deadline.left() < MIN_ACT_TIME {
            log::warn!("package {id}: fetched, but too little of the task's time is left to build it; the next run does");
            a.parked = true;
            return false;
        }
        let code = self.build_and_act(a).await;
        self.finish(&id, code).await;
        true
    }

    /// Joins the fragments (hashing and unpacking them in one pass), checks the digest, then
    /// stores or runs. The work folder is removed whatever happens.
    async fn build_and_act(&mut self, a: &Active) -> Code {
        let ctx = self.ctx;
        let id = &a.pack.id;
        let work = ctx.dirs.work_ocs(id);
        remove_tree(&work);
        if let Err(e) = private_dir(&work) {
            log::error!("package {id}: cannot create the work folder {}: {e}", work.display());
            return if super::targz::is_no_space(&e) { Code::OutOfSpace } else { Code::Build };
        }
        let code = match self.build(a, &work) {
            Ok(()) => self.act(a, &work).await,
            Err(code) => code,
        };
        remove_tree(&work);
        code
    }

    fn build(&self, a: &Active, work: &Path) -> Result<(), Code> {
        let ctx = self.ctx;
        let id = &a.pack.id;
        if a.info.fragments == 0 {
            return Ok(());
        }
        let mut hasher: Box<dyn Hasher> = match a.info.algo {
            Some(Algo::Sha1) => Box::new(Sha1::new()),
            _ => Box::new(Md5::new()),
        };
        let min_free = ctx.policy.min_free;
        let mut space = |n: u64| check_space(work, n, min_free).map_err(BuildError::NoSpace);
        let mut unpacker = Some(Unpacker::new(work, &mut space));
        let mut failed: Option<BuildError> = None;
        let mut buf = vec![0u8; READ_CHUNK];
        let mut total: u64 = 0;
        for n in 1..=a.info.fragments {
            let path = ctx.dirs.fragment(id, n);
            let mut f = File::open(&path).map_err(|e| {
                log::error!("package {id}: cannot read {}: {e}", path.display());
                Code::Build
            })?;
            loop {
                let k = match f.read(&mut buf) {
                    Ok(0) => break,
                    Ok(k) => k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        log::error!("package {id}: cannot read {}: {e}", path.display());
                        return Err(Code::Build);
                    }
                };
                total += k as u64;
                hasher.update(&buf[..k]);
                // Unpacking stops at its first error; the digest is still computed, since a
                // wrong digest is the better reason to give.
                if failed.is_none() {
                    if let Some(u) = &mut unpacker {
                        if let Err(e) = u.feed(&buf[..k]) {
                            failed = Some(e);
                        }
                    }
                }
            }
        }
        let got = hasher.finish();
        let algo = a.info.algo.map_or("?", Algo::name);
        if !digest::matches(&got, &a.info.digest, a.info.base64) {
            log::error!(
                "package {id}: {algo} digest of the {total} bytes is {} ({}), the info file says {}",
                digest::hex(&got),
                crate::http::base64(&got),
                a.info.digest
            );
            return Err(Code::BadDigest);
        }
        log::info!("package {id}: {algo} digest {} of {total} bytes checked", a.info.digest);
        if failed.is_none() {
            if let Some(u) = unpacker.take() {
                match u.finish() {
                    Ok(t) => log::info!("package {id}: unpacked {} file(s), {} bytes, into {}", t.files, t.bytes, work.display()),
                    Err(e) => failed = Some(e),
                }
            }
        }
        match failed {
            None => Ok(()),
            Some(e @ BuildError::NoSpace(_)) => {
                log::error!("package {id}: {e}");
                Err(Code::OutOfSpace)
            }
            Some(e) => {
                log::error!("package {id}: cannot unpack: {e}");
                Err(Code::Build)
            }
        }
    }

    async fn act(&self, a: &Active, work: &Path) -> Code {
        let ctx = self.ctx;
        let id = &a.pack.id;
        let command = match &a.info.act {
            Act::Store(p) => {
                let path = store_path(p, &ctx.vardir);
                let real = match ctx.policy.writable(&path) {
                    Ok(r) => r,
                    Err(e) => {
                        log::error!("package {id}: refused: {e}");
                        return Code::BadParam;
                    }
                };
                return match fs::create_dir_all(&real).and_then(|_| super::copy_tree(work, &real, ctx.policy.min_free, 0)) {
                    Ok(n) => {
                        log::info!("package {id}: stored {n} file(s) in {}", real.display());
                        Code::Success
                    }
                    Err(e) if super::targz::is_no_space(&e) => {
                        log::error!("package {id}: storing in {}: {e}", real.display());
                        Code::OutOfSpace
                    }
                    Err(e) => {
                        log::error!("package {id}: storing in {}: {e}", real.display());
                        Code::Execute
                    }
                };
            }
            Act::Execute(c) => c.clone(),
            Act::Launch(name) => {
                let first = name.split_whitespace().next().unwrap_or("");
                let file = work.join(first);
                if first.contains('/') || first == "." || first == ".." || !fs::symlink_metadata(&file).is_ok_and(|m| m.is_file()) {
                    log::error!("package {id}: LAUNCH {first:?}: no such file in the package");
                    return Code::Execute;
                }
                if let Err(e) = exec::make_executable(&file) {
                    log::error!("package {id}: cannot make {first} executable: {e}");
                    return Code::Execute;
                }
                format!("./{name}")
            }
        };
        let limit = self.conf.execution_timeout.min(ctx.policy.exec_timeout).min(ctx.deadline.left());
        log::info!("package {id}: running `{command}` in {} (time limit {} s)", work.display(), limit.as_secs());
        let ran = exec::run(&exec::Spec {
            command: &command,
            dir: work,
            env: &[],
            limit,
            keep: LOG_LINES,
        })
        .await;
        for line in &ran.lines {
            log::debug!("package {id}: | {line}");
        }
        let took = ran.took.as_secs_f64();
        match ran.ending {
            Ending::Exited(0) => {
                log::info!("package {id}: `{command}` exited 0 after {took:.1} s ({} bytes of output)", ran.output_bytes);
                Code::Success
            }
            Ending::Exited(n) => {
                log::error!("package {id}: `{command}` exited {n} after {took:.1} s; last output: {}", ran.lines.join(" | "));
                Code::Exit(n)
            }
            Ending::TimedOut => {
                log::error!("package {id}: `{command}` still ran after its time limit of {} s: killed with its process group", limit.as_secs());
                Code::ExecuteTimeout
            }
            Ending::Signaled(s) => {
                log::error!("package {id}: `{command}` was killed by signal {s} after {took:.1} s");
                Code::Execute
            }
            Ending::NotStarted(e) => {
                log::error!("package {id}: cannot run `{command}`: {e}");
                Code::Execute
            }
        }
    }
}

/// STORE's PATH with `INSTALL_PATH` replaced (by the vardir, where nothing may be stored: such
/// a package is refused by the policy).
fn store_path(p: &str, vardir: &Path) -> String {
    p.replace("INSTALL_PATH", &vardir.to_string_lossy())
}

/// The OCS side of the task; its exit code.
pub async fn run(ctx: &Ctx) -> i32 {
    let (conf, packs) = parse_option(&ctx.job.params);
    let mut run = Run {
        ctx,
        server: Server {
            client: &ctx.client,
            url: ctx.server.clone(),
            deviceid: &ctx.job.deviceid,
            agentid: "",
            compress: !ctx.job.settings.connection.no_compression,
            // An OCS server: no OAuth2 token.
            oauth: None,
            token_first: false,
        },
        conf,
        undelivered: Vec::new(),
    };
    if let Err(e) = private_dir(ctx.dirs.root()).and_then(|_| private_dir(&ctx.dirs.ocs())) {
        log::error!("cannot create {}: {e}", ctx.dirs.root().display());
        return exit::TASK;
    }
    run.flush_undelivered().await;
    if !run.conf.on {
        log::info!("the server has package deployment switched off (DOWNLOAD ON=0): nothing done");
        run.save_undelivered();
        return exit::OK;
    }
    if !run.conf.other.is_empty() {
        log::debug!("DOWNLOAD CONF attributes not used here: {:?}", run.conf.other);
    }
    log::info!(
        "{} package(s) offered; latencies {}/{}/{} s, period {} cycles, timeout {} days, commands at most {} s",
        packs.len(),
        run.conf.frag_latency.as_secs(),
        run.conf.cycle_latency.as_secs(),
        run.conf.period_latency.as_secs(),
        run.conf.period_length,
        run.conf.timeout_days,
        run.conf.execution_timeout.min(ctx.policy.exec_timeout).as_secs()
    );
    let offered: Vec<String> = packs.iter().map(|p| p.id.clone()).collect();
    remove_stale(ctx, &offered, run.conf.timeout_days);
    let mut active = Vec::new();
    for p in packs {
        if ctx.deadline.passed() {
            log::warn!("the task's time is up: package {} waits for the next run", p.id);
            continue;
        }
        if let Some(a) = run.prepare(p).await {
            active.push(a);
        }
    }
    schedule(&mut run, &mut active).await;
    let left: Vec<&str> = active.iter().map(|a| a.pack.id.as_str()).collect();
    if !left.is_empty() {
        log::info!("package(s) {} not finished in this run: the next run resumes them", left.join(", "));
    }
    run.save_undelivered();
    exit::OK
}

/// The server's schedule: periods of PERIOD_LENGTH cycles; in cycle i, one fragment of each
/// package whose PRI divides i (packages of PRI 0 first and alone while there are any), with
/// FRAG_LATENCY after each fragment, CYCLE_LATENCY after each cycle, PERIOD_LATENCY after each
/// period.
async fn schedule(run: &mut Run<'_>, active: &mut Vec<Active>) {
    let ctx = run.ctx;
    let conf = run.conf.clone();
    loop {
        active.retain(|a| !a.parked);
        let runnable = active.iter().any(|a| a.info.priority == 0 || a.info.priority <= conf.period_length);
        if !runnable || ctx.deadline.passed() {
            return;
        }
        for cycle in 1..=conf.period_length {
            if ctx.deadline.passed() || active.is_empty() {
                return;
            }
            let first = active.iter().any(|a| a.info.priority == 0 && !a.parked);
            let mut i = 0;
            while i < active.len() {
                let pri = active[i].info.priority;
                let due = if first { pri == 0 } else { cycle % pri.max(1) == 0 };
                if !due || active[i].parked || ctx.deadline.passed() {
                    i += 1;
                    continue;
                }
                let mut a = active.remove(i);
                if run.step(&mut a).await {
                    ctx.deadline.sleep(conf.frag_latency).await;
                    continue;
                }
                active.insert(i, a);
                i += 1;
                ctx.deadline.sleep(conf.frag_latency).await;
            }
            if !first {
                ctx.deadline.sleep(conf.cycle_latency).await;
            }
        }
        ctx.deadline.sleep(conf.period_latency).await;
    }
}

/// Removes the folders of packages the server no longer offers, once past their TIMEOUT.
fn remove_stale(ctx: &Ctx, offered: &[String], timeout_days: u64) {
    let Ok(entries) = fs::read_dir(ctx.dirs.ocs()) else {
        return;
    };
    let now = time::now();
    for e in entries.flatten() {
        let id = e.file_name().to_string_lossy().into_owned();
        if offered.contains(&id) || !valid_package_id(&id) {
            continue;
        }
        let since = read_small(&ctx.dirs.since(&id)).ok().flatten().and_then(|s| s.trim().parse::<i64>().ok()).unwrap_or(0);
        if now - since > timeout_days as i64 * 86_400 {
            log::info!("package {id}: no longer offered and past its timeout: its files are removed");
            remove_tree(&e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Params {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_captured_prolog_option_is_read() {
        let body = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/peer-outputs/deploy/ocs/prolog-reply-with-packs.xml"))
            .expect("../shared/peer-outputs/deploy/ocs/prolog-reply-with-packs.xml");
        let prolog = crate::protocol::messages::parse_prolog(&body).unwrap();
        let params: Vec<Params> = prolog.option("DOWNLOAD").unwrap().params.iter().map(|n| n.attrs.clone()).collect();
        let (conf, packs) = parse_option(&params);
        assert!(conf.on);
        assert_eq!(conf.frag_latency, Duration::ZERO);
        assert_eq!(conf.period_length, 10);
        assert_eq!(conf.timeout_days, 30);
        assert_eq!(conf.execution_timeout, Duration::from_secs(120 * 60));
        assert_eq!(packs.len(), 6);
        assert_eq!(packs[0].id, "1764620001");
        assert_eq!(packs[0].info_loc, "127.0.0.1:8543/download");
        assert_eq!(packs[0].pack_loc, "127.0.0.1:8180/download");
        assert!(!packs[0].force);
        assert!(packs[0].attrs.iter().any(|(k, _)| k == "CERT_FILE"), "unknown attributes are kept");
    }

    #[test]
    fn missing_conf_values_take_the_unix_agents_fallbacks() {
        let (conf, packs) = parse_option(&[p(&[("TYPE", "CONF"), ("ON", "0"), ("X_NEW", "1")]), p(&[("TYPE", "PACK"), ("ID", "7"), ("FORCE", "1")])]);
        assert!(!conf.on);
        assert_eq!((conf.frag_latency.as_secs(), conf.cycle_latency.as_secs(), conf.period_length), (10, 10, 10));
        assert_eq!(conf.other, p(&[("X_NEW", "1")]));
        assert!(packs[0].force);
        assert_eq!(Code::Exit(3).text(), "EXIT_CODE_3");
        assert_eq!(Code::AlreadySetup.text(), "SUCCESS_ALREADY_SETUP");
    }
}
