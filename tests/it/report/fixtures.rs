//! The results.json fixtures of the report tests, generated from a few
//! lines of description each (seeded, so every run produces the same
//! bytes) and kept on disk in tests/fixtures/results/ for the snapshot
//! tests, the CLI tests and anyone wanting a realistic results.json.
//! `GAMEDAY_UPDATE_FIXTURES=1 cargo test --test it report::` rewrites them.
//! bench/report.rs includes this file for its hour-long run.

#![allow(dead_code)]

use std::collections::BTreeMap;

use gameday::results::*;
use gameday::rng::Rng;

/// Every fixture, by file stem.
pub const NAMES: [&str; 7] = [
    "passed",
    "failed",
    "aborted",
    "inconclusive",
    "zero-requests",
    "revert-error",
    "hostile",
];

/// The fixture called `name`.
pub fn fixture(name: &str) -> Results {
    match name {
        "passed" => passed(),
        "failed" => failed(),
        "aborted" => aborted(),
        "inconclusive" => inconclusive(),
        "zero-requests" => zero_requests(),
        "revert-error" => revert_error(),
        "hostile" => hostile(),
        other => panic!("no fixture {other}"),
    }
}

/// How traffic behaves in one second.
#[derive(Clone, Copy)]
struct Weather {
    http_error: f64,
    timeout: f64,
    connection_error: f64,
    degraded: f64,
    latency_factor: f64,
    fallback_share: f64,
}

const CALM: Weather = Weather {
    http_error: 0.00005,
    timeout: 0.0,
    connection_error: 0.0,
    degraded: 0.0,
    latency_factor: 1.0,
    fallback_share: 0.0,
};

struct Run {
    name: String,
    description: String,
    rate: f64,
    seconds: u32,
    warmup: f64,
    phases: Vec<PhaseWindow>,
    faults: Vec<FaultRecord>,
    weather: Box<dyn Fn(u32) -> Weather>,
    capabilities: Vec<(f64, &'static [&'static str])>,
    breakers: Vec<(f64, &'static str, &'static str)>,
    status: RunStatus,
    seed: u64,
}

fn phase(name: &str, kind: PhaseKind, start_s: f64, end_s: f64) -> PhaseWindow {
    PhaseWindow {
        name: name.to_string(),
        kind,
        start_s,
        end_s,
        maintenance: false,
    }
}

const ALL_ON: &[&str] = &[];
const CACHE_OFF: &[&str] = &["caching", "real_time_usage"];
const LLM_DEGRADED: &[&str] = &["streaming"];
const DB_DOWN: &[&str] = &["conversation_history", "analytics"];

fn fault(
    name: &str,
    kind: &str,
    target: &str,
    description: &str,
    at: f64,
    end: f64,
) -> FaultRecord {
    FaultRecord {
        name: name.to_string(),
        kind: kind.to_string(),
        target: target.to_string(),
        description: description.to_string(),
        planned_at_s: at,
        planned_end_s: end,
        maintenance: false,
        applied_at_s: Some(at + 0.012),
        apply_error: None,
        reverted_at_s: Some(end + 0.034),
        revert_error: None,
        effect: Some(FaultEffect {
            observed: true,
            detail: "health changed within 1.2 s".to_string(),
            latency_added_ms: None,
        }),
        lost: None,
    }
}

/// The verdict's own interval (exact Clopper–Pearson, 95%).
fn exact_interval(errors: u64, requests: u64) -> Interval {
    gameday::verdict::clopper_pearson(errors, requests)
}

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// A binomial draw, cheap enough for an hour at 1,000 req/s: Poisson by
/// multiplication for small means, a normal approximation for large ones.
fn binomial(rng: &mut Rng, n: u64, p: f64) -> u64 {
    if p <= 0.0 || n == 0 {
        return 0;
    }
    let mean = n as f64 * p.min(1.0);
    let draw = if mean < 30.0 {
        let limit = (-mean).exp();
        let (mut k, mut product) = (0u64, rng.next_f64());
        while product > limit {
            k += 1;
            product *= rng.next_f64();
        }
        k as f64
    } else {
        let normal: f64 = (0..12).map(|_| rng.next_f64()).sum::<f64>() - 6.0;
        (mean + normal * (mean * (1.0 - p.min(1.0))).sqrt()).round()
    };
    (draw.max(0.0) as u64).min(n)
}

