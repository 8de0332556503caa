//! gameday: a chaos-engineering game-day runner for AI-agent platforms.
//!
//! The pipeline (see ARCHITECTURE.md for the full code map and invariants),
//! each arrow a plain data hand-off:
//!
//! ```text
//! scenario.yaml -> scenario -> plan -> run (traffic, faults, observe) -> verdict -> report
//! ```
//!
//! - [`scenario`]: scenario files: parsing with located errors, validation, JSON Schema.
//! - [`plan`]: a scenario resolved into absolute fault windows and phases.
//! - [`run`]: `gameday run`: target up, preflight, timeline, rollback, journal.
//! - [`traffic`]: the open-model traffic generator and its recorder.
//! - [`faults`]: fault backends (Toxiproxy client, process control, LLM modes, exec).
//! - [`observe`]: polls the target's health, capabilities and breakers.
//! - [`verdict`]: the pure judgement of a run (error budget, confidence, checks).
//! - [`results`]: the results.json model shared by run, verdict and report.
//! - [`report`]: report.html, junit.xml and the runs index.
//! - [`lab`]: what gameday stands up locally: managed Redis and PostgreSQL,
//!   LLM provider simulators, the reference platform, the fault proxy.
//! - [`smoke`]: a fixed end-to-end game day with no scenario file.
//! - [`cli_validate`]: the `validate` and `schema` subcommands.
//! - Wire formats both sides speak: [`sse`] (server-sent events, read by the
//!   runner's traffic and the reference platform's LLM clients).
//! - Utilities: [`clock`], [`console`] (output that never panics), [`shutdown`], [`rng`], [`duration`], [`timestamp`],
//!   [`fd_limit`], [`input`] (bounded reads), [`redact`] (secrets),
//!   [`terminal`] (safe terminal output).

pub mod faults;
pub mod monitor;
pub mod observe;
pub mod plan;
pub mod report;
pub mod results;
pub mod run;
pub mod scenario;
pub mod traffic;
pub mod verdict;

pub mod cli_validate;
pub mod lab;
pub mod memory;
pub mod smoke;

pub mod clock;
pub mod console;
pub mod duration;
pub mod exit;
pub mod fd_limit;
pub mod input;
pub mod redact;
pub mod rng;
pub mod shutdown;
pub mod sse;
pub mod terminal;
pub mod timestamp;
