//! The JUnit XML view of a run: one `<testsuite>` for the scenario, one
//! `<testcase>` per check, plus the error budget, the run itself and every
//! fault's revert, so CI systems show game days natively.
//!
//! Mapping: a failed check is a `<failure>` whose message says expected vs
//! observed; an inconclusive check is `<skipped>` with the reason (it is
//! neither green nor a regression); an aborted run, a setup error, a fault
//! that could not be applied or reverted is an `<error>`. The element and
//! attribute set follows the common JUnit schema (Ant/Jenkins): see
//! tests/fixtures/results/junit.xsd, which the test suite validates against.

use serde::Serialize;

use crate::results::{CheckStatus, PhaseWindow, Results, RunStatus};

use super::format;
use super::view;

/// Everything `templates/junit.xml` renders.
#[derive(Debug, Serialize)]
pub struct JunitView {
    /// Totals over the suite.
    pub tests: usize,
    /// Failed cases.
    pub failures: usize,
    /// Errored cases.
    pub errors: usize,
    /// Skipped cases.
    pub skipped: usize,
    /// Seconds, `12.345`.
    pub time: String,
    /// The one suite (one scenario per run).
    pub suite: Suite,
}

/// The scenario's test suite.
#[derive(Debug, Serialize)]
pub struct Suite {
    /// Scenario name.
    pub name: String,
    /// Package (the tool).
    pub package: String,
    /// Start, `YYYY-MM-DDTHH:MM:SS` (UTC, no zone, as the schema wants).
    pub timestamp: String,
    /// Host that ran it.
    pub hostname: String,
    /// Run properties.
    pub properties: Vec<(String, String)>,
    /// The cases.
    pub cases: Vec<Case>,
    /// Summary printed by CI systems.
    pub system_out: String,
}

/// One test case.
#[derive(Debug, Serialize)]
pub struct Case {
    /// Check name.
    pub name: String,
    /// `<scenario>.<phase>`.
    pub classname: String,
    /// Seconds.
    pub time: String,
    /// Set when the case failed.
    pub failure: Option<Problem>,
    /// Set when the case errored.
    pub error: Option<Problem>,
    /// Set when the case was skipped: why.
    pub skipped: Option<String>,
}

/// A failure or an error.
#[derive(Debug, Serialize)]
pub struct Problem {
    /// One line.
    pub message: String,
    /// A type name.
    pub kind: String,
    /// Details.
    pub body: String,
}

const TEXT_CHARS: usize = 4_000;

fn text(value: &str) -> String {
    format::clean_truncated(value, TEXT_CHARS)
}

/// Names must not be empty in JUnit; say so instead.
fn name(value: &str, fallback: &str) -> String {
    let cleaned = text(value);
    if cleaned.trim().is_empty() {
        fallback.to_string()
    } else {
        cleaned
    }
}

