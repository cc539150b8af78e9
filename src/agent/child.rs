//! Tasks run as child processes of the agent (the same binary, `uagent task NAME …`): their
//! memory goes back to the system when they end, a hung one is killed at its time limit, and
//! their log lines (already tagged `[inventory][…]`) are relayed to the agent's logger.

use std::fmt;
use std::process::Stdio;
use std::time::Duration;

use smol::future;
use smol::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use smol::process::Command;
use smol::stream::StreamExt;
use smol::Timer;

use super::PassArgs;
use crate::core::frame::FrameReader;
use crate::tasks;

/// Most bytes a task may write on its standard output (a compressed inventory is ~50 KB).
pub const MAX_TASK_OUTPUT: usize = 32 * 1024 * 1024;
/// Longest log line relayed from a task.
const MAX_LOG_LINE: usize = 4096;

#[derive(Debug)]
pub enum TaskError {
    Spawn(String),
    /// The task's arguments are past what a task reads ([`tasks::argv::MAX_ARGS_BYTES`]).
    Arguments(usize),
    TimedOut(Duration),
    Failed(String),
    OutputTooLarge,
    Io(String),
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            TaskError::Spawn(e) => write!(f, "cannot start the task process: {e}"),
            TaskError::Arguments(n) => write!(
                f,
                "cannot be started: its arguments take {n} bytes, more than the {} a task reads",
                tasks::argv::MAX_ARGS_BYTES
            ),
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

/// Starts `uagent ARGS…`, killed if dropped before it ends; its stdin is a pipe with `input`.
fn spawn(args: &[String], input: bool, stdout: Stdio) -> Result<smol::process::Child, TaskError> {
    let mut cmd = Command::new(own_binary());
    cmd.args(args)
        .stdin(if input { Stdio::piped() } else { Stdio::null() })
        .stdout(stdout)
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| TaskError::Spawn(e.to_string()))
}

/// Calls `each` with every line of `pipe`, cut at `MAX_LOG_LINE`.
async fn lines(pipe: Option<impl smol::io::AsyncRead + Unpin>, each: &dyn Fn(&str)) {
    if let Some(p) = pipe {
        let mut lines = BufReader::new(p).split(b'\n');
        while let Some(Ok(mut line)) = lines.next().await {
            line.truncate(MAX_LOG_LINE);
            each(String::from_utf8_lossy(&line).trim_end());
        }
    }
}

/// Writes `data` on a child's standard input and closes it. A child that dies before reading
/// says so by its exit code, not by this write.
async fn feed(stdin: Option<smol::process::ChildStdin>, data: &[u8]) {
    if let Some(mut pipe) = stdin {
        let _ = pipe.write_all(data).await;
    }
}

/// Waits for `work`, or fails with TimedOut after `limit` (dropping `work` kills the child).
async fn within<T>(
    limit: Duration,
    work: impl std::future::Future<Output = Result<T, TaskError>>,
) -> Result<T, TaskError> {
    future::or(work, async {
        Timer::after(limit).await;
        Err(TaskError::TimedOut(limit))
    })
    .await
}

/// What a task reads on its standard input: its name and arguments, never on its command
/// line, then its own input (a deployment job) if any.
fn task_input(task: &tasks::Command, job: Option<&[u8]>) -> Result<Vec<u8>, TaskError> {
    let mut input = tasks::argv::encode(&task.to_argv());
    if input.len() > tasks::argv::MAX_ARGS_BYTES {
        return Err(TaskError::Arguments(input.len()));
    }
    input.extend_from_slice(job.unwrap_or_default());
    Ok(input)
}

/// Runs `uagent task <name> <args…>` with a time limit and returns what it wrote on its
/// standard output (or lets it write on the agent's own with `inherit_stdout`). Its log
/// lines are relayed. `input` is written on its standard input (a job that must not be on its
/// command line, where every user can read it); without, the task reads /dev/null.
pub async fn run(
    task: &tasks::Command,
    limit: Duration,
    inherit_stdout: bool,
    job: Option<&[u8]>,
) -> Result<Vec<u8>, TaskError> {
    let name = task.name();
    let input = task_input(task, job)?;
    let mut child = spawn(
        &["task".to_string()],
        true,
        if inherit_stdout {
            Stdio::inherit()
        } else {
            Stdio::piped()
        },
    )?;
    log::debug!("started task {name} (pid {})", child.id());
    let stdin = child.stdin.take();
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
    let (out, status) = within(limit, async {
        let ((), (out, ())) = future::zip(
            feed(stdin, &input),
            future::zip(read_out, lines(stderr, &crate::core::logger::relay)),
        )
        .await;
        Ok((
            out,
            child
                .status()
                .await
                .map_err(|e| TaskError::Io(e.to_string()))?,
        ))
    })
    .await?;
    let out = out?;
    if status.success() {
        Ok(out)
    } else {
        Err(TaskError::Failed(status.to_string()))
    }
}

/// Runs a task that writes its results as frames ([`crate::core::frame`]) and hands each one
/// to `on_frame` as it arrives (the agent sends it to the server meanwhile; the task waits on
/// the pipe while it does). Same time limit, standard input and log relay as [`run`].
pub async fn run_frames(
    task: &tasks::Command,
    limit: Duration,
    mut on_frame: impl AsyncFnMut(Vec<u8>),
) -> Result<(), TaskError> {
    let name = task.name();
    let input = task_input(task, None)?;
    let mut child = spawn(&["task".to_string()], true, Stdio::piped())?;
    log::debug!("started task {name} (pid {})", child.id());
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let read_frames = async {
        let Some(mut out) = stdout else {
            return Ok(());
        };
        let mut reader = FrameReader::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = out
                .read(&mut buf)
                .await
                .map_err(|e| TaskError::Io(e.to_string()))?;
            if n == 0 {
                return reader.finish().map_err(|e| TaskError::Io(e.to_string()));
            }
            reader.push(&buf[..n]);
            while let Some(frame) = reader
                .next_frame()
                .map_err(|e| TaskError::Io(e.to_string()))?
            {
                on_frame(frame).await;
            }
        }
    };
    within(limit, async {
        let ((frames, ()), ()) = future::zip(
            future::zip(read_frames, lines(stderr, &crate::core::logger::relay)),
            feed(stdin, &input),
        )
        .await;
        let status = child
            .status()
            .await
            .map_err(|e| TaskError::Io(e.to_string()))?;
        frames?;
        if status.success() {
            Ok(())
        } else {
            Err(TaskError::Failed(status.to_string()))
        }
    })
    .await
}

/// Runs `uagent pass ARGS…` with a time limit, `settings` on its standard input, giving each
/// line it writes on stdout to `on_line` and relaying its log lines; returns its exit code.
pub async fn run_pass(
    pass: &PassArgs,
    settings: &str,
    limit: Duration,
    on_line: &dyn Fn(&str),
) -> Result<i32, TaskError> {
    let mut args = vec!["pass".to_string()];
    args.extend(pass.to_argv());
    let mut child = spawn(&args, true, Stdio::piped())?;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let status = within(limit, async {
        future::zip(
            feed(stdin, settings.as_bytes()),
            future::zip(
                lines(stdout, on_line),
                lines(stderr, &crate::core::logger::relay),
            ),
        )
        .await;
        child
            .status()
            .await
            .map_err(|e| TaskError::Io(e.to_string()))
    })
    .await?;
    Ok(status.code().unwrap_or(-1))
}
