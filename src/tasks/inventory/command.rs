//! The inventory as a command: `uagent inventory` (the autonomous mode) writes one to stdout or
//! a file; the agent's `uagent task inventory` adds its DEVICEID, the ACCOUNTINFO the server
//! keeps, the section digests and compression.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::additional::{self, Additional};
use super::digest::{Digests, Discard};
use super::output::{self, Format};
use super::{parse_categories, Category, Options, Root};
use super::partial::{self, Keep, Plan};
use super::sink::Section;
use super::Args;
use super::{AssetName, ItemType};
use crate::core::console::say;
use crate::core::exit;
use crate::state::ids::deviceid;
use crate::state::{self, read_small, AtomicFile, Vardir};

/// Output buffer: big enough to batch writes, small enough for a router.
const OUT_BUFFER: usize = 16 * 1024;

fn format_of(a: &Args) -> Result<Format, String> {
    if a.json {
        return Ok(Format::Json);
    }
    if a.html {
        return Ok(Format::Html);
    }
    match &a.format {
        None => Ok(Format::Xml),
        Some(f) => {
            Format::from_name(f).ok_or_else(|| format!("unknown format {f:?} (xml, json or html)"))
        }
    }
}

/// How much of the inventory to write.
enum Scope {
    Full,
    /// The categories asked for (`--partial`).
    Named(Keep),
    /// What changed since the digests the server last took (`--changed-only`).
    Changed,
}

/// The inventory command; its exit code.
pub fn main(a: &Args) -> i32 {
    if a.list_categories {
        for c in Category::ALL {
            say(&format!("{:<12} {}", c.name(), c.describe()));
        }
        return exit::OK;
    }
    let (format, (skip, others), (named, _)) = match (
        format_of(a),
        parse_categories(&a.no_category),
        parse_categories(&a.partial),
    ) {
        (Ok(f), Ok(s), Ok(p)) => (f, s, p),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            log::error!("{e}");
            return exit::USAGE;
        }
    };
    for (given, what) in [
        (a.scan_homedirs, "--scan-homedirs: uagent does not look for software in home folders"),
        (a.scan_profiles, "--scan-profiles: uagent does not look for software in user profiles"),
        (
            a.backend_collect_timeout.is_some(),
            "--backend-collect-timeout: every source is bounded by size here; the agent's --task-timeout limits the whole task",
        ),
    ] {
        if given {
            log::warn!("{what}: accepted and ignored");
        }
    }
    if !others.is_empty() {
        log::info!(
            "--no-category {}: not inventoried by uagent anyway",
            others.join(",")
        );
    }
    let root = match &a.root {
        Some(dir) if !Path::new(dir).is_dir() => {
            log::error!("--root {dir}: not a directory");
            return exit::USAGE;
        }
        Some(dir) => Root::at(Path::new(dir)),
        None => Root::live(),
    };
    let itemtype = match ItemType::parse(a.itemtype.as_deref().unwrap_or(""), &root) {
        Ok(ItemType::NetworkEquipment) if format != Format::Json => {
            log::warn!(
                "--itemtype NetworkEquipment is part of GLPI's JSON format only: this {} inventory describes a computer",
                format.extension()
            );
            ItemType::Computer
        }
        Ok(t) => t,
        Err(e) => {
            log::error!("{e}");
            return exit::USAGE;
        }
    };
    let asset_name = match AssetName::from_number(a.assetname_support.unwrap_or(1)) {
        Ok(n) => n,
        Err(e) => {
            log::error!("{e}");
            return exit::USAGE;
        }
    };
    if !a.credentials.is_empty() {
        log::warn!(
            "--credentials: no category of uagent uses credentials (the GLPI agent's database inventory does; uagent has none): ignored"
        );
    }
    // A file the admin wrote must not stop the inventory: without it, the rest still goes.
    let extra = match &a.additional_content {
        Some(path) => match additional::load(Path::new(path)) {
            Ok(x) => x,
            Err(e) => {
                log::warn!("additional content left out: {e}");
                Additional::default()
            }
        },
        None => Additional::default(),
    };
    let deviceid = match &a.deviceid {
        Some(id) => id.clone(),
        None => {
            let vardir = a.vardir.as_deref().unwrap_or(state::DEFAULT_VARDIR);
            match deviceid(&Vardir::new(Path::new(vardir)), &root) {
                Ok(id) => id,
                Err(e) => {
                    log::error!("{e}");
                    return exit::STATE;
                }
            }
        }
    };
    let mut accountinfo: Vec<(String, String)> = a
        .accountinfo
        .iter()
        .filter_map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    if let Some(t) = &a.tag {
        if !accountinfo.iter().any(|(k, _)| k.eq_ignore_ascii_case("TAG")) {
            accountinfo.push(("TAG".to_string(), t.clone()));
        }
    }
    let previous = a
        .digests
        .as_ref()
        .and_then(|p| read_small(Path::new(p)).ok().flatten())
        .map(|t| super::digest::Digests::from_lines(&t));
    let scope = if !named.is_empty() {
        if format == Format::Json {
            Scope::Named(Keep::categories(&named))
        } else {
            log::warn!(
                "--partial: a partial inventory is part of GLPI's JSON format only; this {} inventory is whole",
                format.extension()
            );
            Scope::Full
        }
    } else if a.changed_only && format == Format::Json && previous.is_some() {
        Scope::Changed
    } else {
        Scope::Full
    };
    let mut opts = Options {
        root,
        deviceid,
        accountinfo,
        skip,
        digests: a.digests_out.is_some() || matches!(scope, Scope::Changed),
        ipdiscover: a.ipdiscover.clone().map(|s| (s, a.ipdisc_lat.clone())),
        previous,
        itemtype,
        asset_name,
        additional: extra,
        keep: None,
        download_history: a
            .download_history
            .as_deref()
            .map(|p| state::deploy::read_history(Path::new(p)))
            .unwrap_or_default(),
    };
    match scope {
        Scope::Full => {}
        Scope::Named(keep) => opts.keep = Some(keep),
        Scope::Changed => match changed(&opts) {
            Ok(Plan::Partial(keep)) => opts.keep = Some(keep),
            Ok(Plan::Full(why)) => log::info!("full inventory: {why}"),
            Err(e) => {
                log::error!("cannot read the inventory: {e}");
                return exit::OUTPUT;
            }
        },
    }
    let (result, place) = match &a.output {
        None => (to_stdout(&opts, format, a.compress), "standard output".to_string()),
        Some(path) => {
            let mut target = PathBuf::from(path);
            if target.is_dir() {
                target.push(format!("{}.{}", opts.deviceid, format.extension()));
            }
            (to_path(&opts, format, &target), target.display().to_string())
        }
    };
    match result {
        Ok(digests) => {
            if a.output.is_some() {
                log::info!("inventory written to {place}");
            }
            if let Some(out) = &a.digests_out {
                let held = partial::merged(opts.previous.as_ref(), &digests, opts.keep);
                if opts.previous.as_ref() != Some(&held) {
                    if let Err(e) = state::write_atomic(Path::new(out), held.to_lines().as_bytes()) {
                        log::warn!("cannot keep the section digests in {out}: {e}");
                    }
                }
            }
            exit::OK
        }
        Err(e) => {
            log::error!("cannot write the inventory to {place}: {e}");
            exit::OUTPUT
        }
    }
}

