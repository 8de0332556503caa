//! The `monitoring` section: the Prometheus (`lab` or a URL with headers),
//! an optional Alertmanager URL, and per-phase alert and PromQL
//! expectations. Phase names and alert names are checked against the rest
//! of the scenario by `scenario::validate`.

use std::collections::BTreeMap;

use super::super::monitoring::{
    AlertWatch, Monitoring, MonitoringPhase, PrometheusSource, QueryCheck,
};
use super::super::tree::{Node, Value};
use super::super::values;
use super::Decoder;
use super::sections::{decode_headers_at, http_url};

const MONITORING_KEYS: [&str; 3] = ["prometheus", "alertmanager", "expect"];
const PROMETHEUS_KEYS: [&str; 2] = ["url", "headers"];
const PHASE_KEYS: [&str; 2] = ["alerts", "queries"];
const ALERT_KEYS: [&str; 4] = ["fires_within", "resolves_within", "silent", "compare_with"];
const QUERY_KEYS: [&str; 2] = ["query", "is"];

/// The whole section, or `None` after reporting its problems.
pub(super) fn decode_monitoring(decoder: &mut Decoder, node: &Node) -> Option<Monitoring> {
    let fields = decoder.fields(node, "monitoring", &MONITORING_KEYS)?;
    let prometheus = fields
        .required(decoder, "prometheus")
        .and_then(|node| decode_prometheus(decoder, node));
    let alertmanager = match fields.get("alertmanager") {
        Some(node) => http_url(decoder, node, "monitoring.alertmanager").map(Some),
        None => Some(None),
    };
    let expect = match fields.get("expect") {
        Some(node) => decode_expect(decoder, node),
        None => Some(Vec::new()),
    };
    Some(Monitoring {
        prometheus: prometheus?,
        alertmanager: alertmanager?,
        expect: expect?,
    })
}

/// `lab`, or `{ url, headers }`.
fn decode_prometheus(decoder: &mut Decoder, node: &Node) -> Option<PrometheusSource> {
    if let Value::String(_) = node.value {
        decoder.choice(node, "monitoring.prometheus", &["lab"])?;
        return Some(PrometheusSource::Lab);
    }
    let fields = decoder.fields(node, "monitoring.prometheus", &PROMETHEUS_KEYS)?;
    let url = fields
        .required(decoder, "url")
        .and_then(|url| http_url(decoder, url, "monitoring.prometheus.url"));
    let headers = match fields.get("headers") {
        Some(headers) => decode_headers_at(decoder, headers, "monitoring.prometheus.headers"),
        None => Some(Vec::new()),
    };
    Some(PrometheusSource::Url {
        url: url?,
        headers: headers?,
    })
}

fn decode_expect(decoder: &mut Decoder, node: &Node) -> Option<Vec<MonitoringPhase>> {
    let entries = match &node.value {
        Value::Map(entries) => entries.as_slice(),
        Value::Null => &[],
        _ => {
            decoder.wrong_type(
                node,
                "monitoring.expect",
                "a mapping of phase names to expectations",
            );
            return None;
        }
    };
    let mut phases = Vec::new();
    let mut ok = true;
    for (key, value) in entries {
        let Value::String(phase) = &key.value else {
            continue;
        };
        match decode_phase(decoder, value, phase) {
            Some(expectations) => phases.push(expectations),
            None => ok = false,
        }
    }
    ok.then_some(phases)
}

fn decode_phase(decoder: &mut Decoder, node: &Node, phase: &str) -> Option<MonitoringPhase> {
    let what = format!("monitoring.expect.{phase}");
    let fields = decoder.fields(node, &what, &PHASE_KEYS)?;
    let alerts = match fields.get("alerts") {
        Some(node) => decode_alerts(decoder, node, &fields.path("alerts")),
        None => Some(BTreeMap::new()),
    };
    let queries = match fields.get("queries") {
        Some(node) => decode_queries(decoder, node, &fields.path("queries")),
        None => Some(Vec::new()),
    };
    Some(MonitoringPhase {
        phase: phase.to_string(),
        alerts: alerts?,
        queries: queries?,
    })
}

