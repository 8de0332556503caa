//! Managed services: real `redis-server`, PostgreSQL and Prometheus processes that the lab
//! (and the test suite) starts on free loopback ports, breaks on purpose and
//! always cleans up.
//!
//! - [`binaries`]: finds `redis-server`, `initdb` and `postgres` (Debian keeps
//!   the PostgreSQL ones in `/usr/lib/postgresql/<version>/bin`), and installs
//!   them with apt when asked and allowed.
//! - [`process`]: one supervised child process with the faults a game day
//!   needs: SIGKILL, SIGSTOP/SIGCONT, graceful stop, restart.
//! - [`ManagedService`]: a Redis or PostgreSQL server built on those two.
//! - [`prometheus`]: the lab's Prometheus ([`ManagedPrometheus`]), scraping
//!   the platform every second with the lab rule file.
//!
//! Invariants: every process runs in its own process group and receives
//! SIGKILL if the thread that started it dies (so a killed runner leaves no
//! orphans); dropping a [`ManagedService`] thaws and kills the whole group and
//! removes its temporary directory.

pub mod binaries;
pub mod process;
pub mod prometheus;
pub mod service;

pub use binaries::{Binaries, MissingBinaries};
pub use prometheus::{ManagedPrometheus, PrometheusError};
pub use service::{ManagedService, ServiceError, ServiceKind, ServiceState};
