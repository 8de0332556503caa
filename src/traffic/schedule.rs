//! The arrival schedule: when each request should start, which operation it
//! is, and which conversation and turn it belongs to. A pure, seeded
//! iterator: the same spec and seed give the same sequence of
//! `(offset, operation, conversation, turn)` every time, independent of how
//! the target answers (the open model). It owns no clock and sends nothing.
//!
//! A history read is only planned for a conversation that has had a turn
//! planned before it: a read drawn for a slot never written to goes to a
//! written slot instead, or, before any turn at all, becomes a chat turn
//! (gameday never asks for a conversation it has not written to; see
//! docs/platform-contract.md).

use std::time::Duration;

use super::spec::{Arrivals, Mix, TrafficSpec};
use crate::rng::Rng;

/// The operations of the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// One chat turn answered as JSON.
    Chat,
    /// One chat turn streamed as server-sent events.
    ChatStream,
    /// A read of a conversation's history.
    History,
}

impl Operation {
    /// Every operation, in the order of [`Operation::index`].
    pub const ALL: [Operation; 3] = [Operation::Chat, Operation::ChatStream, Operation::History];

    /// The name used in results (`chat`, `chat_stream`, `history`).
    pub fn name(self) -> &'static str {
        match self {
            Operation::Chat => "chat",
            Operation::ChatStream => "chat_stream",
            Operation::History => "history",
        }
    }

    /// A dense index (0, 1, 2) for per-operation arrays.
    pub fn index(self) -> usize {
        match self {
            Operation::Chat => 0,
            Operation::ChatStream => 1,
            Operation::History => 2,
        }
    }

    /// Whether this operation is an agent turn (it has a provider and tokens).
    pub fn is_turn(self) -> bool {
        !matches!(self, Operation::History)
    }
}

/// One planned request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// Position in the schedule (0, 1, 2, ...).
    pub index: u64,
    /// Intended start, from the run start.
    pub offset: Duration,
    /// What to send.
    pub operation: Operation,
    /// Which conversation of the pool (slot and generation name it).
    pub conversation: Conversation,
    /// For a turn, its number in the conversation (1-based); for a history
    /// read, how many turns the conversation had been sent so far.
    pub turn: u32,
}

/// A conversation of the pool. A slot is reused by a new generation once a
/// conversation reaches `turns_per_conversation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conversation {
    /// Slot in the pool, `0..conversations`.
    pub slot: u32,
    /// How many times the slot has been renewed.
    pub generation: u32,
}

/// Per-slot progress.
#[derive(Debug, Clone, Copy, Default)]
struct SlotState {
    generation: u32,
    turns: u32,
}

/// The seeded schedule; an endless iterator of [`Arrival`]s in time order.
#[derive(Debug, Clone)]
pub struct Schedule {
    rate: f64,
    arrivals: Arrivals,
    mix: Mix,
    turns_per_conversation: Option<u32>,
    /// Gaps between arrivals.
    gap_rng: Rng,
    /// Operation and conversation choices, independent of the gaps, so the
    /// mix sequence is the same for constant and Poisson arrivals.
    choice_rng: Rng,
    slots: Vec<SlotState>,
    /// Slots that have had a turn, in the order of their first one (a slot
    /// renewed for a new generation gets its first turn at once, so a slot
    /// once written always is).
    written: Vec<u32>,
    next_index: u64,
    /// Poisson: the running sum of gaps, in seconds.
    poisson_offset: f64,
}

impl Schedule {
    /// The schedule of a (validated) spec.
    pub fn new(spec: &TrafficSpec) -> Self {
        Self {
            rate: spec.rate,
            arrivals: spec.arrivals,
            mix: spec.mix,
            turns_per_conversation: spec.turns_per_conversation,
            gap_rng: Rng::new(spec.seed),
            choice_rng: Rng::new(spec.seed ^ 0x6A09_E667_F3BC_C908),
            slots: vec![SlotState::default(); spec.conversations.max(1) as usize],
            written: Vec::new(),
            next_index: 0,
            poisson_offset: 0.0,
        }
    }

    fn next_offset(&mut self, index: u64) -> Duration {
        let seconds = match self.arrivals {
            // Multiplying (not summing) keeps a long run free of drift.
            Arrivals::Constant => index as f64 / self.rate,
            Arrivals::Poisson => {
                let current = self.poisson_offset;
                // 1 - u is in (0, 1], so the logarithm is finite.
                let gap = -(1.0 - self.gap_rng.next_f64()).ln() / self.rate;
                self.poisson_offset += gap;
                current
            }
        };
        Duration::from_secs_f64(seconds)
    }

    fn next_operation(&mut self) -> Operation {
        let total = self.mix.total().max(1);
        let pick = self.choice_rng.next_u64() % total;
        let chat = u64::from(self.mix.chat);
        let stream = u64::from(self.mix.chat_stream);
        if pick < chat {
            Operation::Chat
        } else if pick < chat + stream {
            Operation::ChatStream
        } else {
            Operation::History
        }
    }
}

impl Iterator for Schedule {
    type Item = Arrival;

