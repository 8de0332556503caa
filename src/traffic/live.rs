//! What a running generator shows to other tasks: the [`LiveHandle`] (a
//! cheap clone) and its [`LiveSnapshot`] for the progress line, plus the
//! closed seconds for halt rules. The recent-window figures come from a
//! ring of ten one-second slots keyed by wall-clock time since the start,
//! so memory is fixed however long the run is.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

use super::histogram::{self, LatencyHistogram};
use super::recorder::Recorder;
use crate::results::{FailureSummary, SecondBucket};

/// Seconds kept in the live window (the error rate and p99 window).
const SLOTS: u64 = 10;
/// Seconds of the achieved-rate window.
const RATE_WINDOW: u64 = 5;

/// One wall-clock second of the live window.
#[derive(Debug)]
struct Slot {
    second: u64,
    sent: u64,
    dropped: u64,
    completed: u64,
    errors: u64,
    latency: LatencyHistogram,
}

/// The last ten seconds of sends and completions, by wall-clock second.
#[derive(Debug)]
pub struct LiveWindow {
    slots: Vec<Slot>,
    scratch: LatencyHistogram,
}

/// Recent figures computed from the window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LiveFigures {
    /// Sends per second over the last five whole seconds (or since the start).
    pub achieved_rate: f64,
    /// Errors / completions over the last ten seconds.
    pub error_rate: f64,
    /// Completions over the last ten seconds.
    pub completed: u64,
    /// p99 latency of those completions, milliseconds.
    pub p99_ms: f64,
}

impl LiveWindow {
    /// An empty window whose histograms copy `template`'s configuration.
    pub fn new(template: &LatencyHistogram) -> Self {
        let slots = (0..SLOTS)
            .map(|_| Slot {
                second: u64::MAX,
                sent: 0,
                dropped: 0,
                completed: 0,
                errors: 0,
                latency: histogram::empty_like(template),
            })
            .collect();
        Self {
            slots,
            scratch: histogram::empty_like(template),
        }
    }

    fn slot(&mut self, now: Duration) -> &mut Slot {
        let second = now.as_secs();
        let slot = &mut self.slots[(second % SLOTS) as usize];
        if slot.second != second {
            slot.second = second;
            slot.sent = 0;
            slot.dropped = 0;
            slot.completed = 0;
            slot.errors = 0;
            slot.latency.reset();
        }
        slot
    }

    /// A request was sent at `now`.
    pub fn sent(&mut self, now: Duration) {
        self.slot(now).sent += 1;
    }

    /// `count` requests were dropped, the last at `now`.
    pub fn dropped(&mut self, now: Duration, count: u64) {
        self.slot(now).dropped += count;
    }

    /// A request finished at `now`.
    pub fn completed(&mut self, now: Duration, error: bool, latency: Duration) {
        let slot = self.slot(now);
        slot.completed += 1;
        slot.errors += u64::from(error);
        histogram::record(&mut slot.latency, latency);
    }

    /// The figures at `now`.
    pub fn figures(&mut self, now: Duration) -> LiveFigures {
        let current = now.as_secs();
        let in_window =
            |slot: &Slot, seconds: u64| slot.second <= current && slot.second + seconds > current;
        // The achieved rate counts whole seconds only (the current one is
        // partial), except during the first second.
        let achieved_rate = if current == 0 {
            let sent: u64 = self
                .slots
                .iter()
                .filter(|s| s.second == 0)
                .map(|s| s.sent)
                .sum();
            sent as f64 / now.as_secs_f64().max(1e-3)
        } else {
            let seconds = current.min(RATE_WINDOW);
            let sent: u64 = self
                .slots
                .iter()
                .filter(|s| s.second < current && s.second + seconds >= current)
                .map(|s| s.sent)
                .sum();
            sent as f64 / seconds as f64
        };
        self.scratch.reset();
        let (mut completed, mut errors) = (0, 0);
        for slot in self.slots.iter().filter(|s| in_window(s, SLOTS)) {
            completed += slot.completed;
            errors += slot.errors;
            // Auto-resizing histograms: adding cannot run out of range.
            let _ = self.scratch.add(&slot.latency);
        }
        LiveFigures {
            achieved_rate,
            error_rate: if completed == 0 {
                0.0
            } else {
                errors as f64 / completed as f64
            },
            completed,
            p99_ms: histogram::summarise(&self.scratch).p99_ms,
        }
    }
}

/// State shared by the generator, its request tasks and live handles.
#[derive(Debug)]
pub(crate) struct Shared {
    pub recorder: Mutex<Recorder>,
    pub in_flight: AtomicUsize,
    pub sent: AtomicU64,
    pub dropped: AtomicU64,
    pub late: AtomicU64,
    pub completed: AtomicU64,
    pub errors: AtomicU64,
    pub start: OnceLock<Instant>,
}

impl Shared {
    pub fn new(recorder: Recorder) -> Self {
        Self {
            recorder: Mutex::new(recorder),
            in_flight: AtomicUsize::new(0),
            sent: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            late: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            start: OnceLock::new(),
        }
    }

