//! Monitoring in the loop: the Prometheus rule files in `monitoring/`
//! (valid for promtool, and the lab variant in step with production).

use std::path::Path;
use std::process::Command;

const PRODUCTION_RULES: &str = "monitoring/rules.yml";
const LAB_RULES: &str = "monitoring/rules-lab.yml";

fn repo_file(relative: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

#[test]
fn promtool_accepts_the_production_and_lab_rule_files() {
    let Some(promtool) = crate::util::promtool() else {
        return;
    };
    for file in [PRODUCTION_RULES, LAB_RULES] {
        let output = Command::new(&promtool)
            .args(["check", "rules"])
            .arg(repo_file(file))
            .output()
            .expect("run promtool");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "{file}: {text}");
        assert!(text.contains("SUCCESS: 3 rules found"), "{file}: {text}");
    }
}

/// The alerts of a rule file: (name, expression with every range and `for`
/// replaced by `W`).
fn alerts_without_windows(file: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo_file(file)).expect("read the rule file");
    let value: serde_json::Value = serde_saphyr::from_str(&text).expect("YAML");
    let mut alerts = Vec::new();
    for group in value["groups"].as_array().expect("groups") {
        for rule in group["rules"].as_array().expect("rules") {
            let name = rule["alert"].as_str().expect("alert name").to_owned();
            let expr = rule["expr"].as_str().expect("expr");
            alerts.push((name, strip_windows(expr)));
        }
    }
    alerts
}

/// `rate(x[5m])` and `rate(x[15s])` both become `rate(x[W])`.
fn strip_windows(expr: &str) -> String {
    let mut out = String::new();
    let mut rest = expr;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..=open]);
        let close = rest[open..].find(']').map_or(rest.len(), |i| open + i);
        out.push('W');
        rest = &rest[close..];
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_lab_rules_are_the_production_rules_with_shorter_windows() {
    let production = alerts_without_windows(PRODUCTION_RULES);
    let lab = alerts_without_windows(LAB_RULES);
    assert_eq!(production.len(), 3);
    assert_eq!(production, lab);
    assert_eq!(
        strip_windows("rate(a[5m]) / rate(b[15s])"),
        "rate(a[W]) / rate(b[W])"
    );
}

/// `prometheus` on PATH; absent: `None` with a loud note, except under GAMEDAY_CI.
pub fn prometheus_installed() -> bool {
    let found = crate::util::binaries().prometheus.is_some();
    if !found {
        assert!(
            std::env::var_os("GAMEDAY_CI").is_none(),
            "GAMEDAY_CI is set but prometheus is not installed (.ci/run installs it)"
        );
        eprintln!("\n*** SKIPPED: prometheus is not installed (bin/test installs it). ***\n");
    }
    found
}

