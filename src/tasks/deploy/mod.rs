//! Software deployment: OCS Inventory packages (the PROLOG's DOWNLOAD option) and GLPI /
//! FusionInventory deploy jobs, run in a task process of its own that the agent starts with the
//! job on its standard input ([`job`]).
//!
//! Whoever controls a server controls every machine where it may deploy, so deployment is
//! compiled in by the `deploy` feature but off at run time until the configuration names a
//! family (`deploy = ocs,glpi`), and then bounded by [`Policy`]: which targets may order it
//! (`deploy-servers`, checked by the agent), which hosts files may come from (`deploy-sources`,
//! redirects included), where files may be written (`deploy-paths`, never `/` nor the agent's
//! own folders), whether commands may run at all (`deploy-exec`), how long they may run
//! (`deploy-exec-timeout`), what free space must remain (`deploy-min-free`) and whether the LAN
//! may be probed for peers (`deploy-p2p`).
//!
//! Files are checked before anything of them is used: OCS packages by the digest of their info
//! file, which only comes over verified HTTPS; GLPI parts and files by their SHA-512. Archives
//! are read by our own [`targz`] reader, streamed from the fragments as they are hashed.

mod args;
pub mod digest;
mod exec;
mod fetch;
mod glpi;
pub mod info;
pub mod job;
pub mod jobs;
mod ocs;
mod p2p;
pub mod targz;

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

pub use args::Args;
use job::{Family, Job};

use crate::core::exit;
use crate::http::{Client, Url};
use crate::protocol::server::{client_options, server_url, user_agent};
use crate::state::deploy::DeployDirs;
use crate::state::AtomicFile;
use crate::state::target::{target_dir, Destination};

/// Time kept at the end of the task's own limit for reporting (the agent kills the process at
/// `task-timeout`; nothing new starts in this last stretch).
const END_MARGIN: Duration = Duration::from_secs(15);
/// Largest body of a small download (an info file, a redirect's page).
pub const MAX_SMALL_BODY: usize = 64 * 1024;

/// What the local settings allow, for one job.
#[derive(Debug, Clone)]
pub struct Policy {
    /// `host` or `host:port`, lower-case.
    sources: Vec<String>,
    /// Folders where files may be written (resolved).
    paths: Vec<PathBuf>,
    /// Folders never written (the vardir, the statedir; resolved).
    forbidden: Vec<PathBuf>,
    pub exec: bool,
    pub min_free: u64,
    pub exec_timeout: Duration,
    pub p2p: bool,
}

/// `path` with `.` and `..` resolved lexically; `None` for a relative path.
pub fn normalize(path: &Path) -> Option<PathBuf> {
    if !path.is_absolute() {
        return None;
    }
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(p) => out.push(p),
            _ => {}
        }
    }
    Some(out)
}

/// `path` resolved through the links of its deepest existing folder (the rest appended).
fn resolve(path: &Path) -> Option<PathBuf> {
    let path = normalize(path)?;
    let mut existing = path.clone();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = fs::canonicalize(&existing) {
            let mut out = real;
            for r in rest.iter().rev() {
                out.push(r);
            }
            return Some(out);
        }
        rest.push(existing.file_name()?.to_os_string());
        if !existing.pop() {
            return None;
        }
    }
}

impl Policy {
    pub fn new(s: &crate::config::Settings, server: &Url) -> Policy {
        let d = &s.deploy;
        let mut sources: Vec<String> = d
            .deploy_sources
            .iter()
            .map(|x| x.trim().to_ascii_lowercase())
            .filter(|x| !x.is_empty())
            .collect();
        if sources.is_empty() {
            sources.push(server.host.clone());
        }
        let forbidden: Vec<PathBuf> = [s.state.vardir.as_path(), s.statedir()]
            .iter()
            .filter_map(|p| resolve(p))
            .collect();
        let mut paths = Vec::new();
        for p in &d.deploy_paths {
            match resolve(Path::new(p)) {
                Some(r) if r == Path::new("/") => {
                    log::warn!("deploy-paths: {p} is the root folder, never allowed: ignored")
                }
                Some(r) if forbidden.iter().any(|f| r.starts_with(f)) => log::warn!(
                    "deploy-paths: {p} is inside the agent's own folders, never allowed: ignored"
                ),
                Some(r) => paths.push(r),
                None => log::warn!("deploy-paths: {p} is not an absolute path: ignored"),
            }
        }
        Policy {
            sources,
            paths,
            forbidden,
            exec: d.deploy_exec.0,
            min_free: d.deploy_min_free.saturating_mul(1024 * 1024),
            exec_timeout: Duration::from_secs(d.deploy_exec_timeout),
            p2p: d.deploy_p2p.0,
        }
    }

