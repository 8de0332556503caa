//! Judging the platform's own monitoring (`monitoring.expect` in a
//! scenario) from what the run collected from Prometheus (`monitoring` in
//! results.json). Pure, like the rest of the verdict.
//!
//! Alert expectations, per phase (times come from the 1 s steps of the
//! `ALERTS` range query; see `crate::monitor`):
//!
//! - `fires_within: D` (fault phases): the alert starts firing at most D
//!   after the fault's apply. Already firing at the apply fails (it cannot
//!   have detected this fault), and so does no firing at all.
//! - `resolves_within: D` (fault phases: from the revert; `recovery`: from
//!   its start, the last revert): the firing that covers that moment ends at
//!   most D later. Not firing then passes; still firing when the run ended
//!   fails.
//! - `silent`: no firing overlaps any window of the phase.
//!
//! PromQL checks are judged on the **worst value** of the query over the
//! phase: a range query at a 1 s step over each window of the phase, every
//! value of every series returned; for `<`/`<=` the worst is the highest,
//! for `>`/`>=` the lowest. No data at all is `inconclusive`.
//!
//! The summary (`verdict.monitoring`) sets each alert beside the fault it
//! fired in (the one whose window holds the firing, else the last applied
//! before it): time to detect (apply → firing), time to resolve (revert →
//! end of firing), and beside gameday's own rule on its own traffic (the
//! expectation's `compare_with`, else the alert's `seed_rule` label): the
//! detection gap, platform alert time minus gameday rule time.

use crate::monitor::record::{AlertSummary, AlertTimeline, MonitoringRecord, MonitoringVerdict};
use crate::plan::Plan;
use crate::results::{AlertResult, Check, CheckStatus, FaultRecord, RunRecord};
use crate::scenario::Scenario;
use crate::scenario::model::{Op, format_duration, trim_float};
use crate::scenario::monitoring::{AlertWatch, QueryCheck};

/// Every monitoring check, phase by phase in scenario order; within a
/// phase, alerts by name, then queries in file order.
pub fn checks(scenario: &Scenario, plan: &Plan, record: &RunRecord) -> Vec<Check> {
    let Some(monitoring) = &scenario.monitoring else {
        return Vec::new();
    };
    let mut checks = Vec::new();
    for phase in &monitoring.expect {
        for (name, watch) in &phase.alerts {
            checks.extend(alert_checks(plan, record, &phase.phase, name, watch));
        }
        for (index, query) in phase.queries.iter().enumerate() {
            checks.push(query_check(record, &phase.phase, index, query));
        }
    }
    checks
}

/// The alerts against the timeline; `None` when the run read no Prometheus.
pub fn summary(
    scenario: &Scenario,
    record: &RunRecord,
    gameday_alerts: &[AlertResult],
) -> Option<MonitoringVerdict> {
    let monitoring = scenario.monitoring.as_ref()?;
    let collected = record.monitoring.as_ref()?;
    let mut names: Vec<String> = collected.alerts.iter().map(|a| a.name.clone()).collect();
    names.extend(monitoring.alert_names());
    names.sort();
    names.dedup();
    let alerts = names
        .into_iter()
        .map(|name| {
            let timeline = collected.alerts.iter().find(|a| a.name == name);
            let compare_with = monitoring
                .expect
                .iter()
                .find_map(|phase| phase.alerts.get(&name)?.compare_with.clone())
                .or_else(|| timeline.and_then(|t| t.labels.get("seed_rule").cloned()));
            let first = timeline.and_then(|t| t.firing.first());
            let mut summary = AlertSummary {
                name,
                fired_at_s: first.map(|f| f.start_s),
                resolved_at_s: first.and_then(|f| f.end_s),
                gameday_rule: compare_with.clone(),
                ..AlertSummary::default()
            };
            if let Some(first) = first
                && let Some(fault) = fault_at(&record.faults, first.start_s)
            {
                summary.fault = Some(fault.name.clone());
                summary.detect_s = fault.applied_at_s.map(|at| round1(first.start_s - at));
                summary.resolve_s = match (first.end_s, fault.reverted_at_s) {
                    (Some(end), Some(revert)) => Some(round1((end - revert).max(0.0))),
                    _ => None,
                };
            }
            if let Some(rule) = &compare_with {
                summary.gameday_fired_at_s = gameday_alerts
                    .iter()
                    .find(|alert| &alert.name == rule)
                    .and_then(|alert| alert.fired_at_s);
                if let (Some(platform), Some(own)) =
                    (summary.fired_at_s, summary.gameday_fired_at_s)
                {
                    summary.gap_s = Some(round1(platform - own));
                }
            }
            summary
        })
        .collect();
    Some(MonitoringVerdict { alerts })
}

