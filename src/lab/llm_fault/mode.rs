//! The failure modes of the simulator and the gateway, and their validation.
//!
//! A [`Mode`] is what a game day switches at runtime (`PUT /admin/mode`) or
//! sets at start (`--mode`). Every value that can be out of range has its own
//! validated type ([`Rate`], [`ErrorStatus`], [`TokensPerSecond`]), so an
//! invalid mode cannot be built in code or deserialized from JSON. This module
//! only describes modes; deciding what a request gets is `outcome`'s job.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One failure mode; exactly one is active at a time.
///
/// JSON form: `{"mode": "errors", "rate": 0.5, "status": 503}`. Fields with a
/// default may be left out: `rate` 1, `status` 503, `retry_after_s` 1, every
/// `*_ms` delay other than `latency_ms` 0 (see `docs/llm-sim.md`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
#[serde(from = "ModeSpec")]
pub enum Mode {
    /// Answer every request promptly.
    #[default]
    Healthy,
    /// Wait `latency_ms` plus a uniform extra in `[0, jitter_ms]` before answering.
    Latency { latency_ms: u64, jitter_ms: u64 },
    /// Fail a fraction `rate` of requests with `status` (500, 502 or 503) and a
    /// provider-shaped error body.
    Errors { rate: Rate, status: ErrorStatus },
    /// Answer a fraction `rate` of requests with 429 and `Retry-After: retry_after_s`.
    RateLimit { rate: Rate, retry_after_s: u64 },
    /// Answer a fraction `rate` of requests with 529 `overloaded_error`.
    Overloaded { rate: Rate },
    /// Read the request and never answer (until the simulator shuts down).
    Hang,
    /// Pace streamed tokens; non-streaming requests wait the same total time.
    SlowStream {
        tokens_per_s: TokensPerSecond,
        first_token_delay_ms: u64,
        stall_after_first_ms: u64,
    },
    /// Abort the connection after `after_tokens` streamed tokens (no end
    /// marker); non-streaming responses are cut halfway through the body.
    CutStream { after_tokens: usize },
    /// Answer 200 with a body that is not valid JSON (streams: a garbage data line).
    Malformed,
}

/// The JSON form of [`Mode`], used only to deserialize it. Serde ignores extra
/// fields on unit variants of internally tagged enums (`{"mode": "hang",
/// "rate": 1}` would be accepted), so the field-less modes are empty structs
/// here, where `deny_unknown_fields` does apply.
#[derive(Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
enum ModeSpec {
    Healthy {},
    Latency {
        latency_ms: u64,
        #[serde(default)]
        jitter_ms: u64,
    },
    Errors {
        #[serde(default)]
        rate: Rate,
        #[serde(default)]
        status: ErrorStatus,
    },
    RateLimit {
        #[serde(default)]
        rate: Rate,
        #[serde(default = "default_retry_after_s")]
        retry_after_s: u64,
    },
    Overloaded {
        #[serde(default)]
        rate: Rate,
    },
    Hang {},
    SlowStream {
        tokens_per_s: TokensPerSecond,
        #[serde(default)]
        first_token_delay_ms: u64,
        #[serde(default)]
        stall_after_first_ms: u64,
    },
    CutStream {
        after_tokens: usize,
    },
    Malformed {},
}

impl From<ModeSpec> for Mode {
    fn from(spec: ModeSpec) -> Mode {
        match spec {
            ModeSpec::Healthy {} => Mode::Healthy,
            ModeSpec::Latency {
                latency_ms,
                jitter_ms,
            } => Mode::Latency {
                latency_ms,
                jitter_ms,
            },
            ModeSpec::Errors { rate, status } => Mode::Errors { rate, status },
            ModeSpec::RateLimit {
                rate,
                retry_after_s,
            } => Mode::RateLimit {
                rate,
                retry_after_s,
            },
            ModeSpec::Overloaded { rate } => Mode::Overloaded { rate },
            ModeSpec::Hang {} => Mode::Hang,
            ModeSpec::SlowStream {
                tokens_per_s,
                first_token_delay_ms,
                stall_after_first_ms,
            } => Mode::SlowStream {
                tokens_per_s,
                first_token_delay_ms,
                stall_after_first_ms,
            },
            ModeSpec::CutStream { after_tokens } => Mode::CutStream { after_tokens },
            ModeSpec::Malformed {} => Mode::Malformed,
        }
    }
}

