//! The proxy's HTTP API: an arbitrary method, path and body through the axum
//! router (the same one `gameday proxy` serves). Proxies it creates bind real
//! loopback listeners; every iteration starts from a fresh server and shuts it
//! down, so nothing accumulates.
//!
//! Input layout: byte 0 picks the method, then the path up to the first
//! newline, then the body.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Method, Request};
use gameday::lab::proxy::{ProxyServer, ServerConfig, api};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::DELETE,
    Method::PUT,
    Method::PATCH,
];

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&method, rest)) = data.split_first() else {
        return;
    };
    let method = METHODS[usize::from(method) % METHODS.len()].clone();
    let (path, body) = match rest.iter().position(|&byte| byte == b'\n') {
        Some(end) => (&rest[..end], &rest[end + 1..]),
        None => (rest, &[][..]),
    };
    let Ok(path) = std::str::from_utf8(path) else {
        return;
    };
    // Keep listeners on loopback: the fuzzer must not bind public ports.
    if body.windows(7).any(|w| w == b"0.0.0.0") || body.windows(2).any(|w| w == b"[:") {
        return;
    }
    let Ok(request) = Request::builder()
        .method(method)
        .uri(format!("/{}", path.trim_start_matches('/')))
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
    else {
        return;
    };
    runtime().block_on(async {
        let server = ProxyServer::new(ServerConfig { seed: Some(7) });
        let Ok(response) = api::router(server.clone()).oneshot(request).await;
        let _ = axum::body::to_bytes(response.into_body(), 1 << 20).await;
        server.shutdown().await;
    });
});
