//! The configuration file: `key = value` lines with the reference agents' keys, `#` comments,
//! quotes, and `include "FILE"` or `include "DIR/"` (every `*.cfg` in name order).

use std::fs;
use std::path::{Path, PathBuf};

use super::compat::{self, Applied};
use super::Settings;

/// Configuration file read when `--conf-file` is not given (a missing one is fine).
pub const DEFAULT_CONF_FILE: &str = "/etc/uagent/agent.cfg";
/// Largest configuration file read (a larger one is an error that names it, never cut), and
/// deepest `include` chain.
pub const MAX_CONF_FILE: u64 = 256 * 1024;
const MAX_INCLUDE_DEPTH: usize = 4;
/// Most `*.cfg` files in an included folder (more is an error that names the folder).
pub const MAX_INCLUDED_FILES: usize = 256;
/// Most files, and bytes, read for one load of the configuration, includes and all: a
/// reload (SIGHUP, on the daemon's one thread) does a bounded amount of work, whatever the
/// nesting of includes.
pub const MAX_FILES_PER_LOAD: usize = 512;
pub const MAX_BYTES_PER_LOAD: u64 = 4 * 1024 * 1024;

/// What one load may still read.
struct Budget {
    files: usize,
    bytes: u64,
}

impl Budget {
    fn new() -> Budget {
        Budget {
            files: MAX_FILES_PER_LOAD,
            bytes: MAX_BYTES_PER_LOAD,
        }
    }
}

impl Settings {
    /// Reads a configuration file into these settings. Unknown keys are not errors (a newer
    /// file on an older agent must not stop it): each is added to `notes`, for the caller to
    /// log once the logger is set up. Bad values are errors.
    pub fn load_file(&mut self, path: &Path, notes: &mut Vec<String>) -> Result<(), String> {
        self.load_file_at(path, 0, notes, &mut Budget::new())
    }

    /// Reads settings from `text`, as [`Settings::to_text`] writes them (`name` says where
    /// they come from in errors). No includes.
    pub fn load_text(&mut self, text: &str, name: &str) -> Result<(), String> {
        let mut notes = Vec::new();
        self.load_lines(
            text,
            Path::new(name),
            usize::MAX,
            &mut notes,
            &mut Budget::new(),
        )?;
        match notes.first() {
            Some(n) => Err(n.clone()),
            None => Ok(()),
        }
    }

    /// Reads one file: opened without blocking and only if it is a regular file (a FIFO
    /// cannot freeze a reload), refused whole when larger than [`MAX_CONF_FILE`] or past
    /// what the load may still read.
    fn load_file_at(
        &mut self,
        path: &Path,
        depth: usize,
        notes: &mut Vec<String>,
        budget: &mut Budget,
    ) -> Result<(), String> {
        let at = path.display();
        if budget.files == 0 {
            return Err(format!(
                "{at}: more than {MAX_FILES_PER_LOAD} configuration files in one load (includes)"
            ));
        }
        budget.files -= 1;
        let file =
            crate::sys::root::open_regular(path).map_err(|e| format!("cannot read {at}: {e}"))?;
        let mut data = Vec::new();
        let cut = crate::sys::root::read_capped(file, MAX_CONF_FILE as usize, &mut data)
            .map_err(|e| format!("cannot read {at}: {e}"))?;
        if cut {
            return Err(format!(
                "{at}: larger than {MAX_CONF_FILE} bytes, the most a configuration file may hold"
            ));
        }
        let len = data.len() as u64;
        if len > budget.bytes {
            return Err(format!(
                "{at}: the configuration with its includes is larger than {MAX_BYTES_PER_LOAD} bytes"
            ));
        }
        budget.bytes -= len;
        let text = String::from_utf8(data).map_err(|_| format!("{at}: not UTF-8 text"))?;
        self.load_lines(&text, path, depth, notes, budget)
    }

    fn load_lines(
        &mut self,
        text: &str,
        path: &Path,
        depth: usize,
        notes: &mut Vec<String>,
        budget: &mut Budget,
    ) -> Result<(), String> {
        for (n, raw) in text.lines().enumerate() {
            let at = || format!("{}:{}", path.display(), n + 1);
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix("include") {
                if depth >= MAX_INCLUDE_DEPTH {
                    return Err(format!("{}: includes nested too deep", at()));
                }
                let target = unquote(rest.trim());
                let target = path.parent().unwrap_or(Path::new("/")).join(target);
                self.include(&target, depth + 1, notes, budget)?;
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(format!("{}: expected `key = value`", at()));
            };
            let value = unquote(value.trim());
            if super::key(key).is_some() {
                self.set(key, &value)
                    .map_err(|e| format!("{}: {e}", at()))?;
                continue;
            }
            match compat::apply(self, key, &value).map_err(|e| format!("{}: {e}", at()))? {
                Applied::Done => {}
                Applied::Notice(n) => notes.push(format!("{}: {n}", at())),
                Applied::Unknown => {
                    let hint = compat::closest(key, super::KEYS.iter().map(|k| k.name))
                        .map(|k| format!(" (did you mean {k}?)"))
                        .unwrap_or_default();
                    notes.push(format!(
                        "{}: unknown setting {:?}, ignored{hint}",
                        at(),
                        key.trim()
                    ));
                }
            }
        }
        Ok(())
    }

    /// `include "conf.d/"` reads every `*.cfg` of a directory in name order.
    fn include(
        &mut self,
        target: &Path,
        depth: usize,
        notes: &mut Vec<String>,
        budget: &mut Budget,
    ) -> Result<(), String> {
        if target.is_dir() {
            let mut files: Vec<PathBuf> = fs::read_dir(target)
                .map_err(|e| format!("cannot read {}: {e}", target.display()))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "cfg"))
                .take(MAX_INCLUDED_FILES + 1)
                .collect();
            if files.len() > MAX_INCLUDED_FILES {
                return Err(format!(
                    "{}: more than {MAX_INCLUDED_FILES} configuration files, the most an included folder may hold",
                    target.display()
                ));
            }
            files.sort();
            for f in &files {
                self.load_file_at(f, depth, notes, budget)?;
            }
            Ok(())
        } else if target.exists() {
            self.load_file_at(target, depth, notes, budget)
        } else {
            Ok(())
        }
    }
}

/// Strips surrounding quotes; an unquoted value loses a trailing ` # comment`.
fn unquote(v: &str) -> String {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        return v[1..v.len() - 1].to_string();
    }
    match v.find(" #") {
        Some(i) => v[..i].trim_end().to_string(),
        None => v.to_string(),
    }
}
