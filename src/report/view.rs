//! The HTML report's view model: [`Results`] turned into the strings and
//! geometry the template places, section by section, in the order a
//! reviewer reads them (verdict, budget, timeline, swimlanes, checks,
//! phases, faults, alerts, scenario and environment).
//!
//! Every string from the results file is cleaned here; the template engine
//! escapes it. Nothing here is marked safe, so nothing a scenario or target
//! supplied can become markup.

use serde::Serialize;

use crate::results::{
    CheckStatus, Interval, Outcome, PhaseKind, PhaseStats, Results, RunStatus, Verdict,
};

use super::format;
use super::lanes::{self, Lanes};
use super::timeline::{self, TimeAxis, Timeline};

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
    /// Section 2: the error budget (absent without a verdict).
    pub budget: Option<BudgetView>,
    /// Why each inconclusive check could not be decided.
    pub inconclusive: Vec<String>,
    /// Section 3: the charts.
    pub timeline: Timeline,
    /// Section 4: capability and breaker lanes.
    pub lanes: Lanes,
    /// Section 5: checks, failures first.
    pub checks: Vec<CheckRow>,
    /// One line summarising the checks.
    pub checks_summary: String,
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
    /// Spent as a share of the allowed fraction.
    pub spent_of_allowed: String,
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

/// One row of the checks table.
#[derive(Debug, Serialize)]
pub struct CheckRow {
    /// Check name.
    pub name: String,
    /// Phase.
    pub phase: String,
    /// Expected.
    pub expected: String,
    /// Observed.
    pub observed: String,
    /// 95% interval or `—`.
    pub confidence: String,
    /// `pass`, `fail`, `inconclusive`.
    pub status: String,
}

/// One row of the per-phase table.
#[derive(Debug, Serialize)]
pub struct PhaseRow {
    /// Phase name.
    pub name: String,
    /// Kind of phase.
    pub kind: String,
    /// `t+1:00 – t+2:00`.
    pub window: String,
    /// Requests sent.
    pub sent: String,
    /// Dropped load.
    pub dropped: String,
    /// Errors.
    pub errors: String,
    /// Error rate.
    pub error_rate: String,
    /// Answered with something degraded.
    pub degraded: String,
    /// Percentiles.
    pub p50: String,
    /// 95th.
    pub p95: String,
    /// 99th.
    pub p99: String,
    /// Max.
    pub max: String,
    /// Time to first token, `p50 / p95 / p99`, or `—`.
    pub ttft: String,
    /// Answered turns by provider.
    pub providers: String,
}

/// One row of the faults table.
#[derive(Debug, Serialize)]
pub struct FaultRow {
    /// Timeline name.
    pub name: String,
    /// Fault kind.
    pub kind: String,
    /// What it acts on.
    pub target: String,
    /// Description.
    pub description: String,
    /// Planned window.
    pub planned: String,
    /// Applied time or `never`.
    pub applied: String,
    /// Why applying failed.
    pub apply_error: String,
    /// Revert time or `NOT REVERTED`.
    pub reverted: String,
    /// Why reverting failed.
    pub revert_error: String,
    /// Whether the fault visibly did something.
    pub effect: String,
    /// `ok`, `revert-error`, `apply-error`, `not-applied`.
    pub class: String,
}

/// One row of the alerts table.
#[derive(Debug, Serialize)]
pub struct AlertRow {
    /// Rule name.
    pub name: String,
    /// The rule.
    pub rule: String,
    /// `fired` or `quiet`.
    pub class: String,
    /// `fired` / `did not fire`.
    pub fired: String,
    /// When.
    pub fired_at: String,
    /// Detection time after the fault began.
    pub detection: String,
    /// The fault detected.
    pub fault: String,
}

/// Preflight evidence.
#[derive(Debug, Serialize)]
pub struct PreflightView {
    /// `held` / `did not hold`.
    pub steady_state: String,
    /// `pass` / `fail`.
    pub class: String,
    /// Observations.
    pub messages: Vec<String>,
    /// Proxy-path evidence.
    pub proxy_paths: Vec<ProxyPathRow>,
}

/// Whether a dependency's traffic crossed its proxy.
#[derive(Debug, Serialize)]
pub struct ProxyPathRow {
    /// Proxy.
    pub proxy: String,
    /// `yes` / `NO`.
    pub passes: String,
    /// `pass` / `fail`.
    pub class: String,
    /// What was measured.
    pub detail: String,
}

/// A failed observer poll.
#[derive(Debug, Serialize)]
pub struct PollRow {
    /// When.
    pub at: String,
    /// Route.
    pub route: String,
    /// Message.
    pub message: String,
}