fn default_retry_after_s() -> u64 {
    1
}

impl Mode {
    /// Parses a mode from its JSON form, or from a bare mode name such as
    /// `hang` (shorthand for `{"mode": "hang"}`, using every field's default).
    pub fn parse(text: &str) -> Result<Mode, ModeError> {
        let trimmed = text.trim();
        if trimmed.starts_with('{') {
            serde_json::from_str(trimmed).map_err(|error| ModeError::Json(error.to_string()))
        } else {
            let json = serde_json::json!({ "mode": trimmed });
            serde_json::from_value(json).map_err(|error| ModeError::Json(error.to_string()))
        }
    }

    /// The mode's name as it appears in the `mode` field.
    pub fn name(&self) -> &'static str {
        match self {
            Mode::Healthy => "healthy",
            Mode::Latency { .. } => "latency",
            Mode::Errors { .. } => "errors",
            Mode::RateLimit { .. } => "rate_limit",
            Mode::Overloaded { .. } => "overloaded",
            Mode::Hang => "hang",
            Mode::SlowStream { .. } => "slow_stream",
            Mode::CutStream { .. } => "cut_stream",
            Mode::Malformed => "malformed",
        }
    }
}

impl FromStr for Mode {
    type Err = ModeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Mode::parse(text)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_json::to_string(self) {
            Ok(json) => f.write_str(&json),
            Err(_) => f.write_str(self.name()),
        }
    }
}

/// Why a mode was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModeError {
    /// A probability outside `[0, 1]` (or not a number).
    #[error("rate must be a probability between 0 and 1, got {0}")]
    RateOutOfRange(f64),
    /// An error status the `errors` mode does not simulate.
    #[error("status must be one of 500, 502, 503, got {0}")]
    UnsupportedStatus(u16),
    /// A token rate that is not a positive, finite number.
    #[error("tokens_per_s must be a positive number, got {0}")]
    BadTokenRate(f64),
    /// The JSON did not describe a valid mode (the message says where and why).
    #[error("invalid mode: {0}")]
    Json(String),
}

/// A per-request probability in `[0, 1]`. Defaults to 1 (every request).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Rate(f64);

impl Rate {
    /// Every request.
    pub const ALWAYS: Rate = Rate(1.0);
    /// No request.
    pub const NEVER: Rate = Rate(0.0);

    /// A validated probability.
    pub fn new(probability: f64) -> Result<Rate, ModeError> {
        if (0.0..=1.0).contains(&probability) {
            Ok(Rate(probability))
        } else {
            Err(ModeError::RateOutOfRange(probability))
        }
    }

    /// The probability.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl Default for Rate {
    fn default() -> Self {
        Rate::ALWAYS
    }
}

impl TryFrom<f64> for Rate {
    type Error = ModeError;

    fn try_from(probability: f64) -> Result<Self, Self::Error> {
        Rate::new(probability)
    }
}

impl From<Rate> for f64 {
    fn from(rate: Rate) -> f64 {
        rate.0
    }
}

/// The server-error statuses the `errors` mode returns. Defaults to 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub enum ErrorStatus {
    /// 500 Internal Server Error.
    InternalServerError,
    /// 502 Bad Gateway.
    BadGateway,
    /// 503 Service Unavailable.
    #[default]
    ServiceUnavailable,
}

impl ErrorStatus {
    /// The numeric HTTP status.
    pub fn code(self) -> u16 {
        match self {
            ErrorStatus::InternalServerError => 500,
            ErrorStatus::BadGateway => 502,
            ErrorStatus::ServiceUnavailable => 503,
        }
    }
}

impl TryFrom<u16> for ErrorStatus {
    type Error = ModeError;

    fn try_from(code: u16) -> Result<Self, Self::Error> {
        match code {
            500 => Ok(ErrorStatus::InternalServerError),
            502 => Ok(ErrorStatus::BadGateway),
            503 => Ok(ErrorStatus::ServiceUnavailable),
            other => Err(ModeError::UnsupportedStatus(other)),
        }
    }
}

