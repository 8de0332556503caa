//! `gameday smoke`: a short, real game day against the built-in lab, with no
//! scenario file. It starts Redis, PostgreSQL, two LLM simulators and the
//! reference platform, drives chat traffic, kills Redis and fails the primary
//! LLM provider, checks that the platform degrades and recovers as promised,
//! and writes `reports/<run-id>/smoke.json`.
//!
//! Like the runner, it talks to the platform only over HTTP; it uses the lab
//! handles only to inject and revert faults.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;
use tokio::time::Instant;

use crate::lab::llm_sim::Mode;
use crate::lab::llm_sim::mode::{ErrorStatus, Rate};
use crate::lab::services::Binaries;
use crate::lab::stack::{Lab, LabOptions};

/// Arguments of `gameday smoke`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory that receives `<run-id>/smoke.json`.
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// Chat requests per second during the run.
    #[arg(long, default_value_t = 40)]
    pub rate: u32,
    /// How long each phase is observed after its transition.
    #[arg(long, default_value = "3s", value_parser = crate::duration::clap_parser)]
    pub observe: Duration,
    /// Seed of the LLM simulators.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// One verified promise.
#[derive(Debug, Serialize)]
struct Check {
    name: String,
    passed: bool,
    observed: String,
}

/// One finished request.
#[derive(Debug, Clone)]
struct Sample {
    phase: usize,
    ok: bool,
    provider: String,
    latency: Duration,
}

#[derive(Debug, Serialize)]
struct PhaseSummary {
    name: &'static str,
    requests: usize,
    errors: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    by_provider: BTreeMap<String, usize>,
}

#[derive(Debug, Serialize)]
struct SmokeResults {
    run_id: String,
    started_at: String,
    duration_s: f64,
    passed: bool,
    checks: Vec<Check>,
    phases: Vec<PhaseSummary>,
    gameday_version: &'static str,
}

const PHASES: [&str; 5] = [
    "baseline",
    "redis-killed",
    "redis-recovery",
    "primary-outage",
    "recovery",
];

