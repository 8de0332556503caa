//! The gateway's HTTP surface: the admin API, and every other request
//! forwarded upstream with the active mode applied.
//!
//! One request: read the body whole (at most [`MAX_BODY_BYTES`]), read its
//! `model` if the mode matches on it, decide the outcome under the mode, then
//! answer with a provider-shaped failure, hang, or forward (after a delay)
//! and hand the upstream's answer back as it is, or paced, cut or garbled.
//! Every wait ends when the gateway shuts down. Request bodies and headers
//! are never logged.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderName, HeaderValue, Response};
use axum::response::IntoResponse;
use bytes::Bytes;
use futures_util::StreamExt;
use serde::Deserialize;

use crate::lab::llm_fault::admin;
use crate::lab::llm_fault::body::{ReadError, read_limited};
use crate::lab::llm_fault::failure::{ErrorShape, Failure};
use crate::lab::llm_fault::outcome::{Outcome, TokenPace};

use super::body::{self as proxy_body, StreamPlan};
use super::forward::{Upstream, upstream_failure, without_hop_by_hop};
use super::state::ProxyState;

/// The largest request body the gateway forwards (8 MiB); also the largest
/// JSON answer it holds to cut or garble.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Header on every answer the gateway made up itself (an injected failure, a
/// 502/504 for its upstream), naming the gateway. Forwarded answers carry
/// only the upstream's headers.
pub const NAME_HEADER: &str = "x-gameday-llm-proxy";

/// Everything a request handler needs.
pub struct Gateway {
    /// Mode, counters, shutdown.
    pub state: Arc<ProxyState>,
    /// Where requests go.
    pub upstream: Upstream,
}

/// The admin routes, then everything else forwarded.
pub fn router(gateway: Arc<Gateway>) -> Router {
    let admin = admin::router::<ProxyState>().with_state(Arc::clone(&gateway.state));
    Router::new()
        .fallback(proxy)
        .with_state(gateway)
        .merge(admin)
}

async fn proxy(State(gateway): State<Arc<Gateway>>, request: Request) -> Response<Body> {
    let shape = ErrorShape::for_path(request.uri().path());
    let shutdown = gateway.state.shutdown.clone();
    tokio::select! {
        response = handle(&gateway, request, shape) => response,
        () = shutdown.wait() => {
            let mut response = failure_response(&gateway.state, shape, &Failure::ShuttingDown);
            response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

#[derive(Deserialize)]
struct ModelOnly {
    model: Option<String>,
}

async fn handle(gateway: &Gateway, request: Request, shape: ErrorShape) -> Response<Body> {
    let state = &gateway.state;
    let (parts, body) = request.into_parts();
    let route = parts.uri.path().to_owned();
    let body = match read_limited(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(error) => {
            let failure = match error {
                ReadError::TooLarge { limit } => Failure::TooLarge { limit },
                ReadError::Io(reason) => Failure::BadRequest(reason),
            };
            state.record_rejected(&route, failure.status().as_u16());
            return failure_response(state, shape, &failure);
        }
    };
    let model = if state.wants_model() {
        serde_json::from_slice::<ModelOnly>(&body)
            .ok()
            .and_then(|request| request.model)
    } else {
        None
    };
    let decision = state.decide(&route, model.as_deref());
    tracing::debug!(gateway = %state.name, %route, outcome = ?decision.outcome, "request decided");

    match decision.outcome {
        Outcome::Fail(failure) => {
            state.record_status(failure.status().as_u16());
            failure_response(state, shape, &failure)
        }
        Outcome::Hang => {
            // Never answer; the select in `proxy` ends this at shutdown.
            std::future::pending::<()>().await;
            failure_response(state, shape, &Failure::ShuttingDown)
        }
        Outcome::Answer { delay, pace } => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let plan = (pace != TokenPace::default()).then_some(StreamPlan::Pace(pace));
            let upstream = match forward(gateway, &parts, body, plan.is_some(), shape).await {
                Ok(upstream) => upstream,
                Err(response) => return response,
            };
            match plan {
                Some(plan) if is_sse(&upstream) => planned(state, upstream, plan),
                Some(_) => {
                    // Not a stream: the answer waits as long as its first token would.
                    let wait = pace.first_token.saturating_add(pace.stall_after_first);
                    tokio::time::sleep(wait).await;
                    pass_through(state, upstream)
                }
                None => pass_through(state, upstream),
            }
        }
        Outcome::Cut { after_tokens } => {
            let upstream = match forward(gateway, &parts, body, true, shape).await {
                Ok(upstream) => upstream,
                Err(response) => return response,
            };
            if !upstream.status().is_success() {
                pass_through(state, upstream)
            } else if is_sse(&upstream) {
                planned(
                    state,
                    upstream,
                    StreamPlan::Cut {
                        after: after_tokens,
                    },
                )
            } else {
                halved(gateway, upstream, shape, true).await
            }
        }
        Outcome::Malformed => {
            let upstream = match forward(gateway, &parts, body, true, shape).await {
                Ok(upstream) => upstream,
                Err(response) => return response,
            };
            if !upstream.status().is_success() {
                pass_through(state, upstream)
            } else if is_sse(&upstream) {
                let garbage = shape.garbage_event();
                planned(state, upstream, StreamPlan::Garble { garbage })
            } else {
                halved(gateway, upstream, shape, false).await
            }
        }
    }
}

/// Forwards the request; a failed upstream becomes the client's 502/504.
async fn forward(
    gateway: &Gateway,
    parts: &axum::http::request::Parts,
    body: Bytes,
    identity: bool,
    shape: ErrorShape,
) -> Result<reqwest::Response, Response<Body>> {
    match gateway.upstream.send(parts, body, identity).await {
        Ok(response) => Ok(response),
        Err(failure) => {
            tracing::warn!(gateway = %gateway.state.name, error = %failure.message(), "upstream request failed");
            gateway
                .state
                .record_upstream_error(failure.status().as_u16());
            Err(failure_response(&gateway.state, shape, &failure))
        }
    }
}

fn is_sse(upstream: &reqwest::Response) -> bool {
    upstream
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with("text/event-stream"))
}

/// The upstream's status and headers (less hop-by-hop ones) on `body`;
/// `keep_length` keeps `Content-Length` (only for the upstream's own bytes).
fn respond(upstream: &reqwest::Response, body: Body, keep_length: bool) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = upstream.status();
    *response.headers_mut() = without_hop_by_hop(upstream.headers());
    if !keep_length {
        response.headers_mut().remove(CONTENT_LENGTH);
    }
    response
}

