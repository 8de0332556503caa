//! The platform's HTTP contract (docs/platform-contract.md): routes, request
//! validation, JSON errors, and one agent turn from cache lookup to stored
//! history. Every dependency is used only while its capability is on, every
//! dependency call is bounded, and no request path can panic.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::degradation::{Capability, RequestCapabilities};
use super::health::Status;
use super::llm::{AttemptFailure, ChatMessage, FailoverError, StreamEvent};
use super::metrics::CacheLookup;
use super::server::Platform;
use super::storage::cache::CachedReply;
use super::storage::{Turn, now_ms};

/// Response header naming the LLM provider that served a turn (`cache` for a cache hit).
pub const PROVIDER_HEADER: &str = "x-llm-provider";
/// Response header naming the model that served a turn.
pub const MODEL_HEADER: &str = "x-llm-model";
/// Response header listing the capabilities degraded for this request, comma-separated.
pub const DEGRADED_HEADER: &str = "x-degraded-capabilities";

const MAX_CONVERSATION_ID: usize = 200;
const MAX_MESSAGE_CHARS: usize = 32 * 1024;

/// The router with every route of the contract.
pub fn router(platform: Arc<Platform>) -> Router {
    let body_limit = platform.config().max_body_bytes;
    Router::new()
        .route("/v1/chat", post(chat))
        .route("/v1/conversations/{id}", get(conversation))
        .route("/health", get(health))
        .route("/capabilities", get(capabilities))
        .route("/breakers", get(breakers))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&platform),
            count_request,
        ))
        .with_state(platform)
}

/// Counts every answered request (unknown routes included) by route, method
/// and status class, with its time to the response head.
async fn count_request(
    State(platform): State<Arc<Platform>>,
    request: Request,
    next: Next,
) -> Response {
    let started = tokio::time::Instant::now();
    let route = route_label(request.uri().path());
    let method = method_label(request.method());
    let response = next.run(request).await;
    platform
        .metrics()
        .request(route, method, response.status().as_u16(), started.elapsed());
    response
}

/// The route pattern a path belongs to; a fixed set keeps label cardinality bounded.
fn route_label(path: &str) -> &'static str {
    match path {
        "/v1/chat" => "/v1/chat",
        "/health" => "/health",
        "/capabilities" => "/capabilities",
        "/breakers" => "/breakers",
        "/metrics" => "/metrics",
        _ if path.starts_with("/v1/conversations/") => "/v1/conversations/{id}",
        _ => "other",
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        _ => "other",
    }
}

/// Counts the providers that did not serve a call.
fn count_failed_attempts(platform: &Platform, attempts: &[AttemptFailure]) {
    for attempt in attempts {
        platform
            .metrics()
            .llm_failure(&attempt.provider, &attempt.reason);
    }
}

/// Counts a failed failover call: every provider that did not serve it, or
/// the one that rejected the request.
fn count_llm_error(platform: &Platform, error: &FailoverError) {
    match error {
        FailoverError::AllFailed { attempts } => count_failed_attempts(platform, attempts),
        FailoverError::Rejected { provider, .. } => {
            platform.metrics().llm_rejected(provider);
        }
    }
}

/// A JSON error: `{"error": {"code", "message"}}` with an HTTP status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    degraded: Vec<&'static str>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            degraded: Vec::new(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            axum::Json(json!({"error": {"code": self.code, "message": self.message}})),
        )
            .into_response();
        if !self.degraded.is_empty() {
            set_header(
                response.headers_mut(),
                DEGRADED_HEADER,
                &self.degraded.join(","),
            );
        }
        response
    }
}

/// One agent turn.
#[derive(Debug, Deserialize)]
struct ChatRequest {
    conversation_id: String,
    message: String,
    #[serde(default)]
    stream: bool,
}

/// The JSON answer to a non-streaming turn.
#[derive(Debug, Serialize)]
struct ChatResponse {
    conversation_id: String,
    reply: String,
    provider: String,
    model: String,
    usage: Usage,
    cached: bool,
    degraded: Vec<&'static str>,
    history: &'static str,
}

