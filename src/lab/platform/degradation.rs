//! The degradation policy: which capabilities the platform offers, derived
//! from the health of its components (the seed article's capability map).
//!
//! | capability | on when |
//! | --- | --- |
//! | chat | llm not unhealthy |
//! | streaming | llm healthy |
//! | conversation_history | database not unhealthy |
//! | analytics | database healthy |
//! | caching | redis not unhealthy |
//! | real_time_usage | redis healthy |

use serde::{Deserialize, Serialize};

use super::health::Status;

/// What the platform offers right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Agent turns are answered.
    pub chat: bool,
    /// Turns can be streamed token by token.
    pub streaming: bool,
    /// Conversation history is kept in PostgreSQL.
    pub conversation_history: bool,
    /// Analytics queries and events are recorded.
    pub analytics: bool,
    /// Responses are cached in Redis.
    pub caching: bool,
    /// Usage counters are updated in Redis as requests happen.
    pub real_time_usage: bool,
}

impl Capabilities {
    /// Every capability on.
    pub const ALL: Self = Self {
        chat: true,
        streaming: true,
        conversation_history: true,
        analytics: true,
        caching: true,
        real_time_usage: true,
    };

    /// The capability map for the given component health.
    pub fn from_health(llm: Status, database: Status, redis: Status) -> Self {
        Self {
            chat: llm != Status::Unhealthy,
            streaming: llm == Status::Healthy,
            conversation_history: database != Status::Unhealthy,
            analytics: database == Status::Healthy,
            caching: redis != Status::Unhealthy,
            real_time_usage: redis == Status::Healthy,
        }
    }

    /// The names of the capabilities that are off, in contract order.
    pub fn degraded(&self) -> Vec<&'static str> {
        [
            ("chat", self.chat),
            ("streaming", self.streaming),
            ("conversation_history", self.conversation_history),
            ("analytics", self.analytics),
            ("caching", self.caching),
            ("real_time_usage", self.real_time_usage),
        ]
        .into_iter()
        .filter_map(|(name, on)| (!on).then_some(name))
        .collect()
    }
}

/// One capability of the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// `chat`
    Chat,
    /// `streaming`
    Streaming,
    /// `conversation_history`
    ConversationHistory,
    /// `analytics`
    Analytics,
    /// `caching`
    Caching,
    /// `real_time_usage`
    RealTimeUsage,
}

/// The capabilities one request may use: the map when it started, minus any
/// whose dependency failed during the request. A dependency that failed once
/// is not tried again by the same request, so a dead or frozen dependency
/// costs a request at most one timeout.
#[derive(Debug, Clone, Copy)]
pub struct RequestCapabilities(Capabilities);

impl RequestCapabilities {
    /// Starts from the current capability map.
    pub fn new(capabilities: Capabilities) -> Self {
        Self(capabilities)
    }

    /// What the request may still use.
    pub fn get(&self) -> Capabilities {
        self.0
    }

    /// Records that the request had to do without `capability`.
    pub fn lose(&mut self, capability: Capability) {
        let caps = &mut self.0;
        match capability {
            Capability::Chat => caps.chat = false,
            Capability::Streaming => caps.streaming = false,
            Capability::ConversationHistory => caps.conversation_history = false,
            Capability::Analytics => caps.analytics = false,
            Capability::Caching => caps.caching = false,
            Capability::RealTimeUsage => caps.real_time_usage = false,
        }
    }

    /// The names of the capabilities the request did without.
    pub fn degraded(&self) -> Vec<&'static str> {
        self.0.degraded()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::{Degraded, Healthy, Unhealthy};

    #[test]
    fn all_healthy_offers_everything() {
        assert_eq!(
            Capabilities::from_health(Healthy, Healthy, Healthy),
            Capabilities::ALL
        );
        assert!(Capabilities::ALL.degraded().is_empty());
    }

    #[test]
    fn degraded_components_drop_only_their_premium_capability() {
        let caps = Capabilities::from_health(Degraded, Degraded, Degraded);
        assert!(caps.chat && caps.conversation_history && caps.caching);
        assert_eq!(
            caps.degraded(),
            ["streaming", "analytics", "real_time_usage"]
        );
    }

    #[test]
    fn a_request_loses_what_failed_during_it() {
        let mut request = RequestCapabilities::new(Capabilities::ALL);
        request.lose(Capability::Caching);
        assert!(!request.get().caching && request.get().chat);
        assert_eq!(request.degraded(), ["caching"]);
    }

    #[test]
    fn unhealthy_components_drop_everything_they_back() {
        let caps = Capabilities::from_health(Unhealthy, Healthy, Unhealthy);
        assert_eq!(
            caps.degraded(),
            ["chat", "streaming", "caching", "real_time_usage"]
        );
        let caps = Capabilities::from_health(Healthy, Unhealthy, Healthy);
        assert_eq!(caps.degraded(), ["conversation_history", "analytics"]);
    }
}