/// A key and its value.
#[derive(Debug, Serialize)]
pub struct KeyValue {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// Cost table.
#[derive(Debug, Serialize)]
pub struct CostView {
    /// Total with currency.
    pub total: String,
    /// Phase, provider, cost.
    pub rows: Vec<[String; 3]>,
}

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
        checks: verdict.map(check_rows).unwrap_or_default(),
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

fn cell(text: &str) -> String {
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
        parts.push(format!("{failed} of {total} checks failed"));
    } else if inconclusive > 0 {
        parts.push(format!(
            "{inconclusive} of {total} checks could not be decided"
        ));
    } else {
        parts.push(format!("all {total} checks passed"));
    }
    let budget = &verdict.budget;
    if budget.requests == 0 {
        parts.push("no request was judged, so the error budget is unknown".to_string());
    } else {
        parts.push(format!(
            "{} of the error budget spent ({} errors in {} requests)",
            format::percent(budget.spent_of_allowed),
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

fn count_status(verdict: &Verdict, status: CheckStatus) -> usize {
    verdict
        .checks
        .iter()
        .filter(|check| check.status == status)
        .count()
}

fn interval(interval: &Interval) -> String {
    format!(
        "{} – {}",
        format::percent(interval.low),
        format::percent(interval.high)
    )
}

fn budget(verdict: &Verdict) -> BudgetView {
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
            "{} min ({} of the monthly budget)",
            format::number(budget.spent * month_minutes, 1),
            format::percent(budget.spent_of_allowed)
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
        spent_of_allowed: format::percent(budget.spent_of_allowed),
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
fn inconclusive_notes(verdict: &Verdict) -> Vec<String> {
    let allowed = verdict.budget.allowed;
    let needed = if allowed > 0.0 {
        // With zero errors, the 95% Wilson upper bound is about 3.84 / (n + 3.84).
        format!(
            " With no errors at all, about {} requests are needed before the 95% upper bound falls below {}.",
            format::count((3.84 / allowed).ceil() as u64),
            format::percent(allowed)
        )
    } else {
        String::new()
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

fn check_rows(verdict: &Verdict) -> Vec<CheckRow> {
    let rank = |status: CheckStatus| match status {
        CheckStatus::Fail => 0,
        CheckStatus::Inconclusive => 1,
        CheckStatus::Pass => 2,
    };
    let mut checks: Vec<_> = verdict.checks.iter().collect();
    checks.sort_by_key(|check| rank(check.status));
    checks
        .into_iter()
        .map(|check| CheckRow {
            name: cell(&check.name),
            phase: cell(&check.phase),
            expected: cell(&check.expected),
            observed: cell(&check.observed),
            confidence: check.confidence.as_ref().map_or("—".to_string(), interval),
            status: lanes::status_class(check.status).to_string(),
        })
        .collect()
}

fn checks_summary(verdict: Option<&Verdict>) -> String {
    let Some(verdict) = verdict else {
        return "No verdict: the checks were not evaluated.".to_string();
    };
    format!(
        "{} checks: {} failed, {} inconclusive, {} passed.",
        verdict.checks.len(),
        count_status(verdict, CheckStatus::Fail),
        count_status(verdict, CheckStatus::Inconclusive),
        count_status(verdict, CheckStatus::Pass)
    )
}

fn phase_rows(results: &Results) -> Vec<PhaseRow> {
    let plan = &results.record.plan;
    results
        .record
        .traffic
        .phases
        .iter()
        .map(|stats| {
            let window = plan.phases.iter().find(|phase| phase.name == stats.name);
            let total = stats.outcomes.total();
            let errors = stats.outcomes.errors();
            let answered = total > 0;
            let latency = |value: f64| {
                if answered {
                    format::millis(value)
                } else {
                    "—".to_string()
                }
            };
            PhaseRow {
                name: cell(&stats.name),
                kind: window.map_or("", |w| phase_kind(w.kind)).to_string(),
                window: window.map_or(String::new(), |w| {
                    format!(
                        "{} – {}",
                        format::offset(w.start_s),
                        format::offset(w.end_s)
                    )
                }),
                sent: format::count(stats.sent),
                dropped: format::count(stats.dropped),
                errors: format::count(errors),
                error_rate: if answered {
                    format::percent(errors as f64 / total as f64)
                } else {
                    "—".to_string()
                },
                degraded: format::count(stats.outcomes.degraded_ok),
                p50: latency(stats.latency.p50_ms),
                p95: latency(stats.latency.p95_ms),
                p99: latency(stats.latency.p99_ms),
                max: latency(stats.latency.max_ms),
                ttft: stats.ttft.as_ref().map_or("—".to_string(), |ttft| {
                    format!(
                        "{} / {} / {}",
                        format::millis(ttft.p50_ms),
                        format::millis(ttft.p95_ms),
                        format::millis(ttft.p99_ms)
                    )
                }),
                providers: providers(stats),
            }
        })
        .collect()
}

fn providers(stats: &PhaseStats) -> String {
    let total = stats
        .providers
        .values()
        .fold(0u64, |sum, n| sum.saturating_add(*n));
    if total == 0 {
        return "—".to_string();
    }
    let parts: Vec<String> = stats
        .providers
        .iter()
        .take(16)
        .map(|(name, count)| {
            format!(
                "{} {}",
                format::clean_truncated(name, 60),
                format::percent(*count as f64 / total as f64)
            )
        })
        .collect();
    parts.join(", ")
}

fn phase_kind(kind: PhaseKind) -> &'static str {
    match kind {
        PhaseKind::Warmup => "warm-up",
        PhaseKind::Baseline => "baseline",
        PhaseKind::Fault => "fault",
        PhaseKind::Between => "between",
        PhaseKind::Recovery => "recovery",
        PhaseKind::Run => "whole run",
    }
}

fn fault_row(fault: &crate::results::FaultRecord) -> FaultRow {
    let class = if fault.revert_error.is_some()
        || (fault.applied_at_s.is_some() && fault.reverted_at_s.is_none())
    {
        "revert-error"
    } else if fault.apply_error.is_some() {
        "apply-error"
    } else if fault.applied_at_s.is_none() {
        "not-applied"
    } else {
        "ok"
    };
    FaultRow {
        name: cell(&fault.name),
        kind: cell(&fault.kind),
        target: cell(&fault.target),
        description: cell(&fault.description),
        planned: format!(
            "{} – {}",
            format::offset(fault.planned_at_s),
            format::offset(fault.planned_end_s)
        ),
        applied: fault
            .applied_at_s
            .map_or("never".to_string(), format::offset),
        apply_error: cell(fault.apply_error.as_deref().unwrap_or("")),
        reverted: match (fault.reverted_at_s, &fault.revert_error, fault.applied_at_s) {
            (_, Some(_), _) => "NOT REVERTED".to_string(),
            (Some(at), None, _) => format::offset(at),
            (None, None, Some(_)) => "NOT REVERTED".to_string(),
            (None, None, None) => "—".to_string(),
        },
        revert_error: cell(fault.revert_error.as_deref().unwrap_or("")),
        effect: match &fault.effect {
            Some(effect) if effect.observed => format!("observed: {}", cell(&effect.detail)),
            Some(effect) => format!("no visible effect: {}", cell(&effect.detail)),
            None => "—".to_string(),
        },
        class: class.to_string(),
    }
}

fn alert_row(alert: &crate::results::AlertResult) -> AlertRow {
    AlertRow {
        name: cell(&alert.name),
        rule: cell(&alert.rule),
        class: if alert.fired { "fired" } else { "quiet" }.to_string(),
        fired: if alert.fired { "fired" } else { "did not fire" }.to_string(),
        fired_at: alert.fired_at_s.map_or("—".to_string(), format::offset),
        detection: alert.detection_s.map_or("—".to_string(), |s| {
            format!("{} after the fault began", format::duration(s))
        }),
        fault: cell(alert.fault.as_deref().unwrap_or("—")),
    }
}

fn preflight(results: &Results) -> PreflightView {
    let preflight = &results.record.preflight;
    PreflightView {
        steady_state: if preflight.steady_state {
            "held"
        } else {
            "did not hold"
        }
        .to_string(),
        class: if preflight.steady_state {
            "pass"
        } else {
            "fail"
        }
        .to_string(),
        messages: preflight
            .messages
            .iter()
            .take(100)
            .map(|m| cell(m))
            .collect(),
        proxy_paths: preflight
            .proxy_paths
            .iter()
            .take(100)
            .map(|path| ProxyPathRow {
                proxy: cell(&path.proxy),
                passes: if path.passes_through { "yes" } else { "NO" }.to_string(),
                class: if path.passes_through { "pass" } else { "fail" }.to_string(),
                detail: cell(&path.detail),
            })
            .collect(),
    }
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

fn comparison(before: &Results, now: &Results, href: String) -> Comparison {
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
        format::percent,
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
