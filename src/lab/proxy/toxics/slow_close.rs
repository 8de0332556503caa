//! The `slow_close` toxic: data passes untouched; a normal close (EOF) is
//! held for `delay` ms before it moves on.

use std::collections::VecDeque;

use tokio::time::Instant;

use super::{End, Event, Removal, Stage, millis};

pub(crate) struct SlowClose {
    delay: std::time::Duration,
    queue: VecDeque<(Instant, Event)>,
}

impl SlowClose {
    pub(crate) fn new(delay_ms: i64) -> Self {
        Self {
            delay: millis(delay_ms),
            queue: VecDeque::new(),
        }
    }
}

impl Stage for SlowClose {
    fn push(&mut self, event: Event, now: Instant) {
        let release = match event {
            Event::End(End::Fin) => now + self.delay,
            _ => now,
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
        !self.queue.is_empty()
    }

    fn drain(&mut self, _why: Removal) -> Vec<Event> {
        self.queue.drain(..).map(|(_, event)| event).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::test_support::*;
    use super::*;

    #[test]
    fn data_passes_and_the_close_waits() {
        let start = Instant::now();
        let mut stage = SlowClose::new(700);
        stage.push(chunk("a", start), start);
        stage.push(Event::End(End::Fin), start);
        assert_eq!(pull_all(&mut stage, start), ["a"]);
        assert_eq!(stage.deadline(), Some(start + Duration::from_millis(700)));
        assert!(pull_all(&mut stage, start + Duration::from_millis(699)).is_empty());
        assert_eq!(
            pull_all(&mut stage, start + Duration::from_millis(700)),
            ["<eof>"]
        );
    }
}
