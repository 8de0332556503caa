//! A chain: the ordered toxic stages of one direction of one connection.
//!
//! Events enter the first stage, move stage to stage as each releases them,
//! and leave into a ready queue the relay writes to the socket. The chain is
//! rewired in place when the proxy's toxics change: kept stages keep their
//! state, a deleted stage flushes what it holds into the stage after it, an
//! updated stage is replaced by a fresh one (re-rolling toxicity) that takes
//! over what the old one held, and new stages join at the end. An empty
//! chain moves events straight to the ready queue (the fast path).

use std::collections::VecDeque;

use tokio::time::Instant;

use super::registry::PlannedToxic;
use super::toxics::{self, Event, Removal, Stage};
use crate::rng::Rng;

struct Slot {
    /// Which toxic (a deleted and re-added toxic of the same name is another one).
    id: u64,
    revision: u64,
    stage: Box<dyn Stage>,
    /// An end has entered this stage: later input is dropped.
    input_closed: bool,
}

/// One direction's stages.
pub(crate) struct Chain {
    slots: Vec<Slot>,
    ready: VecDeque<Event>,
    ready_closed: bool,
    /// Some stage has produced (or the source has pushed) an end: stop reading.
    ended: bool,
    rng: Rng,
}

impl Chain {
    /// A chain for `plan`, rolling toxicity for each toxic.
    pub(crate) fn new(plan: &[PlannedToxic], rng: Rng, now: Instant) -> Self {
        let mut chain = Self {
            slots: Vec::new(),
            ready: VecDeque::new(),
            ready_closed: false,
            ended: false,
            rng,
        };
        for toxic in plan {
            let slot = chain.new_slot(toxic, now, None);
            chain.slots.push(slot);
        }
        chain
    }

    fn new_slot(
        &mut self,
        toxic: &PlannedToxic,
        now: Instant,
        previous: Option<&dyn Stage>,
    ) -> Slot {
        let active = self.rng.chance(f64::from(toxic.toxicity));
        let stage_rng = Rng::new(self.rng.next_u64());
        Slot {
            id: toxic.id,
            revision: toxic.revision,
            stage: toxics::build(&toxic.kind, active, stage_rng, now, previous),
            input_closed: false,
        }
    }

    /// Feeds an event from the source socket.
    pub(crate) fn push(&mut self, event: Event, now: Instant) {
        if matches!(event, Event::End(_)) {
            self.ended = true;
        }
        self.deliver(0, event, now);
    }

    /// Hands `event` to the stage at `index` (or the ready queue past the end).
    fn deliver(&mut self, index: usize, event: Event, now: Instant) {
        let is_end = matches!(event, Event::End(_));
        match self.slots.get_mut(index) {
            Some(slot) => {
                if slot.input_closed {
                    return;
                }
                slot.input_closed = is_end;
                slot.stage.push(event, now);
            }
            None => {
                if self.ready_closed {
                    return;
                }
                self.ready_closed = is_end;
                self.ready.push_back(event);
            }
        }
    }

    /// Moves every event that is due at `now` as far along as it can go.
    pub(crate) fn advance(&mut self, now: Instant) {
        for index in 0..self.slots.len() {
            while let Some(event) = self.slots[index].stage.pull(now) {
                if matches!(event, Event::End(_)) {
                    self.ended = true;
                }
                self.deliver(index + 1, event, now);
            }
        }
    }

    /// The next event ready to be written.
    pub(crate) fn pop_ready(&mut self) -> Option<Event> {
        self.ready.pop_front()
    }

