//! Fault-effect evidence: did each applied fault visibly do something?
//!
//! A fault with no observable effect usually means the dependency bypasses
//! its proxy, or the fault targets the wrong thing — every expectation about
//! it is then meaningless. After the run, for each applied fault, this looks
//! in its window (plus a short grace period) for any of: a change of the
//! target's health components, capabilities or breakers; an error rate above
//! the baseline's; a p99 latency more than 1.5× the baseline's (and at least
//! 20 ms more); responses of the fault's phase that say they were degraded
//! (`degraded` in the body or the `x-degraded-capabilities` header) naming a
//! capability more often than in the baseline; turns served by a provider
//! other than the baseline's usual one more often than in the baseline; for
//! an `llm` fault on a `gameday llm-proxy` gateway, requests the gateway says
//! its mode affected (`injected` in its `GET /admin/stats`, read at setup and
//! after the last revert). The judgement is pure: it reads the record and
//! those two readings.
//!
//! For a toxic it also records what the fault cost the platform's responses:
//! the median response time of the fault's phase against the baseline's
//! (`latency_added_ms`), so a report shows the fault as it was felt, next to
//! the one declared; a rise of at least [`MEDIAN_RISE_MS`] and 20% is
//! evidence too.

use std::collections::BTreeMap;

use crate::results::{FaultEffect, PhaseStats, RunRecord, SecondBucket};
use crate::scenario::model::{Fault, Scenario};

/// What each gateway's `/admin/stats` counts under `injected`: by gateway
/// name, then by mode name.
pub type Injected = BTreeMap<String, BTreeMap<String, u64>>;

/// Reads `injected` of every gateway (name → base URL). A gateway that does
/// not answer is left out (its faults then get no gateway evidence).
pub async fn read_injected(
    http: &reqwest::Client,
    gateways: &BTreeMap<String, String>,
) -> Injected {
    let mut injected = Injected::new();
    for (name, url) in gateways {
        let stats = async {
            let response = http.get(format!("{url}/admin/stats")).send().await.ok()?;
            if !response.status().is_success() {
                return None;
            }
            let stats: serde_json::Value = response.json().await.ok()?;
            let counts = stats.get("injected")?.as_object()?;
            Some(
                counts
                    .iter()
                    .filter_map(|(mode, count)| Some((mode.clone(), count.as_u64()?)))
                    .collect::<BTreeMap<String, u64>>(),
            )
        };
        match stats.await {
            Some(counts) => {
                injected.insert(name.clone(), counts);
            }
            None => tracing::warn!(gateway = %name, "cannot read the gateway's /admin/stats"),
        }
    }
    injected
}

/// The gateway evidence of each `llm` fault on a gateway, by fault name: how
/// many requests the gateway's mode affected between the two readings. Faults
/// of the same mode on the same gateway share the count.
pub fn gateway_evidence(
    scenario: &Scenario,
    before: &Injected,
    after: &Injected,
) -> BTreeMap<String, String> {
    let mut evidence = BTreeMap::new();
    for entry in &scenario.timeline {
        let Fault::Llm { provider, mode } = &entry.fault else {
            continue;
        };
        let Some(counts) = after.get(provider) else {
            continue;
        };
        let mode_name = mode.mode.name();
        let count = |counts: &BTreeMap<String, u64>| counts.get(mode_name).copied().unwrap_or(0);
        let earlier = before.get(provider).map_or(0, count);
        let affected = count(counts).saturating_sub(earlier);
        if affected > 0 {
            evidence.insert(
                entry.name.clone(),
                format!("gateway {provider} injected {mode_name} into {affected} requests"),
            );
        }
    }
    evidence
}

/// How much more often (a share of the phase's responses) a degraded
/// capability or another provider must show in a fault's phase than in the
/// baseline to count as its effect: five percentage points, so a stray
/// degraded response is not evidence but a platform that degrades most
/// requests is.
const SHARE_RISE: f64 = 0.05;

/// Seconds after the revert that still count as the fault's effect.
const GRACE_S: f64 = 2.0;

/// Fills `effect` of every applied fault.
pub fn assess(record: &mut RunRecord) {
    assess_with(record, &BTreeMap::new());
}

