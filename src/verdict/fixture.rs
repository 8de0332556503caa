//! Synthetic runs for the verdict's unit tests: a scenario written as YAML
//! (parsed by the real scenario stage), its plan, and a `RunRecord` built
//! step by step.

use std::collections::BTreeMap;

use crate::plan::Plan;
use crate::results::{
    BreakerSample, CapabilitySample, FaultRecord, HealthSample, Latency, OutcomeCounts, PhaseStats,
    PlanInfo, RunRecord, RunStatus, SCHEMA_VERSION, ScenarioInfo, SecondBucket, TargetInfo,
    TrafficRecord,
};
use crate::scenario::{Scenario, parse_str};

/// Warm-up 10 s, measured 120 s (run `[10, 130)`), one fault `redis-down`
/// over `[40, 70)`, recovery `[70, 130)`.
pub const ONE_FAULT: &str = "
name: test
traffic:
  rate: 100/s
  warmup: 10s
  duration: 120s
timeline:
  - name: redis-down
    at: 30s
    for: 30s
    fault: { kill: redis }
recovery: 30s
";

/// Parses a scenario; `extra` is appended to [`ONE_FAULT`] (e.g. an `expect` section).
pub fn scenario(extra: &str) -> Scenario {
    let text = format!("{ONE_FAULT}{extra}");
    match parse_str("test.yaml", &text) {
        Ok(scenario) => scenario,
        Err(diagnostics) => panic!("test scenario is invalid:\n{diagnostics}"),
    }
}

/// Parses a whole scenario text.
pub fn scenario_text(text: &str) -> Scenario {
    match parse_str("test.yaml", text) {
        Ok(scenario) => scenario,
        Err(diagnostics) => panic!("test scenario is invalid:\n{diagnostics}"),
    }
}

/// A completed run in which every fault was applied and reverted on time,
/// with no traffic and no observations yet.
pub fn record(scenario: &Scenario, plan: &Plan) -> RunRecord {
    RunRecord {
        schema_version: SCHEMA_VERSION,
        run_id: "test-20260101T000000Z".to_string(),
        gameday_version: "0.0.0".to_string(),
        scenario: ScenarioInfo {
            name: scenario.name.clone(),
            description: String::new(),
            file: None,
            source: String::new(),
            availability: scenario.availability,
        },
        target: TargetInfo {
            kind: "lab".to_string(),
            url: "http://127.0.0.1:1".to_string(),
            toxiproxy: None,
        },
        started_at: "2026-01-01T00:00:00Z".to_string(),
        ended_at: None,
        seed: 1,
        status: RunStatus::Completed,
        plan: PlanInfo::default(),
        preflight: Default::default(),
        faults: plan
            .faults
            .iter()
            .map(|fault| FaultRecord {
                name: fault.name.clone(),
                kind: fault.fault.kind().to_string(),
                target: fault.fault.target(),
                description: fault.fault.to_string(),
                planned_at_s: fault.window.start.as_secs_f64(),
                planned_end_s: fault.window.end.as_secs_f64(),
                maintenance: fault.maintenance,
                applied_at_s: Some(fault.window.start.as_secs_f64()),
                apply_error: None,
                reverted_at_s: Some(fault.window.end.as_secs_f64()),
                revert_error: None,
                effect: None,
                lost: None,
            })
            .collect(),
        traffic: TrafficRecord {
            target_rate: scenario.traffic.rate,
            ..TrafficRecord::default()
        },
        observations: Default::default(),
        monitoring: None,
        environment: Default::default(),
    }
}

/// Phase statistics with `ok` good and `errors` failed (HTTP error) requests.
pub fn stats(name: &str, ok: u64, errors: u64) -> PhaseStats {
    PhaseStats {
        name: name.to_string(),
        sent: ok + errors,
        outcomes: OutcomeCounts {
            ok,
            http_error: errors,
            ..OutcomeCounts::default()
        },
        ..PhaseStats::default()
    }
}

/// Sets (replaces) the statistics of a phase.
pub fn set_stats(record: &mut RunRecord, stats: PhaseStats) {
    record
        .traffic
        .phases
        .retain(|existing| existing.name != stats.name);
    record.traffic.phases.push(stats);
}

/// Records a capability map change at `t`: every capability true except `off`.
pub fn capabilities(record: &mut RunRecord, t: f64, off: &[&str]) {
    let capabilities = crate::scenario::Capability::ALL
        .iter()
        .map(|capability| {
            (
                capability.name().to_string(),
                !off.contains(&capability.name()),
            )
        })
        .collect();
    record
        .observations
        .capabilities
        .push(CapabilitySample { t, capabilities });
}

/// Records breaker states at `t`.
pub fn breakers(record: &mut RunRecord, t: f64, states: &[(&str, &str)]) {
    record.observations.breakers.push(BreakerSample {
        t,
        states: states
            .iter()
            .map(|(provider, state)| (provider.to_string(), state.to_string()))
            .collect(),
    });
}

/// Records the overall health status at `t`.
pub fn health(record: &mut RunRecord, t: f64, status: &str) {
    record.observations.health.push(HealthSample {
        t,
        status: status.to_string(),
        components: BTreeMap::new(),
    });
}

/// Appends one bucket per second in `[from, to)`, each with `ok` good and
/// `errors` failed requests and the given p95 (ms; p50 half of it, p99 and
/// max 1.5 times it).
pub fn seconds(record: &mut RunRecord, from: u32, to: u32, ok: u64, errors: u64, p95_ms: f64) {
    for t in from..to {
        record.traffic.seconds.push(SecondBucket {
            t,
            sent: ok + errors,
            dropped: 0,
            outcomes: OutcomeCounts {
                ok,
                http_error: errors,
                ..OutcomeCounts::default()
            },
            latency: Latency {
                p50_ms: p95_ms / 2.0,
                p95_ms,
                p99_ms: p95_ms * 1.5,
                max_ms: p95_ms * 1.5,
            },
            providers: BTreeMap::new(),
        });
    }
}
