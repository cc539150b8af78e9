//! GLPI (glpiinventory) and FusionInventory deploy jobs, over their REST protocol: `getConfig`
//! at the target's URL says where the jobs are (`schedule[].remote`), `getJobs` lists them,
//! `getFilePart` serves the gzip parts of their files, and every step is reported with
//! `setStatus`, with the parameters, their order and the messages of the reference agents (a
//! falsy parameter is left out; `job successfully completed` and `job skipped` are the
//! messages the plugin takes as the end of a job).
//!
//! A job: its checks (a failed one ends, skips or only warns, as its `return` says), its files
//! (parts fetched by SHA-512 from peers when `deploy-p2p` allows and the file is shared, else
//! from the mirrors; five retries; the parts already here are kept), the files rebuilt in a
//! work folder and unpacked by our own tar reader when `uncompress` asks, then its actions
//! (`cmd`, `copy`, `move`, `mkdir`, `delete`) until one fails.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::digest::{hex, Hasher, Sha512};
use super::exec::{self, Ending};
use super::fetch::{self, FetchError};
use super::jobs::{self, Action, ActionKind, Check, FileSpec, JobSpec, RetCheck};
use super::targz::{remove_tree, BuildError, Gunzip, Unpacker};
use super::{check_space, p2p, Ctx};
use crate::core::exit;
use crate::http::{Client, ClientOptions, ProxySettings, Url};
use crate::protocol::json::{self, Json};
use crate::state::deploy::{private_dir, DeployDirs};

/// The task version announced to the plugin (that of the GLPI agent whose behaviour this
/// follows: `skip`, `info` and `warning` returns are understood).
pub const DEPLOY_VERSION: &str = "3.3";
/// Retries of a file's download after the first attempt.
const FILE_RETRIES: u32 = 5;
/// Longest value of a request parameter once escaped (the reference agents' cut).
const MAX_PARAM: usize = 1500;
/// How long parts are kept when nothing else says (3 days).
const DEFAULT_RETENTION: Duration = Duration::from_secs(3 * 24 * 3600);
/// Read size when rebuilding files.
const READ_CHUNK: usize = 64 * 1024;
/// Most lines of a command's output sent back.
const MAX_SENT_LINES: usize = 1000;

/// `uri_escape_utf8`: everything but letters, digits and `-._~` percent-encoded.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A value as the reference agents send it: escaped, its start cut until it fits.
fn param_value(v: &str) -> String {
    let mut v = v.to_string();
    while escape(&v).len() > MAX_PARAM {
        let cut = v.char_indices().nth(5).map_or(v.len(), |(i, _)| i);
        v = format!("…{}", &v[cut..]);
    }
    escape(&v)
}

/// `base?k=v&…` (or `&` when `base` has a query already); `params` in order, keys as given.
pub fn rest_url(base: &Url, params: &[(&str, &str)]) -> Url {
    let mut u = base.clone();
    let mut q = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            q.push('&');
        }
        q.push_str(k);
        q.push('=');
        q.push_str(&param_value(v));
    }
    u.path = format!("{}{}{q}", u.target(), if u.path.contains('?') { '&' } else { '?' });
    u
}

/// GETs a REST action and reads its JSON answer.
async fn get_json(ctx: &Ctx, url: &Url) -> Result<Json, String> {
    let resp = ctx.client.get(url, &[]).await.map_err(|e| e.to_string())?;
    if !(200..300).contains(&resp.status) {
        return Err(format!("HTTP {} {}", resp.status, resp.reason));
    }
    if resp.body.iter().all(u8::is_ascii_whitespace) {
        return Err("empty answer".into());
    }
    json::parse(&resp.body).map_err(|e| e.to_string())
}

/// One job's conversation with the server.
struct Reporter<'a> {
    ctx: &'a Ctx,
    remote: &'a Url,
    uuid: &'a str,
    /// `checking`, `downloading`, `prepare`, `processing`; empty once ended.
    step: &'static str,
}

#[derive(Default)]
struct Status<'a> {
    file: Option<&'a str>,
    status: &'a str,
    checknum: usize,
    actionnum: usize,
}

