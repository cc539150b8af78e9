//! OCS Inventory's SNMP option (§D.2): the devices of the server's NETWORK subnets and DEVICE
//! addresses are asked with each COMMUNITY; the first SNMP_TYPE whose condition holds gives
//! the table and the label OIDs to read (a GET, else a walk whose values are joined with
//! ` - `); the result is one `QUERY=SNMP` message with an element per table.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::collect::ocs_text;
use super::xml::{safe_name, Node};
use crate::core::exit;
use crate::snmp::credential::CredentialSpec;
use crate::snmp::{oid, Agent, Session, SessionOptions};
#[cfg(feature = "client")]
use crate::snmp::Version;
use crate::tasks::jobtext;
use crate::tasks::netout::Sink;

/// Most addresses one OCS job asks (a /22), labels and types.
pub const MAX_ADDRESSES: u32 = 1024;
const MAX_LABELS: usize = 512;
const MAX_WALK: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Label {
    pub type_name: String,
    pub table: String,
    pub condition_oid: String,
    pub condition_value: String,
    pub label: String,
    pub oid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OcsJob {
    pub addresses: Vec<Ipv4Addr>,
    pub labels: Vec<Label>,
    pub credentials: Vec<CredentialSpec>,
    pub port: u16,
    pub timeout: u64,
}

/// The hosts of a NETWORK entry (`a.b.c.d/bits`): first and last address.
#[cfg(feature = "client")]
fn subnet(s: &str) -> Option<(u32, u32)> {
    let (ip, bits) = s.trim().split_once('/').unwrap_or((s.trim(), "32"));
    let ip: Ipv4Addr = ip.parse().ok()?;
    let bits: u32 = bits.parse().ok().filter(|b| *b <= 32)?;
    let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
    let net = u32::from(ip) & mask;
    let last = net | !mask;
    if bits >= 31 {
        Some((net, last))
    } else {
        Some((net + 1, last - 1))
    }
}

impl OcsJob {
    /// From the PROLOG's SNMP option.
    #[cfg(feature = "client")]
    pub fn from_prolog(option: &crate::protocol::messages::OptionBlock) -> Result<OcsJob, String> {
        let mut job = OcsJob {
            port: 161,
            timeout: 2,
            ..OcsJob::default()
        };
        for p in option.params.iter().filter(|p| p.name.eq_ignore_ascii_case("PARAM")) {
            let get = |k: &str| p.attr(k).unwrap_or("").to_string();
            match p.attr("TYPE").unwrap_or("").to_ascii_uppercase().as_str() {
                "NETWORK" => {
                    for s in get("SUBNET").split(',').filter(|s| !s.trim().is_empty()) {
                        let (a, b) = subnet(s).ok_or_else(|| format!("NETWORK {s:?} is not a subnet"))?;
                        if job.addresses.len() as u64 + u64::from(b - a) + 1 > u64::from(MAX_ADDRESSES) {
                            return Err(format!("the SNMP networks hold more than {MAX_ADDRESSES} addresses"));
                        }
                        job.addresses.extend((a..=b).map(Ipv4Addr::from));
                    }
                }
                "DEVICE" => {
                    if let Ok(ip) = get("IPADDR").trim().parse() {
                        if job.addresses.len() < MAX_ADDRESSES as usize {
                            job.addresses.push(ip);
                        }
                    }
                }
                "SNMP_TYPE" if job.labels.len() < MAX_LABELS => {
                    {
                        job.labels.push(Label {
                            type_name: get("TYPE_NAME"),
                            table: get("TABLE_TYPE_NAME"),
                            condition_oid: get("CONDITION_OID"),
                            condition_value: get("CONDITION_VALUE"),
                            label: get("LABEL_NAME"),
                            oid: get("OID"),
                        });
                    }
                }
                "COMMUNITY" => {
                    let version = get("VERSION");
                    let mut c = CredentialSpec {
                        id: (job.credentials.len() + 1).to_string(),
                        version: Version::parse(&version).unwrap_or(Version::V2c),
                        community: get("NAME"),
                        username: get("USERNAME"),
                        ..CredentialSpec::default()
                    };
                    if c.version == Version::V3 {
                        let level = get("LEVEL").to_ascii_lowercase();
                        if level != "noauthnopriv" {
                            c.auth_protocol = get("AUTHPROTO");
                            c.auth_password = get("AUTHPASSWD");
                        }
                        if level == "authpriv" {
                            c.priv_protocol = get("PRIVPROTO");
                            c.priv_password = get("PRIVPASSWD");
                        }
                    }
                    match c.check() {
                        Ok(()) => job.credentials.push(c),
                        Err(e) => log::warn!("SNMP: {e}: skipped"),
                    }
                }
                _ => {}
            }
        }
        job.addresses.sort();
        job.addresses.dedup();
        if job.credentials.is_empty() {
            // As the OCS unix agent does when the server names none.
            log::info!("SNMP: the server gives no COMMUNITY: v2c community public");
            job.credentials.push(CredentialSpec {
                id: "1".into(),
                version: Version::V2c,
                community: "public".into(),
                ..CredentialSpec::default()
            });
        }
        if job.labels.is_empty() {
            return Err("no SNMP_TYPE".into());
        }
        Ok(job)
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        jobtext::line(
            &mut out,
            "ocs",
            &[("port", self.port.to_string()), ("timeout", self.timeout.to_string())],
        );
        for a in &self.addresses {
            jobtext::line(&mut out, "address", &[("ip", a.to_string())]);
        }
        for l in &self.labels {
            jobtext::line(
                &mut out,
                "label",
                &[
                    ("type", l.type_name.clone()),
                    ("table", l.table.clone()),
                    ("coid", l.condition_oid.clone()),
                    ("cvalue", l.condition_value.clone()),
                    ("label", l.label.clone()),
                    ("oid", l.oid.clone()),
                ],
            );
        }
        for c in &self.credentials {
            jobtext::line(&mut out, "auth", &c.pairs());
        }
        out
    }

    pub fn from_text(text: &str) -> Result<OcsJob, String> {
        let mut job = OcsJob {
            port: 161,
            timeout: 2,
            ..OcsJob::default()
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (kind, pairs) = jobtext::parse_line(line)?;
            let get = |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()).unwrap_or_default();
            match kind {
                "ocs" => {
                    job.port = get("port").parse().unwrap_or(161);
                    job.timeout = get("timeout").parse::<u64>().unwrap_or(2).clamp(1, 60);
                }
                "address" if job.addresses.len() < MAX_ADDRESSES as usize => {
                    job.addresses.push(get("ip").parse().map_err(|_| "job text: a bad address".to_string())?)
                }
                "label" if job.labels.len() < MAX_LABELS => job.labels.push(Label {
                    type_name: get("type"),
                    table: get("table"),
                    condition_oid: get("coid"),
                    condition_value: get("cvalue"),
                    label: get("label"),
                    oid: get("oid"),
                }),
                "auth" => {
                    let mut c = CredentialSpec::default();
                    for (k, v) in &pairs {
                        c.set(k, v)?;
                    }
                    c.check()?;
                    job.credentials.push(c);
                }
                _ => return Err(format!("job text: unexpected line {kind:?}")),
            }
        }
        Ok(job)
    }
}