/// Runs the smoke game day; returns the process exit code (0 passed, 1 a check failed).
pub async fn run(args: Args) -> anyhow::Result<crate::exit::Exit> {
    let binaries = Binaries::locate_or_install()?;
    let run_id = format!(
        "smoke-{}",
        crate::timestamp::compact(std::time::SystemTime::now())
    );
    let started_at = crate::timestamp::now_rfc3339();
    let started = Instant::now();
    eprintln!(
        "gameday smoke {run_id}: starting Redis, PostgreSQL, two LLM simulators and the platform"
    );
    let options = LabOptions {
        seed: args.seed,
        ..LabOptions::default()
    };
    let mut lab = Lab::start(&binaries, &options, crate::clock::system())
        .await
        .context("starting the lab")?;
    let outcome = drive(&mut lab, &args, &options).await;
    // Faults are reverted inside `drive` on every path; stop everything regardless.
    lab.primary.set_mode(Mode::Healthy).await;
    lab.stop().await;
    let (checks, samples) = outcome?;

    let phases = PHASES
        .iter()
        .enumerate()
        .map(|(index, name)| summarize(name, samples.iter().filter(|s| s.phase == index)))
        .collect();
    let passed = checks.iter().all(|check| check.passed);
    let results = SmokeResults {
        run_id: run_id.clone(),
        started_at,
        duration_s: started.elapsed().as_secs_f64(),
        passed,
        checks,
        phases,
        gameday_version: env!("CARGO_PKG_VERSION"),
    };
    let dir = args.out.join(&run_id);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("smoke.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&results)?)
        .with_context(|| format!("writing {}", path.display()))?;
    for check in &results.checks {
        let mark = if check.passed { "ok  " } else { "FAIL" };
        println!(
            "{}",
            crate::terminal::clean(&format!("{mark} {}: {}", check.name, check.observed))
        );
    }
    let failed = results.checks.iter().filter(|c| !c.passed).count();
    println!(
        "smoke game day {}: {}/{} checks passed in {:.0} s; results: {}",
        if passed { "passed" } else { "FAILED" },
        results.checks.len() - failed,
        results.checks.len(),
        results.duration_s,
        path.display()
    );
    Ok(crate::exit::Exit::passed_if(passed))
}

async fn drive(
    lab: &mut Lab,
    args: &Args,
    options: &LabOptions,
) -> anyhow::Result<(Vec<Check>, Vec<Sample>)> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let base = lab.platform.url();
    let phase = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(Mutex::new(Vec::new()));
    let traffic = tokio::spawn(traffic(
        http.clone(),
        base.clone(),
        args.rate.max(1),
        Arc::clone(&phase),
        Arc::clone(&stop),
        Arc::clone(&samples),
    ));
    let mut checks = Vec::new();
    let observe = args.observe;

    // Baseline.
    let caps = get_json(&http, &format!("{base}/capabilities")).await?;
    checks.push(check(
        "baseline: every capability on",
        caps.as_object()
            .is_some_and(|o| o.values().all(|v| v == true)),
        caps.to_string(),
    ));
    tokio::time::sleep(observe).await;

    // Redis killed.
    phase.store(1, Ordering::SeqCst);
    let killed_at = Instant::now();
    lab.redis.kill().await.context("killing Redis")?;
    let went_off = wait_for(Duration::from_secs(10), || async {
        capabilities_are(
            &http,
            &base,
            &[
                ("caching", false),
                ("real_time_usage", false),
                ("chat", true),
            ],
        )
        .await
    })
    .await;
    checks.push(check(
        "redis killed: caching and real_time_usage go off within 10 s, chat stays on",
        went_off,
        format!("after {:.1} s", killed_at.elapsed().as_secs_f64()),
    ));
    tokio::time::sleep(observe).await;
    phase.store(2, Ordering::SeqCst);
    let restart = lab.redis.restart().await.context("restarting Redis");
    let restarted_at = Instant::now();
    let came_back = restart.is_ok()
        && wait_for(Duration::from_secs(15), || async {
            capabilities_are(
                &http,
                &base,
                &[("caching", true), ("real_time_usage", true)],
            )
            .await
        })
        .await;
    checks.push(check(
        "redis restarted: caching and real_time_usage return within 15 s",
        came_back,
        format!("after {:.1} s", restarted_at.elapsed().as_secs_f64()),
    ));
    restart?;

    // Primary LLM provider outage.
    phase.store(3, Ordering::SeqCst);
    lab.primary
        .set_mode(Mode::Errors {
            rate: Rate::ALWAYS,
            status: ErrorStatus::ServiceUnavailable,
        })
        .await;
    let outage_at = Instant::now();
    let opened = wait_for(Duration::from_secs(10), || async {
        breaker_state(&http, &base, "primary").await.as_deref() == Some("open")
    })
    .await;
    checks.push(check(
        "primary 503s: its breaker opens within 10 s",
        opened,
        format!("after {:.1} s", outage_at.elapsed().as_secs_f64()),
    ));
    let share_from = samples.lock().map(|s| s.len()).unwrap_or(0);
    tokio::time::sleep(observe).await;
    lab.primary.set_mode(Mode::Healthy).await;
    let recovered_at = Instant::now();
    phase.store(4, Ordering::SeqCst);
    {
        let samples = samples.lock().map(|s| s.clone()).unwrap_or_default();
        let during: Vec<&Sample> = samples[share_from.min(samples.len())..]
            .iter()
            .filter(|s| s.phase == 3 && s.ok)
            .collect();
        let fallback = during.iter().filter(|s| s.provider == "fallback").count();
        checks.push(check(
            "primary 503s: traffic moves to the fallback once the breaker is open",
            !during.is_empty() && fallback * 10 >= during.len() * 9,
            format!(
                "{fallback} of {} answered turns served by fallback",
                during.len()
            ),
        ));
    }
    let closed = wait_for(
        options.breaker_recovery + Duration::from_secs(15),
        || async { breaker_state(&http, &base, "primary").await.as_deref() == Some("closed") },
    )
    .await;
    checks.push(check(
        "primary recovers: its breaker closes again",
        closed,
        format!("after {:.1} s", recovered_at.elapsed().as_secs_f64()),
    ));
    tokio::time::sleep(observe).await;

    stop.store(true, Ordering::SeqCst);
    let _ = traffic.await;
    let samples = samples.lock().map(|s| s.clone()).unwrap_or_default();
    let errors = samples.iter().filter(|s| !s.ok).count();
    checks.push(check(
        "chat answered through every fault (no failed turns)",
        !samples.is_empty() && errors == 0,
        format!("{errors} errors in {} turns", samples.len()),
    ));
    Ok((checks, samples))
}

