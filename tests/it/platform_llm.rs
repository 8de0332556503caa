//! Integration tests of the platform's LLM layer over real HTTP.
//!
//! `FakeProvider` is a tiny axum test double speaking the OpenAI or Anthropic
//! wire format with a scripted behaviour, counting the calls it gets. It
//! stands in for the LLM simulator (`lab::llm_sim`) until that lands.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use futures_util::StreamExt;
use gameday::clock::{Clock, ManualClock};
use gameday::lab::platform::llm::{
    ApiKind, BreakerSettings, BreakerState, ChatMessage, Completion, FailoverClient, FailoverError,
    FailoverSettings, FailureReason, ProviderConfig, StreamError, StreamEvent,
};
use tokio::time::Instant;

use crate::util::loopback_listener;

/// What the fake provider does with the next request.
#[derive(Clone, Debug)]
enum Behaviour {
    /// Answers with this text (as JSON, or as an SSE stream when asked).
    Reply(&'static str),
    /// Answers with this status, an error body and maybe `Retry-After`.
    Status {
        code: u16,
        retry_after: Option<&'static str>,
    },
    /// 200 with a body that is not JSON.
    Garbage,
    /// Never answers.
    Hang,
    /// Answers with this text once the test calls `release()`.
    Gated(&'static str),
    /// Starts a 200 event stream and closes it before any token.
    StreamCutBeforeFirstToken,
    /// Starts a 200 event stream whose first event is an "overloaded" error.
    StreamErrorBeforeFirstToken,
    /// Streams one token, then closes the connection without an end marker.
    StreamCutAfterFirstToken,
    /// Streams one token, then goes silent with the connection open.
    StreamStallAfterFirstToken,
}

struct FakeProvider {
    kind: ApiKind,
    behaviour: Mutex<Behaviour>,
    calls: AtomicUsize,
    /// Opens the gate of `Behaviour::Gated`.
    gate: tokio::sync::Notify,
    /// Headers of the last request, to check authentication and versions.
    last_headers: Mutex<HeaderMap>,
}

impl FakeProvider {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn release(&self) {
        self.gate.notify_one();
    }

    /// Waits (up to a generous bound) until the provider got `calls` calls.
    async fn wait_for_calls(&self, calls: usize) {
        let give_up = Instant::now() + Duration::from_secs(10);
        while self.calls() < calls {
            assert!(Instant::now() < give_up, "provider never got {calls} calls");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().expect("behaviour lock") = behaviour;
    }

    fn last_header(&self, name: &str) -> Option<String> {
        self.last_headers
            .lock()
            .expect("headers lock")
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    }
}

/// Starts a fake provider on a loopback port; returns it and its base URL.
async fn fake_provider(kind: ApiKind, behaviour: Behaviour) -> (Arc<FakeProvider>, String) {
    let provider = Arc::new(FakeProvider {
        kind,
        behaviour: Mutex::new(behaviour),
        calls: AtomicUsize::new(0),
        gate: tokio::sync::Notify::new(),
        last_headers: Mutex::new(HeaderMap::new()),
    });
    let router = axum::Router::new()
        .route("/v1/chat/completions", axum::routing::post(handle))
        .route("/v1/messages", axum::routing::post(handle))
        .with_state(Arc::clone(&provider));
    let (listener, address) = loopback_listener().await;
    // Without TCP_NODELAY each small SSE write after the first waits for a
    // delayed ACK (about 40 ms on Linux).
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, router).await });
    (provider, format!("http://{address}"))
}

async fn handle(
    State(provider): State<Arc<FakeProvider>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    provider.calls.fetch_add(1, Ordering::SeqCst);
    *provider.last_headers.lock().expect("headers lock") = headers;
    let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let stream = request["stream"].as_bool().unwrap_or(false);
    let behaviour = provider.behaviour.lock().expect("behaviour lock").clone();
    let kind = provider.kind;
    match behaviour {
        Behaviour::Reply(text) if stream => sse(stream_frames(kind, text, true), false),
        Behaviour::Reply(text) => axum::Json(reply_json(kind, text)).into_response(),
        Behaviour::Status { code, retry_after } => {
            let status = StatusCode::from_u16(code).expect("valid status");
            let body = serde_json::json!({
                "type": "error",
                "error": { "type": "test_error", "message": format!("scripted {code}") },
            });
            let mut response = (status, axum::Json(body)).into_response();
            if let Some(value) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, value.parse().expect("header value"));
            }
            response
        }
        Behaviour::Gated(text) => {
            provider.gate.notified().await;
            axum::Json(reply_json(kind, text)).into_response()
        }
        Behaviour::Garbage => (StatusCode::OK, "<html>surprise</html>").into_response(),
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
        Behaviour::StreamCutBeforeFirstToken => sse(vec![": warming up\n\n".into()], false),
        Behaviour::StreamErrorBeforeFirstToken => sse(vec![error_frame(kind)], false),
        Behaviour::StreamCutAfterFirstToken => {
            sse(stream_frames(kind, "partial", false)[..2].to_vec(), false)
        }
        Behaviour::StreamStallAfterFirstToken => {
            sse(stream_frames(kind, "partial", false)[..2].to_vec(), true)
        }
    }
}

