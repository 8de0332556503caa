//! `gameday run` end to end, as a user runs it: the real binary, real lab
//! parts, a real `gameday proxy` process as the external Toxiproxy.

use std::process::{Command, Stdio};
use std::time::Duration;

use gameday::faults::toxiproxy::{Client, NewProxy};
use gameday::lab::stack::{Lab, LabOptions};
use tokio::time::Instant;

use crate::util::binaries;

pub(crate) fn gameday() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gameday"))
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A child process killed when dropped (a failing test leaves nothing running).
pub(crate) struct Child(pub(crate) std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `gameday proxy` process with two proxies, `postgres` and `cache`, in front of the lab's PostgreSQL.
pub(crate) async fn external_proxy(lab: &Lab) -> (Child, Client) {
    let api_port = free_port();
    let proxy = Child(
        gameday()
            .args(["proxy", "--listen", &format!("127.0.0.1:{api_port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gameday proxy"),
    );
    let client = Client::new(&format!("http://127.0.0.1:{api_port}")).expect("client");
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.version().await.is_err() {
        assert!(Instant::now() < deadline, "gameday proxy did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for name in ["postgres", "cache"] {
        client
            .create_proxy(&NewProxy::new(
                name,
                "127.0.0.1:0",
                lab.postgres.addr().to_string(),
            ))
            .await
            .expect("create proxy");
    }
    (proxy, client)
}

/// A long external-target scenario that puts a toxic on `postgres` and takes `cache` down.
pub(crate) fn external_scenario(
    dir: &std::path::Path,
    name: &str,
    lab: &Lab,
    client: &Client,
) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &path,
        format!(
            r#"name: {name}
target:
  url: {platform}
toxiproxy: {api}
traffic: {{ rate: 10/s, warmup: 2s, duration: 5m, timeout: 5s }}
timeline:
  - name: slow-db
    at: 1s
    for: 4m
    fault: {{ toxic: latency, proxy: postgres, latency: 100ms }}
  - name: cache-down
    at: 1s
    for: 4m
    fault: {{ proxy_down: cache }}
"#,
            platform = lab.platform.url(),
            api = client.base_url(),
        ),
    )
    .expect("write scenario");
    path
}

/// Waits until both faults of [`external_scenario`] are in place.
pub(crate) async fn wait_for_external_faults(client: &Client) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let toxics = client.toxics("postgres").await.unwrap_or_default();
        let cache = client.proxy("cache").await.expect("cache proxy");
        if toxics.len() == 1 && !cache.enabled {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "faults never applied: toxics {toxics:?}, cache enabled {}",
            cache.enabled
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn an_invalid_scenario_is_refused_with_located_errors_and_nothing_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("broken.yaml");
    std::fs::write(
        &file,
        "name: broken\ntarget: lab\ntraffic:\n  rate: 10/s\n  duraton: 10s\n",
    )
    .expect("write");
    let output = gameday()
        .args(["run", "--quiet", "--report-dir"])
        .arg(dir.path().join("reports"))
        .arg(&file)
        .output()
        .expect("run gameday");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("broken.yaml:5:3"), "{stderr}");
    assert!(stderr.contains("duration"), "no did-you-mean: {stderr}");
    assert!(
        !dir.path().join("reports").exists(),
        "a run folder was created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_and_sigterm_mid_fault_leave_the_external_proxy_as_it_was() {
    let lab = Lab::start(
        &binaries(),
        &LabOptions::default(),
        gameday::clock::system(),
    )
    .await
    .expect("lab");
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let (_proxy, client) = external_proxy(&lab).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let scenario = external_scenario(dir.path(), "interrupted", &lab, &client);
        let mut run = Child(
            gameday()
                .args(["run", "--quiet", "--report-dir"])
                .arg(dir.path().join("reports"))
                .arg(&scenario)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start gameday run"),
        );
        wait_for_external_faults(&client).await;
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(run.0.id() as i32, signal) };
        let status = wait_for_exit(&mut run.0, Duration::from_secs(60));
        let mut stderr = String::new();
        if let Some(mut pipe) = run.0.stderr.take() {
            use std::io::Read;
            let _ = pipe.read_to_string(&mut stderr);
        }
        assert_eq!(
            status,
            Some(3),
            "signal {signal}: exit status; stderr: {stderr}"
        );
        assert!(
            client.toxics("postgres").await.expect("toxics").is_empty(),
            "a toxic was left behind"
        );
        assert!(
            client.proxy("cache").await.expect("cache").enabled,
            "the proxy was left disabled"
        );
        // The journal says what happened.
        let run_dir = std::fs::read_dir(dir.path().join("reports"))
            .expect("reports dir")
            .filter_map(Result::ok)
            .find(|e| e.path().is_dir())
            .expect("a run folder")
            .path();
        let results: serde_json::Value = serde_json::from_slice(
            &std::fs::read(run_dir.join("results.json")).expect("results.json"),
        )
        .expect("valid JSON");
        assert_eq!(
            results["status"]["state"], "aborted",
            "{}",
            results["status"]
        );
        for fault in results["faults"].as_array().expect("faults") {
            assert!(fault["reverted_at_s"].is_number(), "{fault}");
            assert!(fault.get("revert_error").is_none(), "{fault}");
        }
    }
    lab.stop().await;
}

