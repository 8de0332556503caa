//! The platform as a running service: its parts wired together (storage,
//! failover client, health checker), the operations a turn needs from them,
//! their upkeep (idle database connections closed, history kept in memory
//! during a database outage replayed into PostgreSQL), and the
//! server entry points (`serve` for a bound listener, and
//! [`RunningPlatform`] for tests and the lab).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::config::PlatformConfig;
use super::degradation::{Capability, RequestCapabilities};
use super::health::HealthChecker;
use super::llm::FailoverClient;
use super::metrics::PlatformMetrics;
use super::storage::cache::{CachedReply, RedisStore};
use super::storage::history::PgHistory;
use super::storage::memory::MemoryHistory;
use super::storage::{StoreError, Turn};
use crate::clock::Clock;
use crate::shutdown::{self, ShutdownTrigger};

/// The platform could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// A dependency URL or pool was invalid.
    #[error("platform setup: {0}")]
    Store(#[from] StoreError),
    /// The platform needs at least one LLM provider.
    #[error("platform setup: at least one LLM provider is required")]
    NoProviders,
    /// The HTTP client could not be built.
    #[error("platform setup: HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// Conversations written per round of the memory-history replay.
const REPLAY_BATCH: usize = 64;

/// The wired platform; shared by every request.
pub struct Platform {
    config: PlatformConfig,
    redis: RedisStore,
    database: Arc<PgHistory>,
    memory: MemoryHistory,
    llm: Arc<FailoverClient>,
    health: Arc<HealthChecker>,
    metrics: PlatformMetrics,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform").finish_non_exhaustive()
    }
}

/// PostgreSQL connections opened per upkeep interval until the warm floor is reached.
const WARM_STEP: usize = 4;

impl Platform {
    /// Wires the parts; connects to nothing yet (dependencies may be down at start).
    pub fn new(config: PlatformConfig, clock: Arc<dyn Clock>) -> Result<Arc<Self>, PlatformError> {
        if config.providers.is_empty() {
            return Err(PlatformError::NoProviders);
        }
        let redis = RedisStore::new(&config.redis_url, config.timeouts.redis, config.cache_ttl)?;
        let database = Arc::new(PgHistory::new(
            &config.postgres_url,
            config.timeouts.database,
            config.database_connections,
        )?);
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            .build()?;
        let llm = Arc::new(FailoverClient::new(
            config.providers.clone(),
            config.failover.clone(),
            Arc::clone(&clock),
            http,
        ));
        // The health checks get connections of their own: when request
        // traffic saturates the pool of a slow database, `SELECT 1` must
        // measure the database, not the queue in front of it.
        let health_redis =
            RedisStore::new(&config.redis_url, config.timeouts.redis, config.cache_ttl)?;
        let health_database = Arc::new(PgHistory::new(
            &config.postgres_url,
            config.health.check_timeout,
            1,
        )?);
        let health = Arc::new(HealthChecker::new(
            health_redis,
            health_database,
            Arc::clone(&llm),
            config.health,
            clock,
        ));
        let metrics = PlatformMetrics::new(Arc::clone(&llm), Arc::clone(&health));
        Ok(Arc::new(Self {
            memory: MemoryHistory::new(config.memory_history),
            config,
            redis,
            database,
            llm,
            health,
            metrics,
        }))
    }

    /// Its configuration.
    pub fn config(&self) -> &PlatformConfig {
        &self.config
    }

    /// The health checker (latest report and capabilities).
    pub fn health(&self) -> &Arc<HealthChecker> {
        &self.health
    }

    /// The failover client.
    pub fn llm(&self) -> &FailoverClient {
        &self.llm
    }

    /// Its Prometheus metrics (`GET /metrics`).
    pub fn metrics(&self) -> &PlatformMetrics {
        &self.metrics
    }

    /// The Redis cache and counters.
    pub fn redis(&self) -> &RedisStore {
        &self.redis
    }

    /// The last turns of a conversation for context: PostgreSQL while history
    /// is on (plus turns kept in memory during an outage), memory otherwise.
    pub(crate) async fn recent_history(
        &self,
        conversation_id: &str,
        degraded: &mut RequestCapabilities,
    ) -> Vec<Turn> {
        let limit = self.config.context_turns;
        let memory = self.memory.recent(conversation_id, limit);
        if !degraded.get().conversation_history {
            return memory;
        }
        match self.database.recent(conversation_id, limit).await {
            Ok(stored) => merge(stored, memory, limit),
            Err(error) => {
                tracing::debug!(%error, "history read failed");
                degraded.lose(Capability::ConversationHistory);
                degraded.lose(Capability::Analytics);
                memory
            }
        }
    }

