//! What the LLM provider simulator (`llm_sim`) and the fault-injecting
//! gateway (`llm_proxy`) share, so a game day drives both the same way and a
//! client sees the same failures from either:
//!
//! - [`mode`]: the failure modes, their JSON form and validation.
//! - [`outcome`]: what one request gets under a mode (pure, seeded).
//! - [`failure`]: every error a request can get, and the OpenAI- and
//!   Anthropic-shaped error bodies.
//! - [`admin`]: `GET/PUT /admin/mode`, `GET /admin/stats`,
//!   `POST /admin/stats/reset`.
//! - [`body`]: reading a request body under a size limit.

pub mod admin;
pub mod body;
pub mod failure;
pub mod mode;
pub mod outcome;
