//! Conversation history in PostgreSQL.
//!
//! A deadpool pool whose waits are bounded, and every query additionally
//! wrapped in a timeout: pool timeouts do not cover a frozen server, which
//! accepts a query and never answers. The schema is created on first use, so
//! the platform starts while PostgreSQL is down.

use std::time::Duration;

use deadpool_postgres::{
    Manager, ManagerConfig, Pool, QueueMode, RecyclingMethod, Runtime, Timeouts,
};
use tokio::sync::OnceCell;

use super::{StoreError, Turn, bounded};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS gameday_turns (
    id BIGSERIAL PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    provider TEXT,
    at_ms BIGINT NOT NULL
);
DROP INDEX IF EXISTS gameday_turns_by_conversation;
CREATE INDEX IF NOT EXISTS gameday_turns_by_conversation_time ON gameday_turns (conversation_id, at_ms, id);
";

/// PostgreSQL-backed history.
pub struct PgHistory {
    pool: Pool,
    timeout: Duration,
    schema: OnceCell<()>,
}

impl std::fmt::Debug for PgHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgHistory")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl PgHistory {
    /// A pool for `url` (`postgres://user@host:port/db`); connects lazily.
    pub fn new(url: &str, timeout: Duration, max_connections: usize) -> Result<Self, StoreError> {
        let failed = |message: String| StoreError::Failed {
            dependency: "database",
            message,
        };
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| failed(format!("invalid PostgreSQL URL: {e}")))?;
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        // Last in, first out: a steady load keeps reusing the same few
        // connections, so those a burst added go idle and can be closed.
        let pool = Pool::builder(manager)
            .max_size(max_connections.max(1))
            .queue_mode(QueueMode::Lifo)
            .runtime(Runtime::Tokio1)
            .timeouts(Timeouts {
                wait: Some(timeout),
                create: Some(timeout),
                recycle: Some(timeout),
            })
            .build()
            .map_err(|e| failed(e.to_string()))?;
        Ok(Self {
            pool,
            timeout,
            schema: OnceCell::new(),
        })
    }

    /// Closes the pooled connections unused for `idle` or longer, so the
    /// pool shrinks back after a burst (a slow database under load grows it
    /// to its maximum), but never below `keep`. Returns how many were closed.
    pub fn close_idle(&self, idle: Duration, keep: usize) -> usize {
        let mut closable = self.pool.status().size.saturating_sub(keep);
        self.pool
            .retain(|_, metrics| {
                if closable > 0 && metrics.last_used() >= idle {
                    closable -= 1;
                    false
                } else {
                    true
                }
            })
            .removed
            .len()
    }

    /// Opens connections towards `keep`, at most `step` of them (each wait
    /// bounded by the query timeout), so that a burst after a quiet spell
    /// finds them open; called again until the pool holds `keep`. Returns
    /// how many the pool holds afterwards.
    pub async fn warm(&self, keep: usize, step: usize) -> usize {
        let size = self.pool.status().size;
        if size < keep {
            // Held together, so that each `get` past the idle ones opens one.
            let target = keep.min(size + step.max(1));
            let gets = (0..target).map(|_| tokio::time::timeout(self.timeout, self.pool.get()));
            let held = futures_util::future::join_all(gets).await;
            drop(held);
        }
        self.pool.status().size
    }

    /// Connections currently in the pool, in use or idle.
    pub fn connections(&self) -> usize {
        self.pool.status().size
    }

    /// `SELECT 1`, for the health check.
    pub async fn ping(&self, timeout: Duration) -> Result<(), StoreError> {
        bounded("database", timeout, async {
            let client = self.pool.get().await.map_err(|e| e.to_string())?;
            client
                .simple_query("SELECT 1")
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(())
        })
        .await
    }

    /// The last `limit` turns of a conversation, oldest first (by the time
    /// each was taken: turns replayed from memory after an outage are
    /// written after newer ones).
    pub async fn recent(
        &self,
        conversation_id: &str,
        limit: usize,
    ) -> Result<Vec<Turn>, StoreError> {
        self.ensure_schema().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = bounded("database", self.timeout, async {
            let client = self.pool.get().await.map_err(|e| e.to_string())?;
            let statement = client
                .prepare_cached(
                    "SELECT role, content, provider, at_ms FROM (
                        SELECT id, role, content, provider, at_ms FROM gameday_turns
                        WHERE conversation_id = $1 ORDER BY at_ms DESC, id DESC LIMIT $2
                     ) recent ORDER BY at_ms, id",
                )
                .await
                .map_err(|e| e.to_string())?;
            client
                .query(&statement, &[&conversation_id, &limit])
                .await
                .map_err(|e| e.to_string())
        })
        .await?;
        Ok(rows
            .iter()
            .map(|row| Turn {
                role: row.get(0),
                content: row.get(1),
                provider: row.get(2),
                at_ms: row.get(3),
            })
            .collect())
    }

    /// Appends turns to a conversation in one statement.
    pub async fn append(&self, conversation_id: &str, turns: &[Turn]) -> Result<(), StoreError> {
        self.ensure_schema().await?;
        let roles: Vec<&str> = turns.iter().map(|t| t.role.as_str()).collect();
        let contents: Vec<&str> = turns.iter().map(|t| t.content.as_str()).collect();
        let providers: Vec<Option<&str>> = turns.iter().map(|t| t.provider.as_deref()).collect();
        let times: Vec<i64> = turns.iter().map(|t| t.at_ms).collect();
        bounded("database", self.timeout, async {
            let client = self.pool.get().await.map_err(|e| e.to_string())?;
            let statement = client
                .prepare_cached(
                    "INSERT INTO gameday_turns (conversation_id, role, content, provider, at_ms)
                     SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::int8[])",
                )
                .await
                .map_err(|e| e.to_string())?;
            client
                .execute(
                    &statement,
                    &[&conversation_id, &roles, &contents, &providers, &times],
                )
                .await
                .map_err(|e| e.to_string())
        })
        .await
        .map(|_| ())
    }

    async fn ensure_schema(&self) -> Result<(), StoreError> {
        self.schema
            .get_or_try_init(|| async {
                bounded("database", self.timeout, async {
                    let client = self.pool.get().await.map_err(|e| e.to_string())?;
                    client
                        .batch_execute(SCHEMA)
                        .await
                        .map_err(|e| e.to_string())
                })
                .await
            })
            .await
            .map(|_| ())
    }
}