impl Reporter<'_> {
    async fn set(&self, s: Status<'_>, msg: &str) {
        let machineid = self.ctx.job.deviceid.as_str();
        let checknum = s.checknum.to_string();
        let actionnum = s.actionnum.to_string();
        let mut p: Vec<(&str, &str)> = vec![
            ("action", "setStatus"),
            ("machineid", machineid),
            ("part", if s.file.is_some() { "file" } else { "job" }),
            ("uuid", self.uuid),
        ];
        if let Some(sha) = s.file {
            p.push(("sha512", sha));
        }
        if !s.status.is_empty() {
            p.push(("status", s.status));
        }
        if !self.step.is_empty() {
            p.push(("currentStep", self.step));
        }
        if s.checknum > 0 {
            p.push(("checknum", &checknum));
        }
        if s.actionnum > 0 {
            p.push(("actionnum", &actionnum));
        }
        if !msg.is_empty() {
            p.push(("msg", msg));
        }
        let url = rest_url(self.remote, &p);
        log::debug!("job {}: {} {}", self.uuid, if s.status.is_empty() { "-" } else { s.status }, msg);
        if let Err(e) = self.ctx.client.get(&url, &[]).await {
            log::warn!("job {}: cannot send its status to {}: {e}", self.uuid, self.remote);
        }
    }

    async fn say(&self, status: &str, msg: &str) {
        self.set(Status { status, ..Status::default() }, msg).await
    }

    /// The checks of a job or an action; true when the job (or action) is not to run: a check
    /// failed with `error`/`ko`/`abort` (reported `ko`) or `skip` (reported `ok`, then
    /// `… skipped`). `startnow` ends the checks early with the job running.
    async fn checks(&self, checks: &[Check], level: &str) -> bool {
        for (i, c) in checks.iter().enumerate() {
            let n = i + 1;
            let (passed, message) = evaluate(c);
            let status = if passed { "ok" } else { c.on_failure.as_str() };
            log::info!("job {}: {level} check #{n} {} ({}): {message}", self.uuid, c.name, c.kind);
            let checknum = n - 1;
            match status {
                "abort" | "error" | "ko" | "skip" | "startnow" => {
                    let st = |status| Status { status, checknum, ..Status::default() };
                    if status == "skip" {
                        self.set(st("ok"), &format!("check #{n}, {} not successful then skip {level}", c.name)).await;
                        self.say("ok", &format!("{level} skipped")).await;
                    } else if status == "startnow" {
                        self.set(st("ok"), &format!("check #{n}, {} not successful then start {level} now", c.name)).await;
                        self.say("ok", &format!("{level} started now")).await;
                        return false;
                    } else {
                        self.set(st("ko"), &format!("check #{n}, failure on {}, {message}", c.name)).await;
                    }
                    return true;
                }
                _ => {}
            }
            let st = Status { status, checknum, ..Status::default() };
            if (c.on_failure == "warning" || c.on_failure == "info") && status != "ok" {
                self.set(st, &format!("check #{n}, {} {}, {message}", c.name, c.on_failure)).await;
            } else {
                self.set(st, &format!("check #{n}, {} passed", c.name)).await;
            }
        }
        false
    }
}

