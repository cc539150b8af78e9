//! The HTTP/1.1 client: one connection per request (`Connection: close`, which is all the
//! servers' one-request contacts need), a proxy when configured, Basic authentication when
//! the server asks for it, and a bound on every wait and every byte received.
//!
//! It runs on the caller's smol executor; its only thread is async-io's reactor. Host names are
//! resolved with the system resolver, which blocks the executor thread meanwhile (getaddrinfo
//! has no asynchronous form short of a thread).

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use async_io::{Async, Timer};
use smol::io::{AsyncReadExt, AsyncWriteExt};

use super::base64;
use super::parse::{self, BodyLength, ChunkedDecoder, Header, Status, MAX_HEADERS, MAX_HEAD_BYTES};
use super::url::{no_proxy_matches, split_no_proxy, Scheme, Url, UrlError};

/// Default for connecting, for each read or write, and for a whole request (the agents' 180 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(180);
/// Default largest reply body: server replies are small; a larger one is a broken server.
pub const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;
/// Interim (1xx) replies skipped before the real one.
const MAX_INTERIM_REPLIES: usize = 8;
/// Pieces in which a request body is written, each with its own write timeout.
const WRITE_PIECE: usize = 16 * 1024;

/// Which proxies to use. Values are URLs, or `host:port` meaning `http://host:port`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxySettings {
    pub http: Option<String>,
    pub https: Option<String>,
    /// Hosts reached directly; see [`super::url::no_proxy_matches`].
    pub no_proxy: Vec<String>,
}

