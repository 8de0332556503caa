//! The response body the client gets: the upstream's bytes forwarded as they
//! arrive, or, when a mode works on the stream, the upstream's SSE events
//! paced, cut or garbled.
//!
//! Nothing is buffered in pass-through: each upstream chunk is sent on as
//! soon as it is read. A mode that works on events splits the stream at blank
//! lines (`\n\n` or `\r\n\r\n`) and acts on *content events* (ones that carry
//! generated text: see [`is_content_event`]). A body that fails (the upstream
//! broke, a cut, shutdown) makes the server drop the connection, so the
//! client sees a broken body, never a clean but short one. No task is
//! spawned: dropping the body drops the upstream response.

use std::collections::VecDeque;
use std::pin::Pin;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use serde_json::Value;

use crate::lab::llm_fault::outcome::TokenPace;
use crate::shutdown::Shutdown;

/// The largest single SSE event the gateway holds while reframing a stream.
const MAX_EVENT_BYTES: usize = 8 * 1024 * 1024;

/// The upstream body as a stream of chunks.
pub type Upstream = Pin<Box<dyn Stream<Item = Result<Bytes, reqwest::Error>> + Send>>;

/// Why a body ended in an error; surfaces only in the server's logs.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The upstream failed mid-body (or stalled past the timeout).
    #[error("upstream body failed: {0}")]
    Upstream(String),
    /// One SSE event was larger than the gateway holds.
    #[error("an upstream SSE event is larger than {MAX_EVENT_BYTES} bytes")]
    EventTooLarge,
    /// The `cut_stream` mode broke the stream off.
    #[error("stream cut by the cut_stream mode")]
    Cut,
    /// The gateway is shutting down.
    #[error("the gateway is shutting down")]
    Shutdown,
}

/// What to do with a streamed (SSE) body.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamPlan {
    /// Wait before each content event as the pace says.
    Pace(TokenPace),
    /// Break the connection right after `after` content events (before the
    /// first when 0). A stream with fewer passes whole.
    Cut {
        /// Content events sent before the cut.
        after: usize,
    },
    /// Send `garbage` (an event whose data is not JSON) just before the first
    /// content event.
    Garble {
        /// The bad event.
        garbage: Bytes,
    },
}

/// The upstream's body forwarded chunk by chunk, ending in an error if the
/// upstream fails or the gateway shuts down.
pub fn pass_through(upstream: Upstream, shutdown: Shutdown) -> Body {
    let stream = futures_util::stream::unfold(
        (upstream, shutdown, false),
        |(mut upstream, shutdown, finished)| async move {
            if finished {
                return None;
            }
            tokio::select! {
                next = upstream.next() => match next {
                    Some(Ok(chunk)) => Some((Ok(chunk), (upstream, shutdown, false))),
                    Some(Err(error)) => {
                        // Let the server flush what was sent before the break.
                        tokio::task::yield_now().await;
                        Some((
                            Err(BodyError::Upstream(error.without_url().to_string())),
                            (upstream, shutdown, true),
                        ))
                    }
                    None => None,
                },
                () = shutdown.clone().wait() => Some((Err(BodyError::Shutdown), (upstream, shutdown, true))),
            }
        },
    );
    Body::from_stream(stream)
}

/// A streamed body reframed into SSE events, with `plan` applied.
/// `on_cut` runs once if the stream is actually cut.
pub fn planned(
    upstream: Upstream,
    plan: StreamPlan,
    shutdown: Shutdown,
    on_cut: impl FnOnce() + Send + 'static,
) -> Body {
    let state = Planned {
        events: Events {
            upstream,
            buffer: BytesMut::new(),
            ended: false,
        },
        plan,
        shutdown,
        content_sent: 0,
        pending: VecDeque::new(),
        finished: false,
        on_cut: Some(Box::new(on_cut)),
    };
    let stream = futures_util::stream::unfold(state, |mut state| async move {
        let item = state.step().await?;
        Some((item, state))
    });
    Body::from_stream(stream)
}

/// A body made of `bytes` and then a broken connection.
pub fn then_break(bytes: Bytes) -> Body {
    let stream = futures_util::stream::unfold(Some(bytes), |bytes| async move {
        match bytes {
            Some(bytes) => Some((Ok(bytes), None)),
            None => {
                // Give the server one turn to flush the bytes before the cut.
                tokio::task::yield_now().await;
                Some((Err(BodyError::Cut), None))
            }
        }
    })
    .take(2);
    Body::from_stream(stream)
}

