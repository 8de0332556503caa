//! One supervised child process and the signals a game day sends it.
//!
//! Each child leads its own process group, so a signal reaches the server and
//! every worker it forked (PostgreSQL backends included), and gets SIGKILL
//! from the kernel if the thread that spawned it dies (`PR_SET_PDEATHSIG`), so
//! even a runner killed with SIGKILL leaves no server behind.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::{Child, Command};

/// What to run.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Run as this (uid, gid) instead of ours.
    pub run_as: Option<(u32, u32)>,
    /// stdout and stderr are appended here.
    pub log: PathBuf,
}

/// A running (or frozen, or exited) child process.
#[derive(Debug)]
pub struct Supervised {
    child: Child,
    pid: i32,
    frozen: bool,
    reaped: bool,
}

impl Supervised {
    /// Starts the process in its own process group.
    pub fn spawn(spec: &ProcessSpec) -> io::Result<Self> {
        let log = File::options().create(true).append(true).open(&spec.log)?;
        let mut command = Command::new(&spec.program);
        command
            .args(&spec.args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .process_group(0)
            .kill_on_drop(true);
        if let Some((uid, gid)) = spec.run_as {
            command.uid(uid).gid(gid);
        }
        // SAFETY: the closure only calls prctl, which is async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn()?;
        let pid = child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .ok_or_else(|| io::Error::other("spawned child has no pid"))?;
        Ok(Self {
            child,
            pid,
            frozen: false,
            reaped: false,
        })
    }

    /// The process id (also the process group id).
    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// Whether the process is stopped with SIGSTOP.
    pub fn is_frozen(&self) -> bool {
        self.frozen
    }

    /// Sends `signal` to the whole process group, and to every descendant
    /// that left it: PostgreSQL backends call `setsid()`, so a signal to the
    /// postmaster's group alone would leave open connections answering.
    pub fn signal_group(&self, signal: libc::c_int) -> io::Result<()> {
        if self.reaped {
            return Ok(());
        }
        // Descendants first, before a SIGKILLed leader can orphan them.
        for pid in descendants(self.pid) {
            // SAFETY: kill has no memory-safety preconditions. A descendant
            // that exited meanwhile (ESRCH) is what we wanted anyway.
            unsafe { libc::kill(pid, signal) };
        }
        // SAFETY: killpg has no memory-safety preconditions.
        if unsafe { libc::killpg(self.pid, signal) } != 0 {
            let error = io::Error::last_os_error();
            // ESRCH: the group is already gone, which is what we wanted.
            if error.raw_os_error() != Some(libc::ESRCH) {
                return Err(error);
            }
        }
        Ok(())
    }

    /// SIGSTOP: the process hangs with its sockets open (a frozen server, not a dead one).
    pub fn freeze(&mut self) -> io::Result<()> {
        self.signal_group(libc::SIGSTOP)?;
        self.frozen = true;
        Ok(())
    }

    /// SIGCONT: resumes a frozen process.
    pub fn thaw(&mut self) -> io::Result<()> {
        self.signal_group(libc::SIGCONT)?;
        self.frozen = false;
        Ok(())
    }

    /// SIGKILL to the whole group, then reaps the process.
    pub async fn kill(&mut self) -> io::Result<()> {
        self.signal_group(libc::SIGKILL)?;
        self.frozen = false;
        self.child.wait().await?;
        self.reaped = true;
        Ok(())
    }

    /// Sends `signal` (e.g. SIGTERM), waits up to `grace` for the exit, then SIGKILLs.
    pub async fn terminate(&mut self, signal: libc::c_int, grace: Duration) -> io::Result<()> {
        if self.reaped {
            return Ok(());
        }
        if self.frozen {
            self.thaw()?;
        }
        self.signal_group(signal)?;
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            return self.kill().await;
        }
        self.reaped = true;
        // Workers of the group may outlive the leader for a moment.
        self.signal_group(libc::SIGKILL)
    }

    /// The exit status, if the process has exited.
    pub fn try_exit_status(&mut self) -> io::Result<Option<ExitStatus>> {
        let status = self.child.try_wait()?;
        if status.is_some() {
            self.reaped = true;
        }
        Ok(status)
    }
}

/// Every process whose chain of parents leads to `root`, from /proc.
fn descendants(root: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parents: Vec<(i32, i32)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            let after_comm = &stat[stat.rfind(')')? + 1..];
            let ppid: i32 = after_comm.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for &(pid, ppid) in &parents {
            if ppid == parent && !found.contains(&pid) {
                found.push(pid);
                frontier.push(pid);
            }
        }
    }
    found
}

impl Drop for Supervised {
    fn drop(&mut self) {
        if !self.reaped {
            // SIGKILL works on stopped processes too; kill_on_drop reaps the leader.
            let _ = self.signal_group(libc::SIGKILL);
        } else {
            // The leader is gone but forked workers may remain in the group.
            // SAFETY: killpg has no memory-safety preconditions.
            unsafe { libc::killpg(self.pid, libc::SIGKILL) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn signals_reach_children_that_left_the_group() {
        let dir = tempfile::tempdir().expect("temp dir");
        // The child leaves the group with setsid, as PostgreSQL backends do.
        let spec = ProcessSpec {
            program: "sh".into(),
            args: vec!["-c".into(), "setsid sleep 300 & wait".into()],
            run_as: None,
            log: dir.path().join("log"),
        };
        let mut process = Supervised::spawn(&spec).expect("spawn");
        let mut children = Vec::new();
        for _ in 0..200 {
            children = descendants(process.pid() as i32);
            if !children.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(!children.is_empty(), "the setsid child never appeared");
        process.kill().await.expect("kill");
        for child in children {
            let gone = (0..200).any(|_| {
                let alive = std::fs::read_to_string(format!("/proc/{child}/stat"))
                    .map(|stat| !stat.contains(") Z "))
                    .unwrap_or(false);
                if alive {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                !alive
            });
            assert!(gone, "child {child} outlived SIGKILL to its parent's group");
        }
    }
}
