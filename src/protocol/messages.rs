//! The protocol's messages: what the agent asks (PROLOG, CONTACT) and what servers answer,
//! turned into typed values.

use std::fmt::Write as _;

use super::json::{self, Json};
use super::xml::{self, Node};
use crate::core::markup::write_json_string;
use crate::core::schedule;

/// The constant TOKEN FusionInventory and GLPI agents send in their PROLOG.
const TOKEN: &str = "12345678";

/// The PROLOG request (the server decides what the agent should do).
pub fn prolog_request(deviceid: &str) -> Vec<u8> {
    let mut id = Vec::new();
    let _ = crate::core::markup::write_xml_text(&mut id, deviceid);
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<REQUEST>\n  <DEVICEID>");
    out.push_str(&String::from_utf8_lossy(&id));
    let _ = write!(
        out,
        "</DEVICEID>\n  <QUERY>PROLOG</QUERY>\n  <TOKEN>{TOKEN}</TOKEN>\n</REQUEST>\n"
    );
    out.into_bytes()
}

/// The result of an OCS package (QUERY DOWNLOAD), with every field an attribute as the unix
/// agent and the server's DTD write it: `<REQUEST DEVICEID=".." ERR="SUCCESS" ID=".." QUERY="DOWNLOAD" />`.
pub fn download_result_request(deviceid: &str, id: &str, code: &str) -> Vec<u8> {
    let mut out = b"<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<REQUEST DEVICEID=\"".to_vec();
    let _ = crate::core::markup::write_xml_text(&mut out, deviceid);
    out.extend_from_slice(b"\" ERR=\"");
    let _ = crate::core::markup::write_xml_text(&mut out, code);
    out.extend_from_slice(b"\" ID=\"");
    let _ = crate::core::markup::write_xml_text(&mut out, id);
    out.extend_from_slice(b"\" QUERY=\"DOWNLOAD\" />\n");
    out
}

/// What the server answered to a PROLOG.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// Do an inventory.
    Send,
    /// No inventory wanted now.
    Stop,
    Other(String),
}

/// One OPTION block of a PROLOG reply (DOWNLOAD, WAKEONLAN, NETDISCOVERY…).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OptionBlock {
    pub name: String,
    /// Every child element but NAME (PARAM, RANGEIP, DEVICE…), attributes and text kept.
    pub params: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Prolog {
    pub response: Response,
    /// Contact period in hours.
    pub prolog_freq: Option<u32>,
    pub options: Vec<OptionBlock>,
}

impl Prolog {
    pub fn option(&self, name: &str) -> Option<&OptionBlock> {
        self.options
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(name))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ReplyError {
    Xml(xml::XmlError),
    Json(json::JsonError),
    /// Parsed, but not the message expected.
    Unexpected(String),
}

impl std::fmt::Display for ReplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            ReplyError::Xml(e) => e.fmt(f),
            ReplyError::Json(e) => e.fmt(f),
            ReplyError::Unexpected(s) => f.write_str(s),
        }
    }
}

/// Whether a decoded reply is JSON (GLPI's native protocol) rather than XML.
pub fn looks_like_json(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// Longest PROLOG_FREQ taken from a server, in hours (a year; [`schedule::MAX_PERIOD`]).
pub const MAX_PROLOG_FREQ: u32 = (schedule::MAX_PERIOD / 3600) as u32;

/// A number a server sent, brought into `min..=max` with a warning that names it when it was
/// outside. Every number read from a reply goes through here (or through
/// [`schedule::period_from_hours`] for periods), so that none can make the agent loop, wait
/// forever or allocate without bound.
pub fn clamp_number<T: PartialOrd + Copy + std::fmt::Display>(
    what: &str,
    v: T,
    min: T,
    max: T,
) -> T {
    if v < min {
        log::warn!("the server sent {what} = {v}: {min} is used instead");
        min
    } else if v > max {
        log::warn!("the server sent {what} = {v}: {max} is used instead");
        max
    } else {
        v
    }
}

/// PROLOG_FREQ: a whole number of hours, within 1..=[`MAX_PROLOG_FREQ`]; a larger number
/// (even past what fits a machine word) is cut; what is not a positive number is ignored.
fn prolog_freq(text: &str) -> Option<u32> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        if !t.is_empty() {
            log::warn!("the server sent PROLOG_FREQ = {t:?}, not a number: ignored");
        }
        return None;
    }
    let n = t.parse::<u64>().unwrap_or(u64::MAX);
    if n == 0 {
        return None;
    }
    Some(clamp_number("PROLOG_FREQ", n, 1, u64::from(MAX_PROLOG_FREQ)) as u32)
}

