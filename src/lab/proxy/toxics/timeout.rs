//! The `timeout` toxic: drops every byte in its direction, and closes the
//! connection once no chunk has arrived for `timeout` ms (never, if 0).
//!
//! The timer restarts on every chunk and whenever the chain changes, so it is
//! an idle timeout, as in Toxiproxy. Deleting the toxic closes the connection
//! (the stream has lost data, so carrying on would corrupt it); updating it
//! only restarts the timer.

use tokio::time::Instant;

use super::{End, Event, Removal, Stage, millis};

pub(crate) struct Timeout {
    timeout: Option<std::time::Duration>,
    last_activity: Instant,
    pending_end: Option<End>,
    closed: bool,
}

impl Timeout {
    pub(crate) fn new(timeout_ms: i64, now: Instant) -> Self {
        Self {
            timeout: (timeout_ms > 0).then(|| millis(timeout_ms)),
            last_activity: now,
            pending_end: None,
            closed: false,
        }
    }
}

impl Stage for Timeout {
    fn push(&mut self, event: Event, now: Instant) {
        match event {
            Event::Data(_) => self.last_activity = now,
            Event::End(end) => self.pending_end = Some(end),
        }
    }

    fn pull(&mut self, now: Instant) -> Option<Event> {
        if self.closed {
            return None;
        }
        if let Some(end) = self.pending_end.take() {
            self.closed = true;
            return Some(Event::End(end));
        }
        let timeout = self.timeout?;
        if now >= self.last_activity + timeout {
            self.closed = true;
            return Some(Event::End(End::Fin));
        }
        None
    }

    fn deadline(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        if self.pending_end.is_some() {
            return Some(self.last_activity);
        }
        self.timeout.map(|timeout| self.last_activity + timeout)
    }

    fn is_full(&self) -> bool {
        false
    }

    fn drain(&mut self, why: Removal) -> Vec<Event> {
        match (why, self.pending_end.take()) {
            (_, Some(end)) => vec![Event::End(end)],
            (Removal::Deleted, None) if !self.closed => vec![Event::End(End::Fin)],
            _ => Vec::new(),
        }
    }

    fn chain_changed(&mut self, now: Instant) {
        self.last_activity = now;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::test_support::*;
    use super::*;

    #[test]
    fn drops_data_and_closes_after_idle_timeout() {
        let start = Instant::now();
        let mut stage = Timeout::new(500, start);
        let at = |ms| start + Duration::from_millis(ms);
        stage.push(chunk("a", at(200)), at(200));
        stage.push(chunk("b", at(400)), at(400));
        assert!(
            pull_all(&mut stage, at(899)).is_empty(),
            "data is dropped, timer restarted"
        );
        assert_eq!(pull_all(&mut stage, at(900)), ["<eof>"]);
        assert!(pull_all(&mut stage, at(2000)).is_empty());
    }

    #[test]
    fn zero_never_closes_and_deletion_closes() {
        let start = Instant::now();
        let mut stage = Timeout::new(0, start);
        stage.push(chunk("a", start), start);
        assert!(pull_all(&mut stage, start + Duration::from_secs(3600)).is_empty());
        assert_eq!(stage.drain(Removal::Replaced), Vec::new());
        assert_eq!(stage.drain(Removal::Deleted), vec![Event::End(End::Fin)]);
    }

    #[test]
    fn chain_change_restarts_the_timer() {
        let start = Instant::now();
        let mut stage = Timeout::new(600, start);
        stage.chain_changed(start + Duration::from_millis(400));
        assert_eq!(stage.deadline(), Some(start + Duration::from_millis(1000)));
    }
}