    /// Every turn of a conversation and where it came from.
    pub(crate) async fn full_history(
        &self,
        conversation_id: &str,
        degraded: &mut RequestCapabilities,
    ) -> (Vec<Turn>, &'static str) {
        let memory = self.memory.all(conversation_id);
        if !degraded.get().conversation_history {
            return (memory, "memory");
        }
        match self.database.recent(conversation_id, 10_000).await {
            Ok(stored) if memory.is_empty() => (stored, "postgres"),
            Ok(stored) => (merge(stored, memory, usize::MAX), "postgres+memory"),
            Err(error) => {
                tracing::debug!(%error, "history read failed");
                degraded.lose(Capability::ConversationHistory);
                (memory, "memory")
            }
        }
    }

    /// Writes the turns kept in memory during a database outage into
    /// PostgreSQL, least recently written conversation first, forgetting
    /// each conversation's turns once stored. Stops at the first failed write
    /// (the database is still away; the rest waits for the next round).
    /// Returns how many conversations were written.
    pub async fn replay_memory_history(&self) -> usize {
        let mut written = 0;
        // Bounded rounds: requests may keep adding to memory meanwhile.
        let rounds = self.memory.len() / REPLAY_BATCH + 1;
        for _ in 0..rounds {
            let batch = self.memory.oldest(REPLAY_BATCH);
            if batch.is_empty() {
                break;
            }
            for (conversation_id, turns) in batch {
                if let Err(error) = self.database.append(&conversation_id, &turns).await {
                    tracing::debug!(%error, "history replay stopped");
                    return written;
                }
                self.memory.forget(&conversation_id, &turns);
                written += 1;
            }
        }
        written
    }

    /// Conversations whose turns are held in memory, not yet in PostgreSQL.
    pub fn memory_history_len(&self) -> usize {
        self.memory.len()
    }

    /// After each health interval: closes the PostgreSQL connections idle
    /// for longer than `timeouts.database_idle` (keeping
    /// `database_warm_connections` open, and opening them again when the
    /// database has dropped them), and replays the memory
    /// history into PostgreSQL if conversation history is available again.
    async fn maintain_storage_forever(self: Arc<Self>) {
        loop {
            tokio::time::sleep(self.config.health.interval).await;
            let warm = self
                .config
                .database_warm_connections
                .min(self.config.database_connections);
            let closed = self
                .database
                .close_idle(self.config.timeouts.database_idle, warm);
            if closed > 0 {
                tracing::debug!(closed, "idle PostgreSQL connections closed");
            }
            // Only while the database answers: a dead one is retried by requests.
            if self.health.capabilities().conversation_history {
                // A few per interval: opening all at once would cost the
                // CPU the requests need (a backend and a handshake each).
                self.database.warm(warm, WARM_STEP).await;
            }
            if !self.memory.is_empty() && self.health.capabilities().conversation_history {
                let written = self.replay_memory_history().await;
                if written > 0 {
                    tracing::debug!(
                        written,
                        "conversations replayed from memory into PostgreSQL"
                    );
                }
            }
        }
    }

    /// Stores the exchange (PostgreSQL, or memory when history is off or the
    /// write fails), caches a fresh reply, and counts usage — concurrently,
    /// each only while its capability is on. Returns where history went.
    pub(crate) async fn record_turn(
        &self,
        request: &super::api::ChatTurn<'_>,
        reply: &CachedReply,
        tokens: u64,
        cache_it: bool,
        degraded: &mut RequestCapabilities,
    ) -> &'static str {
        let capabilities = degraded.get();
        let turns = super::api::turn_pair(request.message, reply);
        let history = async {
            if !capabilities.conversation_history {
                return Err(None);
            }
            self.database
                .append(request.conversation_id, &turns)
                .await
                .map_err(Some)
        };
        let cache = async {
            if cache_it && capabilities.caching {
                self.redis
                    .store_reply(request.message, reply)
                    .await
                    .map_err(Some)
            } else {
                Err(None)
            }
        };
        let usage = async {
            if capabilities.real_time_usage {
                self.redis
                    .record_usage(&reply.provider, tokens)
                    .await
                    .map_err(Some)
            } else {
                Err(None)
            }
        };
        let (history, cache, usage) = tokio::join!(history, cache, usage);
        if let Err(Some(error)) = cache {
            tracing::debug!(%error, "cache write failed");
            degraded.lose(Capability::Caching);
        }
        if let Err(Some(error)) = usage {
            tracing::debug!(%error, "usage counter failed");
            degraded.lose(Capability::RealTimeUsage);
        }
        match history {
            Ok(()) => "postgres",
            Err(error) => {
                if let Some(error) = error {
                    tracing::debug!(%error, "history write failed");
                    degraded.lose(Capability::ConversationHistory);
                }
                self.memory.append(request.conversation_id, &turns);
                "memory"
            }
        }
    }
}

