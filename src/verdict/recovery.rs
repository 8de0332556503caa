//! `recovery_time`: how long the target took to be itself again after a
//! fault was reverted.
//!
//! Definition: the time from the reference revert (for a fault phase, that
//! fault's journaled revert; for any other phase, the last revert of the
//! run) to the first moment from which, until the end of the observation,
//!
//! - every capability has the value it had at the end of the baseline (the
//!   last capability sample before the first fault; all `true` if there is
//!   none), and
//! - the overall health status is the one it had then (`healthy` if there
//!   is none; ignored when the target reported no health at all).
//!
//! "From which on" matters: a target that flaps back to degraded after a
//! first good poll has not recovered until it stops flapping. Error rates
//! are deliberately not part of it: `expect.recovery.error_rate` judges
//! them with their confidence interval, which a per-second rule cannot.
//! Moments are the observer's samples, so the result includes up to one
//! polling interval of observation delay.

use std::collections::BTreeMap;

use crate::plan::PhaseKind;
use crate::results::{Check, CheckStatus};
use crate::scenario::{Op, PhaseExpectations};

use super::context::Context;
use super::format;
use super::track::Track;

/// What "recovered" means for this run.
struct Baseline {
    capabilities: BTreeMap<String, bool>,
    health: String,
}

/// When the target was last seen in its baseline state for good, after
/// `from`; `Err` with the last mismatch time if it never settled.
fn recovered_at(context: &Context<'_>, from: f64) -> Result<f64, f64> {
    let observations = &context.record.observations;
    let baseline = baseline(context);
    let capability_tracks: Vec<(&String, bool, Track<bool>)> = baseline
        .capabilities
        .iter()
        .map(|(name, value)| {
            (
                name,
                *value,
                super::capabilities::track(context, name.as_str()),
            )
        })
        .collect();
    let health = Track::new(
        observations
            .health
            .iter()
            .map(|sample| (sample.t, Some(sample.status.as_str()))),
    );
    let check_health = health.is_observed();
    let until = context.observed_until;
    let is_back = |t: f64| {
        capability_tracks
            .iter()
            .all(|(_, wanted, track)| track.at(t) == Some(wanted))
            && (!check_health || health.at(t) == Some(&baseline.health.as_str()))
    };
    let mut moments: Vec<f64> = vec![from];
    for (_, _, track) in &capability_tracks {
        moments.extend(track.changes_between(from, until));
    }
    moments.extend(health.changes_between(from, until));
    moments.sort_by(f64::total_cmp);
    moments.dedup();
    // The first moment after the last one at which the target was not back.
    match moments.iter().rposition(|t| !is_back(*t)) {
        None => Ok(from),
        Some(last_bad) => moments.get(last_bad + 1).copied().ok_or(moments[last_bad]),
    }
}

fn baseline(context: &Context<'_>) -> Baseline {
    let observations = &context.record.observations;
    let first_apply = context.first_apply().unwrap_or(f64::INFINITY);
    let capabilities = observations
        .capabilities
        .iter()
        .filter(|sample| sample.t < first_apply)
        .max_by(|a, b| a.t.total_cmp(&b.t))
        .map(|sample| sample.capabilities.clone())
        .unwrap_or_else(|| {
            crate::scenario::Capability::ALL
                .iter()
                .map(|capability| (capability.name().to_string(), true))
                .collect()
        });
    let health = observations
        .health
        .iter()
        .filter(|sample| sample.t < first_apply)
        .max_by(|a, b| a.t.total_cmp(&b.t))
        .map_or_else(|| "healthy".to_string(), |sample| sample.status.clone());
    Baseline {
        capabilities,
        health,
    }
}

