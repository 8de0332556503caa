//! The `limit_data` toxic: forwards at most `bytes` bytes in its direction,
//! cutting the chunk that crosses the limit, then closes the connection.
//! The count survives updates of the toxic.

use std::collections::VecDeque;

use tokio::time::Instant;

use super::{Chunk, End, Event, Removal, Stage};

pub(crate) struct LimitData {
    limit: u64,
    forwarded: u64,
    queue: VecDeque<Event>,
    closed: bool,
}

impl LimitData {
    pub(crate) fn new(limit: i64, already_forwarded: u64) -> Self {
        Self {
            limit: limit.max(0) as u64,
            forwarded: already_forwarded,
            queue: VecDeque::new(),
            closed: false,
        }
    }

    fn close(&mut self) {
        self.closed = true;
        self.queue.push_back(Event::End(End::Fin));
    }
}

impl Stage for LimitData {
    fn push(&mut self, event: Event, _now: Instant) {
        if self.closed {
            return;
        }
        match event {
            Event::Data(chunk) => {
                let room = self.limit.saturating_sub(self.forwarded);
                if room == 0 {
                    self.close();
                    return;
                }
                let mut data = chunk.data;
                if data.len() as u64 > room {
                    data.truncate(room as usize);
                }
                self.forwarded += data.len() as u64;
                self.queue.push_back(Event::Data(Chunk {
                    data,
                    received_at: chunk.received_at,
                }));
                if self.forwarded >= self.limit {
                    self.close();
                }
            }
            Event::End(end) => {
                self.closed = true;
                self.queue.push_back(Event::End(end));
            }
        }
    }

    fn pull(&mut self, _now: Instant) -> Option<Event> {
        self.queue.pop_front()
    }

    fn is_full(&self) -> bool {
        !self.queue.is_empty()
    }

    fn drain(&mut self, _why: Removal) -> Vec<Event> {
        self.queue.drain(..).collect()
    }

    fn bytes_forwarded(&self) -> u64 {
        self.forwarded
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn cuts_at_the_limit_then_closes() {
        let now = Instant::now();
        let mut stage = LimitData::new(7, 0);
        stage.push(chunk("hello", now), now);
        stage.push(chunk("world", now), now);
        stage.push(chunk("more", now), now);
        assert_eq!(pull_all(&mut stage, now), ["hello", "wo", "<eof>"]);
    }

    #[test]
    fn zero_closes_on_the_first_chunk_and_count_survives_updates() {
        let now = Instant::now();
        let mut stage = LimitData::new(0, 0);
        stage.push(chunk("x", now), now);
        assert_eq!(pull_all(&mut stage, now), ["<eof>"]);
        let mut updated = LimitData::new(10, 8);
        updated.push(chunk("abcdef", now), now);
        assert_eq!(pull_all(&mut updated, now), ["ab", "<eof>"]);
    }
}
