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

    /// Sends `signal` to the whole process group.
    pub fn signal_group(&self, signal: libc::c_int) -> io::Result<()> {
        if self.reaped {
            return Ok(());
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
