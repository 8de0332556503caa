//! The verdict stage: a pure function from what a game day expected
//! ([`Scenario`], [`Plan`]) and what happened ([`RunRecord`]) to the
//! judgement ([`Verdict`]). It does no I/O and never panics on a record,
//! however incomplete or odd (a partial journal after a crash, a hand-edited
//! `results.json`), so `gameday report` can re-judge any past run.
//!
//! Each rule lives in its own module, which documents it precisely:
//!
//! - `confidence`: exact (Clopper–Pearson) 95% intervals and when a rate
//!   check passes, fails or is `inconclusive` (a sample too small to tell
//!   99.9% from worse is not a pass, nor is it a failure); `beta`, the
//!   incomplete beta function they are computed with.
//! - `traffic`: error rate, latency percentiles, time to first token and
//!   provider shares of a phase.
//! - `capabilities`, `breakers`: observed states against `true`,
//!   `becomes X within D`, `returns within D`, `opens within D`,
//!   `closes within D`, `stays S`; built on `track` (the observer's change
//!   points as a step function) and `states`.
//! - `recovery`: `recovery_time`, from the revert until capabilities and
//!   health are back to their baseline for good.
//! - `budget`: the error budget over the run minus maintenance windows,
//!   per phase, and in minutes of the monthly budget.
//! - `alerts`: alert rules as rolling windows over the per-second buckets
//!   ([`first_violation`], also used for halt conditions), detection time,
//!   alert expectations.
//! - `cost`: tokens × prices by provider and phase.
//! - `monitoring`: the platform's own alerts and PromQL checks
//!   (`monitoring.expect`), time to detect and resolve, and the detection
//!   gap against gameday's own rules; its checks follow every `expect`
//!   check.
//! - `faults`: failed applies and reverts, faults without visible effect,
//!   dependencies that bypass their proxy; checks of a fault that was never
//!   applied are not judged.
//! - `sizing`: before a run, what each rate check's phase can prove (for
//!   `gameday validate --plan`).
//!
//! **Faults that were never applied.** A phase whose fault could not be
//! applied (its journal entry has an `apply_error`) did not test what it
//! says, so none of its checks is judged: each is `inconclusive` with the
//! observed text `fault <name> was never applied (<apply error>)`, and the
//! failing `apply <name>` check says why. The same holds for the
//! `recovery` phase when any fault of the run was never applied (it
//! recovers from the whole timeline, and its start is the last revert).
//! See `faults::never_applied`.
//!
//! **Order of checks**: the experiment's own checks (`apply`, `revert`,
//! `effect` per fault in timeline order, then `proxy path`), then every
//! expectation in scenario order; within a phase: error rate, p50, p95,
//! p99, max, ttft_p95, capabilities, breakers, providers, recovery time,
//! budget, alerts.
//!
//! **Outcome**, by precedence: `aborted` if the run was stopped (halt
//! condition, signal); `error` if it could not run or the journal is
//! partial (still `running`); else `failed` if any check failed; else
//! `inconclusive` if any check was; else `passed`. When the scenario sets
//! `expect.run.conclusive: true`, an otherwise inconclusive run gets a
//! failing check `conclusive` naming the undecided checks, and is `failed`.
//!
//! **Exit codes** ([`exit_code`], [`crate::exit::Exit`]): passed (also
//! inconclusive when the scenario does not require conclusiveness), failed,
//! error, aborted.

mod alerts;
mod beta;
mod breakers;
mod budget;
mod capabilities;
mod confidence;
mod context;
mod cost;
mod faults;
pub(crate) mod format;
mod monitoring;
mod recovery;
pub mod sizing;
mod states;
mod track;
mod traffic;

#[cfg(test)]
pub(crate) mod fixture;

pub use alerts::{RuleWatch, first_violation};
pub use budget::monthly_budget_minutes;
pub use confidence::{clopper_pearson, rate_status, trials_needed};

use crate::exit::Exit;
use crate::plan::Plan;
use crate::results::{Check, CheckStatus, Outcome, RunRecord, RunStatus, Verdict};
use crate::scenario::Scenario;

use context::Context;

