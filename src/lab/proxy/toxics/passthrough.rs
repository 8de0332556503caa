//! The pass-through stage: the `noop` toxic, and any toxic whose toxicity
//! roll said "not on this connection".

use std::collections::VecDeque;

use tokio::time::Instant;

use super::{Event, Removal, Stage};

/// Hands every event on unchanged.
#[derive(Debug, Default)]
pub(crate) struct Passthrough {
    queue: VecDeque<Event>,
}

impl Stage for Passthrough {
    fn push(&mut self, event: Event, _now: Instant) {
        self.queue.push_back(event);
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
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn passes_everything_in_order() {
        let now = Instant::now();
        let mut stage = Passthrough::default();
        stage.push(chunk("a", now), now);
        stage.push(chunk("b", now), now);
        stage.push(Event::End(super::super::End::Fin), now);
        assert_eq!(pull_all(&mut stage, now), ["a", "b", "<eof>"]);
    }
}
