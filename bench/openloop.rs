//! A minimal open-model load generator for benchmarks: requests start on a
//! fixed schedule whatever the server does, and latency is measured from
//! each request's intended start (no coordinated omission). Prints one JSON
//! object. Used by bench/platform.sh until the scenario runner's own
//! generator exists.
//!
//! cargo run --release --example openloop -- <platform|openai> URL RATE SECONDS

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: openloop <platform|openai> URL RATE SECONDS";
    let (kind, url, rate, seconds) = match args.as_slice() {
        [_, kind, url, rate, seconds] => (
            kind.clone(),
            url.clone(),
            rate.parse::<f64>().expect(usage),
            seconds.parse::<f64>().expect(usage),
        ),
        _ => panic!("{usage}"),
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(4096)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let errors = Arc::new(AtomicU64::new(0));
    let interval = Duration::from_secs_f64(1.0 / rate);
    let total = (rate * seconds) as u64;
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let intended = start + interval * i as u32;
        tokio::time::sleep_until(intended).await;
        let (client, url, kind) = (client.clone(), url.clone(), kind.clone());
        let (latencies, errors) = (Arc::clone(&latencies), Arc::clone(&errors));
        tasks.spawn(async move {
            let body = if kind == "platform" {
                serde_json::json!({
                    "conversation_id": format!("bench-{}", i % 1000),
                    "message": format!("benchmark turn {i}: summarise the plan"),
                })
            } else {
                serde_json::json!({
                    "model": "gpt-4o-mini",
                    "messages": [{"role": "user", "content": format!("benchmark turn {i}: summarise the plan")}],
                })
            };
            let ok = match client.post(&url).json(&body).send().await {
                Ok(response) => {
                    let ok = response.status().is_success();
                    ok && response.bytes().await.is_ok()
                }
                Err(_) => false,
            };
            if !ok {
                errors.fetch_add(1, Ordering::Relaxed);
            }
            latencies
                .lock()
                .await
                .push(intended.elapsed().as_secs_f64() * 1000.0);
        });
        while tasks.try_join_next().is_some() {}
    }
    let sent_in = start.elapsed().as_secs_f64();
    while tasks.join_next().await.is_some() {}
    let mut latencies = latencies.lock().await.clone();
    latencies.sort_by(f64::total_cmp);
    let quantile = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!(
        "{}",
        serde_json::json!({
            "target_rate": rate,
            "achieved_rate": total as f64 / sent_in,
            "requests": total,
            "errors": errors.load(Ordering::Relaxed),
            "p50_ms": quantile(0.5),
            "p90_ms": quantile(0.9),
            "p99_ms": quantile(0.99),
            "max_ms": quantile(1.0),
        })
    );
}
