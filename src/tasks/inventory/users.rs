//! Local accounts and groups (LOCAL_USERS, LOCAL_GROUPS) from `/etc/passwd` and `/etc/group`.

use std::io;

use super::sink::{Section, Sink};
use super::{Category, Context};

/// Most accounts or groups listed.
pub const MAX_ENTRIES: usize = 65_536;

pub fn collect(ctx: &mut Context, sink: &mut dyn Sink) -> io::Result<()> {
    let root = ctx.root;
    if ctx.opts.wants(Category::LocalUser) {
        if let Some(mut lines) = root.lines("/etc/passwd") {
            let mut n = 0;
            while let Some(line) = lines.next_line() {
                let f: Vec<&str> = line.split(':').collect();
                // NIS markers (`+`, `-`) and broken lines are not accounts.
                if f.len() < 7 || f[0].is_empty() || f[0].starts_with(['+', '-']) {
                    continue;
                }
                n += 1;
                if n > MAX_ENTRIES {
                    break;
                }
                sink.begin(Section::LocalUsers)?;
                sink.text("LOGIN", f[0])?;
                sink.text("ID", f[2])?;
                sink.text("NAME", f[4].split(',').next().unwrap_or(""))?;
                sink.text("HOME", f[5])?;
                sink.text("SHELL", f[6])?;
                sink.end()?;
            }
        }
    }
    if ctx.opts.wants(Category::LocalGroup) {
        if let Some(mut lines) = root.lines("/etc/group") {
            let mut n = 0;
            while let Some(line) = lines.next_line() {
                let f: Vec<&str> = line.split(':').collect();
                if f.len() < 3 || f[0].is_empty() || f[2].is_empty() || f[0].starts_with(['+', '-'])
                {
                    continue;
                }
                n += 1;
                if n > MAX_ENTRIES {
                    break;
                }
                sink.begin(Section::LocalGroups)?;
                sink.text("ID", f[2])?;
                sink.text("NAME", f[0])?;
                for member in f.get(3).unwrap_or(&"").split(',').filter(|m| !m.is_empty()) {
                    sink.text("MEMBER", member)?;
                }
                sink.end()?;
            }
        }
    }
    Ok(())
}