impl ProxySettings {
    /// The proxies of a run, as the Perl agents choose them: the `--proxy` option for both
    /// schemes when given (the environment is then ignored), else `http_proxy`, `https_proxy`
    /// (or `HTTPS_PROXY`) and `no_proxy` (or `NO_PROXY`) read through `env`. `HTTP_PROXY` is
    /// not read: under CGI it can be set by a client's `Proxy:` header ("httpoxy").
    pub fn from_env(proxy_option: Option<&str>, env: impl Fn(&str) -> Option<String>) -> Self {
        if let Some(p) = proxy_option.map(str::trim).filter(|p| !p.is_empty()) {
            return ProxySettings {
                http: Some(p.to_string()),
                https: Some(p.to_string()),
                no_proxy: Vec::new(),
            };
        }
        let get = |names: &[&str]| {
            names.iter().find_map(|n| {
                env(n)
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
            })
        };
        ProxySettings {
            http: get(&["http_proxy"]),
            https: get(&["https_proxy", "HTTPS_PROXY"]),
            no_proxy: get(&["no_proxy", "NO_PROXY"])
                .map(|v| split_no_proxy(&v))
                .unwrap_or_default(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Bound on connecting, on each read and write, and on each exchange as a whole (the
    /// retry after a 401 is a second exchange with its own bound).
    pub timeout: Duration,
    pub proxy: ProxySettings,
    /// Basic credentials, sent only after the server answers 401 with a Basic challenge.
    pub user: Option<String>,
    pub password: Option<String>,
    pub user_agent: String,
    #[cfg(feature = "tls")]
    pub tls: super::tls::TlsOptions,
    /// Largest reply body accepted.
    pub max_body: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: DEFAULT_TIMEOUT,
            proxy: ProxySettings::default(),
            user: None,
            password: None,
            user_agent: concat!("uagent/", env!("CARGO_PKG_VERSION")).to_string(),
            #[cfg(feature = "tls")]
            tls: Default::default(),
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

/// A complete reply. Statuses other than 401 and 407 are the caller's to judge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    /// In the order received; values decoded lossily as UTF-8.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// First header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The receiver of a body streamed by [`Client::download`]: nothing of it is held in memory
/// but the piece being handed over.
pub trait Download {
    /// The reply's status and headers; `Ok(false)` leaves the body unread (an error status,
    /// a redirect), an error stops the download with [`HttpError::Aborted`].
    fn head(&mut self, status: u16, headers: &[(String, String)]) -> Result<bool, String>;
    /// The next piece of the body.
    fn data(&mut self, data: &[u8]) -> Result<(), String>;
}

/// Where an exchange puts the reply body.
enum BodyTo<'s> {
    Memory,
    Stream(&'s mut dyn Download),
}

/// What the client was doing when something failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Connect,
    ProxyConnect,
    TlsHandshake,
    Send,
    Head,
    Body,
}

impl Phase {
    fn waiting(self) -> &'static str {
        match self {
            Phase::Connect => "connecting to",
            Phase::ProxyConnect => "waiting for a tunnel from proxy",
            Phase::TlsHandshake => "in the TLS handshake with",
            Phase::Send => "sending the request to",
            Phase::Head => "waiting for the reply from",
            Phase::Body => "reading the reply body from",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpError {
    Url(UrlError),
    /// An https URL in a build without the `tls` feature.
    TlsUnsupported(String),
    /// Options that cannot work: a bad proxy URL, CA file, fingerprint or header.
    Config(String),
    Resolve {
        host: String,
        reason: String,
    },
    Io {
        phase: Phase,
        peer: String,
        reason: String,
    },
    Timeout {
        phase: Phase,
        peer: String,
        after: Duration,
    },
    Closed {
        phase: Phase,
        peer: String,
    },
    /// The peer broke HTTP (a parse error, or a CONNECT reply followed by data).
    Protocol {
        peer: String,
        what: String,
    },
    BodyTooLarge {
        peer: String,
        limit: usize,
        announced: Option<u64>,
    },
    /// 401 after the retry with credentials, or with none to retry with.
    Unauthorized {
        server: String,
        realm: Option<String>,
        sent_credentials: bool,
    },
    /// 407 from the proxy.
    ProxyAuth {
        proxy: String,
        sent_credentials: bool,
    },
    ProxyRefused {
        proxy: String,
        status: u16,
        reason: String,
    },
    Tls {
        host: String,
        message: String,
    },
    /// The receiver of a streamed body stopped it (see [`Download`]).
    Aborted(String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use HttpError::*;
        match self {
            Url(e) => write!(f, "{e}"),
            TlsUnsupported(url) => write!(
                f,
                "cannot reach {url}: this uagent was built without TLS (the `tls` feature)"
            ),
            Config(msg) => f.write_str(msg),
            Resolve { host, reason } => write!(f, "cannot resolve {host}: {reason}"),
            Io {
                phase,
                peer,
                reason,
            } => match phase {
                Phase::Connect => write!(f, "cannot connect to {peer}: {reason}"),
                Phase::ProxyConnect => write!(f, "error talking to proxy {peer}: {reason}"),
                Phase::TlsHandshake => write!(f, "TLS handshake with {peer} failed: {reason}"),
                Phase::Send => write!(f, "error sending the request to {peer}: {reason}"),
                Phase::Head | Phase::Body => {
                    write!(f, "error reading the reply from {peer}: {reason}")
                }
            },
            Timeout { phase, peer, after } => {
                let secs = after.as_secs_f64();
                if after.subsec_millis() == 0 {
                    write!(f, "timed out after {secs:.0} s {} {peer}", phase.waiting())
                } else {
                    write!(f, "timed out after {secs:.1} s {} {peer}", phase.waiting())
                }
            }
            Closed { phase, peer } => match phase {
                Phase::Body => write!(
                    f,
                    "{peer} closed the connection before the end of the reply body"
                ),
                Phase::Send => write!(f, "{peer} closed the connection during the request"),
                _ => write!(f, "{peer} closed the connection without a complete reply"),
            },
            Protocol { peer, what } => write!(f, "{peer} sent a bad reply: {what}"),
            BodyTooLarge {
                peer,
                limit,
                announced,
            } => {
                write!(
                    f,
                    "{peer} sent a reply body larger than the {limit}-byte limit"
                )?;
                match announced {
                    Some(n) => write!(f, " (Content-Length {n})"),
                    None => Ok(()),
                }
            }
            Unauthorized {
                server,
                realm,
                sent_credentials,
            } => {
                let realm = realm
                    .as_deref()
                    .map(|r| format!(" (realm \"{r}\")"))
                    .unwrap_or_default();
                if *sent_credentials {
                    write!(f, "{server} refused the user and password given{realm}")
                } else {
                    write!(
                        f,
                        "{server} requires authentication{realm}: give --user and --password"
                    )
                }
            }
            ProxyAuth {
                proxy,
                sent_credentials,
            } => {
                if *sent_credentials {
                    write!(
                        f,
                        "proxy {proxy} refused the credentials of the proxy URL (407)"
                    )
                } else {
                    write!(
                        f,
                        "proxy {proxy} requires authentication (407): give it as http://user:password@{proxy}"
                    )
                }
            }
            ProxyRefused {
                proxy,
                status,
                reason,
            } => write!(f, "proxy {proxy} refused the tunnel: {status} {reason}"),
            Tls { message, .. } => write!(f, "TLS: {message}"),
            Aborted(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for HttpError {}

impl From<UrlError> for HttpError {
    fn from(e: UrlError) -> Self {
        HttpError::Url(e)
    }
}

pub struct Client {
    opts: ClientOptions,
    http_proxy: Option<Url>,
    https_proxy: Option<Url>,
    #[cfg(feature = "tls")]
    tls: std::sync::Arc<rustls::ClientConfig>,
    /// `host:port` of the server that asked for Basic credentials: later requests to it send
    /// them at once instead of being refused first (and sending their body twice).
    basic_for: RefCell<Option<String>>,
}

impl Client {
    /// Checks the options and, with TLS, loads the certificates once for every request.
    pub fn new(opts: ClientOptions) -> Result<Client, HttpError> {
        check_field("User-Agent", &opts.user_agent)?;
        let proxy = |p: &Option<String>| -> Result<Option<Url>, HttpError> {
            let Some(p) = p else { return Ok(None) };
            let url =
                Url::parse_default_http(p).map_err(|e| HttpError::Config(format!("proxy: {e}")))?;
            if url.scheme == Scheme::Https {
                return Err(HttpError::Config(format!(
                    "proxy {}: only http:// proxies are supported",
                    url.authority()
                )));
            }
            Ok(Some(url))
        };
        Ok(Client {
            http_proxy: proxy(&opts.proxy.http)?,
            https_proxy: proxy(&opts.proxy.https)?,
            #[cfg(feature = "tls")]
            tls: super::tls::client_config(&opts.tls).map_err(HttpError::Config)?,
            basic_for: RefCell::new(None),
            opts,
        })
    }

    pub async fn post(
        &self,
        url: &Url,
        content_type: &str,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> Result<Response, HttpError> {
        self.request("POST", url, headers, Some((content_type, body)))
            .await
    }

    pub async fn get(&self, url: &Url, headers: &[(&str, &str)]) -> Result<Response, HttpError> {
        self.request("GET", url, headers, None).await
    }

    /// Sends one request and reads the whole reply. A 401 with a Basic challenge is retried
    /// once with the credentials; a 401 left after that and a proxy's 407 are errors.
    pub async fn request(
        &self,
        method: &str,
        url: &Url,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) -> Result<Response, HttpError> {
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(HttpError::Config(format!("bad HTTP method \"{method}\"")));
        }
        for (name, value) in headers {
            check_field(name, value)?;
        }
        if let Some((content_type, _)) = body {
            check_field("Content-Type", content_type)?;
        }
        if url.scheme == Scheme::Https && cfg!(not(feature = "tls")) {
            return Err(HttpError::TlsUnsupported(url.to_string()));
        }
        let server = url.authority();
        // A caller that authenticates itself (an OAuth2 bearer token) is not given Basic too.
        let own_auth = headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("authorization"));
        let credentials = self.credentials(url).filter(|_| !own_auth);
        let mut send_auth =
            credentials.is_some() && self.basic_for.borrow().as_deref() == Some(server.as_str());
        loop {
            let auth = credentials.as_deref().filter(|_| send_auth);
            let resp = self
                .exchange(
                    method,
                    url,
                    headers,
                    body,
                    auth,
                    self.opts.timeout,
                    BodyTo::Memory,
                )
                .await?;
            if resp.status == 407 {
                // From a server that is itself a proxy when none is configured.
                let proxy = self
                    .proxy_for(url)
                    .map_or_else(|| server.clone(), Url::authority);
                return Err(HttpError::ProxyAuth {
                    sent_credentials: self.proxy_for(url).is_some_and(|p| p.user.is_some()),
                    proxy,
                });
            }
            if resp.status != 401 {
                return Ok(resp);
            }
            let (basic, realm) = basic_challenge(&resp);
            if basic && !send_auth && credentials.is_some() {
                send_auth = true;
                *self.basic_for.borrow_mut() = Some(server.clone());
                continue;
            }
            return Err(HttpError::Unauthorized {
                server,
                realm,
                sent_credentials: send_auth,
            });
        }
    }

    /// GETs `url` and streams the reply to `to` (no credentials are sent, no redirect is
    /// followed). Each connect, read and write is bounded by the client's timeout, and the whole
    /// exchange by `total`. The returned response has an empty body.
    pub async fn download(
        &self,
        url: &Url,
        headers: &[(&str, &str)],
        total: Duration,
        to: &mut dyn Download,
    ) -> Result<Response, HttpError> {
        for (name, value) in headers {
            check_field(name, value)?;
        }
        if url.scheme == Scheme::Https && cfg!(not(feature = "tls")) {
            return Err(HttpError::TlsUnsupported(url.to_string()));
        }
        let total = total.max(self.opts.timeout);
        let resp = self
            .exchange("GET", url, headers, None, None, total, BodyTo::Stream(to))
            .await?;
        if resp.status == 407 {
            let proxy = self
                .proxy_for(url)
                .map_or_else(|| url.authority(), Url::authority);
            return Err(HttpError::ProxyAuth {
                sent_credentials: self.proxy_for(url).is_some_and(|p| p.user.is_some()),
                proxy,
            });
        }
        Ok(resp)
    }

    /// `user:password` from the options, else from the URL.
    fn credentials(&self, url: &Url) -> Option<String> {
        let (user, password) = match &self.opts.user {
            Some(u) => (u, &self.opts.password),
            None => (url.user.as_ref()?, &url.password),
        };
        Some(format!("{user}:{}", password.as_deref().unwrap_or("")))
    }

    fn proxy_for(&self, url: &Url) -> Option<&Url> {
        let proxy = match url.scheme {
            Scheme::Http => self.http_proxy.as_ref(),
            Scheme::Https => self.https_proxy.as_ref(),
        }?;
        (!no_proxy_matches(&self.opts.proxy.no_proxy, &url.host)).then_some(proxy)
    }

    /// One connection, one request, one reply (the body in memory, or streamed).
    #[allow(clippy::too_many_arguments)]
    async fn exchange(
        &self,
        method: &str,
        url: &Url,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
        auth: Option<&str>,
        total: Duration,
        body_to: BodyTo<'_>,
    ) -> Result<Response, HttpError> {
        let deadline = Deadline {
            step: self.opts.timeout,
            total,
            end: Instant::now() + total,
        };
        let proxy = self.proxy_for(url);
        let hop = proxy.unwrap_or(url);
        let tcp = connect(&hop.host, hop.port, &hop.authority(), &deadline).await?;
        let mut conn = Conn {
            stream: Stream::Plain(tcp),
            buf: vec![0; MAX_HEAD_BYTES],
            start: 0,
            end: 0,
            peer: hop.authority(),
            deadline: &deadline,
        };
        #[cfg(feature = "tls")]
        if url.scheme == Scheme::Https {
            if let Some(proxy) = proxy {
                conn.tunnel(url, proxy, &self.opts.user_agent).await?;
            }
            conn = conn.start_tls(self.tls.clone(), url).await?;
        }
        // Plain http through a proxy: absolute-form target, credentials from the proxy URL.
        let via_proxy = proxy.filter(|_| url.scheme == Scheme::Http);
        let target = match via_proxy {
            Some(_) => url.to_string(),
            None => url.target(),
        };
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\nConnection: close\r\n",
            url.host_header(),
            self.opts.user_agent
        );
        if let Some(p) = via_proxy.and_then(proxy_authorization) {
            head.push_str(&p);
        }
        if let Some(credentials) = auth {
            head.push_str(&format!(
                "Authorization: Basic {}\r\n",
                base64(credentials.as_bytes())
            ));
        }
        if let Some((content_type, data)) = body {
            head.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                data.len()
            ));
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        conn.send(head.as_bytes(), body.map_or(&[][..], |(_, b)| b))
            .await?;
        let reply = conn.read_head(Phase::Head, method == "HEAD").await?;
        let body = match body_to {
            BodyTo::Memory => {
                let mut body = Vec::new();
                conn.read_body(reply.framing, self.opts.max_body, &mut |d| {
                    body.extend_from_slice(d);
                    Ok(())
                })
                .await?;
                body
            }
            BodyTo::Stream(to) => {
                let wanted = to
                    .head(reply.status, &reply.headers)
                    .map_err(HttpError::Aborted)?;
                if wanted {
                    conn.read_body(reply.framing, usize::MAX, &mut |d| to.data(d))
                        .await?;
                }
                Vec::new()
            }
        };
        Ok(Response {
            status: reply.status,
            reason: reply.reason,
            headers: reply.headers,
            body,
        })
    }
}

/// `Proxy-Authorization` from the userinfo of the proxy URL.
fn proxy_authorization(proxy: &Url) -> Option<String> {
    let user = proxy.user.as_deref()?;
    let credentials = format!("{user}:{}", proxy.password.as_deref().unwrap_or(""));
    Some(format!(
        "Proxy-Authorization: Basic {}\r\n",
        base64(credentials.as_bytes())
    ))
}

/// Is there a Basic challenge among the WWW-Authenticate fields, and with which realm.
fn basic_challenge(resp: &Response) -> (bool, Option<String>) {
    let mut realm_of_any = None;
    for (_, value) in resp
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("www-authenticate"))
    {
        let realm = realm_param(value);
        let scheme = value.split_whitespace().next().unwrap_or("");
        if scheme.eq_ignore_ascii_case("basic") {
            return (true, realm);
        }
        realm_of_any = realm_of_any.or(realm);
    }
    (false, realm_of_any)
}

/// The `realm=` parameter of a challenge, quoted or not.
fn realm_param(challenge: &str) -> Option<String> {
    let lower = challenge.to_ascii_lowercase();
    let at = lower.find("realm=")? + "realm=".len();
    let rest = &challenge[at..];
    if let Some(quoted) = rest.strip_prefix('"') {
        let mut realm = String::new();
        let mut chars = quoted.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return Some(realm),
                '\\' => realm.extend(chars.next()),
                c => realm.push(c),
            }
        }
        Some(realm)
    } else {
        Some(rest.split([',', ' ']).next().unwrap_or("").to_string())
    }
}

/// A header we send: token name, no CR/LF/NUL in the value (header injection).
fn check_field(name: &str, value: &str) -> Result<(), HttpError> {
    let token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token || value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(HttpError::Config(format!(
            "header \"{name}\" has a forbidden character"
        )));
    }
    Ok(())
}

/// The bounds of one exchange: `step` for each connect, read and write, `total` for all.
struct Deadline {
    step: Duration,
    total: Duration,
    end: Instant,
}

impl Deadline {
    async fn run<T>(
        &self,
        phase: Phase,
        peer: &str,
        fut: impl Future<Output = io::Result<T>>,
    ) -> Result<T, HttpError> {
        let left = self.end.saturating_duration_since(Instant::now());
        let (wait, reported) = if left < self.step {
            (left, self.total)
        } else {
            (self.step, self.step)
        };
        let expired = async {
            Timer::after(wait).await;
            Err(None)
        };
        match smol::future::or(async { fut.await.map_err(Some) }, expired).await {
            Ok(v) => Ok(v),
            Err(None) => Err(HttpError::Timeout {
                phase,
                peer: peer.to_string(),
                after: reported,
            }),
            Err(Some(e)) => Err(io_error(phase, peer, e)),
        }
    }
}

fn io_error(phase: Phase, peer: &str, e: io::Error) -> HttpError {
    #[cfg(feature = "tls")]
    if let Some(tls) = super::tls::as_tls_error(&e) {
        let host = peer.rsplit_once(':').map_or(peer, |(h, _)| h);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        return HttpError::Tls {
            host: host.to_string(),
            message: super::tls::error_message(host, tls),
        };
    }
    let reason = match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        io::ErrorKind::ConnectionReset => "connection reset by peer".to_string(),
        io::ErrorKind::ConnectionAborted => "connection aborted".to_string(),
        io::ErrorKind::BrokenPipe => "connection closed by the peer".to_string(),
        io::ErrorKind::HostUnreachable => "host unreachable".to_string(),
        io::ErrorKind::NetworkUnreachable => "network unreachable".to_string(),
        _ => e.to_string(),
    };
    HttpError::Io {
        phase,
        peer: peer.to_string(),
        reason,
    }
}

/// Resolves `host` and connects to the first address that answers.
async fn connect(
    host: &str,
    port: u16,
    peer: &str,
    deadline: &Deadline,
) -> Result<Async<TcpStream>, HttpError> {
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => (host, port)
            .to_socket_addrs()
            .map_err(|e| HttpError::Resolve {
                host: host.to_string(),
                reason: e.to_string(),
            })?
            .collect(),
    };
    let mut last = HttpError::Resolve {
        host: host.to_string(),
        reason: "no address".to_string(),
    };
    for addr in addrs {
        match deadline
            .run(Phase::Connect, peer, Async::<TcpStream>::connect(addr))
            .await
        {
            Ok(s) => {
                // The head and body go in one write; no reason to wait for more.
                let _ = s.get_ref().set_nodelay(true);
                return Ok(s);
            }
            Err(e @ HttpError::Timeout { .. }) => return Err(e),
            Err(e) => last = e,
        }
    }
    Err(last)
}

enum Stream {
    Plain(Async<TcpStream>),
    #[cfg(feature = "tls")]
    Tls(Box<super::tls::TlsStream>),
}

impl Stream {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf).await,
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.read(buf).await,
        }
    }

    async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Stream::Plain(s) => {
                s.write_all(data).await?;
                s.flush().await
            }
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.write_all(data).await,
        }
    }
}

