//! Report rendering benchmark (driven by bench/report.sh): builds the
//! results of a one-hour run at 1,000 req/s (3,620 one-second buckets, a
//! breaker flapping every 2.3 s for 20 minutes, a capability toggling every
//! second) with the test fixtures' generator, writes it as results.json,
//! and times, alternating, in the same process:
//!
//! - baseline: read and parse results.json (what any consumer pays), and
//! - report: read, parse, render report.html and junit.xml.
//!
//! Prints one JSON object with the medians and the file sizes.
//!
//! usage: report_render [RUNS] [RESULTS_JSON_TO_KEEP]

#[path = "../tests/it/report/fixtures.rs"]
mod fixtures;

use std::time::Duration;

use tokio::time::Instant;

fn median(samples: &mut [Duration]) -> f64 {
    samples.sort();
    samples
        .get(samples.len() / 2)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(7);
    let keep = args.next();
    let dir = tempfile::tempdir()?;
    let path = match &keep {
        Some(path) => std::path::PathBuf::from(path),
        None => dir.path().join("results.json"),
    };
    let results = fixtures::hour_at_1000_rps();
    std::fs::write(&path, serde_json::to_vec_pretty(&results)?)?;
    let json_bytes = std::fs::metadata(&path)?.len();

    let (mut parse, mut report) = (Vec::new(), Vec::new());
    let (mut html_bytes, mut junit_bytes) = (0, 0);
    for _ in 0..runs {
        let start = Instant::now();
        let parsed = gameday::report::read_results(&path)?;
        parse.push(start.elapsed());
        std::hint::black_box(&parsed);

        let start = Instant::now();
        let parsed = gameday::report::read_results(&path)?;
        let html = gameday::report::render_html(&parsed)?;
        let junit = gameday::report::render_junit(&parsed)?;
        report.push(start.elapsed());
        html_bytes = html.len();
        junit_bytes = junit.len();
    }
    let (parse_ms, report_ms) = (median(&mut parse), median(&mut report));
    println!(
        "{}",
        serde_json::json!({
            "runs": runs,
            "buckets": results.record.traffic.seconds.len(),
            "requests": results.record.traffic.seconds.iter().map(|b| b.sent).sum::<u64>(),
            "breaker_changes": results.record.observations.breakers.len(),
            "json_bytes": json_bytes,
            "html_bytes": html_bytes,
            "junit_bytes": junit_bytes,
            "parse_ms": parse_ms,
            "report_ms": report_ms,
            "render_only_ms": report_ms - parse_ms,
        })
    );
    Ok(())
}