    /// The recorder; a panic elsewhere while it was held leaves counters
    /// that are still worth reporting, so poisoning is ignored.
    pub fn recorder(&self) -> MutexGuard<'_, Recorder> {
        self.recorder
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A view of a running generator, usable from other tasks.
#[derive(Debug, Clone)]
pub struct LiveHandle {
    pub(crate) shared: Arc<Shared>,
}

/// The generator's state at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LiveSnapshot {
    /// Time since the run start (zero before it).
    pub elapsed: Duration,
    /// Requests sent so far.
    pub sent: u64,
    /// Requests finished so far.
    pub completed: u64,
    /// Of those, errors (HTTP error, timeout, connection error).
    pub errors: u64,
    /// Requests not sent because `max_in_flight` was reached.
    pub dropped: u64,
    /// Requests sent more than [`super::LATE_AFTER`] after their intended start
    /// (the generator fell behind; their latency still counts from the intended start).
    pub late: u64,
    /// Requests in flight now.
    pub in_flight: usize,
    /// Sends per second over the last 5 s.
    pub achieved_rate: f64,
    /// Error fraction of completions over the last 10 s.
    pub error_rate: f64,
    /// p99 latency of completions over the last 10 s, milliseconds.
    pub p99_ms: f64,
}

impl LiveHandle {
    /// The current figures.
    pub fn snapshot(&self) -> LiveSnapshot {
        let shared = &self.shared;
        let elapsed = shared.start.get().map_or(Duration::ZERO, |start| {
            Instant::now().saturating_duration_since(*start)
        });
        let figures = shared.recorder().live(elapsed);
        LiveSnapshot {
            elapsed,
            sent: shared.sent.load(Ordering::Relaxed),
            completed: shared.completed.load(Ordering::Relaxed),
            errors: shared.errors.load(Ordering::Relaxed),
            dropped: shared.dropped.load(Ordering::Relaxed),
            late: shared.late.load(Ordering::Relaxed),
            in_flight: shared.in_flight.load(Ordering::Relaxed),
            achieved_rate: figures.achieved_rate,
            error_rate: figures.error_rate,
            p99_ms: figures.p99_ms,
        }
    }

    /// The closed seconds (over, and all their requests finished) from
    /// second `from` on: a cheap incremental read for a halt rule that polls.
    pub fn seconds_since(&self, from: u32) -> Vec<SecondBucket> {
        self.shared.recorder().seconds_since(from)
    }

    /// The distinct failures so far of the phase named `phase` (e.g.
    /// `warmup`, for the preflight), most frequent first, and how many
    /// failed requests are not listed.
    pub fn failures_so_far(&self, phase: &str) -> (Vec<FailureSummary>, u64) {
        self.shared.recorder().failures_so_far(phase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    fn window() -> LiveWindow {
        LiveWindow::new(&histogram::new_histogram().expect("valid"))
    }

    #[test]
    fn achieved_rate_counts_the_last_five_whole_seconds() {
        let mut window = window();
        // 100/s for seconds 0..=7, then nothing.
        for second in 0..8u64 {
            for i in 0..100 {
                window.sent(ms(second * 1000 + i * 10));
            }
        }
        let figures = window.figures(ms(8_500));
        assert!((figures.achieved_rate - 100.0).abs() < 1e-9, "{figures:?}");
        // Two seconds later, two of the last five seconds were silent.
        let figures = window.figures(ms(10_500));
        assert!((figures.achieved_rate - 60.0).abs() < 1e-9, "{figures:?}");
        // During the first second: what was sent so far over the time so far.
        let mut early = self::window();
        for i in 0..50 {
            early.sent(ms(i * 10));
        }
        assert!((early.figures(ms(500)).achieved_rate - 100.0).abs() < 1e-9);
    }

    #[test]
    fn error_rate_and_p99_cover_the_last_ten_seconds() {
        let mut window = window();
        for i in 0..100u64 {
            window.completed(ms(i * 10), i % 2 == 0, ms(500));
        }
        for i in 0..100u64 {
            window.completed(ms(5_000 + i * 10), false, ms(2));
        }
        let figures = window.figures(ms(6_000));
        assert_eq!(figures.completed, 200);
        assert!((figures.error_rate - 0.25).abs() < 1e-9, "{figures:?}");
        assert!((figures.p99_ms - 500.0).abs() < 1.0, "{figures:?}");
        // Eleven seconds on, second 0 has left the window.
        let figures = window.figures(ms(14_500));
        assert_eq!(figures.completed, 100);
        assert_eq!(figures.error_rate, 0.0);
        assert!(figures.p99_ms < 3.0, "{figures:?}");
        // A slot is reused for a later second and starts from zero.
        window.completed(ms(15_000), true, ms(1));
        let figures = window.figures(ms(15_100));
        assert_eq!(figures.completed, 1);
        assert_eq!(figures.error_rate, 1.0);
    }
}
