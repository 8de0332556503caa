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
    assert_eq!(strip_windows("rate(a[5m]) / rate(b[15s])"), "rate(a[W]) / rate(b[W])");
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
    body["data"]["result"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_labs_prometheus_scrapes_the_platform_and_loads_the_lab_rules() {
    if !prometheus_installed() {
        return;
    }
    let lab = gameday::lab::stack::Lab::start(
        &crate::util::binaries(),
        &gameday::lab::stack::LabOptions::default(),
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
            assert_eq!(sample["value"][1], "1", "the platform scrape failed: {sample}");
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
        ["PlatformErrorRateHigh", "PlatformLatencyP95High", "LlmProviderDown"]
    );

    // No orphan: stopping the lab ends the process.
    let dir = prometheus.dir().to_path_buf();
    lab.stop().await;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(stat.is_empty() || stat.contains(") Z "), "prometheus {pid} still runs");
    assert!(!dir.exists(), "its directory {} was not removed", dir.display());
}
