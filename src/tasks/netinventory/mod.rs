//! SNMP network inventory (the GLPI/FusionInventory SNMPQUERY task): each device of the job is
//! queried with its credential (v1, v2c or v3) for what §B.2 lists, and becomes one DEVICE
//! message (or a DEVICE/ERROR when it does not answer or refuses the credential). OCS's SNMP
//! option is served by the same collection ([`ocs`]).
//!
//! Devices are queried `threads` at a time, each in a thread of its own that blocks on its
//! requests (one event loop per thread, no executor): the collection is plain code, and the
//! only async state machines are the SNMP client's.

mod args;
pub mod collect;
pub mod job;
pub mod ocs;
pub mod xml;

use std::cell::RefCell;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use args::Args;
use collect::{collect, device_node, error_node};
use job::{Device, Job, MAX_JOB_TEXT};
use xml::Node;

use crate::core::exit;
use crate::snmp::sysobject::SysObjectIds;
use crate::snmp::{Agent, Credential, Session, SessionOptions, WalkFile};
use crate::sys::Root;
use crate::tasks::netout::Sink;

/// The version of the inventory module, MODULEVERSION of the messages.
pub const MODULE_VERSION: &str = concat!("uagent-", env!("CARGO_PKG_VERSION"));
const SNMP_PORT: u16 = 161;

/// One SNMPQUERY message around `content`.
pub fn message(deviceid: &str, pid: &str, content: Vec<Node>, module_version: bool) -> Vec<u8> {
    let mut c = content;
    if module_version {
        c.push(Node::Leaf("MODULEVERSION", MODULE_VERSION.into()));
    }
    c.push(Node::Leaf("PROCESSNUMBER", pid.into()));
    let mut out = Vec::with_capacity(4096);
    out.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n");
    xml::write(
        &mut out,
        &Node::Branch(
            "REQUEST",
            vec![
                Node::Branch("CONTENT", c),
                Node::Leaf("DEVICEID", deviceid.into()),
                Node::Leaf("QUERY", "SNMPQUERY".into()),
            ],
        ),
    );
    out.push(b'\n');
    out
}

fn agent_node(key: &'static str) -> Node {
    let mut a = vec![Node::Leaf(key, "1".into())];
    if key == "START" {
        a.push(Node::Leaf(
            "AGENTVERSION",
            format!("uagent_v{}", env!("CARGO_PKG_VERSION")),
        ));
    }
    Node::Branch("AGENT", a)
}

/// The EXIT message the agent sends for a job whose process did not finish.
pub fn exit_message(deviceid: &str, pid: &str) -> Vec<u8> {
    message(deviceid, pid, vec![agent_node("EXIT")], true)
}

/// The PROCESSNUMBER of a job's text.
pub fn job_pid(text: &str) -> Option<String> {
    Job::from_text(text).ok().map(|j| j.pid)
}

/// A time limit for the job's process: each device may take its timeouts many times over.
pub fn time_limit(a: &Args, floor: Duration) -> Duration {
    if let Some(job) = a
        .ocs_job
        .as_deref()
        .filter(|t| *t != "-")
        .and_then(|t| ocs::OcsJob::from_text(t).ok())
    {
        let threads = a.threads.unwrap_or(ocs::DEFAULT_THREADS).clamp(1, 64);
        return ocs::time_limit(&job, threads, floor);
    }
    let Some(job) = a.job_text().and_then(|t| Job::from_text(t).ok()) else {
        return floor;
    };
    let per_device = job.timeout * u64::from(job.retries + 1) * 20 + 60;
    let rounds = (job.devices.len() as u64).div_ceil(job.threads as u64);
    floor.max(Duration::from_secs(rounds * per_device))
}

/// The agent of one device: its walk file, or a live session with its credential.
fn open(job: &Job, d: &Device, cred: &Credential) -> Result<Agent, String> {
    if let Some(f) = &d.file {
        return WalkFile::open(Path::new(f))
            .map(Agent::File)
            .map_err(|e| e.to_string());
    }
    let ip: IpAddr = d.ip.parse().map_err(|_| format!("{:?} is not an IP address", d.ip))?;
    let opts = SessionOptions {
        timeout: Duration::from_secs(job.timeout),
        retries: job.retries,
        max_repetitions: 25,
        ..SessionOptions::default()
    };
    let port = d.port.or(job.credential_of(d).and_then(|c| c.port)).unwrap_or(SNMP_PORT);
    Session::open(SocketAddr::new(ip, port), cred.clone(), opts)
        .map(Agent::Live)
        .map_err(|e| e.to_string())
}

