//! Fault-effect evidence: did each applied fault visibly do something?
//!
//! A fault with no observable effect usually means the dependency bypasses
//! its proxy, or the fault targets the wrong thing — every expectation about
//! it is then meaningless. After the run, for each applied fault, this looks
//! in its window (plus a short grace period) for any of: a change of the
//! target's health components, capabilities or breakers; an error rate above
//! the baseline's; a p99 latency more than 1.5× the baseline's (and at least
//! 20 ms more). Pure: it reads only the record.

use crate::results::{FaultEffect, RunRecord, SecondBucket};

/// Seconds after the revert that still count as the fault's effect.
const GRACE_S: f64 = 2.0;

/// Fills `effect` of every applied fault.
pub fn assess(record: &mut RunRecord) {
    let baseline = record
        .plan
        .phases
        .iter()
        .find(|p| p.name == "baseline")
        .map(|p| (p.start_s, p.end_s));
    let base = baseline.map(|(from, to)| window_figures(&record.traffic.seconds, from, to));
    let observations = record.observations.clone();
    let seconds = record.traffic.seconds.clone();
    for fault in &mut record.faults {
        let Some(applied) = fault.applied_at_s else {
            continue;
        };
        let end = fault.reverted_at_s.unwrap_or(fault.planned_end_s) + GRACE_S;
        let mut seen = Vec::new();
        let changed = |times: Vec<f64>| times.into_iter().any(|t| t > applied && t <= end);
        if changed(observations.health.iter().map(|s| s.t).collect()) {
            seen.push("health changed");
        }
        if changed(observations.capabilities.iter().map(|s| s.t).collect()) {
            seen.push("capabilities changed");
        }
        if changed(observations.breakers.iter().map(|s| s.t).collect()) {
            seen.push("a breaker changed state");
        }
        let during = window_figures(&seconds, applied, end);
        if let Some((base_errors, base_p99)) = base {
            if during.0 > base_errors + 0.001 {
                seen.push("error rate rose");
            }
            if during.1 > base_p99 * 1.5 && during.1 > base_p99 + 20.0 {
                seen.push("p99 latency rose");
            }
        }
        fault.effect = Some(if seen.is_empty() {
            FaultEffect {
                observed: false,
                detail: "no change in health, capabilities, breakers, errors or latency: \
                         does the dependency's traffic really pass through the fault?"
                    .to_owned(),
            }
        } else {
            FaultEffect {
                observed: true,
                detail: seen.join(", "),
            }
        });
    }
}

/// (error rate, worst per-second p99 ms) over seconds in [from, to).
fn window_figures(seconds: &[SecondBucket], from: f64, to: f64) -> (f64, f64) {
    let mut errors = 0;
    let mut total = 0;
    let mut p99: f64 = 0.0;
    for bucket in seconds {
        let t = f64::from(bucket.t);
        if t + 1.0 <= from || t >= to {
            continue;
        }
        errors += bucket.outcomes.errors();
        total += bucket.outcomes.total();
        p99 = p99.max(bucket.latency.p99_ms);
    }
    let rate = if total == 0 {
        0.0
    } else {
        errors as f64 / total as f64
    };
    (rate, p99)
}
