//! Timeline entries and their faults: which kind a fault is (by the key that
//! names it), the keys each kind allows, and the per-type attributes of a
//! toxic, normalized to Toxiproxy's integer units.

use std::time::Duration;

use crate::lab::llm_proxy::Rule;
use crate::lab::llm_sim::Mode;
use crate::lab::services::ServiceKind;

use super::super::diagnostic::{Position, closest, list, suggest};
use super::super::model::{Fault, Stream, TimelineEntry, Toxic, ToxicKind};
use super::super::tree::{Node, Value};
use super::super::{limits, values};
use super::{Decoder, Fields, to_json};

const ENTRY_KEYS: [&str; 5] = ["name", "at", "for", "maintenance", "fault"];

/// The keys that name a fault's kind; a fault has exactly one of them.
const KIND_KEYS: [&str; 7] = [
    "toxic",
    "proxy_down",
    "kill",
    "freeze",
    "restart",
    "llm",
    "exec",
];

/// How long an `exec` command (and its revert) may run by default.
pub(crate) const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(30);

/// The timeline entries that decoded, each with its index in the file, and
/// whether all of them did; `None` when `timeline` is not a list at all.
pub(super) fn decode_timeline(
    decoder: &mut Decoder,
    node: &Node,
) -> Option<(Vec<TimelineEntry>, Vec<usize>, bool)> {
    let items = decoder.sequence(node, "timeline")?;
    let mut entries = Vec::new();
    let mut file_indices = Vec::new();
    let mut ok = true;
    for (index, item) in items.iter().enumerate() {
        match decode_entry(decoder, item, &format!("timeline[{index}]")) {
            Some(entry) => {
                entries.push(entry);
                file_indices.push(index);
            }
            None => ok = false,
        }
    }
    Some((entries, file_indices, ok))
}

fn decode_entry(decoder: &mut Decoder, node: &Node, what: &str) -> Option<TimelineEntry> {
    let fields = decoder.fields(node, what, &ENTRY_KEYS)?;
    let name = fields
        .required(decoder, "name")
        .and_then(|value| decoder.string(value, &fields.path("name")));
    let at = fields
        .required(decoder, "at")
        .and_then(|value| decoder.duration(value, &fields.path("at")));
    let duration = fields
        .required(decoder, "for")
        .and_then(|value| decoder.duration(value, &fields.path("for")));
    let maintenance = match fields.get("maintenance") {
        Some(value) => decoder.boolean(value, &fields.path("maintenance")),
        None => Some(false),
    };
    let fault = fields
        .required(decoder, "fault")
        .and_then(|value| decode_fault(decoder, value, &fields.path("fault")));
    Some(TimelineEntry {
        name: name?,
        at: at?,
        duration: duration?,
        maintenance: maintenance?,
        fault: fault?,
    })
}

/// Every key any fault kind allows, for did-you-mean on unknown keys.
fn keys_of(kind: &str) -> Vec<&'static str> {
    match kind {
        "toxic" => vec!["toxic", "proxy", "stream", "toxicity"],
        "proxy_down" => vec!["proxy_down"],
        "kill" => vec!["kill"],
        "freeze" => vec!["freeze"],
        "restart" => vec!["restart"],
        "llm" => vec!["llm", "mode"],
        _ => vec!["exec", "revert", "timeout"],
    }
}

