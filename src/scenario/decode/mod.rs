//! Decoding the located YAML tree into the typed [`Scenario`], collecting
//! every structural problem instead of stopping at the first.
//!
//! "Structural" means what one value says on its own: an unknown key (with a
//! did-you-mean), a missing field, a wrong type, a duration or percentage
//! that does not parse. Rules that relate values to each other (a fault
//! that ends after the run, an expectation for a phase that does not exist)
//! belong to `scenario::validate`, which runs on the typed result.
//!
//! - `sections`: the top level, target, traffic, prices, alerts and halt.
//! - `fault`: timeline entries and their faults, toxics included.
//! - `expect`: per-phase expectations.
//! - `monitoring`: the Prometheus and the alert and PromQL expectations on it.

mod expect;
mod fault;
mod monitoring;
mod sections;

use std::time::Duration;

use super::diagnostic::{Diagnostic, Position, Source, closest, list, suggest};
use super::model::{Comparison, Scenario};
use super::tree::{Node, Value};
use super::values;

pub(crate) use sections::{Clean, decode_scenario};

/// Collects diagnostics while the tree is decoded.
pub(crate) struct Decoder<'s, 't> {
    source: &'s Source<'t>,
    diagnostics: Vec<Diagnostic>,
}

impl<'s, 't> Decoder<'s, 't> {
    pub(crate) fn new(source: &'s Source<'t>) -> Decoder<'s, 't> {
        Decoder {
            source,
            diagnostics: Vec::new(),
        }
    }