impl Run {
    fn record(&self) -> RunRecord {
        let mut rng = Rng::new(self.seed);
        let mut seconds = Vec::new();
        for t in 0..self.seconds {
            let weather = (self.weather)(t);
            let sent =
                (self.rate + rng.range_i64(-3, 3) as f64 * self.rate / 100.0).max(0.0) as u64;
            let http_error = binomial(&mut rng, sent, weather.http_error);
            let timeout = binomial(&mut rng, sent - http_error, weather.timeout);
            let connection_error = binomial(
                &mut rng,
                sent - http_error - timeout,
                weather.connection_error,
            );
            let good = sent - http_error - timeout - connection_error;
            let degraded_ok = binomial(&mut rng, good, weather.degraded);
            let fallback = binomial(&mut rng, good, weather.fallback_share);
            let p50 = round((170.0 + rng.next_f64() * 30.0) * weather.latency_factor, 1);
            let mut providers = BTreeMap::new();
            if good > 0 {
                if good > fallback {
                    providers.insert("primary".to_string(), good - fallback);
                }
                if fallback > 0 {
                    providers.insert("fallback".to_string(), fallback);
                }
            }
            seconds.push(SecondBucket {
                t,
                sent,
                dropped: 0,
                outcomes: OutcomeCounts {
                    ok: good - degraded_ok,
                    degraded_ok,
                    http_error,
                    timeout,
                    connection_error,
                },
                latency: Latency {
                    p50_ms: p50,
                    p95_ms: round(p50 * 1.6, 1),
                    p99_ms: round(
                        p50 * (2.3 + rng.next_f64() * 0.4) + weather.timeout * 8000.0,
                        1,
                    ),
                    max_ms: round(p50 * 3.4 + weather.timeout * 10000.0, 1),
                },
                providers,
            });
        }
        let phases = self
            .phases
            .iter()
            .filter(|phase| phase.kind != PhaseKind::Warmup)
            .map(|phase| phase_stats(phase, &seconds))
            .collect();
        let mut capabilities = Vec::new();
        for (t, off) in &self.capabilities {
            let map = [
                "chat",
                "streaming",
                "conversation_history",
                "analytics",
                "caching",
                "real_time_usage",
            ]
            .iter()
            .map(|name| (name.to_string(), !off.contains(name)))
            .collect();
            capabilities.push(CapabilitySample {
                t: *t,
                capabilities: map,
            });
        }
        let mut breakers: Vec<BreakerSample> = Vec::new();
        for (t, provider, state) in &self.breakers {
            let mut states = breakers
                .last()
                .map(|s| s.states.clone())
                .unwrap_or_default();
            states.insert(provider.to_string(), state.to_string());
            breakers.push(BreakerSample { t: *t, states });
        }
        let health = self
            .capabilities
            .iter()
            .map(|(t, off)| HealthSample {
                t: *t,
                status: if off.is_empty() {
                    "healthy"
                } else {
                    "degraded"
                }
                .to_string(),
                components: BTreeMap::from([
                    (
                        "redis".to_string(),
                        if off.contains(&"caching") {
                            "unhealthy"
                        } else {
                            "healthy"
                        }
                        .to_string(),
                    ),
                    ("database".to_string(), "healthy".to_string()),
                    (
                        "llm".to_string(),
                        if off.contains(&"streaming") {
                            "degraded"
                        } else {
                            "healthy"
                        }
                        .to_string(),
                    ),
                ]),
            })
            .collect();
        let ended = 1_795_929_446.0 + f64::from(self.seconds);
        RunRecord {
            schema_version: SCHEMA_VERSION,
            run_id: format!("{}-20261129T051726Z", self.name),
            gameday_version: "0.1.0".to_string(),
            scenario: ScenarioInfo {
                name: self.name.clone(),
                description: self.description.clone(),
                file: Some(format!("scenarios/{}.yaml", self.name)),
                source: format!(
                    "name: {}\ndescription: {}\navailability: 99.9%\ntarget: lab\ntraffic:\n  rate: {}/s\n  warmup: {}s\n  duration: {}s\n",
                    self.name, self.description, self.rate, self.warmup, self.seconds
                ),
                availability: 0.999,
            },
            target: TargetInfo {
                kind: "lab".to_string(),
                url: "http://127.0.0.1:41837".to_string(),
                toxiproxy: Some("http://127.0.0.1:41839".to_string()),
            },
            started_at: "2026-11-29T05:17:26.000Z".to_string(),
            ended_at: Some(gameday::timestamp::rfc3339(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(ended),
            )),
            seed: self.seed,
            status: self.status.clone(),
            plan: PlanInfo {
                warmup_s: self.warmup,
                duration_s: f64::from(self.seconds) - self.warmup,
                recovery_s: 60.0,
                phases: self.phases.clone(),
            },
            preflight: Preflight {
                steady_state: true,
                messages: vec![
                    "health healthy for 20 s of warm-up".to_string(),
                    "all capabilities on".to_string(),
                ],
                proxy_paths: vec![
                    ProxyPathEvidence {
                        proxy: "redis".to_string(),
                        passes_through: Some(true),
                        detail: "proxy counters grew by 18,244 bytes under traffic".to_string(),
                    },
                    ProxyPathEvidence {
                        proxy: "postgres".to_string(),
                        passes_through: Some(true),
                        detail: "proxy counters grew by 96,120 bytes under traffic".to_string(),
                    },
                ],
            },
            faults: self.faults.clone(),
            traffic: TrafficRecord {
                target_rate: self.rate,
                seconds,
                phases,
            },
            observations: Observations {
                interval_s: 0.25,
                capabilities,
                breakers,
                health,
                poll_errors: Vec::new(),
            },
            monitoring: None,
            environment: Environment {
                hostname: Some("ci-runner-7".to_string()),
                runner: None,
                other: BTreeMap::from([
                    ("os".to_string(), "linux x86_64".to_string()),
                    ("cpus".to_string(), "2".to_string()),
                    ("redis".to_string(), "7.0.15".to_string()),
                    ("postgresql".to_string(), "15.14".to_string()),
                ]),
            },
        }
    }
}

