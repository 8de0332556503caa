//! Integration tests for the LLM provider simulator: real HTTP over loopback,
//! both wire formats, every failure mode, the admin API, stats, determinism.

use std::time::Duration;

use gameday::lab::llm_sim::{
    ErrorStatus, Mode, NAME_HEADER, Rate, RunningSim, SimConfig, TokensPerSecond,
};
use serde_json::{Value, json};
use tokio::time::Instant;

const CHAT: &str = "/v1/chat/completions";
const MESSAGES: &str = "/v1/messages";

async fn start(mode: Mode) -> RunningSim {
    RunningSim::start(SimConfig {
        seed: Some(7),
        mode,
        reply_tokens: 8,
        name: "primary".to_owned(),
    })
    .await
    .expect("start the simulator")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

fn openai_request(stream: bool) -> Value {
    json!({
        "model": "gpt-sim-1",
        "messages": [
            {"role": "system", "content": "you are terse"},
            {"role": "user", "content": "how is the weather today"}
        ],
        "stream": stream,
        "stream_options": {"include_usage": true},
    })
}

fn anthropic_request(stream: bool) -> Value {
    json!({
        "model": "claude-sim-1",
        "max_tokens": 100,
        "system": "you are terse",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "how is the weather today"}]}],
        "stream": stream,
    })
}

fn request_for(path: &str, stream: bool) -> Value {
    if path == CHAT {
        openai_request(stream)
    } else {
        anthropic_request(stream)
    }
}

async fn post(sim: &RunningSim, path: &str, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}{path}", sim.url()))
        .json(body)
        .send()
        .await
        .expect("send")
}

async fn json_of(response: reqwest::Response) -> Value {
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("not JSON ({error}): {text}"))
}

/// One SSE event: its `event:` name (if any) and its `data:` payload.
#[derive(Debug)]
struct SseEvent {
    event: Option<String>,
    data: String,
}

fn parse_sse(text: &str) -> Vec<SseEvent> {
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut event = None;
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(name) = line.strip_prefix("event: ") {
                    event = Some(name.to_owned());
                } else if let Some(payload) = line.strip_prefix("data: ") {
                    data.push(payload);
                }
            }
            SseEvent {
                event,
                data: data.join("\n"),
            }
        })
        .collect()
}

fn data_json(event: &SseEvent) -> Value {
    serde_json::from_str(&event.data)
        .unwrap_or_else(|error| panic!("data is not JSON ({error}): {}", event.data))
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

async fn admin_get(sim: &RunningSim, path: &str) -> Value {
    let response = client()
        .get(format!("{}{path}", sim.url()))
        .send()
        .await
        .expect("admin get");
    assert_eq!(response.status(), 200);
    json_of(response).await
}

async fn put_mode(sim: &RunningSim, body: &str) -> reqwest::Response {
    client()
        .put(format!("{}/admin/mode", sim.url()))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("put mode")
}

#[tokio::test]
async fn openai_json_answer_has_the_documented_shape() {
    let sim = start(Mode::Healthy).await;
    let response = post(&sim, CHAT, &openai_request(false)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[NAME_HEADER], "primary");
    let body = json_of(response).await;
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "gpt-sim-1");
    assert!(
        body["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("chatcmpl-"))
    );
    assert!(body["created"].is_u64());
    let choice = &body["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(
        choice["message"]["content"],
        "primary says: how is the weather today alpha"
    );
    // Tokens are whitespace words: 3 (system) + 5 (user) in, 8 out.
    assert_eq!(body["usage"]["prompt_tokens"], 8);
    assert_eq!(body["usage"]["completion_tokens"], 8);
    assert_eq!(body["usage"]["total_tokens"], 16);
    sim.stop().await;
}

#[tokio::test]
async fn openai_stream_parses_and_ends_with_done() {
    let sim = start(Mode::Healthy).await;
    let response = post(&sim, CHAT, &openai_request(true)).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .is_ok_and(|value| value.starts_with("text/event-stream"))
    );
    let events = parse_sse(&response.text().await.expect("body"));
    let (last, chunks) = events.split_last().expect("events");
    assert_eq!(last.data, "[DONE]");
    let chunks: Vec<Value> = chunks.iter().map(data_json).collect();
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "primary says: how is the weather today alpha");
    let finish = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["finish_reason"].as_str())
        .collect::<Vec<_>>();
    assert_eq!(finish, ["stop"]);
    let usage = chunks.last().expect("usage chunk");
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["completion_tokens"], 8);
    sim.stop().await;
}

