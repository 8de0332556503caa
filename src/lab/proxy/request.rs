//! Decoding API request bodies as leniently as Toxiproxy's Go decoder does:
//! only the first JSON value counts (trailing bytes are ignored), unknown
//! keys are ignored, keys match case-insensitively, `null` keeps the default,
//! and integer fields refuse fractions and strings. Errors name the field and
//! what was wrong; none of this can panic.

use std::collections::BTreeMap;

use serde_json::Value;

use super::error::ApiError;
use crate::faults::toxiproxy::model::{NewProxy, ProxyUpdate, ToxicKind};

/// The fields of a JSON object, keys lower-cased, `null` values dropped.
type Fields = BTreeMap<String, Value>;

/// The first JSON value in `body`.
fn first_value(body: &[u8]) -> Result<Value, ApiError> {
    let mut values = serde_json::Deserializer::from_slice(body).into_iter::<Value>();
    match values.next() {
        None => Err(ApiError::BadBody("EOF".into())),
        Some(Ok(value)) => Ok(value),
        Some(Err(error)) if error.is_eof() => Err(ApiError::BadBody("unexpected EOF".into())),
        Some(Err(error)) => Err(ApiError::BadBody(error.to_string())),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn mismatch(value: &Value, field: &str, go_type: &str) -> ApiError {
    let found = match value {
        Value::Number(number) => format!("number {number}"),
        other => json_kind(other).to_string(),
    };
    ApiError::BadBody(format!(
        "json: cannot unmarshal {found} into Go struct field {field} of type {go_type}"
    ))
}

fn fields(value: Value, go_type: &str) -> Result<Fields, ApiError> {
    match value {
        Value::Object(map) => Ok(map
            .into_iter()
            .filter(|(_, value)| !value.is_null())
            .map(|(key, value)| (key.to_ascii_lowercase(), value))
            .collect()),
        other => Err(ApiError::BadBody(format!(
            "json: cannot unmarshal {} into Go value of type {go_type}",
            json_kind(&other)
        ))),
    }
}

fn string_field(fields: &Fields, key: &str, owner: &str) -> Result<Option<String>, ApiError> {
    match fields.get(key) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(mismatch(other, &format!("{owner}.{key}"), "string")),
    }
}

fn bool_field(fields: &Fields, key: &str, owner: &str) -> Result<Option<bool>, ApiError> {
    match fields.get(key) {
        None => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(other) => Err(mismatch(other, &format!("{owner}.{key}"), "bool")),
    }
}

fn float_field(fields: &Fields, key: &str, owner: &str) -> Result<Option<f32>, ApiError> {
    match fields.get(key) {
        None => Ok(None),
        Some(Value::Number(number)) => match number.as_f64() {
            Some(value) if value.is_finite() => Ok(Some(value as f32)),
            _ => Err(mismatch(&fields[key], &format!("{owner}.{key}"), "float32")),
        },
        Some(other) => Err(mismatch(other, &format!("{owner}.{key}"), "float32")),
    }
}

fn proxy_spec(value: Value, go_type: &str) -> Result<NewProxy, ApiError> {
    let fields = fields(value, go_type)?;
    Ok(NewProxy {
        name: string_field(&fields, "name", "Proxy")?.unwrap_or_default(),
        listen: string_field(&fields, "listen", "Proxy")?.unwrap_or_default(),
        upstream: string_field(&fields, "upstream", "Proxy")?.unwrap_or_default(),
        enabled: bool_field(&fields, "enabled", "Proxy")?.unwrap_or(true),
    })
}

/// `POST /proxies`: decoded and checked (name, then upstream).
pub(crate) fn new_proxy(body: &[u8]) -> Result<NewProxy, ApiError> {
    let spec = proxy_spec(first_value(body)?, "proxy.Proxy")?;
    if spec.name.is_empty() {
        return Err(ApiError::MissingField("name".into()));
    }
    if spec.upstream.is_empty() {
        return Err(ApiError::MissingField("upstream".into()));
    }
    Ok(spec)
}

/// `POST /populate`: an array of proxy specs, all checked before any is used.
pub(crate) fn populate(body: &[u8]) -> Result<Vec<NewProxy>, ApiError> {
    let go_type = "[]struct { Name string; Listen string; Upstream string; Enabled *bool }";
    let items = match first_value(body)? {
        Value::Array(items) => items,
        other => {
            return Err(ApiError::BadBody(format!(
                "json: cannot unmarshal {} into Go value of type {go_type}",
                json_kind(&other)
            )));
        }
    };
    let specs = items
        .into_iter()
        .map(|item| proxy_spec(item, "struct"))
        .collect::<Result<Vec<_>, _>>()?;
    for (index, spec) in specs.iter().enumerate() {
        if spec.name.is_empty() {
            return Err(ApiError::MissingField(format!(
                "name at proxy {}",
                index + 1
            )));
        }
        if spec.upstream.is_empty() {
            return Err(ApiError::MissingField(format!(
                "upstream at proxy {}",
                index + 1
            )));
        }
    }
    Ok(specs)
}

/// `PATCH /proxies/{name}`: only the fields present.
pub(crate) fn proxy_update(body: &[u8]) -> Result<ProxyUpdate, ApiError> {
    let fields = fields(first_value(body)?, "proxy.Proxy")?;
    Ok(ProxyUpdate {
        listen: string_field(&fields, "listen", "Proxy")?,
        upstream: string_field(&fields, "upstream", "Proxy")?,
        enabled: bool_field(&fields, "enabled", "Proxy")?,
    })
}

/// A toxic creation body after the top-level decode, before the checks that
/// need the proxy's state.
#[derive(Debug, Clone, Default)]
pub(crate) struct ToxicDraft {
    pub name: Option<String>,
    pub type_name: Option<String>,
    /// Absent means downstream; present must name a stream.
    pub stream: Option<String>,
    pub toxicity: Option<f32>,
    pub attributes: Option<Value>,
}

/// `POST /proxies/{name}/toxics`, top level only (attributes come later, in
/// Toxiproxy's order of checks).
pub(crate) fn toxic_draft(body: &[u8]) -> Result<ToxicDraft, ApiError> {
    let fields = fields(first_value(body)?, "toxics.ToxicWrapper")?;
    Ok(ToxicDraft {
        name: string_field(&fields, "name", "ToxicWrapper")?,
        type_name: string_field(&fields, "type", "ToxicWrapper")?,
        stream: string_field(&fields, "stream", "ToxicWrapper")?,
        toxicity: float_field(&fields, "toxicity", "ToxicWrapper")?,
        attributes: fields.get("attributes").cloned(),
    })
}

/// `PATCH /proxies/{name}/toxics/{toxic}`: toxicity and attributes only.
pub(crate) fn toxic_update(body: &[u8]) -> Result<(Option<f32>, Option<Value>), ApiError> {
    let fields = fields(first_value(body)?, "toxics.ToxicWrapper")?;
    Ok((
        float_field(&fields, "toxicity", "ToxicWrapper")?,
        fields.get("attributes").cloned(),
    ))
}

/// Merges JSON attributes onto `kind`: known keys must be integers, unknown
/// keys are ignored.
pub(crate) fn merge_attributes(
    kind: &ToxicKind,
    attributes: Option<&Value>,
) -> Result<ToxicKind, ApiError> {
    let mut merged = kind.clone();
    let go_type = go_toxic_type(kind);
    let map = match attributes {
        None | Some(Value::Null) => return Ok(merged),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(mismatch(other, &format!("{go_type}.attributes"), go_type));
        }
    };
    let known: Vec<&str> = kind.attributes().iter().map(|(key, _)| *key).collect();
    for (key, value) in map {
        let lower = key.to_ascii_lowercase();
        if !known.contains(&lower.as_str()) || value.is_null() {
            continue;
        }
        let field = format!("{go_type}.attributes.{lower}");
        let integer = match value {
            Value::Number(number) => number
                .as_i64()
                .ok_or_else(|| mismatch(value, &field, "int64"))?,
            other => return Err(mismatch(other, &field, "int64")),
        };
        merged.set_attribute(&lower, integer);
    }
    Ok(merged)
}

