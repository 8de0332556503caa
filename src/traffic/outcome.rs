//! What one request came to: its [`OutcomeClass`] and what the target
//! reported (provider, degraded capabilities, tokens, time to first token),
//! and the pure rules that classify a status, a body or a transport error.
//! No I/O: the request module feeds these rules what it saw.

use std::time::Duration;

use serde::Deserialize;

use crate::results::{OutcomeCounts, Tokens};

/// The outcome classes of the results (see [`OutcomeCounts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeClass {
    /// 2xx, nothing degraded.
    Ok,
    /// 2xx with a non-empty degraded list (or a stream answered as JSON).
    DegradedOk,
    /// A non-2xx status.
    HttpError,
    /// No complete answer within the request timeout.
    Timeout,
    /// Refused, reset, a broken body or stream, or an SSE `error` event.
    ConnectionError,
}

impl OutcomeClass {
    /// Whether it counts against the error budget.
    pub fn is_error(self) -> bool {
        matches!(
            self,
            OutcomeClass::HttpError | OutcomeClass::Timeout | OutcomeClass::ConnectionError
        )
    }

    /// Adds one to the matching counter.
    pub fn count_into(self, counts: &mut OutcomeCounts) {
        let counter = match self {
            OutcomeClass::Ok => &mut counts.ok,
            OutcomeClass::DegradedOk => &mut counts.degraded_ok,
            OutcomeClass::HttpError => &mut counts.http_error,
            OutcomeClass::Timeout => &mut counts.timeout,
            OutcomeClass::ConnectionError => &mut counts.connection_error,
        };
        *counter += 1;
    }

    /// The class of a complete answer with this status and degraded list.
    pub fn of_answer(status: u16, degraded: &[String]) -> Self {
        if !(200..300).contains(&status) {
            OutcomeClass::HttpError
        } else if degraded.is_empty() {
            OutcomeClass::Ok
        } else {
            OutcomeClass::DegradedOk
        }
    }
}

/// Everything recorded about one finished request (latency is kept by the
/// caller, which knows the intended start).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// Who served the turn (`x-llm-provider`, the body or the stream's `meta`).
    pub provider: Option<String>,
    /// Capabilities the request had to do without.
    pub degraded: Vec<String>,
    /// Token usage, when reported.
    pub tokens: Option<Tokens>,
    /// Time to the first `delta` of a stream, from the intended start.
    pub ttft: Option<Duration>,
}

/// What is known of a failed request, for the phase's list of distinct
/// failures (boxed in [`Completion`]: most requests do not fail).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Failure {
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// `error.code` of the error body or of a stream's `error` event.
    pub code: Option<String>,
    /// `error.message`, or what the transport said.
    pub message: String,
}

impl Failure {
    /// A failure known only by what went wrong.
    pub fn message(message: impl Into<String>) -> Box<Self> {
        Box::new(Self {
            message: message.into(),
            ..Self::default()
        })
    }
}

/// The outcome of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// Its class.
    pub class: OutcomeClass,
    /// What the target said.
    pub report: Report,
    /// Why it failed, for an error class.
    pub failure: Option<Box<Failure>>,
}

impl Completion {
    /// A completion with nothing reported.
    pub fn bare(class: OutcomeClass) -> Self {
        Self {
            class,
            report: Report::default(),
            failure: None,
        }
    }

    /// A request that got no (complete) answer, and why.
    pub fn failed(class: OutcomeClass, message: impl Into<String>) -> Self {
        Self {
            class,
            report: Report::default(),
            failure: Some(Failure::message(message)),
        }
    }

    /// Whether the target answered 404.
    pub fn is_not_found(&self) -> bool {
        self.failure
            .as_ref()
            .is_some_and(|failure| failure.status == Some(404))
    }
}

/// The contract's error body, `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: Option<ErrorFields>,
}

/// The fields of an error body (also the data of a stream's `error` event).
#[derive(Debug, Default, Deserialize)]
pub struct ErrorFields {
    /// Machine-readable code.
    #[serde(default)]
    pub code: Option<String>,
    /// Human-readable message.
    #[serde(default)]
    pub message: Option<String>,
}

