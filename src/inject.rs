//! `uagent inject`: uploads inventories saved earlier (autonomous mode, or offline machines) to
//! a server, as the Perl agents' injector does. XML and JSON files are accepted plain or
//! already zlib-compressed; JSON ones are announced to GLPI with the agent id.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::config::cmdline::{self, Opt};
use crate::config::{Group, Settings};
use crate::core::console::say;
use crate::core::{exit, logger, random};
use crate::http::Client;
use crate::protocol::compress::{decode_reply, is_zlib, zlib};
use crate::protocol::messages;
use crate::protocol::oauth::OAuth;
use crate::protocol::server::{client_options, server_url, CommError, Server};

/// Largest inventory file injected.
pub const MAX_FILE: u64 = 64 * 1024 * 1024;
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

fn read_limited(mut r: impl Read, what: &str) -> Result<Vec<u8>, String> {
    let mut data = Vec::new();
    r.by_ref()
        .take(MAX_FILE + 1)
        .read_to_end(&mut data)
        .map_err(|e| format!("cannot read {what}: {e}"))?;
    if data.len() as u64 > MAX_FILE {
        return Err(format!("{what} is larger than {MAX_FILE} bytes"));
    }
    Ok(data)
}

/// The body to send and whether it is JSON; a compressed file is sent as it is.
fn prepare(data: &[u8], what: &str) -> Result<(Vec<u8>, bool), String> {
    let (plain, body) = if is_zlib(data) {
        (
            decode_reply(data, MAX_FILE as usize).map_err(|e| format!("{what}: {e}"))?,
            data.to_vec(),
        )
    } else {
        (data.to_vec(), zlib(data))
    };
    let json = messages::looks_like_json(&plain);
    let first = plain.iter().find(|b| !b.is_ascii_whitespace());
    if !json && first != Some(&b'<') {
        return Err(format!("{what} is neither an XML nor a JSON inventory"));
    }
    Ok((body, json))
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
    let mut s = Settings::default();
    if let Err(e) = line.apply(&mut s) {
        logger::init("injector", 0);
        log::error!("{e}");
        return exit::USAGE;
    }
    s.finish();
    logger::init("injector", s.log.debug);
    if let Err(e) = logger::configure(
        &s.log.logger,
        s.log.logfile.as_deref(),
        s.log.logfile_maxsize,
    ) {
        log::error!("{e}");
        return exit::USAGE;
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
    let ua = line
        .value("useragent")
        .map(str::to_string)
        .unwrap_or_else(|| format!("uagent-injector_v{}", env!("CARGO_PKG_VERSION")));
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
            let data = match path {
                Some(p) => fs::File::open(p)
                    .map_err(|e| format!("cannot read {what}: {e}"))
                    .and_then(|f| read_limited(f, what)),
                None => read_limited(std::io::stdin().lock(), what),
            };
            let (body, json) = match data.and_then(|d| prepare(&d, what)) {
                Ok(p) => p,
                Err(e) => {
                    log::error!("{e}");
                    failed += 1;
                    code = code.max(exit::USAGE);
                    continue;
                }
            };
            let mut on_pending = |tries: u32, wait: std::time::Duration| {
                log::info!(
                    "{what}: the server answers pending ({tries}); asking again in {} s",
                    wait.as_secs()
                )
            };
            match server.send_inventory(&body, json, &mut on_pending).await {
                Ok(_) => {
                    sent += 1;
                    log::info!("{what}: accepted by {}", server.url);
                    if let (true, Some(p)) = (remove, path) {
                        if let Err(e) = fs::remove_file(p) {
                            log::warn!("{what}: sent, but cannot remove it: {e}");
                        }
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
        let (body, json) = prepare(b"<?xml version=\"1.0\"?><REQUEST/>", "f").unwrap();
        assert!(!json && is_zlib(&body));
        let (body2, json) = prepare(&zlib(b" {\"action\":\"inventory\"}"), "f").unwrap();
        assert!(json && is_zlib(&body2));
        assert!(prepare(b"hello", "f").is_err());
    }
}