fn phase_stats(phase: &PhaseWindow, seconds: &[SecondBucket]) -> PhaseStats {
    let inside: Vec<&SecondBucket> = seconds
        .iter()
        .filter(|b| f64::from(b.t) >= phase.start_s && f64::from(b.t) < phase.end_s)
        .collect();
    let mut stats = PhaseStats {
        name: phase.name.clone(),
        ..PhaseStats::default()
    };
    let mut p50s = Vec::new();
    for bucket in &inside {
        stats.sent += bucket.sent;
        stats.dropped += bucket.dropped;
        stats.outcomes.ok += bucket.outcomes.ok;
        stats.outcomes.degraded_ok += bucket.outcomes.degraded_ok;
        stats.outcomes.http_error += bucket.outcomes.http_error;
        stats.outcomes.timeout += bucket.outcomes.timeout;
        stats.outcomes.connection_error += bucket.outcomes.connection_error;
        stats.latency.p95_ms = stats.latency.p95_ms.max(bucket.latency.p95_ms);
        stats.latency.p99_ms = stats.latency.p99_ms.max(bucket.latency.p99_ms);
        stats.latency.max_ms = stats.latency.max_ms.max(bucket.latency.max_ms);
        p50s.push(bucket.latency.p50_ms);
        for (provider, count) in &bucket.providers {
            *stats.providers.entry(provider.clone()).or_default() += count;
        }
    }
    p50s.sort_by(f64::total_cmp);
    stats.latency.p50_ms = p50s.get(p50s.len() / 2).copied().unwrap_or(0.0);
    if stats.outcomes.total() > 0 {
        stats.ttft = Some(Latency {
            p50_ms: round(stats.latency.p50_ms * 0.35, 1),
            p95_ms: round(stats.latency.p95_ms * 0.4, 1),
            p99_ms: round(stats.latency.p99_ms * 0.45, 1),
            max_ms: round(stats.latency.max_ms * 0.5, 1),
        });
        stats.degraded = BTreeMap::from([("caching".to_string(), stats.outcomes.degraded_ok)]);
        let chat = stats.outcomes.total() * 80 / 100;
        stats.operations = BTreeMap::from([(
            "chat".to_string(),
            OperationStats {
                outcomes: OutcomeCounts {
                    ok: chat,
                    ..OutcomeCounts::default()
                },
                latency: stats.latency,
            },
        )]);
    }
    stats
}

fn check(name: &str, phase: &str, status: CheckStatus, expected: &str, observed: &str) -> Check {
    Check {
        name: name.to_string(),
        phase: phase.to_string(),
        status,
        expected: expected.to_string(),
        observed: observed.to_string(),
        confidence: None,
    }
}