pub(crate) fn wait_for_exit(child: &mut std::process::Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code();
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Writes a scenario into a temp dir and runs it with the real binary.
fn run_scenario(yaml: &str) -> (Option<i32>, serde_json::Value, String, tempfile::TempDir) {
    let first = run_scenario_once(yaml);
    if crate::util::refused_at_preflight(&first.1) {
        eprintln!("the preflight found no steady state (a loaded machine); running once more");
        return run_scenario_once(yaml);
    }
    first
}

fn run_scenario_once(yaml: &str) -> (Option<i32>, serde_json::Value, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, yaml).expect("write scenario");
    let output = gameday()
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
        serde_json::from_slice(&std::fs::read(run_dir.join("results.json")).expect("results.json"))
            .expect("valid JSON");
    for file in ["report.html", "junit.xml", "faults.jsonl"] {
        assert!(run_dir.join(file).exists(), "{file} missing");
    }
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output.status.code(), results, stdout, dir)
}

fn check<'a>(results: &'a serde_json::Value, phase: &str, name: &str) -> &'a serde_json::Value {
    results["verdict"]["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["phase"] == phase && c["name"] == name)
        .unwrap_or_else(|| {
            panic!(
                "no check {phase}/{name} in {}",
                results["verdict"]["checks"]
            )
        })
}

const REDIS_KILLED: &str = r#"
name: redis-killed-short
target: lab
traffic: { rate: 20/s, warmup: 3s, duration: 14s, timeout: 10s, mix: { chat: 90, history: 10 } }
timeline:
  - name: redis-down
    at: 3s
    for: 6s
    fault: { kill: redis }
expect:
  redis-down:
    error_rate: < 5%
    capabilities:
      caching: { becomes: false, within: 5s }
      chat: true
  recovery:
    capabilities: { caching: { returns_within: 5s } }
recovery: 5s
"#;

#[test]
fn a_redis_kill_scenario_passes_against_the_reference_platform() {
    let (code, results, stdout, _dir) = run_scenario(REDIS_KILLED);
    assert_eq!(code, Some(0), "{stdout}");
    assert_ne!(results["verdict"]["outcome"], "failed", "{stdout}");
    for (phase, name) in [
        ("redis-down", "capability caching"),
        ("redis-down", "capability chat"),
        ("recovery", "capability caching"),
    ] {
        assert_eq!(
            check(&results, phase, name)["status"],
            "pass",
            "{phase}/{name}: {stdout}"
        );
    }
    let fault = &results["faults"][0];
    assert!(
        fault["applied_at_s"].is_number() && fault["reverted_at_s"].is_number(),
        "{fault}"
    );
    assert_eq!(fault["effect"]["observed"], true, "{fault}");
}

#[test]
fn a_wrong_expectation_fails_and_names_the_check() {
    // Claim that killing Redis leaves caching on: the run must fail on exactly that.
    let yaml = REDIS_KILLED.replace("caching: { becomes: false, within: 5s }", "caching: true");
    let (code, results, stdout, _dir) = run_scenario(&yaml);
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(results["verdict"]["outcome"], "failed");
    assert_eq!(
        check(&results, "redis-down", "capability caching")["status"],
        "fail"
    );
    assert!(
        stdout.contains("FAIL") && stdout.contains("capability caching"),
        "{stdout}"
    );
}