/// Judges a run.
pub fn judge(scenario: &Scenario, plan: &Plan, record: &RunRecord) -> Verdict {
    let context = Context::new(scenario, plan, record);
    let budget = budget::budget(&context);
    let alerts = alerts::evaluate(&context);
    let mut checks = faults::checks(&context);
    for expectations in &scenario.expect {
        let mut phase_checks = traffic::checks(expectations, context.stats(&expectations.phase));
        phase_checks.extend(capabilities::checks(&context, expectations));
        phase_checks.extend(breakers::checks(&context, expectations));
        phase_checks.extend(recovery::check(&context, expectations));
        phase_checks.extend(budget::check(&context, expectations, &budget));
        phase_checks.extend(alerts::checks(&context, expectations, &alerts));
        if let Some(reason) = faults::never_applied(&context, &expectations.phase) {
            for check in &mut phase_checks {
                faults::not_judged(check, &reason);
            }
        }
        checks.extend(phase_checks);
    }
    let mut monitoring_checks = monitoring::checks(scenario, plan, record);
    for check in &mut monitoring_checks {
        if let Some(reason) = faults::never_applied(&context, &check.phase) {
            faults::not_judged(check, &reason);
        }
    }
    checks.extend(monitoring_checks);
    let requires_conclusive = scenario
        .expectations_for("run")
        .and_then(|run| run.conclusive)
        .unwrap_or(false);
    if requires_conclusive && let Some(check) = conclusive_check(&checks) {
        checks.push(check);
    }
    let monitoring_summary = monitoring::summary(scenario, record, &alerts);
    Verdict {
        outcome: outcome(&record.status, &checks),
        checks,
        budget,
        alerts,
        cost: cost::cost(scenario, &record.traffic.phases),
        monitoring: monitoring_summary,
    }
}

/// The failing `conclusive` check, when some checks are inconclusive and
/// none failed.
fn conclusive_check(checks: &[Check]) -> Option<Check> {
    if checks.iter().any(|check| check.status == CheckStatus::Fail) {
        return None;
    }
    let undecided: Vec<String> = checks
        .iter()
        .filter(|check| check.status == CheckStatus::Inconclusive)
        .map(|check| format!("{} ({})", check.name, check.phase))
        .collect();
    if undecided.is_empty() {
        return None;
    }
    Some(Check {
        name: "conclusive".to_string(),
        phase: "run".to_string(),
        status: CheckStatus::Fail,
        expected: "every check decided".to_string(),
        observed: format!("{} undecided: {}", undecided.len(), undecided.join(", ")),
        confidence: None,
    })
}

/// The overall outcome (precedence in the module doc).
fn outcome(status: &RunStatus, checks: &[Check]) -> Outcome {
    let any = |wanted: CheckStatus| checks.iter().any(|check| check.status == wanted);
    match status {
        RunStatus::Aborted { .. } => Outcome::Aborted,
        RunStatus::Error { .. } | RunStatus::Running { .. } => Outcome::Error,
        RunStatus::Completed if any(CheckStatus::Fail) => Outcome::Failed,
        RunStatus::Completed if any(CheckStatus::Inconclusive) => Outcome::Inconclusive,
        RunStatus::Completed => Outcome::Passed,
    }
}

