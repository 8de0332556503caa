//! Human-written durations (`250ms`, `2s`, `1.5s`, `3m`, `1h`) for the CLI and
//! scenario files, parsed strictly: a number and a unit, nothing else.

use std::time::Duration;

/// Parses `"250ms"`, `"2s"`, `"1.5s"`, `"3m"`, `"1h"` (also `us`).
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("'{text}' has no unit; write e.g. 250ms, 2s, 3m or 1h"))?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' does not start with a number"))?;
    let seconds_per_unit = match unit.trim() {
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "unknown unit '{other}' in '{text}'; use us, ms, s, m or h"
            ));
        }
    };
    let seconds = value * seconds_per_unit;
    if !seconds.is_finite() || !(0.0..=1e9).contains(&seconds) {
        return Err(format!("'{text}' is out of range"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// A clap value parser for durations.
pub fn clap_parser(text: &str) -> Result<Duration, String> {
    parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("3m"), Ok(Duration::from_secs(180)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("40us"), Ok(Duration::from_micros(40)));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(parse("250").unwrap_err().contains("no unit"));
        assert!(parse("ms").unwrap_err().contains("number"));
        assert!(parse("5 parsecs").unwrap_err().contains("unknown unit"));
        assert!(parse("1e999s").is_err());
    }
}
