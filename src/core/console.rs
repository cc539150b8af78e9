//! Lines for the person at the terminal (help, lists, versions), as opposed to log lines.

use std::io::Write;

/// Writes a line on stdout. Unlike `println!`, a closed pipe (`uagent --help | head -1`) is
/// not a panic: release builds abort on panics without a word.
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

/// What a command line parser's early exit means: its help on stdout (exit 0), or its error
/// on stderr with where to find the help (exit 1).
pub fn early_exit(early: &argh::EarlyExit, command: &[&str]) -> i32 {
    match early.status {
        Ok(()) => {
            say(&early.output);
            super::exit::OK
        }
        Err(()) => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "{}\nRun {} --help for more information.",
                early.output,
                command.join(" ")
            );
            super::exit::USAGE
        }
    }
}
