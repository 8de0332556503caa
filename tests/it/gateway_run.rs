//! `gameday run` against an external target whose LLM providers sit behind
//! `gameday llm-proxy` gateways: the reference platform, two simulators and
//! a gateway in front of each, all started in this process on loopback; the
//! real `gameday` binary runs the bundled
//! `scenarios/external/llm-gateway-outage.yaml` (its URLs pointed at them),
//! is interrupted mid-fault, meets a dead gateway; `gameday validate` checks
//! the gateway names an `llm` fault uses.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use gameday::lab::llm_proxy::{ProxyConfig, Rule, RunningProxy};
use gameday::lab::llm_sim::{Mode, RunningSim, SimConfig};
use gameday::lab::platform::config::PlatformConfig;
use gameday::lab::platform::llm::{ApiKind, ProviderConfig};
use gameday::lab::platform::server::RunningPlatform;
use gameday::lab::services::service::url_for;
use gameday::lab::services::{ManagedService, ServiceKind};
use serde_json::Value;
use tokio::time::Instant;

use crate::util::binaries;

fn gameday() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gameday"))
}

/// A child process killed when dropped (a failing test leaves nothing running).
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One stack at a time: two platforms under load on a small machine turn
/// each other's health checks slow (degraded), and the preflight refuses.
static ONE_STACK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The reference platform whose providers' base URLs are two gateways, each
/// in front of a simulator.
struct Stack {
    redis: ManagedService,
    postgres: ManagedService,
    primary: RunningSim,
    fallback: RunningSim,
    primary_gateway: RunningProxy,
    fallback_gateway: RunningProxy,
    platform: RunningPlatform,
}

impl Stack {
    async fn start() -> Stack {
        let binaries = binaries();
        let (redis, postgres) = tokio::join!(
            ManagedService::start_redis(&binaries),
            ManagedService::start_postgres(&binaries)
        );
        let (redis, postgres) = (redis.expect("redis"), postgres.expect("postgres"));
        let sim = |name: &str, seed| SimConfig {
            seed: Some(seed),
            mode: Mode::Healthy,
            name: name.to_owned(),
            ..SimConfig::default()
        };
        let primary = RunningSim::start(sim("primary", 1)).await.expect("sim");
        let fallback = RunningSim::start(sim("fallback", 2)).await.expect("sim");
        let gateway = |name: &str, upstream: String| {
            let mut config = ProxyConfig::new(upstream);
            config.name = name.to_owned();
            config.seed = Some(3);
            RunningProxy::start(config)
        };
        let primary_gateway = gateway("primary", primary.url()).await.expect("gw");
        let fallback_gateway = gateway("fallback", fallback.url()).await.expect("gw");
        let providers = vec![
            ProviderConfig {
                name: "primary".to_owned(),
                kind: ApiKind::OpenAi,
                base_url: primary_gateway.url(),
                model: "gpt-4o-mini".to_owned(),
                api_key: None,
            },
            ProviderConfig {
                name: "fallback".to_owned(),
                kind: ApiKind::Anthropic,
                base_url: fallback_gateway.url(),
                model: "claude-3-5-haiku-latest".to_owned(),
                api_key: None,
            },
        ];
        // The lab's breaker and failover tuning (src/lab/stack.rs), so
        // transitions show quickly.
        let mut config = PlatformConfig::new(
            url_for(ServiceKind::Redis, redis.addr(), redis.password()),
            url_for(ServiceKind::Postgres, postgres.addr(), postgres.password()),
            providers,
        );
        config.failover.breaker.failure_threshold = 3;
        config.failover.breaker.recovery_timeout = Duration::from_secs(3);
        config.failover.attempt_timeout = Duration::from_secs(2);
        config.failover.deadline = Duration::from_secs(6);
        config.health.interval = Duration::from_millis(250);
        // Generous latency tolerances: these tests are about the gateways,
        // and a busy machine must not make the preflight see a slow
        // database or Redis as degraded.
        config.timeouts.database = Duration::from_secs(5);
        config.timeouts.redis = Duration::from_secs(2);
        config.health.database_degraded_after = Duration::from_secs(2);
        config.health.redis_degraded_after = Duration::from_secs(2);
        config.health.llm_degraded_after = Duration::from_secs(5);
        config.health.check_timeout = Duration::from_secs(3);
        config.health.llm_probe_interval = Duration::from_secs(2);
        let platform = RunningPlatform::start(config, gameday::clock::system())
            .await
            .expect("platform");
        Stack {
            redis,
            postgres,
            primary,
            fallback,
            primary_gateway,
            fallback_gateway,
            platform,
        }
    }

