//! The typed async client for a Toxiproxy-compatible API: the embedded
//! `gameday proxy` or a real Toxiproxy server.
//!
//! - [`model`]: the JSON types, shared with the embedded server so both sides
//!   agree on the wire format.
//! - [`client`]: [`Client`], every API call with a timeout and errors that
//!   carry the server's status and message.

pub mod client;
pub mod model;

pub use client::{Client, ClientError};
pub use model::{NewProxy, NewToxic, Proxy, ProxyUpdate, Stream, Toxic, ToxicKind, ToxicUpdate};
