//! What every part of the agent may use, and which imports nothing above it: exit codes, the
//! logger, time and time zones, randomness, markup escaping, redaction of secrets, decimal numbers, hashes and HMAC, frames
//! on a pipe, the console line
//! writer and the schedule arithmetic.

pub mod console;
pub mod decimal;
pub mod digest;
pub mod exit;
pub mod frame;
pub mod logger;
pub mod markup;
pub mod random;
pub mod redact;
pub mod schedule;
pub mod time;
pub mod tz;

/// The port of the agents' HTTP server (the Perl agents' port, which servers call for `/now`).
pub const AGENT_PORT: u16 = 62354;
