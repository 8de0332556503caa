//! The stream a failover call hands back once a provider produced its first
//! token.
//!
//! Owns what happens after failover is no longer possible: forwarding the
//! provider's events, turning a provider error or a silence longer than the
//! stall timeout into one [`StreamError`], and giving the provider's breaker
//! its verdict when the stream ends.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use serde::Serialize;
use tokio::time::{Instant, Sleep};

use super::breaker::Permit;
use super::outcome::{AttemptFailure, FailureReason};
use super::provider::{ProviderEvent, ProviderStream};

/// One piece of a streamed answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum StreamEvent {
    /// Generated text, never empty.
    Delta(String),
    /// The end of the answer, with its usage (0 if the provider reported none).
    Done {
        /// Prompt tokens.
        input_tokens: u64,
        /// Generated tokens.
        output_tokens: u64,
    },
}

impl From<ProviderEvent> for StreamEvent {
    fn from(event: ProviderEvent) -> Self {
        match event {
            ProviderEvent::Delta(text) => Self::Delta(text),
            ProviderEvent::Done {
                input_tokens,
                output_tokens,
            } => Self::Done {
                input_tokens,
                output_tokens,
            },
        }
    }
}

/// Why a stream broke after its first token (no failover is possible then).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// No event arrived for longer than `attempt_timeout`.
    #[error("stream from {provider} stalled: no event for {:.1}s", idle.as_secs_f64())]
    Stalled {
        /// The provider streaming.
        provider: String,
        /// How long it was silent.
        idle: Duration,
    },
    /// The provider's stream failed.
    #[error("stream from {provider} failed: {reason}")]
    Failed {
        /// The provider streaming.
        provider: String,
        /// What went wrong.
        reason: FailureReason,
    },
}

/// A streamed answer that already produced its first event.
///
/// Yields deltas, then one `Done`, then ends; or yields one [`StreamError`]
/// and ends. The outcome is recorded on the provider's breaker: `Done` is a
/// success, an error or stall a failure. Dropping the stream before the end
/// counts as a success, since the provider was producing tokens and it was
/// the caller who stopped listening.
pub struct CompletionStream {
    /// The provider streaming.
    pub provider: String,
    /// The model asked for (as configured for that provider).
    pub model: String,
    /// Providers skipped or failed before this one, in order.
    pub attempts: Vec<AttemptFailure>,
    inner: ProviderStream,
    /// The event that made `stream()` return, not yet handed out.
    first: Option<StreamEvent>,
    /// Settled when the stream ends; `None` afterwards.
    permit: Option<Permit>,
    stall_timeout: Duration,
    /// Fires when no event arrived for `stall_timeout`.
    stall: Pin<Box<Sleep>>,
    finished: bool,
}

impl std::fmt::Debug for CompletionStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompletionStream")
            .field("provider", &self.provider)
            .field("model", &self.model)
            .field("finished", &self.finished)
            .finish()
    }
}

impl CompletionStream {
    /// A stream whose provider already produced `first`; `permit` is the
    /// provider's breaker permit, settled when the stream ends.
    pub(super) fn new(
        provider: String,
        model: String,
        attempts: Vec<AttemptFailure>,
        inner: ProviderStream,
        first: ProviderEvent,
        permit: Permit,
        stall_timeout: Duration,
    ) -> Self {
        Self {
            provider,
            model,
            attempts,
            inner,
            first: Some(first.into()),
            permit: Some(permit),
            stall_timeout,
            stall: Box::pin(tokio::time::sleep(stall_timeout)),
            finished: false,
        }
    }

    fn deliver(&mut self, event: StreamEvent) -> StreamEvent {
        if matches!(event, StreamEvent::Done { .. }) {
            self.finished = true;
            if let Some(permit) = self.permit.take() {
                permit.success();
            }
        } else if let Some(deadline) = Instant::now().checked_add(self.stall_timeout) {
            self.stall.as_mut().reset(deadline);
        }
        event
    }

    fn fail(&mut self, error: StreamError) -> StreamError {
        self.finished = true;
        if let Some(permit) = self.permit.take() {
            permit.failure(&error.to_string());
        }
        error
    }
}

impl Stream for CompletionStream {
    type Item = Result<StreamEvent, StreamError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(this.deliver(first))));
        }
        match this.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(event))) => Poll::Ready(Some(Ok(this.deliver(event.into())))),
            Poll::Ready(Some(Err(error))) => {
                let error = StreamError::Failed {
                    provider: this.provider.clone(),
                    reason: FailureReason::from(&error),
                };
                Poll::Ready(Some(Err(this.fail(error))))
            }
            Poll::Ready(None) => {
                let error = StreamError::Failed {
                    provider: this.provider.clone(),
                    reason: FailureReason::Malformed("stream ended before its end marker".into()),
                };
                Poll::Ready(Some(Err(this.fail(error))))
            }
            Poll::Pending => match this.stall.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    let error = StreamError::Stalled {
                        provider: this.provider.clone(),
                        idle: this.stall_timeout,
                    };
                    Poll::Ready(Some(Err(this.fail(error))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl Drop for CompletionStream {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            permit.success();
        }
    }
}
