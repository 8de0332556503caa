//! The one HTTP serving loop of the lab servers (platform, LLM simulator,
//! proxy API): HTTP/1.1 on hyper with a header-read timeout, so a client that
//! opens a connection and sends nothing, or a request head byte by byte
//! (slowloris), is closed instead of holding a connection forever; a deadline
//! on reading each request body (a body sent slowly or cut short without
//! closing ends in an error answer, not a handler waiting forever); keep-alive;
//! TCP_NODELAY on every accepted socket; and graceful shutdown (stop
//! accepting, let requests in flight finish, return once every connection is
//! closed). `axum::serve` sets no timer, so it has no header-read timeout.

use std::future::Future;
use std::io;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
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
/// [`HEADER_READ_TIMEOUT`]).
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

/// Errors that concern only the connection being accepted.
fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