/// Open-loop traffic at `rate` per second until `stop`.
async fn traffic(
    http: reqwest::Client,
    base: String,
    rate: u32,
    phase: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / rate);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sequence = 0u64;
    let mut in_flight = tokio::task::JoinSet::new();
    while !stop.load(Ordering::SeqCst) {
        ticker.tick().await;
        sequence += 1;
        let (http, url, phase, samples) = (
            http.clone(),
            format!("{base}/v1/chat"),
            Arc::clone(&phase),
            Arc::clone(&samples),
        );
        in_flight.spawn(async move {
            let phase = phase.load(Ordering::SeqCst);
            let body = serde_json::json!({
                "conversation_id": format!("smoke-{}", sequence % 20),
                "message": format!("smoke turn {sequence}: how is the weather?"),
            });
            let started = Instant::now();
            let response = http.post(url).json(&body).send().await;
            let (ok, provider) = match response {
                Ok(response) => {
                    let provider = response
                        .headers()
                        .get(crate::lab::platform::api::PROVIDER_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    (response.status().is_success(), provider)
                }
                Err(_) => (false, String::new()),
            };
            let sample = Sample {
                phase,
                ok,
                provider,
                latency: started.elapsed(),
            };
            if let Ok(mut samples) = samples.lock() {
                samples.push(sample);
            }
        });
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
}

async fn get_json(http: &reqwest::Client, url: &str) -> anyhow::Result<serde_json::Value> {
    let response = http
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    response
        .json()
        .await
        .with_context(|| format!("GET {url}: body"))
}

async fn capabilities_are(http: &reqwest::Client, base: &str, wanted: &[(&str, bool)]) -> bool {
    let Ok(body) = get_json(http, &format!("{base}/capabilities")).await else {
        return false;
    };
    let Ok(caps) = crate::observe::parse_capabilities(&body) else {
        return false;
    };
    wanted
        .iter()
        .all(|(name, value)| caps.get(*name) == Some(value))
}

async fn breaker_state(http: &reqwest::Client, base: &str, provider: &str) -> Option<String> {
    let body = get_json(http, &format!("{base}/breakers")).await.ok()?;
    crate::observe::parse_breakers(&body).ok()?.remove(provider)
}

/// Polls `condition` every 100 ms until it holds or `limit` passes.
async fn wait_for<F, Fut>(limit: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if condition().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn check(name: &str, passed: bool, observed: String) -> Check {
    Check {
        name: name.to_owned(),
        passed,
        observed,
    }
}

fn summarize<'a>(name: &'static str, samples: impl Iterator<Item = &'a Sample>) -> PhaseSummary {
    let samples: Vec<&Sample> = samples.collect();
    let mut latencies: Vec<f64> = samples
        .iter()
        .map(|s| s.latency.as_secs_f64() * 1000.0)
        .collect();
    latencies.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        if latencies.is_empty() {
            0.0
        } else {
            latencies[((latencies.len() - 1) as f64 * q).round() as usize]
        }
    };
    let mut by_provider = BTreeMap::new();
    for sample in samples.iter().filter(|s| s.ok) {
        *by_provider.entry(sample.provider.clone()).or_insert(0) += 1;
    }
    PhaseSummary {
        name,
        requests: samples.len(),
        errors: samples.iter().filter(|s| !s.ok).count(),
        p50_ms: quantile(0.5),
        p99_ms: quantile(0.99),
        max_ms: latencies.last().copied().unwrap_or(0.0),
        by_provider,
    }
}
