//! Exit codes, as documented in README.md.

/// Everything asked was done.
pub const OK: i32 = 0;
/// Bad command line or configuration.
pub const USAGE: i32 = 1;
/// The result could not be written (unwritable --output, closed pipe, full disk).
pub const OUTPUT: i32 = 2;
