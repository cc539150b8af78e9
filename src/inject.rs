//! `uagent inject`: uploads inventories saved earlier (autonomous mode, or offline machines) to
//! a server, as the Perl agents' injector does. XML and JSON files are accepted plain or
//! already zlib-compressed; JSON ones are announced to GLPI with the agent id.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::cli::InjectArgs;
use crate::config::Settings;
use crate::core::{exit, logger, random};
use crate::http::Client;
use crate::protocol::compress::{decode_reply, is_zlib, zlib};
use crate::protocol::server::{client_options, server_url, CONTENT_TYPE_ZLIB};
use crate::protocol::{messages, MAX_REPLY};

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

pub fn run(a: &InjectArgs) -> i32 {
    logger::init("injector", u8::from(a.debug));
    let Some(url) = &a.url else {
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
    let mut files: Vec<PathBuf> = a.file.iter().map(PathBuf::from).collect();
    if let Some(d) = &a.directory {
        collect_dir(Path::new(d), a.recursive, &mut files, 0);
    }
    if files.is_empty() && !a.stdin {
        log::error!("nothing to inject: give --file, --directory or --stdin");
        return exit::USAGE;
    }
    let mut s = Settings::default();
    s.timeout = a.timeout.unwrap_or(s.timeout);
    s.proxy = a.proxy.clone();
    s.user = a.user.clone();
    s.password = a.password.clone();
    s.ca_cert_file = a.ca_cert_file.clone();
    s.ca_cert_dir = a.ca_cert_dir.clone();
    s.no_ssl_check = a.no_ssl_check;
    s.ssl_fingerprint = a.ssl_fingerprint.clone();
    s.ssl_cert_file = a.ssl_cert_file.clone();
    let ua = a
        .useragent
        .clone()
        .unwrap_or_else(|| format!("uagent-injector_v{}", env!("CARGO_PKG_VERSION")));
    let client = match Client::new(client_options(&s, ua)) {
        Ok(c) => c,
        Err(e) => {
            log::error!("{e}");
            return exit::USAGE;
        }
    };
    let agentid = random::uuid();
    let mut inputs: Vec<(String, Option<PathBuf>)> = files
        .into_iter()
        .map(|p| (p.display().to_string(), Some(p)))
        .collect();
    if a.stdin {
        inputs.push(("standard input".into(), None));
    }
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
            let prepared = data.and_then(|d| prepare(&d, what));
            let (body, json) = match prepared {
                Ok(p) => p,
                Err(e) => {
                    log::error!("{e}");
                    failed += 1;
                    code = code.max(exit::USAGE);
                    continue;
                }
            };
            let headers: Vec<(&str, &str)> = if json {
                vec![("Pragma", "no-cache"), ("GLPI-Agent-ID", agentid.as_str())]
            } else {
                vec![("Pragma", "no-cache")]
            };
            let result = match client.post(&url, CONTENT_TYPE_ZLIB, &body, &headers).await {
                Err(e) => Err((exit::UNREACHABLE, e.to_string())),
                Ok(resp) => {
                    let decoded: Result<Vec<u8>, _> = decode_reply(&resp.body, MAX_REPLY);
                    match (resp.status, decoded) {
                        (200..=299, Ok(d)) => messages::parse_inventory_reply(&d)
                            .map(|_| ())
                            .map_err(|e| (exit::REFUSED, format!("bad reply: {e}"))),
                        (200..=299, Err(e)) => Err((exit::REFUSED, format!("bad reply: {e}"))),
                        (status, _) => {
                            Err((exit::REFUSED, format!("HTTP {status} {}", resp.reason)))
                        }
                    }
                }
            };
            match result {
                Ok(()) => {
                    sent += 1;
                    log::info!("{what}: accepted by {url}");
                    if let (true, Some(p)) = (a.remove, path) {
                        if let Err(e) = fs::remove_file(p) {
                            log::warn!("{what}: sent, but cannot remove it: {e}");
                        }
                    }
                }
                Err((c, e)) => {
                    failed += 1;
                    code = code.max(c);
                    log::error!("{what}: not accepted by {url}: {e}");
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
