//! Tasks run as child processes of the agent (the same binary, `uagent task NAME …`): their
//! memory goes back to the system when they end, a hung one is killed at its time limit, and
//! their log lines (already tagged `[inventory][…]`) are relayed to the agent's logger.

use std::fmt;
use std::process::Stdio;
use std::time::Duration;

use smol::future;
use smol::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use smol::process::Command;
use smol::stream::StreamExt;
use smol::Timer;

/// Most bytes a task may write on its standard output (a compressed inventory is ~50 KB).
pub const MAX_TASK_OUTPUT: usize = 32 * 1024 * 1024;
/// Longest log line relayed from a task.
const MAX_LOG_LINE: usize = 4096;

#[derive(Debug)]
pub enum TaskError {
    Spawn(String),
    TimedOut(Duration),
    Failed(String),
    OutputTooLarge,
    Io(String),
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            TaskError::Spawn(e) => write!(f, "cannot start the task process: {e}"),
            TaskError::TimedOut(d) => write!(f, "killed after its time limit of {} s", d.as_secs()),
            TaskError::Failed(status) => write!(f, "ended with {status}"),
            TaskError::OutputTooLarge => write!(f, "wrote more than {MAX_TASK_OUTPUT} bytes"),
            TaskError::Io(e) => write!(f, "cannot read the task's output: {e}"),
        }
    }
}

/// The binary to re-execute for tasks.
fn own_binary() -> std::path::PathBuf {
    std::env::current_exe().unwrap_or_else(|_| {
        std::path::PathBuf::from(std::env::args().next().unwrap_or_else(|| "uagent".into()))
    })
}

/// Runs `uagent task <name> <args…>` with a time limit and returns what it wrote on its
/// standard output (or lets it write on the agent's own with `inherit_stdout`).
pub async fn run(
    name: &str,
    args: &[String],
    limit: Duration,
    inherit_stdout: bool,
) -> Result<Vec<u8>, TaskError> {
    let mut child = Command::new(own_binary())
        .arg("task")
        .arg(name)
        .args(args)
        .stdin(Stdio::null())
        .stdout(if inherit_stdout {
            Stdio::inherit()
        } else {
            Stdio::piped()
        })
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| TaskError::Spawn(e.to_string()))?;
    log::debug!("started task {name} (pid {})", child.id());
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();

    let read_out = async {
        let mut out = Vec::new();
        if let Some(s) = stdout {
            let mut limited = s.take(MAX_TASK_OUTPUT as u64 + 1);
            limited
                .read_to_end(&mut out)
                .await
                .map_err(|e| TaskError::Io(e.to_string()))?;
        }
        if out.len() > MAX_TASK_OUTPUT {
            return Err(TaskError::OutputTooLarge);
        }
        Ok(out)
    };
    let relay = async {
        if let Some(s) = stderr {
            let mut lines = BufReader::new(s).split(b'\n');
            while let Some(Ok(mut line)) = lines.next().await {
                line.truncate(MAX_LOG_LINE);
                crate::logger::relay(&String::from_utf8_lossy(&line));
            }
        }
    };
    let work = async {
        let (out, ()) = future::zip(read_out, relay).await;
        let status = child
            .status()
            .await
            .map_err(|e| TaskError::Io(e.to_string()))?;
        Ok::<_, TaskError>((out, status))
    };
    let timer = async {
        Timer::after(limit).await;
        Err(TaskError::TimedOut(limit))
    };
    match future::or(work, timer).await {
        Ok((out, status)) => {
            let out = out?;
            if status.success() {
                Ok(out)
            } else {
                Err(TaskError::Failed(status.to_string()))
            }
        }
        Err(e) => Err(e),
    }
    // On a timeout, `child` is dropped here and killed (kill_on_drop).
}

/// Runs `uagent [TASK] ARGS…` with a time limit, giving each line it writes on stdout to
/// `on_line`; returns its exit code.
pub async fn run_with_lines(
    task: Option<&str>,
    args: &[String],
    limit: Duration,
    on_line: &dyn Fn(&str),
) -> Result<i32, TaskError> {
    let mut cmd = Command::new(own_binary());
    if let Some(t) = task {
        cmd.arg("task").arg(t);
    }
    let mut child = cmd
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| TaskError::Spawn(e.to_string()))?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let read_out = async {
        if let Some(s) = stdout {
            let mut lines = BufReader::new(s).split(b'\n');
            while let Some(Ok(mut line)) = lines.next().await {
                line.truncate(MAX_LOG_LINE);
                on_line(String::from_utf8_lossy(&line).trim_end());
            }
        }
    };
    let relay = async {
        if let Some(s) = stderr {
            let mut lines = BufReader::new(s).split(b'\n');
            while let Some(Ok(mut line)) = lines.next().await {
                line.truncate(MAX_LOG_LINE);
                crate::logger::relay(&String::from_utf8_lossy(&line));
            }
        }
    };
    let work = async {
        future::zip(read_out, relay).await;
        child
            .status()
            .await
            .map_err(|e| TaskError::Io(e.to_string()))
    };
    let timer = async {
        Timer::after(limit).await;
        Err(TaskError::TimedOut(limit))
    };
    let status = future::or(work, timer).await?;
    Ok(status.code().unwrap_or(-1))
}
