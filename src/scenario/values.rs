//! The small textual languages inside scenario values: durations (`250ms`),
//! percentages (`99.9%`), rates (`100/s`), comparisons (`< 0.1%`, `<= 2s`)
//! and rules (`error_rate > 5% for 30s`).
//!
//! Each parser takes the text of one YAML scalar and returns the typed value
//! or a message saying what was expected; the decoder adds the location.

use std::time::Duration;

use super::diagnostic::suggest;
use super::model::{Comparison, Op, Rule, RuleMetric};

/// The longest duration a scenario may name anywhere: a game day measured in
/// weeks is a typo.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// `250ms`, `2s`, `1.5s`, `3m`, `1h`, `40us`; `0` alone is zero.
pub fn duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed == "0" {
        return Ok(Duration::ZERO);
    }
    if trimmed.starts_with('-') {
        return Err(format!("`{trimmed}` is negative; durations are >= 0"));
    }
    let parsed = crate::duration::parse(trimmed)
        .map_err(|message| format!("invalid duration: {message}"))?;
    if parsed > MAX_DURATION {
        return Err(format!("`{trimmed}` is longer than the 7-day limit"));
    }
    Ok(parsed)
}

/// `99.9%` as the fraction `0.999`; the number must lie in 0..=100.
pub fn percent(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    let Some(number) = trimmed.strip_suffix('%') else {
        return Err(format!(
            "`{trimmed}` is not a percentage; write e.g. `0.1%`"
        ));
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{trimmed}` is not a percentage; write e.g. `0.1%`"))?;
    if !value.is_finite() || !(0.0..=100.0).contains(&value) {
        return Err(format!("`{trimmed}` is outside 0%..100%"));
    }
    // Rounded so that `99.9%` is exactly the literal 0.999.
    Ok((value / 100.0 * 1e12).round() / 1e12)
}

/// `100/s`, `6000/m` (also `/min`, `/h`) as requests per second.
pub fn rate(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    let Some((number, unit)) = trimmed.split_once('/') else {
        return Err(format!(
            "`{trimmed}` is not a rate; write e.g. `100/s` or `6000/m`"
        ));
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{trimmed}` does not start with a number; write e.g. `100/s`"))?;
    let seconds = match unit.trim() {
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "unknown rate unit `/{other}` in `{trimmed}`; use /s, /m or /h"
            ));
        }
    };
    if !value.is_finite() || value < 0.0 {
        return Err(format!("`{trimmed}` must be a positive rate"));
    }
    Ok(value / seconds)
}

/// `< 0.1%`, `<= 2s`, `> 90%`: an operator and a value read by `parse_value`.
pub fn comparison<T>(
    text: &str,
    parse_value: impl Fn(&str) -> Result<T, String>,
    example: &str,
) -> Result<Comparison<T>, String> {
    let trimmed = text.trim();
    let (op, rest) = split_operator(trimmed)
        .ok_or_else(|| format!("`{trimmed}` has no comparison operator; write e.g. `{example}`"))?;
    let value = parse_value(rest.trim())?;
    Ok(Comparison { op, value })
}

fn split_operator(text: &str) -> Option<(Op, &str)> {
    for (symbol, op) in [("<=", Op::Le), (">=", Op::Ge), ("<", Op::Lt), (">", Op::Gt)] {
        if let Some(rest) = text.strip_prefix(symbol) {
            return Some((op, rest));
        }
    }
    None
}

const RULE_METRICS: [&str; 4] = ["error_rate", "p50", "p95", "p99"];

/// `error_rate > 5% for 30s`, `p99 > 30s for 30s`.
pub fn rule(text: &str) -> Result<Rule, (String, Option<String>)> {
    let trimmed = text.trim();
    let shape = || {
        (
            format!("`{trimmed}` is not a rule"),
            Some(
                "write `<metric> <op> <threshold> for <window>`, e.g. `error_rate > 5% for 30s`"
                    .to_string(),
            ),
        )
    };
    let (condition, window) = trimmed.rsplit_once(" for ").ok_or_else(shape)?;
    let condition = condition.trim();
    let metric_end = condition
        .find(|c: char| c.is_whitespace() || c == '<' || c == '>')
        .ok_or_else(shape)?;
    let (metric_name, comparison_text) = condition.split_at(metric_end);
    let metric = match metric_name {
        "error_rate" => RuleMetric::ErrorRate,
        "p50" => RuleMetric::P50,
        "p95" => RuleMetric::P95,
        "p99" => RuleMetric::P99,
        other => {
            return Err((
                format!("unknown metric `{other}` in rule `{trimmed}`"),
                Some(suggest(other, &RULE_METRICS)),
            ));
        }
    };
    let bound = match metric {
        RuleMetric::ErrorRate => comparison(comparison_text, percent, "error_rate > 5%"),
        _ => comparison(
            comparison_text,
            |value| duration(value).map(|d| d.as_secs_f64()),
            "p99 > 2s",
        ),
    }
    .map_err(|message| (message, None))?;
    let window = duration(window).map_err(|message| (message, None))?;
    Ok(Rule {
        metric,
        op: bound.op,
        threshold: bound.value,
        window,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_refuse_nonsense() {
        assert_eq!(duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(duration("0"), Ok(Duration::ZERO));
        assert!(duration("-300ms").unwrap_err().contains("negative"));
        assert!(duration("3y").unwrap_err().contains("unknown unit"));
        assert!(duration("30000h").unwrap_err().contains("7-day"));
        assert!(duration("60").unwrap_err().contains("no unit"));
    }

    #[test]
    fn percentages_are_fractions_in_range() {
        assert_eq!(percent("99.9%"), Ok(0.999));
        assert_eq!(percent("0%"), Ok(0.0));
        assert!(percent("101%").unwrap_err().contains("outside"));
        assert!(percent("0.1").unwrap_err().contains("not a percentage"));
    }

    #[test]
    fn rates_convert_to_per_second() {
        assert_eq!(rate("100/s"), Ok(100.0));
        assert_eq!(rate("6000/m"), Ok(100.0));
        assert_eq!(rate("7200/h"), Ok(2.0));
        assert!(rate("100").unwrap_err().contains("not a rate"));
        assert!(rate("100/d").unwrap_err().contains("unknown rate unit"));
    }

    #[test]
    fn comparisons_need_an_operator() {
        let bound = comparison("<= 2s", duration, "< 2s");
        assert_eq!(
            bound,
            Ok(Comparison {
                op: Op::Le,
                value: Duration::from_secs(2)
            })
        );
        assert_eq!(
            comparison("> 90%", percent, "> 90%").map(|c| (c.op, c.value)),
            Ok((Op::Gt, 0.9))
        );
        assert!(
            comparison("2s", duration, "< 2s")
                .unwrap_err()
                .contains("no comparison operator")
        );
    }

    #[test]
    fn rules_parse_metric_threshold_and_window() {
        assert_eq!(
            rule("error_rate > 5% for 30s"),
            Ok(Rule {
                metric: RuleMetric::ErrorRate,
                op: Op::Gt,
                threshold: 0.05,
                window: Duration::from_secs(30),
            })
        );
        let p99 = rule("p99 >= 1.5s for 1m").map(|r| (r.metric, r.threshold, r.window));
        assert_eq!(p99, Ok((RuleMetric::P99, 1.5, Duration::from_secs(60))));
        let Err((message, help)) = rule("eror_rate > 5% for 30s") else {
            panic!("unknown metric")
        };
        assert!(message.contains("unknown metric"));
        assert_eq!(help.as_deref(), Some("did you mean `error_rate`?"));
        assert!(rule("error_rate > 5%").is_err());
    }
}
