//! The platform's `GET /metrics` against the real lab: the body is valid
//! Prometheus text (a strict parser here, and `promtool check metrics` where
//! installed), and its counters and gauges move as requests, failures and
//! breaker transitions happen.

use std::collections::BTreeMap;
use std::time::Duration;

use gameday::lab::llm_sim::Mode;
use gameday::lab::llm_sim::mode::{ErrorStatus, Rate};
use gameday::lab::stack::{Lab, LabOptions};
use serde_json::json;
use tokio::time::Instant;

use crate::util::binaries;

/// One sample: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Parses the Prometheus text format (0.0.4) strictly: every line is a HELP,
/// a TYPE (declared once, before its samples) or a sample of a declared
/// family with well-formed labels and a float value. Panics with the line on
/// anything else.
pub fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let at = format!("line {}: {line:?}", number + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap_or("");
            assert!(valid_name(name), "bad HELP name at {at}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let (name, kind) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            assert!(valid_name(name), "bad TYPE name at {at}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "bad TYPE at {at}"
            );
            assert!(parts.next().is_none(), "trailing text at {at}");
            assert!(
                types.insert(name.to_owned(), kind.to_owned()).is_none(),
                "TYPE declared twice at {at}"
            );
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment at {at}");
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let name = &line[..name_end];
        assert!(valid_name(name), "bad metric name at {at}");
        let family = types
            .keys()
            .find(|family| {
                name == family.as_str()
                    || (types[family.as_str()] == "histogram"
                        && ["_bucket", "_sum", "_count"]
                            .iter()
                            .any(|suffix| name == format!("{family}{suffix}")))
            })
            .unwrap_or_else(|| panic!("sample of an undeclared family at {at}"));
        let mut rest = &line[name_end..];
        let mut labels = BTreeMap::new();
        if let Some(inner) = rest.strip_prefix('{') {
            let close = inner.find('}').unwrap_or_else(|| panic!("no '}}' at {at}"));
            for pair in inner[..close].split(',').filter(|p| !p.is_empty()) {
                let (key, value) = pair
                    .split_once('=')
                    .unwrap_or_else(|| panic!("label without '=' at {at}"));
                assert!(valid_name(key), "bad label name at {at}");
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or_else(|| panic!("unquoted label value at {at}"));
                assert!(
                    !value.contains(['"', '\n']),
                    "unescaped label value at {at}"
                );
                labels.insert(key.to_owned(), value.to_owned());
            }
            rest = &inner[close + 1..];
        }
        let value_text = rest
            .strip_prefix(' ')
            .unwrap_or_else(|| panic!("no value at {at}"));
        let value: f64 = match value_text {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            other => other
                .parse()
                .unwrap_or_else(|_| panic!("bad value at {at}")),
        };
        if types[family.as_str()] == "histogram" && name.ends_with("_bucket") {
            assert!(labels.contains_key("le"), "bucket without le at {at}");
        }
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    samples
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// The value of the sample `name` whose labels include `labels` (0 if none:
/// a counter not yet created has not moved).
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

async fn scrape(http: &reqwest::Client, base: &str) -> (String, Vec<Sample>) {
    let response = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.expect("body");
    let samples = parse_exposition(&text);
    (text, samples)
}

async fn chat(http: &reqwest::Client, base: &str, message: &str) -> u16 {
    http.post(format!("{base}/v1/chat"))
        .json(&json!({"conversation_id": "metrics", "message": message}))
        .send()
        .await
        .expect("chat")
        .status()
        .as_u16()
}

/// `promtool check metrics` on the exposition, when promtool is installed.
fn promtool_accepts(text: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let Some(promtool) = crate::util::promtool() else {
        eprintln!("promtool not installed; the strict parser alone checked /metrics");
        return;
    };
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let output = child.wait_with_output().expect("promtool output");
    assert!(
        output.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_move_with_requests_failures_and_breaker_transitions() {
    let lab = Lab::start(
        &binaries(),
        &LabOptions::default(),
        gameday::clock::system(),
    )
    .await
    .expect("start the lab");
    let base = lab.platform.url();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");

    // A fresh platform: state gauges present, no chat counted yet.
    let (text, before) = scrape(&http, &base).await;
    promtool_accepts(&text);
    let chat_ok = [
        ("route", "/v1/chat"),
        ("method", "POST"),
        ("status_class", "2xx"),
    ];
    assert_eq!(
        value(&before, "platform_http_requests_total", &chat_ok),
        0.0
    );
    for capability in ["chat", "streaming", "caching", "conversation_history"] {
        assert_eq!(
            value(
                &before,
                "platform_capability_enabled",
                &[("capability", capability)]
            ),
            1.0,
            "{capability}"
        );
    }
    for component in ["database", "redis", "llm"] {
        let healthy = [("component", component), ("status", "healthy")];
        assert_eq!(
            value(&before, "platform_component_status", &healthy),
            1.0,
            "{component}"
        );
    }
    let primary_closed = [("provider", "primary"), ("state", "closed")];
    assert_eq!(
        value(&before, "platform_breaker_state", &primary_closed),
        1.0
    );

    // Two turns with the same message: one LLM call and a cache miss, then a hit.
    assert_eq!(chat(&http, &base, "the same question").await, 200);
    assert_eq!(chat(&http, &base, "the same question").await, 200);
    // A bad request.
    let bad = http
        .post(format!("{base}/v1/chat"))
        .json(&json!({"conversation_id": "metrics", "message": ""}))
        .send()
        .await
        .expect("bad chat");
    assert_eq!(bad.status(), 400);
    let (_, after) = scrape(&http, &base).await;
    assert_eq!(value(&after, "platform_http_requests_total", &chat_ok), 2.0);
    let chat_4xx = [("route", "/v1/chat"), ("status_class", "4xx")];
    assert_eq!(
        value(&after, "platform_http_requests_total", &chat_4xx),
        1.0
    );
    assert_eq!(
        value(
            &after,
            "platform_http_request_duration_seconds_count",
            &[("route", "/v1/chat")]
        ),
        3.0
    );
    let primary_success = [
        ("provider", "primary"),
        ("model", "gpt-4o-mini"),
        ("outcome", "success"),
    ];
    assert_eq!(
        value(&after, "platform_llm_calls_total", &primary_success),
        1.0
    );
    assert!(
        value(
            &after,
            "platform_llm_tokens_total",
            &[("provider", "primary"), ("direction", "output")]
        ) > 0.0
    );
    assert_eq!(
        value(
            &after,
            "platform_cache_lookups_total",
            &[("result", "miss")]
        ),
        1.0
    );
    assert_eq!(
        value(&after, "platform_cache_lookups_total", &[("result", "hit")]),
        1.0
    );

    // The primary fails: its failures are counted, its breaker opens, the
    // fallback serves.
    lab.primary
        .set_mode(Mode::Errors {
            rate: Rate::ALWAYS,
            status: ErrorStatus::ServiceUnavailable,
        })
        .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut turn = 0;
    let open = loop {
        turn += 1;
        assert_eq!(chat(&http, &base, &format!("question {turn}")).await, 200);
        let (_, samples) = scrape(&http, &base).await;
        let open = [("provider", "primary"), ("state", "open")];
        if value(&samples, "platform_breaker_state", &open) == 1.0 {
            break samples;
        }
        assert!(
            Instant::now() < deadline,
            "the primary's breaker never showed open in /metrics"
        );
    };
    assert!(
        value(
            &open,
            "platform_breaker_opened_total",
            &[("provider", "primary")]
        ) >= 1.0
    );
    let primary_status = [("provider", "primary"), ("outcome", "status")];
    assert!(value(&open, "platform_llm_calls_total", &primary_status) >= 3.0);
    let fallback_success = [("provider", "fallback"), ("outcome", "success")];
    assert!(value(&open, "platform_llm_calls_total", &fallback_success) >= 1.0);
    assert_eq!(value(&open, "platform_breaker_state", &primary_closed), 0.0);

    // Every provider down: a 5xx is counted.
    lab.fallback
        .set_mode(Mode::Errors {
            rate: Rate::ALWAYS,
            status: ErrorStatus::ServiceUnavailable,
        })
        .await;
    assert_eq!(chat(&http, &base, "anyone there?").await, 503);
    let (_, down) = scrape(&http, &base).await;
    let chat_5xx = [("route", "/v1/chat"), ("status_class", "5xx")];
    assert_eq!(value(&down, "platform_http_requests_total", &chat_5xx), 1.0);
    lab.stop().await;
}

#[test]
fn the_strict_parser_rejects_malformed_expositions() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 2\n";
    assert_eq!(parse_exposition(good)[0].value, 2.0);
    for bad in [
        "a_total 1\n",                          // undeclared
        "# TYPE a counter\na{x=1} 2\n",         // unquoted label
        "# TYPE a counter\na 2 3 x\n",          // bad value
        "# TYPE a counter\n# TYPE a counter\n", // declared twice
        "# TYPE h histogram\nh_bucket 1\n",     // bucket without le
    ] {
        let result = std::panic::catch_unwind(|| parse_exposition(bad));
        assert!(result.is_err(), "accepted {bad:?}");
    }
}