fn reply_json(kind: ApiKind, text: &str) -> serde_json::Value {
    match kind {
        ApiKind::OpenAi => serde_json::json!({
            "id": "chatcmpl-1", "object": "chat.completion", "model": "fake-gpt",
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
            "usage": { "prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14 },
        }),
        ApiKind::Anthropic => serde_json::json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "fake-claude",
            "content": [{ "type": "text", "text": text }],
            "stop_reason": "end_turn",
            "usage": { "input_tokens": 13, "output_tokens": 4 },
        }),
    }
}

/// The SSE frames of a streamed reply, one word per delta. The first frame
/// carries no text; the second carries the first word.
fn stream_frames(kind: ApiKind, text: &str, finish: bool) -> Vec<String> {
    let words: Vec<String> = text
        .split_inclusive(' ')
        .map(|word| serde_json::to_string(word).expect("json string"))
        .collect();
    let mut frames = Vec::new();
    match kind {
        ApiKind::OpenAi => {
            frames
                .push("data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\r\n\r\n".into());
            for word in &words {
                frames.push(format!(
                    "data: {{\"choices\":[{{\"delta\":{{\"content\":{word}}}}}]}}\r\n\r\n"
                ));
            }
            if finish {
                frames.push(
                    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":3}}\r\n\r\n"
                        .into(),
                );
                frames.push("data: [DONE]\r\n\r\n".into());
            }
        }
        ApiKind::Anthropic => {
            frames.push(
                "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":13,\"output_tokens\":1}}}\n\n"
                    .into(),
            );
            for word in &words {
                frames.push(format!(
                    "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":{word}}}}}\n\n"
                ));
            }
            if finish {
                frames.push(
                    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{},\"usage\":{\"output_tokens\":4}}\n\n"
                        .into(),
                );
                frames.push("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".into());
            }
        }
    }
    frames
}

/// An in-stream "overloaded" error event in the format's own shape.
fn error_frame(kind: ApiKind) -> String {
    let error = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    match kind {
        ApiKind::OpenAi => format!("data: {error}\n\n"),
        ApiKind::Anthropic => format!("event: error\ndata: {error}\n\n"),
    }
}

/// An event-stream response sending `frames` cut into small uneven pieces
/// (so lines and line endings straddle chunks), then either closing or
/// staying open forever.
fn sse(frames: Vec<String>, stall: bool) -> Response {
    let bytes = frames.concat().into_bytes();
    let pieces: Vec<Result<Bytes, std::io::Error>> = bytes
        .chunks(7)
        .map(|piece| Ok(Bytes::copy_from_slice(piece)))
        .collect();
    let body = futures_util::stream::iter(pieces);
    let body = if stall {
        Body::from_stream(body.chain(futures_util::stream::pending()))
    } else {
        Body::from_stream(body)
    };
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(body)
        .expect("response")
}

fn config(name: &str, kind: ApiKind, base_url: &str) -> ProviderConfig {
    ProviderConfig {
        name: name.into(),
        kind,
        base_url: base_url.into(),
        model: format!("{name}-model"),
        api_key: Some(format!("{name}-key")),
    }
}

fn settings() -> FailoverSettings {
    FailoverSettings {
        attempt_timeout: Duration::from_secs(5),
        deadline: Duration::from_secs(20),
        breaker: BreakerSettings {
            failure_threshold: 5,
            recovery_timeout: Duration::from_secs(30),
            half_open_max_calls: 1,
            success_threshold: 1,
        },
        max_tokens: 64,
    }
}

struct Setup {
    client: FailoverClient,
    clock: ManualClock,
    primary: Arc<FakeProvider>,
    fallback: Arc<FakeProvider>,
}