#[derive(Debug, Clone, Copy, Serialize)]
struct Usage {
    input_tokens: u64,
    output_tokens: u64,
}

/// The parts of a chat request that storage needs.
pub(crate) struct ChatTurn<'a> {
    pub(crate) conversation_id: &'a str,
    pub(crate) message: &'a str,
}

impl ChatRequest {
    fn turn(&self) -> ChatTurn<'_> {
        ChatTurn {
            conversation_id: &self.conversation_id,
            message: &self.message,
        }
    }
}

fn parse_chat(body: Result<Bytes, BytesRejection>) -> Result<ChatRequest, ApiError> {
    let body = body.map_err(|rejection| {
        let status = rejection.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "body_too_large"
        } else {
            "invalid_body"
        };
        ApiError::new(status, code, rejection.body_text())
    })?;
    let request: ChatRequest = serde_json::from_slice(&body)
        .map_err(|error| ApiError::bad_request(format!("invalid chat request: {error}")))?;
    validate_conversation_id(&request.conversation_id)?;
    if request.message.trim().is_empty() {
        return Err(ApiError::bad_request("message must not be empty"));
    }
    if request.message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ApiError::bad_request(format!(
            "message is longer than {MAX_MESSAGE_CHARS} characters"
        )));
    }
    Ok(request)
}

fn validate_conversation_id(id: &str) -> Result<(), ApiError> {
    if id.is_empty() || id.len() > MAX_CONVERSATION_ID {
        return Err(ApiError::bad_request(format!(
            "conversation_id must be 1 to {MAX_CONVERSATION_ID} bytes"
        )));
    }
    if id.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "conversation_id must not contain control characters",
        ));
    }
    Ok(())
}

async fn chat(
    State(platform): State<Arc<Platform>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request = match parse_chat(body) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let mut degraded = RequestCapabilities::new(platform.health().capabilities());

    // 1. The response cache.
    if degraded.get().caching {
        match platform.redis().cached_reply(&request.message).await {
            Ok(Some(hit)) => {
                platform.metrics().cache_lookup(CacheLookup::Hit);
                return finish_cached(&platform, request, hit, degraded).await;
            }
            Ok(None) => platform.metrics().cache_lookup(CacheLookup::Miss),
            Err(error) => {
                platform.metrics().cache_lookup(CacheLookup::Error);
                tracing::debug!(%error, "cache lookup failed");
                // Same dependency: do not spend a second timeout on usage counters.
                degraded.lose(Capability::Caching);
                degraded.lose(Capability::RealTimeUsage);
            }
        }
    }

    // 2. History as context.
    let context = platform
        .recent_history(&request.conversation_id, &mut degraded)
        .await;
    let mut messages: Vec<ChatMessage> = context
        .iter()
        .map(|turn| {
            if turn.role == "assistant" {
                ChatMessage::assistant(turn.content.clone())
            } else {
                ChatMessage::user(turn.content.clone())
            }
        })
        .collect();
    messages.push(ChatMessage::user(request.message.clone()));

    // 3. The completion. While streaming is off (the primary LLM is not
    // healthy), a streaming request is answered as one JSON body.
    if request.stream && degraded.get().streaming {
        return stream_turn(platform, request, messages, degraded).await;
    }
    match platform.llm().complete(&messages).await {
        Ok(completion) => {
            count_failed_attempts(&platform, &completion.attempts);
            platform.metrics().llm_success(
                &completion.provider,
                &completion.model,
                completion.input_tokens,
                completion.output_tokens,
            );
            let usage = Usage {
                input_tokens: completion.input_tokens,
                output_tokens: completion.output_tokens,
            };
            let reply = CachedReply {
                text: completion.text,
                provider: completion.provider,
                model: completion.model,
            };
            let history = platform
                .record_turn(
                    &request.turn(),
                    &reply,
                    usage.input_tokens + usage.output_tokens,
                    true,
                    &mut degraded,
                )
                .await;
            chat_response(request, reply, usage, false, degraded, history)
        }
        Err(error) => {
            count_llm_error(&platform, &error);
            llm_error(error, degraded)
        }
    }
}

