//! The circuit breaker that guards one LLM provider.
//!
//! Owns the Closed / Open / HalfOpen state machine, its transition history and
//! counters. It never does I/O and never sleeps: time comes from a
//! [`Clock`], so every rule is unit-testable with a `ManualClock`.
//!
//! Two flaws of the naive breaker are fixed here on purpose:
//! - HalfOpen admits at most `half_open_max_calls` trial calls *in flight at
//!   once*; further calls are rejected fast instead of stampeding a provider
//!   that is just recovering.
//! - Any single failed trial in HalfOpen re-opens the breaker at once; it does
//!   not wait for `failure_threshold` more failures.
//!
//! A caller asks for a [`Permit`] before each call and gives it a verdict
//! afterwards. Verdicts of permits handed out before the latest transition are
//! ignored (a slow call that started while Closed cannot close or count against
//! a breaker that has since opened).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::clock::Clock;

/// How many transitions a breaker remembers.
const HISTORY_LIMIT: usize = 100;

/// How many of the remembered transitions a snapshot shows.
const SNAPSHOT_TRANSITIONS: usize = 20;

/// Tuning of one breaker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failures while Closed that open the breaker.
    pub failure_threshold: u32,
    /// How long the breaker stays Open before it lets trial calls through.
    pub recovery_timeout: Duration,
    /// Trial calls allowed in flight at once while HalfOpen.
    pub half_open_max_calls: u32,
    /// Successful trial calls that close the breaker again.
    pub success_threshold: u32,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            recovery_timeout: Duration::from_secs(30),
            half_open_max_calls: 1,
            success_threshold: 2,
        }
    }
}

/// The three states, named so they cannot be misread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Traffic flows; consecutive failures are counted.
    Closed,
    /// Calls are rejected fast until the recovery timeout passes.
    Open,
    /// A limited number of trial calls decide whether to close or re-open.
    HalfOpen,
}

impl std::fmt::Display for BreakerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        })
    }
}

/// One recorded state change and why it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The state left.
    pub from: BreakerState,
    /// The state entered.
    pub to: BreakerState,
    /// When it happened, on the breaker's clock.
    pub at: Instant,
    /// A sentence saying why.
    pub reason: String,
}

/// Why [`CircuitBreaker::try_acquire`] refused a call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// The breaker is Open; it lets trial calls through after `retry_in`.
    #[error("breaker open (trial calls in {:.1}s)", retry_in.as_secs_f64())]
    Open {
        /// Time left until the breaker turns HalfOpen.
        retry_in: Duration,
    },
    /// The breaker is HalfOpen and all trial slots are taken.
    #[error("breaker half-open with {in_flight} trial call(s) already in flight")]
    HalfOpenBusy {
        /// Trial calls currently in flight.
        in_flight: u32,
    },
}

/// Counters of transitions by the state entered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TransitionCounts {
    /// Times the breaker entered Open.
    pub opened: u64,
    /// Times the breaker entered HalfOpen.
    pub half_opened: u64,
    /// Times the breaker entered Closed (recovered).
    pub closed: u64,
}

impl TransitionCounts {
    /// All transitions.
    pub fn total(&self) -> u64 {
        self.opened + self.half_opened + self.closed
    }
}

/// A recorded transition as an observer sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TransitionView {
    /// The state left.
    pub from: BreakerState,
    /// The state entered.
    pub to: BreakerState,
    /// Seconds between the transition and the snapshot.
    pub seconds_ago: f64,
    /// Why it happened.
    pub reason: String,
}