#[tokio::test]
async fn anthropic_json_answer_has_the_documented_shape() {
    let sim = start(Mode::Healthy).await;
    let response = post(&sim, MESSAGES, &anthropic_request(false)).await;
    assert_eq!(response.status(), 200);
    let body = json_of(response).await;
    assert_eq!(body["type"], "message");
    assert_eq!(body["role"], "assistant");
    assert_eq!(body["model"], "claude-sim-1");
    assert!(body["id"].as_str().is_some_and(|id| id.starts_with("msg_")));
    assert_eq!(body["content"][0]["type"], "text");
    assert_eq!(
        body["content"][0]["text"],
        "primary says: how is the weather today alpha"
    );
    assert_eq!(body["stop_reason"], "end_turn");
    assert_eq!(body["stop_sequence"], Value::Null);
    assert_eq!(body["usage"]["input_tokens"], 8);
    assert_eq!(body["usage"]["output_tokens"], 8);
    sim.stop().await;
}

#[tokio::test]
async fn anthropic_stream_sends_events_in_order() {
    let sim = start(Mode::Healthy).await;
    let response = post(&sim, MESSAGES, &anthropic_request(true)).await;
    assert_eq!(response.status(), 200);
    let events = parse_sse(&response.text().await.expect("body"));
    let names: Vec<&str> = events
        .iter()
        .map(|e| e.event.as_deref().expect("event name"))
        .collect();
    let mut expected = vec!["message_start", "content_block_start", "ping"];
    expected.extend(std::iter::repeat_n("content_block_delta", 8));
    expected.extend(["content_block_stop", "message_delta", "message_stop"]);
    assert_eq!(names, expected);
    for event in &events {
        // Every data payload is JSON whose `type` repeats the event name.
        assert_eq!(
            data_json(event)["type"],
            event.event.as_deref().unwrap_or("")
        );
    }
    let start = data_json(&events[0]);
    assert_eq!(start["message"]["model"], "claude-sim-1");
    assert_eq!(start["message"]["usage"]["input_tokens"], 8);
    let text: String = events
        .iter()
        .filter(|e| e.event.as_deref() == Some("content_block_delta"))
        .map(|e| {
            let delta = data_json(e);
            assert_eq!(delta["delta"]["type"], "text_delta");
            delta["delta"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(text, "primary says: how is the weather today alpha");
    let message_delta = data_json(&events[events.len() - 2]);
    assert_eq!(message_delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(message_delta["usage"]["output_tokens"], 8);
    sim.stop().await;
}

#[tokio::test]
async fn max_tokens_shortens_the_reply() {
    let sim = start(Mode::Healthy).await;
    let mut request = anthropic_request(false);
    request["max_tokens"] = json!(3);
    let body = json_of(post(&sim, MESSAGES, &request).await).await;
    assert_eq!(body["content"][0]["text"], "primary says: how");
    assert_eq!(body["stop_reason"], "max_tokens");
    let mut request = openai_request(false);
    request["max_tokens"] = json!(2);
    let body = json_of(post(&sim, CHAT, &request).await).await;
    assert_eq!(body["choices"][0]["finish_reason"], "length");
    assert_eq!(body["usage"]["completion_tokens"], 2);
    sim.stop().await;
}

#[tokio::test]
async fn errors_mode_answers_provider_shaped_errors() {
    let sim = start(Mode::Errors {
        rate: Rate::ALWAYS,
        status: ErrorStatus::BadGateway,
    })
    .await;
    let response = post(&sim, CHAT, &openai_request(false)).await;
    assert_eq!(response.status(), 502);
    let body = json_of(response).await;
    assert_eq!(body["error"]["type"], "server_error");
    assert!(body["error"]["message"].is_string());
    assert_eq!(body["error"]["param"], Value::Null);
    assert!(body["error"].get("code").is_some());

    // A streaming request fails before the stream starts, with JSON.
    let response = post(&sim, MESSAGES, &anthropic_request(true)).await;
    assert_eq!(response.status(), 502);
    let body = json_of(response).await;
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "api_error");
    sim.stop().await;
}

#[tokio::test]
async fn rate_limit_mode_answers_429_with_retry_after() {
    let sim = start(Mode::RateLimit {
        rate: Rate::ALWAYS,
        retry_after_s: 7,
    })
    .await;
    for path in [CHAT, MESSAGES] {
        let response = post(&sim, path, &request_for(path, false)).await;
        assert_eq!(response.status(), 429, "{path}");
        assert_eq!(response.headers()["retry-after"], "7", "{path}");
        let body = json_of(response).await;
        if path == CHAT {
            assert_eq!(body["error"]["code"], "rate_limit_exceeded");
        } else {
            assert_eq!(body["error"]["type"], "rate_limit_error");
        }
    }
    sim.stop().await;
}

#[tokio::test]
async fn overloaded_mode_answers_529_on_both_routes() {
    let sim = start(Mode::Overloaded { rate: Rate::ALWAYS }).await;
    let response = post(&sim, MESSAGES, &anthropic_request(false)).await;
    assert_eq!(response.status().as_u16(), 529);
    let body = json_of(response).await;
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "overloaded_error");

    let response = post(&sim, CHAT, &openai_request(false)).await;
    assert_eq!(response.status().as_u16(), 529);
    let body = json_of(response).await;
    assert!(body["error"]["message"].is_string());
    assert_eq!(body["error"]["code"], "overloaded");
    sim.stop().await;
}

#[tokio::test]
async fn hang_never_answers_and_shutdown_ends_it() {
    let sim = start(Mode::Hang).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let error = impatient
        .post(format!("{}{CHAT}", sim.url()))
        .json(&openai_request(false))
        .send()
        .await
        .expect_err("a hung request must not be answered");
    assert!(error.is_timeout(), "{error}");

    // A patient client is still waiting when the simulator stops.
    let url = format!("{}{MESSAGES}", sim.url());
    let patient = tokio::spawn(async move {
        client()
            .post(url)
            .json(&anthropic_request(false))
            .send()
            .await
            .map(|response| response.status().as_u16())
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while sim.stats().hung < 2 {
        assert!(Instant::now() < deadline, "second request never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!patient.is_finished());
    tokio::time::timeout(Duration::from_secs(10), sim.stop())
        .await
        .expect("shutdown must not wait on hung requests");
    let outcome = tokio::time::timeout(Duration::from_secs(10), patient)
        .await
        .expect("the hung request ends at shutdown")
        .expect("join");
    // Either the documented 503 or a closed connection; never a 200.
    assert!(!matches!(outcome, Ok(200)), "{outcome:?}");
}

#[tokio::test]
async fn latency_adds_at_least_the_configured_delay() {
    let sim = start(Mode::Latency {
        latency_ms: 300,
        jitter_ms: 50,
    })
    .await;
    for (path, stream) in [(CHAT, false), (MESSAGES, true)] {
        let started = Instant::now();
        let response = post(&sim, path, &request_for(path, stream)).await;
        assert_eq!(response.status(), 200);
        response.text().await.expect("body");
        assert!(started.elapsed() >= Duration::from_millis(300), "{path}");
    }
    sim.stop().await;
}

#[tokio::test]
async fn slow_stream_paces_tokens_and_delays_json_answers() {
    let sim = start(Mode::SlowStream {
        tokens_per_s: TokensPerSecond::new(40.0).expect("rate"),
        first_token_delay_ms: 200,
        stall_after_first_ms: 100,
    })
    .await;
    // 8 tokens: 200 ms + (100 + 25) ms + 6 * 25 ms = 475 ms at the least.
    let expected = Duration::from_millis(475);
    let started = Instant::now();
    let response = post(&sim, CHAT, &openai_request(true)).await;
    let events = parse_sse(&response.text().await.expect("body"));
    assert!(started.elapsed() >= expected);
    assert_eq!(events.last().map(|e| e.data.as_str()), Some("[DONE]"));

    let started = Instant::now();
    let response = post(&sim, MESSAGES, &anthropic_request(false)).await;
    assert_eq!(response.status(), 200);
    json_of(response).await;
    assert!(started.elapsed() >= expected);
    sim.stop().await;
}

#[tokio::test]
async fn cut_stream_breaks_the_connection_before_the_end_marker() {
    let sim = start(Mode::CutStream { after_tokens: 3 }).await;

    let response = post(&sim, CHAT, &openai_request(true)).await;
    assert_eq!(response.status(), 200);
    let (text, failed) = read_to_end_or_error(response).await;
    assert!(failed, "the body must end with a broken connection");
    assert!(!text.contains("[DONE]"), "{text}");
    let events = parse_sse(&text);
    let contents = events
        .iter()
        .map(data_json)
        .filter(|chunk| chunk["choices"][0]["delta"]["content"].is_string())
        .count();
    // The role chunk carries an empty content; then at most 3 tokens arrive.
    assert!((1..=4).contains(&contents), "{text}");

    let response = post(&sim, MESSAGES, &anthropic_request(true)).await;
    let (text, failed) = read_to_end_or_error(response).await;
    assert!(failed);
    assert!(!text.contains("message_stop"), "{text}");

    let response = post(&sim, CHAT, &openai_request(false)).await;
    assert_eq!(response.status(), 200);
    let (text, failed) = read_to_end_or_error(response).await;
    assert!(failed || serde_json::from_str::<Value>(&text).is_err());
    assert!(failed, "a cut JSON body also ends with a broken connection");
    assert_eq!(sim.stats().streams_cut, 3);
    sim.stop().await;
}

#[tokio::test]
async fn malformed_mode_answers_200_with_invalid_json() {
    let sim = start(Mode::Malformed).await;
    for path in [CHAT, MESSAGES] {
        let response = post(&sim, path, &request_for(path, false)).await;
        assert_eq!(response.status(), 200);
        let text = response.text().await.expect("body");
        assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    }
    let response = post(&sim, CHAT, &openai_request(true)).await;
    assert_eq!(response.status(), 200);
    let events = parse_sse(&response.text().await.expect("body"));
    let garbage = events
        .iter()
        .filter(|e| e.data != "[DONE]" && serde_json::from_str::<Value>(&e.data).is_err())
        .count();
    assert_eq!(garbage, 1);
    sim.stop().await;
}

#[tokio::test]
async fn mode_switches_at_runtime_through_the_admin_api() {
    let sim = start(Mode::Healthy).await;
    assert_eq!(
        admin_get(&sim, "/admin/mode").await,
        json!({"mode": "healthy"})
    );

    let response = put_mode(&sim, r#"{"mode":"errors","rate":1,"status":503}"#).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        admin_get(&sim, "/admin/mode").await,
        json!({"mode": "errors", "rate": 1.0, "status": 503})
    );
    assert_eq!(post(&sim, CHAT, &openai_request(false)).await.status(), 503);

    for (bad, hint) in [
        (r#"{"mode":"errors","rate":2}"#, "between 0 and 1"),
        (r#"{"mode":"errors","status":418}"#, "500, 502, 503"),
        (r#"{"mode":"teleport"}"#, "unknown variant"),
        (r#"{"mode":"hang","after_tokens":1}"#, "unknown field"),
        ("not json", "invalid mode"),
    ] {
        let response = put_mode(&sim, bad).await;
        assert_eq!(response.status(), 400, "{bad}");
        let body = json_of(response).await;
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(hint), "{bad}: {message}");
    }
    // A rejected body leaves the mode alone.
    assert_eq!(admin_get(&sim, "/admin/mode").await["mode"], "errors");

    sim.set_mode(Mode::Healthy).await;
    assert_eq!(post(&sim, CHAT, &openai_request(false)).await.status(), 200);
    sim.stop().await;
}

#[tokio::test]
async fn stats_count_requests_by_status_and_route() {
    let sim = start(Mode::Healthy).await;
    post(&sim, CHAT, &openai_request(false)).await;
    post(&sim, MESSAGES, &anthropic_request(true))
        .await
        .text()
        .await
        .expect("body");
    sim.set_mode(Mode::Errors {
        rate: Rate::ALWAYS,
        status: ErrorStatus::ServiceUnavailable,
    })
    .await;
    post(&sim, CHAT, &openai_request(false)).await;
    post(&sim, MESSAGES, &json!({"model": "x"})).await;

    let stats = admin_get(&sim, "/admin/stats").await;
    assert_eq!(stats["requests"], 4);
    assert_eq!(stats["by_status"], json!({"200": 2, "400": 1, "503": 1}));
    assert_eq!(
        stats["by_route"],
        json!({"/v1/chat/completions": 2, "/v1/messages": 2})
    );
    assert_eq!(stats["streams_cut"], 0);
    assert_eq!(stats["hung"], 0);
    assert_eq!(stats["mode"]["mode"], "errors");
    assert_eq!(sim.stats().requests, 4);

    let response = client()
        .post(format!("{}/admin/stats/reset", sim.url()))
        .send()
        .await
        .expect("reset");
    assert_eq!(json_of(response).await["requests"], 4);
    let after = admin_get(&sim, "/admin/stats").await;
    assert_eq!(after["requests"], 0);
    assert_eq!(after["by_status"], json!({}));
    sim.stop().await;
}

async fn status_sequence(seed: u64, count: usize) -> Vec<u16> {
    let sim = RunningSim::start(SimConfig {
        seed: Some(seed),
        mode: Mode::Errors {
            rate: Rate::new(0.5).expect("rate"),
            status: ErrorStatus::ServiceUnavailable,
        },
        ..SimConfig::default()
    })
    .await
    .expect("start");
    let mut statuses = Vec::with_capacity(count);
    for index in 0..count {
        let path = if index % 2 == 0 { CHAT } else { MESSAGES };
        let response = post(&sim, path, &request_for(path, false)).await;
        statuses.push(response.status().as_u16());
    }
    sim.stop().await;
    statuses
}

#[tokio::test]
async fn same_seed_gives_the_same_sequence_of_statuses() {
    let first = status_sequence(42, 40).await;
    let second = status_sequence(42, 40).await;
    assert_eq!(first, second);
    assert!(first.contains(&200) && first.contains(&503), "{first:?}");
    assert_ne!(first, status_sequence(4242, 40).await);
}

#[tokio::test]
async fn bad_bodies_get_provider_shaped_4xx() {
    let sim = start(Mode::Healthy).await;
    let raw = |path: &str, body: Vec<u8>| {
        let url = format!("{}{path}", sim.url());
        async move {
            client()
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("send")
        }
    };

    let response = raw(CHAT, b"{\"model\": ".to_vec()).await;
    assert_eq!(response.status(), 400);
    let body = json_of(response).await;
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let response = raw(CHAT, br#"{"model":"m"}"#.to_vec()).await;
    assert_eq!(response.status(), 400);
    let message = json_of(response).await["error"]["message"].to_string();
    assert!(message.contains("messages"), "{message}");

    let response = raw(
        MESSAGES,
        br#"{"model":"m","max_tokens":5,"messages":[]}"#.to_vec(),
    )
    .await;
    assert_eq!(response.status(), 400);
    let body = json_of(response).await;
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let huge = format!(
        r#"{{"model":"m","messages":[{{"role":"user","content":"{}"}}]}}"#,
        "a".repeat(1024 * 1024 + 10)
    );
    let response = raw(CHAT, huge.clone().into_bytes()).await;
    assert_eq!(response.status(), 413);
    assert_eq!(
        json_of(response).await["error"]["code"],
        "request_too_large"
    );
    let response = raw(MESSAGES, huge.into_bytes()).await;
    assert_eq!(response.status(), 413);
    assert_eq!(
        json_of(response).await["error"]["type"],
        "request_too_large"
    );

    // The server is still healthy afterwards.
    assert_eq!(post(&sim, CHAT, &openai_request(false)).await.status(), 200);
    sim.stop().await;
}

#[tokio::test]
async fn shutdown_breaks_off_open_streams() {
    let sim = start(Mode::SlowStream {
        tokens_per_s: TokensPerSecond::new(1.0).expect("rate"),
        first_token_delay_ms: 60_000,
        stall_after_first_ms: 0,
    })
    .await;
    let response = post(&sim, MESSAGES, &anthropic_request(true)).await;
    assert_eq!(response.status(), 200);
    let reader = tokio::spawn(read_to_end_or_error(response));
    tokio::time::timeout(Duration::from_secs(10), sim.stop())
        .await
        .expect("shutdown must not wait on open streams");
    let (text, failed) = tokio::time::timeout(Duration::from_secs(10), reader)
        .await
        .expect("the stream ends at shutdown")
        .expect("join");
    assert!(failed, "{text}");
    assert!(!text.contains("message_stop"));
}

#[tokio::test]
async fn cli_prints_its_url_and_refuses_remote_addresses() {
    use tokio::io::AsyncBufReadExt;

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["llm-sim", "--listen", "127.0.0.1:0", "--name", "cli-sim"])
        .args(["--mode", "overloaded", "--seed", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn gameday");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the URL is printed")
        .expect("read stdout")
        .expect("a line");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let response = client()
        .post(format!("{url}{MESSAGES}"))
        .json(&anthropic_request(false))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 529);
    assert_eq!(response.headers()[NAME_HEADER], "cli-sim");
    child.kill().await.expect("kill");

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["llm-sim", "--listen", "0.0.0.0:0"])
        .output()
        .await
        .expect("run gameday");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--allow-remote"));
}

#[tokio::test]
async fn health_ignores_the_mode_and_unknown_routes_get_json_404() {
    let sim = start(Mode::Hang).await;
    let health = admin_get(&sim, "/health").await;
    assert_eq!(health, json!({"status": "ok", "name": "primary"}));
    let response = client()
        .get(format!("{}/v1/models/nope", sim.url()))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 404);
    let body = json_of(response).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("/v1/models/nope"))
    );
    assert_eq!(sim.stats().requests, 0, "only provider routes are counted");
    sim.stop().await;
}