fn pass_through(state: &ProxyState, upstream: reqwest::Response) -> Response<Body> {
    state.record_status(upstream.status().as_u16());
    let shutdown = state.shutdown.clone();
    let head = respond(&upstream, Body::empty(), true);
    let (parts, _) = head.into_parts();
    let body = proxy_body::pass_through(Box::pin(upstream.bytes_stream()), shutdown);
    Response::from_parts(parts, body)
}

fn planned(
    state: &Arc<ProxyState>,
    upstream: reqwest::Response,
    plan: StreamPlan,
) -> Response<Body> {
    state.record_status(upstream.status().as_u16());
    let head = respond(&upstream, Body::empty(), false);
    let (parts, _) = head.into_parts();
    let counter = Arc::clone(state);
    let body = proxy_body::planned(
        Box::pin(upstream.bytes_stream()),
        plan,
        state.shutdown.clone(),
        move || counter.record_cut(),
    );
    Response::from_parts(parts, body)
}

/// A JSON (non-stream) answer cut to its first half: ending in a broken
/// connection (`cut_stream`) or as a complete but invalid body (`malformed`).
async fn halved(
    gateway: &Gateway,
    upstream: reqwest::Response,
    shape: ErrorShape,
    cut: bool,
) -> Response<Body> {
    let state = &gateway.state;
    let head = respond(&upstream, Body::empty(), false);
    let (parts, _) = head.into_parts();
    let whole = match collect_limited(upstream).await {
        Ok(whole) => whole,
        Err(failure) => {
            state.record_upstream_error(failure.status().as_u16());
            return failure_response(state, shape, &failure);
        }
    };
    state.record_status(parts.status.as_u16());
    let half = whole.slice(..whole.len() / 2);
    let body = if cut {
        state.record_cut();
        proxy_body::then_break(half)
    } else {
        Body::from(half)
    };
    Response::from_parts(parts, body)
}

async fn collect_limited(upstream: reqwest::Response) -> Result<Bytes, Failure> {
    let mut stream = upstream.bytes_stream();
    let mut whole = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(upstream_failure)?;
        if whole.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(Failure::UpstreamFailed(format!(
                "the answer is larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        whole.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(whole))
}

fn failure_response(state: &ProxyState, shape: ErrorShape, failure: &Failure) -> Response<Body> {
    let mut response = (failure.status(), axum::Json(shape.body(failure))).into_response();
    let headers = response.headers_mut();
    if let Some(seconds) = failure.retry_after() {
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    if let Ok(name) = HeaderValue::from_str(&state.name) {
        headers.insert(HeaderName::from_static(NAME_HEADER), name);
    }
    response
}

/// How long the upstream may take to connect, to send its response head,
/// and between two body chunks, unless configured.
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(300);
