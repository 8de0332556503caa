//! Deciding what one request gets under the active mode.
//!
//! [`decide`] is a pure function of the mode and the seeded generator, so the
//! same seed and the same sequence of requests always give the same sequence
//! of outcomes. It does no I/O and never sleeps; the server carries out the
//! decision.

use std::time::Duration;

use crate::rng::Rng;

use super::failure::Failure;
use super::mode::Mode;

/// How streamed tokens are spaced in time. All zero means "as fast as possible".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenPace {
    /// Wait before the first token.
    pub first_token: Duration,
    /// Extra wait between the first and the second token.
    pub stall_after_first: Duration,
    /// Wait before every token after the first.
    pub interval: Duration,
}

impl TokenPace {
    /// The wait before token `index` (0-based).
    pub fn wait_before(&self, index: usize) -> Duration {
        match index {
            0 => self.first_token,
            1 => self.stall_after_first.saturating_add(self.interval),
            _ => self.interval,
        }
    }

    /// The total time `tokens` tokens take to stream; what a non-streaming
    /// request waits under the same pace.
    pub fn total(&self, tokens: usize) -> Duration {
        (0..tokens).fold(Duration::ZERO, |sum, index| {
            sum.saturating_add(self.wait_before(index))
        })
    }
}

/// What the simulator does with one (valid) request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A normal 200 answer, after `delay`, with tokens paced by `pace`.
    Answer { delay: Duration, pace: TokenPace },
    /// A provider-shaped error response.
    Fail(Failure),
    /// No answer at all.
    Hang,
    /// A 200 whose body is cut after `after_tokens` tokens (streams) or halfway (JSON).
    Cut { after_tokens: usize },
    /// A 200 whose body is not valid JSON.
    Malformed,
}

impl Outcome {
    /// The status the client sees, or `None` when it never gets one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Outcome::Answer { .. } | Outcome::Cut { .. } | Outcome::Malformed => Some(200),
            Outcome::Fail(failure) => Some(failure.status().as_u16()),
            Outcome::Hang => None,
        }
    }

    fn answer() -> Outcome {
        Outcome::Answer {
            delay: Duration::ZERO,
            pace: TokenPace::default(),
        }
    }
}

/// Decides the outcome of the next request. Draws from `rng` only in modes
/// that are random (a rate below 1 draws once per request; jitter draws once).
pub fn decide(mode: &Mode, rng: &mut Rng) -> Outcome {
    match mode {
        Mode::Healthy => Outcome::answer(),
        Mode::Latency {
            latency_ms,
            jitter_ms,
        } => {
            let jitter = if *jitter_ms == 0 {
                0
            } else {
                let high = i64::try_from(*jitter_ms).unwrap_or(i64::MAX);
                u64::try_from(rng.range_i64(0, high)).unwrap_or(0)
            };
            Outcome::Answer {
                delay: Duration::from_millis(latency_ms.saturating_add(jitter)),
                pace: TokenPace::default(),
            }
        }
        Mode::Errors { rate, status } => {
            if rng.chance(rate.get()) {
                Outcome::Fail(Failure::Server(*status))
            } else {
                Outcome::answer()
            }
        }
        Mode::RateLimit {
            rate,
            retry_after_s,
        } => {
            if rng.chance(rate.get()) {
                Outcome::Fail(Failure::RateLimited {
                    retry_after_s: *retry_after_s,
                })
            } else {
                Outcome::answer()
            }
        }
        Mode::Overloaded { rate } => {
            if rng.chance(rate.get()) {
                Outcome::Fail(Failure::Overloaded)
            } else {
                Outcome::answer()
            }
        }
        Mode::Hang => Outcome::Hang,
        Mode::SlowStream {
            tokens_per_s,
            first_token_delay_ms,
            stall_after_first_ms,
        } => Outcome::Answer {
            delay: Duration::ZERO,
            pace: TokenPace {
                first_token: Duration::from_millis(*first_token_delay_ms),
                stall_after_first: Duration::from_millis(*stall_after_first_ms),
                interval: Duration::try_from_secs_f64(1.0 / tokens_per_s.get())
                    .unwrap_or(Duration::MAX),
            },
        },
        Mode::CutStream { after_tokens } => Outcome::Cut {
            after_tokens: *after_tokens,
        },
        Mode::Malformed => Outcome::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::llm_fault::mode::{ErrorStatus, Rate, TokensPerSecond};

    fn statuses(mode: &Mode, seed: u64, count: usize) -> Vec<Option<u16>> {
        let mut rng = Rng::new(seed);
        (0..count)
            .map(|_| decide(mode, &mut rng).status())
            .collect()
    }

    #[test]
    fn same_seed_same_outcomes() {
        let mode = Mode::Errors {
            rate: Rate::new(0.5).expect("valid rate"),
            status: ErrorStatus::ServiceUnavailable,
        };
        let first = statuses(&mode, 42, 200);
        assert_eq!(first, statuses(&mode, 42, 200));
        assert_ne!(first, statuses(&mode, 43, 200));
        let failures = first.iter().filter(|s| **s == Some(503)).count();
        assert!((60..=140).contains(&failures), "{failures} of 200 failed");
    }

    #[test]
    fn rate_extremes_are_exact() {
        let always = Mode::Overloaded { rate: Rate::ALWAYS };
        assert!(statuses(&always, 1, 100).iter().all(|s| *s == Some(529)));
        let never = Mode::RateLimit {
            rate: Rate::NEVER,
            retry_after_s: 1,
        };
        assert!(statuses(&never, 1, 100).iter().all(|s| *s == Some(200)));
    }

    #[test]
    fn latency_stays_within_latency_plus_jitter() {
        let mode = Mode::Latency {
            latency_ms: 100,
            jitter_ms: 20,
        };
        let mut rng = Rng::new(5);
        for _ in 0..500 {
            match decide(&mode, &mut rng) {
                Outcome::Answer { delay, .. } => {
                    assert!(delay >= Duration::from_millis(100));
                    assert!(delay <= Duration::from_millis(120));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn slow_stream_pace_adds_up() {
        let mode = Mode::SlowStream {
            tokens_per_s: TokensPerSecond::new(10.0).expect("valid rate"),
            first_token_delay_ms: 500,
            stall_after_first_ms: 1000,
        };
        let Outcome::Answer { pace, .. } = decide(&mode, &mut Rng::new(0)) else {
            panic!("slow_stream answers");
        };
        assert_eq!(pace.wait_before(0), Duration::from_millis(500));
        assert_eq!(pace.wait_before(1), Duration::from_millis(1100));
        assert_eq!(pace.wait_before(5), Duration::from_millis(100));
        // 500 + 1100 + 3 * 100
        assert_eq!(pace.total(5), Duration::from_millis(1900));
        assert_eq!(pace.total(0), Duration::ZERO);
    }

    #[test]
    fn hang_has_no_status() {
        assert_eq!(decide(&Mode::Hang, &mut Rng::new(0)).status(), None);
        assert_eq!(
            decide(&Mode::Malformed, &mut Rng::new(0)).status(),
            Some(200)
        );
    }
}
