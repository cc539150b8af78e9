//! Sockets, connections and their bounds. One task per connection on a local executor that
//! [`serve`] owns, so dropping `serve`'s future closes every connection.
//!
//! At most `limits.connections` connections live at once. A newcomer past that evicts one
//! that waits on its peer, chosen by [`Wait`]: first one closing after an error, then the one
//! that has waited longest without ever completing a request head, then one that completed
//! a request and has waited more than [`SERVED_GRACE`] since. When there is none, the
//! newcomer gets 503. Hundreds of idle or trickling sockets therefore cost each other their
//! slots, not the clients that send requests and read the answers.
//!
//! Busy keep-alive clients cannot hold every slot either: when the server is full, a newcomer
//! from a client that holds fewer connections than the heaviest client takes the heaviest
//! one's longest-waiting connection, whatever its grace ([`make_room`]); one slot in
//! [`super::TRUSTED_RESERVE_SHARE`] is never given to an untrusted caller, and a trusted
//! newcomer may take any untrusted connection that is not mid-work. A newcomer that still
//! finds no room has its request read (briefly) before the 503, so that it sees the 503 rather
//! than a reset.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fs::File;
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::rc::Rc;
use std::time::{Duration, Instant};

use async_io::{Async, Timer};
use smol::channel::{Sender, TrySendError};
use smol::future;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::{LocalExecutor, Task};

use super::routes::{self, NowEvent, Refusal, Route};
use super::trust::{Caller, Trust};
use super::{Config, Limits, NowRequest, View};
use super::{GUESS_CLIENTS, GUESS_WINDOW, MAX_GUESSES, TRUSTED_RESERVE_SHARE};
use crate::http::parse::{
    self, parse_request_head, request_body_length, BodyLength, Header, Status, MAX_HEADERS,
    MAX_HEAD_BYTES,
};

/// First size of a connection's head buffer; it doubles up to `MAX_HEAD_BYTES` when needed.
const INITIAL_HEAD_BUF: usize = 1024;
/// Pieces in which a file is read and sent.
const FILE_CHUNK: usize = 8 * 1024;
/// After an error reply, input read and dropped before closing, so that the peer sees the
/// reply rather than a reset caused by the bytes it was still sending.
const LINGER_BYTES: usize = 64 * 1024;
const LINGER_TIME: Duration = Duration::from_secs(1);
/// Pause after a failed accept (out of file descriptors, say) before trying again.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(200);
/// Least time between two warnings about failed accepts.
const ACCEPT_WARNING_EVERY: Duration = Duration::from_secs(60);
/// How long a connection that completed a request is safe from eviction while it waits:
/// long enough for a keep-alive client's next request or for a reader to catch up, short
/// enough that sockets sending one request and then idling cannot hold every slot.
const SERVED_GRACE: Duration = Duration::from_secs(1);
/// Time a newcomer that gets 503 has to finish sending its request head first.
const BUSY_READ_TIME: Duration = Duration::from_millis(500);
/// Newcomers answered 503 at once after reading their request; more are answered without it.
const BUSY_ANSWERS: usize = 16;
/// Sent to a newcomer when no connection can be evicted.
const BUSY_REPLY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\
Content-Length: 20\r\nRetry-After: 5\r\nConnection: close\r\n\r\n503 Server is busy.\n";

/// What every connection task reads.
struct Shared {
    cfg: Config,
    trust: Trust,
    view: Rc<RefCell<View>>,
    now: Sender<NowRequest>,
    /// File transfers in progress.
    transfers: Cell<usize>,
    /// Wrong DEVICEID guesses on the log route, by client.
    guesses: RefCell<Guesses>,
    /// 503 answers being sent.
    busy: Cell<usize>,
}

/// Who a connection is from, for fairness and for counting guesses: the IPv4 address, or
/// the /64 of an IPv6 one (a single host has all of it).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// Wrong DEVICEID guesses per client in the current window, in a table of at most
/// [`GUESS_CLIENTS`] clients; when it is full of clients whose window has not ended, new
/// ones share the last entry (unspecified address), so that many addresses buy no more
/// guesses than one.
#[derive(Debug, Default)]
struct Guesses {
    clients: Vec<(IpAddr, u32, Instant)>,
}

