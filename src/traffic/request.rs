//! Sending one planned request over HTTP and reading its answer into a
//! [`Completion`]: the shared client (one connection pool, TCP_NODELAY: the
//! lean [`http1`] client for `http://`, reqwest for `https://`), the
//! request bodies, streamed and JSON answers, the request timeout. It
//! measures only the time to first token; total latency is the caller's,
//! from the intended start.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::TrafficError;
use super::failures;
use super::http1::{self, Http1Pool};
use super::outcome::{self, Completion, HeaderReport, OutcomeClass};
use super::schedule::{Arrival, Operation};
use super::spec::{Endpoints, TrafficSpec};
use super::sse::StreamState;

/// Response header naming the provider that served a turn.
pub const PROVIDER_HEADER: &str = "x-llm-provider";
/// Response header listing the capabilities a request did without.
pub const DEGRADED_HEADER: &str = "x-degraded-capabilities";

/// Everything needed to send requests, built once per run.
#[derive(Debug)]
pub struct Sender {
    transport: Transport,
    chat_url: reqwest::Url,
    endpoints: Endpoints,
    /// The extra headers, marked sensitive so no Debug output shows them.
    headers: HeaderMap,
    seed: u64,
    timeout: Duration,
}

/// The HTTP client behind a [`Sender`].
#[derive(Debug)]
enum Transport {
    /// Plain `http://`: the lean keep-alive client.
    Lean(Box<LeanClient>),
    /// `https://` (or credentials in the URL): reqwest, with rustls.
    Reqwest(reqwest::Client),
}

/// The lean client with what its requests share: the chat route's path
/// (origin form) and the headers of chat turns (JSON) and of history
/// reads, built once.
#[derive(Debug)]
struct LeanClient {
    pool: Http1Pool,
    chat_path: String,
    post_headers: HeaderMap,
    get_headers: HeaderMap,
}

/// An answer's head with its body still to read, from either transport.
struct Answer<'a> {
    status: u16,
    success: bool,
    headers: HeaderMap,
    body: AnswerBody<'a>,
}

enum AnswerBody<'a> {
    Lean(http1::Answer<'a>),
    Reqwest(reqwest::Response),
}

impl AnswerBody<'_> {
    /// The next piece of the body, `None` at its end, or why it broke.
    async fn chunk(&mut self) -> Result<Option<Bytes>, Completion> {
        match self {
            Self::Lean(answer) => answer.chunk().await.map_err(|e| lean_failure(&e)),
            Self::Reqwest(response) => response.chunk().await.map_err(|e| reqwest_failure(&e)),
        }
    }

    async fn bytes(self) -> Result<Bytes, Completion> {
        match self {
            Self::Lean(answer) => answer.bytes().await.map_err(|e| lean_failure(&e)),
            Self::Reqwest(response) => response.bytes().await.map_err(|e| reqwest_failure(&e)),
        }
    }
}

impl Sender {
    /// Checks the URLs and headers and builds the shared client.
    pub fn new(spec: &TrafficSpec, endpoints: Endpoints) -> Result<Self, TrafficError> {
        let chat_url = reqwest::Url::parse(&endpoints.chat_url()).map_err(|error| {
            TrafficError::InvalidUrl(format!("{}: {error}", endpoints.chat_url()))
        })?;
        if !matches!(chat_url.scheme(), "http" | "https") {
            return Err(TrafficError::InvalidUrl(format!(
                "{}: only http and https are supported",
                endpoints.chat_url()
            )));
        }
        let history_url = endpoints.conversation_url("c-0");
        reqwest::Url::parse(&history_url)
            .map_err(|error| TrafficError::InvalidUrl(format!("{history_url}: {error}")))?;
        let headers = crate::scenario::secret::header_map(&endpoints.headers)
            .map_err(TrafficError::InvalidHeader)?;
        let keep = [
            CONTENT_TYPE,
            HeaderName::from_static(PROVIDER_HEADER),
            HeaderName::from_static(DEGRADED_HEADER),
        ];
        let transport = match Http1Pool::for_url(&chat_url, spec.max_in_flight, &keep)? {
            Some(pool) => {
                let mut get_headers = HeaderMap::new();
                get_headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
                for (name, value) in &headers {
                    get_headers.append(name, value.clone());
                }
                let mut post_headers = get_headers.clone();
                post_headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                Transport::Lean(Box::new(LeanClient {
                    pool,
                    chat_path: origin_form(&chat_url),
                    post_headers,
                    get_headers,
                }))
            }
            None => Transport::Reqwest(reqwest_client(spec)?),
        };
        Ok(Self {
            transport,
            chat_url,
            endpoints,
            headers,
            seed: spec.seed,
            timeout: spec.timeout,
        })
    }

