//! Alert rules (`error_rate > 1% for 5m`) over the per-second buckets:
//! when each would have fired, how long after its fault, and the checks of
//! `expect.run.alerts`. Halt conditions use the same [`first_violation`],
//! through [`RuleWatch`] while the run goes.
//!
//! **Window semantics: a rolling aggregate.** A rule with window W holds at
//! the end of second `t` when the metric, aggregated over the W whole
//! seconds `[t − W + 1, t]`, satisfies the comparison; it first fires at the
//! end of the first such window (`t + 1`), and never before a full window
//! of data exists. Per-second values would be too noisy to require of
//! every second: at 100 requests/s a steady 10% error rate has a second at
//! or under 5% about one time in seventeen, so "above 5% in each of 30
//! seconds in a row" would be met by a given 30 s stretch only one time in
//! six, missing or delaying a plain violation.
//!
//! - `error_rate`: the window's errors / completed requests.
//! - `p50`/`p95`/`p99`: the window's percentile is estimated from the
//!   per-second percentiles, weighting each second by its requests: `p95 >
//!   5s` holds when more than 5% of the window's requests came from seconds
//!   whose own p95 was over 5 s (formally, the request-weighted 95th
//!   percentile of the per-second p95s). Exact when the seconds are alike;
//!   sound in the cases that matter (a stall that slows a tenth of the
//!   window's seconds breaks a p95 rule).
//! - Seconds without completed requests add nothing; a window without any
//!   never holds.
//!
//! Cost is linear in the number of buckets whatever the window. During a
//! run, pass only the buckets that are complete (every request of the
//! second has finished or timed out).
//!
//! **Detection time** of an alert is measured from the apply of the fault
//! it fired in (the most recently applied fault whose window contains the
//! firing moment; else the most recently applied fault before it). An alert
//! that fires before any fault has no detection time: it is a false alarm.
//!
//! **Expectations.** `fired` and `fired within D` (D from the first fault's
//! apply) fail when the rule did not fire in time, also when the run was
//! too short for its window. `not_fired` passes when it did not fire, but is
//! `inconclusive` when the measured run is shorter than the window: such a
//! run cannot show it.

use std::collections::VecDeque;

use crate::results::{AlertResult, Check, CheckStatus, SecondBucket};
use crate::scenario::{
    AlertExpectation, AlertRule, Op, PhaseExpectations, Rule, RuleMetric, format_duration,
};

use super::context::Context;
use super::format;

/// The first time (seconds from the run start) at which `rule` held over a
/// full window of the per-second buckets, if ever (buckets in any order;
/// missing seconds count as seconds without requests).
pub fn first_violation(rule: &Rule, seconds: &[SecondBucket]) -> Option<f64> {
    let window = window_seconds(rule);
    let mut seconds: Vec<&SecondBucket> = seconds.iter().collect();
    seconds.sort_by_key(|bucket| bucket.t);
    let first = seconds.first()?.t;
    let quantile = match rule.metric {
        RuleMetric::ErrorRate => None,
        RuleMetric::P50 => Some(50),
        RuleMetric::P95 => Some(95),
        RuleMetric::P99 => Some(99),
    };
    let mut sums = Sums::default();
    let mut in_window: VecDeque<&SecondBucket> = VecDeque::new();
    for bucket in seconds {
        let contribution = Sums::of(rule, bucket);
        sums.add(&contribution);
        in_window.push_back(bucket);
        while let Some(oldest) = in_window.front() {
            if u64::from(oldest.t) + window <= u64::from(bucket.t) {
                sums.remove(&Sums::of(rule, oldest));
                in_window.pop_front();
            } else {
                break;
            }
        }
        let full = u64::from(bucket.t) + 1 >= u64::from(first) + window;
        if full && sums.holds(rule, quantile) {
            return Some(f64::from(bucket.t) + 1.0);
        }
    }
    None
}