/// `$VAR` and `%VAR%` replaced from the environment, as the reference agents expand paths.
fn expand(path: &str) -> String {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let mut out = String::new();
    let b: Vec<char> = path.chars().collect();
    let mut i = 0;
    while i < b.len() {
        let word = |from: usize| {
            let mut j = from;
            while j < b.len() && (b[j].is_alphanumeric() || b[j] == '_') {
                j += 1;
            }
            j
        };
        if b[i] == '$' {
            let j = word(i + 1);
            if j > i + 1 {
                out.push_str(&var(&b[i + 1..j].iter().collect::<String>()));
                i = j;
                continue;
            }
        } else if b[i] == '%' {
            let j = word(i + 1);
            if j > i + 1 && b.get(j) == Some(&'%') {
                out.push_str(&var(&b[i + 1..j].iter().collect::<String>()));
                i = j + 1;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn sha512_file(path: &Path) -> io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha512::new();
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        match f.read(&mut buf)? {
            0 => return Ok(hex(&h.finish())),
            n => h.update(&buf[..n]),
        }
    }
}

/// Whether a check passes, and the message saying why.
fn evaluate(c: &Check) -> (bool, String) {
    let path = if c.path.is_empty() { "~~ no path given ~~".to_string() } else { expand(&c.path) };
    let p = Path::new(&path);
    let value = c.value.as_deref().map(str::trim).filter(|v| !v.is_empty());
    let size_of = || fs::metadata(p).ok().filter(|m| m.is_file()).map(|m| m.len());
    match c.kind.as_str() {
        "directoryExists" => (p.is_dir(), if p.is_dir() { format!("{path} exists") } else { format!("{path} is missing") }),
        "directoryMissing" => (!p.is_dir(), if p.is_dir() { format!("{path} exists") } else { format!("{path} is missing") }),
        "fileExists" => (p.is_file(), if p.is_file() { format!("{path} exists") } else { format!("{path} is missing") }),
        "fileMissing" => (!p.is_file(), if p.is_file() { format!("{path} exists") } else { format!("{path} is missing") }),
        "fileSizeEquals" | "fileSizeGreater" | "fileSizeLower" => {
            let Some(size) = size_of() else { return (false, format!("{path} is missing")) };
            let Some(v) = value.and_then(|v| v.parse::<u64>().ok()) else {
                return (false, "no value provided to check file size against".into());
            };
            let (ok, word, op, nop) = match c.kind.as_str() {
                "fileSizeEquals" => (size == v, "equal", "==", "!="),
                "fileSizeGreater" => (size > v, "greater", ">", "<="),
                _ => (size < v, "lower", "<", ">="),
            };
            if ok {
                (true, format!("{path} file size is {word}: {size} {op} {v}"))
            } else {
                (false, format!("{path} file size not {word}: {size} {nop} {v}"))
            }
        }
        "fileSHA512" | "fileSHA512mismatch" => {
            if !p.is_file() {
                return (false, format!("{path} is missing"));
            }
            let Some(v) = value else { return (false, "no value provided to check sha512 against".into()) };
            let Ok(h) = sha512_file(p) else { return (false, format!("{path} cannot be read")) };
            let same = h.eq_ignore_ascii_case(v);
            let want_same = c.kind == "fileSHA512";
            let msg = if same { format!("{path} sha512 hash is matching") } else { format!("{path} sha512 hash mismatch") };
            (same == want_same, msg)
        }
        "freespaceGreater" => {
            let Some(v) = value.and_then(|v| v.parse::<u64>().ok()) else {
                return (false, "no value provided to check free space against".into());
            };
            // As `df -Pk` read by the reference agents: KiB / 1000.
            let free = nix::sys::statvfs::statvfs(p)
                .ok()
                .map(|s| super::available(&s) / 1024 / 1000);
            match free {
                None => (false, format!("{path} free space not found")),
                Some(f) if f > v => (true, format!("{path} free space is greater: {f} > {v}")),
                Some(f) => (false, format!("{path} free space not greater: {f} <= {v}")),
            }
        }
        k if k.starts_with("winkey") || k.starts_with("winvalue") => (false, "check only available on windows".into()),
        k => (true, format!("Not implemented '{k}' check processor")),
    }
}

/// How long a part is kept: shared ones as the file says (else 3 days), private ones three
/// times the target's period (else 3 days).
fn retention(ctx: &Ctx, f: &FileSpec) -> Duration {
    if f.p2p {
        if f.retention_minutes > 0 {
            Duration::from_secs(f.retention_minutes.saturating_mul(60))
        } else {
            DEFAULT_RETENTION
        }
    } else if ctx.job.max_delay > 0 {
        Duration::from_secs(ctx.job.max_delay.saturating_mul(3))
    } else {
        DEFAULT_RETENTION
    }
}

/// Removes the parts whose time is past (their expiry is their modification time) and the
/// partial ones a killed run left; only names that are parts are touched (`shared/` may hold
/// other files the daemon serves).
fn clean_expired(ctx: &Ctx) {
    let now = SystemTime::now();
    for root in ctx.dirs.part_roots() {
        let Ok(l1) = fs::read_dir(&root) else { continue };
        for a in l1.flatten() {
            let Ok(l2) = fs::read_dir(a.path()) else { continue };
            for b in l2.flatten() {
                let Ok(l3) = fs::read_dir(b.path()) else { continue };
                for part in l3.flatten() {
                    let expired = part.metadata().and_then(|m| m.modified()).is_ok_and(|t| t < now);
                    let name = part.file_name().to_string_lossy().into_owned();
                    if expired && DeployDirs::is_part_name(&name) {
                        let _ = fs::remove_file(part.path());
                    }
                }
                let _ = fs::remove_dir(b.path());
            }
            let _ = fs::remove_dir(a.path());
        }
    }
}

/// Marks a part as kept until `until` (its modification time).
fn keep_until(path: &Path, until: SystemTime) {
    if let Ok(f) = File::options().write(true).open(path) {
        let _ = f.set_modified(until);
    }
}

/// Whether every part of a file is here (a part with the wrong content is removed).
fn parts_present(ctx: &Ctx, f: &FileSpec) -> bool {
    let mut all = true;
    for part in &f.parts {
        let path = ctx.dirs.part(part, f.p2p);
        if !path.is_file() {
            all = false;
        }
    }
    all
}

struct Peers {
    client: Option<Client>,
    found: Option<Vec<Ipv4Addr>>,
}

impl Peers {
    /// The peers of this machine's /24 that listen on the agents' port (probed once a run).
    async fn list(&mut self) -> &[Ipv4Addr] {
        if self.found.is_none() {
            let cands = p2p::candidates(&p2p::live_nets());
            log::info!("p2p: probing {} address(es) of this machine's /24 for peer agents", cands.len());
            let found = p2p::probe(&cands, crate::core::AGENT_PORT).await;
            log::info!("p2p: {} peer(s) found", found.len());
            self.found = Some(found);
        }
        self.found.as_deref().unwrap_or(&[])
    }
}

/// Fetches the parts of a file that are not here yet; whether all are here now.
async fn download(ctx: &Ctx, f: &FileSpec, peers: &mut Peers) -> bool {
    let until = SystemTime::now() + retention(ctx, f);
    let mut all = true;
    for part in &f.parts {
        let done = ctx.dirs.part(part, f.p2p);
        if done.is_file() {
            match sha512_file(&done) {
                Ok(h) if h == *part => {
                    keep_until(&done, until);
                    continue;
                }
                _ => {
                    let _ = fs::remove_file(&done);
                }
            }
        }
        if let Some(dir) = done.parent() {
            if let Err(e) = private_dir(dir) {
                log::error!("file {}: cannot create {}: {e}", f.name, dir.display());
                return false;
            }
        }
        let partial = ctx.dirs.part_partial(part, f.p2p);
        let tail = format!("{}/{}/{part}", &part[..1], &part[..2]);
        let mut sources: Vec<(Url, bool)> = Vec::new();
        if f.p2p && ctx.policy.p2p {
            for ip in peers.list().await.to_vec() {
                if let Ok(u) = Url::parse(&format!("http://{ip}:{}/deploy/getFile/{tail}", crate::core::AGENT_PORT)) {
                    sources.push((u, true));
                }
            }
        }
        for m in &f.mirrors {
            let sep = if m.ends_with('/') { "" } else { "/" };
            match Url::parse(&format!("{m}{sep}{tail}")) {
                Ok(u) => sources.push((u, false)),
                Err(e) => log::warn!("file {}: mirror {m}: {e}", f.name),
            }
        }
        let mut got = false;
        for (url, peer) in sources {
            if ctx.deadline.passed() {
                return false;
            }
            let client = if peer { peers.client.as_ref().unwrap_or(&ctx.files) } else { &ctx.files };
            match fetch::to_file(ctx, client, &url, (&partial, &done), ctx.deadline.left(), peer).await {
                Ok(r) => match sha512_file(&done) {
                    Ok(h) if h == *part => {
                        log::info!("file {}: part {}… from {}: {} bytes in {:.1} s", f.name, &part[..12], r.url, r.bytes, r.took.as_secs_f64());
                        keep_until(&done, until);
                        got = true;
                        break;
                    }
                    _ => {
                        log::warn!("file {}: part {}… from {url} has the wrong SHA-512: dropped", f.name, &part[..12]);
                        let _ = fs::remove_file(&done);
                    }
                },
                Err(e) => {
                    let _ = fs::remove_file(&partial);
                    if peer {
                        log::debug!("file {}: part {}… not from peer {url}: {e}", f.name, &part[..12]);
                    } else {
                        log::warn!("file {}: part {}… from {url}: {e}", f.name, &part[..12]);
                    }
                    if matches!(e, FetchError::NoSpace(_)) {
                        return false;
                    }
                }
            }
        }
        all &= got;
    }
    all
}

/// Rebuilds a file from its parts in the work folder (each part gunzipped, or taken as it is
/// when plain), checks its SHA-512, and unpacks it when the job asks.
fn prepare_file(ctx: &Ctx, f: &FileSpec, work: &Path) -> Result<(), String> {
    let out_path = work.join(&f.name);
    let min_free = ctx.policy.min_free;
    let mut out = File::create(&out_path).map_err(|e| format!("{}: {e}", out_path.display()))?;
    let mut h = Sha512::new();
    let mut written: u64 = 0;
    let mut buf = vec![0u8; READ_CHUNK];
    for part in &f.parts {
        let path = ctx.dirs.part(part, f.p2p);
        let mut src = File::open(&path).map_err(|e| format!("part {}…: {e}", &part[..12]))?;
        let mut gz = Gunzip::new(true);
        loop {
            let n = src.read(&mut buf).map_err(|e| format!("part {}…: {e}", &part[..12]))?;
            if n == 0 {
                break;
            }
            gz.feed(&buf[..n], &mut |d| {
                written += d.len() as u64;
                if written % (1024 * 1024) < d.len() as u64 {
                    check_space(work, 0, min_free).map_err(BuildError::NoSpace)?;
                }
                h.update(d);
                out.write_all(d).map_err(|e| super::targz::io_error(&f.name, &e))
            })
            .map_err(|e| format!("part {}…: {e}", &part[..12]))?;
        }
        gz.finish().map_err(|e| format!("part {}…: {e}", &part[..12]))?;
    }
    out.sync_all().map_err(|e| format!("{}: {e}", f.name))?;
    drop(out);
    let got = hex(&h.finish());
    if got != f.sha512 {
        return Err(format!("{}: its SHA-512 after rebuilding is {}…, the job says {}…", f.name, &got[..12], &f.sha512[..12]));
    }
    log::info!("file {}: rebuilt, {written} bytes, SHA-512 checked", f.name);
    if !f.uncompress {
        return Ok(());
    }
    let mut space = |n: u64| check_space(work, n, min_free).map_err(BuildError::NoSpace);
    let mut u = Unpacker::new(work, &mut space);
    let mut src = File::open(&out_path).map_err(|e| format!("{}: {e}", f.name))?;
    let result = loop {
        match src.read(&mut buf) {
            Ok(0) => break u.finish().map(|t| (t.files, t.bytes)),
            Ok(n) => {
                if let Err(e) = u.feed(&buf[..n]) {
                    break Err(e);
                }
            }
            Err(e) => break Err(BuildError::Io(e.to_string())),
        }
    };
    match result {
        Ok((files, bytes)) => {
            log::info!("file {}: unpacked {files} file(s), {bytes} bytes", f.name);
            let _ = fs::remove_file(&out_path);
            Ok(())
        }
        Err(BuildError::Corrupt(e)) => {
            log::warn!("file {}: not a tar or tar.gz this agent unpacks ({e}): left as it is", f.name);
            Ok(())
        }
        Err(e) => Err(format!("{}: {e}", f.name)),
    }
}

/// Whether `name` matches a shell pattern of `*` and `?`.
fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob_match(&pattern[1..], name) || (!name.is_empty() && glob_match(pattern, &name[1..])),
        (Some(b'?'), Some(_)) => glob_match(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) if p == n => glob_match(&pattern[1..], &name[1..]),
        _ => false,
    }
}

