//! A link: relays one direction of one connection (source socket → toxic
//! chain → destination socket) and reacts to live toxic changes.
//!
//! Two parties drive a link. Its task owns the source socket: it reads a
//! chunk when the chain can take one (up to 32 KiB, stamped with the kernel's
//! arrival time, see `super::arrival`), pushes it into the chain and writes
//! whatever is due at once; it rewires the chain when the proxy's toxics
//! change, and closes or resets the destination when the direction ends. The
//! timer thread (`super::timer`) makes the releases that fall due later: at
//! the chain's next deadline it advances the chain, writes what came out with
//! a non-blocking send and schedules the following deadline. A release thus
//! costs one send on a real-time thread, with no task wake-up and no wait
//! behind other connections' tasks. The task is woken only when the timer
//! thread cannot finish: the destination would block, the direction ended, a
//! write failed, or the chain can take input again.
//!
//! The chain and the destination's descriptor sit behind one mutex, so the
//! two parties' writes never interleave. The descriptor is withdrawn under
//! that lock before the link returns or is dropped, so the timer thread
//! never writes to a closed (or reused) descriptor. Without toxics the task
//! copies straight from the read buffer to the destination, in reads that
//! grow up to 256 KiB for bulk speed.

use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::arrival::{self, Received};
use super::chain::Chain;
use super::registry::ToxicPlan;
use super::timer::{self, Alarm};
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

/// The part of a link the timer thread shares with its task.
struct Outlet {
    output: Mutex<Output>,
    /// Wakes the task when the timer thread leaves it something to do.
    task: Notify,
}

/// The chain and what has come out of it.
struct Output {
    chain: Chain,
    /// The destination socket while the link runs; `None` afterwards, so a
    /// late ring of the timer thread writes nothing.
    destination: Option<RawFd>,
    /// The rest of a chunk the destination would not take at once. Only the
    /// task writes it (when the socket is writable again).
    unsent: Option<Bytes>,
    /// The end that has left the chain: the task closes or resets.
    ended: Option<End>,
    /// A write failed: the destination is gone.
    broken: bool,
    /// The deadline the timer thread will ring this link at, and the token
    /// of that ring; older rings are ignored.
    armed: Option<(Instant, u64)>,
    tokens: u64,
    /// The task would read but the chain is full: when the chain can take
    /// input again, the timer thread wakes it.
    waits_for_room: bool,
}

impl Output {
    /// A fresh output of `chain` into the socket `destination`.
    fn new(chain: Chain, destination: RawFd) -> Self {
        Output {
            chain,
            destination: Some(destination),
            unsent: None,
            ended: None,
            broken: false,
            armed: None,
            tokens: 0,
            waits_for_room: false,
        }
    }

    /// Advances the chain to `now` and writes what it released, in order,
    /// until nothing is due, the destination would block, or an end comes.
    fn release(&mut self, now: Instant, send: &mut dyn FnMut(&[u8]) -> io::Result<usize>) {
        self.chain.advance(now);
        while self.ended.is_none() && !self.broken {
            let data = match self.unsent.take() {
                Some(rest) => rest,
                None => match self.chain.pop_ready() {
                    Some(Event::Data(chunk)) => chunk.data,
                    Some(Event::End(end)) => {
                        self.ended = Some(end);
                        break;
                    }
                    None => break,
                },
            };
            match send_all(&data, send) {
                Ok(written) if written == data.len() => {}
                Ok(written) => {
                    self.unsent = Some(data.slice(written..));
                    break;
                }
                Err(_) => self.broken = true,
            }
        }
    }

    /// Whether the chain may take another chunk now.
    fn accepting(&self) -> bool {
        self.unsent.is_none() && self.ended.is_none() && !self.broken && self.chain.accepting()
    }

    /// Whether only the task can move this link on.
    fn needs_task(&self) -> bool {
        self.unsent.is_some()
            || self.ended.is_some()
            || self.broken
            || (self.waits_for_room && self.accepting())
    }
}

