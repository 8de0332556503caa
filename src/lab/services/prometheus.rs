//! A managed Prometheus server for the lab: Debian's `prometheus` binary on a
//! free loopback port, with a temporary data directory, a 1 s scrape and
//! evaluation interval, the lab rule file (`monitoring/rules-lab.yml`,
//! compiled in) and one scrape job, `platform`, on the platform's /metrics.
//! Ready when `/-/ready` answers 200; killed with its process group and its
//! directory removed on drop, like Redis and PostgreSQL.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;

use super::process::{ProcessSpec, Supervised};

/// The lab rule file every lab Prometheus loads.
pub const LAB_RULES: &str = include_str!("../../../monitoring/rules-lab.yml");
/// The scrape job of the platform.
pub const PLATFORM_JOB: &str = "platform";
/// How often the lab's Prometheus scrapes and evaluates its rules.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// How long Prometheus may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a graceful stop may take before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// The lab's Prometheus could not start.
#[derive(Debug, thiserror::Error)]
pub enum PrometheusError {
    /// An I/O operation failed.
    #[error("prometheus: {action}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// The server exited or never became ready.
    #[error("prometheus did not become ready: {reason}\n--- last lines of {log} ---\n{tail}")]
    NotReady {
        /// Why.
        reason: String,
        /// Its log file.
        log: String,
        /// The end of that log.
        tail: String,
    },
}

/// A running Prometheus owned by gameday.
#[derive(Debug)]
pub struct ManagedPrometheus {
    port: u16,
    process: Option<Supervised>,
    // Declared last so it is dropped last: the directory goes after the process.
    dir: tempfile::TempDir,
}

impl ManagedPrometheus {
    /// Starts `binary` scraping `target`'s /metrics every second with the lab
    /// rules, and waits until it is ready.
    pub async fn start(binary: &Path, target: SocketAddr) -> Result<Self, PrometheusError> {
        let dir = tempfile::Builder::new()
            .prefix("gameday-prometheus-")
            .tempdir()
            .map_err(|source| io_error("create a temporary directory", source))?;
        std::fs::write(dir.path().join("rules-lab.yml"), LAB_RULES)
            .map_err(|source| io_error("write the rule file", source))?;
        std::fs::write(dir.path().join("prometheus.yml"), config(target))
            .map_err(|source| io_error("write the configuration", source))?;
        let mut service = Self {
            port: 0,
            process: None,
            dir,
        };
        // The free port we pick can be taken before Prometheus binds it: retry.
        let mut attempt = 0;
        loop {
            attempt += 1;
            service.port = free_port()?;
            match service.boot(binary).await {
                Ok(()) => return Ok(service),
                Err(error) if attempt >= 3 => return Err(error),
                Err(error) => tracing::debug!(%error, "retrying prometheus on another port"),
            }
        }
    }

    /// Its loopback address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// `http://127.0.0.1:PORT`: the web UI and the HTTP API (`/api/v1/...`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(Supervised::pid)
    }

    /// The directory holding its configuration, data and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Graceful stop (SIGTERM, SIGKILL after a grace period).
    pub async fn stop(&mut self) -> Result<(), PrometheusError> {
        if let Some(mut process) = self.process.take() {
            process
                .terminate(libc::SIGTERM, STOP_GRACE)
                .await
                .map_err(|source| io_error("stop", source))?;
        }
        Ok(())
    }

    async fn boot(&mut self, binary: &Path) -> Result<(), PrometheusError> {
        let log = self.log_path();
        let dir = self.dir.path();
        let spec = ProcessSpec {
            program: binary.to_path_buf(),
            args: [
                format!("--config.file={}", dir.join("prometheus.yml").display()),
                format!("--storage.tsdb.path={}", dir.join("data").display()),
                format!("--web.listen-address={}", self.addr()),
                "--storage.tsdb.retention.time=1d".to_owned(),
                "--log.level=warn".to_owned(),
            ]
            .into_iter()
            .map(Into::into)
            .collect(),
            run_as: None,
            log: log.clone(),
        };
        let mut process = Supervised::spawn(&spec).map_err(|source| io_error("start", source))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|error| io_error("build an HTTP client", std::io::Error::other(error)))?;
        let ready = format!("{}/-/ready", self.url());
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(response) = client.get(&ready).send().await
                && response.status().is_success()
            {
                self.process = Some(process);
                return Ok(());
            }
            match process.try_exit_status() {
                Ok(Some(status)) => {
                    return Err(not_ready(format!("exited with {status}"), &log));
                }
                Ok(None) => {}
                Err(source) => return Err(io_error("wait for the server", source)),
            }
            if Instant::now() >= deadline {
                let _ = process.kill().await;
                return Err(not_ready(
                    format!("/-/ready did not answer within {READY_TIMEOUT:?}"),
                    &log,
                ));
            }
            // Readiness is polled; start-up itself takes far longer than this.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("prometheus.log")
    }
}

impl Drop for ManagedPrometheus {
    fn drop(&mut self) {
        // Supervised's own Drop SIGKILLs the group.
        self.process.take();
    }
}

/// The configuration: 1 s intervals, the lab rules, the platform job.
fn config(target: SocketAddr) -> String {
    let seconds = INTERVAL.as_secs();
    format!(
        "# Written by gameday for the lab's Prometheus.\n\
         global:\n  scrape_interval: {seconds}s\n  scrape_timeout: {seconds}s\n  \
         evaluation_interval: {seconds}s\n\
         rule_files:\n  - rules-lab.yml\n\
         scrape_configs:\n  - job_name: {PLATFORM_JOB}\n    static_configs:\n      \
         - targets: ['{target}']\n"
    )
}

fn free_port() -> Result<u16, PrometheusError> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|source| io_error("find a free loopback port", source))
}

fn io_error(action: &'static str, source: std::io::Error) -> PrometheusError {
    PrometheusError::Io { action, source }
}

fn not_ready(reason: String, log: &Path) -> PrometheusError {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    PrometheusError::NotReady {
        reason,
        log: log.display().to_string(),
        tail: lines[lines.len().saturating_sub(20)..].join("\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_scrapes_the_platform_every_second_with_the_lab_rules() {
        let text = config(SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)));
        assert!(text.contains("scrape_interval: 1s"), "{text}");
        assert!(text.contains("evaluation_interval: 1s"), "{text}");
        assert!(text.contains("- rules-lab.yml"), "{text}");
        assert!(text.contains("job_name: platform"), "{text}");
        assert!(text.contains("- targets: ['127.0.0.1:8080']"), "{text}");
        assert!(LAB_RULES.contains("alert: LlmProviderDown"));
    }
}
