//! The platform's configuration: where its dependencies are, the timeouts of
//! every dependency call, and the health thresholds. Defaults follow the seed
//! article (health thresholds 100 ms / 50 ms / 2000 ms).

use std::time::Duration;

use super::llm::{FailoverSettings, ProviderConfig};

/// Everything the reference platform needs to run.
#[derive(Debug, Clone)]
pub struct PlatformConfig {
    /// `redis://host:port/` (`redis://:password@host:port/` with a password).
    pub redis_url: String,
    /// `postgres://user@host:port/db` (`user:password@` with a password).
    pub postgres_url: String,
    /// LLM providers in failover order (the first is the primary).
    pub providers: Vec<ProviderConfig>,
    /// Breaker, attempt timeout and deadline of the failover client.
    pub failover: FailoverSettings,
    /// Timeouts of dependency calls on the request path.
    pub timeouts: DependencyTimeouts,
    /// Health thresholds and check cadence.
    pub health: HealthSettings,
    /// How many turns of history are sent to the LLM as context.
    pub context_turns: usize,
    /// Bounds of the in-memory history used while PostgreSQL is unavailable.
    pub memory_history: MemoryHistoryLimits,
    /// How long a cached response stays in Redis.
    pub cache_ttl: Duration,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// How long a client has to send a request head, how long an idle
    /// keep-alive connection stays open, and how long a response write may
    /// wait on a client that does not read.
    pub header_read_timeout: Duration,
    /// The most PostgreSQL connections the request path's pool holds.
    pub database_connections: usize,
    /// PostgreSQL connections kept open through quiet spells (opened at
    /// start, a few per health interval). By default all of them: a fixed-size pool, as the usual advice
    /// for connection pools goes, because a burst after a pause must not open
    /// them all at once, each a new backend process and a `scram-sha-256`
    /// handshake whose key derivation costs milliseconds of CPU on both
    /// sides (measured: the first second of 2,000 turns/s after a 15 s pause
    /// opened 24 connections and its p99 went from tens to hundreds of ms).
    pub database_warm_connections: usize,
}

/// Every dependency call on the request path is bounded by one of these: a
/// dead or frozen dependency costs a request at most this much.
#[derive(Debug, Clone, Copy)]
pub struct DependencyTimeouts {
    /// One Redis command.
    pub redis: Duration,
    /// One PostgreSQL query, including waiting for a pooled connection.
    pub database: Duration,
    /// A pooled PostgreSQL connection unused this long is closed (checked
    /// every health interval), so the pool shrinks back after a burst, down
    /// to [`PlatformConfig::database_warm_connections`].
    pub database_idle: Duration,
}

/// Deep health check settings.
#[derive(Debug, Clone, Copy)]
pub struct HealthSettings {
    /// Above this PostgreSQL `SELECT 1` latency the database is degraded.
    pub database_degraded_after: Duration,
    /// Above this Redis `PING` latency Redis is degraded.
    pub redis_degraded_after: Duration,
    /// Above this LLM probe latency the LLM layer is degraded.
    pub llm_degraded_after: Duration,
    /// Timeout of one database or Redis check; no answer = unhealthy.
    pub check_timeout: Duration,
    /// How often the background monitor refreshes component health.
    pub interval: Duration,
    /// How long an LLM probe result is reused (the LLM is not called on every check).
    pub llm_probe_interval: Duration,
}

/// Bounds of the in-memory history fallback.
#[derive(Debug, Clone, Copy)]
pub struct MemoryHistoryLimits {
    /// Conversations kept (the least recently written is evicted first).
    pub conversations: usize,
    /// Turns kept per conversation (the oldest go first).
    pub turns_per_conversation: usize,
}

impl Default for DependencyTimeouts {
    fn default() -> Self {
        Self {
            redis: Duration::from_millis(250),
            database: Duration::from_millis(1000),
            database_idle: Duration::from_secs(10),
        }
    }
}

impl Default for HealthSettings {
    fn default() -> Self {
        Self {
            database_degraded_after: Duration::from_millis(100),
            redis_degraded_after: Duration::from_millis(50),
            llm_degraded_after: Duration::from_millis(2000),
            check_timeout: Duration::from_millis(1000),
            interval: Duration::from_millis(500),
            llm_probe_interval: Duration::from_secs(5),
        }
    }
}

impl Default for MemoryHistoryLimits {
    fn default() -> Self {
        Self {
            conversations: 10_000,
            turns_per_conversation: 50,
        }
    }
}

impl PlatformConfig {
    /// A configuration with default timeouts and thresholds.
    pub fn new(redis_url: String, postgres_url: String, providers: Vec<ProviderConfig>) -> Self {
        Self {
            redis_url,
            postgres_url,
            providers,
            failover: FailoverSettings::default(),
            timeouts: DependencyTimeouts::default(),
            health: HealthSettings::default(),
            context_turns: 10,
            memory_history: MemoryHistoryLimits::default(),
            cache_ttl: Duration::from_secs(300),
            max_body_bytes: 256 * 1024,
            header_read_timeout: crate::lab::serve::HEADER_READ_TIMEOUT,
            database_connections: 32,
            database_warm_connections: 32,
        }
    }
}
