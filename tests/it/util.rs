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

/// Whether a run ended because its preflight found no steady state (the
/// platform's health or capabilities were not all well at the end of the
/// warm-up), in which case gameday injected nothing. On a loaded 2-core
/// machine the lab's own health thresholds (50 ms for a Redis PING) can trip
/// on scheduling noise alone, so a test that runs a lab game day to check a
/// scenario's outcome may run it once more after such a refusal: nothing was
/// touched, and a lab that never reaches a steady state still fails the
/// second time.
pub fn refused_at_preflight(results: &serde_json::Value) -> bool {
    results["status"]["state"] == "error"
        && results["status"]["message"]
            .as_str()
            .is_some_and(|message| message.starts_with("preflight: the steady state does not hold"))
}

/// A runtime of its own and a default lab started on it, for tests that run
/// the `gameday` binary from synchronous code.
pub fn lab_on_own_runtime() -> (tokio::runtime::Runtime, gameday::lab::stack::Lab) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let lab = runtime
        .block_on(gameday::lab::stack::Lab::start(
            &binaries(),
            &gameday::lab::stack::LabOptions::default(),
            gameday::clock::system(),
        ))
        .expect("lab");
    (runtime, lab)
}
