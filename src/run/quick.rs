//! `gameday run --quick`: a pure transform that shrinks a scenario to run in
//! about 20–30 s against the lab, for CI and the test suite.
//!
//! What shrinks is the *scenario's own* time: warm-up, measured duration,
//! fault windows, gaps and recovery are scaled by one factor. What does not
//! shrink is the *platform's* time: deadlines (`within`, `opens_within`,
//! `closes_within`), latency bounds, the request timeout and halt windows
//! stay as written, because the platform's reaction times are real. So a
//! scaled window is stretched where needed to keep every deadline that
//! counts from its start inside it, plus a margin, and later windows move
//! along so the order of every apply and revert is unchanged. The rule is
//! documented in docs/scenarios.md ("Quick mode").
//!
//! This module only transforms data; the caller re-validates the result
//! ([`shrink`] does it and reports problems as diagnostics).

use std::time::Duration;

use crate::scenario::diagnostic::{Diagnostic, Diagnostics, Position};
use crate::scenario::model::{
    AlertExpectation, BreakerExpectation, CapabilityExpectation, PhaseExpectations, Scenario,
    format_duration,
};

/// The measured time (baseline to the end of recovery) a quick run aims at.
pub const TARGET_MEASURED: Duration = Duration::from_secs(12);

/// The longest warm-up a quick run keeps: long enough for a freshly started
/// lab to settle on a busy CI machine before the preflight judges it.
pub const MAX_WARMUP: Duration = Duration::from_secs(5);

/// The highest arrival rate a quick run keeps (per second). Quick runs share
/// CI machines, often several labs at once; more load would only make the
/// platform's latency thresholds (50 ms for Redis) trip on scheduling noise.
pub const MAX_RATE: f64 = 50.0;

/// Added to a deadline to size the window it must fit in: the platform
/// must meet the deadline *and* be seen to hold the state afterwards.
pub const MARGIN: Duration = Duration::from_secs(2);

/// The least a scaled stretch of the timeline keeps (when it was longer):
/// a baseline or a gap of a few hundred milliseconds holds no sample.
pub const MIN_SEGMENT: Duration = Duration::from_secs(2);

/// The least recovery a quick run observes (when the scenario asked for more).
pub const MIN_RECOVERY: Duration = Duration::from_secs(5);

/// The least window a scaled custom alert rule keeps.
pub const MIN_ALERT_WINDOW: Duration = Duration::from_secs(2);

/// The factor a scenario's own time is multiplied by (≤ 1): its measured
/// time, `max(duration, last revert + recovery)`, becomes about
/// [`TARGET_MEASURED`].
pub fn factor(scenario: &Scenario) -> f64 {
    let last_revert = scenario
        .timeline
        .iter()
        .map(|entry| entry.end().saturating_add(scenario.recovery))
        .max()
        .unwrap_or_default();
    let measured = scenario.traffic.duration.max(last_revert);
    if measured <= TARGET_MEASURED || measured.is_zero() {
        1.0
    } else {
        TARGET_MEASURED.as_secs_f64() / measured.as_secs_f64()
    }
}

