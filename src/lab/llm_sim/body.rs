//! Response bodies sent piece by piece, with waits, possibly ending by
//! breaking the connection. (Request bodies are read by
//! [`read_limited`](crate::lab::llm_fault::body::read_limited).)
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

use crate::shutdown::Shutdown;

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
    use futures_util::StreamExt;

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