/// An OpenAI-format primary and an Anthropic-format fallback.
async fn setup(primary: Behaviour, fallback: Behaviour, settings: FailoverSettings) -> Setup {
    let (primary_provider, primary_url) = fake_provider(ApiKind::OpenAi, primary).await;
    let (fallback_provider, fallback_url) = fake_provider(ApiKind::Anthropic, fallback).await;
    let clock = ManualClock::new();
    let shared_clock: Arc<dyn Clock> = Arc::new(clock.clone());
    let client = FailoverClient::new(
        vec![
            config("primary", ApiKind::OpenAi, &primary_url),
            config("fallback", ApiKind::Anthropic, &fallback_url),
        ],
        settings,
        shared_clock,
        reqwest::Client::new(),
    );
    Setup {
        client,
        clock,
        primary: primary_provider,
        fallback: fallback_provider,
    }
}

fn hello() -> Vec<ChatMessage> {
    vec![ChatMessage::system("be brief"), ChatMessage::user("hello")]
}

fn down() -> Behaviour {
    Behaviour::Status {
        code: 503,
        retry_after: None,
    }
}

async fn complete(setup: &Setup) -> Completion {
    setup
        .client
        .complete(&hello())
        .await
        .expect("a provider serves the request")
}

/// Reads a stream to its end: the text, the final usage, or the error.
async fn drain(
    mut stream: gameday::lab::platform::llm::CompletionStream,
) -> (String, Result<(u64, u64), StreamError>) {
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        match event {
            Ok(StreamEvent::Delta(delta)) => text.push_str(&delta),
            Ok(StreamEvent::Done {
                input_tokens,
                output_tokens,
            }) => return (text, Ok((input_tokens, output_tokens))),
            Err(error) => return (text, Err(error)),
        }
    }
    panic!("stream ended without Done or an error; text so far: {text:?}");
}

#[tokio::test]
async fn a_503_primary_fails_over_to_the_fallback() {
    let setup = setup(down(), Behaviour::Reply("hello from fallback"), settings()).await;
    let completion = complete(&setup).await;
    assert_eq!(completion.provider, "fallback");
    assert_eq!(completion.text, "hello from fallback");
    assert_eq!(completion.model, "fake-claude");
    assert_eq!((completion.input_tokens, completion.output_tokens), (13, 4));
    assert_eq!(completion.attempts.len(), 1);
    assert_eq!(completion.attempts[0].provider, "primary");
    assert!(matches!(
        completion.attempts[0].reason,
        FailureReason::Status { code: 503, .. }
    ));
    assert_eq!((setup.primary.calls(), setup.fallback.calls()), (1, 1));
    // The wire details of each format reached the providers.
    assert_eq!(
        setup.primary.last_header("authorization").as_deref(),
        Some("Bearer primary-key")
    );
    assert_eq!(
        setup.fallback.last_header("x-api-key").as_deref(),
        Some("fallback-key")
    );
    assert_eq!(
        setup.fallback.last_header("anthropic-version").as_deref(),
        Some("2023-06-01")
    );
}

#[tokio::test]
async fn a_healthy_primary_serves_without_touching_the_fallback() {
    let setup = setup(Behaviour::Reply("from primary"), down(), settings()).await;
    let completion = complete(&setup).await;
    assert_eq!(completion.provider, "primary");
    assert_eq!(completion.text, "from primary");
    assert_eq!((completion.input_tokens, completion.output_tokens), (11, 3));
    assert!(completion.attempts.is_empty());
    assert_eq!(setup.fallback.calls(), 0);
}

#[tokio::test]
async fn the_breaker_opens_at_the_threshold_and_then_spares_the_primary() {
    let mut settings = settings();
    settings.breaker.failure_threshold = 2;
    let setup = setup(down(), Behaviour::Reply("fallback"), settings).await;
    for _ in 0..2 {
        assert_eq!(complete(&setup).await.provider, "fallback");
    }
    assert_eq!(setup.primary.calls(), 2);
    let breakers = setup.client.breakers();
    assert_eq!(breakers[0].provider, "primary");
    assert_eq!(breakers[0].snapshot.state, BreakerState::Open);
    assert_eq!(breakers[1].snapshot.state, BreakerState::Closed);

    for _ in 0..3 {
        let completion = complete(&setup).await;
        assert_eq!(completion.provider, "fallback");
        assert_eq!(completion.attempts[0].reason, FailureReason::BreakerOpen);
    }
    assert_eq!(setup.primary.calls(), 2, "an open breaker must not call");

    // After the recovery timeout one trial call reaches the recovered
    // primary and closes the breaker.
    setup.primary.set(Behaviour::Reply("primary is back"));
    setup.clock.advance(Duration::from_secs(30));
    assert_eq!(complete(&setup).await.provider, "primary");
    assert_eq!(setup.primary.calls(), 3);
    let snapshot = &setup.client.breakers()[0].snapshot;
    assert_eq!(snapshot.state, BreakerState::Closed);
    assert_eq!(snapshot.transitions, 3);
    let json = serde_json::to_value(setup.client.breakers()).expect("serialize");
    assert_eq!(json[0]["snapshot"]["state"], "closed");
    assert_eq!(json[0]["snapshot"]["opened_count"], 1);
}

