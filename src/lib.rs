//! uagent: an inventory and management agent for the machines the Perl agents cannot reach
//! (routers, IoT boxes, minimal VMs), speaking the protocols of OCS Inventory NG and GLPI.
//!
//! The parts, from the bottom up:
//! - [`tasks`]: the features. [`tasks::inventory`] reads the system from `/proc`, `/sys`, the
//!   device tree and package databases (never through external commands) and streams the
//!   result as XML, JSON or HTML.
//! - [`vardir`]: the state kept between runs (DEVICEID, per-target state), written atomically.
//! - [`logger`]: one logger whose lines say which task wrote them.
//! - [`cli`]: the command line, and the launchers named after the Perl agents'.

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
pub mod state;
pub mod sys;
pub mod tasks;