/// The `recovery_time` check of a phase, if it has one.
pub fn check(context: &Context<'_>, expectations: &PhaseExpectations) -> Option<Check> {
    let bound = expectations.recovery_time.as_ref()?;
    let phase = expectations.phase.as_str();
    let mut check = Check {
        name: "recovery_time".to_string(),
        phase: phase.to_string(),
        status: CheckStatus::Inconclusive,
        expected: format::duration_bound(bound),
        observed: String::new(),
        confidence: None,
    };
    let reference = match context.phase(phase) {
        Some(found) if found.kind == PhaseKind::Fault => context.fault_end(phase),
        _ => context.last_revert(),
    };
    let Some(reference) = reference else {
        check.observed = "no fault was reverted".to_string();
        return Some(check);
    };
    if context.record.observations.capabilities.is_empty() {
        check.observed = "the target's capabilities were never observed".to_string();
        return Some(check);
    }
    let limit = bound.value.as_secs_f64();
    match recovered_at(context, reference) {
        Ok(at) => {
            let took = at - reference;
            check.status = if bound.op.holds(&took, &limit) {
                CheckStatus::Pass
            } else {
                CheckStatus::Fail
            };
            check.observed = format!(
                "{} (capabilities and health back to baseline at {})",
                format::seconds(took),
                format::seconds(at)
            );
        }
        Err(last_seen) => {
            let observed_for = context.observed_until - reference;
            check.observed = format!(
                "not recovered {} after the revert (still off baseline at {})",
                format::seconds(observed_for),
                format::seconds(last_seen)
            );
            // Recovery takes longer than `observed_for`: decided only if
            // the bound is below that.
            let longer_than = |limit_s: f64| observed_for >= limit_s;
            check.status = match bound.op {
                Op::Lt | Op::Le if longer_than(limit) => CheckStatus::Fail,
                Op::Gt | Op::Ge if longer_than(limit) => CheckStatus::Pass,
                _ => CheckStatus::Inconclusive,
            };
        }
    }
    Some(check)
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;
    use crate::plan::Plan;
    use crate::results::RunRecord;

    fn judge(edit: impl FnOnce(&mut RunRecord)) -> Check {
        let scenario = fixture::scenario("expect:\n  recovery:\n    recovery_time: < 10s\n");
        let plan = Plan::from_scenario(&scenario);
        let mut record = fixture::record(&scenario, &plan);
        edit(&mut record);
        let context = Context::new(&scenario, &plan, &record);
        check(&context, &scenario.expect[0]).unwrap()
    }

    #[test]
    fn recovery_ends_when_capabilities_and_health_are_back_for_good() {
        let check = judge(|record| {
            fixture::capabilities(record, 0.3, &[]);
            fixture::health(record, 0.3, "healthy");
            fixture::capabilities(record, 41.0, &["caching"]);
            fixture::health(record, 41.0, "degraded");
            fixture::capabilities(record, 72.0, &[]);
            // A flap: degraded again, then healthy for good at 76 s.
            fixture::health(record, 73.0, "healthy");
            fixture::health(record, 74.0, "degraded");
            fixture::health(record, 76.0, "healthy");
        });
        assert_eq!(check.status, CheckStatus::Pass, "{check:#?}");
        assert_eq!(
            check.observed,
            "6.0 s (capabilities and health back to baseline at 76.0 s)"
        );
    }

    #[test]
    fn a_target_that_never_recovers_fails() {
        let check = judge(|record| {
            fixture::capabilities(record, 0.3, &[]);
            fixture::capabilities(record, 41.0, &["caching"]);
        });
        assert_eq!(check.status, CheckStatus::Fail);
        assert!(
            check.observed.starts_with("not recovered 60.0 s"),
            "{}",
            check.observed
        );
    }

    #[test]
    fn a_slow_recovery_fails_and_an_unobserved_one_is_inconclusive() {
        let check = judge(|record| {
            fixture::capabilities(record, 0.3, &[]);
            fixture::capabilities(record, 41.0, &["caching"]);
            fixture::capabilities(record, 85.0, &[]);
        });
        assert_eq!(check.status, CheckStatus::Fail);
        assert!(check.observed.starts_with("15.0 s"), "{}", check.observed);
        assert_eq!(judge(|_| {}).status, CheckStatus::Inconclusive);
    }

    #[test]
    fn the_baseline_state_is_the_target_of_recovery() {
        // A target whose analytics is always off has recovered when the
        // rest is back, and a target that was never healthy is back when
        // it is degraded as before.
        let check = judge(|record| {
            fixture::capabilities(record, 0.3, &["analytics"]);
            fixture::health(record, 0.3, "degraded");
            fixture::capabilities(record, 41.0, &["analytics", "caching"]);
            fixture::health(record, 41.0, "unhealthy");
            fixture::capabilities(record, 71.0, &["analytics"]);
            fixture::health(record, 72.0, "degraded");
        });
        assert_eq!(check.status, CheckStatus::Pass, "{check:#?}");
        assert!(check.observed.starts_with("2.0 s"), "{}", check.observed);
    }
}