/// An error-rate check computed from the phase's statistics.
fn rate_check(record: &RunRecord, phase: &str, limit: f64) -> Check {
    let stats = record.traffic.phases.iter().find(|p| p.name == phase);
    let (errors, total) = stats.map_or((0, 0), |s| (s.outcomes.errors(), s.outcomes.total()));
    let interval = exact_interval(errors, total);
    let status = if interval.high < limit {
        CheckStatus::Pass
    } else if interval.low > limit {
        CheckStatus::Fail
    } else {
        CheckStatus::Inconclusive
    };
    let rate = if total > 0 {
        errors as f64 / total as f64
    } else {
        0.0
    };
    Check {
        confidence: Some(Interval {
            low: round(interval.low, 6),
            high: round(interval.high, 6),
        }),
        ..check(
            "error_rate",
            phase,
            status,
            &format!("< {}%", limit * 100.0),
            &format!("{:.3}% ({} of {})", rate * 100.0, errors, total),
        )
    }
}

fn budget(record: &RunRecord, allowed: f64, production_rate: Option<f64>) -> Budget {
    let run = record.traffic.phases.iter().find(|p| p.name == "run");
    let (errors, requests) = run.map_or((0, 0), |s| (s.outcomes.errors(), s.outcomes.total()));
    let spent = if requests > 0 {
        errors as f64 / requests as f64
    } else {
        0.0
    };
    let confidence = exact_interval(errors, requests);
    let status = if requests == 0 || (confidence.low <= allowed && confidence.high >= allowed) {
        CheckStatus::Inconclusive
    } else if spent <= allowed {
        CheckStatus::Pass
    } else {
        CheckStatus::Fail
    };
    Budget {
        allowed,
        errors,
        requests,
        spent: round(spent, 8),
        spent_of_allowed: round(spent / allowed, 6),
        confidence: Interval {
            low: round(confidence.low, 8),
            high: round(confidence.high, 8),
        },
        status,
        maintenance_excluded_s: 0.0,
        monthly_budget_minutes: 43.8,
        monthly_minutes_spent: production_rate.map(|rate| round(errors as f64 / (rate * 60.0), 4)),
        phases: record
            .traffic
            .phases
            .iter()
            .filter(|p| p.name != "run")
            .map(|p| PhaseBudget {
                phase: p.name.clone(),
                errors: p.outcomes.errors(),
                requests: p.outcomes.total(),
                spent: if p.outcomes.total() > 0 {
                    round(p.outcomes.errors() as f64 / p.outcomes.total() as f64, 8)
                } else {
                    0.0
                },
                maintenance: false,
            })
            .collect(),
    }
}

fn outcome_of(checks: &[Check], budget: &Budget) -> Outcome {
    let statuses = checks.iter().map(|c| c.status).chain([budget.status]);
    let statuses: Vec<CheckStatus> = statuses.collect();
    if statuses.contains(&CheckStatus::Fail) {
        Outcome::Failed
    } else if statuses.contains(&CheckStatus::Inconclusive) {
        Outcome::Inconclusive
    } else {
        Outcome::Passed
    }
}

fn redis_killed_run(seed: u64) -> Run {
    Run {
        name: "redis-killed".to_string(),
        description: "Redis dies under load. Chat must keep answering without the cache."
            .to_string(),
        rate: 100.0,
        seconds: 260,
        warmup: 20.0,
        phases: vec![
            phase("warmup", PhaseKind::Warmup, 0.0, 20.0),
            phase("baseline", PhaseKind::Baseline, 20.0, 80.0),
            phase("redis-down", PhaseKind::Fault, 80.0, 140.0),
            phase("recovery", PhaseKind::Recovery, 140.0, 260.0),
            phase("run", PhaseKind::Run, 20.0, 260.0),
        ],
        faults: vec![fault(
            "redis-down",
            "kill",
            "redis",
            "SIGKILL redis-server; reverted by a restart",
            80.0,
            140.0,
        )],
        weather: Box::new(|t| {
            if (80..142).contains(&t) {
                Weather {
                    degraded: 1.0,
                    latency_factor: 1.25,
                    ..CALM
                }
            } else {
                CALM
            }
        }),
        capabilities: vec![(0.5, ALL_ON), (81.3, CACHE_OFF), (142.6, ALL_ON)],
        breakers: vec![(0.5, "primary", "closed"), (0.5, "fallback", "closed")],
        status: RunStatus::Completed,
        seed,
    }
}