    /// The bundled external game day, pointed at this stack.
    fn scenario(&self, dir: &Path, long: bool) -> PathBuf {
        let bundled = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("scenarios")
                .join("external")
                .join("llm-gateway-outage.yaml"),
        )
        .expect("read the bundled scenario");
        let mut text = bundled
            .replace("http://127.0.0.1:8700", &self.platform.url())
            .replace("http://127.0.0.1:8611", &self.primary_gateway.url())
            .replace("http://127.0.0.1:8612", &self.fallback_gateway.url());
        if long {
            text = text
                .replace("for: 40s", "for: 4m")
                .replace("duration: 100s", "duration: 5m");
        }
        let path = dir.join("gateway.yaml");
        std::fs::write(&path, text).expect("write scenario");
        path
    }

    async fn stop(self) {
        self.platform.stop().await;
        self.primary_gateway.stop().await;
        self.fallback_gateway.stop().await;
        self.primary.stop().await;
        self.fallback.stop().await;
        let mut redis = self.redis;
        let mut postgres = self.postgres;
        let _ = redis.stop().await;
        let _ = postgres.stop().await;
    }
}

/// The mode a gateway reports on its admin API.
async fn admin_mode(gateway: &RunningProxy) -> Value {
    reqwest::get(format!("{}/admin/mode", gateway.url()))
        .await
        .expect("GET /admin/mode")
        .json()
        .await
        .expect("a mode")
}

fn results(reports: &Path) -> Value {
    let run_dir = std::fs::read_dir(reports)
        .expect("reports dir")
        .filter_map(Result::ok)
        .find(|e| e.path().is_dir())
        .expect("a run folder")
        .path();
    serde_json::from_slice(&std::fs::read(run_dir.join("results.json")).expect("results.json"))
        .expect("valid JSON")
}