#[test]
fn a_halt_condition_aborts_with_exit_3_after_rolling_back() {
    let yaml = r#"
name: total-outage-halts
target: lab
traffic: { rate: 20/s, warmup: 3s, duration: 60s, timeout: 5s, mix: { chat: 100 } }
timeline:
  - name: primary-down
    at: 2s
    for: 50s
    fault: { llm: primary, mode: { mode: errors, rate: 1.0, status: 503 } }
  - name: fallback-down
    at: 2s
    for: 50s
    fault: { llm: fallback, mode: { mode: errors, rate: 1.0, status: 503 } }
halt:
  - error_rate > 50% for 3s
"#;
    let (code, results, stdout, _dir) = run_scenario(yaml);
    assert_eq!(code, Some(3), "{stdout}");
    assert_eq!(results["status"]["state"], "aborted");
    let reason = results["status"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("halt"), "{reason}");
    for fault in results["faults"].as_array().expect("faults") {
        assert!(fault["reverted_at_s"].is_number(), "not reverted: {fault}");
        // Aborted early: well before the planned end of the window.
        assert!(
            fault["reverted_at_s"].as_f64() < fault["planned_end_s"].as_f64(),
            "{fault}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_sigkilled_runner_cleanup_restores_the_proxy_and_run_refuses_until_then() {
    let lab = Lab::start(
        &binaries(),
        &LabOptions::default(),
        gameday::clock::system(),
    )
    .await
    .expect("lab");
    let (_proxy, client) = external_proxy(&lab).await;
    let before = client.proxies().await.expect("proxies before");
    let dir = tempfile::tempdir().expect("temp dir");
    let reports = dir.path().join("reports");
    let scenario = external_scenario(dir.path(), "killed", &lab, &client);
    let mut run = Child(
        gameday()
            .args(["run", "--quiet", "--report-dir"])
            .arg(&reports)
            .arg(&scenario)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gameday run"),
    );
    wait_for_external_faults(&client).await;
    run.0.kill().expect("SIGKILL the runner");
    let _ = run.0.wait();
    // The faults outlive the runner...
    assert_eq!(client.toxics("postgres").await.expect("toxics").len(), 1);

    // ...so a new run refuses to inject, and says what is still applied.
    let refused = gameday()
        .args(["run", "--quiet", "--report-dir"])
        .arg(&reports)
        .arg(&scenario)
        .output()
        .expect("second run");
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("gameday-slow-db") && stderr.contains("cache"),
        "{stderr}"
    );
    assert!(stderr.contains("gameday cleanup"), "{stderr}");

    // cleanup reverts everything from the journal.
    let cleanup = gameday()
        .args(["cleanup", "--all", "--report-dir"])
        .arg(&reports)
        .output()
        .expect("cleanup");
    let stdout = String::from_utf8_lossy(&cleanup.stdout);
    assert_eq!(cleanup.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("reverted"), "{stdout}");
    let after = client.proxies().await.expect("proxies after");
    assert_eq!(after, before, "the proxy differs from before the run");
    // And a second cleanup finds nothing left.
    let again = gameday()
        .args(["cleanup", "--all", "--report-dir"])
        .arg(&reports)
        .output()
        .expect("cleanup again");
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to clean"));
    lab.stop().await;
}

#[test]
fn a_secret_header_value_never_reaches_results_report_or_terminal() {
    const TOKEN: &str = "gd-SECRET-7f3a9c1e5b";
    let (runtime, lab) = crate::util::lab_on_own_runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = dir.path().join("secret.yaml");
    std::fs::write(
        &scenario,
        format!(
            r#"name: secret-header
target:
  url: {platform}
  headers: {{ Authorization: "Bearer ${{GAMEDAY_TEST_TOKEN}}" }}
traffic: {{ rate: 10/s, warmup: 2s, duration: 3s, timeout: 5s }}
timeline:
  - name: leaky-command
    at: 0s
    for: 1s
    fault:
      exec: 'printf "token=%s \033[31mred\000\n" "$GAMEDAY_TEST_TOKEN" >&2; exit 1'
      revert: 'echo "$GAMEDAY_TEST_TOKEN"; true'
"#,
            platform = lab.platform.url()
        ),
    )
    .expect("write scenario");
    let output = gameday()
        .args(["run", "--report-dir"])
        .arg(dir.path().join("reports"))
        .arg(&scenario)
        .env("GAMEDAY_TEST_TOKEN", TOKEN)
        .env("RUST_LOG", "trace")
        .output()
        .expect("run gameday");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The exec fault fails on purpose, printing the token (resolved from the
    // environment by the shell) and terminal control characters.
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        !stdout.contains(TOKEN) && !stderr.contains(TOKEN),
        "the token was printed"
    );
    assert!(stdout.contains("token=***"), "{stdout}");
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\0'),
        "raw control characters reached the terminal: {stdout:?}"
    );
    assert!(stdout.contains("\\u{1b}[31mred\\u{0}"), "{stdout}");
    let mut files = 0;
    for entry in walk(&dir.path().join("reports")) {
        let bytes = std::fs::read(&entry).expect("read output file");
        files += 1;
        if entry.ends_with("results.json") {
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                text.contains("token=***"),
                "the command's output is recorded, masked"
            );
        }
        assert!(
            !String::from_utf8_lossy(&bytes).contains(TOKEN),
            "the token leaked into {}",
            entry.display()
        );
    }
    assert!(
        files >= 4,
        "expected results, report, junit and journal; found {files} files"
    );
    runtime.block_on(lab.stop());
}

