//! Secret redaction: every resolved secret's value is replaced by `***` in
//! everything gameday writes (results.json, faults.jsonl, report.html,
//! junit.xml) or prints (the terminal, logs).
//!
//! Secrets are registered once, where they are resolved (a header template's
//! environment variables when a run starts, a lab's generated passwords);
//! the writers call [`bytes`] or [`text`] on what they are about to write, so
//! a value the target echoes back (in an error, a provider name) or a command
//! prints is caught wherever it ends up. Each secret is also matched in its
//! JSON- and HTML-escaped forms, the encodings of the files written.
//!
//! Values shorter than [`MIN_SECRET_BYTES`] are not redacted: replacing every
//! `a` or `42` would erase ordinary text, and such a value is no secret.

use std::borrow::Cow;
use std::sync::RwLock;

/// What a secret is replaced by.
pub const MASK: &str = "***";

/// Shorter values are not treated as secrets (see the module doc).
pub const MIN_SECRET_BYTES: usize = 4;

/// The registered forms, longest first (so a longer form is replaced before
/// a shorter one inside it).
static FORMS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers a secret value: from now on it is redacted everywhere.
pub fn register(value: &str) {
    if value.len() < MIN_SECRET_BYTES {
        return;
    }
    let json = serde_json::to_string(value).unwrap_or_default();
    let json = json
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or(value)
        .to_owned();
    let html = html_escaped(value);
    let mut forms = FORMS.write().unwrap_or_else(|p| p.into_inner());
    for form in [value.to_owned(), json, html] {
        if !forms.contains(&form) {
            forms.push(form);
        }
    }
    forms.sort_by_key(|form| std::cmp::Reverse(form.len()));
}

/// `text` with every registered secret replaced by [`MASK`].
pub fn text(text: &str) -> Cow<'_, str> {
    let forms = FORMS.read().unwrap_or_else(|p| p.into_inner());
    if !forms.iter().any(|form| text.contains(form.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut redacted = text.to_owned();
    for form in forms.iter() {
        if redacted.contains(form.as_str()) {
            redacted = redacted.replace(form.as_str(), MASK);
        }
    }
    Cow::Owned(redacted)
}

/// `bytes` with every registered secret replaced by [`MASK`] (byte-wise, so
/// any file content can go through it).
pub fn bytes(bytes: &[u8]) -> Cow<'_, [u8]> {
    let forms = FORMS.read().unwrap_or_else(|p| p.into_inner());
    let mut current: Cow<'_, [u8]> = Cow::Borrowed(bytes);
    for form in forms.iter() {
        if let Some(replaced) = replace_bytes(&current, form.as_bytes(), MASK.as_bytes()) {
            current = Cow::Owned(replaced);
        }
    }
    current
}

/// `haystack` with every `needle` replaced, or `None` when there is none.
fn replace_bytes(haystack: &[u8], needle: &[u8], with: &[u8]) -> Option<Vec<u8>> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut index = 0;
    while index + needle.len() <= haystack.len() {
        if haystack[index..].starts_with(needle) {
            let buffer = out.get_or_insert_with(|| Vec::with_capacity(haystack.len()));
            buffer.extend_from_slice(&haystack[copied..index]);
            buffer.extend_from_slice(with);
            index += needle.len();
            copied = index;
        } else {
            index += 1;
        }
    }
    let mut buffer = out?;
    buffer.extend_from_slice(&haystack[copied..]);
    Some(buffer)
}

/// The value as the report templates escape it.
fn html_escaped(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#x27;"),
            '/' => escaped.push_str("&#x2F;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_values_are_masked_in_every_encoding() {
        register("s3cr\"et/<tok>");
        register("ab"); // too short to be a secret
        assert_eq!(text("x s3cr\"et/<tok> y ab"), "x *** y ab");
        let json = serde_json::to_vec(&serde_json::json!({"e": "s3cr\"et/<tok>"})).expect("json");
        assert_eq!(&*bytes(&json), br#"{"e":"***"}"#);
        assert_eq!(
            &*bytes(b"<td>s3cr&quot;et&#x2F;&lt;tok&gt;</td>"),
            b"<td>***</td>"
        );
        assert!(matches!(text("nothing here"), Cow::Borrowed(_)));
    }
}