/// One instant query against a Prometheus HTTP API: the result vector.
pub async fn instant_query(
    http: &reqwest::Client,
    prometheus: &str,
    query: &str,
) -> Vec<serde_json::Value> {
    let body: serde_json::Value = http
        .get(format!("{prometheus}/api/v1/query"))
        .query(&[("query", query)])
        .send()
        .await
        .expect("query Prometheus")
        .json()
        .await
        .expect("a JSON answer");
    assert_eq!(body["status"], "success", "{body}");
    body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_labs_prometheus_scrapes_the_platform_and_loads_the_lab_rules() {
    if !prometheus_installed() {
        return;
    }
    let options = gameday::lab::stack::LabOptions {
        monitoring: true,
        ..gameday::lab::stack::LabOptions::default()
    };
    let lab = gameday::lab::stack::Lab::start(
        &crate::util::binaries(),
        &options,
        gameday::clock::system(),
    )
    .await
    .expect("start the lab");
    let prometheus = lab.prometheus.as_ref().expect("the lab runs Prometheus");
    let url = prometheus.url();
    let pid = prometheus.pid().expect("a running process");
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .expect("client");
    let ready = http
        .get(format!("{url}/-/ready"))
        .send()
        .await
        .expect("/-/ready");
    assert!(ready.status().is_success());

    // `up` appears after the first scrape (1 s interval): poll the API until then.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let result = instant_query(&http, &url, r#"up{job="platform"}"#).await;
        if let Some(sample) = result.first() {
            assert_eq!(
                sample["value"][1], "1",
                "the platform scrape failed: {sample}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Prometheus never scraped the platform"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // The platform's own metrics arrived through the scrape.
    let scraped = instant_query(&http, &url, "platform_capability_enabled").await;
    assert_eq!(scraped.len(), 6, "{scraped:?}");

    // The lab rules are loaded.
    let rules: serde_json::Value = http
        .get(format!("{url}/api/v1/rules"))
        .send()
        .await
        .expect("rules")
        .json()
        .await
        .expect("JSON");
    let names: Vec<&str> = rules["data"]["groups"][0]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|rule| rule["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "PlatformErrorRateHigh",
            "PlatformLatencyP95High",
            "LlmProviderDown"
        ]
    );

    // No orphan: stopping the lab ends the process.
    let dir = prometheus.dir().to_path_buf();
    lab.stop().await;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.contains(") Z "),
        "prometheus {pid} still runs"
    );
    assert!(
        !dir.exists(),
        "its directory {} was not removed",
        dir.display()
    );
}

/// Writes a scenario into a temp dir and runs it with the real binary:
/// exit code, results.json, stdout, the run folder (kept by the temp dir).
fn run_scenario(
    yaml: &str,
) -> (
    Option<i32>,
    serde_json::Value,
    String,
    std::path::PathBuf,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, yaml).expect("write scenario");
    let output = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["run", "--quiet", "--seed", "7", "--report-dir"])
        .arg(dir.path().join("reports"))
        .arg(&file)
        .output()
        .expect("run gameday");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let run_dir = std::fs::read_dir(dir.path().join("reports"))
        .unwrap_or_else(|e| panic!("no reports dir ({e}); stderr: {stderr}"))
        .filter_map(Result::ok)
        .find(|e| e.path().is_dir())
        .expect("a run folder")
        .path();
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("results.json")).expect("results"))
            .expect("valid JSON");
    let stdout = format!("{}\n{stderr}", String::from_utf8_lossy(&output.stdout));
    (output.status.code(), results, stdout, run_dir, dir)
}

/// The check of `phase` named `name` whose expectation starts with `expected`.
fn check<'a>(
    results: &'a serde_json::Value,
    phase: &str,
    name: &str,
    expected: &str,
) -> &'a serde_json::Value {
    results["verdict"]["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| {
            c["phase"] == phase
                && c["name"] == name
                && c["expected"].as_str().unwrap_or("").starts_with(expected)
        })
        .unwrap_or_else(|| {
            panic!(
                "no check {phase}/{name}/{expected} in {}",
                results["verdict"]["checks"]
            )
        })
}

/// The primary provider fails for 16 s under light traffic. The lab's
/// LlmProviderDown fires (generous 15 s bound: it needs the breaker to open,
/// a scrape, and `for: 2s`) and resolves after the revert; the latency
/// alert expected alongside never fires; one PromQL check holds, one breaks.
const PRIMARY_DOWN: &str = r#"
name: monitoring-primary-down
target: lab
traffic: { rate: 20/s, warmup: 3s, duration: 47s, timeout: 10s, mix: { chat: 100 } }
timeline:
  - name: primary-down
    at: 5s
    for: 16s
    fault: { llm: primary, mode: { mode: errors, rate: 1.0, status: 503 } }
recovery: 26s
monitoring:
  prometheus: lab
  expect:
    baseline:
      alerts: { LlmProviderDown: silent }
    primary-down:
      alerts:
        LlmProviderDown: { fires_within: 15s }
        PlatformLatencyP95High: { fires_within: 15s }
      queries:
        - query: sum(platform_capability_enabled{capability="chat"})
          is: ">= 1"
        - query: sum(rate(platform_llm_calls_total{provider="primary",outcome="success"}[5s])) or vector(0)
          is: "> 1"
    recovery:
      alerts: { LlmProviderDown: { resolves_within: 24s } }
"#;

