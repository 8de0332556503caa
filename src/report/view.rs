//! The HTML report's view model: [`Results`] turned into the strings and
//! geometry the template places, section by section, in the order a
//! reviewer reads them (verdict with the failed checks named, checks with
//! failures first, change from the previous run, budget, timeline,
//! swimlanes, phases, faults, alerts, scenario and environment).
//!
//! Every string from the results file is cleaned here; the template engine
//! escapes it. Nothing here is marked safe, so nothing a scenario or target
//! supplied can become markup.

use serde::Serialize;

use crate::results::{CheckStatus, Interval, Outcome, Results, RunStatus, Verdict};

mod budget;
mod comparison;
mod monitoring;
mod tables;

use super::format;
use super::lanes::{self, Lanes};
use super::timeline::{self, TimeAxis, Timeline};
use budget::{BudgetView, budget, inconclusive_notes};
use comparison::{Comparison, comparison};
use monitoring::{MonitoringView, monitoring};
use tables::{
    AlertRow, CheckRow, CostView, FaultRow, KeyValue, PhaseRow, PollRow, PreflightView, alert_row,
    check_rows, checks_summary, fault_row, phase_rows, preflight,
};

/// Longest free text shown in a table cell before it is cut.
const CELL_CHARS: usize = 2_000;
/// Longest scenario source shown.
const SOURCE_CHARS: usize = 200_000;
/// Poll errors listed individually; the rest are counted.
const POLL_ERRORS_SHOWN: usize = 20;

/// Everything `templates/report.html` renders.
#[derive(Debug, Serialize)]
pub struct ReportView {
    /// Page title.
    pub title: String,
    /// Section 1: the verdict banner.
    pub banner: Banner,
    /// Section 2: checks, failures first.
    pub checks: Vec<CheckRow>,
    /// One line summarising the checks.
    pub checks_summary: String,
    /// Section 3: the error budget (absent without a verdict).
    pub budget: Option<BudgetView>,
    /// Why each inconclusive check could not be decided.
    pub inconclusive: Vec<String>,
    /// Section 4: the charts.
    pub timeline: Timeline,
    /// Section 5: capability and breaker lanes.
    pub lanes: Lanes,
    /// Section 6: per-phase traffic statistics.
    pub phases: Vec<PhaseRow>,
    /// Section 7: faults.
    pub faults: Vec<FaultRow>,
    /// Faults that may still be in place.
    pub unreverted: Vec<String>,
    /// Section 8: alert rules.
    pub alerts: Vec<AlertRow>,
    /// Preflight evidence.
    pub preflight: PreflightView,
    /// The first failed observer polls.
    pub poll_errors: Vec<PollRow>,
    /// How many more failed polls there were.
    pub poll_errors_more: usize,
    /// Section 9: the scenario file as run.
    pub scenario_source: String,
    /// Where the scenario came from.
    pub scenario_file: String,
    /// Environment metadata.
    pub environment: Vec<KeyValue>,
    /// Cost by phase and provider.
    pub cost: Option<CostView>,
    /// The change from the previous run of the same scenario.
    pub previous: Option<Comparison>,
    /// The platform's own alerts, when the run read its Prometheus.
    pub monitoring: Option<MonitoringView>,
}

/// The verdict banner.
#[derive(Debug, Serialize)]
pub struct Banner {
    /// `passed`, `failed`, `inconclusive`, `aborted`, `error`, `incomplete`.
    pub outcome: String,
    /// Upper-case label.
    pub label: String,
    /// One sentence: what happened.
    pub headline: String,
    /// Scenario name.
    pub scenario: String,
    /// Scenario description.
    pub description: String,
    /// Run id.
    pub run_id: String,
    /// When it started.
    pub started: String,
    /// How long it ran.
    pub duration: String,
    /// `lab` or `external`.
    pub target_kind: String,
    /// Target URL.
    pub target_url: String,
    /// Toxiproxy API used, if any.
    pub toxiproxy: String,
    /// gameday version.
    pub version: String,
    /// Seed.
    pub seed: String,
    /// The SLO defended.
    pub availability: String,
    /// Why the run was aborted or could not run.
    pub status_note: String,
}