impl Guesses {
    fn entry(&mut self, client: IpAddr, now: Instant) -> &mut (IpAddr, u32, Instant) {
        self.clients
            .retain(|(_, _, since)| now.saturating_duration_since(*since) < GUESS_WINDOW);
        let key = match self.clients.iter().position(|e| e.0 == client) {
            Some(_) => client,
            None if self.clients.len() < GUESS_CLIENTS - 1 => client,
            None => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        };
        let i = match self.clients.iter().position(|e| e.0 == key) {
            Some(i) => i,
            None => {
                self.clients.push((key, 0, now));
                self.clients.len() - 1
            }
        };
        &mut self.clients[i]
    }

    /// Whether `client` has used up its guesses for now.
    fn blocked(&mut self, client: IpAddr, now: Instant) -> bool {
        self.entry(client, now).1 >= MAX_GUESSES
    }

    /// Counts a wrong guess; returns how many this client made in its window.
    fn wrong(&mut self, client: IpAddr, now: Instant) -> u32 {
        let e = self.entry(client, now);
        e.1 = e.1.saturating_add(1);
        e.1
    }
}

/// What a connection waits for, in the order in which connections are evicted (the derived
/// order compares the variant first, then the time: older goes first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Wait {
    /// Reading what the peer still sends after an error reply, before closing.
    Closing(Instant),
    /// Waiting, since then, on a peer that has not completed a request head on this
    /// connection: idle and trickling sockets.
    Unproven(Instant),
    /// Waiting, since then, on a peer that has completed a request: for its next one, or for
    /// it to take our reply.
    Served(Instant),
    /// Working; the accept loop, which runs between polls, never sees it.
    Busy,
}

/// A live connection: its task (dropping it closes the connection), what it waits for, and
/// who it is from.
struct Slot {
    task: Task<()>,
    wait: Rc<Cell<Wait>>,
    client: IpAddr,
    trusted: bool,
}

/// Serves `listener` until the future is dropped. `view` is read for each page; runs asked
/// for through `/now` are sent on `now` (a full channel means a run is already asked for).
pub async fn serve(
    listener: Async<TcpListener>,
    cfg: Config,
    view: Rc<RefCell<View>>,
    now: Sender<NowRequest>,
) {
    let trust = Trust::new(&cfg.trust, &cfg.server_hosts);
    if let Ok(addr) = listener.get_ref().local_addr() {
        log::info!("httpd: listening on {addr}");
    }
    let shared = Shared {
        cfg,
        trust,
        view,
        now,
        transfers: Cell::new(0),
        guesses: RefCell::new(Guesses::default()),
        busy: Cell::new(0),
    };
    let ex = LocalExecutor::new();
    ex.run(accept_loop(&listener, &shared, &ex)).await
}

async fn accept_loop<'a>(listener: &Async<TcpListener>, sh: &'a Shared, ex: &LocalExecutor<'a>) {
    let max = sh.cfg.limits.connections;
    let mut slots: Vec<Slot> = Vec::with_capacity(max);
    let mut last_warning: Option<Instant> = None;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                if last_warning.is_none_or(|t| t.elapsed() >= ACCEPT_WARNING_EVERY) {
                    log::warn!("httpd: cannot accept a connection: {e}");
                    last_warning = Some(Instant::now());
                }
                Timer::after(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        slots.retain(|s| !s.task.is_finished());
        let client = client_key(peer.ip());
        let trusted = sh.trust.caller(peer.ip()).is_trusted();
        if !make_room(&mut slots, client, trusted, max, Instant::now()) {
            log::debug!("httpd: {} connections busy; 503 to {peer}", slots.len());
            if sh.busy.get() < BUSY_ANSWERS {
                sh.busy.set(sh.busy.get() + 1);
                ex.spawn(busy_answer(stream, &sh.busy)).detach();
            } else {
                let _ = stream.get_ref().write(BUSY_REPLY);
            }
        } else {
            let wait = Rc::new(Cell::new(Wait::Unproven(Instant::now())));
            let task = ex.spawn(connection(stream, peer, sh, wait.clone()));
            slots.push(Slot {
                task,
                wait,
                client,
                trusted,
            });
        }
        // Accepting does not wait while the backlog holds connections: let the connections
        // read their requests before the next newcomer may evict them.
        future::yield_now().await;
    }
}