pub fn parse_prolog(body: &[u8]) -> Result<Prolog, ReplyError> {
    let root = xml::parse(&String::from_utf8_lossy(body)).map_err(ReplyError::Xml)?;
    if !root.name.eq_ignore_ascii_case("REPLY") {
        return Err(ReplyError::Unexpected(format!(
            "expected <REPLY>, got <{}>",
            root.name
        )));
    }
    let response = match root.child_text("RESPONSE").unwrap_or("") {
        "SEND" => Response::Send,
        "STOP" | "NO_ACCOUNT_UPDATE" => Response::Stop,
        other => Response::Other(other.to_string()),
    };
    let prolog_freq = root.child_text("PROLOG_FREQ").and_then(prolog_freq);
    let options = root
        .children_named("OPTION")
        .map(|o| OptionBlock {
            name: o.child_text("NAME").unwrap_or("").to_string(),
            params: o
                .children
                .iter()
                .filter(|c| !c.name.eq_ignore_ascii_case("NAME"))
                .cloned()
                .collect(),
        })
        .collect();
    Ok(Prolog {
        response,
        prolog_freq,
        options,
    })
}

/// The OCS server's answer to an INVENTORY: new ACCOUNTINFO values to keep, if any; or
/// GLPI's `pending` (a GLPI agent proxy that has not relayed it yet: ask again later).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InventoryReply {
    pub account_update: Option<Vec<(String, String)>>,
    pub pending: Option<Pending>,
}

/// `{"status":"pending","expiration":…}`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Pending {
    /// When to ask again, if the reply says.
    pub expiration_secs: Option<u64>,
}

/// Seconds of an `expiration` (hours, or `N[smhd]`), saturating: a pending reply's wait, which
/// its reader bounds itself.
pub fn expiration_secs(v: &Json) -> Option<u64> {
    raw_expiration_hours(v).map(|h| (h * 3600.0).round().min(u64::MAX as f64) as u64)
}

pub fn parse_inventory_reply(body: &[u8]) -> Result<InventoryReply, ReplyError> {
    // An empty 200 counts as accepted, as the reference agents treat it.
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(InventoryReply::default());
    }
    if looks_like_json(body) {
        let j = json::parse(body).map_err(ReplyError::Json)?;
        return match j.get("status").and_then(Json::as_str) {
            Some("ok") | None => Ok(InventoryReply::default()),
            Some("pending") => Ok(InventoryReply {
                pending: Some(Pending {
                    expiration_secs: j.get("expiration").and_then(expiration_secs),
                }),
                ..InventoryReply::default()
            }),
            Some(_) => Err(ReplyError::Unexpected(glpi_error_message(&j))),
        };
    }
    let root = xml::parse(&String::from_utf8_lossy(body)).map_err(ReplyError::Xml)?;
    let mut reply = InventoryReply::default();
    if root.child_text("RESPONSE") == Some("ACCOUNT_UPDATE") {
        let info = root
            .children_named("ACCOUNTINFO")
            .filter_map(|a| {
                Some((
                    a.child_text("KEYNAME")?.to_string(),
                    a.child_text("KEYVALUE").unwrap_or("").to_string(),
                ))
            })
            .collect();
        reply.account_update = Some(info);
    }
    Ok(reply)
}

/// GLPI's `{"status":"error","message":…}` as one line.
pub fn glpi_error_message(j: &Json) -> String {
    let status = j.get("status").and_then(Json::as_str).unwrap_or("?");
    match j.get("message").and_then(Json::as_str) {
        Some(m) => format!("server status {status}: {m}"),
        None => format!("server status {status}"),
    }
}

/// GLPI's native CONTACT request.
pub fn contact_request(
    deviceid: &str,
    tag: Option<&str>,
    installed: &[&str],
    enabled: &[&str],
    httpd_port: Option<u16>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let list = |out: &mut Vec<u8>, items: &[&str]| {
        out.push(b'[');
        for (i, t) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let _ = write_json_string(out, t);
        }
        out.push(b']');
    };
    out.extend_from_slice(b"{\"action\":\"contact\",\"deviceid\":");
    let _ = write_json_string(&mut out, deviceid);
    out.extend_from_slice(b",\"name\":\"uagent\",\"version\":");
    let _ = write_json_string(&mut out, env!("CARGO_PKG_VERSION"));
    out.extend_from_slice(b",\"installed-tasks\":");
    list(&mut out, installed);
    out.extend_from_slice(b",\"enabled-tasks\":");
    list(&mut out, enabled);
    if let Some(port) = httpd_port {
        out.extend_from_slice(format!(",\"httpd-port\":{port}").as_bytes());
    }
    if let Some(tag) = tag {
        out.extend_from_slice(b",\"tag\":");
        let _ = write_json_string(&mut out, tag);
    }
    out.push(b'}');
    out
}