    fn next(&mut self) -> Option<Arrival> {
        let index = self.next_index;
        self.next_index += 1;
        let offset = self.next_offset(index);
        let mut operation = self.next_operation();
        let slot_count = self.slots.len() as u64;
        let mut slot = (self.choice_rng.next_u64() % slot_count) as usize;
        if operation == Operation::History && self.slots[slot].turns == 0 {
            if self.written.is_empty() {
                // Validation guarantees a turn weight whenever history has one.
                operation = if self.mix.chat > 0 {
                    Operation::Chat
                } else {
                    Operation::ChatStream
                };
            } else {
                slot = self.written[slot % self.written.len()] as usize;
            }
        }
        let limit = self.turns_per_conversation;
        let state = &mut self.slots[slot];
        if operation.is_turn() && state.turns == 0 {
            self.written.push(slot as u32);
        }
        if operation.is_turn() {
            if limit.is_some_and(|limit| state.turns >= limit) {
                state.generation = state.generation.wrapping_add(1);
                state.turns = 0;
            }
            state.turns = state.turns.saturating_add(1);
        }
        Some(Arrival {
            index,
            offset,
            operation,
            conversation: Conversation {
                slot: slot as u32,
                generation: state.generation,
            },
            turn: state.turns,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::test_spec;

    fn take(spec: &TrafficSpec, count: usize) -> Vec<Arrival> {
        Schedule::new(spec).take(count).collect()
    }

    #[test]
    fn same_seed_same_schedule() {
        for arrivals in [Arrivals::Constant, Arrivals::Poisson] {
            let mut spec = test_spec();
            spec.arrivals = arrivals;
            assert_eq!(take(&spec, 5000), take(&spec, 5000));
            let mut other = spec.clone();
            other.seed += 1;
            assert_ne!(take(&spec, 5000), take(&other, 5000));
        }
    }

    #[test]
    fn constant_arrivals_are_evenly_spaced() {
        let mut spec = test_spec();
        spec.rate = 250.0;
        let arrivals = take(&spec, 1001);
        assert_eq!(arrivals[0].offset, Duration::ZERO);
        assert_eq!(arrivals[1].offset, Duration::from_millis(4));
        assert_eq!(arrivals[1000].offset, Duration::from_secs(4));
    }

    #[test]
    fn poisson_gaps_average_one_over_rate_and_vary() {
        let mut spec = test_spec();
        spec.arrivals = Arrivals::Poisson;
        spec.rate = 1000.0;
        let arrivals = take(&spec, 20_001);
        let last = arrivals[20_000].offset.as_secs_f64();
        assert!(
            (18.0..22.0).contains(&last),
            "20k arrivals at 1000/s took {last} s"
        );
        assert!(arrivals.windows(2).all(|w| w[0].offset <= w[1].offset));
        let gaps: Vec<Duration> = arrivals
            .windows(2)
            .map(|w| w[1].offset - w[0].offset)
            .collect();
        assert!(gaps.iter().any(|g| *g < Duration::from_micros(200)));
        assert!(gaps.iter().any(|g| *g > Duration::from_millis(3)));
    }

    #[test]
    fn the_mix_follows_its_weights() {
        let spec = test_spec(); // 8 : 1 : 1
        let mut counts = [0u32; 3];
        for arrival in take(&spec, 10_000) {
            counts[arrival.operation.index()] += 1;
        }
        assert!((7_500..8_500).contains(&counts[0]), "{counts:?}");
        assert!((700..1_300).contains(&counts[1]), "{counts:?}");
        assert!((700..1_300).contains(&counts[2]), "{counts:?}");
    }

    #[test]
    fn a_zero_weight_never_appears() {
        let mut spec = test_spec();
        spec.mix = Mix {
            chat: 0,
            chat_stream: 1,
            history: 0,
        };
        assert!(
            take(&spec, 1000)
                .iter()
                .all(|a| a.operation == Operation::ChatStream)
        );
    }

    #[test]
    fn history_is_read_only_after_a_turn_of_that_conversation() {
        for history in [1, 5, 50] {
            let mut spec = test_spec();
            spec.conversations = 500;
            spec.turns_per_conversation = Some(3);
            spec.mix = Mix {
                chat: 3,
                chat_stream: 1,
                history,
            };
            let mut turns = std::collections::HashMap::new();
            let mut reads = 0;
            for arrival in take(&spec, 20_000) {
                let key = (arrival.conversation.slot, arrival.conversation.generation);
                if arrival.operation == Operation::History {
                    reads += 1;
                    let written = turns.get(&key).copied().unwrap_or(0);
                    assert!(
                        written >= 1,
                        "a read of a conversation never written: {arrival:?}"
                    );
                    assert_eq!(arrival.turn, written, "{arrival:?}");
                } else {
                    turns.insert(key, arrival.turn);
                }
            }
            assert!(
                reads > 20_000 * history / (4 + history) / 2,
                "{reads} reads"
            );
        }
    }

    #[test]
    fn turns_count_up_and_conversations_renew() {
        let mut spec = test_spec();
        spec.conversations = 3;
        spec.turns_per_conversation = Some(4);
        spec.mix = Mix {
            chat: 1,
            chat_stream: 0,
            history: 0,
        };
        let mut seen = std::collections::HashMap::new();
        for arrival in take(&spec, 300) {
            let key = (arrival.conversation.slot, arrival.conversation.generation);
            let previous = seen.insert(key, arrival.turn).unwrap_or(0);
            assert_eq!(arrival.turn, previous + 1, "{arrival:?}");
            assert!(arrival.turn <= 4);
            assert!(arrival.conversation.slot < 3);
        }
        assert!(seen.len() >= 300 / 4, "conversations were renewed");
    }
}
