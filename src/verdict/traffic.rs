//! Checks on a phase's request statistics: error rate, latency
//! percentiles, time to first token and which provider answered.
//!
//! - `error_rate` = errors / completed requests of the phase, where errors
//!   are HTTP errors, timeouts and connection errors (a degraded but
//!   successful answer is not an error). Dropped load (arrivals not sent
//!   because `max_in_flight` was reached) is not in the rate and is named
//!   in the observed text. Judged with its exact (Clopper–Pearson) 95%
//!   interval (see `confidence`).
//! - Latency (`p50`, `p95`, `p99`, `max`, `ttft_p95`) compares the phase's
//!   recorded percentile with the bound. A percentile that breaks its bound
//!   fails; one that holds is `inconclusive` when the phase has fewer
//!   requests than the percentile needs to exist (100 for p99, 20 for p95,
//!   2 for p50), since it then is little more than the slowest request.
//! - Provider shares = answered turns of that provider / all answered turns
//!   of the phase, judged like a rate.

use std::time::Duration;

use crate::results::{Check, CheckStatus, Latency, PhaseStats};
use crate::scenario::{Comparison, PhaseExpectations};

use super::confidence::{rate_status, trials_needed};
use super::format;

/// The traffic checks of one phase's expectations, in field order.
pub fn checks(expectations: &PhaseExpectations, stats: Option<&PhaseStats>) -> Vec<Check> {
    let phase = expectations.phase.as_str();
    let mut checks = Vec::new();
    if let Some(bound) = &expectations.error_rate {
        checks.push(error_rate(phase, bound, stats));
    }
    let latency = |pick: fn(&Latency) -> f64| {
        stats.map(|stats| (pick(&stats.latency), stats.outcomes.total()))
    };
    let percentiles = [
        ("p50", &expectations.p50, latency(|l| l.p50_ms), 0.50),
        ("p95", &expectations.p95, latency(|l| l.p95_ms), 0.95),
        ("p99", &expectations.p99, latency(|l| l.p99_ms), 0.99),
        ("max", &expectations.max, latency(|l| l.max_ms), 1.0),
    ];
    for (name, bound, observed, quantile) in percentiles {
        if let Some(bound) = bound {
            checks.push(latency_check(name, phase, bound, observed, quantile));
        }
    }
    if let Some(bound) = &expectations.ttft_p95 {
        let observed = stats.and_then(|stats| {
            let streamed = stats
                .operations
                .get("chat_stream")
                .map_or(u64::MAX, |operation| operation.outcomes.total());
            stats.ttft.map(|ttft| (ttft.p95_ms, streamed))
        });
        checks.push(latency_check("ttft_p95", phase, bound, observed, 0.95));
    }
    for (provider, bound) in &expectations.providers {
        checks.push(provider_share(phase, provider, bound, stats));
    }
    checks
}

fn no_traffic(name: &str, phase: &str, expected: String) -> Check {
    Check {
        name: name.to_string(),
        phase: phase.to_string(),
        status: CheckStatus::Inconclusive,
        expected,
        observed: "no requests recorded in this phase".to_string(),
        confidence: None,
    }
}

/// `error_rate` of a phase.
pub fn error_rate(phase: &str, bound: &Comparison<f64>, stats: Option<&PhaseStats>) -> Check {
    let expected = format::rate_bound(bound);
    let Some(stats) = stats.filter(|stats| stats.outcomes.total() > 0) else {
        return no_traffic("error_rate", phase, expected);
    };
    let errors = stats.outcomes.errors();
    let requests = stats.outcomes.total();
    let (status, interval) = rate_status(bound, errors, requests);
    let mut observed = format!(
        "{} ({}; 95% CI {} to {})",
        format::percent(errors as f64 / requests as f64),
        format::fraction(errors, requests),
        format::percent(interval.low),
        format::percent(interval.high),
    );
    if stats.dropped > 0 {
        observed.push_str(&format!(
            "; {} arrivals dropped (max_in_flight), not counted",
            format::count(stats.dropped)
        ));
    }
    if status == CheckStatus::Inconclusive {
        observed.push_str(&too_few(bound, requests, "requests"));
    }
    Check {
        name: "error_rate".to_string(),
        phase: phase.to_string(),
        status,
        expected,
        observed,
        confidence: Some(interval),
    }
}

