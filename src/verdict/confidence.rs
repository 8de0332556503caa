//! Confidence in a rate measured on a sample: the exact (Clopper–Pearson)
//! 95% interval and the rule that turns it into pass / fail / inconclusive.
//!
//! **The interval** of `hits / trials` is the two-sided 95% Clopper–Pearson
//! interval, 2.5% in each tail: `low` is the rate at which `hits` or more
//! would be seen with probability 2.5% (0 when `hits` is 0), `high` the rate
//! at which `hits` or fewer would be seen with probability 2.5% (1 when
//! every trial is a hit). It is computed exactly from the binomial
//! distribution (see `beta`), never from a normal approximation, so it does
//! not turn too narrow at one or two events: 1 error in 174 requests gives
//! 0.0145% to 3.16%, not a lower bound above 0.1%.
//!
//! **The rule**, for a bound `observed <op> X` on a fraction `hits / trials`:
//!
//! 1. no trials: `inconclusive`;
//! 2. the whole interval satisfies the bound: `pass`
//!    (for `< X`: the upper bound is below X);
//! 3. the whole interval violates it: `fail` (for `< X`: the lower bound is
//!    at or above X);
//! 4. otherwise the interval straddles X: `inconclusive`, whichever side the
//!    point estimate is on.
//!
//! So a pass and a fail each need evidence: each is an exact one-sided
//! binomial test at the 2.5% level, and a target whose true rate sits
//! exactly at the limit is wrongly passed or wrongly failed at most 2.5% of
//! the time. (An earlier rule also failed a straddling interval whose point
//! estimate violated the bound on a sample large enough to pass; it failed a
//! target that met its limit up to half the time, so it is gone.) An
//! overspend on a sample too small to prove it is `inconclusive`, which
//! `expect.run.conclusive: true` and `gameday run --fail-on-inconclusive`
//! turn into a failure.

use crate::results::{CheckStatus, Interval};
use crate::scenario::{Comparison, Op};

use super::beta::beta_quantile;

/// The probability in each tail of the two-sided 95% interval.
pub const TAIL: f64 = 0.025;

/// The two-sided 95% Clopper–Pearson interval of `hits / trials`; `[0, 1]`
/// when there are no trials. More hits than trials (a corrupt record) count
/// as `trials`.
pub fn clopper_pearson(hits: u64, trials: u64) -> Interval {
    if trials == 0 {
        return Interval {
            low: 0.0,
            high: 1.0,
        };
    }
    let hits = hits.min(trials);
    if hits > trials / 2 {
        // Mirror the misses, so the bisection works near 0, where doubles
        // are dense, rather than near 1.
        let misses = clopper_pearson(trials - hits, trials);
        return Interval {
            low: 1.0 - misses.high,
            high: 1.0 - misses.low,
        };
    }
    let (k, n) = (hits as f64, trials as f64);
    Interval {
        // P(X >= k; n, low) = 2.5%, with P(X >= k) = I_p(k, n − k + 1).
        low: if hits == 0 {
            0.0
        } else if hits == trials {
            // Closed form: low^n = 2.5%.
            (TAIL.ln() / n).exp()
        } else {
            beta_quantile(TAIL, k, n - k + 1.0)
        },
        // P(X <= k; n, high) = 2.5%, i.e. P(X >= k + 1) = 97.5%.
        high: if hits == trials {
            1.0
        } else if hits == 0 {
            // Closed form: (1 − high)^n = 2.5%.
            -(TAIL.ln() / n).exp_m1()
        } else {
            beta_quantile(1.0 - TAIL, k + 1.0, n - k)
        },
    }
}

/// Whether every rate in `interval` satisfies `bound`.
fn all_satisfy(bound: &Comparison<f64>, interval: &Interval) -> bool {
    let limit = bound.value;
    match bound.op {
        Op::Lt => interval.high < limit,
        Op::Le => interval.high <= limit,
        Op::Gt => interval.low > limit,
        Op::Ge => interval.low >= limit,
    }
}

/// Whether every rate in `interval` violates `bound`.
fn all_violate(bound: &Comparison<f64>, interval: &Interval) -> bool {
    let limit = bound.value;
    match bound.op {
        Op::Lt => interval.low >= limit,
        Op::Le => interval.low > limit,
        Op::Gt => interval.high <= limit,
        Op::Ge => interval.high < limit,
    }
}