/// Builds the view of one run; `previous` is the same scenario's last run
/// before it, with the link to its report, when known.
pub fn build(results: &Results, previous: Option<(&Results, String)>) -> ReportView {
    let record = &results.record;
    let verdict = results.verdict.as_ref();
    let axis = TimeAxis::of(results);
    let (scenario_source, scenario_file) = (
        format::clean_truncated(&record.scenario.source, SOURCE_CHARS),
        format::clean_truncated(record.scenario.file.as_deref().unwrap_or(""), 500),
    );
    ReportView {
        title: format::clean_truncated(
            &format!("{} — {}", outcome_name(results), record.scenario.name),
            200,
        ),
        banner: banner(results),
        budget: verdict.map(budget),
        inconclusive: verdict.map(inconclusive_notes).unwrap_or_default(),
        timeline: timeline::build(results, &axis),
        lanes: lanes::build(results, &axis),
        checks: verdict
            .map(|verdict| check_rows(verdict, &record.traffic.phases))
            .unwrap_or_default(),
        checks_summary: checks_summary(verdict),
        phases: phase_rows(results),
        faults: record.faults.iter().map(fault_row).collect(),
        unreverted: record
            .faults
            .iter()
            .filter(|f| {
                f.applied_at_s.is_some() && (f.revert_error.is_some() || f.reverted_at_s.is_none())
            })
            .map(|f| cell(&f.name))
            .collect(),
        alerts: verdict
            .map(|v| v.alerts.iter().map(alert_row).collect())
            .unwrap_or_default(),
        monitoring: monitoring(results),
        preflight: preflight(results),
        poll_errors: record
            .observations
            .poll_errors
            .iter()
            .take(POLL_ERRORS_SHOWN)
            .map(|error| PollRow {
                at: format::offset(error.t),
                route: cell(&error.route),
                message: cell(&error.message),
            })
            .collect(),
        poll_errors_more: record
            .observations
            .poll_errors
            .len()
            .saturating_sub(POLL_ERRORS_SHOWN),
        scenario_source,
        scenario_file,
        environment: record
            .environment
            .entries()
            .iter()
            .take(200)
            .map(|(key, value)| KeyValue {
                key: format::clean_truncated(key, 200),
                value: cell(value),
            })
            .collect(),
        cost: verdict.and_then(|v| v.cost.as_ref()).map(|cost| CostView {
            total: format!("{} {}", format::number(cost.total, 2), cell(&cost.currency)),
            rows: cost
                .by_phase
                .iter()
                .flat_map(|(phase, providers)| {
                    providers.iter().map(move |(provider, amount)| {
                        [cell(phase), cell(provider), format::number(*amount, 4)]
                    })
                })
                .take(500)
                .collect(),
        }),
        previous: previous.map(|(before, href)| comparison(before, results, href)),
    }
}

pub(super) fn cell(text: &str) -> String {
    format::clean_truncated(text, CELL_CHARS)
}

/// The outcome in one lower-case word (also the banner's CSS class).
pub fn outcome_name(results: &Results) -> &'static str {
    match (&results.verdict, &results.record.status) {
        (Some(verdict), _) => match verdict.outcome {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Inconclusive => "inconclusive",
            Outcome::Aborted => "aborted",
            Outcome::Error => "error",
        },
        (None, RunStatus::Aborted { .. }) => "aborted",
        (None, RunStatus::Error { .. }) => "error",
        (None, RunStatus::Running { .. }) => "incomplete",
        (None, RunStatus::Completed) => "unjudged",
    }
}

/// How long the run lasted: wall clock when both ends are known, else the timeline.
pub fn run_seconds(results: &Results) -> f64 {
    let record = &results.record;
    record
        .ended_at
        .as_deref()
        .and_then(|end| format::seconds_between(&record.started_at, end))
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
        .unwrap_or_else(|| TimeAxis::of(results).end_s)
}

