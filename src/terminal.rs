//! What gameday prints to a terminal: text that came from the target, a
//! command or a scenario file is shown with its control characters escaped
//! (an ESC could recolour, move the cursor or retitle the terminal; a NUL or
//! a carriage return could hide text) and with every secret redacted.
//!
//! [`clean`] is the one helper every terminal printer passes such text
//! through (the [`crate::outln`] and [`crate::errln`] macros do it); the
//! log writer ([`crate::console::LogWriter`]) redacts secrets from log lines.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` safe to print: secrets masked (see [`crate::redact`]) and every
/// control character except newline and tab written as `\u{..}` (`\e` for
/// ESC is not portable, so all of them use the same form).
pub fn clean(text: &str) -> Cow<'_, str> {
    let redacted = crate::redact::text(text);
    if !redacted.chars().any(is_unsafe) {
        return redacted;
    }
    let mut escaped = String::with_capacity(redacted.len() + 16);
    for c in redacted.chars() {
        if is_unsafe(c) {
            let _ = write!(escaped, "\\u{{{:x}}}", u32::from(c));
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

/// Control characters a terminal acts on (C0, DEL and C1), except the line
/// breaks and tabs that plain output uses.
fn is_unsafe(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_lines_kept() {
        assert_eq!(
            clean("a\u{1b}[2Jb\0c\rd\n\te"),
            "a\\u{1b}[2Jb\\u{0}c\\u{d}d\n\te"
        );
        assert_eq!(clean("\u{9b}31m"), "\\u{9b}31m");
        assert!(matches!(clean("plain text\n"), Cow::Borrowed(_)));
    }
}