/// Answers 503 to a newcomer there is no room for, after reading its request head (for at
/// most [`BUSY_READ_TIME`]), then closes: a client that has sent its request sees the 503
/// rather than a reset.
async fn busy_answer(mut stream: Async<TcpStream>, count: &Cell<usize>) {
    let deadline = Instant::now() + BUSY_READ_TIME;
    let mut buf = [0u8; 2048];
    let mut tail = [0u8; 4];
    let mut read = 0usize;
    while read < MAX_HEAD_BYTES {
        match before(deadline, stream.read(&mut buf)).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                read += n;
                for &b in &buf[..n] {
                    tail.rotate_left(1);
                    tail[3] = b;
                }
                if tail == *b"\r\n\r\n" {
                    break;
                }
            }
        }
    }
    let _ = before(
        Instant::now() + Duration::from_secs(1),
        stream.write_all(BUSY_REPLY),
    )
    .await;
    let _ = stream.get_ref().shutdown(Shutdown::Write);
    let end = Instant::now() + LINGER_TIME;
    while let Ok(n) = before(end, stream.read(&mut buf)).await {
        if n == 0 {
            break;
        }
    }
    count.set(count.get().saturating_sub(1));
}

/// Makes room for a newcomer from `client` if the server is full (or, for an untrusted
/// newcomer, if the untrusted callers hold every slot not kept for trusted ones). In order:
/// a connection [`evictable`] by its state; then, for fairness, the longest-waiting connection
/// of the client holding the most, if it holds more than the newcomer's client; then, for a
/// trusted newcomer, the longest-waiting untrusted connection. Connections mid-work are never
/// closed. False when there is no room.
fn make_room(
    slots: &mut Vec<Slot>,
    client: IpAddr,
    trusted: bool,
    max: usize,
    now: Instant,
) -> bool {
    let reserve = max / TRUSTED_RESERVE_SHARE;
    let untrusted = slots.iter().filter(|s| !s.trusted).count();
    let full = slots.len() >= max;
    let untrusted_full = !trusted && untrusted >= max.saturating_sub(reserve);
    if !full && !untrusted_full {
        return true;
    }
    // An untrusted newcomer may only take an untrusted connection's slot.
    let pool = |s: &Slot| trusted || !s.trusted;
    let victim = |slots: &[Slot], ok: &dyn Fn(&Slot) -> bool| {
        slots
            .iter()
            .enumerate()
            .filter(|(_, s)| pool(s) && ok(s) && s.wait.get() != Wait::Busy)
            .map(|(i, s)| (s.wait.get(), i))
            .min()
    };
    let mut pick = victim(slots, &|s| evictable(s.wait.get(), now));
    if pick.is_none() {
        let held = |c: IpAddr| slots.iter().filter(|s| s.client == c).count();
        let mine = held(client);
        let heaviest = slots
            .iter()
            .filter(|s| pool(s) && s.client != client)
            .map(|s| (held(s.client), s.client))
            .max();
        if let Some((count, heavy)) = heaviest.filter(|(count, _)| *count > mine) {
            log::debug!(
                "httpd: full; {heavy} holds {count} connections, the newcomer's client {mine}"
            );
            pick = victim(slots, &|s| s.client == heavy);
        }
    }
    if pick.is_none() && trusted {
        pick = victim(slots, &|s| !s.trusted);
    }
    match pick {
        Some((wait, i)) => {
            log::debug!("httpd: connection limit reached; closing one in state {wait:?}");
            drop(slots.swap_remove(i));
            true
        }
        None => false,
    }
}

/// Whether a connection in state `w` may be closed for a newcomer at time `now`.
fn evictable(w: Wait, now: Instant) -> bool {
    match w {
        Wait::Closing(_) | Wait::Unproven(_) => true,
        Wait::Served(since) => now.saturating_duration_since(since) >= SERVED_GRACE,
        Wait::Busy => false,
    }
}

/// Waits for `fut` until `deadline`.
async fn before<T>(deadline: Instant, fut: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    future::or(fut, async {
        Timer::at(deadline).await;
        Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"))
    })
    .await
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Get,
    Head,
    /// CORS preflight, for `/now` only.
    Options,
    Other,
}

/// Longest `Origin` kept (a longer one is no target's and gets 403).
const MAX_ORIGIN: usize = 512;

