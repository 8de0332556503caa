//! Capability expectations against the observer's capability timeline.
//!
//! - `true` / `false` (`Holds`): the capability has that value at the start
//!   of each of the phase's windows and at every change inside them.
//! - `becomes X within D`: it has value X at some moment no later than D
//!   after the phase start (for a fault phase, the journaled apply time)
//!   and keeps it until the phase ends.
//! - `returns within D`: it is true no later than D after the phase start
//!   (for `recovery`, the journaled last revert) and stays true until the
//!   phase ends.
//!
//! Deadlines are judged on when the observer *saw* the change, so they
//! include up to one polling interval of observation delay.

use crate::plan::PhaseKind;
use crate::results::{Check, CheckStatus};
use crate::scenario::{Capability, CapabilityExpectation, PhaseExpectations, format_duration};

use super::context::Context;
use super::states::{Deadline, Reference, holds_throughout, reaches};
use super::track::Track;

/// The capability checks of one phase's expectations, in capability order.
pub fn checks(context: &Context<'_>, expectations: &PhaseExpectations) -> Vec<Check> {
    expectations
        .capabilities
        .iter()
        .map(|(capability, expectation)| {
            check(context, &expectations.phase, *capability, expectation)
        })
        .collect()
}

/// The expectation as written.
fn expected(expectation: &CapabilityExpectation) -> String {
    match expectation {
        CapabilityExpectation::Holds(value) => value.to_string(),
        CapabilityExpectation::Becomes { value, within } => {
            format!("becomes {value} within {}", format_duration(*within))
        }
        CapabilityExpectation::Returns { within } => {
            format!("returns within {}", format_duration(*within))
        }
    }
}

/// The track of one capability.
pub fn track(context: &Context<'_>, capability: &str) -> Track<bool> {
    Track::new(
        context
            .record
            .observations
            .capabilities
            .iter()
            .map(|sample| (sample.t, sample.capabilities.get(capability).copied())),
    )
}