    /// Whether files may come from `url`'s host (and port, when the entry names one).
    pub fn source_allowed(&self, url: &Url) -> bool {
        let host = url.host.to_ascii_lowercase();
        let with_port = format!("{host}:{}", url.port);
        let bracketed = format!("[{host}]:{}", url.port);
        self.sources
            .iter()
            .any(|s| *s == host || *s == with_port || *s == bracketed || *s == format!("[{host}]"))
    }

    /// The allowed sources, for messages.
    pub fn sources(&self) -> String {
        self.sources.join(",")
    }

    /// Where `path` really is, when files may be written there; else why not.
    pub fn writable(&self, path: &str) -> Result<PathBuf, String> {
        let p = Path::new(path);
        let Some(real) = resolve(p) else {
            return Err(format!("{path}: not an absolute path"));
        };
        if real == Path::new("/") {
            return Err(format!("{path}: the root folder is never written"));
        }
        if self.forbidden.iter().any(|f| real.starts_with(f) || f.starts_with(&real)) {
            return Err(format!("{path}: the agent's own folders are never written"));
        }
        if self.paths.is_empty() {
            return Err(format!("{path}: deploy-paths allows no folder"));
        }
        if !self.paths.iter().any(|a| real.starts_with(a)) {
            return Err(format!("{path}: outside deploy-paths"));
        }
        Ok(real)
    }

    /// Like [`Policy::writable`], for removing: an allowed folder itself is kept.
    pub fn removable(&self, path: &str) -> Result<PathBuf, String> {
        let real = self.writable(path)?;
        if self.paths.contains(&real) {
            return Err(format!("{path}: a folder of deploy-paths itself is never removed"));
        }
        Ok(real)
    }
}

/// Bytes available to unprivileged users in a statvfs answer.
// fsblkcnt_t and the block size are 32 bits on some targets: the casts are not always no-ops.
#[allow(clippy::unnecessary_cast)]
pub fn available(s: &nix::sys::statvfs::Statvfs) -> u64 {
    (s.blocks_available() as u64).saturating_mul(s.fragment_size() as u64)
}

/// Free bytes for the agent's user on the filesystem of `path` (or of its nearest existing
/// folder).
pub fn free_bytes(path: &Path) -> Option<u64> {
    let mut p = path.to_path_buf();
    loop {
        if let Ok(s) = nix::sys::statvfs::statvfs(&p) {
            return Some(available(&s));
        }
        if !p.pop() {
            return None;
        }
    }
}

/// Whether `need` more bytes fit in `path`'s filesystem with `min_free` left over; the error
/// says how much there is.
pub fn check_space(path: &Path, need: u64, min_free: u64) -> Result<(), String> {
    match free_bytes(path) {
        Some(free) if free >= need.saturating_add(min_free) => Ok(()),
        Some(free) => Err(format!(
            "{} has {} KiB free; {} KiB more would leave less than deploy-min-free ({} KiB)",
            path.display(),
            free / 1024,
            need.div_ceil(1024),
            min_free / 1024
        )),
        None => Ok(()),
    }
}

/// Deepest folder copied.
const MAX_COPY_DEPTH: usize = 64;