/// A point-in-time view of a breaker, for `/breakers` and the health checker.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BreakerSnapshot {
    /// Current state.
    pub state: BreakerState,
    /// Consecutive failures counted while Closed.
    pub consecutive_failures: u32,
    /// Trial calls in flight (HalfOpen only, otherwise 0).
    pub trial_calls_in_flight: u32,
    /// Successful trial calls so far (HalfOpen only, otherwise 0).
    pub trial_successes: u32,
    /// Times the breaker has opened.
    pub opened_count: u64,
    /// Transition counters by state entered.
    pub counts: TransitionCounts,
    /// All transitions since the breaker was created.
    pub transitions: u64,
    /// Seconds until an Open breaker turns HalfOpen; `None` unless Open.
    pub seconds_until_half_open: Option<f64>,
    /// The reason of the last failure recorded, if any.
    pub last_failure: Option<String>,
    /// The most recent transitions, oldest first.
    pub recent_transitions: Vec<TransitionView>,
}

/// The state with the data only that state needs.
#[derive(Clone, Copy, Debug)]
enum Phase {
    Closed {
        consecutive_failures: u32,
    },
    Open {
        /// When trial calls become allowed; `None` if the timeout overflowed
        /// the clock (the breaker then stays open).
        until: Option<Instant>,
    },
    HalfOpen {
        in_flight: u32,
        successes: u32,
    },
}

