//! `uagent inject`: uploads inventories saved earlier (autonomous mode, or offline machines) to
//! a server, as the Perl agents' injector does. XML and JSON files are accepted plain or
//! already zlib-compressed; JSON ones are announced to GLPI with the agent id.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::config::cmdline::{self, Opt};
use crate::config::{Group, Settings};
use crate::core::console::say;
use crate::core::{exit, logger, random};
use crate::http::Client;
use crate::protocol::compress::{inflate_prefix, is_zlib, ZlibWriter};
use crate::protocol::messages;
use crate::protocol::oauth::OAuth;
use crate::protocol::server::{client_options, server_url, CommError, Server};

/// Largest plain inventory file injected: it is compressed as it is read, so what is held is
/// its compressed form.
pub const MAX_FILE: u64 = 64 * 1024 * 1024;
/// Largest file injected that is already zlib-compressed (sent as it is, so held whole; the
/// agent's spool keeps no more).
pub const MAX_COMPRESSED: u64 = 16 * 1024 * 1024;
/// Bytes a compressed file is inflated to, to tell XML from JSON.
const SNIFF_BYTES: usize = 4096;
/// Pieces in which a plain file is read and compressed.
const READ_CHUNK: usize = 64 * 1024;
/// Most files taken from a directory tree.
const MAX_FILES: usize = 100_000;

fn collect_dir(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>, depth: usize) {
    let Ok(entries) = fs::read_dir(dir) else {
        log::error!("cannot read the directory {}", dir.display());
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if out.len() >= MAX_FILES {
            return;
        }
        match fs::symlink_metadata(&p) {
            Ok(m) if m.is_file() => {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if !name.starts_with('.') {
                    out.push(p);
                }
            }
            Ok(m) if m.is_dir() && recursive && depth < 32 => {
                collect_dir(&p, recursive, out, depth + 1)
            }
            _ => {}
        }
    }
}

/// Why a file is not sent, which the exit code tells apart.
#[derive(Debug)]
enum InputError {
    /// It cannot be read (vanished, unreadable): exit 2.
    Io(String),
    /// It is not an inventory, or too large, or damaged: refused before sending, exit 4.
    Refused(String),
}

impl InputError {
    fn code(&self) -> i32 {
        match self {
            InputError::Io(_) => exit::OUTPUT,
            InputError::Refused(_) => exit::REFUSED,
        }
    }

    fn text(&self) -> &str {
        match self {
            InputError::Io(t) | InputError::Refused(t) => t,
        }
    }
}

/// The file as it was read: `--remove` deletes the path only if it is still this file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i64,
    mtime_nsec: i64,
}

impl Identity {
    fn of(m: &fs::Metadata) -> Identity {
        use std::os::unix::fs::MetadataExt;
        Identity {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
        }
    }
}

/// An input ready to send: the zlib body, whether it is JSON, and what file it was.
struct Input {
    body: Vec<u8>,
    json: bool,
    identity: Option<Identity>,
}

