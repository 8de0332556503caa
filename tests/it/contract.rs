//! `gameday run` against platforms written from docs/platform-contract.md
//! alone (small axum servers, not the reference platform), and the setup
//! errors a user meets first: what the terminal says, and in what order.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::util::loopback_listener;

/// How the contract platform answers history reads.
#[derive(Clone, Copy)]
enum History {
    /// 200 with the turns for a conversation it has seen a turn of, 404
    /// with the contract's error body for any other id.
    NotFoundWhenUnknown,
    /// 500 `db_down` for every read.
    Broken,
}

/// What the contract platform saw.
#[derive(Default)]
struct Seen {
    written: HashSet<String>,
    read: HashSet<String>,
}

#[derive(Clone)]
struct Platform {
    history: History,
    seen: Arc<Mutex<Seen>>,
}

fn error_body(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

async fn chat(State(platform): State<Platform>, axum::Json(body): axum::Json<Value>) -> Response {
    let id = body["conversation_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    platform
        .seen
        .lock()
        .expect("seen")
        .written
        .insert(id.clone());
    axum::Json(json!({
        "conversation_id": id, "reply": "ok", "provider": "primary", "model": "m",
        "usage": {"input_tokens": 3, "output_tokens": 2}, "cached": false, "degraded": []
    }))
    .into_response()
}

async fn conversation(State(platform): State<Platform>, UrlPath(id): UrlPath<String>) -> Response {
    let known = {
        let mut seen = platform.seen.lock().expect("seen");
        seen.read.insert(id.clone());
        seen.written.contains(&id)
    };
    match platform.history {
        History::Broken => error_body(
            StatusCode::INTERNAL_SERVER_ERROR,
            "db_down",
            "the database is down",
        ),
        History::NotFoundWhenUnknown if !known => error_body(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("no conversation {id}"),
        ),
        History::NotFoundWhenUnknown => axum::Json(json!({
            "conversation_id": id, "turns": [], "source": "postgres", "degraded": []
        }))
        .into_response(),
    }
}

/// Serves the contract's routes on a free loopback port.
async fn start_platform(history: History) -> (SocketAddr, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let state = Platform {
        history,
        seen: Arc::clone(&seen),
    };
    let router = axum::Router::new()
        .route("/v1/chat", axum::routing::post(chat))
        .route("/v1/conversations/{id}", axum::routing::get(conversation))
        .route(
            "/health",
            axum::routing::get(|| async {
                axum::Json(json!({"status": "healthy", "components": [
                    {"name": "database", "status": "healthy"}]}))
            }),
        )
        .route(
            "/capabilities",
            axum::routing::get(|| async {
                axum::Json(json!({"chat": true, "streaming": true,
                    "conversation_history": true, "analytics": true, "caching": true,
                    "real_time_usage": true}))
            }),
        )
        .route(
            "/breakers",
            axum::routing::get(|| async {
                axum::Json(json!({"providers": [{"provider": "primary", "state": "closed"}]}))
            }),
        )
        .with_state(state);
    let (listener, address) = loopback_listener().await;
    tokio::spawn(async move { axum::serve(listener, router).await });
    (address, seen)
}

/// What a finished `gameday run` left: exit code, stdout and stderr
/// interleaved in the order written, and results.json.
struct Ran {
    code: Option<i32>,
    output: String,
    results: Value,
}

/// Runs the real binary on `yaml` (with `env`), stdout and stderr into one file.
fn run(dir: &Path, yaml: &str, env: &[(&str, &str)]) -> Ran {
    let scenario = dir.join("scenario.yaml");
    std::fs::write(&scenario, yaml).expect("write scenario");
    let log = dir.join("output.log");
    let file = std::fs::File::create(&log).expect("output file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_gameday"));
    command
        .args(["run", "--quiet", "--seed", "3", "--report-dir"])
        .arg(dir.join("reports"))
        .arg(&scenario)
        .env_remove("GAMEDAY_UNSET_FOR_TEST")
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("clone"))
        .stderr(file);
    for (name, value) in env {
        command.env(name, value);
    }
    let status = command.status().expect("run gameday");
    let output = String::from_utf8_lossy(&std::fs::read(&log).expect("read output")).into_owned();
    let results = run_folder(&dir.join("reports"))
        .map(|folder| {
            serde_json::from_slice(&std::fs::read(folder.join("results.json")).expect("results"))
                .expect("valid JSON")
        })
        .unwrap_or(Value::Null);
    Ran {
        code: status.code(),
        output,
        results,
    }
}

fn run_folder(reports: &Path) -> Option<PathBuf> {
    std::fs::read_dir(reports)
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.is_dir())
}

fn phase<'a>(results: &'a Value, name: &str) -> &'a Value {
    results["traffic"]["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no phase {name}"))
}