struct Events {
    upstream: Upstream,
    buffer: BytesMut,
    ended: bool,
}

impl Events {
    /// The next whole event (with its blank line), or what is left at the end.
    async fn next(&mut self, shutdown: &Shutdown) -> Option<Result<Bytes, BodyError>> {
        loop {
            if let Some(end) = event_end(&self.buffer) {
                return Some(Ok(self.buffer.split_to(end).freeze()));
            }
            if self.ended {
                if self.buffer.is_empty() {
                    return None;
                }
                return Some(Ok(self.buffer.split().freeze()));
            }
            if self.buffer.len() > MAX_EVENT_BYTES {
                return Some(Err(BodyError::EventTooLarge));
            }
            tokio::select! {
                next = self.upstream.next() => match next {
                    Some(Ok(chunk)) => self.buffer.extend_from_slice(&chunk),
                    Some(Err(error)) => {
                        // Let the server flush what was sent before the break.
                        tokio::task::yield_now().await;
                        return Some(Err(BodyError::Upstream(error.without_url().to_string())));
                    }
                    None => self.ended = true,
                },
                () = shutdown.clone().wait() => return Some(Err(BodyError::Shutdown)),
            }
        }
    }
}

/// Where the first event in `buffer` ends (just past its blank line).
fn event_end(buffer: &[u8]) -> Option<usize> {
    let lf = find(buffer, b"\n\n").map(|at| at + 2);
    let crlf = find(buffer, b"\r\n\r\n").map(|at| at + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

struct Planned {
    events: Events,
    plan: StreamPlan,
    shutdown: Shutdown,
    content_sent: usize,
    pending: VecDeque<Bytes>,
    finished: bool,
    on_cut: Option<Box<dyn FnOnce() + Send>>,
}

impl Planned {
    async fn step(&mut self) -> Option<Result<Bytes, BodyError>> {
        if self.finished {
            return None;
        }
        if let Some(bytes) = self.pending.pop_front() {
            return Some(Ok(bytes));
        }
        if let StreamPlan::Cut { after } = self.plan
            && self.content_sent >= after
            && after > 0
        {
            return Some(self.cut().await);
        }
        let event = match self.events.next(&self.shutdown).await? {
            Ok(event) => event,
            Err(error) => {
                self.finished = true;
                return Some(Err(error));
            }
        };
        if !is_content_event(&event) {
            return Some(Ok(event));
        }
        let index = self.content_sent;
        self.content_sent += 1;
        match &mut self.plan {
            StreamPlan::Pace(pace) => {
                let wait = pace.wait_before(index);
                if !wait.is_zero() {
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = self.shutdown.clone().wait() => {
                            self.finished = true;
                            return Some(Err(BodyError::Shutdown));
                        }
                    }
                }
                Some(Ok(event))
            }
            StreamPlan::Cut { after: 0 } => Some(self.cut().await),
            StreamPlan::Cut { .. } => Some(Ok(event)),
            StreamPlan::Garble { garbage } => {
                if index == 0 {
                    self.pending.push_back(event);
                    Some(Ok(garbage.clone()))
                } else {
                    Some(Ok(event))
                }
            }
        }
    }

    async fn cut(&mut self) -> Result<Bytes, BodyError> {
        // Give the server one turn to flush what was sent before the cut.
        tokio::task::yield_now().await;
        self.finished = true;
        if let Some(on_cut) = self.on_cut.take() {
            on_cut();
        }
        Err(BodyError::Cut)
    }
}

/// Whether an SSE event carries generated content: Anthropic's
/// `content_block_delta`, an OpenAI Responses `*.delta` event, or an OpenAI
/// chat chunk whose delta has something besides the role (content, a tool
/// call, reasoning). Role-only chunks, pings, stops, usage and `[DONE]` are
/// not content.
pub fn is_content_event(event: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(event) else {
        return false;
    };
    let mut name = None;
    let mut data = String::new();
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("event:") {
            name = Some(value.trim());
        } else if let Some(value) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(value.strip_prefix(' ').unwrap_or(value));
        }
    }
    if let Some(name) = name
        && (name == "content_block_delta" || name.ends_with(".delta"))
    {
        return true;
    }
    let Ok(json) = serde_json::from_str::<Value>(&data) else {
        return false;
    };
    if json.get("type").and_then(Value::as_str) == Some("content_block_delta") {
        return true;
    }
    json.get("choices")
        .and_then(Value::as_array)
        .is_some_and(|choices| {
            choices.iter().any(|choice| {
                choice
                    .get("delta")
                    .and_then(Value::as_object)
                    .is_some_and(|delta| {
                        delta
                            .iter()
                            .any(|(key, value)| key != "role" && has_content(value))
                    })
            })
        })
}

