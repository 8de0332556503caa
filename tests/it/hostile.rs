//! Hostile clients and upstreams against the three lab servers (proxy API,
//! reference platform, LLM simulator): slowloris connections, thousands of
//! concurrent connections, upstreams that never read or refuse, oversized and
//! truncated request bodies. The servers must keep serving others promptly,
//! close what they should, and release what they held.

use std::net::SocketAddr;
use std::time::Duration;

use gameday::faults::toxiproxy::{Client, NewProxy};
use gameday::lab::llm_sim::{RunningSim, SimConfig};
use gameday::lab::platform::api::PROVIDER_HEADER;
use gameday::lab::platform::config::PlatformConfig;
use gameday::lab::platform::llm::{ApiKind, FailoverSettings, ProviderConfig};
use gameday::lab::platform::server::RunningPlatform;
use gameday::lab::proxy::{RunningProxy, ServerConfig, connection_ceiling};
use gameday::lab::serve::{HEADER_READ_TIMEOUT, REQUEST_BODY_DEADLINE};
use tokio::io::AsyncRead;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::RwLock;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::crowd::{Check, Crowd};
use crate::proxy::{create_proxy, echo_round_trip, echo_server, start_proxy_process};
use crate::util::loopback_listener;

/// Tests opening thousands of sockets take it exclusively; the slowloris
/// tests share it, so the process never runs out of descriptors.
static FDS: RwLock<()> = RwLock::const_new(());

/// A normal request must complete within this while the server is under attack.
const PROMPT: Duration = Duration::from_secs(5);

/// How long the server gets to close a connection it should close.
fn close_bound(timeout: Duration) -> Duration {
    timeout + Duration::from_secs(30)
}

/// This process.
const SELF: &str = "self";

/// Descriptors process `pid` holds (a number, or [`SELF`]).
fn open_fds(pid: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// GETs `url` on a fresh connection; asserts a 2xx within [`PROMPT`].
async fn prompt_get(url: &str) {
    let started = Instant::now();
    let response = http().get(url).send().await.expect("the server answers");
    let elapsed = started.elapsed();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    assert!(elapsed < PROMPT, "{url} took {elapsed:?} under attack");
}

async fn start_proxy() -> RunningProxy {
    start_proxy_with(None).await
}

async fn start_proxy_with(max_connections: Option<usize>) -> RunningProxy {
    RunningProxy::start(ServerConfig {
        seed: Some(7),
        max_connections,
    })
    .await
    .expect("start the proxy")
}

async fn start_sim(name: &str) -> RunningSim {
    RunningSim::start(SimConfig {
        seed: Some(7),
        name: name.into(),
        ..SimConfig::default()
    })
    .await
    .expect("start the simulator")
}

/// A loopback address where nothing listens.
async fn dead_address() -> SocketAddr {
    let (listener, address) = loopback_listener().await;
    drop(listener);
    address
}

/// A platform whose Redis and PostgreSQL are down (it serves degraded, and
/// its `/health` says 503, so tests probe `/capabilities`) and
/// whose providers are `providers`.
async fn start_platform(providers: Vec<ProviderConfig>, attempt: Duration) -> RunningPlatform {
    start_platform_with(providers, attempt, |_| {}).await
}

/// [`start_platform`] with a last change to the configuration.
async fn start_platform_with(
    providers: Vec<ProviderConfig>,
    attempt: Duration,
    adjust: impl FnOnce(&mut PlatformConfig),
) -> RunningPlatform {
    let dead = dead_address().await;
    let mut config = PlatformConfig::new(
        format!("redis://{dead}"),
        format!("postgres://gameday:gameday@{dead}/gameday"),
        providers,
    );
    config.failover = FailoverSettings {
        attempt_timeout: attempt,
        deadline: attempt * 4,
        ..FailoverSettings::default()
    };
    adjust(&mut config);
    RunningPlatform::start(config, gameday::clock::system())
        .await
        .expect("start the platform")
}

fn provider(name: &str, base_url: String) -> ProviderConfig {
    ProviderConfig {
        name: name.into(),
        kind: ApiKind::OpenAi,
        base_url,
        model: "m".into(),
        api_key: None,
    }
}

/// An upstream that accepts connections and never reads from them.
async fn black_hole() -> (SocketAddr, JoinHandle<()>) {
    let (listener, address) = loopback_listener().await;
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (address, task)
}

// ---------------------------------------------------------------- slowloris

/// Slowloris connections: a third send nothing, a third half a request line,
/// a third the start of a head; `trickle` more send a head one byte at a
/// time, each in its own task (which reports whether the server closed it).
struct Slowloris {
    idle: Vec<TcpStream>,
    trickling: Vec<JoinHandle<bool>>,
}

impl Slowloris {
    async fn open(address: SocketAddr, count: usize, trickle: usize) -> Self {
        let mut idle = Vec::with_capacity(count);
        for index in 0..count {
            let mut stream = TcpStream::connect(address).await.expect("connect");
            let partial: &[u8] = match index % 3 {
                0 => b"",
                1 => b"GE",
                _ => b"GET /health HTTP/1.1\r\nHost: x\r\n",
            };
            stream.write_all(partial).await.expect("partial write");
            idle.push(stream);
        }
        let mut trickling = Vec::with_capacity(trickle);
        for _ in 0..trickle {
            let stream = TcpStream::connect(address).await.expect("connect");
            trickling.push(tokio::spawn(trickle_head(stream)));
        }
        Self { idle, trickling }
    }

    /// Asserts that the server closes every connection within `bound`.
    async fn assert_all_closed(self, bound: Duration) {
        let deadline = Instant::now() + bound;
        let mut open = 0;
        for mut stream in self.idle {
            let mut buffer = [0u8; 1024];
            loop {
                match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
                    Err(_) => {
                        open += 1;
                        break;
                    }
                    Ok(Ok(0) | Err(_)) => break,
                    // Only an error answer (e.g. 408) may come before the close.
                    Ok(Ok(_)) => {}
                }
            }
        }
        for task in self.trickling {
            if !task.await.expect("trickle task") {
                open += 1;
            }
        }
        assert_eq!(open, 0, "connections still open after {bound:?}");
    }
}

