//! Redis: the response cache and the real-time usage counters.
//!
//! The connection is lazy (the platform starts while Redis is down) and
//! reconnects by itself. Writes are never retried: a command that timed out
//! against a frozen Redis may still execute when it resumes, and counters
//! must not be double-counted.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{StoreError, bounded};

/// A cached completion.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CachedReply {
    /// The reply text.
    pub text: String,
    /// The provider that produced it.
    pub provider: String,
    /// The model that produced it.
    pub model: String,
}

/// The Redis-backed cache and counters.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    timeout: Duration,
    ttl_seconds: u64,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisStore {
    /// Prepares a lazy connection to `url`; nothing is sent until first use.
    pub fn new(url: &str, timeout: Duration, ttl: Duration) -> Result<Self, StoreError> {
        let failed = |error: redis::RedisError| StoreError::Failed {
            dependency: "redis",
            message: error.to_string(),
        };
        let client = redis::Client::open(url).map_err(failed)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let connection = ConnectionManager::new_lazy_with_config(client, config).map_err(failed)?;
        Ok(Self {
            connection,
            timeout,
            ttl_seconds: ttl.as_secs().max(1),
        })
    }

    /// `PING`, for the health check.
    pub async fn ping(&self, timeout: Duration) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        bounded("redis", timeout, async move {
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
        })
        .await
        .map(|_| ())
    }

    /// The cached reply for `message`, if any.
    pub async fn cached_reply(&self, message: &str) -> Result<Option<CachedReply>, StoreError> {
        let mut connection = self.connection.clone();
        let key = cache_key(message);
        let raw: Option<String> = bounded("redis", self.timeout, async move {
            connection.get::<_, Option<String>>(key).await
        })
        .await?;
        // A value we cannot parse is treated as a miss (it will be overwritten).
        Ok(raw.and_then(|text| serde_json::from_str(&text).ok()))
    }

    /// Caches `reply` for `message` with the configured TTL.
    pub async fn store_reply(&self, message: &str, reply: &CachedReply) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        let key = cache_key(message);
        let value = serde_json::to_string(reply).map_err(|error| StoreError::Failed {
            dependency: "redis",
            message: error.to_string(),
        })?;
        let ttl = self.ttl_seconds;
        bounded("redis", self.timeout, async move {
            connection.set_ex::<_, _, ()>(key, value, ttl).await
        })
        .await
    }

    /// Adds one request and its tokens to the usage counters of `provider`.
    pub async fn record_usage(&self, provider: &str, tokens: u64) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .incr("gameday:usage:requests", 1u64)
            .ignore()
            .incr(format!("gameday:usage:tokens:{provider}"), tokens)
            .ignore();
        bounded("redis", self.timeout, async move {
            pipe.query_async::<()>(&mut connection).await
        })
        .await
    }

    /// The total requests counted so far.
    pub async fn usage_requests(&self) -> Result<u64, StoreError> {
        let mut connection = self.connection.clone();
        let count: Option<u64> = bounded("redis", self.timeout, async move {
            connection
                .get::<_, Option<u64>>("gameday:usage:requests")
                .await
        })
        .await?;
        Ok(count.unwrap_or(0))
    }
}

fn cache_key(message: &str) -> String {
    let mut hasher = DefaultHasher::new();
    message.trim().to_lowercase().hash(&mut hasher);
    format!("gameday:cache:{:016x}", hasher.finish())
}