#[tokio::test]
async fn half_open_admits_one_trial_and_sends_concurrent_calls_elsewhere() {
    let mut settings = settings();
    settings.breaker.failure_threshold = 1;
    let setup = setup(down(), Behaviour::Reply("fallback"), settings).await;
    complete(&setup).await;
    assert_eq!(
        setup.client.breakers()[0].snapshot.state,
        BreakerState::Open
    );

    // The trial call reaches the recovered primary and is held there.
    setup.primary.set(Behaviour::Gated("primary trial"));
    setup.clock.advance(Duration::from_secs(30));
    let client = setup.client.clone();
    let trial = tokio::spawn(async move { client.complete(&hello()).await });
    setup.primary.wait_for_calls(2).await;

    // While it is in flight, other calls skip the primary.
    for _ in 0..3 {
        let completion = complete(&setup).await;
        assert_eq!(completion.provider, "fallback");
        assert_eq!(
            completion.attempts[0].reason,
            FailureReason::BreakerHalfOpenBusy
        );
    }
    assert_eq!(setup.primary.calls(), 2);

    setup.primary.release();
    let trial = trial.await.expect("trial task").expect("trial served");
    assert_eq!(trial.provider, "primary");
    assert_eq!(trial.text, "primary trial");
    assert_eq!(
        setup.client.breakers()[0].snapshot.state,
        BreakerState::Closed
    );
}

#[tokio::test]
async fn a_400_is_returned_at_once_without_failover_or_breaker_count() {
    let setup = setup(
        Behaviour::Status {
            code: 400,
            retry_after: None,
        },
        Behaviour::Reply("fallback"),
        settings(),
    )
    .await;
    let error = setup
        .client
        .complete(&hello())
        .await
        .expect_err("a bad request is not failed over");
    assert_eq!(
        error,
        FailoverError::Rejected {
            provider: "primary".into(),
            status: 400,
            message: "scripted 400".into(),
        }
    );
    assert!(error.to_string().contains("400 Bad Request"), "{error}");
    assert_eq!(setup.fallback.calls(), 0);
    assert_eq!(setup.client.breakers()[0].snapshot.consecutive_failures, 0);
}

#[tokio::test]
async fn retry_after_skips_the_primary_until_the_clock_passes_it() {
    let setup = setup(
        Behaviour::Status {
            code: 429,
            retry_after: Some("30"),
        },
        Behaviour::Reply("fallback"),
        settings(),
    )
    .await;
    assert_eq!(complete(&setup).await.provider, "fallback");
    assert_eq!(setup.primary.calls(), 1);

    setup.primary.set(Behaviour::Reply("primary"));
    setup.clock.advance(Duration::from_secs(29));
    let completion = complete(&setup).await;
    assert_eq!(completion.provider, "fallback");
    match &completion.attempts[0].reason {
        FailureReason::RetryAfter { remaining, .. } => {
            assert_eq!(*remaining, Duration::from_secs(1));
        }
        other => panic!("expected a Retry-After skip, got {other:?}"),
    }
    assert_eq!(
        setup.primary.calls(),
        1,
        "no call before Retry-After passed"
    );

    setup.clock.advance(Duration::from_secs(1));
    assert_eq!(complete(&setup).await.provider, "primary");
    assert_eq!(setup.primary.calls(), 2);
}