/// A request head, reduced to what the server acts on.
#[derive(Debug)]
struct Request {
    method: Method,
    route: Route,
    /// The client asked to close, or spoke HTTP/1.0 without keep-alive.
    close: bool,
    /// A body follows, which the server does not read: it closes after answering.
    body: bool,
    /// Bytes of the head.
    len: usize,
    /// CORS: the `Origin` of a browser's request (`Some("")` when too long to be any).
    origin: Option<String>,
    /// CORS preflight: `Access-Control-Request-Method`, and whether headers are asked for.
    request_method: Option<String>,
    request_headers: bool,
}

/// Parses a request head at the start of `buf` with the shared parser.
fn parse_request(buf: &[u8]) -> Result<Status<Request>, parse::Error> {
    let mut slots = [Header::EMPTY; MAX_HEADERS];
    let head = match parse_request_head(buf, &mut slots)? {
        Status::Complete(h) => h,
        Status::Partial => return Ok(Status::Partial),
    };
    let headers = &slots[..head.header_count];
    let body = !matches!(
        request_body_length(headers)?,
        BodyLength::Empty | BodyLength::Length(0)
    );
    let has_token = |token: &str| {
        headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("connection"))
            .flat_map(|h| h.value.split(|&b| b == b','))
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    };
    // The Connection field may repeat, so every one is read.
    let close = if head.minor_version == 0 {
        !has_token("keep-alive")
    } else {
        has_token("close")
    };
    let value = |name: &str| {
        headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value.trim_ascii()).into_owned())
    };
    Ok(Status::Complete(Request {
        method: match head.method {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "OPTIONS" => Method::Options,
            _ => Method::Other,
        },
        route: routes::route(head.target),
        close,
        body,
        len: head.len,
        origin: value("origin").map(|o| {
            if o.len() > MAX_ORIGIN {
                String::new()
            } else {
                o
            }
        }),
        request_method: value("access-control-request-method"),
        request_headers: value("access-control-request-headers").is_some(),
    }))
}

/// Status for a head the parser refused.
fn parse_error_status(e: parse::Error) -> u16 {
    match e {
        parse::Error::HeadTooLarge | parse::Error::TooManyHeaders => 431,
        parse::Error::TargetTooLong => 414,
        _ => 400,
    }
}

/// A file being sent; counts against `limits.file_transfers` until dropped.
struct Transfer<'s> {
    file: File,
    len: u64,
    count: &'s Cell<usize>,
}

impl Drop for Transfer<'_> {
    fn drop(&mut self) {
        self.count.set(self.count.get().saturating_sub(1));
    }
}