/// Judges `hits / trials <op> bound` by the rule in the module doc; returns
/// the status and the interval.
pub fn rate_status(bound: &Comparison<f64>, hits: u64, trials: u64) -> (CheckStatus, Interval) {
    let interval = clopper_pearson(hits, trials);
    let status = if trials == 0 {
        CheckStatus::Inconclusive
    } else if all_satisfy(bound, &interval) {
        CheckStatus::Pass
    } else if all_violate(bound, &interval) {
        CheckStatus::Fail
    } else {
        CheckStatus::Inconclusive
    };
    (status, interval)
}

/// The fewest trials on which a perfect result (no hits for an upper bound,
/// all hits for a lower one) passes `bound`; `None` if no sample can (e.g.
/// `< 0%`). Shown in the observed text of inconclusive checks and by
/// `gameday validate --plan`. For `< X` it is about `ln(40) / X` (3,688 for
/// `< 0.1%`): the upper bound of 0 hits in `n` is `1 − 0.025^(1/n)`.
pub fn trials_needed(bound: &Comparison<f64>) -> Option<u64> {
    let passes = |trials: u64| {
        let interval = match bound.op {
            Op::Lt | Op::Le => clopper_pearson(0, trials),
            Op::Gt | Op::Ge => clopper_pearson(trials, trials),
        };
        all_satisfy(bound, &interval)
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

    /// Relative difference under 1e-6 (references to 12 digits, computed
    /// with 50-digit arithmetic by bisection on the exact binomial CDF).
    fn close(actual: f64, expected: f64) -> bool {
        ((actual - expected) / expected).abs() < 1e-6
    }

    fn below(value: f64) -> Comparison<f64> {
        Comparison { op: Op::Lt, value }
    }

    #[test]
    fn clopper_pearson_matches_published_values() {
        // 0/10: 1 − 0.025^(1/10) = 0.3085 (e.g. Clopper & Pearson's charts;
        // Brown, Cai & DasGupta 2001).
        let none = clopper_pearson(0, 10);
        assert_eq!(none.low, 0.0);
        assert!(close(none.high, 0.308_497_107_819), "{none:?}");
        let one = clopper_pearson(1, 10);
        assert!(close(one.low, 0.002_528_578_544_46), "{one:?}");
        assert!(close(one.high, 0.445_016_117_028), "{one:?}");
        let ten = clopper_pearson(10, 100);
        assert!(close(ten.low, 0.049_004_689_221_5), "{ten:?}");
        assert!(close(ten.high, 0.176_222_597_74), "{ten:?}");
        let all = clopper_pearson(29, 29);
        assert_eq!(all.high, 1.0);
        assert!(close(all.low, 0.880_555_130_93), "{all:?}");
        let issue = clopper_pearson(1, 174);
        assert!(close(issue.low, 0.000_145_494_058_301), "{issue:?}");
        assert!(close(issue.high, 0.031_603_433_444_2), "{issue:?}");
        let budget = clopper_pearson(7, 3_938);
        assert!(close(budget.low, 0.000_714_957_394_657), "{budget:?}");
        assert!(close(budget.high, 0.003_658_985_744_7), "{budget:?}");
        let overspend = clopper_pearson(50, 10_000);
        assert!(close(overspend.low, 0.003_713_306_179_56), "{overspend:?}");
        assert!(close(overspend.high, 0.006_586_626_429_08), "{overspend:?}");
    }

    #[test]
    fn clopper_pearson_holds_up_at_a_hundred_million_trials() {
        let n = 100_000_000;
        let one = clopper_pearson(1, n);
        assert!(close(one.low, 2.531_780_798_11e-10), "{one:?}");
        assert!(close(one.high, 5.571_643_263_58e-8), "{one:?}");
        let three = clopper_pearson(3, n);
        assert!(close(three.low, 6.186_721_271_69e-9), "{three:?}");
        assert!(close(three.high, 8.767_272_816_93e-8), "{three:?}");
        // Half of them: the interval is about p ± 1.96 sqrt(p(1 − p)/n).
        let half = clopper_pearson(n / 2, n);
        let spread = 1.959_964 * (0.25 / n as f64).sqrt();
        assert!((half.low - (0.5 - spread)).abs() < 1e-7, "{half:?}");
        assert!((half.high - (0.5 + spread)).abs() < 1e-7, "{half:?}");
        // The mirror image (computed on the misses, so not limited by the
        // spacing of doubles near 1 in the bisection).
        let nearly_all = clopper_pearson(n - 1, n);
        assert!(
            close(1.0 - nearly_all.high, 2.531_780_798_11e-10),
            "{nearly_all:?}"
        );
        assert!(
            close(1.0 - nearly_all.low, 5.571_643_263_58e-8),
            "{nearly_all:?}"
        );
    }

    #[test]
    fn clopper_pearson_of_nothing_is_everything() {
        assert_eq!(
            clopper_pearson(0, 0),
            Interval {
                low: 0.0,
                high: 1.0
            }
        );
        // More hits than trials (a corrupt record) is clamped, not a panic.
        assert_eq!(clopper_pearson(7, 3).high, 1.0);
    }

    #[test]
    fn one_error_in_174_requests_is_no_evidence_against_a_tenth_of_a_percent() {
        // Issue 17, item 13: a --quick run of llm-total-outage failed
        // `error_rate: < 0.1%` on 1 error in 174 requests (the Wilson lower
        // bound was 0.1015%). At a true rate of exactly 0.1%, 174 requests
        // show at least one error 16% of the time.
        let (status, interval) = rate_status(&below(0.001), 1, 174);
        assert_eq!(status, CheckStatus::Inconclusive, "{interval:?}");
        assert!(
            interval.low < 0.001 && interval.high > 0.001,
            "{interval:?}"
        );
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
        // 2 in 100: even the lower bound (0.24%) is over 0.1%.
        assert_eq!(rate_status(&bound, 2, 100).0, CheckStatus::Fail);
        assert_eq!(rate_status(&bound, 500, 1000).0, CheckStatus::Fail);
        // 50 in 10,000: lower bound 0.37%.
        assert_eq!(rate_status(&bound, 50, 10_000).0, CheckStatus::Fail);
    }

    #[test]
    fn a_straddling_interval_is_inconclusive_on_either_side_of_the_limit() {
        let bound = below(0.0001);
        // 2 in 50,000 = 0.004% is under 0.01%, but the interval reaches
        // above it.
        let (status, interval) = rate_status(&bound, 2, 50_000);
        assert!(interval.high > 0.0001, "{interval:?}");
        assert_eq!(status, CheckStatus::Inconclusive);
        // 8 in 50,000 = 0.016% is over 0.01%, but the lower bound (0.0069%)
        // is not: no evidence of a violation at 97.5%, although 50,000 clean
        // requests would have passed.
        let (status, interval) = rate_status(&bound, 8, 50_000);
        assert!(interval.low < 0.0001, "{interval:?}");
        assert_eq!(status, CheckStatus::Inconclusive);
        // 7 in 3,938 against <= 0.1% (issue 17, item 9): 0.0715% to 0.366%.
        let at_most = Comparison {
            op: Op::Le,
            value: 0.001,
        };
        assert_eq!(rate_status(&at_most, 7, 3_938).0, CheckStatus::Inconclusive);
        // 12 in 3,938: the lower bound (0.157%) is over the limit.
        assert_eq!(rate_status(&at_most, 12, 3_938).0, CheckStatus::Fail);
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
        // 35 of 35: the lower bound 0.025^(1/35) = 0.89997 is under 0.9;
        // 36 of 36 (0.9026) is not.
        assert_eq!(rate_status(&at_least, 35, 35).0, CheckStatus::Inconclusive);
        assert_eq!(rate_status(&at_least, 36, 36).0, CheckStatus::Pass);
    }

    #[test]
    fn trials_needed_is_the_smallest_passing_sample() {
        let bound = below(0.001);
        // ln(0.025) / ln(0.999) = 3,687.03.
        assert_eq!(trials_needed(&bound), Some(3_688));
        assert_eq!(rate_status(&bound, 0, 3_688).0, CheckStatus::Pass);
        assert_eq!(rate_status(&bound, 0, 3_687).0, CheckStatus::Inconclusive);
        assert_eq!(trials_needed(&below(0.0)), None);
        // Lower bounds need all hits: 0.9^n < 0.025 from n = 36.
        let at_least = Comparison {
            op: Op::Gt,
            value: 0.9,
        };
        assert_eq!(trials_needed(&at_least), Some(36));
    }
}