/// The sources a copy or move names: a path or pattern relative to the work folder (no `..`),
/// or an absolute one inside deploy-paths.
fn sources(ctx: &Ctx, work: &Path, from: &str) -> Result<Vec<PathBuf>, String> {
    let (base, pattern) = if from.starts_with('/') {
        let real = ctx.policy.writable(from).map_err(|e| format!("copy from {e}"))?;
        return Ok(if fs::symlink_metadata(&real).is_ok() { vec![real] } else { Vec::new() });
    } else {
        let rel = super::targz::safe_relative(from).map_err(|e| e.to_string())?;
        match rel {
            None => (work.to_path_buf(), "*".to_string()),
            Some(r) => {
                let name = r.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                (work.join(r.parent().unwrap_or(Path::new(""))), name)
            }
        }
    };
    if !pattern.contains(['*', '?']) {
        let p = base.join(&pattern);
        return Ok(if fs::symlink_metadata(&p).is_ok() { vec![p] } else { Vec::new() });
    }
    let mut out: Vec<PathBuf> = fs::read_dir(&base)
        .map_err(|e| format!("{}: {e}", base.display()))?
        .flatten()
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            !n.starts_with('.') && glob_match(pattern.as_bytes(), n.as_bytes())
        })
        .map(|e| e.path())
        .collect();
    out.sort();
    Ok(out)
}

