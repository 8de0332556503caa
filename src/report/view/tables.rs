//! The report's tables: checks (failures first), per-phase traffic
//! statistics, faults (revert errors flagged), alerts, preflight evidence,
//! observer poll errors, environment and cost.

use serde::Serialize;

use crate::results::{
    AlertResult, CheckStatus, FaultRecord, PhaseKind, PhaseStats, Results, Verdict,
};

use super::{cell, count_status, interval};
use crate::report::{format, lanes};

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
    /// For an `error_rate` check, the phase's distinct failures, one line
    /// each (`3× chat HTTP 503 llm_unavailable: ...`).
    pub failures: Vec<String>,
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
    /// Sent late (the generator behind its schedule).
    pub late: String,
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

pub(super) fn check_rows(verdict: &Verdict, phases: &[PhaseStats]) -> Vec<CheckRow> {
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
            failures: if check.name == "error_rate" {
                failure_lines(phases, &check.phase)
            } else {
                Vec::new()
            },
        })
        .collect()
}

/// The distinct failures of the phase named `phase`, one line each, and how
/// many more failed requests are not listed.
fn failure_lines(phases: &[PhaseStats], phase: &str) -> Vec<String> {
    let Some(stats) = phases.iter().find(|stats| stats.name == phase) else {
        return Vec::new();
    };
    let mut lines: Vec<String> = stats.failures.iter().map(|f| cell(&f.line())).collect();
    if stats.other_failures > 0 {
        lines.push(format!(
            "{} more failed requests not listed",
            stats.other_failures
        ));
    }
    lines
}

pub(super) fn checks_summary(verdict: Option<&Verdict>) -> String {
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

pub(super) fn phase_rows(results: &Results) -> Vec<PhaseRow> {
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
                late: format::count(stats.late),
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

pub(super) fn fault_row(fault: &FaultRecord) -> FaultRow {
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

pub(super) fn alert_row(alert: &AlertResult) -> AlertRow {
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

pub(super) fn preflight(results: &Results) -> PreflightView {
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
                passes: match path.passes_through {
                    Some(true) => "yes",
                    Some(false) => "NO",
                    None => "unknown",
                }
                .to_string(),
                class: match path.passes_through {
                    Some(true) => "pass",
                    Some(false) => "fail",
                    None => "inconclusive",
                }
                .to_string(),
                detail: cell(&path.detail),
            })
            .collect(),
    }
}
