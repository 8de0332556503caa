//! The `gameday` command line: parses arguments, sets up logging and the
//! runtime, and hands each subcommand to the module that owns it. Errors are
//! printed with their whole cause chain.
//!
//! Exit codes (a contract scripts and CI jobs rely on):
//! 0 success; 1 a check failed; 2 invalid input or setup error;
//! 3 aborted by a halt condition.

use std::io::IsTerminal;
use std::process::ExitCode;

use gameday::exit::Exit;

use clap::{Parser, Subcommand};

use gameday::lab;

const AFTER_HELP: &str = "\
Exit codes:
  0  success: every check passed, or some were inconclusive and none failed
  1  a check failed (or was inconclusive where the scenario requires conclusiveness,
     or with `gameday run --fail-on-inconclusive`)
  2  invalid input or setup error (bad arguments, a missing binary, a port in use)
  3  aborted by a halt condition or a signal (faults are rolled back first)

Logs go to stderr; set RUST_LOG (e.g. RUST_LOG=gameday=debug) for more detail.";

/// A chaos-engineering game-day runner for AI-agent platforms.
///
/// gameday injects faults (killed Redis, slow PostgreSQL, LLM provider outages,
/// 429 storms) into a platform under synthetic agent traffic and checks that it
/// degrades the way it promised and stays inside its error budget.
#[derive(Debug, Parser)]
#[command(name = "gameday", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run game days: scenario files (or folders of them), each to a verdict and a report.
    Run(gameday::run::cli::Args),
    /// Check scenario files: every problem of every file, with file:line:col.
    ///
    /// Exits 2 if any file is invalid, else prints "ok: N scenarios".
    /// `--plan` prints each scenario's resolved timeline and, per rate check,
    /// whether its phase is long enough to pass; nothing is started.
    Validate(gameday::cli_validate::ValidateArgs),
    /// Print the JSON Schema of scenario files (for editor completion and checks).
    Schema(gameday::cli_validate::SchemaArgs),
    /// Re-render a run's report.html (and junit.xml) from its results.json, or write reports/index.html.
    Report(gameday::report::cli::Args),
    /// Revert what a run left behind after the runner itself died, from its fault journal.
    Cleanup(gameday::run::cleanup::Args),
    /// Bring up the whole built-in lab (Redis, PostgreSQL, two LLM simulators, the platform, Prometheus when installed) until Ctrl-C.
    Lab(lab::lab_cli::Args),
    /// Run a short end-to-end game day against the built-in lab and write its results.
    ///
    /// Starts real Redis and PostgreSQL processes, two LLM provider simulators
    /// and the reference platform, drives chat traffic, kills Redis, fails the
    /// primary LLM provider, checks the platform degrades and recovers, and
    /// writes reports/<run-id>/smoke.json.
    Smoke(gameday::smoke::Args),
    /// Serve the reference agent platform (the system under test).
    Platform(lab::platform::cli::Args),
    /// Serve an OpenAI- and Anthropic-compatible LLM provider simulator.
    #[command(name = "llm-sim")]
    LlmSim(lab::llm_sim::cli::Args),
    /// Serve a fault-injecting gateway in front of a real LLM provider (staging LLM outages).
    #[command(name = "llm-proxy")]
    LlmProxy(lab::llm_proxy::cli::Args),
    /// Serve the Toxiproxy-compatible fault proxy (HTTP API on 127.0.0.1:8474).
    Proxy(lab::proxy::cli::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    // Servers and the traffic generator hold a descriptor per connection.
    gameday::fd_limit::raise_soft_to_hard();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return gameday::exit::Exit::Error.into();
        }
    };
    let outcome = runtime.block_on(async {
        // Long runs and servers must not ratchet up resident memory after
        // every burst of requests in flight (see gameday::memory).
        let _trimmer = gameday::memory::spawn_trimmer(gameday::memory::TRIM_EVERY);
        match cli.command {
            Command::Run(args) => gameday::run::cli::run(args).await,
            Command::Cleanup(args) => gameday::run::cleanup::run(args).await,
            Command::Smoke(args) => gameday::smoke::run(args).await,
            Command::Report(args) => gameday::report::cli::run(args).await,
            Command::Lab(args) => lab::lab_cli::run(args).await.map(|()| Exit::Passed),
            Command::Validate(args) => gameday::cli_validate::run_validate(args),
            Command::Schema(args) => gameday::cli_validate::run_schema(args),
            Command::Platform(args) => lab::platform::cli::run(args).await.map(|()| Exit::Passed),
            Command::LlmSim(args) => lab::llm_sim::cli::run(args).await.map(|()| Exit::Passed),
            Command::LlmProxy(args) => lab::llm_proxy::cli::run(args).await.map(|()| Exit::Passed),
            Command::Proxy(args) => lab::proxy::cli::run(args).await.map(|()| Exit::Passed),
        }
    });
    match outcome {
        Ok(exit) => exit.into(),
        Err(error) => {
            gameday::errln!("error: {error:#}");
            Exit::Error.into()
        }
    }
}

/// Logs on stderr, coloured only when stderr is a terminal (a log file or a
/// CI log gets plain text, no escape codes).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,gameday::run=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(gameday::console::log_writer)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}
