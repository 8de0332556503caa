//! The JSON model of the Toxiproxy HTTP API, shared by the embedded server
//! (`lab::proxy`) and the async client ([`super::Client`]).
//!
//! Response types ([`Proxy`], [`Toxic`]) serialise byte-for-byte like
//! Toxiproxy 2.12 (key order, integer attributes, `"Logger":{}`), because
//! third-party clients parse them strictly. Request types ([`NewProxy`],
//! [`ProxyUpdate`], [`NewToxic`], [`ToxicUpdate`]) are what the client sends;
//! the server decodes requests leniently on its own (see
//! `lab::proxy::request`), the way Go's `encoding/json` does.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

/// The Toxiproxy version the embedded server reports. Clients switch to
/// PATCH for updates from 2.6 on, so this must stay a 2.x at or above 2.6.
pub const TOXIPROXY_VERSION: &str = "2.12.0";

/// Which way the bytes a toxic acts on flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stream {
    /// Client to upstream server (requests).
    Upstream,
    /// Upstream server to client (responses).
    Downstream,
}

impl Stream {
    /// The wire name: `upstream` or `downstream`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Upstream => "upstream",
            Stream::Downstream => "downstream",
        }
    }

    /// Parses a stream name case-insensitively, as Toxiproxy does.
    pub fn parse(text: &str) -> Option<Self> {
        if text.eq_ignore_ascii_case("upstream") {
            Some(Stream::Upstream)
        } else if text.eq_ignore_ascii_case("downstream") {
            Some(Stream::Downstream)
        } else {
            None
        }
    }
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Stream {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Stream {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Stream::parse(&text).ok_or_else(|| de::Error::custom(format!("invalid stream {text:?}")))
    }
}

/// A toxic's type together with its attributes. Every attribute is a JSON
/// integer on the wire, in the unit Toxiproxy uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToxicKind {
    /// Delays every chunk by `latency` ms, plus a uniform `[-jitter, +jitter)` ms.
    Latency { latency: i64, jitter: i64 },
    /// Limits the rate to `rate` KB/s (KB = 1000 bytes), per connection.
    Bandwidth { rate: i64 },
    /// Delays the close (EOF) by `delay` ms.
    SlowClose { delay: i64 },
    /// Drops all data; closes the connection after `timeout` ms without
    /// traffic (never, if 0).
    Timeout { timeout: i64 },
    /// Resets the connection `timeout` ms after the first chunk.
    ResetPeer { timeout: i64 },
    /// Cuts chunks into pieces of about `average_size` ± `size_variation`
    /// bytes, waiting `delay` µs after each.
    Slicer {
        average_size: i64,
        size_variation: i64,
        delay: i64,
    },
    /// Closes the connection once `bytes` bytes have passed.
    LimitData { bytes: i64 },
    /// Passes data through untouched.
    Noop,
}

/// Every toxic type name, in documentation order.
pub const TOXIC_TYPES: [&str; 8] = [
    "latency",
    "bandwidth",
    "slow_close",
    "timeout",
    "reset_peer",
    "slicer",
    "limit_data",
    "noop",
];

impl ToxicKind {
    /// The kind with all attributes zero, for a type name; `None` if unknown.
    pub fn with_defaults(type_name: &str) -> Option<Self> {
        Some(match type_name {
            "latency" => ToxicKind::Latency {
                latency: 0,
                jitter: 0,
            },
            "bandwidth" => ToxicKind::Bandwidth { rate: 0 },
            "slow_close" => ToxicKind::SlowClose { delay: 0 },
            "timeout" => ToxicKind::Timeout { timeout: 0 },
            "reset_peer" => ToxicKind::ResetPeer { timeout: 0 },
            "slicer" => ToxicKind::Slicer {
                average_size: 0,
                size_variation: 0,
                delay: 0,
            },
            "limit_data" => ToxicKind::LimitData { bytes: 0 },
            "noop" => ToxicKind::Noop,
            _ => return None,
        })
    }

