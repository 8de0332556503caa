//! What a failover call reports: which providers did not serve and why,
//! the error when none could, and the answer when one did.
//!
//! Plain data with `Display` and `Serialize`, so the HTTP service can put it
//! in responses, headers and logs. No I/O, no clock reads.

use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::provider::{ProviderError, describe_status};

/// Why one provider did not serve a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailureReason {
    /// Skipped: its breaker is open.
    BreakerOpen,
    /// Skipped: its breaker is half-open and its trial slots are taken.
    BreakerHalfOpenBusy,
    /// Skipped: it asked us to come back later with `Retry-After`.
    RetryAfter {
        /// When it may be called again (on the failover clock).
        until: Instant,
        /// How long that was from the moment it was skipped.
        remaining: Duration,
    },
    /// It answered with a status another provider could do better than.
    Status {
        /// HTTP status code (error events inside streams are mapped to one).
        code: u16,
        /// The provider's message or the status's reason phrase.
        message: String,
    },
    /// It did not answer within `attempt_timeout`.
    Timeout,
    /// It could not be reached.
    Connect(String),
    /// Its answer had an unexpected shape.
    Malformed(String),
    /// The call's overall deadline ran out before or during this attempt.
    Deadline,
}

impl FailureReason {
    /// A stable machine-readable name of the variant.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::BreakerOpen => "breaker_open",
            Self::BreakerHalfOpenBusy => "breaker_half_open_busy",
            Self::RetryAfter { .. } => "retry_after",
            Self::Status { .. } => "status",
            Self::Timeout => "timeout",
            Self::Connect(_) => "connect",
            Self::Malformed(_) => "malformed",
            Self::Deadline => "deadline",
        }
    }

    /// Whether the provider was skipped without being called.
    pub fn was_skipped(&self) -> bool {
        matches!(
            self,
            Self::BreakerOpen
                | Self::BreakerHalfOpenBusy
                | Self::RetryAfter { .. }
                | Self::Deadline
        )
    }
}

impl std::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BreakerOpen => f.write_str("breaker open"),
            Self::BreakerHalfOpenBusy => f.write_str("breaker half-open, trial call in flight"),
            Self::RetryAfter { remaining, .. } => write!(
                f,
                "honouring Retry-After ({:.1}s left)",
                remaining.as_secs_f64()
            ),
            Self::Status { code, message } => f.write_str(&describe_status(*code, message)),
            Self::Timeout => f.write_str("timed out"),
            Self::Connect(detail) => write!(f, "connection error: {detail}"),
            Self::Malformed(detail) => write!(f, "malformed response: {detail}"),
            Self::Deadline => f.write_str("overall deadline reached"),
        }
    }
}

/// Serialized as `{"kind": "...", "message": "<Display>"}`.
impl Serialize for FailureReason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut reason = serializer.serialize_struct("FailureReason", 2)?;
        reason.serialize_field("kind", self.kind())?;
        reason.serialize_field("message", &self.to_string())?;
        reason.end()
    }
}

impl From<&ProviderError> for FailureReason {
    fn from(error: &ProviderError) -> Self {
        match error {
            ProviderError::Status { code, message, .. } => Self::Status {
                code: *code,
                message: message.clone(),
            },
            ProviderError::Connect(detail) => Self::Connect(detail.clone()),
            ProviderError::Timeout => Self::Timeout,
            ProviderError::Malformed(detail) => Self::Malformed(detail.clone()),
        }
    }
}

/// One provider that did not serve a request, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AttemptFailure {
    /// The provider's configured name.
    pub provider: String,
    /// Why it did not serve.
    pub reason: FailureReason,
}

impl std::fmt::Display for AttemptFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.provider, self.reason)
    }
}

/// Why a `complete` or `stream` call failed as a whole.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FailoverError {
    /// No provider could serve the request; one entry per provider, in order.
    #[error("all LLM providers failed: {}", list_attempts(attempts))]
    AllFailed {
        /// What happened at each provider.
        attempts: Vec<AttemptFailure>,
    },
    /// A provider refused the request itself (400, 401, 403, 404, 422, ...);
    /// no other provider was tried.
    #[error("LLM provider {provider} rejected the request: {}", describe_status(*status, message))]
    Rejected {
        /// The provider that refused.
        provider: String,
        /// Its HTTP status.
        status: u16,
        /// Its error message, or the status's reason phrase.
        message: String,
    },
}

fn list_attempts(attempts: &[AttemptFailure]) -> String {
    if attempts.is_empty() {
        return "no providers configured".into();
    }
    let listed: Vec<String> = attempts.iter().map(ToString::to_string).collect();
    listed.join("; ")
}

/// A complete answer and who gave it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Completion {
    /// The provider that served the request.
    pub provider: String,
    /// The model that answered, as that provider reported it.
    pub model: String,
    /// The generated text.
    pub text: String,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
    /// Providers skipped or failed before the one that served, in order.
    pub attempts: Vec<AttemptFailure>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_failed_lists_every_provider_and_reason() {
        let error = FailoverError::AllFailed {
            attempts: vec![
                AttemptFailure {
                    provider: "primary".into(),
                    reason: FailureReason::BreakerOpen,
                },
                AttemptFailure {
                    provider: "fallback".into(),
                    reason: FailureReason::Status {
                        code: 503,
                        message: "Service Unavailable".into(),
                    },
                },
            ],
        };
        assert_eq!(
            error.to_string(),
            "all LLM providers failed: primary: breaker open; fallback: 503 Service Unavailable"
        );
    }

    #[test]
    fn failure_reasons_serialize_with_a_kind() {
        let json = serde_json::to_value(AttemptFailure {
            provider: "p".into(),
            reason: FailureReason::Timeout,
        })
        .expect("serialize");
        assert_eq!(json["reason"]["kind"], "timeout");
        assert_eq!(json["reason"]["message"], "timed out");
    }
}