fn go_toxic_type(kind: &ToxicKind) -> &'static str {
    match kind {
        ToxicKind::Latency { .. } => "LatencyToxic",
        ToxicKind::Bandwidth { .. } => "BandwidthToxic",
        ToxicKind::SlowClose { .. } => "SlowCloseToxic",
        ToxicKind::Timeout { .. } => "TimeoutToxic",
        ToxicKind::ResetPeer { .. } => "ResetToxic",
        ToxicKind::Slicer { .. } => "SlicerToxic",
        ToxicKind::LimitData { .. } => "LimitDataToxic",
        ToxicKind::Noop => "NoopToxic",
    }
}

/// Refuses the attribute values on which Toxiproxy hangs or crashes.
pub(crate) fn check_sane(kind: &ToxicKind) -> Result<(), ApiError> {
    match *kind {
        ToxicKind::Bandwidth { rate } if rate <= 0 => Err(ApiError::InvalidAttribute(format!(
            "bandwidth rate must be at least 1 KB/s, got {rate} (0 would stall the connection forever)"
        ))),
        ToxicKind::Slicer { average_size, .. } if average_size <= 0 => {
            Err(ApiError::InvalidAttribute(format!(
                "slicer average_size must be at least 1 byte, got {average_size}"
            )))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_leniently_like_go() {
        let spec = new_proxy(br#"{"NAME":"a","Upstream":"b:1","toxics":[]} trailing"#).unwrap();
        assert_eq!(spec, NewProxy::new("a", "", "b:1"));
        assert_eq!(new_proxy(b"").unwrap_err(), ApiError::BadBody("EOF".into()));
        assert_eq!(
            new_proxy(br#"{"name":"a"}"#).unwrap_err(),
            ApiError::MissingField("upstream".into())
        );
        let disabled = new_proxy(br#"{"name":"a","upstream":"b:1","enabled":false}"#).unwrap();
        assert!(!disabled.enabled);
        assert!(matches!(new_proxy(b"garbage"), Err(ApiError::BadBody(_))));
        assert!(matches!(
            new_proxy(br#"{"name":5}"#),
            Err(ApiError::BadBody(_))
        ));
    }

    #[test]
    fn attributes_must_be_integers_and_merge() {
        let base = ToxicKind::Latency {
            latency: 10,
            jitter: 2,
        };
        let merged = merge_attributes(
            &base,
            Some(&serde_json::json!({"latency": 50, "other": "x"})),
        )
        .unwrap();
        assert_eq!(
            merged,
            ToxicKind::Latency {
                latency: 50,
                jitter: 2
            }
        );
        for bad in [
            serde_json::json!({"latency": 1.5}),
            serde_json::json!({"latency": "5"}),
        ] {
            let error = merge_attributes(&base, Some(&bad)).unwrap_err();
            assert_eq!(error.status(), 400);
            assert!(
                error
                    .to_string()
                    .contains("LatencyToxic.attributes.latency"),
                "{error}"
            );
        }
    }

    #[test]
    fn populate_reports_the_failing_index() {
        let error = populate(br#"[{"name":"a","upstream":"x:1"},{"name":"b"}]"#).unwrap_err();
        assert_eq!(
            error.to_string(),
            "missing required field: upstream at proxy 2"
        );
        assert!(matches!(populate(b"{}"), Err(ApiError::BadBody(_))));
    }

    #[test]
    fn crash_values_are_refused() {
        assert!(check_sane(&ToxicKind::Bandwidth { rate: 0 }).is_err());
        assert!(check_sane(&ToxicKind::Bandwidth { rate: -1 }).is_err());
        assert!(check_sane(&ToxicKind::with_defaults("slicer").unwrap()).is_err());
        assert!(
            check_sane(&ToxicKind::Latency {
                latency: -5,
                jitter: 0
            })
            .is_ok()
        );
    }
}
