//! Network discovery (the GLPI/FusionInventory NETDISCOVERY task): every address of the job's
//! ranges is probed by SNMP with each credential and port, NetBIOS node status, ICMP echo and
//! the kernel's neighbour table, and each address that answers becomes a DEVICE message.
//!
//! One process, one event loop: `threads` addresses are in flight at once (the server's
//! THREADS_DISCOVERY), each probed by its SNMP, NetBIOS and ICMP requests together, so a
//! silent address costs one timeout, not the sum of them. Before that, the addresses that lie
//! on this machine's Ethernet networks are swept by ARP (CAP_NET_RAW; see
//! [`ipdiscover::presweep`]) and those that do not answer are not probed at all: on a LAN, a
//! /24 with a few hosts takes a second or two instead of one timeout per 32 empty addresses.
//! Results are written as they come.
//! A server's job comes on standard input (see [`job`]); the agent relays each message to the
//! server as it arrives.
//!
//! [`ipdiscover`] is OCS's IpDiscover: an ARP sweep of one subnet, whose result goes into the
//! inventory.

mod args;
pub mod ipdiscover;
pub mod job;
pub mod output;
pub mod probes;

use std::cell::RefCell;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use smol::future;

pub use args::Args;
pub use crate::snmp::device::{self, Device};
use job::{Job, Range, MAX_JOB_TEXT, SNMP_PORT};
use output::{message, Content, Sink};
use probes::PingKind;
use crate::snmp::sysobject::SysObjectIds;

use crate::core::exit;
use crate::snmp::{self, Agent, Session, SessionOptions, WalkFile};
use crate::sys::Root;

/// Receive buffer of a discovery request: the few values asked fit in far less, and many
/// requests are in flight at once.
const DISCOVERY_DATAGRAM: usize = 4096;
/// Longest wait for ARP replies after the sweep ahead of the probes (the job's timeout when
/// shorter): on a link, replies come in milliseconds.
const PRESWEEP_WAIT: Duration = Duration::from_millis(1000);

/// What every probe of a job shares.
struct Scan<'a> {
    job: &'a Job,
    ping: PingKind,
    ids: RefCell<SysObjectIds>,
    root: Root,
}

impl Scan<'_> {
    fn snmp_options(&self) -> SessionOptions {
        SessionOptions {
            timeout: Duration::from_secs(self.job.timeout),
            retries: self.job.retries,
            max_repetitions: 10,
            recv_buffer: DISCOVERY_DATAGRAM,
        }
    }

    /// The first credential and port (in the job's order) that answers, and what the agent
    /// says. Every credential and port is tried at once, so that a silent address costs one
    /// timeout whatever the number of credentials.
    async fn snmp(&self, ip: Ipv4Addr, range: &Range) -> Option<Device> {
        let ports: Vec<u16> = if range.ports.is_empty() {
            vec![SNMP_PORT]
        } else {
            range.ports.clone()
        };
        let mut tries = Vec::new();
        for &port in &ports {
            for c in &self.job.credentials {
                let port = c.port.unwrap_or(port);
                if !tries.iter().any(|(p, x): &(u16, &job::Credential)| *p == port && x.id == c.id) {
                    tries.push((port, c));
                }
            }
        }
        let probes = tries.iter().map(|(port, c)| async move {
            let cred = match c.credential() {
                Ok(cred) => cred,
                Err(e) => {
                    log::warn!("{ip}: {e}");
                    return None;
                }
            };
            let mut s = match Session::open(SocketAddr::from((ip, *port)), cred, self.snmp_options()) {
                Ok(s) => s,
                Err(e) => {
                    log::warn!("{ip}:{port}: credential {}: {e}", c.id);
                    return None;
                }
            };
            match s.get(&[snmp::oid(".1.3.6.1.2.1.1.1.0"), snmp::oid(".1.3.6.1.2.1.1.2.0")]).await {
                Ok(v) if v.iter().any(|(_, v)| v.is_value()) => Some(s),
                Ok(_) => None,
                Err(e) => {
                    log::debug!("{ip}:{port}: credential {} v{}: {e}", c.id, c.version.name());
                    None
                }
            }
        });
        let answered = join_all(probes.collect()).await;
        let (i, session) = answered
            .into_iter()
            .enumerate()
            .find_map(|(i, s)| Some((i, s?)))?;
        let (port, c) = tries[i];
        let mut agent = Agent::Live(session);
        let mut d = Device::default();
        match device::snmp_discover(&mut agent, ip, &self.ids, &mut d).await {
            Ok(()) => {
                d.authsnmp = Some(c.id.clone());
                if port != SNMP_PORT {
                    d.authport = Some(port.to_string());
                }
                Some(d)
            }
            Err(e) => {
                log::debug!("{ip}:{port}: credential {}: {e}", c.id);
                None
            }
        }
    }

    /// Every probe of one address, merged: NetBIOS, then ICMP, then the neighbour table, then
    /// SNMP, later ones winning (the reference agents' order).
    async fn address(&self, ip: Ipv4Addr, range: &Range) -> Device {
        let timeout = Duration::from_secs(self.job.timeout);
        let (snmp, (nb, pinged)) = future::zip(
            self.snmp(ip, range),
            future::zip(probes::nbstat(ip), probes::ping(ip, self.ping, timeout)),
        )
        .await;
        let mut d = Device {
            ip: ip.to_string(),
            entity: range.entity.clone(),
            ..Device::default()
        };
        if let Some(nb) = nb {
            d.netbiosname = nb.name;
            d.workgroup = nb.workgroup;
            d.usersession = nb.user;
            d.mac = nb.mac;
        }
        if pinged {
            d.dnshostname = Some(ip.to_string());
        }
        if let Some(mac) = probes::arp_lookup(&self.root, ip) {
            d.mac = Some(mac);
        }
        if let Some(s) = snmp {
            let mac = d.mac.take();
            let entity = d.entity.take();
            d = Device {
                ip: d.ip,
                dnshostname: d.dnshostname,
                netbiosname: d.netbiosname,
                workgroup: d.workgroup,
                usersession: d.usersession,
                entity,
                mac: s.mac.clone().or(mac),
                ..s
            };
        }
        d
    }
}