fn decode_fault(decoder: &mut Decoder, node: &Node, what: &str) -> Option<Fault> {
    let Value::Map(entries) = &node.value else {
        decoder.wrong_type(node, what, "a mapping such as `{ kill: redis }`");
        return None;
    };
    let kinds: Vec<&str> = entries
        .iter()
        .filter_map(|(key, _)| match &key.value {
            Value::String(name) => KIND_KEYS.iter().copied().find(|kind| kind == name),
            _ => None,
        })
        .collect();
    let kind = match kinds.as_slice() {
        [kind] => *kind,
        [] => {
            // Point at a key that looks like a misspelt kind, if there is one.
            let typo = entries.iter().find_map(|(key, _)| match &key.value {
                Value::String(name) => closest(name, KIND_KEYS).map(|kind| (key, name, kind)),
                _ => None,
            });
            match typo {
                Some((key, name, kind)) => decoder.error_with_help(
                    key.position,
                    format!("unknown key `{name}` in `{what}`"),
                    format!("did you mean `{kind}`?"),
                ),
                None => decoder.error_with_help(
                    node.position,
                    format!("`{what}` does not say what to break"),
                    format!("a fault has one of the keys {}", list(&KIND_KEYS)),
                ),
            }
            return None;
        }
        several => {
            decoder.error(
                node.position,
                format!(
                    "`{what}` names several faults ({}); use one timeline entry per fault",
                    list(several)
                ),
            );
            return None;
        }
    };
    let toxic_kind = if kind == "toxic" {
        let type_node = entries.iter().find_map(|(key, value)| {
            (key.value == Value::String("toxic".to_string())).then_some(value)
        })?;
        Some(toxic_kind(decoder, type_node, &format!("{what}.toxic"))?)
    } else {
        None
    };
    let mut known = keys_of(kind);
    if let Some(toxic_kind) = toxic_kind {
        known.extend(
            attributes_of(toxic_kind)
                .iter()
                .map(|attribute| attribute.name),
        );
    }
    let fields = decoder.fields(node, what, &known)?;
    let first = fields.required(decoder, kind)?;
    match kind {
        "toxic" => decode_toxic(decoder, &fields, toxic_kind?),
        "proxy_down" => Some(Fault::ProxyDown {
            proxy: decoder.string(first, &fields.path(kind))?,
        }),
        "kill" | "freeze" | "restart" => {
            let service = match decoder.choice(first, "service", &["redis", "postgres"])? {
                "redis" => ServiceKind::Redis,
                _ => ServiceKind::Postgres,
            };
            Some(match kind {
                "kill" => Fault::Kill { service },
                "freeze" => Fault::Freeze { service },
                _ => Fault::Restart { service },
            })
        }
        "llm" => decode_llm(decoder, &fields, first, &fields.path(kind)),
        _ => {
            let command = decoder.string(first, &fields.path("exec"));
            let revert = fields
                .required(decoder, "revert")
                .and_then(|revert| decoder.string(revert, &fields.path("revert")));
            let timeout = match fields.get("timeout") {
                Some(timeout) => decoder.duration(timeout, &fields.path("timeout")),
                None => Some(DEFAULT_EXEC_TIMEOUT),
            };
            Some(Fault::Exec {
                command: command?,
                revert: revert?,
                timeout: timeout?,
            })
        }
    }
}

const LLM_KEYS: [&str; 2] = ["provider", "mode"];

/// An `llm` fault, flat (`{ llm: primary, mode: ... }`) or nested
/// (`{ llm: { provider: primary, mode: ... } }`). The provider is a name;
/// validation checks it against the target's simulators or gateways.
fn decode_llm(decoder: &mut Decoder, fields: &Fields, first: &Node, what: &str) -> Option<Fault> {
    if let Value::Map(_) = &first.value {
        if let Some(mode) = fields.get("mode") {
            decoder.error(
                mode.position,
                format!("`{what}` already gives the mode inside `llm`; keep one"),
            );
            return None;
        }
        let inner = decoder.fields(first, what, &LLM_KEYS)?;
        let provider = inner
            .required(decoder, "provider")
            .and_then(|value| provider_name(decoder, value, &inner.path("provider")));
        let mode = inner
            .required(decoder, "mode")
            .and_then(|mode| decode_mode(decoder, mode, &inner.path("mode")));
        return Some(Fault::Llm {
            provider: provider?,
            mode: mode?,
        });
    }
    let provider = provider_name(decoder, first, what);
    let mode = fields
        .required(decoder, "mode")
        .and_then(|mode| decode_mode(decoder, mode, &fields.path("mode")));
    Some(Fault::Llm {
        provider: provider?,
        mode: mode?,
    })
}

/// A simulator or gateway name: a non-empty string.
fn provider_name(decoder: &mut Decoder, node: &Node, what: &str) -> Option<String> {
    let name = decoder.string(node, what)?;
    if name.trim().is_empty() {
        decoder.error(node.position, format!("`{what}` names no LLM provider"));
        return None;
    }
    Some(name)
}

/// An LLM mode: a bare name (`hang`) or the admin API's JSON object, with an
/// optional `match` (only a gateway takes one; validation checks that).
fn decode_mode(decoder: &mut Decoder, node: &Node, what: &str) -> Option<Rule> {
    let parsed = match &node.value {
        Value::String(name) => Mode::parse(name).map(Rule::all),
        Value::Map(_) => serde_json::from_value::<Rule>(to_json(node))
            .map_err(|error| crate::lab::llm_sim::mode::ModeError::Json(error.to_string())),
        _ => {
            decoder.wrong_type(
                node,
                what,
                "a mode name or a mapping such as `{ mode: errors, rate: 1.0 }`",
            );
            return None;
        }
    };
    match parsed {
        Ok(mode) => Some(mode),
        Err(error) => {
            let message = error.to_string();
            // serde names the unknown field or mode; point at it and suggest.
            let (position, help) = match unknown_name(&message) {
                Some((word, candidates)) => {
                    let candidates: Vec<&str> = candidates.iter().map(String::as_str).collect();
                    (
                        locate_in_mode(node, &word).unwrap_or(node.position),
                        suggest(&word, &candidates),
                    )
                }
                None => (
                    node.position,
                    "modes: healthy, latency, errors, rate_limit, overloaded, hang, slow_stream, \
                     cut_stream, malformed (see docs/llm-sim.md)"
                        .to_string(),
                ),
            };
            decoder.error_with_help(position, format!("`{what}`: {message}"), help);
            None
        }
    }
}

