//! The `latency` toxic: each chunk leaves at its receive time plus
//! `latency` ms plus a uniform jitter in `[-jitter, +jitter)` ms.
//!
//! The delay counts from when the chunk was read, so pipelined data does not
//! pile up delay; chunks keep their order (a chunk never overtakes the one
//! before it even when jitter would allow it). Up to 1024 chunks are held
//! before reading pauses, like Toxiproxy's buffered channel.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::{Event, Removal, Stage, millis};
use crate::rng::Rng;

/// How many chunks may wait before the socket read pauses.
const CAPACITY: usize = 1024;

pub(crate) struct Latency {
    latency: Duration,
    jitter_ms: i64,
    rng: Rng,
    queue: VecDeque<(Instant, Event)>,
}

impl Latency {
    pub(crate) fn new(latency_ms: i64, jitter_ms: i64, rng: Rng) -> Self {
        Self {
            latency: millis(latency_ms),
            jitter_ms: jitter_ms.max(0),
            rng,
            queue: VecDeque::new(),
        }
    }

    fn delay(&mut self) -> Duration {
        if self.jitter_ms == 0 {
            return self.latency;
        }
        let offset = self.rng.range_i64(-self.jitter_ms, self.jitter_ms - 1);
        let total = (self.latency.as_millis() as i64).saturating_add(offset);
        millis(total)
    }
}

impl Stage for Latency {
    fn push(&mut self, event: Event, now: Instant) {
        let wanted = match &event {
            Event::Data(chunk) => chunk.received_at + self.delay(),
            // The close follows the last chunk without a delay of its own.
            Event::End(_) => now,
        };
        let release = match self.queue.back() {
            Some((previous, _)) => wanted.max(*previous),
            None => wanted,
        };
        self.queue.push_back((release, event));
    }

    fn pull(&mut self, now: Instant) -> Option<Event> {
        match self.queue.front() {
            Some((release, _)) if *release <= now => self.queue.pop_front().map(|(_, e)| e),
            _ => None,
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.queue.front().map(|(release, _)| *release)
    }

    fn is_full(&self) -> bool {
        self.queue.len() >= CAPACITY
    }

    fn drain(&mut self, _why: Removal) -> Vec<Event> {
        self.queue.drain(..).map(|(_, event)| event).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::End;
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn holds_each_chunk_for_the_latency_from_its_receive_time() {
        let start = Instant::now();
        let mut stage = Latency::new(100, 0, Rng::new(1));
        stage.push(chunk("a", start), start);
        let later = start + Duration::from_millis(50);
        stage.push(chunk("b", later), later);
        assert!(pull_all(&mut stage, start + Duration::from_millis(99)).is_empty());
        assert_eq!(stage.deadline(), Some(start + Duration::from_millis(100)));
        assert_eq!(
            pull_all(&mut stage, start + Duration::from_millis(100)),
            ["a"]
        );
        assert_eq!(
            pull_all(&mut stage, start + Duration::from_millis(150)),
            ["b"]
        );
    }

    #[test]
    fn jitter_stays_in_range_and_order_is_kept() {
        let start = Instant::now();
        let mut stage = Latency::new(50, 20, Rng::new(7));
        for i in 0..200 {
            stage.push(chunk(&format!("{i}"), start), start);
        }
        let mut last = start;
        for (release, _) in &stage.queue {
            assert!(*release >= start + Duration::from_millis(30));
            assert!(*release < start + Duration::from_millis(70));
            assert!(*release >= last);
            last = *release;
        }
    }

    #[test]
    fn end_follows_the_last_chunk_and_drain_flushes() {
        let start = Instant::now();
        let mut stage = Latency::new(100, 0, Rng::new(1));
        stage.push(chunk("a", start), start);
        stage.push(Event::End(End::Fin), start);
        assert!(pull_all(&mut stage, start).is_empty());
        assert_eq!(
            pull_all(&mut stage, start + Duration::from_millis(100)),
            ["a", "<eof>"]
        );
        stage.push(chunk("c", start), start);
        assert_eq!(stage.drain(Removal::Deleted).len(), 1);
        assert!(stage.deadline().is_none());
    }
}
