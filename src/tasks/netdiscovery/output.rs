//! The NETDISCOVERY messages (§A.3): each a complete `<REQUEST>` document, keys in alphabetical
//! order, and where they go: frames on stdout for the agent, which sends each to its server as
//! it arrives; plain documents on stdout or in a file for people and the injector; or one file
//! per message in a directory.

use std::io::Write;

use crate::snmp::device::Device;
use crate::core::markup::write_xml_text;

/// The version of the discovery module, MODULEVERSION of the messages.
pub const MODULE_VERSION: &str = concat!("uagent-", env!("CARGO_PKG_VERSION"));

/// What one message carries besides PROCESSNUMBER and MODULEVERSION.
#[derive(Debug, Clone, PartialEq)]
pub enum Content<'a> {
    Start,
    Nbip(u64),
    Device(&'a Device),
    End,
    Exit,
}

fn element(out: &mut Vec<u8>, name: &str, value: &str) {
    let _ = write!(out, "<{name}>");
    let _ = write_xml_text(out, value);
    let _ = write!(out, "</{name}>");
}

/// One message as the reference agents write it.
pub fn message(deviceid: &str, pid: &str, content: &Content) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<REQUEST><CONTENT>");
    let agent_version = format!("uagent_v{}", env!("CARGO_PKG_VERSION"));
    let mut module_version = true;
    match content {
        Content::Start => {
            out.extend_from_slice(b"<AGENT>");
            element(&mut out, "AGENTVERSION", &agent_version);
            element(&mut out, "START", "1");
            out.extend_from_slice(b"</AGENT>");
        }
        Content::Nbip(n) => {
            out.extend_from_slice(b"<AGENT>");
            element(&mut out, "NBIP", &n.to_string());
            out.extend_from_slice(b"</AGENT>");
            module_version = false;
        }
        Content::End => {
            out.extend_from_slice(b"<AGENT>");
            element(&mut out, "END", "1");
            out.extend_from_slice(b"</AGENT>");
        }
        Content::Exit => {
            out.extend_from_slice(b"<AGENT>");
            element(&mut out, "EXIT", "1");
            out.extend_from_slice(b"</AGENT>");
        }
        Content::Device(d) => {
            out.extend_from_slice(b"<DEVICE>");
            for (k, v) in d.fields() {
                if k == "IP" && !d.ips.is_empty() {
                    element(&mut out, k, v);
                    out.extend_from_slice(b"<IPS>");
                    for ip in &d.ips {
                        element(&mut out, "IP", ip);
                    }
                    out.extend_from_slice(b"</IPS>");
                } else {
                    element(&mut out, k, v);
                }
            }
            out.extend_from_slice(b"</DEVICE>");
        }
    }
    if module_version {
        element(&mut out, "MODULEVERSION", MODULE_VERSION);
    }
    element(&mut out, "PROCESSNUMBER", pid);
    out.extend_from_slice(b"</CONTENT>");
    element(&mut out, "DEVICEID", deviceid);
    element(&mut out, "QUERY", "NETDISCOVERY");
    out.extend_from_slice(b"</REQUEST>\n");
    out
}

pub use crate::tasks::netout::Sink;
