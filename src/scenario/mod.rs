//! The scenario stage: a YAML game-day file becomes a validated [`Scenario`],
//! or every problem in it, each with file, line, column and a source excerpt.
//!
//! The stage reads text and nothing else: it never touches the system under
//! test, the network or the environment (`${VAR}` templates are filled only
//! when a run starts, see [`template`]).
//!
//! Pipeline inside the stage:
//!
//! ```text
//! text -> tree (YAML with positions) -> decode (types, units, unknown keys)
//!      -> validate (rules across sections) -> Scenario
//! ```
//!
//! - [`model`]: the typed scenario the rest of the pipeline consumes.
//! - [`diagnostic`]: located problems, rustc-style rendering, did-you-mean.
//! - [`limits`]: the bound of every count, size and rate, with its reason.
//! - [`tree`]: the YAML tree with line/column per node (serde-saphyr).
//! - `values`: durations, percentages, rates, comparisons and rules as text.
//! - `decode`: tree to model, collecting every structural problem.
//! - [`validate`]: semantic rules on the model, located by path.
//! - [`monitoring`]: the `monitoring` section (Prometheus, alert and PromQL expectations).
//! - [`template`]: the `${VAR}` syntax; URLs and `exec` commands filled from the environment.
//! - [`secret`]: header templates and the secrets they resolve to.
//! - [`spec`]: the file format as types, for the JSON Schema.

pub mod diagnostic;
pub mod limits;
pub mod model;
pub mod monitoring;
pub mod secret;
pub mod spec;
pub mod template;
pub mod tree;
pub mod validate;

mod decode;
mod values;

use std::path::Path;

pub use diagnostic::{Diagnostic, Diagnostics, Position};
pub use model::*;
pub use secret::{ResolveError, Secret};
pub use spec::schema;
pub use template::{Addresses, TemplateError};
pub use values::MAX_DURATION;

/// The largest scenario file gameday reads; real ones are a few KB.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Reads, parses and validates a scenario file.
pub fn load(path: impl AsRef<Path>) -> Result<Scenario, Diagnostics> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let whole_file = |message: String| {
        Diagnostics(vec![Diagnostic::new(
            &name,
            "",
            Position::UNKNOWN,
            message,
            None,
        )])
    };
    // Read at most the limit + 1 bytes, whatever the file is (/dev/zero, a
    // FIFO, `<(...)`): its metadata says nothing about a stream's length.
    let bytes = crate::input::read_at_most(path, MAX_FILE_BYTES, "scenarios")
        .map_err(|error| whole_file(error.to_string()))?;
    let text = String::from_utf8(bytes)
        .map_err(|error| whole_file(format!("the file is not UTF-8: {error}")))?;
    parse_str(&name, &text)
}

/// Parses and validates scenario text; `name` is the file name shown in
/// diagnostics.
pub fn parse_str(name: &str, text: &str) -> Result<Scenario, Diagnostics> {
    let root = tree::parse(text).map_err(|error| {
        Diagnostics(vec![Diagnostic::new(
            name,
            text,
            error.position,
            format!("invalid YAML: {}", error.message),
            syntax_help(text, error.position),
        )])
    })?;
    let source = diagnostic::Source::new(name, text);
    let decoded = decode::decode(&root, &source);
    let mut diagnostics = Diagnostics(decoded.diagnostics);
    let Some(scenario) = decoded.scenario else {
        diagnostics.sort();
        return Err(diagnostics);
    };
    let map = tree::SourceMap::of(&root);
    let clean = decoded.clean;
    let problems = validate::check_sections(
        &scenario,
        &|section| clean.contains(section),
        &clean.timeline_indices,
    );
    diagnostics.0.extend(problems.into_iter().map(|problem| {
        let position = match problem.site {
            validate::Site::Key => map.key(&problem.path),
            validate::Site::Value => map.value(&problem.path),
        };
        source.diagnostic(position, problem.message, problem.help)
    }));
    if diagnostics.is_empty() {
        Ok(scenario)
    } else {
        diagnostics.sort();
        Err(diagnostics)
    }
}

/// A hint for the one YAML trap the value syntax sets: a value starting with
/// `>` (a comparison such as `> 90%`) reads as a folded block scalar.
fn syntax_help(text: &str, position: Position) -> Option<String> {
    let line = text.lines().nth(position.line.checked_sub(1)?)?;
    let rest: String = line.chars().skip(position.column.checked_sub(1)?).collect();
    let value = rest.trim_start();
    let value = value
        .strip_prefix(':')
        .map(str::trim_start)
        .unwrap_or(value);
    value.starts_with('>').then(|| {
        let written = value.trim_end_matches(['}', ',', ' ']).trim_end();
        format!("a value starting with `>` must be quoted: `\"{written}\"`")
    })
}