/// `*x*` contains, `x*` starts, `*x` ends, else equal.
pub fn wildcard(pattern: &str, value: &str) -> bool {
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        (Some(rest), _) if rest.ends_with('*') && rest.len() > 1 => value.contains(&rest[..rest.len() - 1]),
        (Some(rest), _) => value.ends_with(rest),
        (None, Some(start)) => value.starts_with(start),
        _ => value == pattern,
    }
}

/// The table the stock server files every device in, whose condition only asks that its OID
/// answers; the other types are tried first, in the server's order.
pub const DEFAULT_TABLE: &str = "snmp_default";

/// The types of the job in the order they are tried: the server's own types first, then
/// `snmp_default` (as the OCS unix agent does); each with its labels.
fn types(job: &OcsJob) -> Vec<(&Label, Vec<&Label>)> {
    let mut out: Vec<(&Label, Vec<&Label>)> = Vec::new();
    for l in &job.labels {
        match out.iter_mut().find(|(first, _)| first.table == l.table && first.type_name == l.type_name) {
            Some((_, all)) => all.push(l),
            None => out.push((l, vec![l])),
        }
    }
    // A stable sort: the custom types keep their order, the default one goes last.
    out.sort_by_key(|(first, _)| first.table == DEFAULT_TABLE);
    out
}

/// Whether a type's condition holds on this agent: its OID answers and, except for
/// `snmp_default`, the value equals (or matches with `*`) the condition's value.
fn condition_holds(agent: &mut Agent, first: &Label) -> bool {
    let Some(coid) = crate::snmp::Oid::parse(&first.condition_oid) else {
        return false;
    };
    let value = match smol::block_on(agent.get_one(&coid)) {
        Ok(Some(v)) => ocs_text(&v),
        _ => return false,
    };
    first.table == DEFAULT_TABLE || first.condition_value.is_empty() || wildcard(&first.condition_value, &value)
}

/// One label's value: a GET, else the walk of the OID as a table, its values joined with
/// ` - `; control characters removed.
fn label_value(agent: &mut Agent, o: &crate::snmp::Oid) -> String {
    let v = match smol::block_on(agent.get_one(o)) {
        Ok(Some(v)) => ocs_text(&v),
        _ => smol::block_on(agent.walk(o, MAX_WALK))
            .unwrap_or_default()
            .iter()
            .filter(|(_, v)| v.is_value())
            .map(|(_, v)| ocs_text(v))
            .collect::<Vec<_>>()
            .join(" - "),
    };
    v.chars().filter(|c| !c.is_control()).collect()
}