/// Runs every future to its end, all at once; their outputs in order.
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    use std::task::Poll;
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, o) in futures.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *o = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

/// Scans every address of `job`, `job.threads` at a time, and hands each device found to
/// `found` as soon as it is known. Returns the number of devices.
fn run_job(job: &Job, sysobject_ids: Option<&str>, found: &mut dyn FnMut(&Device)) -> usize {
    let scan = Scan {
        job,
        ping: probes::ping_kind(),
        ids: RefCell::new(SysObjectIds::new(sysobject_ids)),
        root: Root::live(),
    };
    // Addresses of this machine's Ethernet networks that answer no ARP request cannot answer
    // anything else: left out, they cost no timeout (the Perl agents wait for each).
    let wait = Duration::from_secs(job.timeout).min(PRESWEEP_WAIT);
    let bounds: Vec<(Ipv4Addr, Ipv4Addr)> = job.ranges.iter().map(|r| (r.start, r.end)).collect();
    let on_link = ipdiscover::presweep(&bounds, wait, &scan.root);
    let skipped = std::cell::Cell::new(0u64);
    let queue = RefCell::new(
        job.ranges
            .iter()
            .flat_map(|r| r.addresses().map(move |ip| (r, ip)))
            .filter(|&(_, ip)| {
                let absent = on_link.absent(ip);
                if absent {
                    skipped.set(skipped.get() + 1);
                }
                !absent
            }),
    );
    let found = RefCell::new(found);
    let count = std::cell::Cell::new(0usize);
    // `threads` workers, each taking the next address when it is done with one: no executor,
    // no channel, one event loop.
    let workers: Vec<_> = (0..job.threads.min(job.address_count() as usize).max(1))
        .map(|_| async {
            loop {
                let next = queue.borrow_mut().next();
                let Some((range, ip)) = next else { break };
                let d = scan.address(ip, range).await;
                if d.found() {
                    count.set(count.get() + 1);
                    (found.borrow_mut())(&d);
                }
            }
        })
        .collect();
    smol::block_on(join_all(workers));
    if on_link.swept() > 0 {
        log::info!("{} address(es) skipped: no answer to ARP", skipped.get());
    }
    count.get()
}

