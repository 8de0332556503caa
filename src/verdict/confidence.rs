//! Confidence in a rate measured on a sample: the Wilson score interval and
//! the rule that turns it into pass / fail / inconclusive.
//!
//! The rule, for a bound `observed <op> X` on a fraction `hits / trials`:
//!
//! 1. no trials: `inconclusive`;
//! 2. the whole 95% interval satisfies the bound: `pass`
//!    (for `< X`: the upper bound is below X);
//! 3. the whole interval violates it: `fail` (for `< X`: the lower bound is
//!    at or above X);
//! 4. otherwise the interval straddles X. Then the check `fail`s when the
//!    point estimate violates the bound *and* the sample was large enough to
//!    pass (the best possible result on this many trials — no errors for an
//!    upper bound, all hits for a lower bound — would have passed); a
//!    sample that could never have passed says nothing, so it is
//!    `inconclusive`, as is a point estimate that satisfies the bound
//!    without the interval doing so.
//!
//! Rule 4's fail branch keeps a game day from hiding a real overspend
//! behind statistics: 2 errors in 5,000 requests (0.04%) against `< 0.01%` is
//! a failure even though the interval reaches below 0.01%, because 5,000
//! clean requests would have passed.

use crate::results::{CheckStatus, Interval};
use crate::scenario::{Comparison, Op};

/// The standard normal quantile for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// The Wilson score 95% interval of `hits / trials`; `[0, 1]` when there
/// are no trials. Exact at the edges: the lower bound of 0 hits is 0, the
/// upper bound of `trials` hits is 1.
pub fn wilson(hits: u64, trials: u64) -> Interval {
    if trials == 0 {
        return Interval {
            low: 0.0,
            high: 1.0,
        };
    }
    let hits = hits.min(trials);
    let n = trials as f64;
    let p = hits as f64 / n;
    let z2 = Z95 * Z95;
    let denominator = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denominator;
    let half = Z95 / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Interval {
        low: if hits == 0 {
            0.0
        } else {
            (center - half).clamp(0.0, 1.0)
        },
        high: if hits == trials {
            1.0
        } else {
            (center + half).clamp(0.0, 1.0)
        },
    }
}

/// Judges `hits / trials <op> bound` by the rule in the module doc; returns
/// the status and the interval.
pub fn rate_status(bound: &Comparison<f64>, hits: u64, trials: u64) -> (CheckStatus, Interval) {
    let interval = wilson(hits, trials);
    if trials == 0 {
        return (CheckStatus::Inconclusive, interval);
    }
    let limit = bound.value;
    let all_satisfy = |interval: &Interval| match bound.op {
        Op::Lt => interval.high < limit,
        Op::Le => interval.high <= limit,
        Op::Gt => interval.low > limit,
        Op::Ge => interval.low >= limit,
    };
    let all_violate = match bound.op {
        Op::Lt => interval.low >= limit,
        Op::Le => interval.low > limit,
        Op::Gt => interval.high <= limit,
        Op::Ge => interval.high < limit,
    };
    if all_satisfy(&interval) {
        return (CheckStatus::Pass, interval);
    }
    if all_violate {
        return (CheckStatus::Fail, interval);
    }
    let point = hits.min(trials) as f64 / trials as f64;
    let best_case = match bound.op {
        Op::Lt | Op::Le => wilson(0, trials),
        Op::Gt | Op::Ge => wilson(trials, trials),
    };
    if !bound.holds(&point) && all_satisfy(&best_case) {
        (CheckStatus::Fail, interval)
    } else {
        (CheckStatus::Inconclusive, interval)
    }
}