/// Halt rules checked while the run goes: buckets arrive as they close, and
/// only the newest ones the longest window needs are kept, so each check
/// costs the new seconds plus one window, not the whole run so far.
/// Finds exactly what [`first_violation`] finds over every bucket so far.
#[derive(Debug)]
pub struct RuleWatch {
    rules: Vec<Rule>,
    /// The longest window, in seconds.
    longest: u64,
    recent: VecDeque<SecondBucket>,
}

impl RuleWatch {
    /// A watch over `rules`.
    pub fn new(rules: Vec<Rule>) -> Self {
        let longest = rules.iter().map(window_seconds).max().unwrap_or(1);
        Self {
            rules,
            longest,
            recent: VecDeque::new(),
        }
    }

    /// Whether there is no rule to watch (nothing can ever hold).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The second the next bucket should be (0 before any).
    pub fn next_t(&self) -> u32 {
        self.recent
            .back()
            .map_or(0, |last| last.t.saturating_add(1))
    }

    /// Adds the buckets closed since the last call (consecutive, in order)
    /// and returns the first rule that now holds, with the moment it first
    /// held (seconds from the run start).
    pub fn push(&mut self, new: Vec<SecondBucket>) -> Option<(&Rule, f64)> {
        let first_new = new.first()?.t;
        // Windows ending in a new second reach back `longest − 1` seconds.
        while self
            .recent
            .front()
            .is_some_and(|oldest| u64::from(oldest.t) + self.longest <= u64::from(first_new))
        {
            self.recent.pop_front();
        }
        self.recent.extend(new);
        let recent = self.recent.make_contiguous();
        self.rules
            .iter()
            .find_map(|rule| first_violation(rule, recent).map(|at| (rule, at)))
    }
}

/// The window in whole seconds (at least one).
fn window_seconds(rule: &Rule) -> u64 {
    let seconds = rule.window.as_secs_f64().ceil();
    if seconds >= 1.0 { seconds as u64 } else { 1 }
}

/// Running sums over a window.
#[derive(Debug, Default, Clone, Copy)]
struct Sums {
    /// Completed requests.
    requests: u64,
    /// Errors.
    errors: u64,
    /// Requests of seconds whose percentile is below the threshold.
    below: u64,
    /// Requests of seconds whose percentile is at or below the threshold.
    at_or_below: u64,
}

impl Sums {
    fn of(rule: &Rule, bucket: &SecondBucket) -> Sums {
        let requests = bucket.outcomes.total();
        let value_s = match rule.metric {
            RuleMetric::ErrorRate => 0.0,
            RuleMetric::P50 => bucket.latency.p50_ms / 1000.0,
            RuleMetric::P95 => bucket.latency.p95_ms / 1000.0,
            RuleMetric::P99 => bucket.latency.p99_ms / 1000.0,
        };
        Sums {
            requests,
            errors: bucket.outcomes.errors(),
            below: if value_s < rule.threshold {
                requests
            } else {
                0
            },
            at_or_below: if value_s <= rule.threshold {
                requests
            } else {
                0
            },
        }
    }

    fn add(&mut self, other: &Sums) {
        self.requests = self.requests.saturating_add(other.requests);
        self.errors = self.errors.saturating_add(other.errors);
        self.below = self.below.saturating_add(other.below);
        self.at_or_below = self.at_or_below.saturating_add(other.at_or_below);
    }

    fn remove(&mut self, other: &Sums) {
        self.requests = self.requests.saturating_sub(other.requests);
        self.errors = self.errors.saturating_sub(other.errors);
        self.below = self.below.saturating_sub(other.below);
        self.at_or_below = self.at_or_below.saturating_sub(other.at_or_below);
    }