/// Why an inconclusive rate check could not decide.
fn too_few(bound: &Comparison<f64>, trials: u64, unit: &str) -> String {
    match trials_needed(bound) {
        Some(needed) if needed > trials => format!(
            ": too few {unit} to tell (a perfect result needs at least {})",
            format::count(needed)
        ),
        Some(_) => ": the interval straddles the bound".to_string(),
        None => ": no sample can prove this bound".to_string(),
    }
}

/// A latency percentile (or the maximum, `quantile` 1.0) against its bound;
/// `observed` is the percentile in ms and the number of requests it is of.
fn latency_check(
    name: &str,
    phase: &str,
    bound: &Comparison<Duration>,
    observed: Option<(f64, u64)>,
    quantile: f64,
) -> Check {
    let expected = format::duration_bound(bound);
    let Some((millis, requests)) =
        observed.filter(|(millis, requests)| *requests > 0 && millis.is_finite())
    else {
        return no_traffic(name, phase, expected);
    };
    let holds = bound
        .op
        .holds(&(millis / 1000.0), &bound.value.as_secs_f64());
    let needed = if quantile < 1.0 {
        (1.0 / (1.0 - quantile)).round() as u64
    } else {
        1
    };
    let mut observed = format::millis(millis);
    let status = if !holds {
        CheckStatus::Fail
    } else if requests < needed {
        observed.push_str(&format!(
            " over only {} requests: a {name} needs at least {}",
            format::count(requests),
            format::count(needed)
        ));
        CheckStatus::Inconclusive
    } else {
        CheckStatus::Pass
    };
    Check {
        name: name.to_string(),
        phase: phase.to_string(),
        status,
        expected,
        observed,
        confidence: None,
    }
}