fn copy_one(src: &Path, dest: &Path, min_free: u64) -> io::Result<()> {
    let meta = fs::symlink_metadata(src)?;
    if meta.is_dir() {
        fs::create_dir_all(dest)?;
        super::copy_tree(src, dest, min_free, 0).map(|_| ())
    } else if meta.file_type().is_symlink() {
        let target = fs::read_link(src)?;
        let _ = fs::remove_file(dest);
        std::os::unix::fs::symlink(target, dest)
    } else {
        if let Some(p) = dest.parent() {
            fs::create_dir_all(p)?;
        }
        super::copy_file(src, dest, &meta, min_free)
    }
}

fn ret_check(checks: Option<&[RetCheck]>, output: &str, status: i64) -> (bool, String) {
    let Some(checks) = checks else {
        return (true, "ok, no check to evaluate.".into());
    };
    for c in checks {
        for v in &c.values {
            match c.kind.as_str() {
                "okCode" if v.trim().parse::<i64>().ok() == Some(status) => return (true, format!("exit status is ok: {v}")),
                "errorCode" if v.trim().parse::<i64>().ok() == Some(status) => return (false, format!("exit status is not ok: `{v}'")),
                // Patterns are matched as plain text: this agent has no regex engine.
                "okPattern" if !v.is_empty() && output.contains(v.as_str()) => return (true, format!("ok pattern found in log: /{v}/")),
                "errorPattern" if !v.is_empty() && output.contains(v.as_str()) => return (false, format!("error pattern found in log: /{v}/")),
                _ => {}
            }
        }
    }
    (false, String::new())
}