/// A reply head, owned.
struct Head {
    status: u16,
    reason: String,
    headers: Vec<(String, String)>,
    framing: BodyLength,
}

/// A connection with its receive buffer: `buf[start..end]` is received and not yet used.
/// The buffer is MAX_HEAD_BYTES long, so a head that does not fit is too long by definition.
struct Conn<'d> {
    stream: Stream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    peer: String,
    deadline: &'d Deadline,
}

impl Conn<'_> {
    async fn send(&mut self, head: &[u8], body: &[u8]) -> Result<(), HttpError> {
        let mut first = head.to_vec();
        let n = body.len().min(WRITE_PIECE.saturating_sub(head.len()));
        first.extend_from_slice(&body[..n]);
        let pieces = std::iter::once(&first[..]).chain(body[n..].chunks(WRITE_PIECE));
        for piece in pieces {
            self.deadline
                .run(Phase::Send, &self.peer, self.stream.write_all(piece))
                .await?;
        }
        Ok(())
    }

    /// Reads more into the buffer (compacting it first); false at the end of the stream.
    async fn fill(&mut self, phase: Phase) -> Result<bool, HttpError> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let n = self
            .deadline
            .run(
                phase,
                &self.peer,
                self.stream.read(&mut self.buf[self.end..]),
            )
            .await?;
        self.end += n;
        Ok(n > 0)
    }

    fn protocol(&self, what: impl fmt::Display) -> HttpError {
        HttpError::Protocol {
            peer: self.peer.clone(),
            what: what.to_string(),
        }
    }

    /// The next final reply head, skipping interim (1xx) ones.
    async fn read_head(&mut self, phase: Phase, head_request: bool) -> Result<Head, HttpError> {
        let mut interim = 0;
        loop {
            match parse_head(&self.buf[self.start..self.end], head_request) {
                Err(e) => return Err(self.protocol(e)),
                Ok(Some((head, len))) => {
                    self.start += len;
                    if head.status >= 200 {
                        return Ok(head);
                    }
                    interim += 1;
                    if interim > MAX_INTERIM_REPLIES {
                        return Err(self.protocol(format!(
                            "more than {MAX_INTERIM_REPLIES} interim (1xx) replies"
                        )));
                    }
                }
                Ok(None) => {
                    if !self.fill(phase).await? {
                        return Err(HttpError::Closed {
                            phase,
                            peer: self.peer.clone(),
                        });
                    }
                }
            }
        }
    }

    /// Reads the body as `framing` says, handing each piece to `sink` (at most `max` bytes).
    async fn read_body(
        &mut self,
        framing: BodyLength,
        max: usize,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), String>,
    ) -> Result<(), HttpError> {
        let peer = self.peer.clone();
        let too_large = |announced| HttpError::BodyTooLarge {
            peer: peer.clone(),
            limit: max,
            announced,
        };
        let closed = || HttpError::Closed {
            phase: Phase::Body,
            peer: peer.clone(),
        };
        let mut total: usize = 0;
        match framing {
            BodyLength::Empty => {}
            BodyLength::Length(n) => {
                if n > max as u64 {
                    return Err(too_large(Some(n)));
                }
                let mut left = n;
                while left > 0 {
                    if self.start == self.end && !self.fill(Phase::Body).await? {
                        return Err(closed());
                    }
                    let take = (left.min((self.end - self.start) as u64)) as usize;
                    sink(&self.buf[self.start..self.start + take]).map_err(HttpError::Aborted)?;
                    self.start += take;
                    left -= take as u64;
                }
            }
            BodyLength::Chunked => {
                let mut decoder = ChunkedDecoder::new();
                while !decoder.is_done() {
                    if self.start == self.end && !self.fill(Phase::Body).await? {
                        return Err(closed());
                    }
                    let (used, data) = decoder
                        .decode(&self.buf[self.start..self.end])
                        .map_err(|e| self.protocol(e))?;
                    total = total.saturating_add(data.len());
                    if total > max {
                        return Err(too_large(None));
                    }
                    sink(data).map_err(HttpError::Aborted)?;
                    self.start += used;
                }
            }
            BodyLength::UntilClose => loop {
                if self.start == self.end && !self.fill(Phase::Body).await? {
                    break;
                }
                total = total.saturating_add(self.end - self.start);
                if total > max {
                    return Err(too_large(None));
                }
                sink(&self.buf[self.start..self.end]).map_err(HttpError::Aborted)?;
                self.start = self.end;
            },
        }
        Ok(())
    }

    /// CONNECT through `proxy` to the host of `url`, leaving a byte pipe to it.
    #[cfg(feature = "tls")]
    async fn tunnel(&mut self, url: &Url, proxy: &Url, user_agent: &str) -> Result<(), HttpError> {
        let authority = url.authority();
        let mut head = format!(
            "CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: {user_agent}\r\n"
        );
        if let Some(p) = proxy_authorization(proxy) {
            head.push_str(&p);
        }
        head.push_str("\r\n");
        self.send(head.as_bytes(), &[]).await?;
        // A reply to CONNECT has no body when it succeeds; when it fails we do not read it.
        let reply = self.read_head(Phase::ProxyConnect, true).await?;
        match reply.status {
            200..=299 if self.start == self.end => Ok(()),
            200..=299 => Err(self.protocol("data before the TLS handshake")),
            407 => Err(HttpError::ProxyAuth {
                proxy: proxy.authority(),
                sent_credentials: proxy.user.is_some(),
            }),
            status => Err(HttpError::ProxyRefused {
                proxy: proxy.authority(),
                status,
                reason: reply.reason,
            }),
        }
    }

    #[cfg(feature = "tls")]
    async fn start_tls(
        self,
        config: std::sync::Arc<rustls::ClientConfig>,
        url: &Url,
    ) -> Result<Self, HttpError> {
        let Stream::Plain(tcp) = self.stream else {
            return Err(HttpError::Config("TLS inside TLS".to_string()));
        };
        let peer = url.authority();
        let tls = self
            .deadline
            .run(
                Phase::TlsHandshake,
                &peer,
                super::tls::TlsStream::connect(tcp, config, &url.host),
            )
            .await?;
        Ok(Conn {
            stream: Stream::Tls(Box::new(tls)),
            peer,
            ..self
        })
    }
}

/// Parses a reply head from `buf` into owned form, with the length it took.
fn parse_head(buf: &[u8], head_request: bool) -> Result<Option<(Head, usize)>, parse::Error> {
    let mut slots = [Header::EMPTY; MAX_HEADERS];
    let Status::Complete(h) = parse::parse_response_head(buf, &mut slots)? else {
        return Ok(None);
    };
    let fields = &slots[..h.header_count];
    let framing = parse::response_body_length(head_request, h.status, fields)?;
    let headers = fields
        .iter()
        .map(|f| {
            (
                f.name.to_string(),
                String::from_utf8_lossy(f.value).into_owned(),
            )
        })
        .collect();
    Ok(Some((
        Head {
            status: h.status,
            reason: h.reason.to_string(),
            headers,
            framing,
        },
        h.len,
    )))
}
