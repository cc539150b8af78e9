//! The daemon's HTTP server (the Fusion/GLPI agents' "httpd"): a status page, `/status`,
//! `/now` for trusted callers (with GLPI's partial inventory events and CORS), files of the
//! vardir's `shared/` folder and the agent's log.
//!
//! Split by job: [`trust`] says who may ask for a run, [`routes`] maps a request-target to
//! what to do (and keeps file names inside `shared/`), [`server`] owns the sockets and every
//! bound on them. The request head is parsed by [`crate::http::parse`], as in the client.

pub mod routes;
pub mod server;
pub mod trust;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::Duration;

use async_io::Async;

pub use server::serve;

/// The Perl agents' port.
pub const DEFAULT_PORT: u16 = crate::core::AGENT_PORT;
/// Connections served at once. A newcomer past this evicts the connection that has waited
/// longest on its peer (see [`server`]), so idle sockets cannot lock the others out.
pub const MAX_CONNECTIONS: usize = 64;
/// Time for a whole request head to arrive, counted from when the server starts waiting.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a peer may leave one write of ours unread before the connection is dropped.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(20);
/// Lifetime of a connection, whatever it does (long enough for a shared file on a slow link).
pub const CONNECTION_TIME: Duration = Duration::from_secs(300);
/// Requests answered on one keep-alive connection before it is closed.
pub const REQUESTS_PER_CONNECTION: u32 = 100;
/// File downloads (shared files and the log) streamed at once; more get 503.
pub const FILE_TRANSFERS: usize = 8;
/// One slot in this many is kept for trusted callers (the servers' `/now`): callers that are
/// not trusted never hold all of them.
pub const TRUSTED_RESERVE_SHARE: usize = 16;
/// Wrong DEVICEID guesses on the log route one client may make per [`GUESS_WINDOW`]; past
/// them it gets 429 until the window ends.
pub const MAX_GUESSES: u32 = 5;
pub const GUESS_WINDOW: Duration = Duration::from_secs(60);
/// Clients whose wrong guesses are counted; past that, new clients share one count.
pub const GUESS_CLIENTS: usize = 256;

/// The bounds of [`server`], the constants above by default; tests shorten the times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub connections: usize,
    pub head_timeout: Duration,
    pub write_timeout: Duration,
    pub connection_time: Duration,
    pub requests_per_connection: u32,
    pub file_transfers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections: MAX_CONNECTIONS,
            head_timeout: HEAD_TIMEOUT,
            write_timeout: WRITE_TIMEOUT,
            connection_time: CONNECTION_TIME,
            requests_per_connection: REQUESTS_PER_CONNECTION,
            file_transfers: FILE_TRANSFERS,
        }
    }
}

/// What the server needs from the settings and the vardir.
#[derive(Clone, Debug)]
pub struct Config {
    /// `--httpd-ip`; `None` listens on every address (IPv6 and IPv4 when the system can).
    pub ip: Option<IpAddr>,
    pub port: u16,
    /// The raw `--httpd-trust` entries: IP addresses, CIDR ranges, host names.
    pub trust: Vec<String>,
    /// The host of each server target, by target index; `""` for a local target.
    pub server_hosts: Vec<String>,
    /// The id of each target, by index, as `/now?target=` names them (`server0`, `local0`).
    pub target_ids: Vec<String>,
    /// The `host:port` of each server target's URL, by index (`None` for a local target):
    /// the only origins a browser call to `/now` may come from.
    pub target_origins: Vec<Option<String>>,
    /// `<vardir>/shared`, the only folder files are served from.
    pub shared_dir: PathBuf,
    pub log_file: Option<PathBuf>,
    pub deviceid: String,
    /// Serve the log to any caller that gives the DEVICEID, not only to trusted callers.
    pub log_by_deviceid: bool,
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ip: None,
            port: DEFAULT_PORT,
            trust: Vec::new(),
            server_hosts: Vec::new(),
            target_ids: Vec::new(),
            target_origins: Vec::new(),
            shared_dir: PathBuf::new(),
            log_file: None,
            deviceid: String::new(),
            log_by_deviceid: false,
            limits: Limits::default(),
        }
    }
}

/// What the daemon shows: it updates this, the server reads it for each page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct View {
    /// `waiting` or `running task inventory`, after `status: ` on `/status`.
    pub status: String,
    pub targets: Vec<TargetView>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetView {
    /// The server URL or local path; shown only to trusted callers.
    pub name: String,
    pub is_server: bool,
    /// Seconds since the epoch.
    pub next_run: i64,
}

/// A run asked for through `/now`: the scheduler's type, so that it is wired directly.
pub use crate::core::schedule::NowRequest;

/// Opens the listening socket. Without an address: `[::]`, which also takes IPv4 unless the
/// system made IPv6 sockets IPv6-only, else (or when IPv6 is missing) `0.0.0.0`.
pub fn bind(cfg: &Config) -> io::Result<Async<TcpListener>> {
    let addrs: Vec<SocketAddr> = match cfg.ip {
        Some(ip) => vec![SocketAddr::new(ip, cfg.port)],
        None if ipv6_only_by_default() => {
            vec![SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), cfg.port)]
        }
        None => vec![
            SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), cfg.port),
            SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), cfg.port),
        ],
    };
    let mut last = None;
    for addr in addrs {
        match TcpListener::bind(addr).and_then(Async::new) {
            Ok(l) => return Ok(l),
            Err(e) => {
                log::debug!("httpd: cannot listen on {addr}: {e}");
                last = Some(io::Error::new(
                    e.kind(),
                    format!("cannot listen on {addr}: {e}"),
                ));
            }
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no address to listen on")))
}

/// `net.ipv6.bindv6only = 1` makes `[::]` refuse IPv4, which the servers mostly use.
fn ipv6_only_by_default() -> bool {
    std::fs::read_to_string("/proc/sys/net/ipv6/bindv6only").is_ok_and(|v| v.trim() == "1")
}
