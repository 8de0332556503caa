//! The typed async client for a Toxiproxy-compatible API: the embedded
//! `gameday proxy` or a real Toxiproxy server. [`model`] holds the JSON types,
//! shared with the embedded server so both sides agree on the wire format.

pub mod model;
