//! `exec` faults: a command from the scenario file, run with `sh -c`, with a
//! timeout, for what gameday cannot do itself (kubectl, docker, systemctl).
//!
//! Trust model: a scenario file is code. Commands are only ever the strings
//! written in the scenario, never built from anything the target returns.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::Command;

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
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let output = async {
        let mut out = Vec::new();
        let mut err = Vec::new();
        if let Some(stdout) = stdout.as_mut() {
            let _ = stdout.take(64 * 1024).read_to_end(&mut out).await;
        }
        if let Some(stderr) = stderr.as_mut() {
            let _ = stderr.take(64 * 1024).read_to_end(&mut err).await;
        }
        (out, err)
    };
    let waited = tokio::time::timeout(timeout, async {
        let (out, err) = output.await;
        (child.wait().await, out, err)
    })
    .await;
    match waited {
        Err(_) => {
            if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                // SAFETY: killpg has no memory-safety preconditions.
                unsafe { libc::killpg(pid, libc::SIGKILL) };
            }
            Err(format!(
                "`{command}` did not finish within {timeout:?} (killed)"
            ))
        }
        Ok((Err(error), _, _)) => Err(format!("`{command}`: {error}")),
        Ok((Ok(status), _, _)) if status.success() => Ok(()),
        Ok((Ok(status), out, err)) => {
            let text = String::from_utf8_lossy(if err.is_empty() { &out } else { &err });
            let tail: Vec<&str> = text.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            Err(format!(
                "`{command}` failed ({status}): {}",
                tail.join(" | ")
            ))
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
}