fn redis_checks(record: &RunRecord) -> Vec<Check> {
    vec![
        rate_check(record, "baseline", 0.001),
        check(
            "capabilities all",
            "baseline",
            CheckStatus::Pass,
            "all true",
            "all true throughout",
        ),
        rate_check(record, "redis-down", 0.001),
        check(
            "capability caching",
            "redis-down",
            CheckStatus::Pass,
            "becomes false within 5s",
            "false after 1.3s",
        ),
        check(
            "capability real_time_usage",
            "redis-down",
            CheckStatus::Pass,
            "becomes false within 5s",
            "false after 1.3s",
        ),
        check(
            "capability chat",
            "redis-down",
            CheckStatus::Pass,
            "true",
            "true throughout",
        ),
        check(
            "capabilities all",
            "recovery",
            CheckStatus::Pass,
            "all true within 15s",
            "all true after 2.6s",
        ),
    ]
}

fn alerts_quiet() -> Vec<AlertResult> {
    vec![AlertResult {
        name: "error-rate-1pct-5m".to_string(),
        rule: "error rate > 1% over 5m".to_string(),
        fired: false,
        fired_at_s: None,
        detection_s: None,
        fault: None,
    }]
}

fn passed() -> Results {
    let record = redis_killed_run(7).record();
    let checks = redis_checks(&record);
    let budget = budget(&record, 0.001, Some(350.0));
    let verdict = Verdict {
        outcome: outcome_of(&checks, &budget),
        checks,
        budget,
        alerts: alerts_quiet(),
        monitoring: None,
        cost: None,
    };
    Results {
        record,
        verdict: Some(verdict),
    }
}

fn llm_outage_run() -> Run {
    Run {
        name: "llm-primary-outage".to_string(),
        description: "The primary LLM provider returns 529 for two minutes; turns must fail over within a second.".to_string(),
        rate: 120.0,
        seconds: 300,
        warmup: 20.0,
        phases: vec![
            phase("warmup", PhaseKind::Warmup, 0.0, 20.0),
            phase("baseline", PhaseKind::Baseline, 20.0, 90.0),
            phase("primary-529", PhaseKind::Fault, 90.0, 210.0),
            phase("recovery", PhaseKind::Recovery, 210.0, 300.0),
            phase("run", PhaseKind::Run, 20.0, 300.0),
        ],
        faults: vec![fault("primary-529", "llm", "primary", "mode overloaded (529) on every request", 90.0, 210.0)],
        weather: Box::new(|t| match t {
            90..=104 => Weather {
                http_error: 0.06,
                timeout: 0.01,
                latency_factor: 4.0,
                fallback_share: 0.7,
                degraded: 0.2,
                ..CALM
            },
            105..=209 => Weather {
                http_error: 0.004,
                fallback_share: 1.0,
                latency_factor: 1.4,
                degraded: 0.9,
                ..CALM
            },
            _ => CALM,
        }),
        capabilities: vec![(0.5, ALL_ON), (93.0, LLM_DEGRADED), (214.2, ALL_ON)],
        breakers: vec![
            (0.5, "primary", "closed"),
            (0.5, "fallback", "closed"),
            (91.4, "primary", "open"),
            (121.4, "primary", "half_open"),
            (121.6, "primary", "open"),
            (151.6, "primary", "half_open"),
            (151.8, "primary", "open"),
            (211.6, "primary", "half_open"),
            (211.9, "primary", "closed"),
        ],
        status: RunStatus::Completed,
        seed: 11,
    }
}

