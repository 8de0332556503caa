//! A managed Redis or PostgreSQL server: started on a free loopback port in
//! its own temporary directory, checked ready with a real protocol round trip,
//! and broken on request (kill, freeze, stop) and brought back (thaw, restart)
//! on the same port with the same data directory.
//!
//! Each server gets a random password (PostgreSQL: `scram-sha-256` for the
//! `gameday` role; Redis: `requirepass`), so another local user cannot reach
//! it: a PostgreSQL superuser can run commands as the `postgres` account. The
//! password reaches the server through a file in the private temporary
//! directory, never a command line; it is handed to clients in [`ManagedService::url`],
//! registered with [`crate::redact`] and never printed.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::binaries::{Binaries, is_root};
use super::process::{ProcessSpec, Supervised};
use crate::scenario::Secret;

/// How long a server may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a graceful stop may take before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// The PostgreSQL role the lab uses (password auth, loopback only).
pub const POSTGRES_USER: &str = "gameday";

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    /// `redis-server`.
    Redis,
    /// PostgreSQL (`initdb` + `postgres`).
    Postgres,
}

impl std::fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Redis => "redis",
            Self::Postgres => "postgres",
        })
    }
}

/// What the process is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceState {
    /// Running and ready.
    Running,
    /// Stopped with SIGSTOP.
    Frozen,
    /// Killed with SIGKILL.
    Killed,
    /// Stopped gracefully.
    Stopped,
}

/// A managed service failed to start or to change state.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A binary is missing.
    #[error(transparent)]
    Missing(#[from] super::binaries::MissingBinaries),
    /// An I/O operation failed.
    #[error("{kind}: {action}: {source}")]
    Io {
        /// The service.
        kind: ServiceKind,
        /// What was being done.
        action: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The server exited or never answered.
    #[error("{kind} did not become ready: {reason}\n--- last lines of {log} ---\n{tail}")]
    NotReady {
        /// The service.
        kind: ServiceKind,
        /// Why.
        reason: String,
        /// Its log file.
        log: String,
        /// The end of that log.
        tail: String,
    },
    /// Running as root needs the unprivileged `postgres` account for PostgreSQL.
    #[error(
        "PostgreSQL refuses to run as root and there is no 'postgres' user to run it as \
         (install the postgresql package, or run gameday as a normal user)"
    )]
    NoPostgresUser,
    /// The action needs a running process.
    #[error("{kind} is {state:?}; cannot {action}")]
    WrongState {
        /// The service.
        kind: ServiceKind,
        /// Its state.
        state: ServiceState,
        /// The refused action.
        action: &'static str,
    },
}

/// A Redis or PostgreSQL server owned by gameday.
#[derive(Debug)]
pub struct ManagedService {
    kind: ServiceKind,
    binaries: Binaries,
    run_as: Option<(u32, u32)>,
    port: u16,
    /// Random per server; `Debug` prints `***`.
    password: Secret,
    process: Option<Supervised>,
    state: ServiceState,
    // Declared last so it is dropped last: the directory goes after the process.
    dir: tempfile::TempDir,
}

impl ManagedService {
    /// Starts `redis-server` (no persistence) on a free loopback port and waits until it answers PING.
    pub async fn start_redis(binaries: &Binaries) -> Result<Self, ServiceError> {
        Self::start(ServiceKind::Redis, binaries).await
    }

    /// Runs `initdb` into a temporary directory, starts `postgres` on a free
    /// loopback port and waits until it answers `SELECT 1`. When gameday runs
    /// as root, PostgreSQL runs as the `postgres` account.
    pub async fn start_postgres(binaries: &Binaries) -> Result<Self, ServiceError> {
        Self::start(ServiceKind::Postgres, binaries).await
    }