/// Alert name → `silent`, or `{ fires_within, resolves_within, silent }`.
fn decode_alerts(
    decoder: &mut Decoder,
    node: &Node,
    what: &str,
) -> Option<BTreeMap<String, AlertWatch>> {
    let Value::Map(entries) = &node.value else {
        decoder.wrong_type(node, what, "a mapping of alert names to expectations");
        return None;
    };
    let mut alerts = BTreeMap::new();
    let mut ok = true;
    for (key, value) in entries {
        let Value::String(name) = &key.value else {
            continue;
        };
        let path = format!("{what}.{name}");
        match decode_alert(decoder, value, &path) {
            Some(watch) => {
                alerts.insert(name.clone(), watch);
            }
            None => ok = false,
        }
    }
    ok.then_some(alerts)
}

fn decode_alert(decoder: &mut Decoder, node: &Node, what: &str) -> Option<AlertWatch> {
    if let Value::String(_) = node.value {
        decoder.choice(node, "alert expectation", &["silent"])?;
        return Some(AlertWatch {
            silent: true,
            ..AlertWatch::default()
        });
    }
    let fields = decoder.fields(node, what, &ALERT_KEYS)?;
    let mut watch = AlertWatch::default();
    let mut ok = true;
    for (key, _, value) in fields.iter() {
        if value.value == Value::Null {
            continue;
        }
        let path = fields.path(key);
        ok &= match key {
            "fires_within" => decoder
                .duration(value, &path)
                .map(|within| watch.fires_within = Some(within))
                .is_some(),
            "resolves_within" => decoder
                .duration(value, &path)
                .map(|within| watch.resolves_within = Some(within))
                .is_some(),
            "compare_with" => decoder
                .string(value, &path)
                .map(|rule| watch.compare_with = Some(rule))
                .is_some(),
            _ => decoder
                .boolean(value, &path)
                .map(|silent| watch.silent = silent)
                .is_some(),
        };
    }
    if ok && watch.silent && (watch.fires_within.is_some() || watch.resolves_within.is_some()) {
        decoder.error_with_help(
            node.position,
            format!("`{what}`: an alert cannot be both `silent` and expected to fire or resolve"),
            "expect `silent` in one phase and `fires_within` in another".to_string(),
        );
        ok = false;
    }
    if ok && !watch.silent && watch.fires_within.is_none() && watch.resolves_within.is_none() {
        decoder.error_with_help(
            node.position,
            format!("`{what}` expects nothing"),
            "give `fires_within: 2m`, `resolves_within: 5m` or `silent: true`".to_string(),
        );
        ok = false;
    }
    ok.then_some(watch)
}

/// A list of `{ query: <PromQL>, is: "<op> <number>" }`.
fn decode_queries(decoder: &mut Decoder, node: &Node, what: &str) -> Option<Vec<QueryCheck>> {
    let items = decoder.sequence(node, what)?;
    let mut queries = Vec::new();
    let mut ok = true;
    for (index, item) in items.iter().enumerate() {
        let path = format!("{what}[{index}]");
        let Some(fields) = decoder.fields(item, &path, &QUERY_KEYS) else {
            ok = false;
            continue;
        };
        let query = fields
            .required(decoder, "query")
            .and_then(|query| decoder.string(query, &fields.path("query")));
        let query = match query {
            Some(text) if text.trim().is_empty() => {
                if let Some(node) = fields.get("query") {
                    decoder.error(node.position, format!("`{path}.query` is empty"));
                }
                None
            }
            other => other,
        };
        let comparison = fields.required(decoder, "is").and_then(|is| {
            decoder.text_value(
                is,
                &fields.path("is"),
                |text| values::comparison(text, number, "< 0.01"),
                |number| format!("write a comparison such as `< {number}`"),
            )
        });
        match (query, comparison) {
            (Some(query), Some(comparison)) => queries.push(QueryCheck { query, comparison }),
            _ => ok = false,
        }
    }
    ok.then_some(queries)
}