async fn output(mut command: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || command.output().expect("run gameday"))
        .await
        .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_outage_through_its_gateway_fails_over_and_the_gateway_ends_healthy() {
    let _one = ONE_STACK.lock().await;
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = stack.scenario(dir.path(), false);
    let reports = dir.path().join("reports");
    let mut command = gameday();
    command
        .args(["run", "--quick", "--quiet", "--report-dir"])
        .arg(&reports)
        .arg(&scenario);
    let ran = output(command).await;
    let stderr = String::from_utf8_lossy(&ran.stderr).into_owned();
    let results = results(&reports);
    assert_eq!(
        ran.status.code(),
        Some(0),
        "stderr: {stderr}\nchecks: {}",
        results["verdict"]
    );
    let fault = &results["faults"][0];
    assert!(fault["applied_at_s"].is_number(), "{fault}");
    assert!(fault["reverted_at_s"].is_number(), "{fault}");
    let effect = fault["effect"]["detail"].as_str().unwrap_or_default();
    assert!(
        effect.contains("gateway primary injected errors into"),
        "{effect}"
    );
    // The gateway really failed requests, and is back as it was.
    let stats = stack.primary_gateway.stats();
    assert!(
        stats.injected.get("errors").copied().unwrap_or(0) > 0,
        "{stats:?}"
    );
    assert_eq!(stats.mode, Rule::all(Mode::Healthy));
    assert_eq!(admin_mode(&stack.primary_gateway).await["mode"], "healthy");
    assert_eq!(admin_mode(&stack.fallback_gateway).await["mode"], "healthy");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_mid_fault_exits_3_with_the_gateway_back_to_healthy() {
    let _one = ONE_STACK.lock().await;
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = stack.scenario(dir.path(), true);
    let reports = dir.path().join("reports");
    let mut run = Child(
        gameday()
            .args(["run", "--quick", "--quiet", "--report-dir"])
            .arg(&reports)
            .arg(&scenario)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gameday run"),
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if admin_mode(&stack.primary_gateway).await["mode"] == "errors" {
            break;
        }
        if let Ok(Some(status)) = run.0.try_wait() {
            let mut stderr = String::new();
            if let Some(mut pipe) = run.0.stderr.take() {
                use std::io::Read;
                let _ = pipe.read_to_string(&mut stderr);
            }
            panic!("the run ended ({status}) before the fault: {stderr}");
        }
        assert!(Instant::now() < deadline, "the fault was never applied");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(run.0.id() as i32, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Ok(Some(status)) = run.0.try_wait() {
            break status.code();
        }
        assert!(Instant::now() < deadline, "the run did not exit");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = run.0.stderr.take() {
        use std::io::Read;
        let _ = pipe.read_to_string(&mut stderr);
    }
    assert_eq!(status, Some(3), "stderr: {stderr}");
    assert_eq!(admin_mode(&stack.primary_gateway).await["mode"], "healthy");
    let results = results(&reports);
    assert_eq!(
        results["status"]["state"], "aborted",
        "{}",
        results["status"]
    );
    let fault = &results["faults"][0];
    assert!(fault["reverted_at_s"].is_number(), "{fault}");
    assert!(fault.get("revert_error").is_none(), "{fault}");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_gateway_is_a_setup_error_and_nothing_is_applied() {
    let sim = RunningSim::start(SimConfig::default()).await.expect("sim");
    let gateway = RunningProxy::start(ProxyConfig::new(sim.url()))
        .await
        .expect("gateway");
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", listener.local_addr().expect("addr"))
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = dir.path().join("dead.yaml");
    std::fs::write(
        &scenario,
        format!(
            "name: dead\ntarget:\n  url: http://127.0.0.1:9\n  llm_proxies: {{ primary: {}, fallback: {dead} }}\n\
             traffic: {{ rate: 5/s, warmup: 1s, duration: 20s }}\ntimeline:\n  - name: primary-down\n    at: 1s\n    for: 5s\n    \
             fault: {{ llm: primary, mode: {{ mode: errors }} }}\n",
            gateway.url()
        ),
    )
    .expect("write");
    let mut command = gameday();
    command
        .args(["run", "--quiet", "--report-dir"])
        .arg(dir.path().join("reports"))
        .arg(&scenario);
    let ran = output(command).await;
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert_eq!(ran.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("LLM gateway `fallback`") && stderr.contains("does not answer"),
        "{stderr}"
    );
    assert_eq!(gateway.stats().mode, Rule::all(Mode::Healthy));
    assert_eq!(gateway.stats().requests, 0);
    gateway.stop().await;
    sim.stop().await;
}

#[test]
fn validate_checks_the_gateway_an_llm_fault_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    let external = dir.path().join("external.yaml");
    std::fs::write(
        &external,
        "name: external\ntarget:\n  url: http://127.0.0.1:8700\n  llm_proxies: { primary: http://127.0.0.1:8611, fallback: \"${FALLBACK_GATEWAY}\" }\n\
         traffic: { rate: 10/s, duration: 30s }\ntimeline:\n  - name: a\n    at: 5s\n    for: 5s\n    \
         fault: { llm: primray, mode: { mode: errors, match: { model: gpt-4o } } }\n  - name: b\n    at: 5s\n    for: 5s\n    \
         fault: { llm: { provider: fallback, mode: hang } }\n",
    )
    .expect("write");
    let no_gateways = dir.path().join("none.yaml");
    std::fs::write(
        &no_gateways,
        "name: none\ntarget: { url: http://127.0.0.1:8700 }\ntraffic: { rate: 10/s, duration: 30s }\n\
         timeline:\n  - { name: a, at: 5s, for: 5s, fault: { llm: primary, mode: hang } }\n",
    )
    .expect("write");
    let lab = dir.path().join("lab.yaml");
    std::fs::write(
        &lab,
        "name: lab\ntarget: lab\ntraffic: { rate: 10/s, duration: 30s }\ntimeline:\n  - name: a\n    at: 5s\n    for: 5s\n    \
         fault: { llm: primary, mode: { mode: errors, match: { model: gpt-4o } } }\n",
    )
    .expect("write");
    let validate = |file: &Path| {
        let output = gameday()
            .arg("validate")
            .arg(file)
            .output()
            .expect("run gameday validate");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };

    let (code, stderr) = validate(&external);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("no LLM gateway `primray` in `target.llm_proxies`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("external.yaml:10:"),
        "not located: {stderr}"
    );
    assert!(
        stderr.contains("did you mean `primary`? known gateways: `fallback`, `primary`"),
        "{stderr}"
    );
    // One problem only: the nested form and the `${VAR}` URL are fine.
    assert!(stderr.contains("(1 problem)"), "{stderr}");

    let (code, stderr) = validate(&no_gateways);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("declares no LLM gateways"), "{stderr}");

    let (code, stderr) = validate(&lab);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("`match` needs a `gameday llm-proxy` gateway"),
        "{stderr}"
    );
    assert!(stderr.contains("lab.yaml:8:"), "not located: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_mode_left_by_a_killed_runner_blocks_runs_until_cleanup_restores_it() {
    let sim = RunningSim::start(SimConfig::default()).await.expect("sim");
    let gateway = RunningProxy::start(ProxyConfig::new(sim.url()))
        .await
        .expect("gateway");
    // What the runner read before applying: a mode with a match.
    let before =
        Rule::parse(r#"{"mode":"overloaded","rate":1.0,"match":{"model":"other"}}"#).expect("rule");
    gateway.set_mode(Rule::all(Mode::Hang));
    let dir = tempfile::tempdir().expect("temp dir");
    let run_dir = dir.path().join("killed-run");
    std::fs::create_dir(&run_dir).expect("run dir");
    let line = serde_json::json!({
        "event": "applied",
        "fault": "primary-down",
        "revert": {"revert": "gateway_mode", "admin_url": gateway.url(), "mode": before},
        "t": 1.0,
        "error": null,
    });
    std::fs::write(run_dir.join("faults.jsonl"), format!("{line}\n")).expect("journal");
    // A new run on that gateway refuses to start until the mode is restored.
    let scenario = dir.path().join("again.yaml");
    std::fs::write(
        &scenario,
        format!(
            "name: again\ntarget: {{ url: http://127.0.0.1:9, llm_proxies: {{ primary: {} }} }}\n\
             traffic: {{ rate: 1/s, duration: 20s }}\ntimeline:\n  \
             - {{ name: a, at: 1s, for: 5s, fault: {{ llm: primary, mode: hang }} }}\n",
            gateway.url()
        ),
    )
    .expect("write");
    let mut command = gameday();
    command
        .args(["run", "--quiet", "--report-dir"])
        .arg(dir.path())
        .arg(&scenario);
    let refused = output(command).await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("an earlier run left faults applied") && stderr.contains("LLM gateway"),
        "{stderr}"
    );
    assert_eq!(gateway.stats().mode, Rule::all(Mode::Hang));
    let mut command = gameday();
    command.arg("cleanup").arg(&run_dir);
    let ran = output(command).await;
    let stdout = String::from_utf8_lossy(&ran.stdout);
    assert_eq!(ran.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("LLM gateway"), "{stdout}");
    assert_eq!(gateway.stats().mode, before);
    gateway.stop().await;
    sim.stop().await;
}
