//! gameday: a chaos-engineering game-day runner for AI-agent platforms.
//!
//! The pipeline (see ARCHITECTURE.md for the full code map and invariants):
//!
//! ```text
//! scenario.yaml -> scenario -> plan -> run -> verdict -> report
//! ```
//!
//! What exists today:
//!
//! - [`clock`]: time as a dependency, so time-driven logic is testable without sleeps.
//! - [`shutdown`]: the shutdown signal every lab server takes.
//! - [`lab`]: what gameday can stand up locally: managed Redis and PostgreSQL
//!   processes, LLM provider simulators, the reference agent platform and the
//!   Toxiproxy-compatible fault proxy.
//! - [`smoke`]: a short end-to-end game day against the built-in lab, the
//!   stand-in for `gameday run` until the scenario runner lands.

pub mod clock;
pub mod duration;
pub mod report;
pub mod results;
pub mod rng;
pub mod shutdown;
pub mod timestamp;

pub mod faults;

pub mod lab;
pub mod smoke;
