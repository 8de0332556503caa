//! `exec` faults: a command from the scenario file, run with `sh -c`, with a
//! timeout, for what gameday cannot do itself (kubectl, docker, systemctl).
//!
//! Trust model: a scenario file is code. Commands are only ever the strings
//! written in the scenario, never built from anything the target returns.
//!
//! Output: stdout and stderr are drained concurrently while the command runs
//! (a command that prints more than a pipe holds never blocks), and only the
//! last [`TAIL_BYTES`] of each are kept. The command is done when the shell
//! exits, not when every holder of its pipes has closed them: a background
//! child (`daemon & echo started`) keeps the pipe open, so reading stops
//! [`DRAIN_GRACE`] after the shell's exit.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

/// How much of the end of each stream is kept for the error message.
pub const TAIL_BYTES: usize = 64 * 1024;

/// How long output is still read after the shell exits (what it printed just
/// before exiting may still sit in the pipe).
pub const DRAIN_GRACE: Duration = Duration::from_millis(200);

/// Runs `command` with `sh -c`, killing its whole process group at `timeout`.
/// Ok when it exits 0; otherwise the error says the exit status and the end of its output.
pub async fn run(command: &str, timeout: Duration) -> Result<(), String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| format!("cannot run `{command}`: {error}"))?;
    let pid = child.id();
    let stdout = tokio::spawn(tail(child.stdout.take()));
    let stderr = tokio::spawn(tail(child.stderr.take()));
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Err(_) => {
            if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                // SAFETY: killpg has no memory-safety preconditions.
                unsafe { libc::killpg(pid, libc::SIGKILL) };
            }
            stdout.abort();
            stderr.abort();
            return Err(format!(
                "`{command}` did not finish within {timeout:?} (killed)"
            ));
        }
        Ok(Err(error)) => {
            stdout.abort();
            stderr.abort();
            return Err(format!("`{command}`: {error}"));
        }
        Ok(Ok(status)) => status,
    };
    // The shell is done; a background child may hold the pipes for ever, so
    // the rest of the output is read for a short grace only.
    let out = finish(stdout).await;
    let err = finish(stderr).await;
    if status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(if err.is_empty() { &out } else { &err });
    let tail: Vec<&str> = text.lines().rev().take(5).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    let tail = tail.join(" | ");
    // A single huge line stays a readable message: its last characters only.
    let skip = tail.chars().count().saturating_sub(MESSAGE_CHARS);
    let tail: String = tail.chars().skip(skip).collect();
    let ellipsis = if skip > 0 { "..." } else { "" };
    Err(format!("`{command}` failed ({status}): {ellipsis}{tail}"))
}

/// The most characters of output quoted in an error message.
const MESSAGE_CHARS: usize = 2000;

/// Reads a stream to its end, keeping its last [`TAIL_BYTES`] bytes.
async fn tail(stream: Option<impl AsyncRead + Unpin>) -> Vec<u8> {
    let Some(mut stream) = stream else {
        return Vec::new();
    };
    let mut kept = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(read) => {
                kept.extend_from_slice(&chunk[..read]);
                if kept.len() > 2 * TAIL_BYTES {
                    kept.drain(..kept.len() - TAIL_BYTES);
                }
            }
        }
    }
    if kept.len() > TAIL_BYTES {
        kept.drain(..kept.len() - TAIL_BYTES);
    }
    kept
}

/// The output a reader collected, waiting at most [`DRAIN_GRACE`] for it to
/// reach the end of its stream (empty if it does not).
async fn finish(reader: tokio::task::JoinHandle<Vec<u8>>) -> Vec<u8> {
    let abort = reader.abort_handle();
    match tokio::time::timeout(DRAIN_GRACE, reader).await {
        Ok(Ok(output)) => output,
        _ => {
            abort.abort();
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn success_failure_and_timeout() {
        assert_eq!(run("true", Duration::from_secs(10)).await, Ok(()));
        let failed = run("echo boom >&2; exit 3", Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(failed.contains("boom") && failed.contains('3'), "{failed}");
        let hung = run("sleep 30", Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(hung.contains("did not finish"), "{hung}");
    }

    #[tokio::test]
    async fn a_command_that_prints_megabytes_finishes_and_keeps_the_tail() {
        // 4 MiB on each stream: far beyond a pipe's buffer, so an undrained
        // pipe blocks the command until its timeout.
        let command = "head -c 4194304 /dev/zero | tr '\\0' x; \
                       head -c 4194304 /dev/zero | tr '\\0' y >&2; echo; echo last-line >&2; exit 4";
        let error = run(command, Duration::from_secs(60)).await.unwrap_err();
        assert!(
            error.contains("failed"),
            "{}",
            &error[..error.len().min(300)]
        );
        assert!(
            error.contains("last-line"),
            "{}",
            &error[..error.len().min(300)]
        );
        assert!(error.len() < 4 * 1024, "the message is bounded");
        let succeeding = command.replace("exit 4", "exit 0");
        assert_eq!(run(&succeeding, Duration::from_secs(60)).await, Ok(()));
    }

    #[tokio::test]
    async fn a_background_child_holding_the_pipe_does_not_hold_the_command() {
        let dir = tempfile::tempdir().expect("temp dir");
        let pid_file = dir.path().join("pid");
        let started = tokio::time::Instant::now();
        // The shell exits at once; `sleep` keeps stdout open for 60 s.
        let command = format!(
            "sleep 60 & echo $! > '{}'; echo started",
            pid_file.display()
        );
        let result = run(&command, Duration::from_secs(40)).await;
        let elapsed = started.elapsed();
        if let Ok(pid) = std::fs::read_to_string(&pid_file)
            && let Ok(pid) = pid.trim().parse::<i32>()
        {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        assert_eq!(result, Ok(()));
        assert!(
            elapsed < Duration::from_secs(30),
            "waited {elapsed:?} for the background child"
        );
    }
}
