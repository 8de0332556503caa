//! The open-model generator: walks the seeded [`Schedule`], sends each
//! arrival at its intended time whatever the target is doing (never waiting
//! for answers), drops arrivals over `max_in_flight` as counted dropped
//! load, and hands every finished request to the recorder with its latency
//! from the intended start — so a stalled target shows its full cost
//! (no coordinated omission).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::histogram;
use super::live::{LiveHandle, Shared};
use super::outcome::{Completion, OutcomeClass};
use super::phases::{PhaseMask, PhaseSet};
use super::recorder::{Recorder, second_of};
use super::request::Sender;
use super::schedule::{Arrival, Operation, Schedule};
use super::spec::{Endpoints, TrafficSpec};
use super::written::Written;
use super::{TrafficError, is_late};
use crate::results::{PhaseWindow, TrafficRecord};

/// Arrivals sent back to back (the generator is behind) between two looks
/// at the stop signal and two yields to the runtime.
const BATCH: u32 = 64;
/// Extra time allowed after the request timeout for in-flight requests to
/// report before the record is closed without them.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// A configured generator, ready to run once.
#[derive(Debug)]
pub struct Generator {
    spec: TrafficSpec,
    phases: PhaseSet,
    sender: Arc<Sender>,
    shared: Arc<Shared>,
    /// Optional bound on connections (requests on the wire), see
    /// [`Generator::with_max_connections`].
    connections: Option<Arc<Semaphore>>,
    /// Which conversations have had a turn sent or answered.
    written: Arc<Written>,
}

impl Generator {
    /// Validates `spec`, `endpoints` and `phases` and builds the HTTP client.
    pub fn new(
        spec: TrafficSpec,
        endpoints: Endpoints,
        phases: Vec<PhaseWindow>,
    ) -> Result<Self, TrafficError> {
        spec.validate()?;
        let phases = PhaseSet::new(phases, spec.warmup)?;
        let template = histogram::new_histogram()
            .map_err(|error| TrafficError::Histogram(format!("{error:?}")))?;
        let recorder = Recorder::new(spec.rate, phases.clone(), template);
        let sender = Sender::new(&spec, endpoints)?;
        let written = Arc::new(Written::new(spec.conversations));
        Ok(Self {
            written,
            spec,
            phases,
            sender: Arc::new(sender),
            shared: Arc::new(Shared::new(recorder)),
            connections: None,
        })
    }

    /// Bounds the requests on the wire (and so the connections, one per
    /// request in HTTP/1) to `max`; arrivals beyond it are still dispatched
    /// on time and wait client-side for a connection, and that wait counts
    /// in their latency (measured from the intended start) and inside their
    /// timeout. Without it (the default) every request in flight gets its
    /// own connection, like a crowd of independent users. Use it when the
    /// target's accept queue, not its service, would otherwise dominate a
    /// stall (a frozen server with thousands of new connections waiting),
    /// or to compare with a fixed-connection tool such as wrk. `max` of 0
    /// is treated as 1.
    pub fn with_max_connections(mut self, max: usize) -> Self {
        self.connections = Some(Arc::new(Semaphore::new(max.max(1))));
        self
    }

    /// The spec it runs.
    pub fn spec(&self) -> &TrafficSpec {
        &self.spec
    }

