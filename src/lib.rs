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
//! - [`traffic`]: the open-model traffic generator and its recorder (HDR
//!   histograms per phase and operation, one-second buckets).
//! - [`scenario`]: scenario files: parsing with located errors, validation, JSON Schema.
//! - [`plan`]: a scenario resolved into absolute fault windows and phases.
//! - [`cli_validate`]: the `validate` and `schema` subcommands.
//! - [`smoke`]: a short end-to-end game day against the built-in lab, the
//!   stand-in for `gameday run` until the scenario runner lands.

pub mod clock;
pub mod duration;
pub mod report;
pub mod results;
pub mod rng;
pub mod run;
pub mod shutdown;
pub mod timestamp;
pub mod verdict;

// The pipeline, in order.
pub mod scenario;

pub mod plan;

pub mod cli_validate;

pub mod faults;

pub mod lab;
pub mod observe;
pub mod smoke;
pub mod traffic;
