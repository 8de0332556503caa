//! The run history: `reports/index.html` lists every `*/results.json` under
//! the reports folder (newest first) with its outcome, budget spent and a
//! link to its report, and the change from the previous run of the same
//! scenario; also finds that previous run for a single report.
//!
//! A results file that cannot be read is listed with its error instead of
//! breaking the whole index; a run that ended in `error` or `aborted` shows
//! why (its message, shortened). Budget spent reads as a share of the budget
//! (`30% of the budget`), from ten times it on as a multiple (`372× the
//! budget`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::results::{CheckStatus, Results, RunStatus};

use super::format;
use super::view;
use super::{ReportError, read_results};

/// Most sibling runs parsed when looking for a single report's previous run.
const PREVIOUS_CANDIDATES: usize = 200;

/// Everything `templates/index.html` renders.
#[derive(Debug, Serialize)]
pub struct IndexView {
    /// Rows, newest first.
    pub runs: Vec<RunRow>,
    /// Scenarios seen.
    pub scenarios: usize,
    /// Folder listed.
    pub folder: String,
}

/// One run in the index.
#[derive(Debug, Serialize)]
pub struct RunRow {
    /// Outcome class.
    pub outcome: String,
    /// Scenario.
    pub scenario: String,
    /// Run id.
    pub run_id: String,
    /// Relative link to its report (empty when it has none).
    pub href: String,
    /// When.
    pub started: String,
    /// How long.
    pub duration: String,
    /// Budget spent, share of the allowed.
    pub budget: String,
    /// `failed / total` checks.
    pub checks: String,
    /// Change from the previous run of the scenario.
    pub change: String,
    /// Why the file could not be read.
    pub error: String,
}

/// A parsed run and its folder name.
struct Run {
    folder: String,
    results: Results,
    started: f64,
}

/// A folder whose results.json could not be read, and why.
type Broken = (String, String);

/// Reads every `<dir>/*/results.json`; unreadable ones come back as errors.
fn scan(reports_dir: &Path) -> Result<(Vec<Run>, Vec<Broken>), ReportError> {
    let entries = std::fs::read_dir(reports_dir).map_err(|error| ReportError::Read {
        path: reports_dir.to_path_buf(),
        error,
    })?;
    let mut runs = Vec::new();
    let mut broken = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path().join("results.json");
        if !path.is_file() {
            continue;
        }
        let folder = entry.file_name().to_string_lossy().into_owned();
        match read_results(&path) {
            Ok(results) => {
                let started = format::epoch_seconds(&results.record.started_at).unwrap_or(0.0);
                runs.push(Run {
                    folder,
                    results,
                    started,
                });
            }
            Err(error) => broken.push((folder, error.to_string())),
        }
    }
    runs.sort_by(|a, b| {
        b.started
            .total_cmp(&a.started)
            .then_with(|| b.folder.cmp(&a.folder))
    });
    broken.sort();
    Ok((runs, broken))
}

/// Writes `<reports_dir>/index.html` and returns its path.
pub fn write(reports_dir: &Path) -> Result<PathBuf, ReportError> {
    let (runs, broken) = scan(reports_dir)?;
    let mut rows = Vec::new();
    for (index, run) in runs.iter().enumerate() {
        let previous = runs[index + 1..]
            .iter()
            .find(|older| older.results.record.scenario.name == run.results.record.scenario.name);
        rows.push(row(reports_dir, run, previous));
    }
    for (folder, error) in broken {
        rows.push(RunRow {
            outcome: "unreadable".to_string(),
            scenario: String::new(),
            run_id: format::clean_truncated(&folder, 300),
            href: String::new(),
            started: String::new(),
            duration: String::new(),
            budget: String::new(),
            checks: String::new(),
            change: String::new(),
            error: format::clean_truncated(&error, 1_000),
        });
    }
    let mut scenarios: Vec<&str> = runs
        .iter()
        .map(|r| r.results.record.scenario.name.as_str())
        .collect();
    scenarios.sort_unstable();
    scenarios.dedup();
    let view = IndexView {
        runs: rows,
        scenarios: scenarios.len(),
        folder: format::clean_truncated(&reports_dir.display().to_string(), 500),
    };
    let html = super::templates::render("index.html", &view)?;
    let path = reports_dir.join("index.html");
    super::write_atomically(&path, html.as_bytes())?;
    Ok(path)
}

