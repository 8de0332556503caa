//! Toxic stages: the per-connection, per-direction state machines that act on
//! timestamped chunks.
//!
//! Each stage is sans-I/O: it is fed [`Event`]s with the current time and
//! hands back events that are due, plus the next instant it wants to be woken.
//! The link (`super::link`: its task, and the timer thread at deadlines) owns
//! the sockets and the clock; the [`chain`](super::chain) links stages in
//! order. A chunk from the socket is pushed at the time it reached the proxy
//! (its `received_at`, the kernel's receive time), not when it was read, so
//! every schedule counts from the arrival. That keeps every toxic testable
//! with hand-made instants and no sleeping. One file per toxic.

use bytes::Bytes;
use tokio::time::Instant;

use crate::faults::toxiproxy::model::ToxicKind;
use crate::rng::Rng;

pub(crate) mod bandwidth;
pub(crate) mod latency;
pub(crate) mod limit_data;
pub(crate) mod passthrough;
pub(crate) mod reset_peer;
pub(crate) mod slicer;
pub(crate) mod slow_close;
pub(crate) mod timeout;

/// Bytes read from one socket read, stamped with when they arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub data: Bytes,
    pub received_at: Instant,
}

/// How a direction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// Close the connection normally (FIN).
    Fin,
    /// Close the connection with a TCP reset (RST).
    Reset,
}

/// What flows through a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    Data(Chunk),
    End(End),
}

/// Why a stage is being taken out of its chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Removal {
    /// The toxic was deleted: flush what it holds onward.
    Deleted,
    /// The toxic was updated: a fresh stage takes over what it holds.
    Replaced,
}

/// One toxic acting on one direction of one connection.
pub(crate) trait Stage: Send {
    /// Takes an event arriving at `now`.
    fn push(&mut self, event: Event, now: Instant);
    /// Hands out the next event that is due at `now`, if any.
    fn pull(&mut self, now: Instant) -> Option<Event>;
    /// When the stage next has something to do, if it is waiting on time.
    fn deadline(&self) -> Option<Instant> {
        None
    }
    /// True while the stage holds as much as it should: reading from the
    /// socket pauses, which back-pressures the sender as Toxiproxy does.
    fn is_full(&self) -> bool;
    /// Everything still held, in order, when the stage leaves the chain.
    fn drain(&mut self, why: Removal) -> Vec<Event>;
    /// Another toxic was added to or removed from the chain.
    fn chain_changed(&mut self, _now: Instant) {}
    /// Bytes forwarded so far (kept by `limit_data` across updates).
    fn bytes_forwarded(&self) -> u64 {
        0
    }
}

/// Builds the stage for a toxic. `active` is the toxicity roll: an inactive
/// toxic passes data through. `previous` is the stage being replaced on an
/// update, for state that survives updates.
pub(crate) fn build(
    kind: &ToxicKind,
    active: bool,
    rng: Rng,
    now: Instant,
    previous: Option<&dyn Stage>,
) -> Box<dyn Stage> {
    if !active {
        return Box::new(passthrough::Passthrough::default());
    }
    match *kind {
        ToxicKind::Latency { latency, jitter } => {
            Box::new(latency::Latency::new(latency, jitter, rng))
        }
        ToxicKind::Bandwidth { rate } => Box::new(bandwidth::Bandwidth::new(rate)),
        ToxicKind::SlowClose { delay } => Box::new(slow_close::SlowClose::new(delay)),
        ToxicKind::Timeout { timeout } => Box::new(timeout::Timeout::new(timeout, now)),
        ToxicKind::ResetPeer { timeout } => Box::new(reset_peer::ResetPeer::new(timeout)),
        ToxicKind::Slicer {
            average_size,
            size_variation,
            delay,
        } => Box::new(slicer::Slicer::new(
            average_size,
            size_variation,
            delay,
            rng,
        )),
        ToxicKind::LimitData { bytes } => Box::new(limit_data::LimitData::new(
            bytes,
            previous.map_or(0, |stage| stage.bytes_forwarded()),
        )),
        ToxicKind::Noop => Box::new(passthrough::Passthrough::default()),
    }
}

/// The longest wait any toxic schedules. Toxiproxy accepts any integer;
/// capping keeps `Instant` arithmetic from overflowing (a panic) on absurd
/// values while leaving every realistic setting untouched.
pub(crate) const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// Milliseconds as a duration; negative values count as zero, huge ones as [`MAX_WAIT`].
pub(crate) fn millis(value: i64) -> std::time::Duration {
    std::time::Duration::from_millis(value.max(0) as u64).min(MAX_WAIT)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub(crate) fn chunk(text: &str, at: Instant) -> Event {
        Event::Data(Chunk {
            data: Bytes::copy_from_slice(text.as_bytes()),
            received_at: at,
        })
    }

    /// Pulls every event due at `now`, as text (`<eof>`/`<rst>` for ends).
    pub(crate) fn pull_all(stage: &mut dyn Stage, now: Instant) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(event) = stage.pull(now) {
            out.push(match event {
                Event::Data(chunk) => String::from_utf8_lossy(&chunk.data).into_owned(),
                Event::End(End::Fin) => "<eof>".to_string(),
                Event::End(End::Reset) => "<rst>".to_string(),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    /// Any integer the API accepts must not make a stage panic.
    #[test]
    fn extreme_attributes_never_panic() {
        for value in [i64::MIN, -1, 0, 1, i64::MAX] {
            let kinds = [
                ToxicKind::Latency {
                    latency: value,
                    jitter: value,
                },
                ToxicKind::Bandwidth { rate: value },
                ToxicKind::SlowClose { delay: value },
                ToxicKind::Timeout { timeout: value },
                ToxicKind::ResetPeer { timeout: value },
                ToxicKind::Slicer {
                    average_size: value,
                    size_variation: value,
                    delay: value,
                },
                ToxicKind::LimitData { bytes: value },
                ToxicKind::Noop,
            ];
            for kind in kinds {
                let now = Instant::now();
                let mut stage = build(&kind, true, Rng::new(1), now, None);
                stage.push(chunk("some bytes", now), now);
                stage.push(Event::End(End::Fin), now);
                let _ = pull_all(stage.as_mut(), now);
                if let Some(deadline) = stage.deadline() {
                    let _ = pull_all(stage.as_mut(), deadline);
                }
                stage.chain_changed(now);
                let _ = stage.drain(Removal::Deleted);
            }
        }
    }
}