/// The failure of a non-2xx answer: its status, and the code and message
/// of its body when it is the contract's error body (else the start of the
/// body as text).
pub fn http_failure(status: u16, body: &[u8]) -> Box<Failure> {
    let fields = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|body| body.error)
        .unwrap_or_default();
    let message = fields.message.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
        let text = text.trim();
        if text.is_empty() {
            "(empty body)".to_owned()
        } else {
            text.to_owned()
        }
    });
    Box::new(Failure {
        status: Some(status),
        code: fields.code.filter(|code| !code.is_empty()),
        message,
    })
}

/// The fields gameday reads from a JSON answer (chat or history); the rest
/// (the reply text, the turns) is skipped without being stored.
#[derive(Debug, Default, Deserialize)]
pub struct AnswerBody {
    /// The chat answer's provider.
    #[serde(default)]
    pub provider: Option<String>,
    /// Degraded capabilities.
    #[serde(default)]
    pub degraded: Option<Vec<String>>,
    /// Token usage.
    #[serde(default)]
    pub usage: Option<Usage>,
}

/// `usage` of a chat answer or a stream's `done` event.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    #[serde(default)]
    pub input_tokens: u64,
    /// Completion tokens.
    #[serde(default)]
    pub output_tokens: u64,
}

impl From<Usage> for Tokens {
    fn from(usage: Usage) -> Self {
        Tokens {
            input: usage.input_tokens,
            output: usage.output_tokens,
        }
    }
}

/// What the response headers said.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeaderReport {
    /// `x-llm-provider`, when present and not empty.
    pub provider: Option<String>,
    /// `x-degraded-capabilities`, split on commas.
    pub degraded: Vec<String>,
}

