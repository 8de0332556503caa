//! `gameday run` end to end, as a user runs it: the real binary, real lab
//! parts, a real `gameday proxy` process as the external Toxiproxy.

use std::process::{Command, Stdio};
use std::time::Duration;

use gameday::faults::toxiproxy::{Client, NewProxy};
use gameday::lab::stack::{Lab, LabOptions};
use tokio::time::Instant;

use crate::util::binaries;

fn gameday() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gameday"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A child process killed when dropped (a failing test leaves nothing running).
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
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
        let api_port = free_port();
        let _proxy = Child(
            gameday()
                .args(["proxy", "--listen", &format!("127.0.0.1:{api_port}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start gameday proxy"),
        );
        let api = format!("http://127.0.0.1:{api_port}");
        let client = Client::new(&api).expect("client");
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
        let dir = tempfile::tempdir().expect("temp dir");
        let scenario = dir.path().join("interrupted.yaml");
        std::fs::write(
            &scenario,
            format!(
                r#"name: interrupted
target:
  url: {platform}
toxiproxy: {api}
traffic:
  rate: 10/s
  warmup: 2s
  duration: 5m
  timeout: 5s
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
            ),
        )
        .expect("write scenario");
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
        // Wait until both faults are in place.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let toxics = client.toxics("postgres").await.unwrap_or_default();
            let cache = client.proxy("cache").await.expect("cache proxy");
            if toxics.len() == 1 && !cache.enabled {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "faults never applied: toxics {toxics:?}, cache enabled {}",
                cache.enabled
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
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

fn wait_for_exit(child: &mut std::process::Child, limit: Duration) -> Option<i32> {
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
