//! Fault backends: one module per way gameday can break something.
//!
//! - [`toxiproxy`]: the typed async client for a Toxiproxy-compatible API
//!   (the embedded `gameday proxy` or a real Toxiproxy server).

pub mod toxiproxy;
