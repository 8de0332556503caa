//! The reference agent platform: the system under test in the built-in lab.
//!
//! It implements the seed article's resilience patterns without their known
//! flaws: deep health checks ([`health`]), per-provider circuit breakers and
//! multi-provider failover ([`llm`]), graceful degradation ([`degradation`]),
//! and dependency calls that are all bounded by timeouts ([`storage`]).

pub mod api;
pub mod cli;
pub mod config;
pub mod degradation;
pub mod health;
pub mod llm;
pub mod metrics;
pub mod server;
pub mod storage;
