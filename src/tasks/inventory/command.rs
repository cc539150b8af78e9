//! `uagent inventory`: one inventory to stdout or a file (the autonomous mode).

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::output::{self, Format};
use super::{Category, Options, Root};
use crate::cli::InventoryArgs;
use crate::core::{exit, logger};
use crate::state::ids::deviceid;
use crate::state::{self, read_small, Vardir};

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
            crate::cli::say(&format!("{:<12} {}", c.name(), c.describe()));
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
        a.vardir.as_deref().unwrap_or(state::DEFAULT_VARDIR),
    ));
    let deviceid = deviceid(&vardir, &root);
    let opts = Options {
        root,
        deviceid,
        accountinfo: a
            .tag
            .iter()
            .map(|t| ("TAG".to_string(), t.clone()))
            .collect(),
        skip,
        previous: None,
        digests: false,
    };

    match &a.output {
        None => {
            let stdout = io::stdout();
            let mut out = BufWriter::with_capacity(OUT_BUFFER, stdout.lock());
            match write(&opts, format, &mut out) {
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
pub fn write(opts: &Options, format: Format, out: &mut dyn Write) -> io::Result<()> {
    let mut sink = output::writer(format, out, &opts.deviceid, opts.tag())?;
    super::run(opts, sink.as_mut())?;
    Ok(())
}

/// Writes the inventory next to `target`, then renames it into place: a failed run leaves
/// any previous file as it was.
pub fn write_file(opts: &Options, format: Format, target: &Path) -> io::Result<()> {
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

/// `uagent task inventory`: the inventory as the agent runs it in a child process. The document
/// goes to `--output` (a local target) or to stdout, zlib-compressed for a server; the section
/// digests are compared with the previous ones and the new set is left beside them for the
/// agent to keep once the server has accepted the inventory.
pub fn run_task(a: &crate::cli::TaskArgs) -> i32 {
    let format = match Format::from_name(a.format.as_deref().unwrap_or("xml")) {
        Some(f) => f,
        None => {
            log::error!("unknown format {:?}", a.format);
            return exit::USAGE;
        }
    };
    let skip = match parse_categories(&a.no_category) {
        Ok(s) => s,
        Err(e) => {
            log::error!("{e}");
            return exit::USAGE;
        }
    };
    let accountinfo = a
        .accountinfo
        .iter()
        .filter_map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let previous = a
        .digests
        .as_ref()
        .and_then(|p| read_small(Path::new(p)).ok().flatten())
        .map(|t| super::digest::Digests::from_lines(&t));
    let root = Root::live();
    let deviceid = match &a.deviceid {
        Some(id) => id.clone(),
        None => deviceid(&Vardir::new(Path::new(state::DEFAULT_VARDIR)), &root),
    };
    let opts = Options {
        root,
        deviceid,
        digests: a.digests.is_some(),
        accountinfo,
        skip,
        previous,
    };
    let result = match (&a.output, a.compress) {
        (Some(path), _) => write_file(&opts, format, Path::new(path)).map(|_| None),
        (None, compress) => {
            let stdout = io::stdout();
            let out = BufWriter::with_capacity(OUT_BUFFER, stdout.lock());
            if compress {
                #[cfg(feature = "client")]
                {
                    let mut z = crate::protocol::compress::ZlibWriter::new(out);
                    let d = write_digests(&opts, format, &mut z);
                    d.and_then(|d| z.finish().and_then(|mut o| o.flush()).map(|_| Some(d)))
                }
                #[cfg(not(feature = "client"))]
                {
                    drop(out);
                    Err(io::Error::other(
                        "this build has no compression (built without the client feature)",
                    ))
                }
            } else {
                let mut out = out;
                write_digests(&opts, format, &mut out).and_then(|d| out.flush().map(|_| Some(d)))
            }
        }
    };
    match result {
        Ok(digests) => {
            if let (Some(d), Some(path)) = (digests, &a.digests) {
                if opts.previous.as_ref() != Some(&d) {
                    let new = format!("{path}.new");
                    if let Err(e) = state::write_atomic(Path::new(&new), d.to_lines().as_bytes()) {
                        log::warn!("cannot keep the section digests in {new}: {e}");
                    }
                }
            }
            exit::OK
        }
        Err(e) => {
            log::error!("cannot write the inventory: {e}");
            exit::OUTPUT
        }
    }
}

fn write_digests(
    opts: &Options,
    format: Format,
    out: &mut dyn Write,
) -> io::Result<super::digest::Digests> {
    let mut sink = output::writer(format, out, &opts.deviceid, opts.tag())?;
    super::run(opts, sink.as_mut())
}
