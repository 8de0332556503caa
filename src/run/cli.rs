//! The `gameday run` subcommand: validates every scenario first, then runs
//! them in order, prints a summary of each, and exits with the worst code.

use std::path::PathBuf;

use crate::results::{CheckStatus, Outcome};

const AFTER_HELP: &str = "\
Examples:
  gameday run scenarios/redis-killed.yaml
  gameday run scenarios/ --report-dir /tmp/chaos --quiet     # every scenario in a folder
  gameday run scenario.yaml --seed 42                         # reproducible arrivals and failures
  gameday run scenarios/ --quick                              # each scenario shrunk to ~20-30 s (CI)

Each run writes reports/<run-id>/results.json (rewritten as the run goes),
faults.jsonl (the fault journal), report.html and junit.xml, and updates
reports/index.html.

Exit codes: 0 every check passed; 1 a check failed (or was inconclusive where
the scenario requires conclusiveness); 2 invalid scenario or setup error;
3 aborted by a halt condition or a signal (faults are rolled back first).";

/// Arguments of `gameday run`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Scenario files or folders of them.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Where run folders are written.
    #[arg(long, default_value = "reports")]
    report_dir: PathBuf,
    /// Seed for arrivals, the operation mix and the simulators (overrides the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// No live progress line.
    #[arg(long)]
    quiet: bool,
    /// Print one JSON summary line per run on stdout (for CI logs).
    #[arg(long)]
    json: bool,
    /// First revert faults an earlier, dead run left applied on the same target
    /// (otherwise such a run refuses to start and lists them).
    #[arg(long)]
    cleanup_stale: bool,
    /// Shrink each scenario to about 20-30 s (CI): its own times scale down,
    /// deadlines do not (see docs/scenarios.md, "Quick mode").
    #[arg(long)]
    quick: bool,
}

/// Runs the subcommand; returns the exit code.
pub async fn run(args: Args) -> anyhow::Result<u8> {
    let files = super::expand_paths(&args.paths)?;
    let mut scenarios = Vec::new();
    let mut invalid = false;
    for file in &files {
        let loaded = crate::scenario::load(file).and_then(|scenario| match args.quick {
            true => super::quick::shrink(scenario),
            false => Ok(scenario),
        });
        match loaded {
            Ok(scenario) => scenarios.push(scenario),
            Err(diagnostics) => {
                crate::errln!("{diagnostics}");
                invalid = true;
            }
        }
    }
    if invalid {
        crate::errln!("error: invalid scenario; nothing was run");
        return Ok(2);
    }
    let options = super::RunOptions {
        report_dir: args.report_dir.clone(),
        seed: args.seed,
        quiet: args.quiet || args.json,
        cleanup_stale: args.cleanup_stale,
    };
    let (_trigger, signals) = crate::shutdown::Shutdown::on_signals();
    let mut worst = 0u8;
    for scenario in scenarios {
        let name = scenario.name.clone();
        let summary = super::run_scenario(scenario, &options, signals.clone()).await;
        let code = match summary {
            Ok(summary) => {
                print_summary(&summary, args.json);
                summary.exit_code
            }
            Err(error) => {
                crate::errln!("error: {name}: {error:#}");
                2
            }
        };
        worst = worse(worst, code);
        if signals.is_triggered() {
            break;
        }
    }
    Ok(worst)
}

/// Setup errors outrank aborts, which outrank failures.
fn worse(a: u8, b: u8) -> u8 {
    let rank = |code: u8| match code {
        0 => 0,
        1 => 1,
        3 => 2,
        _ => 3,
    };
    if rank(b) > rank(a) { b } else { a }
}

fn print_summary(summary: &super::RunSummary, json: bool) {
    let report = summary.dir.join("report.html");
    let Some(verdict) = &summary.results.verdict else {
        return;
    };
    if json {
        let line = serde_json::json!({
            "run_id": summary.results.record.run_id,
            "scenario": summary.results.record.scenario.name,
            "outcome": verdict.outcome,
            "exit_code": summary.exit_code,
            "budget_spent": verdict.budget.spent,
            "failed_checks": verdict.checks.iter().filter(|c| c.status == CheckStatus::Fail).count(),
            "results": summary.dir.join("results.json"),
            "report": report,
        });
        crate::outln!("{line}");
        return;
    }
    let mut checks: Vec<_> = verdict.checks.iter().collect();
    checks.sort_by_key(|c| match c.status {
        CheckStatus::Fail => 0,
        CheckStatus::Inconclusive => 1,
        CheckStatus::Pass => 2,
    });
    crate::outln!();
    for check in checks {
        let mark = match check.status {
            CheckStatus::Pass => "pass",
            CheckStatus::Fail => "FAIL",
            CheckStatus::Inconclusive => "????",
        };
        crate::outln!(
            "{mark}  {:<14} {:<34} expected {:<24} observed {}",
            check.phase,
            check.name,
            check.expected,
            check.observed
        );
    }
    for fault in &summary.results.record.faults {
        if let Some(error) = &fault.revert_error {
            crate::outln!("REVERT FAILED  {}: {error}", fault.name);
        }
    }
    let budget = &verdict.budget;
    crate::outln!(
        "\n{}: {}  budget spent {:.3}% of {:.3}% allowed ({} errors in {} requests)",
        summary.results.record.scenario.name,
        match verdict.outcome {
            Outcome::Passed => "PASSED",
            Outcome::Failed => "FAILED",
            Outcome::Inconclusive => "INCONCLUSIVE",
            Outcome::Aborted => "ABORTED",
            Outcome::Error => "ERROR",
        },
        budget.spent * 100.0,
        budget.allowed * 100.0,
        budget.errors,
        budget.requests,
    );
    crate::outln!("report: {}", report.display());
}
