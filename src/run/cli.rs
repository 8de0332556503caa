//! The `gameday run` subcommand: validates every scenario first, then runs
//! them in order, prints a summary of each, and exits with the worst code.

use std::path::PathBuf;

use crate::exit::Exit;
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

Exit codes: 0 every check passed, or some were inconclusive (the sample could
not tell) and none failed; 1 a check failed, or one was inconclusive where the
scenario requires conclusiveness (`expect.run.conclusive: true`) or
--fail-on-inconclusive is given; 2 invalid scenario or setup error; 3 aborted
by a halt condition or a signal (faults are rolled back first).

With --json, each run prints one line: run_id, scenario, outcome, exit_code,
budget_spent, failed_checks and inconclusive_checks (counts), failed and
inconclusive (each check as {phase, name, expected, observed}), results and
report (paths).";

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
    /// Exit 1 when a run is inconclusive (no check failed, but some could not
    /// be decided from the sample), as if every scenario set
    /// `expect.run.conclusive: true`; without it such a run exits 0.
    #[arg(long)]
    fail_on_inconclusive: bool,
}

/// Runs the subcommand; returns the exit code.
pub async fn run(args: Args) -> anyhow::Result<Exit> {
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
        return Ok(Exit::Error);
    }
    let options = super::RunOptions {
        report_dir: args.report_dir.clone(),
        seed: args.seed,
        quiet: args.quiet || args.json,
        cleanup_stale: args.cleanup_stale,
    };
    let (_trigger, signals) = crate::shutdown::Shutdown::on_signals();
    let mut worst = Exit::Passed;
    for scenario in scenarios {
        let name = scenario.name.clone();
        let summary = super::run_scenario(scenario, &options, signals.clone()).await;
        let code = match summary {
            Ok(summary) => {
                let code = exit_code(&summary, args.fail_on_inconclusive);
                print_summary(&summary, code, args.json);
                code
            }
            Err(error) => {
                crate::errln!("error: {name}: {error:#}");
                Exit::Error
            }
        };
        worst = worst.worst(code);
        if signals.is_triggered() {
            break;
        }
    }
    Ok(worst)
}

/// The exit code of one run: the verdict's, except that an inconclusive
/// run exits 1 under `--fail-on-inconclusive`.
fn exit_code(summary: &super::RunSummary, fail_on_inconclusive: bool) -> Exit {
    let inconclusive = summary
        .results
        .verdict
        .as_ref()
        .is_some_and(|verdict| verdict.outcome == Outcome::Inconclusive);
    if fail_on_inconclusive && inconclusive && summary.exit_code == Exit::Passed {
        Exit::Failed
    } else {
        summary.exit_code
    }
}

/// The `--json` line of a run (its fields are listed in the `--help` text),
/// or `None` when the run has no verdict.
fn json_line(summary: &super::RunSummary, exit_code: Exit) -> Option<serde_json::Value> {
    let verdict = summary.results.verdict.as_ref()?;
    let with = |status: CheckStatus| -> Vec<serde_json::Value> {
        verdict
            .checks
            .iter()
            .filter(|check| check.status == status)
            .map(|check| {
                serde_json::json!({
                    "phase": check.phase,
                    "name": check.name,
                    "expected": check.expected,
                    "observed": check.observed,
                })
            })
            .collect()
    };
    let (failed, inconclusive) = (with(CheckStatus::Fail), with(CheckStatus::Inconclusive));
    Some(serde_json::json!({
        "run_id": summary.results.record.run_id,
        "scenario": summary.results.record.scenario.name,
        "outcome": verdict.outcome,
        "exit_code": exit_code,
        "budget_spent": verdict.budget.spent,
        "failed_checks": failed.len(),
        "inconclusive_checks": inconclusive.len(),
        "failed": failed,
        "inconclusive": inconclusive,
        "results": summary.dir.join("results.json"),
        "report": summary.dir.join("report.html"),
    }))
}

