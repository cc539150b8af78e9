//! Wake-on-LAN: wakes machines on this machine's LANs with a magic packet (six 0xFF bytes, then
//! the target's MAC 16 times), sent as a raw Ethernet frame (ethertype 0x0842) where the agent
//! may open one, else as a UDP broadcast. A server asks for it in its PROLOG reply (OPTION
//! WAKEONLAN); `uagent wakeonlan` does the same by hand.
//!
//! Which interfaces and addresses to use is decided by pure functions of the interface list
//! ([`udp_destinations`], [`ethernet_interfaces`]); only [`live_interfaces`] and the two senders
//! touch the system.

mod args;
mod parse;
mod route;
mod send;

use crate::core::exit;
pub use args::Args;
pub use parse::{parse_ip, parse_mac, Mac, Method, Request, Target};
use route::{check_interface, live_interfaces};
use send::Sender;

/// Most machines woken in one run; a longer list is refused (by hand) or cut (from a server).
pub const MAX_TARGETS: usize = 256;
/// Most UDP ports one run sends to.
pub const MAX_PORTS: usize = 8;
/// Most network interfaces looked at, and IPv4 addresses kept per interface.
pub const MAX_INTERFACES: usize = 1024;
pub const MAX_ADDRESSES: usize = 64;
/// Longest part of a bad argument quoted back in an error message.
const MAX_QUOTED: usize = 64;

/// The usual Wake-on-LAN port ("discard"); 7 ("echo") is the other one in use.
pub const DEFAULT_PORT: u16 = 9;
/// Ethertype of a Wake-on-LAN frame.
pub const ETHERTYPE_WOL: u16 = 0x0842;
/// Length of the magic packet: the sync stream and 16 copies of the MAC.
pub const MAGIC_LEN: usize = 6 + 16 * 6;
/// Length of the Ethernet frame carrying it (header and payload, without the FCS).
pub const FRAME_LEN: usize = 14 + MAGIC_LEN;

/// Wakes every machine of the request; the exit code.
pub fn run(req: &Request) -> i32 {
    let (ifaces, links) = match live_interfaces() {
        Ok(l) => l,
        Err(e) => {
            log::error!("{e}");
            return exit::TASK;
        }
    };
    if let Some(name) = &req.interface {
        if let Err(e) = check_interface(&ifaces, name) {
            log::error!("{e}");
            return exit::USAGE;
        }
    }
    let mut sender = Sender::new(req, &ifaces, &links);
    let mut failed = 0;
    for t in &req.targets {
        if let Err(e) = sender.wake(t) {
            log::error!("cannot wake {}: {e}", t.mac);
            failed += 1;
        }
    }
    if failed > 0 {
        exit::TASK
    } else {
        exit::OK
    }
}

/// The task: `uagent wakeonlan`, the launcher, or the agent's child process.
pub fn main(a: &Args) -> i32 {
    match a.request() {
        Ok(req) => run(&req),
        Err(e) => {
            log::error!("{e}");
            exit::USAGE
        }
    }
}

#[cfg(test)]
mod tests;