/// GLPI's answer to CONTACT (or to a PROLOG sent with a GLPI-Agent-ID).
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    /// `ok`, `pending`, or `error` (then an Err is returned instead).
    pub status: String,
    /// Hours until the next contact.
    pub expiration_hours: Option<f64>,
    /// Tasks the server wants, with the server that serves them (`glpi`, `glpiinventory`).
    pub tasks: Vec<(String, String)>,
    /// `no-category` the server asks of the inventory task.
    pub no_category: Vec<String>,
    /// The version of the server's inventory task (a change means a new server).
    pub inventory_version: Option<String>,
    pub disabled: Vec<String>,
}

/// `expiration`: a number of hours, or `N[smhd]`; positive.
fn raw_expiration_hours(v: &Json) -> Option<f64> {
    match v {
        Json::Num(n) => Some(*n),
        Json::Str(s) => {
            let s = s.trim();
            let (num, unit) = s.split_at(
                s.find(|c: char| !c.is_ascii_digit() && c != '.')
                    .unwrap_or(s.len()),
            );
            let n = crate::core::decimal::parse_f64(num)?;
            Some(match unit {
                "" | "h" => n,
                "s" => n / 3600.0,
                "m" => n / 60.0,
                "d" => n * 24.0,
                _ => return None,
            })
        }
        _ => None,
    }
    .filter(|h| *h > 0.0)
}

/// CONTACT's `expiration`, the period until the next contact: within the schedule's floor and
/// ceiling.
fn expiration_hours(v: &Json) -> Option<f64> {
    raw_expiration_hours(v).map(|h| {
        // Within the schedule's floor and ceiling, in hours.
        let min = schedule::MIN_PERIOD as f64 / 3600.0;
        let max = schedule::MAX_PERIOD as f64 / 3600.0;
        if h.is_finite() {
            clamp_number("expiration (hours)", h, min, max)
        } else {
            log::warn!(
                "the server sent an expiration that is not a finite number: {max} h is used"
            );
            max
        }
    })
}

