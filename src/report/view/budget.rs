//! The error-budget section of the report: allowed vs spent with its
//! confidence interval, per phase, in minutes of the monthly budget, and
//! why undecided checks are undecided.

use serde::Serialize;

use crate::results::{CheckStatus, Verdict};

use super::{cell, interval};
use crate::report::{format, lanes, timeline};

/// The error budget section.
#[derive(Debug, Serialize)]
pub struct BudgetView {
    /// `pass`, `fail`, `inconclusive`.
    pub status: String,
    /// Status in words.
    pub status_label: String,
    /// Allowed error fraction.
    pub allowed: String,
    /// Spent error fraction.
    pub spent: String,
    /// Spent as a share of the allowed fraction: `30%`, or `372×` from ten
    /// times it on.
    pub spent_of_allowed: String,
    /// What follows that number: `of the budget spent` or `the budget spent`.
    pub spent_of_allowed_label: String,
    /// `3 of 14,980`.
    pub errors_of_requests: String,
    /// 95% interval.
    pub confidence: String,
    /// Budget bar geometry (SVG units of a 1000-wide bar).
    pub bar: BudgetBar,
    /// Monthly budget in minutes.
    pub monthly_budget: String,
    /// What the run cost of it, or an explanation why that is unknown.
    pub monthly_spent: String,
    /// The monthly cost if this run's error rate lasted a month.
    pub monthly_sustained: String,
    /// Seconds excluded as maintenance.
    pub maintenance_excluded: String,
    /// Per phase.
    pub phases: Vec<PhaseBudgetRow>,
}

/// Geometry of the budget bar.
#[derive(Debug, Serialize)]
pub struct BudgetBar {
    /// Width of the spent bar.
    pub spent_width: f64,
    /// x of the allowed marker.
    pub allowed_x: f64,
    /// Confidence whisker.
    pub low_x: f64,
    /// Confidence whisker.
    pub high_x: f64,
    /// Label at the right end (scale maximum).
    pub scale_label: String,
    /// `text-anchor` of the allowed label, so it stays inside the bar's box.
    pub allowed_anchor: String,
    /// Whether the `0%` label has room beside the allowed label.
    pub show_zero_label: bool,
    /// Whether there is anything to draw (no requests, no bar).
    pub drawn: bool,
}

/// One phase's share of the budget.
#[derive(Debug, Serialize)]
pub struct PhaseBudgetRow {
    /// Phase name.
    pub phase: String,
    /// Errors.
    pub errors: String,
    /// Requests.
    pub requests: String,
    /// Error fraction.
    pub spent: String,
    /// `over`, `within`, `maintenance` or `empty`.
    pub class: String,
    /// Words for the class.
    pub note: String,
}