    async fn start(kind: ServiceKind, binaries: &Binaries) -> Result<Self, ServiceError> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("gameday-{kind}-"))
            .tempdir()
            .map_err(|source| io_error(kind, "create a temporary directory", source))?;
        let run_as = if kind == ServiceKind::Postgres && is_root() {
            let ids = postgres_account().ok_or(ServiceError::NoPostgresUser)?;
            std::os::unix::fs::chown(dir.path(), Some(ids.0), Some(ids.1)).map_err(|source| {
                io_error(kind, "hand the data directory to 'postgres'", source)
            })?;
            Some(ids)
        } else {
            None
        };
        let password =
            random_password().map_err(|source| io_error(kind, "generate a password", source))?;
        crate::redact::register(&password);
        let mut service = Self {
            kind,
            binaries: binaries.clone(),
            run_as,
            port: 0,
            password: Secret::new(password),
            process: None,
            state: ServiceState::Stopped,
            dir,
        };
        if kind == ServiceKind::Postgres {
            service.initdb().await?;
        } else {
            service.write_redis_config()?;
        }
        // The free port we pick can be taken before the server binds it: retry.
        let mut attempt = 0;
        loop {
            attempt += 1;
            service.port = free_port(kind)?;
            match service.boot().await {
                Ok(()) => return Ok(service),
                Err(error) if attempt >= 3 => return Err(error),
                Err(error) => tracing::debug!(%error, "retrying {kind} on another port"),
            }
        }
    }

    /// Which server this is.
    pub fn kind(&self) -> ServiceKind {
        self.kind
    }

    /// Its loopback address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A client URL with the password in it: `redis://:PASSWORD@127.0.0.1:P/`
    /// or `postgres://gameday:PASSWORD@127.0.0.1:P/postgres`. A secret: never
    /// print it (the redactor masks the password if it is).
    pub fn url(&self) -> String {
        url_for(self.kind, self.addr(), self.password())
    }

    /// The server's password (see [`Self::url`]).
    pub fn password(&self) -> &str {
        self.password.expose()
    }

    /// The process id of the server (the postmaster for PostgreSQL), while it has one.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(Supervised::pid)
    }

    /// What the server is doing now.
    pub fn state(&self) -> ServiceState {
        self.state
    }

    /// The directory holding its data and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// SIGKILL to the server and every process it forked: the crash a game day rehearses.
    pub async fn kill(&mut self) -> Result<(), ServiceError> {
        let kind = self.kind;
        if let Some(mut process) = self.process.take() {
            process
                .kill()
                .await
                .map_err(|source| io_error(kind, "send SIGKILL", source))?;
        }
        self.state = ServiceState::Killed;
        Ok(())
    }

    /// SIGSTOP: the server keeps its sockets open but answers nothing (a hang, not a refusal).
    pub fn freeze(&mut self) -> Result<(), ServiceError> {
        let process = self.running_process("freeze")?;
        process
            .freeze()
            .map_err(|source| io_error(self.kind, "send SIGSTOP", source))?;
        self.state = ServiceState::Frozen;
        Ok(())
    }

    /// SIGCONT: resumes a frozen server.
    pub fn thaw(&mut self) -> Result<(), ServiceError> {
        let kind = self.kind;
        if self.state != ServiceState::Frozen {
            return Ok(());
        }
        if let Some(process) = self.process.as_mut() {
            process
                .thaw()
                .map_err(|source| io_error(kind, "send SIGCONT", source))?;
        }
        self.state = ServiceState::Running;
        Ok(())
    }

    /// Graceful stop (SIGTERM, SIGKILL after a grace period).
    pub async fn stop(&mut self) -> Result<(), ServiceError> {
        let kind = self.kind;
        if let Some(mut process) = self.process.take() {
            process
                .terminate(libc::SIGTERM, STOP_GRACE)
                .await
                .map_err(|source| io_error(kind, "stop", source))?;
        }
        self.state = ServiceState::Stopped;
        Ok(())
    }

    /// Brings the server back on the same port and data directory (after a
    /// kill or stop; a frozen server is thawed; a running one is restarted).
    pub async fn restart(&mut self) -> Result<(), ServiceError> {
        if self.state == ServiceState::Frozen {
            self.thaw()?;
        }
        if self.process.is_some() {
            self.stop().await?;
        }
        // After SIGKILL, PostgreSQL backends may take a moment to notice the
        // dead postmaster and release shared memory: boot retries until ready.
        self.boot().await
    }

    fn running_process(&mut self, action: &'static str) -> Result<&mut Supervised, ServiceError> {
        let (kind, state) = (self.kind, self.state);
        match self.process.as_mut() {
            Some(process) if state == ServiceState::Running => Ok(process),
            _ => Err(ServiceError::WrongState {
                kind,
                state,
                action,
            }),
        }
    }

    /// `requirepass` in a config file only this user can read.
    fn write_redis_config(&self) -> Result<(), ServiceError> {
        let contents = format!("requirepass {}\n", self.password());
        write_private(&self.redis_config_path(), &contents, None)
            .map_err(|source| io_error(self.kind, "write redis.conf", source))
    }

    fn redis_config_path(&self) -> PathBuf {
        self.dir.path().join("redis.conf")
    }

    async fn initdb(&mut self) -> Result<(), ServiceError> {
        let kind = self.kind;
        let log = self.log_path();
        let pwfile = self.dir.path().join("pwfile");
        write_private(&pwfile, &format!("{}\n", self.password()), self.run_as)
            .map_err(|source| io_error(kind, "write the password file", source))?;
        let pwfile_arg = format!("--pwfile={}", pwfile.display());
        let result = self.run_initdb(&pwfile_arg, &log).await;
        let _ = std::fs::remove_file(&pwfile);
        result
    }

    async fn run_initdb(&mut self, pwfile_arg: &str, log: &Path) -> Result<(), ServiceError> {
        let kind = self.kind;
        let log = log.to_path_buf();
        let spec = ProcessSpec {
            program: self.binaries.initdb.clone(),
            args: os_args(&[
                "-D",
                &self.data_dir().display().to_string(),
                "-U",
                POSTGRES_USER,
                "--auth=scram-sha-256",
                pwfile_arg,
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ]),
            run_as: self.run_as,
            log: log.clone(),
        };
        let mut process =
            Supervised::spawn(&spec).map_err(|source| io_error(kind, "run initdb", source))?;
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            match process.try_exit_status() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => {
                    return Err(not_ready(kind, format!("initdb failed ({status})"), &log));
                }
                Ok(None) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Ok(None) => return Err(not_ready(kind, "initdb timed out".into(), &log)),
                Err(source) => return Err(io_error(kind, "wait for initdb", source)),
            }
        }
    }

    /// Starts the server process on `self.port` and waits until it is ready.
    async fn boot(&mut self) -> Result<(), ServiceError> {
        let kind = self.kind;
        let log = self.log_path();
        let spec = self.server_spec();
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut process =
            Supervised::spawn(&spec).map_err(|source| io_error(kind, "start", source))?;
        loop {
            if probe(kind, self.addr(), self.password()).await {
                self.process = Some(process);
                self.state = ServiceState::Running;
                return Ok(());
            }
            match process.try_exit_status() {
                Ok(Some(status)) => {
                    // PostgreSQL refuses to start while old backends hold its
                    // shared memory (just after a SIGKILL): try again until the deadline.
                    let tail = log_tail(&log);
                    if kind == ServiceKind::Postgres
                        && tail.contains("pre-existing shared memory block")
                        && Instant::now() < deadline
                    {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        process = Supervised::spawn(&spec)
                            .map_err(|source| io_error(kind, "start", source))?;
                        continue;
                    }
                    self.state = ServiceState::Stopped;
                    return Err(not_ready(kind, format!("exited with {status}"), &log));
                }
                Ok(None) => {}
                Err(source) => return Err(io_error(kind, "wait for the server", source)),
            }
            if Instant::now() >= deadline {
                let _ = process.kill().await;
                self.state = ServiceState::Stopped;
                return Err(not_ready(
                    kind,
                    format!("no answer on {} within {READY_TIMEOUT:?}", self.addr()),
                    &log,
                ));
            }
            // Readiness is polled; the server's own start-up takes far longer than this.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn server_spec(&self) -> ProcessSpec {
        let port = self.port.to_string();
        let dir = self.dir.path().display().to_string();
        let (program, args) = match self.kind {
            ServiceKind::Redis => (
                self.binaries.redis_server.clone(),
                os_args(&[
                    &self.redis_config_path().display().to_string(),
                    "--port",
                    &port,
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    &dir,
                ]),
            ),
            ServiceKind::Postgres => (
                self.binaries.postgres.clone(),
                os_args(&[
                    "-D",
                    &self.data_dir().display().to_string(),
                    "-p",
                    &port,
                    "-k",
                    &dir,
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                ]),
            ),
        };
        ProcessSpec {
            program,
            args,
            run_as: self.run_as,
            log: self.log_path(),
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join(format!("{}.log", self.kind))
    }
}

impl Drop for ManagedService {
    fn drop(&mut self) {
        // Supervised's own Drop SIGKILLs the group; thawing first is not needed
        // because SIGKILL also ends stopped processes.
        self.process.take();
    }
}

/// The client URL of a server of `kind` at `addr` (possibly a proxy in
/// front of it) with its `password` (hex, so it needs no escaping).
pub fn url_for(kind: ServiceKind, addr: SocketAddr, password: &str) -> String {
    match kind {
        ServiceKind::Redis => format!("redis://:{password}@{addr}/"),
        ServiceKind::Postgres => {
            format!("postgres://{POSTGRES_USER}:{password}@{addr}/postgres")
        }
    }
}

/// 32 random hex digits (128 bits) from the kernel.
fn random_password() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Writes a file only its owner can read (`owner`: hand it to that uid/gid).
fn write_private(path: &Path, contents: &str, owner: Option<(u32, u32)>) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
    }
    Ok(())
}