/// Fills `effect` of every applied fault, with the gateway evidence of
/// [`gateway_evidence`] (by fault name) besides what the record shows.
pub fn assess_with(record: &mut RunRecord, gateways: &BTreeMap<String, String>) {
    let baseline = record
        .plan
        .phases
        .iter()
        .find(|p| p.name == "baseline")
        .map(|p| (p.start_s, p.end_s));
    let base = baseline.map(|(from, to)| window_figures(&record.traffic.seconds, from, to));
    let observations = record.observations.clone();
    let seconds = record.traffic.seconds.clone();
    let phases = record.traffic.phases.clone();
    let stats = |name: &str| phases.iter().find(|p| p.name == name);
    let base_stats = stats("baseline");
    for fault in &mut record.faults {
        let Some(applied) = fault.applied_at_s else {
            continue;
        };
        let end = fault.reverted_at_s.unwrap_or(fault.planned_end_s) + GRACE_S;
        let mut seen = Vec::new();
        let changed = |times: Vec<f64>| times.into_iter().any(|t| t > applied && t <= end);
        if changed(observations.health.iter().map(|s| s.t).collect()) {
            seen.push("health changed");
        }
        if changed(observations.capabilities.iter().map(|s| s.t).collect()) {
            seen.push("capabilities changed");
        }
        if changed(observations.breakers.iter().map(|s| s.t).collect()) {
            seen.push("a breaker changed state");
        }
        let during = window_figures(&seconds, applied, end);
        if let Some((base_errors, base_p99)) = base {
            if during.0 > base_errors + 0.001 {
                seen.push("error rate rose");
            }
            if during.1 > base_p99 * 1.5 && during.1 > base_p99 + 20.0 {
                seen.push("p99 latency rose");
            }
        }
        let mut said = stats(&fault.name)
            .map(|during| responses_said(during, base_stats))
            .unwrap_or_default();
        let mut seen: Vec<String> = seen.into_iter().map(str::to_owned).collect();
        seen.append(&mut said);
        if let Some(injected) = gateways.get(&fault.name) {
            seen.push(injected.clone());
        }
        let median = (fault.kind == "toxic")
            .then(|| median_added(stats(&fault.name), base_stats))
            .flatten();
        let mut measured = None;
        if let Some((during, before)) = median {
            let added = during - before;
            if added >= MEDIAN_RISE_MS && during >= before * 1.2 {
                seen.push("median latency rose".to_owned());
            }
            measured = Some(format!(
                "median response {} against {} in the baseline ({:+.1} ms)",
                crate::verdict::format::millis(during),
                crate::verdict::format::millis(before),
                added
            ));
        }
        let mut effect = if seen.is_empty() {
            FaultEffect {
                observed: false,
                detail: "no change in health, capabilities, breakers, errors, latency, degraded \
                         responses or providers: does the dependency's traffic really pass \
                         through the fault?"
                    .to_owned(),
                ..FaultEffect::default()
            }
        } else {
            FaultEffect {
                observed: true,
                detail: seen.join(", "),
                ..FaultEffect::default()
            }
        };
        if let Some(measured) = measured {
            effect.detail = format!("{}; {measured}", effect.detail);
            effect.latency_added_ms = median.map(|(during, before)| during - before);
        }
        fault.effect = Some(effect);
    }
}

/// What the responses of a fault's phase said beyond the baseline's:
/// capabilities named as degraded, and turns served by a provider other than
/// the baseline's usual one, each when its share rose by [`SHARE_RISE`].
fn responses_said(during: &PhaseStats, baseline: Option<&PhaseStats>) -> Vec<String> {
    let mut said = Vec::new();
    let share = |count: u64, total: u64| {
        if total == 0 {
            0.0
        } else {
            count as f64 / total as f64
        }
    };
    let responses = during.outcomes.total();
    for (capability, &count) in &during.degraded {
        let before = baseline.map_or(0.0, |base| {
            share(
                base.degraded.get(capability).copied().unwrap_or(0),
                base.outcomes.total(),
            )
        });
        if share(count, responses) > before + SHARE_RISE {
            said.push(format!(
                "{count} of {responses} responses said degraded: {capability}"
            ));
        }
    }
    // The usual provider: the baseline's most used, else the phase's own.
    let usual = baseline
        .and_then(|base| base.providers.iter().max_by_key(|(_, count)| **count))
        .or_else(|| during.providers.iter().max_by_key(|(_, count)| **count))
        .map(|(name, _)| name.clone());
    if let Some(usual) = usual {
        let others = |stats: &PhaseStats| {
            let total: u64 = stats.providers.values().sum();
            let other: u64 = stats
                .providers
                .iter()
                .filter(|(name, _)| **name != usual)
                .map(|(_, count)| count)
                .sum();
            (other, total)
        };
        let (other, turns) = others(during);
        let before = baseline.map_or(0.0, |base| {
            let (other, total) = others(base);
            share(other, total)
        });
        if other > 0 && share(other, turns) > before + SHARE_RISE {
            said.push(format!(
                "{other} of {turns} turns served by a provider other than {usual}"
            ));
        }
    }
    said
}