/// The quick form of a scenario, unvalidated. Total: never panics.
pub fn transform(scenario: &Scenario) -> Scenario {
    let factor = factor(scenario);
    let mut quick = scenario.clone();
    quick.traffic.warmup = scenario.traffic.warmup.min(MAX_WARMUP);
    quick.traffic.rate = scenario.traffic.rate.min(MAX_RATE);

    // Every moment where something starts or stops, from the end of the
    // warm-up; the stretches between them are scaled one by one.
    let mut points: Vec<Duration> = vec![Duration::ZERO, scenario.traffic.duration];
    for entry in &scenario.timeline {
        points.push(entry.at);
        points.push(entry.end());
    }
    points.sort();
    points.dedup();
    let mut lengths: Vec<Duration> = points
        .windows(2)
        .map(|pair| scale_segment(pair[1].saturating_sub(pair[0]), factor))
        .collect();
    let index_of = |moment: Duration| points.iter().position(|p| *p == moment).unwrap_or(0);

    // Stretch each fault window to hold its deadlines: the extra time goes
    // into the window's last stretch, which moves everything after it.
    for entry in &scenario.timeline {
        let (first, last) = (index_of(entry.at), index_of(entry.end()));
        let needed = scenario
            .expectations_for(&entry.name)
            .map(longest_deadline_from_start)
            .unwrap_or_default();
        if needed.is_zero() || last <= first {
            continue;
        }
        let needed = needed.saturating_add(MARGIN);
        let scaled: Duration = lengths[first..last].iter().sum();
        if scaled < needed
            && let Some(tail) = lengths.get_mut(last - 1)
        {
            *tail = tail.saturating_add(needed - scaled);
        }
    }
    let moment = |point: Duration| -> Duration { lengths[..index_of(point)].iter().sum() };
    for (entry, original) in quick.timeline.iter_mut().zip(&scenario.timeline) {
        entry.at = moment(original.at);
        entry.duration = moment(original.end()).saturating_sub(entry.at);
    }
    quick.traffic.duration = moment(scenario.traffic.duration);

    quick.recovery = quick_recovery(scenario, factor);
    quick.alerts = scenario
        .alerts
        .iter()
        .map(|alert| {
            let mut alert = alert.clone();
            // The seed's rules keep their names' meaning (a 5m rule stays 5m).
            if !alert.builtin {
                alert.rule.window = scale_at_least(alert.rule.window, factor, MIN_ALERT_WINDOW);
            }
            alert
        })
        .collect();
    let alert_windows: Vec<(String, Duration)> = quick
        .alerts
        .iter()
        .map(|alert| (alert.name.clone(), alert.rule.window))
        .collect();
    for expectations in &mut quick.expect {
        for (name, expectation) in &mut expectations.alerts {
            if let AlertExpectation::FiredWithin(within) = expectation {
                let window = alert_windows
                    .iter()
                    .find(|(alert, _)| alert == name)
                    .map(|(_, window)| *window)
                    .unwrap_or_default();
                // The rule must first hold for its (scaled) window.
                *within = (*within).min(window.saturating_add(MARGIN).max(scale(*within, factor)));
            }
        }
    }
    let measured = measured_length(&quick);
    for rule in &mut quick.halt {
        rule.window = rule.window.min(measured);
    }
    let sized = size_rate_checks(&mut quick);
    quick.source.text = annotate(&scenario.source.text, &quick, factor, &sized);
    quick
}

/// Of the trials a phase is expected to have, the share a rate check is
/// sized for: arrivals are random, and a run with a few fewer requests than
/// expected must still be able to conclude.
const SIZING_SHARE: f64 = 0.8;

/// One rate bound a quick run loosened to what its phase can prove.
#[derive(Debug, Clone, PartialEq)]
pub struct SizedCheck {
    /// The phase (`run` for the budget).
    pub phase: String,
    /// The check (`error_rate`, `provider NAME`, `budget`).
    pub check: String,
    /// The bound as written, and as the quick run judges it.
    pub written: String,
    pub sized: String,
}

/// Loosens every rate bound (`error_rate`, provider shares, the budget's
/// availability) that the quick phase is too short to prove even with a
/// perfect result, to the tightest bound that a perfect result on
/// [`SIZING_SHARE`] of the phase's expected trials does prove (rounded
/// outward to two significant digits). A quick run has a few hundred
/// requests a phase: `< 0.1%` needs 3,688, so without this every quick run
/// would be inconclusive by construction. Bounds a phase can prove stay as
/// written; each change is returned (and written into the scenario-as-run
/// comment and the check's expected text).
fn size_rate_checks(quick: &mut Scenario) -> Vec<SizedCheck> {
    use crate::scenario::{Comparison, Op};
    use crate::verdict::format::rate_bound;
    let plan = crate::plan::Plan::from_scenario(quick);
    let mut sized = Vec::new();
    for size in crate::verdict::sizing::rate_checks(quick, &plan) {
        if size.can_pass() {
            continue;
        }
        let trials = ((size.trials as f64) * SIZING_SHARE).floor() as u64;
        if trials == 0 {
            continue;
        }
        let provable = |op: Op| match op {
            Op::Lt | Op::Le => round_outward(crate::verdict::clopper_pearson(0, trials).high, true),
            Op::Gt | Op::Ge => {
                round_outward(crate::verdict::clopper_pearson(trials, trials).low, false)
            }
        };
        let loosen = |bound: &mut Comparison<f64>| -> Option<(String, String)> {
            let written = rate_bound(bound);
            let value = provable(bound.op);
            let looser = match bound.op {
                Op::Lt | Op::Le => value > bound.value,
                Op::Gt | Op::Ge => value < bound.value,
            };
            looser.then(|| {
                bound.value = value;
                (written, rate_bound(bound))
            })
        };
        let Some(expectations) = quick.expect.iter_mut().find(|e| e.phase == size.phase) else {
            continue;
        };
        let change = if size.check == "error_rate" {
            expectations.error_rate.as_mut().and_then(loosen)
        } else if let Some(provider) = size.check.strip_prefix("provider ") {
            expectations.providers.get_mut(provider).and_then(loosen)
        } else if size.check == "budget" {
            let mut bound = Comparison {
                op: Op::Le,
                value: 1.0 - quick.availability,
            };
            loosen(&mut bound).inspect(|_| quick.availability = 1.0 - bound.value)
        } else {
            None
        };
        if let Some((written, now)) = change {
            sized.push(SizedCheck {
                phase: size.phase,
                check: size.check,
                written,
                sized: now,
            });
        }
    }
    sized
}