#[tokio::test]
async fn all_providers_down_is_one_error_listing_each() {
    let setup = setup(
        down(),
        Behaviour::Status {
            code: 529,
            retry_after: None,
        },
        settings(),
    )
    .await;
    let error = setup
        .client
        .complete(&hello())
        .await
        .expect_err("nobody can serve");
    let FailoverError::AllFailed { attempts } = &error else {
        panic!("expected AllFailed, got {error:?}");
    };
    let providers: Vec<&str> = attempts.iter().map(|a| a.provider.as_str()).collect();
    assert_eq!(providers, ["primary", "fallback"]);
    assert_eq!(
        error.to_string(),
        "all LLM providers failed: primary: 503 Service Unavailable: scripted 503; \
         fallback: 529 Overloaded: scripted 529"
    );
}

#[tokio::test]
async fn a_malformed_body_fails_over() {
    let setup = setup(Behaviour::Garbage, Behaviour::Reply("fallback"), settings()).await;
    let completion = complete(&setup).await;
    assert_eq!(completion.provider, "fallback");
    assert_eq!(completion.attempts[0].reason.kind(), "malformed");
    assert_eq!(setup.client.breakers()[0].snapshot.consecutive_failures, 1);
}

#[tokio::test]
async fn streams_are_decoded_across_chunk_boundaries_in_both_formats() {
    let setup = setup(
        Behaviour::Reply("one two three"),
        Behaviour::Reply("uno dos tres"),
        settings(),
    )
    .await;
    let stream = setup.client.stream(&hello()).await.expect("stream");
    assert_eq!(stream.provider, "primary");
    assert_eq!(drain(stream).await, ("one two three".into(), Ok((11, 3))));

    setup.primary.set(down());
    let stream = setup.client.stream(&hello()).await.expect("stream");
    assert_eq!(stream.provider, "fallback");
    assert_eq!(drain(stream).await, ("uno dos tres".into(), Ok((13, 4))));
}

#[tokio::test]
async fn a_stream_fails_over_when_the_primary_dies_before_its_first_token() {
    let setup = setup(
        Behaviour::StreamCutBeforeFirstToken,
        Behaviour::Reply("fallback streams fine"),
        settings(),
    )
    .await;
    let stream = setup.client.stream(&hello()).await.expect("stream");
    assert_eq!(stream.provider, "fallback");
    assert_eq!(stream.attempts[0].provider, "primary");
    assert_eq!(stream.attempts[0].reason.kind(), "malformed");
    let (text, end) = drain(stream).await;
    assert_eq!(text, "fallback streams fine");
    assert!(end.is_ok());
    assert_eq!(setup.primary.calls(), 1);
}

#[tokio::test]
async fn an_error_event_before_the_first_token_fails_over() {
    let setup = setup(
        Behaviour::StreamErrorBeforeFirstToken,
        Behaviour::Reply("fallback"),
        settings(),
    )
    .await;
    let stream = setup.client.stream(&hello()).await.expect("stream");
    assert_eq!(stream.provider, "fallback");
    assert_eq!(
        stream.attempts[0].reason,
        FailureReason::Status {
            code: 529,
            message: "Overloaded".into()
        }
    );
    assert_eq!(drain(stream).await.0, "fallback");

    // The same error from an Anthropic-format provider after the primary
    // failed too: nobody can serve.
    setup.fallback.set(Behaviour::StreamErrorBeforeFirstToken);
    let error = setup.client.stream(&hello()).await.expect_err("all fail");
    assert_eq!(
        error.to_string(),
        "all LLM providers failed: primary: 529 Overloaded; fallback: 529 Overloaded"
    );
}

#[tokio::test]
async fn a_stream_that_breaks_after_its_first_token_does_not_fail_over() {
    let setup = setup(
        Behaviour::StreamCutAfterFirstToken,
        Behaviour::Reply("fallback"),
        settings(),
    )
    .await;
    let stream = setup.client.stream(&hello()).await.expect("stream");
    assert_eq!(stream.provider, "primary");
    let (text, end) = drain(stream).await;
    assert_eq!(text, "partial");
    assert!(
        matches!(&end, Err(StreamError::Failed { provider, .. }) if provider == "primary"),
        "{end:?}"
    );
    assert_eq!(
        setup.fallback.calls(),
        0,
        "no duplicate output from a fallback"
    );
    assert_eq!(setup.client.breakers()[0].snapshot.consecutive_failures, 1);
}