/// Stored and in-memory turns in time order, the last `limit` of them. A
/// turn found in both (read while being replayed into PostgreSQL) counts
/// once.
fn merge(mut stored: Vec<Turn>, memory: Vec<Turn>, limit: usize) -> Vec<Turn> {
    if !memory.is_empty() {
        stored.extend(memory);
        stored.sort_by_key(|turn| turn.at_ms);
        let mut unique: Vec<Turn> = Vec::with_capacity(stored.len());
        for turn in stored {
            let mut same_time = unique.iter().rev().take_while(|t| t.at_ms == turn.at_ms);
            if !same_time.any(|t| *t == turn) {
                unique.push(turn);
            }
        }
        stored = unique;
    }
    let skip = stored.len().saturating_sub(limit);
    stored.split_off(skip)
}

/// Serves the platform on `listener` until `shutdown` resolves. Runs the
/// health monitor alongside and stops it on the way out.
pub async fn serve(
    listener: TcpListener,
    platform: Arc<Platform>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The first check runs before serving, so /capabilities is never a guess.
    platform.health().check().await;
    let monitor = tokio::spawn(Arc::clone(platform.health()).monitor());
    let maintenance = tokio::spawn(Arc::clone(&platform).maintain_storage_forever());
    let header_read_timeout = platform.config().header_read_timeout;
    let router = super::api::router(platform);
    let result =
        crate::lab::serve::serve_http(listener, router, header_read_timeout, shutdown).await;
    monitor.abort();
    maintenance.abort();
    result
}

/// A platform serving on a loopback port in a background task.
#[derive(Debug)]
pub struct RunningPlatform {
    addr: SocketAddr,
    platform: Arc<Platform>,
    trigger: ShutdownTrigger,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningPlatform {
    /// Binds 127.0.0.1:0 and serves `config` there.
    pub async fn start(
        config: PlatformConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, PlatformError> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|error| {
            PlatformError::Store(StoreError::Failed {
                dependency: "listener",
                message: error.to_string(),
            })
        })?;
        Self::start_on(listener, config, clock).await
    }

    /// Serves `config` on an already-bound listener.
    pub async fn start_on(
        listener: TcpListener,
        config: PlatformConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, PlatformError> {
        let addr = listener.local_addr().map_err(|error| {
            PlatformError::Store(StoreError::Failed {
                dependency: "listener",
                message: error.to_string(),
            })
        })?;
        let platform = Platform::new(config, clock)?;
        // Run the first health check before returning, as `serve` does.
        platform.health().check().await;
        let (trigger, shutdown) = shutdown::channel();
        let task = tokio::spawn(serve(listener, Arc::clone(&platform), shutdown.wait()));
        Ok(Self {
            addr,
            platform,
            trigger,
            task,
        })
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The platform itself (for in-process inspection in tests).
    pub fn platform(&self) -> &Arc<Platform> {
        &self.platform
    }

    /// Stops serving and waits for the server task.
    pub async fn stop(self) {
        self.trigger.trigger();
        let _ = self.task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(role: &str, content: &str, at_ms: i64) -> Turn {
        Turn {
            role: role.to_owned(),
            content: content.to_owned(),
            provider: None,
            at_ms,
        }
    }

    #[test]
    fn merged_history_is_in_time_order_with_replayed_turns_once() {
        // As PostgreSQL gives them (by time): b and B were replayed from
        // memory after c was written.
        let stored = vec![
            turn("user", "a", 1),
            turn("assistant", "A", 1),
            turn("user", "b", 2),
            turn("assistant", "B", 2),
            turn("user", "c", 3),
        ];
        // Still in memory too, read while the replay went on.
        let memory = vec![
            turn("user", "b", 2),
            turn("assistant", "B", 2),
            turn("user", "d", 4),
        ];
        let merged = merge(stored.clone(), memory.clone(), usize::MAX);
        let contents: Vec<&str> = merged.iter().map(|t| t.content.as_str()).collect();
        assert_eq!(contents, ["a", "A", "b", "B", "c", "d"]);
        let last_two: Vec<String> = merge(stored, memory, 2)
            .into_iter()
            .map(|t| t.content)
            .collect();
        assert_eq!(last_two, ["c", "d"]);
    }
}
