//! OAuth2 client credentials, as GLPI 11 asks of agents: the client id and secret are posted
//! to the server's token endpoint (`<GLPI root>/api.php/token`, scope `inventory`), and the
//! token it gives goes with every request as `Authorization: Bearer …` until it expires, or
//! until the server refuses it (401), when a new one is fetched.
//!
//! The secret and the token live in this process's memory only: never in a file, a file
//! name, a command line or a log line (what a server says back is cleaned of the secret
//! before it is logged), and neither is in this type's `Debug`.

use std::cell::RefCell;
use std::fmt;
use std::time::{Duration, Instant};

use super::error::{from_http, CommError};
use super::json::{self, Json};
use crate::core::markup::write_json_string;
use crate::http::{Client, HttpError, Url};

/// Token lifetime when the server gives none (the GLPI agent's default).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);
/// Longest lifetime believed: a server that says a year still gets asked again daily.
pub const MAX_LIFETIME: Duration = Duration::from_secs(86_400);
/// A token this close to its end is renewed rather than sent.
const MARGIN: Duration = Duration::from_secs(5);
/// Longest token accepted (GLPI's are JWTs of about a kilobyte).
pub const MAX_TOKEN: usize = 16 * 1024;

struct Token {
    value: String,
    until: Instant,
}

pub struct OAuth {
    client_id: String,
    secret: String,
    token: RefCell<Option<Token>>,
    /// Tokens fetched by this process (tests and logs count them).
    fetched: RefCell<u32>,
}

impl fmt::Debug for OAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OAuth(client {:?})", self.client_id)
    }
}

/// The token endpoint of a server URL: the GLPI root (the URL's path up to `/front/`,
/// `/plugins/` or `/marketplace/`, or its folder) followed by `api.php/token`.
pub fn token_url(server: &Url) -> Url {
    let path = server.target();
    let path = path.split('?').next().unwrap_or("/");
    let root = ["/front/", "/plugins/", "/marketplace/"]
        .iter()
        .filter_map(|m| path.find(m))
        .min()
        .map(|i| &path[..i])
        .unwrap_or_else(|| {
            // `…/inventory.php` names a file: its folder is the root.
            match path.rfind('/') {
                Some(i) if path[i + 1..].contains('.') => &path[..i],
                _ => path.trim_end_matches('/'),
            }
        });
    let mut url = server.clone();
    url.path = format!("{}/api.php/token", root.trim_end_matches('/'));
    url
}

impl OAuth {
    /// The credentials of the settings: none, or both the id and the secret.
    pub fn from_settings(c: &crate::config::Connection) -> Result<Option<OAuth>, String> {
        match (&c.oauth_client_id, &c.oauth_client_secret) {
            (Some(id), Some(secret)) => Ok(Some(OAuth::new(id, secret))),
            (None, None) => Ok(None),
            (Some(_), None) => Err("oauth-client-id is set but not oauth-client-secret".into()),
            (None, Some(_)) => Err("oauth-client-secret is set but not oauth-client-id".into()),
        }
    }

    pub fn new(client_id: &str, secret: &str) -> OAuth {
        OAuth {
            client_id: client_id.to_string(),
            secret: secret.to_string(),
            token: RefCell::new(None),
            fetched: RefCell::new(0),
        }
    }

    /// How many tokens this process fetched.
    pub fn fetched(&self) -> u32 {
        *self.fetched.borrow()
    }

    /// Drops the cached token (the server refused it).
    pub fn forget(&self) {
        *self.token.borrow_mut() = None;
    }

    /// `text` with the secret masked, for anything the server says back.
    fn clean(&self, text: &str) -> String {
        if self.secret.is_empty() {
            text.to_string()
        } else {
            text.replace(&self.secret, "********")
        }
    }

    fn request_body(&self) -> Vec<u8> {
        let mut out = b"{\"grant_type\":\"client_credentials\",\"client_id\":".to_vec();
        let _ = write_json_string(&mut out, &self.client_id);
        out.extend_from_slice(b",\"client_secret\":");
        let _ = write_json_string(&mut out, &self.secret);
        out.extend_from_slice(b",\"scope\":\"inventory\"}");
        out
    }

