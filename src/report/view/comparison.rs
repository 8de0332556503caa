//! The change from the previous run of the same scenario: outcome, budget
//! spent, failed checks and p99, before and now.

use serde::Serialize;

use crate::results::{CheckStatus, Results};

use super::{count_status, outcome_name};
use crate::report::format;

/// The change from the previous run of the same scenario.
#[derive(Debug, Serialize)]
pub struct Comparison {
    /// Its run id.
    pub run_id: String,
    /// Relative link to its report.
    pub href: String,
    /// When it started.
    pub started: String,
    /// Rows: what, before, now, change.
    pub rows: Vec<[String; 4]>,
}

/// The run-wide p99: the `run` phase when there is one, else the worst phase.
fn run_p99(results: &Results) -> Option<f64> {
    let phases = &results.record.traffic.phases;
    phases
        .iter()
        .find(|phase| phase.name == "run")
        .map(|phase| phase.latency.p99_ms)
        .or_else(|| {
            phases
                .iter()
                .map(|phase| phase.latency.p99_ms)
                .reduce(f64::max)
        })
}

pub(super) fn comparison(before: &Results, now: &Results, href: String) -> Comparison {
    let mut rows = vec![[
        "outcome".to_string(),
        outcome_name(before).to_string(),
        outcome_name(now).to_string(),
        if outcome_name(before) == outcome_name(now) {
            "same"
        } else {
            "changed"
        }
        .to_string(),
    ]];
    let budget = |results: &Results| results.verdict.as_ref().map(|v| v.budget.spent_of_allowed);
    rows.push(delta_row(
        "error budget spent",
        budget(before),
        budget(now),
        format::budget_multiple,
        |d| {
            format!(
                "{}{} points",
                if d >= 0.0 { "+" } else { "" },
                format::number(d * 100.0, 1)
            )
        },
    ));
    let failed = |results: &Results| {
        results
            .verdict
            .as_ref()
            .map(|v| count_status(v, CheckStatus::Fail) as f64)
    };
    rows.push(delta_row(
        "failed checks",
        failed(before),
        failed(now),
        |v| format::number(v, 0),
        |d| {
            format!(
                "{}{}",
                if d >= 0.0 { "+" } else { "" },
                format::number(d, 0)
            )
        },
    ));
    rows.push(delta_row(
        "p99 over the run",
        run_p99(before),
        run_p99(now),
        format::millis,
        |d| {
            format!(
                "{}{}",
                if d >= 0.0 { "+" } else { "−" },
                format::millis(d.abs())
            )
        },
    ));
    Comparison {
        run_id: format::clean_truncated(&before.record.run_id, 300),
        href,
        started: format::timestamp(&before.record.started_at),
        rows,
    }
}

fn delta_row(
    what: &str,
    before: Option<f64>,
    now: Option<f64>,
    show: impl Fn(f64) -> String,
    change: impl Fn(f64) -> String,
) -> [String; 4] {
    let show_option = |value: Option<f64>| value.map_or("—".to_string(), &show);
    let delta = match (before, now) {
        (Some(before), Some(now)) if (now - before).is_finite() => change(now - before),
        _ => "—".to_string(),
    };
    [
        what.to_string(),
        show_option(before),
        show_option(now),
        delta,
    ]
}
