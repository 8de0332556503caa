//! The `bandwidth` toxic: at most `rate` KB/s (KB = 1000 bytes) per
//! connection and direction.
//!
//! Each piece sent earns a "debt" of `len / rate` ms before the next may go;
//! chunks larger than 100 ms worth of bytes are cut so the rate holds at a
//! 100 ms grain. The schedule advances from the previous deadline, not from
//! when the timer actually fired, so timer overshoot is paid back; on an idle
//! stage it starts when the chunk reached the proxy (the link pushes chunks
//! at their arrival time), so a late read is paid back too. A rate of
//! zero or less never reaches here (the API refuses it; Toxiproxy hangs or
//! crashes on it), and is treated as unlimited to be safe.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::{Chunk, Event, Removal, Stage};

pub(crate) struct Bandwidth {
    /// Bytes per second; 0 means unlimited.
    bytes_per_second: u64,
    queue: VecDeque<Event>,
    /// When the next piece may be sent.
    next_send: Option<Instant>,
}

impl Bandwidth {
    pub(crate) fn new(rate_kb_per_second: i64) -> Self {
        Self {
            bytes_per_second: (rate_kb_per_second.max(0) as u64).saturating_mul(1000),
            queue: VecDeque::new(),
            next_send: None,
        }
    }

    fn max_piece(&self) -> usize {
        (self.bytes_per_second / 10).max(1) as usize
    }
}

impl Stage for Bandwidth {
    fn push(&mut self, event: Event, now: Instant) {
        if self.queue.is_empty() {
            // After an idle period the allowance does not accumulate.
            self.next_send = Some(self.next_send.map_or(now, |next| next.max(now)));
        }
        self.queue.push_back(event);
    }

    fn pull(&mut self, now: Instant) -> Option<Event> {
        if self.bytes_per_second == 0 {
            return self.queue.pop_front();
        }
        if self.next_send.is_some_and(|next| next > now) {
            return None;
        }
        let event = self.queue.pop_front()?;
        let Event::Data(chunk) = event else {
            return Some(event);
        };
        let piece = if chunk.data.len() > self.max_piece() {
            let mut rest = chunk.data;
            let piece = rest.split_to(self.max_piece());
            self.queue.push_front(Event::Data(Chunk {
                data: rest,
                received_at: chunk.received_at,
            }));
            Chunk {
                data: piece,
                received_at: chunk.received_at,
            }
        } else {
            chunk
        };
        let cost = Duration::from_nanos(
            (piece.data.len() as u64).saturating_mul(1_000_000_000) / self.bytes_per_second,
        );
        self.next_send = Some(self.next_send.unwrap_or(now) + cost);
        Some(Event::Data(piece))
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
    use bytes::Bytes;

    use super::*;

    #[test]
    fn sends_at_the_configured_rate_in_100ms_pieces() {
        let start = Instant::now();
        // 10 KB/s: pieces of 1000 bytes, one every 100 ms.
        let mut stage = Bandwidth::new(10);
        stage.push(
            Event::Data(Chunk {
                data: Bytes::from(vec![b'x'; 5000]),
                received_at: start,
            }),
            start,
        );
        let mut now = start;
        let mut sent = Vec::new();
        while sent.len() < 5 {
            match stage.pull(now) {
                Some(Event::Data(piece)) => sent.push((now - start, piece.data.len())),
                Some(Event::End(_)) => unreachable!(),
                None => now = stage.deadline().unwrap(),
            }
        }
        assert!(sent.iter().all(|(_, len)| *len == 1000));
        assert_eq!(sent[4].0, Duration::from_millis(400));
        assert!(stage.deadline().is_none());
    }

    #[test]
    fn the_schedule_starts_at_the_arrival_not_at_a_late_read() {
        let start = Instant::now();
        let ms = |n| start + Duration::from_millis(n);
        // 10 KB/s: pieces of 1000 bytes, one every 100 ms.
        let mut stage = Bandwidth::new(10);
        stage.push(
            Event::Data(Chunk {
                data: Bytes::from(vec![b'x'; 3000]),
                received_at: start,
            }),
            start,
        );
        // The relay got round to it 30 ms after it arrived.
        assert!(stage.pull(ms(30)).is_some());
        assert!(stage.pull(ms(30)).is_none());
        assert_eq!(stage.deadline(), Some(ms(100)));
        // A ring 7 ms late does not push the third piece back.
        assert!(stage.pull(ms(107)).is_some());
        assert_eq!(stage.deadline(), Some(ms(200)));
    }

    #[test]
    fn idle_time_does_not_bank_a_burst() {
        let start = Instant::now();
        let mut stage = Bandwidth::new(1);
        let piece = |at| {
            Event::Data(Chunk {
                data: Bytes::from(vec![b'x'; 100]),
                received_at: at,
            })
        };
        stage.push(piece(start), start);
        assert!(stage.pull(start).is_some());
        let later = start + Duration::from_secs(10);
        stage.push(piece(later), later);
        stage.push(piece(later), later);
        assert!(stage.pull(later).is_some());
        assert!(stage.pull(later).is_none(), "the second piece must wait");
        assert_eq!(stage.deadline(), Some(later + Duration::from_millis(100)));
    }
}
