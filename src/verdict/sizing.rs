//! What a plan can prove, before it runs: for every rate check of a
//! scenario (`error_rate`, `providers`, `budget: within`), how many trials
//! the phase will have at the scenario's rate and length, and the fewest a
//! perfect result needs to pass ([`trials_needed`]); a check whose phase is
//! too short can never pass, only fail or be inconclusive.
//!
//! - **Requests** of a phase are `rate × length` of its windows in the plan
//!   (the arrival process only adds noise around that); for `run`, the
//!   measured run minus maintenance windows, as the budget counts them.
//! - **Provider shares** are fractions of answered chat turns, so their
//!   trials are the requests times the chat share of the operation mix
//!   (`chat` + `chat_stream` over all weights): an upper estimate, as
//!   failed turns are not answered.
//! - A `budget: within` of a maintenance phase is not judged and not
//!   listed; `budget: exceeded` needs errors to pass, so it is not listed.
//!
//! Used by `gameday validate --plan`.

use std::fmt::Write as _;
use std::time::Duration;

use crate::plan::Plan;
use crate::scenario::{BudgetExpectation, Comparison, Op, Scenario};

use super::confidence::trials_needed;
use super::format;

/// One rate check and what its phase can prove.
#[derive(Debug, Clone, PartialEq)]
pub struct RateCheckSize {
    /// The phase.
    pub phase: String,
    /// The check, as the verdict names it (`error_rate`, `provider primary`, `budget`).
    pub check: String,
    /// The bound as written (`< 0.1%`).
    pub expected: String,
    /// What is counted: `requests` or `answered turns`.
    pub unit: &'static str,
    /// Expected trials at the scenario's rate and length.
    pub trials: u64,
    /// The fewest trials on which a perfect result passes (`None`: none does).
    pub needed: Option<u64>,
}

impl RateCheckSize {
    /// Whether the phase is long enough for the check to pass at all.
    pub fn can_pass(&self) -> bool {
        self.needed.is_some_and(|needed| self.trials >= needed)
    }
}

/// The rate checks of `scenario` in expectation order, sized on `plan`.
pub fn rate_checks(scenario: &Scenario, plan: &Plan) -> Vec<RateCheckSize> {
    let rate = scenario.traffic.rate.max(0.0);
    let mix = &scenario.traffic.mix;
    let weights = mix.chat + mix.chat_stream + mix.history;
    let chat_share = if weights > 0.0 {
        (mix.chat + mix.chat_stream) / weights
    } else {
        0.0
    };
    let mut sizes = Vec::new();
    for expectations in &scenario.expect {
        let name = expectations.phase.as_str();
        let Some(phase) = plan.phase(name) else {
            continue;
        };
        let length = if name == "run" {
            judged_run_length(plan)
        } else {
            phase.length()
        };
        let requests = expected_count(rate * length.as_secs_f64());
        let size = |check: String, bound: &Comparison<f64>, unit, trials| RateCheckSize {
            phase: name.to_string(),
            check,
            expected: format::rate_bound(bound),
            unit,
            trials,
            needed: trials_needed(bound),
        };
        if let Some(bound) = &expectations.error_rate {
            sizes.push(size("error_rate".to_string(), bound, "requests", requests));
        }
        for (provider, bound) in &expectations.providers {
            let turns = expected_count(rate * length.as_secs_f64() * chat_share);
            sizes.push(size(
                format!("provider {provider}"),
                bound,
                "answered turns",
                turns,
            ));
        }
        if expectations.budget == Some(BudgetExpectation::Within) && !phase.maintenance {
            let bound = Comparison {
                op: Op::Le,
                value: (1.0 - scenario.availability).clamp(0.0, 1.0),
            };
            sizes.push(size("budget".to_string(), &bound, "requests", requests));
        }
    }
    sizes
}

/// `count` rounded down to whole trials (never negative, never NaN).
fn expected_count(count: f64) -> u64 {
    if count.is_finite() && count > 0.0 {
        count.floor() as u64
    } else {
        0
    }
}

/// The measured run minus its maintenance windows (overlaps counted once).
fn judged_run_length(plan: &Plan) -> Duration {
    let mut windows: Vec<(Duration, Duration)> = plan
        .faults
        .iter()
        .filter(|fault| fault.maintenance)
        .map(|fault| {
            (
                fault.window.start.max(plan.measured.start),
                fault.window.end.min(plan.measured.end),
            )
        })
        .filter(|(from, to)| to > from)
        .collect();
    windows.sort();
    let mut excluded = Duration::ZERO;
    let mut covered = Duration::ZERO;
    for (from, to) in windows {
        let from = from.max(covered);
        if to > from {
            excluded += to - from;
        }
        covered = covered.max(to);
    }
    plan.measured.length().saturating_sub(excluded)
}

/// `50`, `2.5`: a whole number with separators, else one decimal.
fn plain(value: f64) -> String {
    if !value.is_finite() {
        "n/a".to_string()
    } else if value.fract() == 0.0 && (0.0..1e15).contains(&value) {
        format::count(value as u64)
    } else {
        format!("{value:.1}")
    }
}

