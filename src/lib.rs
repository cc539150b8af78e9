//! uagent: an inventory and management agent for the machines the Perl agents cannot reach
//! (routers, IoT boxes, minimal VMs), speaking the protocols of OCS Inventory NG and GLPI.
//!
//! The layers, from the bottom up; each imports only from the ones below it (checked by
//! `tests/layout/check_layers.py`):
//! - [`core`]: exit codes, the logger, time and time zones, randomness, markup, decimals, the
//!   schedule arithmetic. Imports nothing of the crate.
//! - [`sys`]: reading a live system or a `--root` tree: [`sys::Root`], host name, OS facts.
//! - [`state`]: the vardir and the statedir: every file name in them, the one atomic writer,
//!   the DEVICEID and agent id, per-target state, the spool, the daemon's lock.
//! - [`config`]: the settings, one table of keys read by the configuration file and the
//!   command lines.
//! - [`http`], [`protocol`]: our HTTP/1.1 parser and client; the messages of OCS and GLPI and the
//!   conversation with one server.
//! - [`snmp`]: the SNMP client the network tasks share (BER, v1/v2c messages, UDP requests,
//!   walks, recorded walk files); UDP only, so it builds without the HTTP client.
//! - [`tasks`]: the features (inventory, wake-on-LAN, …), each a folder with its own command
//!   line, run as child processes of the agent or by hand.
//! - [`httpd`]: the daemon's HTTP server; [`agent`]: the main process, its runs and its daemon;
//!   [`inject`]: the injector; [`cli`]: the command line that composes them.
//!
//! The Cargo features are chosen by sets (see `Cargo.toml` and `size-budget/README.md`);
//! combinations outside them fail here, at compile time, with a message.

#[cfg(not(any(
    feature = "minimal",
    feature = "client",
    feature = "default",
    feature = "full"
)))]
compile_error!(
    "choose a feature set: `--no-default-features --features minimal` (inventory only), the \
     default set, or `--features full` (see size-budget/README.md)"
);

#[cfg(all(feature = "minimal", feature = "client"))]
compile_error!(
    "the minimal set has no network code: build `--no-default-features --features minimal` \
     alone, or a set with the client (the default set, or `--features full`)"
);

#[cfg(feature = "client")]
pub mod agent;
pub mod cli;
pub mod config;
pub mod core;
#[cfg(feature = "client")]
pub mod http;
#[cfg(feature = "httpd")]
pub mod httpd;
#[cfg(feature = "client")]
pub mod inject;
#[cfg(feature = "client")]
pub mod protocol;
#[cfg(feature = "snmp")]
pub mod snmp;
pub mod state;
pub mod sys;
pub mod tasks;