async fn finish_cached(
    platform: &Platform,
    request: ChatRequest,
    hit: CachedReply,
    mut degraded: RequestCapabilities,
) -> Response {
    let usage = Usage {
        input_tokens: 0,
        output_tokens: 0,
    };
    let history = platform
        .record_turn(&request.turn(), &hit, 0, false, &mut degraded)
        .await;
    let reply = CachedReply {
        provider: "cache".to_owned(),
        ..hit
    };
    chat_response(request, reply, usage, true, degraded, history)
}

fn chat_response(
    request: ChatRequest,
    reply: CachedReply,
    usage: Usage,
    cached: bool,
    degraded: RequestCapabilities,
    history: &'static str,
) -> Response {
    let names = degraded.degraded();
    let mut headers = HeaderMap::new();
    set_header(&mut headers, PROVIDER_HEADER, &reply.provider);
    set_header(&mut headers, MODEL_HEADER, &reply.model);
    set_header(&mut headers, DEGRADED_HEADER, &names.join(","));
    let body = ChatResponse {
        conversation_id: request.conversation_id,
        reply: reply.text,
        provider: reply.provider,
        model: reply.model,
        usage,
        cached,
        degraded: names,
        history,
    };
    (StatusCode::OK, headers, axum::Json(body)).into_response()
}

fn llm_error(error: FailoverError, mut degraded: RequestCapabilities) -> Response {
    let mut api_error = match &error {
        FailoverError::AllFailed { .. } => {
            degraded.lose(Capability::Chat);
            degraded.lose(Capability::Streaming);
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "llm_unavailable",
                error.to_string(),
            )
        }
        _ => ApiError::new(StatusCode::BAD_GATEWAY, "llm_rejected", error.to_string()),
    };
    api_error.degraded = degraded.degraded();
    api_error.into_response()
}

async fn stream_turn(
    platform: Arc<Platform>,
    request: ChatRequest,
    messages: Vec<ChatMessage>,
    mut degraded: RequestCapabilities,
) -> Response {
    // Failover happens inside `stream` until the first token has arrived.
    let mut completion = match platform.llm().stream(&messages).await {
        Ok(stream) => stream,
        Err(error) => {
            count_llm_error(&platform, &error);
            return llm_error(error, degraded);
        }
    };
    count_failed_attempts(&platform, &completion.attempts);
    let provider = completion.provider.clone();
    let model = completion.model.clone();
    let mut headers = HeaderMap::new();
    set_header(&mut headers, PROVIDER_HEADER, &provider);
    set_header(&mut headers, MODEL_HEADER, &model);
    set_header(
        &mut headers,
        DEGRADED_HEADER,
        &degraded.degraded().join(","),
    );

    let (sender, receiver) = tokio::sync::mpsc::channel::<Event>(32);
    let meta = json!({"provider": provider, "model": model, "degraded": degraded.degraded()});
    tokio::spawn(async move {
        let send = |event: Event| sender.send(event);
        if send(json_event("meta", &meta)).await.is_err() {
            return;
        }
        let mut text = String::new();
        let mut usage = Usage {
            input_tokens: 0,
            output_tokens: 0,
        };
        let mut completed = false;
        while let Some(item) = completion.next().await {
            match item {
                Ok(StreamEvent::Delta(delta)) => {
                    text.push_str(&delta);
                    if send(json_event("delta", &json!({"text": delta})))
                        .await
                        .is_err()
                    {
                        return; // the client went away; dropping the stream cancels the LLM call
                    }
                }
                Ok(StreamEvent::Done {
                    input_tokens,
                    output_tokens,
                }) => {
                    platform
                        .metrics()
                        .llm_success(&provider, &model, input_tokens, output_tokens);
                    usage = Usage {
                        input_tokens,
                        output_tokens,
                    };
                    completed = true;
                    break;
                }
                Err(error) => {
                    platform.metrics().llm_stream_failure(&provider, &model);
                    let body = json!({"code": "stream_failed", "message": error.to_string()});
                    let _ = send(json_event("error", &body)).await;
                    return;
                }
            }
        }
        if !completed {
            platform.metrics().llm_stream_failure(&provider, &model);
            let body =
                json!({"code": "stream_failed", "message": "the provider ended the stream early"});
            let _ = send(json_event("error", &body)).await;
            return;
        }
        let reply = CachedReply {
            text,
            provider,
            model,
        };
        let history = platform
            .record_turn(
                &request.turn(),
                &reply,
                usage.input_tokens + usage.output_tokens,
                true,
                &mut degraded,
            )
            .await;
        let done = json!({
            "usage": usage,
            "degraded": degraded.degraded(),
            "history": history,
        });
        let _ = send(json_event("done", &done)).await;
    });
    let events = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|event| (Ok::<_, Infallible>(event), receiver))
    });
    (headers, Sse::new(events).keep_alive(KeepAlive::default())).into_response()
}

