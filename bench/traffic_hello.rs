//! The trivial HTTP server of bench/traffic.sh: answers `POST /v1/chat` (and
//! any other route) at once with a small platform-shaped JSON body, so the
//! benchmark measures the load generators, not the server. TCP_NODELAY on,
//! a deep listen backlog so a burst of connections after a SIGSTOP is queued
//! by the kernel rather than refused.
//!
//! cargo run --release --example traffic_hello -- PORT

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::serve::ListenerExt;

const BODY: &str = r#"{"conversation_id":"c","reply":"hello","provider":"hello","model":"m","usage":{"input_tokens":1,"output_tokens":1},"degraded":[]}"#;

async fn hello() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], BODY)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(([127, 0, 0, 1], port).into())?;
    let listener = socket.listen(8192)?;
    println!("http://{}", listener.local_addr()?);
    let app = Router::new().fallback(hello);
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    axum::serve(listener, app).await
}