fn failed() -> Results {
    let record = llm_outage_run().record();
    let mut checks = vec![
        rate_check(&record, "baseline", 0.001),
        rate_check(&record, "primary-529", 0.001),
        check(
            "breaker primary",
            "primary-529",
            CheckStatus::Pass,
            "opens within 5s",
            "open after 1.4s",
        ),
        check(
            "capability streaming",
            "primary-529",
            CheckStatus::Fail,
            "stays true",
            "false after 3.0s (the health check ignores the fallback provider)",
        ),
        check(
            "capability chat",
            "primary-529",
            CheckStatus::Pass,
            "true",
            "true throughout",
        ),
        check("p99", "primary-529", CheckStatus::Fail, "< 2s", "3,420 ms"),
        check(
            "breaker primary",
            "recovery",
            CheckStatus::Pass,
            "closes within 10s",
            "closed after 1.9s",
        ),
        check(
            "capabilities all",
            "recovery",
            CheckStatus::Pass,
            "all true within 15s",
            "all true after 4.2s",
        ),
    ];
    checks[0].status = CheckStatus::Pass;
    let budget = budget(&record, 0.001, Some(350.0));
    let alerts = vec![
        AlertResult {
            name: "error-rate-1pct-5m".to_string(),
            rule: "error rate > 1% over 5m".to_string(),
            fired: true,
            fired_at_s: Some(97.0),
            detection_s: Some(7.0),
            fault: Some("primary-529".to_string()),
        },
        AlertResult {
            name: "p99-2s-1m".to_string(),
            rule: "p99 > 2s over 1m".to_string(),
            fired: false,
            fired_at_s: None,
            detection_s: None,
            fault: None,
        },
    ];
    let verdict = Verdict {
        outcome: outcome_of(&checks, &budget),
        checks,
        budget,
        alerts,
        monitoring: None,
        cost: Some(Cost {
            currency: "USD".to_string(),
            total: 1.8432,
            by_phase: BTreeMap::from([
                (
                    "baseline".to_string(),
                    BTreeMap::from([("primary".to_string(), 0.4210)]),
                ),
                (
                    "primary-529".to_string(),
                    BTreeMap::from([
                        ("primary".to_string(), 0.0312),
                        ("fallback".to_string(), 0.9120),
                    ]),
                ),
                (
                    "recovery".to_string(),
                    BTreeMap::from([("primary".to_string(), 0.4790)]),
                ),
            ]),
        }),
    };
    Results {
        record,
        verdict: Some(verdict),
    }
}

fn aborted() -> Results {
    let mut run = Run {
        name: "postgres-partition".to_string(),
        description: "PostgreSQL becomes unreachable; history must fall back to memory."
            .to_string(),
        rate: 80.0,
        seconds: 118,
        warmup: 20.0,
        phases: vec![
            phase("warmup", PhaseKind::Warmup, 0.0, 20.0),
            phase("baseline", PhaseKind::Baseline, 20.0, 80.0),
            phase("postgres-down", PhaseKind::Fault, 80.0, 117.4),
            phase("run", PhaseKind::Run, 20.0, 117.4),
        ],
        faults: vec![fault(
            "postgres-down",
            "proxy_down",
            "postgres",
            "proxy postgres disabled",
            80.0,
            140.0,
        )],
        weather: Box::new(|t| {
            if t >= 82 {
                Weather {
                    http_error: 0.28,
                    timeout: 0.05,
                    latency_factor: 6.0,
                    ..CALM
                }
            } else {
                CALM
            }
        }),
        capabilities: vec![(0.5, ALL_ON), (81.0, DB_DOWN)],
        breakers: vec![(0.5, "primary", "closed"), (0.5, "fallback", "closed")],
        status: RunStatus::Aborted {
            reason: "halt condition error_rate > 20% for 10s held from t+1:47 to t+1:57"
                .to_string(),
        },
        seed: 5,
    };
    run.faults[0].reverted_at_s = Some(117.5);
    run.capabilities.push((118.0, ALL_ON));
    let record = run.record();
    let checks = vec![
        rate_check(&record, "baseline", 0.001),
        rate_check(&record, "postgres-down", 0.001),
        check(
            "capability conversation_history",
            "postgres-down",
            CheckStatus::Fail,
            "stays true",
            "false after 1.0s",
        ),
    ];
    let budget = budget(&record, 0.001, None);
    Results {
        record,
        verdict: Some(Verdict {
            outcome: Outcome::Aborted,
            checks,
            budget,
            alerts: alerts_quiet(),
            monitoring: None,
            cost: None,
        }),
    }
}

fn inconclusive() -> Results {
    let mut run = redis_killed_run(3);
    run.name = "redis-killed-short".to_string();
    run.rate = 2.0;
    run.seconds = 200;
    run.phases = vec![
        phase("warmup", PhaseKind::Warmup, 0.0, 20.0),
        phase("baseline", PhaseKind::Baseline, 20.0, 80.0),
        phase("redis-down", PhaseKind::Fault, 80.0, 140.0),
        phase("recovery", PhaseKind::Recovery, 140.0, 200.0),
        phase("run", PhaseKind::Run, 20.0, 200.0),
    ];
    run.weather = Box::new(|_| Weather {
        http_error: 0.0,
        ..CALM
    });
    let record = run.record();
    let checks = redis_checks(&record);
    let budget = budget(&record, 0.001, None);
    Results {
        verdict: Some(Verdict {
            outcome: outcome_of(&checks, &budget),
            checks,
            budget,
            alerts: alerts_quiet(),
            monitoring: None,
            cost: None,
        }),
        record,
    }
}