/// Writes as much of `data` as the socket takes now; the count written.
fn send_all(data: &[u8], send: &mut dyn FnMut(&[u8]) -> io::Result<usize>) -> io::Result<usize> {
    let mut written = 0;
    while written < data.len() {
        match send(&data[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(written)
}

/// A send that never waits, for the timer thread.
fn send_now(socket: RawFd, data: &[u8]) -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
    #[cfg(not(target_os = "linux"))]
    let flags = libc::MSG_DONTWAIT;
    // SAFETY: `socket` is open: the caller holds the output lock and the
    // descriptor is withdrawn under that lock before the socket can close.
    let sent = unsafe { libc::send(socket, data.as_ptr().cast(), data.len(), flags) };
    if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}

impl Output {
    /// The ring to ask the timer thread for: the chain's next deadline,
    /// unless a ring at or before it is already pending (that ring re-arms).
    /// Nothing while only the task can move the link on.
    fn next_ring(&mut self) -> Option<(Instant, u64)> {
        if self.unsent.is_some()
            || self.ended.is_some()
            || self.broken
            || self.destination.is_none()
        {
            return None;
        }
        let deadline = self.chain.deadline()?;
        if self.armed.is_some_and(|(armed, _)| armed <= deadline) {
            return None;
        }
        self.tokens += 1;
        self.armed = Some((deadline, self.tokens));
        self.armed
    }

    /// A ring of the timer thread: releases what is due at `now` through
    /// `send` unless the ring is stale or the link has stopped. Returns
    /// whether it released.
    fn ring(
        &mut self,
        token: u64,
        now: Instant,
        send: &mut dyn FnMut(RawFd, &[u8]) -> io::Result<usize>,
    ) -> bool {
        if self.armed.map(|(_, armed)| armed) != Some(token) {
            return false;
        }
        self.armed = None;
        let Some(socket) = self.destination else {
            return false;
        };
        self.release(now, &mut |data| send(socket, data));
        true
    }
}

impl Outlet {
    fn lock(&self) -> MutexGuard<'_, Output> {
        self.output.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands the chain's next deadline to the timer thread, if it needs one.
    fn arm(self: &Arc<Self>, output: &mut Output) {
        if let Some((deadline, token)) = output.next_ring() {
            timer::schedule(deadline, token, self.clone());
        }
    }

    /// The task's release: writes through tokio, so a full socket clears
    /// the readiness the task then waits on.
    fn release_from_task(self: &Arc<Self>, output: &mut Output, destination: &WriteHalf<'_>) {
        output.release(Instant::now(), &mut |data| destination.try_write(data));
        self.arm(output);
    }
}

impl Alarm for Outlet {
    fn ring(self: Arc<Self>, token: u64, now: Instant) {
        let mut output = self.lock();
        if !output.ring(token, now, &mut send_now) {
            return;
        }
        self.arm(&mut output);
        let wake = output.needs_task();
        drop(output);
        if wake {
            self.task.notify_one();
        }
    }
}

/// Withdraws the destination from the timer thread on every way out of
/// [`Link::run`], a dropped future included, and drops what the chain still
/// holds (a pending ring keeps the outlet alive until its deadline).
struct Withdraw<'a>(&'a Outlet);

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        let mut output = self.0.lock();
        output.destination = None;
        output.unsent = None;
        output.chain.discard();
    }
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
        let started = Instant::now();
        let plan = toxics.borrow_and_update().clone();
        let outlet = Arc::new(Outlet {
            output: Mutex::new(Output::new(
                Chain::new(plan.for_stream(stream), rng, started),
                destination.as_ref().as_raw_fd(),
            )),
            task: Notify::new(),
        });
        let _withdraw = Withdraw(&outlet);
        let mut buffer = BytesMut::new();
        let mut read_size = MIN_READ;
        let mut source_open = true;
        let mut stamping = false;
        // Nothing read later can have arrived before the start of the last
        // read that emptied the socket (or before the link started).
        let mut not_before = started;
        // Kept across iterations, so waiting on them costs nothing per chunk.
        let mut next_plan = Some(next_plan(toxics));
        let mut closed_by_peer: Waiting<()> =
            Box::pin(async move { source_closed.notified().await });
        loop {
            let (fast, can_read, blocked, ended) = {
                let mut output = outlet.lock();
                if output.broken {
                    return LinkOutcome::Closed;
                }
                let blocked = output.unsent.is_some();
                let fast = output.chain.is_empty() && !blocked;
                let can_read = source_open && (fast || output.accepting());
                output.waits_for_room = source_open && !can_read;
                (fast, can_read, blocked, output.ended)
            };
            if let Some(end) = ended {
                return finish(end, &mut destination).await;
            }
            if !fast && !stamping {
                // As soon as there are toxics, before the bytes they delay
                // arrive (the kernel switches stamping on a moment later).
                arrival::enable_stamps(source.as_ref());
                stamping = true;
            }
            tokio::select! {
                biased;
                changed = wait_plan(&mut next_plan) => {
                    next_plan = changed.map(|(plan, toxics)| {
                        let mut output = outlet.lock();
                        output.chain.rewire(plan.for_stream(stream), Instant::now());
                        outlet.release_from_task(&mut output, &destination);
                        self::next_plan(toxics)
                    });
                }
                () = &mut closed_by_peer, if source_open => {
                    source_open = false;
                    let mut output = outlet.lock();
                    output.chain.push(Event::End(End::Fin), Instant::now());
                    outlet.release_from_task(&mut output, &destination);
                }
                // Waiting for readability first means an idle connection
                // holds no read buffer it does not need yet.
                ready = source.readable(), if can_read => {
                    if fast {
                        // The fast path: no toxics, straight from the read
                        // buffer to the destination.
                        let size = read_size;
                        if buffer.capacity() < size {
                            buffer.reserve(size);
                        }
                        let read = match ready {
                            Ok(()) => read_now(&mut source, &mut (&mut buffer).limit(size)).await,
                            Err(error) => Err(error),
                        };
                        match read {
                            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                            Ok(0) | Err(_) => {
                                source_open = false;
                                let mut output = outlet.lock();
                                output.chain.push(Event::End(End::Fin), Instant::now());
                                outlet.release_from_task(&mut output, &destination);
                            }
                            Ok(n) => {
                                if n == size {
                                    read_size = (size * 2).min(FAST_PATH_READ);
                                } else if n < size / 4 {
                                    read_size = (size / 2).max(MIN_READ);
                                }
                                if destination.write_all(&buffer).await.is_err() {
                                    return LinkOutcome::Closed;
                                }
                                buffer.clear();
                            }
                        }
                    } else {
                        let read_start = Instant::now();
                        let read = match ready {
                            Ok(()) => read_chunk(&source, &mut buffer),
                            Err(error) => Err(error),
                        };
                        let now = Instant::now();
                        match read {
                            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                            Ok((Received { bytes: 0, .. }, _)) | Err(_) => {
                                source_open = false;
                                let mut output = outlet.lock();
                                output.chain.push(Event::End(End::Fin), now);
                                outlet.release_from_task(&mut output, &destination);
                            }
                            Ok((received, drained)) => {
                                let received_at = arrival::arrival_instant(
                                    received.stamp,
                                    now,
                                    arrival::wall_clock(),
                                    not_before,
                                );
                                if drained {
                                    not_before = read_start;
                                }
                                let data = buffer.split().freeze();
                                let mut output = outlet.lock();
                                // The chunk enters the chain when it reached
                                // the proxy, not when it was read.
                                output
                                    .chain
                                    .push(Event::Data(Chunk { data, received_at }), received_at);
                                outlet.release_from_task(&mut output, &destination);
                            }
                        }
                    }
                }
                writable = destination.writable(), if blocked => {
                    let mut output = outlet.lock();
                    match writable {
                        Ok(()) => outlet.release_from_task(&mut output, &destination),
                        Err(_) => output.broken = true,
                    }
                }
                // Only the timer thread notifies, and only links with toxics
                // have deadlines: the fast path skips registering a waiter.
                () = outlet.task.notified(), if !fast => {}
            }
        }
    }
}