/// Sends an endless request head, one byte every 200 ms; true once the
/// server has closed the connection, false if still open after a long while.
async fn trickle_head(mut stream: TcpStream) -> bool {
    let head = b"GET /health HTTP/1.1\r\nHost: x\r\n";
    let filler = b"X-Slow: yes\r\n";
    let deadline = Instant::now() + close_bound(HEADER_READ_TIMEOUT);
    let mut buffer = [0u8; 256];
    for &byte in head.iter().chain(filler.iter().cycle()) {
        if Instant::now() > deadline {
            return false;
        }
        if stream.write_all(&[byte]).await.is_err() {
            return true;
        }
        // A close shows as EOF (or an error answer then EOF) on the read side.
        if let Ok(read) =
            tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buffer)).await
        {
            match read {
                Ok(0) | Err(_) => return true,
                Ok(_) => {}
            }
        }
    }
    false
}

const SLOWLORIS: usize = 500;
const TRICKLE: usize = 20;

#[tokio::test]
async fn slowloris_does_not_starve_the_proxy_api_and_is_closed() {
    let _shared = FDS.read().await;
    gameday::fd_limit::raise_soft_to_hard();
    let proxy = start_proxy().await;
    let attack = Slowloris::open(proxy.api_addr(), SLOWLORIS, TRICKLE).await;
    prompt_get(&format!("{}/version", proxy.api_url())).await;
    prompt_get(&format!("{}/proxies", proxy.api_url())).await;
    attack
        .assert_all_closed(close_bound(HEADER_READ_TIMEOUT))
        .await;
    prompt_get(&format!("{}/version", proxy.api_url())).await;
    proxy.stop().await.expect("stop");
}

