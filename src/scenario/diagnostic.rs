//! Located problems in a scenario file and how they are shown.
//!
//! A [`Diagnostic`] names the file, line and column, quotes the source line
//! with a caret under the offending text, and may add a `help` line (for
//! unknown keys, a "did you mean"). [`Diagnostics`] is every problem found in
//! one pass over a file; it renders like rustc. This module also owns the
//! edit-distance suggestion used for every "did you mean".

use std::fmt;

/// A position in a scenario file: 1-based line and column, and the length of
/// the offending text in characters. Line 0 means "no position known".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// 1-based line (0 = unknown).
    pub line: usize,
    /// 1-based column in characters (0 = unknown).
    pub column: usize,
    /// Characters to underline (at least one caret is drawn).
    pub length: usize,
}

impl Position {
    /// A position with a known line and column.
    pub fn new(line: usize, column: usize, length: usize) -> Position {
        Position {
            line,
            column,
            length,
        }
    }

    /// No position (the problem concerns the file as a whole).
    pub const UNKNOWN: Position = Position {
        line: 0,
        column: 0,
        length: 0,
    };
}

/// One problem in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file (as given on the command line).
    pub file: String,
    /// 1-based line; 0 when the problem has no single place.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// The source line followed by a caret line under the offending text;
    /// empty when the position is unknown.
    pub excerpt: String,
    /// How to fix it, e.g. "did you mean `duration`?".
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic at `position` in `text` (the file's contents). This scans
    /// `text` for the line; for many diagnostics of one file use
    /// [`Source::diagnostic`], which indexes the lines once.
    pub fn new(
        file: &str,
        text: &str,
        position: Position,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Diagnostic {
        Source::new(file, text).diagnostic(position, message, help)
    }
}

/// A scenario file's name and text with the start of every line indexed
/// once, so that each diagnostic finds its source line in constant time
/// (a file with a hundred thousand problems is rendered in linear time).
#[derive(Debug, Clone)]
pub struct Source<'t> {
    file: &'t str,
    text: &'t str,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
    /// Whether each line is ASCII (characters are bytes: no scan needed).
    ascii: Vec<bool>,
}

impl<'t> Source<'t> {
    /// Indexes the lines of `text`.
    pub fn new(file: &'t str, text: &'t str) -> Source<'t> {
        // Empty text has no lines (as `str::lines` sees it).
        let mut line_starts = if text.is_empty() { Vec::new() } else { vec![0] };
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, byte)| *byte == b'\n')
                .map(|(index, _)| index + 1)
                .filter(|start| *start < text.len()),
        );
        let ascii = line_starts
            .iter()
            .enumerate()
            .map(|(index, start)| {
                let end = line_starts.get(index + 1).copied().unwrap_or(text.len());
                text.as_bytes()[*start..end].is_ascii()
            })
            .collect();
        Source {
            file,
            text,
            line_starts,
            ascii,
        }
    }

    /// The whole text.
    pub fn text(&self) -> &'t str {
        self.text
    }

    /// Whether line `number` (1-based) is ASCII.
    fn is_ascii(&self, number: usize) -> bool {
        number
            .checked_sub(1)
            .and_then(|index| self.ascii.get(index))
            .copied()
            .unwrap_or(false)
    }

    /// The file name shown in diagnostics.
    pub fn file(&self) -> &'t str {
        self.file
    }

    /// Line `number` (1-based) without its line ending.
    pub fn line(&self, number: usize) -> Option<&'t str> {
        let start = *self.line_starts.get(number.checked_sub(1)?)?;
        let end = self
            .line_starts
            .get(number)
            .copied()
            .unwrap_or(self.text.len());
        let line = self.text.get(start..end)?;
        Some(line.trim_end_matches('\n').trim_end_matches('\r'))
    }

    /// A diagnostic at `position` in this file.
    pub fn diagnostic(
        &self,
        position: Position,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Diagnostic {
        Diagnostic {
            file: self.file.to_string(),
            line: position.line,
            column: position.column,
            message: message.into(),
            excerpt: excerpt(self, position),
            help,
        }
    }
}

/// The most characters of a source line an excerpt quotes: a long line
/// (a whole file written as one flow mapping) is quoted around the problem.
const EXCERPT_CHARS: usize = 160;

/// How many characters before the problem a clipped excerpt keeps.
const EXCERPT_LEAD: usize = 40;

/// The source line at `position` and a caret line under it.
fn excerpt(source: &Source, position: Position) -> String {
    if position.line == 0 {
        return String::new();
    }
    let Some(source_line) = source.line(position.line) else {
        return String::new();
    };
    let start = position.column.max(1) - 1;
    // A long line is quoted from a little before the problem; the cost of an
    // excerpt stays independent of the line's length (for ASCII lines).
    let ascii = source.is_ascii(position.line);
    let (shown, start, clipped_left, clipped_right) = if source_line.len() <= EXCERPT_CHARS {
        (source_line, start, false, false)
    } else {
        let from = start.saturating_sub(EXCERPT_LEAD);
        let from_byte = byte_of_char(source_line, from, ascii);
        let rest = &source_line[from_byte..];
        let to_byte = byte_of_char(rest, EXCERPT_CHARS, ascii);
        (
            &rest[..to_byte],
            start - from.min(start),
            from_byte > 0,
            from_byte + to_byte < source_line.len(),
        )
    };
    let line_chars = if ascii {
        shown.len()
    } else {
        shown.chars().count()
    };
    // Underline the offending text, but never past the end of the line.
    let available = line_chars.saturating_sub(start).max(1);
    let carets = position.length.clamp(1, available);
    let left = if clipped_left { "..." } else { "" };
    let right = if clipped_right { "..." } else { "" };
    // Tabs keep their width in the caret line so the caret stays aligned.
    let padding: String = " ".repeat(left.len())
        + &shown
            .chars()
            .take(start)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect::<String>();
    format!("{left}{shown}{right}\n{padding}{}", "^".repeat(carets))
}