    /// The wire type name (`latency`, `slow_close`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            ToxicKind::Latency { .. } => "latency",
            ToxicKind::Bandwidth { .. } => "bandwidth",
            ToxicKind::SlowClose { .. } => "slow_close",
            ToxicKind::Timeout { .. } => "timeout",
            ToxicKind::ResetPeer { .. } => "reset_peer",
            ToxicKind::Slicer { .. } => "slicer",
            ToxicKind::LimitData { .. } => "limit_data",
            ToxicKind::Noop => "noop",
        }
    }

    /// The attributes in Toxiproxy's field order.
    pub fn attributes(&self) -> Vec<(&'static str, i64)> {
        match *self {
            ToxicKind::Latency { latency, jitter } => {
                vec![("latency", latency), ("jitter", jitter)]
            }
            ToxicKind::Bandwidth { rate } => vec![("rate", rate)],
            ToxicKind::SlowClose { delay } => vec![("delay", delay)],
            ToxicKind::Timeout { timeout } | ToxicKind::ResetPeer { timeout } => {
                vec![("timeout", timeout)]
            }
            ToxicKind::Slicer {
                average_size,
                size_variation,
                delay,
            } => vec![
                ("average_size", average_size),
                ("size_variation", size_variation),
                ("delay", delay),
            ],
            ToxicKind::LimitData { bytes } => vec![("bytes", bytes)],
            ToxicKind::Noop => Vec::new(),
        }
    }

    /// Sets one attribute by its (case-insensitive) name. Returns false when
    /// this type has no such attribute; unknown attributes are ignored by
    /// Toxiproxy, so callers usually drop them silently.
    pub fn set_attribute(&mut self, key: &str, value: i64) -> bool {
        let key = key.to_ascii_lowercase();
        let slot = match (self, key.as_str()) {
            (ToxicKind::Latency { latency, .. }, "latency") => latency,
            (ToxicKind::Latency { jitter, .. }, "jitter") => jitter,
            (ToxicKind::Bandwidth { rate }, "rate") => rate,
            (ToxicKind::SlowClose { delay }, "delay") => delay,
            (ToxicKind::Timeout { timeout }, "timeout") => timeout,
            (ToxicKind::ResetPeer { timeout }, "timeout") => timeout,
            (ToxicKind::Slicer { average_size, .. }, "average_size") => average_size,
            (ToxicKind::Slicer { size_variation, .. }, "size_variation") => size_variation,
            (ToxicKind::Slicer { delay, .. }, "delay") => delay,
            (ToxicKind::LimitData { bytes }, "bytes") => bytes,
            _ => return false,
        };
        *slot = value;
        true
    }

    /// Builds a kind from a type name and integer attributes (missing ones
    /// stay zero, unknown ones are ignored).
    pub fn from_parts(type_name: &str, attributes: &BTreeMap<String, i64>) -> Option<Self> {
        let mut kind = ToxicKind::with_defaults(type_name)?;
        for (key, value) in attributes {
            kind.set_attribute(key, *value);
        }
        Some(kind)
    }
}

/// Serialises the attributes of a kind as a JSON object in field order.
struct AttributesOf<'a>(&'a ToxicKind);

impl Serialize for AttributesOf<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let attributes = self.0.attributes();
        let mut map = serializer.serialize_map(Some(attributes.len()))?;
        for (key, value) in attributes {
            map.serialize_entry(key, &value)?;
        }
        map.end()
    }
}

/// A float printed the way Go prints a float32: integral values without a
/// fraction (`1`, not `1.0`), others in their shortest form.
struct GoFloat(f32);

impl Serialize for GoFloat {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let value = self.0;
        if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e15 {
            serializer.serialize_i64(value as i64)
        } else {
            serializer.serialize_f32(value)
        }
    }
}

/// A toxic as the API returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Toxic {
    /// Unique across both streams of its proxy.
    pub name: String,
    /// The direction it acts on.
    pub stream: Stream,
    /// The chance (0..=1) that a connection gets this toxic.
    pub toxicity: f32,
    /// Type and attributes.
    pub kind: ToxicKind,
}

