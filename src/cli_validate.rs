//! The `gameday validate` and `gameday schema` subcommands: check scenario
//! files without touching anything, print a resolved plan, print the JSON
//! Schema. Exit codes: 0 every file is valid, 2 at least one is not.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::plan::Plan;
use crate::scenario;

/// Exit code for an invalid scenario (the CLI-wide contract).
const INVALID: u8 = 2;

/// Arguments of `gameday validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files to check; every problem of every file is reported.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Also print each valid scenario's resolved timeline: what would be
    /// injected, when and against what. Nothing is started or touched.
    #[arg(long)]
    pub plan: bool,
}

/// Arguments of `gameday schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {}

/// Validates every file; prints problems to stderr and a summary to stdout.
pub fn run_validate(args: ValidateArgs) -> anyhow::Result<u8> {
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    let mut valid = 0usize;
    let mut problems = 0usize;
    for (index, file) in args.files.iter().enumerate() {
        match scenario::load(file) {
            Ok(loaded) => {
                valid += 1;
                if args.plan {
                    if index > 0 {
                        writeln!(stdout)?;
                    }
                    writeln!(stdout, "{}", Plan::from_scenario(&loaded))?;
                }
            }
            Err(diagnostics) => {
                problems += diagnostics.len();
                writeln!(stderr, "{diagnostics}")?;
            }
        }
    }
    let invalid = args.files.len() - valid;
    if invalid > 0 {
        writeln!(
            stderr,
            "error: {invalid} of {} scenario{} invalid ({problems} problem{})",
            args.files.len(),
            plural(args.files.len()),
            plural(problems)
        )?;
        return Ok(INVALID);
    }
    if args.plan {
        writeln!(stdout)?;
    }
    writeln!(stdout, "ok: {valid} scenario{}", plural(valid))?;
    Ok(0)
}

/// Prints the JSON Schema of scenario files.
pub fn run_schema(_args: SchemaArgs) -> anyhow::Result<u8> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", scenario::schema())?;
    Ok(0)
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}