fn has_content(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(fields) => !fields.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_events_are_recognized_in_both_formats() {
        let yes: [&[u8]; 5] = [
            b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" hi\"}}]}\n\n",
            b"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0}]}}]}\n\n",
            b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\"}\n\n",
            b"data: {\"type\":\"content_block_delta\",\"delta\":{}}\r\n\r\n",
            b"event: response.output_text.delta\ndata: {}\n\n",
        ];
        for event in yes {
            assert!(
                is_content_event(event),
                "{}",
                String::from_utf8_lossy(event)
            );
        }
        let no: [&[u8]; 6] = [
            b"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
            b"data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
            b"data: {\"choices\":[],\"usage\":{\"total_tokens\":3}}\n\n",
            b"data: [DONE]\n\n",
            b"event: ping\ndata: {\"type\":\"ping\"}\n\n",
            b": keep-alive comment\n\n",
        ];
        for event in no {
            assert!(
                !is_content_event(event),
                "{}",
                String::from_utf8_lossy(event)
            );
        }
    }

    #[test]
    fn events_end_at_the_first_blank_line_of_either_style() {
        assert_eq!(event_end(b"data: a\n\ndata: b\n\n"), Some(9));
        assert_eq!(event_end(b"data: a\r\n\r\nrest"), Some(11));
        assert_eq!(event_end(b"data: a\n"), None);
    }

    fn upstream_of(chunks: &[&'static str]) -> Upstream {
        let items: Vec<Result<Bytes, reqwest::Error>> = chunks
            .iter()
            .map(|chunk| Ok(Bytes::from_static(chunk.as_bytes())))
            .collect();
        Box::pin(futures_util::stream::iter(items))
    }

    async fn collect(body: Body) -> (String, bool) {
        let mut stream = body.into_data_stream();
        let mut text = String::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(bytes) => text.push_str(&String::from_utf8_lossy(&bytes)),
                Err(_) => return (text, true),
            }
        }
        (text, false)
    }

    const STREAM: [&str; 4] = [
        "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n",
        "\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\"c\"}}]}\n\n",
        "data: [DONE]\n\n",
    ];

    #[tokio::test]
    async fn cut_breaks_after_n_content_events_and_reports_it() {
        let (_trigger, shutdown) = crate::shutdown::channel();
        let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&cut);
        let body = planned(
            upstream_of(&STREAM),
            StreamPlan::Cut { after: 2 },
            shutdown,
            move || flag.store(true, std::sync::atomic::Ordering::SeqCst),
        );
        let (text, failed) = collect(body).await;
        assert!(failed);
        assert!(text.contains("\"b\"") && !text.contains("\"c\"") && !text.contains("[DONE]"));
        assert!(cut.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[tokio::test]
    async fn garble_inserts_one_bad_event_before_the_first_content() {
        let (_trigger, shutdown) = crate::shutdown::channel();
        let garbage = Bytes::from_static(b"data: <garbage>\n\n");
        let body = planned(
            upstream_of(&STREAM),
            StreamPlan::Garble { garbage },
            shutdown,
            || {},
        );
        let (text, failed) = collect(body).await;
        assert!(!failed);
        let original: String = STREAM.concat();
        let at = original
            .find("data: {\"choices\":[{\"delta\":{\"content\":\"a\"")
            .expect("a");
        let expected = format!("{}data: <garbage>\n\n{}", &original[..at], &original[at..]);
        assert_eq!(text, expected);
    }

    #[tokio::test]
    async fn pass_through_keeps_every_byte() {
        let (_trigger, shutdown) = crate::shutdown::channel();
        let (text, failed) = collect(pass_through(upstream_of(&STREAM), shutdown)).await;
        assert!(!failed);
        assert_eq!(text, STREAM.concat());
    }
}