impl Serialize for Toxic {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut object = serializer.serialize_struct("Toxic", 5)?;
        object.serialize_field("attributes", &AttributesOf(&self.kind))?;
        object.serialize_field("name", &self.name)?;
        object.serialize_field("type", self.kind.type_name())?;
        object.serialize_field("stream", &self.stream)?;
        object.serialize_field("toxicity", &GoFloat(self.toxicity))?;
        object.end()
    }
}

#[derive(Deserialize)]
struct ToxicWire {
    #[serde(default)]
    attributes: Option<BTreeMap<String, i64>>,
    name: String,
    #[serde(rename = "type")]
    type_name: String,
    stream: Stream,
    toxicity: f32,
}

impl<'de> Deserialize<'de> for Toxic {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = ToxicWire::deserialize(deserializer)?;
        let kind = ToxicKind::from_parts(&wire.type_name, &wire.attributes.unwrap_or_default())
            .ok_or_else(|| de::Error::custom(format!("unknown toxic type {:?}", wire.type_name)))?;
        Ok(Toxic {
            name: wire.name,
            stream: wire.stream,
            toxicity: wire.toxicity,
            kind,
        })
    }
}

/// A proxy as the API returns it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Proxy {
    /// Unique name; the key in `/proxies`.
    pub name: String,
    /// The bound address when enabled; the configured text when disabled.
    pub listen: String,
    /// Where connections are relayed to (`host:port`).
    pub upstream: String,
    /// Whether the proxy is listening.
    pub enabled: bool,
    /// Upstream toxics in insertion order, then downstream ones.
    #[serde(default)]
    pub toxics: Vec<Toxic>,
}

/// Toxiproxy leaks an empty `"Logger":{}` into every proxy object; clients
/// ignore it, and emitting it keeps byte-for-byte parity.
struct EmptyObject;

impl Serialize for EmptyObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_map(Some(0))?.end()
    }
}

impl Serialize for Proxy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut object = serializer.serialize_struct("Proxy", 6)?;
        object.serialize_field("name", &self.name)?;
        object.serialize_field("listen", &self.listen)?;
        object.serialize_field("upstream", &self.upstream)?;
        object.serialize_field("enabled", &self.enabled)?;
        object.serialize_field("Logger", &EmptyObject)?;
        object.serialize_field("toxics", &self.toxics)?;
        object.end()
    }
}

fn default_true() -> bool {
    true
}

/// The body of `POST /proxies`, and one entry of `POST /populate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewProxy {
    /// Required, non-empty.
    pub name: String,
    /// `host:port` to listen on; empty means all interfaces, a random port.
    #[serde(default)]
    pub listen: String,
    /// Required, non-empty `host:port`.
    pub upstream: String,
    /// Defaults to true.
    #[serde(default = "default_true")]
    pub enabled: bool,
}

impl NewProxy {
    /// An enabled proxy spec.
    pub fn new(
        name: impl Into<String>,
        listen: impl Into<String>,
        upstream: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            listen: listen.into(),
            upstream: upstream.into(),
            enabled: true,
        }
    }
}

/// The body of `PATCH /proxies/{name}`: absent fields keep their values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyUpdate {
    /// A new listen address (restarts the proxy if it differs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// A new upstream (restarts the proxy if it differs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// Enable (listen) or disable (refuse connections, close open ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// The body of `POST /proxies/{name}/toxics`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewToxic {
    /// Defaults to `<type>_<stream>`.
    pub name: Option<String>,
    /// The direction it acts on.
    pub stream: Stream,
    /// Defaults to 1.0 (every connection).
    pub toxicity: Option<f32>,
    /// Type and attributes.
    pub kind: ToxicKind,
}

impl NewToxic {
    /// A toxic on `stream` with the default name and toxicity 1.
    pub fn new(stream: Stream, kind: ToxicKind) -> Self {
        Self {
            name: None,
            stream,
            toxicity: None,
            kind,
        }
    }

