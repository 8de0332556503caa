//! One proxied connection: dials the upstream, then runs the upstream link
//! (client → server) and the downstream link (server → client) side by side.
//!
//! There is no half-close, as in Toxiproxy: when one direction's end has
//! passed its chain and closed its destination, the other direction's source
//! counts as closed too, so its end flows through its own chain (a
//! `slow_close` there still delays it) and then the whole connection closes.
//! A reset ends both directions at once. Dropping this future (on proxy
//! disable, delete or server shutdown) closes both sockets.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};

use super::link::{Link, LinkOutcome};
use super::registry::ToxicPlan;
use crate::faults::toxiproxy::model::Stream;
use crate::rng::Rng;

/// How long dialing the upstream may take before the client is dropped.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Counts live connections; the guard decrements on every exit path.
pub(crate) struct ConnectionGuard(Arc<AtomicUsize>);

impl ConnectionGuard {
    pub(crate) fn enter(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(counter.clone())
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Relays one accepted client until the connection ends.
pub(crate) async fn run(
    client: TcpStream,
    upstream: String,
    toxics: watch::Receiver<Arc<ToxicPlan>>,
    mut rng: Rng,
    guard: ConnectionGuard,
) {
    let _guard = guard;
    let server = match tokio::time::timeout(DIAL_TIMEOUT, TcpStream::connect(&upstream)).await {
        Ok(Ok(server)) => server,
        Ok(Err(error)) => {
            tracing::debug!(%upstream, %error, "upstream dial failed; closing the client");
            return;
        }
        Err(_) => {
            tracing::debug!(%upstream, "upstream dial timed out; closing the client");
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client, mut server) = (client, server);
    let outcome = relay(&mut client, &mut server, toxics, &mut rng).await;
    if outcome == LinkOutcome::Reset {
        // With SO_LINGER 0, closing sends RST instead of FIN, on both sides.
        let _ = client.set_zero_linger();
        let _ = server.set_zero_linger();
    }
}

/// Runs both directions; returns `Reset` as soon as either resets.
async fn relay(
    client: &mut TcpStream,
    server: &mut TcpStream,
    toxics: watch::Receiver<Arc<ToxicPlan>>,
    rng: &mut Rng,
) -> LinkOutcome {
    let (client_read, client_write) = client.split();
    let (server_read, server_write) = server.split();
    let client_closed = Arc::new(Notify::new());
    let server_closed = Arc::new(Notify::new());
    let up = Link {
        source: client_read,
        destination: server_write,
        stream: Stream::Upstream,
        toxics: toxics.clone(),
        source_closed: client_closed.clone(),
        rng: Rng::new(rng.next_u64()),
    }
    .run();
    let down = Link {
        source: server_read,
        destination: client_write,
        stream: Stream::Downstream,
        toxics,
        source_closed: server_closed.clone(),
        rng: Rng::new(rng.next_u64()),
    }
    .run();
    tokio::pin!(up);
    tokio::pin!(down);
    let (mut up_done, mut down_done) = (false, false);
    while !(up_done && down_done) {
        tokio::select! {
            outcome = &mut up, if !up_done => {
                up_done = true;
                if outcome == LinkOutcome::Reset {
                    return outcome;
                }
                // The server socket is closed: the downstream source is gone.
                server_closed.notify_one();
            }
            outcome = &mut down, if !down_done => {
                down_done = true;
                if outcome == LinkOutcome::Reset {
                    return outcome;
                }
                client_closed.notify_one();
            }
        }
    }
    LinkOutcome::Closed
}
