//! `gameday report`: re-render a past run's report.html (and junit.xml) from
//! its results.json, or write the run history `reports/index.html`.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Arguments of `gameday report`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  gameday report reports/redis-killed-20261129T051726Z/results.json\n  gameday report results.json -o /tmp/report.html --junit /tmp/junit.xml\n  gameday report --index            (writes reports/index.html)\n  gameday report --index nightly/   (writes nightly/index.html)"
)]
pub struct Args {
    /// The run's results.json.
    #[arg(
        value_name = "RESULTS.json",
        required_unless_present = "index",
        conflicts_with = "index"
    )]
    pub results: Option<PathBuf>,
    /// Where to write the HTML report [default: report.html beside RESULTS.json].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write DIR/index.html listing every DIR/*/results.json [default DIR: reports].
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = "reports")]
    pub index: Option<PathBuf>,
}

/// Runs `gameday report`; exit code 0 when the files were written (the
/// run's own outcome is in the report, not in this exit code).
pub async fn run(args: Args) -> anyhow::Result<crate::exit::Exit> {
    if let Some(reports_dir) = &args.index {
        let path = super::write_index(reports_dir)
            .with_context(|| format!("cannot write the index of {}", reports_dir.display()))?;
        println!("{}", path.display());
        return Ok(crate::exit::Exit::Passed);
    }
    let Some(results_path) = &args.results else {
        anyhow::bail!("give a results.json or --index");
    };
    let results = super::read_results(results_path)?;
    let run_dir = results_path.parent().unwrap_or(Path::new("."));
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| run_dir.join("report.html"));
    let html = super::render_html_beside(&results, run_dir)?;
    super::write_atomically(&output, html.as_bytes())?;
    println!("{}", output.display());
    if let Some(junit_path) = &args.junit {
        let junit = super::render_junit(&results)?;
        super::write_atomically(junit_path, junit.as_bytes())?;
        println!("{}", junit_path.display());
    }
    Ok(crate::exit::Exit::Passed)
}
