//! Failover across LLM providers: the API the platform's HTTP service uses.
//!
//! Owns the decision of which provider serves a request. Providers are tried
//! in the configured order. A provider is skipped, without being called, while
//! its breaker rejects calls or while a `Retry-After` it sent has not passed
//! (on the injected clock). A failure another provider could fix (5xx, 408,
//! 429, 529, timeout, connection error, malformed body) counts against that
//! provider's breaker and moves on to the next; a failure of the request
//! itself (other 4xx) is returned at once, without failing over and without
//! counting against the breaker.
//!
//! Every attempt is bounded by `attempt_timeout`, cut to what is left of the
//! call's overall `deadline`. Those two are real waiting time (tokio's clock);
//! the injected [`Clock`] drives breakers and `Retry-After` bookkeeping.
//!
//! Streams fail over only before their first token: [`FailoverClient::stream`]
//! returns once a provider produced one, and anything that goes wrong after
//! that (an error, or no event for longer than `attempt_timeout`) reaches the
//! caller as a [`StreamError`], so no text is ever produced twice.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use serde::Serialize;
use tokio::time::Instant;

pub use super::breaker::{BreakerSettings, BreakerSnapshot};
use super::breaker::{BreakerState, CircuitBreaker, Permit, Rejected};
pub use super::completion_stream::{CompletionStream, StreamError, StreamEvent};
pub use super::message::{ChatMessage, Role};
pub use super::outcome::{AttemptFailure, Completion, FailoverError, FailureReason};
pub use super::provider::{ApiKind, ProviderConfig};
use super::provider::{
    ProviderClient, ProviderError, ProviderEvent, ProviderReply, ProviderStream,
    is_request_error_status,
};
use crate::clock::Clock;

/// Timeouts, breaker tuning and request size for a [`FailoverClient`].
#[derive(Clone, Debug)]
pub struct FailoverSettings {
    /// Longest one provider may take: for a completion, the whole exchange;
    /// for a stream, until the first token, and then between two events.
    pub attempt_timeout: Duration,
    /// Longest a whole `complete` / `stream` call may take across providers
    /// (for a stream, until its first token).
    pub deadline: Duration,
    /// Tuning of every provider's breaker.
    pub breaker: BreakerSettings,
    /// `max_tokens` sent with every request.
    pub max_tokens: u32,
}

impl Default for FailoverSettings {
    fn default() -> Self {
        Self {
            attempt_timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(30),
            breaker: BreakerSettings::default(),
            max_tokens: 1024,
        }
    }
}

/// A provider's breaker, for `/breakers`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProviderBreaker {
    /// The provider's configured name.
    pub provider: String,
    /// Its breaker right now.
    pub snapshot: BreakerSnapshot,
}

/// The result of calling one provider directly, for health checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProviderProbe {
    /// The provider's configured name.
    pub provider: String,
    /// Whether it answered a tiny request successfully.
    pub ok: bool,
    /// How long the call took (serialized as `latency_ms`).
    #[serde(rename = "latency_ms", serialize_with = "serialize_millis")]
    pub latency: Duration,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

fn serialize_millis<S: serde::Serializer>(
    duration: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64() * 1000.0)
}

/// One configured provider with its breaker and `Retry-After` state.
struct Slot {
    client: ProviderClient,
    breaker: CircuitBreaker,
    /// Until when the provider asked not to be called (`Retry-After`).
    retry_after_until: Mutex<Option<Instant>>,
}

impl Slot {
    fn name(&self) -> &str {
        self.client.name()
    }

    /// The `Retry-After` instant if it is still in the future.
    fn retry_after(&self, now: Instant) -> Option<Instant> {
        let mut until = self
            .retry_after_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match *until {
            Some(instant) if instant > now => Some(instant),
            _ => {
                *until = None;
                None
            }
        }
    }

