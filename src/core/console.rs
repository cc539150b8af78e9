//! Lines for the person at the terminal (help, lists, versions), as opposed to log lines.

use std::io::Write;

/// Writes a line on stdout. Unlike `println!`, a closed pipe (`uagent --help | head -1`) is
/// not a panic: release builds abort on panics without a word.
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}
