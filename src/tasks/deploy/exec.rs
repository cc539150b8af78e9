//! Running a deployment's command: `/bin/sh -c COMMAND` in the package's work folder, in a
//! process group of its own, with a clean environment (`PATH`, `LC_ALL=C`, `LANG=C`, `HOME`, and
//! what the job adds), standard input from /dev/null, standard output and error in one pipe of
//! which only the last lines are kept, and a time limit: at the limit the whole group is killed.
//!
//! A command that ends while something it started in the background still holds its output is
//! not waited for, and that background process is left alone (an install script may start a
//! service); only the time limit kills the group.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use async_io::{Async, Timer};
use smol::future;
use smol::io::AsyncReadExt;

/// Longest line kept from a command's output.
pub const MAX_LINE_BYTES: usize = 1024;
/// Most lines kept from a command's output (its last ones).
pub const MAX_LINES: usize = 1000;
/// The search path of the commands (the environment is otherwise empty).
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// How long output is still read once the command itself has ended.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(300);
/// How often the command's state is looked at while it runs quietly.
const POLL: Duration = Duration::from_millis(100);

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    Exited(i32),
    /// Killed by a signal it was not sent by us.
    Signaled(i32),
    /// Killed (with its process group) at the time limit.
    TimedOut,
    /// Could not be started.
    NotStarted(String),
}

#[derive(Debug)]
pub struct Ran {
    pub ending: Ending,
    /// The last lines of its output (standard output and error together), at most `keep`.
    pub lines: Vec<String>,
    /// Bytes of output it wrote in all.
    pub output_bytes: u64,
    pub took: Duration,
}

/// What to run.
pub struct Spec<'a> {
    pub command: &'a str,
    pub dir: &'a Path,
    /// Added to the clean environment (GLPI's `envs`).
    pub env: &'a [(String, String)],
    pub limit: Duration,
    /// How many of the last output lines to keep (at most [`MAX_LINES`]).
    pub keep: usize,
}

/// Keeps the last lines of a stream.
struct Tail {
    lines: VecDeque<String>,
    current: Vec<u8>,
    keep: usize,
    bytes: u64,
}

impl Tail {
    fn push(&mut self, data: &[u8]) {
        self.bytes += data.len() as u64;
        for &b in data {
            if b == b'\n' {
                self.end_line();
            } else if self.current.len() < MAX_LINE_BYTES {
                self.current.push(b);
            }
        }
    }

    fn end_line(&mut self) {
        let line = String::from_utf8_lossy(&self.current).trim_end_matches('\r').to_string();
        self.current.clear();
        if self.keep == 0 {
            return;
        }
        if self.lines.len() == self.keep {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }
}

/// Whether an environment variable name can be set (no `=`, no NUL, not empty).
pub fn valid_env_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['=', '\0'])
}