fn json_event(name: &str, data: &serde_json::Value) -> Event {
    Event::default().event(name).data(data.to_string())
}

async fn conversation(State(platform): State<Arc<Platform>>, Path(id): Path<String>) -> Response {
    if let Err(error) = validate_conversation_id(&id) {
        return error.into_response();
    }
    let mut degraded = RequestCapabilities::new(platform.health().capabilities());
    let (turns, source) = platform.full_history(&id, &mut degraded).await;
    let names = degraded.degraded();
    let mut headers = HeaderMap::new();
    set_header(&mut headers, DEGRADED_HEADER, &names.join(","));
    let body = json!({
        "conversation_id": id,
        "turns": turns,
        "source": source,
        "degraded": names,
    });
    (headers, axum::Json(body)).into_response()
}

async fn health(State(platform): State<Arc<Platform>>) -> Response {
    let report = platform.health().check().await;
    let status = if report.status == Status::Unhealthy {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, axum::Json(report)).into_response()
}

async fn capabilities(State(platform): State<Arc<Platform>>) -> Response {
    axum::Json(platform.health().capabilities()).into_response()
}

async fn breakers(State(platform): State<Arc<Platform>>) -> Response {
    let providers: Vec<serde_json::Value> = platform
        .llm()
        .breakers()
        .into_iter()
        .map(|breaker| {
            let mut value = serde_json::to_value(&breaker.snapshot).unwrap_or_default();
            if let Some(object) = value.as_object_mut() {
                object.insert("provider".to_owned(), json!(breaker.provider));
            }
            value
        })
        .collect();
    axum::Json(json!({ "providers": providers })).into_response()
}

/// The Prometheus text exposition (optional in the contract).
async fn metrics(State(platform): State<Arc<Platform>>) -> Response {
    (
        [(header::CONTENT_TYPE, super::metrics::CONTENT_TYPE)],
        platform.metrics().render(),
    )
        .into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such route; see docs/platform-contract.md",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route",
    )
}

fn set_header(headers: &mut HeaderMap, name: &'static str, value: &str) {
    // Provider and model names come from configuration; drop a value that is
    // not a valid header rather than fail the request.
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

/// The in-memory turn pair for one exchange.
pub(crate) fn turn_pair(request_message: &str, reply: &CachedReply) -> [Turn; 2] {
    let at_ms = now_ms();
    [
        Turn {
            role: "user".to_owned(),
            content: request_message.to_owned(),
            provider: None,
            at_ms,
        },
        Turn {
            role: "assistant".to_owned(),
            content: reply.text.clone(),
            provider: Some(reply.provider.clone()),
            at_ms,
        },
    ]
}
