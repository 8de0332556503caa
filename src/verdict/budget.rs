//! The error budget: errors / requests against `1 − availability`.
//!
//! - **Judged requests.** The run's budget is taken over the measured run
//!   (warm-up excluded) minus pre-announced maintenance windows. The
//!   runner's statistics are per phase, not per maintenance window, so the
//!   maintenance part is subtracted using the per-second buckets: a bucket
//!   is excluded when its second's start lies in a maintenance fault's
//!   planned window. Exact when maintenance windows start and end on whole
//!   seconds (the usual case); otherwise off by at most one second of
//!   traffic per window edge.
//! - **Status.** Judged by the rule in `confidence` on the bound
//!   `errors / requests <= allowed`, with the exact (Clopper–Pearson) 95%
//!   interval of the error fraction: `pass` (within) when its upper bound is
//!   at or below the allowed fraction, `fail` (exceeded) when its lower
//!   bound is above it, otherwise — the interval straddles the allowed
//!   fraction — `inconclusive`, however large the sample and whichever side
//!   of the limit the observed fraction is on. `budget: exceeded` reads the
//!   same status the other way round (pass when the lower bound is above).
//! - **Monthly minutes.** At 99.9% the monthly budget is
//!   `0.001 × 30.4375 days × 1440 = 43.83` minutes (a month is a 365.25-day
//!   year / 12). `monthly_minutes_spent` is the full-outage-equivalent
//!   length of this run's failures: `errors / requests × judged minutes`.
//!   Read it as "had this run happened in production, it would have cost N
//!   of the 43.8 monthly minutes". The production rate does not enter:
//!   failures scale with traffic, so failing a fraction f of requests for T
//!   minutes costs f × T minutes at any rate (dividing the run's error
//!   *count* by the production rate would instead make the same incident
//!   look cheaper in a busier production, which is wrong).
//! - **Per phase.** One row per plan phase with its raw numbers; a fault
//!   phase marked maintenance is flagged (its requests are not in the run's
//!   budget).

use std::time::Duration;

use crate::plan::Phase;
use crate::results::{Budget, Check, CheckStatus, Interval, PhaseBudget};
use crate::scenario::{BudgetExpectation, Comparison, Op, PhaseExpectations};

use super::confidence::rate_status;
use super::context::Context;
use super::format;

/// Days in an average month.
pub const DAYS_PER_MONTH: f64 = 365.25 / 12.0;

/// Minutes of full outage a month that `availability` allows.
pub fn monthly_budget_minutes(availability: f64) -> f64 {
    (1.0 - availability).max(0.0) * DAYS_PER_MONTH * 1440.0
}

/// Errors and requests of a phase, maintenance seconds excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judged {
    /// Errors.
    pub errors: u64,
    /// Completed requests.
    pub requests: u64,
}

/// The judged errors and requests of a phase.
pub fn judged(context: &Context<'_>, phase: &Phase) -> Judged {
    let plan = context.plan;
    let in_phase = |t: u32| phase.contains(Duration::from_secs(u64::from(t)));
    let in_maintenance = |t: u32| plan.in_maintenance(Duration::from_secs(u64::from(t)));
    let seconds = &context.record.traffic.seconds;
    match context.stats(&phase.name) {
        Some(stats) => {
            let (errors, requests) = seconds
                .iter()
                .filter(|bucket| in_phase(bucket.t) && in_maintenance(bucket.t))
                .fold((0u64, 0u64), |(errors, requests), bucket| {
                    (
                        errors.saturating_add(bucket.outcomes.errors()),
                        requests.saturating_add(bucket.outcomes.total()),
                    )
                });
            Judged {
                errors: stats.outcomes.errors().saturating_sub(errors),
                requests: stats.outcomes.total().saturating_sub(requests),
            }
        }
        None => seconds
            .iter()
            .filter(|bucket| in_phase(bucket.t) && !in_maintenance(bucket.t))
            .fold(
                Judged {
                    errors: 0,
                    requests: 0,
                },
                |sum, bucket| Judged {
                    errors: sum.errors.saturating_add(bucket.outcomes.errors()),
                    requests: sum.requests.saturating_add(bucket.outcomes.total()),
                },
            ),
    }
}

fn ratio(errors: u64, requests: u64) -> f64 {
    if requests == 0 {
        0.0
    } else {
        errors as f64 / requests as f64
    }
}

/// Length of the maintenance windows inside the observed measured run.
fn maintenance_seconds(context: &Context<'_>) -> f64 {
    let start = context.plan.measured.start.as_secs_f64();
    let end = context.observed_until;
    let mut windows: Vec<(f64, f64)> = context
        .plan
        .faults
        .iter()
        .filter(|fault| fault.maintenance)
        .map(|fault| {
            (
                fault.window.start.as_secs_f64().max(start),
                fault.window.end.as_secs_f64().min(end),
            )
        })
        .filter(|(from, to)| to > from)
        .collect();
    windows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut total = 0.0;
    let mut covered = f64::NEG_INFINITY;
    for (from, to) in windows {
        let from = from.max(covered);
        if to > from {
            total += to - from;
        }
        covered = covered.max(to);
    }
    total
}

