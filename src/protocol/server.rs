//! One server's side of a run: the PROLOG (or GLPI's CONTACT) that says what to do, and the
//! POST of results. Errors are sorted the way the run needs them: the server could not be
//! reached (try again later, keep the inventory), or it answered with an error.

use std::fmt;
use std::time::Duration;

use super::compress::{decode_reply, zlib};
use super::messages::{self, Contact, InventoryReply, Prolog};
use super::MAX_REPLY;
use crate::config::Connection;
use crate::http::{Client, ClientOptions, HttpError, ProxySettings, Response, Url};

/// The User-Agent presented to servers. A stock OCS server only admits PROLOGs from agents
/// named `OCS-NG_unified_unix_agent_v<d.d…>` with a version not above its own; it keeps the
/// first two digits of what follows `_v`, so this passes as 2.1 and still names uagent.
pub fn user_agent() -> String {
    format!(
        "OCS-NG_unified_unix_agent_v2.10-uagent-{}",
        env!("CARGO_PKG_VERSION")
    )
}

/// Body type of every request: zlib, which the OCS server (that ignores the header) and GLPI
/// (that reads it) both understand under this name.
pub const CONTENT_TYPE_ZLIB: &str = "application/x-compress-zlib";

#[derive(Debug)]
pub enum CommError {
    /// Connection refused, reset, timed out, DNS failure, TLS failure: nothing was decided.
    Unreachable(String),
    /// The server answered, but with an error or something that is not a valid reply.
    Refused(String),
}

impl fmt::Display for CommError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            CommError::Unreachable(e) | CommError::Refused(e) => f.write_str(e),
        }
    }
}

fn from_http(e: HttpError) -> CommError {
    match e {
        HttpError::Protocol { .. }
        | HttpError::BodyTooLarge { .. }
        | HttpError::Unauthorized { .. } => CommError::Refused(e.to_string()),
        _ => CommError::Unreachable(e.to_string()),
    }
}

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
    let mut url = Url::parse(&full).map_err(|e| format!("server {s}: {e}"))?;
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
}

impl Server<'_> {
    async fn post(
        &self,
        what: &str,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> Result<Vec<u8>, CommError> {
        self.exchange(what, &zlib(body), headers).await
    }

    /// POSTs an already compressed body and returns the decoded reply of a 2xx answer.
    async fn exchange(
        &self,
        what: &str,
        compressed: &[u8],
        headers: &[(&str, &str)],
    ) -> Result<Vec<u8>, CommError> {
        let mut all = vec![("Pragma", "no-cache")];
        all.extend_from_slice(headers);
        let resp: Response = self
            .client
            .post(&self.url, CONTENT_TYPE_ZLIB, compressed, &all)
            .await
            .map_err(from_http)?;
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
        Ok(decoded)
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

    /// Sends an inventory already zlib-compressed (XML, or GLPI JSON with `json`).
    pub async fn send_inventory(
        &self,
        compressed: &[u8],
        json: bool,
    ) -> Result<InventoryReply, CommError> {
        let headers: &[(&str, &str)] = if json {
            &[("GLPI-Agent-ID", self.agentid)]
        } else {
            &[]
        };
        let body = self.exchange("inventory", compressed, headers).await?;
        messages::parse_inventory_reply(&body).map_err(|e| {
            CommError::Refused(format!(
                "{} answered the inventory with a bad reply: {e}",
                self.url
            ))
        })
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
