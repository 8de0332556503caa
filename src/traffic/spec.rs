//! What the generator is asked to do: the traffic shape ([`TrafficSpec`])
//! and where to send it ([`Endpoints`]), with the validation that turns a bad
//! spec into a [`TrafficError`] before anything is sent. No I/O here.

use std::time::Duration;

use super::TrafficError;
use crate::scenario::Secret;

/// The longest run accepted (a year): keeps every offset and instant far
/// from overflow.
const MAX_TOTAL: Duration = Duration::from_secs(366 * 86_400);

/// The shape of the load: an open model, so arrivals follow this schedule
/// whatever the target does.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficSpec {
    /// Arrivals per second.
    pub rate: f64,
    /// How arrivals are spaced.
    pub arrivals: Arrivals,
    /// Traffic before the measured run (not judged, but recorded).
    pub warmup: Duration,
    /// The measured run after the warm-up.
    pub duration: Duration,
    /// Traffic keeps flowing this long after `warmup + duration`, so the
    /// runner can observe recovery under load. Zero for none.
    pub recovery: Duration,
    /// Relative weights of the operations.
    pub mix: Mix,
    /// Size of the pool of multi-turn conversations.
    pub conversations: u32,
    /// After this many turns a conversation is replaced by a fresh one
    /// (history stays bounded); `None` lets conversations grow for the whole run.
    pub turns_per_conversation: Option<u32>,
    /// Per-request timeout, from the moment the request is sent.
    pub timeout: Duration,
    /// Requests allowed in flight at once; an arrival over this bound is
    /// not sent and is counted as dropped load.
    pub max_in_flight: usize,
    /// Seed of arrivals, mix, conversation choice and messages.
    pub seed: u64,
}

impl TrafficSpec {
    /// How long arrivals go on from the run start: warm-up + duration + recovery.
    pub fn total(&self) -> Duration {
        self.warmup
            .saturating_add(self.duration)
            .saturating_add(self.recovery)
    }

    /// Checks every field; the first problem found is returned.
    pub fn validate(&self) -> Result<(), TrafficError> {
        let invalid = |message: String| Err(TrafficError::InvalidSpec(message));
        // The scenario's limits, so a scenario that validates is never refused here.
        use crate::scenario::limits::{MAX_RATE, MIN_RATE};
        if !self.rate.is_finite() || !(MIN_RATE..=MAX_RATE).contains(&self.rate) {
            return invalid(format!(
                "rate must be between {MIN_RATE}/s and {MAX_RATE}/s, got {}",
                self.rate
            ));
        }
        if self.mix.total() == 0 {
            return invalid("mix: at least one operation needs a weight above 0".to_owned());
        }
        if self.mix.history > 0 && self.mix.chat == 0 && self.mix.chat_stream == 0 {
            return invalid(
                "mix: history reads need chat or chat_stream above 0 (only conversations \
                 gameday has written to are read)"
                    .to_owned(),
            );
        }
        if self.conversations == 0 {
            return invalid("conversations must be at least 1".to_owned());
        }
        if self.turns_per_conversation == Some(0) {
            return invalid("turns_per_conversation must be at least 1".to_owned());
        }
        if self.timeout.is_zero() {
            return invalid("timeout must be above 0".to_owned());
        }
        if self.max_in_flight == 0 {
            return invalid("max_in_flight must be at least 1".to_owned());
        }
        if self.total().is_zero() {
            return invalid("warmup + duration + recovery must be above 0".to_owned());
        }
        if self.total() > MAX_TOTAL {
            return invalid(format!(
                "warmup + duration + recovery must be at most {} days",
                MAX_TOTAL.as_secs() / 86_400
            ));
        }
        Ok(())
    }
}

/// How arrivals are spaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrivals {
    /// Exactly `1 / rate` apart.
    Constant,
    /// Exponentially distributed gaps with mean `1 / rate` (a Poisson process).
    Poisson,
}

/// Relative weights of the operations (any scale: 80/15/5 or 16/3/1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mix {
    /// `POST chat` with a JSON answer.
    pub chat: u32,
    /// `POST chat` with `stream: true` (server-sent events).
    pub chat_stream: u32,
    /// `GET` of a conversation's history.
    pub history: u32,
}

