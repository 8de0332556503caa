//! A running proxy listener: the accept loop of one enabled proxy and the
//! connections it spawned.
//!
//! Stopping it (disable, delete, restart, server shutdown) closes the
//! listening socket and every connection, and waits until all their tasks
//! have ended, so a re-enable can bind the same port at once and nothing
//! leaks.

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

use super::connection::{self, ConnectionGuard};
use super::registry::ToxicPlan;
use crate::rng::Rng;

/// Shared by every listener of a server.
#[derive(Clone)]
pub(crate) struct Shared {
    /// Forks one seed per connection.
    pub rng: Arc<Mutex<Rng>>,
    /// Live connections across all proxies.
    pub connections: Arc<AtomicUsize>,
}

/// The handle of a running accept loop.
pub(crate) struct RunningListener {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl RunningListener {
    /// Starts accepting on `listener`, relaying to `upstream`.
    pub(crate) fn spawn(
        listener: TcpListener,
        upstream: String,
        toxics: watch::Receiver<Arc<ToxicPlan>>,
        shared: Shared,
    ) -> Self {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, upstream, toxics, shared, stopped));
        Self { stop, task }
    }

    /// Closes the listener and every connection, and waits for them.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: String,
    toxics: watch::Receiver<Arc<ToxicPlan>>,
    shared: Shared,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    let seed = shared.rng.lock().unwrap_or_else(|p| p.into_inner()).next_u64();
                    let guard = ConnectionGuard::enter(&shared.connections);
                    connections.spawn(connection::run(
                        client,
                        upstream.clone(),
                        toxics.clone(),
                        Rng::new(seed),
                        guard,
                    ));
                }
                Err(error) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    connections.shutdown().await;
}
