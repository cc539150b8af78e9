//! The messages agents and servers exchange: OCS/FusionInventory XML (PROLOG, INVENTORY and
//! their replies) and GLPI's native JSON (CONTACT, inventory), with the compression both sides
//! use, and the conversation with one server ([`server`]) that the agent and the injector share. Everything read from a server is bounded: size after inflation, XML depth and element
//! count, JSON depth.

pub mod compress;
pub mod error;
pub mod json;
pub mod messages;
pub mod oauth;
pub mod server;
pub mod xml;

/// Largest reply accepted once inflated.
pub const MAX_REPLY: usize = 4 * 1024 * 1024;
