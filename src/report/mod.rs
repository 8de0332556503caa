//! The post-run report: [`Results`] (results.json) in, files a reviewer
//! reads out — `report.html` (one self-contained page: inline CSS and SVG,
//! no network), `junit.xml` for CI, and `reports/index.html`, the run
//! history. It never touches the system under test, so any past run can be
//! re-rendered with `gameday report`.
//!
//! Layout: [`view`] turns results into the page's strings and numbers,
//! with [`timeline`] (charts) and [`lanes`] (capability and breaker
//! swimlanes) computing geometry; [`junit`] and [`index`] do the same for
//! their files; [`templates`] holds the embedded tera templates, with
//! auto-escaping on and no `safe` filter anywhere, so nothing a scenario or
//! target supplied can become markup.

pub mod cli;
mod format;
mod index;
mod junit;
mod lanes;
mod templates;
mod timeline;
mod view;

use std::path::{Path, PathBuf};

use crate::results::{Results, SCHEMA_VERSION};

/// What can go wrong while reading results or writing reports.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be read.
    #[error("cannot read {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why (part of the message, not a separate cause, so it prints once).
        error: std::io::Error,
    },
    /// A file is not a results.json this version understands.
    #[error("{path} is not a gameday results file: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {error}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why (part of the message, not a separate cause, so it prints once).
        error: std::io::Error,
    },
    /// A template failed to render (a bug in gameday, not in the input).
    #[error("cannot render {template}: {message}")]
    Template {
        /// Which template.
        template: String,
        /// The engine's error chain.
        message: String,
    },
}

/// Renders the HTML report of one run.
pub fn render_html(results: &Results) -> Result<String, ReportError> {
    templates::render("report.html", &view::build(results, None))
}

/// Renders the HTML report with a comparison against `previous`, an earlier
/// run of the same scenario whose report is at the relative link `previous_href`.
pub fn render_html_compared(
    results: &Results,
    previous: &Results,
    previous_href: &str,
) -> Result<String, ReportError> {
    templates::render(
        "report.html",
        &view::build(results, Some((previous, previous_href.to_string()))),
    )
}

/// Renders the JUnit XML of one run.
pub fn render_junit(results: &Results) -> Result<String, ReportError> {
    templates::render("junit.xml", &junit::build(results))
}

/// Writes `report.html` and `junit.xml` into `run_dir` (created if needed).
/// The report compares against the previous run of the same scenario when
/// one sits beside `run_dir`.
pub fn write_run_reports(results: &Results, run_dir: &Path) -> Result<(), ReportError> {
    std::fs::create_dir_all(run_dir).map_err(|error| ReportError::Write {
        path: run_dir.to_path_buf(),
        error,
    })?;
    let html = render_html_beside(results, run_dir)?;
    write_atomically(&run_dir.join("report.html"), html.as_bytes())?;
    let junit = render_junit(results)?;
    write_atomically(&run_dir.join("junit.xml"), junit.as_bytes())
}

/// Writes `<reports_dir>/index.html` listing every `*/results.json` in it.
pub fn write_index(reports_dir: &Path) -> Result<PathBuf, ReportError> {
    index::write(reports_dir)
}

/// The largest results.json `gameday report` reads: a week-long run's is
/// well under this.
pub const MAX_RESULTS_BYTES: u64 = 256 * 1024 * 1024;

/// Reads and checks a results.json.
pub fn read_results(path: &Path) -> Result<Results, ReportError> {
    // At most the limit + 1 bytes, whatever the file is (`/dev/zero`, a pipe).
    let bytes =
        crate::input::read_at_most(path, MAX_RESULTS_BYTES, "results files").map_err(|error| {
            match error {
                crate::input::InputError::Io(error) => ReportError::Read {
                    path: path.to_path_buf(),
                    error,
                },
                too_large => ReportError::Parse {
                    path: path.to_path_buf(),
                    reason: too_large.to_string(),
                },
            }
        })?;
    let parse_error = |reason: String| ReportError::Parse {
        path: path.to_path_buf(),
        reason,
    };
    // Read the version first, so a newer file gets a clear message instead
    // of a confusing missing-field error.
    #[derive(serde::Deserialize)]
    struct Version {
        schema_version: Option<u64>,
    }
    let version: Version =
        serde_json::from_slice(&bytes).map_err(|error| parse_error(error.to_string()))?;
    match version.schema_version {
        None => return Err(parse_error("it has no schema_version".to_string())),
        Some(found) if found > u64::from(SCHEMA_VERSION) => {
            return Err(parse_error(format!(
                "it has schema_version {found}, newer than this gameday understands ({SCHEMA_VERSION}); upgrade gameday"
            )));
        }
        Some(_) => {}
    }
    let results: Results =
        serde_json::from_slice(&bytes).map_err(|error| parse_error(error.to_string()))?;
    check_counts(&results).map_err(parse_error)?;
    Ok(results)
}

/// Outcome counts must add up without overflowing (`OutcomeCounts::total`
/// adds them); a file that says otherwise was not written by a run.
fn check_counts(results: &Results) -> Result<(), String> {
    use crate::results::OutcomeCounts;
    fn fits(counts: &OutcomeCounts) -> bool {
        [
            counts.degraded_ok,
            counts.http_error,
            counts.timeout,
            counts.connection_error,
        ]
        .into_iter()
        .try_fold(counts.ok, u64::checked_add)
        .is_some()
    }
    let traffic = &results.record.traffic;
    let buckets = traffic
        .seconds
        .iter()
        .map(|bucket| (bucket.t.to_string(), &bucket.outcomes));
    let phases = traffic.phases.iter().flat_map(|phase| {
        std::iter::once((phase.name.clone(), &phase.outcomes)).chain(phase.operations.iter().map(
            move |(operation, stats)| (format!("{} {operation}", phase.name), &stats.outcomes),
        ))
    });
    match buckets.chain(phases).find(|(_, counts)| !fits(counts)) {
        Some((place, _)) => Err(format!(
            "the outcome counts of {place} add up to more than 2^64 requests"
        )),
        None => Ok(()),
    }
}

/// The HTML report, compared with the previous run beside `run_dir` if any.
fn render_html_beside(results: &Results, run_dir: &Path) -> Result<String, ReportError> {
    match index::previous_run(results, run_dir) {
        Some((previous, href)) => render_html_compared(results, &previous, &href),
        None => render_html(results),
    }
}

/// Writes through a temporary file and a rename, so a reader (a CI
/// artifact upload, a browser) never sees half a report.
fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), ReportError> {
    let write_error = |error| ReportError::Write {
        path: path.to_path_buf(),
        error,
    };
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{file_name}.partial"));
    std::fs::write(&temporary, crate::redact::bytes(contents)).map_err(write_error)?;
    std::fs::rename(&temporary, path).map_err(write_error)
}