#[tokio::test]
async fn slowloris_does_not_starve_the_simulator_and_is_closed() {
    let _shared = FDS.read().await;
    gameday::fd_limit::raise_soft_to_hard();
    let sim = start_sim("sim").await;
    let attack = Slowloris::open(sim.addr, SLOWLORIS, TRICKLE).await;
    prompt_get(&format!("{}/health", sim.url())).await;
    let started = Instant::now();
    let reply = http()
        .post(format!("{}/v1/chat/completions", sim.url()))
        .json(&serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .expect("a chat answer");
    assert_eq!(reply.status(), 200);
    assert!(started.elapsed() < PROMPT, "{:?}", started.elapsed());
    attack
        .assert_all_closed(close_bound(HEADER_READ_TIMEOUT))
        .await;
    prompt_get(&format!("{}/health", sim.url())).await;
    sim.stop().await;
}

#[tokio::test]
async fn slowloris_does_not_starve_the_platform_and_is_closed() {
    let _shared = FDS.read().await;
    gameday::fd_limit::raise_soft_to_hard();
    let sim = start_sim("primary").await;
    let platform = start_platform(
        vec![provider("primary", sim.url())],
        Duration::from_secs(10),
    )
    .await;
    let attack = Slowloris::open(platform.addr(), SLOWLORIS, TRICKLE).await;
    prompt_get(&format!("{}/capabilities", platform.url())).await;
    let started = Instant::now();
    let reply = http()
        .post(format!("{}/v1/chat", platform.url()))
        .json(&serde_json::json!({"conversation_id": "c", "message": "hi"}))
        .send()
        .await
        .expect("a chat answer");
    assert_eq!(reply.status(), 200);
    assert!(started.elapsed() < PROMPT, "{:?}", started.elapsed());
    attack
        .assert_all_closed(close_bound(HEADER_READ_TIMEOUT))
        .await;
    prompt_get(&format!("{}/capabilities", platform.url())).await;
    platform.stop().await;
    sim.stop().await;
}

// ------------------------------------------------------ many connections

/// Waits (up to 60 s) until process `pid` holds at most `limit` descriptors.
async fn fds_settle_to(pid: &str, limit: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = open_fds(pid);
        if now <= limit || Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How many connections fit when each costs `per_connection` descriptors in
/// this process (at most 10,000), or `None` when too few fit to mean anything.
/// The clients live in a helper process ([`Crowd`]), so only the server's
/// side counts here.
fn connections_that_fit(per_connection: u64) -> Option<usize> {
    let limit = gameday::fd_limit::raise_soft_to_hard().unwrap_or(u64::MAX);
    // Headroom for everything else the test binary runs alongside.
    let fit = limit.saturating_sub(3_000) / per_connection;
    let count = usize::try_from(fit.min(10_000)).unwrap_or(10_000);
    if count < 10_000 {
        eprintln!(
            "descriptor hard limit {limit}: scaling to {count} connections \
             ({per_connection} descriptors each in this process)"
        );
    }
    (count >= 1_000).then_some(count)
}

#[tokio::test]
async fn at_its_connection_ceiling_the_proxy_closes_newcomers_and_keeps_serving() {
    let proxy = start_proxy_with(Some(2)).await;
    let (upstream, _echo) = echo_server().await;
    let listen = create_proxy(&proxy, "few", upstream).await;
    let mut first = TcpStream::connect(listen).await.expect("connect");
    assert_eq!(echo_round_trip(&mut first, b"1").await, b"1");
    let mut second = TcpStream::connect(listen).await.expect("connect");
    assert_eq!(echo_round_trip(&mut second, b"2").await, b"2");
    // The third is accepted by the kernel and closed by the proxy at once.
    let mut third = TcpStream::connect(listen).await.expect("connect");
    let _ = third.write_all(b"3").await;
    assert_eq!(read_ending(&mut third, PROMPT).await, Ending::Closed);
    assert_eq!(proxy.server().refused_connections(), 1);
    assert_eq!(proxy.server().open_connections(), 2);
    prompt_get(&format!("{}/version", proxy.api_url())).await;
    // Once one ends, a newcomer is served again.
    drop(first);
    let deadline = Instant::now() + PROMPT;
    while proxy.server().open_connections() > 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut fourth = TcpStream::connect(listen).await.expect("connect");
    assert_eq!(echo_round_trip(&mut fourth, b"4").await, b"4");
    assert_eq!(proxy.server().refused_connections(), 1);
    drop((second, fourth));
    proxy.stop().await.expect("stop");
}

/// A `gameday proxy` process with its API on a free loopback port.
struct ProxyProcess {
    child: tokio::process::Child,
    client: Client,
}

impl ProxyProcess {
    async fn start() -> Self {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_gameday"));
        command.arg("proxy");
        let (child, client) = start_proxy_process(command).await;
        Self { child, client }
    }

    /// The process id, for [`open_fds`].
    fn pid(&self) -> String {
        self.child.id().expect("running").to_string()
    }
}

#[tokio::test]
async fn ten_thousand_connections_at_a_proxy_process_are_served_or_closed_and_its_api_answers() {
    let _exclusive = FDS.write().await;
    // The proxy runs as its own process (with the whole descriptor limit,
    // raised to the hard one as `gameday` does at start); the clients and
    // the echo upstream live in helper processes.
    const CLIENTS: usize = 10_000;
    let limit = gameday::fd_limit::raise_soft_to_hard();
    let ceiling = connection_ceiling(limit);
    let proxy = ProxyProcess::start().await;
    let echo = Crowd::echo_server().await;
    let created = proxy
        .client
        .create_proxy(&NewProxy {
            name: "many".into(),
            listen: "127.0.0.1:0".into(),
            upstream: echo.addr().to_string(),
            enabled: true,
        })
        .await
        .expect("create the proxy");
    let listen: SocketAddr = created.listen.parse().expect("listen address");
    let pid = proxy.pid();
    let before = open_fds(&pid);
    // Every client writes a byte: it comes back (relayed) or the connection
    // is closed (above the ceiling); a client left hanging fails the helper.
    let crowd = Crowd::connect(listen, CLIENTS, Check::EchoOrClosed).await;
    let (served, closed) = crowd
        .detail
        .split_once(' ')
        .and_then(|(served, closed)| {
            Some((served.parse::<usize>().ok()?, closed.parse::<usize>().ok()?))
        })
        .unwrap_or_else(|| panic!("unexpected helper report {:?}", crowd.detail));
    eprintln!("descriptor limit {limit:?}: ceiling {ceiling}, {served} relayed, {closed} closed");
    assert_eq!(served + closed, CLIENTS);
    assert_eq!(served, CLIENTS.min(ceiling));
    // Two descriptors per relayed connection. Not relative to `before`: the
    // API's idle keep-alive connection may have closed meanwhile.
    let during = open_fds(&pid);
    assert!(
        during >= 2 * served,
        "the connections are real: {during} descriptors"
    );
    // The API answers while they are all open, and takes changes.
    let started = Instant::now();
    // (The client gives up after 2 s.)
    let proxies = proxy.client.proxies().await.expect("the API answers");
    assert!(proxies["many"].enabled);
    assert!(started.elapsed() < PROMPT, "{:?}", started.elapsed());
    crowd.release().await;
    let after = fds_settle_to(&pid, before + 50).await;
    assert!(
        after <= before + 50,
        "{before} descriptors before, {after} after"
    );
    // Still relaying afterwards.
    let mut fresh = TcpStream::connect(listen).await.expect("connect");
    assert_eq!(echo_round_trip(&mut fresh, b"again").await, b"again");
    drop(fresh);
    echo.release().await;
}

#[tokio::test]
async fn ten_thousand_connections_to_the_platform_are_served_and_released() {
    let _exclusive = FDS.write().await;
    // The platform's side only: the clients are in a helper process.
    let Some(count) = connections_that_fit(1) else {
        eprintln!("SKIPPED: the descriptor hard limit is too low for this test");
        return;
    };
    let sim = start_sim("primary").await;
    // Opening 10,000 connections can take longer than the header-read
    // timeout on a slow or busy machine, and the platform rightly closes a
    // connection that waited that long without a request: give this
    // platform a timeout no machine reaches, so the test does not depend on
    // how fast connections open (the timeout has its own tests).
    let platform = start_platform_with(
        vec![provider("primary", sim.url())],
        Duration::from_secs(10),
        |config| config.header_read_timeout = Duration::from_secs(3_600),
    )
    .await;
    let before = open_fds(SELF);
    // Every 10th connection makes a real request and reads the answer.
    let crowd = Crowd::connect(platform.addr(), count, Check::Http(10)).await;
    assert_eq!(crowd.detail, count.to_string());
    assert!(open_fds(SELF) >= count, "the connections are real");
    // Others are still served promptly while they are all open.
    prompt_get(&format!("{}/capabilities", platform.url())).await;
    crowd.release().await;
    let after = fds_settle_to(SELF, before + 500).await;
    assert!(
        after <= before + 500,
        "{before} descriptors before, {after} after"
    );
    prompt_get(&format!("{}/capabilities", platform.url())).await;
    platform.stop().await;
    sim.stop().await;
}

// ---------------------------------------------------- hostile upstreams

#[tokio::test]
async fn an_upstream_that_never_reads_blocks_only_its_own_client() {
    let proxy = start_proxy().await;
    let (sink, _hole) = black_hole().await;
    let (echo, _echo) = echo_server().await;
    let stuck_listen = create_proxy(&proxy, "stuck", sink).await;
    let echo_listen = create_proxy(&proxy, "echo", echo).await;

    let mut stuck = TcpStream::connect(stuck_listen).await.expect("connect");
    let chunk = vec![0u8; 256 * 1024];
    let mut written = 0usize;
    let blocked = loop {
        match tokio::time::timeout(Duration::from_secs(3), stuck.write_all(&chunk)).await {
            Err(_) => break true,
            Ok(Ok(())) => written += chunk.len(),
            Ok(Err(error)) => panic!("the proxy closed the client: {error}"),
        }
        // Buffers along the way are bounded; far past them means no backpressure.
        if written > 512 * 1024 * 1024 {
            break false;
        }
    };
    assert!(blocked, "writes never blocked after {written} bytes");

    // Other proxies and the API are unaffected.
    let started = Instant::now();
    let mut other = TcpStream::connect(echo_listen).await.expect("connect");
    assert_eq!(
        echo_round_trip(&mut other, b"still here").await,
        b"still here"
    );
    assert!(started.elapsed() < PROMPT);
    prompt_get(&format!("{}/proxies", proxy.api_url())).await;
    drop(stuck);
    drop(other);
    proxy.stop().await.expect("stop");
}

#[tokio::test]
async fn an_upstream_that_refuses_closes_the_client_promptly() {
    let proxy = start_proxy().await;
    let listen = create_proxy(&proxy, "refused", dead_address().await).await;
    let started = Instant::now();
    let mut client = TcpStream::connect(listen).await.expect("connect");
    let _ = client.write_all(b"hello").await;
    let mut buffer = [0u8; 64];
    let read = tokio::time::timeout(PROMPT, client.read(&mut buffer))
        .await
        .expect("closed within 5 s");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(started.elapsed() < PROMPT);
    prompt_get(&format!("{}/version", proxy.api_url())).await;
    proxy.stop().await.expect("stop");
}

#[tokio::test]
async fn a_provider_that_never_reads_fails_over_within_the_attempt_timeout() {
    let (hole, _hole) = black_hole().await;
    let fallback = start_sim("fallback").await;
    let attempt = Duration::from_secs(2);
    let platform = start_platform(
        vec![
            provider("hole", format!("http://{hole}")),
            provider("fallback", fallback.url()),
        ],
        attempt,
    )
    .await;
    let started = Instant::now();
    let reply = http()
        .post(format!("{}/v1/chat", platform.url()))
        .json(&serde_json::json!({"conversation_id": "c", "message": "hello"}))
        .send()
        .await
        .expect("an answer");
    let elapsed = started.elapsed();
    assert_eq!(reply.status(), 200);
    let served_by = reply
        .headers()
        .get(PROVIDER_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    assert_eq!(served_by.as_deref(), Some("fallback"));
    assert!(
        elapsed >= attempt / 2,
        "it did wait on the hole: {elapsed:?}"
    );
    assert!(elapsed < attempt + Duration::from_secs(10), "{elapsed:?}");
    platform.stop().await;
    fallback.stop().await;
}

// ------------------------------------------------------- hostile bodies

/// How a raw request ended.
#[derive(Debug, PartialEq)]
enum Ending {
    /// An answer with this status.
    Status(u16),
    /// The server closed the connection without an answer.
    Closed,
    /// Nothing within the bound.
    Hung,
}

/// Reads the status line of an answer (or the close) within `bound`.
async fn read_ending(stream: &mut (impl AsyncRead + Unpin), bound: Duration) -> Ending {
    let deadline = Instant::now() + bound;
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return Ending::Hung,
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => head.extend_from_slice(&buffer[..n]),
        }
        if head.len() >= 12 {
            break;
        }
    }
    match std::str::from_utf8(head.get(9..12).unwrap_or_default()) {
        Ok(code) => code.parse().map_or(Ending::Closed, Ending::Status),
        Err(_) => Ending::Closed,
    }
}

fn assert_rejected(ending: &Ending, what: &str) {
    match ending {
        Ending::Status(code) => assert!((400..500).contains(code), "{what}: answered {code}"),
        Ending::Closed => {}
        Ending::Hung => panic!("{what}: no answer and no close"),
    }
}

/// A request head announcing `length` body bytes.
fn head(method: &str, path: &str, length: usize) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\n\r\n"
    )
}