    fn set_retry_after(&self, until: Instant) {
        let mut current = self
            .retry_after_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *current = Some(current.map_or(until, |current| current.max(until)));
    }
}

struct Inner {
    slots: Vec<Slot>,
    settings: FailoverSettings,
    clock: Arc<dyn Clock>,
}

/// Calls LLM providers with breakers, timeouts and failover. Cheap to clone;
/// clones share breakers and `Retry-After` state.
#[derive(Clone)]
pub struct FailoverClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FailoverClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.inner.slots.iter().map(Slot::name).collect();
        f.debug_struct("FailoverClient")
            .field("providers", &names)
            .field("settings", &self.inner.settings)
            .finish()
    }
}

/// A successful attempt, with the permit still to be settled.
struct Served<T> {
    value: T,
    permit: Permit,
    provider: String,
    model: String,
    attempts: Vec<AttemptFailure>,
}

/// What one attempt at one provider does.
trait Attempt {
    type Output;
    fn run(
        &self,
        client: &ProviderClient,
        budget: Duration,
    ) -> impl Future<Output = Result<Self::Output, ProviderError>> + Send;
}

struct CompleteAttempt<'a> {
    messages: &'a [ChatMessage],
    max_tokens: u32,
}

impl Attempt for CompleteAttempt<'_> {
    type Output = ProviderReply;

    async fn run(
        &self,
        client: &ProviderClient,
        budget: Duration,
    ) -> Result<ProviderReply, ProviderError> {
        client
            .complete(self.messages, self.max_tokens, budget)
            .await
    }
}

struct StreamAttempt<'a> {
    messages: &'a [ChatMessage],
    max_tokens: u32,
}

impl Attempt for StreamAttempt<'_> {
    /// The stream and its first event (a delta, or `Done` for an empty answer).
    type Output = (ProviderStream, ProviderEvent);

    async fn run(
        &self,
        client: &ProviderClient,
        budget: Duration,
    ) -> Result<Self::Output, ProviderError> {
        let first_token = async {
            let mut stream = client
                .stream(self.messages, self.max_tokens, budget)
                .await?;
            match stream.next().await {
                Some(Ok(event)) => Ok((stream, event)),
                Some(Err(error)) => Err(error),
                None => Err(ProviderError::Malformed(
                    "stream ended without any event".into(),
                )),
            }
        };
        tokio::time::timeout(budget, first_token)
            .await
            .unwrap_or(Err(ProviderError::Timeout))
    }
}