    /// The value of the Authorization header for `server`: the cached token while it is
    /// good, else a new one.
    pub async fn authorization(&self, client: &Client, server: &Url) -> Result<String, CommError> {
        if let Some(t) = self.token.borrow().as_ref() {
            if Instant::now() + MARGIN < t.until {
                return Ok(format!("Bearer {}", t.value));
            }
        }
        let (value, lifetime) = self.fetch(client, server).await?;
        let header = format!("Bearer {value}");
        *self.token.borrow_mut() = Some(Token {
            value,
            until: Instant::now() + lifetime,
        });
        *self.fetched.borrow_mut() += 1;
        log::debug!(
            "{server}: OAuth2 token obtained, valid {} s",
            lifetime.as_secs()
        );
        Ok(header)
    }

    async fn fetch(&self, client: &Client, server: &Url) -> Result<(String, Duration), CommError> {
        let url = token_url(server);
        let refused = |why: String| {
            CommError::Refused(format!(
                "{url} refused the OAuth2 client credentials ({why}): check oauth-client-id and oauth-client-secret"
            ))
        };
        let body = self.request_body();
        let resp = match client
            .request(
                "POST",
                &url,
                &[("Accept", "application/json")],
                Some(("application/json", &body)),
            )
            .await
        {
            Ok(r) => r,
            Err(HttpError::Unauthorized { .. }) => return Err(refused("HTTP 401".into())),
            Err(e) => {
                return Err(match from_http(e) {
                    CommError::Refused(m) => {
                        CommError::Refused(format!("OAuth2 token endpoint {url}: {m}"))
                    }
                    CommError::Unreachable(m) => {
                        CommError::Unreachable(format!("OAuth2 token endpoint {url}: {m}"))
                    }
                })
            }
        };
        let doc = json::parse(&resp.body).ok();
        if !(200..300).contains(&resp.status) {
            let detail = doc
                .as_ref()
                .map(|j| {
                    let field = |k: &str| j.get(k).and_then(Json::as_str).unwrap_or("");
                    let mut d = field("error").to_string();
                    let desc = match field("error_description") {
                        "" => field("message"),
                        x => x,
                    };
                    if !desc.is_empty() {
                        d = format!("{d}: {desc}");
                    }
                    d
                })
                .filter(|d| !d.is_empty())
                .map(|d| format!(", {}", self.clean(&d)))
                .unwrap_or_default();
            let detail: String = detail.chars().take(300).collect();
            return Err(refused(format!("HTTP {}{detail}", resp.status)));
        }
        let doc = doc.ok_or_else(|| {
            CommError::Refused(format!("{url} answered the token request without JSON"))
        })?;
        let token = doc
            .get("access_token")
            .and_then(Json::as_str)
            .filter(|t| {
                !t.is_empty() && t.len() <= MAX_TOKEN && t.bytes().all(|b| b.is_ascii_graphic())
            })
            .ok_or_else(|| {
                CommError::Refused(format!(
                    "{url} answered the token request without a usable access_token"
                ))
            })?;
        let lifetime = doc
            .get("expires_in")
            .and_then(Json::as_f64)
            .filter(|s| s.is_finite() && *s >= 1.0)
            .map_or(DEFAULT_LIFETIME, |s| {
                Duration::from_secs(s.min(MAX_LIFETIME.as_secs() as f64) as u64)
            });
        Ok((token.to_string(), lifetime))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_endpoint_is_at_the_glpi_root() {
        let at = |s: &str| token_url(&Url::parse(s).unwrap()).to_string();
        assert_eq!(
            at("https://glpi.example.org/"),
            "https://glpi.example.org/api.php/token"
        );
        assert_eq!(
            at("https://h/glpi/front/inventory.php"),
            "https://h/glpi/api.php/token"
        );
        assert_eq!(
            at("http://h:8080/marketplace/glpiinventory/"),
            "http://h:8080/api.php/token"
        );
        assert_eq!(
            at("https://h/glpi/plugins/x/y"),
            "https://h/glpi/api.php/token"
        );
        assert_eq!(at("https://h/glpi"), "https://h/glpi/api.php/token");
        assert_eq!(at("https://h"), "https://h/api.php/token");
    }

    #[test]
    fn the_secret_stays_out_of_debug_and_of_what_is_logged() {
        let o = OAuth::new("agent", "s3cr3t\"x");
        assert!(!format!("{o:?}").contains("s3cr3t"));
        assert_eq!(
            o.clean("bad secret s3cr3t\"x given"),
            "bad secret ******** given"
        );
        let body = String::from_utf8(o.request_body()).unwrap();
        let j = json::parse(body.as_bytes()).unwrap();
        assert_eq!(
            j.get("client_secret").and_then(Json::as_str),
            Some("s3cr3t\"x")
        );
        assert_eq!(j.get("scope").and_then(Json::as_str), Some("inventory"));
    }
}