pub(super) fn budget(verdict: &Verdict) -> BudgetView {
    let budget = &verdict.budget;
    let scale = [
        budget.allowed * 2.0,
        budget.spent * 1.1,
        budget.confidence.high * 1.05,
    ]
    .into_iter()
    .filter(|v| v.is_finite())
    .fold(0.0, f64::max);
    let at = |value: f64| {
        if scale > 0.0 && value.is_finite() {
            timeline::round1((value / scale).clamp(0.0, 1.0) * 1000.0)
        } else {
            0.0
        }
    };
    let month_minutes = if budget.allowed > 0.0 {
        budget.monthly_budget_minutes / budget.allowed
    } else {
        0.0
    };
    let monthly_sustained = if budget.requests == 0 || month_minutes <= 0.0 {
        "—".to_string()
    } else {
        format!(
            "{} min ({})",
            format::number(budget.spent * month_minutes, 1),
            format::budget_share(budget.spent_of_allowed, "monthly budget")
        )
    };
    BudgetView {
        status: lanes::status_class(budget.status).to_string(),
        status_label: match budget.status {
            CheckStatus::Pass => "within budget".to_string(),
            CheckStatus::Fail => "over budget".to_string(),
            CheckStatus::Inconclusive => "cannot tell from this sample".to_string(),
        },
        allowed: format::percent(budget.allowed),
        spent: format::percent(budget.spent),
        spent_of_allowed: format::budget_multiple(budget.spent_of_allowed),
        spent_of_allowed_label: if format::budget_multiple(budget.spent_of_allowed).ends_with('×')
        {
            "the budget spent".to_string()
        } else {
            "of the budget spent".to_string()
        },
        errors_of_requests: format!(
            "{} of {}",
            format::count(budget.errors),
            format::count(budget.requests)
        ),
        confidence: interval(&budget.confidence),
        bar: BudgetBar {
            spent_width: at(budget.spent),
            allowed_x: at(budget.allowed),
            low_x: at(budget.confidence.low),
            high_x: at(budget.confidence.high),
            scale_label: format::percent(scale),
            allowed_anchor: match at(budget.allowed) {
                x if x < 90.0 => "start",
                x if x > 910.0 => "end",
                _ => "middle",
            }
            .to_string(),
            show_zero_label: at(budget.allowed) >= 90.0,
            drawn: budget.requests > 0,
        },
        monthly_budget: format!("{} min", format::number(budget.monthly_budget_minutes, 1)),
        monthly_spent: match budget.monthly_minutes_spent {
            Some(minutes) => format!("{} min", format::number(minutes, 2)),
            None => "not computed: the scenario gives no production request rate".to_string(),
        },
        monthly_sustained,
        maintenance_excluded: if budget.maintenance_excluded_s > 0.0 {
            format::duration(budget.maintenance_excluded_s)
        } else {
            String::new()
        },
        phases: budget
            .phases
            .iter()
            .map(|phase| {
                let (class, note) = if phase.maintenance {
                    ("maintenance", "maintenance: excluded")
                } else if phase.requests == 0 {
                    ("empty", "no requests")
                } else if phase.spent > budget.allowed {
                    ("over", "over the allowed rate")
                } else {
                    ("within", "within")
                };
                PhaseBudgetRow {
                    phase: cell(&phase.phase),
                    errors: format::count(phase.errors),
                    requests: format::count(phase.requests),
                    spent: format::percent(phase.spent),
                    class: class.to_string(),
                    note: note.to_string(),
                }
            })
            .collect(),
    }
}

/// Why each undecided check is undecided, in words.
pub(super) fn inconclusive_notes(verdict: &Verdict) -> Vec<String> {
    let allowed = verdict.budget.allowed;
    let bound = crate::scenario::Comparison {
        op: crate::scenario::Op::Le,
        value: allowed,
    };
    let needed = match crate::verdict::trials_needed(&bound) {
        // With zero errors the exact 95% upper bound is 1 − 0.025^(1/n).
        Some(needed) if allowed > 0.0 => format!(
            " With no errors at all, {} requests are needed before the 95% upper bound falls to {}.",
            format::count(needed),
            format::percent(allowed)
        ),
        _ => String::new(),
    };
    let mut notes: Vec<String> = verdict
        .checks
        .iter()
        .filter(|check| check.status == CheckStatus::Inconclusive)
        .map(|check| {
            let bound = match &check.confidence {
                Some(confidence) => format!(
                    " The 95% interval {} includes the limit, so this sample cannot tell a pass from a failure.{needed}",
                    interval(confidence)
                ),
                None => " The observations could not decide it.".to_string(),
            };
            cell(&format!(
                "{} / {}: expected {}, observed {}.{}",
                check.phase, check.name, check.expected, check.observed, bound
            ))
        })
        .collect();
    if verdict.budget.status == CheckStatus::Inconclusive {
        notes.push(format!(
            "Error budget: {} errors in {} requests; the 95% interval {} includes the allowed {}.{}",
            format::count(verdict.budget.errors),
            format::count(verdict.budget.requests),
            interval(&verdict.budget.confidence),
            format::percent(allowed),
            needed
        ));
    }
    notes
}