/// The process exit code of a judged run: 0 passed or inconclusive (an
/// inconclusive run that had to be conclusive is `failed`, see the module
/// doc), 1 failed, 2 error, 3 aborted.
pub fn exit_code(verdict: &Verdict) -> Exit {
    match verdict.outcome {
        Outcome::Passed | Outcome::Inconclusive => Exit::Passed,
        Outcome::Failed => Exit::Failed,
        Outcome::Error => Exit::Error,
        Outcome::Aborted => Exit::Aborted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::FaultEffect;

    const EXPECT: &str = "
expect:
  baseline:
    error_rate: < 0.1%
    capabilities: all
  redis-down:
    error_rate: < 0.1%
    capabilities:
      caching: { becomes: false, within: 5s }
      chat: true
  recovery:
    capabilities: { all: true, within: 15s }
  run:
    budget: within
";

    /// A redis kill the platform handled well, with plenty of traffic.
    fn good_run(scenario: &Scenario, plan: &Plan) -> RunRecord {
        let mut record = fixture::record(scenario, plan);
        for (phase, requests) in [
            ("baseline", 30_000),
            ("redis-down", 30_000),
            ("recovery", 60_000),
            ("run", 120_000),
        ] {
            fixture::set_stats(&mut record, fixture::stats(phase, requests, 0));
        }
        fixture::seconds(&mut record, 0, 130, 1_000, 0, 80.0);
        fixture::capabilities(&mut record, 0.2, &[]);
        fixture::capabilities(&mut record, 41.0, &["caching", "real_time_usage"]);
        fixture::capabilities(&mut record, 72.0, &[]);
        record
    }

    fn judged(extra: &str, edit: impl FnOnce(&mut RunRecord)) -> Verdict {
        let scenario = fixture::scenario(&format!("{EXPECT}{extra}"));
        let plan = Plan::from_scenario(&scenario);
        let mut record = good_run(&scenario, &plan);
        edit(&mut record);
        judge(&scenario, &plan, &record)
    }

    #[test]
    fn a_well_handled_fault_passes_with_every_expectation_checked_in_order() {
        let verdict = judged("", |_| {});
        assert_eq!(verdict.outcome, Outcome::Passed, "{:#?}", verdict.checks);
        assert_eq!(exit_code(&verdict), Exit::Passed);
        let names: Vec<(&str, &str)> = verdict
            .checks
            .iter()
            .map(|check| (check.phase.as_str(), check.name.as_str()))
            .collect();
        assert_eq!(names.len(), 1 + 6 + 1 + 2 + 6 + 1);
        assert_eq!(names[0], ("baseline", "error_rate"));
        assert_eq!(names[1], ("baseline", "capability chat"));
        assert_eq!(names[8], ("redis-down", "capability chat"));
        assert_eq!(names[names.len() - 1], ("run", "budget"));
        assert_eq!(verdict.alerts.len(), 2);
        assert_eq!(verdict.budget.requests, 120_000);
        assert_eq!(verdict.cost, None);
    }

    #[test]
    fn a_wrong_expectation_fails_with_its_check_named() {
        let verdict = judged("", |record| {
            fixture::set_stats(record, fixture::stats("redis-down", 29_000, 1_000));
        });
        assert_eq!(verdict.outcome, Outcome::Failed);
        assert_eq!(exit_code(&verdict), Exit::Failed);
        let failed: Vec<(&str, &str)> = verdict
            .checks
            .iter()
            .filter(|check| check.status == CheckStatus::Fail)
            .map(|check| (check.phase.as_str(), check.name.as_str()))
            .collect();
        assert_eq!(failed, [("redis-down", "error_rate")]);
    }

    #[test]
    fn a_small_sample_is_inconclusive_and_fails_only_when_conclusiveness_is_required() {
        let small = |record: &mut RunRecord| {
            fixture::set_stats(record, fixture::stats("baseline", 300, 0));
        };
        let verdict = judged("", small);
        assert_eq!(verdict.outcome, Outcome::Inconclusive);
        assert_eq!(exit_code(&verdict), Exit::Passed);

        let verdict = judged("    conclusive: true\n", small);
        assert_eq!(verdict.outcome, Outcome::Failed);
        assert_eq!(exit_code(&verdict), Exit::Failed);
        let last = verdict.checks.last().unwrap();
        assert_eq!(last.name, "conclusive");
        assert_eq!(last.observed, "1 undecided: error_rate (baseline)");
    }

    #[test]
    fn run_status_takes_precedence_over_checks() {
        let verdict = judged("", |record| {
            record.status = RunStatus::Aborted {
                reason: "halt: error_rate > 20% for 10s".to_string(),
            };
            fixture::set_stats(record, fixture::stats("redis-down", 0, 30_000));
        });
        assert_eq!(verdict.outcome, Outcome::Aborted);
        assert_eq!(exit_code(&verdict), Exit::Aborted);
        let verdict = judged("", |record| {
            record.status = RunStatus::Error {
                message: "preflight: steady state did not hold".to_string(),
            };
        });
        assert_eq!(verdict.outcome, Outcome::Error);
        assert_eq!(exit_code(&verdict), Exit::Error);
        let verdict = judged("", |record| {
            record.status = RunStatus::Running {
                phase: "redis-down".to_string(),
            };
        });
        assert_eq!(verdict.outcome, Outcome::Error);
    }

    #[test]
    fn a_failed_revert_fails_and_a_fault_without_effect_is_inconclusive() {
        let verdict = judged("", |record| {
            record.faults[0].effect = Some(FaultEffect {
                observed: false,
                detail: "nothing changed".to_string(),
                ..FaultEffect::default()
            });
        });
        assert_eq!(verdict.outcome, Outcome::Inconclusive);
        assert_eq!(verdict.checks[0].name, "effect redis-down");
        let verdict = judged("", |record| {
            record.faults[0].revert_error = Some("redis-server: exit 1".to_string());
        });
        assert_eq!(verdict.outcome, Outcome::Failed);
        assert_eq!(verdict.checks[0].name, "revert redis-down");
    }

    #[test]
    fn checks_of_a_fault_that_was_never_applied_are_not_judged() {
        // Issue 17, item 1: the apply of redis-down failed, so redis never
        // went down and caching stayed true. That is no failure of
        // `caching: becomes false`, and no pass of anything else in the
        // phase or in recovery: only `apply redis-down` fails.
        let error = "error sending request for url (http://127.0.0.1:8474/proxies/redis)";
        let verdict = judged("", |record| {
            let fault = &mut record.faults[0];
            fault.applied_at_s = None;
            fault.apply_error = Some(error.to_string());
            fault.reverted_at_s = Some(40.01);
            fault.effect = Some(FaultEffect {
                observed: false,
                detail: "health and error rate unchanged".to_string(),
                ..FaultEffect::default()
            });
            record.observations.capabilities.clear();
            fixture::capabilities(record, 0.2, &[]);
        });
        assert_eq!(verdict.outcome, Outcome::Failed, "{:#?}", verdict.checks);
        let failed: Vec<&str> = verdict
            .checks
            .iter()
            .filter(|check| check.status == CheckStatus::Fail)
            .map(|check| check.name.as_str())
            .collect();
        assert_eq!(failed, ["apply redis-down"]);
        let reason = format!("fault redis-down was never applied ({error})");
        let unjudged: Vec<(&str, &str)> = verdict
            .checks
            .iter()
            .filter(|check| check.observed == reason)
            .map(|check| (check.phase.as_str(), check.name.as_str()))
            .collect();
        assert!(
            unjudged.contains(&("redis-down", "effect redis-down")),
            "{unjudged:?}"
        );
        assert!(
            unjudged.contains(&("redis-down", "capability caching")),
            "{unjudged:?}"
        );
        assert!(
            unjudged.contains(&("redis-down", "error_rate")),
            "{unjudged:?}"
        );
        assert!(
            unjudged.contains(&("recovery", "capability caching")),
            "{unjudged:?}"
        );
        for check in verdict
            .checks
            .iter()
            .filter(|check| check.observed == reason)
        {
            assert_eq!(check.status, CheckStatus::Inconclusive, "{check:#?}");
            assert_eq!(check.confidence, None);
        }
        // The baseline and the run as a whole are still judged.
        let baseline = verdict
            .checks
            .iter()
            .find(|check| check.phase == "baseline" && check.name == "error_rate")
            .unwrap();
        assert_eq!(baseline.status, CheckStatus::Pass);
        let budget = verdict.checks.last().unwrap();
        assert_eq!(
            (budget.name.as_str(), budget.status),
            ("budget", CheckStatus::Pass)
        );
    }

    #[test]
    fn an_empty_or_corrupt_record_is_judged_without_panicking() {
        let scenario = fixture::scenario(EXPECT);
        let plan = Plan::from_scenario(&scenario);
        let mut record = fixture::record(&scenario, &plan);
        record.faults[0].applied_at_s = Some(f64::NAN);
        record
            .observations
            .capabilities
            .push(crate::results::CapabilitySample {
                t: f64::NAN,
                capabilities: Default::default(),
            });
        let mut stats = fixture::stats("run", 0, 5);
        stats.latency.p99_ms = f64::NAN;
        fixture::set_stats(&mut record, stats);
        let verdict = judge(&scenario, &plan, &record);
        assert_eq!(verdict.outcome, Outcome::Failed);
        assert!(verdict.budget.spent.is_finite());
        assert!(serde_json::to_string(&verdict).is_ok());
    }
}