/// Copies the content of `from` into `to` (files replaced atomically, modes kept without the
/// set-ID bits, links copied as links); the number of files.
pub fn copy_tree(from: &Path, to: &Path, min_free: u64, depth: usize) -> io::Result<usize> {
    if depth > MAX_COPY_DEPTH {
        return Err(io::Error::other("folders nested too deep"));
    }
    let mut n = 0;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let meta = entry.path().symlink_metadata()?;
        let dest = to.join(entry.file_name());
        if meta.is_dir() {
            fs::create_dir_all(&dest)?;
            let _ = fs::set_permissions(&dest, fs::Permissions::from_mode(meta.permissions().mode() & 0o777));
            n += copy_tree(&entry.path(), &dest, min_free, depth + 1)?;
        } else if meta.file_type().is_symlink() {
            let target = fs::read_link(entry.path())?;
            let _ = fs::remove_file(&dest);
            std::os::unix::fs::symlink(target, &dest)?;
        } else if meta.is_file() {
            copy_file(&entry.path(), &dest, &meta, min_free)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Copies one file over `dest` atomically (the old one stays until the new one is whole), its
/// mode kept without the set-ID bits, after checking the space.
pub fn copy_file(src: &Path, dest: &Path, meta: &fs::Metadata, min_free: u64) -> io::Result<()> {
    let dir = dest.parent().unwrap_or(Path::new("/"));
    check_space(dir, meta.len(), min_free)
        .map_err(|e| io::Error::new(io::ErrorKind::StorageFull, e))?;
    let mut out = AtomicFile::create(dest)?;
    io::copy(&mut File::open(src)?, &mut out)?;
    out.flush()?;
    out.commit()?;
    fs::set_permissions(dest, fs::Permissions::from_mode(meta.permissions().mode() & 0o777))
}

/// The end of the task's time: `task-timeout` from its start, less a margin for reporting.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(pub Instant);

impl Deadline {
    pub fn new(task_timeout: Duration) -> Deadline {
        let margin = END_MARGIN.min(task_timeout / 4);
        Deadline(Instant::now() + task_timeout.saturating_sub(margin))
    }

    pub fn left(&self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    pub fn passed(&self) -> bool {
        self.left().is_zero()
    }

    /// Sleeps `d`, or until the deadline if sooner.
    pub async fn sleep(&self, d: Duration) {
        let d = d.min(self.left());
        if !d.is_zero() {
            async_io::Timer::after(d).await;
        }
    }
}

/// What a job runs with: its settings, clients, folders and policy.
pub struct Ctx {
    pub job: Job,
    pub server: Url,
    /// For the server (results, GLPI's REST): the agent's connection settings.
    pub client: Client,
    /// For files (info, fragments, parts): no credentials, certificates always checked.
    pub files: Client,
    pub dirs: DeployDirs,
    pub policy: Policy,
    pub deadline: Deadline,
    pub vardir: PathBuf,
}

/// Most bytes of a reply the server client reads (GLPI's job lists, getConfig).
pub const MAX_SERVER_REPLY: usize = 1024 * 1024;

impl Ctx {
    fn new(job: Job) -> Result<Ctx, String> {
        let s = &job.settings;
        let server = server_url(&job.server)?;
        let mut server_opts = client_options(&s.connection, user_agent());
        server_opts.max_body = MAX_SERVER_REPLY;
        let client = Client::new(server_opts).map_err(|e| e.to_string())?;
        let mut file_opts = client_options(&s.connection, user_agent());
        file_opts.user = None;
        file_opts.password = None;
        file_opts.max_body = MAX_SMALL_BODY;
        // Files are vouched for by the certificate or by a digest from a verified source:
        // --no-ssl-check never applies to them.
        file_opts.tls.no_ssl_check = false;
        let files = Client::new(file_opts).map_err(|e| e.to_string())?;
        let target_dir = target_dir(s.statedir(), &Destination::Server(job.server.clone()));
        let dirs = DeployDirs::new(&target_dir, s.statedir(), &s.state.vardir);
        let policy = Policy::new(s, &server);
        let deadline = Deadline::new(Duration::from_secs(s.tasks.task_timeout));
        Ok(Ctx {
            vardir: s.state.vardir.clone(),
            server,
            client,
            files,
            dirs,
            policy,
            deadline,
            job,
        })
    }
}

fn read_job(from: &str) -> Result<String, String> {
    let mut text = String::new();
    let limit = job::MAX_JOB_BYTES as u64 + 1;
    let r = if from == "-" {
        std::io::stdin().lock().take(limit).read_to_string(&mut text)
    } else {
        fs::File::open(from).and_then(|f| f.take(limit).read_to_string(&mut text))
    };
    r.map_err(|e| format!("cannot read the job from {from}: {e}"))?;
    Ok(text)
}

/// The task: reads its job, runs it, and says how it went by its exit code.
pub fn main(a: &Args) -> i32 {
    let Some(from) = a.job.as_deref() else {
        log::error!("no job: give --job FILE (or - for standard input)");
        return exit::USAGE;
    };
    let job = match read_job(from).and_then(|t| Job::from_text(&t).map_err(|e| e.to_string())) {
        Ok(j) => j,
        Err(e) => {
            log::error!("{e}");
            return exit::USAGE;
        }
    };
    if !job
        .settings
        .deploy
        .deploy
        .iter()
        .any(|f| Family::from_name(f) == Some(job.family))
    {
        log::info!(
            "deployment of the {} family is off here (deploy = {}): nothing done",
            job.family.name(),
            job.settings.deploy.deploy.join(",")
        );
        return exit::OK;
    }
    let family = job.family;
    let ctx = match Ctx::new(job) {
        Ok(c) => c,
        Err(e) => {
            log::error!("{e}");
            return exit::USAGE;
        }
    };
    smol::block_on(async {
        match family {
            Family::Ocs => ocs::run(&ctx).await,
            Family::Glpi => glpi::run(&ctx).await,
        }
    })
}

#[cfg(test)]
mod tests;
