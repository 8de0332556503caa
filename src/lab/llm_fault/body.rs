//! Reading a request body whole, under a size limit: what the simulator,
//! the gateway and their admin APIs do before they look at a request.

use axum::body::Body;
use bytes::Bytes;
use futures_util::StreamExt;

/// Bytes past the limit read from an oversized body (and thrown away) before
/// answering 413, so the client has finished sending and can read the answer.
const DRAIN_LIMIT: usize = 8 * 1024 * 1024;

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The body is larger than the limit.
    #[error("request body is larger than {limit} bytes")]
    TooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The connection failed while the body was being read.
    #[error("could not read the request body: {0}")]
    Io(String),
}

/// Reads a whole request body of at most `limit` bytes.
pub async fn read_limited(body: Body, limit: usize) -> Result<Bytes, ReadError> {
    let mut stream = body.into_data_stream();
    let mut collected = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| ReadError::Io(error.to_string()))?;
        seen = seen.saturating_add(chunk.len());
        if seen > limit {
            if seen > limit.saturating_add(DRAIN_LIMIT) {
                break;
            }
            continue;
        }
        collected.extend_from_slice(&chunk);
    }
    if seen > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(Bytes::from(collected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn read_limited_accepts_up_to_the_limit() {
        let body = Body::from(vec![b'x'; 10]);
        let bytes = read_limited(body, 10).await.expect("fits");
        assert_eq!(bytes.len(), 10);
        let body = Body::from(vec![b'x'; 11]);
        assert!(matches!(
            read_limited(body, 10).await,
            Err(ReadError::TooLarge { limit: 10 })
        ));
    }
}