/// Splits a `x-degraded-capabilities` value (`"caching, real_time_usage"`).
pub fn split_degraded(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Classifies a complete, non-streamed answer. The body wins over the
/// headers where both say something; a 2xx body that is not the expected
/// JSON still counts by its status and headers (an external platform may
/// answer history in its own shape).
pub fn classify_json(
    status: u16,
    headers: HeaderReport,
    body: &[u8],
    stream_requested: bool,
) -> Completion {
    let parsed: AnswerBody = serde_json::from_slice(body).unwrap_or_default();
    let provider = parsed
        .provider
        .filter(|p| !p.is_empty())
        .or(headers.provider);
    let mut degraded = parsed.degraded.unwrap_or(headers.degraded);
    let mut class = OutcomeClass::of_answer(status, &degraded);
    let failure = (class == OutcomeClass::HttpError).then(|| http_failure(status, body));
    if stream_requested && class == OutcomeClass::Ok {
        // The platform answers a stream as JSON when streaming is off: that
        // is a degraded answer even if the body forgot to say so.
        class = OutcomeClass::DegradedOk;
        degraded.push("streaming".to_owned());
    }
    Completion {
        class,
        report: Report {
            provider,
            degraded,
            tokens: parsed.usage.map(Tokens::from),
            ttft: None,
        },
        failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(provider: Option<&str>, degraded: &str) -> HeaderReport {
        HeaderReport {
            provider: provider.map(str::to_owned),
            degraded: split_degraded(degraded),
        }
    }

    #[test]
    fn status_and_degraded_list_decide_the_class() {
        let none: Vec<String> = Vec::new();
        let some = vec!["caching".to_owned()];
        assert_eq!(OutcomeClass::of_answer(200, &none), OutcomeClass::Ok);
        assert_eq!(
            OutcomeClass::of_answer(204, &some),
            OutcomeClass::DegradedOk
        );
        assert_eq!(OutcomeClass::of_answer(503, &none), OutcomeClass::HttpError);
        assert_eq!(OutcomeClass::of_answer(404, &some), OutcomeClass::HttpError);
        assert_eq!(OutcomeClass::of_answer(302, &none), OutcomeClass::HttpError);
    }

    #[test]
    fn only_failures_are_errors() {
        assert!(!OutcomeClass::Ok.is_error());
        assert!(!OutcomeClass::DegradedOk.is_error());
        assert!(OutcomeClass::HttpError.is_error());
        assert!(OutcomeClass::Timeout.is_error());
        assert!(OutcomeClass::ConnectionError.is_error());
        let mut counts = OutcomeCounts::default();
        for class in [
            OutcomeClass::Ok,
            OutcomeClass::Timeout,
            OutcomeClass::Timeout,
        ] {
            class.count_into(&mut counts);
        }
        assert_eq!((counts.ok, counts.timeout, counts.errors()), (1, 2, 2));
    }

    #[test]
    fn a_chat_answer_reports_provider_degraded_and_tokens() {
        let body = br#"{"conversation_id":"c","reply":"hi","provider":"fallback","model":"m",
            "usage":{"input_tokens":31,"output_tokens":20},"cached":false,
            "degraded":["caching","real_time_usage"],"history":"postgres"}"#;
        let completion = classify_json(200, headers(Some("primary"), ""), body, false);
        assert_eq!(completion.class, OutcomeClass::DegradedOk);
        assert_eq!(completion.report.provider.as_deref(), Some("fallback"));
        assert_eq!(completion.report.degraded, ["caching", "real_time_usage"]);
        assert_eq!(
            completion.report.tokens,
            Some(Tokens {
                input: 31,
                output: 20
            })
        );
    }

    #[test]
    fn headers_fill_in_when_the_body_is_not_the_contract_shape() {
        let completion = classify_json(200, headers(Some("primary"), "caching"), b"<html>", false);
        assert_eq!(completion.class, OutcomeClass::DegradedOk);
        assert_eq!(completion.report.provider.as_deref(), Some("primary"));
        let completion = classify_json(200, headers(None, ""), b"[1,2]", false);
        assert_eq!(completion.class, OutcomeClass::Ok);
    }

    #[test]
    fn an_error_body_is_an_http_error_with_its_provider_header() {
        let body = br#"{"error":{"code":"llm_unavailable","message":"all down"}}"#;
        let completion = classify_json(503, headers(Some("primary"), ""), body, false);
        assert_eq!(completion.class, OutcomeClass::HttpError);
        assert_eq!(completion.report.provider.as_deref(), Some("primary"));
        assert!(!completion.is_not_found());
        let failure = completion.failure.expect("a failure");
        assert_eq!(failure.status, Some(503));
        assert_eq!(failure.code.as_deref(), Some("llm_unavailable"));
        assert_eq!(failure.message, "all down");
    }

    #[test]
    fn an_error_that_is_not_the_contract_body_keeps_its_text() {
        let completion = classify_json(404, HeaderReport::default(), b"  no such thing\n", false);
        assert!(completion.is_not_found());
        let failure = completion.failure.expect("a failure");
        assert_eq!(
            (failure.code, failure.message.as_str()),
            (None, "no such thing")
        );
        let empty = classify_json(502, HeaderReport::default(), b"", false);
        assert_eq!(empty.failure.expect("a failure").message, "(empty body)");
        let ok = classify_json(200, HeaderReport::default(), b"{}", false);
        assert_eq!(ok.failure, None);
    }

    #[test]
    fn a_stream_answered_as_json_is_degraded() {
        let body = br#"{"provider":"primary","degraded":["streaming"]}"#;
        let completion = classify_json(200, HeaderReport::default(), body, true);
        assert_eq!(completion.class, OutcomeClass::DegradedOk);
        assert_eq!(completion.report.ttft, None);
        let completion = classify_json(200, HeaderReport::default(), b"{}", true);
        assert_eq!(completion.class, OutcomeClass::DegradedOk);
        assert_eq!(completion.report.degraded, ["streaming"]);
    }

    #[test]
    fn degraded_header_values_are_split_and_trimmed() {
        assert_eq!(split_degraded(""), Vec::<String>::new());
        assert_eq!(
            split_degraded("caching, real_time_usage,"),
            ["caching", "real_time_usage"]
        );
    }
}
