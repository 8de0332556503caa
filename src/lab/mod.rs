//! The lab: everything gameday can stand up on one machine to have a real
//! system to break. Each part is also a CLI subcommand, and each server takes
//! an already-bound listener and a shutdown future.
//!
//! - [`services`]: real `redis-server` and PostgreSQL processes on free loopback
//!   ports, with kill / freeze / restart, cleaned up on every exit path.
//! - [`llm_sim`]: OpenAI- and Anthropic-compatible provider simulators with
//!   runtime-switchable failure modes.
//! - [`llm_proxy`]: a fault-injecting gateway in front of real LLM providers,
//!   with the simulator's modes.
//! - [`llm_fault`]: the failure modes, error bodies and admin API the
//!   simulator and the gateway share.
//! - [`platform`]: the reference agent platform (the system under test).
//! - [`proxy`]: the Toxiproxy-compatible fault proxy.
//! - [`serve`]: the HTTP serving loop the three servers share (header-read timeout).

pub mod lab_cli;
pub mod llm_fault;
pub mod llm_proxy;
pub mod llm_sim;
pub mod platform;
pub mod proxy;
pub mod serve;
pub mod services;
pub mod stack;
