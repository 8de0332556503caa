//! Which conversations of the pool have been written to, as the run goes:
//! for each slot, the latest generation with a turn *sent*, and the latest
//! with a turn *answered* (2xx). The schedule already plans a history read
//! only after a turn of its conversation; this is what actually happened
//! (turns can be dropped, fail, or still be in flight), so the generator can
//! decide what a history read means:
//!
//! - no turn of the conversation was sent (all dropped): the read is not
//!   sent either (counted as dropped load);
//! - a turn was sent but none answered before the read was sent: the
//!   platform may not know the conversation, and a 404 is the contract's
//!   answer, not an error;
//! - a turn was answered: a 404 is an error (a conversation was lost).
//!
//! Lock-free: one pair of atomics per slot.

use std::sync::atomic::{AtomicU64, Ordering};

use super::schedule::Conversation;

/// Per-slot progress of the pool's conversations.
#[derive(Debug)]
pub struct Written {
    /// Per slot: 1 + the latest generation with a turn sent (0: none).
    sent: Vec<AtomicU64>,
    /// Per slot: 1 + the latest generation with a turn answered (0: none).
    answered: Vec<AtomicU64>,
}

fn mark(generation: u32) -> u64 {
    u64::from(generation) + 1
}

impl Written {
    /// Nothing written yet, in a pool of `slots` conversations.
    pub fn new(slots: u32) -> Self {
        let slots = slots.max(1) as usize;
        Self {
            sent: (0..slots).map(|_| AtomicU64::new(0)).collect(),
            answered: (0..slots).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn slot(list: &[AtomicU64], conversation: Conversation) -> Option<&AtomicU64> {
        list.get(conversation.slot as usize)
    }

    /// A turn of `conversation` was sent.
    pub fn turn_sent(&self, conversation: Conversation) {
        if let Some(slot) = Self::slot(&self.sent, conversation) {
            slot.fetch_max(mark(conversation.generation), Ordering::AcqRel);
        }
    }

    /// A turn of `conversation` was answered with a 2xx.
    pub fn turn_answered(&self, conversation: Conversation) {
        if let Some(slot) = Self::slot(&self.answered, conversation) {
            slot.fetch_max(mark(conversation.generation), Ordering::AcqRel);
        }
    }

    /// Whether a turn of `conversation` has been sent. Arrivals are
    /// dispatched in schedule order, so no later generation of the slot
    /// can have been sent yet when its history read is dispatched.
    pub fn has_sent_turn(&self, conversation: Conversation) -> bool {
        Self::slot(&self.sent, conversation)
            .is_some_and(|slot| slot.load(Ordering::Acquire) == mark(conversation.generation))
    }

    /// Whether a turn of `conversation` has been answered.
    pub fn has_answered_turn(&self, conversation: Conversation) -> bool {
        Self::slot(&self.answered, conversation)
            .is_some_and(|slot| slot.load(Ordering::Acquire) == mark(conversation.generation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversation(slot: u32, generation: u32) -> Conversation {
        Conversation { slot, generation }
    }

    #[test]
    fn sent_and_answered_are_tracked_per_generation() {
        let written = Written::new(4);
        let first = conversation(2, 0);
        assert!(!written.has_sent_turn(first));
        written.turn_sent(first);
        assert!(written.has_sent_turn(first));
        assert!(!written.has_answered_turn(first));
        written.turn_answered(first);
        assert!(written.has_answered_turn(first));
        // A renewed slot starts unwritten; another slot was never written.
        let renewed = conversation(2, 1);
        assert!(!written.has_sent_turn(renewed));
        assert!(!written.has_sent_turn(conversation(3, 0)));
        // Out of range: never written, and no panic.
        written.turn_sent(conversation(99, 0));
        assert!(!written.has_sent_turn(conversation(99, 0)));
    }
}