/// Runs the command to its end or its time limit.
pub async fn run(spec: &Spec<'_>) -> Ran {
    let started = Instant::now();
    let mut tail = Tail {
        lines: VecDeque::new(),
        current: Vec::new(),
        keep: spec.keep.min(MAX_LINES),
        bytes: 0,
    };
    let not_started = |e: String, tail: Tail| Ran {
        ending: Ending::NotStarted(e),
        lines: tail.lines.into(),
        output_bytes: 0,
        took: started.elapsed(),
    };
    let (read_end, write_end) = match nix::unistd::pipe() {
        Ok(p) => p,
        Err(e) => return not_started(format!("cannot make a pipe: {e}"), tail),
    };
    let write_err = match write_end.try_clone() {
        Ok(w) => w,
        Err(e) => return not_started(format!("cannot make a pipe: {e}"), tail),
    };
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(spec.command)
        .current_dir(spec.dir)
        .env_clear()
        .env("PATH", PATH)
        .env("LC_ALL", "C")
        .env("LANG", "C")
        .env("HOME", spec.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(write_end))
        .stderr(Stdio::from(write_err))
        .process_group(0);
    for (k, v) in spec.env {
        if valid_env_name(k) && !v.contains('\0') {
            cmd.env(k, v);
        }
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return not_started(e.to_string(), tail),
    };
    // The write ends went with `cmd`'s Stdio into the child; dropping `cmd` closes ours.
    drop(cmd);
    let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
    let mut pipe = Async::new(File::from(read_end)).ok();
    let deadline = started + spec.limit;
    let mut buf = [0u8; 4096];
    let mut exited_at: Option<Instant> = None;
    let mut status = None;
    loop {
        let now = Instant::now();
        if status.is_none() && now >= deadline {
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            tail.end_line_if_any();
            return Ran {
                ending: Ending::TimedOut,
                lines: tail.lines.into(),
                output_bytes: tail.bytes,
                took: started.elapsed(),
            };
        }
        if status.is_none() {
            if let Ok(Some(s)) = child.try_wait() {
                status = Some(s);
                exited_at = Some(now);
            }
        }
        if let Some(at) = exited_at {
            if pipe.is_none() || now.duration_since(at) >= DRAIN_AFTER_EXIT {
                break;
            }
        }
        let wait = POLL.min(deadline.saturating_duration_since(now).max(Duration::from_millis(1)));
        match &mut pipe {
            Some(p) => {
                let got = future::or(async { Some(p.read(&mut buf).await) }, async {
                    Timer::after(wait).await;
                    None
                })
                .await;
                match got {
                    Some(Ok(0)) | Some(Err(_)) => pipe = None,
                    Some(Ok(n)) => tail.push(&buf[..n]),
                    None => {}
                }
            }
            None => {
                Timer::after(wait).await;
            }
        }
    }
    tail.end_line_if_any();
    let status = status.expect("the loop ends only once the command has ended");
    let ending = match (status.code(), status.signal()) {
        (Some(c), _) => Ending::Exited(c),
        (None, Some(s)) => Ending::Signaled(s),
        (None, None) => Ending::Signaled(0),
    };
    Ran {
        ending,
        lines: tail.lines.into(),
        output_bytes: tail.bytes,
        took: started.elapsed(),
    }
}

impl Tail {
    fn end_line_if_any(&mut self) {
        if !self.current.is_empty() {
            self.end_line();
        }
    }
}

/// Makes a file executable by everyone (`chmod 755`, as OCS's LAUNCH does).
pub fn make_executable(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_sh(command: &str, limit_ms: u64, keep: usize) -> Ran {
        let dir = std::env::temp_dir();
        let env = vec![("EXTRA".to_string(), "x y".to_string())];
        smol::block_on(run(&Spec {
            command,
            dir: &dir,
            env: &env,
            limit: Duration::from_millis(limit_ms),
            keep,
        }))
    }

    #[test]
    fn exit_codes_output_and_environment() {
        let r = run_sh("echo out; echo err >&2; echo \"$EXTRA|$LC_ALL|${SECRET:-none}\"; exit 3", 10_000, 10);
        assert_eq!(r.ending, Ending::Exited(3));
        assert_eq!(r.lines, ["out", "err", "x y|C|none"]);
        let r = run_sh("read x; echo \"got:$x\"", 10_000, 10);
        assert_eq!(r.lines, ["got:"], "stdin is /dev/null");
        let r = run_sh("i=0; while [ $i -lt 50 ]; do echo line$i; i=$((i+1)); done", 10_000, 5);
        assert_eq!(r.lines, ["line45", "line46", "line47", "line48", "line49"]);
        assert!(r.output_bytes > 300);
    }

    #[test]
    fn the_time_limit_kills_the_whole_group() {
        let mark = std::env::temp_dir().join(format!("uagent-exec-{}", std::process::id()));
        let _ = std::fs::remove_file(&mark);
        let cmd = format!("(sleep 2; touch {}) & sleep 30", mark.display());
        let r = run_sh(&cmd, 300, 10);
        assert_eq!(r.ending, Ending::TimedOut);
        assert!(r.took < Duration::from_secs(5), "{:?}", r.took);
        std::thread::sleep(Duration::from_millis(2500));
        assert!(!mark.exists(), "a process of the group survived the limit");
    }

    #[test]
    fn a_background_process_is_not_waited_for() {
        let r = run_sh("sleep 20 & echo started", 10_000, 10);
        assert_eq!(r.ending, Ending::Exited(0));
        assert!(r.took < Duration::from_secs(5), "{:?}", r.took);
        assert_eq!(r.lines, ["started"]);
    }
}
