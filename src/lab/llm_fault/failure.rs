//! What can go wrong with one provider request, and the provider-shaped error
//! body each failure gets.
//!
//! A [`Failure`] carries the HTTP status and the facts an error body needs;
//! [`ErrorShape`] writes it the way OpenAI or Anthropic would. The simulator
//! and the gateway both answer with these, so a client sees the same errors
//! from either, and both formats fail in the same situations.

use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::{Value, json};

use super::mode::ErrorStatus;

/// One way a provider request fails.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The `errors` mode: a 500, 502 or 503.
    Server(ErrorStatus),
    /// The `rate_limit` mode: 429 with `Retry-After`.
    RateLimited {
        /// Seconds the client is told to wait.
        retry_after_s: u64,
    },
    /// The `overloaded` mode: 529, Anthropic's "overloaded" status.
    Overloaded,
    /// The request body was not a valid request (the message says why).
    BadRequest(String),
    /// The request body was larger than `limit` bytes.
    TooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The server is shutting down while the request was waiting.
    ShuttingDown,
    /// The gateway could not get an answer from its upstream (the message
    /// says why; never a request body or a key).
    UpstreamFailed(String),
    /// The gateway's upstream did not answer within its timeout.
    UpstreamTimeout,
}

impl Failure {
    /// The HTTP status of the error response.
    pub fn status(&self) -> StatusCode {
        match self {
            Failure::Server(status) => {
                StatusCode::from_u16(status.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Failure::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            // 529 is not in the IANA registry but is a valid status code.
            Failure::Overloaded => {
                StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
            }
            Failure::BadRequest(_) => StatusCode::BAD_REQUEST,
            Failure::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Failure::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            Failure::UpstreamFailed(_) => StatusCode::BAD_GATEWAY,
            Failure::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// A human-readable message for the error body.
    pub fn message(&self) -> String {
        match self {
            Failure::Server(ErrorStatus::InternalServerError) => {
                "The server had an error while processing your request (simulated).".to_owned()
            }
            Failure::Server(ErrorStatus::BadGateway) => {
                "Bad gateway: the upstream model server did not answer (simulated).".to_owned()
            }
            Failure::Server(ErrorStatus::ServiceUnavailable) => {
                "The service is temporarily unavailable (simulated).".to_owned()
            }
            Failure::RateLimited { retry_after_s } => format!(
                "Rate limit reached for requests; please try again in {retry_after_s}s (simulated)."
            ),
            Failure::Overloaded => "Overloaded (simulated).".to_owned(),
            Failure::BadRequest(reason) => reason.clone(),
            Failure::TooLarge { limit } => {
                format!("Request body is larger than the limit of {limit} bytes.")
            }
            Failure::ShuttingDown => "The server is shutting down.".to_owned(),
            Failure::UpstreamFailed(reason) => {
                format!("The gateway could not reach its upstream: {reason}")
            }
            Failure::UpstreamTimeout => "The gateway's upstream did not answer in time.".to_owned(),
        }
    }

    /// The `Retry-After` header value, for failures that carry one.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Failure::RateLimited { retry_after_s } => Some(*retry_after_s),
            _ => None,
        }
    }
}

/// Which provider's error JSON a failure is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorShape {
    /// `{"error": {"message", "type", "param": null, "code"}}`.
    OpenAi,
    /// `{"type": "error", "error": {"type", "message"}}`.
    Anthropic,
}

impl ErrorShape {
    /// The shape a provider uses on `path`: Anthropic's for the Messages API
    /// (`/v1/messages` and below it, also behind a path prefix), OpenAI's for
    /// everything else (chat completions, embeddings, responses, and the
    /// OpenAI-compatible servers).
    pub fn for_path(path: &str) -> ErrorShape {
        let anthropic = path.ends_with("/v1/messages") || path.contains("/v1/messages/");
        if anthropic {
            ErrorShape::Anthropic
        } else {
            ErrorShape::OpenAi
        }
    }

    /// The error JSON for `failure`.
    pub fn body(self, failure: &Failure) -> Value {
        match self {
            ErrorShape::OpenAi => openai_error(failure),
            ErrorShape::Anthropic => anthropic_error(failure),
        }
    }