/// The run's error budget.
pub fn budget(context: &Context<'_>) -> Budget {
    let allowed = (1.0 - context.scenario.availability).clamp(0.0, 1.0);
    let run = context.phase("run");
    let totals = run.map_or(
        Judged {
            errors: 0,
            requests: 0,
        },
        |phase| judged(context, phase),
    );
    let bound = Comparison {
        op: Op::Le,
        value: allowed,
    };
    let (status, confidence) = rate_status(&bound, totals.errors, totals.requests);
    let spent = ratio(totals.errors, totals.requests);
    let maintenance_excluded_s = maintenance_seconds(context);
    let measured_s = (context.observed_until - context.plan.measured.start.as_secs_f64()).max(0.0);
    let judged_minutes = (measured_s - maintenance_excluded_s).max(0.0) / 60.0;
    Budget {
        allowed,
        errors: totals.errors,
        requests: totals.requests,
        spent,
        spent_of_allowed: if allowed > 0.0 {
            spent / allowed
        } else if spent > 0.0 {
            f64::MAX
        } else {
            0.0
        },
        confidence,
        status,
        maintenance_excluded_s,
        monthly_budget_minutes: monthly_budget_minutes(context.scenario.availability),
        monthly_minutes_spent: (totals.requests > 0).then_some(spent * judged_minutes),
        phases: context
            .plan
            .phases
            .iter()
            .map(|phase| {
                let (errors, requests) = context.stats(&phase.name).map_or((0, 0), |stats| {
                    (stats.outcomes.errors(), stats.outcomes.total())
                });
                PhaseBudget {
                    phase: phase.name.clone(),
                    errors,
                    requests,
                    spent: ratio(errors, requests),
                    maintenance: phase.maintenance,
                }
            })
            .collect(),
    }
}

/// The `budget` check of a phase, if it has one. `run_budget` is the
/// run's budget (used for `expect.run.budget`).
pub fn check(
    context: &Context<'_>,
    expectations: &PhaseExpectations,
    run_budget: &Budget,
) -> Option<Check> {
    let expectation = expectations.budget?;
    let phase_name = expectations.phase.as_str();
    let allowed = run_budget.allowed;
    let mut check = Check {
        name: "budget".to_string(),
        phase: phase_name.to_string(),
        status: CheckStatus::Inconclusive,
        expected: match expectation {
            BudgetExpectation::Within => format!("within {} of requests", format::percent(allowed)),
            BudgetExpectation::Exceeded => {
                format!("exceeded (over {} of requests)", format::percent(allowed))
            }
        },
        observed: String::new(),
        confidence: None,
    };
    let Some(phase) = context.phase(phase_name) else {
        check.observed = format!("the plan has no phase `{phase_name}`");
        return Some(check);
    };
    if phase.maintenance {
        check.status = CheckStatus::Pass;
        check.observed = "not judged: a pre-announced maintenance window".to_string();
        return Some(check);
    }
    let (totals, within, interval) = if phase_name == "run" {
        (
            Judged {
                errors: run_budget.errors,
                requests: run_budget.requests,
            },
            run_budget.status,
            run_budget.confidence,
        )
    } else {
        let totals = judged(context, phase);
        let bound = Comparison {
            op: Op::Le,
            value: allowed,
        };
        let (status, interval) = rate_status(&bound, totals.errors, totals.requests);
        (totals, status, interval)
    };
    if totals.requests == 0 {
        check.observed = "no requests recorded in this phase".to_string();
        return Some(check);
    }
    check.status = match (expectation, within) {
        (BudgetExpectation::Within, status) => status,
        (BudgetExpectation::Exceeded, CheckStatus::Pass) => CheckStatus::Fail,
        (BudgetExpectation::Exceeded, CheckStatus::Fail) => CheckStatus::Pass,
        (BudgetExpectation::Exceeded, CheckStatus::Inconclusive) => CheckStatus::Inconclusive,
    };
    check.observed = describe(totals, allowed, interval);
    check.confidence = Some(interval);
    Some(check)
}