impl Phase {
    fn state(&self) -> BreakerState {
        match self {
            Self::Closed { .. } => BreakerState::Closed,
            Self::Open { .. } => BreakerState::Open,
            Self::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

#[derive(Debug)]
struct Inner {
    phase: Phase,
    /// Bumped on every transition; permits carry the value they saw.
    generation: u64,
    history: VecDeque<Transition>,
    counts: TransitionCounts,
    last_failure: Option<String>,
}

struct Shared {
    /// Names the breaker in logs (the provider's name).
    label: String,
    settings: BreakerSettings,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

/// A thread-safe circuit breaker. Cloning shares the same breaker.
#[derive(Clone)]
pub struct CircuitBreaker {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("settings", &self.shared.settings)
            .field("state", &self.state())
            .finish()
    }
}

impl CircuitBreaker {
    /// A Closed breaker. Thresholds of zero are treated as one.
    pub fn new(settings: BreakerSettings, clock: Arc<dyn Clock>) -> Self {
        Self::labelled("breaker", settings, clock)
    }

    /// A Closed breaker whose transitions are logged under `label`.
    pub fn labelled(
        label: impl Into<String>,
        settings: BreakerSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let settings = BreakerSettings {
            failure_threshold: settings.failure_threshold.max(1),
            half_open_max_calls: settings.half_open_max_calls.max(1),
            success_threshold: settings.success_threshold.max(1),
            ..settings
        };
        Self {
            shared: Arc::new(Shared {
                label: label.into(),
                settings,
                clock,
                inner: Mutex::new(Inner {
                    phase: Phase::Closed {
                        consecutive_failures: 0,
                    },
                    generation: 0,
                    history: VecDeque::new(),
                    counts: TransitionCounts::default(),
                    last_failure: None,
                }),
            }),
        }
    }

    /// The settings in force (after clamping).
    pub fn settings(&self) -> &BreakerSettings {
        &self.shared.settings
    }

    /// Asks to make one call. Rejections are immediate.
    pub fn try_acquire(&self) -> Result<Permit, Rejected> {
        let now = self.shared.clock.now();
        let mut inner = self.shared.lock();
        self.shared.refresh(&mut inner, now);
        let generation = inner.generation;
        match inner.phase {
            Phase::Closed { .. } => Ok(self.permit(generation, false)),
            Phase::Open { until } => Err(Rejected::Open {
                retry_in: until.map_or(Duration::MAX, |until| until.saturating_duration_since(now)),
            }),
            Phase::HalfOpen {
                ref mut in_flight, ..
            } => {
                if *in_flight >= self.shared.settings.half_open_max_calls {
                    return Err(Rejected::HalfOpenBusy {
                        in_flight: *in_flight,
                    });
                }
                *in_flight += 1;
                Ok(self.permit(generation, true))
            }
        }
    }

    /// The current state (an Open breaker past its timeout reads HalfOpen).
    pub fn state(&self) -> BreakerState {
        let now = self.shared.clock.now();
        let mut inner = self.shared.lock();
        self.shared.refresh(&mut inner, now);
        inner.phase.state()
    }

    /// The remembered transitions (at most the last 100), oldest first.
    pub fn transitions(&self) -> Vec<Transition> {
        self.shared.lock().history.iter().cloned().collect()
    }

    /// A serializable view of the breaker right now.
    pub fn snapshot(&self) -> BreakerSnapshot {
        let now = self.shared.clock.now();
        let mut inner = self.shared.lock();
        self.shared.refresh(&mut inner, now);
        let (consecutive_failures, trial_calls_in_flight, trial_successes, until_half_open) =
            match inner.phase {
                Phase::Closed {
                    consecutive_failures,
                } => (consecutive_failures, 0, 0, None),
                Phase::Open { until } => (
                    0,
                    0,
                    0,
                    Some(until.map_or(f64::INFINITY, |until| {
                        until.saturating_duration_since(now).as_secs_f64()
                    })),
                ),
                Phase::HalfOpen {
                    in_flight,
                    successes,
                } => (0, in_flight, successes, None),
            };
        let skip = inner.history.len().saturating_sub(SNAPSHOT_TRANSITIONS);
        let recent_transitions = inner
            .history
            .iter()
            .skip(skip)
            .map(|transition| TransitionView {
                from: transition.from,
                to: transition.to,
                seconds_ago: now.saturating_duration_since(transition.at).as_secs_f64(),
                reason: transition.reason.clone(),
            })
            .collect();
        BreakerSnapshot {
            state: inner.phase.state(),
            consecutive_failures,
            trial_calls_in_flight,
            trial_successes,
            opened_count: inner.counts.opened,
            counts: inner.counts,
            transitions: inner.counts.total(),
            seconds_until_half_open: until_half_open,
            last_failure: inner.last_failure.clone(),
            recent_transitions,
        }
    }

    fn permit(&self, generation: u64, trial: bool) -> Permit {
        Permit {
            shared: Arc::clone(&self.shared),
            generation,
            trial,
            settled: false,
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves consistent data
        // (every update is a single assignment), so poisoning is ignored.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies the time-driven transition Open -> HalfOpen, stamped with the
    /// instant it became due rather than the instant someone looked.
    fn refresh(&self, inner: &mut Inner, now: Instant) {
        if let Phase::Open { until: Some(until) } = inner.phase
            && now >= until
        {
            let reason = format!(
                "recovery timeout of {:.1}s elapsed",
                self.settings.recovery_timeout.as_secs_f64()
            );
            self.transition(
                inner,
                Phase::HalfOpen {
                    in_flight: 0,
                    successes: 0,
                },
                until,
                reason,
            );
        }
    }

    fn transition(&self, inner: &mut Inner, to: Phase, at: Instant, reason: String) {
        let from = inner.phase.state();
        inner.phase = to;
        inner.generation += 1;
        match to.state() {
            BreakerState::Closed => inner.counts.closed += 1,
            BreakerState::Open => inner.counts.opened += 1,
            BreakerState::HalfOpen => inner.counts.half_opened += 1,
        }
        tracing::info!(
            breaker = %self.label,
            %from,
            to = %to.state(),
            %reason,
            "circuit breaker transition"
        );
        if inner.history.len() == HISTORY_LIMIT {
            inner.history.pop_front();
        }
        inner.history.push_back(Transition {
            from,
            to: to.state(),
            at,
            reason,
        });
    }

    fn open(&self, inner: &mut Inner, now: Instant, reason: String) {
        let until = now.checked_add(self.settings.recovery_timeout);
        self.transition(inner, Phase::Open { until }, now, reason);
    }

    fn settle(&self, generation: u64, trial: bool, verdict: Verdict<'_>) {
        let now = self.clock.now();
        let mut inner = self.lock();
        if let Verdict::Failure(reason) = verdict {
            inner.last_failure = Some(reason.to_owned());
        }
        if inner.generation != generation {
            // The breaker changed state since this call started; its outcome
            // says nothing about the current state.
            return;
        }
        match (inner.phase, verdict) {
            (Phase::Closed { .. }, Verdict::Success) => {
                inner.phase = Phase::Closed {
                    consecutive_failures: 0,
                };
            }
            (
                Phase::Closed {
                    consecutive_failures,
                },
                Verdict::Failure(reason),
            ) => {
                let failures = consecutive_failures + 1;
                if failures >= self.settings.failure_threshold {
                    let reason = format!("{failures} consecutive failure(s); last: {reason}");
                    self.open(&mut inner, now, reason);
                } else {
                    inner.phase = Phase::Closed {
                        consecutive_failures: failures,
                    };
                }
            }
            (Phase::Closed { .. }, Verdict::Neutral) => {}
            (
                Phase::HalfOpen {
                    in_flight,
                    successes,
                },
                verdict,
            ) if trial => {
                let in_flight = in_flight.saturating_sub(1);
                match verdict {
                    Verdict::Success => {
                        let successes = successes + 1;
                        if successes >= self.settings.success_threshold {
                            let reason = format!("{successes} trial call(s) succeeded");
                            self.transition(
                                &mut inner,
                                Phase::Closed {
                                    consecutive_failures: 0,
                                },
                                now,
                                reason,
                            );
                        } else {
                            inner.phase = Phase::HalfOpen {
                                in_flight,
                                successes,
                            };
                        }
                    }
                    Verdict::Failure(reason) => {
                        let reason = format!("trial call failed: {reason}");
                        self.open(&mut inner, now, reason);
                    }
                    Verdict::Neutral => {
                        inner.phase = Phase::HalfOpen {
                            in_flight,
                            successes,
                        };
                    }
                }
            }
            // Open, or a non-trial permit in HalfOpen (cannot happen with a
            // matching generation): nothing to count.
            _ => {}
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Verdict<'a> {
    Success,
    Failure(&'a str),
    Neutral,
}

/// Leave to make one call, to be given a verdict when the call ends.
///
/// Dropping a permit without a verdict: a HalfOpen trial counts as a
/// **failure** ("abandoned"), because a trial whose outcome is unknown must
/// neither close the breaker nor hold its slot forever; re-opening is the
/// conservative choice. A permit from Closed dropped without a verdict counts
/// as nothing (the caller went away; that says nothing about the provider).
#[must_use = "give the permit a verdict: success(), failure() or ignore()"]
pub struct Permit {
    shared: Arc<Shared>,
    generation: u64,
    trial: bool,
    settled: bool,
}

impl std::fmt::Debug for Permit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permit")
            .field("generation", &self.generation)
            .field("trial", &self.trial)
            .finish()
    }
}

impl Permit {
    /// Whether this permit is a HalfOpen trial call.
    pub fn is_trial(&self) -> bool {
        self.trial
    }

    /// The call succeeded.
    pub fn success(mut self) {
        self.settle(Verdict::Success);
    }

    /// The call failed for `reason` (recorded in the transition if it trips).
    pub fn failure(mut self, reason: &str) {
        self.settle(Verdict::Failure(reason));
    }

    /// The call ended in a way that says nothing about the provider's health
    /// (for example the request itself was invalid). Frees a trial slot.
    pub fn ignore(mut self) {
        self.settle(Verdict::Neutral);
    }

    fn settle(&mut self, verdict: Verdict<'_>) {
        if !self.settled {
            self.settled = true;
            self.shared.settle(self.generation, self.trial, verdict);
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.trial {
            self.settle(Verdict::Failure("trial call abandoned without a verdict"));
        } else {
            self.settle(Verdict::Neutral);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn settings() -> BreakerSettings {
        BreakerSettings {
            failure_threshold: 3,
            recovery_timeout: Duration::from_secs(10),
            half_open_max_calls: 2,
            success_threshold: 2,
        }
    }

    fn breaker() -> (CircuitBreaker, ManualClock) {
        let clock = ManualClock::new();
        (
            CircuitBreaker::new(settings(), Arc::new(clock.clone())),
            clock,
        )
    }

    fn fail(breaker: &CircuitBreaker, times: u32) {
        for _ in 0..times {
            match breaker.try_acquire() {
                Ok(permit) => permit.failure("503"),
                Err(rejected) => panic!("unexpected rejection: {rejected}"),
            }
        }
    }

    /// Opens the breaker and moves the clock past the recovery timeout.
    fn half_open(breaker: &CircuitBreaker, clock: &ManualClock) {
        fail(breaker, 3);
        clock.advance(Duration::from_secs(10));
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
    }

    #[test]
    fn opens_at_the_failure_threshold_and_not_before() {
        let (breaker, _clock) = breaker();
        fail(&breaker, 2);
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert_eq!(breaker.snapshot().consecutive_failures, 2);
        fail(&breaker, 1);
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(matches!(breaker.try_acquire(), Err(Rejected::Open { .. })));
    }

    #[test]
    fn a_success_resets_the_consecutive_failure_count() {
        let (breaker, _clock) = breaker();
        fail(&breaker, 2);
        breaker.try_acquire().expect("closed").success();
        fail(&breaker, 2);
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[test]
    fn open_rejects_until_the_recovery_timeout_passes() {
        let (breaker, clock) = breaker();
        fail(&breaker, 3);
        clock.advance(Duration::from_secs(9));
        match breaker.try_acquire() {
            Err(Rejected::Open { retry_in }) => assert_eq!(retry_in, Duration::from_secs(1)),
            other => panic!("expected an Open rejection, got {other:?}"),
        }
        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.seconds_until_half_open, Some(1.0));
        clock.advance(Duration::from_secs(1));
        let permit = breaker
            .try_acquire()
            .expect("a trial call after the timeout");
        assert!(permit.is_trial());
        permit.success();
    }

    #[test]
    fn half_open_admits_at_most_the_configured_concurrent_trials() {
        let (breaker, clock) = breaker();
        half_open(&breaker, &clock);
        let first = breaker.try_acquire().expect("first trial");
        let second = breaker.try_acquire().expect("second trial");
        assert_eq!(
            breaker.try_acquire().map(|_| ()),
            Err(Rejected::HalfOpenBusy { in_flight: 2 })
        );
        assert_eq!(breaker.snapshot().trial_calls_in_flight, 2);
        // A finished trial frees its slot.
        first.success();
        let third = breaker.try_acquire().expect("a slot was freed");
        assert!(breaker.try_acquire().is_err());
        second.ignore();
        third.ignore();
    }

    #[test]
    fn a_single_failure_in_half_open_reopens_at_once() {
        let (breaker, clock) = breaker();
        half_open(&breaker, &clock);
        breaker.try_acquire().expect("trial").success();
        breaker.try_acquire().expect("trial").failure("timeout");
        assert_eq!(breaker.state(), BreakerState::Open);
        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.opened_count, 2);
        assert_eq!(snapshot.seconds_until_half_open, Some(10.0));
        let last = snapshot.recent_transitions.last().expect("a transition");
        assert_eq!(
            (last.from, last.to),
            (BreakerState::HalfOpen, BreakerState::Open)
        );
        assert!(last.reason.contains("timeout"), "{}", last.reason);
    }

    #[test]
    fn success_threshold_trials_close_the_breaker() {
        let (breaker, clock) = breaker();
        half_open(&breaker, &clock);
        breaker.try_acquire().expect("trial").success();
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        breaker.try_acquire().expect("trial").success();
        assert_eq!(breaker.state(), BreakerState::Closed);
        // Closed again means the full threshold applies again.
        fail(&breaker, 2);
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[test]
    fn transitions_are_recorded_with_reasons_and_times() {
        let (breaker, clock) = breaker();
        let start = clock.now();
        half_open(&breaker, &clock);
        breaker.try_acquire().expect("trial").success();
        breaker.try_acquire().expect("trial").success();
        let transitions = breaker.transitions();
        let path: Vec<_> = transitions.iter().map(|t| (t.from, t.to)).collect();
        assert_eq!(
            path,
            vec![
                (BreakerState::Closed, BreakerState::Open),
                (BreakerState::Open, BreakerState::HalfOpen),
                (BreakerState::HalfOpen, BreakerState::Closed),
            ]
        );
        assert!(transitions[0].reason.contains("3 consecutive failure(s)"));
        assert!(transitions[0].reason.contains("503"));
        assert!(transitions[1].reason.contains("recovery timeout"));
        assert!(transitions[2].reason.contains("2 trial call(s) succeeded"));
        assert_eq!(transitions[0].at, start);
        assert_eq!(transitions[1].at, start + Duration::from_secs(10));
        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.transitions, 3);
        assert_eq!(
            snapshot.counts,
            TransitionCounts {
                opened: 1,
                half_opened: 1,
                closed: 1
            }
        );
        assert_eq!(snapshot.recent_transitions[0].seconds_ago, 10.0);
    }

    #[test]
    fn history_is_bounded() {
        let (breaker, clock) = breaker();
        for _ in 0..60 {
            half_open(&breaker, &clock);
            breaker.try_acquire().expect("trial").success();
            breaker.try_acquire().expect("trial").success();
        }
        assert_eq!(breaker.transitions().len(), HISTORY_LIMIT);
        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.transitions, 180);
        assert_eq!(snapshot.recent_transitions.len(), SNAPSHOT_TRANSITIONS);
    }

    #[test]
    fn a_dropped_trial_permit_counts_as_a_failure() {
        let (breaker, clock) = breaker();
        half_open(&breaker, &clock);
        drop(breaker.try_acquire().expect("trial"));
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(
            breaker
                .snapshot()
                .last_failure
                .is_some_and(|reason| reason.contains("abandoned"))
        );
    }

    #[test]
    fn a_dropped_closed_permit_counts_as_nothing() {
        let (breaker, _clock) = breaker();
        fail(&breaker, 2);
        drop(breaker.try_acquire().expect("closed"));
        assert_eq!(breaker.snapshot().consecutive_failures, 2);
    }

    #[test]
    fn verdicts_from_before_a_transition_are_ignored() {
        let (breaker, clock) = breaker();
        let slow_call = breaker.try_acquire().expect("closed");
        fail(&breaker, 3);
        clock.advance(Duration::from_secs(10));
        // The slow call from the Closed era ends while HalfOpen: it must not
        // count as a trial success.
        slow_call.success();
        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.state, BreakerState::HalfOpen);
        assert_eq!(snapshot.trial_successes, 0);
    }

    #[test]
    fn snapshot_serializes_state_names_in_snake_case() {
        let (breaker, clock) = breaker();
        half_open(&breaker, &clock);
        let json = serde_json::to_value(breaker.snapshot()).expect("serialize");
        assert_eq!(json["state"], "half_open");
        assert_eq!(json["opened_count"], 1);
        assert_eq!(json["recent_transitions"][0]["to"], "open");
    }

    #[test]
    fn concurrent_trials_never_exceed_the_limit() {
        let (breaker, clock) = breaker();
        half_open(&breaker, &clock);
        let admitted = std::sync::atomic::AtomicU32::new(0);
        let permits = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    if let Ok(permit) = breaker.try_acquire() {
                        admitted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        permits
                            .lock()
                            .unwrap_or_else(|poisoned| poisoned.into_inner())
                            .push(permit);
                    }
                });
            }
        });
        assert_eq!(admitted.into_inner(), 2);
        for permit in permits.into_inner().unwrap_or_default() {
            permit.ignore();
        }
    }
}
