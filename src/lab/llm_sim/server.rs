//! The HTTP surface: routes, and carrying out each request's outcome.
//!
//! One generic handler serves both formats: read the body (limit 1 MiB),
//! parse it ([`Wire::parse`]), decide the outcome under the active mode,
//! record it, then answer, fail, wait, hang, cut or garble as decided. Every
//! wait in a handler ends when the server shuts down, so graceful shutdown
//! never waits on a hung request.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONNECTION, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::{Value, json};

use super::MAX_BODY_BYTES;
use super::anthropic::Anthropic;
use super::body::{Ending, Frame, paced};
use super::failure::Failure;
use super::openai::OpenAi;
use super::outcome::{Outcome, TokenPace};
use super::reply::Reply;
use super::state::SimState;
use super::stats::Recorded;
use super::wire::{Completion, Prompt, StreamFrames, Wire};
use crate::lab::llm_fault::admin;
use crate::lab::llm_fault::body::{ReadError, read_limited};

/// Header naming the simulator that answered (its `--name`).
pub const NAME_HEADER: &str = "x-llm-sim-name";

/// All routes: both provider formats, the admin API and `/health`.
pub fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route(OpenAi::ROUTE, post(provider::<OpenAi>))
        .route(Anthropic::ROUTE, post(provider::<Anthropic>))
        .route("/health", get(health))
        .merge(admin::router::<SimState>())
        .fallback(not_found)
        .with_state(state)
}

async fn health(State(state): State<Arc<SimState>>) -> Response {
    axum::Json(json!({"status": "ok", "name": state.name})).into_response()
}

async fn not_found(method: Method, uri: Uri) -> Response {
    let body = json!({
        "error": {
            "type": "not_found_error",
            "message": format!("no route for {method} {}", uri.path()),
        }
    });
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

async fn provider<W: Wire>(State(state): State<Arc<SimState>>, body: Body) -> Response {
    let shutdown = state.shutdown.clone();
    let mut response = tokio::select! {
        response = handle::<W>(&state, body) => response,
        () = shutdown.wait() => {
            let mut response = error_response::<W>(&Failure::ShuttingDown);
            response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
            response
        }
    };
    if let Ok(name) = HeaderValue::from_str(&state.name) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(NAME_HEADER), name);
    }
    response
}

async fn handle<W: Wire>(state: &SimState, body: Body) -> Response {
    let prompt = match read_prompt::<W>(body).await {
        Ok(prompt) => prompt,
        Err(failure) => {
            state.record(
                W::ROUTE,
                Recorded::Status {
                    status: failure.status().as_u16(),
                    cut: false,
                },
            );
            return error_response::<W>(&failure);
        }
    };
    let outcome = state.decide();
    let recorded = match outcome.status() {
        Some(status) => Recorded::Status {
            status,
            cut: matches!(outcome, Outcome::Cut { .. }),
        },
        None => Recorded::Hung,
    };
    state.record(W::ROUTE, recorded);
    tracing::debug!(route = W::ROUTE, ?outcome, "request decided");

    let completion = Completion {
        id: format!("{}{:06}", W::ID_PREFIX, state.next_id()),
        model: prompt.model.clone(),
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs()),
        reply: Reply::build(
            &state.name,
            &prompt.last_user_message,
            state.reply_tokens,
            prompt.max_tokens,
        ),
        input_tokens: prompt.input_tokens,
        include_usage: prompt.include_usage,
    };

    match outcome {
        Outcome::Answer { delay, pace } => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if prompt.stream {
                let frames = W::stream(&completion);
                sse_response(paced_frames(frames, pace), Ending::Complete, state)
            } else {
                let total = pace.total(completion.reply.tokens());
                if !total.is_zero() {
                    tokio::time::sleep(total).await;
                }
                json_response(StatusCode::OK, &W::completion(&completion))
            }
        }
        Outcome::Fail(failure) => error_response::<W>(&failure),
        Outcome::Hang => {
            // Never answer; the select in `provider` ends this at shutdown.
            std::future::pending::<()>().await;
            error_response::<W>(&Failure::ShuttingDown)
        }
        Outcome::Cut { after_tokens } => {
            if prompt.stream {
                let StreamFrames {
                    preamble, tokens, ..
                } = W::stream(&completion);
                let frames = preamble
                    .into_iter()
                    .chain(tokens.into_iter().take(after_tokens))
                    .map(Frame::now)
                    .collect();
                sse_response(frames, Ending::Abort, state)
            } else {
                let full = Bytes::from(W::completion(&completion).to_string());
                let half = full.slice(..full.len() / 2);
                let body = paced(
                    vec![Frame::now(half)],
                    Ending::Abort,
                    state.shutdown.clone(),
                );
                with_content_type(Response::new(body), "application/json")
            }
        }
        Outcome::Malformed => {
            if prompt.stream {
                let StreamFrames {
                    preamble,
                    tokens,
                    epilogue,
                } = W::stream(&completion);
                let frames = preamble
                    .into_iter()
                    .chain(std::iter::once(W::garbage_frame()))
                    .chain(tokens)
                    .chain(epilogue)
                    .map(Frame::now)
                    .collect();
                sse_response(frames, Ending::Complete, state)
            } else {
                let body = Body::from(W::malformed_body(&completion));
                with_content_type(Response::new(body), "application/json")
            }
        }
    }
}

async fn read_prompt<W: Wire>(body: Body) -> Result<Prompt, Failure> {
    let bytes = read_limited(body, MAX_BODY_BYTES)
        .await
        .map_err(|error| match error {
            ReadError::TooLarge { limit } => Failure::TooLarge { limit },
            ReadError::Io(reason) => Failure::BadRequest(reason),
        })?;
    W::parse(&bytes)
}

/// The stream's frames with the token pace applied to the token frames.
fn paced_frames(frames: StreamFrames, pace: TokenPace) -> Vec<Frame> {
    let StreamFrames {
        preamble,
        tokens,
        epilogue,
    } = frames;
    let paced_tokens = tokens.into_iter().enumerate().map(|(index, bytes)| Frame {
        wait: pace.wait_before(index),
        bytes,
    });
    preamble
        .into_iter()
        .map(Frame::now)
        .chain(paced_tokens)
        .chain(epilogue.into_iter().map(Frame::now))
        .collect()
}

fn sse_response(frames: Vec<Frame>, ending: Ending, state: &SimState) -> Response {
    let mut response = Response::new(paced(frames, ending, state.shutdown.clone()));
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    with_content_type(response, "text/event-stream")
}

fn with_content_type(mut response: Response, content_type: &'static str) -> Response {
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn error_response<W: Wire>(failure: &Failure) -> Response {
    let mut response = json_response(failure.status(), &W::ERROR_SHAPE.body(failure));
    if let Some(seconds) = failure.retry_after() {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pace_applies_only_to_token_frames() {
        let frames = StreamFrames {
            preamble: vec![Bytes::from("start")],
            tokens: vec![Bytes::from("a"), Bytes::from("b"), Bytes::from("c")],
            epilogue: vec![Bytes::from("end")],
        };
        let pace = TokenPace {
            first_token: Duration::from_millis(100),
            stall_after_first: Duration::from_millis(50),
            interval: Duration::from_millis(10),
        };
        let waits: Vec<u128> = paced_frames(frames, pace)
            .iter()
            .map(|frame| frame.wait.as_millis())
            .collect();
        assert_eq!(waits, [0, 100, 60, 10, 0]);
    }
}