fn check(
    context: &Context<'_>,
    phase_name: &str,
    capability: Capability,
    expectation: &CapabilityExpectation,
) -> Check {
    let mut check = Check {
        name: format!("capability {capability}"),
        phase: phase_name.to_string(),
        status: CheckStatus::Inconclusive,
        expected: expected(expectation),
        observed: String::new(),
        confidence: None,
    };
    let Some(phase) = context.phase(phase_name) else {
        check.observed = format!("the plan has no phase `{phase_name}`");
        return check;
    };
    let track = track(context, capability.name());
    if !track.is_observed() {
        check.observed = "never reported by the target's capabilities route".to_string();
        return check;
    }
    let spans = context.spans(phase);
    let phase_end = spans.last().map(|span| span.end);
    let start = context.phase_start(phase);
    let reference = Reference {
        at: start,
        name: match phase.kind {
            PhaseKind::Fault => "the fault was applied",
            PhaseKind::Recovery => "the last revert",
            _ => "the phase start",
        },
    };
    let show = |value: &bool| value.to_string();
    let (status, observed) = match *expectation {
        CapabilityExpectation::Holds(value) => {
            let (status, mut observed) = holds_throughout(
                &track,
                &spans,
                |seen| *seen == value,
                show,
                &value.to_string(),
            );
            // `caching: false` in a fault phase fails at the apply, before
            // the platform can react: the author meant `becomes`.
            // `caching: false` in a fault phase (or `true` in recovery)
            // fails at the apply (revert), before the platform can react:
            // the author meant a deadline.
            let changed_at_start = track.at(start).is_some_and(|seen| *seen != value);
            if status == CheckStatus::Fail && changed_at_start {
                match (phase.kind, value) {
                    (PhaseKind::Fault, _) => observed.push_str(&format!(
                        "; for a change the fault causes, write `{{ becomes: {value}, within: 5s }}`"
                    )),
                    (PhaseKind::Recovery, true) => observed.push_str(
                        "; for a return after the revert, write `{ returns_within: 15s }`",
                    ),
                    _ => {}
                }
            }
            (status, observed)
        }
        CapabilityExpectation::Becomes { value, within } => reaches(
            &track,
            Deadline {
                reference,
                within: within.as_secs_f64(),
                keep_until: phase_end,
                observed_until: context.observed_until,
            },
            |seen| *seen == value,
            show,
            &value.to_string(),
        ),
        CapabilityExpectation::Returns { within } => reaches(
            &track,
            Deadline {
                reference,
                within: within.as_secs_f64(),
                keep_until: phase_end,
                observed_until: context.observed_until,
            },
            |seen| *seen,
            show,
            "true",
        ),
    };
    check.status = status;
    check.observed = observed;
    check
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;
    use crate::plan::Plan;

    const EXPECT: &str = "
expect:
  baseline:
    capabilities: all
  redis-down:
    capabilities:
      caching: { becomes: false, within: 5s }
      chat: true
  recovery:
    capabilities: { all: true, within: 15s }
";

    fn run(edit: impl FnOnce(&mut crate::results::RunRecord)) -> Vec<Check> {
        let scenario = fixture::scenario(EXPECT);
        let plan = Plan::from_scenario(&scenario);
        let mut record = fixture::record(&scenario, &plan);
        edit(&mut record);
        let context = Context::new(&scenario, &plan, &record);
        scenario
            .expect
            .iter()
            .flat_map(|expectations| checks(&context, expectations))
            .collect()
    }

    fn find<'a>(checks: &'a [Check], phase: &str, name: &str) -> &'a Check {
        checks
            .iter()
            .find(|check| check.phase == phase && check.name == name)
            .unwrap_or_else(|| panic!("no {phase}/{name} in {checks:#?}"))
    }

    #[test]
    fn a_redis_kill_that_degrades_and_recovers_on_time_passes() {
        let checks = run(|record| {
            fixture::capabilities(record, 0.3, &[]);
            fixture::capabilities(record, 41.2, &["caching", "real_time_usage"]);
            fixture::capabilities(record, 73.4, &[]);
        });
        assert!(
            checks.iter().all(|check| check.status == CheckStatus::Pass),
            "{checks:#?}"
        );
        let caching = find(&checks, "redis-down", "capability caching");
        assert_eq!(caching.expected, "becomes false within 5s");
        assert_eq!(
            caching.observed,
            "false 1.2 s after the fault was applied (at 41.2 s)"
        );
        let back = find(&checks, "recovery", "capability caching");
        assert_eq!(back.expected, "returns within 15s");
        assert_eq!(
            back.observed,
            "true 3.4 s after the last revert (at 73.4 s)"
        );
    }

    #[test]
    fn late_degradation_and_slow_recovery_fail() {
        let checks = run(|record| {
            fixture::capabilities(record, 0.3, &[]);
            fixture::capabilities(record, 47.0, &["caching"]);
            fixture::capabilities(record, 90.0, &[]);
        });
        assert_eq!(
            find(&checks, "redis-down", "capability caching").status,
            CheckStatus::Fail
        );
        let back = find(&checks, "recovery", "capability caching");
        assert_eq!(back.status, CheckStatus::Fail);
        assert_eq!(
            back.observed,
            "true 20.0 s after the last revert (at 90.0 s)"
        );
        // Capabilities that never changed returned at once.
        assert_eq!(
            find(&checks, "recovery", "capability chat").status,
            CheckStatus::Pass
        );
    }

    #[test]
    fn the_real_revert_time_is_the_reference() {
        // The revert happened 10 s late; true 3 s after it is on time.
        let checks = run(|record| {
            record.faults[0].reverted_at_s = Some(80.0);
            fixture::capabilities(record, 0.3, &[]);
            fixture::capabilities(record, 41.0, &["caching"]);
            fixture::capabilities(record, 83.0, &[]);
        });
        let back = find(&checks, "recovery", "capability caching");
        assert_eq!(back.status, CheckStatus::Pass, "{back:#?}");
    }

    #[test]
    fn a_capability_lost_in_a_phase_that_should_keep_it_fails() {
        let checks = run(|record| {
            fixture::capabilities(record, 0.3, &[]);
            fixture::capabilities(record, 41.0, &["caching", "chat"]);
            fixture::capabilities(record, 71.0, &[]);
        });
        let chat = find(&checks, "redis-down", "capability chat");
        assert_eq!(chat.status, CheckStatus::Fail);
        assert_eq!(chat.observed, "false at 41.0 s (1.0 s into the phase)");
    }

    #[test]
    fn a_value_expected_from_the_apply_on_hints_at_becomes() {
        let scenario =
            fixture::scenario("expect:\n  redis-down:\n    capabilities: { caching: false }\n");
        let plan = Plan::from_scenario(&scenario);
        let mut record = fixture::record(&scenario, &plan);
        fixture::capabilities(&mut record, 0.3, &[]);
        fixture::capabilities(&mut record, 41.0, &["caching"]);
        let context = Context::new(&scenario, &plan, &record);
        let check = &checks(&context, &scenario.expect[0])[0];
        assert_eq!(check.status, CheckStatus::Fail);
        assert_eq!(
            check.observed,
            "true at 40.0 s (0.0 s into the phase); for a change the fault causes, \
             write `{ becomes: false, within: 5s }`"
        );
    }

    #[test]
    fn without_observations_nothing_is_decided() {
        let checks = run(|_| {});
        assert!(
            checks
                .iter()
                .all(|check| check.status == CheckStatus::Inconclusive),
            "{checks:#?}"
        );
    }
}
