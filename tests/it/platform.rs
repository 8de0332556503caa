//! The reference platform against real Redis, PostgreSQL and two LLM
//! simulators: degradation and recovery under traffic, failover and breakers,
//! the fast failure when every provider is down, and bad requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use gameday::lab::llm_sim::Mode;
use gameday::lab::llm_sim::mode::{ErrorStatus, Rate};
use gameday::lab::platform::api::PROVIDER_HEADER;
use gameday::lab::stack::{Lab, LabOptions};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::util::binaries;

async fn lab(options: LabOptions) -> Lab {
    Lab::start(&binaries(), &options, gameday::clock::system())
        .await
        .expect("start the lab")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// One finished chat request.
#[derive(Debug, Clone)]
struct Outcome {
    status: u16,
    provider: String,
    latency: Duration,
    body: Value,
}

async fn chat(http: &reqwest::Client, base: &str, conversation: &str, message: &str) -> Outcome {
    let started = Instant::now();
    let response = http
        .post(format!("{base}/v1/chat"))
        .json(&json!({"conversation_id": conversation, "message": message}))
        .send()
        .await
        .expect("the platform answers");
    let status = response.status().as_u16();
    let provider = response
        .headers()
        .get(PROVIDER_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response.json().await.unwrap_or(Value::Null);
    Outcome {
        status,
        provider,
        latency: started.elapsed(),
        body,
    }
}

/// Closed-loop traffic from `workers` tasks until stopped.
struct Traffic {
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<Vec<Outcome>>>,
}

impl Traffic {
    fn start(base: &str, workers: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let workers = (0..workers)
            .map(|worker| {
                let (stop, base, http) = (Arc::clone(&stop), base.to_owned(), http());
                tokio::spawn(async move {
                    let mut outcomes = Vec::new();
                    let mut turn = 0;
                    while !stop.load(Ordering::SeqCst) {
                        turn += 1;
                        let message = format!("worker {worker} turn {turn}");
                        outcomes.push(chat(&http, &base, &format!("w{worker}"), &message).await);
                    }
                    outcomes
                })
            })
            .collect();
        Self { stop, workers }
    }

    async fn stop(self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::SeqCst);
        let mut all = Vec::new();
        for worker in self.workers {
            all.extend(worker.await.expect("traffic worker"));
        }
        all
    }
}

async fn get(http: &reqwest::Client, url: String) -> Value {
    http.get(url)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON body")
}

/// Polls the platform's capability map until `wanted` holds (up to 30 s).
async fn wait_for_capabilities(http: &reqwest::Client, base: &str, wanted: &[(&str, bool)]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let caps = get(http, format!("{base}/capabilities")).await;
        if wanted.iter().all(|(name, value)| caps[name] == *value) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "capabilities never became {wanted:?}: {caps}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn breaker_state(http: &reqwest::Client, base: &str, provider: &str) -> String {
    let breakers = get(http, format!("{base}/breakers")).await;
    breakers["providers"]
        .as_array()
        .and_then(|all| all.iter().find(|b| b["provider"] == provider))
        .and_then(|b| b["state"].as_str())
        .unwrap_or("missing")
        .to_owned()
}

async fn wait_for_breaker(http: &reqwest::Client, base: &str, provider: &str, state: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = breaker_state(http, base, provider).await;
        if now == state {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "breaker of {provider} stayed {now}, wanted {state}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_under_traffic_chat_holds_and_capabilities_return() {
    let mut lab = lab(LabOptions::default()).await;
    let (http, base) = (http(), lab.platform.url());
    wait_for_capabilities(
        &http,
        &base,
        &[("caching", true), ("real_time_usage", true)],
    )
    .await;
    let traffic = Traffic::start(&base, 4);

    lab.redis.kill().await.expect("SIGKILL redis-server");
    wait_for_capabilities(
        &http,
        &base,
        &[
            ("caching", false),
            ("real_time_usage", false),
            ("chat", true),
        ],
    )
    .await;
    let during = chat(&http, &base, "probe", "still there?").await;
    assert_eq!(during.status, 200, "{:?}", during.body);
    let degraded = during.body["degraded"].as_array().expect("degraded list");
    assert!(degraded.contains(&json!("caching")), "{:?}", during.body);

    lab.redis.restart().await.expect("restart redis-server");
    wait_for_capabilities(
        &http,
        &base,
        &[("caching", true), ("real_time_usage", true)],
    )
    .await;
    let outcomes = traffic.stop().await;
    let failed: Vec<_> = outcomes.iter().filter(|o| o.status != 200).collect();
    assert!(
        outcomes.len() > 10,
        "too little traffic: {}",
        outcomes.len()
    );
    assert!(
        failed.is_empty(),
        "chat failed while Redis was down: {failed:?}"
    );
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_postgres_degrades_history_and_no_request_waits_past_the_db_timeout() {
    let db_timeout = Duration::from_secs(2);
    let mut lab = lab(LabOptions {
        db_timeout,
        ..LabOptions::default()
    })
    .await;
    let (http, base) = (http(), lab.platform.url());
    wait_for_capabilities(&http, &base, &[("conversation_history", true)]).await;
    let before = chat(&http, &base, "kept", "remember me").await;
    assert_eq!(before.body["history"], "postgres", "{:?}", before.body);

    let traffic = Traffic::start(&base, 4);
    lab.postgres.freeze().expect("SIGSTOP postgres");
    wait_for_capabilities(
        &http,
        &base,
        &[
            ("conversation_history", false),
            ("analytics", false),
            ("chat", true),
        ],
    )
    .await;
    let during = chat(&http, &base, "kept", "and now?").await;
    assert_eq!(during.status, 200);
    assert_eq!(during.body["history"], "memory", "{:?}", during.body);
    lab.postgres.thaw().expect("SIGCONT postgres");
    wait_for_capabilities(&http, &base, &[("conversation_history", true)]).await;
    let outcomes = traffic.stop().await;

    assert!(
        outcomes.iter().all(|o| o.status == 200),
        "a chat turn failed"
    );
    let slowest = outcomes.iter().map(|o| o.latency).max().unwrap_or_default();
    // One DB timeout at most per request (two would be 4 s), with slack for a noisy machine.
    assert!(
        slowest < db_timeout + Duration::from_millis(1500),
        "a request waited {slowest:?} with a {db_timeout:?} DB timeout"
    );
    // What was written to memory during the freeze is replayed into
    // PostgreSQL once it is back, and memory empties.
    let deadline = Instant::now() + Duration::from_secs(30);
    let platform = lab.platform.platform();
    while platform.memory_history_len() > 0 {
        assert!(
            Instant::now() < deadline,
            "{} conversations still only in memory",
            platform.memory_history_len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let history = get(&http, format!("{base}/v1/conversations/kept")).await;
    assert_eq!(history["source"], "postgres", "{history}");
    let contents: Vec<&str> = history["turns"]
        .as_array()
        .expect("turns")
        .iter()
        .filter_map(|t| t["content"].as_str())
        .collect();
    let mine: Vec<&str> = contents
        .iter()
        .copied()
        .filter(|c| *c == "remember me" || *c == "and now?")
        .collect();
    assert_eq!(
        mine,
        ["remember me", "and now?"],
        "in order, once each: {history}"
    );
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primary_outage_fails_over_opens_the_breaker_and_closes_it_after_recovery() {
    let lab = lab(LabOptions::default()).await;
    let (http, base) = (http(), lab.platform.url());
    let first = chat(&http, &base, "c", "hello").await;
    assert_eq!(first.provider, "primary", "{:?}", first.body);

    let traffic = Traffic::start(&base, 2);
    lab.primary
        .set_mode(Mode::Errors {
            rate: Rate::ALWAYS,
            status: ErrorStatus::ServiceUnavailable,
        })
        .await;
    wait_for_breaker(&http, &base, "primary", "open").await;
    let calls_when_open = lab.primary.stats().requests;
    let served = chat(&http, &base, "c", "who answers now?").await;
    assert_eq!(served.status, 200);
    assert_eq!(served.provider, "fallback", "{:?}", served.body);
    assert_eq!(served.body["provider"], "fallback");
    // While open, the primary is not called by chat traffic (at most a health probe).
    let calls_after = lab.primary.stats().requests;
    assert!(
        calls_after <= calls_when_open + 1,
        "{calls_when_open} -> {calls_after}"
    );

    lab.primary.set_mode(Mode::Healthy).await;
    wait_for_breaker(&http, &base, "primary", "closed").await;
    let outcomes = traffic.stop().await;
    assert!(
        outcomes.iter().all(|o| o.status == 200),
        "failover let an error through"
    );
    let back = chat(&http, &base, "c", "and now?").await;
    assert_eq!(back.provider, "primary");
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_providers_down_gives_chat_false_and_a_fast_clear_503() {
    let lab = lab(LabOptions::default()).await;
    let (http, base) = (http(), lab.platform.url());
    let outage = Mode::Errors {
        rate: Rate::ALWAYS,
        status: ErrorStatus::ServiceUnavailable,
    };
    lab.primary.set_mode(outage.clone()).await;
    lab.fallback.set_mode(outage).await;
    // Enough turns to open both breakers (threshold 3).
    for turn in 0..4 {
        let outcome = chat(&http, &base, "c", &format!("turn {turn}")).await;
        assert_eq!(outcome.status, 503, "{:?}", outcome.body);
    }
    wait_for_capabilities(&http, &base, &[("chat", false), ("streaming", false)]).await;
    let failed = chat(&http, &base, "c", "anyone?").await;
    assert_eq!(failed.status, 503);
    assert_eq!(failed.body["error"]["code"], "llm_unavailable");
    let message = failed.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("primary") && message.contains("fallback"),
        "{message}"
    );
    assert!(
        failed.latency < Duration::from_secs(1),
        "with both breakers open the 503 should be immediate, took {:?}",
        failed.latency
    );
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_turns_and_history_follow_the_contract() {
    let lab = lab(LabOptions::default()).await;
    let (http, base) = (http(), lab.platform.url());
    let response = http
        .post(format!("{base}/v1/chat"))
        .json(&json!({"conversation_id": "s", "message": "stream please", "stream": true}))
        .send()
        .await
        .expect("stream");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/event-stream")
    );
    let text = response.text().await.expect("SSE body");
    let events: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("event: "))
        .collect();
    assert_eq!(events.first(), Some(&"meta"), "{text}");
    assert_eq!(events.last(), Some(&"done"), "{text}");
    assert!(events.contains(&"delta"), "{text}");

    let history = get(&http, format!("{base}/v1/conversations/s")).await;
    assert_eq!(history["source"], "postgres");
    let roles: Vec<&str> = history["turns"]
        .as_array()
        .expect("turns")
        .iter()
        .filter_map(|t| t["role"].as_str())
        .collect();
    assert_eq!(roles, ["user", "assistant"]);
    let health = get(&http, format!("{base}/health")).await;
    assert_eq!(health["status"], "healthy", "{health}");
    assert_eq!(health["components"].as_array().map(Vec::len), Some(3));
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_json_errors() {
    let lab = lab(LabOptions::default()).await;
    let (http, base) = (http(), lab.platform.url());
    let post = |body: Vec<u8>| {
        http.post(format!("{base}/v1/chat"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (b"{not json".to_vec(), 400),
        (br#"{"message": "no conversation"}"#.to_vec(), 400),
        (
            br#"{"conversation_id": "c", "message": "   "}"#.to_vec(),
            400,
        ),
        (br#"{"conversation_id": 7, "message": "x"}"#.to_vec(), 400),
    ];
    for (body, status) in cases {
        let response = post(body).await.expect("answer");
        assert_eq!(response.status().as_u16(), status);
        let error: Value = response.json().await.expect("a JSON error body");
        assert!(error["error"]["message"].is_string(), "{error}");
    }
    // An oversized body is refused before it is read, so its connection is
    // closed: send it on a connection of its own, and small enough (300 KiB,
    // over the 256 KiB limit) that the client has written it all before the
    // server answers and closes.
    let oversized = reqwest::Client::new()
        .post(format!("{base}/v1/chat"))
        .header("content-type", "application/json")
        .header("connection", "close")
        .body(vec![b'x'; 300 * 1024])
        .send()
        .await
        .expect("answer");
    assert_eq!(oversized.status(), 413);
    let error: Value = oversized.json().await.expect("a JSON error body");
    assert_eq!(error["error"]["code"], "body_too_large");
    let missing = http.get(format!("{base}/nope")).send().await.expect("404");
    assert_eq!(missing.status(), 404);
    let wrong_method = http
        .get(format!("{base}/v1/chat"))
        .send()
        .await
        .expect("405");
    assert_eq!(wrong_method.status(), 405);
    // Still serving after all that.
    let fine = chat(&http, &base, "c", "ok?").await;
    assert_eq!(fine.status, 200);
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxied_lab_reaches_every_dependency_through_its_proxy() {
    let lab = lab(LabOptions {
        proxied: true,
        ..LabOptions::default()
    })
    .await;
    let (http, base) = (http(), lab.platform.url());
    let proxy = lab.proxy.as_ref().expect("a proxied lab has a proxy");
    let client = gameday::faults::toxiproxy::Client::new(&proxy.api_url()).expect("client");
    let proxies = client.proxies().await.expect("list proxies");
    let names: Vec<&str> = proxies.keys().map(String::as_str).collect();
    assert_eq!(names, ["fallback", "postgres", "primary", "redis"]);
    assert_eq!(chat(&http, &base, "p", "hello").await.provider, "primary");

    // The primary is reachable only through its proxy: take the proxy down.
    client
        .set_enabled("primary", false)
        .await
        .expect("disable primary");
    let moved = chat(&http, &base, "p", "who now?").await;
    assert_eq!((moved.status, moved.provider.as_str()), (200, "fallback"));
    client
        .set_enabled("primary", true)
        .await
        .expect("enable primary");

    // Redis too: with its proxy down, caching goes off; back on when enabled.
    client
        .set_enabled("redis", false)
        .await
        .expect("disable redis");
    wait_for_capabilities(&http, &base, &[("caching", false)]).await;
    client
        .set_enabled("redis", true)
        .await
        .expect("enable redis");
    wait_for_capabilities(&http, &base, &[("caching", true)]).await;
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_pool_grows_for_a_burst_closes_idle_connections_and_keeps_a_warm_floor() {
    use gameday::lab::platform::storage::history::PgHistory;
    use gameday::lab::services::ManagedService;

    let mut postgres = ManagedService::start_postgres(&binaries())
        .await
        .expect("start postgres");
    let history = PgHistory::new(&postgres.url(), Duration::from_secs(10), 8).expect("pool");
    // Eight reads at once: none can wait for another's connection.
    let reads = (0..8).map(|i| {
        let history = &history;
        async move { history.recent(&format!("c{i}"), 5).await }
    });
    for read in futures_util::future::join_all(reads).await {
        assert!(read.expect("a read").is_empty());
    }
    let grown = history.connections();
    assert!(
        grown > 1,
        "a burst of eight reads used {grown} connection(s)"
    );
    assert_eq!(
        history.close_idle(Duration::from_secs(3600), 0),
        0,
        "none idle an hour"
    );
    assert_eq!(history.connections(), grown);
    // The warm floor stays open; the rest of the burst's connections go.
    assert_eq!(history.close_idle(Duration::ZERO, 1), grown - 1);
    assert_eq!(history.connections(), 1);
    assert_eq!(history.close_idle(Duration::ZERO, 0), 1);
    assert_eq!(history.connections(), 0);
    // Still usable: a new connection is made when needed.
    assert!(history.recent("c0", 5).await.expect("a read").is_empty());
    assert_eq!(history.connections(), 1);
    // Warming opens connections up to the floor (and never closes any).
    assert_eq!(history.warm(4, 2).await, 3, "a step of 2 from 1");
    assert_eq!(history.warm(4, 2).await, 4, "never past the floor");
    assert_eq!(history.warm(2, 2).await, 4, "and never closes any");
    assert_eq!(history.close_idle(Duration::ZERO, 2), 2);
    postgres.stop().await.expect("stop");
}