/// From a serde message such as "unknown field `ratio`, expected one of
/// `mode`, `rate`": the unknown name and the expected ones.
fn unknown_name(message: &str) -> Option<(String, Vec<String>)> {
    let start = message
        .find("unknown field `")
        .map(|at| at + "unknown field `".len())
        .or_else(|| {
            message
                .find("unknown variant `")
                .map(|at| at + "unknown variant `".len())
        })?;
    let word = message[start..].split('`').next()?.to_string();
    let expected = &message[start + word.len() + 1..];
    let candidates: Vec<String> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    (!candidates.is_empty()).then_some((word, candidates))
}

/// The key named `word` in a mode mapping, or the `mode` value equal to it.
fn locate_in_mode(node: &Node, word: &str) -> Option<Position> {
    let Value::Map(entries) = &node.value else {
        return None;
    };
    entries.iter().find_map(|(key, value)| {
        if key.value == Value::String(word.to_string()) {
            Some(key.position)
        } else if key.value == Value::String("mode".to_string())
            && value.value == Value::String(word.to_string())
        {
            Some(value.position)
        } else {
            None
        }
    })
}

fn toxic_kind(decoder: &mut Decoder, node: &Node, what: &str) -> Option<ToxicKind> {
    let names: Vec<&str> = ToxicKind::ALL.iter().map(|kind| kind.name()).collect();
    let name = decoder.choice(node, what, &names)?;
    ToxicKind::ALL.into_iter().find(|kind| kind.name() == name)
}

/// The unit a toxic attribute is stored in.
#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Milliseconds,
    Microseconds,
    KilobytesPerSecond,
    Bytes,
}

/// One attribute of a toxic type.
struct Attribute {
    name: &'static str,
    unit: Unit,
    /// `None`: required.
    default: Option<i64>,
    /// Must be > 0 (else >= 0).
    positive: bool,
}

const fn attribute(
    name: &'static str,
    unit: Unit,
    default: Option<i64>,
    positive: bool,
) -> Attribute {
    Attribute {
        name,
        unit,
        default,
        positive,
    }
}

const LATENCY: [Attribute; 2] = [
    attribute("latency", Unit::Milliseconds, None, false),
    attribute("jitter", Unit::Milliseconds, Some(0), false),
];
const BANDWIDTH: [Attribute; 1] = [attribute("rate", Unit::KilobytesPerSecond, None, true)];
const SLOW_CLOSE: [Attribute; 1] = [attribute("delay", Unit::Milliseconds, None, false)];
const TIMEOUT: [Attribute; 1] = [attribute("timeout", Unit::Milliseconds, None, false)];
const RESET_PEER: [Attribute; 1] = [attribute("timeout", Unit::Milliseconds, Some(0), false)];
const SLICER: [Attribute; 3] = [
    attribute("average_size", Unit::Bytes, None, true),
    attribute("size_variation", Unit::Bytes, Some(0), false),
    attribute("delay", Unit::Microseconds, Some(0), false),
];
const LIMIT_DATA: [Attribute; 1] = [attribute("bytes", Unit::Bytes, None, false)];

/// The attributes of each toxic type, with their Toxiproxy units.
fn attributes_of(kind: ToxicKind) -> &'static [Attribute] {
    match kind {
        ToxicKind::Latency => &LATENCY,
        ToxicKind::Bandwidth => &BANDWIDTH,
        ToxicKind::SlowClose => &SLOW_CLOSE,
        ToxicKind::Timeout => &TIMEOUT,
        ToxicKind::ResetPeer => &RESET_PEER,
        ToxicKind::Slicer => &SLICER,
        ToxicKind::LimitData => &LIMIT_DATA,
    }
}