fn row(reports_dir: &Path, run: &Run, previous: Option<&Run>) -> RunRow {
    let results = &run.results;
    let has_report = reports_dir.join(&run.folder).join("report.html").is_file();
    RunRow {
        outcome: view::outcome_name(results).to_string(),
        scenario: format::clean_truncated(&results.record.scenario.name, 300),
        run_id: format::clean_truncated(&results.record.run_id, 300),
        href: if has_report {
            format!("./{}/report.html", format::url_segment(&run.folder))
        } else {
            String::new()
        },
        started: format::timestamp(&results.record.started_at),
        duration: format::duration(view::run_seconds(results)),
        budget: results.verdict.as_ref().map_or("—".to_string(), |v| {
            if v.budget.requests == 0 {
                "no requests".to_string()
            } else {
                format::budget_share(v.budget.spent_of_allowed, "budget")
            }
        }),
        checks: match (&results.verdict, &results.record.status) {
            (_, RunStatus::Error { .. }) | (None, _) => "—".to_string(),
            (Some(v), _) => {
                let failed = v
                    .checks
                    .iter()
                    .filter(|c| c.status == CheckStatus::Fail)
                    .count();
                format!("{failed} failed of {}", v.checks.len())
            }
        },
        change: previous.map_or("first run".to_string(), |previous| {
            change(&previous.results, results)
        }),
        error: why_stopped(&results.record.status),
    }
}

/// Most characters of a run's error or abort reason the index shows.
const REASON_CHARS: usize = 160;

/// Why a run did not complete (its error message or abort reason, cut to
/// [`REASON_CHARS`]); empty for a completed run.
fn why_stopped(status: &RunStatus) -> String {
    let reason = match status {
        RunStatus::Error { message } => message,
        RunStatus::Aborted { reason } => reason,
        RunStatus::Running { .. } | RunStatus::Completed => return String::new(),
    };
    // One line: a multi-line error keeps its first lines, joined.
    let one_line = reason.split_whitespace().collect::<Vec<_>>().join(" ");
    format::clean_truncated(&one_line, REASON_CHARS)
}

/// `budget +12.5 points; passed → failed`.
fn change(before: &Results, now: &Results) -> String {
    let mut parts = Vec::new();
    let (outcome_before, outcome_now) = (view::outcome_name(before), view::outcome_name(now));
    if outcome_before != outcome_now {
        parts.push(format!("{outcome_before} → {outcome_now}"));
    }
    if let (Some(a), Some(b)) = (&before.verdict, &now.verdict) {
        let (share_before, share_now) = (a.budget.spent_of_allowed, b.budget.spent_of_allowed);
        let delta = (share_now - share_before) * 100.0;
        let multiple = |share: f64| share >= crate::verdict::format::BUDGET_MULTIPLE_FROM;
        if multiple(share_before) || multiple(share_now) {
            // Points of a budget spent many times over say little.
            if format::budget_multiple(share_before) != format::budget_multiple(share_now) {
                parts.push(format!(
                    "budget {} → {}",
                    format::budget_multiple(share_before),
                    format::budget_multiple(share_now)
                ));
            }
        } else if delta.is_finite() {
            parts.push(format!(
                "budget {}{} points",
                if delta >= 0.0 { "+" } else { "−" },
                format::number(delta.abs(), 1)
            ));
        }
    }
    if parts.is_empty() {
        "no change".to_string()
    } else {
        parts.join("; ")
    }
}

