//! The simulator's shared state: the active mode with its random generator,
//! the counters, and the shutdown signal every handler watches.
//!
//! Locks are plain mutexes held only for a few field updates, never across an
//! `.await`. The mode and the generator share one lock so that a decision
//! always uses the mode it was drawn under, in request order.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::rng::Rng;
use crate::shutdown::Shutdown;

use super::SimConfig;
use super::mode::Mode;
use super::outcome::{Outcome, decide};
use super::stats::{Recorded, Stats};

/// Everything the handlers share.
pub struct SimState {
    /// The simulator's name: in replies and in the `x-llm-sim-name` header.
    pub name: String,
    /// Length of a full reply, in tokens.
    pub reply_tokens: usize,
    /// Resolves when the server shuts down; ends hangs, delays and streams.
    pub shutdown: Shutdown,
    engine: Mutex<Engine>,
    stats: Mutex<Stats>,
    next_id: AtomicU64,
}

struct Engine {
    mode: Mode,
    rng: Rng,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave them half-updated in a
    // way that matters (counters and a mode), so a poisoned lock is still used.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SimState {
    /// State for `config`, watching `shutdown`.
    pub fn new(config: SimConfig, shutdown: Shutdown) -> SimState {
        let rng = config.seed.map_or_else(Rng::from_entropy, Rng::new);
        SimState {
            name: config.name,
            reply_tokens: config.reply_tokens,
            shutdown,
            engine: Mutex::new(Engine {
                mode: config.mode,
                rng,
            }),
            stats: Mutex::new(Stats::default()),
            next_id: AtomicU64::new(1),
        }
    }

    /// The active mode.
    pub fn mode(&self) -> Mode {
        lock(&self.engine).mode.clone()
    }

    /// Replaces the active mode; returns the previous one. Requests already
    /// decided keep their outcome.
    pub fn set_mode(&self, mode: Mode) -> Mode {
        std::mem::replace(&mut lock(&self.engine).mode, mode)
    }

    /// Decides the next request's outcome under the active mode.
    pub fn decide(&self) -> Outcome {
        let mut engine = lock(&self.engine);
        let Engine { mode, rng } = &mut *engine;
        decide(mode, rng)
    }

    /// Counts one request.
    pub fn record(&self, route: &str, recorded: Recorded) {
        lock(&self.stats).record(route, recorded);
    }

    /// A snapshot of the counters and the active mode.
    pub fn stats(&self) -> Stats {
        let mut stats = lock(&self.stats).clone();
        stats.mode = self.mode();
        stats
    }

    /// Zeroes the counters; returns the snapshot taken just before.
    pub fn reset_stats(&self) -> Stats {
        let mut stats = std::mem::take(&mut *lock(&self.stats));
        stats.mode = self.mode();
        stats
    }

    /// A fresh response number (1, 2, …).
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }
}

impl crate::lab::llm_fault::admin::AdminState for SimState {
    type Mode = Mode;
    type Stats = Stats;

    fn name(&self) -> &str {
        &self.name
    }

    fn mode(&self) -> Mode {
        SimState::mode(self)
    }

    fn set_mode(&self, mode: Mode) -> Mode {
        SimState::set_mode(self, mode)
    }

    fn stats(&self) -> Stats {
        SimState::stats(self)
    }

    fn reset_stats(&self) -> Stats {
        SimState::reset_stats(self)
    }
}
