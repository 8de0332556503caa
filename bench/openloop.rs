//! A minimal open-model load generator for benchmarks: requests start on a
//! fixed schedule whatever the server does, and latency is measured from
//! each request's intended start (no coordinated omission). Prints one JSON
//! object. Used by bench/platform.sh and bench/llm_proxy.sh until the
//! scenario runner's own generator exists.
//!
//! Kinds: `platform` (the reference platform's `POST /v1/chat`), `openai`
//! (a JSON chat completion), `openai-stream` (a streamed chat completion:
//! the latencies are then times to first token, up to the first SSE event
//! whose `delta` carries non-empty `content`, and the whole stream must
//! still arrive, ending in `[DONE]`, for the request to count as a success).
//!
//! cargo run --release --example openloop -- <platform|openai|openai-stream> URL RATE SECONDS

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: openloop <platform|openai|openai-stream> URL RATE SECONDS";
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
                    "stream": kind == "openai-stream",
                })
            };
            let (ok, latency) = match client.post(&url).json(&body).send().await {
                Ok(response) if kind == "openai-stream" => first_token(response, intended).await,
                Ok(response) => {
                    let ok = response.status().is_success();
                    let ok = ok && response.bytes().await.is_ok();
                    (ok, intended.elapsed())
                }
                Err(_) => (false, intended.elapsed()),
            };
            if !ok {
                errors.fetch_add(1, Ordering::Relaxed);
            }
            latencies
                .lock()
                .await
                .push(latency.as_secs_f64() * 1000.0);
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

/// Reads an OpenAI chat stream to its end; the time from `intended` to the
/// first content event, and whether the stream succeeded (2xx, every chunk
/// read, a content event and `[DONE]` seen).
async fn first_token(mut response: reqwest::Response, intended: Instant) -> (bool, Duration) {
    let mut ok = response.status().is_success();
    let mut buffer = Vec::<u8>::new();
    let mut first = None;
    let mut done = false;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => buffer.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(_) => {
                ok = false;
                break;
            }
        }
        while let Some(end) = buffer.windows(2).position(|pair| pair == b"\n\n") {
            let event: Vec<u8> = buffer.drain(..end + 2).collect();
            let event = String::from_utf8_lossy(&event);
            for data in event.lines().filter_map(|line| line.strip_prefix("data: ")) {
                if data == "[DONE]" {
                    done = true;
                } else if first.is_none() && is_content(data) {
                    first = Some(intended.elapsed());
                }
            }
        }
    }
    let latency = first.unwrap_or_else(|| intended.elapsed());
    (ok && done && first.is_some(), latency)
}

/// Whether a chat chunk's first choice carries generated text.
fn is_content(data: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(data)
        .ok()
        .and_then(|chunk| {
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .map(|text| !text.is_empty())
        })
        .unwrap_or(false)
}