/// The byte offset of character `chars` of `text` (its length if shorter).
fn byte_of_char(text: &str, chars: usize, ascii: bool) -> usize {
    if ascii {
        return chars.min(text.len());
    }
    text.char_indices()
        .nth(chars)
        .map_or(text.len(), |(offset, _)| offset)
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        let gutter_width = if self.line == 0 {
            1
        } else {
            self.line.to_string().len()
        };
        let blank = " ".repeat(gutter_width);
        if self.line == 0 {
            writeln!(f, "{blank}--> {}", self.file)?;
        } else {
            writeln!(f, "{blank}--> {}:{}:{}", self.file, self.line, self.column)?;
        }
        let mut lines = self.excerpt.lines();
        if let (Some(source), Some(caret)) = (lines.next(), lines.next()) {
            writeln!(f, "{blank} |")?;
            writeln!(f, "{} | {source}", self.line)?;
            writeln!(f, "{blank} | {caret}")?;
        }
        if let Some(help) = &self.help {
            writeln!(f, "{blank} = help: {help}")?;
        }
        Ok(())
    }
}

/// Every problem found in a scenario file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// The problems.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// How many problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sorts by position (problems without one last) and drops exact duplicates.
    pub(crate) fn sort(&mut self) {
        self.0.sort_by_key(|diagnostic| {
            (
                diagnostic.line == 0,
                diagnostic.line,
                diagnostic.column,
                diagnostic.message.clone(),
            )
        });
        self.0.dedup();
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// The candidate closest to `word` by edit distance, if it is close enough
/// to be a plausible typo (at most a third of the word's length, minimum 1).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word_lower = word.to_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter_map(|candidate| {
            within(&word_lower, &candidate.to_lowercase(), limit)
                .map(|distance| (distance, candidate))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// The edit distance of two words if it is at most `limit`; cheap when it is
/// not (lengths too far apart are not compared at all), so a file of many
/// unknown keys is checked quickly.
fn within(left: &str, right: &str, limit: usize) -> Option<usize> {
    if left.chars().count().abs_diff(right.chars().count()) > limit {
        return None;
    }
    Some(edit_distance(left, right)).filter(|distance| *distance <= limit)
}

/// "did you mean `x`?" for the closest candidate, else the list of valid choices.
pub fn suggest(word: &str, candidates: &[&str]) -> String {
    match closest(word, candidates.iter().copied()) {
        Some(candidate) => format!("did you mean `{candidate}`?"),
        None => format!("expected one of: {}", list(candidates)),
    }
}

/// `a`, `b`, `c` for messages.
pub fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Levenshtein distance with adjacent transpositions (optimal string alignment).
fn edit_distance(left: &str, right: &str) -> usize {
    let left: Vec<char> = left.chars().collect();
    let right: Vec<char> = right.chars().collect();
    let width = right.len() + 1;
    let mut table = vec![0usize; (left.len() + 1) * width];
    for (i, cell) in table.iter_mut().step_by(width).enumerate() {
        *cell = i;
    }
    for (j, cell) in table.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=left.len() {
        for j in 1..=right.len() {
            let cost = usize::from(left[i - 1] != right[j - 1]);
            let mut best = (table[(i - 1) * width + j] + 1)
                .min(table[i * width + j - 1] + 1)
                .min(table[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && left[i - 1] == right[j - 2] && left[i - 2] == right[j - 1] {
                best = best.min(table[(i - 2) * width + j - 2] + 1);
            }
            table[i * width + j] = best;
        }
    }
    table[left.len() * width + right.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_edits_and_transpositions() {
        assert_eq!(edit_distance("duration", "duration"), 0);
        assert_eq!(edit_distance("durtion", "duration"), 1);
        assert_eq!(edit_distance("duraiton", "duration"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("warmpu", "warmup"), 1);
    }

    #[test]
    fn suggestions_only_for_plausible_typos() {
        let keys = ["rate", "duration", "warmup"];
        assert_eq!(closest("durtion", keys), Some("duration"));
        assert_eq!(closest("Warmup", keys), Some("warmup"));
        assert_eq!(closest("zebra", keys), None);
        assert_eq!(
            suggest("zebra", &keys),
            "expected one of: `rate`, `duration`, `warmup`"
        );
    }

    #[test]
    fn renders_like_rustc() {
        let text = "name: x\ntraffic:\n  durtion: 3m\n";
        let diagnostic = Diagnostic::new(
            "s.yaml",
            text,
            Position::new(3, 3, 7),
            "unknown key `durtion` in `traffic`",
            Some("did you mean `duration`?".to_string()),
        );
        assert_eq!(
            diagnostic.to_string(),
            "error: unknown key `durtion` in `traffic`\n --> s.yaml:3:3\n  |\n3 |   durtion: 3m\n  |   ^^^^^^^\n  = help: did you mean `duration`?\n"
        );
    }

    #[test]
    fn positions_out_of_the_text_render_without_excerpt() {
        let diagnostic = Diagnostic::new("s.yaml", "a: 1\n", Position::new(9, 1, 1), "x", None);
        assert!(diagnostic.excerpt.is_empty());
        assert!(diagnostic.to_string().contains("s.yaml:9:1"));
        let whole = Diagnostic::new("s.yaml", "a: 1\n", Position::UNKNOWN, "x", None);
        assert!(whole.to_string().contains("--> s.yaml\n"));
    }
}