    /// Sends `arrival` (intended at `intended`) and reads the whole answer,
    /// within the request timeout from now. With `connections`, the request
    /// first waits for a connection slot (inside the timeout; the wait counts
    /// in its latency, which runs from the intended start).
    pub async fn execute(
        &self,
        arrival: &Arrival,
        intended: Instant,
        connections: Option<&Semaphore>,
    ) -> Completion {
        let work = async {
            let _slot = match connections {
                Some(connections) => connections.acquire().await.ok(),
                None => None,
            };
            self.exchange(arrival, intended).await
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(completion) => completion,
            Err(_) => Completion::failed(
                OutcomeClass::Timeout,
                format!(
                    "no complete answer within the request timeout ({} ms)",
                    self.timeout.as_millis()
                ),
            ),
        }
    }

    async fn exchange(&self, arrival: &Arrival, intended: Instant) -> Completion {
        let conversation = conversation_id(self.seed, arrival);
        let answer = match &self.transport {
            Transport::Lean(lean) => {
                let LeanClient {
                    pool,
                    chat_path,
                    post_headers,
                    get_headers,
                } = &**lean;
                let history_path;
                let (method, target, headers, body) = match arrival.operation {
                    Operation::Chat | Operation::ChatStream => (
                        "POST",
                        chat_path.as_str(),
                        post_headers,
                        chat_body(&conversation, arrival),
                    ),
                    Operation::History => {
                        let url = self.endpoints.conversation_url(&conversation);
                        history_path = reqwest::Url::parse(&url)
                            .map(|url| origin_form(&url))
                            .unwrap_or(url);
                        ("GET", history_path.as_str(), get_headers, String::new())
                    }
                };
                let request = http1::Outgoing {
                    method,
                    target,
                    headers,
                    body: body.as_bytes(),
                };
                send_lean(pool, request).await
            }
            // Boxed: reqwest's futures are large, and every request's task
            // would otherwise carry their size (lean targets never use it).
            Transport::Reqwest(client) => {
                Box::pin(self.send_reqwest(client, arrival, &conversation)).await
            }
        };
        let Answer {
            status,
            success,
            headers: response_headers,
            body,
        } = match answer {
            Ok(answer) => answer,
            Err(failed) => return failed,
        };
        let headers = header_report(&response_headers);
        let streamed = response_headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/event-stream"));
        let stream_requested = arrival.operation == Operation::ChatStream;
        if stream_requested && streamed && success {
            return Box::pin(read_stream(body, headers, intended)).await;
        }
        match body.bytes().await {
            Ok(body) => outcome::classify_json(status, headers, &body, stream_requested),
            Err(failed) => Completion {
                report: outcome::Report {
                    provider: headers.provider,
                    degraded: headers.degraded,
                    ..outcome::Report::default()
                },
                ..failed
            },
        }
    }