enum Body<'s> {
    Bytes(Cow<'static, [u8]>),
    File(Transfer<'s>),
}

struct Reply<'s> {
    status: u16,
    content_type: &'static str,
    body: Body<'s>,
    /// Close after this reply whatever the client wants.
    close: bool,
    /// More header fields (CORS).
    extra: Vec<(&'static str, String)>,
}

impl<'s> Reply<'s> {
    fn bytes(status: u16, content_type: &'static str, body: impl Into<Cow<'static, [u8]>>) -> Self {
        Reply {
            status,
            content_type,
            body: Body::Bytes(body.into()),
            close: false,
            extra: Vec::new(),
        }
    }

    /// A short text reply for an error status.
    fn error(status: u16) -> Self {
        let body = format!("{status} {}\n", reason(status)).into_bytes();
        Reply {
            close: status == 400 || status >= 500,
            ..Reply::bytes(status, "text/plain; charset=utf-8", body)
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        414 => "URI Too Long",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

const NOW_OK: &[u8] =
    b"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>uagent</title></head>\n\
<body><p>OK: a run was requested.</p><p><a href=\"/\">Back</a></p></body></html>\n";
const ACCESS_DENIED: &[u8] = b"Access denied\n";

/// Decides the reply to a request (no I/O but the file opens and name resolution).
fn answer<'s>(req: &Request, peer: IpAddr, sh: &'s Shared) -> Reply<'s> {
    match &req.route {
        Route::NotFound => Reply::error(404),
        Route::BadRequest(_) => Reply::error(400),
        Route::Now(event) if req.method != Method::Other => run_now(req, event, peer, sh),
        _ if matches!(req.method, Method::Other | Method::Options) => Reply::error(405),
        // The daemon never keeps the view borrowed across an await; should it, 503 beats a
        // panic.
        Route::Status => match sh.view.try_borrow() {
            Ok(view) => {
                let body = format!("status: {}", view.status).into_bytes();
                Reply::bytes(200, "text/plain; charset=utf-8", body)
            }
            Err(_) => Reply::error(503),
        },
        Route::Index => match sh.view.try_borrow() {
            Ok(view) => {
                let trusted = sh.trust.caller(peer).is_trusted();
                let page = routes::index_page(&view, trusted);
                Reply::bytes(200, "text/html; charset=utf-8", page)
            }
            Err(_) => Reply::error(503),
        },
        Route::Now(_) => Reply::error(405),
        Route::Shared(name) => send_file(sh, || {
            routes::open_shared(&sh.cfg.shared_dir, name).map_err(|r| match r {
                Refusal::Forbidden => 403,
                Refusal::NotFound => 404,
            })
        })
        .map_or_else(Reply::error, |t| Reply {
            status: 200,
            content_type: "application/octet-stream",
            body: Body::File(t),
            close: false,
            extra: Vec::new(),
        }),
        Route::Log(id) => match log_access(id, peer, sh) {
            Ok(()) => send_log(sh),
            Err(status) => Reply::error(status),
        },
        Route::Forbidden => Reply::error(403),
    }
}

/// Who may read the log: a trusted caller (or anyone, with `log_by_deviceid`) that gives this
/// agent's DEVICEID, compared in constant time. Wrong guesses are counted per client and
/// logged; past [`MAX_GUESSES`] in [`GUESS_WINDOW`] the client gets 429, right or wrong.
fn log_access(id: &[u8], peer: IpAddr, sh: &Shared) -> Result<(), u16> {
    if !sh.cfg.log_by_deviceid && !sh.trust.caller(peer).is_trusted() {
        log::debug!("httpd: the log refused to {peer}: not a trusted address");
        return Err(403);
    }
    let client = client_key(peer);
    let now = Instant::now();
    let Ok(mut guesses) = sh.guesses.try_borrow_mut() else {
        return Err(503);
    };
    if guesses.blocked(client, now) {
        return Err(429);
    }
    if crate::core::redact::same_secret(id, sh.cfg.deviceid.as_bytes()) {
        return Ok(());
    }
    let n = guesses.wrong(client, now);
    if n == 1 || n == MAX_GUESSES {
        log::warn!(
            "httpd: {peer} asked for the log with a wrong DEVICEID ({n} in {} s{})",
            GUESS_WINDOW.as_secs(),
            if n == MAX_GUESSES {
                "; refused until the window ends"
            } else {
                ""
            }
        );
    }
    Err(403)
}

/// The log file, its last part.
fn send_log<'s>(sh: &'s Shared) -> Reply<'s> {
    let Some(path) = sh.cfg.log_file.as_deref() else {
        return Reply::error(404);
    };
    send_file(sh, || {
        routes::open_log(path).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                404
            } else {
                log::warn!("httpd: cannot read the log {}: {e}", path.display());
                500
            }
        })
    })
    .map_or_else(Reply::error, |t| Reply {
        status: 200,
        content_type: "text/plain; charset=utf-8",
        body: Body::File(t),
        close: false,
        extra: Vec::new(),
    })
}

/// Opens a file to send when a transfer slot is free (else 503).
fn send_file<'s>(
    sh: &'s Shared,
    open: impl FnOnce() -> Result<(File, u64), u16>,
) -> Result<Transfer<'s>, u16> {
    if sh.transfers.get() >= sh.cfg.limits.file_transfers {
        return Err(503);
    }
    let (file, len) = open()?;
    sh.transfers.set(sh.transfers.get() + 1);
    Ok(Transfer {
        file,
        len,
        count: &sh.transfers,
    })
}