/// Sends `head`, then `chunk` up to `times` times (stopping when the server
/// stops reading), and returns how the server ended the exchange.
async fn flood(address: SocketAddr, head: &[u8], chunk: &[u8], times: usize) -> Ending {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let (mut read, mut write) = stream.split();
    let send = async {
        let _ = write.write_all(head).await;
        for _ in 0..times {
            if write.write_all(chunk).await.is_err() {
                break;
            }
        }
        std::future::pending::<()>().await;
    };
    let receive = read_ending(&mut read, Duration::from_secs(30));
    tokio::select! {
        () = send => unreachable!(),
        ending = receive => ending,
    }
}

/// 100 MiB announced, up to 16 MiB sent: a 4xx or a close.
async fn oversized_with_length(address: SocketAddr, method: &str, path: &str) -> Ending {
    let head = head(method, path, 100 * 1024 * 1024);
    flood(address, head.as_bytes(), &vec![b' '; 1024 * 1024], 16).await
}

/// An endless chunked body: a 4xx or a close once past the limit.
async fn oversized_chunked(address: SocketAddr, method: &str, path: &str) -> Ending {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    );
    let mut chunk = format!("{:x}\r\n", 64 * 1024).into_bytes();
    chunk.extend(std::iter::repeat_n(b' ', 64 * 1024));
    chunk.extend_from_slice(b"\r\n");
    // 32 MiB at most.
    flood(address, head.as_bytes(), &chunk, 512).await
}