fn zero_requests() -> Results {
    let mut run = redis_killed_run(1);
    run.name = "unreachable-target".to_string();
    run.description = "The target never answered; nothing was sent.".to_string();
    run.seconds = 0;
    run.faults[0].applied_at_s = None;
    run.faults[0].reverted_at_s = None;
    run.faults[0].effect = None;
    run.capabilities = Vec::new();
    run.breakers = Vec::new();
    run.status = RunStatus::Error {
        message: "preflight: GET http://127.0.0.1:41837/health: connection refused (5 attempts over 10 s)".to_string(),
    };
    let mut record = run.record();
    record.ended_at = Some("2026-11-29T05:17:36.000Z".to_string());
    record.preflight.steady_state = false;
    record.preflight.messages = vec!["GET /health: connection refused".to_string()];
    record.observations.poll_errors = (0..5)
        .map(|attempt| PollError {
            t: f64::from(attempt) * 2.0,
            route: "/health".to_string(),
            message: "connection refused".to_string(),
        })
        .collect();
    let budget = budget(&record, 0.001, None);
    Results {
        record,
        verdict: Some(Verdict {
            outcome: Outcome::Error,
            checks: Vec::new(),
            budget,
            alerts: Vec::new(),
            monitoring: None,
            cost: None,
        }),
    }
}

fn revert_error() -> Results {
    let mut run = redis_killed_run(9);
    run.name = "postgres-slow".to_string();
    run.description =
        "300 ms of added latency on PostgreSQL; history must stay under its timeout.".to_string();
    run.phases[2].name = "slow-db".to_string();
    run.faults = vec![
        fault(
            "slow-db",
            "toxic",
            "postgres",
            "latency 300ms ± 50ms downstream",
            80.0,
            140.0,
        ),
        fault(
            "slow-redis",
            "toxic",
            "redis",
            "latency 100ms downstream",
            100.0,
            120.0,
        ),
    ];
    run.faults[0].reverted_at_s = None;
    run.faults[0].revert_error = Some(
        "DELETE http://127.0.0.1:41839/proxies/postgres/toxics/latency_downstream: connection refused after 5 attempts over 12 s; the toxic may still be in place".to_string(),
    );
    run.weather = Box::new(|t| {
        if t >= 80 {
            Weather {
                latency_factor: 2.6,
                http_error: 0.0004,
                ..CALM
            }
        } else {
            CALM
        }
    });
    run.capabilities = vec![(0.5, ALL_ON), (82.0, &["analytics"])];
    let record = run.record();
    let checks = vec![
        rate_check(&record, "baseline", 0.001),
        check("p99", "slow-db", CheckStatus::Pass, "< 2s", "1,212 ms"),
        check(
            "capabilities all",
            "recovery",
            CheckStatus::Fail,
            "all true within 15s",
            "analytics still false at the end of the run",
        ),
    ];
    let mut checks = checks;
    checks[0].status = CheckStatus::Pass;
    let budget = budget(&record, 0.001, Some(350.0));
    Results {
        verdict: Some(Verdict {
            outcome: Outcome::Failed,
            checks,
            budget,
            alerts: alerts_quiet(),
            monitoring: None,
            cost: None,
        }),
        record,
    }
}