    /// `percentile`: `None` for the error rate, else 50, 95 or 99.
    fn holds(&self, rule: &Rule, percentile: Option<u64>) -> bool {
        if self.requests == 0 {
            return false;
        }
        match percentile {
            None => rule.op.holds(
                &(self.errors as f64 / self.requests as f64),
                &rule.threshold,
            ),
            // The weighted q-quantile Q of the per-second values, with W(·)
            // the weight of the seconds in a range and W the total:
            // Q > x ⇔ W(≤ x) < qW;  Q ≥ x ⇔ W(< x) < qW;
            // Q < x ⇔ W(< x) ≥ qW;  Q ≤ x ⇔ W(≤ x) ≥ qW.
            // In integers (percent), so that 5% of 2,000 is exactly 100.
            Some(q) => {
                let share = |weight: u64| u128::from(weight) * 100;
                let needed = u128::from(q) * u128::from(self.requests);
                match rule.op {
                    Op::Gt => share(self.at_or_below) < needed,
                    Op::Ge => share(self.below) < needed,
                    Op::Lt => share(self.below) >= needed,
                    Op::Le => share(self.at_or_below) >= needed,
                }
            }
        }
    }
}

/// Every alert rule of the scenario, evaluated over the measured run.
pub fn evaluate(context: &Context<'_>) -> Vec<AlertResult> {
    let seconds = context.measured_seconds();
    context
        .scenario
        .alerts
        .iter()
        .map(|alert| result(context, alert, &seconds))
        .collect()
}

fn result(context: &Context<'_>, alert: &AlertRule, seconds: &[SecondBucket]) -> AlertResult {
    let fired_at = first_violation(&alert.rule, seconds);
    let fault = fired_at.and_then(|at| fault_at(context, at));
    AlertResult {
        name: alert.name.clone(),
        rule: alert.rule.to_string(),
        fired: fired_at.is_some(),
        fired_at_s: fired_at,
        detection_s: fault
            .as_ref()
            .map(|(_, start)| fired_at.unwrap_or(*start) - start),
        fault: fault.map(|(name, _)| name),
    }
}

/// The fault an alert firing at `at` is attributed to, and its apply time.
fn fault_at(context: &Context<'_>, at: f64) -> Option<(String, f64)> {
    let started: Vec<(String, f64, f64)> = context
        .plan
        .faults
        .iter()
        .filter_map(|fault| {
            let start = context.fault_start(&fault.name)?;
            let end = context.fault_end(&fault.name).unwrap_or(f64::INFINITY);
            (start <= at).then(|| (fault.name.clone(), start, end))
        })
        .collect();
    let latest = |candidates: Vec<&(String, f64, f64)>| {
        candidates
            .into_iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(name, start, _)| (name.clone(), *start))
    };
    latest(started.iter().filter(|(_, _, end)| at < *end).collect())
        .or_else(|| latest(started.iter().collect()))
}