/// A plain finite number (`0.01`, `1e3`, `5`).
fn number(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        _ => Err(format!("`{}` is not a number", text.trim())),
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::monitoring::PrometheusSource;
    use crate::scenario::parse_str;

    const BASE: &str = "
name: t
traffic: { rate: 10/s, duration: 60s }
timeline:
  - name: primary-down
    at: 10s
    for: 20s
    fault: { llm: primary, mode: { mode: errors, rate: 1.0, status: 503 } }
";

    fn errors(monitoring: &str) -> String {
        match parse_str("t.yaml", &format!("{BASE}{monitoring}")) {
            Ok(_) => String::new(),
            Err(diagnostics) => diagnostics.to_string(),
        }
    }

    #[test]
    fn a_monitoring_section_decodes() {
        let text = format!(
            "{BASE}
monitoring:
  prometheus: {{ url: 'https://prom.example.com/', headers: {{ Authorization: 'Bearer ${{PROM_TOKEN}}' }} }}
  alertmanager: http://am:9093
  expect:
    baseline:
      alerts: {{ LlmProviderDown: silent }}
    primary-down:
      alerts: {{ LlmProviderDown: {{ fires_within: 2m, resolves_within: 5m }} }}
      queries:
        - query: up
          is: '>= 1'
"
        );
        let scenario = parse_str("t.yaml", &text).expect("valid");
        let monitoring = scenario.monitoring.expect("a monitoring section");
        match &monitoring.prometheus {
            PrometheusSource::Url { url, headers } => {
                assert_eq!(url, "https://prom.example.com");
                assert_eq!(headers[0].template, "Bearer ${PROM_TOKEN}");
            }
            other => panic!("{other:?}"),
        }
        assert!(monitoring.has_expectations());
        assert!(monitoring.expect[0].alerts["LlmProviderDown"].silent);
        let down = &monitoring.expect[1];
        assert_eq!(
            down.alerts["LlmProviderDown"].fires_within,
            Some(std::time::Duration::from_secs(120))
        );
        assert_eq!(down.queries[0].comparison.value, 1.0);
    }

    #[test]
    fn structural_problems_are_located_and_explained() {
        let text = errors(
            "
monitoring:
  prometheus: lab
  expect:
    primary-down:
      alerts: { Y: { silent: true, fires_within: 10s }, Z: louder }
      queries:
        - query: up
          is: 'about 1'
",
        );
        assert!(
            text.contains("both `silent` and expected to fire"),
            "{text}"
        );
        assert!(
            text.contains("unknown alert expectation `louder`"),
            "{text}"
        );
        assert!(text.contains("has no comparison operator"), "{text}");
        assert!(text.contains("t.yaml:14:"), "located: {text}");
    }

    #[test]
    fn phases_and_deadlines_are_checked_against_the_timeline() {
        let text = errors(
            "
monitoring:
  prometheus: lab
  expect:
    baseline:
      alerts: { LlmProviderDown: { fires_within: 30s } }
    primary-dwn:
      alerts: { X: silent }
    primary-down:
      alerts: { Y: { fires_within: 10s, compare_with: no-such-rule } }
",
        );
        assert!(
            text.contains("`fires_within` counts from a fault's apply"),
            "{text}"
        );
        assert!(text.contains("there is no phase `primary-dwn`"), "{text}");
        assert!(text.contains("did you mean `primary-down`?"), "{text}");
        assert!(
            text.contains("there is no alert rule `no-such-rule`"),
            "{text}"
        );
    }

    #[test]
    fn the_lab_prometheus_needs_the_lab() {
        let text = errors(
            "
target: { url: http://platform:8080 }
monitoring:
  prometheus: lab
",
        );
        assert!(text.contains("the target is not the lab"), "{text}");
    }
}
