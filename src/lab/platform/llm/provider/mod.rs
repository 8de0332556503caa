//! HTTP clients for one LLM provider, in either wire format.
//!
//! Owns the request/response cycle with one provider: building the request,
//! reading a bounded body, turning HTTP statuses, `Retry-After`, transport
//! errors and malformed bodies into a [`ProviderError`], and decoding
//! Server-Sent Events streams into [`ProviderEvent`]s. The format-specific
//! JSON lives in [`openai`] and [`anthropic`]. It knows nothing about
//! breakers or failover; every call it makes is bounded by a timeout.

pub mod anthropic;
pub mod openai;

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use futures_util::stream::BoxStream;
use serde::{Deserialize, Serialize};

use super::message::ChatMessage;
use crate::sse::{SseEvent, SseParser};

/// Largest response body read into memory (replies and error bodies).
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Longest `Retry-After` honoured; a broken header must not bench a provider
/// for days.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Longest provider error message kept, in characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// Which wire format a provider speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub enum ApiKind {
    /// OpenAI chat completions: `POST {base}/v1/chat/completions`.
    #[serde(rename = "openai")]
    OpenAi,
    /// Anthropic messages: `POST {base}/v1/messages`.
    #[serde(rename = "anthropic")]
    Anthropic,
}

/// One configured provider. Its `Debug` output redacts the API key.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ProviderConfig {
    /// Name used in logs, errors, breakers and response headers.
    pub name: String,
    /// Wire format.
    pub kind: ApiKind,
    /// Base URL without the `/v1/...` path, e.g. `http://127.0.0.1:9001`.
    pub base_url: String,
    /// Model asked for.
    pub model: String,
    /// API key, sent as `Authorization: Bearer` (OpenAI) or `x-api-key`
    /// (Anthropic) when present.
    pub api_key: Option<String>,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A complete (non-streamed) reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderReply {
    /// The model that answered, as the provider reported it (or the
    /// configured model when the reply does not say).
    pub model: String,
    /// The generated text.
    pub text: String,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
}

/// One decoded piece of a streamed reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProviderEvent {
    /// Generated text (never empty).
    Delta(String),
    /// The provider's end-of-stream marker, with the usage it reported (0
    /// when it reported none).
    Done {
        /// Prompt tokens.
        input_tokens: u64,
        /// Generated tokens.
        output_tokens: u64,
    },
}

/// A streamed reply: deltas, then exactly one `Done`, or an error.
pub type ProviderStream = BoxStream<'static, Result<ProviderEvent, ProviderError>>;

/// Why a call to a provider failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider answered with a non-success status (or, mid-stream, an
    /// error event, mapped to the status it stands for).
    #[error("{}", describe_status(*code, message))]
    Status {
        /// HTTP status code.
        code: u16,
        /// The provider's error message, or the status's reason phrase.
        message: String,
        /// How long the provider asked us to wait (`Retry-After`).
        retry_after: Option<Duration>,
    },
    /// No usable connection: refused, reset, DNS, TLS, or a bad base URL.
    #[error("connection error: {0}")]
    Connect(String),
    /// No answer within the time allowed.
    #[error("timed out")]
    Timeout,
    /// An answer that does not have the expected shape.
    #[error("malformed response: {0}")]
    Malformed(String),
}

impl ProviderError {
    /// The request itself is wrong (400, 401, 403, 404, 422 and other 4xx
    /// except 408 and 429): another provider would not do better, and the
    /// provider is not unhealthy for refusing it.
    pub fn is_request_error(&self) -> bool {
        matches!(self, Self::Status { code, .. } if is_request_error_status(*code))
    }
}

/// Whether a status means the request itself is wrong: 4xx except 408
/// (Request Timeout) and 429 (Too Many Requests).
pub fn is_request_error_status(code: u16) -> bool {
    (400..500).contains(&code) && code != 408 && code != 429
}

/// The reason phrase of a status, including the non-standard 529.
pub fn status_text(code: u16) -> &'static str {
    if code == 529 {
        return "Overloaded";
    }
    reqwest::StatusCode::from_u16(code)
        .ok()
        .and_then(|status| status.canonical_reason())
        .unwrap_or("Unknown Status")
}

/// `503 Service Unavailable`, or `503 Service Unavailable: <message>` when
/// the provider said more than the reason phrase.
pub fn describe_status(code: u16, message: &str) -> String {
    let reason = status_text(code);
    if message.is_empty() || message == reason {
        format!("{code} {reason}")
    } else {
        format!("{code} {reason}: {message}")
    }
}

