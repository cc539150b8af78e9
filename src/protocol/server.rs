//! One server's side of a run: the PROLOG (or GLPI's CONTACT) that says what to do, and the
//! POST of results. Errors are sorted the way the run needs them: the server could not be
//! reached (try again later, keep the inventory), or it answered with an error.

use std::time::Duration;

use super::compress::{decode_reply, zlib};
use super::error::from_http;
pub use super::error::CommError;
use super::messages::{self, Contact, InventoryReply, Prolog};
use super::oauth::OAuth;
use super::MAX_REPLY;
use crate::config::Connection;
use crate::http::{Client, ClientOptions, HttpError, ProxySettings, Response, Url};

/// Requests of one inventory while the server answers `pending` (the POST, then GETs), as
/// the GLPI agent counts them.
pub const MAX_PENDING_TRIES: u32 = 12;
/// Longest wait between two of them, whatever `expiration` says (a pass of the daemon must
/// end within its time limit).
pub const MAX_PENDING_WAIT: Duration = Duration::from_secs(120);
/// Wait when a pending reply gives no usable `expiration`.
const DEFAULT_PENDING_WAIT: Duration = Duration::from_secs(10);

/// The User-Agent presented to servers. A stock OCS server only admits PROLOGs from agents
/// named `OCS-NG_unified_unix_agent_v<d.d…>` with a version not above its own; it keeps the
/// first two digits of what follows `_v`, so this passes as 2.1 and still names uagent.
pub fn user_agent() -> String {
    format!(
        "OCS-NG_unified_unix_agent_v2.10-uagent-{}",
        env!("CARGO_PKG_VERSION")
    )
}

/// Largest body sent uncompressed (`--no-compression`).
const MAX_PLAIN_BODY: usize = 64 * 1024 * 1024;

/// The type of a plain body (`--no-compression`).
fn plain_type(body: &[u8]) -> &'static str {
    if messages::looks_like_json(body) {
        "application/json"
    } else {
        "application/xml"
    }
}

/// Body type of every request: zlib, which the OCS server (that ignores the header) and GLPI
/// (that reads it) both understand under this name.
pub const CONTENT_TYPE_ZLIB: &str = "application/x-compress-zlib";

/// The HTTP client's options from the connection settings (TLS, proxy, credentials).
pub fn client_options(s: &Connection, user_agent: String) -> ClientOptions {
    #[cfg_attr(not(feature = "tls"), allow(unused_mut))]
    let mut o = ClientOptions {
        timeout: Duration::from_secs(s.timeout),
        proxy: ProxySettings::from_env(s.proxy.as_deref(), |k| std::env::var(k).ok()),
        user: s.user.clone(),
        password: s.password.clone(),
        user_agent,
        ..ClientOptions::default()
    };
    #[cfg(feature = "tls")]
    {
        use std::path::PathBuf;
        o.tls.ca_cert_file = s.ca_cert_file.as_ref().map(PathBuf::from);
        o.tls.ca_cert_dir = s.ca_cert_dir.as_ref().map(PathBuf::from);
        o.tls.no_ssl_check = s.no_ssl_check;
        o.tls.ssl_fingerprint = s.ssl_fingerprint.clone();
        o.tls.ssl_cert_file = s.ssl_cert_file.as_ref().map(PathBuf::from);
    }
    if s.no_ssl_check {
        log::warn!("--no-ssl-check: server certificates are NOT verified; anyone between this agent and its servers can read and change what is sent");
    }
    o
}

/// A server URL as the reference agents complete it: a bare host gets `http://` and the
/// `/ocsinventory` path.
pub fn server_url(s: &str) -> Result<Url, String> {
    let s = s.trim();
    let full = if s.contains("://") {
        s.to_string()
    } else {
        format!("http://{s}")
    };
    let mut url = Url::parse(&full).map_err(|e| {
        format!(
            "server {}: {e}",
            crate::core::redact::url_without_userinfo(s)
        )
    })?;
    if (url.path.is_empty() || url.path == "/") && !s.contains("://") {
        url.path = "/ocsinventory".to_string();
    }
    Ok(url)
}

/// What a PROLOG got back: the XML protocol's answer, or GLPI's JSON one.
#[derive(Debug)]
pub enum PrologAnswer {
    Xml(Prolog),
    Glpi(Contact),
}