/// The fault whose window holds `t`, else the last one applied before `t`.
fn fault_at(faults: &[FaultRecord], t: f64) -> Option<&FaultRecord> {
    let applied = faults.iter().filter_map(|f| Some((f, f.applied_at_s?)));
    let inside = applied
        .clone()
        .filter(|(fault, at)| *at <= t && fault.reverted_at_s.is_none_or(|end| t <= end));
    inside
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .or_else(|| {
            applied
                .filter(|(_, at)| *at <= t)
                .max_by(|a, b| a.1.total_cmp(&b.1))
        })
        .map(|(fault, _)| fault)
}

fn check(phase: &str, name: String, expected: String) -> Check {
    Check {
        name,
        phase: phase.to_string(),
        status: CheckStatus::Inconclusive,
        expected,
        observed: String::new(),
        confidence: None,
    }
}

fn judged(mut check: Check, status: CheckStatus, observed: String) -> Check {
    check.status = status;
    check.observed = observed;
    check
}

/// The collected data, or why there is none (the check is then inconclusive).
fn collected(record: &RunRecord) -> Result<&MonitoringRecord, String> {
    match &record.monitoring {
        None => Err("no monitoring data: the run ended before it was collected".to_string()),
        Some(monitoring) => match &monitoring.error {
            Some(error) => Err(format!("alerts could not be read: {error}")),
            None => Ok(monitoring),
        },
    }
}

/// The windows of a phase of the plan, in run seconds.
fn windows(plan: &Plan, phase: &str) -> Vec<(f64, f64)> {
    plan.phase(phase)
        .map(|phase| {
            phase
                .windows
                .iter()
                .map(|w| (w.start.as_secs_f64(), w.end.as_secs_f64()))
                .collect()
        })
        .unwrap_or_default()
}

fn alert_checks(
    plan: &Plan,
    record: &RunRecord,
    phase: &str,
    name: &str,
    watch: &AlertWatch,
) -> Vec<Check> {
    let check_name = format!("alert {name}");
    let mut checks = Vec::new();
    let fault = record.faults.iter().find(|fault| fault.name == phase);
    let windows = windows(plan, phase);
    let data = collected(record);
    let timeline = data
        .as_ref()
        .ok()
        .and_then(|m| m.alerts.iter().find(|a| a.name == name));
    let empty = AlertTimeline {
        name: name.to_string(),
        labels: Default::default(),
        firing: Vec::new(),
    };
    let timeline = timeline.unwrap_or(&empty);

    if let Some(within) = watch.fires_within {
        let base = check(
            phase,
            check_name.clone(),
            format!("fires within {} of the apply", format_duration(within)),
        );
        checks.push(match (&data, fault.and_then(|f| f.applied_at_s)) {
            (Err(reason), _) => judged(base, CheckStatus::Inconclusive, reason.clone()),
            (_, None) => judged(
                base,
                CheckStatus::Inconclusive,
                format!("the fault {phase} was never applied"),
            ),
            (Ok(_), Some(applied)) => fires(base, timeline, applied, within.as_secs_f64()),
        });
    }
    if let Some(within) = watch.resolves_within {
        let from = match fault {
            Some(fault) => fault.reverted_at_s,
            None => windows.first().map(|w| w.0),
        };
        let what = if fault.is_some() {
            "the revert"
        } else {
            "the last revert"
        };
        let base = check(
            phase,
            check_name.clone(),
            format!("resolves within {} of {what}", format_duration(within)),
        );
        checks.push(match (&data, from) {
            (Err(reason), _) => judged(base, CheckStatus::Inconclusive, reason.clone()),
            (_, None) => judged(
                base,
                CheckStatus::Inconclusive,
                format!("the fault {phase} was never reverted"),
            ),
            (Ok(_), Some(from)) => resolves(base, timeline, from, within.as_secs_f64(), what),
        });
    }
    if watch.silent {
        let base = check(phase, check_name, "silent (never firing)".to_string());
        checks.push(match &data {
            Err(reason) => judged(base, CheckStatus::Inconclusive, reason.clone()),
            Ok(_) => silent(base, timeline, &windows),
        });
    }
    checks
}

