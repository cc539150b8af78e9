//! `uagent inventory`: one inventory to stdout or a file (the autonomous mode).

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::output::{self, Format};
use super::{os, time, tz, Category, Options, Root};
use crate::cli::InventoryArgs;
use crate::vardir::{self, Vardir};
use crate::{exit, logger};

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

/// The DEVICEID of this agent: kept in the vardir, or a temporary one when it cannot be kept.
pub fn deviceid(vardir: &Vardir, root: &Root) -> String {
    let host = os::hostname(root);
    let now = time::now();
    let local = now + i64::from(tz::Zone::load(&Root::live()).offset_at(now).0);
    let stamp = time::format_deviceid_stamp(local);
    match vardir.deviceid(&host, &stamp) {
        Ok(id) => id,
        Err(e) => {
            log::warn!(
                "cannot keep the DEVICEID in {}: {e}; using a temporary one",
                vardir.path().display()
            );
            vardir::new_deviceid(&host, &stamp)
        }
    }
}

fn format_of(a: &InventoryArgs) -> Result<Format, String> {
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

pub fn run(a: &InventoryArgs) -> i32 {
    logger::init("inventory", u8::from(a.debug));
    if a.list_categories {
        for c in Category::ALL {
            println!("{:<12} {}", c.name(), c.describe());
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
    let vardir = Vardir::new(Path::new(
        a.vardir.as_deref().unwrap_or(vardir::DEFAULT_VARDIR),
    ));
    let deviceid = deviceid(&vardir, &root);
    let opts = Options {
        root,
        deviceid,
        tag: a.tag.clone(),
        skip,
        previous: None,
    };

    match &a.output {
        None => {
            let stdout = io::stdout();
            let out = BufWriter::with_capacity(OUT_BUFFER, stdout.lock());
            match write(&opts, format, out) {
                Ok(()) => exit::OK,
                Err(e) => {
                    log::error!("cannot write the inventory to standard output: {e}");
                    exit::OUTPUT
                }
            }
        }
        Some(path) => {
            let mut target = PathBuf::from(path);
            if target.is_dir() {
                target.push(format!("{}.{}", opts.deviceid, format.extension()));
            }
            // A device or pipe (/dev/stdout, a FIFO) is written as it is; a file is replaced whole.
            let special = fs::metadata(&target).is_ok_and(|m| !m.is_file());
            let result = if special {
                fs::OpenOptions::new()
                    .write(true)
                    .open(&target)
                    .and_then(|f| {
                        let mut out = BufWriter::with_capacity(OUT_BUFFER, f);
                        write(&opts, format, &mut out)?;
                        out.flush()
                    })
            } else {
                write_file(&opts, format, &target)
            };
            match result {
                Ok(()) => {
                    log::info!("inventory written to {}", target.display());
                    exit::OK
                }
                Err(e) => {
                    log::error!("cannot write the inventory to {}: {e}", target.display());
                    exit::OUTPUT
                }
            }
        }
    }
}

/// Streams one inventory in `format` to `out`.
pub fn write<W: Write>(opts: &Options, format: Format, out: W) -> io::Result<()> {
    let mut sink = output::writer(format, out, &opts.deviceid, opts.tag.as_deref())?;
    super::run(opts, sink.as_mut())?;
    Ok(())
}

/// Writes the inventory next to `target`, then renames it into place: a failed run leaves
/// any previous file as it was.
fn write_file(opts: &Options, format: Format, target: &Path) -> io::Result<()> {
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let file = fs::File::create(&tmp)?;
        let mut out = BufWriter::with_capacity(OUT_BUFFER, file);
        write(opts, format, &mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, target)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