/// 1000 bytes announced, 10 sent, then the write side closed.
async fn truncated_then_closed(address: SocketAddr, method: &str, path: &str) -> Ending {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream
        .write_all(head(method, path, 1000).as_bytes())
        .await
        .expect("write head");
    stream.write_all(b"{\"name\":\"x").await.expect("write");
    stream.shutdown().await.expect("half-close");
    read_ending(&mut stream, Duration::from_secs(20)).await
}

/// 1000 bytes announced, 10 sent, then silence with the connection open:
/// the body deadline answers or closes.
async fn truncated_and_silent(address: SocketAddr, method: &str, path: &str) -> Ending {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream
        .write_all(head(method, path, 1000).as_bytes())
        .await
        .expect("write head");
    stream.write_all(b"{\"name\":\"x").await.expect("write");
    read_ending(&mut stream, close_bound(REQUEST_BODY_DEADLINE)).await
}

/// Every hostile body against `method path` on `address`, concurrently;
/// each must be rejected (4xx) or closed, never hang.
async fn assert_hostile_bodies_rejected(address: SocketAddr, method: &str, path: &str) {
    let (length, chunked, closed, silent) = tokio::join!(
        oversized_with_length(address, method, path),
        oversized_chunked(address, method, path),
        truncated_then_closed(address, method, path),
        truncated_and_silent(address, method, path),
    );
    assert_rejected(&length, &format!("{method} {path} oversized (length)"));
    assert_rejected(&chunked, &format!("{method} {path} oversized (chunked)"));
    assert_rejected(&closed, &format!("{method} {path} truncated then closed"));
    assert_rejected(&silent, &format!("{method} {path} truncated and silent"));
}

