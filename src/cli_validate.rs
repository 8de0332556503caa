//! The `gameday validate` and `gameday schema` subcommands: check scenario
//! files without touching anything, print a resolved plan (with what each
//! rate check can prove), print the JSON Schema. Exit codes: 0 every file is valid, 2 at least one is not.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::exit::Exit;
use crate::plan::Plan;
use crate::scenario;

/// The most problems printed per file; the rest are counted. A file with
/// thousands of problems is rarely a scenario, and the first ones say so.
pub const MAX_PRINTED_PROBLEMS: usize = 50;

/// Arguments of `gameday validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files (or folders of `.yaml`/`.yml` files) to check; every
    /// problem of every file is found, and the first 50 of each printed.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Also print each valid scenario's resolved timeline: what would be
    /// injected, when and against what; and per rate check (error_rate,
    /// providers, budget) the requests its phase will send at the scenario's
    /// rate and the fewest a perfect result needs to pass, with a warning
    /// where a check cannot be conclusive. Nothing is started or touched.
    #[arg(long)]
    pub plan: bool,
}

/// Arguments of `gameday schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {}

/// Validates every file; prints problems to stderr and a summary to stdout.
pub fn run_validate(args: ValidateArgs) -> anyhow::Result<Exit> {
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    let mut files = Vec::new();
    let mut unreadable = 0usize;
    for path in &args.files {
        match expand(path) {
            Ok(found) => files.extend(found),
            Err(message) => {
                unreadable += 1;
                let text = format!("error: {message}\n --> {}\n", path.display());
                writeln!(stderr, "{}", crate::terminal::clean(&text))?;
            }
        }
    }
    let mut valid = 0usize;
    let mut problems = unreadable;
    let mut printed_plans = 0usize;
    for file in &files {
        match scenario::load(file) {
            Ok(loaded) => {
                valid += 1;
                if args.plan {
                    if printed_plans > 0 {
                        writeln!(stdout)?;
                    }
                    printed_plans += 1;
                    write!(stdout, "{}", plan_text(&loaded))?;
                }
            }
            Err(diagnostics) => {
                problems += diagnostics.len();
                print_capped(&mut stderr, file, &diagnostics)?;
            }
        }
    }
    let checked = files.len() + unreadable;
    let invalid = checked - valid;
    if invalid > 0 {
        writeln!(
            stderr,
            "error: {invalid} of {checked} scenario{} invalid ({problems} problem{})",
            plural(checked),
            plural(problems)
        )?;
        return Ok(Exit::Error);
    }
    if printed_plans > 0 {
        writeln!(stdout)?;
    }
    writeln!(stdout, "ok: {valid} scenario{}", plural(valid))?;
    Ok(Exit::Passed)
}

/// The `--plan` output of a valid scenario: the resolved timeline, then
/// what each rate check's phase can prove at the scenario's rate and length
/// (`verdict::sizing`), with a warning per check that cannot pass.
pub fn plan_text(scenario: &scenario::Scenario) -> String {
    let plan = Plan::from_scenario(scenario);
    let sizes = crate::verdict::sizing::rate_checks(scenario, &plan);
    let mut text = format!("{plan}\n");
    let checks = crate::verdict::sizing::render(&sizes, scenario.traffic.rate);
    if !checks.is_empty() {
        text.push('\n');
        text.push_str(&checks);
    }
    text
}

/// The first [`MAX_PRINTED_PROBLEMS`] problems of a file, then how many more.
fn print_capped(
    out: &mut impl Write,
    file: &Path,
    diagnostics: &scenario::Diagnostics,
) -> std::io::Result<()> {
    for (index, diagnostic) in diagnostics.iter().take(MAX_PRINTED_PROBLEMS).enumerate() {
        if index > 0 {
            writeln!(out)?;
        }
        write!(out, "{}", crate::terminal::clean(&diagnostic.to_string()))?;
    }
    let more = diagnostics.len().saturating_sub(MAX_PRINTED_PROBLEMS);
    if more > 0 {
        writeln!(
            out,
            "\n... and {more} more problem{} in {} (not shown)",
            plural(more),
            file.display()
        )?;
    }
    writeln!(out)
}

/// A file as itself; a folder as its `.yaml`/`.yml` files, sorted.
fn expand(path: &Path) -> Result<Vec<PathBuf>, String> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries =
        std::fs::read_dir(path).map_err(|error| format!("cannot read the folder: {error}"))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|file| {
            file.is_file()
                && file
                    .extension()
                    .is_some_and(|extension| extension == "yaml" || extension == "yml")
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err("the folder has no .yaml or .yml files".to_string());
    }
    Ok(files)
}

/// Prints the JSON Schema of scenario files.
pub fn run_schema(_args: SchemaArgs) -> anyhow::Result<Exit> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", scenario::schema())?;
    Ok(Exit::Passed)
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}
