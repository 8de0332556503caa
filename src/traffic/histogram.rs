//! Latency histograms: HdrHistogram in microseconds with 3 significant
//! digits, their summary as a [`Latency`], and their V2 deflate
//! serialisation as base64 (for `PhaseStats.histogram`, so phases can be
//! merged later). The base64 encoder is a few lines here rather than a crate.

use std::time::Duration;

use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};

use crate::results::Latency;

/// Significant digits kept (0.1% resolution).
const SIGNIFICANT_DIGITS: u8 = 3;

/// A latency histogram in microseconds.
pub type LatencyHistogram = Histogram<u64>;

/// An empty histogram that grows to whatever is recorded (so a short bucket
/// of millisecond latencies stays small). Later histograms are made with
/// [`empty_like`], which cannot fail.
pub fn new_histogram() -> Result<LatencyHistogram, hdrhistogram::CreationError> {
    Histogram::new(SIGNIFICANT_DIGITS)
}

/// An empty histogram with the configuration of `template`.
pub fn empty_like(template: &LatencyHistogram) -> LatencyHistogram {
    let mut histogram = Histogram::new_from(template);
    histogram.auto(true);
    histogram
}

/// Records one latency (saturating at the histogram's range).
pub fn record(histogram: &mut LatencyHistogram, latency: Duration) {
    let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    // `record` grows an auto-resizing histogram; `saturating_record` would
    // clamp to the current range instead.
    if histogram.record(micros.max(1)).is_err() {
        histogram.saturating_record(micros.max(1));
    }
}

/// p50, p95, p99 and max in milliseconds; zeros when empty.
pub fn summarise(histogram: &LatencyHistogram) -> Latency {
    if histogram.is_empty() {
        return Latency::default();
    }
    let ms = |micros: u64| micros as f64 / 1000.0;
    Latency {
        p50_ms: ms(histogram.value_at_quantile(0.50)),
        p95_ms: ms(histogram.value_at_quantile(0.95)),
        p99_ms: ms(histogram.value_at_quantile(0.99)),
        max_ms: ms(histogram.max()),
    }
}

/// The V2 deflate serialisation, base64 encoded; `None` if it failed.
pub fn encode(histogram: &LatencyHistogram) -> Option<String> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(histogram, &mut bytes)
        .ok()?;
    Some(base64(&bytes))
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let symbols = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
        for (i, symbol) in symbols.iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[*symbol as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::Deserializer;

    fn decode_base64(text: &str) -> Vec<u8> {
        let value = |c: u8| -> u32 {
            match c {
                b'A'..=b'Z' => u32::from(c - b'A'),
                b'a'..=b'z' => u32::from(c - b'a') + 26,
                b'0'..=b'9' => u32::from(c - b'0') + 52,
                b'+' => 62,
                b'/' => 63,
                _ => 0,
            }
        };
        let mut out = Vec::new();
        for chunk in text.as_bytes().chunks(4) {
            let pad = chunk.iter().filter(|c| **c == b'=').count();
            let n = chunk.iter().fold(0u32, |n, c| (n << 6) | value(*c));
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.extend_from_slice(&bytes[..3 - pad]);
        }
        out
    }

    #[test]
    fn base64_matches_the_rfc_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decode_base64(&base64(&all)), all);
    }

    #[test]
    fn summary_is_in_milliseconds_and_zero_when_empty() {
        let mut histogram = new_histogram().expect("valid");
        assert_eq!(summarise(&histogram), Latency::default());
        for ms in 1..=100 {
            record(&mut histogram, Duration::from_millis(ms));
        }
        let latency = summarise(&histogram);
        assert!((latency.p50_ms - 50.0).abs() < 0.1, "{latency:?}");
        assert!((latency.p99_ms - 99.0).abs() < 0.1, "{latency:?}");
        assert!((latency.max_ms - 100.0).abs() < 0.1, "{latency:?}");
    }

    #[test]
    fn the_encoding_round_trips_through_v2_deflate() {
        let mut histogram = new_histogram().expect("valid");
        for micros in [150, 900, 1_200, 45_000, 2_000_000] {
            record(&mut histogram, Duration::from_micros(micros));
        }
        let text = encode(&histogram).expect("serialises");
        let bytes = decode_base64(&text);
        let back: LatencyHistogram = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .expect("deserialises");
        assert_eq!(back.len(), 5);
        assert_eq!(back.max(), histogram.max());
    }
}