/// The line of `output` holding `needle`, by position.
fn line_of(output: &str, needle: &str) -> usize {
    output
        .lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{output}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_answering_404_for_unknown_conversations_passes_the_preflight() {
    let (address, seen) = start_platform(History::NotFoundWhenUnknown).await;
    let dir = tempfile::tempdir().expect("temp dir");
    // Half the requests read history, over a pool of 300 conversations:
    // most warm-up reads would be of conversations never written to.
    let yaml = format!(
        "name: contract-404\ntarget:\n  url: http://{address}\n\
         traffic: {{ rate: 40/s, warmup: 3s, duration: 3s, timeout: 5s, conversations: 300, \
         mix: {{ chat: 50, history: 50 }} }}\n"
    );
    let ran = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || run(&dir, &yaml, &[("RUST_LOG", "trace")])
    })
    .await
    .expect("run task");
    assert_eq!(ran.code, Some(0), "{}", tail(&ran.output));
    assert_eq!(ran.results["status"]["state"], "completed");
    for name in ["warmup", "run"] {
        let history = &phase(&ran.results, name)["operations"]["history"]["outcomes"];
        assert_eq!(history["http_error"], 0, "{name}: {history}");
        assert!(
            history["ok"].as_u64().unwrap_or(0) > 10,
            "{name}: {history}"
        );
    }
    // gameday read only conversations it had written to.
    let seen = seen.lock().expect("seen");
    let never_written: Vec<&String> = seen.read.difference(&seen.written).collect();
    assert!(!seen.read.is_empty());
    assert!(
        never_written.is_empty(),
        "read but never written: {never_written:?}"
    );
    // Logs reach stderr (a file here) without colour codes.
    assert!(ran.output.contains("TRACE") || ran.output.contains("DEBUG"));
    assert!(!ran.output.contains('\u{1b}'), "escape codes in a log file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_preflight_names_its_failures_first_in_the_terminal_and_the_results() {
    let (address, _seen) = start_platform(History::Broken).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let yaml = format!(
        "name: contract-broken-history\ntarget:\n  url: http://{address}\n\
         traffic: {{ rate: 40/s, warmup: 2s, duration: 3s, timeout: 5s, \
         mix: {{ chat: 50, history: 50 }} }}\n"
    );
    let ran = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || run(&dir, &yaml, &[])
    })
    .await
    .expect("run task");
    assert_eq!(ran.code, Some(2), "{}", ran.output);
    let named = "history HTTP 500 db_down: the database is down";
    let reason = line_of(&ran.output, named);
    assert!(
        ran.output
            .lines()
            .nth(reason)
            .expect("line")
            .starts_with("error: ")
    );
    assert!(
        reason < line_of(&ran.output, ": ERROR (see the reason above"),
        "{}",
        ran.output
    );
    let message = ran.results["status"]["message"].as_str().expect("message");
    assert!(message.contains(named), "{message}");
    let failures = &phase(&ran.results, "warmup")["failures"];
    assert_eq!(failures[0]["operation"], "history", "{failures}");
    assert_eq!(failures[0]["status"], 500);
    assert_eq!(failures[0]["code"], "db_down");
    assert!(failures[0]["count"].as_u64().unwrap_or(0) > 5, "{failures}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_errors_print_their_reason_first_and_exit_2() {
    let (address, _seen) = start_platform(History::NotFoundWhenUnknown).await;
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
        // Dropped: nothing listens there any more.
    };
    let tls = TlsServer::start();
    let cases = [
        (
            format!(
                "name: unset-var\ntarget:\n  url: http://{address}\n  headers: \
                 {{ Authorization: \"Bearer ${{GAMEDAY_UNSET_FOR_TEST}}\" }}\n\
                 traffic: {{ rate: 10/s, warmup: 1s, duration: 2s }}\n"
            ),
            "GAMEDAY_UNSET_FOR_TEST",
        ),
        (
            format!(
                "name: dead-toxiproxy\ntarget:\n  url: http://{address}\ntoxiproxy: http://{dead}\n\
                 traffic: {{ rate: 10/s, warmup: 1s, duration: 2s }}\n"
            ),
            "does not answer",
        ),
        (
            format!(
                "name: bad-certificate\ntarget:\n  url: https://127.0.0.1:{}\n\
                 traffic: {{ rate: 10/s, warmup: 2s, duration: 2s, timeout: 3s }}\n",
                tls.port
            ),
            "certificate problem",
        ),
    ];
    for (yaml, reason) in cases {
        let dir = tempfile::tempdir().expect("temp dir");
        let ran = tokio::task::spawn_blocking({
            let dir = dir.path().to_owned();
            move || run(&dir, &yaml, &[])
        })
        .await
        .expect("run task");
        assert_eq!(ran.code, Some(2), "{reason}: {}", ran.output);
        let line = line_of(&ran.output, reason);
        assert!(
            ran.output
                .lines()
                .nth(line)
                .expect("line")
                .starts_with("error: "),
            "{}",
            ran.output
        );
        assert!(
            line < line_of(&ran.output, ": ERROR (see the reason above"),
            "{}",
            ran.output
        );
    }
}

/// The last lines of a long output.
fn tail(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// `openssl s_server` with a fresh self-signed certificate: a real TLS
/// server whose certificate no client trusts.
struct TlsServer {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl TlsServer {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let openssl = |args: &[&str]| {
            let mut command = Command::new("openssl");
            command
                .args(args)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            command
        };
        let made = openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
        ])
        .status()
        .expect("this test needs the `openssl` command to make a self-signed certificate");
        assert!(made.success(), "openssl req failed");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = openssl(&[
            "s_server",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-cert",
            "cert.pem",
            "-key",
            "key.pem",
            "-www",
            "-quiet",
        ])
        .spawn()
        .expect("start openssl s_server");
        let server = Self {
            child,
            port,
            _dir: dir,
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "openssl s_server did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
