//! Integration tests of the embedded Toxiproxy-compatible proxy: API
//! conformance, each toxic's effect on real bytes, live changes, the typed
//! client, and a third-party client (toxiproxy_rust) driving our server.

mod api;
mod cli;
mod client;
mod data_plane;
mod slow_reader;
mod third_party;

use std::net::SocketAddr;
use std::time::Duration;

use gameday::lab::proxy::{RunningProxy, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::util::loopback_listener;

/// A proxy server on a free port, seeded for reproducibility.
pub async fn start_proxy() -> RunningProxy {
    RunningProxy::start(ServerConfig {
        seed: Some(42),
        max_connections: None,
    })
    .await
    .expect("start the proxy server")
}

/// Starts `command` (a `gameday proxy` to be given `--listen`) on a free
/// loopback port and waits until its API answers.
pub async fn start_proxy_process(
    mut command: tokio::process::Command,
) -> (tokio::process::Child, gameday::faults::toxiproxy::Client) {
    let port = {
        let (listener, address) = loopback_listener().await;
        drop(listener);
        address.port()
    };
    let child = command
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let client = gameday::faults::toxiproxy::Client::new(&format!("http://127.0.0.1:{port}"))
        .unwrap()
        .with_timeout(Duration::from_secs(2));
    for _ in 0..200 {
        if client.version().await.is_ok() {
            return (child, client);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the API did not come up within 10 s");
}

/// An upstream that echoes every byte back, until the test ends.
pub async fn echo_server() -> (SocketAddr, JoinHandle<()>) {
    let (listener, address) = loopback_listener().await;
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let (mut read, mut write) = socket.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    (address, task)
}

/// An upstream that sends `payload` to each client, then closes.
pub async fn sending_server(payload: Vec<u8>) -> (SocketAddr, JoinHandle<()>) {
    let (listener, address) = loopback_listener().await;
    let task = tokio::spawn(serve_payload(listener, payload));
    (address, task)
}

async fn serve_payload(listener: TcpListener, payload: Vec<u8>) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let payload = payload.clone();
        tokio::spawn(async move {
            let _ = socket.write_all(&payload).await;
            let _ = socket.shutdown().await;
        });
    }
}

/// One raw HTTP exchange with the API: status, content type, body.
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

/// Sends `method path` with an optional body to the proxy API.
pub async fn call(proxy: &RunningProxy, method: &str, path: &str, body: Option<&str>) -> Answer {
    call_with(proxy, method, path, body, None).await
}

/// Like [`call`], with a User-Agent.
pub async fn call_with(
    proxy: &RunningProxy,
    method: &str,
    path: &str,
    body: Option<&str>,
    user_agent: Option<&str>,
) -> Answer {
    let client = reqwest::Client::new();
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = client.request(method, format!("{}{path}", proxy.api_url()));
    if let Some(body) = body {
        request = request.body(body.to_string());
    }
    if let Some(agent) = user_agent {
        request = request.header("user-agent", agent);
    }
    let response = request.send().await.expect("API answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response.text().await.expect("body");
    Answer {
        status,
        content_type,
        headers,
        body,
    }
}

/// Creates an enabled proxy on a free loopback port; returns its listen address.
pub async fn create_proxy(proxy: &RunningProxy, name: &str, upstream: SocketAddr) -> SocketAddr {
    let body = format!(r#"{{"name":"{name}","listen":"127.0.0.1:0","upstream":"{upstream}"}}"#);
    let answer = call(proxy, "POST", "/proxies", Some(&body)).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let created: serde_json::Value = serde_json::from_str(&answer.body).expect("proxy JSON");
    created["listen"]
        .as_str()
        .and_then(|listen| listen.parse().ok())
        .expect("a bound listen address")
}

/// Adds a toxic from a JSON body; asserts success.
pub async fn add_toxic(proxy: &RunningProxy, name: &str, body: &str) {
    let answer = call(
        proxy,
        "POST",
        &format!("/proxies/{name}/toxics"),
        Some(body),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

/// Writes `message` and reads exactly as many bytes back.
pub async fn echo_round_trip(stream: &mut TcpStream, message: &[u8]) -> Vec<u8> {
    stream.write_all(message).await.expect("write");
    let mut back = vec![0; message.len()];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut back))
        .await
        .expect("echo within 10 s")
        .expect("read echo");
    back
}

/// Reads until EOF or error (at most 10 s); returns the bytes and whether it
/// ended with an error (e.g. a reset) rather than a clean EOF.
pub async fn read_to_end(stream: &mut TcpStream) -> (Vec<u8>, Option<std::io::ErrorKind>) {
    let mut out = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await {
            Err(_) => panic!("no EOF within 10 s"),
            Ok(Ok(0)) => return (out, None),
            Ok(Ok(n)) => out.extend_from_slice(&buffer[..n]),
            Ok(Err(error)) => return (out, Some(error.kind())),
        }
    }
}