pub struct Server<'a> {
    pub client: &'a Client,
    pub url: Url,
    pub deviceid: &'a str,
    pub agentid: &'a str,
    /// Bodies go zlib-compressed, as every server reads them; `--no-compression` sends them
    /// plain (`application/xml` or `application/json`), as the Perl agents' `-C` does.
    pub compress: bool,
    /// OAuth2 client credentials (GLPI 11), when configured.
    pub oauth: Option<&'a OAuth>,
    /// Send the token with the first try (a known GLPI server); otherwise only once the
    /// server asks for it with a 401 (a server of unknown kind, which may be an OCS server
    /// that has no token endpoint).
    pub token_first: bool,
}

/// A decoded 2xx reply and the headers that came with it.
struct Reply {
    body: Vec<u8>,
    headers: Vec<(String, String)>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A `GLPI-Request-ID`: eight upper-case hex digits.
fn is_request_id(s: &str) -> bool {
    s.len() == 8
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

/// A new request id for an inventory.
pub fn request_id() -> String {
    format!("{:08X}", crate::core::random::u64() as u32)
}

/// The wait a `pending` reply asks for, within `1 s..=MAX_PENDING_WAIT`.
pub fn pending_wait(expiration_secs: Option<u64>) -> Duration {
    expiration_secs
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_PENDING_WAIT)
        .clamp(Duration::from_secs(1), MAX_PENDING_WAIT)
}

impl Server<'_> {
    async fn post(
        &self,
        what: &str,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> Result<Vec<u8>, CommError> {
        Ok(self.exchange(what, Some(&zlib(body)), headers).await?.body)
    }

    /// POSTs an already compressed body (GETs with `None`) and returns the decoded reply of a
    /// 2xx answer. With OAuth2, the token goes along (see `token_first`), and a 401 gets one
    /// new token and one more try.
    async fn exchange(
        &self,
        what: &str,
        compressed: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, CommError> {
        let mut retried = false;
        let mut use_token = self.token_first;
        // `--no-compression`: the body goes plain, as the Perl agents' `-C` sends it.
        let plain = match compressed {
            Some(c) if !self.compress => {
                Some(decode_reply(c, MAX_PLAIN_BODY).map_err(|e| {
                    CommError::Refused(format!("cannot uncompress the {what}: {e}"))
                })?)
            }
            _ => None,
        };
        loop {
            let bearer = match self.oauth {
                Some(o) if use_token => Some(o.authorization(self.client, &self.url).await?),
                _ => None,
            };
            let mut all = vec![("Pragma", "no-cache")];
            all.extend_from_slice(headers);
            if let Some(b) = &bearer {
                all.push(("Authorization", b));
            }
            let (method, body) = match (compressed, plain.as_deref()) {
                (Some(_), Some(p)) => ("POST", Some((plain_type(p), p))),
                (Some(body), None) => ("POST", Some((CONTENT_TYPE_ZLIB, body))),
                (None, _) => ("GET", None),
            };
            let sent = self.client.request(method, &self.url, &all, body).await;
            let resp: Response = match (sent, self.oauth) {
                (Err(HttpError::Unauthorized { .. }), Some(_)) if !use_token => {
                    log::debug!("{}: asks for authentication: an OAuth2 token", self.url);
                    use_token = true;
                    continue;
                }
                (Err(HttpError::Unauthorized { .. }), Some(o)) if !retried => {
                    log::info!(
                        "{}: the OAuth2 token was refused (401): getting a new one",
                        self.url
                    );
                    o.forget();
                    retried = true;
                    continue;
                }
                (Err(HttpError::Unauthorized { .. }), Some(_)) => {
                    return Err(CommError::Refused(format!(
                        "{} refused the {what} with a new OAuth2 token too (401)",
                        self.url
                    )))
                }
                (r, _) => r.map_err(from_http)?,
            };
            return self.judge(what, resp);
        }
    }

    fn judge(&self, what: &str, resp: Response) -> Result<Reply, CommError> {
        let decoded = decode_reply(&resp.body, MAX_REPLY).map_err(|e| {
            CommError::Refused(format!(
                "{} answered the {what} with a bad body: {e}",
                self.url
            ))
        })?;
        if !(200..300).contains(&resp.status) {
            let detail = if messages::looks_like_json(&decoded) {
                crate::protocol::json::parse(&decoded)
                    .map(|j| format!(": {}", messages::glpi_error_message(&j)))
                    .unwrap_or_default()
            } else {
                String::new()
            };
            return Err(CommError::Refused(format!(
                "{} answered the {what} with HTTP {} {}{detail}",
                self.url, resp.status, resp.reason
            )));
        }
        Ok(Reply {
            body: decoded,
            headers: resp.headers,
        })
    }

    /// PROLOG; with `announce_glpi`, the GLPI-Agent-ID header lets a GLPI server answer in JSON.
    pub async fn prolog(&self, announce_glpi: bool) -> Result<PrologAnswer, CommError> {
        let headers: Vec<(&str, &str)> = if announce_glpi {
            vec![("GLPI-Agent-ID", self.agentid)]
        } else {
            Vec::new()
        };
        let body = self
            .post("PROLOG", &messages::prolog_request(self.deviceid), &headers)
            .await?;
        if messages::looks_like_json(&body) {
            return messages::parse_contact(&body)
                .map(PrologAnswer::Glpi)
                .map_err(|e| {
                    CommError::Refused(format!(
                        "{} answered the PROLOG with bad JSON: {e}",
                        self.url
                    ))
                });
        }
        messages::parse_prolog(&body)
            .map(PrologAnswer::Xml)
            .map_err(|e| {
                CommError::Refused(format!(
                    "{} answered the PROLOG with a bad reply: {e}",
                    self.url
                ))
            })
    }

    /// GLPI's CONTACT.
    pub async fn contact(
        &self,
        tag: Option<&str>,
        installed: &[&str],
        enabled: &[&str],
        httpd_port: Option<u16>,
    ) -> Result<Contact, CommError> {
        let req = messages::contact_request(self.deviceid, tag, installed, enabled, httpd_port);
        let body = self
            .post("CONTACT", &req, &[("GLPI-Agent-ID", self.agentid)])
            .await?;
        messages::parse_contact(&body).map_err(|e| {
            CommError::Refused(format!(
                "{} answered the CONTACT with a bad reply: {e}",
                self.url
            ))
        })
    }

    /// Sends one task message (an XML document such as a NETDISCOVERY one); the decoded reply.
    pub async fn send_message(&self, what: &str, body: &[u8]) -> Result<Vec<u8>, CommError> {
        self.post(what, body, &[]).await
    }

    /// Reports the result of an OCS package (QUERY DOWNLOAD); the server answers 200 with an
    /// empty body, whatever it made of it.
    pub async fn send_download_result(&self, id: &str, code: &str) -> Result<(), CommError> {
        let req = messages::download_result_request(self.deviceid, id, code);
        self.post("DOWNLOAD result", &req, &[]).await.map(|_| ())
    }

    /// Sends an inventory already zlib-compressed (XML, or GLPI JSON with `json`). A GLPI
    /// `pending` answer is asked again as the GLPI agent does: a GET with the same
    /// `GLPI-Request-ID` after the `expiration` it gives (bounded by [`MAX_PENDING_WAIT`]),
    /// [`MAX_PENDING_TRIES`] requests at most; `on_pending` is told of each pending answer
    /// (the agent keeps the inventory in the spool meanwhile).
    pub async fn send_inventory(
        &self,
        compressed: &[u8],
        json: bool,
        on_pending: &mut dyn FnMut(u32, Duration),
    ) -> Result<InventoryReply, CommError> {
        let mut id = request_id();
        let mut tries = 1;
        let mut reply = if json {
            self.exchange(
                "inventory",
                Some(compressed),
                &[("GLPI-Agent-ID", self.agentid), ("GLPI-Request-ID", &id)],
            )
            .await?
        } else {
            self.exchange("inventory", Some(compressed), &[]).await?
        };
        loop {
            let parsed = messages::parse_inventory_reply(&reply.body).map_err(|e| {
                CommError::Refused(format!("{} refused the inventory: {e}", self.url))
            })?;
            let Some(pending) = parsed.pending else {
                return Ok(parsed);
            };
            if let Some(theirs) = reply.header("GLPI-Request-ID").filter(|v| is_request_id(v)) {
                id = theirs.to_string();
            }
            if tries >= MAX_PENDING_TRIES {
                return Err(CommError::Refused(format!(
                    "{} still answers pending after {MAX_PENDING_TRIES} tries (request {id})",
                    self.url
                )));
            }
            let wait = pending_wait(pending.expiration_secs);
            on_pending(tries, wait);
            async_io::Timer::after(wait).await;
            tries += 1;
            reply = self
                .exchange(
                    "inventory",
                    None,
                    &[("GLPI-Agent-ID", self.agentid), ("GLPI-Request-ID", &id)],
                )
                .await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_hosts_become_ocs_urls() {
        assert_eq!(server_url("ocs.example.org").unwrap().path, "/ocsinventory");
        assert_eq!(server_url("https://glpi.example.org/").unwrap().path, "/");
        assert_eq!(
            server_url("http://h/plugins/fusioninventory/")
                .unwrap()
                .path,
            "/plugins/fusioninventory/"
        );
        assert!(server_url("ftp://x").is_err());
    }
}
