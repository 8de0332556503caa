//! The `expect` section: per-phase checks on error rate, latency,
//! capabilities, breakers, provider shares, recovery time, budget and alerts.
//!
//! Phase names are not checked here (that needs the timeline; see
//! `scenario::validate`); everything a single expectation says is.

use std::collections::BTreeMap;

use super::super::diagnostic::suggest;
use super::super::model::{
    AlertExpectation, BreakerExpectation, BreakerState, BudgetExpectation, Capability,
    CapabilityExpectation, PhaseExpectations,
};
use super::super::tree::{Node, Value};
use super::Decoder;

const PHASE_KEYS: [&str; 13] = [
    "error_rate",
    "p50",
    "p95",
    "p99",
    "max",
    "ttft_p95",
    "capabilities",
    "breakers",
    "providers",
    "recovery_time",
    "budget",
    "alerts",
    "conclusive",
];

/// The phases whose expectations decoded, and whether all of them did;
/// `None` when `expect` is not a mapping.
pub(super) fn decode_expectations(
    decoder: &mut Decoder,
    node: &Node,
) -> Option<(Vec<PhaseExpectations>, bool)> {
    let entries = match &node.value {
        Value::Map(entries) => entries.as_slice(),
        Value::Null => &[],
        _ => {
            decoder.wrong_type(node, "expect", "a mapping of phase names to expectations");
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
    Some((phases, ok))
}

fn decode_phase(decoder: &mut Decoder, node: &Node, phase: &str) -> Option<PhaseExpectations> {
    let what = format!("expect.{phase}");
    let fields = decoder.fields(node, &what, &PHASE_KEYS)?;
    let mut expectations = PhaseExpectations {
        phase: phase.to_string(),
        ..PhaseExpectations::default()
    };
    let mut ok = true;
    for (key, _, value) in fields.iter() {
        if value.value == Value::Null {
            continue;
        }
        let path = fields.path(key);
        let decoded = match key {
            "error_rate" => decoder
                .percent_comparison(value, &path)
                .map(|bound| expectations.error_rate = Some(bound)),
            "p50" | "p95" | "p99" | "max" | "ttft_p95" | "recovery_time" => {
                decoder.duration_comparison(value, &path).map(|bound| {
                    let slot = match key {
                        "p50" => &mut expectations.p50,
                        "p95" => &mut expectations.p95,
                        "p99" => &mut expectations.p99,
                        "max" => &mut expectations.max,
                        "ttft_p95" => &mut expectations.ttft_p95,
                        _ => &mut expectations.recovery_time,
                    };
                    *slot = Some(bound);
                })
            }
            "capabilities" => decode_capabilities(decoder, value, &path)
                .map(|capabilities| expectations.capabilities = capabilities),
            "breakers" => decode_breakers(decoder, value, &path)
                .map(|breakers| expectations.breakers = breakers),
            "providers" => decode_providers(decoder, value, &path)
                .map(|providers| expectations.providers = providers),
            "budget" => {
                match decoder.choice(value, "budget expectation", &["within", "exceeded"]) {
                    Some("within") => Some(BudgetExpectation::Within),
                    Some(_) => Some(BudgetExpectation::Exceeded),
                    None => None,
                }
                .map(|budget| expectations.budget = Some(budget))
            }
            "alerts" => {
                decode_alerts(decoder, value, &path).map(|alerts| expectations.alerts = alerts)
            }
            _ => decoder
                .boolean(value, &path)
                .map(|conclusive| expectations.conclusive = Some(conclusive)),
        };
        ok &= decoded.is_some();
    }
    ok.then_some(expectations)
}

fn capability_names() -> Vec<&'static str> {
    Capability::ALL
        .iter()
        .map(|capability| capability.name())
        .collect()
}

/// `all`, or a mapping of capability names (and optionally `all` + `within`).
fn decode_capabilities(
    decoder: &mut Decoder,
    node: &Node,
    what: &str,
) -> Option<BTreeMap<Capability, CapabilityExpectation>> {
    let mut capabilities = BTreeMap::new();
    if let Value::String(_) = node.value {
        decoder.choice(node, what, &["all"])?;
        for capability in Capability::ALL {
            capabilities.insert(capability, CapabilityExpectation::Holds(true));
        }
        return Some(capabilities);
    }
    let mut known = capability_names();
    known.extend(["all", "within"]);
    let fields = decoder.fields(node, what, &known)?;
    let mut ok = true;
    // `all` first, so that named capabilities override it.
    let within = match fields.get("within") {
        Some(value) => decoder.duration(value, &fields.path("within")).map(Some),
        None => Some(None),
    };
    match (fields.get("all"), within) {
        (Some(all), Some(within)) => match decoder.boolean(all, &fields.path("all")) {
            Some(value) => {
                let expectation = match (value, within) {
                    (true, Some(within)) => CapabilityExpectation::Returns { within },
                    (false, Some(within)) => CapabilityExpectation::Becomes {
                        value: false,
                        within,
                    },
                    (value, None) => CapabilityExpectation::Holds(value),
                };
                for capability in Capability::ALL {
                    capabilities.insert(capability, expectation);
                }
            }
            None => ok = false,
        },
        (None, Some(Some(_))) => {
            if let Some(within) = fields.get("within") {
                decoder.error_with_help(
                    within.position,
                    format!("`{what}.within` only applies together with `all`"),
                    "write `{ all: true, within: 15s }`, or give each capability \
                     `{ becomes: false, within: 5s }`"
                        .to_string(),
                );
            }
            ok = false;
        }
        (_, None) => ok = false,
        (None, Some(None)) => {}
    }
    for capability in Capability::ALL {
        if let Some(value) = fields.get(capability.name()) {
            match decode_capability(decoder, value, &fields.path(capability.name())) {
                Some(expectation) => {
                    capabilities.insert(capability, expectation);
                }
                None => ok = false,
            }
        }
    }
    ok.then_some(capabilities)
}

const CAPABILITY_KEYS: [&str; 3] = ["becomes", "within", "returns_within"];

/// `true`/`false`, `{ becomes: false, within: 5s }` or `{ returns_within: 10s }`.
fn decode_capability(
    decoder: &mut Decoder,
    node: &Node,
    what: &str,
) -> Option<CapabilityExpectation> {
    if let Value::Bool(value) = node.value {
        return Some(CapabilityExpectation::Holds(value));
    }
    if !matches!(node.value, Value::Map(_)) {
        decoder.wrong_type(
            node,
            what,
            "`true`, `false`, `{ becomes: false, within: 5s }` or `{ returns_within: 10s }`",
        );
        return None;
    }
    let fields = decoder.fields(node, what, &CAPABILITY_KEYS)?;
    if let Some(returns) = fields.get("returns_within") {
        if fields.get("becomes").is_some() {
            decoder.error(
                node.position,
                format!("`{what}` has both `becomes` and `returns_within`; pick one"),
            );
            return None;
        }
        let within = decoder.duration(returns, &fields.path("returns_within"))?;
        return Some(CapabilityExpectation::Returns { within });
    }
    let value = fields
        .required(decoder, "becomes")
        .and_then(|value| decoder.boolean(value, &fields.path("becomes")));
    let within = fields
        .required(decoder, "within")
        .and_then(|within| decoder.duration(within, &fields.path("within")));
    Some(CapabilityExpectation::Becomes {
        value: value?,
        within: within?,
    })
}

const BREAKER_KEYS: [&str; 3] = ["opens_within", "closes_within", "stays"];

fn decode_breakers(
    decoder: &mut Decoder,
    node: &Node,
    what: &str,
) -> Option<BTreeMap<String, BreakerExpectation>> {
    let Value::Map(entries) = &node.value else {
        decoder.wrong_type(
            node,
            what,
            "a mapping of provider names to breaker expectations",
        );
        return None;
    };
    let mut breakers = BTreeMap::new();
    let mut ok = true;
    for (key, value) in entries {
        let Value::String(provider) = &key.value else {
            continue;
        };
        let path = format!("{what}.{provider}");
        let Some(fields) = decoder.fields(value, &path, &BREAKER_KEYS) else {
            ok = false;
            continue;
        };
        let given: Vec<_> = fields.iter().collect();
        let [(kind, _, setting)] = given.as_slice() else {
            decoder.error_with_help(
                value.position,
                format!(
                    "`{path}` must have exactly one of `opens_within`, `closes_within`, `stays`"
                ),
                "e.g. `primary: { opens_within: 10s }`".to_string(),
            );
            ok = false;
            continue;
        };
        let setting_path = format!("{path}.{kind}");
        let expectation = match *kind {
            "opens_within" => decoder
                .duration(setting, &setting_path)
                .map(BreakerExpectation::OpensWithin),
            "closes_within" => decoder
                .duration(setting, &setting_path)
                .map(BreakerExpectation::ClosesWithin),
            _ => match decoder.choice(setting, "breaker state", &["closed", "open", "half_open"]) {
                Some("closed") => Some(BreakerExpectation::Stays(BreakerState::Closed)),
                Some("open") => Some(BreakerExpectation::Stays(BreakerState::Open)),
                Some(_) => Some(BreakerExpectation::Stays(BreakerState::HalfOpen)),
                None => None,
            },
        };
        match expectation {
            Some(expectation) => {
                breakers.insert(provider.clone(), expectation);
            }
            None => ok = false,
        }
    }
    ok.then_some(breakers)
}

fn decode_providers(
    decoder: &mut Decoder,
    node: &Node,
    what: &str,
) -> Option<BTreeMap<String, super::super::model::Comparison<f64>>> {
    let Value::Map(entries) = &node.value else {
        decoder.wrong_type(
            node,
            what,
            "a mapping of provider names to shares such as `\"> 90%\"`",
        );
        return None;
    };
    let mut providers = BTreeMap::new();
    let mut ok = true;
    for (key, value) in entries {
        let Value::String(provider) = &key.value else {
            continue;
        };
        match decoder.percent_comparison(value, &format!("{what}.{provider}")) {
            Some(share) => {
                providers.insert(provider.clone(), share);
            }
            None => ok = false,
        }
    }
    ok.then_some(providers)
}

const ALERT_STATES: [&str; 2] = ["fired", "not_fired"];

fn decode_alerts(
    decoder: &mut Decoder,
    node: &Node,
    what: &str,
) -> Option<BTreeMap<String, AlertExpectation>> {
    let Value::Map(entries) = &node.value else {
        decoder.wrong_type(
            node,
            what,
            "a mapping of alert names to `fired`, `not_fired` or `{ fired_within: 2m }`",
        );
        return None;
    };
    let mut alerts = BTreeMap::new();
    let mut ok = true;
    for (key, value) in entries {
        let Value::String(alert) = &key.value else {
            continue;
        };
        let path = format!("{what}.{alert}");
        let expectation = match &value.value {
            Value::String(state) => match state.as_str() {
                "fired" => Some(AlertExpectation::Fired),
                "not_fired" => Some(AlertExpectation::NotFired),
                other => {
                    decoder.error_with_help(
                        value.position,
                        format!("unknown alert expectation `{other}`"),
                        format!(
                            "{} (or `{{ fired_within: 2m }}`)",
                            suggest(other, &ALERT_STATES)
                        ),
                    );
                    None
                }
            },
            _ => decoder
                .fields(value, &path, &["fired_within"])
                .and_then(|fields| fields.required(decoder, "fired_within"))
                .and_then(|within| decoder.duration(within, &format!("{path}.fired_within")))
                .map(AlertExpectation::FiredWithin),
        };
        match expectation {
            Some(expectation) => {
                alerts.insert(alert.clone(), expectation);
            }
            None => ok = false,
        }
    }
    ok.then_some(alerts)
}