/// The first of two runs: every section digested, nothing written, warnings left to the
/// second run (which says them once).
fn changed(opts: &Options) -> io::Result<Plan> {
    let level = log::max_level();
    log::set_max_level(log::LevelFilter::Error.min(level));
    let now = super::run(opts, &mut Discard);
    log::set_max_level(level);
    let now = now?;
    let plan = match &opts.previous {
        Some(prev) => partial::plan(prev, &now),
        None => Plan::Full("no digests of an earlier inventory"),
    };
    if let Plan::Partial(keep) = &plan {
        let sent: Vec<&str> = Section::ALL
            .into_iter()
            .filter(|s| keep.contains(*s) && now.get(*s).is_some())
            .filter_map(Section::json_name)
            .collect();
        log::info!("partial inventory: {}", sent.join(", "));
    }
    Ok(plan)
}

/// Streams the inventory to stdout, zlib-compressed with `compress` (for a server).
fn to_stdout(opts: &Options, format: Format, compress: bool) -> io::Result<Digests> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(OUT_BUFFER, stdout.lock());
    if compress {
        #[cfg(feature = "client")]
        {
            let mut z = crate::protocol::compress::ZlibWriter::new(out);
            let d = write_digests(opts, format, &mut z)?;
            z.finish()?.flush()?;
            Ok(d)
        }
        #[cfg(not(feature = "client"))]
        {
            drop(out);
            Err(io::Error::other(
                "this build has no compression (built without the client feature)",
            ))
        }
    } else {
        let d = write_digests(opts, format, &mut out)?;
        out.flush()?;
        Ok(d)
    }
}

/// Writes the inventory to `target`: a file is replaced whole (a failed run leaves the old one
/// as it was); a device or pipe (/dev/stdout, a FIFO) is written as it is.
fn to_path(opts: &Options, format: Format, target: &Path) -> io::Result<Digests> {
    if fs::metadata(target).is_ok_and(|m| !m.is_file()) {
        let f = fs::OpenOptions::new().write(true).open(target)?;
        let mut out = BufWriter::with_capacity(OUT_BUFFER, f);
        let d = write_digests(opts, format, &mut out)?;
        out.flush()?;
        return Ok(d);
    }
    let mut out = BufWriter::with_capacity(OUT_BUFFER, AtomicFile::create(target)?);
    let d = write_digests(opts, format, &mut out)?;
    out.into_inner().map_err(|e| e.into_error())?.commit()?;
    Ok(d)
}

fn write_digests(
    opts: &Options,
    format: Format,
    out: &mut dyn Write,
) -> io::Result<Digests> {
    let head = output::Head {
        deviceid: &opts.deviceid,
        tag: opts.tag(),
        itemtype: opts.itemtype.name(),
        partial: opts.keep.is_some(),
    };
    let mut sink = output::writer(format, out, &head)?;
    super::run(opts, sink.as_mut())
}
