//! A link: relays one direction of one connection (source socket → toxic
//! chain → destination socket) and reacts to live toxic changes.
//!
//! One loop per direction owns the read half of the source, the write half of
//! the destination and the [`Chain`]. It reads a chunk (up to 32 KiB when
//! there are toxics, stamped with its arrival time) when the chain can take
//! one, writes whatever the chain has released, sleeps until the chain's next
//! deadline with the precise timer, and rewires the chain when the proxy's
//! toxics change. Without toxics, reads grow up to 256 KiB for bulk speed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use bytes::{BufMut, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::chain::Chain;
use super::registry::ToxicPlan;
use super::timer::{self, PreciseSleep};
use super::toxics::{Chunk, End, Event};
use crate::faults::toxiproxy::model::Stream;
use crate::rng::Rng;

/// The most one socket read hands to a chain with toxics (Toxiproxy's chunk size).
pub(crate) const CHUNK_SIZE: usize = 32 * 1024;
/// Without toxics, reads start at this size and double while they fill the buffer.
const MIN_READ: usize = 16 * 1024;
/// The largest read when there are no toxics: chunk boundaries only matter to
/// toxics, and bulk transfers go faster with fewer, larger reads.
const FAST_PATH_READ: usize = 256 * 1024;

/// How a link finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkOutcome {
    /// The end passed the chain and the destination was closed (FIN).
    Closed,
    /// A toxic reset the connection: both sockets must close with RST.
    Reset,
}

/// What one link needs.
pub(crate) struct Link<'a> {
    pub source: ReadHalf<'a>,
    pub destination: WriteHalf<'a>,
    pub stream: Stream,
    pub toxics: watch::Receiver<Arc<ToxicPlan>>,
    /// Signalled when the other direction has closed our source's socket.
    pub source_closed: Arc<Notify>,
    pub rng: Rng,
}

impl Link<'_> {
    /// Relays until the direction ends.
    pub(crate) async fn run(self) -> LinkOutcome {
        let Link {
            mut source,
            mut destination,
            stream,
            mut toxics,
            source_closed,
            rng,
        } = self;
        let now = Instant::now();
        let plan = toxics.borrow_and_update().clone();
        let mut chain = Chain::new(plan.for_stream(stream), rng, now);
        let mut buffer = BytesMut::new();
        let mut read_size = MIN_READ;
        let mut sleep: Option<Pin<Box<PreciseSleep>>> = None;
        let mut source_open = true;
        // Kept across iterations, so waiting on them costs nothing per chunk.
        let mut next_plan = Some(next_plan(toxics));
        let mut closed_by_peer: Waiting<()> =
            Box::pin(async move { source_closed.notified().await });
        loop {
            chain.advance(Instant::now());
            while let Some(event) = chain.pop_ready() {
                match event {
                    Event::Data(chunk) => {
                        if destination.write_all(&chunk.data).await.is_err() {
                            return LinkOutcome::Closed;
                        }
                    }
                    Event::End(End::Fin) => {
                        let _ = destination.shutdown().await;
                        return LinkOutcome::Closed;
                    }
                    Event::End(End::Reset) => return LinkOutcome::Reset,
                }
                if !chain.is_empty() {
                    // Writing took time: later events may be due now.
                    chain.advance(Instant::now());
                }
            }
            // A sleep that ends before the new deadline is kept: it wakes the
            // loop early once, which re-arms it. Re-arming only for earlier
            // deadlines keeps one timer entry per link even when every chunk
            // pushes the deadline back (the idle timer of `timeout`).
            match chain.deadline() {
                Some(deadline) if sleep.as_ref().is_none_or(|s| s.deadline() > deadline) => {
                    sleep = Some(Box::pin(timer::sleep_until(deadline)));
                }
                Some(_) => {}
                None => sleep = None,
            }
            let can_read = source_open && chain.accepting();
            tokio::select! {
                biased;
                changed = wait_plan(&mut next_plan) => {
                    next_plan = changed.map(|(plan, toxics)| {
                        chain.rewire(plan.for_stream(stream), Instant::now());
                        self::next_plan(toxics)
                    });
                }
                () = &mut closed_by_peer, if source_open => {
                    source_open = false;
                    chain.push(Event::End(End::Fin), Instant::now());
                }
                // Waiting for readability first means an idle connection
                // holds no read buffer it does not need yet.
                ready = source.readable(), if can_read => {
                    let size = if chain.is_empty() { read_size } else { CHUNK_SIZE };
                    if buffer.capacity() < size {
                        buffer.reserve(size);
                    }
                    let read = match ready {
                        Ok(()) => read_now(&mut source, &mut (&mut buffer).limit(size)).await,
                        Err(error) => Err(error),
                    };
                    let now = Instant::now();
                    match read {
                        Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                        Ok(0) | Err(_) => {
                            source_open = false;
                            chain.push(Event::End(End::Fin), now);
                        }
                        Ok(n) => {
                            if n == size {
                                read_size = (size * 2).min(FAST_PATH_READ);
                            } else if n < size / 4 {
                                read_size = (size / 2).max(MIN_READ);
                            }
                            if chain.is_empty() {
                                // The fast path: no toxics, straight from the
                                // read buffer to the destination.
                                if destination.write_all(&buffer).await.is_err() {
                                    return LinkOutcome::Closed;
                                }
                                buffer.clear();
                            } else {
                                let data = buffer.split().freeze();
                                chain.push(Event::Data(Chunk { data, received_at: now }), now);
                            }
                        }
                    }
                }
                () = wait(&mut sleep) => {
                    sleep = None;
                }
            }
        }
    }
}

/// One read that never waits (`WouldBlock` when nothing is there). It goes
/// through `poll_read`, which marks the socket drained after a short read;
/// `try_read` would instead cost one more, empty, `read` syscall per chunk.
async fn read_now<B: BufMut>(source: &mut ReadHalf<'_>, buffer: &mut B) -> std::io::Result<usize> {
    let mut read = std::pin::pin!(source.read_buf(buffer));
    std::future::poll_fn(|cx| match read.as_mut().poll(cx) {
        Poll::Pending => Poll::Ready(Err(std::io::ErrorKind::WouldBlock.into())),
        Poll::Ready(result) => Poll::Ready(result),
    })
    .await
}

type Waiting<T> = Pin<Box<dyn Future<Output = T> + Send>>;

type PlanChange = Option<(Arc<ToxicPlan>, watch::Receiver<Arc<ToxicPlan>>)>;

/// Resolves with the next toxic plan (and the receiver, to wait again), or
/// `None` once the proxy is gone.
fn next_plan(mut toxics: watch::Receiver<Arc<ToxicPlan>>) -> Waiting<PlanChange> {
    Box::pin(async move {
        toxics.changed().await.ok()?;
        let plan = toxics.borrow_and_update().clone();
        Some((plan, toxics))
    })
}

/// Waits for the next plan if the proxy still exists, forever otherwise.
async fn wait_plan(next: &mut Option<Waiting<PlanChange>>) -> PlanChange {
    match next {
        Some(next) => next.as_mut().await,
        None => std::future::pending().await,
    }
}

/// Waits for the sleep if there is one, forever otherwise.
async fn wait(sleep: &mut Option<Pin<Box<PreciseSleep>>>) {
    match sleep {
        Some(sleep) => sleep.as_mut().await,
        None => std::future::pending().await,
    }
}