/// One device's DEVICE element (an ERROR one when it cannot be inventoried).
pub fn inventory_device(job: &Job, d: &Device, ids: &RefCell<SysObjectIds>) -> Node {
    let fail = |m: &str| {
        log::warn!("{}: {m}", d.file.as_deref().unwrap_or(&d.ip));
        error_node(&d.id, d.kind.as_deref(), m)
    };
    let Some(spec) = job.credential_of(d) else {
        return fail("no credential");
    };
    let cred = match spec.credential() {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let mut agent = match open(job, d, &cred) {
        Ok(a) => a,
        Err(e) => return fail(&e),
    };
    let ip = d.ip.parse::<Ipv4Addr>().unwrap_or(Ipv4Addr::new(1, 1, 1, 1));
    let mut contexts = |vlan: u32| -> Option<Agent> {
        if d.file.is_some() {
            return None;
        }
        open(job, d, &cred.with_context(&vlan.to_string())).ok()
    };
    let t0 = Instant::now();
    match collect(&mut agent, ip, ids, d.kind.as_deref(), &mut contexts) {
        Ok(inv) => {
            log::info!(
                "{}: {} port(s) in {:.2} s",
                d.file.as_deref().unwrap_or(&d.ip),
                inv.ports.len(),
                t0.elapsed().as_secs_f64()
            );
            device_node(&inv, &d.id)
        }
        Err(e) => fail(&e.to_string()),
    }
}

fn read_job(text: Option<&str>) -> Result<String, String> {
    match text {
        Some("-") => {
            let mut t = String::new();
            std::io::stdin()
                .lock()
                .take(MAX_JOB_TEXT as u64 + 1)
                .read_to_string(&mut t)
                .map_err(|e| format!("cannot read the job on standard input: {e}"))?;
            Ok(t)
        }
        Some(t) => Ok(t.to_string()),
        None => Err("no job".into()),
    }
}

/// The task: `uagent netinventory`, the launcher, or the agent's child process.
pub fn main(a: &Args) -> i32 {
    let deviceid = match &a.deviceid {
        Some(id) => id.clone(),
        None => match crate::state::ids::deviceid(
            &crate::state::Vardir::new(Path::new(crate::state::DEFAULT_VARDIR)),
            &Root::live(),
        ) {
            Ok(id) => id,
            Err(e) => {
                log::error!("{e}");
                return exit::STATE;
            }
        },
    };
    if a.ocs_job.is_some() {
        return ocs::main(a, &deviceid);
    }
    let job = match a.job.as_deref() {
        Some(_) => read_job(a.job.as_deref()).and_then(|t| Job::from_text(&t).map_err(|e| e.to_string())),
        None => a.job_from_options().map_err(|e| e.to_string()),
    };
    let job = match job {
        Ok(j) => j,
        Err(e) => {
            log::error!("{e}");
            return exit::USAGE;
        }
    };
    let sink = match Sink::open(a.output.as_deref(), a.frames) {
        Ok(s) => Mutex::new(s),
        Err(e) => {
            log::error!("cannot write {}: {e}", a.output.as_deref().unwrap_or("stdout"));
            return exit::OUTPUT;
        }
    };
    let failed = Mutex::new(None::<std::io::Error>);
    let send = |label: &str, msg: Vec<u8>| {
        let mut f = failed.lock().unwrap_or_else(|e| e.into_inner());
        if f.is_none() {
            let mut s = sink.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = s.send(label, &msg) {
                *f = Some(e);
            }
        }
    };
    if a.control {
        send("start", message(&deviceid, &job.pid, vec![agent_node("START")], true));
    }
    let t0 = Instant::now();
    let next = AtomicUsize::new(0);
    let errors = AtomicUsize::new(0);
    let workers = job.threads.min(job.devices.len()).max(1);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                let ids = RefCell::new(SysObjectIds::new(a.sysobject_ids.as_deref()));
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(d) = job.devices.get(i) else { break };
                    let node = inventory_device(&job, d, &ids);
                    if matches!(&node, Node::Branch(_, c) if matches!(c.first(), Some(Node::Branch("ERROR", _)))) {
                        errors.fetch_add(1, Ordering::SeqCst);
                    }
                    send(&format!("device-{}", d.ip), message(&deviceid, &job.pid, vec![node], true));
                }
            });
        }
    });
    if a.control {
        // Twice, as the reference agents do.
        send("end", message(&deviceid, &job.pid, vec![agent_node("END")], true));
        send("end", message(&deviceid, &job.pid, vec![agent_node("END")], true));
    }
    log::info!(
        "{} device(s) inventoried, {} with an error, in {:.1} s",
        job.devices.len(),
        errors.load(Ordering::SeqCst),
        t0.elapsed().as_secs_f64()
    );
    match failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(e) => {
            log::error!("cannot write the results: {e}");
            exit::OUTPUT
        }
        None => exit::OK,
    }
}

#[cfg(test)]
mod tests;