impl FailoverClient {
    /// A client for `providers`, tried in this order.
    pub fn new(
        providers: Vec<ProviderConfig>,
        settings: FailoverSettings,
        clock: Arc<dyn Clock>,
        http: reqwest::Client,
    ) -> Self {
        let slots = providers
            .into_iter()
            .map(|config| Slot {
                breaker: CircuitBreaker::labelled(
                    config.name.clone(),
                    settings.breaker.clone(),
                    Arc::clone(&clock),
                ),
                client: ProviderClient::new(config, http.clone()),
                retry_after_until: Mutex::new(None),
            })
            .collect();
        Self {
            inner: Arc::new(Inner {
                slots,
                settings,
                clock,
            }),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &FailoverSettings {
        &self.inner.settings
    }

    /// The configured providers' names, in failover order.
    pub fn provider_names(&self) -> Vec<String> {
        self.inner
            .slots
            .iter()
            .map(|slot| slot.name().to_owned())
            .collect()
    }

    /// Each configured provider's name and model, in failover order.
    pub fn provider_models(&self) -> Vec<(String, String)> {
        self.inner
            .slots
            .iter()
            .map(|slot| (slot.name().to_owned(), slot.client.config().model.clone()))
            .collect()
    }

    /// One complete answer from the first provider able to give it.
    pub async fn complete(&self, messages: &[ChatMessage]) -> Result<Completion, FailoverError> {
        let attempt = CompleteAttempt {
            messages,
            max_tokens: self.inner.settings.max_tokens,
        };
        let served = self.serve(&attempt).await?;
        served.permit.success();
        let reply = served.value;
        Ok(Completion {
            provider: served.provider,
            model: reply.model,
            text: reply.text,
            input_tokens: reply.input_tokens,
            output_tokens: reply.output_tokens,
            attempts: served.attempts,
        })
    }

    /// A streamed answer from the first provider able to produce a first
    /// token. Returns only once that token arrived.
    pub async fn stream(
        &self,
        messages: &[ChatMessage],
    ) -> Result<CompletionStream, FailoverError> {
        let attempt = StreamAttempt {
            messages,
            max_tokens: self.inner.settings.max_tokens,
        };
        let served = self.serve(&attempt).await?;
        let (inner, first) = served.value;
        Ok(CompletionStream::new(
            served.provider,
            served.model,
            served.attempts,
            inner,
            first,
            served.permit,
            self.inner.settings.attempt_timeout,
        ))
    }

    /// Every provider's breaker, in failover order.
    pub fn breakers(&self) -> Vec<ProviderBreaker> {
        self.inner
            .slots
            .iter()
            .map(|slot| ProviderBreaker {
                provider: slot.name().to_owned(),
                snapshot: slot.breaker.snapshot(),
            })
            .collect()
    }

    /// Calls every provider directly and concurrently with a tiny request,
    /// bypassing breakers and `Retry-After`, each bounded by
    /// `attempt_timeout`. For health checks, which should cache the result
    /// rather than probe on every request. The one effect on breakers: a
    /// breaker due for a trial call takes the probe as that trial, so a
    /// provider that traffic no longer reaches still recovers.
    pub async fn probe(&self) -> Vec<ProviderProbe> {
        let messages = [ChatMessage::user("ping")];
        let timeout = self.inner.settings.attempt_timeout;
        let probes = self.inner.slots.iter().map(|slot| async {
            // A breaker that is due for a trial gets this probe as its trial:
            // a fallback that no traffic reaches any more (its primary is
            // healthy again) would otherwise stay half-open for ever.
            let trial = match slot.breaker.state() {
                BreakerState::Closed => None,
                _ => slot
                    .breaker
                    .try_acquire()
                    .ok()
                    .filter(|permit| permit.is_trial()),
            };
            let started = Instant::now();
            let result = slot.client.complete(&messages, 1, timeout).await;
            if let Some(trial) = trial {
                match &result {
                    Ok(_) => trial.success(),
                    Err(error) => trial.failure(&format!("health probe: {error}")),
                }
            }
            ProviderProbe {
                provider: slot.name().to_owned(),
                ok: result.is_ok(),
                latency: started.elapsed(),
                error: result.err().map(|error| error.to_string()),
            }
        });
        futures_util::future::join_all(probes).await
    }

    /// The failover loop shared by `complete` and `stream`.
    async fn serve<A: Attempt>(&self, attempt: &A) -> Result<Served<A::Output>, FailoverError> {
        let settings = &self.inner.settings;
        let deadline = Instant::now().checked_add(settings.deadline);
        let mut attempts = Vec::new();
        for slot in &self.inner.slots {
            let failed = |reason: FailureReason| AttemptFailure {
                provider: slot.name().to_owned(),
                reason,
            };
            let left = deadline.map_or(Duration::MAX, |deadline| {
                deadline.saturating_duration_since(Instant::now())
            });
            if left.is_zero() {
                attempts.push(failed(FailureReason::Deadline));
                continue;
            }
            let now = self.inner.clock.now();
            if let Some(until) = slot.retry_after(now) {
                attempts.push(failed(FailureReason::RetryAfter {
                    until,
                    remaining: until.saturating_duration_since(now),
                }));
                continue;
            }
            let permit = match slot.breaker.try_acquire() {
                Ok(permit) => permit,
                Err(Rejected::Open { .. }) => {
                    attempts.push(failed(FailureReason::BreakerOpen));
                    continue;
                }
                Err(Rejected::HalfOpenBusy { .. }) => {
                    attempts.push(failed(FailureReason::BreakerHalfOpenBusy));
                    continue;
                }
            };
            let budget = settings.attempt_timeout.min(left);
            let cut_by_deadline = budget < settings.attempt_timeout;
            match attempt.run(&slot.client, budget).await {
                Ok(value) => {
                    return Ok(Served {
                        value,
                        permit,
                        provider: slot.name().to_owned(),
                        model: slot.client.config().model.clone(),
                        attempts,
                    });
                }
                Err(ProviderError::Status { code, message, .. })
                    if is_request_error_status(code) =>
                {
                    permit.ignore();
                    return Err(FailoverError::Rejected {
                        provider: slot.name().to_owned(),
                        status: code,
                        message,
                    });
                }
                Err(ProviderError::Timeout) if cut_by_deadline => {
                    // The provider had less than its full attempt timeout;
                    // that is the call's deadline, not the provider's fault.
                    permit.ignore();
                    attempts.push(failed(FailureReason::Deadline));
                }
                Err(error) => {
                    let reason = FailureReason::from(&error);
                    permit.failure(&reason.to_string());
                    if let ProviderError::Status {
                        code: 429 | 503 | 529,
                        retry_after: Some(delay),
                        ..
                    } = error
                        && let Some(until) = self.inner.clock.now().checked_add(delay)
                    {
                        slot.set_retry_after(until);
                    }
                    tracing::debug!(provider = slot.name(), %reason, "LLM provider failed, failing over");
                    attempts.push(failed(reason));
                }
            }
        }
        Err(FailoverError::AllFailed { attempts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn client(providers: Vec<ProviderConfig>) -> FailoverClient {
        FailoverClient::new(
            providers,
            FailoverSettings::default(),
            Arc::new(ManualClock::new()),
            reqwest::Client::new(),
        )
    }

    #[tokio::test]
    async fn no_providers_is_an_all_failed_error_not_a_panic() {
        let error = client(vec![])
            .complete(&[ChatMessage::user("hi")])
            .await
            .expect_err("nothing to call");
        assert_eq!(
            error.to_string(),
            "all LLM providers failed: no providers configured"
        );
    }

    #[tokio::test]
    async fn an_unreachable_provider_is_a_connect_failure() {
        // A port that was free a moment ago: connecting to it is refused.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        drop(listener);
        let config = ProviderConfig {
            name: "nowhere".into(),
            kind: ApiKind::OpenAi,
            base_url: format!("http://{address}"),
            model: "m".into(),
            api_key: None,
        };
        let client = client(vec![config]);
        match client.complete(&[ChatMessage::user("hi")]).await {
            Err(FailoverError::AllFailed { attempts }) => {
                assert_eq!(attempts.len(), 1);
                assert_eq!(attempts[0].reason.kind(), "connect");
            }
            other => panic!("expected AllFailed, got {other:?}"),
        }
        assert_eq!(client.breakers()[0].snapshot.consecutive_failures, 1);
    }

    #[test]
    fn futures_are_send_so_axum_handlers_can_await_them() {
        fn assert_send<T: Send>(_: &T) {}
        let client = client(vec![]);
        let messages = [ChatMessage::user("hi")];
        assert_send(&client.complete(&messages));
        assert_send(&client.stream(&messages));
        assert_send(&client.probe());
    }

    #[test]
    fn api_kinds_use_lowercase_names() {
        let config: ProviderConfig = serde_json::from_str(
            r#"{"name":"a","kind":"anthropic","base_url":"http://x","model":"m","api_key":null}"#,
        )
        .expect("valid config");
        assert_eq!(config.kind, ApiKind::Anthropic);
        assert_eq!(
            serde_json::to_value(ApiKind::OpenAi).expect("serialize"),
            "openai"
        );
    }
}