fn decode_toxic(decoder: &mut Decoder, fields: &Fields, kind: ToxicKind) -> Option<Fault> {
    let proxy = fields
        .required(decoder, "proxy")
        .and_then(|proxy| decoder.string(proxy, &fields.path("proxy")));
    let stream = match fields.get("stream") {
        Some(stream) => match decoder.choice(stream, "stream", &["downstream", "upstream"]) {
            Some("upstream") => Some(Stream::Upstream),
            Some(_) => Some(Stream::Downstream),
            None => None,
        },
        None => Some(Stream::Downstream),
    };
    let toxicity = match fields.get("toxicity") {
        Some(node) => toxicity(decoder, node, &fields.path("toxicity")),
        None => Some(1.0),
    };
    let mut attributes = serde_json::Map::new();
    let mut ok = true;
    for attribute in attributes_of(kind) {
        let what = fields.path(attribute.name);
        let value = match fields.get(attribute.name) {
            Some(node) => attribute_value(decoder, node, &what, attribute),
            None => match attribute.default {
                Some(default) => Some(default),
                None => {
                    decoder.error_with_help(
                        fields.position,
                        format!("a `{kind}` toxic needs `{}`", attribute.name),
                        example_of(kind),
                    );
                    None
                }
            },
        };
        match value {
            Some(value) => {
                attributes.insert(attribute.name.to_string(), serde_json::Value::from(value));
            }
            None => ok = false,
        }
    }
    Some(Fault::Toxic {
        proxy: proxy?,
        toxic: Toxic {
            kind,
            attributes: ok.then_some(attributes)?,
            stream: stream?,
            toxicity: toxicity?,
        },
    })
}

fn example_of(kind: ToxicKind) -> String {
    let example = match kind {
        ToxicKind::Latency => "{ toxic: latency, proxy: postgres, latency: 300ms, jitter: 50ms }",
        ToxicKind::Bandwidth => "{ toxic: bandwidth, proxy: redis, rate: 100 }  # KB/s",
        ToxicKind::SlowClose => "{ toxic: slow_close, proxy: redis, delay: 2s }",
        ToxicKind::Timeout => "{ toxic: timeout, proxy: postgres, timeout: 5s }",
        ToxicKind::ResetPeer => "{ toxic: reset_peer, proxy: redis, timeout: 100ms }",
        ToxicKind::Slicer => "{ toxic: slicer, proxy: redis, average_size: 64, delay: 10ms }",
        ToxicKind::LimitData => "{ toxic: limit_data, proxy: redis, bytes: 1024 }",
    };
    format!("e.g. {example}")
}

/// A probability `0..=1`, or a percentage such as `50%`.
fn toxicity(decoder: &mut Decoder, node: &Node, what: &str) -> Option<f64> {
    let value = match &node.value {
        Value::String(_) => decoder.percent(node, what)?,
        _ => decoder.number(node, what)?,
    };
    if !(0.0..=1.0).contains(&value) {
        decoder.error(
            node.position,
            format!("`{what}` must be between 0 and 1 (or 0%..100%), got {value}"),
        );
        return None;
    }
    Some(value)
}

/// An integer in the attribute's unit, or (for times) a duration string
/// converted to that unit.
fn attribute_value(
    decoder: &mut Decoder,
    node: &Node,
    what: &str,
    attribute: &Attribute,
) -> Option<i64> {
    let value = match (&node.value, attribute.unit) {
        (Value::Int(value), _) => *value,
        (Value::String(text), Unit::Milliseconds | Unit::Microseconds) => {
            let duration = match values::duration(text) {
                Ok(duration) => duration,
                Err(message) => {
                    decoder.error(node.position, format!("`{what}`: {message}"));
                    return None;
                }
            };
            let amount = if attribute.unit == Unit::Milliseconds {
                duration.as_millis()
            } else {
                duration.as_micros()
            };
            i64::try_from(amount).unwrap_or(i64::MAX)
        }
        _ => {
            let expected = match attribute.unit {
                Unit::Milliseconds => "an integer of milliseconds or a duration such as `300ms`",
                Unit::Microseconds => "an integer of microseconds or a duration such as `10ms`",
                Unit::KilobytesPerSecond => "an integer of KB/s",
                Unit::Bytes => "an integer of bytes",
            };
            decoder.wrong_type(node, what, expected);
            return None;
        }
    };
    if value < 0 || (attribute.positive && value == 0) {
        let bound = if attribute.positive { "> 0" } else { ">= 0" };
        decoder.error(
            node.position,
            format!("`{what}` must be {bound}, got {value}"),
        );
        return None;
    }
    let (limit, reason) = match attribute.unit {
        Unit::Milliseconds => (
            i64::try_from(limits::MAX_TOXIC_TIME.as_millis()).unwrap_or(i64::MAX),
            "ms (7 days, the limit of every duration)",
        ),
        Unit::Microseconds => (
            i64::try_from(limits::MAX_TOXIC_TIME.as_micros()).unwrap_or(i64::MAX),
            "us (7 days, the limit of every duration)",
        ),
        Unit::KilobytesPerSecond => (
            limits::MAX_TOXIC_KBPS,
            "KB/s (10 GB/s, above any link a proxy relays)",
        ),
        Unit::Bytes => (
            limits::MAX_TOXIC_BYTES,
            "bytes (1 GiB, above any useful slice or cut-off)",
        ),
    };
    if value > limit {
        decoder.error(
            node.position,
            format!("`{what}` is {value}; at most {limit} {reason}"),
        );
        return None;
    }
    Some(value)
}