/// Runs one action in the work folder: whether it succeeded, and its message lines.
async fn process(ctx: &Ctx, a: &Action, work: &Path) -> (bool, Vec<String>) {
    let min_free = ctx.policy.min_free;
    match &a.kind {
        ActionKind::Cmd { exec, ret_checks, envs, log_line_limit } => {
            if exec.is_empty() {
                return (false, vec!["Internal agent error".into()]);
            }
            if !ctx.policy.exec {
                return (false, vec!["refused: deploy-exec = no, this agent runs no command".into()]);
            }
            let keep = if *log_line_limit < 0 { exec::MAX_LINES } else { (*log_line_limit as usize).min(exec::MAX_LINES) };
            let limit = ctx.policy.exec_timeout.min(ctx.deadline.left());
            log::info!("running `{exec}` in {} (time limit {} s)", work.display(), limit.as_secs());
            let ran = exec::run(&exec::Spec { command: exec, dir: work, env: envs, limit, keep: keep.max(1) }).await;
            let mut lines: Vec<String> = ran.lines.iter().filter(|l| !l.is_empty()).cloned().collect();
            let skip = lines.len().saturating_sub(keep);
            lines.drain(..skip);
            let output = ran.lines.join("\n");
            let (err, status) = match &ran.ending {
                Ending::Exited(n) => (None, i64::from(*n)),
                Ending::TimedOut => (Some("timeout".to_string()), -1),
                Ending::Signaled(s) => (Some(format!("killed by signal {s}")), -1),
                Ending::NotStarted(e) => (Some(e.clone()), 127),
            };
            log::info!("`{exec}` ended: {} after {:.1} s", err.clone().unwrap_or_else(|| format!("exit status {status}")), ran.took.as_secs_f64());
            let (ok, why) = if err.is_some() { (false, String::new()) } else { ret_check(ret_checks.as_deref(), &output, status) };
            let mut msg = vec!["================================".to_string(), format!("Started cmd: {exec}"), "================================".to_string()];
            msg.extend(lines);
            msg.push("--------------------------------".into());
            if let Some(e) = err {
                msg.push(format!("error msg: `{e}'"));
            }
            msg.push(format!("exit status: `{status}'"));
            msg.push(why);
            (ok, msg)
        }
        ActionKind::Copy { from, to } | ActionKind::Move { from, to } => {
            let moving = matches!(a.kind, ActionKind::Move { .. });
            let verb = if moving { "move" } else { "copy" };
            let dest = match ctx.policy.writable(to) {
                Ok(d) => d,
                Err(e) => return (false, vec![format!("{verb} to {e}")]),
            };
            let srcs = match sources(ctx, work, from) {
                Ok(s) => s,
                Err(e) => return (false, vec![e]),
            };
            if srcs.is_empty() {
                return (false, vec![format!("{verb}: nothing matches {from}")]);
            }
            let into_dir = to.ends_with('/') || dest.is_dir() || srcs.len() > 1;
            let mut msg = Vec::new();
            for s in srcs {
                let target = if into_dir { dest.join(s.file_name().unwrap_or_default()) } else { dest.clone() };
                let r = if moving {
                    fs::rename(&s, &target).or_else(|_| copy_one(&s, &target, min_free).map(|_| remove_tree(&s)))
                } else {
                    copy_one(&s, &target, min_free)
                };
                if let Err(e) = r {
                    msg.push(format!("Failed to {verb} {} to {}: {e}", s.display(), target.display()));
                    return (false, msg);
                }
                log::info!("{verb} {} to {}", s.display(), target.display());
            }
            (true, msg)
        }
        ActionKind::Mkdir(list) => {
            let mut msg = Vec::new();
            for d in list {
                let real = match ctx.policy.writable(d) {
                    Ok(r) => r,
                    Err(e) => return (false, vec![format!("mkdir {e}")]),
                };
                if real.is_dir() {
                    msg.push(format!("Directory {d} already exists"));
                    continue;
                }
                if let Err(e) = fs::create_dir_all(&real) {
                    msg.push(format!("Failed to create {d} directory: {e}"));
                    return (false, msg);
                }
                log::info!("created the folder {}", real.display());
            }
            (true, msg)
        }
        ActionKind::Delete(list) => {
            let mut msg = Vec::new();
            for d in list {
                let real = match ctx.policy.removable(d) {
                    Ok(r) => r,
                    Err(e) => return (false, vec![format!("delete {e}")]),
                };
                remove_tree(&real);
                if fs::symlink_metadata(&real).is_ok() {
                    msg.push(format!("Failed to delete {d}"));
                    return (false, msg);
                }
                log::info!("deleted {}", real.display());
            }
            (true, msg)
        }
        ActionKind::Unknown(name) => (false, vec![format!("unknown action `{name}'")]),
    }
}

/// Runs one job from its checks to its last action.
async fn run_job(ctx: &Ctx, remote: &Url, job: &JobSpec, files: &[&FileSpec], peers: &mut Peers) {
    let mut r = Reporter { ctx, remote, uuid: &job.uuid, step: "checking" };
    log::info!("job {}: {} check(s), {} file(s), {} action(s)", job.uuid, job.checks.len(), files.len(), job.actions.len());
    r.say("", "starting").await;
    if r.checks(&job.checks, "job").await {
        return;
    }
    r.say("ok", "all checks are ok").await;
    r.step = "downloading";
    r.say("", "downloading files").await;
    let work = ctx.dirs.work_glpi(&job.uuid);
    remove_tree(&work);
    if let Err(e) = private_dir(&work) {
        log::error!("job {}: cannot create {}: {e}", job.uuid, work.display());
        r.say("ko", "failed to prepare work dir").await;
        return;
    }
    let done = run_files_and_actions(ctx, &mut r, job, files, &work, peers).await;
    remove_tree(&work);
    if done {
        for f in files.iter().filter(|f| !f.p2p) {
            for part in &f.parts {
                let _ = fs::remove_file(ctx.dirs.part(part, false));
            }
        }
        r.step = "";
        r.say("ok", "job successfully completed").await;
        log::info!("job {}: completed", job.uuid);
    }
}

