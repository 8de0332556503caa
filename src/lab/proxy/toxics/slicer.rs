//! The `slicer` toxic: cuts each chunk into pieces of about `average_size`
//! bytes (± `size_variation`) by repeated halving, and waits `delay` µs after
//! each piece.
//!
//! Toxiproxy overflows its stack on `average_size` 0 and can panic when
//! `size_variation >= average_size`; here the API refuses an average below 1
//! and the variation is capped below the average, and the halving is a loop,
//! not recursion.

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
    queue: VecDeque<Event>,
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
    fn push(&mut self, event: Event, _now: Instant) {
        match event {
            Event::Data(chunk) => {
                let received_at = chunk.received_at;
                for data in self.slice(chunk.data) {
                    self.queue
                        .push_back(Event::Data(Chunk { data, received_at }));
                }
            }
            end => self.queue.push_back(end),
        }
    }

    fn pull(&mut self, now: Instant) -> Option<Event> {
        if self.next_send.is_some_and(|next| next > now) {
            return None;
        }
        let event = self.queue.pop_front()?;
        if matches!(event, Event::Data(_)) && !self.delay.is_zero() {
            self.next_send = Some(now + self.delay);
        }
        Some(event)
    }

    fn deadline(&self) -> Option<Instant> {
        if self.queue.is_empty() {
            None
        } else {
            self.next_send
        }
    }

    fn is_full(&self) -> bool {
        !self.queue.is_empty()
    }

    fn drain(&mut self, _why: Removal) -> Vec<Event> {
        self.queue.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
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
}
