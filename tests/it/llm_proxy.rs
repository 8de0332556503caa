//! Integration tests for `gameday llm-proxy`, the fault-injecting gateway:
//! real HTTP over loopback to a real `llm-sim` (and to a small echo server
//! for arbitrary paths and headers), plain and over TLS with a private CA
//! made in the test; every mode on both providers' routes; the model match;
//! the admin API and stats; the upstream timeout; the CLI.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::Response;
use gameday::lab::llm_proxy::{Match, NAME_HEADER, ProxyConfig, Rule, RunningProxy};
use gameday::lab::llm_sim::{ErrorStatus, Mode, Rate, RunningSim, SimConfig, TokensPerSecond};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

const CHAT: &str = "/v1/chat/completions";
const MESSAGES: &str = "/v1/messages";
const ROUTES: [&str; 2] = [CHAT, MESSAGES];

async fn sim(mode: Mode) -> RunningSim {
    RunningSim::start(SimConfig {
        seed: Some(7),
        mode,
        reply_tokens: 8,
        name: "upstream".to_owned(),
    })
    .await
    .expect("start the simulator")
}

async fn proxy_to(upstream: String, rule: Rule) -> RunningProxy {
    let mut config = ProxyConfig::new(upstream);
    config.name = "gw".to_owned();
    config.mode = rule;
    config.seed = Some(11);
    RunningProxy::start(config)
        .await
        .expect("start the gateway")
}

/// A healthy simulator behind a gateway in `rule`.
async fn pair(rule: Rule) -> (RunningSim, RunningProxy) {
    let sim = sim(Mode::Healthy).await;
    let proxy = proxy_to(sim.url(), rule).await;
    (sim, proxy)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

fn request_for(path: &str, stream: bool) -> Value {
    if path == CHAT {
        json!({
            "model": "gpt-sim-1",
            "messages": [{"role": "user", "content": "how is the weather today"}],
            "stream": stream,
            "stream_options": {"include_usage": true},
        })
    } else {
        json!({
            "model": "claude-sim-1",
            "max_tokens": 100,
            "messages": [{"role": "user", "content": "how is the weather today"}],
            "stream": stream,
        })
    }
}

async fn post(base: &str, path: &str, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{base}{path}"))
        .header("authorization", "Bearer sk-test-key")
        .json(body)
        .send()
        .await
        .expect("send")
}

/// Reads a body chunk by chunk; returns what arrived and whether reading failed.
async fn read_to_end_or_error(mut response: reqwest::Response) -> (String, bool) {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => return (String::from_utf8_lossy(&body).into_owned(), false),
            Err(_) => return (String::from_utf8_lossy(&body).into_owned(), true),
        }
    }
}

/// The `data:` payloads of an SSE body.
fn data_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .collect()
}

/// The generated text of a stream in either format.
fn streamed_text(text: &str) -> String {
    data_lines(text)
        .iter()
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .filter_map(|chunk| {
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .or(chunk["delta"]["text"].as_str())
                .map(str::to_owned)
        })
        .collect()
}

/// Content events (token chunks) in a stream of either format.
fn content_events(text: &str) -> usize {
    data_lines(text)
        .iter()
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .filter(|chunk| {
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .is_some_and(|content| !content.is_empty())
                || chunk["type"] == "content_block_delta"
        })
        .count()
}

/// The response id and `created` of a simulator answer (JSON or stream).
fn id_and_created(text: &str) -> (String, Option<u64>) {
    let first: Value = serde_json::from_str(text)
        .ok()
        .or_else(|| {
            data_lines(text)
                .first()
                .and_then(|data| serde_json::from_str(data).ok())
        })
        .unwrap_or_else(|| panic!("no JSON in {text}"));
    let message = if first["message"].is_object() {
        &first["message"]
    } else {
        &first
    };
    let id = message["id"].as_str().expect("an id").to_owned();
    (id, message["created"].as_u64())
}