fn fires(base: Check, timeline: &AlertTimeline, applied: f64, within: f64) -> Check {
    if let Some(earlier) = timeline
        .firing
        .iter()
        .find(|f| f.start_s < applied && f.end_s.is_none_or(|end| end > applied))
    {
        return judged(
            base,
            CheckStatus::Fail,
            format!(
                "already firing at the apply (since {} s): it did not detect this fault",
                trim_float(earlier.start_s)
            ),
        );
    }
    match timeline.firing.iter().find(|f| f.start_s >= applied) {
        Some(firing) => {
            let after = firing.start_s - applied;
            let status = if after <= within {
                CheckStatus::Pass
            } else {
                CheckStatus::Fail
            };
            judged(
                base,
                status,
                format!(
                    "fired {} s after the apply (at {} s)",
                    trim_float(round1(after)),
                    trim_float(firing.start_s)
                ),
            )
        }
        None => judged(
            base,
            CheckStatus::Fail,
            format!(
                "never fired after the apply (at {} s): the platform's monitoring did not notice",
                trim_float(applied)
            ),
        ),
    }
}

fn resolves(base: Check, timeline: &AlertTimeline, from: f64, within: f64, what: &str) -> Check {
    let covering = timeline
        .firing
        .iter()
        .find(|f| f.start_s <= from && f.end_s.is_none_or(|end| end > from));
    match covering {
        None => judged(
            base,
            CheckStatus::Pass,
            format!("not firing at {what} ({} s)", trim_float(from)),
        ),
        Some(firing) => match firing.end_s {
            None => judged(
                base,
                CheckStatus::Fail,
                format!(
                    "still firing when the run ended (since {} s)",
                    trim_float(firing.start_s)
                ),
            ),
            Some(end) => {
                let after = end - from;
                let status = if after <= within {
                    CheckStatus::Pass
                } else {
                    CheckStatus::Fail
                };
                judged(
                    base,
                    status,
                    format!(
                        "resolved {} s after {what} (at {} s)",
                        trim_float(round1(after)),
                        trim_float(end)
                    ),
                )
            }
        },
    }
}

fn silent(base: Check, timeline: &AlertTimeline, windows: &[(f64, f64)]) -> Check {
    let overlap = timeline.firing.iter().find_map(|firing| {
        windows.iter().find_map(|&(start, end)| {
            let firing_end = firing.end_s.unwrap_or(f64::INFINITY);
            (firing.start_s < end && firing_end > start)
                .then_some((firing.start_s.max(start), start))
        })
    });
    match overlap {
        None => judged(base, CheckStatus::Pass, "never fired".to_string()),
        Some((at, phase_start)) => judged(
            base,
            CheckStatus::Fail,
            format!(
                "fired at {} s ({} s into the phase)",
                trim_float(at),
                trim_float(round1(at - phase_start))
            ),
        ),
    }
}