/// Closes (FIN) or resets the destination once the end has left the chain.
async fn finish(end: End, destination: &mut WriteHalf<'_>) -> LinkOutcome {
    match end {
        End::Fin => {
            let _ = destination.shutdown().await;
            LinkOutcome::Closed
        }
        End::Reset => LinkOutcome::Reset,
    }
}

/// One stamped read of up to a chunk, and whether it left the socket empty.
/// After such a short read tokio is told the socket is drained (its
/// readiness cleared, as its own `poll_read` does), which saves an empty
/// read per chunk.
fn read_chunk(source: &ReadHalf<'_>, buffer: &mut BytesMut) -> io::Result<(Received, bool)> {
    let socket = source.as_ref();
    let mut short = None;
    let read = socket.try_io(Interest::READABLE, || {
        let received = arrival::read_stamped(socket, buffer, CHUNK_SIZE)?;
        if received.bytes > 0 && received.bytes < CHUNK_SIZE {
            short = Some(received);
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(received)
    });
    match (read, short) {
        (_, Some(received)) => Ok((received, true)),
        (Ok(received), None) => Ok((received, false)),
        (Err(error), None) => Err(error),
    }
}

/// One read that never waits (`WouldBlock` when nothing is there). It goes
/// through `poll_read`, which marks the socket drained after a short read;
/// `try_read` would instead cost one more, empty, `read` syscall per chunk.
async fn read_now<B: BufMut>(source: &mut ReadHalf<'_>, buffer: &mut B) -> io::Result<usize> {
    let mut read = std::pin::pin!(source.read_buf(buffer));
    std::future::poll_fn(|cx| match read.as_mut().poll(cx) {
        Poll::Pending => Poll::Ready(Err(io::ErrorKind::WouldBlock.into())),
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::faults::toxiproxy::model::ToxicKind;
    use crate::lab::proxy::registry::PlannedToxic;

    /// An output whose chain holds one toxic, writing to descriptor 7.
    fn output_with(kind: ToxicKind, start: Instant) -> Output {
        let plan = [PlannedToxic {
            name: "toxic".into(),
            id: 1,
            revision: 1,
            toxicity: 1.0,
            kind,
        }];
        Output::new(Chain::new(&plan, Rng::new(1), start), 7)
    }

    fn latency(ms: i64) -> ToxicKind {
        ToxicKind::Latency {
            latency: ms,
            jitter: 0,
        }
    }

    fn data(text: &'static str, at: Instant) -> Event {
        Event::Data(Chunk {
            data: Bytes::from_static(text.as_bytes()),
            received_at: at,
        })
    }

    /// A destination with room for `room` more bytes, then it would block.
    struct Sink {
        written: Vec<u8>,
        room: usize,
    }

    impl Sink {
        fn new(room: usize) -> Self {
            Self {
                written: Vec::new(),
                room,
            }
        }

        fn send(&mut self, data: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let taken = data.len().min(self.room);
            self.room -= taken;
            self.written.extend_from_slice(&data[..taken]);
            Ok(taken)
        }
    }

    #[test]
    fn a_ring_releases_what_is_due_and_asks_for_the_next_deadline() {
        let start = Instant::now();
        let ms = |n| start + Duration::from_millis(n);
        let mut output = output_with(latency(100), start);
        output.chain.push(data("a", start), start);
        output.chain.push(data("b", ms(10)), ms(10));
        let mut sink = Sink::new(usize::MAX);
        output.release(ms(10), &mut |d| sink.send(d));
        assert!(sink.written.is_empty(), "nothing is due yet");
        let (deadline, token) = output.next_ring().expect("a ring for the first chunk");
        assert_eq!(deadline, ms(100));
        assert_eq!(output.next_ring(), None, "one pending ring is enough");
        assert!(
            !output.ring(token + 1, ms(100), &mut |_, d| sink.send(d)),
            "a stale ring does nothing"
        );
        assert!(output.ring(token, ms(100), &mut |socket, d| {
            assert_eq!(socket, 7);
            sink.send(d)
        }));
        assert_eq!(sink.written, b"a");
        assert_eq!(output.next_ring().map(|(at, _)| at), Some(ms(110)));
        assert!(!output.needs_task(), "the timer thread carries on alone");
    }

    #[test]
    fn a_blocked_destination_keeps_the_rest_in_order_for_the_task() {
        let start = Instant::now();
        let due = start + Duration::from_millis(100);
        let mut output = output_with(latency(100), start);
        output.chain.push(data("abc", start), start);
        output.chain.push(data("def", start), start);
        output.chain.push(data("ghi", start), start);
        let (_, token) = output.next_ring().unwrap();
        let mut sink = Sink::new(4);
        assert!(output.ring(token, due, &mut |_, d| sink.send(d)));
        assert_eq!(sink.written, b"abcd");
        assert!(output.needs_task(), "only the task can wait for room");
        assert!(!output.accepting(), "no reading while bytes wait");
        assert_eq!(output.next_ring(), None, "no ring while blocked");
        sink.room = usize::MAX;
        output.release(due, &mut |d| sink.send(d));
        assert_eq!(sink.written, b"abcdefghi");
        assert!(output.accepting());
    }

    #[test]
    fn no_ring_writes_once_the_link_has_withdrawn_its_destination() {
        let start = Instant::now();
        let mut output = output_with(latency(100), start);
        output.chain.push(data("a", start), start);
        let (deadline, token) = output.next_ring().unwrap();
        output.destination = None;
        assert!(!output.ring(token, deadline, &mut |_, _| panic!(
            "wrote to a closed socket"
        )));
    }

    #[test]
    fn the_task_is_woken_when_the_chain_can_take_input_again() {
        let start = Instant::now();
        // 1 KB/s: pieces of 100 bytes, one every 100 ms.
        let mut output = output_with(ToxicKind::Bandwidth { rate: 1 }, start);
        output.chain.push(
            Event::Data(Chunk {
                data: Bytes::from(vec![b'x'; 150]),
                received_at: start,
            }),
            start,
        );
        let mut sink = Sink::new(usize::MAX);
        output.release(start, &mut |d| sink.send(d));
        assert_eq!(sink.written.len(), 100);
        // The task stopped reading: the stage is full.
        output.waits_for_room = true;
        assert!(!output.accepting() && !output.needs_task());
        let (deadline, token) = output.next_ring().unwrap();
        assert_eq!(deadline, start + Duration::from_millis(100));
        assert!(output.ring(token, deadline, &mut |_, d| sink.send(d)));
        assert_eq!(sink.written.len(), 150);
        assert!(output.needs_task(), "the task must read again");
    }

    #[test]
    fn an_end_released_by_a_ring_is_left_to_the_task() {
        let start = Instant::now();
        let mut output = output_with(ToxicKind::SlowClose { delay: 50 }, start);
        output.chain.push(data("bye", start), start);
        output.chain.push(Event::End(End::Fin), start);
        let mut sink = Sink::new(usize::MAX);
        output.release(start, &mut |d| sink.send(d));
        assert_eq!(sink.written, b"bye");
        assert_eq!(output.ended, None, "the close waits");
        let (deadline, token) = output.next_ring().unwrap();
        assert_eq!(deadline, start + Duration::from_millis(50));
        assert!(output.ring(token, deadline, &mut |_, d| sink.send(d)));
        assert_eq!(output.ended, Some(End::Fin));
        assert!(output.needs_task());
        assert_eq!(output.next_ring(), None);
    }

    #[tokio::test]
    async fn a_chunk_is_stamped_when_it_reached_the_socket_not_when_it_was_read() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut sender = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut receiver, _) = listener.accept().await.unwrap();
        let (source, _) = receiver.split();
        arrival::enable_stamps(source.as_ref());
        let mut buffer = BytesMut::new();
        // The kernel switches receive stamps on shortly after the first
        // socket asks (deferred work): warm up until a read comes stamped.
        let mut stamped = false;
        for _ in 0..500 {
            sender.write_all(b"w").await.unwrap();
            source.readable().await.unwrap();
            if let Ok((received, _)) = read_chunk(&source, &mut buffer) {
                stamped |= received.stamp.is_some();
            }
            buffer.clear();
            if stamped {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(stamped, "the kernel never stamped a read");
        let before = Instant::now();
        sender.write_all(b"waited").await.unwrap();
        // The bytes wait in the kernel while the link is busy elsewhere.
        tokio::time::sleep(Duration::from_millis(50)).await;
        source.readable().await.unwrap();
        let (received, drained) = read_chunk(&source, &mut buffer).unwrap();
        let now = Instant::now();
        let arrived = arrival::arrival_instant(received.stamp, now, arrival::wall_clock(), before);
        assert_eq!(&buffer[..], b"waited");
        assert!(drained, "a short read empties the socket");
        assert!(
            now - arrived >= Duration::from_millis(40),
            "stamped {:?} before the read: at the read, not at arrival",
            now - arrived
        );
    }
}