impl Mix {
    /// Sum of the weights.
    pub fn total(&self) -> u64 {
        u64::from(self.chat) + u64::from(self.chat_stream) + u64::from(self.history)
    }
}

/// Where the traffic goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoints {
    /// `http://host:port` (a trailing `/` is ignored).
    pub base_url: String,
    /// Path of the chat route, e.g. `/v1/chat`.
    pub chat_path: String,
    /// Path of the history route: either a prefix (`/v1/conversations`, the
    /// id is appended after a `/`) or a template containing `{id}`.
    pub conversations_path: String,
    /// Extra headers on every request. The values are secrets (tokens),
    /// kept wrapped until the request is built: `Debug` prints `***`.
    pub headers: Vec<(String, Secret)>,
}

impl Endpoints {
    /// The reference platform's routes at `base_url`, with no extra headers.
    pub fn platform(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            chat_path: "/v1/chat".to_owned(),
            conversations_path: "/v1/conversations".to_owned(),
            headers: Vec::new(),
        }
    }

    /// The full URL of the chat route.
    pub fn chat_url(&self) -> String {
        join(&self.base_url, &self.chat_path)
    }

    /// The full URL of one conversation's history.
    pub fn conversation_url(&self, id: &str) -> String {
        let path = if self.conversations_path.contains("{id}") {
            self.conversations_path.replace("{id}", id)
        } else {
            format!("{}/{id}", self.conversations_path.trim_end_matches('/'))
        };
        join(&self.base_url, &path)
    }
}

fn join(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    if path.starts_with('/') {
        format!("{base}{path}")
    } else {
        format!("{base}/{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TrafficSpec {
        crate::traffic::test_spec()
    }

    #[test]
    fn a_sound_spec_validates() {
        assert!(spec().validate().is_ok());
        assert_eq!(spec().total(), Duration::from_secs(3));
    }

    #[test]
    fn each_bad_field_is_named() {
        type Breaker = Box<dyn Fn(&mut TrafficSpec)>;
        let cases: Vec<(&str, Breaker)> = vec![
            ("rate", Box::new(|s| s.rate = 0.0)),
            ("rate", Box::new(|s| s.rate = f64::NAN)),
            ("rate", Box::new(|s| s.rate = 1e-300)),
            ("duration", Box::new(|s| s.duration = Duration::MAX)),
            (
                "mix",
                Box::new(|s| {
                    s.mix = Mix {
                        chat: 0,
                        chat_stream: 0,
                        history: 0,
                    }
                }),
            ),
            ("conversations", Box::new(|s| s.conversations = 0)),
            (
                "turns_per_conversation",
                Box::new(|s| s.turns_per_conversation = Some(0)),
            ),
            ("timeout", Box::new(|s| s.timeout = Duration::ZERO)),
            ("max_in_flight", Box::new(|s| s.max_in_flight = 0)),
        ];
        for (field, break_it) in cases {
            let mut spec = spec();
            break_it(&mut spec);
            let message = spec.validate().expect_err(field).to_string();
            assert!(message.contains(field), "{message} should name {field}");
        }
    }

    #[test]
    fn urls_join_paths_and_templates() {
        let mut endpoints = Endpoints::platform("http://127.0.0.1:8080/");
        assert_eq!(endpoints.chat_url(), "http://127.0.0.1:8080/v1/chat");
        assert_eq!(
            endpoints.conversation_url("c-1"),
            "http://127.0.0.1:8080/v1/conversations/c-1"
        );
        endpoints.conversations_path = "api/threads/{id}/messages".to_owned();
        assert_eq!(
            endpoints.conversation_url("c-1"),
            "http://127.0.0.1:8080/api/threads/c-1/messages"
        );
    }

    #[test]
    fn debug_never_shows_header_values() {
        let mut endpoints = Endpoints::platform("http://x");
        endpoints.headers = vec![("authorization".to_owned(), Secret::new("Bearer s3cr3t"))];
        let shown = format!("{endpoints:?}");
        assert!(shown.contains("authorization"));
        assert!(!shown.contains("s3cr3t"));
    }
}