/// Reads one input. The size of a file is checked before anything is read; a plain one is
/// compressed as it is read (never held whole), a compressed one is held as it is and only
/// its beginning is inflated to see what it holds.
fn read_input(
    mut r: impl Read,
    what: &str,
    size: Option<u64>,
) -> Result<(Vec<u8>, bool), InputError> {
    let io = |e: std::io::Error| InputError::Io(format!("cannot read {what}: {e}"));
    if let Some(size) = size.filter(|s| *s > MAX_FILE) {
        return Err(InputError::Refused(format!(
            "{what}: {size} bytes, larger than the {MAX_FILE} an inventory may have"
        )));
    }
    let mut first = Vec::with_capacity(READ_CHUNK);
    r.by_ref()
        .take(READ_CHUNK as u64)
        .read_to_end(&mut first)
        .map_err(io)?;
    if is_zlib(&first) {
        if size.is_some_and(|s| s > MAX_COMPRESSED) {
            return Err(InputError::Refused(format!(
                "{what}: a compressed file larger than {MAX_COMPRESSED} bytes"
            )));
        }
        let mut body = first;
        r.take(MAX_COMPRESSED + 1 - body.len() as u64)
            .read_to_end(&mut body)
            .map_err(io)?;
        if body.len() as u64 > MAX_COMPRESSED {
            return Err(InputError::Refused(format!(
                "{what}: a compressed file larger than {MAX_COMPRESSED} bytes"
            )));
        }
        let head = inflate_prefix(&body, SNIFF_BYTES)
            .map_err(|e| InputError::Refused(format!("{what}: {e}")))?;
        let json = kind_of(&head, what)?;
        return Ok((body, json));
    }
    let json = kind_of(&first, what)?;
    let mut z = ZlibWriter::new(Vec::new());
    let mut total = first.len() as u64;
    z.write_all(&first).map_err(io)?;
    let mut chunk = first;
    loop {
        chunk.clear();
        let n = r
            .by_ref()
            .take(READ_CHUNK as u64)
            .read_to_end(&mut chunk)
            .map_err(io)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > MAX_FILE {
            return Err(InputError::Refused(format!(
                "{what} is larger than the {MAX_FILE} bytes an inventory may have"
            )));
        }
        z.write_all(&chunk).map_err(io)?;
    }
    Ok((z.finish().map_err(io)?, json))
}

/// Whether the beginning of a plain inventory is JSON (else XML); anything else is refused.
fn kind_of(head: &[u8], what: &str) -> Result<bool, InputError> {
    let json = messages::looks_like_json(head);
    let first = head.iter().find(|b| !b.is_ascii_whitespace());
    if !json && first != Some(&b'<') {
        return Err(InputError::Refused(format!(
            "{what} is neither an XML nor a JSON inventory"
        )));
    }
    Ok(json)
}

/// Opens and reads a file (without blocking: a FIFO is refused), its identity taken from the
/// open file itself.
fn read_file(p: &Path, what: &str) -> Result<Input, InputError> {
    let f = crate::sys::root::open_regular(p).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidInput => InputError::Refused(format!("{what}: {e}")),
        _ => InputError::Io(format!("cannot read {what}: {e}")),
    })?;
    let meta = f
        .metadata()
        .map_err(|e| InputError::Io(format!("cannot read {what}: {e}")))?;
    let (body, json) = read_input(f, what, Some(meta.len()))?;
    Ok(Input {
        body,
        json,
        identity: Some(Identity::of(&meta)),
    })
}

/// Removes `p` after it was sent, but only if it is still the file that was read (same
/// device, inode, size and modification time): a file replaced meanwhile (as
/// `inventory --output DIR` does, atomically) was never sent, and is kept.
fn remove_sent(p: &Path, read: Option<Identity>, what: &str) {
    let now = fs::symlink_metadata(p).map(|m| Identity::of(&m));
    match (now, read) {
        (Ok(now), Some(read)) if now == read => {
            if let Err(e) = fs::remove_file(p) {
                log::warn!("{what}: sent, but cannot remove it: {e}");
            }
        }
        (Err(e), _) => log::warn!("{what}: sent, but it is no longer there to remove: {e}"),
        _ => log::warn!("{what}: sent, but the file changed since it was read: kept"),
    }
}

/// The injector's options that are not connection settings.
const OPTS: &[Opt] = &[
    Opt {
        name: "url",
        short: Some('u'),
        meta: "URL",
        help: "server URL",
    },
    Opt {
        name: "file",
        short: Some('f'),
        meta: "FILE",
        help: "an inventory file (repeatable)",
    },
    Opt {
        name: "directory",
        short: Some('d'),
        meta: "DIR",
        help: "every file of a directory",
    },
    Opt {
        name: "recursive",
        short: Some('R'),
        meta: "",
        help: "with --directory: its subdirectories too",
    },
    Opt {
        name: "stdin",
        short: None,
        meta: "",
        help: "read one inventory from standard input",
    },
    Opt {
        name: "remove",
        short: Some('r'),
        meta: "",
        help: "delete each file once the server accepted it",
    },
    Opt {
        name: "useragent",
        short: None,
        meta: "UA",
        help: "the User-Agent to present",
    },
    Opt {
        name: "xml-ua",
        short: Some('x'),
        meta: "",
        help: "present the OCS agent's User-Agent (a stock OCS server wants it)",
    },
    Opt {
        name: "verbose",
        short: Some('v'),
        meta: "",
        help: "say what happens to each file (always done)",
    },
    Opt {
        name: "version",
        short: None,
        meta: "",
        help: "print the version and exit",
    },
    Opt {
        name: "help",
        short: Some('h'),
        meta: "",
        help: "print this help and exit",
    },
];