/// Builds the JUnit view of a run.
pub fn build(results: &Results) -> JunitView {
    let record = &results.record;
    let scenario = name(&record.scenario.name, "unnamed scenario");
    let phase_seconds = |name: &str| {
        record
            .plan
            .phases
            .iter()
            .find(|phase| phase.name == name)
            .map_or(0.0, |phase: &PhaseWindow| {
                (phase.end_s - phase.start_s).max(0.0)
            })
    };
    let mut cases = Vec::new();

    let (run_error, run_skipped) = match &record.status {
        RunStatus::Completed => (None, None),
        RunStatus::Aborted { reason } => (
            Some(problem(
                format!("aborted: {reason}"),
                "Aborted",
                reason.clone(),
            )),
            None,
        ),
        RunStatus::Error { message } => (
            Some(problem(
                format!("could not run: {message}"),
                "SetupError",
                message.clone(),
            )),
            None,
        ),
        RunStatus::Running { phase } => (
            Some(problem(
                format!("the journal ends in phase {phase}: the run did not finish"),
                "Incomplete",
                String::new(),
            )),
            None,
        ),
    };
    cases.push(Case {
        name: "run completed".to_string(),
        classname: format!("{scenario}.run"),
        time: seconds(view::run_seconds(results)),
        failure: None,
        error: run_error,
        skipped: run_skipped,
    });

    if let Some(verdict) = &results.verdict {
        for check in &verdict.checks {
            let confidence = check.confidence.map_or(String::new(), |interval| {
                format!(
                    " (95% interval {} – {})",
                    format::percent(interval.low),
                    format::percent(interval.high)
                )
            });
            let message = format!(
                "expected {}, observed {}{confidence}",
                check.expected, check.observed
            );
            let body = format!(
                "phase: {}\ncheck: {}\nexpected: {}\nobserved: {}{}",
                check.phase, check.name, check.expected, check.observed, confidence
            );
            let (failure, skipped) = match check.status {
                CheckStatus::Pass => (None, None),
                CheckStatus::Fail => (Some(problem(message, "CheckFailed", body)), None),
                CheckStatus::Inconclusive => {
                    (None, Some(text(&format!("inconclusive: {message}"))))
                }
            };
            cases.push(Case {
                name: name(&check.name, "unnamed check"),
                classname: text(&format!("{scenario}.{}", check.phase)),
                time: seconds(phase_seconds(&check.phase)),
                failure,
                error: None,
                skipped,
            });
        }
        let budget = &verdict.budget;
        let message = format!(
            "expected errors <= {} of requests, observed {} ({} of {}; 95% interval {} – {}; {})",
            format::percent(budget.allowed),
            format::percent(budget.spent),
            format::count(budget.errors),
            format::count(budget.requests),
            format::percent(budget.confidence.low),
            format::percent(budget.confidence.high),
            format::budget_share(budget.spent_of_allowed, "budget"),
        );
        let (failure, skipped) = match budget.status {
            CheckStatus::Pass => (None, None),
            CheckStatus::Fail => (
                Some(problem(message.clone(), "BudgetExceeded", message)),
                None,
            ),
            CheckStatus::Inconclusive => (None, Some(text(&format!("inconclusive: {message}")))),
        };
        cases.push(Case {
            name: "error budget".to_string(),
            classname: format!("{scenario}.run"),
            time: seconds(view::run_seconds(results)),
            failure,
            error: None,
            skipped,
        });
    }

    for fault in &record.faults {
        let name = text(&format!("fault {} applied and reverted", fault.name));
        let (error, skipped) = match (
            &fault.apply_error,
            &fault.revert_error,
            fault.applied_at_s,
            fault.reverted_at_s,
        ) {
            (_, Some(revert), _, _) => (
                Some(problem(
                    format!(
                        "fault {} could not be reverted and may still be in place: {revert}",
                        fault.name
                    ),
                    "RevertError",
                    format!(
                        "target: {}\nfault: {}\nerror: {revert}",
                        fault.target, fault.description
                    ),
                )),
                None,
            ),
            (Some(apply), None, _, _) => (
                Some(problem(
                    format!("fault {} could not be applied: {apply}", fault.name),
                    "ApplyError",
                    format!(
                        "target: {}\nfault: {}\nerror: {apply}",
                        fault.target, fault.description
                    ),
                )),
                None,
            ),
            (None, None, Some(_), None) => (
                Some(problem(
                    format!("fault {} was applied and never reverted", fault.name),
                    "RevertError",
                    format!("target: {}\nfault: {}", fault.target, fault.description),
                )),
                None,
            ),
            (None, None, None, _) => (
                None,
                Some("not applied (the run ended before its window)".to_string()),
            ),
            (None, None, Some(_), Some(_)) => (None, None),
        };
        cases.push(Case {
            name,
            classname: format!("{scenario}.faults"),
            time: seconds((fault.planned_end_s - fault.planned_at_s).max(0.0)),
            failure: None,
            error,
            skipped,
        });
    }

    let failures = cases.iter().filter(|case| case.failure.is_some()).count();
    let errors = cases.iter().filter(|case| case.error.is_some()).count();
    let skipped = cases.iter().filter(|case| case.skipped.is_some()).count();
    let mut properties = vec![
        ("run_id".to_string(), text(&record.run_id)),
        (
            "outcome".to_string(),
            view::outcome_name(results).to_string(),
        ),
        ("gameday_version".to_string(), text(&record.gameday_version)),
        ("started_at".to_string(), text(&record.started_at)),
        ("seed".to_string(), record.seed.to_string()),
        (
            "availability".to_string(),
            format::percent(record.scenario.availability),
        ),
        ("target_kind".to_string(), text(&record.target.kind)),
        ("target_url".to_string(), text(&record.target.url)),
    ];
    if let Some(file) = &record.scenario.file {
        properties.push(("scenario_file".to_string(), text(file)));
    }
    let system_out = text(&format!(
        "gameday {}: {} — {}",
        record.run_id,
        view::outcome_name(results),
        record.scenario.description
    ));
    JunitView {
        tests: cases.len(),
        failures,
        errors,
        skipped,
        time: seconds(view::run_seconds(results)),
        suite: Suite {
            name: scenario,
            package: "gameday".to_string(),
            timestamp: junit_timestamp(&record.started_at),
            hostname: record
                .environment
                .hostname
                .as_deref()
                .map(|host| format::clean_truncated(host, 200))
                .filter(|host| !host.trim().is_empty())
                .unwrap_or_else(|| "localhost".to_string()),
            properties,
            cases,
            system_out,
        },
    }
}

fn problem(message: String, kind: &str, body: String) -> Problem {
    Problem {
        message: format::clean_truncated(&message, 1_000),
        kind: kind.to_string(),
        body: text(&body),
    }
}

fn seconds(value: f64) -> String {
    if value.is_finite() && value >= 0.0 {
        format!("{value:.3}")
    } else {
        "0.000".to_string()
    }
}

/// `2026-11-29T05:17:26.123Z` → `2026-11-29T05:17:26` (the schema's
/// ISO 8601 pattern has no zone; gameday timestamps are UTC).
fn junit_timestamp(rfc3339: &str) -> String {
    let valid = format::epoch_seconds(rfc3339).is_some()
        && rfc3339.len() >= 19
        && rfc3339.is_char_boundary(19);
    if valid {
        rfc3339[..19].to_string()
    } else {
        "1970-01-01T00:00:00".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_lose_their_zone_and_fraction() {
        assert_eq!(
            junit_timestamp("2026-11-29T05:17:26.123Z"),
            "2026-11-29T05:17:26"
        );
        assert_eq!(junit_timestamp("soon"), "1970-01-01T00:00:00");
        assert_eq!(seconds(f64::NAN), "0.000");
        assert_eq!(seconds(1.23456), "1.235");
    }
}
