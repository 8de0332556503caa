//! The in-memory conversation history used while PostgreSQL is unavailable.
//!
//! Bounded in both directions: at most `conversations` conversations (the
//! least recently written is evicted) and `turns_per_conversation` turns each
//! (the oldest are dropped), so an outage under load cannot exhaust memory.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use super::Turn;
use crate::lab::platform::config::MemoryHistoryLimits;

/// Bounded conversation history in memory.
#[derive(Debug)]
pub struct MemoryHistory {
    limits: MemoryHistoryLimits,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    conversations: HashMap<String, Entry>,
    /// Write sequence number -> conversation, for least-recently-written eviction.
    by_recency: BTreeMap<u64, String>,
    next_sequence: u64,
}

#[derive(Debug)]
struct Entry {
    turns: VecDeque<Turn>,
    sequence: u64,
}

impl MemoryHistory {
    /// An empty store with the given bounds (each at least 1).
    pub fn new(limits: MemoryHistoryLimits) -> Self {
        Self {
            limits: MemoryHistoryLimits {
                conversations: limits.conversations.max(1),
                turns_per_conversation: limits.turns_per_conversation.max(1),
            },
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Appends turns to a conversation.
    pub fn append(&self, conversation_id: &str, turns: &[Turn]) {
        let mut inner = self.lock();
        let sequence = inner.next_sequence;
        inner.next_sequence += 1;
        let previous = inner
            .conversations
            .get(conversation_id)
            .map(|entry| entry.sequence);
        if let Some(previous) = previous {
            inner.by_recency.remove(&previous);
        }
        inner
            .by_recency
            .insert(sequence, conversation_id.to_owned());
        let entry = inner
            .conversations
            .entry(conversation_id.to_owned())
            .or_insert_with(|| Entry {
                turns: VecDeque::new(),
                sequence,
            });
        entry.sequence = sequence;
        entry.turns.extend(turns.iter().cloned());
        while entry.turns.len() > self.limits.turns_per_conversation {
            entry.turns.pop_front();
        }
        while inner.conversations.len() > self.limits.conversations {
            let Some((_, oldest)) = inner.by_recency.pop_first() else {
                break;
            };
            inner.conversations.remove(&oldest);
        }
    }

    /// The last `limit` turns of a conversation, oldest first.
    pub fn recent(&self, conversation_id: &str, limit: usize) -> Vec<Turn> {
        let inner = self.lock();
        inner
            .conversations
            .get(conversation_id)
            .map(|entry| {
                let skip = entry.turns.len().saturating_sub(limit);
                entry.turns.iter().skip(skip).cloned().collect()
            })
            .unwrap_or_default()
    }

    /// Every turn of a conversation held in memory, oldest first.
    pub fn all(&self, conversation_id: &str) -> Vec<Turn> {
        self.recent(conversation_id, usize::MAX)
    }

    /// How many conversations are held.
    pub fn len(&self) -> usize {
        self.lock().conversations.len()
    }

    /// Whether no conversation is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave Inner inconsistent in a
        // way that matters more than losing the fallback history, so recover.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(content: &str) -> Turn {
        Turn {
            role: "user".into(),
            content: content.into(),
            provider: None,
            at_ms: 0,
        }
    }

    fn limits(conversations: usize, turns: usize) -> MemoryHistoryLimits {
        MemoryHistoryLimits {
            conversations,
            turns_per_conversation: turns,
        }
    }

    #[test]
    fn keeps_only_the_newest_turns() {
        let memory = MemoryHistory::new(limits(10, 3));
        for i in 0..5 {
            memory.append("c", &[turn(&i.to_string())]);
        }
        let contents: Vec<_> = memory.all("c").into_iter().map(|t| t.content).collect();
        assert_eq!(contents, ["2", "3", "4"]);
        assert_eq!(memory.recent("c", 2).len(), 2);
        assert!(memory.recent("missing", 2).is_empty());
    }

    #[test]
    fn evicts_the_least_recently_written_conversation() {
        let memory = MemoryHistory::new(limits(2, 10));
        memory.append("a", &[turn("1")]);
        memory.append("b", &[turn("1")]);
        memory.append("a", &[turn("2")]);
        memory.append("c", &[turn("1")]);
        assert_eq!(memory.len(), 2);
        assert!(memory.all("b").is_empty(), "b was least recently written");
        assert_eq!(memory.all("a").len(), 2);
        assert_eq!(memory.all("c").len(), 1);
    }
}