async fn run_files_and_actions(ctx: &Ctx, r: &mut Reporter<'_>, job: &JobSpec, files: &[&FileSpec], work: &Path, peers: &mut Peers) -> bool {
    for f in files {
        let file = |status| Status { file: Some(&f.sha512), status, ..Status::default() };
        if parts_present(ctx, f) {
            r.set(file("ok"), &format!("{} already downloaded", f.name)).await;
            continue;
        }
        let mut retries = FILE_RETRIES;
        loop {
            r.set(file(""), &format!("fetching {}", f.name)).await;
            if download(ctx, f, peers).await && parts_present(ctx, f) {
                r.set(file("ok"), &format!("{} downloaded", f.name)).await;
                break;
            }
            if retries == 0 || ctx.deadline.passed() {
                log::error!("job {}: {} could not be downloaded", job.uuid, f.name);
                r.set(file("ko"), &format!("{} download failed", f.name)).await;
                return false;
            }
            retries -= 1;
            r.set(file(""), &format!("retrying {}", f.name)).await;
        }
    }
    r.say("ok", "success").await;
    r.step = "prepare";
    for f in files {
        if let Err(e) = prepare_file(ctx, f, work) {
            log::error!("job {}: {e}", job.uuid);
            r.say("ko", "failed to prepare work dir").await;
            return false;
        }
    }
    r.say("ok", "success").await;
    let mut actionnum = 0;
    for a in &job.actions {
        if let Some(checks) = &a.checks {
            r.step = "checking";
            if r.checks(checks, "action").await {
                continue;
            }
        }
        r.step = "processing";
        let (ok, lines) = process(ctx, a, work).await;
        let name = a.name.clone().unwrap_or_else(|| format!("action #{}", actionnum + 1));
        let mut budget: i64 = if a.log_line_limit < 0 { MAX_SENT_LINES as i64 } else { a.log_line_limit.saturating_add(7).min(MAX_SENT_LINES as i64) };
        if !(a.log_line_limit == 0 && ok) {
            for line in lines.iter().filter(|l| !l.is_empty()) {
                r.set(Status { actionnum, ..Status::default() }, &format!("{name}: {line}")).await;
                budget -= 1;
                if budget <= 0 {
                    break;
                }
            }
        }
        if !ok {
            log::error!("job {}: {name} failed", job.uuid);
            r.set(Status { status: "ko", actionnum, ..Status::default() }, &format!("{name}, processing failure")).await;
            return false;
        }
        r.set(Status { status: "ok", actionnum, ..Status::default() }, &format!("{name}, processing success")).await;
        actionnum += 1;
    }
    true
}

/// The `remote` of a schedule entry, when it is the server's own host or an allowed source
/// (the server's credentials go with these requests).
fn remote_of(ctx: &Ctx, entry: &Json) -> Option<Url> {
    let text = entry.get("remote").and_then(Json::as_str)?;
    match Url::parse(text) {
        Ok(u) if u.host == ctx.server.host || ctx.policy.source_allowed(&u) => Some(u),
        Ok(u) => {
            log::error!("the job list is at {}, neither the server's host nor among deploy-sources: refused", u.authority());
            None
        }
        Err(e) => {
            log::error!("a schedule entry with a bad remote: {e}");
            None
        }
    }
}

async fn process_remote(ctx: &Ctx, remote: &Url, peers: &mut Peers) -> usize {
    let url = rest_url(remote, &[("action", "getJobs"), ("machineid", &ctx.job.deviceid), ("version", DEPLOY_VERSION)]);
    let resp = match ctx.client.get(&url, &[]).await {
        Ok(r) if (200..300).contains(&r.status) => r,
        Ok(r) => {
            log::error!("getJobs at {remote}: HTTP {} {}", r.status, r.reason);
            return 0;
        }
        Err(e) => {
            log::error!("getJobs at {remote}: {e}");
            return 0;
        }
    };
    let answer = match jobs::parse(&resp.body) {
        Ok(a) => a,
        Err(e) => {
            log::error!("getJobs at {remote}: {e}");
            return 0;
        }
    };
    if answer.jobs.is_empty() {
        log::info!("getJobs at {remote}: nothing to do");
        return 0;
    }
    let mut ran = 0;
    for job in &answer.jobs {
        if ctx.deadline.passed() {
            log::warn!("job {}: the task's time is up; the server offers it again next time", job.uuid);
            continue;
        }
        let files: Vec<&FileSpec> = job.files.iter().filter_map(|s| answer.files.iter().find(|f| f.sha512 == *s)).collect();
        if files.len() != job.files.len() {
            log::error!("job {}: it names files the answer does not describe: skipped", job.uuid);
            continue;
        }
        run_job(ctx, remote, job, &files, peers).await;
        ran += 1;
    }
    ran
}