pub fn parse_contact(body: &[u8]) -> Result<Contact, ReplyError> {
    let j = json::parse(body).map_err(ReplyError::Json)?;
    let status = j
        .get("status")
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_string();
    if status != "ok" && status != "pending" {
        return Err(ReplyError::Unexpected(glpi_error_message(&j)));
    }
    let expiration_hours = j.get("expiration").and_then(expiration_hours);
    if status == "ok" && expiration_hours.is_none() {
        return Err(ReplyError::Unexpected(
            "CONTACT answer without a valid expiration".into(),
        ));
    }
    let mut contact = Contact {
        status,
        expiration_hours,
        tasks: Vec::new(),
        no_category: Vec::new(),
        inventory_version: None,
        disabled: Vec::new(),
    };
    if let Some(Json::Obj(tasks)) = j.get("tasks") {
        for (name, t) in tasks.iter().take(64) {
            let server = t
                .get("server")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string();
            contact.tasks.push((name.clone(), server));
            if name == "inventory" {
                contact.inventory_version = t
                    .get("version")
                    .and_then(Json::as_str)
                    .map(|v| v.chars().take(64).collect());
                if let Some(nc) = t.get("no-category").and_then(Json::as_str) {
                    contact.no_category = nc
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect();
                }
            }
        }
    }
    if let Some(d) = j.get("disabled").and_then(Json::as_array) {
        contact.disabled = d
            .iter()
            .filter_map(Json::as_str)
            .map(str::to_string)
            .take(64)
            .collect();
    }
    Ok(contact)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prolog_request_is_the_reference_shape() {
        let r = String::from_utf8(prolog_request("box-2026-01-01-00-00-00")).unwrap();
        assert!(r.contains("<DEVICEID>box-2026-01-01-00-00-00</DEVICEID>"));
        assert!(r.contains("<QUERY>PROLOG</QUERY>"));
    }

    #[test]
    fn the_ocs_servers_prolog_reply_is_typed() {
        let body = std::fs::read("../shared/peer-outputs/ocs-server-prolog-reply.xml")
            .or_else(|_| std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/peer-outputs/ocs-server-prolog-reply.xml")))
            .unwrap_or_else(|_| b"<REPLY><OPTION><PARAM ON=\"0\" TYPE=\"CONF\" CYCLE_LATENCY=\"60\"/><NAME>DOWNLOAD</NAME></OPTION><RESPONSE>SEND</RESPONSE><PROLOG_FREQ>24</PROLOG_FREQ></REPLY>".to_vec());
        let p = parse_prolog(&body).unwrap();
        assert_eq!(p.response, Response::Send);
        assert_eq!(p.prolog_freq, Some(24));
        let dl = p.option("DOWNLOAD").unwrap();
        assert_eq!(dl.params[0].attr("TYPE"), Some("CONF"));
    }

    #[test]
    fn download_results_have_the_unix_agents_attribute_form() {
        let r = String::from_utf8(download_result_request(
            "b-2026-01-01-00-00-00",
            "17",
            "EXIT_CODE_3",
        ))
        .unwrap();
        assert!(r.contains("<REQUEST DEVICEID=\"b-2026-01-01-00-00-00\" ERR=\"EXIT_CODE_3\" ID=\"17\" QUERY=\"DOWNLOAD\" />"), "{r}");
        let root = xml::parse(&r).unwrap();
        assert_eq!(root.attr("QUERY"), Some("DOWNLOAD"));
    }

    #[test]
    fn wakeonlan_options_keep_their_params() {
        let p = parse_prolog(b"<REPLY><RESPONSE>SEND</RESPONSE><OPTION><NAME>WAKEONLAN</NAME><PARAM MAC=\"00:11:22:33:44:55\" IP=\"10.0.0.9\"/></OPTION></REPLY>").unwrap();
        let w = p.option("wakeonlan").unwrap();
        assert_eq!(w.params[0].attr("MAC"), Some("00:11:22:33:44:55"));
        assert_eq!(p.prolog_freq, None);
    }

    #[test]
    fn prolog_freqs_are_clamped() {
        let freq = |f: &str| {
            parse_prolog(format!("<REPLY><PROLOG_FREQ>{f}</PROLOG_FREQ></REPLY>").as_bytes())
                .unwrap()
                .prolog_freq
        };
        assert_eq!(freq("24"), Some(24));
        assert_eq!(freq("99999999999999999999999"), Some(MAX_PROLOG_FREQ));
        assert_eq!(freq("4294967295"), Some(MAX_PROLOG_FREQ));
        assert_eq!(freq("0"), None);
        assert_eq!(freq("-5"), None);
        assert_eq!(freq("1e9"), None);
    }

    #[test]
    fn inventory_replies_carry_account_updates() {
        let r = parse_inventory_reply(b"<REPLY><RESPONSE>ACCOUNT_UPDATE</RESPONSE><ACCOUNTINFO><KEYVALUE>NA</KEYVALUE><KEYNAME>TAG</KEYNAME></ACCOUNTINFO></REPLY>").unwrap();
        assert_eq!(r.account_update, Some(vec![("TAG".into(), "NA".into())]));
        assert_eq!(
            parse_inventory_reply(b"<REPLY><RESPONSE>NO_ACCOUNT_UPDATE</RESPONSE></REPLY>")
                .unwrap()
                .account_update,
            None
        );
        assert_eq!(
            parse_inventory_reply(b"").unwrap(),
            InventoryReply::default()
        );
        assert!(
            parse_inventory_reply(br#"{"status":"error","message":"JSON does not validate"}"#)
                .is_err()
        );
        assert!(parse_inventory_reply(br#"{"status":"ok","expiration":24}"#).is_ok());
        let p = parse_inventory_reply(br#"{"status":"pending","expiration":"10s"}"#).unwrap();
        assert_eq!(
            p.pending,
            Some(Pending {
                expiration_secs: Some(10)
            })
        );
        let p = parse_inventory_reply(br#"{"status":"pending","expiration":1e300}"#).unwrap();
        assert_eq!(
            p.pending,
            Some(Pending {
                expiration_secs: Some(u64::MAX)
            })
        );
    }

    #[test]
    fn contact_answers_and_expirations() {
        let c = parse_contact(br#"{"status":"ok","expiration":"2d","tasks":{"inventory":{"server":"glpi","no-category":"process,user"}}}"#).unwrap();
        assert_eq!(c.expiration_hours, Some(48.0));
        assert_eq!(c.tasks, vec![("inventory".to_string(), "glpi".to_string())]);
        assert_eq!(c.no_category, vec!["process", "user"]);
        assert_eq!(c.inventory_version, None);
        assert!(parse_contact(br#"{"status":"ok","expiration":0}"#).is_err());
        let huge = parse_contact(br#"{"status":"ok","expiration":1e308}"#).unwrap();
        assert_eq!(huge.expiration_hours, Some(8760.0));
        let tiny = parse_contact(br#"{"status":"ok","expiration":"1s"}"#).unwrap();
        assert_eq!(tiny.expiration_hours, Some(60.0 / 3600.0));
        assert!(parse_contact(br#"{"status":"error","message":"nope"}"#)
            .unwrap_err()
            .to_string()
            .contains("nope"));
        let req = String::from_utf8(contact_request(
            "d-2026-01-01-00-00-00",
            Some("t"),
            &["inventory"],
            &["inventory"],
            None,
        ))
        .unwrap();
        assert!(json::parse(req.as_bytes()).is_ok(), "{req}");
    }
}