    /// Sets the name.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the toxicity.
    pub fn with_toxicity(mut self, toxicity: f32) -> Self {
        self.toxicity = Some(toxicity);
        self
    }
}

impl Serialize for NewToxic {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut object = serializer.serialize_map(None)?;
        if let Some(name) = &self.name {
            object.serialize_entry("name", name)?;
        }
        object.serialize_entry("type", self.kind.type_name())?;
        object.serialize_entry("stream", &self.stream)?;
        if let Some(toxicity) = self.toxicity {
            object.serialize_entry("toxicity", &toxicity)?;
        }
        object.serialize_entry("attributes", &AttributesOf(&self.kind))?;
        object.end()
    }
}

/// The body of `PATCH /proxies/{name}/toxics/{toxic}`: only attributes and
/// toxicity can change; attributes are merged onto the current ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToxicUpdate {
    /// A new toxicity; absent keeps the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toxicity: Option<f32>,
    /// Attributes to change, by name.
    #[serde(default)]
    pub attributes: BTreeMap<String, i64>,
}

/// The answer of `GET /version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// e.g. `2.12.0`.
    pub version: String,
    /// `gameday proxy` only: an id drawn at random when the server starts,
    /// so a journal can tell this server from another one later on the same
    /// address. An extra field, which Toxiproxy clients ignore; a real
    /// Toxiproxy sends none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

/// The answer of `POST /populate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Populated {
    /// The proxies in request order (real Toxiproxy sends `null` for none).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub proxies: Vec<Proxy>,
}

fn null_as_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Proxy>, D::Error> {
    Ok(Option::<Vec<Proxy>>::deserialize(deserializer)?.unwrap_or_default())
}

/// An error body: `{"error":"proxy not found","status":404}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The message.
    pub error: String,
    /// The HTTP status repeated.
    pub status: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toxic_serialises_in_toxiproxy_key_order_with_integer_toxicity() {
        let toxic = Toxic {
            name: "latency_downstream".into(),
            stream: Stream::Downstream,
            toxicity: 1.0,
            kind: ToxicKind::Latency {
                latency: 100,
                jitter: 0,
            },
        };
        let json = serde_json::to_string(&toxic).unwrap();
        assert_eq!(
            json,
            r#"{"attributes":{"latency":100,"jitter":0},"name":"latency_downstream","type":"latency","stream":"downstream","toxicity":1}"#
        );
        let back: Toxic = serde_json::from_str(&json).unwrap();
        assert_eq!(back, toxic);
    }

    #[test]
    fn fractional_toxicity_prints_shortest() {
        let toxic = Toxic {
            name: "n".into(),
            stream: Stream::Upstream,
            toxicity: 0.1,
            kind: ToxicKind::Noop,
        };
        let json = serde_json::to_string(&toxic).unwrap();
        assert!(json.ends_with(r#""toxicity":0.1}"#), "{json}");
        assert!(json.starts_with(r#"{"attributes":{},"#), "{json}");
    }

    #[test]
    fn proxy_serialises_with_logger_quirk() {
        let proxy = Proxy {
            name: "p1".into(),
            listen: "127.0.0.1:1".into(),
            upstream: "127.0.0.1:2".into(),
            enabled: true,
            toxics: vec![],
        };
        assert_eq!(
            serde_json::to_string(&proxy).unwrap(),
            r#"{"name":"p1","listen":"127.0.0.1:1","upstream":"127.0.0.1:2","enabled":true,"Logger":{},"toxics":[]}"#
        );
    }

    #[test]
    fn set_attribute_ignores_unknown_keys() {
        let mut kind = ToxicKind::with_defaults("slicer").unwrap();
        assert!(kind.set_attribute("Average_Size", 10));
        assert!(!kind.set_attribute("rate", 5));
        assert_eq!(kind.attributes()[0], ("average_size", 10));
    }
}