/// Asserts `proxied` is `direct` byte for byte, but for the two fields the
/// simulator changes between identical requests (id and created).
fn assert_same_but_id(direct: &str, proxied: &str) {
    let (direct_id, direct_created) = id_and_created(direct);
    let (proxied_id, proxied_created) = id_and_created(proxied);
    let mut expected = direct.replace(&direct_id, &proxied_id);
    if let (Some(a), Some(b)) = (direct_created, proxied_created) {
        expected = expected.replace(&format!("\"created\":{a}"), &format!("\"created\":{b}"));
    }
    assert_eq!(proxied, expected);
}

#[tokio::test]
async fn healthy_gateway_passes_json_and_streams_through_byte_identical() {
    let (sim, proxy) = pair(Rule::default()).await;
    for path in ROUTES {
        for stream in [false, true] {
            let body = request_for(path, stream);
            let direct = post(&sim.url(), path, &body).await;
            let proxied = post(&proxy.url(), path, &body).await;
            assert_eq!(proxied.status(), direct.status());
            for name in ["content-type", "x-llm-sim-name", "cache-control"] {
                assert_eq!(
                    proxied.headers().get(name),
                    direct.headers().get(name),
                    "{path} stream={stream}: header {name}"
                );
            }
            assert!(proxied.headers().get(NAME_HEADER).is_none());
            let direct = direct.text().await.expect("direct body");
            let proxied = proxied.text().await.expect("proxied body");
            assert_same_but_id(&direct, &proxied);
            if stream {
                assert!(streamed_text(&proxied).starts_with("upstream says: how is the weather"));
            }
        }
        // An upstream error status and body pass through too.
        let bad = post(&proxy.url(), path, &json!({"model": "m"})).await;
        assert_eq!(bad.status(), 400);
        assert_eq!(bad.headers()["x-llm-sim-name"], "upstream");
    }
    let stats = proxy.stats();
    assert_eq!(stats.requests, 6);
    assert_eq!(stats.passed_through, 6);
    assert_eq!(stats.by_status.get(&200), Some(&4));
    assert_eq!(stats.by_status.get(&400), Some(&2));
    assert_eq!(stats.by_route.get(CHAT), Some(&3));
    assert_eq!(sim.stats().requests, 10);
    proxy.stop().await;
    sim.stop().await;
}

/// An upstream that answers every request with what it received: method,
/// URI, headers and body, with the status the `x-want-status` header asks for.
async fn echo_upstream() -> SocketAddr {
    async fn echo(request: Request) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, 16 * 1024 * 1024)
            .await
            .unwrap_or_default();
        let mut headers = serde_json::Map::new();
        for (name, value) in &parts.headers {
            headers.insert(
                name.as_str().to_owned(),
                json!(value.to_str().unwrap_or("<binary>")),
            );
        }
        let status = parts
            .headers
            .get("x-want-status")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u16>().ok())
            .unwrap_or(200);
        let answer = json!({
            "method": parts.method.as_str(),
            "uri": parts.uri.to_string(),
            "headers": headers,
            "body": String::from_utf8_lossy(&body),
        });
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .header("x-upstream", "echo")
            .header("set-cookie", "a=1")
            .header("set-cookie", "b=2")
            .body(Body::from(answer.to_string()))
            .expect("response")
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let router = axum::Router::new().fallback(echo);
    tokio::spawn(async move { axum::serve(listener, router).await });
    address
}

