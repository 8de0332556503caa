//! The `slicer` toxic: cuts each chunk into pieces of about `average_size`
//! bytes (± `size_variation`) by repeated halving, and waits `delay` µs after
//! each piece.
//!
//! Toxiproxy overflows its stack on `average_size` 0 and can panic when
//! `size_variation >= average_size`; here the API refuses an average below 1
//! and the variation is capped below the average, and the halving is a loop,
//! not recursion.
//!
//! Each piece is due `delay` after the one before it was due (or when its
//! chunk arrived, if later), not after the relay got round to sending it, so
//! a late wake-up does not push every following piece back: over a chunk
//! the pieces keep the rate the toxic says.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::{Chunk, Event, Removal, Stage};
use crate::rng::Rng;

pub(crate) struct Slicer {
    average: usize,
    variation: usize,
    delay: Duration,
    rng: Rng,
    /// Pieces and ends, each with when it entered the stage.
    queue: VecDeque<(Instant, Event)>,
    /// When the piece after the last one sent is due.
    next_send: Option<Instant>,
}

impl Slicer {
    pub(crate) fn new(average_size: i64, size_variation: i64, delay_us: i64, rng: Rng) -> Self {
        let average = average_size.max(1) as usize;
        let variation = (size_variation.max(0) as usize).min(average - 1);
        Self {
            average,
            variation,
            delay: Duration::from_micros(delay_us.max(0) as u64).min(super::MAX_WAIT),
            rng,
            queue: VecDeque::new(),
            next_send: None,
        }
    }

    /// Splits `data` into pieces, in order.
    fn slice(&mut self, data: Bytes) -> Vec<Bytes> {
        let mut pieces = Vec::new();
        // A stack of pieces still to split; the last element is the leftmost.
        let mut pending = vec![data];
        while let Some(piece) = pending.pop() {
            if piece.len() <= self.average.saturating_add(self.variation) {
                pieces.push(piece);
                continue;
            }
            let mut middle = piece.len() / 2;
            if self.variation > 0 {
                let shift = self
                    .rng
                    .range_i64(-(self.variation as i64), self.variation as i64);
                middle = (middle as i64 + shift).clamp(1, piece.len() as i64 - 1) as usize;
            }
            let mut left = piece;
            let right = left.split_off(middle);
            pending.push(right);
            pending.push(left);
        }
        pieces
    }
}

impl Stage for Slicer {
    fn push(&mut self, event: Event, now: Instant) {
        match event {
            Event::Data(chunk) => {
                let received_at = chunk.received_at;
                for data in self.slice(chunk.data) {
                    self.queue
                        .push_back((now, Event::Data(Chunk { data, received_at })));
                }
            }
            end => self.queue.push_back((now, end)),
        }
    }

    fn pull(&mut self, now: Instant) -> Option<Event> {
        let due = self.deadline()?;
        if due > now {
            return None;
        }
        let (_, event) = self.queue.pop_front()?;
        if matches!(event, Event::Data(_)) && !self.delay.is_zero() {
            self.next_send = Some(due + self.delay);
        }
        Some(event)
    }

    fn deadline(&self) -> Option<Instant> {
        let (entered, _) = self.queue.front()?;
        Some(self.next_send.map_or(*entered, |next| next.max(*entered)))
    }

    fn is_full(&self) -> bool {
        !self.queue.is_empty()
    }

    fn drain(&mut self, _why: Removal) -> Vec<Event> {
        self.queue.drain(..).map(|(_, event)| event).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn sizes(stage: &mut Slicer, len: usize) -> Vec<usize> {
        stage
            .slice(Bytes::from(vec![b'x'; len]))
            .iter()
            .map(Bytes::len)
            .collect()
    }

    #[test]
    fn pieces_stay_within_average_plus_variation_and_sum_up() {
        let mut stage = Slicer::new(10, 5, 0, Rng::new(3));
        let pieces = sizes(&mut stage, 100);
        assert!(pieces.len() >= 6, "{pieces:?}");
        assert!(
            pieces.iter().all(|len| (1..=15).contains(len)),
            "{pieces:?}"
        );
        assert_eq!(pieces.iter().sum::<usize>(), 100);
    }

    #[test]
    fn degenerate_settings_do_not_crash() {
        let mut zero = Slicer::new(0, 0, 0, Rng::new(1));
        assert_eq!(sizes(&mut zero, 32 * 1024).len(), 32 * 1024);
        let mut wide = Slicer::new(3, 100, 0, Rng::new(1));
        assert_eq!(sizes(&mut wide, 1000).iter().sum::<usize>(), 1000);
    }

    #[test]
    fn waits_the_delay_between_pieces_in_order() {
        let start = Instant::now();
        let mut stage = Slicer::new(2, 0, 1000, Rng::new(1));
        stage.push(
            Event::Data(Chunk {
                data: Bytes::from_static(b"abcdef"),
                received_at: start,
            }),
            start,
        );
        let Some(Event::Data(first)) = stage.pull(start) else {
            panic!("first piece is due at once");
        };
        assert!(first.data.len() <= 2 && first.data.starts_with(b"a"));
        assert!(stage.pull(start).is_none());
        assert_eq!(stage.deadline(), Some(start + Duration::from_micros(1000)));
    }

    #[test]
    fn a_late_pull_does_not_push_the_following_pieces_back() {
        let start = Instant::now();
        let ms = |n| start + Duration::from_millis(n);
        let mut stage = Slicer::new(1, 0, 10_000, Rng::new(1));
        stage.push(chunk("abcd", start), start);
        assert_eq!(pull_all(&mut stage, start), ["a"]);
        // Pulled 5 ms late: "b" was due at 10 ms, so "c" is due at 20 ms.
        assert_eq!(pull_all(&mut stage, ms(15)), ["b"]);
        assert_eq!(stage.deadline(), Some(ms(20)));
        assert_eq!(pull_all(&mut stage, ms(20)), ["c"]);
        assert_eq!(stage.deadline(), Some(ms(30)));
    }

    #[test]
    fn after_an_idle_gap_a_piece_is_due_when_its_chunk_arrived() {
        let start = Instant::now();
        let ms = |n| start + Duration::from_millis(n);
        let mut stage = Slicer::new(1, 0, 10_000, Rng::new(1));
        stage.push(chunk("a", start), start);
        assert_eq!(pull_all(&mut stage, start), ["a"]);
        assert!(stage.deadline().is_none(), "nothing held");
        stage.push(chunk("bc", ms(500)), ms(500));
        assert_eq!(stage.deadline(), Some(ms(500)), "no banked burst, no wait");
        assert_eq!(pull_all(&mut stage, ms(500)), ["b"]);
        assert_eq!(stage.deadline(), Some(ms(510)));
    }
}
