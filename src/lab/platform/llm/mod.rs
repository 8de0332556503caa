//! The platform's LLM layer: how the reference platform calls LLM providers.
//!
//! Read in request order:
//! - [`failover`]: the API the HTTP service codes against. Tries providers in
//!   order, skipping those whose breaker is open or whose `Retry-After` has not
//!   passed, bounds every attempt and the whole call by timeouts, and fails
//!   over only on errors that another provider could fix.
//! - [`outcome`]: what a call reports (per-provider failures, errors, the
//!   completion); [`completion_stream`]: a stream after its first token.
//! - [`breaker`]: one circuit breaker per provider.
//! - [`provider`]: HTTP clients for the OpenAI and Anthropic wire formats.
//! - SSE bodies are parsed by [`crate::sse`], which the runner's traffic shares.
//! - [`message`]: the chat messages callers pass in.
//!
//! Invariants: no call to a provider is made without a timeout; a breaker in
//! HalfOpen never has more than `half_open_max_calls` trial calls in flight;
//! a stream never fails over after its first token.

pub mod failover;

pub mod completion_stream;
pub mod outcome;

pub mod breaker;
pub mod provider;

pub mod message;

pub use breaker::{BreakerSettings, BreakerSnapshot, BreakerState};
pub use failover::{
    ApiKind, AttemptFailure, ChatMessage, Completion, CompletionStream, FailoverClient,
    FailoverError, FailoverSettings, FailureReason, ProviderBreaker, ProviderConfig, ProviderProbe,
    Role, StreamError, StreamEvent,
};