#[test]
fn a_lab_game_day_judges_the_platforms_own_alerts_and_promql_checks() {
    if !prometheus_installed() {
        return;
    }
    let (code, results, output, run_dir, _dir) = run_scenario(PRIMARY_DOWN);
    // The expected latency alert never fires and one query breaks: failed.
    assert_eq!(code, Some(1), "{output}");
    assert_eq!(results["verdict"]["outcome"], "failed", "{output}");

    let silent = check(&results, "baseline", "alert LlmProviderDown", "silent");
    assert_eq!(silent["status"], "pass", "{silent}");
    let fired = check(
        &results,
        "primary-down",
        "alert LlmProviderDown",
        "fires within 15s",
    );
    assert_eq!(fired["status"], "pass", "{fired}");
    assert!(
        fired["observed"]
            .as_str()
            .unwrap_or("")
            .starts_with("fired "),
        "{fired}"
    );
    let never = check(
        &results,
        "primary-down",
        "alert PlatformLatencyP95High",
        "fires within 15s",
    );
    assert_eq!(never["status"], "fail", "{never}");
    assert!(
        never["observed"]
            .as_str()
            .unwrap_or("")
            .contains("never fired after the apply"),
        "{never}"
    );
    let holds = check(
        &results,
        "primary-down",
        r#"promql sum(platform_capability_enabled{capability="chat"})"#,
        "worst value >= 1",
    );
    assert_eq!(holds["status"], "pass", "{holds}");
    let breaks = results["verdict"]["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["expected"] == "worst value > 1")
        .expect("the primary-success check");
    assert_eq!(breaks["status"], "fail", "{breaks}");
    let resolved = check(
        &results,
        "recovery",
        "alert LlmProviderDown",
        "resolves within",
    );
    assert_eq!(resolved["status"], "pass", "{resolved}");

    // results.json keeps what the report needs offline: firing intervals,
    // the queries and their values, detection and resolution times.
    let timeline = results["monitoring"]["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .find(|a| a["name"] == "LlmProviderDown")
        .expect("LlmProviderDown fired");
    assert!(timeline["firing"][0]["start_s"].is_number(), "{timeline}");
    let query = &results["monitoring"]["queries"][0];
    assert!(
        query["series"][0]["values"]
            .as_array()
            .is_some_and(|v| v.len() > 5),
        "{query}"
    );
    let summary = results["verdict"]["monitoring"]["alerts"]
        .as_array()
        .expect("summary")
        .iter()
        .find(|a| a["name"] == "LlmProviderDown")
        .expect("summary row");
    assert_eq!(summary["fault"], "primary-down", "{summary}");
    let detect = summary["detect_s"].as_f64().expect("time to detect");
    assert!((0.0..=15.0).contains(&detect), "{summary}");
    assert!(summary["resolve_s"].is_number(), "{summary}");

    let html = std::fs::read_to_string(run_dir.join("report.html")).expect("report");
    assert!(
        html.contains("The platform&#x27;s own alerts")
            || html.contains("The platform's own alerts")
    );
    assert!(html.contains("alert LlmProviderDown"), "no alert lane");

    // The report re-renders offline from results.json alone.
    let rerender = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .arg("report")
        .arg(run_dir.join("results.json"))
        .output()
        .expect("gameday report");
    assert!(
        rerender.status.success(),
        "{}",
        String::from_utf8_lossy(&rerender.stderr)
    );
}

#[test]
fn a_prometheus_that_does_not_answer_stops_the_run_before_any_fault() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let yaml = format!(
        r#"
name: monitoring-unreachable
target: lab
traffic: {{ rate: 5/s, warmup: 2s, duration: 10s }}
timeline:
  - name: redis-down
    at: 2s
    for: 3s
    fault: {{ kill: redis }}
monitoring:
  prometheus: {{ url: "http://127.0.0.1:{port}" }}
  expect:
    redis-down:
      alerts: {{ PlatformErrorRateHigh: silent }}
"#
    );
    let (code, results, output, _run_dir, _dir) = run_scenario(&yaml);
    assert_eq!(code, Some(2), "{output}");
    let message = results["status"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("monitoring preflight") && message.contains(&port.to_string()),
        "{}",
        results["status"]
    );
    let fault = &results["faults"][0];
    assert!(fault["applied_at_s"].is_null(), "{fault}");
}