/// One readiness round trip, authenticated: Redis answers `AUTH` and
/// `PING`, PostgreSQL runs `SELECT 1`.
async fn probe(kind: ServiceKind, addr: SocketAddr, password: &str) -> bool {
    let attempt = async {
        match kind {
            ServiceKind::Redis => {
                let mut stream = TcpStream::connect(addr).await.ok()?;
                let request = format!("AUTH {password}\r\nPING\r\n");
                stream.write_all(request.as_bytes()).await.ok()?;
                let mut reply = [0u8; 12];
                stream.read_exact(&mut reply).await.ok()?;
                (&reply == b"+OK\r\n+PONG\r\n").then_some(())
            }
            ServiceKind::Postgres => {
                let config = format!(
                    "host=127.0.0.1 port={} user={POSTGRES_USER} password={password} dbname=postgres",
                    addr.port()
                );
                let (client, connection) = tokio_postgres::connect(&config, tokio_postgres::NoTls)
                    .await
                    .ok()?;
                let driver = tokio::spawn(connection);
                let ok = client.simple_query("SELECT 1").await.is_ok();
                drop(client);
                driver.abort();
                ok.then_some(())
            }
        }
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), attempt).await,
        Ok(Some(()))
    )
}

fn free_port(kind: ServiceKind) -> Result<u16, ServiceError> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|source| io_error(kind, "find a free loopback port", source))
}

/// uid and gid of the `postgres` account, from /etc/passwd.
fn postgres_account() -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != "postgres" {
            return None;
        }
        let _password = fields.next()?;
        let uid = fields.next()?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some((uid, gid))
    })
}

fn os_args(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

fn io_error(kind: ServiceKind, action: &str, source: std::io::Error) -> ServiceError {
    ServiceError::Io {
        kind,
        action: action.to_owned(),
        source,
    }
}

fn not_ready(kind: ServiceKind, reason: String, log: &Path) -> ServiceError {
    ServiceError::NotReady {
        kind,
        reason,
        log: log.display().to_string(),
        tail: log_tail(log),
    }
}

/// The last 20 lines of a log file (empty if unreadable).
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