/// What one agent gives for the job: the element of the first type whose condition holds
/// (named after its table, a child per label that has a value), or `None` when no type's
/// condition holds.
pub fn inventory(job: &OcsJob, agent: &mut Agent) -> Option<Node> {
    for (first, labels) in types(job) {
        if !safe_name(&first.table) || !condition_holds(agent, first) {
            continue;
        }
        let mut cols = Vec::new();
        for l in labels {
            let Some(o) = crate::snmp::Oid::parse(&l.oid) else { continue };
            if !safe_name(&l.label) || cols.iter().any(|c| matches!(c, Node::Named(n, _, _) if *n == l.label)) {
                continue;
            }
            let v = label_value(agent, &o);
            // An empty element reaches the server's database as a hash, not a string: a
            // label without a value is left out (its column stays NULL).
            if !v.is_empty() {
                cols.push(Node::Named(l.label.clone(), Vec::new(), Some(v)));
            }
        }
        if cols.is_empty() {
            // An empty element would be an empty row of the table: nothing to say.
            log::debug!("SNMP: type {:?} holds but none of its labels has a value", first.type_name);
            return None;
        }
        return Some(Node::Named(first.table.clone(), cols, None));
    }
    None
}

/// One address: asked with each credential in turn; the first that answers and whose types
/// give an element wins.
fn device(job: &OcsJob, ip: Ipv4Addr) -> Option<Node> {
    let opts = SessionOptions {
        timeout: Duration::from_secs(job.timeout),
        retries: 0,
        max_repetitions: 25,
        ..SessionOptions::default()
    };
    for c in &job.credentials {
        let Ok(cred) = c.credential() else { continue };
        let Ok(session) = Session::open(SocketAddr::from((ip, job.port)), cred, opts.clone()) else {
            continue;
        };
        let mut agent = Agent::Live(session);
        // Is anyone there with this credential?
        match smol::block_on(agent.get_one(&oid(".1.3.6.1.2.1.1.1.0"))) {
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => continue,
        }
        if let Some(node) = inventory(job, &mut agent) {
            return Some(node);
        }
    }
    None
}

/// A time limit for the job's process: every address may take each credential's timeout,
/// and an agent that answers one GET per type and label (and a walk each) on top.
pub fn time_limit(job: &OcsJob, threads: usize, floor: Duration) -> Duration {
    let per_address = job.timeout * job.credentials.len() as u64 * (2 + 2 * job.labels.len() as u64);
    let rounds = (job.addresses.len() as u64).div_ceil(threads.max(1) as u64);
    floor.max(Duration::from_secs(rounds.saturating_mul(per_address) + 60))
}

/// Devices asked at once by default.
pub const DEFAULT_THREADS: usize = 16;

/// `uagent task netinventory --ocs-job -`: the QUERY=SNMP message (nothing when no device
/// answered).
pub fn main(a: &super::Args, deviceid: &str) -> i32 {
    let text = match super::read_job(a.ocs_job.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            log::error!("{e}");
            return exit::USAGE;
        }
    };
    let job = match OcsJob::from_text(&text) {
        Ok(j) => j,
        Err(e) => {
            log::error!("{e}");
            return exit::USAGE;
        }
    };
    let threads = a.threads.unwrap_or(DEFAULT_THREADS).clamp(1, 64);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let found = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.min(job.addresses.len()).max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(ip) = job.addresses.get(i) else { break };
                if let Some(node) = device(&job, *ip) {
                    log::info!("SNMP: {ip} inventoried");
                    found.lock().unwrap_or_else(|e| e.into_inner()).push(node);
                }
            });
        }
    });
    let content = found.into_inner().unwrap_or_else(|e| e.into_inner());
    log::info!("SNMP: {} device(s) among {} address(es)", content.len(), job.addresses.len());
    if content.is_empty() {
        return exit::OK;
    }
    // One element per device, in the order found; XML keys are the server's table names.
    let mut out = b"<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<REQUEST><CONTENT>".to_vec();
    for n in &content {
        super::xml::write(&mut out, n);
    }
    out.extend_from_slice(b"</CONTENT>");
    super::xml::write(&mut out, &Node::Leaf("DEVICEID", deviceid.to_string()));
    out.extend_from_slice(b"<QUERY>SNMP</QUERY></REQUEST>\n");
    let mut sink = match Sink::open(a.output.as_deref(), a.frames) {
        Ok(s) => s,
        Err(e) => {
            log::error!("cannot write the results: {e}");
            return exit::OUTPUT;
        }
    };
    match sink.send("snmp", &out) {
        Ok(()) => exit::OK,
        Err(e) => {
            log::error!("cannot write the results: {e}");
            exit::OUTPUT
        }
    }
}