    /// Sends one request with reqwest.
    async fn send_reqwest(
        &self,
        client: &reqwest::Client,
        arrival: &Arrival,
        conversation: &str,
    ) -> Result<Answer<'static>, Completion> {
        let request = match arrival.operation {
            Operation::Chat | Operation::ChatStream => client
                .post(self.chat_url.clone())
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(chat_body(conversation, arrival)),
            Operation::History => client.get(self.endpoints.conversation_url(conversation)),
        };
        let request = if self.headers.is_empty() {
            request
        } else {
            request.headers(self.headers.clone())
        };
        let mut response = request.send().await.map_err(|e| reqwest_failure(&e))?;
        let headers = std::mem::take(response.headers_mut());
        Ok(Answer {
            status: response.status().as_u16(),
            success: response.status().is_success(),
            headers,
            body: AnswerBody::Reqwest(response),
        })
    }
}

/// Sends one request on the lean client.
async fn send_lean<'a>(
    pool: &'a Http1Pool,
    request: http1::Outgoing<'_>,
) -> Result<Answer<'a>, Completion> {
    let mut answer = pool.send(request).await.map_err(|e| lean_failure(&e))?;
    let status = answer.status;
    let headers = std::mem::take(&mut answer.headers);
    Ok(Answer {
        status: status.as_u16(),
        success: status.is_success(),
        headers,
        body: AnswerBody::Lean(answer),
    })
}

/// Reads a streamed answer's events to the end (boxed by the caller: the
/// stream state is large, and most requests are not streams).
async fn read_stream(
    mut body: AnswerBody<'_>,
    headers: HeaderReport,
    intended: Instant,
) -> Completion {
    let mut state = StreamState::new(headers);
    // The body ends, or breaks: without a `done` event either is a cut
    // stream, which `finish` classifies.
    while let Ok(Some(chunk)) = body.chunk().await {
        state.push(&chunk, intended.elapsed());
        if state.is_finished() {
            break;
        }
    }
    state.finish()
}

const USER_AGENT_VALUE: &str = concat!("gameday/", env!("CARGO_PKG_VERSION"));

/// The reqwest client for targets the lean client does not serve.
fn reqwest_client(spec: &TrafficSpec) -> Result<reqwest::Client, TrafficError> {
    reqwest::Client::builder()
        // Every request in flight may need its own connection; keep them
        // all for reuse instead of reconnecting under load.
        .pool_max_idle_per_host(spec.max_in_flight)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .connect_timeout(spec.timeout)
        // A redirect (say, to a login page) is an answer worth seeing as
        // an HTTP error, not something to follow.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(USER_AGENT_VALUE)
        .build()
        .map_err(|error| TrafficError::Client(error.to_string()))
}

