//! The traffic generator against the real lab (reference platform, Redis,
//! PostgreSQL, LLM simulators): a short open-model run is counted in full
//! with providers, tokens and time to first token; a saturated
//! `max_in_flight` turns into counted dropped load; a stop signal ends a run
//! early; the live handle reports while a run goes.

use std::time::Duration;

use gameday::lab::llm_sim::Mode;
use gameday::lab::stack::{Lab, LabOptions};
use gameday::results::{PhaseKind, PhaseStats, PhaseWindow, TrafficRecord};
use gameday::traffic::{Arrivals, Endpoints, Generator, Mix, TrafficSpec};
use tokio::time::Instant;

use crate::util::binaries;

async fn lab() -> Lab {
    Lab::start(
        &binaries(),
        &LabOptions::default(),
        gameday::clock::system(),
    )
    .await
    .expect("start the lab")
}

/// Waits until the platform reports every capability on (streaming needs
/// the first LLM probe), so a run starts from the steady state.
async fn wait_until_healthy(base: &str) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let capabilities: serde_json::Value =
            match http.get(format!("{base}/capabilities")).send().await {
                Ok(response) => response.json().await.unwrap_or_default(),
                Err(_) => serde_json::Value::Null,
            };
        let all_on = capabilities
            .as_object()
            .is_some_and(|map| !map.is_empty() && map.values().all(|v| v == true));
        if all_on {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the lab never became healthy: {capabilities}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn spec(rate: f64, warmup_s: u64, duration_s: u64) -> TrafficSpec {
    TrafficSpec {
        rate,
        arrivals: Arrivals::Constant,
        warmup: Duration::from_secs(warmup_s),
        duration: Duration::from_secs(duration_s),
        recovery: Duration::ZERO,
        mix: Mix {
            chat: 6,
            chat_stream: 3,
            history: 1,
        },
        conversations: 20,
        turns_per_conversation: Some(5),
        timeout: Duration::from_secs(10),
        max_in_flight: 500,
        seed: 7,
    }
}

fn window(name: &str, kind: PhaseKind, start_s: f64, end_s: f64) -> PhaseWindow {
    PhaseWindow {
        name: name.to_owned(),
        kind,
        start_s,
        end_s,
        maintenance: false,
    }
}

fn phase<'a>(record: &'a TrafficRecord, name: &str) -> &'a PhaseStats {
    record
        .phases
        .iter()
        .find(|phase| phase.name == name)
        .unwrap_or_else(|| panic!("phase {name} missing from {record:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_run_is_counted_in_full_with_providers_tokens_and_ttft() {
    let lab = lab().await;
    let base = lab.platform.url();
    wait_until_healthy(&base).await;
    let phases = vec![
        window("warmup", PhaseKind::Warmup, 0.0, 1.0),
        window("baseline", PhaseKind::Baseline, 1.0, 3.0),
        window("run", PhaseKind::Run, 1.0, 3.0),
    ];
    let generator = Generator::new(spec(50.0, 1, 2), Endpoints::platform(&base), phases)
        .expect("a valid generator");
    let live = generator.live();
    let start = Instant::now() + Duration::from_millis(100);
    let watcher = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(2_000)).await;
        live.snapshot()
    });
    let record = generator.run(start, std::future::pending()).await;
    let mid_run = watcher.await.expect("the watcher ran");

    // Constant arrivals: exactly 150 in 3 s at 50/s, none dropped.
    let sent: u64 = record.seconds.iter().map(|s| s.sent).sum();
    assert!((140..=150).contains(&sent), "sent {sent} of 150");
    assert_eq!(record.seconds.iter().map(|s| s.dropped).sum::<u64>(), 0);
    assert_eq!(record.seconds.len(), 3, "{:#?}", record.seconds);
    assert_eq!(record.target_rate, 50.0);
    let warmup = phase(&record, "warmup");
    let baseline = phase(&record, "baseline");
    assert_eq!(warmup.sent + baseline.sent, sent);
    assert_eq!(phase(&record, "run").sent, baseline.sent);
    for stats in [warmup, baseline] {
        assert_eq!(stats.outcomes.errors(), 0, "{stats:#?}");
        assert_eq!(stats.outcomes.total(), stats.sent, "every request finished");
    }
    assert!(
        baseline.providers.get("primary").copied().unwrap_or(0) > 50,
        "{baseline:#?}"
    );
    let tokens = baseline.tokens.get("primary").copied().unwrap_or_default();
    assert!(tokens.input > 0 && tokens.output > 0, "{baseline:#?}");
    let ttft = baseline.ttft.expect("streams have a time to first token");
    assert!(ttft.p50_ms > 0.0 && ttft.p50_ms <= baseline.operations["chat_stream"].latency.max_ms);
    for operation in ["chat", "chat_stream", "history"] {
        assert!(
            baseline.operations[operation].outcomes.total() > 0,
            "{operation} ran"
        );
    }
    assert!(baseline.latency.p50_ms > 0.0 && baseline.latency.p99_ms < 5_000.0);
    assert!(baseline.histogram.as_deref().is_some_and(|h| h.len() > 10));

    assert!(mid_run.sent > 50, "{mid_run:?}");
    assert!(
        mid_run.achieved_rate > 20.0 && mid_run.achieved_rate < 80.0,
        "{mid_run:?}"
    );
    assert!(mid_run.completed > 0 && mid_run.p99_ms > 0.0, "{mid_run:?}");
    assert_eq!(mid_run.error_rate, 0.0, "{mid_run:?}");
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_provider_with_one_request_in_flight_counts_dropped_load() {
    let lab = lab().await;
    let base = lab.platform.url();
    wait_until_healthy(&base).await;
    let slow = Mode::Latency {
        latency_ms: 400,
        jitter_ms: 0,
    };
    lab.primary.set_mode(slow.clone()).await;
    lab.fallback.set_mode(slow).await;
    let mut one_in_flight = spec(20.0, 0, 2);
    one_in_flight.max_in_flight = 1;
    one_in_flight.mix = Mix {
        chat: 1,
        chat_stream: 0,
        history: 0,
    };
    let generator = Generator::new(
        one_in_flight,
        Endpoints::platform(&base),
        vec![window("run", PhaseKind::Run, 0.0, 2.0)],
    )
    .expect("a valid generator");
    let live = generator.live();
    let record = generator.run(Instant::now(), std::future::pending()).await;
    let run = phase(&record, "run");
    // 40 arrivals; each sent turn holds the only slot for >= 400 ms.
    assert_eq!(run.sent + run.dropped, 40, "{run:#?}");
    assert!(run.sent <= 8, "{run:#?}");
    assert!(run.dropped >= 30, "{run:#?}");
    assert_eq!(
        run.outcomes.total(),
        run.sent,
        "dropped requests have no outcome"
    );
    let per_second: u64 = record.seconds.iter().map(|s| s.dropped).sum();
    assert_eq!(per_second, run.dropped);
    assert_eq!(live.snapshot().dropped, run.dropped);
    assert!(run.latency.p50_ms >= 400.0, "{run:#?}");

    // The same load with room in flight but one connection: nothing is
    // dropped, arrivals queue client-side, and the queueing shows in the
    // latency (from the intended start), not as a slower schedule.
    let mut one_connection = spec(10.0, 0, 1);
    one_connection.mix = Mix {
        chat: 1,
        chat_stream: 0,
        history: 0,
    };
    let generator = Generator::new(
        one_connection,
        Endpoints::platform(&base),
        vec![window("run", PhaseKind::Run, 0.0, 1.0)],
    )
    .expect("a valid generator")
    .with_max_connections(1);
    let record = generator.run(Instant::now(), std::future::pending()).await;
    let run = phase(&record, "run");
    assert_eq!((run.sent, run.dropped), (10, 0), "{run:#?}");
    assert_eq!(run.outcomes.total(), 10, "{run:#?}");
    // The tenth turn, intended at 0.9 s, waits for nine 400 ms turns.
    assert!(run.latency.max_ms >= 2_500.0, "{run:#?}");
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_signal_ends_the_run_early() {
    let lab = lab().await;
    let base = lab.platform.url();
    let generator = Generator::new(
        spec(20.0, 0, 60),
        Endpoints::platform(&base),
        vec![window("run", PhaseKind::Run, 0.0, 60.0)],
    )
    .expect("a valid generator");
    let started = Instant::now();
    let record = generator
        .run(started, tokio::time::sleep(Duration::from_millis(1_500)))
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    let run = phase(&record, "run");
    assert!(run.sent > 0 && run.sent < 200, "{run:#?}");
    assert!(record.seconds.len() <= 5, "{:#?}", record.seconds);
    assert_eq!(
        run.outcomes.total(),
        run.sent,
        "in-flight requests were awaited"
    );
    lab.stop().await;
}