/// An hour at 1,000 req/s with a flapping breaker: the benchmark's input
/// and the size test's.
pub fn hour_at_1000_rps() -> Results {
    let mut run = llm_outage_run();
    run.name = "hour-long".to_string();
    run.rate = 1000.0;
    run.seconds = 3620;
    run.phases = vec![
        phase("warmup", PhaseKind::Warmup, 0.0, 20.0),
        phase("baseline", PhaseKind::Baseline, 20.0, 1200.0),
        phase("primary-529", PhaseKind::Fault, 1200.0, 2400.0),
        phase("recovery", PhaseKind::Recovery, 2400.0, 3620.0),
        phase("run", PhaseKind::Run, 20.0, 3620.0),
    ];
    run.faults = vec![fault(
        "primary-529",
        "llm",
        "primary",
        "mode overloaded (529) on every request",
        1200.0,
        2400.0,
    )];
    run.weather = Box::new(|t| match t {
        1200..=2399 => Weather {
            http_error: 0.002,
            fallback_share: 0.8,
            latency_factor: 1.5,
            degraded: 0.5,
            ..CALM
        },
        _ => CALM,
    });
    // A breaker that flaps every few seconds for the whole fault: thousands of change points.
    let mut breakers = vec![(0.5, "primary", "closed"), (0.5, "fallback", "closed")];
    let mut t = 1200.5;
    while t < 2400.0 {
        breakers.push((t, "primary", "open"));
        breakers.push((t + 2.0, "primary", "half_open"));
        t += 2.3;
    }
    breakers.push((2401.0, "primary", "closed"));
    run.breakers = breakers;
    run.capabilities = (0..1200)
        .map(|i| {
            (
                1200.0 + f64::from(i),
                if i % 2 == 0 { LLM_DEGRADED } else { ALL_ON },
            )
        })
        .collect();
    let record = run.record();
    let checks = vec![
        rate_check(&record, "baseline", 0.001),
        rate_check(&record, "primary-529", 0.001),
        check(
            "capability chat",
            "primary-529",
            CheckStatus::Pass,
            "true",
            "true throughout",
        ),
    ];
    let budget = budget(&record, 0.001, Some(1000.0));
    Results {
        verdict: Some(Verdict {
            outcome: outcome_of(&checks, &budget),
            checks,
            budget,
            alerts: alerts_quiet(),
            monitoring: None,
            cost: None,
        }),
        record,
    }
}

/// The payload of every text field of the hostile fixture.
pub const SCRIPT: &str = "<script>document.documentElement.setAttribute('data-pwned','1')</script>";

fn hostile() -> Results {
    let evil = |label: &str| {
        format!(
            "{label} {SCRIPT} \"quoted\" 'single' </svg></table></pre><img src=x onerror=alert(1)> &amp; ünïcödé 障害 🔥 \u{0}\u{1b}[31m"
        )
    };
    let long = format!("{} {}", evil("long"), "x".repeat(5_000));
    let mut run = redis_killed_run(13);
    run.name = evil("name");
    run.description = long.clone();
    run.faults[0].name = evil("fault");
    run.faults[0].description = evil("fault description");
    run.faults[0].target = evil("target");
    run.faults[0].revert_error = Some(evil("revert error"));
    run.faults[0].effect = Some(FaultEffect {
        observed: false,
        detail: evil("effect"),
        latency_added_ms: None,
    });
    let mut record = run.record();
    record.run_id = "javascript:alert(1)".to_string();
    record.scenario.source = format!(
        "name: \"{}\"\n# </pre><script>alert(1)</script>\n{}",
        evil("source"),
        long
    );
    record.target.url = "javascript:alert(document.cookie)".to_string();
    record.target.kind = evil("kind");
    record.gameday_version = evil("version");
    record.started_at = evil("started");
    record.environment.other.insert(evil("key"), evil("value"));
    record.preflight.messages.push(evil("preflight"));
    for bucket in &mut record.traffic.seconds {
        if let Some(count) = bucket.providers.remove("primary") {
            bucket.providers.insert(evil("provider"), count);
        }
    }
    for sample in &mut record.observations.capabilities {
        sample.capabilities.insert(evil("capability"), true);
    }
    for sample in &mut record.observations.breakers {
        sample.states.insert(evil("breaker"), evil("state"));
    }
    record.observations.poll_errors.push(PollError {
        t: 12.0,
        route: evil("route"),
        message: evil("poll"),
    });
    record.plan.phases[2].name = evil("phase");
    record.traffic.phases[1].name = evil("phase");
    let mut checks = redis_checks(&record);
    for check in &mut checks {
        check.name = evil("check");
        check.phase = evil("phase");
        check.expected = evil("expected");
        check.observed = evil("observed");
    }
    checks[0].status = CheckStatus::Fail;
    let mut budget = budget(&record, 0.001, None);
    budget.phases[0].phase = evil("budget phase");
    let alerts = vec![AlertResult {
        name: evil("alert"),
        rule: evil("rule"),
        fired: true,
        fired_at_s: Some(f64::MAX),
        detection_s: Some(-1.0),
        fault: Some(evil("alert fault")),
    }];
    Results {
        verdict: Some(Verdict {
            outcome: Outcome::Failed,
            checks,
            budget,
            alerts,
            monitoring: None,
            cost: Some(Cost {
                currency: evil("currency"),
                total: 1.0,
                by_phase: BTreeMap::from([(
                    evil("cost phase"),
                    BTreeMap::from([(evil("cost provider"), 1.0)]),
                )]),
            }),
        }),
        record,
    }
}
