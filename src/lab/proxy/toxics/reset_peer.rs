//! The `reset_peer` toxic: waits for the first chunk (or close) in its
//! direction, drops it, and `timeout` ms later resets the connection (RST).
//!
//! Unlike Toxiproxy, the reset comes from this stage firing, not from a
//! socket option set when the connection opened: a toxicity of 0 never
//! resets (Toxiproxy #603), and a toxic added to an open connection resets
//! it too instead of closing it gracefully.

use tokio::time::Instant;

use super::{End, Event, Removal, Stage, millis};

pub(crate) struct ResetPeer {
    timeout: std::time::Duration,
    triggered_at: Option<Instant>,
    done: bool,
}

impl ResetPeer {
    pub(crate) fn new(timeout_ms: i64) -> Self {
        Self {
            timeout: millis(timeout_ms),
            triggered_at: None,
            done: false,
        }
    }
}

impl Stage for ResetPeer {
    fn push(&mut self, _event: Event, now: Instant) {
        // The first event arms the reset; it and everything after is dropped.
        if self.triggered_at.is_none() {
            self.triggered_at = Some(now);
        }
    }

    fn pull(&mut self, now: Instant) -> Option<Event> {
        let at = self.deadline()?;
        if now >= at {
            self.done = true;
            return Some(Event::End(End::Reset));
        }
        None
    }

    fn deadline(&self) -> Option<Instant> {
        if self.done {
            return None;
        }
        self.triggered_at.map(|at| at + self.timeout)
    }

    fn is_full(&self) -> bool {
        self.triggered_at.is_some()
    }

    fn drain(&mut self, _why: Removal) -> Vec<Event> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::test_support::*;
    use super::*;

    #[test]
    fn resets_timeout_after_the_first_chunk() {
        let start = Instant::now();
        let mut stage = ResetPeer::new(300);
        assert!(stage.deadline().is_none(), "idle until traffic");
        let first = start + Duration::from_millis(50);
        stage.push(chunk("hello", first), first);
        assert!(pull_all(&mut stage, first + Duration::from_millis(299)).is_empty());
        assert_eq!(
            pull_all(&mut stage, first + Duration::from_millis(300)),
            ["<rst>"]
        );
        assert!(pull_all(&mut stage, first + Duration::from_secs(9)).is_empty());
    }
}
