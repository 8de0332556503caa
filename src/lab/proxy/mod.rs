//! The embedded, Toxiproxy-compatible fault proxy (`gameday proxy`).
//!
//! It speaks Toxiproxy 2.12's HTTP API, so any Toxiproxy client (or the
//! runner's own [`crate::faults::toxiproxy::Client`]) can create TCP proxies
//! and add toxics to them. Code map, in the order a byte travels:
//!
//! - [`api`]: HTTP routes, status codes, error bodies, browser block, body limit.
//! - `request`: lenient (Go-like) decoding of request bodies; `error`: the error catalogue.
//! - `registry` ([`ProxyServer`]): proxies, their toxics, enable/disable,
//!   populate, reset; publishes each proxy's toxic list to live connections.
//! - `listen`: resolving and binding listen addresses.
//! - `listener`: one accept loop per enabled proxy, owning its connections.
//! - `connection`: dials the upstream and runs both directions.
//! - `link`: one direction: socket → chain → socket, rewired live.
//! - `arrival`: stamped reads, so a chunk's delay counts from its arrival.
//! - `chain`: the ordered toxic stages of one direction.
//! - `toxics`: one sans-I/O state machine per toxic type, tests beside each.
//! - `timer`: the real-time thread that rings toxic deadlines; a link's
//!   releases are written from there, on time, without a task wake-up.
//!
//! Invariants: the API never waits on a connection; stopping a proxy closes
//! its listener and every connection before the call returns; no request
//! body can panic the server (bad input is a 4xx answer).

pub mod api;
mod arrival;
mod chain;
pub mod cli;
mod connection;
mod error;
mod link;
mod listen;
mod listener;
mod registry;
mod request;
mod timer;
mod toxics;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use error::ApiError;
pub use registry::{ProxyServer, ServerConfig, connection_ceiling};

use crate::faults::toxiproxy::{Client, ClientError};
use crate::shutdown::{self, ShutdownTrigger};

/// Errors of running the proxy server.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The API listener could not be bound or served.
    #[error("proxy API on {address}: {source}")]
    Io {
        address: String,
        #[source]
        source: std::io::Error,
    },
}

/// How long API requests in flight may take to finish after shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves the HTTP API on `listener` until `shutdown` resolves, then stops
/// every proxy (their listeners and connections close) and returns. API
/// requests still in flight get 5 seconds to finish, so a client
/// that never completes its request cannot hold the shutdown forever.
pub async fn serve(
    listener: TcpListener,
    server: ProxyServer,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ProxyError> {
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let app = api::router(server.clone());
    let (stopping_tx, mut stopping) = watch::channel(false);
    let signal = async move {
        shutdown.await;
        let _ = stopping_tx.send(true);
    };
    let serving = crate::lab::serve::serve_http(
        listener,
        app,
        crate::lab::serve::HEADER_READ_TIMEOUT,
        signal,
    );
    let grace = async move {
        let _ = stopping.wait_for(|stop| *stop).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    let served = tokio::select! {
        served = serving => served,
        () = grace => {
            tracing::warn!("API requests still open after the shutdown grace period; stopping anyway");
            Ok(())
        }
    };
    server.shutdown().await;
    served.map_err(|source| ProxyError::Io { address, source })
}

/// A proxy server on a free loopback port, for tests and the lab.
pub struct RunningProxy {
    address: SocketAddr,
    server: ProxyServer,
    trigger: ShutdownTrigger,
    task: JoinHandle<Result<(), ProxyError>>,
}

impl RunningProxy {
    /// Binds 127.0.0.1:0 and serves the API there.
    pub async fn start(config: ServerConfig) -> Result<Self, ProxyError> {
        let io_error = |source| ProxyError::Io {
            address: "127.0.0.1:0".into(),
            source,
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(io_error)?;
        let address = listener.local_addr().map_err(io_error)?;
        let server = ProxyServer::new(config);
        let (trigger, signal) = shutdown::channel();
        let task = tokio::spawn(serve(listener, server.clone(), signal.wait()));
        Ok(Self {
            address,
            server,
            trigger,
            task,
        })
    }

    /// The API's socket address.
    pub fn api_addr(&self) -> SocketAddr {
        self.address
    }

    /// The API's base URL, e.g. `http://127.0.0.1:40123`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// A typed client for this server's API.
    pub fn client(&self) -> Result<Client, ClientError> {
        Client::new(&self.api_url())
    }

    /// The registry, to drive the proxy without HTTP.
    pub fn server(&self) -> &ProxyServer {
        &self.server
    }

    /// Stops the API and every proxy, and waits until all is closed.
    pub async fn stop(self) -> Result<(), ProxyError> {
        self.trigger.trigger();
        match self.task.await {
            Ok(result) => result,
            Err(join) => Err(ProxyError::Io {
                address: self.address.to_string(),
                source: std::io::Error::other(join.to_string()),
            }),
        }
    }
}