/// The GLPI side of the task; its exit code.
pub async fn run(ctx: &Ctx) -> i32 {
    if let Err(e) = private_dir(ctx.dirs.root()) {
        log::error!("cannot create {}: {e}", ctx.dirs.root().display());
        return exit::TASK;
    }
    clean_expired(ctx);
    let url = rest_url(&ctx.server, &[("action", "getConfig"), ("machineid", &ctx.job.deviceid), ("task[Deploy]", DEPLOY_VERSION)]);
    let config = match get_json(ctx, &url).await {
        Ok(c) => c,
        Err(e) => {
            log::info!("deploy jobs not supported by {} ({e})", ctx.server);
            return exit::OK;
        }
    };
    let Some(schedule) = config.get("schedule") else {
        log::info!("no job schedule returned by {}", ctx.server);
        return exit::OK;
    };
    let Some(entries) = schedule.as_array() else {
        log::info!("malformed schedule returned by {}", ctx.server);
        return exit::OK;
    };
    if entries.is_empty() {
        log::info!("no deploy job enabled for this machine at {}", ctx.server);
        return exit::OK;
    }
    let mut peers = Peers { client: None, found: None };
    if ctx.policy.p2p {
        peers.client = Client::new(ClientOptions {
            timeout: p2p::PROBE_TIMEOUT,
            proxy: ProxySettings::default(),
            max_body: super::MAX_SMALL_BODY,
            ..ClientOptions::default()
        })
        .ok();
    }
    let mut ran = 0;
    for e in entries.iter().take(16) {
        if e.get("task").and_then(Json::as_str) != Some("Deploy") {
            continue;
        }
        if let Some(remote) = remote_of(ctx, e) {
            ran += process_remote(ctx, &remote, &mut peers).await;
        }
    }
    if ran == 0 {
        log::info!("no deploy job found in the server's job lists");
    }
    clean_expired(ctx);
    exit::OK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_urls_keep_the_reference_order_and_escaping() {
        let base = Url::parse("http://glpi.example/plugins/glpiinventory/b/deploy/").unwrap();
        let u = rest_url(&base, &[("action", "setStatus"), ("machineid", "box-2026"), ("part", "job"), ("uuid", "ab-1"), ("msg", "check #1, tmp exists passed")]);
        assert_eq!(
            u.to_string(),
            "http://glpi.example/plugins/glpiinventory/b/deploy/?action=setStatus&machineid=box-2026&part=job&uuid=ab-1&msg=check%20%231%2C%20tmp%20exists%20passed"
        );
        let root = Url::parse("http://glpi.example/front/inventory.php?x=1").unwrap();
        assert!(rest_url(&root, &[("action", "getConfig"), ("task[Deploy]", "3.3")]).to_string().ends_with("inventory.php?x=1&action=getConfig&task[Deploy]=3.3"));
        let long = "é".repeat(2000);
        assert!(param_value(&long).len() <= MAX_PARAM);
        assert!(param_value(&long).starts_with("%E2%80%A6"));
    }

    #[test]
    fn checks_as_the_reference_agents_read_them() {
        let dir = std::env::temp_dir().join(format!("uagent-glpi-checks-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f");
        fs::write(&file, b"abc").unwrap();
        let c = |kind: &str, path: &Path, value: Option<&str>| Check {
            name: kind.into(),
            kind: kind.into(),
            path: path.to_string_lossy().into_owned(),
            value: value.map(String::from),
            on_failure: "error".into(),
        };
        let abc = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
        for (check, want) in [
            (c("fileExists", &file, None), true),
            (c("fileMissing", &file, None), false),
            (c("directoryExists", &dir, None), true),
            (c("directoryMissing", &dir.join("no"), None), true),
            (c("fileSizeEquals", &file, Some("3")), true),
            (c("fileSizeGreater", &file, Some("3")), false),
            (c("fileSizeLower", &file, Some("4")), true),
            (c("fileSizeLower", &file, None), false),
            (c("fileSHA512", &file, Some(abc)), true),
            (c("fileSHA512mismatch", &file, Some(abc)), false),
            (c("freespaceGreater", &dir, Some("0")), true),
            (c("freespaceGreater", &dir, Some("999999999999")), false),
            (c("winkeyExists", &dir, None), false),
            (c("somethingNew", &dir, None), true),
        ] {
            assert_eq!(evaluate(&check).0, want, "{} {:?}", check.kind, evaluate(&check).1);
        }
        assert_eq!(evaluate(&c("winvalueType", &dir, None)).1, "check only available on windows");
        assert!(evaluate(&c("freespaceGreater", &dir, Some("999999999999"))).1.contains("free space not greater"));
        std::env::set_var("UAGENT_TEST_DIR", &dir);
        assert_eq!(expand("$UAGENT_TEST_DIR/f"), file.to_string_lossy());
        assert_eq!(expand("%UAGENT_TEST_DIR%/f"), file.to_string_lossy());
        assert_eq!(expand("100% sure $"), "100% sure $");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn return_checks_decide_in_order() {
        let rc = |kind: &str, v: &[&str]| RetCheck { kind: kind.into(), values: v.iter().map(|s| s.to_string()).collect() };
        assert_eq!(ret_check(None, "", 3), (true, "ok, no check to evaluate.".into()));
        assert!(ret_check(Some(&[rc("okCode", &["0"])]), "", 0).0);
        assert!(!ret_check(Some(&[rc("okCode", &["0"])]), "", 3).0);
        assert!(!ret_check(Some(&[rc("errorPattern", &["FAIL"]), rc("okCode", &["0"])]), "a FAIL b", 0).0);
        assert!(ret_check(Some(&[rc("okPattern", &["done"])]), "all done", 9).0);
        assert!(glob_match(b"*.txt", b"a.txt") && !glob_match(b"*.txt", b"a.tx") && glob_match(b"?b*", b"abc"));
    }
}