    pub(crate) fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diagnostics
    }

    fn error(&mut self, position: Position, message: impl Into<String>) {
        self.diagnostics
            .push(self.source.diagnostic(position, message, None));
    }

    fn error_with_help(&mut self, position: Position, message: impl Into<String>, help: String) {
        self.diagnostics
            .push(self.source.diagnostic(position, message, Some(help)));
    }

    /// Reports a wrong type: "`what` must be EXPECTED, found KIND".
    fn wrong_type(&mut self, node: &Node, what: &str, expected: &str) {
        self.error(
            node.position,
            format!("`{what}` must be {expected}, found {}", node.value.kind()),
        );
    }

    /// The entries of a mapping, with unknown keys reported against `known`.
    /// `null` (an empty section) reads as an empty mapping.
    fn fields<'n>(&mut self, node: &'n Node, what: &str, known: &[&str]) -> Option<Fields<'n>> {
        let entries = match &node.value {
            Value::Map(entries) => entries,
            Value::Null => {
                return Some(Fields {
                    what: what.to_string(),
                    position: node.owner_position(),
                    entries: Vec::new(),
                    misspelt: Vec::new(),
                });
            }
            _ => {
                self.wrong_type(node, what, "a mapping");
                return None;
            }
        };
        let mut fields = Fields {
            what: what.to_string(),
            position: node.owner_position(),
            entries: Vec::new(),
            misspelt: Vec::new(),
        };
        for (key, value) in entries {
            let Value::String(name) = &key.value else {
                continue;
            };
            if known.contains(&name.as_str()) {
                fields.entries.push((name.as_str(), key, value));
            } else {
                let meant = closest(name, known.iter().copied());
                if let Some(meant) = meant {
                    fields.misspelt.push(meant.to_string());
                }
                self.error_with_help(
                    key.position,
                    if what.is_empty() {
                        format!("unknown top-level key `{name}`")
                    } else {
                        format!("unknown key `{name}` in `{what}`")
                    },
                    match meant {
                        Some(meant) => format!("did you mean `{meant}`?"),
                        None => format!("expected one of: {}", list(known)),
                    },
                );
            }
        }
        Some(fields)
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            Value::String(text) => Some(text.clone()),
            Value::Int(number) => Some(number.to_string()),
            _ => {
                self.wrong_type(node, what, "a string");
                None
            }
        }
    }

    /// A string that must be one of `choices` (with a did-you-mean).
    fn choice<'c>(&mut self, node: &Node, what: &str, choices: &[&'c str]) -> Option<&'c str> {
        let text = self.string(node, what)?;
        match choices.iter().find(|choice| **choice == text) {
            Some(choice) => Some(choice),
            None => {
                self.error_with_help(
                    node.position,
                    format!("unknown {what} `{text}`"),
                    suggest(&text, choices),
                );
                None
            }
        }
    }

    fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.value {
            Value::Bool(value) => Some(value),
            _ => {
                self.wrong_type(node, what, "`true` or `false`");
                None
            }
        }
    }

    fn integer(&mut self, node: &Node, what: &str) -> Option<i64> {
        match node.value {
            Value::Int(value) => Some(value),
            _ => {
                self.wrong_type(node, what, "an integer");
                None
            }
        }
    }

    /// A non-negative integer that fits `T`.
    fn count<T: TryFrom<i64>>(&mut self, node: &Node, what: &str) -> Option<T> {
        let value = self.integer(node, what)?;
        match T::try_from(value) {
            Ok(value) => Some(value),
            Err(_) => {
                self.error(
                    node.position,
                    format!("`{what}` must be a non-negative integer in range, got {value}"),
                );
                None
            }
        }
    }

    fn number(&mut self, node: &Node, what: &str) -> Option<f64> {
        match node.value {
            Value::Int(value) => Some(value as f64),
            Value::Float(value) if value.is_finite() => Some(value),
            _ => {
                self.wrong_type(node, what, "a number");
                None
            }
        }
    }

    /// Reads a scalar through one of the `values` parsers; plain numbers get a
    /// help line suggesting the unit.
    fn text_value<T>(
        &mut self,
        node: &Node,
        what: &str,
        parse: impl Fn(&str) -> Result<T, String>,
        number_help: impl Fn(&str) -> String,
    ) -> Option<T> {
        let text = match &node.value {
            Value::String(text) => text.clone(),
            Value::Int(_) | Value::Float(_) => {
                let written = scalar_text(&node.value);
                if let Ok(value) = parse(&written) {
                    return Some(value);
                }
                self.error_with_help(
                    node.position,
                    format!("`{what}` needs a unit"),
                    number_help(&written),
                );
                return None;
            }
            _ => {
                self.wrong_type(node, what, "a string");
                return None;
            }
        };
        match parse(&text) {
            Ok(value) => Some(value),
            Err(message) => {
                self.error(node.position, format!("`{what}`: {message}"));
                None
            }
        }
    }

    fn duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        self.text_value(node, what, values::duration, |number| {
            format!("write a duration such as `{number}s` or `{number}ms`")
        })
    }

    fn percent(&mut self, node: &Node, what: &str) -> Option<f64> {
        self.text_value(node, what, values::percent, |number| {
            format!("write a percentage such as `{number}%`")
        })
    }

    fn rate(&mut self, node: &Node, what: &str) -> Option<f64> {
        self.text_value(node, what, values::rate, |number| {
            format!("write a rate such as `{number}/s`")
        })
    }

    fn percent_comparison(&mut self, node: &Node, what: &str) -> Option<Comparison<f64>> {
        self.text_value(
            node,
            what,
            |text| values::comparison(text, values::percent, "< 0.1%"),
            |number| format!("write a comparison such as `< {number}%`"),
        )
    }

    fn duration_comparison(&mut self, node: &Node, what: &str) -> Option<Comparison<Duration>> {
        self.text_value(
            node,
            what,
            |text| values::comparison(text, values::duration, "< 2s"),
            |number| format!("write a comparison such as `< {number}s`"),
        )
    }

    fn sequence<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [Node]> {
        match &node.value {
            Value::Seq(items) => Some(items),
            Value::Null => Some(&[]),
            _ => {
                self.wrong_type(node, what, "a list");
                None
            }
        }
    }
}

