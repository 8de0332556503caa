//! Never leave or steal a fault: the journal comes first, cleanup reverts
//! only on the server the journal recorded and never under a live runner,
//! every termination signal (and a closed output) reverts, concurrent runs
//! keep to their own faults, and a Toxiproxy call on a dead kept-alive
//! connection goes out again. Real `gameday` processes, real proxies.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use gameday::faults::action::{FaultAction, FaultContext, ToxiproxyOwner};
use gameday::faults::toxiproxy::{Client, NewProxy, NewToxic, Stream, ToxicKind};
use gameday::lab::proxy::{RunningProxy, ServerConfig};
use gameday::lab::stack::{Lab, LabOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::run::{
    Child, external_proxy, external_scenario, gameday, wait_for_exit, wait_for_external_faults,
};
use crate::util::binaries;

/// The one run folder under `reports`, once it exists.
fn run_dir(reports: &Path) -> Option<PathBuf> {
    std::fs::read_dir(reports)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.is_dir())
}

fn results(dir: &Path) -> serde_json::Value {
    try_results(dir).expect("a readable results.json")
}

fn try_results(dir: &Path) -> Option<serde_json::Value> {
    serde_json::from_slice(&std::fs::read(dir.join("results.json")).ok()?).ok()
}

fn journal(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("faults.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// Polls `probe` every 100 ms until it holds; panics with `what` after `limit`.
async fn wait_until(limit: Duration, what: &str, mut probe: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !probe() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn stderr_of(child: &mut std::process::Child) -> String {
    let mut text = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut text);
    }
    text
}

fn signal(child: &std::process::Child, signal: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(child.id() as i32, signal) };
}

