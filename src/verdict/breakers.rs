//! Circuit-breaker expectations against the observer's breaker timeline.
//!
//! State names are compared after normalisation (lower case, `-` and spaces
//! as `_`, so `Half-Open` is `half_open`).
//!
//! - `opens within D`: the breaker is seen `open` or `half_open` (a
//!   half-open breaker has opened) no later than D after the phase start
//!   (for a fault phase, the journaled apply time).
//! - `closes within D`: it is seen `closed` no later than D after the
//!   fault's journaled revert (for a fault phase; other phases: after their
//!   start). It need not stay closed: a breaker may rightly trip again.
//! - `stays S`: it is S at the start of every window of the phase and at
//!   every change inside them.

use crate::plan::PhaseKind;
use crate::results::{Check, CheckStatus};
use crate::scenario::{BreakerExpectation, BreakerState, PhaseExpectations, format_duration};

use super::context::Context;
use super::states::{Deadline, Reference, holds_throughout, reaches};
use super::track::Track;

/// The breaker checks of one phase's expectations, by provider name.
pub fn checks(context: &Context<'_>, expectations: &PhaseExpectations) -> Vec<Check> {
    expectations
        .breakers
        .iter()
        .map(|(provider, expectation)| check(context, &expectations.phase, provider, expectation))
        .collect()
}

/// `half_open` for `Half-Open`.
pub fn normalize(state: &str) -> String {
    state.trim().to_ascii_lowercase().replace(['-', ' '], "_")
}

fn name(state: BreakerState) -> &'static str {
    match state {
        BreakerState::Closed => "closed",
        BreakerState::Open => "open",
        BreakerState::HalfOpen => "half_open",
    }
}

