//! The inventory as a command: `uagent inventory` (the autonomous mode) writes one to stdout or
//! a file; the agent's `uagent task inventory` adds its DEVICEID, the ACCOUNTINFO the server
//! keeps, the section digests and compression.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::output::{self, Format};
use super::{Category, Options, Root};
use super::Args;
use crate::core::console::say;
use crate::core::exit;
use crate::state::ids::deviceid;
use crate::state::{self, read_small, AtomicFile, Vardir};
use super::digest::Digests;

/// Output buffer: big enough to batch writes, small enough for a router.
const OUT_BUFFER: usize = 16 * 1024;

/// Parses `--no-category` lists; unknown names are an error (a typo would send everything).
pub fn parse_categories(lists: &[String]) -> Result<Vec<Category>, String> {
    let mut out = Vec::new();
    for name in lists
        .iter()
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        match Category::from_name(name) {
            Some(c) => out.push(c),
            None => return Err(format!("unknown category {name:?} (see --list-categories)")),
        }
    }
    Ok(out)
}

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

/// The inventory command; its exit code.
pub fn main(a: &Args) -> i32 {
    if a.list_categories {
        for c in Category::ALL {
            say(&format!("{:<12} {}", c.name(), c.describe()));
        }
        return exit::OK;
    }
    let (format, skip) = match (format_of(a), parse_categories(&a.no_category)) {
        (Ok(f), Ok(s)) => (f, s),
        (Err(e), _) | (_, Err(e)) => {
            log::error!("{e}");
            return exit::USAGE;
        }
    };
    let root = match &a.root {
        Some(dir) if !Path::new(dir).is_dir() => {
            log::error!("--root {dir}: not a directory");
            return exit::USAGE;
        }
        Some(dir) => Root::at(Path::new(dir)),
        None => Root::live(),
    };
    let deviceid = match &a.deviceid {
        Some(id) => id.clone(),
        None => {
            let vardir = a.vardir.as_deref().unwrap_or(state::DEFAULT_VARDIR);
            deviceid(&Vardir::new(Path::new(vardir)), &root)
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
    let opts = Options {
        root,
        deviceid,
        accountinfo,
        skip,
        digests: a.digests_out.is_some(),
        ipdiscover: a.ipdiscover.clone().map(|s| (s, a.ipdisc_lat.clone())),
        previous,
    };
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
                if opts.previous.as_ref() != Some(&digests) {
                    if let Err(e) = state::write_atomic(Path::new(out), digests.to_lines().as_bytes()) {
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
    let mut sink = output::writer(format, out, &opts.deviceid, opts.tag())?;
    super::run(opts, sink.as_mut())
}