/// The previous run of the same scenario among `run_dir`'s siblings, with
/// the relative link to its report. Only folders named `<scenario>-…` (the
/// run-id convention) are read, newest name first, so a long history stays cheap.
pub fn previous_run(results: &Results, run_dir: &Path) -> Option<(Results, String)> {
    let reports_dir = run_dir.parent()?;
    let own_folder = run_dir.file_name()?.to_string_lossy().into_owned();
    let prefix = format!("{}-", results.record.scenario.name);
    let started = format::epoch_seconds(&results.record.started_at)?;
    let mut folders: Vec<String> = std::fs::read_dir(reports_dir)
        .ok()?
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(&prefix) && *name != own_folder)
        .collect();
    folders.sort_unstable_by(|a, b| b.cmp(a));
    folders
        .into_iter()
        .take(PREVIOUS_CANDIDATES)
        .filter_map(|folder| {
            let candidate = read_results(&reports_dir.join(&folder).join("results.json")).ok()?;
            let candidate_started = format::epoch_seconds(&candidate.record.started_at)?;
            let same = candidate.record.scenario.name == results.record.scenario.name;
            (same && candidate_started < started).then_some((candidate_started, folder, candidate))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, folder, candidate)| {
            (
                candidate,
                format!("../{}/report.html", format::url_segment(&folder)),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Plan;
    use crate::verdict::fixture;

    /// The fixture scenario judged on a run with `ok` and `errors` requests.
    fn results(status: RunStatus, ok: u64, errors: u64) -> Results {
        let scenario = fixture::scenario("expect:\n  run: { budget: within }\n");
        let plan = Plan::from_scenario(&scenario);
        let mut record = fixture::record(&scenario, &plan);
        record.status = status;
        fixture::set_stats(&mut record, fixture::stats("run", ok, errors));
        let verdict = crate::verdict::judge(&scenario, &plan, &record);
        Results {
            record,
            verdict: Some(verdict),
        }
    }

    fn run(results: Results) -> Run {
        Run {
            folder: results.record.run_id.clone(),
            results,
            started: 0.0,
        }
    }

    #[test]
    fn an_error_row_says_why_instead_of_counting_checks() {
        let message = format!(
            "preflight: the steady state did not hold: 11 errors in 500 requests (2.2%);\n\
             chat 404 not_found {}",
            "x".repeat(300)
        );
        let row = row(
            Path::new("/nonexistent"),
            &run(results(RunStatus::Error { message }, 0, 0)),
            None,
        );
        assert_eq!(row.outcome, "error");
        assert_eq!(row.checks, "—");
        assert!(
            row.error
                .starts_with("preflight: the steady state did not hold: 11 errors in 500 requests (2.2%); chat 404"),
            "{}",
            row.error
        );
        assert_eq!(row.error.chars().count(), REASON_CHARS);
        assert!(row.error.ends_with('…'), "{}", row.error);

        let aborted = row_of(RunStatus::Aborted {
            reason: "halt condition `error_rate > 20% for 10s` held at 41 s".to_string(),
        });
        assert_eq!(
            aborted.error,
            "halt condition `error_rate > 20% for 10s` held at 41 s"
        );
        assert_eq!(row_of(RunStatus::Completed).error, "");
    }

    fn row_of(status: RunStatus) -> RunRow {
        row(
            Path::new("/nonexistent"),
            &run(results(status, 1_000, 0)),
            None,
        )
    }

    #[test]
    fn a_budget_far_over_reads_as_a_multiple() {
        // 0.1% allowed; 37.2% spent is 372 times the budget.
        let over = run(results(RunStatus::Completed, 628, 372));
        let row_over = row(Path::new("/nonexistent"), &over, None);
        assert_eq!(row_over.budget, "372× the budget");
        assert_eq!(row_over.checks, "1 failed of 1");
        // 3 errors in 10,000 (upper bound 0.088%): 30% of the budget.
        let within = run(results(RunStatus::Completed, 9_997, 3));
        let row_within = row(Path::new("/nonexistent"), &within, None);
        assert_eq!(row_within.budget, "30% of the budget");
        // The change reads in the same terms.
        let change = row(Path::new("/nonexistent"), &over, Some(&within)).change;
        assert_eq!(change, "passed → failed; budget 30% → 372×");
    }
}
