//! What can go wrong with one request, independent of the wire format.
//!
//! A [`Failure`] carries the HTTP status and the facts a provider-shaped error
//! body needs; the `openai` and `anthropic` modules turn it into their own
//! JSON. Keeping the list here means both formats fail in the same situations.

use axum::http::StatusCode;

use super::mode::ErrorStatus;

/// The largest request body the provider routes accept (1 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

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
    /// The request body was larger than [`MAX_BODY_BYTES`].
    TooLarge,
    /// The simulator is shutting down while the request was waiting.
    ShuttingDown,
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
            Failure::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Failure::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
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
            Failure::TooLarge => {
                format!("Request body is larger than the limit of {MAX_BODY_BYTES} bytes.")
            }
            Failure::ShuttingDown => "The simulator is shutting down.".to_owned(),
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
            (Failure::TooLarge, 413),
            (Failure::ShuttingDown, 503),
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
}