/// A client for one provider. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ProviderClient {
    config: ProviderConfig,
    http: reqwest::Client,
}

impl ProviderClient {
    /// A client using `http` for its connections.
    pub fn new(config: ProviderConfig, http: reqwest::Client) -> Self {
        Self { config, http }
    }

    /// The provider's configuration.
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// The provider's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// One complete reply, bounded by `timeout` from request to last byte.
    pub async fn complete(
        &self,
        messages: &[ChatMessage],
        max_tokens: u32,
        timeout: Duration,
    ) -> Result<ProviderReply, ProviderError> {
        let exchange = async {
            let response = self.send(messages, max_tokens, false).await?;
            let body = read_limited(response).await?;
            match self.config.kind {
                ApiKind::OpenAi => openai::parse_reply(&body, &self.config.model),
                ApiKind::Anthropic => anthropic::parse_reply(&body, &self.config.model),
            }
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(ProviderError::Timeout))
    }

    /// Starts a streamed reply. `timeout` bounds the wait for the response
    /// headers only; the caller bounds the wait for each event.
    pub async fn stream(
        &self,
        messages: &[ChatMessage],
        max_tokens: u32,
        timeout: Duration,
    ) -> Result<ProviderStream, ProviderError> {
        let response = tokio::time::timeout(timeout, self.send(messages, max_tokens, true))
            .await
            .unwrap_or(Err(ProviderError::Timeout))?;
        let decoder = match self.config.kind {
            ApiKind::OpenAi => Decoder::OpenAi(openai::StreamDecoder::default()),
            ApiKind::Anthropic => Decoder::Anthropic(anthropic::StreamDecoder::default()),
        };
        Ok(event_stream(response, decoder))
    }

    /// Sends the request and turns a non-success status into an error.
    async fn send(
        &self,
        messages: &[ChatMessage],
        max_tokens: u32,
        stream: bool,
    ) -> Result<reqwest::Response, ProviderError> {
        let base = self.config.base_url.trim_end_matches('/');
        let request = match self.config.kind {
            ApiKind::OpenAi => {
                let body = openai::request_body(&self.config.model, messages, max_tokens, stream);
                let request = self
                    .http
                    .post(format!("{base}/v1/chat/completions"))
                    .json(&body);
                match &self.config.api_key {
                    Some(key) => request.bearer_auth(key),
                    None => request,
                }
            }
            ApiKind::Anthropic => {
                let body =
                    anthropic::request_body(&self.config.model, messages, max_tokens, stream);
                let request = self
                    .http
                    .post(format!("{base}/v1/messages"))
                    .header("anthropic-version", anthropic::API_VERSION)
                    .json(&body);
                match &self.config.api_key {
                    Some(key) => request.header("x-api-key", key),
                    None => request,
                }
            }
        };
        let request = if stream {
            request.header(reqwest::header::ACCEPT, "text/event-stream")
        } else {
            request
        };
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| parse_retry_after(value, SystemTime::now()));
        // The body only adds detail; failing to read it keeps the status.
        let body = read_limited(response).await.unwrap_or_default();
        Err(ProviderError::Status {
            code: status.as_u16(),
            message: error_message(&body).unwrap_or_else(|| status_text(status.as_u16()).into()),
            retry_after,
        })
    }
}

/// Parses `Retry-After`: delay-seconds, or an HTTP-date relative to `now`.
/// Capped at [`MAX_RETRY_AFTER`]; unparseable values are ignored.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let delay = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let date = httpdate::parse_http_date(value).ok()?;
            date.duration_since(now).unwrap_or(Duration::ZERO)
        }
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

/// The `error.message` both wire formats put in error bodies, else a short
/// excerpt of a non-empty plain body.
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Envelope {
        error: Detail,
    }
    #[derive(Deserialize)]
    struct Detail {
        message: String,
    }
    let message = match serde_json::from_slice::<Envelope>(body) {
        Ok(envelope) => envelope.error.message,
        Err(_) => String::from_utf8_lossy(body).trim().to_owned(),
    };
    (!message.is_empty()).then(|| truncate(&message))
}

