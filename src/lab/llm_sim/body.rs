//! Bodies: reading request bodies under a size limit, and sending response
//! bodies piece by piece, with waits, possibly ending by breaking the connection.
//!
//! A body is a list of [`Frame`]s (a wait, then some bytes) and an [`Ending`].
//! `Ending::Abort` makes the body fail after the last frame, which makes the
//! HTTP server drop the connection without finishing the response: the client
//! sees a truncated body. Every wait also ends at shutdown (the body then
//! aborts), so an open stream never keeps the server alive. No task is
//! spawned: dropping the body drops everything.

use std::collections::VecDeque;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;

use futures_util::StreamExt;

use crate::shutdown::Shutdown;

/// Bytes read from an oversized body (and thrown away) before answering 413,
/// so the client has finished sending and can read the answer.
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
            if seen > DRAIN_LIMIT {
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

/// A piece of a response body and the wait before it is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// How long to wait before sending `bytes`.
    pub wait: Duration,
    /// What to send.
    pub bytes: Bytes,
}

impl Frame {
    /// A frame sent without waiting.
    pub fn now(bytes: Bytes) -> Frame {
        Frame {
            wait: Duration::ZERO,
            bytes,
        }
    }
}

/// How a paced body ends after its last frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// A normal end of the response.
    Complete,
    /// The connection is broken: the response never completes.
    Abort,
}

/// Why a body was broken off; surfaces only in the server's logs.
#[derive(Debug, thiserror::Error)]
enum BodyCut {
    #[error("response cut by the cut_stream mode")]
    Mode,
    #[error("response cut by shutdown")]
    Shutdown,
}

struct Paced {
    frames: VecDeque<Frame>,
    ending: Ending,
    shutdown: Shutdown,
    finished: bool,
}

/// A body that sends `frames` in order, each after its wait, then ends as `ending` says.
pub fn paced(frames: Vec<Frame>, ending: Ending, shutdown: Shutdown) -> Body {
    let state = Paced {
        frames: frames.into(),
        ending,
        shutdown,
        finished: false,
    };
    let stream = futures_util::stream::unfold(state, |mut state| async move {
        if state.finished {
            return None;
        }
        match state.frames.pop_front() {
            Some(frame) => {
                if !frame.wait.is_zero() {
                    tokio::select! {
                        () = tokio::time::sleep(frame.wait) => {}
                        () = state.shutdown.clone().wait() => {
                            state.finished = true;
                            return Some((Err(BodyCut::Shutdown), state));
                        }
                    }
                }
                Some((Ok(frame.bytes), state))
            }
            None => match state.ending {
                Ending::Complete => None,
                Ending::Abort => {
                    // Give the server one turn to flush what was sent so far,
                    // so the client receives the partial body before the cut.
                    tokio::task::yield_now().await;
                    state.finished = true;
                    Some((Err(BodyCut::Mode), state))
                }
            },
        }
    });
    Body::from_stream(stream)
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

    async fn collect(body: Body) -> (Vec<Bytes>, bool) {
        let mut stream = body.into_data_stream();
        let mut chunks = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(bytes) => chunks.push(bytes),
                Err(_) => return (chunks, true),
            }
        }
        (chunks, false)
    }

    #[tokio::test]
    async fn complete_body_sends_every_frame() {
        let (_trigger, shutdown) = crate::shutdown::channel();
        let frames = vec![Frame::now(Bytes::from("a")), Frame::now(Bytes::from("b"))];
        let (chunks, failed) = collect(paced(frames, Ending::Complete, shutdown)).await;
        assert_eq!(chunks, [Bytes::from("a"), Bytes::from("b")]);
        assert!(!failed);
    }

    #[tokio::test]
    async fn aborted_body_fails_after_its_frames() {
        let (_trigger, shutdown) = crate::shutdown::channel();
        let frames = vec![Frame::now(Bytes::from("a"))];
        let (chunks, failed) = collect(paced(frames, Ending::Abort, shutdown)).await;
        assert_eq!(chunks, [Bytes::from("a")]);
        assert!(failed);
    }

    #[tokio::test]
    async fn shutdown_breaks_a_long_wait() {
        let (trigger, shutdown) = crate::shutdown::channel();
        let frames = vec![
            Frame::now(Bytes::from("a")),
            Frame {
                wait: Duration::from_secs(3600),
                bytes: Bytes::from("never"),
            },
        ];
        trigger.trigger();
        let (chunks, failed) = collect(paced(frames, Ending::Complete, shutdown)).await;
        assert_eq!(chunks, [Bytes::from("a")]);
        assert!(failed);
    }
}
