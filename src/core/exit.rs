//! Exit codes, as documented in README.md.

/// Everything asked was done.
pub const OK: i32 = 0;
/// Bad command line or configuration.
pub const USAGE: i32 = 1;
/// The result could not be written (unwritable --output, closed pipe, full disk).
pub const OUTPUT: i32 = 2;
/// A server could not be reached (refused, reset, timed out): results were kept in the spool.
pub const UNREACHABLE: i32 = 3;
/// A server answered with an error or an invalid reply: results were kept in the spool.
pub const REFUSED: i32 = 4;
/// A task failed or was killed at its time limit.
pub const TASK: i32 = 5;
/// Another daemon already holds the state directory.
pub const RUNNING: i32 = 6;
/// The state directory cannot keep the agent's identity (DEVICEID, agent id).
pub const STATE: i32 = 7;