/// `/now`: the host of a server target runs that target, another trusted caller runs all
/// (or the one `target=` names); an event (`partial=yes&category=…`) asks for a partial
/// inventory instead of a run. As the GLPI agent: `OPTIONS` with
/// `Access-Control-Request-Method: GET` is a CORS preflight (204), and a request with an
/// `Origin` is answered only when that origin is the authority of one of those targets'
/// URLs (403 otherwise), echoed in `Access-Control-Allow-Origin`.
fn run_now<'s>(req: &Request, event: &NowEvent, peer: IpAddr, sh: &Shared) -> Reply<'s> {
    let denied = |why: &str| {
        log::debug!("httpd: /now from {peer} refused: {why}");
        Reply::bytes(403, "text/plain; charset=utf-8", ACCESS_DENIED)
    };
    let caller = sh.trust.caller(peer);
    let mut targets: Vec<usize> = match &caller {
        Caller::Untrusted => return denied("not a trusted address"),
        Caller::Trusted => (0..sh.cfg.target_ids.len().max(sh.cfg.server_hosts.len())).collect(),
        Caller::ServerOf(t) => t.clone(),
    };
    if let Some(id) = &event.target {
        targets.retain(|&i| sh.cfg.target_ids.get(i) == Some(id));
        if targets.is_empty() {
            log::debug!("httpd: /now from {peer}: no target {id} for this caller");
            return Reply::error(400);
        }
    }
    let mut extra = Vec::new();
    if let Some(origin) = &req.origin {
        let authority = crate::http::Url::parse(origin).ok().map(|u| u.authority());
        let allowed = authority.is_some_and(|a| {
            targets.iter().any(|&i| {
                sh.cfg.target_origins.get(i).and_then(Option::as_deref) == Some(a.as_str())
            })
        });
        if !allowed {
            return denied("not an allowed origin");
        }
        extra.push(("Access-Control-Allow-Origin", origin.clone()));
        extra.push(("Vary", "Origin".to_string()));
        if req.request_headers {
            extra.push(("Access-Control-Allow-Headers", "*".to_string()));
        }
    }
    if req.method == Method::Options {
        if req.request_method.as_deref() != Some("GET") {
            return denied("a preflight for another method than GET");
        }
        extra.push(("Access-Control-Allow-Methods", "GET".to_string()));
        return Reply {
            extra,
            ..Reply::bytes(204, "text/plain; charset=utf-8", &b""[..])
        };
    }
    let asks: Vec<NowRequest> = if !event.partial.is_empty() {
        let categories = event.partial.join(",");
        log::info!("httpd: {peer} asks for a partial inventory now ({categories})");
        targets
            .iter()
            .map(|&target| NowRequest::Partial {
                target,
                categories: categories.clone(),
            })
            .collect()
    } else {
        log::info!("httpd: {peer} asks for a run now");
        match (&caller, &event.target) {
            (Caller::Trusted, None) => vec![NowRequest::All],
            _ => targets.into_iter().map(NowRequest::Target).collect(),
        }
    };
    for ask in asks {
        match sh.now.try_send(ask) {
            Ok(()) | Err(TrySendError::Full(_)) => {}
            Err(TrySendError::Closed(_)) => return Reply::error(503),
        }
    }
    Reply {
        extra,
        ..Reply::bytes(200, "text/html; charset=utf-8", NOW_OK)
    }
}

/// One accepted connection and its head buffer.
struct Conn<'l> {
    stream: Async<TcpStream>,
    limits: &'l Limits,
    buf: Vec<u8>,
    filled: usize,
    wait: Rc<Cell<Wait>>,
    /// A whole request head has come on this connection.
    served: bool,
    /// When the connection is closed whatever it is doing.
    end: Instant,
}

enum HeadError {
    Io(io::Error),
    Parse(parse::Error),
}

async fn connection(stream: Async<TcpStream>, peer: SocketAddr, sh: &Shared, wait: Rc<Cell<Wait>>) {
    let limits = &sh.cfg.limits;
    let mut c = Conn {
        stream,
        limits,
        buf: Vec::new(),
        filled: 0,
        wait,
        served: false,
        end: Instant::now() + limits.connection_time,
    };
    for n in 1..=limits.requests_per_connection {
        let req = match c.read_head().await {
            Ok(Some(req)) => req,
            Ok(None) => return,
            Err(HeadError::Io(e)) => {
                log::debug!("httpd: {peer}: {e} while waiting for a request");
                return;
            }
            Err(HeadError::Parse(e)) => {
                log::debug!("httpd: {peer}: {e}");
                if c.send(Reply::error(parse_error_status(e)), false, false)
                    .await
                    .is_ok()
                {
                    c.linger().await;
                }
                return;
            }
        };
        let reply = answer(&req, peer.ip(), sh);
        log::debug!(
            "httpd: {peer} {:?} {} → {}",
            req.method,
            req.route.label(),
            reply.status
        );
        let keep = !(req.close || req.body || reply.close || n == limits.requests_per_connection);
        // Closing on a client that meant to go on (or is still sending a body) would reset
        // the connection under our last reply: read what it sends first, briefly.
        let lingers = !req.close || req.body;
        if let Err(e) = c.send(reply, req.method == Method::Head, keep).await {
            log::debug!("httpd: {peer}: {e} while answering");
            return;
        }
        if !keep {
            if lingers {
                c.linger().await;
            }
            return;
        }
    }
}