fn banner(results: &Results) -> Banner {
    let record = &results.record;
    let outcome = outcome_name(results);
    let status_note = match &record.status {
        RunStatus::Aborted { reason } => format!("Aborted: {}", cell(reason)),
        RunStatus::Error { message } => format!("Could not run: {}", cell(message)),
        RunStatus::Running { phase } => format!(
            "The journal ends in phase {} (the run did not finish; this is a partial report).",
            cell(phase)
        ),
        RunStatus::Completed => String::new(),
    };
    Banner {
        outcome: outcome.to_string(),
        label: outcome.to_uppercase(),
        headline: headline(results),
        scenario: format::clean_truncated(&record.scenario.name, 300),
        description: cell(&record.scenario.description),
        run_id: format::clean_truncated(&record.run_id, 300),
        started: format::timestamp(&record.started_at),
        duration: format::duration(run_seconds(results)),
        target_kind: cell(&record.target.kind),
        target_url: cell(&record.target.url),
        toxiproxy: cell(record.target.toxiproxy.as_deref().unwrap_or("")),
        version: format::clean_truncated(&record.gameday_version, 100),
        seed: record.seed.to_string(),
        availability: format::percent(record.scenario.availability),
        status_note,
    }
}

/// One sentence a reviewer can stop after.
fn headline(results: &Results) -> String {
    let Some(verdict) = &results.verdict else {
        return "No verdict was computed for this run.".to_string();
    };
    let failed = count_status(verdict, CheckStatus::Fail);
    let inconclusive = count_status(verdict, CheckStatus::Inconclusive);
    let total = verdict.checks.len();
    let mut parts = Vec::new();
    if total == 0 {
        parts.push("no check was evaluated".to_string());
    } else if failed > 0 {
        parts.push(format!(
            "{failed} of {total} checks failed: {}",
            named(verdict, CheckStatus::Fail)
        ));
    } else if inconclusive > 0 {
        parts.push(format!(
            "{inconclusive} of {total} checks could not be decided: {}",
            named(verdict, CheckStatus::Inconclusive)
        ));
    } else {
        parts.push(format!("all {total} checks passed"));
    }
    let budget = &verdict.budget;
    if budget.requests == 0 {
        parts.push("no request was judged, so the error budget is unknown".to_string());
    } else {
        parts.push(format!(
            "{} spent ({} errors in {} requests)",
            format::budget_share(budget.spent_of_allowed, "error budget"),
            format::count(budget.errors),
            format::count(budget.requests)
        ));
    }
    let unreverted = results
        .record
        .faults
        .iter()
        .filter(|fault| fault.revert_error.is_some())
        .count();
    if unreverted > 0 {
        parts.push(format!("{unreverted} fault(s) could not be reverted"));
    }
    let mut sentence = parts.join("; ");
    if let Some(first) = sentence.get(..1) {
        sentence = format!("{}{}.", first.to_uppercase(), &sentence[1..]);
    }
    sentence
}

/// Checks named in the banner before the rest are counted.
const BANNER_CHECKS: usize = 6;

/// The checks with `status`, for the banner: `error_rate in redis-down,
/// apply redis-down, … and 3 more` (the phase is left out when the name
/// already ends with it, as a fault's own checks do).
fn named(verdict: &Verdict, status: CheckStatus) -> String {
    let all: Vec<String> = verdict
        .checks
        .iter()
        .filter(|check| check.status == status)
        .map(|check| {
            if check.name.ends_with(&format!(" {}", check.phase)) {
                check.name.clone()
            } else {
                format!("{} in {}", check.name, check.phase)
            }
        })
        .collect();
    let mut text = all
        .iter()
        .take(BANNER_CHECKS)
        .map(|name| format::clean_truncated(name, 120))
        .collect::<Vec<_>>()
        .join(", ");
    if all.len() > BANNER_CHECKS {
        text.push_str(&format!(" and {} more", all.len() - BANNER_CHECKS));
    }
    text
}

pub(super) fn count_status(verdict: &Verdict, status: CheckStatus) -> usize {
    verdict
        .checks
        .iter()
        .filter(|check| check.status == status)
        .count()
}

pub(super) fn interval(interval: &Interval) -> String {
    format!(
        "{} – {}",
        format::percent(interval.low),
        format::percent(interval.high)
    )
}
