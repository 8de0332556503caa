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
use super::phases::PhaseSet;
use super::recorder::Recorder;
use super::request::Sender;
use super::schedule::{Arrival, Schedule};
use super::spec::{Endpoints, TrafficSpec};
use super::{LATE_AFTER, TrafficError};
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
        Ok(Self {
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
        for arrival in Schedule::new(&self.spec) {
            if arrival.offset >= total {
                break;
            }
            let intended = start + arrival.offset;
            if Instant::now() < intended {
                // Everything before this arrival is out: seconds can close.
                self.shared.recorder().advance(arrival.offset);
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
                    if stop.as_mut().now_or_never().is_some() {
                        end = stopped_at(start, total);
                        break;
                    }
                    tokio::task::yield_now().await;
                }
            }
            self.dispatch(arrival, start);
        }
        self.drain().await;
        self.shared.recorder().finish(end)
    }

    /// Sends one arrival on its own task, or counts it as dropped.
    fn dispatch(&self, arrival: Arrival, start: Instant) {
        let shared = &self.shared;
        let now = Instant::now();
        let now_offset = now.saturating_duration_since(start);
        let mask = self.phases.mask(arrival.offset);
        // Only this task increments, so the bound cannot be overshot.
        if shared.in_flight.load(Ordering::Acquire) >= self.spec.max_in_flight {
            shared.dropped.fetch_add(1, Ordering::Relaxed);
            shared.recorder().dropped(arrival.offset, mask, now_offset);
            return;
        }
        shared.in_flight.fetch_add(1, Ordering::AcqRel);
        shared.sent.fetch_add(1, Ordering::Relaxed);
        if now_offset > arrival.offset + LATE_AFTER {
            shared.late.fetch_add(1, Ordering::Relaxed);
        }
        shared.recorder().sent(arrival.offset, mask, now_offset);
        let intended = start + arrival.offset;
        let sender = Arc::clone(&self.sender);
        let shared = Arc::clone(shared);
        let connections = self.connections.clone();
        tokio::spawn(async move {
            let completion = sender
                .execute(&arrival, intended, connections.as_deref())
                .await;
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