/// `value` (a fraction) rounded to two significant digits away from the
/// side a check must prove: up for an upper bound, down for a lower one.
fn round_outward(value: f64, up: bool) -> f64 {
    if !(value.is_finite() && value > 0.0 && value < 1.0) {
        return value.clamp(0.0, 1.0);
    }
    let scale = 10f64.powi(1 - value.log10().floor() as i32);
    let rounded = if up {
        (value * scale).ceil() / scale
    } else {
        (value * scale).floor() / scale
    };
    // Strictly past the provable value, so a perfect result passes `<` and `>`.
    if up && rounded <= value {
        rounded + 1.0 / scale
    } else if !up && rounded >= value {
        rounded - 1.0 / scale
    } else {
        rounded
    }
    .clamp(0.0, 1.0)
}

/// [`transform`], then the validation a scenario file gets: a scenario whose
/// quick form breaks a rule is refused with diagnostics naming `--quick`.
pub fn shrink(scenario: Scenario) -> Result<Scenario, Diagnostics> {
    let quick = transform(&scenario);
    let problems = crate::scenario::validate::check(&quick);
    if problems.is_empty() {
        return Ok(quick);
    }
    let file = scenario.source.path.clone();
    Err(Diagnostics(
        problems
            .into_iter()
            .map(|problem| {
                Diagnostic::new(
                    &file,
                    "",
                    Position::UNKNOWN,
                    format!(
                        "with --quick, `{}`: {}",
                        problem.path,
                        problem.message.trim_end_matches('.')
                    ),
                    Some(
                        problem.help.unwrap_or_else(|| {
                            "run without --quick, or loosen the deadline".into()
                        }),
                    ),
                )
            })
            .collect(),
    ))
}

/// The longest deadline of a fault phase that counts from the phase start
/// (a capability becoming or returning, a breaker opening).
fn longest_deadline_from_start(expectations: &PhaseExpectations) -> Duration {
    let capabilities =
        expectations
            .capabilities
            .values()
            .filter_map(|expectation| match expectation {
                CapabilityExpectation::Becomes { within, .. }
                | CapabilityExpectation::Returns { within } => Some(*within),
                CapabilityExpectation::Holds(_) => None,
            });
    let breakers = expectations
        .breakers
        .values()
        .filter_map(|expectation| match expectation {
            BreakerExpectation::OpensWithin(within) => Some(*within),
            _ => None,
        });
    capabilities.chain(breakers).max().unwrap_or_default()
}

/// Recovery: scaled, but long enough for every recovery deadline and every
/// breaker that must close after its fault's revert.
fn quick_recovery(scenario: &Scenario, factor: f64) -> Duration {
    let mut needed = Duration::ZERO;
    for expectations in &scenario.expect {
        if expectations.phase == "recovery" {
            needed = needed.max(longest_deadline_from_start(expectations));
        }
        for expectation in expectations.breakers.values() {
            if let BreakerExpectation::ClosesWithin(within) = expectation {
                needed = needed.max(*within);
            }
        }
    }
    let scaled = scale_at_least(scenario.recovery, factor, MIN_RECOVERY);
    if needed.is_zero() {
        scaled
    } else {
        scaled.max(needed.saturating_add(MARGIN))
    }
}

/// A stretch of the timeline, scaled but not below [`MIN_SEGMENT`] (or its
/// original length, when that was shorter).
fn scale_segment(length: Duration, factor: f64) -> Duration {
    scale_at_least(length, factor, MIN_SEGMENT)
}

fn scale_at_least(length: Duration, factor: f64, floor: Duration) -> Duration {
    scale(length, factor).max(floor.min(length))
}

/// `length × factor`, rounded to whole milliseconds.
fn scale(length: Duration, factor: f64) -> Duration {
    let millis = (length.as_secs_f64() * factor.clamp(0.0, 1.0) * 1000.0).round();
    Duration::from_millis(millis as u64)
}

/// Baseline to the end of traffic, as the plan computes it.
fn measured_length(scenario: &Scenario) -> Duration {
    let last_revert = scenario
        .timeline
        .iter()
        .map(|entry| entry.end().saturating_add(scenario.recovery))
        .max()
        .unwrap_or_default();
    scenario.traffic.duration.max(last_revert)
}

