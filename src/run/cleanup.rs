//! `gameday cleanup`: reverts what a run left behind after the runner itself
//! died (SIGKILL, a crash, a lost machine), from the run folder's fault
//! journal. Toxics and disabled proxies on an external Toxiproxy server, LLM
//! gateway modes and exec faults outlive their runner and are reverted here; managed services,
//! LLM simulators and the lab's embedded proxy died with their runner
//! (`PR_SET_PDEATHSIG`, or in-process), so their faults are marked resolved
//! ("gone with the runner") and nothing is sent.
//!
//! Never the wrong target: a run whose runner is still alive (its pid and
//! start time, from results.json) is skipped unless `--force`, and a revert
//! goes to a Toxiproxy address only while the server there is the one the
//! journal recorded (its instance id, for `gameday proxy`).

use std::path::{Path, PathBuf};

use super::journal::{FaultEvent, FaultEventKind};
use super::stale::{self, Pending};
use super::target::CONTROL_TIMEOUT;
use crate::faults::action::{FaultContext, RevertAction, ToxiproxyOwner};
use crate::faults::toxiproxy::Client;

const AFTER_HELP: &str = "\
Examples:
  gameday cleanup reports/redis-killed-20261129T051726Z
  gameday cleanup --all                      # every run folder under reports/
  gameday cleanup --all --report-dir /tmp/chaos

A run whose runner is still alive is skipped (its faults are in use), unless
--force.

Exit codes: 0 nothing left applied by a dead runner; 1 something could not be
reverted (it is listed); 2 bad arguments.";

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
    /// Also revert the faults of runs whose runner is still alive.
    #[arg(long)]
    force: bool,
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
    /// Set when the run was left alone because its runner is alive.
    pub running: Option<String>,
}

/// Runs the subcommand; returns the exit code.
pub async fn run(args: Args) -> anyhow::Result<crate::exit::Exit> {
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
        crate::outln!("nothing to clean under {}", args.report_dir.display());
    }
    for dir in dirs {
        let cleaned = clean(&dir, args.force).await?;
        if let Some(line) = &cleaned.running {
            crate::outln!("running   {line}");
            continue;
        }
        for line in &cleaned.reverted {
            crate::outln!("reverted  {line}");
        }
        for line in &cleaned.gone {
            crate::outln!("gone      {line}");
        }
        for line in &cleaned.failed {
            crate::outln!("FAILED    {line}");
        }
        if cleaned.reverted.is_empty() && cleaned.gone.is_empty() && cleaned.failed.is_empty() {
            crate::outln!("clean     {}", dir.display());
        }
        failed |= !cleaned.failed.is_empty();
    }
    Ok(crate::exit::Exit::passed_if(!failed))
}

/// Reverts every pending fault of `run_dir`, newest first, and journals it;
/// leaves the run alone while its runner is alive, unless `force`.
pub async fn clean(run_dir: &Path, force: bool) -> anyhow::Result<Cleaned> {
    anyhow::ensure!(
        run_dir.join("faults.jsonl").is_file(),
        "{} is not a run folder (no faults.jsonl)",
        run_dir.display()
    );
    let mut cleaned = Cleaned::default();
    if !force && let Some(runner) = stale::live_runner(run_dir) {
        cleaned.running = Some(format!(
            "{}: its runner (pid {}) is still running; left alone (--force reverts anyway)",
            run_dir.display(),
            runner.pid
        ));
        return Ok(cleaned);
    }
    let lab_run = ran_on_the_lab(run_dir);
    let mut pending = stale::pending(run_dir)?;
    pending.reverse();
    for fault in pending {
        let description = fault.describe();
        // Journals written before faults on the lab's proxy were marked as
        // lab-owned still say so in results.json.
        let lab_proxy = lab_run
            && matches!(
                fault.revert,
                RevertAction::RemoveToxic { .. } | RevertAction::EnableProxy { .. }
            );
        if !fault.outlives_runner() || lab_proxy {
            journal_line(
                run_dir,
                &fault,
                FaultEventKind::Reverted,
                Some("gone with the runner"),
            )?;
            cleaned.gone.push(format!(
                "{description}: gone with the runner (its lab ended with it)"
            ));
            continue;
        }
        match revert(&fault).await {
            Ok(Reverted::Now) => {
                journal_line(
                    run_dir,
                    &fault,
                    FaultEventKind::Reverted,
                    Some("by gameday cleanup"),
                )?;
                cleaned.reverted.push(description);
            }
            Ok(Reverted::Gone(why)) => {
                journal_line(run_dir, &fault, FaultEventKind::Reverted, Some(&why))?;
                cleaned.gone.push(format!("{description}: {why}"));
            }
            Err(error) => {
                journal_line(run_dir, &fault, FaultEventKind::RevertFailed, Some(&error))?;
                cleaned.failed.push(format!("{description}: {error}"));
            }
        }
    }
    Ok(cleaned)
}

/// Whether results.json says the run's target was the built-in lab.
fn ran_on_the_lab(run_dir: &Path) -> bool {
    std::fs::read(run_dir.join("results.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|results| results["target"]["kind"] == "lab")
}

/// What a successful cleanup of one fault did.
enum Reverted {
    /// The revert was sent and done.
    Now,
    /// Nothing to send: the fault went with the server it was on.
    Gone(String),
}

async fn revert(fault: &Pending) -> Result<Reverted, String> {
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
    if let (
        Some(client),
        RevertAction::RemoveToxic { owner, .. } | RevertAction::EnableProxy { owner, .. },
    ) = (&toxiproxy, &fault.revert)
        && let Some(journaled) = &owner.instance
    {
        // Only the server the fault was applied on gets its revert: another
        // one now on that address (a restarted proxy, another run's) never had it.
        let now = client.identity().await.map_err(|e| e.to_string())?.instance;
        if now.as_deref() != Some(journaled.as_str()) {
            return Ok(Reverted::Gone(format!(
                "gone with its server: the Toxiproxy at {} is another one now (instance {}, \
                 journaled {journaled}); nothing sent",
                client.base_url(),
                now.as_deref().unwrap_or("none")
            )));
        }
    }
    let context = FaultContext {
        toxiproxy,
        toxiproxy_url,
        toxiproxy_owner: ToxiproxyOwner::default(),
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
        .map(|()| Reverted::Now)
        .map_err(|e| e.to_string())
}

fn journal_line(
    run_dir: &Path,
    fault: &Pending,
    event: FaultEventKind,
    note: Option<&str>,
) -> std::io::Result<()> {
    super::journal::append_fault_event(
        run_dir,
        &FaultEvent {
            event,
            fault: &fault.fault,
            revert: &fault.revert,
            t: None,
            error: note,
        },
    )
}