impl From<ErrorStatus> for u16 {
    fn from(status: ErrorStatus) -> u16 {
        status.code()
    }
}

/// A streaming pace: a positive, finite number of tokens per second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct TokensPerSecond(f64);

impl TokensPerSecond {
    /// A validated token rate.
    pub fn new(tokens_per_s: f64) -> Result<TokensPerSecond, ModeError> {
        if tokens_per_s.is_finite() && tokens_per_s > 0.0 {
            Ok(TokensPerSecond(tokens_per_s))
        } else {
            Err(ModeError::BadTokenRate(tokens_per_s))
        }
    }

    /// The rate.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for TokensPerSecond {
    type Error = ModeError;

    fn try_from(tokens_per_s: f64) -> Result<Self, Self::Error> {
        TokensPerSecond::new(tokens_per_s)
    }
}

impl From<TokensPerSecond> for f64 {
    fn from(rate: TokensPerSecond) -> f64 {
        rate.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Mode {
        match Mode::parse(text) {
            Ok(mode) => mode,
            Err(error) => panic!("{text} should parse: {error}"),
        }
    }

    fn parse_err(text: &str) -> String {
        match Mode::parse(text) {
            Ok(mode) => panic!("{text} should be rejected, got {mode:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn every_mode_round_trips_through_json() {
        let modes = [
            Mode::Healthy,
            Mode::Latency {
                latency_ms: 200,
                jitter_ms: 50,
            },
            Mode::Errors {
                rate: Rate(0.5),
                status: ErrorStatus::BadGateway,
            },
            Mode::RateLimit {
                rate: Rate::ALWAYS,
                retry_after_s: 7,
            },
            Mode::Overloaded { rate: Rate(0.25) },
            Mode::Hang,
            Mode::SlowStream {
                tokens_per_s: TokensPerSecond(4.0),
                first_token_delay_ms: 100,
                stall_after_first_ms: 300,
            },
            Mode::CutStream { after_tokens: 3 },
            Mode::Malformed,
        ];
        for mode in modes {
            let json = mode.to_string();
            assert!(
                json.contains(&format!("\"mode\":\"{}\"", mode.name())),
                "{json}"
            );
            assert_eq!(parse_ok(&json), mode);
        }
    }

    #[test]
    fn defaults_fill_optional_fields() {
        assert_eq!(
            parse_ok(r#"{"mode":"errors"}"#),
            Mode::Errors {
                rate: Rate::ALWAYS,
                status: ErrorStatus::ServiceUnavailable
            }
        );
        assert_eq!(
            parse_ok("rate_limit"),
            Mode::RateLimit {
                rate: Rate::ALWAYS,
                retry_after_s: 1
            }
        );
        assert_eq!(parse_ok("  hang "), Mode::Hang);
    }

    #[test]
    fn out_of_range_values_are_rejected_with_the_reason() {
        assert!(parse_err(r#"{"mode":"errors","rate":1.5}"#).contains("between 0 and 1"));
        assert!(parse_err(r#"{"mode":"errors","rate":-0.1}"#).contains("between 0 and 1"));
        assert!(parse_err(r#"{"mode":"errors","status":404}"#).contains("500, 502, 503"));
        assert!(
            parse_err(r#"{"mode":"slow_stream","tokens_per_s":0}"#).contains("positive number")
        );
    }

    #[test]
    fn unknown_modes_fields_and_missing_fields_are_rejected() {
        assert!(parse_err(r#"{"mode":"explode"}"#).contains("unknown variant"));
        assert!(parse_err(r#"{"mode":"errors","ratio":0.5}"#).contains("unknown field"));
        assert!(parse_err(r#"{"mode":"latency"}"#).contains("latency_ms"));
        assert!(parse_err(r#"{"rate":0.5}"#).contains("mode"));
        assert!(parse_err("{not json").contains("invalid mode"));
    }

    #[test]
    fn unit_modes_reject_extra_fields() {
        assert!(parse_err(r#"{"mode":"hang","rate":0.5}"#).contains("unknown field"));
    }
}