/// The file as run: the original text plus a comment saying what `--quick`
/// made of it, so the report's "scenario as run" does not mislead.
fn annotate(text: &str, quick: &Scenario, factor: f64, sized: &[SizedCheck]) -> String {
    let mut note = format!(
        "\n# --- run with --quick (scale {:.3}): rate {}/s, warmup {}, duration {}, recovery {}",
        factor,
        quick.traffic.rate,
        format_duration(quick.traffic.warmup),
        format_duration(quick.traffic.duration),
        format_duration(quick.recovery),
    );
    for entry in &quick.timeline {
        note.push_str(&format!(
            "\n#     {}: at {} for {}",
            entry.name,
            format_duration(entry.at),
            format_duration(entry.duration)
        ));
    }
    for check in sized {
        note.push_str(&format!(
            "\n#     {} {}: {} judged as {} (what a perfect result on this quick phase can prove)",
            check.phase, check.check, check.written, check.sized
        ));
    }
    let mut annotated = text.trim_end().to_owned();
    annotated.push_str(&note);
    annotated.push('\n');
    annotated
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_str;

    fn scenario(text: &str) -> Scenario {
        match parse_str("test.yaml", text) {
            Ok(scenario) => scenario,
            Err(diagnostics) => panic!("{diagnostics}"),
        }
    }

    const REDIS: &str = "\
name: redis
traffic: { rate: 200/s, warmup: 20s, duration: 2m }
timeline:
  - { name: redis-down, at: 40s, for: 40s, fault: { kill: redis } }
expect:
  redis-down:
    capabilities:
      caching: { becomes: false, within: 5s }
  recovery:
    capabilities: { all: true, within: 15s }
recovery: 30s
";

    #[test]
    fn a_long_scenario_is_scaled_to_about_the_target() {
        let original = scenario(REDIS);
        let quick = transform(&original);
        assert!((factor(&original) - 0.1).abs() < 1e-9);
        assert_eq!(quick.traffic.warmup, MAX_WARMUP);
        assert_eq!(quick.traffic.rate, MAX_RATE);
        // 4s baseline + the stretched 7s window + 4s after it.
        assert_eq!(quick.traffic.duration, Duration::from_secs(15));
        let entry = &quick.timeline[0];
        // 40s at × 0.1 = 4s; the 4s window is stretched to 5s + margin.
        assert_eq!(entry.at, Duration::from_secs(4));
        assert_eq!(entry.duration, Duration::from_secs(7));
        // The recovery deadline (15s) + margin outranks 30s × 0.1.
        assert_eq!(quick.recovery, Duration::from_secs(17));
        assert!(shrink(original).is_ok());
    }

    #[test]
    fn stretching_a_window_moves_every_later_moment_and_keeps_the_order() {
        let original = scenario(
            "\
name: two
traffic: { rate: 50/s, duration: 120s }
timeline:
  - { name: first, at: 20s, for: 20s, fault: { kill: redis } }
  - { name: second, at: 60s, for: 40s, fault: { proxy_down: postgres } }
expect:
  first:
    capabilities: { caching: { becomes: false, within: 6s } }
  between:
    error_rate: < 1%
",
        );
        let quick = transform(&original);
        let first = &quick.timeline[0];
        let second = &quick.timeline[1];
        assert!(first.duration >= Duration::from_secs(8), "{first:?}");
        assert!(first.end() < second.at, "the gap between faults vanished");
        assert!(second.end() <= quick.traffic.duration);
        assert!(shrink(original).is_ok(), "`between` must still exist");
    }

    #[test]
    fn deadlines_and_latency_bounds_are_never_scaled() {
        let original = scenario(
            "\
name: breaker
traffic: { rate: 50/s, duration: 3m, timeout: 10s }
timeline:
  - { name: outage, at: 60s, for: 60s, fault: { llm: primary, mode: { mode: errors } } }
expect:
  outage:
    p99: < 2s
    breakers: { primary: { opens_within: 10s } }
  recovery:
    breakers: { primary: { closes_within: 20s } }
halt:
  - error_rate > 50% for 30s
",
        );
        let quick = transform(&original);
        assert_eq!(quick.expect, original.expect);
        assert_eq!(quick.traffic.timeout, original.traffic.timeout);
        assert!(quick.timeline[0].duration >= Duration::from_secs(12));
        assert!(quick.recovery >= Duration::from_secs(22));
        // The halt window is real time too, only capped to the run.
        assert!(quick.halt[0].window <= measured_length(&quick));
        assert!(shrink(original).is_ok());
    }

    #[test]
    fn custom_alert_windows_scale_and_builtins_do_not() {
        let original = scenario(
            "\
name: alerts
traffic: { rate: 50/s, duration: 4m }
timeline:
  - { name: outage, at: 60s, for: 2m, fault: { llm: primary, mode: { mode: errors } } }
alerts:
  - { name: fast, when: error_rate > 5% for 60s }
expect:
  run:
    alerts: { fast: { fired_within: 90s }, error-rate-1pct-5m: not_fired }
",
        );
        let quick = transform(&original);
        let fast = quick.alert("fast").map(|a| a.rule.window);
        assert_eq!(fast, Some(Duration::from_secs(3)));
        let builtin = quick.alert("error-rate-1pct-5m").map(|a| a.rule.window);
        assert_eq!(builtin, Some(Duration::from_secs(300)));
        let run = quick.expectations_for("run").map(|e| e.alerts["fast"]);
        assert_eq!(
            run,
            Some(AlertExpectation::FiredWithin(Duration::from_secs(5)))
        );
        assert!(shrink(original).is_ok());
    }

    #[test]
    fn a_short_scenario_is_left_as_it_is_apart_from_the_warmup() {
        let original = scenario("name: short\ntraffic: { rate: 5/s, warmup: 2s, duration: 10s }\n");
        let quick = transform(&original);
        assert_eq!(quick.traffic, original.traffic);
        assert!(quick.source.text.contains("--quick (scale 1.000)"));
    }

    #[test]
    fn a_quick_form_that_breaks_a_rule_is_refused_by_name() {
        // A `between` deadline cannot be judged in the 2s gap --quick leaves.
        let original = scenario(
            "\
name: gap
traffic: { rate: 50/s, duration: 200s }
timeline:
  - { name: a, at: 20s, for: 20s, fault: { kill: redis } }
  - { name: b, at: 60s, for: 20s, fault: { kill: redis } }
expect:
  between:
    capabilities: { caching: { returns_within: 15s } }
",
        );
        let error = match shrink(original) {
            Ok(quick) => panic!("accepted: {:?}", quick.timeline),
            Err(error) => error.to_string(),
        };
        assert!(error.contains("with --quick"), "{error}");
        assert!(error.contains("between"), "{error}");
    }

    const TIGHT: &str = "\
name: tight
availability: 99.9%
traffic: { rate: 150/s, warmup: 20s, duration: 2m }
timeline:
  - { name: redis-down, at: 40s, for: 40s, fault: { kill: redis } }
expect:
  baseline:
    error_rate: < 0.1%
  redis-down:
    error_rate: < 50%
  run:
    budget: within
recovery: 30s
";

    #[test]
    fn rate_checks_a_quick_phase_cannot_prove_are_sized_to_what_it_can() {
        let original = scenario(TIGHT);
        let quick = transform(&original);
        let baseline = quick.expectations_for("baseline").expect("baseline");
        let bound = baseline.error_rate.as_ref().expect("error_rate");
        // A 4 s baseline at 50/s: ~200 requests, sized on 160: a perfect
        // result proves < 2.28%, rounded outward to < 2.3%.
        assert!((bound.value - 0.023).abs() < 1e-12, "{}", bound.value);
        // A perfect result on the sized share passes it; one error does not.
        let cp = crate::verdict::clopper_pearson(0, 160).high;
        assert!(cp < bound.value, "{cp}");
        // A bound the phase can prove is kept as written.
        let down = quick.expectations_for("redis-down").expect("redis-down");
        assert_eq!(down.error_rate.as_ref().map(|b| b.value), Some(0.5));
        // The budget's availability is sized for the whole measured run.
        assert!(quick.availability < 0.999 && quick.availability > 0.99);
        // Every change is written into the scenario as run.
        assert!(
            quick
                .source
                .text
                .contains("baseline error_rate: < 0.1% judged as < 2.3%"),
            "{}",
            quick.source.text
        );
        assert!(
            quick.source.text.contains("run budget:"),
            "{}",
            quick.source.text
        );
        // The original is untouched.
        assert_eq!(original.availability, 0.999);
    }

    #[test]
    fn outward_rounding_keeps_two_significant_digits_past_the_value() {
        assert_eq!(round_outward(0.02279, true), 0.023);
        assert_eq!(round_outward(0.023, true), 0.024);
        assert_eq!(round_outward(0.9771, false), 0.97);
        assert_eq!(round_outward(0.00041, true), 0.00042);
    }
}
