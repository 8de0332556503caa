//! The one HTTP serving loop of the lab servers (platform, LLM simulator,
//! proxy API): HTTP/1.1 on hyper with a header-read timeout, so a client that
//! opens a connection and sends nothing, or a request head byte by byte
//! (slowloris), is closed instead of holding a connection forever; a deadline
//! on reading each request body (a body sent slowly or cut short without
//! closing ends in an error answer, not a handler waiting forever); keep-alive;
//! TCP_NODELAY on every accepted socket; and graceful shutdown (stop
//! accepting, let requests in flight finish, return once every connection is
//! closed). `axum::serve` sets no timer, so it has no header-read timeout.
//!
//! Slow readers: hyper answers one request of a connection at a time and
//! reads the next only once the response is written, so a connection queues
//! at most one response. A write timeout (the same length as the
//! header-read timeout) closes a connection whose client stops reading: a
//! write that makes no progress for that long fails, and the queued
//! response is freed. Without it, clients that send requests for a large
//! body and never read would each hold that body for ever.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::time::Sleep;
use tower_http::timeout::RequestBodyDeadlineLayer;

/// How long a client has to send a whole request head, counted from when the
/// server starts waiting for it (a new connection, or the end of the previous
/// response on a kept-alive one). An idle keep-alive connection is closed
/// after this too.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a handler may spend reading a request body, from its first read.
/// Lab request bodies are small (at most a few hundred KiB).
pub const REQUEST_BODY_DEADLINE: Duration = Duration::from_secs(30);

/// How long to pause accepting after an accept error that is not about one
/// connection (e.g. out of file descriptors), so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(250);

/// Serves `router` on `listener` until `shutdown` resolves, then stops
/// accepting, lets each open connection finish its request in flight, and
/// returns once all are closed. Accept errors never end the loop. A client
/// has `header_read_timeout` to send each request head (normally
/// [`HEADER_READ_TIMEOUT`]), and as long to take each write of a response:
/// a connection whose writes make no progress for that long is closed.
pub async fn serve_http(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let router = router.layer(RequestBodyDeadlineLayer::new(REQUEST_BODY_DEADLINE));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) if is_per_connection(&error) => continue,
            Err(error) => {
                tracing::warn!(%error, "accept failed; pausing");
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => continue,
                    () = &mut shutdown => break,
                }
            }
        };
        // Small responses and SSE events must not wait for delayed ACKs (Nagle).
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let stream = WriteTimeout::new(stream, header_read_timeout);
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::trace!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The one rule for where a lab server may listen: a loopback address, or
/// any other when `allow_remote` is set, with a warning on stderr. `what`
/// names the server ("the proxy API"), `risk` what anyone who reaches it
/// can do ("break or intercept proxied traffic").
pub fn check_listen(
    listen: std::net::SocketAddr,
    allow_remote: bool,
    what: &str,
    risk: &str,
) -> anyhow::Result<()> {
    if listen.ip().is_loopback() {
        return Ok(());
    }
    anyhow::ensure!(
        allow_remote,
        "refusing to serve {what} on {listen} (not loopback): anyone who reaches it can {risk}; \
         pass --allow-remote to do it anyway"
    );
    eprintln!(
        "warning: {what} on {listen} is reachable from other hosts; anyone who can reach it can {risk}"
    );
    Ok(())
}

/// Errors that concern only the connection being accepted.
fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// A stream whose writes fail with `TimedOut` once one has waited `limit`
/// without progress (the peer stopped reading and every buffer is full).
struct WriteTimeout<S> {
    inner: S,
    limit: Duration,
    /// Armed while a write is pending; reset by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<S> WriteTimeout<S> {
    fn new(inner: S, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            stalled: None,
        }
    }

    /// Turns a pending write into an error once it has been pending `limit`.
    fn check<T>(
        &mut self,
        context: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let limit = self.limit;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match stalled.as_mut().poll(context) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client read nothing within the write timeout",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteTimeout<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(context, buffer)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(context, buffer);
        self.check(context, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(context, buffers);
        self.check(context, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(context);
        self.check(context, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_shutdown(context);
        self.check(context, polled)
    }
}