    /// A streamed event whose data is not valid JSON, in the provider's
    /// style: what the `malformed` mode puts into a stream.
    pub fn garbage_event(self) -> Bytes {
        match self {
            ErrorShape::OpenAi => Bytes::from_static(
                b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\": <garbage>\n\n",
            ),
            ErrorShape::Anthropic => Bytes::from_static(
                b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\": <garbage>\n\n",
            ),
        }
    }
}

fn openai_error(failure: &Failure) -> Value {
    let (kind, code) = match failure {
        Failure::Server(_) => ("server_error", Value::Null),
        Failure::RateLimited { .. } => ("requests", json!("rate_limit_exceeded")),
        Failure::Overloaded => ("server_error", json!("overloaded")),
        Failure::BadRequest(_) => ("invalid_request_error", Value::Null),
        Failure::TooLarge { .. } => ("invalid_request_error", json!("request_too_large")),
        Failure::ShuttingDown => ("server_error", json!("shutting_down")),
        Failure::UpstreamFailed(_) => ("server_error", json!("bad_gateway")),
        Failure::UpstreamTimeout => ("server_error", json!("gateway_timeout")),
    };
    json!({
        "error": {
            "message": failure.message(),
            "type": kind,
            "param": null,
            "code": code,
        }
    })
}

fn anthropic_error(failure: &Failure) -> Value {
    let kind = match failure {
        Failure::Server(_)
        | Failure::ShuttingDown
        | Failure::UpstreamFailed(_)
        | Failure::UpstreamTimeout => "api_error",
        Failure::RateLimited { .. } => "rate_limit_error",
        Failure::Overloaded => "overloaded_error",
        Failure::BadRequest(_) => "invalid_request_error",
        Failure::TooLarge { .. } => "request_too_large",
    };
    json!({
        "type": "error",
        "error": {"type": kind, "message": failure.message()},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_match_the_failure() {
        let cases = [
            (Failure::Server(ErrorStatus::InternalServerError), 500),
            (Failure::Server(ErrorStatus::BadGateway), 502),
            (Failure::Server(ErrorStatus::ServiceUnavailable), 503),
            (Failure::RateLimited { retry_after_s: 2 }, 429),
            (Failure::Overloaded, 529),
            (Failure::BadRequest("x".into()), 400),
            (Failure::TooLarge { limit: 1 }, 413),
            (Failure::ShuttingDown, 503),
            (Failure::UpstreamFailed("refused".into()), 502),
            (Failure::UpstreamTimeout, 504),
        ];
        for (failure, status) in cases {
            assert_eq!(failure.status().as_u16(), status, "{failure:?}");
        }
    }

    #[test]
    fn only_rate_limits_carry_retry_after() {
        assert_eq!(
            Failure::RateLimited { retry_after_s: 9 }.retry_after(),
            Some(9)
        );
        assert_eq!(Failure::Overloaded.retry_after(), None);
    }

    #[test]
    fn the_route_picks_the_shape() {
        assert_eq!(ErrorShape::for_path("/v1/messages"), ErrorShape::Anthropic);
        assert_eq!(
            ErrorShape::for_path("/anthropic/v1/messages"),
            ErrorShape::Anthropic
        );
        assert_eq!(
            ErrorShape::for_path("/v1/messages/count_tokens"),
            ErrorShape::Anthropic
        );
        assert_eq!(
            ErrorShape::for_path("/v1/chat/completions"),
            ErrorShape::OpenAi
        );
        assert_eq!(ErrorShape::for_path("/v1/embeddings"), ErrorShape::OpenAi);
    }

    #[test]
    fn both_shapes_carry_the_provider_types() {
        let openai = ErrorShape::OpenAi.body(&Failure::RateLimited { retry_after_s: 3 });
        assert_eq!(openai["error"]["type"], "requests");
        assert_eq!(openai["error"]["code"], "rate_limit_exceeded");
        assert!(openai["error"]["param"].is_null());
        let anthropic = ErrorShape::Anthropic.body(&Failure::Overloaded);
        assert_eq!(anthropic["type"], "error");
        assert_eq!(anthropic["error"]["type"], "overloaded_error");
        assert!(anthropic["error"]["message"].is_string());
    }
}
