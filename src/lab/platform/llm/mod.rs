//! The platform's LLM layer: how the reference platform calls LLM providers.
//!
//! Read in request order:
//! - [`failover`]: the API the HTTP service codes against. Tries providers in
//!   order, skipping those whose breaker is open or whose `Retry-After` has not
//!   passed, bounds every attempt and the whole call by timeouts, and fails
//!   over only on errors that another provider could fix.
//! - [`breaker`]: one circuit breaker per provider.
//! - [`provider`]: HTTP clients for the OpenAI and Anthropic wire formats.
//! - [`sse`]: a small Server-Sent Events parser the streaming clients share.
//! - [`message`]: the chat messages callers pass in.

pub mod breaker;
pub mod message;
pub mod provider;
pub mod sse;