#[tokio::test]
async fn any_path_method_and_header_pass_through_and_hop_by_hop_headers_do_not() {
    let echo = echo_upstream().await;
    let proxy = proxy_to(format!("http://{echo}/prefix/"), Rule::default()).await;

    let response = client()
        .get(format!("{}/v1/models?limit=2&after=x", proxy.url()))
        .header("authorization", "Bearer sk-secret")
        .header("x-api-key", "ant-secret")
        .header("anthropic-version", "2023-06-01")
        .header("connection", "x-drop-me")
        .header("x-drop-me", "1")
        .header("x-want-status", "418")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 418);
    assert_eq!(response.headers()["x-upstream"], "echo");
    let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    let seen: Value = response.json().await.expect("echo json");
    assert_eq!(seen["method"], "GET");
    assert_eq!(seen["uri"], "/prefix/v1/models?limit=2&after=x");
    assert_eq!(seen["headers"]["authorization"], "Bearer sk-secret");
    assert_eq!(seen["headers"]["x-api-key"], "ant-secret");
    assert_eq!(seen["headers"]["anthropic-version"], "2023-06-01");
    assert_eq!(seen["headers"]["host"], echo.to_string());
    assert!(seen["headers"].get("x-drop-me").is_none(), "{seen}");

    for method in [
        reqwest::Method::POST,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let response = client()
            .request(method.clone(), format!("{}/v1/embeddings", proxy.url()))
            .body("{\"input\":\"x\"}")
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200);
        let seen: Value = response.json().await.expect("echo json");
        assert_eq!(seen["method"], method.as_str());
        assert_eq!(seen["uri"], "/prefix/v1/embeddings");
        assert_eq!(seen["body"], "{\"input\":\"x\"}");
    }

    // A body over the limit is refused by the gateway, in the provider's shape.
    let big = vec![b'x'; gameday::lab::llm_proxy::MAX_BODY_BYTES + 1];
    let response = client()
        .post(format!("{}{MESSAGES}", proxy.url()))
        .body(big)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 413);
    let error: Value = response.json().await.expect("json");
    assert_eq!(error["error"]["type"], "request_too_large");
    proxy.stop().await;
}