/// `0.03% failed (5 of 18,000; 95% CI 0.01% to 0.07%): 30% of the budget`
/// (from ten times the budget on, `372× the budget`).
fn describe(totals: Judged, allowed: f64, interval: Interval) -> String {
    let spent = ratio(totals.errors, totals.requests);
    let share = if allowed > 0.0 {
        format!(": {}", format::budget_share(spent / allowed))
    } else {
        String::new()
    };
    format!(
        "{} failed ({}; 95% CI {} to {}){share}",
        format::percent(spent),
        format::fraction(totals.errors, totals.requests),
        format::percent(interval.low),
        format::percent(interval.high),
    )
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;
    use crate::plan::Plan;
    use crate::results::RunRecord;

    fn context_budget(
        scenario_text: &str,
        edit: impl FnOnce(&Plan, &mut RunRecord),
    ) -> (Budget, Vec<Check>) {
        let scenario = fixture::scenario_text(scenario_text);
        let plan = Plan::from_scenario(&scenario);
        let mut record = fixture::record(&scenario, &plan);
        edit(&plan, &mut record);
        let context = Context::new(&scenario, &plan, &record);
        let budget = budget(&context);
        let checks = scenario
            .expect
            .iter()
            .filter_map(|expectations| check(&context, expectations, &budget))
            .collect();
        (budget, checks)
    }

    const PLAIN: &str = "
name: plain
traffic: { rate: 100/s, warmup: 10s, duration: 100s }
expect:
  run: { budget: within }
";

    #[test]
    fn the_monthly_budget_at_three_nines_is_43_8_minutes() {
        let minutes = monthly_budget_minutes(0.999);
        assert!((minutes - 43.83).abs() < 0.005, "{minutes}");
        assert!((monthly_budget_minutes(0.9999) - 4.383).abs() < 0.001);
    }

    #[test]
    fn zero_errors_prove_the_budget_only_on_a_large_sample() {
        let (budget, checks) = context_budget(PLAIN, |_, record| {
            fixture::set_stats(record, fixture::stats("run", 100, 0));
        });
        assert_eq!(budget.status, CheckStatus::Inconclusive);
        assert_eq!(checks[0].status, CheckStatus::Inconclusive);
        let (budget, checks) = context_budget(PLAIN, |_, record| {
            fixture::set_stats(record, fixture::stats("run", 100_000, 0));
        });
        assert_eq!(budget.status, CheckStatus::Pass);
        assert_eq!(checks[0].status, CheckStatus::Pass);
        assert_eq!(budget.monthly_minutes_spent, Some(0.0));
    }

    #[test]
    fn spending_is_converted_to_monthly_minutes() {
        // 0.5% of 10,000 requests failed over a 100 s run: 0.005 × 100/60 min.
        let (budget, checks) = context_budget(PLAIN, |_, record| {
            fixture::set_stats(record, fixture::stats("run", 9_950, 50));
        });
        assert_eq!(budget.status, CheckStatus::Fail);
        assert_eq!(checks[0].status, CheckStatus::Fail);
        assert!((budget.spent - 0.005).abs() < 1e-12);
        assert!((budget.spent_of_allowed - 5.0).abs() < 1e-9);
        let minutes = budget.monthly_minutes_spent.unwrap();
        assert!((minutes - 0.005 * 100.0 / 60.0).abs() < 1e-9, "{minutes}");
        assert_eq!(
            checks[0].observed,
            "0.5% failed (50 of 10,000; 95% CI 0.371% to 0.659%): 500% of the budget"
        );
    }

    #[test]
    fn maintenance_windows_are_excluded_from_the_budget() {
        let text = "
name: maintained
traffic: { rate: 100/s, warmup: 10s, duration: 100s }
timeline:
  - name: db-upgrade
    at: 20s
    for: 20s
    maintenance: true
    fault: { restart: postgres }
expect:
  run: { budget: within }
  db-upgrade: { budget: within }
  recovery: { budget: exceeded }
";
        let (budget, checks) = context_budget(text, |_, record| {
            // Clean traffic except during the maintenance window [30, 50),
            // where every request fails.
            fixture::seconds(record, 10, 30, 1_000, 0, 50.0);
            fixture::seconds(record, 30, 50, 0, 1_000, 50.0);
            fixture::seconds(record, 50, 110, 1_000, 0, 50.0);
            fixture::set_stats(record, fixture::stats("run", 80_000, 20_000));
            fixture::set_stats(record, fixture::stats("db-upgrade", 0, 20_000));
            fixture::set_stats(record, fixture::stats("recovery", 60_000, 0));
        });
        assert_eq!((budget.errors, budget.requests), (0, 80_000));
        assert_eq!(budget.status, CheckStatus::Pass);
        assert_eq!(budget.maintenance_excluded_s, 20.0);
        // 80 judged seconds, nothing spent.
        assert_eq!(budget.monthly_minutes_spent, Some(0.0));
        let upgrade = budget
            .phases
            .iter()
            .find(|row| row.phase == "db-upgrade")
            .unwrap();
        assert!(upgrade.maintenance);
        assert_eq!(upgrade.errors, 20_000);
        assert_eq!(budget.phases.len(), 4, "{:?}", budget.phases);
        let statuses: Vec<CheckStatus> = checks.iter().map(|check| check.status).collect();
        assert_eq!(
            statuses,
            [CheckStatus::Pass, CheckStatus::Pass, CheckStatus::Fail],
            "{checks:#?}"
        );
    }
}