/// `--file WALK`: one device from a recorded walk, no network.
fn from_walk(path: &str, ip: Ipv4Addr, range: &Range, job: &Job, ids: Option<&str>) -> Result<Device, String> {
    let walk = WalkFile::open(Path::new(path)).map_err(|e| e.to_string())?;
    let ids = RefCell::new(SysObjectIds::new(ids));
    let mut agent = Agent::File(walk);
    let mut d = Device::default();
    smol::block_on(device::snmp_discover(&mut agent, ip, &ids, &mut d))
        .map_err(|e| format!("{path}: {e}"))?;
    d.ip = ip.to_string();
    d.entity = range.entity.clone();
    d.authsnmp = job.credentials.first().map(|c| c.id.clone());
    Ok(d)
}

/// The job: from standard input (`--job -`, the agent's way), else from the options.
fn job_of(a: &Args) -> Result<Job, String> {
    match a.job.as_deref() {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .lock()
                .take(MAX_JOB_TEXT as u64 + 1)
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read the job on standard input: {e}"))?;
            Job::from_text(&text).map_err(|e| e.to_string())
        }
        Some(text) => Job::from_text(text).map_err(|e| e.to_string()),
        None => a.job_from_options().map_err(|e| e.to_string()),
    }
}

/// The task: `uagent netdiscovery`, the launcher, or the agent's child process.
pub fn main(a: &Args) -> i32 {
    let job = match job_of(a) {
        Ok(j) => j,
        Err(e) => {
            log::error!("{e}");
            return exit::USAGE;
        }
    };
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
    let mut sink = match Sink::open(a.output.as_deref(), a.frames) {
        Ok(s) => s,
        Err(e) => {
            log::error!("cannot write {}: {e}", a.output.as_deref().unwrap_or("stdout"));
            return exit::OUTPUT;
        }
    };
    let pid = job.pid.clone();
    let mut failed: Option<std::io::Error> = None;
    let mut send = |label: &str, content: Content| {
        if failed.is_none() {
            if let Err(e) = sink.send(label, &message(&deviceid, &pid, &content)) {
                failed = Some(e);
            }
        }
    };
    let count = job.address_count();
    if a.control {
        send("start", Content::Start);
        send("nbip", Content::Nbip(count));
    }
    let t0 = Instant::now();
    let found = if let Some(path) = &a.file {
        let range = &job.ranges[0];
        match from_walk(path, range.start, range, &job, a.sysobject_ids.as_deref()) {
            Ok(d) => {
                send(&format!("device-{}", d.ip), Content::Device(&d));
                1
            }
            Err(e) => {
                log::error!("{e}");
                if a.control {
                    send("exit", Content::Exit);
                }
                return exit::TASK;
            }
        }
    } else {
        log::info!(
            "scanning {count} addresses, {} at a time, timeout {} s, {} SNMP credential(s)",
            job.threads,
            job.timeout,
            job.credentials.len()
        );
        run_job(&job, a.sysobject_ids.as_deref(), &mut |d| {
            log::debug!("found {}", d.ip);
            send(&format!("device-{}", d.ip), Content::Device(d));
        })
    };
    if a.control {
        // Twice, as the reference agents do: the plugin finishes the job on the first and
        // answers the second.
        send("end", Content::End);
        send("end", Content::End);
    }
    log::info!(
        "{found} device(s) found among {count} addresses in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    match failed {
        Some(e) => {
            log::error!("cannot write the results: {e}");
            exit::OUTPUT
        }
        None => exit::OK,
    }
}

/// The EXIT message the agent sends for a job whose process did not finish (killed at its
/// time limit, or failed).
pub fn exit_message(deviceid: &str, pid: &str) -> Vec<u8> {
    message(deviceid, pid, &Content::Exit)
}

/// The PROCESSNUMBER of a job's text, for [`exit_message`].
pub fn job_pid(text: &str) -> Option<String> {
    Job::from_text(text).ok().map(|j| j.pid)
}

/// A time limit for the job's process: enough for every address to wait its timeouts with
/// the job's concurrency, and at least `floor`.
pub fn time_limit(a: &Args, floor: Duration) -> Duration {
    let Some(job) = a.job_text().and_then(|t| Job::from_text(t).ok()) else {
        return floor;
    };
    let per_address = job.timeout * u64::from(job.retries + 1) * (job.credentials.len() as u64 + 2) + 1;
    let rounds = job.address_count().div_ceil(job.threads as u64);
    floor.max(Duration::from_secs(rounds * per_address + 60))
}

#[cfg(test)]
mod tests;
