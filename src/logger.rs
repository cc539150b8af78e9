//! The one logger: every line says which part of the agent wrote it and how bad it is,
//! `[inventory][warning] cannot read /proc/mtd: …`. Task child processes log the same way on
//! their standard error, which the parent relays.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use log::{Level, LevelFilter, Log, Metadata, Record};

static TAG: Mutex<&'static str> = Mutex::new("core");
static LEVEL: AtomicUsize = AtomicUsize::new(LevelFilter::Info as usize);

struct Logger;

static LOGGER: Logger = Logger;

/// The level word written in a line.
pub fn level_word(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warn => "warning",
        Level::Info => "info",
        Level::Debug => "debug",
        Level::Trace => "debug2",
    }
}

/// Formats one line (without the newline).
pub fn format_line(tag: &str, level: Level, message: &str) -> String {
    format!("[{tag}][{}] {message}", level_word(level))
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() as usize <= LEVEL.load(Ordering::Relaxed)
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let tag = *TAG.lock().unwrap_or_else(|e| e.into_inner());
        let line = format_line(tag, record.level(), &record.args().to_string());
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
    }

    fn flush(&self) {}
}

/// Installs the logger; `debug` counts `--debug` flags (one: debug, two: everything).
pub fn init(tag: &'static str, debug: u8) {
    let level = match debug {
        0 => LevelFilter::Info,
        1 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    };
    LEVEL.store(level as usize, Ordering::Relaxed);
    set_tag(tag);
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}

/// Writes a line a task process logged (already tagged) where the agent's own lines go.
pub fn relay(line: &str) {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.is_empty() {
        return;
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// Changes the tag of the lines that follow (a task process says which task it runs).
pub fn set_tag(tag: &'static str) {
    *TAG.lock().unwrap_or_else(|e| e.into_inner()) = tag;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_tag_and_level() {
        assert_eq!(
            format_line("inventory", Level::Error, "boom"),
            "[inventory][error] boom"
        );
        assert_eq!(format_line("core", Level::Warn, "hm"), "[core][warning] hm");
    }
}