#[tokio::test]
async fn a_stream_is_forwarded_before_the_upstream_finishes_it() {
    // The upstream sends its preamble and first token, then stalls for an
    // hour: a gateway that buffered the stream would show nothing.
    let sim = sim(Mode::SlowStream {
        tokens_per_s: TokensPerSecond::new(1000.0).expect("rate"),
        first_token_delay_ms: 0,
        stall_after_first_ms: 3_600_000,
    })
    .await;
    let proxy = proxy_to(sim.url(), Rule::default()).await;
    for path in ROUTES {
        let mut response = post(&proxy.url(), path, &request_for(path, true)).await;
        assert_eq!(response.status(), 200);
        let mut text = String::new();
        while content_events(&text) == 0 {
            let chunk = tokio::time::timeout(Duration::from_secs(60), response.chunk())
                .await
                .expect("the first token arrives while the upstream is still streaming")
                .expect("read")
                .expect("a chunk before the end");
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        assert!(!text.contains("[DONE]") && !text.contains("message_stop"));
        assert!(streamed_text(&text).starts_with("upstream"), "{text}");
    }
    // Stopping the upstream breaks its streams; the gateway passes the break on.
    sim.stop().await;
    proxy.stop().await;
}

#[tokio::test]
async fn a_broken_upstream_stream_reaches_the_client_as_a_broken_body() {
    let sim = sim(Mode::CutStream { after_tokens: 2 }).await;
    let proxy = proxy_to(sim.url(), Rule::default()).await;
    let response = post(&proxy.url(), CHAT, &request_for(CHAT, true)).await;
    assert_eq!(response.status(), 200);
    let (text, failed) = read_to_end_or_error(response).await;
    assert!(
        failed,
        "a clean end would hide the upstream's failure: {text}"
    );
    assert_eq!(content_events(&text), 2);
    proxy.stop().await;
    sim.stop().await;
}

/// A TLS front for `target` with a certificate for 127.0.0.1 signed by a
/// private CA made here; returns its address and the CA's PEM.
async fn tls_front(target: SocketAddr) -> (SocketAddr, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
    let leaf_key = KeyPair::generate().expect("leaf key");
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("leaf params")
        .signed_by(&leaf_key, &ca, &ca_key)
        .expect("leaf certificate");

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone(), ca.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let Ok(mut plain) = TcpStream::connect(target).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (address, ca.pem())
}

#[tokio::test]
async fn https_upstream_with_a_private_ca_passes_through_and_is_verified() {
    let sim = sim(Mode::Healthy).await;
    let (front, ca_pem) = tls_front(sim.addr).await;
    let mut config = ProxyConfig::new(format!("https://127.0.0.1:{}", front.port()));
    config.upstream_ca_pem = Some(ca_pem.into_bytes());
    let proxy = RunningProxy::start(config).await.expect("gateway");
    for path in ROUTES {
        for stream in [false, true] {
            let body = request_for(path, stream);
            let direct = post(&sim.url(), path, &body)
                .await
                .text()
                .await
                .expect("direct");
            let proxied = post(&proxy.url(), path, &body).await;
            assert_eq!(proxied.status(), 200);
            assert_same_but_id(&direct, &proxied.text().await.expect("proxied"));
        }
    }
    proxy.stop().await;

    // Without the CA the upstream's certificate is not trusted: 502, never plain text.
    let untrusting = proxy_to(
        format!("https://127.0.0.1:{}", front.port()),
        Rule::default(),
    )
    .await;
    let response = post(&untrusting.url(), CHAT, &request_for(CHAT, false)).await;
    assert_eq!(response.status(), 502);
    assert_eq!(response.headers()[NAME_HEADER], "gw");
    let error: Value = response.json().await.expect("json");
    assert_eq!(error["error"]["type"], "server_error");
    assert_eq!(untrusting.stats().upstream_errors, 1);
    untrusting.stop().await;
    sim.stop().await;
}

fn rule(json: &str) -> Rule {
    Rule::parse(json).unwrap_or_else(|error| panic!("{json}: {error}"))
}

#[tokio::test]
async fn failure_modes_answer_in_the_routes_provider_shape_without_calling_upstream() {
    let (sim, proxy) = pair(rule(r#"{"mode":"errors","status":502}"#)).await;
    let response = post(&proxy.url(), CHAT, &request_for(CHAT, true)).await;
    assert_eq!(response.status(), 502);
    assert_eq!(response.headers()[NAME_HEADER], "gw");
    let error: Value = response.json().await.expect("json");
    assert_eq!(error["error"]["type"], "server_error");
    assert!(error["error"]["param"].is_null());
    let response = post(&proxy.url(), MESSAGES, &request_for(MESSAGES, false)).await;
    assert_eq!(response.status(), 502);
    let error: Value = response.json().await.expect("json");
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "api_error");

    proxy.set_mode(rule(r#"{"mode":"rate_limit","retry_after_s":7}"#));
    for path in ROUTES {
        let response = post(&proxy.url(), path, &request_for(path, false)).await;
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "7");
        let error: Value = response.json().await.expect("json");
        let kind = if path == CHAT {
            &error["error"]["code"]
        } else {
            &error["error"]["type"]
        };
        let expected = if path == CHAT {
            "rate_limit_exceeded"
        } else {
            "rate_limit_error"
        };
        assert_eq!(kind, expected, "{error}");
    }

    proxy.set_mode(rule("overloaded"));
    for path in ROUTES {
        let response = post(&proxy.url(), path, &request_for(path, true)).await;
        assert_eq!(response.status().as_u16(), 529);
        let error: Value = response.json().await.expect("json");
        if path == MESSAGES {
            assert_eq!(error["error"]["type"], "overloaded_error");
        } else {
            assert_eq!(error["error"]["code"], "overloaded");
        }
    }
    assert_eq!(
        sim.stats().requests,
        0,
        "an injected failure never reaches the upstream"
    );
    let stats = proxy.stats();
    assert_eq!(stats.requests, 6);
    assert_eq!(stats.injected.get("errors"), Some(&2));
    assert_eq!(stats.injected.get("rate_limit"), Some(&2));
    assert_eq!(stats.injected.get("overloaded"), Some(&2));
    assert_eq!(stats.by_status.get(&429), Some(&2));
    assert_eq!(stats.passed_through, 0);
    proxy.stop().await;
    sim.stop().await;
}

#[tokio::test]
async fn rate_picks_a_seeded_fraction_and_the_rest_pass() {
    let (sim, proxy) = pair(rule(r#"{"mode":"errors","rate":0.5,"status":503}"#)).await;
    let mut statuses = Vec::new();
    for index in 0..40 {
        let path = ROUTES[index % 2];
        statuses.push(
            post(&proxy.url(), path, &request_for(path, false))
                .await
                .status()
                .as_u16(),
        );
    }
    let failed = statuses.iter().filter(|status| **status == 503).count();
    assert!((5..=35).contains(&failed), "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|status| *status == 200 || *status == 503)
    );
    let stats = proxy.stats();
    assert_eq!(stats.passed_through as usize, 40 - failed);
    assert_eq!(sim.stats().requests as usize, 40 - failed);
    proxy.stop().await;

    // The same seed and the same requests give the same statuses.
    let again = proxy_to(
        sim.url(),
        rule(r#"{"mode":"errors","rate":0.5,"status":503}"#),
    )
    .await;
    let mut replay = Vec::new();
    for index in 0..40 {
        let path = ROUTES[index % 2];
        replay.push(
            post(&again.url(), path, &request_for(path, false))
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(replay, statuses);
    again.stop().await;
    sim.stop().await;
}

#[tokio::test]
async fn latency_delays_before_forwarding_and_hang_never_answers() {
    let (sim, proxy) = pair(rule(r#"{"mode":"latency","latency_ms":300}"#)).await;
    for path in ROUTES {
        let started = Instant::now();
        let response = post(&proxy.url(), path, &request_for(path, false)).await;
        assert_eq!(response.status(), 200);
        assert!(started.elapsed() >= Duration::from_millis(300));
    }
    assert_eq!(proxy.stats().injected.get("latency"), Some(&2));

    proxy.set_mode(rule("hang"));
    for path in ROUTES {
        let outcome = reqwest::Client::new()
            .post(format!("{}{path}", proxy.url()))
            .json(&request_for(path, false))
            .timeout(Duration::from_millis(500))
            .send()
            .await;
        assert!(outcome.is_err_and(|error| error.is_timeout()));
    }
    assert_eq!(proxy.stats().hung, 2);
    assert_eq!(
        sim.stats().requests,
        2,
        "hung requests never reach the upstream"
    );

    // Shutdown releases a hung request with a 503.
    let pending = tokio::spawn({
        let url = format!("{}{CHAT}", proxy.url());
        async move {
            client()
                .post(url)
                .json(&request_for(CHAT, false))
                .send()
                .await
        }
    });
    while proxy.stats().hung < 3 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    proxy.stop().await;
    let response = pending.await.expect("join").expect("an answer at shutdown");
    assert_eq!(response.status(), 503);
    sim.stop().await;
}

#[tokio::test]
async fn slow_stream_paces_the_upstreams_tokens() {
    let (sim, proxy) = pair(rule(
        r#"{"mode":"slow_stream","tokens_per_s":20,"first_token_delay_ms":200,"stall_after_first_ms":100}"#,
    ))
    .await;
    for path in ROUTES {
        let started = Instant::now();
        let response = post(&proxy.url(), path, &request_for(path, true)).await;
        assert_eq!(response.status(), 200);
        let (text, failed) = read_to_end_or_error(response).await;
        assert!(!failed);
        // 8 tokens: 200 ms before the first, 100 + 50 ms before the second,
        // 50 ms before each of the other six.
        assert!(started.elapsed() >= Duration::from_millis(200 + 150 + 6 * 50));
        assert_eq!(content_events(&text), 8);
        assert!(text.contains("[DONE]") || text.contains("message_stop"));
        assert!(streamed_text(&text).starts_with("upstream says: how is the weather today"));
    }
    // A JSON answer waits as long as its first token would.
    let started = Instant::now();
    let response = post(&proxy.url(), CHAT, &request_for(CHAT, false)).await;
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let _: Value = response.json().await.expect("a whole JSON answer");
    proxy.stop().await;
    sim.stop().await;
}

#[tokio::test]
async fn cut_stream_breaks_the_connection_after_n_content_events() {
    let (sim, proxy) = pair(rule(r#"{"mode":"cut_stream","after_tokens":3}"#)).await;
    for path in ROUTES {
        let response = post(&proxy.url(), path, &request_for(path, true)).await;
        assert_eq!(response.status(), 200);
        let (text, failed) = read_to_end_or_error(response).await;
        assert!(failed, "the client must see a broken body: {text}");
        assert_eq!(content_events(&text), 3, "{text}");
        assert!(
            !text.contains("[DONE]") && !text.contains("message_stop"),
            "{text}"
        );

        let response = post(&proxy.url(), path, &request_for(path, false)).await;
        assert_eq!(response.status(), 200);
        let (text, failed) = read_to_end_or_error(response).await;
        assert!(failed, "a cut JSON answer also ends in a broken connection");
        assert!(serde_json::from_str::<Value>(&text).is_err());
    }
    assert_eq!(proxy.stats().streams_cut, 4);
    proxy.stop().await;
    sim.stop().await;
}

#[tokio::test]
async fn malformed_garbles_streams_and_json_answers() {
    let (sim, proxy) = pair(rule("malformed")).await;
    for path in ROUTES {
        let response = post(&proxy.url(), path, &request_for(path, true)).await;
        assert_eq!(response.status(), 200);
        let (text, failed) = read_to_end_or_error(response).await;
        assert!(!failed);
        let bad = data_lines(&text)
            .iter()
            .filter(|data| **data != "[DONE]" && serde_json::from_str::<Value>(data).is_err())
            .count();
        assert_eq!(bad, 1, "{text}");
        assert_eq!(
            content_events(&text),
            8,
            "the rest of the stream follows: {text}"
        );
        assert!(text.contains("[DONE]") || text.contains("message_stop"));

        let response = post(&proxy.url(), path, &request_for(path, false)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        let (text, failed) = read_to_end_or_error(response).await;
        assert!(!failed, "a malformed answer ends cleanly");
        assert!(
            !text.is_empty() && serde_json::from_str::<Value>(&text).is_err(),
            "{text}"
        );
    }
    proxy.stop().await;
    sim.stop().await;
}

#[tokio::test]
async fn a_match_fails_one_model_while_another_keeps_working() {
    let failing = Rule {
        mode: Mode::Errors {
            rate: Rate::ALWAYS,
            status: ErrorStatus::ServiceUnavailable,
        },
        matcher: Some(Match {
            route: Some(CHAT.to_owned()),
            model: Some("gpt-bad".to_owned()),
        }),
    };
    let (sim, proxy) = pair(failing).await;
    let mut bad = request_for(CHAT, false);
    bad["model"] = json!("gpt-bad");
    let good = request_for(CHAT, false);
    let mut bad_elsewhere = request_for(MESSAGES, false);
    bad_elsewhere["model"] = json!("gpt-bad");

    assert_eq!(post(&proxy.url(), CHAT, &bad).await.status(), 503);
    let response = post(&proxy.url(), CHAT, &good).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.expect("json");
    assert_eq!(answer["model"], "gpt-sim-1");
    assert_eq!(
        post(&proxy.url(), MESSAGES, &bad_elsewhere).await.status(),
        200
    );
    let stats = proxy.stats();
    assert_eq!(stats.injected.get("errors"), Some(&1));
    assert_eq!(stats.passed_through, 2);
    assert_eq!(sim.stats().requests, 2);
    proxy.stop().await;
    sim.stop().await;
}

#[tokio::test]
async fn admin_api_switches_modes_with_a_match_and_rejects_bad_ones() {
    let (sim, proxy) = pair(Rule::default()).await;
    let admin = format!("{}/admin/mode", proxy.url());
    let response = client()
        .put(&admin)
        .body(r#"{"mode":"overloaded","match":{"model":"claude-sim-1"}}"#)
        .send()
        .await
        .expect("put");
    assert_eq!(response.status(), 200);
    let mode: Value = client()
        .get(&admin)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(mode["mode"], "overloaded");
    assert_eq!(mode["match"]["model"], "claude-sim-1");
    let response = post(&proxy.url(), MESSAGES, &request_for(MESSAGES, false)).await;
    assert_eq!(response.status().as_u16(), 529);

    let response = client()
        .put(&admin)
        .body(r#"{"mode":"errors","match":{"modle":"x"}}"#)
        .send()
        .await
        .expect("put");
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.expect("json");
    assert_eq!(error["error"]["type"], "invalid_mode");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("modle")),
        "{error}"
    );
    let mode: Value = client()
        .get(&admin)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(
        mode["mode"], "overloaded",
        "a bad mode leaves the mode unchanged"
    );

    let stats: Value = client()
        .get(format!("{}/admin/stats", proxy.url()))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["requests"], 1);
    assert_eq!(stats["by_status"]["529"], 1);
    assert_eq!(stats["by_route"][MESSAGES], 1);
    assert_eq!(stats["injected"]["overloaded"], 1);
    assert_eq!(stats["mode"]["match"]["model"], "claude-sim-1");
    let before: Value = client()
        .post(format!("{}/admin/stats/reset", proxy.url()))
        .send()
        .await
        .expect("reset")
        .json()
        .await
        .expect("json");
    assert_eq!(before["requests"], 1);
    assert_eq!(proxy.stats().requests, 0);
    proxy.stop().await;
    sim.stop().await;
}

#[tokio::test]
async fn a_stalled_or_missing_upstream_gets_a_gateway_error() {
    let sim = sim(Mode::Hang).await;
    let mut config = ProxyConfig::new(sim.url());
    config.upstream_timeout = Duration::from_millis(500);
    let proxy = RunningProxy::start(config).await.expect("gateway");
    let response = post(&proxy.url(), MESSAGES, &request_for(MESSAGES, false)).await;
    assert_eq!(response.status(), 504);
    let error: Value = response.json().await.expect("json");
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "api_error");
    assert_eq!(proxy.stats().upstream_errors, 1);
    proxy.stop().await;
    sim.stop().await;

    // Nothing listens on the upstream's port any more.
    let (listener, address) = crate::util::loopback_listener().await;
    drop(listener);
    let proxy = proxy_to(format!("http://{address}"), Rule::default()).await;
    let response = post(&proxy.url(), CHAT, &request_for(CHAT, false)).await;
    assert_eq!(response.status(), 502);
    let error: Value = response.json().await.expect("json");
    assert_eq!(error["error"]["code"], "bad_gateway");
    proxy.stop().await;
}

#[tokio::test]
async fn cli_prints_its_url_checks_its_upstream_and_refuses_remote_addresses() {
    use tokio::io::AsyncBufReadExt;

    let sim = sim(Mode::Healthy).await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args([
            "llm-proxy",
            "--upstream",
            &sim.url(),
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--name", "cli-gw", "--mode", "overloaded", "--seed", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn gameday");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let url = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the URL is printed")
        .expect("read stdout")
        .expect("a line");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let response = post(&url, MESSAGES, &request_for(MESSAGES, false)).await;
    assert_eq!(response.status().as_u16(), 529);
    assert_eq!(response.headers()[NAME_HEADER], "cli-gw");
    let response = client()
        .put(format!("{url}/admin/mode"))
        .body("{\"mode\":\"healthy\"}")
        .send()
        .await
        .expect("put");
    assert_eq!(response.status(), 200);
    let response = post(&url, MESSAGES, &request_for(MESSAGES, false)).await;
    assert_eq!(response.status(), 200);
    child.kill().await.expect("kill");

    for (args, needle) in [
        (
            vec!["--upstream", "http://127.0.0.1:1", "--listen", "0.0.0.0:0"],
            "--allow-remote",
        ),
        (vec!["--upstream", "ftp://example.test"], "http or https"),
        (
            vec![
                "--upstream",
                "https://127.0.0.1:1",
                "--upstream-ca",
                "/nonexistent/ca.pem",
            ],
            "--upstream-ca",
        ),
        (
            vec![
                "--upstream",
                "http://127.0.0.1:1",
                "--mode",
                "{\"mode\":\"nope\"}",
            ],
            "nope",
        ),
    ] {
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
            .arg("llm-proxy")
            .args(&args)
            .output()
            .await
            .expect("run gameday");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    sim.stop().await;
}