fn truncate(text: &str) -> String {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Reads a whole body, refusing bodies larger than [`MAX_BODY_BYTES`].
async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, ProviderError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ProviderError::Malformed(format!(
                "body larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Classifies a reqwest error, keeping its cause chain in the message.
fn transport_error(error: reqwest::Error) -> ProviderError {
    if error.is_timeout() {
        return ProviderError::Timeout;
    }
    if error.is_decode() {
        return ProviderError::Malformed(error_chain(&error));
    }
    ProviderError::Connect(error_chain(&error))
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Maps an error event inside a stream to the status it stands for.
fn stream_error(kind: Option<&str>, message: String) -> ProviderError {
    let code = match kind {
        Some("overloaded_error") => 529,
        Some("rate_limit_error" | "rate_limit_exceeded") => 429,
        _ => 500,
    };
    ProviderError::Status {
        code,
        message: truncate(&message),
        retry_after: None,
    }
}

/// The per-format decoders of stream events.
enum Decoder {
    OpenAi(openai::StreamDecoder),
    Anthropic(anthropic::StreamDecoder),
}

impl Decoder {
    fn decode(&mut self, event: SseEvent) -> Result<Option<ProviderEvent>, ProviderError> {
        match self {
            Self::OpenAi(decoder) => decoder.decode(event),
            Self::Anthropic(decoder) => decoder.decode(event),
        }
    }
}

struct StreamState {
    response: reqwest::Response,
    parser: SseParser,
    decoder: Decoder,
    ready: VecDeque<Result<ProviderEvent, ProviderError>>,
    /// Set once `Done` or an error was queued: nothing more is read.
    finished: bool,
}

impl StreamState {
    fn feed(&mut self, event: SseEvent) {
        if self.finished {
            return;
        }
        match self.decoder.decode(event) {
            Ok(Some(event)) => {
                self.finished = matches!(event, ProviderEvent::Done { .. });
                self.ready.push_back(Ok(event));
            }
            Ok(None) => {}
            Err(error) => self.fail(error),
        }
    }

    fn fail(&mut self, error: ProviderError) {
        self.finished = true;
        self.ready.push_back(Err(error));
    }
}

fn event_stream(response: reqwest::Response, decoder: Decoder) -> ProviderStream {
    let state = StreamState {
        response,
        parser: SseParser::new(),
        decoder,
        ready: VecDeque::new(),
        finished: false,
    };
    Box::pin(futures_util::stream::unfold(
        state,
        |mut state| async move {
            loop {
                if let Some(item) = state.ready.pop_front() {
                    return Some((item, state));
                }
                if state.finished {
                    return None;
                }
                match state.response.chunk().await {
                    Ok(Some(chunk)) => match state.parser.push(&chunk) {
                        Ok(events) => events.into_iter().for_each(|event| state.feed(event)),
                        Err(error) => state.fail(ProviderError::Malformed(error.to_string())),
                    },
                    Ok(None) => {
                        if let Some(event) = state.parser.finish() {
                            state.feed(event);
                        }
                        if !state.finished {
                            state.fail(ProviderError::Malformed(
                                "stream ended before its end marker".into(),
                            ));
                        }
                    }
                    Err(error) => state.fail(transport_error(error)),
                }
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(42));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(42))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(42));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(
            parse_retry_after("99999999999999999", now),
            Some(MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn request_errors_are_the_4xx_another_provider_would_not_fix() {
        let status = |code| ProviderError::Status {
            code,
            message: String::new(),
            retry_after: None,
        };
        for code in [400, 401, 403, 404, 422] {
            assert!(status(code).is_request_error(), "{code}");
        }
        for code in [408, 429, 500, 503, 529] {
            assert!(!status(code).is_request_error(), "{code}");
        }
        assert!(!ProviderError::Timeout.is_request_error());
    }

    #[test]
    fn debug_output_never_shows_the_api_key() {
        let config = ProviderConfig {
            name: "p".into(),
            kind: ApiKind::OpenAi,
            base_url: "http://x".into(),
            model: "m".into(),
            api_key: Some("sk-secret".into()),
        };
        let shown = format!(
            "{config:?} {:?}",
            ProviderClient::new(config.clone(), reqwest::Client::new())
        );
        assert!(!shown.contains("sk-secret"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn statuses_read_like_http() {
        assert_eq!(describe_status(503, ""), "503 Service Unavailable");
        assert_eq!(
            describe_status(503, "Service Unavailable"),
            "503 Service Unavailable"
        );
        assert_eq!(describe_status(529, "busy"), "529 Overloaded: busy");
    }

    #[test]
    fn error_messages_come_from_either_error_shape_or_the_body() {
        assert_eq!(
            error_message(br#"{"error":{"message":"bad key","type":"auth"}}"#),
            Some("bad key".into())
        );
        assert_eq!(
            error_message(
                br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
            ),
            Some("Overloaded".into())
        );
        assert_eq!(
            error_message(b"  upstream down \n"),
            Some("upstream down".into())
        );
        assert_eq!(error_message(b""), None);
        let long = "x".repeat(1000);
        assert!(error_message(long.as_bytes()).is_some_and(|m| m.len() < 400));
    }
}
