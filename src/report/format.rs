//! Text for humans: numbers, percentages, durations and times as the report
//! shows them, and the cleaning every string from a results file gets before
//! it reaches a template (control characters that HTML and XML cannot carry,
//! length caps). Pure functions; escaping itself is the template engine's job.

/// Replaces characters that XML 1.0 forbids and HTML treats as parse errors
/// (C0 controls other than tab, newline and carriage return; DEL and C1
/// controls; lone surrogates cannot occur in a Rust string) with U+FFFD, so
/// a hostile results file cannot produce an invalid JUnit file.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 => '\u{FFFD}',
            c if (0x7F..=0x9F).contains(&(c as u32)) => '\u{FFFD}',
            '\u{FFFE}' | '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// [`clean`], then cut to at most `max_chars` characters (never inside a
/// character), marking the cut with an ellipsis.
pub fn clean_truncated(text: &str, max_chars: usize) -> String {
    let cleaned = clean(text);
    if cleaned.chars().count() <= max_chars {
        return cleaned;
    }
    let mut cut: String = cleaned.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// An integer with thousands separators: `14,980` (the verdict's own formatting, so
/// checks and report tables print counts alike).
pub use crate::verdict::format::count;

/// A percentage, by the verdict's one rule ([`crate::verdict::format::percent`]),
/// with `—` in a table cell for a fraction that is not a number.
pub fn percent(fraction: f64) -> String {
    crate::verdict::format::percent_or(fraction, "—")
}

/// Budget spent as a headline number: `30%` (of the budget), or from ten
/// times the budget on a multiple, `372×` (the verdict's rule).
pub fn budget_multiple(share: f64) -> String {
    crate::verdict::format::budget_multiple_or(share, percent)
}

/// Budget spent in words: `30% of the budget`, `372× the budget`; `noun`
/// names the budget (`budget`, `monthly budget`).
pub fn budget_share(share: f64, noun: &str) -> String {
    crate::verdict::format::budget_share_or(share, percent, noun)
}

/// Milliseconds: `0.42 ms`, `12.3 ms`, `1,250 ms`.
pub fn millis(value: f64) -> String {
    if !value.is_finite() {
        return "—".to_string();
    }
    if value < 10.0 {
        format!("{} ms", trim_zeros(&format!("{value:.2}")))
    } else if value < 100.0 {
        format!("{} ms", trim_zeros(&format!("{value:.1}")))
    } else {
        format!("{} ms", count(value.round().max(0.0) as u64))
    }
}

/// A duration in seconds for people: `850 ms`, `12.5 s`, `3 min 20 s`, `1 h 2 min`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "—".to_string();
    }
    let sign = if seconds < 0.0 { "-" } else { "" };
    let seconds = seconds.abs();
    let body = if seconds < 1.0 {
        format!("{:.0} ms", seconds * 1000.0)
    } else if seconds < 60.0 {
        format!("{} s", trim_zeros(&format!("{seconds:.1}")))
    } else if seconds < 3600.0 {
        let whole = seconds.round() as u64;
        format!("{} min {} s", whole / 60, whole % 60)
    } else {
        let whole = seconds.round() as u64;
        format!("{} h {} min", whole / 3600, whole % 3600 / 60)
    };
    format!("{sign}{body}")
}

/// A run offset for tables and axes: `t+0:05`, `t+12:30`, `t+1:02:03`.
pub fn offset(seconds: f64) -> String {
    format!("t+{}", clock(seconds))
}

/// `m:ss`, or `h:mm:ss` past an hour (no sign, rounded to whole seconds).
pub fn clock(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "—".to_string();
    }
    let whole = seconds.max(0.0).round() as u64;
    if whole >= 3600 {
        format!(
            "{}:{:02}:{:02}",
            whole / 3600,
            whole % 3600 / 60,
            whole % 60
        )
    } else {
        format!("{}:{:02}", whole / 60, whole % 60)
    }
}

/// A number with at most `decimals` decimals and no trailing zeros.
pub fn number(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return "—".to_string();
    }
    trim_zeros(&format!("{value:.decimals$}"))
}

/// An RFC 3339 timestamp for people: `2026-11-29 05:17:26 UTC`. Text that
/// does not look like RFC 3339 is shown as it is (cleaned).
pub fn timestamp(rfc3339: &str) -> String {
    let text = clean(rfc3339);
    let looks_right = text.len() >= 19
        && text.is_char_boundary(19)
        && text.as_bytes().get(10) == Some(&b'T')
        && text.ends_with('Z');
    if looks_right {
        format!("{} {} UTC", &text[..10], &text[11..19])
    } else {
        text
    }
}

pub use crate::timestamp::{epoch_seconds, seconds_between};

/// Percent-encodes one path segment (everything but unreserved characters),
/// so a directory name can never become a `javascript:` or absolute URL.
pub fn url_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn trim_zeros(text: &str) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_control_characters_but_keeps_text() {
        assert_eq!(
            clean("a\u{0}b\tc\u{1b}é\u{85}"),
            "a\u{FFFD}b\tc\u{FFFD}é\u{FFFD}"
        );
        assert_eq!(clean_truncated("ééééé", 3), "éé…");
        assert_eq!(clean_truncated("abc", 3), "abc");
    }

    #[test]
    fn formats_numbers_for_people() {
        assert_eq!(count(0), "0");
        assert_eq!(count(14_980), "14,980");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(percent(0.0002), "0.02%");
        assert_eq!(percent(0.001), "0.1%");
        assert_eq!(percent(0.015), "1.5%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(f64::NAN), "—");
        assert_eq!(millis(0.4249), "0.42 ms");
        assert_eq!(millis(1250.4), "1,250 ms");
        assert_eq!(duration(0.85), "850 ms");
        assert_eq!(duration(200.0), "3 min 20 s");
        assert_eq!(duration(3720.0), "1 h 2 min");
        assert_eq!(offset(3723.0), "t+1:02:03");
        assert_eq!(offset(65.0), "t+1:05");
    }

    #[test]
    fn reads_timestamps_it_writes() {
        let start = "2026-11-29T05:17:26.123Z";
        assert_eq!(timestamp(start), "2026-11-29 05:17:26 UTC");
        assert_eq!(timestamp("yesterday"), "yesterday");
        assert_eq!(timestamp("ééééééééééééééééééééZ"), "ééééééééééééééééééééZ");
        let elapsed = seconds_between(start, "2026-11-29T05:20:46.123Z");
        assert!((elapsed.unwrap_or_default() - 200.0).abs() < 1e-6);
        let leap = epoch_seconds("2024-02-29T12:34:56.789Z").unwrap_or_default();
        assert!((leap - 1_709_210_096.789).abs() < 1e-3);
        assert_eq!(epoch_seconds("2024-13-01T00:00:00Z"), None);
    }

    #[test]
    fn url_segments_cannot_change_scheme() {
        assert_eq!(url_segment("redis-killed-2026"), "redis-killed-2026");
        assert_eq!(
            url_segment("javascript:alert(1)"),
            "javascript%3Aalert%281%29"
        );
        assert_eq!(url_segment("a b/é"), "a%20b%2F%C3%A9");
    }
}
