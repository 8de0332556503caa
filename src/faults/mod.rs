//! Fault backends: every way gameday can break something, and undo it.
//!
//! - [`action`]: the backend-neutral [`action::FaultAction`] / [`action::RevertAction`]
//!   pair and the [`action::FaultContext`] that applies and reverts them.
//! - [`toxiproxy`]: the typed async client for a Toxiproxy-compatible API
//!   (the embedded `gameday proxy` or a real Toxiproxy server).
//! - [`exec`]: commands from the scenario (kubectl, docker, systemctl).
//!
//! Process faults act on the lab's managed services and LLM faults on its
//! simulators' admin API.

pub mod action;
pub mod exec;
pub mod toxiproxy;