/// The share of answered turns one provider served.
fn provider_share(
    phase: &str,
    provider: &str,
    bound: &Comparison<f64>,
    stats: Option<&PhaseStats>,
) -> Check {
    let name = format!("provider {provider}");
    let expected = format::rate_bound(bound);
    let answered: u64 = stats.map_or(0, |stats| stats.providers.values().sum());
    if answered == 0 {
        let mut check = no_traffic(&name, phase, expected);
        check.observed = "no answered turns recorded in this phase".to_string();
        return check;
    }
    let served = stats
        .and_then(|stats| stats.providers.get(provider))
        .copied()
        .unwrap_or(0);
    let (status, interval) = rate_status(bound, served, answered);
    let mut observed = format!(
        "{} ({} answered turns; 95% CI {} to {})",
        format::percent(served as f64 / answered as f64),
        format::fraction(served, answered),
        format::percent(interval.low),
        format::percent(interval.high),
    );
    if status == CheckStatus::Inconclusive {
        observed.push_str(&too_few(bound, answered, "answered turns"));
    }
    Check {
        name,
        phase: phase.to_string(),
        status,
        expected,
        observed,
        confidence: Some(interval),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;
    use crate::results::OperationStats;

    fn expectations(yaml: &str) -> PhaseExpectations {
        let scenario = fixture::scenario(yaml);
        scenario.expect.into_iter().next().unwrap()
    }

    fn status_of(checks: &[Check], name: &str) -> CheckStatus {
        checks
            .iter()
            .find(|check| check.name == name)
            .unwrap_or_else(|| panic!("no check {name} in {checks:#?}"))
            .status
    }

    #[test]
    fn error_rate_is_judged_on_its_interval() {
        let expect = expectations("expect:\n  baseline:\n    error_rate: < 0.1%\n");
        let small = fixture::stats("baseline", 100, 0);
        let check = &checks(&expect, Some(&small))[0];
        assert_eq!(check.status, CheckStatus::Inconclusive);
        assert!(
            check.observed.contains("0% (0 of 100"),
            "{}",
            check.observed
        );
        assert!(
            check
                .observed
                .contains("a perfect result needs at least 3,688"),
            "{}",
            check.observed
        );
        let high = check.confidence.unwrap().high;
        // Clopper–Pearson: 1 − 0.025^(1/100).
        assert!((high - 0.036_217).abs() < 1e-5, "{high}");

        let large = fixture::stats("baseline", 100_000, 0);
        assert_eq!(checks(&expect, Some(&large))[0].status, CheckStatus::Pass);

        let mut bad = fixture::stats("baseline", 9_900, 0);
        bad.outcomes.timeout = 60;
        bad.outcomes.connection_error = 40;
        bad.outcomes.degraded_ok = 5_000;
        let check = &checks(&expect, Some(&bad))[0];
        assert_eq!(check.status, CheckStatus::Fail);
        assert!(
            check.observed.starts_with("0.667% (100 of 15,000"),
            "{}",
            check.observed
        );

        let check = &checks(&expect, None)[0];
        assert_eq!(check.status, CheckStatus::Inconclusive);
    }

    #[test]
    fn degraded_answers_are_not_errors_and_dropped_load_is_shown() {
        let expect = expectations("expect:\n  baseline:\n    error_rate: < 1%\n");
        let mut stats = fixture::stats("baseline", 1_000, 0);
        stats.outcomes.degraded_ok = 9_000;
        stats.dropped = 12;
        let check = &checks(&expect, Some(&stats))[0];
        assert_eq!(check.status, CheckStatus::Pass);
        assert!(
            check.observed.contains("12 arrivals dropped"),
            "{}",
            check.observed
        );
    }

    #[test]
    fn latency_percentiles_compare_with_their_bounds() {
        let expect = expectations(
            "expect:\n  baseline:\n    p50: < 100ms\n    p99: < 2s\n    max: <= 3s\n    ttft_p95: < 500ms\n",
        );
        let mut stats = fixture::stats("baseline", 1_000, 0);
        stats.latency = Latency {
            p50_ms: 40.0,
            p95_ms: 900.0,
            p99_ms: 2_500.0,
            max_ms: 3_000.0,
        };
        stats.ttft = Some(Latency {
            p95_ms: 300.0,
            ..Latency::default()
        });
        let all = checks(&expect, Some(&stats));
        assert_eq!(status_of(&all, "p50"), CheckStatus::Pass);
        assert_eq!(status_of(&all, "p99"), CheckStatus::Fail);
        assert_eq!(status_of(&all, "max"), CheckStatus::Pass);
        assert_eq!(status_of(&all, "ttft_p95"), CheckStatus::Pass);
        let p99 = all.iter().find(|check| check.name == "p99").unwrap();
        assert_eq!(p99.expected, "< 2s");
        assert_eq!(p99.observed, "2.50 s");

        // A p99 of 50 requests is the slowest request or so: a pass is not proof.
        let mut few = stats.clone();
        few.outcomes.ok = 50;
        few.latency.p99_ms = 1_000.0;
        few.operations.insert(
            "chat_stream".to_string(),
            OperationStats {
                outcomes: crate::results::OutcomeCounts {
                    ok: 5,
                    ..Default::default()
                },
                latency: Latency::default(),
            },
        );
        let all = checks(&expect, Some(&few));
        assert_eq!(status_of(&all, "p99"), CheckStatus::Inconclusive);
        assert_eq!(status_of(&all, "p50"), CheckStatus::Pass);
        assert_eq!(status_of(&all, "ttft_p95"), CheckStatus::Inconclusive);

        // No streamed turns at all: ttft cannot be judged.
        stats.ttft = None;
        assert_eq!(
            status_of(&checks(&expect, Some(&stats)), "ttft_p95"),
            CheckStatus::Inconclusive
        );
    }

    #[test]
    fn provider_shares_are_rates_of_answered_turns() {
        let expect = expectations(
            "expect:\n  redis-down:\n    providers: { primary: '> 90%', fallback: '< 5%' }\n",
        );
        let mut stats = fixture::stats("redis-down", 1_000, 0);
        stats.providers.insert("primary".to_string(), 700);
        stats.providers.insert("fallback".to_string(), 300);
        let all = checks(&expect, Some(&stats));
        assert_eq!(status_of(&all, "provider primary"), CheckStatus::Fail);
        assert_eq!(status_of(&all, "provider fallback"), CheckStatus::Fail);
        let fallback = all.iter().find(|c| c.name == "provider fallback").unwrap();
        assert!(
            fallback.observed.starts_with("30% (300 of 1,000"),
            "{}",
            fallback.observed
        );

        stats.providers.insert("primary".to_string(), 1_000);
        stats.providers.remove("fallback");
        let all = checks(&expect, Some(&stats));
        assert_eq!(status_of(&all, "provider primary"), CheckStatus::Pass);
        assert_eq!(status_of(&all, "provider fallback"), CheckStatus::Pass);

        let empty = fixture::stats("redis-down", 0, 0);
        let all = checks(&expect, Some(&empty));
        assert_eq!(
            status_of(&all, "provider primary"),
            CheckStatus::Inconclusive
        );
    }
}
