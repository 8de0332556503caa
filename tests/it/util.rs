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