#[tokio::test]
async fn hostile_bodies_on_the_proxy_api_are_rejected() {
    let proxy = start_proxy().await;
    let address = proxy.api_addr();
    assert_hostile_bodies_rejected(address, "POST", "/proxies").await;
    assert_hostile_bodies_rejected(address, "POST", "/populate").await;
    prompt_get(&format!("{}/version", proxy.api_url())).await;
    proxy.stop().await.expect("stop");
}

#[tokio::test]
async fn hostile_bodies_on_the_simulator_are_rejected() {
    let sim = start_sim("sim").await;
    let address = sim.addr;
    assert_hostile_bodies_rejected(address, "PUT", "/admin/mode").await;
    assert_hostile_bodies_rejected(address, "POST", "/v1/chat/completions").await;
    assert_hostile_bodies_rejected(address, "POST", "/v1/messages").await;
    prompt_get(&format!("{}/health", sim.url())).await;
    sim.stop().await;
}

#[tokio::test]
async fn hostile_bodies_on_the_platform_are_rejected() {
    let sim = start_sim("primary").await;
    let platform = start_platform(
        vec![provider("primary", sim.url())],
        Duration::from_secs(10),
    )
    .await;
    assert_hostile_bodies_rejected(platform.addr(), "POST", "/v1/chat").await;
    prompt_get(&format!("{}/capabilities", platform.url())).await;
    platform.stop().await;
    sim.stop().await;
}
