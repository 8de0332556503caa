//! Finding (and, when allowed, installing) the Redis and PostgreSQL server
//! binaries, and finding Prometheus (optional: a lab without it runs without
//! monitoring, and it is never installed from here).
//!
//! Lookup order for each binary: an environment override
//! (`GAMEDAY_REDIS_SERVER`, `GAMEDAY_PG_BINDIR`, `GAMEDAY_PROMETHEUS`), then
//! `PATH` (redis-server, prometheus, and initdb/postgres where a distribution
//! puts them there), then the newest `/usr/lib/postgresql/<version>/bin`
//! (Debian and Ubuntu).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Paths to the server binaries the lab needs.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// `redis-server`.
    pub redis_server: PathBuf,
    /// PostgreSQL's `initdb`.
    pub initdb: PathBuf,
    /// PostgreSQL's `postgres` server.
    pub postgres: PathBuf,
    /// `prometheus` (Debian's `prometheus` package), if installed.
    pub prometheus: Option<PathBuf>,
}

/// Some server binaries could not be found; the message says how to get them.
#[derive(Debug, thiserror::Error)]
#[error(
    "missing server binaries: {}.\n  Install them with:  sudo apt-get install -y {}\n  \
     (or point GAMEDAY_REDIS_SERVER / GAMEDAY_PG_BINDIR at existing ones)",
    missing.join(", "),
    packages.join(" ")
)]
pub struct MissingBinaries {
    /// The binaries that were not found.
    pub missing: Vec<&'static str>,
    /// The Debian packages that provide them.
    pub packages: Vec<&'static str>,
}

impl Binaries {
    /// Finds every binary, or says exactly which are missing and how to install them.
    pub fn locate() -> Result<Self, MissingBinaries> {
        let redis_server = std::env::var_os("GAMEDAY_REDIS_SERVER")
            .map(PathBuf::from)
            .or_else(|| find_on_path("redis-server"));
        let pg_dir = std::env::var_os("GAMEDAY_PG_BINDIR").map(PathBuf::from);
        let initdb = find_postgres_binary(pg_dir.as_deref(), "initdb");
        let postgres = find_postgres_binary(pg_dir.as_deref(), "postgres");
        let mut missing = Vec::new();
        let mut packages = Vec::new();
        if redis_server.is_none() {
            missing.push("redis-server");
            packages.push("redis-server");
        }
        if initdb.is_none() {
            missing.push("initdb");
        }
        if postgres.is_none() {
            missing.push("postgres");
        }
        if initdb.is_none() || postgres.is_none() {
            packages.push("postgresql");
        }
        match (redis_server, initdb, postgres) {
            (Some(redis_server), Some(initdb), Some(postgres)) => Ok(Self {
                redis_server,
                initdb,
                postgres,
                prometheus: find_prometheus(),
            }),
            _ => Err(MissingBinaries { missing, packages }),
        }
    }

    /// Finds every binary; when some are missing and we run as root on a
    /// system with apt, installs them first (printing what it does on stderr).
    pub fn locate_or_install() -> Result<Self, MissingBinaries> {
        match Self::locate() {
            Ok(found) => Ok(found),
            Err(missing) if is_root() && find_on_path("apt-get").is_some() => {
                eprintln!(
                    "gameday: installing {} with apt-get (missing: {})",
                    missing.packages.join(" "),
                    missing.missing.join(", ")
                );
                let update = Command::new("apt-get").args(["update", "-qq"]).status();
                let install = Command::new("apt-get")
                    .args(["install", "-y", "-qq", "--no-install-recommends"])
                    .args(&missing.packages)
                    .env("DEBIAN_FRONTEND", "noninteractive")
                    .status();
                match (update, install) {
                    (Ok(_), Ok(status)) if status.success() => Self::locate(),
                    _ => Err(missing),
                }
            }
            Err(missing) => Err(missing),
        }
    }
}

impl Binaries {
    /// Makes sure `prometheus` is there for a run that reads the lab's
    /// Prometheus: when it is missing and we run as root on a system with
    /// apt, installs Debian's `prometheus` package (printing what it does on
    /// stderr) and stops the package's own service (the lab runs its own).
    pub fn install_prometheus_if_missing(&mut self) {
        if self.prometheus.is_some() || !is_root() || find_on_path("apt-get").is_none() {
            return;
        }
        eprintln!(
            "gameday: installing prometheus with apt-get (the scenario reads the lab's Prometheus)"
        );
        let _ = Command::new("apt-get").args(["update", "-qq"]).status();
        let installed = Command::new("apt-get")
            .args([
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "prometheus",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|status| status.success());
        if installed {
            let _ = Command::new("systemctl")
                .args(["disable", "--now", "prometheus"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
            self.prometheus = find_prometheus();
        }
    }
}

/// `GAMEDAY_PROMETHEUS` if set (an empty value: none), else `prometheus` on `PATH`.
fn find_prometheus() -> Option<PathBuf> {
    match std::env::var_os("GAMEDAY_PROMETHEUS") {
        Some(path) if path.is_empty() => None,
        Some(path) => Some(PathBuf::from(path)).filter(|p| is_executable(p)),
        None => find_on_path("prometheus"),
    }
}

/// Whether this process runs as root (PostgreSQL refuses to run as root).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn find_postgres_binary(override_dir: Option<&Path>, name: &str) -> Option<PathBuf> {
    if let Some(dir) = override_dir {
        let candidate = dir.join(name);
        return is_executable(&candidate).then_some(candidate);
    }
    if let Some(found) = find_on_path(name) {
        return Some(found);
    }
    newest_debian_postgres_dir()
        .map(|dir| dir.join(name))
        .filter(|p| is_executable(p))
}

/// `/usr/lib/postgresql/<highest version>/bin`, if any.
fn newest_debian_postgres_dir() -> Option<PathBuf> {
    let entries = std::fs::read_dir("/usr/lib/postgresql").ok()?;
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.is_dir().then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_message_names_the_install_command() {
        let error = MissingBinaries {
            missing: vec!["redis-server", "initdb"],
            packages: vec!["redis-server", "postgresql"],
        };
        let text = error.to_string();
        assert!(text.contains("redis-server, initdb"), "{text}");
        assert!(
            text.contains("apt-get install -y redis-server postgresql"),
            "{text}"
        );
    }

    #[test]
    fn a_directory_is_not_an_executable() {
        assert!(!is_executable(Path::new("/")));
    }
}
