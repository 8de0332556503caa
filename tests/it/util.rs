//! Small helpers shared by the integration tests.

#![allow(dead_code)]

use std::net::SocketAddr;

use tokio::net::TcpListener;

/// Binds a listener on a free loopback port.
pub async fn loopback_listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let address = listener.local_addr().expect("local address");
    (listener, address)
}

/// The Redis and PostgreSQL binaries; the suite needs them (`.ci/run` installs them).
pub fn binaries() -> gameday::lab::services::Binaries {
    match gameday::lab::services::Binaries::locate() {
        Ok(binaries) => binaries,
        Err(missing) => panic!("{missing}"),
    }
}

/// `promtool` from Debian's `prometheus` package (bin/test and .ci/run
/// install it when missing). Absent: `None` with a loud note, unless
/// GAMEDAY_CI is set, where it must be there.
pub fn promtool() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join("promtool"))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("GAMEDAY_CI").is_none(),
            "GAMEDAY_CI is set but promtool is not installed (.ci/run installs prometheus)"
        );
        eprintln!(
            "\n*** SKIPPED: promtool is not installed; install it \
             (apt-get install -y --no-install-recommends prometheus) or run bin/test. ***\n"
        );
    }
    found
}
