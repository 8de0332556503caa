//! gameday's traffic generator as a command for bench/traffic.sh: an
//! open-model run of chat turns against URL, printed as one JSON object
//! (target and achieved rate, sent, completed, dropped, late, errors,
//! latency from intended start, peak resident memory).
//!
//! cargo run --release --example traffic_run -- URL RATE SECONDS MAX_IN_FLIGHT [CONNECTIONS]
//!
//! CONNECTIONS (optional) bounds the requests on the wire, as wrk's `-c` does.

use std::time::Duration;

use gameday::results::{PhaseKind, PhaseWindow};
use gameday::traffic::{Arrivals, Endpoints, Generator, Mix, TrafficSpec};
use tokio::time::Instant;

/// A line of /proc/self/status in KiB (`VmHWM`, `VmRSS`).
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with(field))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|value| value.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: traffic_run URL RATE SECONDS MAX_IN_FLIGHT [CONNECTIONS]";
    let (url, rate, seconds, max_in_flight) = match args.as_slice() {
        [_, url, rate, seconds, max, ..] => (
            url.clone(),
            rate.parse::<f64>()?,
            seconds.parse::<f64>()?,
            max.parse::<usize>()?,
        ),
        _ => anyhow::bail!(usage),
    };
    let connections: Option<usize> = args.get(5).map(|c| c.parse()).transpose()?;
    let arrivals = match std::env::var("TRAFFIC_ARRIVALS").as_deref() {
        Ok("poisson") => Arrivals::Poisson,
        _ => Arrivals::Constant,
    };
    let spec = TrafficSpec {
        rate,
        arrivals,
        warmup: Duration::ZERO,
        duration: Duration::from_secs_f64(seconds),
        recovery: Duration::ZERO,
        mix: Mix {
            chat: 1,
            chat_stream: 0,
            history: 0,
        },
        conversations: 1000,
        turns_per_conversation: Some(50),
        timeout: Duration::from_secs(10),
        max_in_flight,
        seed: 1,
    };
    if let Some(warning) = gameday::traffic::pool_warning(&spec, Duration::from_millis(1)) {
        eprintln!("warning: {warning}");
    }
    let phases = vec![PhaseWindow {
        name: "run".to_owned(),
        kind: PhaseKind::Run,
        start_s: 0.0,
        end_s: seconds,
        maintenance: false,
    }];
    let mut generator = Generator::new(spec, Endpoints::platform(url), phases)?;
    if let Some(connections) = connections {
        generator = generator.with_max_connections(connections);
    }
    let live = generator.live();
    // As in the gameday binary: freed pages go back to the system.
    let _trimmer = gameday::memory::spawn_trimmer(gameday::memory::TRIM_EVERY);
    // Resident memory every 10 s, to show it stays flat on long runs.
    let samples = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u64>::new()));
    let sampler = tokio::spawn({
        let samples = std::sync::Arc::clone(&samples);
        async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            loop {
                tick.tick().await;
                if let Ok(mut samples) = samples.lock() {
                    samples.push(status_kib("VmRSS:"));
                }
            }
        }
    });
    let started = Instant::now();
    let record = generator.run(started, std::future::pending()).await;
    sampler.abort();
    let rss_samples = samples.lock().map(|s| s.clone()).unwrap_or_default();
    let snapshot = live.snapshot();
    if std::env::var_os("TRAFFIC_SECONDS").is_some() {
        for second in &record.seconds {
            eprintln!(
                "t={} sent={} dropped={} p50={} p99={} max={}",
                second.t,
                second.sent,
                second.dropped,
                second.latency.p50_ms,
                second.latency.p99_ms,
                second.latency.max_ms
            );
        }
    }
    let run = &record.phases[0];
    let completed = run.outcomes.total();
    println!(
        "{}",
        serde_json::json!({
            "target_rate": rate,
            "seconds": seconds,
            "sent": run.sent,
            "achieved_rate": run.sent as f64 / seconds,
            "completed": completed,
            "completed_rate": completed as f64 / seconds,
            "dropped": run.dropped,
            "late": snapshot.late,
            "errors": run.outcomes.errors(),
            "p50_ms": run.latency.p50_ms,
            "p99_ms": run.latency.p99_ms,
            "max_ms": run.latency.max_ms,
            "wall_s": started.elapsed().as_secs_f64(),
            "peak_rss_kib": status_kib("VmHWM:"),
            "rss_kib": status_kib("VmRSS:"),
            "rss_samples_kib": rss_samples,
        })
    );
    Ok(())
}