/// The text a numeric scalar was written as (`60`, `99.9`).
fn scalar_text(value: &Value) -> String {
    match value {
        Value::Int(number) => number.to_string(),
        Value::Float(number) => number.to_string(),
        _ => String::new(),
    }
}

/// The entries of one mapping whose keys were all known.
struct Fields<'n> {
    what: String,
    position: Position,
    entries: Vec<(&'n str, &'n Node, &'n Node)>,
    /// Known keys that an unknown key looked like: a missing one of these
    /// was already reported as the typo, not again as missing.
    misspelt: Vec<String>,
}

impl<'n> Fields<'n> {
    /// The value of `key`, unless absent or written as `null`.
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(name, _, value)| *name == key && value.value != Value::Null)
            .map(|(_, _, value)| *value)
    }

    /// The value of a key that must be present.
    fn required(&self, decoder: &mut Decoder, key: &str) -> Option<&'n Node> {
        let value = self.get(key);
        if value.is_none() && !self.misspelt.iter().any(|meant| meant == key) {
            match self.entries.iter().find(|(name, _, _)| *name == key) {
                Some((_, key_node, _)) => decoder.error(
                    key_node.position,
                    format!("`{}` needs a value", self.path(key)),
                ),
                None => decoder.error(
                    self.position,
                    if self.what.is_empty() {
                        format!("the scenario is missing the required key `{key}`")
                    } else {
                        format!("`{}` is missing the required key `{key}`", self.what)
                    },
                ),
            }
        }
        value
    }

    /// The path of a child, for messages.
    fn path(&self, key: &str) -> String {
        if self.what.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.what)
        }
    }

    /// Every entry, in file order.
    fn iter(&self) -> impl Iterator<Item = (&'n str, &'n Node, &'n Node)> + '_ {
        self.entries.iter().copied()
    }
}

/// The result of decoding: a scenario (with placeholders where sections were
/// broken), the sections that decoded cleanly, and the problems found.
pub(crate) struct Decoded {
    /// `None` when the file is not a mapping at all.
    pub(crate) scenario: Option<Scenario>,
    /// Sections without problems.
    pub(crate) clean: Clean,
    /// Every structural problem.
    pub(crate) diagnostics: Vec<Diagnostic>,
}

/// Decodes a YAML tree, collecting every structural problem.
pub(crate) fn decode(root: &Node, source: &Source) -> Decoded {
    let mut decoder = Decoder::new(source);
    let decoded = decode_scenario(&mut decoder, root, source.file(), source.text());
    // Every section that failed must have said why; if one did not (a bug),
    // refuse the file rather than run a scenario with a placeholder in it.
    if decoder.diagnostics.is_empty() {
        let silent = match &decoded {
            Some((_, clean)) => sections::TOP_LEVEL_KEYS
                .iter()
                .find(|section| !clean.contains(section))
                .copied(),
            None => Some("the scenario"),
        };
        if let Some(section) = silent {
            decoder.error(
                root.position,
                format!("`{section}` could not be read (no further detail; please report this)"),
            );
        }
    }
    let diagnostics = decoder.into_diagnostics();
    match decoded {
        Some((scenario, clean)) => Decoded {
            scenario: Some(scenario),
            clean,
            diagnostics,
        },
        None => Decoded {
            scenario: None,
            clean: Clean::default(),
            diagnostics,
        },
    }
}

/// A tree node as JSON (for values handed to APIs verbatim, such as LLM modes).
fn to_json(node: &Node) -> serde_json::Value {
    match &node.value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(value) => serde_json::Value::Bool(*value),
        Value::Int(value) => serde_json::Value::from(*value),
        Value::Float(value) => serde_json::Number::from_f64(*value)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Value::String(value) => serde_json::Value::String(value.clone()),
        Value::Seq(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => serde_json::Value::Object(
            entries
                .iter()
                .filter_map(|(key, value)| match &key.value {
                    Value::String(name) => Some((name.clone(), to_json(value))),
                    _ => None,
                })
                .collect(),
        ),
    }
}
