//! A running proxy listener: the accept loop of one enabled proxy and the
//! connections it spawned.
//!
//! Stopping it (disable, delete, restart, server shutdown) closes the
//! listening socket and every connection, and waits until all their tasks
//! have ended, so a re-enable can bind the same port at once and nothing
//! leaks.
//!
//! At the server's connection ceiling a new client is accepted and closed at
//! once (it reads end-of-stream), rather than left in the kernel's backlog
//! or allowed to take the last descriptors the API needs.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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
    /// The most live connections across all proxies.
    pub max_connections: usize,
    /// Clients closed on arrival at the ceiling.
    pub refused: Arc<AtomicU64>,
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
                    if shared.connections.load(Ordering::SeqCst) >= shared.max_connections {
                        refuse(client, &shared);
                        continue;
                    }
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

/// Closes a client that arrived at the ceiling; warns on the first of each
/// thousand so a flood is visible without flooding the log.
fn refuse(client: tokio::net::TcpStream, shared: &Shared) {
    // Counted before the close, so a client that saw the close sees the count.
    let refused = shared.refused.fetch_add(1, Ordering::SeqCst);
    drop(client);
    if refused.is_multiple_of(1000) {
        tracing::warn!(
            max_connections = shared.max_connections,
            refused = refused + 1,
            "connection ceiling reached: closing new clients until connections end \
             (the ceiling follows the open-file limit; see `gameday proxy --help`)"
        );
    }
}
