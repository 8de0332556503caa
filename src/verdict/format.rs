//! How the verdict writes numbers for people: percentages, counts with
//! thousands separators, seconds and latencies. Text only; no judgement.

use std::time::Duration;

use crate::scenario::{Comparison, format_duration};

/// `0.02%`, `0.123%`, `1.5%`, `12.5%`, `100%`: a fraction as a percentage
/// with enough digits to tell 0.1% budgets apart (four decimals below
/// 0.01%, three below 1%, two below 10%, one above) and no trailing zeros;
/// `n/a` when it is not a number. The one rule for checks, the terminal and
/// the report.
pub fn percent(fraction: f64) -> String {
    percent_or(fraction, "n/a")
}

/// [`percent`], with `missing` for a fraction that is not a number.
pub fn percent_or(fraction: f64, missing: &str) -> String {
    if !fraction.is_finite() {
        return missing.to_string();
    }
    let value = fraction * 100.0;
    let magnitude = value.abs();
    let decimals = if magnitude < 0.01 {
        4
    } else if magnitude < 1.0 {
        3
    } else if magnitude < 10.0 {
        2
    } else {
        1
    };
    format!("{}%", trim(format!("{value:.decimals$}")))
}

/// `14,980`.
pub fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `1.2 s`: a span of seconds with one decimal.
pub fn seconds(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_string();
    }
    format!("{value:.1} s")
}

/// `812 ms`, `2.31 s`: a latency given in milliseconds.
pub fn millis(value: f64) -> String {
    if !value.is_finite() {
        "n/a".to_string()
    } else if value >= 1000.0 {
        format!("{:.2} s", value / 1000.0)
    } else if value >= 10.0 {
        format!("{value:.0} ms")
    } else {
        format!("{value:.1} ms")
    }
}

/// `< 0.1%`.
pub fn rate_bound(bound: &Comparison<f64>) -> String {
    format!("{} {}", bound.op, percent(bound.value))
}

/// `< 2s`.
pub fn duration_bound(bound: &Comparison<Duration>) -> String {
    format!("{} {}", bound.op, format_duration(bound.value))
}

/// `3 of 14,980`.
pub fn fraction(hits: u64, of: u64) -> String {
    format!("{} of {}", count(hits), count(of))
}

/// From how many times the budget on, spending reads as a multiple.
pub const BUDGET_MULTIPLE_FROM: f64 = 10.0;

/// Budget spent as a number for a headline: `30%` of the budget below
/// [`BUDGET_MULTIPLE_FROM`] times it, then a multiple: `37×`, `372×`,
/// `1,250×`; `∞×` for errors against a zero budget. `percent` formats the
/// percentage (the report and the verdict round differently).
pub fn budget_multiple_or(share: f64, percent: impl Fn(f64) -> String) -> String {
    if share.is_nan() {
        return "n/a".to_string();
    }
    if share >= f64::MAX {
        return "∞×".to_string();
    }
    if share < BUDGET_MULTIPLE_FROM {
        return percent(share);
    }
    if share < 100.0 {
        format!("{}×", trim(format!("{share:.1}")))
    } else {
        format!("{}×", count(share.round() as u64))
    }
}

/// Budget spent in words: `30% of the budget`, `372× the budget` (see
/// [`budget_multiple_or`]); `noun` is what is spent (`budget`, `monthly
/// budget`).
pub fn budget_share_or(share: f64, percent: impl Fn(f64) -> String, noun: &str) -> String {
    let number = budget_multiple_or(share, percent);
    if number.ends_with('×') {
        format!("{number} the {noun}")
    } else {
        format!("{number} of the {noun}")
    }
}

/// [`budget_share_or`] of `the budget`, with this module's percentages.
pub fn budget_share(share: f64) -> String {
    budget_share_or(share, percent, "budget")
}

fn trim(text: String) -> String {
    if !text.contains('.') {
        return text;
    }
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    if trimmed == "-0" {
        "0".to_string()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_a_report() {
        assert_eq!(percent(0.0002), "0.02%");
        assert_eq!(percent(0.001), "0.1%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(f64::NAN), "n/a");
        assert_eq!(count(14_980), "14,980");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000_000), "1,000,000");
        assert_eq!(seconds(1.24), "1.2 s");
        assert_eq!(millis(812.4), "812 ms");
        assert_eq!(millis(2310.0), "2.31 s");
        assert_eq!(millis(3.3), "3.3 ms");
    }

    #[test]
    fn a_budget_far_over_reads_as_a_multiple() {
        assert_eq!(budget_share(0.3), "30% of the budget");
        assert_eq!(budget_share(9.99), "999% of the budget");
        assert_eq!(budget_share(10.0), "10× the budget");
        assert_eq!(budget_share(37.24), "37.2× the budget");
        assert_eq!(budget_share(372.093), "372× the budget");
        assert_eq!(budget_share(12_345.6), "12,346× the budget");
        assert_eq!(budget_share(f64::MAX), "∞× the budget");
        assert_eq!(budget_share(f64::NAN), "n/a of the budget");
    }
}
