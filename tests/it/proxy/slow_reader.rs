//! A client that asks for a large body and never reads it: the lab's HTTP
//! serving loop (the proxy API's, the platform's, the simulators') closes the
//! connection once its writes stall for the write timeout, freeing the
//! queued response, and keeps answering other clients meanwhile.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::util::loopback_listener;

/// Far more than every kernel buffer between the two ends can hold.
const BIG: usize = 64 * 1024 * 1024;

#[tokio::test]
async fn a_client_that_never_reads_is_closed_and_others_are_served() {
    let (listener, address) = loopback_listener().await;
    let router = Router::new()
        .route("/big", get(|| async { vec![b'x'; BIG] }))
        .route("/small", get(|| async { "ok" }));
    let (trigger, shutdown) = gameday::shutdown::channel();
    let server = tokio::spawn(gameday::lab::serve::serve_http(
        listener,
        router,
        Duration::from_secs(1),
        async move { shutdown.wait().await },
    ));

    let mut stalled = TcpStream::connect(address).await.expect("connect");
    stalled
        .write_all(b"GET /big HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("send the request");
    // The client reads nothing for well past the 1 s write timeout; the
    // server answers others all along.
    for _ in 0..6 {
        let answer = reqwest::get(format!("http://{address}/small"))
            .await
            .expect("another client is served")
            .text()
            .await
            .expect("body");
        assert_eq!(answer, "ok");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Now it reads: what the buffers held, then the end of a connection the
    // server closed, long before the whole body.
    let mut received = 0usize;
    let mut chunk = vec![0u8; 1 << 20];
    let ended = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match stalled.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(read) => received += read,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stalled connection was never closed");
    assert!(
        received < BIG,
        "the whole {BIG}-byte body arrived ({received}): the connection was not closed"
    );
    trigger.trigger();
    tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .expect("the server stops")
        .expect("join")
        .expect("serve");
}