    /// A live view for progress and halt rules; usable while `run` runs.
    pub fn live(&self) -> LiveHandle {
        LiveHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Sends traffic from `start` for `spec.total()` (warm-up + duration +
    /// recovery) or until `stop` resolves, then waits for the requests in
    /// flight (each bounded by the request timeout) and returns the record.
    pub async fn run(self, start: Instant, stop: impl Future<Output = ()>) -> TrafficRecord {
        let _ = self.shared.start.set(start);
        let total = self.spec.total();
        let mut stop = std::pin::pin!(stop);
        let mut end = total;
        let mut back_to_back = 0u32;
        let mut drops = Drops::default();
        for arrival in Schedule::new(&self.spec) {
            if arrival.offset >= total {
                break;
            }
            let intended = start + arrival.offset;
            if Instant::now() < intended {
                // Everything before this arrival is out: seconds can close.
                {
                    let mut recorder = self.shared.recorder();
                    drops.flush(&mut recorder);
                    recorder.advance(arrival.offset);
                }
                back_to_back = 0;
                tokio::select! {
                    biased;
                    () = &mut stop => {
                        end = stopped_at(start, total);
                        break;
                    }
                    () = tokio::time::sleep_until(intended) => {}
                }
            } else {
                back_to_back += 1;
                if back_to_back >= BATCH {
                    back_to_back = 0;
                    drops.flush(&mut self.shared.recorder());
                    if stop.as_mut().now_or_never().is_some() {
                        end = stopped_at(start, total);
                        break;
                    }
                    tokio::task::yield_now().await;
                }
            }
            self.dispatch(arrival, start, &mut drops);
        }
        drops.flush(&mut self.shared.recorder());
        self.drain().await;
        self.shared.recorder().finish(end)
    }

    /// Sends one arrival on its own task, or counts it as dropped (in
    /// `drops`, which the caller flushes to the recorder).
    fn dispatch(&self, arrival: Arrival, start: Instant, drops: &mut Drops) {
        let shared = &self.shared;
        let now = Instant::now();
        let now_offset = now.saturating_duration_since(start);
        let mask = self.phases.mask(arrival.offset);
        let history = arrival.operation == Operation::History;
        // A history read whose conversation's turns were all dropped is not
        // sent either: gameday reads only conversations it has written to.
        let unwritten = history && !self.written.has_sent_turn(arrival.conversation);
        // Only this task increments, so the bound cannot be overshot.
        if unwritten || shared.in_flight.load(Ordering::Acquire) >= self.spec.max_in_flight {
            shared.dropped.fetch_add(1, Ordering::Relaxed);
            if !drops.add(arrival.offset, mask, now_offset) {
                let mut recorder = shared.recorder();
                drops.flush(&mut recorder);
                drops.add(arrival.offset, mask, now_offset);
            }
            return;
        }
        shared.in_flight.fetch_add(1, Ordering::AcqRel);
        shared.sent.fetch_add(1, Ordering::Relaxed);
        if arrival.operation.is_turn() {
            self.written.turn_sent(arrival.conversation);
        }
        // A 404 is an error only for a conversation the platform confirmed
        // writing before the read was sent.
        let confirmed = history && self.written.has_answered_turn(arrival.conversation);
        if is_late(arrival.offset, now_offset) {
            shared.late.fetch_add(1, Ordering::Relaxed);
        }
        {
            // Drops still batched come first: the recorder closes a phase
            // once every arrival before its end is accounted for.
            let mut recorder = shared.recorder();
            drops.flush(&mut recorder);
            recorder.sent(arrival.offset, mask, now_offset);
        }
        let intended = start + arrival.offset;
        let sender = Arc::clone(&self.sender);
        let shared = Arc::clone(shared);
        let connections = self.connections.clone();
        let written = Arc::clone(&self.written);
        tokio::spawn(async move {
            let mut completion = sender
                .execute(&arrival, intended, connections.as_deref())
                .await;
            if arrival.operation.is_turn() && !completion.class.is_error() {
                written.turn_answered(arrival.conversation);
            }
            if history && !confirmed && completion.is_not_found() {
                // The contract's answer for a conversation the platform
                // does not know (yet): its turns failed or are in flight.
                completion = Completion::bare(OutcomeClass::Ok);
            }
            let finished = Instant::now();
            let latency = finished.saturating_duration_since(intended);
            shared.completed.fetch_add(1, Ordering::Relaxed);
            if completion.class.is_error() {
                shared.errors.fetch_add(1, Ordering::Relaxed);
            }
            shared.recorder().completed(
                arrival.offset,
                mask,
                arrival.operation,
                latency,
                &completion,
                finished.saturating_duration_since(start),
            );
            shared.in_flight.fetch_sub(1, Ordering::AcqRel);
        });
    }

    /// Waits until nothing is in flight, at most the request timeout (plus
    /// a grace period for the last answers to be recorded).
    async fn drain(&self) {
        let deadline = Instant::now() + self.spec.timeout + DRAIN_GRACE;
        while self.shared.in_flight.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Dropped arrivals not yet given to the recorder: an overloaded generator
/// drops most arrivals, and taking the recorder's lock for each would cost
/// more than the requests it still sends. They share one second and one
/// set of phases, so one call records them all.
#[derive(Debug, Default)]
struct Drops {
    /// Intended start of the last one, and when it was dropped.
    intended: Duration,
    now: Duration,
    mask: PhaseMask,
    count: u64,
}

impl Drops {
    /// Counts one more; false (and nothing counted) when it belongs to
    /// another second or other phases than those held: flush first.
    fn add(&mut self, intended: Duration, mask: PhaseMask, now: Duration) -> bool {
        if self.count > 0 && (second_of(intended) != second_of(self.intended) || mask != self.mask)
        {
            return false;
        }
        *self = Self {
            intended,
            now,
            mask,
            count: self.count + 1,
        };
        true
    }

    fn flush(&mut self, recorder: &mut Recorder) {
        if self.count > 0 {
            recorder.dropped_many(self.intended, self.mask, self.now, self.count);
            self.count = 0;
        }
    }
}

/// The run's end offset when stopped now.
fn stopped_at(start: Instant, total: Duration) -> Duration {
    Instant::now().saturating_duration_since(start).min(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::test_spec;

    fn assert_send<T: Send>(_: &T) {}
    fn assert_send_sync_clone<T: Send + Sync + Clone>() {}

    #[test]
    fn a_run_can_be_spawned_and_watched_from_other_tasks() {
        let generator = Generator::new(
            test_spec(),
            Endpoints::platform("http://127.0.0.1:9"),
            Vec::new(),
        )
        .expect("a valid generator");
        assert_send_sync_clone::<LiveHandle>();
        let run = generator.run(Instant::now(), async {});
        assert_send(&run);
    }

    #[test]
    fn batched_drops_are_recorded_in_their_own_second_and_phases() {
        let windows = vec![
            PhaseWindow {
                name: "run".to_owned(),
                kind: crate::results::PhaseKind::Run,
                start_s: 0.0,
                end_s: 3.0,
                maintenance: false,
            },
            PhaseWindow {
                name: "fault".to_owned(),
                kind: crate::results::PhaseKind::Fault,
                start_s: 1.5,
                end_s: 3.0,
                maintenance: false,
            },
        ];
        let phases = PhaseSet::new(windows, Duration::ZERO).expect("valid phases");
        let template = histogram::new_histogram().expect("a histogram");
        let mut recorder = Recorder::new(10.0, phases.clone(), template);
        let mut drops = Drops::default();
        // Three in second 0, two in second 1 before the fault, one in it.
        for at_ms in [100, 200, 900, 1_000, 1_400, 1_600] {
            let at = Duration::from_millis(at_ms);
            if !drops.add(at, phases.mask(at), at) {
                drops.flush(&mut recorder);
                assert!(
                    drops.add(at, phases.mask(at), at),
                    "an empty batch takes any"
                );
            }
        }
        drops.flush(&mut recorder);
        drops.flush(&mut recorder);
        let record = recorder.finish(Duration::from_secs(3));
        let per_second: Vec<u64> = record.seconds.iter().map(|s| s.dropped).collect();
        assert_eq!(per_second, [3, 3, 0]);
        let per_phase: Vec<u64> = record.phases.iter().map(|p| p.dropped).collect();
        assert_eq!(per_phase, [6, 1]);
    }

    #[test]
    fn a_bad_spec_or_phase_is_refused_before_anything_runs() {
        let mut spec = test_spec();
        spec.rate = -1.0;
        let endpoints = Endpoints::platform("http://127.0.0.1:9");
        let error = Generator::new(spec, endpoints.clone(), Vec::new()).expect_err("bad rate");
        assert!(matches!(error, TrafficError::InvalidSpec(_)));
        let backwards = vec![PhaseWindow {
            name: "x".to_owned(),
            kind: crate::results::PhaseKind::Fault,
            start_s: 2.0,
            end_s: 1.0,
            maintenance: false,
        }];
        let error = Generator::new(test_spec(), endpoints, backwards).expect_err("bad phase");
        assert!(matches!(error, TrafficError::InvalidPhases(_)));
    }
}