/// The fewest trials on which a perfect result (no hits for an upper bound,
/// all hits for a lower one) passes `bound`; `None` if no sample can (e.g.
/// `< 0%`). Shown in the observed text of inconclusive checks.
pub fn trials_needed(bound: &Comparison<f64>) -> Option<u64> {
    let passes = |trials: u64| {
        let interval = match bound.op {
            Op::Lt | Op::Le => wilson(0, trials),
            Op::Gt | Op::Ge => wilson(trials, trials),
        };
        match bound.op {
            Op::Lt => interval.high < bound.value,
            Op::Le => interval.high <= bound.value,
            Op::Gt => interval.low > bound.value,
            Op::Ge => interval.low >= bound.value,
        }
    };
    // Monotone in `trials`: find a passing power of two, then bisect.
    let mut high: u64 = 1;
    while !passes(high) {
        high = high.checked_mul(2).filter(|&next| next <= 1 << 40)?;
    }
    let mut low = high / 2;
    while low + 1 < high {
        let middle = low + (high - low) / 2;
        if passes(middle) {
            high = middle;
        } else {
            low = middle;
        }
    }
    Some(high)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() < 5e-5
    }

    fn below(value: f64) -> Comparison<f64> {
        Comparison { op: Op::Lt, value }
    }

    #[test]
    fn wilson_matches_published_values() {
        // Reference values: Newcombe (1998), Table I, and the closed form
        // z²/(n+z²) for zero hits.
        let none = wilson(0, 100);
        assert_eq!(none.low, 0.0);
        assert!(close(none.high, 0.036994), "{none:?}");
        let ten = wilson(10, 100);
        assert!(close(ten.low, 0.055229), "{ten:?}");
        assert!(close(ten.high, 0.174366), "{ten:?}");
        let one = wilson(1, 10);
        assert!(close(one.low, 0.017875), "{one:?}");
        assert!(close(one.high, 0.404155), "{one:?}");
        let all = wilson(29, 29);
        assert_eq!(all.high, 1.0);
        assert!(close(all.low, 0.883028), "{all:?}");
    }

    #[test]
    fn wilson_of_nothing_is_everything() {
        assert_eq!(
            wilson(0, 0),
            Interval {
                low: 0.0,
                high: 1.0
            }
        );
        // More hits than trials (a corrupt record) is clamped, not a panic.
        assert_eq!(wilson(7, 3).high, 1.0);
    }

    #[test]
    fn a_clean_small_sample_cannot_prove_three_nines() {
        let bound = below(0.001);
        assert_eq!(rate_status(&bound, 0, 100).0, CheckStatus::Inconclusive);
        assert_eq!(rate_status(&bound, 0, 100_000).0, CheckStatus::Pass);
        assert_eq!(rate_status(&bound, 0, 0).0, CheckStatus::Inconclusive);
    }

    #[test]
    fn clear_violations_fail_whatever_the_sample() {
        let bound = below(0.001);
        // 1 in 100: even the lower bound (0.18%) is over 0.1%.
        assert_eq!(rate_status(&bound, 1, 100).0, CheckStatus::Fail);
        assert_eq!(rate_status(&bound, 500, 1000).0, CheckStatus::Fail);
    }

    #[test]
    fn an_overspend_on_a_sample_that_could_have_passed_fails() {
        let bound = below(0.0001);
        // 2 in 50,000 = 0.004% is under 0.01%, but the interval reaches
        // above it: the sample cannot tell.
        let (status, interval) = rate_status(&bound, 2, 50_000);
        assert!(interval.high > 0.0001, "{interval:?}");
        assert_eq!(status, CheckStatus::Inconclusive);
        // 8 in 50,000 = 0.016% > 0.01% with a lower bound under 0.01%; and
        // 50,000 clean requests would have passed (upper bound 0.0077%).
        let (status, interval) = rate_status(&bound, 8, 50_000);
        assert!(interval.low < 0.0001, "{interval:?}");
        assert_eq!(status, CheckStatus::Fail);
        // 1 in 1,000 = 0.1% against < 0.1%: 1,000 requests could never pass.
        assert_eq!(
            rate_status(&below(0.001), 1, 1000).0,
            CheckStatus::Inconclusive
        );
    }

    #[test]
    fn lower_bounds_mirror_upper_bounds() {
        let at_least = Comparison {
            op: Op::Gt,
            value: 0.9,
        };
        assert_eq!(rate_status(&at_least, 990, 1000).0, CheckStatus::Pass);
        assert_eq!(rate_status(&at_least, 500, 1000).0, CheckStatus::Fail);
        assert_eq!(rate_status(&at_least, 10, 10).0, CheckStatus::Inconclusive);
    }

    #[test]
    fn trials_needed_is_the_smallest_passing_sample() {
        let bound = below(0.001);
        let needed = trials_needed(&bound).unwrap();
        // z² (1 − x) / x ≈ 3838.
        assert!((3830..3850).contains(&needed), "{needed}");
        assert_eq!(rate_status(&bound, 0, needed).0, CheckStatus::Pass);
        assert_eq!(
            rate_status(&bound, 0, needed - 1).0,
            CheckStatus::Inconclusive
        );
        assert_eq!(trials_needed(&below(0.0)), None);
    }
}