#[test]
fn the_target_url_and_exec_commands_are_filled_from_the_environment() {
    const SECRET: &str = "gd-EXEC-SECRET-93be1f";
    let (runtime, lab) = crate::util::lab_on_own_runtime();
    let platform = lab.platform.url();
    let host = platform.trim_start_matches("http://").to_owned();
    let dir = tempfile::tempdir().expect("temp dir");
    let marker = dir.path().join("marker");
    let scenario = dir.path().join("templated.yaml");
    std::fs::write(
        &scenario,
        format!(
            r#"name: templated
target:
  url: http://${{GAMEDAY_TEST_HOST}}
traffic: {{ rate: 10/s, warmup: 2s, duration: 3s, timeout: 5s }}
timeline:
  - name: marked
    at: 0s
    for: 1s
    fault:
      exec: 'printf %s "${{GAMEDAY_TEST_SECRET}}" > {marker}'
      revert: 'true'
"#,
            marker = marker.display()
        ),
    )
    .expect("write scenario");
    let run = |env: &[(&str, &str)], reports: &str| {
        let mut command = gameday();
        command
            .args(["run", "--quiet", "--report-dir"])
            .arg(dir.path().join(reports))
            .arg(&scenario)
            .env_remove("GAMEDAY_TEST_HOST")
            .env_remove("GAMEDAY_TEST_SECRET");
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.output().expect("run gameday");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.code(), stderr)
    };

    // A variable that is not set stops the run before anything is touched,
    // naming the field and the variable.
    let (code, stderr) = run(&[("GAMEDAY_TEST_HOST", &host)], "missing-secret");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "`timeline[0].fault.exec` needs the environment variable `GAMEDAY_TEST_SECRET`"
        ),
        "{stderr}"
    );
    let (code, stderr) = run(&[("GAMEDAY_TEST_SECRET", SECRET)], "missing-host");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("`target.url` needs the environment variable `GAMEDAY_TEST_HOST`"),
        "{stderr}"
    );
    assert!(!marker.exists(), "a fault ran although the setup failed");

    // Both set: the run reaches the platform at the filled URL, the shell
    // expands the command, and the secret is in no file gameday wrote.
    let (code, stderr) = run(
        &[
            ("GAMEDAY_TEST_HOST", &host),
            ("GAMEDAY_TEST_SECRET", SECRET),
        ],
        "reports",
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&marker).expect("the exec fault ran"),
        SECRET
    );
    let reports = dir.path().join("reports");
    let results: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            walk(&reports)
                .into_iter()
                .find(|path| path.ends_with("results.json"))
                .expect("results.json"),
        )
        .expect("read results"),
    )
    .expect("JSON");
    assert_eq!(results["target"]["url"], platform.as_str());
    for path in walk(&reports) {
        let bytes = std::fs::read(&path).expect("read output file");
        assert!(
            !String::from_utf8_lossy(&bytes).contains(SECRET),
            "the secret leaked into {}",
            path.display()
        );
    }
    runtime.block_on(lab.stop());
}

/// Every file under `dir`, recursively.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(Result::ok)
    {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