/// The `rate checks` section of `validate --plan`: one line per check, then
/// one warning per check that cannot pass.
pub fn render(sizes: &[RateCheckSize], rate: f64) -> String {
    let mut out = String::new();
    if sizes.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "rate checks at {}/s (exact 95% bounds; a perfect result is no errors, or all hits for a lower bound):",
        plain(rate)
    );
    let _ = writeln!(
        out,
        "{:<16} {:<20} {:<10} {:>22} {:>26}",
        "phase", "check", "expected", "the phase sends about", "a perfect result needs"
    );
    for size in sizes {
        let needed = match size.needed {
            Some(needed) => format::count(needed),
            None => "(cannot pass)".to_string(),
        };
        let _ = writeln!(
            out,
            "{:<16} {:<20} {:<10} {:>22} {:>26}",
            size.phase,
            size.check,
            size.expected,
            format!("{} {}", format::count(size.trials), size.unit),
            needed
        );
    }
    for size in sizes.iter().filter(|size| !size.can_pass()) {
        let why = match size.needed {
            Some(needed) => {
                let rate_needed = if rate > 0.0 && size.trials > 0 {
                    format!(
                        "; make the phase {}× longer, or the rate {}/s",
                        plain(needed as f64 / size.trials as f64),
                        plain((rate * needed as f64 / size.trials as f64).ceil())
                    )
                } else {
                    String::new()
                };
                format!(
                    "{} {} but a perfect result needs {}{rate_needed}",
                    format::count(size.trials),
                    size.unit,
                    format::count(needed),
                )
            }
            None => "no sample can prove this bound".to_string(),
        };
        let _ = writeln!(
            out,
            "warning: {} in {} ({}) cannot be conclusive unless it fails: {why}",
            size.check, size.phase, size.expected
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;

    /// The staging template's shape at 50 requests/s: a 20 s baseline and
    /// a 30 s fault cannot show `< 0.1%`.
    const SHORT: &str = "
name: short
traffic: { rate: 50/s, warmup: 5s, duration: 120s, mix: { chat: 3, chat_stream: 0, history: 1 } }
timeline:
  - name: redis-down
    at: 20s
    for: 30s
    fault: { kill: redis }
recovery: 30s
expect:
  baseline: { error_rate: < 0.1% }
  redis-down:
    error_rate: < 5%
    providers: { primary: '> 99%' }
  run: { budget: within }
";

    #[test]
    fn a_short_phase_at_fifty_per_second_is_flagged() {
        let scenario = fixture::scenario_text(SHORT);
        let plan = Plan::from_scenario(&scenario);
        let sizes = rate_checks(&scenario, &plan);
        let summary: Vec<(&str, &str, u64, Option<u64>, bool)> = sizes
            .iter()
            .map(|size| {
                (
                    size.phase.as_str(),
                    size.check.as_str(),
                    size.trials,
                    size.needed,
                    size.can_pass(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                // 20 s at 50/s; 0 errors prove < 0.1% from 3,688 requests.
                ("baseline", "error_rate", 1_000, Some(3_688), false),
                // < 5%: 0.95^n < 0.025 from n = 72.
                ("redis-down", "error_rate", 1_500, Some(72), true),
                // 3 of 4 requests are chat turns; > 99% needs 368 answered
                // (0.99^n < 0.025 from n = 368).
                ("redis-down", "provider primary", 1_125, Some(368), true),
                // The whole measured run, 120 s: 6,000 requests.
                ("run", "budget", 6_000, Some(3_688), true),
            ]
        );
        let text = render(&sizes, 50.0);
        assert!(text.contains("1,000 requests"), "{text}");
        let warnings: Vec<&str> = text.lines().filter(|l| l.starts_with("warning")).collect();
        assert_eq!(warnings.len(), 1, "{text}");
        assert!(
            warnings[0].starts_with(
                "warning: error_rate in baseline (< 0.1%) cannot be conclusive unless it fails: \
                 1,000 requests but a perfect result needs 3,688"
            ),
            "{text}"
        );
        assert!(warnings[0].contains("or the rate 185/s"), "{text}");
    }

    #[test]
    fn maintenance_is_left_out_of_the_run_and_nothing_is_listed_without_rate_checks() {
        let scenario = fixture::scenario_text(
            "
name: maintained
traffic: { rate: 100/s, warmup: 10s, duration: 100s }
timeline:
  - name: db-upgrade
    at: 20s
    for: 20s
    maintenance: true
    fault: { restart: postgres }
expect:
  run: { budget: within }
  db-upgrade: { budget: within }
",
        );
        let plan = Plan::from_scenario(&scenario);
        let sizes = rate_checks(&scenario, &plan);
        assert_eq!(sizes.len(), 1, "{sizes:#?}");
        assert_eq!(sizes[0].trials, 8_000);
        let plain = fixture::scenario_text("name: plain\ntraffic: { rate: 10/s, duration: 60s }\n");
        let plan = Plan::from_scenario(&plain);
        assert_eq!(render(&rate_checks(&plain, &plan), 10.0), "");
    }
}
