//! Temporary stand-in for the verdict (being written in its own branch).

use crate::plan::Plan;
use crate::results::{
    Budget, CheckStatus, Interval, Outcome, RunRecord, RunStatus, SecondBucket, Verdict,
};
use crate::scenario::model::{Rule, Scenario};

/// Judges a run.
pub fn judge(scenario: &Scenario, _plan: &Plan, record: &RunRecord) -> Verdict {
    let run = record.traffic.phases.iter().find(|p| p.name == "run");
    let (errors, requests) = run.map_or((0, 0), |p| (p.outcomes.errors(), p.outcomes.total()));
    let spent = if requests == 0 {
        0.0
    } else {
        errors as f64 / requests as f64
    };
    let allowed = 1.0 - scenario.availability;
    Verdict {
        outcome: match record.status {
            RunStatus::Aborted { .. } => Outcome::Aborted,
            RunStatus::Error { .. } => Outcome::Error,
            _ if spent > allowed => Outcome::Failed,
            _ => Outcome::Passed,
        },
        checks: Vec::new(),
        budget: Budget {
            allowed,
            errors,
            requests,
            spent,
            spent_of_allowed: spent / allowed,
            confidence: Interval {
                low: 0.0,
                high: 1.0,
            },
            status: CheckStatus::Inconclusive,
            maintenance_excluded_s: 0.0,
            monthly_budget_minutes: allowed * 30.4375 * 1440.0,
            monthly_minutes_spent: None,
            phases: Vec::new(),
        },
        alerts: Vec::new(),
        cost: None,
    }
}

/// First time a rule held for its window.
pub fn first_violation(_rule: &Rule, _seconds: &[SecondBucket]) -> Option<f64> {
    None
}

/// The process exit code.
pub fn exit_code(verdict: &Verdict) -> u8 {
    match verdict.outcome {
        Outcome::Passed | Outcome::Inconclusive => 0,
        Outcome::Failed => 1,
        Outcome::Aborted => 3,
        Outcome::Error => 2,
    }
}
