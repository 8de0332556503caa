//! The closed one-second buckets of a run, stored compactly.
//!
//! A run keeps one bucket per second for as long as it lasts, so this is
//! the one part of the recorder that grows with the duration. A
//! [`SecondBucket`] as the results carry it is ~120 bytes plus a map (one
//! allocated node of ~400 bytes as soon as a provider answered); here a
//! second is 56 bytes: counters as `u32`, latencies as whole microseconds
//! (what the histograms hold), and its provider counts as a range of one
//! shared list whose names are interned. An hour is ~0.25 MB instead of
//! ~2 MB. Buckets are rebuilt exactly on the way out.

use std::collections::BTreeMap;

use crate::results::{Latency, OutcomeCounts, SecondBucket};

/// One closed second. Counters saturate at `u32::MAX` (4 billion requests
/// in one second) and latencies at `u32::MAX` µs (71 minutes).
#[derive(Debug, Clone, Copy)]
struct CompactSecond {
    t: u32,
    sent: u32,
    dropped: u32,
    /// ok, degraded ok, HTTP error, timeout, connection error.
    outcomes: [u32; 5],
    /// p50, p95, p99, max in µs.
    latency_us: [u32; 4],
    /// This second's entries in [`ClosedSeconds::provider_counts`].
    providers_start: u32,
    providers_len: u16,
}

/// The closed seconds, in order of `t`.
#[derive(Debug, Default)]
pub struct ClosedSeconds {
    seconds: Vec<CompactSecond>,
    /// Provider names, each once; indices into it are `u16`.
    provider_names: Vec<String>,
    /// (provider index, answered turns) of every second, in order.
    provider_counts: Vec<(u16, u32)>,
}

fn narrow(count: u64) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// Microseconds held exactly by a latency in ms (the histograms record
/// whole µs, and `Latency` is µs / 1000).
fn micros(ms: f64) -> u32 {
    let us = (ms * 1000.0).round();
    if us >= f64::from(u32::MAX) {
        u32::MAX
    } else if us > 0.0 {
        us as u32
    } else {
        0
    }
}

impl ClosedSeconds {
    /// The second after the last closed one (0 when none is).
    pub fn next_t(&self) -> u32 {
        self.seconds
            .last()
            .map_or(0, |last| last.t.saturating_add(1))
    }

    /// Appends a second (after every stored one).
    pub fn push(&mut self, bucket: &SecondBucket) {
        let providers_start = narrow(self.provider_counts.len() as u64);
        let mut providers_len = 0u16;
        for (name, count) in &bucket.providers {
            if providers_len == u16::MAX {
                break;
            }
            let index = match self.provider_names.iter().position(|known| known == name) {
                Some(index) => index,
                None if self.provider_names.len() < usize::from(u16::MAX) => {
                    self.provider_names.push(name.clone());
                    self.provider_names.len() - 1
                }
                // 65,535 distinct providers: the rest are not kept per second
                // (the phase statistics still count them).
                None => continue,
            };
            self.provider_counts.push((index as u16, narrow(*count)));
            providers_len += 1;
        }
        let outcomes = &bucket.outcomes;
        let latency = &bucket.latency;
        self.seconds.push(CompactSecond {
            t: bucket.t,
            sent: narrow(bucket.sent),
            dropped: narrow(bucket.dropped),
            outcomes: [
                narrow(outcomes.ok),
                narrow(outcomes.degraded_ok),
                narrow(outcomes.http_error),
                narrow(outcomes.timeout),
                narrow(outcomes.connection_error),
            ],
            latency_us: [
                micros(latency.p50_ms),
                micros(latency.p95_ms),
                micros(latency.p99_ms),
                micros(latency.max_ms),
            ],
            providers_start,
            providers_len,
        });
    }

    /// The stored seconds from second `from` on, as the results carry them.
    pub fn since(&self, from: u32) -> Vec<SecondBucket> {
        let start = self.seconds.partition_point(|second| second.t < from);
        self.seconds[start..]
            .iter()
            .map(|second| self.bucket(second))
            .collect()
    }

    fn bucket(&self, second: &CompactSecond) -> SecondBucket {
        let ms = |us: u32| f64::from(us) / 1000.0;
        let [ok, degraded_ok, http_error, timeout, connection_error] =
            second.outcomes.map(u64::from);
        let start = second.providers_start as usize;
        let end = start + usize::from(second.providers_len);
        let providers: BTreeMap<String, u64> = self
            .provider_counts
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .filter_map(|&(index, count)| {
                let name = self.provider_names.get(usize::from(index))?;
                Some((name.clone(), u64::from(count)))
            })
            .collect();
        SecondBucket {
            t: second.t,
            sent: u64::from(second.sent),
            dropped: u64::from(second.dropped),
            outcomes: OutcomeCounts {
                ok,
                degraded_ok,
                http_error,
                timeout,
                connection_error,
            },
            latency: Latency {
                p50_ms: ms(second.latency_us[0]),
                p95_ms: ms(second.latency_us[1]),
                p99_ms: ms(second.latency_us[2]),
                max_ms: ms(second.latency_us[3]),
            },
            providers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(t: u32, providers: &[(&str, u64)]) -> SecondBucket {
        SecondBucket {
            t,
            sent: 2_001 + u64::from(t),
            dropped: u64::from(t % 3),
            outcomes: OutcomeCounts {
                ok: 1_990,
                degraded_ok: 7,
                http_error: 2,
                timeout: 1,
                connection_error: u64::from(t),
            },
            // What histogram::summarise gives: whole µs / 1000.
            latency: Latency {
                p50_ms: 6_670.0 / 1000.0,
                p95_ms: 12_345.0 / 1000.0,
                p99_ms: 800_123.0 / 1000.0,
                max_ms: 1_000_001.0 / 1000.0,
            },
            providers: providers
                .iter()
                .map(|(name, count)| ((*name).to_owned(), *count))
                .collect(),
        }
    }

    #[test]
    fn seconds_come_back_exactly_as_they_went_in() {
        let input = vec![
            bucket(0, &[("primary", 1_990)]),
            bucket(1, &[]),
            bucket(2, &[("primary", 3), ("secondary", 1_994)]),
            bucket(5, &[("secondary", 1), ("tertiary", 2)]),
        ];
        let mut closed = ClosedSeconds::default();
        for second in &input {
            closed.push(second);
        }
        assert_eq!(closed.since(0), input);
        assert_eq!(closed.since(2), input[2..].to_vec());
        assert_eq!(closed.since(3), input[3..].to_vec());
        assert!(closed.since(6).is_empty());
        assert_eq!(closed.next_t(), 6);
        assert_eq!(closed.seconds.len(), 4);
        assert_eq!(closed.provider_names.len(), 3, "names are interned");
    }

    #[test]
    fn out_of_range_values_saturate_instead_of_wrapping() {
        let mut huge = bucket(0, &[("p", u64::MAX)]);
        huge.sent = u64::from(u32::MAX) + 5;
        huge.latency.max_ms = 1e12;
        huge.latency.p50_ms = -1.0;
        let mut closed = ClosedSeconds::default();
        closed.push(&huge);
        let back = &closed.since(0)[0];
        assert_eq!(back.sent, u64::from(u32::MAX));
        assert_eq!(back.providers["p"], u64::from(u32::MAX));
        assert_eq!(back.latency.max_ms, f64::from(u32::MAX) / 1000.0);
        assert_eq!(back.latency.p50_ms, 0.0);
    }

    #[test]
    fn a_second_takes_56_bytes() {
        assert_eq!(std::mem::size_of::<CompactSecond>(), 56);
    }
}