#[tokio::test]
async fn a_stream_stalling_between_tokens_is_an_error_after_the_attempt_timeout() {
    let mut settings = settings();
    settings.attempt_timeout = Duration::from_millis(200);
    let setup = setup(
        Behaviour::StreamStallAfterFirstToken,
        Behaviour::Reply("fallback"),
        settings,
    )
    .await;
    let started = Instant::now();
    let stream = setup.client.stream(&hello()).await.expect("stream");
    let (text, end) = drain(stream).await;
    assert_eq!(text, "partial");
    assert!(matches!(&end, Err(StreamError::Stalled { .. })), "{end:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(setup.fallback.calls(), 0);
}

#[tokio::test]
async fn a_hanging_provider_is_bounded_by_the_attempt_timeout() {
    let mut settings = settings();
    settings.attempt_timeout = Duration::from_millis(200);
    let setup = setup(Behaviour::Hang, Behaviour::Reply("fallback"), settings).await;
    let started = Instant::now();
    let completion = complete(&setup).await;
    let elapsed = started.elapsed();
    assert_eq!(completion.provider, "fallback");
    assert_eq!(completion.attempts[0].reason, FailureReason::Timeout);
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");

    let started = Instant::now();
    let stream = setup.client.stream(&hello()).await.expect("stream");
    assert_eq!(stream.provider, "fallback");
    assert_eq!(stream.attempts[0].reason, FailureReason::Timeout);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn the_overall_deadline_bounds_the_whole_call() {
    let mut settings = settings();
    settings.attempt_timeout = Duration::from_secs(30);
    settings.deadline = Duration::from_millis(300);
    let setup = setup(Behaviour::Hang, Behaviour::Hang, settings).await;
    let started = Instant::now();
    let error = setup.client.complete(&hello()).await.expect_err("hangs");
    assert!(started.elapsed() < Duration::from_secs(5));
    let FailoverError::AllFailed { attempts } = error else {
        panic!("expected AllFailed, got {error:?}");
    };
    let reasons: Vec<_> = attempts.iter().map(|a| a.reason.clone()).collect();
    assert_eq!(reasons, [FailureReason::Deadline, FailureReason::Deadline]);
    // Running out of the call's time is not the provider's fault.
    assert_eq!(setup.client.breakers()[0].snapshot.consecutive_failures, 0);
}

#[tokio::test]
async fn probe_calls_each_provider_directly_and_reports_each() {
    let mut settings = settings();
    settings.breaker.failure_threshold = 1;
    let setup = setup(down(), Behaviour::Reply("pong"), settings).await;
    // Open the primary's breaker: probes must still reach the provider.
    complete(&setup).await;
    assert_eq!(
        setup.client.breakers()[0].snapshot.state,
        BreakerState::Open
    );

    let probes = setup.client.probe().await;
    assert_eq!(probes.len(), 2);
    assert_eq!(probes[0].provider, "primary");
    assert!(!probes[0].ok);
    assert!(
        probes[0]
            .error
            .as_deref()
            .is_some_and(|error| error.contains("503")),
        "{:?}",
        probes[0].error
    );
    assert_eq!(probes[1].provider, "fallback");
    assert!(probes[1].ok, "{:?}", probes[1].error);
    assert_eq!(probes[1].error, None);
    assert_eq!((setup.primary.calls(), setup.fallback.calls()), (2, 2));
    // Probes leave breakers alone.
    let breakers = setup.client.breakers();
    assert_eq!(breakers[0].snapshot.transitions, 1);
    assert_eq!(breakers[1].snapshot.consecutive_failures, 0);
    let json = serde_json::to_value(&probes).expect("serialize");
    assert!(json[1]["latency_ms"].as_f64().is_some());
}

#[tokio::test]
async fn a_breaker_due_for_a_trial_takes_the_health_probe_as_its_trial() {
    let mut settings = settings();
    settings.breaker.failure_threshold = 1;
    let setup = setup(down(), Behaviour::Reply("pong"), settings).await;
    complete(&setup).await;
    assert_eq!(
        setup.client.breakers()[0].snapshot.state,
        BreakerState::Open
    );

    // Not yet due: the probe reaches the provider but leaves the breaker alone.
    setup.primary.set(Behaviour::Reply("back"));
    setup.client.probe().await;
    assert_eq!(
        setup.client.breakers()[0].snapshot.state,
        BreakerState::Open
    );

    // Due: the successful probe is the trial (success_threshold 1), and the
    // breaker closes although no request was routed to that provider.
    setup.clock.advance(Duration::from_secs(31));
    let probes = setup.client.probe().await;
    assert!(probes[0].ok, "{:?}", probes[0].error);
    assert_eq!(
        setup.client.breakers()[0].snapshot.state,
        BreakerState::Closed
    );
}
