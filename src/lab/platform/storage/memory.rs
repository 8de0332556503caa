//! The in-memory conversation history used while PostgreSQL is unavailable.
//!
//! Bounded in both directions: at most `conversations` conversations (the
//! least recently written is evicted) and `turns_per_conversation` turns each
//! (the oldest are dropped), so an outage under load cannot exhaust memory.
//! Once PostgreSQL is back, the platform replays what is held here into it
//! ([`MemoryHistory::oldest`], then [`MemoryHistory::forget`] once stored),
//! so the store empties again after each outage.

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

    /// Up to `max` conversations, least recently written first, each with a
    /// copy of its turns (oldest first).
    pub fn oldest(&self, max: usize) -> Vec<(String, Vec<Turn>)> {
        let inner = self.lock();
        inner
            .by_recency
            .values()
            .take(max)
            .filter_map(|id| {
                let entry = inner.conversations.get(id)?;
                Some((id.clone(), entry.turns.iter().cloned().collect()))
            })
            .collect()
    }

    /// Forgets the turns of `written` (now stored elsewhere) that a
    /// conversation still holds, and the conversation once none is left.
    /// Turns appended meanwhile stay.
    pub fn forget(&self, conversation_id: &str, written: &[Turn]) {
        let mut inner = self.lock();
        let Some(entry) = inner.conversations.get_mut(conversation_id) else {
            return;
        };
        entry.turns.retain(|turn| !written.contains(turn));
        if entry.turns.is_empty() {
            let sequence = entry.sequence;
            inner.conversations.remove(conversation_id);
            inner.by_recency.remove(&sequence);
        }
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

    #[test]
    fn forgetting_what_was_written_empties_the_store_but_keeps_newer_turns() {
        let memory = MemoryHistory::new(limits(10, 10));
        memory.append("a", &[turn("1"), turn("2")]);
        memory.append("b", &[turn("1")]);
        memory.append("a", &[turn("3")]);
        let oldest = memory.oldest(10);
        let ids: Vec<&str> = oldest.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["b", "a"], "least recently written first");
        assert_eq!(memory.oldest(1).len(), 1);
        let (_, a_turns) = &oldest[1];
        // A turn arrives while `a` is being written elsewhere: it stays.
        memory.append("a", &[turn("4")]);
        memory.forget("a", a_turns);
        let left: Vec<_> = memory.all("a").into_iter().map(|t| t.content).collect();
        assert_eq!(left, ["4"]);
        memory.forget("a", &memory.all("a"));
        memory.forget("b", &oldest[0].1);
        memory.forget("missing", &oldest[0].1);
        assert!(memory.is_empty());
        assert!(memory.oldest(10).is_empty(), "no recency entry left behind");
        memory.append("c", &[turn("1")]);
        assert_eq!(memory.len(), 1);
    }
}