/// A median response time rise that counts as evidence (with a 20% rise).
const MEDIAN_RISE_MS: f64 = 5.0;

/// (median of the fault's phase, median of the baseline) in ms, when both
/// phases had answered requests.
fn median_added(during: Option<&PhaseStats>, baseline: Option<&PhaseStats>) -> Option<(f64, f64)> {
    let answered =
        |stats: &PhaseStats| stats.outcomes.total() > 0 && stats.latency.p50_ms.is_finite();
    let (during, baseline) = (
        during.filter(|s| answered(s))?,
        baseline.filter(|s| answered(s))?,
    );
    Some((during.latency.p50_ms, baseline.latency.p50_ms))
}

/// (error rate, worst per-second p99 ms) over seconds in [from, to).
fn window_figures(seconds: &[SecondBucket], from: f64, to: f64) -> (f64, f64) {
    let mut errors = 0;
    let mut total = 0;
    let mut p99: f64 = 0.0;
    for bucket in seconds {
        let t = f64::from(bucket.t);
        if t + 1.0 <= from || t >= to {
            continue;
        }
        errors += bucket.outcomes.errors();
        total += bucket.outcomes.total();
        p99 = p99.max(bucket.latency.p99_ms);
    }
    let rate = if total == 0 {
        0.0
    } else {
        errors as f64 / total as f64
    };
    (rate, p99)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{FaultRecord, OutcomeCounts, PhaseKind, PhaseWindow, Preflight};

    fn stats(name: &str, ok: u64, degraded_ok: u64) -> PhaseStats {
        PhaseStats {
            name: name.to_owned(),
            sent: ok + degraded_ok,
            outcomes: OutcomeCounts {
                ok,
                degraded_ok,
                ..OutcomeCounts::default()
            },
            ..PhaseStats::default()
        }
    }

    /// A record with a baseline (0-10 s) and a fault `redis-down` (10-20 s)
    /// whose health, capabilities, breakers, errors and latency never moved.
    fn record(baseline: PhaseStats, during: PhaseStats) -> RunRecord {
        let window = |name: &str, kind, start_s, end_s| PhaseWindow {
            name: name.to_owned(),
            kind,
            start_s,
            end_s,
            maintenance: false,
        };
        let seconds = (0..20)
            .map(|t| SecondBucket {
                t,
                sent: 33,
                outcomes: OutcomeCounts {
                    ok: 33,
                    ..OutcomeCounts::default()
                },
                ..SecondBucket::default()
            })
            .collect();
        RunRecord {
            schema_version: crate::results::SCHEMA_VERSION,
            run_id: "r".to_owned(),
            gameday_version: "0".to_owned(),
            scenario: crate::results::ScenarioInfo {
                name: "s".to_owned(),
                description: String::new(),
                file: None,
                source: String::new(),
                availability: 0.999,
            },
            target: crate::results::TargetInfo {
                kind: "external".to_owned(),
                url: "http://x".to_owned(),
                toxiproxy: None,
            },
            started_at: String::new(),
            ended_at: None,
            seed: 1,
            status: crate::results::RunStatus::Completed,
            plan: crate::results::PlanInfo {
                warmup_s: 0.0,
                duration_s: 20.0,
                recovery_s: 0.0,
                phases: vec![
                    window("baseline", PhaseKind::Baseline, 0.0, 10.0),
                    window("redis-down", PhaseKind::Fault, 10.0, 20.0),
                ],
            },
            preflight: Preflight::default(),
            faults: vec![FaultRecord {
                name: "redis-down".to_owned(),
                kind: "proxy_down".to_owned(),
                target: "redis".to_owned(),
                description: String::new(),
                planned_at_s: 10.0,
                planned_end_s: 20.0,
                maintenance: false,
                applied_at_s: Some(10.0),
                apply_error: None,
                reverted_at_s: Some(20.0),
                revert_error: None,
                lost: None,
                effect: None,
            }],
            traffic: crate::results::TrafficRecord {
                target_rate: 33.0,
                seconds,
                phases: vec![baseline, during],
            },
            observations: Default::default(),
            environment: Default::default(),
            monitoring: None,
        }
    }

    fn assessed(record: &mut RunRecord) -> FaultEffect {
        assess(record);
        record.faults[0].effect.clone().expect("an effect")
    }

    #[test]
    fn a_toxic_records_what_it_added_to_the_median_response() {
        let with_median = |name: &str, p50_ms: f64| {
            let mut stats = stats(name, 330, 0);
            stats.latency.p50_ms = p50_ms;
            stats
        };
        let mut slow = record(
            with_median("baseline", 4.0),
            with_median("redis-down", 104.5),
        );
        slow.faults[0].kind = "toxic".to_owned();
        let effect = assessed(&mut slow);
        assert!(effect.observed, "{effect:?}");
        assert_eq!(effect.latency_added_ms, Some(100.5));
        assert!(
            effect
                .detail
                .starts_with("median latency rose; median response")
                && effect.detail.ends_with("(+100.5 ms)"),
            "{}",
            effect.detail
        );

        // Measured and recorded, but no evidence, when it barely moved.
        let mut same = record(with_median("baseline", 4.0), with_median("redis-down", 4.5));
        same.faults[0].kind = "toxic".to_owned();
        let effect = assessed(&mut same);
        assert!(!effect.observed, "{effect:?}");
        assert_eq!(effect.latency_added_ms, Some(0.5));

        // Other kinds of fault are not measured this way.
        let mut down = record(
            with_median("baseline", 4.0),
            with_median("redis-down", 104.5),
        );
        assert_eq!(assessed(&mut down).latency_added_ms, None);
    }

    #[test]
    fn requests_a_gateway_injected_are_evidence() {
        let scenario = crate::scenario::parse_str(
            "g.yaml",
            "name: g\ntarget: { url: http://127.0.0.1:1, llm_proxies: { primary: http://127.0.0.1:2 } }\n\
             traffic: { rate: 1/s, duration: 20s, warmup: 1s }\n\
             timeline:\n  - { name: redis-down, at: 5s, for: 5s, fault: { llm: primary, mode: { mode: errors } } }\n",
        )
        .expect("valid");
        let before = Injected::from([(
            "primary".to_owned(),
            BTreeMap::from([("errors".to_owned(), 3)]),
        )]);
        let after = Injected::from([(
            "primary".to_owned(),
            BTreeMap::from([("errors".to_owned(), 45), ("hang".to_owned(), 2)]),
        )]);
        let evidence = gateway_evidence(&scenario, &before, &after);
        assert_eq!(
            evidence.get("redis-down").map(String::as_str),
            Some("gateway primary injected errors into 42 requests")
        );
        assert!(gateway_evidence(&scenario, &after, &after).is_empty());

        let mut record = record(stats("baseline", 330, 0), stats("redis-down", 330, 0));
        assess_with(&mut record, &evidence);
        let effect = record.faults[0].effect.clone().expect("an effect");
        assert!(effect.observed, "{}", effect.detail);
        assert_eq!(
            effect.detail,
            "gateway primary injected errors into 42 requests"
        );
    }

    #[test]
    fn responses_that_say_degraded_are_evidence() {
        // The external game day of issue 17: 309 of 330 responses carried
        // `degraded: caching`, nothing else moved.
        let mut during = stats("redis-down", 21, 309);
        during.degraded.insert("caching".to_owned(), 309);
        let mut record = record(stats("baseline", 330, 0), during);
        let effect = assessed(&mut record);
        assert!(effect.observed, "{}", effect.detail);
        assert_eq!(effect.detail, "309 of 330 responses said degraded: caching");
    }

    #[test]
    fn a_provider_change_is_evidence_and_the_baseline_share_is_not() {
        let mut baseline = stats("baseline", 330, 0);
        baseline.providers.insert("primary".to_owned(), 300);
        baseline.providers.insert("fallback".to_owned(), 3);
        let mut during = stats("redis-down", 330, 0);
        during.providers.insert("fallback".to_owned(), 280);
        during.providers.insert("primary".to_owned(), 20);
        let effect = assessed(&mut record(baseline.clone(), during));
        assert!(effect.observed, "{}", effect.detail);
        assert!(
            effect
                .detail
                .contains("280 of 300 turns served by a provider other than primary"),
            "{}",
            effect.detail
        );

        // As degraded as the baseline already was, on the usual provider:
        // no evidence.
        baseline.degraded.insert("analytics".to_owned(), 330);
        let mut during = stats("redis-down", 0, 330);
        during.degraded.insert("analytics".to_owned(), 330);
        during.providers.insert("primary".to_owned(), 300);
        let effect = assessed(&mut record(baseline, during));
        assert!(!effect.observed, "{}", effect.detail);
        assert!(
            effect.detail.contains("degraded responses"),
            "{}",
            effect.detail
        );
    }
}