fn query_check(record: &RunRecord, phase: &str, index: usize, query: &QueryCheck) -> Check {
    let mut text: String = query.query.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > 60 {
        text = text.chars().take(59).collect::<String>() + "…";
    }
    let base = check(
        phase,
        format!("promql {text}"),
        format!(
            "worst value {} {}",
            query.comparison.op,
            trim_float(query.comparison.value)
        ),
    );
    let monitoring = match &record.monitoring {
        Some(monitoring) => monitoring,
        None => {
            return judged(
                base,
                CheckStatus::Inconclusive,
                "no monitoring data: the run ended before it was collected".to_string(),
            );
        }
    };
    // The n-th query of this phase (the same text may appear twice).
    let Some(collected) = monitoring
        .queries
        .iter()
        .filter(|q| q.phase == phase)
        .nth(index)
        .filter(|q| q.query == query.query)
    else {
        return judged(
            base,
            CheckStatus::Inconclusive,
            "the query was not run".to_string(),
        );
    };
    if let Some(error) = &collected.error {
        return judged(
            base,
            CheckStatus::Inconclusive,
            format!("query failed: {error}"),
        );
    }
    let values = collected
        .series
        .iter()
        .flat_map(|series| series.values.iter().map(|(_, value)| *value))
        .filter(|value| !value.is_nan());
    let highest_is_worst = matches!(query.comparison.op, Op::Lt | Op::Le);
    let worst = values.fold(None, |worst: Option<f64>, value| match worst {
        None => Some(value),
        Some(w) if highest_is_worst => Some(w.max(value)),
        Some(w) => Some(w.min(value)),
    });
    match worst {
        None => judged(
            base,
            CheckStatus::Inconclusive,
            "no data: the query returned no series during the phase".to_string(),
        ),
        Some(worst) => {
            let status = if query.comparison.holds(&worst) {
                CheckStatus::Pass
            } else {
                CheckStatus::Fail
            };
            let points: usize = collected.series.iter().map(|s| s.values.len()).sum();
            judged(
                base,
                status,
                format!(
                    "worst {} over {points} values of {} series",
                    trim_float(worst),
                    collected.series.len()
                ),
            )
        }
    }
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::record::{FiringInterval, QueryRecord, QuerySeries};
    use crate::plan::Plan;
    use crate::verdict::fixture;

    const SCENARIO: &str = "
monitoring:
  prometheus: lab
  expect:
    baseline:
      alerts: { LlmProviderDown: silent }
    redis-down:
      alerts:
        LlmProviderDown: { fires_within: 10s, resolves_within: 10s }
      queries:
        - query: up
          is: '>= 1'
";

    fn run(firing: Vec<FiringInterval>, query_values: Vec<(f64, f64)>) -> Vec<Check> {
        let scenario = fixture::scenario(SCENARIO);
        let plan = Plan::from_scenario(&scenario);
        let mut record = fixture::record(&scenario, &plan);
        record.monitoring = Some(MonitoringRecord {
            prometheus: "http://127.0.0.1:9090".into(),
            alerts: vec![AlertTimeline {
                name: "LlmProviderDown".into(),
                labels: Default::default(),
                firing,
            }],
            queries: vec![QueryRecord {
                phase: "redis-down".into(),
                query: "up".into(),
                series: vec![QuerySeries {
                    labels: Default::default(),
                    values: query_values,
                }],
                error: None,
            }],
            ..MonitoringRecord::default()
        });
        checks(&scenario, &plan, &record)
    }

    fn status(checks: &[Check], phase: &str, expected_prefix: &str) -> (CheckStatus, String) {
        let check = checks
            .iter()
            .find(|c| c.phase == phase && c.expected.starts_with(expected_prefix))
            .unwrap_or_else(|| panic!("no {phase} {expected_prefix} in {checks:?}"));
        (check.status, check.observed.clone())
    }

    #[test]
    fn an_alert_firing_in_baseline_fails_silent() {
        let scenario = fixture::scenario(SCENARIO);
        let plan = Plan::from_scenario(&scenario);
        let baseline = windows(&plan, "baseline");
        let at = baseline.first().expect("a baseline").0 + 2.0;
        let checks = run(
            vec![FiringInterval {
                start_s: at,
                end_s: Some(at + 3.0),
            }],
            vec![(1.0, 1.0)],
        );
        let (status, observed) = status(&checks, "baseline", "silent");
        assert_eq!(status, CheckStatus::Fail, "{observed}");
        assert!(observed.contains("2 s into the phase"), "{observed}");
    }

    #[test]
    fn fires_and_resolves_within_are_measured_from_apply_and_revert() {
        let scenario = fixture::scenario(SCENARIO);
        let plan = Plan::from_scenario(&scenario);
        let record = fixture::record(&scenario, &plan);
        let fault = &record.faults[0];
        let (applied, reverted) = (
            fault.applied_at_s.expect("applied"),
            fault.reverted_at_s.expect("reverted"),
        );
        let checks = run(
            vec![FiringInterval {
                start_s: applied + 4.0,
                end_s: Some(reverted + 6.0),
            }],
            vec![(1.0, 1.0), (2.0, 1.0)],
        );
        let (fired, observed) = status(&checks, "redis-down", "fires within");
        assert_eq!(fired, CheckStatus::Pass, "{observed}");
        assert!(
            observed.starts_with("fired 4 s after the apply"),
            "{observed}"
        );
        let (resolved, observed) = status(&checks, "redis-down", "resolves within");
        assert_eq!(resolved, CheckStatus::Pass, "{observed}");
        let (silent, _) = status(&checks, "baseline", "silent");
        assert_eq!(silent, CheckStatus::Pass);
        let (query, observed) = status(&checks, "redis-down", "worst value >= 1");
        assert_eq!(query, CheckStatus::Pass, "{observed}");

        // Too late, never resolved, and a query whose worst value breaks the bound.
        let checks = run(
            vec![FiringInterval {
                start_s: applied + 12.0,
                end_s: None,
            }],
            vec![(1.0, 1.0), (2.0, 0.0)],
        );
        let (fired, observed) = status(&checks, "redis-down", "fires within");
        assert_eq!(fired, CheckStatus::Fail, "{observed}");
        assert!(
            observed.starts_with("fired 12 s after the apply"),
            "{observed}"
        );
        let (resolved, observed) = status(&checks, "redis-down", "resolves within");
        assert_eq!(resolved, CheckStatus::Fail, "{observed}");
        assert!(observed.starts_with("still firing"), "{observed}");
        let (query, observed) = status(&checks, "redis-down", "worst value >= 1");
        assert_eq!(query, CheckStatus::Fail, "{observed}");
        assert!(observed.starts_with("worst 0 "), "{observed}");

        // Never fired at all: a clear failure.
        let checks = run(Vec::new(), Vec::new());
        let (fired, observed) = status(&checks, "redis-down", "fires within");
        assert_eq!(fired, CheckStatus::Fail);
        assert!(observed.contains("never fired"), "{observed}");
        let (query, observed) = status(&checks, "redis-down", "worst value");
        assert_eq!(query, CheckStatus::Inconclusive, "{observed}");
    }

    #[test]
    fn the_summary_measures_detection_and_the_gap_to_gamedays_own_rule() {
        let scenario = fixture::scenario(SCENARIO);
        let plan = Plan::from_scenario(&scenario);
        let mut record = fixture::record(&scenario, &plan);
        let fault = record.faults[0].clone();
        let (applied, reverted) = (
            fault.applied_at_s.expect("applied"),
            fault.reverted_at_s.expect("reverted"),
        );
        let mut labels = std::collections::BTreeMap::new();
        labels.insert("seed_rule".to_string(), "error-rate-1pct-5m".to_string());
        record.monitoring = Some(MonitoringRecord {
            prometheus: "http://127.0.0.1:9090".into(),
            alerts: vec![AlertTimeline {
                name: "PlatformErrorRateHigh".into(),
                labels,
                firing: vec![FiringInterval {
                    start_s: applied + 20.0,
                    end_s: Some(reverted + 5.0),
                }],
            }],
            ..MonitoringRecord::default()
        });
        let gameday = [AlertResult {
            name: "error-rate-1pct-5m".into(),
            rule: "error_rate > 1% for 5m".into(),
            fired: true,
            fired_at_s: Some(applied + 8.0),
            detection_s: Some(8.0),
            fault: Some(fault.name.clone()),
        }];
        let summary = summary(&scenario, &record, &gameday).expect("a summary");
        let names: Vec<&str> = summary.alerts.iter().map(|a| a.name.as_str()).collect();
        // Fired, and expected in the scenario: both listed.
        assert_eq!(names, ["LlmProviderDown", "PlatformErrorRateHigh"]);
        let row = &summary.alerts[1];
        assert_eq!(row.fault.as_deref(), Some("redis-down"));
        assert_eq!(row.detect_s, Some(20.0));
        assert_eq!(row.resolve_s, Some(5.0));
        assert_eq!(row.gameday_rule.as_deref(), Some("error-rate-1pct-5m"));
        assert_eq!(row.gap_s, Some(12.0));
        let never = &summary.alerts[0];
        assert_eq!(never.fired_at_s, None);
        assert_eq!(never.detect_s, None);
    }
}