/// A `gameday proxy` process on `address`, ready.
async fn proxy_process(address: &str) -> (Child, Client) {
    let child = Child(
        gameday()
            .args(["proxy", "--listen", address])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gameday proxy"),
    );
    let client = Client::new(&format!("http://{address}")).expect("client");
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.version().await.is_err() {
        assert!(Instant::now() < deadline, "gameday proxy did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (child, client)
}

fn latency(name: &str, ms: i64) -> NewToxic {
    NewToxic::new(
        Stream::Downstream,
        ToxicKind::Latency {
            latency: ms,
            jitter: 0,
        },
    )
    .named(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_sigkilled_lab_run_cleanup_says_gone_with_the_runner_and_sends_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let reports = dir.path().join("reports");
    let scenario = dir.path().join("lab-killed.yaml");
    std::fs::write(
        &scenario,
        r#"name: lab-killed
target: lab
traffic: { rate: 5/s, warmup: 2s, duration: 5m, timeout: 5s }
timeline:
  - name: slow-db
    at: 1s
    for: 4m
    fault: { toxic: latency, proxy: postgres, latency: 20ms }
"#,
    )
    .expect("write scenario");
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
    wait_until(
        Duration::from_secs(180),
        "the lab run's toxic applied",
        || {
            run_dir(&reports).is_some_and(|d| {
                journal(&d).iter().any(|e| e["event"] == "applied")
                    && try_results(&d).is_some_and(|r| r["status"]["phase"] == "slow-db")
            })
        },
    )
    .await;
    run.0.kill().expect("SIGKILL the runner");
    let _ = run.0.wait();
    let run_dir = run_dir(&reports).expect("run folder");

    // A journal read after the kill names the phase the run was in.
    let status = &results(&run_dir)["status"];
    assert_eq!(status["state"], "running", "{status}");
    assert_eq!(status["phase"], "slow-db", "{status}");

    // The toxic was journaled as the lab's own, on its proxy instance.
    let applied = journal(&run_dir)
        .into_iter()
        .find(|e| e["event"] == "applied")
        .expect("applied event");
    let revert = &applied["revert"];
    assert_eq!(revert["lab"], true, "{revert}");
    assert!(revert["instance"].is_string(), "{revert}");
    let toxic = revert["toxic"].as_str().expect("toxic name").to_owned();
    assert!(
        toxic.contains("lab-killed-"),
        "the name carries the run id: {toxic}"
    );

    // Another proxy now owns the dead runner's API address, with a proxy and
    // a toxic of the same names (another run's, say).
    let address = revert["toxiproxy"]
        .as_str()
        .expect("url")
        .trim_start_matches("http://")
        .to_owned();
    let (_other, client) = proxy_process(&address).await;
    client
        .create_proxy(&NewProxy::new("postgres", "127.0.0.1:0", "127.0.0.1:9"))
        .await
        .expect("create proxy");
    client
        .add_toxic("postgres", &latency(&toxic, 20))
        .await
        .expect("add toxic");

    let cleanup = gameday()
        .args(["cleanup"])
        .arg(&run_dir)
        .output()
        .expect("cleanup");
    let stdout = String::from_utf8_lossy(&cleanup.stdout);
    assert_eq!(cleanup.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("gone with the runner"), "{stdout}");
    assert_eq!(
        client.toxics("postgres").await.expect("toxics").len(),
        1,
        "cleanup removed the new owner's toxic: {stdout}"
    );
    // Resolved for good: the next `cleanup --all` finds nothing.
    let again = gameday()
        .args(["cleanup", "--all", "--report-dir"])
        .arg(&reports)
        .output()
        .expect("cleanup --all");
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("nothing to clean"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_reverts_only_on_the_toxiproxy_instance_the_journal_recorded() {
    let lab = Lab::start(
        &binaries(),
        &LabOptions::default(),
        gameday::clock::system(),
    )
    .await
    .expect("lab");
    let (proxy, client) = external_proxy(&lab).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let reports = dir.path().join("reports");
    let scenario = external_scenario(dir.path(), "restarted", &lab, &client);
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
    let toxic = client.toxics("postgres").await.expect("toxics")[0]
        .name
        .clone();

    // The Toxiproxy restarts on the same address (its toxics went with it),
    // and someone sets up a proxy and a toxic of the same names there.
    let address = client.base_url().trim_start_matches("http://").to_owned();
    drop(proxy);
    let (_restarted, client) = proxy_process(&address).await;
    client
        .create_proxy(&NewProxy::new("postgres", "127.0.0.1:0", "127.0.0.1:9"))
        .await
        .expect("create proxy");
    client
        .add_toxic("postgres", &latency(&toxic, 20))
        .await
        .expect("add toxic");

    let cleanup = gameday()
        .args(["cleanup", "--all", "--report-dir"])
        .arg(&reports)
        .output()
        .expect("cleanup");
    let stdout = String::from_utf8_lossy(&cleanup.stdout);
    assert_eq!(cleanup.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("another one now"), "{stdout}");
    assert_eq!(
        client.toxics("postgres").await.expect("toxics").len(),
        1,
        "a revert went to a server that never had the fault: {stdout}"
    );
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_and_sigquit_mid_fault_revert_every_fault_and_exit_3() {
    let lab = Lab::start(
        &binaries(),
        &LabOptions::default(),
        gameday::clock::system(),
    )
    .await
    .expect("lab");
    for sig in [libc::SIGHUP, libc::SIGQUIT] {
        let (_proxy, client) = external_proxy(&lab).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let reports = dir.path().join("reports");
        let scenario = external_scenario(dir.path(), "hangup", &lab, &client);
        let mut run = Child(
            gameday()
                .args(["run", "--quiet", "--report-dir"])
                .arg(&reports)
                .arg(&scenario)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start gameday run"),
        );
        tokio::select! {
            () = wait_for_external_faults(&client) => {}
            () = async {
                while run.0.try_wait().ok().flatten().is_none() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            } => panic!(
                "signal {sig}: the run ended early ({:?}, status {}): {}",
                run.0.try_wait(),
                run_dir(&reports).and_then(|d| try_results(&d)).map(|r| r["status"].clone()).unwrap_or_default(),
                stderr_of(&mut run.0)
            ),
        }
        signal(&run.0, sig);
        let status = wait_for_exit(&mut run.0, Duration::from_secs(60));
        let stderr = stderr_of(&mut run.0);
        assert_eq!(status, Some(3), "signal {sig}: {stderr}");
        assert!(
            client.toxics("postgres").await.expect("toxics").is_empty(),
            "signal {sig}: a toxic was left behind"
        );
        assert!(
            client.proxy("cache").await.expect("cache").enabled,
            "signal {sig}: the proxy was left disabled"
        );
        let run_dir = run_dir(&reports).expect("run folder");
        let results = results(&run_dir);
        let name = if sig == libc::SIGHUP {
            "SIGHUP"
        } else {
            "SIGQUIT"
        };
        assert_eq!(
            results["status"]["state"], "aborted",
            "{}",
            results["status"]
        );
        assert!(
            results["status"]["reason"]
                .as_str()
                .is_some_and(|r| r.contains(name)),
            "{}",
            results["status"]
        );
        for fault in results["faults"].as_array().expect("faults") {
            assert!(fault["reverted_at_s"].is_number(), "{fault}");
        }
        // junit.xml's hostname is the one the run recorded.
        let recorded = results["environment"]["hostname"]
            .as_str()
            .expect("hostname recorded")
            .to_owned();
        let junit = std::fs::read_to_string(run_dir.join("junit.xml")).expect("junit.xml");
        assert!(
            junit.contains(&format!("hostname=\"{recorded}\"")),
            "{recorded}: {}",
            &junit[..junit.len().min(600)]
        );
        assert!(results["environment"]["runner"]["pid"].is_number());
    }
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_whose_journal_line_cannot_be_written_is_never_applied() {
    let lab = Lab::start(
        &binaries(),
        &LabOptions::default(),
        gameday::clock::system(),
    )
    .await
    .expect("lab");
    let (_proxy, client) = external_proxy(&lab).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let reports = dir.path().join("reports");
    let marker = dir.path().join("exec-fault-ran");
    let scenario = dir.path().join("full-disk.yaml");
    std::fs::write(
        &scenario,
        format!(
            r#"name: full-disk
target:
  url: {platform}
toxiproxy: {api}
traffic: {{ rate: 10/s, warmup: 8s, duration: 2m, timeout: 5s }}
timeline:
  - name: touch
    at: 1s
    for: 1m
    fault: {{ exec: "touch {marker}", revert: "true" }}
  - name: slow-db
    at: 1s
    for: 1m
    fault: {{ toxic: latency, proxy: postgres, latency: 100ms }}
"#,
            platform = lab.platform.url(),
            api = client.base_url(),
            marker = marker.display(),
        ),
    )
    .expect("write scenario");
    let mut run = Child(
        gameday()
            .args(["run", "--quiet", "--report-dir"])
            .arg(&reports)
            .arg(&scenario)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gameday run"),
    );
    // After the journal's first write, its disk is full: faults.jsonl now
    // leads to /dev/full, where every write fails with ENOSPC, root or not.
    wait_until(Duration::from_secs(60), "the run folder", || {
        run_dir(&reports).is_some_and(|d| d.join("results.json").is_file())
    })
    .await;
    let run_dir = run_dir(&reports).expect("run folder");
    let journal_file = run_dir.join("faults.jsonl");
    std::fs::remove_file(&journal_file).expect("remove faults.jsonl");
    std::os::unix::fs::symlink("/dev/full", &journal_file).expect("symlink /dev/full");

    let status = wait_for_exit(&mut run.0, Duration::from_secs(90));
    let stderr = stderr_of(&mut run.0);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(!marker.exists(), "the exec fault was applied: {stderr}");
    assert!(
        client.toxics("postgres").await.expect("toxics").is_empty(),
        "a toxic was applied"
    );
    let results = results(&run_dir);
    assert_eq!(results["status"]["state"], "error", "{}", results["status"]);
    assert!(
        results["status"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("fault journal")),
        "{}",
        results["status"]
    );
    for fault in results["faults"].as_array().expect("faults") {
        assert!(fault.get("applied_at_s").is_none(), "{fault}");
    }
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_leaves_a_live_run_alone_and_a_run_whose_fault_was_undone_says_so() {
    let lab = Lab::start(
        &binaries(),
        &LabOptions::default(),
        gameday::clock::system(),
    )
    .await
    .expect("lab");
    let (_proxy, client) = external_proxy(&lab).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let reports = dir.path().join("reports");
    let scenario = external_scenario(dir.path(), "live", &lab, &client);
    let mut run = Child(
        gameday()
            .args(["run", "--quiet", "--report-dir"])
            .arg(&reports)
            .arg(&scenario)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gameday run"),
    );
    wait_for_external_faults(&client).await;

    // The runner is alive: cleanup --all leaves its faults in place.
    let cleanup = gameday()
        .args(["cleanup", "--all", "--report-dir"])
        .arg(&reports)
        .output()
        .expect("cleanup");
    let stdout = String::from_utf8_lossy(&cleanup.stdout);
    assert_eq!(cleanup.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("still running"), "{stdout}");
    assert_eq!(client.toxics("postgres").await.expect("toxics").len(), 1);
    assert!(!client.proxy("cache").await.expect("cache").enabled);

    // --force reverts them anyway; the run notices and says so.
    let forced = gameday()
        .args(["cleanup", "--all", "--force", "--report-dir"])
        .arg(&reports)
        .output()
        .expect("cleanup --force");
    assert_eq!(forced.status.code(), Some(0));
    let run_dir = run_dir(&reports).expect("run folder");
    wait_until(Duration::from_secs(60), "the run noticing", || {
        try_results(&run_dir).is_some_and(|r| {
            r["faults"]
                .as_array()
                .is_some_and(|faults| faults.iter().all(|f| f["lost"].is_string()))
        })
    })
    .await;
    signal(&run.0, libc::SIGTERM);
    let status = wait_for_exit(&mut run.0, Duration::from_secs(60));
    let stderr = stderr_of(&mut run.0);
    assert_eq!(status, Some(3), "{stderr}");
    let results = results(&run_dir);
    let intact: Vec<&serde_json::Value> = results["verdict"]["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["name"].as_str().is_some_and(|n| n.starts_with("intact ")))
        .collect();
    assert_eq!(intact.len(), 2, "{}", results["verdict"]["checks"]);
    assert!(intact.iter().all(|c| c["status"] == "fail"), "{intact:?}");
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_leaves_a_proxy_someone_else_disabled_as_it_found_it() {
    let lab = Lab::start(
        &binaries(),
        &LabOptions::default(),
        gameday::clock::system(),
    )
    .await
    .expect("lab");
    let (_proxy, client) = external_proxy(&lab).await;
    // Another run (or an operator) has taken `cache` down already.
    client.set_enabled("cache", false).await.expect("disable");
    let dir = tempfile::tempdir().expect("temp dir");
    let yaml = std::fs::read_to_string(external_scenario(dir.path(), "second", &lab, &client))
        .expect("scenario")
        .replace("duration: 5m", "duration: 4s")
        .replace("for: 4m", "for: 2s");
    let scenario = dir.path().join("second-short.yaml");
    std::fs::write(&scenario, yaml).expect("write");
    let output = gameday()
        .args(["run", "--quiet", "--report-dir"])
        .arg(dir.path().join("reports"))
        .arg(&scenario)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        !client.proxy("cache").await.expect("cache").enabled,
        "the run enabled a proxy it had not disabled"
    );
    assert!(stdout.contains("already disabled"), "{stdout}");
    lab.stop().await;
}

/// A Toxiproxy API front: the first connection gets a canned answer to its
/// first request, then, on its second request, the connection dies — before
/// (`relay_lost = false`) or after (`true`) relaying that request to the real
/// API. Every later connection is relayed as is.
async fn dying_front(
    api: std::net::SocketAddr,
    relay_lost: bool,
) -> (String, tokio::task::JoinHandle<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let (mut first, _) = listener.accept().await.expect("accept");
        let mut buffer = vec![0u8; 64 * 1024];
        let n = read_request(&mut first, &mut buffer).await;
        assert!(n > 0, "no first request");
        let body = r#"{"version": "2.12.0"}"#;
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        first.write_all(answer.as_bytes()).await.expect("answer");
        let n = read_request(&mut first, &mut buffer).await;
        let reused = n > 0;
        if relay_lost && reused {
            let mut upstream = tokio::net::TcpStream::connect(api)
                .await
                .expect("connect api");
            upstream.write_all(&buffer[..n]).await.expect("relay");
            let mut answer = [0u8; 4096];
            let _ = upstream.read(&mut answer).await;
        }
        drop(first);
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let mut upstream = tokio::net::TcpStream::connect(api).await.expect("connect");
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                });
            }
        });
        reused
    });
    (url, task)
}

/// Reads one small request (head and body) from `stream`; 0 on EOF.
async fn read_request(stream: &mut tokio::net::TcpStream, buffer: &mut [u8]) -> usize {
    let mut n = 0;
    loop {
        let Ok(read) = stream.read(&mut buffer[n..]).await else {
            return n;
        };
        if read == 0 {
            return n;
        }
        n += read;
        let text = String::from_utf8_lossy(&buffer[..n]);
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length = text[..head_end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if n >= head_end + 4 + length {
                return n;
            }
        }
    }
}

#[tokio::test]
async fn an_apply_on_a_dead_kept_alive_connection_goes_out_again_and_is_applied_once() {
    for relay_lost in [false, true] {
        let proxy = RunningProxy::start(ServerConfig::default())
            .await
            .expect("proxy");
        proxy
            .client()
            .expect("client")
            .create_proxy(&NewProxy::new("db", "127.0.0.1:0", "127.0.0.1:9"))
            .await
            .expect("create proxy");
        let (url, front) = dying_front(proxy.api_addr(), relay_lost).await;
        let client = Client::new(&url).expect("client");
        let context = FaultContext {
            toxiproxy: Some(client.clone()),
            toxiproxy_url: Some(url.clone()),
            toxiproxy_owner: ToxiproxyOwner::default(),
            services: None,
            simulators: Default::default(),
            gateways: Default::default(),
            http: reqwest::Client::new(),
        };
        // The first call leaves a kept-alive connection the server then drops.
        client.version().await.expect("version");
        let toxic = latency("gameday-slow-run1", 40);
        context
            .apply(&FaultAction::Toxic {
                proxy: "db".to_owned(),
                toxic: toxic.clone(),
            })
            .await
            .unwrap_or_else(|e| panic!("relay_lost {relay_lost}: the apply failed: {e}"));
        assert!(
            front.await.expect("front"),
            "the apply did not reuse the kept-alive connection"
        );
        let toxics = proxy
            .client()
            .expect("client")
            .toxics("db")
            .await
            .expect("toxics");
        assert_eq!(toxics.len(), 1, "relay_lost {relay_lost}: {toxics:?}");
        assert_eq!(toxics[0].name, "gameday-slow-run1");

        // A toxic of that name with other attributes is someone else's: the
        // apply fails, and says nothing was changed (so nothing is reverted).
        let other = context
            .apply(&FaultAction::Toxic {
                proxy: "db".to_owned(),
                toxic: latency("gameday-slow-run1", 999),
            })
            .await
            .expect_err("a different toxic of the same name");
        assert!(!other.may_have_applied(), "{other}");
        proxy.stop().await.expect("stop");
    }
}

#[test]
fn broken_output_stops_the_run_cleanly_with_every_fault_reverted() {
    let (runtime, lab) = crate::util::lab_on_own_runtime();
    let (_proxy, client) = runtime.block_on(external_proxy(&lab));
    let dir = tempfile::tempdir().expect("temp dir");
    let reports = dir.path().join("reports");
    let scenario = external_scenario(dir.path(), "piped", &lab, &client);
    // `gameday run ... 2>&1 | head -1`: one pipe for both streams, whose
    // reader goes away after the first line.
    let (reader, writer) = std::io::pipe().expect("pipe");
    let mut run = Child(
        gameday()
            .args(["run", "--report-dir"])
            .arg(&reports)
            .arg(&scenario)
            .stdout(writer.try_clone().expect("clone"))
            .stderr(writer)
            .spawn()
            .expect("start gameday run"),
    );
    let mut reader = std::io::BufReader::new(reader);
    let mut first = String::new();
    std::io::BufRead::read_line(&mut reader, &mut first).expect("first line");
    runtime.block_on(wait_for_external_faults(&client));
    drop(reader);
    // The run writes its progress every 10 s, finds the pipe closed, and stops.
    let status = wait_for_exit(&mut run.0, Duration::from_secs(120));
    assert_eq!(status, Some(3), "first line: {first}");
    runtime.block_on(async {
        assert!(client.toxics("postgres").await.expect("toxics").is_empty());
        assert!(client.proxy("cache").await.expect("cache").enabled);
    });
    let results = results(&run_dir(&reports).expect("run folder"));
    assert_eq!(
        results["status"]["state"], "aborted",
        "{}",
        results["status"]
    );
    assert!(
        results["status"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("output closed")),
        "{}",
        results["status"]
    );
    runtime.block_on(lab.stop());
}

#[test]
fn two_runs_of_one_scenario_in_the_same_second_get_folders_of_their_own() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (first, first_dir) =
        gameday::run::journal::claim_run_dir(dir.path(), "same-20261129T051726Z").expect("claim");
    let (second, second_dir) =
        gameday::run::journal::claim_run_dir(dir.path(), "same-20261129T051726Z").expect("claim");
    assert_eq!(first, "same-20261129T051726Z");
    assert_eq!(second, "same-20261129T051726Z-2");
    assert_ne!(first_dir, second_dir);
    assert!(first_dir.is_dir() && second_dir.is_dir());
    // Never an existing folder, whatever is in it.
    std::fs::create_dir(dir.path().join("other-1")).expect("mkdir");
    let (third, _) = gameday::run::journal::claim_run_dir(dir.path(), "other-1").expect("claim");
    assert_eq!(third, "other-1-2");
}
