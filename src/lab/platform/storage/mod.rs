//! The platform's state outside the LLM: the Redis response cache and usage
//! counters, conversation history in PostgreSQL, and the bounded in-memory
//! history used while PostgreSQL is unavailable. Every call is bounded by a
//! timeout and reports failure instead of waiting.

pub mod cache;
pub mod history;
pub mod memory;

/// One stored turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Turn {
    /// `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
    /// The LLM provider that produced an assistant turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Milliseconds since the Unix epoch when it was stored.
    pub at_ms: i64,
}

/// A dependency call failed or timed out.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No answer within the timeout.
    #[error("{dependency} timed out after {timeout:?}")]
    Timeout {
        /// `redis` or `database`.
        dependency: &'static str,
        /// The timeout that passed.
        timeout: std::time::Duration,
    },
    /// The dependency answered with an error or the connection failed.
    #[error("{dependency}: {message}")]
    Failed {
        /// `redis` or `database`.
        dependency: &'static str,
        /// What went wrong.
        message: String,
    },
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Runs `operation` with a timeout, mapping both failure kinds to [`StoreError`].
pub(crate) async fn bounded<T, E: std::fmt::Display>(
    dependency: &'static str,
    timeout: std::time::Duration,
    operation: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(timeout, operation).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(StoreError::Failed {
            dependency,
            message: error.to_string(),
        }),
        Err(_) => Err(StoreError::Timeout {
            dependency,
            timeout,
        }),
    }
}