/// The checks of `expect.<phase>.alerts`, in rule-name order.
pub fn checks(
    context: &Context<'_>,
    expectations: &PhaseExpectations,
    results: &[AlertResult],
) -> Vec<Check> {
    let measured = context.observed_until - context.plan.measured.start.as_secs_f64();
    expectations
        .alerts
        .iter()
        .map(|(name, expectation)| {
            let mut check = Check {
                name: format!("alert {name}"),
                phase: expectations.phase.clone(),
                status: CheckStatus::Inconclusive,
                expected: match expectation {
                    AlertExpectation::Fired => "fired".to_string(),
                    AlertExpectation::NotFired => "not fired".to_string(),
                    AlertExpectation::FiredWithin(within) => {
                        format!(
                            "fired within {} of the first fault",
                            format_duration(*within)
                        )
                    }
                },
                observed: String::new(),
                confidence: None,
            };
            let rule = context
                .scenario
                .alerts
                .iter()
                .find(|alert| &alert.name == name);
            let (Some(rule), Some(result)) =
                (rule, results.iter().find(|result| &result.name == name))
            else {
                check.observed = format!("there is no alert rule `{name}`");
                return check;
            };
            let too_short = (window_seconds(&rule.rule) as f64) > measured;
            let fired_text = |at: f64| match (&result.fault, result.detection_s) {
                (Some(fault), Some(detection)) => format!(
                    "fired at {} ({} after {fault} was applied)",
                    format::seconds(at),
                    format::seconds(detection)
                ),
                _ => format!("fired at {}, before any fault", format::seconds(at)),
            };
            let not_fired_text = if too_short {
                format!(
                    "not fired: its {} window is longer than the {} measured run",
                    format_duration(rule.rule.window),
                    format::seconds(measured.max(0.0))
                )
            } else {
                "not fired".to_string()
            };
            match (expectation, result.fired_at_s) {
                (AlertExpectation::Fired, Some(at)) => {
                    check.status = CheckStatus::Pass;
                    check.observed = fired_text(at);
                }
                (AlertExpectation::NotFired, Some(at)) => {
                    check.status = CheckStatus::Fail;
                    check.observed = fired_text(at);
                }
                (AlertExpectation::FiredWithin(within), Some(at)) => {
                    let first = context.first_apply();
                    check.observed = match first {
                        Some(first) if at >= first => format!(
                            "fired at {}, {} after the first fault",
                            format::seconds(at),
                            format::seconds(at - first)
                        ),
                        Some(first) => format!(
                            "fired at {}, {} before the first fault (a false alarm)",
                            format::seconds(at),
                            format::seconds(first - at)
                        ),
                        None => format!("fired at {}; the run has no fault", format::seconds(at)),
                    };
                    check.status = match first {
                        Some(first) if at >= first && at - first <= within.as_secs_f64() => {
                            CheckStatus::Pass
                        }
                        _ => CheckStatus::Fail,
                    };
                }
                (AlertExpectation::NotFired, None) => {
                    check.status = if too_short {
                        CheckStatus::Inconclusive
                    } else {
                        CheckStatus::Pass
                    };
                    check.observed = not_fired_text;
                }
                (AlertExpectation::Fired | AlertExpectation::FiredWithin(_), None) => {
                    check.status = CheckStatus::Fail;
                    check.observed = not_fired_text;
                }
            }
            check
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::fixture;
    use super::*;
    use crate::plan::Plan;
    use crate::results::{Latency, OutcomeCounts, RunRecord};

    fn rule(metric: RuleMetric, op: Op, threshold: f64, window_s: u64) -> Rule {
        Rule {
            metric,
            op,
            threshold,
            window: Duration::from_secs(window_s),
        }
    }

    fn bucket(t: u32, ok: u64, errors: u64, p95_ms: f64) -> SecondBucket {
        SecondBucket {
            t,
            sent: ok + errors,
            outcomes: OutcomeCounts {
                ok,
                timeout: errors,
                ..OutcomeCounts::default()
            },
            latency: Latency {
                p95_ms,
                ..Latency::default()
            },
            ..SecondBucket::default()
        }
    }

    /// `clean` seconds, then `bad` seconds at 50% errors, then clean again.
    fn burst(clean: u32, bad: u32) -> Vec<SecondBucket> {
        (0..clean + bad + 20)
            .map(|t| {
                if (clean..clean + bad).contains(&t) {
                    bucket(t, 50, 50, 80.0)
                } else {
                    bucket(t, 100, 0, 80.0)
                }
            })
            .collect()
    }

    #[test]
    fn a_violation_as_long_as_the_window_fires_at_its_end() {
        // 10 s at 50% errors from t = 20: only the window of exactly those
        // ten seconds averages over 46%; it ends at t = 30.
        let rule = rule(RuleMetric::ErrorRate, Op::Gt, 0.46, 10);
        assert_eq!(first_violation(&rule, &burst(20, 10)), Some(30.0));
    }

    #[test]
    fn a_violation_one_second_short_of_the_window_does_not_fire() {
        // Nine bad seconds: the worst 10 s window is 9 × 50 / 1000 = 45%.
        let strict = rule(RuleMetric::ErrorRate, Op::Gt, 0.46, 10);
        assert_eq!(first_violation(&strict, &burst(20, 9)), None);
        // The aggregate is what counts: 45% is above 40%.
        let loose = rule(RuleMetric::ErrorRate, Op::Gt, 0.40, 10);
        assert_eq!(first_violation(&loose, &burst(20, 9)), Some(29.0));
    }

    #[test]
    fn no_window_fires_before_a_full_window_of_data() {
        let all_bad: Vec<SecondBucket> = (5..15).map(|t| bucket(t, 0, 100, 80.0)).collect();
        let rule = rule(RuleMetric::ErrorRate, Op::Gt, 0.01, 10);
        assert_eq!(first_violation(&rule, &all_bad), Some(15.0));
        assert_eq!(first_violation(&rule, &all_bad[..9]), None);
        assert_eq!(first_violation(&rule, &[]), None);
    }

    #[test]
    fn seconds_without_requests_add_nothing() {
        // A gap of silent seconds inside the window does not dilute the rate.
        let mut seconds: Vec<SecondBucket> = (0..5).map(|t| bucket(t, 0, 10, 80.0)).collect();
        seconds.extend((5..10).map(|t| bucket(t, 0, 0, 0.0)));
        let rule = rule(RuleMetric::ErrorRate, Op::Gt, 0.5, 10);
        assert_eq!(first_violation(&rule, &seconds), Some(10.0));
        let silent: Vec<SecondBucket> = (0..20).map(|t| bucket(t, 0, 0, 0.0)).collect();
        assert_eq!(first_violation(&rule, &silent), None);
    }

    #[test]
    fn bucket_order_does_not_matter() {
        let rule = rule(RuleMetric::ErrorRate, Op::Gt, 0.46, 10);
        let mut seconds = burst(20, 10);
        seconds.reverse();
        assert_eq!(first_violation(&rule, &seconds), Some(30.0));
    }

    #[test]
    fn latency_rules_weigh_seconds_by_requests() {
        // p95 > 5 s over 20 s: fires once more than 5% of the window's
        // requests come from seconds whose p95 is over 5 s.
        let rule = rule(RuleMetric::P95, Op::Gt, 5.0, 20);
        let mut seconds: Vec<SecondBucket> = (0..40).map(|t| bucket(t, 100, 0, 200.0)).collect();
        // One slow second in a 20 s window is exactly 5%: not more.
        seconds[25] = bucket(25, 100, 0, 9_000.0);
        assert_eq!(first_violation(&rule, &seconds), None);
        // Two slow seconds are 10%: fires when the window first spans a full
        // 20 s and contains both (the window ending at t = 26).
        seconds[26] = bucket(26, 100, 0, 9_000.0);
        assert_eq!(first_violation(&rule, &seconds), Some(27.0));
        // A fast rule fires at once on fast traffic: p95 < 1 s for 20 s.
        let fast = Rule {
            op: Op::Lt,
            threshold: 1.0,
            ..rule
        };
        assert_eq!(first_violation(&fast, &seconds), Some(20.0));
    }

    fn judged(expect: &str, edit: impl FnOnce(&mut RunRecord)) -> (Vec<AlertResult>, Vec<Check>) {
        let text = format!(
            "{}alerts:\n  - name: errors-5pct-10s\n    when: error_rate > 5% for 10s\n{expect}",
            fixture::ONE_FAULT
        );
        let scenario = fixture::scenario_text(&text);
        let plan = Plan::from_scenario(&scenario);
        let mut record = fixture::record(&scenario, &plan);
        edit(&mut record);
        let context = Context::new(&scenario, &plan, &record);
        let results = evaluate(&context);
        let checks = scenario
            .expect
            .iter()
            .flat_map(|expectations| checks(&context, expectations, &results))
            .collect();
        (results, checks)
    }

    fn outage(record: &mut RunRecord) {
        // Clean, then every request fails from 40 s (the fault) to 55 s.
        fixture::seconds(record, 0, 40, 100, 0, 80.0);
        fixture::seconds(record, 40, 55, 0, 100, 80.0);
        fixture::seconds(record, 55, 130, 100, 0, 80.0);
    }

    #[test]
    fn alerts_report_when_they_fired_and_their_detection_time() {
        let expect = "expect:\n  run:\n    alerts:\n      errors-5pct-10s: { fired_within: 20s }\n      error-rate-1pct-5m: not_fired\n";
        let (results, checks) = judged(expect, outage);
        assert_eq!(results.len(), 3);
        assert_eq!(results[0].name, "error-rate-1pct-5m");
        assert!(!results[0].fired);
        let custom = &results[2];
        assert_eq!(custom.rule, "error_rate > 5% for 10s");
        // The first window with more than 5% errors is [31, 40]: one bad
        // second in ten (10%); it ends at 41 s.
        assert_eq!(custom.fired_at_s, Some(41.0));
        assert_eq!(custom.fault.as_deref(), Some("redis-down"));
        assert_eq!(custom.detection_s, Some(1.0));
        let statuses: Vec<CheckStatus> = checks.iter().map(|check| check.status).collect();
        // Checks are in rule-name order: error-rate-1pct-5m, errors-5pct-10s.
        // The 5-minute window cannot fit in a 120 s run: not_fired proves nothing.
        assert_eq!(statuses, [CheckStatus::Inconclusive, CheckStatus::Pass]);
        assert!(
            checks[0].observed.contains("longer than the 120.0 s"),
            "{}",
            checks[0].observed
        );
        assert_eq!(
            checks[1].observed,
            "fired at 41.0 s, 1.0 s after the first fault"
        );
    }

    #[test]
    fn alerts_that_misbehave_fail_their_expectations() {
        let expect = "expect:\n  run:\n    alerts:\n      errors-5pct-10s: not_fired\n";
        let (_, checks) = judged(expect, outage);
        assert_eq!(checks[0].status, CheckStatus::Fail);
        assert_eq!(
            checks[0].observed,
            "fired at 41.0 s (1.0 s after redis-down was applied)"
        );
        let expect = "expect:\n  run:\n    alerts:\n      errors-5pct-10s: fired\n";
        let (_, checks) = judged(expect, |record| {
            fixture::seconds(record, 0, 130, 100, 0, 80.0)
        });
        assert_eq!(checks[0].status, CheckStatus::Fail);
        assert_eq!(checks[0].observed, "not fired");
    }

    #[test]
    fn an_alert_before_any_fault_is_a_false_alarm() {
        let expect = "expect:\n  run:\n    alerts:\n      errors-5pct-10s: { fired_within: 1m }\n";
        let (results, checks) = judged(expect, |record| {
            fixture::seconds(record, 0, 20, 100, 0, 80.0);
            fixture::seconds(record, 20, 30, 0, 100, 80.0);
            fixture::seconds(record, 30, 130, 100, 0, 80.0);
        });
        let custom = &results[2];
        assert_eq!(custom.fired_at_s, Some(21.0));
        assert_eq!(custom.fault, None);
        assert_eq!(custom.detection_s, None);
        assert_eq!(checks[0].status, CheckStatus::Fail);
        assert_eq!(
            checks[0].observed,
            "fired at 21.0 s, 19.0 s before the first fault (a false alarm)"
        );
    }

    #[test]
    fn a_watch_fed_piecemeal_finds_what_the_whole_run_shows() {
        let seconds = burst(40, 12);
        let rules = [
            rule(RuleMetric::ErrorRate, Op::Gt, 0.9, 3),
            rule(RuleMetric::ErrorRate, Op::Gt, 0.46, 10),
            rule(RuleMetric::ErrorRate, Op::Gt, 0.2, 25),
        ];
        for rule in &rules[1..] {
            let whole = first_violation(rule, &seconds).expect("the burst breaks it");
            for chunk in [1, 2, 7, 60] {
                let mut watch = RuleWatch::new(vec![rules[0], *rule]);
                let mut found = None;
                for piece in seconds.chunks(chunk) {
                    assert_eq!(watch.next_t(), piece[0].t);
                    if let Some((held, at)) = watch.push(piece.to_vec()) {
                        found = Some((*held, at));
                        break;
                    }
                    assert!(watch.recent.len() <= 25 + chunk, "keeps only a window");
                }
                assert_eq!(found, Some((*rule, whole)), "chunks of {chunk}");
            }
        }
        let mut calm = RuleWatch::new(vec![rules[0]]);
        assert_eq!(calm.push(seconds.clone()), None);
        assert_eq!(calm.push(Vec::new()), None);
    }
}