fn check(
    context: &Context<'_>,
    phase_name: &str,
    provider: &str,
    expectation: &BreakerExpectation,
) -> Check {
    let phase = context.phase(phase_name);
    let after_fault = phase.is_some_and(|phase| phase.kind == PhaseKind::Fault);
    let expected = match expectation {
        BreakerExpectation::OpensWithin(within) => {
            format!("opens within {}", format_duration(*within))
        }
        BreakerExpectation::ClosesWithin(within) if after_fault => {
            format!(
                "closes within {} after the fault ends",
                format_duration(*within)
            )
        }
        BreakerExpectation::ClosesWithin(within) => {
            format!("closes within {}", format_duration(*within))
        }
        BreakerExpectation::Stays(state) => format!("stays {}", name(*state)),
    };
    let mut check = Check {
        name: format!("breaker {provider}"),
        phase: phase_name.to_string(),
        status: CheckStatus::Inconclusive,
        expected,
        observed: String::new(),
        confidence: None,
    };
    let Some(phase) = phase else {
        check.observed = format!("the plan has no phase `{phase_name}`");
        return check;
    };
    let track = Track::new(
        context
            .record
            .observations
            .breakers
            .iter()
            .map(|sample| (sample.t, sample.states.get(provider).map(|s| normalize(s)))),
    );
    if !track.is_observed() {
        check.observed = format!("`{provider}` never reported by the target's breakers route");
        return check;
    }
    let show = |state: &String| state.clone();
    let start = context.phase_start(phase);
    let (status, observed) = match *expectation {
        BreakerExpectation::OpensWithin(within) => reaches(
            &track,
            Deadline {
                reference: Reference {
                    at: start,
                    name: if after_fault {
                        "the fault was applied"
                    } else {
                        "the phase start"
                    },
                },
                within: within.as_secs_f64(),
                keep_until: None,
                observed_until: context.observed_until,
            },
            |state| state == "open" || state == "half_open",
            show,
            "open",
        ),
        BreakerExpectation::ClosesWithin(within) => {
            let reference = if after_fault {
                Reference {
                    at: context.fault_end(phase_name).unwrap_or(start),
                    name: "the revert",
                }
            } else {
                Reference {
                    at: start,
                    name: "the phase start",
                }
            };
            reaches(
                &track,
                Deadline {
                    reference,
                    within: within.as_secs_f64(),
                    keep_until: None,
                    observed_until: context.observed_until,
                },
                |state| state == "closed",
                show,
                "closed",
            )
        }
        BreakerExpectation::Stays(state) => holds_throughout(
            &track,
            &context.spans(phase),
            |seen| seen == name(state),
            show,
            name(state),
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

    const SCENARIO: &str = "
name: outage
traffic: { rate: 100/s, warmup: 10s, duration: 120s }
timeline:
  - name: primary-down
    at: 30s
    for: 30s
    fault: { llm: primary, mode: hang }
expect:
  baseline:
    breakers: { primary: { stays: closed } }
  primary-down:
    breakers: { primary: { opens_within: 10s }, fallback: { stays: closed } }
  recovery:
    breakers: { fallback: { stays: closed } }
";

    fn run(
        expectations_edit: impl FnOnce(&mut crate::scenario::Scenario),
        edit: impl FnOnce(&mut crate::results::RunRecord),
    ) -> Vec<Check> {
        let mut scenario = fixture::scenario_text(SCENARIO);
        expectations_edit(&mut scenario);
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

    fn observed_outage(record: &mut crate::results::RunRecord) {
        fixture::breakers(
            record,
            0.2,
            &[("primary", "closed"), ("fallback", "closed")],
        );
        fixture::breakers(record, 43.5, &[("primary", "open"), ("fallback", "closed")]);
        fixture::breakers(
            record,
            73.5,
            &[("primary", "Half-Open"), ("fallback", "closed")],
        );
        fixture::breakers(
            record,
            74.0,
            &[("primary", "closed"), ("fallback", "closed")],
        );
    }

    #[test]
    fn a_breaker_that_opens_in_time_and_a_fallback_that_stays_closed_pass() {
        let checks = run(|_| {}, observed_outage);
        assert!(
            checks.iter().all(|check| check.status == CheckStatus::Pass),
            "{checks:#?}"
        );
        // Checks of a phase are in provider order: fallback, then primary.
        let opens = &checks[2];
        assert_eq!(opens.name, "breaker primary");
        assert_eq!(opens.expected, "opens within 10s");
        assert_eq!(
            opens.observed,
            "open 3.5 s after the fault was applied (at 43.5 s)"
        );
    }

    #[test]
    fn closing_is_timed_from_the_revert() {
        let closes_within = |seconds: u64| {
            move |scenario: &mut crate::scenario::Scenario| {
                scenario.expect[1].breakers.insert(
                    "primary".to_string(),
                    BreakerExpectation::ClosesWithin(std::time::Duration::from_secs(seconds)),
                );
            }
        };
        let checks = run(closes_within(5), observed_outage);
        let closes = &checks[2];
        assert_eq!(closes.expected, "closes within 5s after the fault ends");
        assert_eq!(closes.status, CheckStatus::Pass, "{closes:#?}");
        assert_eq!(closes.observed, "closed 4.0 s after the revert (at 74.0 s)");
        let checks = run(closes_within(3), observed_outage);
        assert_eq!(checks[2].status, CheckStatus::Fail);
    }

    #[test]
    fn a_breaker_that_never_opens_or_trips_when_it_should_not_fails() {
        let checks = run(
            |_| {},
            |record| {
                fixture::breakers(
                    record,
                    0.2,
                    &[("primary", "closed"), ("fallback", "closed")],
                );
                fixture::breakers(record, 30.0, &[("primary", "closed"), ("fallback", "open")]);
            },
        );
        let statuses: Vec<CheckStatus> = checks.iter().map(|check| check.status).collect();
        assert_eq!(
            statuses,
            [
                CheckStatus::Pass,
                CheckStatus::Fail,
                CheckStatus::Fail,
                CheckStatus::Fail
            ],
            "{checks:#?}"
        );
        assert_eq!(checks[1].observed, "open at 40.0 s (0.0 s into the phase)");
        assert_eq!(
            checks[2].observed,
            "never open: still closed 90.0 s after the fault was applied"
        );
    }

    #[test]
    fn an_unknown_provider_is_inconclusive() {
        let checks = run(
            |_| {},
            |record| {
                fixture::breakers(record, 0.2, &[("openai", "closed")]);
            },
        );
        assert!(
            checks
                .iter()
                .all(|check| check.status == CheckStatus::Inconclusive)
        );
        assert!(
            checks[0].observed.contains("never reported"),
            "{:?}",
            checks[0]
        );
    }
}