fn print_summary(summary: &super::RunSummary, exit_code: Exit, json: bool) {
    let report = summary.dir.join("report.html");
    let Some(verdict) = &summary.results.verdict else {
        return;
    };
    if json {
        if let Some(line) = json_line(summary, exit_code) {
            crate::outln!("{line}");
        }
        return;
    }
    if verdict.outcome == Outcome::Error {
        // Nothing was measured: a budget line would read as "0% spent", and
        // checks judged on the warm-up alone mean nothing. The reason was
        // printed first, when the run stopped.
        crate::outln!(
            "\n{}: ERROR (see the reason above; nothing was judged)",
            summary.results.record.scenario.name
        );
        crate::outln!("report: {}", report.display());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Plan;
    use crate::results::Results;
    use crate::verdict::fixture;

    /// A run of the fixture scenario judged on `stats` of its baseline.
    fn summary(ok: u64, errors: u64) -> crate::run::RunSummary {
        let scenario = fixture::scenario(
            "expect:\n  baseline: { error_rate: < 0.1%, p99: < 2s }\n  redis-down: { error_rate: < 5% }\n",
        );
        let plan = Plan::from_scenario(&scenario);
        let mut record = fixture::record(&scenario, &plan);
        fixture::set_stats(&mut record, fixture::stats("baseline", ok, errors));
        fixture::set_stats(&mut record, fixture::stats("redis-down", 10_000, 0));
        let verdict = crate::verdict::judge(&scenario, &plan, &record);
        let exit_code = crate::verdict::exit_code(&verdict);
        crate::run::RunSummary {
            dir: PathBuf::from("/reports/test-run"),
            results: Results {
                record,
                verdict: Some(verdict),
            },
            exit_code,
        }
    }

    #[test]
    fn an_inconclusive_run_fails_only_with_the_flag() {
        // 0 errors in 500 requests cannot show < 0.1%.
        let inconclusive = summary(500, 0);
        assert_eq!(inconclusive.exit_code, Exit::Passed);
        assert_eq!(exit_code(&inconclusive, false), Exit::Passed);
        assert_eq!(exit_code(&inconclusive, true), Exit::Failed);
        // A failed run exits 1 either way; a passed one 0 either way.
        let failed = summary(500, 100);
        assert_eq!(exit_code(&failed, false), Exit::Failed);
        assert_eq!(exit_code(&failed, true), Exit::Failed);
        let passed = summary(100_000, 0);
        assert_eq!(exit_code(&passed, true), Exit::Passed);
        // Errors and aborts keep their codes.
        let mut error = summary(500, 0);
        error.exit_code = Exit::Error;
        if let Some(verdict) = error.results.verdict.as_mut() {
            verdict.outcome = Outcome::Error;
        }
        assert_eq!(exit_code(&error, true), Exit::Error);
    }

    #[test]
    fn the_json_line_names_failed_and_inconclusive_checks() {
        let run = summary(500, 0);
        let line = json_line(&run, Exit::Failed).expect("a line");
        assert_eq!(line["outcome"], "inconclusive");
        assert_eq!(line["exit_code"], 1);
        assert_eq!(line["failed_checks"], 0);
        assert_eq!(line["failed"], serde_json::json!([]));
        let undecided = line["inconclusive"].as_array().expect("a list");
        assert_eq!(line["inconclusive_checks"], undecided.len());
        let names: Vec<(&str, &str)> = undecided
            .iter()
            .map(|check| {
                (
                    check["phase"].as_str().unwrap_or(""),
                    check["name"].as_str().unwrap_or(""),
                )
            })
            .collect();
        // A p99 over 500 requests is fine; the error rate cannot tell.
        assert_eq!(names, [("baseline", "error_rate")]);
        assert_eq!(undecided[0]["expected"], "< 0.1%");
        assert!(
            undecided[0]["observed"]
                .as_str()
                .is_some_and(|text| text.starts_with("0% (0 of 500")),
            "{line}"
        );

        let failed = json_line(&summary(500, 100), Exit::Failed).expect("a line");
        assert_eq!(failed["outcome"], "failed");
        assert_eq!(failed["failed_checks"], 1);
        assert_eq!(failed["failed"][0]["phase"], "baseline");
        assert_eq!(failed["failed"][0]["name"], "error_rate");
        assert_eq!(failed["results"], "/reports/test-run/results.json");
        assert_eq!(failed["report"], "/reports/test-run/report.html");
    }
}