/// The settings the injector takes: how to reach the server, and where its log goes.
const GROUPS: &[Group] = &[Group::Connection, Group::Log];

/// `uagent inject` and the `uagent-injector` launcher.
pub fn main(command: &[&str], args: &[&str]) -> i32 {
    let line = match cmdline::parse(args, OPTS, GROUPS) {
        Ok(l) => l,
        Err(e) => {
            logger::init("injector", 0);
            log::error!("{e}");
            log::info!("run {} --help for the options", command.join(" "));
            return exit::USAGE;
        }
    };
    if line.has("help") {
        say(&cmdline::help(
            &format!(
                "{} --url URL (--file F… | --directory D [--recursive] | --stdin) [OPTIONS]",
                command.join(" ")
            ),
            "Upload saved inventories (XML or JSON, plain or zlib) to a server.",
            OPTS,
            GROUPS,
        ));
        return exit::OK;
    }
    if line.has("version") {
        say(&format!("uagent {}", env!("CARGO_PKG_VERSION")));
        return exit::OK;
    }
    let mut s = Settings::default();
    if let Err(e) = line.apply(&mut s) {
        logger::init("injector", 0);
        log::error!("{e}");
        return exit::USAGE;
    }
    s.finish();
    logger::init("injector", s.log.debug);
    if let Err(e) = logger::configure(&s.log_destinations()) {
        log::error!("{e}");
        return exit::USAGE;
    }
    for n in &line.notices {
        log::warn!("{n}");
    }
    let Some(url) = line.value("url") else {
        log::error!("give the server with --url");
        return exit::USAGE;
    };
    let url = match server_url(url) {
        Ok(u) => u,
        Err(e) => {
            log::error!("{e}");
            return exit::USAGE;
        }
    };
    let mut files: Vec<PathBuf> = line.values("file").into_iter().map(PathBuf::from).collect();
    if let Some(d) = line.value("directory") {
        collect_dir(Path::new(d), line.has("recursive"), &mut files, 0);
    }
    let stdin = line.has("stdin");
    if files.is_empty() && !stdin {
        log::error!("nothing to inject: give --file, --directory or --stdin");
        return exit::USAGE;
    }
    let ua = match line.value("useragent") {
        Some(ua) => ua.to_string(),
        None if line.has("xml-ua") => crate::protocol::server::user_agent(),
        None => format!("uagent-injector_v{}", env!("CARGO_PKG_VERSION")),
    };
    let client = match Client::new(client_options(&s.connection, ua)) {
        Ok(c) => c,
        Err(e) => {
            log::error!("{e}");
            return exit::USAGE;
        }
    };
    let oauth = match OAuth::from_settings(&s.connection) {
        Ok(o) => o,
        Err(e) => {
            log::error!("{e}");
            return exit::USAGE;
        }
    };
    let agentid = random::uuid();
    let server = Server {
        client: &client,
        url,
        deviceid: "",
        agentid: &agentid,
        compress: !s.connection.no_compression,
        oauth: oauth.as_ref(),
        token_first: true,
    };
    let mut inputs: Vec<(String, Option<PathBuf>)> = files
        .into_iter()
        .map(|p| (p.display().to_string(), Some(p)))
        .collect();
    if stdin {
        inputs.push(("standard input".into(), None));
    }
    let remove = line.has("remove");
    let (mut sent, mut failed) = (0usize, 0usize);
    let mut code = exit::OK;
    crate::agent::block_on(async {
        for (what, path) in &inputs {
            let input = match path {
                Some(p) => read_file(p, what),
                None => read_input(std::io::stdin().lock(), what, None).map(|(body, json)| Input {
                    body,
                    json,
                    identity: None,
                }),
            };
            let input = match input {
                Ok(i) => i,
                Err(e) => {
                    log::error!("{}", e.text());
                    failed += 1;
                    code = code.max(e.code());
                    continue;
                }
            };
            let mut on_pending = |tries: u32, wait: std::time::Duration| {
                log::info!(
                    "{what}: the server answers pending ({tries}); asking again in {} s",
                    wait.as_secs()
                )
            };
            match server
                .send_inventory(&input.body, input.json, &mut on_pending)
                .await
            {
                Ok(_) => {
                    sent += 1;
                    log::info!("{what}: accepted by {}", server.url);
                    if let (true, Some(p)) = (remove, path) {
                        remove_sent(p, input.identity, what);
                    }
                }
                Err(e) => {
                    failed += 1;
                    code = code.max(match e {
                        CommError::Unreachable(_) => exit::UNREACHABLE,
                        CommError::Refused(_) => exit::REFUSED,
                    });
                    log::error!("{what}: not accepted by {}: {e}", server.url);
                }
            }
        }
    });
    log::info!("{sent} inventories sent, {failed} failed");
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_recognised_plain_or_compressed() {
        use crate::protocol::compress::{decode_reply, zlib};
        let xml = b"<?xml version=\"1.0\"?><REQUEST/>";
        let (body, json) = read_input(&xml[..], "f", None).unwrap();
        assert!(!json && is_zlib(&body));
        assert_eq!(decode_reply(&body, 1 << 20).unwrap(), xml);
        let z = zlib(b" {\"action\":\"inventory\"}");
        let (body2, json) = read_input(&z[..], "f", None).unwrap();
        assert!(json && body2 == z);
        assert!(matches!(
            read_input(&b"hello"[..], "f", None),
            Err(InputError::Refused(_))
        ));
        // Too large by its size: refused before a byte is read.
        struct Unreadable;
        impl Read for Unreadable {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                panic!("read before the size check")
            }
        }
        assert!(matches!(
            read_input(Unreadable, "f", Some(MAX_FILE + 1)),
            Err(InputError::Refused(_))
        ));
        // A plain file bigger than a chunk is compressed whole.
        let big: Vec<u8> = b"<REQUEST>"
            .iter()
            .copied()
            .chain((0..200_000u32).flat_map(|i| format!("<A>{i}</A>").into_bytes()))
            .collect();
        let (body, _) = read_input(&big[..], "f", None).unwrap();
        assert_eq!(decode_reply(&body, 8 << 20).unwrap(), big);
        // A bomb is only inflated as far as its beginning.
        let bomb = zlib(&vec![b' '; 8 << 20]);
        assert!(matches!(
            read_input(&bomb[..], "f", None),
            Err(InputError::Refused(_))
        ));
    }

    #[test]
    fn only_the_file_that_was_read_is_removed() {
        let dir = std::env::temp_dir().join(format!("uagent-inject-rm-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let f = dir.join("a.xml");
        fs::write(&f, "<REQUEST/>").unwrap();
        let read = read_file(&f, "a").unwrap().identity;
        // Replaced meanwhile, atomically, as `inventory --output DIR` does.
        fs::write(dir.join("new"), "<REQUEST>newer</REQUEST>").unwrap();
        fs::rename(dir.join("new"), &f).unwrap();
        remove_sent(&f, read, "a");
        assert!(f.exists(), "a file never sent was removed");
        let read = read_file(&f, "a").unwrap().identity;
        remove_sent(&f, read, "a");
        assert!(!f.exists());
        assert!(matches!(read_file(&f, "a"), Err(InputError::Io(_))));
        fs::remove_dir_all(&dir).unwrap();
    }
}
