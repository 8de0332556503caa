//! `gameday cleanup`: reverts what a run left behind after the runner itself
//! died (SIGKILL, a crash, a lost machine), from the run folder's fault
//! journal. Toxics and disabled proxies on a Toxiproxy server, LLM gateway
//! modes and exec faults outlive their runner and are reverted here; managed
//! services and LLM simulators die with their runner (`PR_SET_PDEATHSIG`) and
//! need nothing.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::stale::{self, Pending};
use super::target::CONTROL_TIMEOUT;
use crate::faults::action::{FaultContext, RevertAction};
use crate::faults::toxiproxy::Client;

const AFTER_HELP: &str = "\
Examples:
  gameday cleanup reports/redis-killed-20261129T051726Z
  gameday cleanup --all                      # every run folder under reports/
  gameday cleanup --all --report-dir /tmp/chaos

Exit codes: 0 nothing left applied; 1 something could not be reverted
(it is listed); 2 bad arguments.";

/// Arguments of `gameday cleanup`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Run folders to clean.
    run_dirs: Vec<PathBuf>,
    /// Clean every run folder under --report-dir.
    #[arg(long, conflicts_with = "run_dirs")]
    all: bool,
    /// Where run folders are (with --all).
    #[arg(long, default_value = "reports")]
    report_dir: PathBuf,
}

/// What cleaning one run folder did.
#[derive(Debug, Default)]
pub struct Cleaned {
    /// Reverted now.
    pub reverted: Vec<String>,
    /// Nothing to do (died with the runner).
    pub gone: Vec<String>,
    /// Could not be reverted.
    pub failed: Vec<String>,
}

/// Runs the subcommand; returns the exit code.
pub async fn run(args: Args) -> anyhow::Result<u8> {
    let dirs: Vec<PathBuf> = if args.all {
        stale::scan(&args.report_dir)?
            .into_iter()
            .map(|(dir, _)| dir)
            .collect()
    } else {
        anyhow::ensure!(
            !args.run_dirs.is_empty(),
            "name run folders to clean, or pass --all"
        );
        args.run_dirs.clone()
    };
    let mut failed = false;
    if dirs.is_empty() {
        println!("nothing to clean under {}", args.report_dir.display());
    }
    for dir in dirs {
        let cleaned = clean(&dir).await?;
        for line in &cleaned.reverted {
            println!("reverted  {line}");
        }
        for line in &cleaned.gone {
            println!("gone      {line}");
        }
        for line in &cleaned.failed {
            println!("FAILED    {line}");
        }
        if cleaned.reverted.is_empty() && cleaned.gone.is_empty() && cleaned.failed.is_empty() {
            println!("clean     {}", dir.display());
        }
        failed |= !cleaned.failed.is_empty();
    }
    Ok(if failed { 1 } else { 0 })
}

/// Reverts every pending fault of `run_dir`, newest first, and journals it.
pub async fn clean(run_dir: &Path) -> anyhow::Result<Cleaned> {
    anyhow::ensure!(
        run_dir.join("faults.jsonl").is_file(),
        "{} is not a run folder (no faults.jsonl)",
        run_dir.display()
    );
    let mut pending = stale::pending(run_dir)?;
    pending.reverse();
    let mut cleaned = Cleaned::default();
    for fault in pending {
        let description = fault.describe();
        if !fault.outlives_runner() {
            journal_line(run_dir, &fault, "reverted", Some("gone with its runner"))?;
            cleaned
                .gone
                .push(format!("{description}: ended with the runner's lab"));
            continue;
        }
        match revert(&fault).await {
            Ok(()) => {
                journal_line(run_dir, &fault, "reverted", Some("by gameday cleanup"))?;
                cleaned.reverted.push(description);
            }
            Err(error) => {
                journal_line(run_dir, &fault, "revert_failed", Some(&error))?;
                cleaned.failed.push(format!("{description}: {error}"));
            }
        }
    }
    Ok(cleaned)
}

async fn revert(fault: &Pending) -> Result<(), String> {
    let toxiproxy_url = match &fault.revert {
        RevertAction::RemoveToxic { toxiproxy, .. }
        | RevertAction::EnableProxy { toxiproxy, .. } => Some(toxiproxy.clone()),
        _ => None,
    };
    let toxiproxy = match &toxiproxy_url {
        Some(url) => Some(
            Client::new(url)
                .map_err(|e| e.to_string())?
                .with_timeout(CONTROL_TIMEOUT),
        ),
        None => None,
    };
    let context = FaultContext {
        toxiproxy,
        toxiproxy_url,
        services: None,
        simulators: Default::default(),
        gateways: Default::default(),
        http: reqwest::Client::builder()
            .timeout(CONTROL_TIMEOUT)
            .build()
            .map_err(|e| e.to_string())?,
    };
    context
        .revert(&fault.revert)
        .await
        .map_err(|e| e.to_string())
}

fn journal_line(
    run_dir: &Path,
    fault: &Pending,
    event: &str,
    note: Option<&str>,
) -> std::io::Result<()> {
    let line = serde_json::json!({
        "event": event,
        "fault": fault.fault,
        "revert": fault.revert,
        "t": serde_json::Value::Null,
        "error": note,
    });
    let mut file = std::fs::File::options()
        .append(true)
        .open(run_dir.join("faults.jsonl"))?;
    writeln!(file, "{line}")?;
    file.sync_data()
}