    /// The earliest instant a stage wants to act.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter_map(|slot| slot.stage.deadline())
            .min()
    }

    /// Whether the relay should read more from the source socket.
    pub(crate) fn accepting(&self) -> bool {
        !self.ended && self.ready.is_empty() && !self.slots.iter().any(|s| s.stage.is_full())
    }

    /// Drops every stage and everything held (the connection is gone).
    pub(crate) fn discard(&mut self) {
        self.slots.clear();
        self.ready.clear();
        self.ended = true;
    }

    /// True when there are no stages (every event passes straight through).
    pub(crate) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Applies a new toxic list for this direction to the live chain.
    pub(crate) fn rewire(&mut self, plan: &[PlannedToxic], now: Instant) {
        let old = std::mem::take(&mut self.slots);
        let mut slots: Vec<Slot> = Vec::with_capacity(plan.len());
        // Events released by removed stages, waiting for the next stage.
        let mut carry: Vec<Event> = Vec::new();
        let mut carry_closed = false;
        let changed = old.len() != plan.len()
            || old
                .iter()
                .zip(plan)
                .any(|(slot, toxic)| slot.id != toxic.id || slot.revision != toxic.revision);
        for mut slot in old {
            let planned = plan.iter().find(|toxic| toxic.id == slot.id);
            let mut kept = match planned {
                Some(toxic) if toxic.revision == slot.revision => slot,
                Some(toxic) => {
                    carry.extend(slot.stage.drain(Removal::Replaced));
                    carry_closed |= slot.input_closed;
                    self.new_slot(toxic, now, Some(slot.stage.as_ref()))
                }
                None => {
                    carry.extend(slot.stage.drain(Removal::Deleted));
                    carry_closed |= slot.input_closed;
                    continue;
                }
            };
            for event in carry.drain(..) {
                if !kept.input_closed {
                    kept.input_closed = matches!(event, Event::End(_));
                    kept.stage.push(event, now);
                }
            }
            kept.input_closed |= carry_closed;
            carry_closed = false;
            slots.push(kept);
        }
        for toxic in plan {
            if !slots.iter().any(|slot| slot.id == toxic.id) {
                let mut slot = self.new_slot(toxic, now, None);
                for event in carry.drain(..) {
                    if !slot.input_closed {
                        slot.input_closed = matches!(event, Event::End(_));
                        slot.stage.push(event, now);
                    }
                }
                slot.input_closed |= carry_closed;
                carry_closed = false;
                slots.push(slot);
            }
        }
        self.slots = slots;
        for event in carry {
            if matches!(event, Event::End(_)) {
                self.ended = true;
            }
            let past_end = self.slots.len();
            self.deliver(past_end, event, now);
        }
        if changed {
            for slot in &mut self.slots {
                slot.stage.chain_changed(now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;
    use crate::faults::toxiproxy::model::ToxicKind;
    use crate::lab::proxy::toxics::{Chunk, End};

    fn planned(id: u64, revision: u64, kind: ToxicKind) -> PlannedToxic {
        PlannedToxic {
            name: format!("toxic{id}"),
            id,
            revision,
            toxicity: 1.0,
            kind,
        }
    }

    fn data(text: &'static str, at: Instant) -> Event {
        Event::Data(Chunk {
            data: Bytes::from_static(text.as_bytes()),
            received_at: at,
        })
    }

    fn ready_text(chain: &mut Chain) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(event) = chain.pop_ready() {
            out.push(match event {
                Event::Data(chunk) => String::from_utf8_lossy(&chunk.data).into_owned(),
                Event::End(End::Fin) => "<eof>".into(),
                Event::End(End::Reset) => "<rst>".into(),
            });
        }
        out
    }

    #[test]
    fn empty_chain_passes_straight_through() {
        let now = Instant::now();
        let mut chain = Chain::new(&[], Rng::new(1), now);
        chain.push(data("a", now), now);
        assert_eq!(ready_text(&mut chain), ["a"]);
        assert!(chain.accepting());
    }

    #[test]
    fn removing_latency_flushes_held_data_without_loss() {
        let now = Instant::now();
        let latency = ToxicKind::Latency {
            latency: 1000,
            jitter: 0,
        };
        let mut chain = Chain::new(&[planned(1, 1, latency)], Rng::new(1), now);
        chain.push(data("a", now), now);
        chain.push(data("b", now), now);
        chain.advance(now);
        assert!(ready_text(&mut chain).is_empty());
        chain.rewire(&[], now);
        assert_eq!(ready_text(&mut chain), ["a", "b"]);
    }

    #[test]
    fn added_stage_applies_to_the_live_chain_and_toxicity_zero_passes() {
        let now = Instant::now();
        let mut chain = Chain::new(&[], Rng::new(1), now);
        let limit = planned(2, 1, ToxicKind::LimitData { bytes: 3 });
        chain.rewire(&[limit], now);
        chain.push(data("abcdef", now), now);
        chain.advance(now);
        assert_eq!(ready_text(&mut chain), ["abc", "<eof>"]);
        assert!(!chain.accepting());

        let mut never = planned(2, 1, ToxicKind::LimitData { bytes: 3 });
        never.toxicity = 0.0;
        let mut chain = Chain::new(&[never], Rng::new(1), now);
        chain.push(data("abcdef", now), now);
        chain.advance(now);
        assert_eq!(ready_text(&mut chain), ["abcdef"]);
    }

    #[test]
    fn deleting_timeout_closes_and_update_does_not() {
        let now = Instant::now();
        let timeout = |ms| ToxicKind::Timeout { timeout: ms };
        let mut chain = Chain::new(&[planned(3, 1, timeout(0))], Rng::new(1), now);
        chain.push(data("lost", now), now);
        chain.advance(now);
        chain.rewire(&[planned(3, 2, timeout(0))], now);
        chain.advance(now);
        assert!(ready_text(&mut chain).is_empty());
        chain.rewire(&[], now + Duration::from_millis(1));
        assert_eq!(ready_text(&mut chain), ["<eof>"]);
    }

    #[test]
    fn a_re_added_toxic_starts_fresh_but_an_updated_one_keeps_its_count() {
        let now = Instant::now();
        let limit = |bytes| ToxicKind::LimitData { bytes };
        let mut chain = Chain::new(&[planned(1, 1, limit(4))], Rng::new(1), now);
        chain.push(data("abc", now), now);
        chain.advance(now);
        assert_eq!(ready_text(&mut chain), ["abc"]);
        // Updated (same id, new revision): 3 bytes already count.
        chain.rewire(&[planned(1, 2, limit(5))], now);
        chain.push(data("defg", now), now);
        chain.advance(now);
        assert_eq!(ready_text(&mut chain), ["de", "<eof>"]);

        let mut chain = Chain::new(&[planned(1, 1, limit(4))], Rng::new(1), now);
        chain.push(data("abc", now), now);
        chain.advance(now);
        ready_text(&mut chain);
        // Deleted and re-added under the same name (new id): a fresh count.
        chain.rewire(&[planned(2, 2, limit(4))], now);
        chain.push(data("defg", now), now);
        chain.advance(now);
        assert_eq!(ready_text(&mut chain), ["defg", "<eof>"]);
    }
}
