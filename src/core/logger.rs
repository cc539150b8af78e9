//! The one logger: every line says which part of the agent wrote it and how bad it is,
//! `[inventory][warning] cannot read /proc/mtd: …`. Task child processes log the same way on
//! their standard error, which the agent relays to wherever its own lines go: standard error,
//! a file rotated at a size, syslog, or several of them (`logger = syslog,stderr`).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use log::{Level, LevelFilter, Log, Metadata, Record};

static TAG: Mutex<&'static str> = Mutex::new("core");
static LEVEL: AtomicUsize = AtomicUsize::new(LevelFilter::Info as usize);
/// Where lines go; none configured means standard error.
static DEST: Mutex<Vec<Destination>> = Mutex::new(Vec::new());

enum Destination {
    Stderr,
    File {
        path: PathBuf,
        file: File,
        size: u64,
        max: u64,
    },
    Syslog {
        sock: UnixDatagram,
        facility: u8,
    },
}

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

/// A message as one line of plain text: control characters (a newline that would forge a
/// second log line, ESC sequences that would drive a terminal, C1 controls) are written as
/// escapes (`\n`, `\r`, `\t`, `\x1b`, `\u{9b}`). Every line goes through this, so text from
/// outside (server messages, file contents, names) cannot escape its line.
pub fn escape_controls(message: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| c.is_control();
    if !message.chars().any(bad) {
        return std::borrow::Cow::Borrowed(message);
    }
    let mut out = String::with_capacity(message.len() + 8);
    for c in message.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && bad(c) => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if bad(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// syslog severity of a line, from its `[tag][level]` prefix.
fn severity(line: &str) -> u8 {
    let level = line
        .split("][")
        .nth(1)
        .and_then(|l| l.split(']').next())
        .unwrap_or("info");
    match level {
        "error" => 3,
        "warning" => 4,
        "info" => 6,
        _ => 7,
    }
}

fn write_line(line: &str) {
    let mut dests = DEST.lock().unwrap_or_else(|e| e.into_inner());
    if dests.is_empty() {
        let _ = writeln!(std::io::stderr().lock(), "{line}");
        return;
    }
    for dest in dests.iter_mut() {
        dest.write(line);
    }
}

impl Destination {
    fn write(&mut self, line: &str) {
        match self {
            Destination::Stderr => {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
            Destination::File {
                path,
                file,
                size,
                max,
            } => {
                let stamp = crate::core::time::format_datetime(crate::core::time::now());
                let text = format!("[{stamp}]{line}\n");
                if *max > 0 && *size + text.len() as u64 > *max {
                    // Rotation: the current file becomes FILE.1 (the previous .1 is dropped).
                    let old = path.with_extension(match path.extension() {
                        Some(e) => format!("{}.1", e.to_string_lossy()),
                        None => "1".into(),
                    });
                    let _ = fs::rename(&*path, old);
                    if let Ok(f) = OpenOptions::new().create(true).append(true).open(&*path) {
                        *file = f;
                        *size = 0;
                    }
                }
                if file.write_all(text.as_bytes()).is_ok() {
                    *size += text.len() as u64;
                }
            }
            Destination::Syslog { sock, facility } => {
                // RFC 3164 without a timestamp: syslogd adds it.
                let msg = format!(
                    "<{}>uagent[{}]: {line}",
                    u16::from(*facility) * 8 + u16::from(severity(line)),
                    std::process::id()
                );
                if sock.send(msg.as_bytes()).is_err() {
                    let _ = writeln!(std::io::stderr().lock(), "{line}");
                }
            }
        }
    }
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
        write_line(&format_line(
            tag,
            record.level(),
            &escape_controls(&record.args().to_string()),
        ));
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

/// The syslog facility of a name as the Perl agents spell it (`LOG_DAEMON`, `local0`, …).
pub fn facility(name: &str) -> Option<u8> {
    let n = name.trim().to_ascii_lowercase();
    let n = n.strip_prefix("log_").unwrap_or(&n);
    Some(match n {
        "kern" => 0,
        "user" => 1,
        "mail" => 2,
        "daemon" => 3,
        "auth" => 4,
        "syslog" => 5,
        "lpr" => 6,
        "news" => 7,
        "uucp" => 8,
        "cron" => 9,
        "authpriv" => 10,
        "ftp" => 11,
        _ => {
            let d = n
                .strip_prefix("local")?
                .parse::<u8>()
                .ok()
                .filter(|d| *d <= 7)?;
            16 + d
        }
    })
}

/// Where the lines go, as the settings say.
pub struct Destinations<'a> {
    /// `stderr`, `file`, `syslog`, one or several.
    pub loggers: &'a [String],
    pub logfile: Option<&'a std::path::Path>,
    pub max_mib: u64,
    /// A syslog facility name (`LOG_DAEMON`).
    pub facility: &'a str,
}

/// Sends the lines that follow to every destination named. A syslog that cannot be reached
/// (no /dev/log: no syslog daemon) is left out with a warning, and when nothing is left the
/// lines go to standard error: a stock `logger = syslog,stderr` must not stop the agent.
pub fn configure(d: &Destinations) -> Result<(), String> {
    let mut dests = Vec::new();
    let mut lost = Vec::new();
    for name in d.loggers {
        dests.push(match name.trim().to_ascii_lowercase().as_str() {
            "stderr" => Destination::Stderr,
            "file" => {
                let path = d
                    .logfile
                    .ok_or("--logger file needs --logfile")?
                    .to_path_buf();
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| format!("cannot open the log file {}: {e}", path.display()))?;
                let size = file.metadata().map(|m| m.len()).unwrap_or(0);
                Destination::File {
                    path,
                    file,
                    size,
                    max: d.max_mib.saturating_mul(1024 * 1024),
                }
            }
            "syslog" => {
                let facility = facility(d.facility).ok_or_else(|| {
                    format!(
                        "unknown syslog facility {:?} (LOG_DAEMON, LOG_USER, LOG_LOCAL0…7, …)",
                        d.facility
                    )
                })?;
                let sock = UnixDatagram::unbound().map_err(|e| format!("syslog: {e}"))?;
                if let Err(e) = sock.connect("/dev/log") {
                    lost.push(format!(
                        "syslog: cannot reach /dev/log ({e}): lines go to the other loggers"
                    ));
                    continue;
                }
                Destination::Syslog { sock, facility }
            }
            other => {
                return Err(format!(
                    "unknown logger {other:?} (stderr, file or syslog, comma-separated)"
                ))
            }
        });
    }
    if dests.is_empty() {
        dests.push(Destination::Stderr);
    }
    *DEST.lock().unwrap_or_else(|e| e.into_inner()) = dests;
    for l in lost {
        log::warn!("{l}");
    }
    Ok(())
}

/// Whether lines go to standard error (where whoever started the agent sees them).
pub fn to_stderr() -> bool {
    let dests = DEST.lock().unwrap_or_else(|e| e.into_inner());
    dests.is_empty() || dests.iter().any(|d| matches!(d, Destination::Stderr))
}

/// Writes a line a task process logged (already tagged) where the agent's own lines go.
pub fn relay(line: &str) {
    let line = line.trim_end_matches(['\r', '\n']);
    if !line.is_empty() {
        write_line(&escape_controls(line));
    }
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
        assert_eq!(severity("[wakeonlan][warning] x"), 4);
        assert_eq!(severity("[core][error] x"), 3);
    }

    #[test]
    fn facilities_are_read_as_the_perl_agents_spell_them() {
        assert_eq!(facility("LOG_DAEMON"), Some(3));
        assert_eq!(facility("log_user"), Some(1));
        assert_eq!(facility("LOCAL7"), Some(23));
        assert_eq!(facility("LOG_LOCAL8"), None);
        assert_eq!(facility("nonsense"), None);
    }

    #[test]
    fn control_characters_cannot_leave_their_line() {
        assert_eq!(escape_controls("plain é"), "plain é");
        assert_eq!(
            escape_controls("a\n[core][error] forged\r\x1b[31mred\u{9b}\u{7f}"),
            "a\\n[core][error] forged\\r\\x1b[31mred\\u{9b}\\x7f"
        );
    }
}