/// A URL's path and query, as the request line of HTTP/1.1 carries them.
fn origin_form(url: &reqwest::Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

/// A request that got no complete answer from reqwest: its class, and
/// the error chain in words (without the URL, which may carry credentials).
fn reqwest_failure(error: &reqwest::Error) -> Completion {
    let class = if error.is_timeout() {
        OutcomeClass::Timeout
    } else {
        OutcomeClass::ConnectionError
    };
    let mut message = failures::describe_error(error);
    if let Some(url) = error.url() {
        message = message.replace(&format!(" for url ({url})"), "");
        message = message.replace(url.as_str(), "<url>");
    }
    Completion::failed(class, message)
}

/// A request that got no complete answer from the lean client.
fn lean_failure(error: &http1::Http1Error) -> Completion {
    Completion::failed(
        OutcomeClass::ConnectionError,
        failures::describe_error(error),
    )
}

fn header_report(headers: &HeaderMap) -> HeaderReport {
    let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    HeaderReport {
        provider: text(PROVIDER_HEADER)
            .filter(|value| !value.is_empty())
            .map(str::to_owned),
        degraded: text(DEGRADED_HEADER)
            .map(outcome::split_degraded)
            .unwrap_or_default(),
    }
}

/// The conversation of an arrival, e.g. `gd-7-42-0` (seed, slot, generation).
pub fn conversation_id(seed: u64, arrival: &Arrival) -> String {
    format!(
        "gd-{seed}-{}-{}",
        arrival.conversation.slot, arrival.conversation.generation
    )
}

/// The message of a turn: unique per conversation and turn, so every turn
/// is a cache miss.
pub fn message(conversation: &str, arrival: &Arrival) -> String {
    MessageText {
        conversation,
        arrival,
    }
    .to_string()
}

/// The JSON body of a chat turn, in one allocation. Every piece is
/// generated here from digits, letters and punctuation that need no JSON
/// escaping.
fn chat_body(conversation: &str, arrival: &Arrival) -> String {
    use std::fmt::Write;
    let stream = arrival.operation == Operation::ChatStream;
    let mut body = String::with_capacity(128 + 2 * conversation.len());
    let _ = write!(body, r#"{{"conversation_id":"{conversation}","message":""#);
    let _ = write!(
        body,
        "{}",
        MessageText {
            conversation,
            arrival
        }
    );
    let _ = write!(body, r#"","stream":{stream}}}"#);
    body
}

/// The text of [`message`], written without an intermediate string.
struct MessageText<'a> {
    conversation: &'a str,
    arrival: &'a Arrival,
}

impl std::fmt::Display for MessageText<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "Turn {} of {}: what should I check next in the plan?",
            self.arrival.turn, self.conversation
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::schedule::Conversation;

    fn arrival(operation: Operation, turn: u32) -> Arrival {
        Arrival {
            index: 3,
            offset: Duration::ZERO,
            operation,
            conversation: Conversation {
                slot: 42,
                generation: 1,
            },
            turn,
        }
    }

    #[test]
    fn chat_bodies_are_valid_json_with_unique_messages() {
        let first = arrival(Operation::Chat, 1);
        let id = conversation_id(7, &first);
        assert_eq!(id, "gd-7-42-1");
        let body: serde_json::Value =
            serde_json::from_str(&chat_body(&id, &first)).expect("valid JSON");
        assert_eq!(body["conversation_id"], "gd-7-42-1");
        assert_eq!(body["stream"], false);
        let streamed = arrival(Operation::ChatStream, 2);
        let second: serde_json::Value =
            serde_json::from_str(&chat_body(&id, &streamed)).expect("valid JSON");
        assert_eq!(second["stream"], true);
        assert_ne!(body["message"], second["message"]);
        assert_eq!(
            body["message"].as_str(),
            Some(message(&id, &first).as_str())
        );
    }

    #[test]
    fn bad_urls_and_headers_are_refused_without_echoing_values() {
        let spec = crate::traffic::test_spec();
        let error = Sender::new(&spec, Endpoints::platform("not a url")).expect_err("bad url");
        assert!(matches!(error, TrafficError::InvalidUrl(_)));
        let error = Sender::new(&spec, Endpoints::platform("ftp://host")).expect_err("scheme");
        assert!(matches!(error, TrafficError::InvalidUrl(_)));
        let mut endpoints = Endpoints::platform("http://127.0.0.1:1");
        endpoints.headers = vec![(
            "authorization".to_owned(),
            crate::scenario::Secret::new("Bearer x\nsecret"),
        )];
        let error = Sender::new(&spec, endpoints).expect_err("bad header value");
        assert!(!error.to_string().contains("secret"));
        assert!(error.to_string().contains("authorization"));
    }

    #[test]
    fn headers_are_read_into_a_report() {
        let mut headers = HeaderMap::new();
        headers.insert(PROVIDER_HEADER, HeaderValue::from_static("fallback"));
        headers.insert(
            DEGRADED_HEADER,
            HeaderValue::from_static("caching,streaming"),
        );
        let report = header_report(&headers);
        assert_eq!(report.provider.as_deref(), Some("fallback"));
        assert_eq!(report.degraded, ["caching", "streaming"]);
        assert_eq!(header_report(&HeaderMap::new()), HeaderReport::default());
    }
}