impl Conn<'_> {
    fn waiting_on_peer(&self, since: Instant) {
        self.wait.set(if self.served {
            Wait::Served(since)
        } else {
            Wait::Unproven(since)
        });
    }

    /// Reads until a whole head is in the buffer; `None` when the peer closed between
    /// requests. Bytes after the head stay in the buffer for the next request.
    async fn read_head(&mut self) -> Result<Option<Request>, HeadError> {
        let start = Instant::now();
        let deadline = (start + self.limits.head_timeout).min(self.end);
        self.waiting_on_peer(start);
        loop {
            if self.filled > 0 {
                match parse_request(&self.buf[..self.filled]) {
                    Ok(Status::Complete(req)) => {
                        self.buf.copy_within(req.len..self.filled, 0);
                        self.filled -= req.len;
                        self.served = true;
                        self.wait.set(Wait::Busy);
                        return Ok(Some(req));
                    }
                    Ok(Status::Partial) if self.filled >= MAX_HEAD_BYTES => {
                        return Err(HeadError::Parse(parse::Error::HeadTooLarge));
                    }
                    Ok(Status::Partial) => {}
                    Err(e) => return Err(HeadError::Parse(e)),
                }
            }
            if self.filled == self.buf.len() {
                let size = (self.buf.len() * 2).clamp(INITIAL_HEAD_BUF, MAX_HEAD_BYTES);
                self.buf.resize(size, 0);
            }
            let n = before(deadline, self.stream.read(&mut self.buf[self.filled..]))
                .await
                .map_err(HeadError::Io)?;
            if n == 0 {
                return match self.filled {
                    0 => Ok(None),
                    _ => Err(HeadError::Io(io::ErrorKind::UnexpectedEof.into())),
                };
            }
            self.filled += n;
        }
    }

    /// Writes `data`; the peer has `limits.write_timeout` to take it.
    async fn write(&mut self, data: &[u8]) -> io::Result<()> {
        let now = Instant::now();
        self.waiting_on_peer(now);
        let deadline = (now + self.limits.write_timeout).min(self.end);
        let r = before(deadline, self.stream.write_all(data)).await;
        self.wait.set(Wait::Busy);
        r
    }

    async fn send(&mut self, reply: Reply<'_>, head_only: bool, keep: bool) -> io::Result<()> {
        let len = match &reply.body {
            Body::Bytes(b) => b.len() as u64,
            Body::File(t) => t.len,
        };
        let mut out = Vec::with_capacity(256);
        write!(
            out,
            "HTTP/1.1 {} {}\r\n",
            reply.status,
            reason(reply.status)
        )?;
        // A 204 has neither a body nor a length (RFC 9110 §8.6).
        if reply.status != 204 {
            write!(
                out,
                "Content-Type: {}\r\nContent-Length: {len}\r\n",
                reply.content_type
            )?;
        }
        write!(
            out,
            "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: {}\r\n",
            if keep { "keep-alive" } else { "close" },
        )?;
        match reply.status {
            405 => out.extend_from_slice(b"Allow: GET, HEAD\r\n"),
            503 => out.extend_from_slice(b"Retry-After: 5\r\n"),
            429 => out.extend_from_slice(
                format!("Retry-After: {}\r\n", GUESS_WINDOW.as_secs()).as_bytes(),
            ),
            _ => {}
        }
        for (name, value) in &reply.extra {
            // Only values this server chose or checked: no line breaks can get in.
            if !value.contains(['\r', '\n']) {
                write!(out, "{name}: {value}\r\n")?;
            }
        }
        out.extend_from_slice(b"\r\n");
        match reply.body {
            Body::Bytes(b) => {
                if !head_only {
                    out.extend_from_slice(&b);
                }
                self.write(&out).await
            }
            Body::File(mut t) => {
                self.write(&out).await?;
                if head_only {
                    return Ok(());
                }
                self.send_file(&mut t).await
            }
        }
    }

    /// Sends exactly the length announced; a file that shrank meanwhile ends the connection.
    async fn send_file(&mut self, t: &mut Transfer<'_>) -> io::Result<()> {
        let mut chunk = vec![0; FILE_CHUNK.min(usize::try_from(t.len).unwrap_or(FILE_CHUNK))];
        let mut left = t.len;
        while left > 0 {
            let want = chunk.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = t.file.read(&mut chunk[..want])?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file shrank while being sent",
                ));
            }
            self.write(&chunk[..n]).await?;
            left -= n as u64;
            // A fast reader keeps the socket writable, so the writes above never wait: let
            // the other connections (and the daemon) run between two pieces.
            future::yield_now().await;
        }
        Ok(())
    }

    /// Closes our side, then reads and drops what the peer still sends, briefly, so that it
    /// gets our reply instead of a reset.
    async fn linger(&mut self) {
        let _ = self.stream.get_ref().shutdown(Shutdown::Write);
        let now = Instant::now();
        self.wait.set(Wait::Closing(now));
        let deadline = (now + LINGER_TIME).min(self.end);
        if self.buf.is_empty() {
            self.buf.resize(INITIAL_HEAD_BUF, 0);
        }
        let mut dropped = 0;
        while dropped < LINGER_BYTES {
            match before(deadline, self.stream.read(&mut self.buf)).await {
                Ok(0) | Err(_) => break,
                Ok(n) => dropped += n,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(buf: &[u8]) -> Request {
        match parse_request(buf) {
            Ok(Status::Complete(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keep_alive_follows_the_version_and_every_connection_header() {
        assert!(!parsed(b"GET / HTTP/1.1\r\n\r\n").close);
        assert!(parsed(b"GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").close);
        assert!(parsed(b"GET / HTTP/1.1\r\nConnection: x\r\nConnection: te, close\r\n\r\n").close);
        assert!(parsed(b"GET / HTTP/1.0\r\n\r\n").close);
        assert!(!parsed(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").close);
    }

    #[test]
    fn methods_routes_and_bodies_are_read_from_the_head() {
        let r = parsed(b"HEAD /status HTTP/1.1\r\nHost: a\r\n\r\nGET");
        assert_eq!(
            (r.method, &r.route, r.body, r.len),
            (Method::Head, &Route::Status, false, 34)
        );
        let r = parsed(b"POST /now HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
        assert_eq!((r.method, r.body), (Method::Other, true));
        assert!(!parsed(b"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").body);
        assert!(parsed(b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").body);
        assert!(matches!(
            parse_request(b"GET / HTTP/1.1\r\n"),
            Ok(Status::Partial)
        ));
        assert!(matches!(
            parse_request(
                b"GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
            ),
            Err(parse::Error::ConflictingLength)
        ));
    }

    #[test]
    fn eviction_takes_closing_then_oldest_unproven_then_oldest_served_never_busy() {
        let t = Instant::now();
        let later = t + Duration::from_secs(1);
        let mut order = vec![
            Wait::Busy,
            Wait::Served(t),
            Wait::Unproven(later),
            Wait::Served(later),
            Wait::Closing(later),
            Wait::Unproven(t),
        ];
        order.sort();
        assert_eq!(
            order,
            [
                Wait::Closing(later),
                Wait::Unproven(t),
                Wait::Unproven(later),
                Wait::Served(t),
                Wait::Served(later),
                Wait::Busy
            ]
        );
    }

    #[test]
    fn served_connections_are_safe_from_eviction_for_a_grace_time_busy_ones_always() {
        let t = Instant::now();
        assert!(evictable(Wait::Unproven(t), t));
        assert!(evictable(Wait::Closing(t), t));
        assert!(!evictable(Wait::Served(t), t + SERVED_GRACE / 2));
        assert!(evictable(Wait::Served(t), t + SERVED_GRACE));
        assert!(!evictable(Wait::Busy, t + SERVED_GRACE * 100));
    }

    #[test]
    fn refused_heads_get_431_414_or_400() {
        assert_eq!(parse_error_status(parse::Error::TooManyHeaders), 431);
        assert_eq!(parse_error_status(parse::Error::HeadTooLarge), 431);
        assert_eq!(parse_error_status(parse::Error::TargetTooLong), 414);
        assert_eq!(parse_error_status(parse::Error::BadRequestLine), 400);
    }
}
