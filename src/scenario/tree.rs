//! The scenario file as a YAML tree in which every node knows where it was
//! written.
//!
//! serde-saphyr parses the text (YAML 1.2 core schema: only `true`/`false`
//! are booleans, duplicate keys are errors, alias expansion is budgeted) and
//! its `Spanned` wrapper gives each node its line and column. Decoding this
//! tree by hand, rather than deserializing straight into the model, is what
//! lets the decoder report every problem in one pass instead of stopping at
//! the first. [`SourceMap`] indexes the nodes by path so that the semantic
//! checks, which work on the typed model, can still point at the source.

use std::collections::HashMap;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

use super::diagnostic::Position;

/// A YAML node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it was written.
    pub position: Position,
}

/// A YAML value; mapping keys are always read as text.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `~`, `null` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A plain integer.
    Int(i64),
    /// A plain float (also integers too large for `i64`).
    Float(f64),
    /// Any other scalar, quoted or not.
    String(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order.
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// How the value is described in "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "nothing",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::String(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A YAML syntax error, located.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    /// Where the parser stopped.
    pub position: Position,
    /// What it found.
    pub message: String,
}

/// Parses YAML text into a located tree.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    if text.trim().is_empty() {
        return Ok(Node {
            value: Value::Null,
            position: Position::new(1, 1, 1),
        });
    }
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    serde_saphyr::from_str_with_options::<Node>(text, options).map_err(|error| {
        let position = error
            .location()
            .map(|location| position_of(&location, 1))
            .unwrap_or(Position::UNKNOWN);
        SyntaxError {
            position,
            message: strip_location_prefix(&error.without_snippet().to_string()),
        }
    })
}

/// serde-saphyr's plain message starts with "line L column C: "; the
/// diagnostic shows the position itself.
fn strip_location_prefix(message: &str) -> String {
    let first_line = message.lines().next().unwrap_or(message);
    let trimmed = first_line.trim_start_matches("error: ");
    if trimmed.starts_with("line ")
        && let Some((_, rest)) = trimmed.split_once(": ")
    {
        return rest.to_string();
    }
    trimmed.to_string()
}

fn position_of(location: &Location, length: usize) -> Position {
    Position::new(
        usize::try_from(location.line()).unwrap_or(0),
        usize::try_from(location.column()).unwrap_or(0),
        length,
    )
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(deserializer)?;
        // Scalars are underlined whole; collections only at their first character.
        let length = match &spanned.value {
            Value::Seq(_) | Value::Map(_) => 1,
            _ => usize::try_from(spanned.referenced.span().len()).unwrap_or(1),
        };
        Ok(Node {
            position: position_of(&spanned.referenced, length),
            value: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("any YAML value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Int(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(match i64::try_from(value) {
            Ok(value) => Value::Int(value),
            Err(_) => Value::Float(value as f64),
        })
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Value::Float(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_string()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Value::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = access.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = access.next_key::<Spanned<KeyText>>()? {
            let length = key.value.0.chars().count().max(1);
            let key = Node {
                position: position_of(&key.referenced, length),
                value: Value::String(key.value.0),
            };
            let value = access.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }
}

/// A mapping key, always read as text (so `no:` or `1:` stay the text written).
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(KeyText)
    }
}

/// Positions of a tree's nodes by path, e.g. `timeline[2].fault.proxy` or
/// `expect.redis-down.breakers.primary`.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    keys: HashMap<String, Position>,
    values: HashMap<String, Position>,
}

impl SourceMap {
    /// Indexes every node of a tree.
    pub fn of(root: &Node) -> SourceMap {
        let mut map = SourceMap::default();
        map.values.insert(String::new(), root.position);
        map.index(root, "");
        map
    }

    fn index(&mut self, node: &Node, path: &str) {
        match &node.value {
            Value::Map(entries) => {
                for (key, value) in entries {
                    let Value::String(name) = &key.value else {
                        continue;
                    };
                    let child = join(path, name);
                    self.keys.insert(child.clone(), key.position);
                    self.values.insert(child.clone(), value.position);
                    self.index(value, &child);
                }
            }
            Value::Seq(items) => {
                for (index, item) in items.iter().enumerate() {
                    let child = format!("{path}[{index}]");
                    self.values.insert(child.clone(), item.position);
                    self.keys.insert(child.clone(), item.position);
                    self.index(item, &child);
                }
            }
            _ => {}
        }
    }

    /// Where the value at `path` was written; falls back to the closest
    /// enclosing node that exists (a defaulted field points at its section).
    pub fn value(&self, path: &str) -> Position {
        self.lookup(&self.values, path)
    }

    /// Where the key of `path` was written (same fallback as [`Self::value`]).
    pub fn key(&self, path: &str) -> Position {
        self.lookup(&self.keys, path)
    }

    fn lookup(&self, table: &HashMap<String, Position>, path: &str) -> Position {
        if let Some(position) = table.get(path) {
            return *position;
        }
        // A node that is not in the file (a defaulted field) is reported at
        // the key of its closest written ancestor.
        let mut current = path;
        while let Some(cut) = current.rfind(['.', '[']) {
            current = &current[..cut];
            if let Some(position) = self.keys.get(current) {
                return *position;
            }
        }
        self.values.get("").copied().unwrap_or(Position::UNKNOWN)
    }
}

/// `parent.child` (or `child` at the root).
pub fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_string()
    } else {
        format!("{parent}.{child}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Node {
        match parse(text) {
            Ok(node) => node,
            Err(error) => panic!("{text:?} should parse: {error:?}"),
        }
    }

    #[test]
    fn scalars_follow_the_yaml_core_schema() {
        let root = parse_ok("a: 42\nb: \"42\"\nc: 1.5\nd: true\ne: no\nf:\ng: 60s\n");
        let Value::Map(entries) = root.value else {
            panic!("a mapping")
        };
        let values: Vec<&Value> = entries.iter().map(|(_, value)| &value.value).collect();
        assert_eq!(
            values,
            [
                &Value::Int(42),
                &Value::String("42".into()),
                &Value::Float(1.5),
                &Value::Bool(true),
                &Value::String("no".into()),
                &Value::Null,
                &Value::String("60s".into()),
            ]
        );
    }

    #[test]
    fn nodes_know_their_line_and_column() {
        let root = parse_ok("traffic:\n  rate: 100/s\n  mix: {chat: 1}\n");
        let map = SourceMap::of(&root);
        assert_eq!(map.key("traffic.rate"), Position::new(2, 3, 4));
        assert_eq!(map.value("traffic.rate"), Position::new(2, 9, 5));
        assert_eq!(map.value("traffic.mix.chat").line, 3);
        // A missing node falls back to its closest ancestor's key.
        assert_eq!(map.value("traffic.warmup"), Position::new(1, 1, 7));
    }

    #[test]
    fn syntax_errors_are_located() {
        let error = parse("a: [1, 2\nb: c: d\n").err();
        let Some(error) = error else {
            panic!("should fail")
        };
        assert_eq!(error.position.line, 2);
        assert!(!error.message.starts_with("line"), "{}", error.message);
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let Err(error) = parse("a: 1\na: 2\n") else {
            panic!("should fail")
        };
        assert!(error.message.contains("duplicate"), "{}", error.message);
        assert_eq!(error.position.line, 2);
    }
}
