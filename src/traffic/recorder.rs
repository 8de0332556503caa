//! The recorder: turns sends, drops and completions into the results'
//! [`TrafficRecord`] with bounded memory. Per phase and operation it keeps
//! HdrHistograms; per second of intended start it keeps an open bucket
//! (counters and a histogram) that is summarised into a [`SecondBucket`]
//! (stored compactly, see [`super::seconds`]) and dropped once the second
//! is over and its last request has finished.
//! Never a per-request record. Pure: every call carries its own time offsets
//! (from the run start), so tests feed synthetic timings.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use super::failures::FailureTally;
use super::histogram::{self, LatencyHistogram};
use super::live::LiveWindow;
use super::outcome::Completion;
use super::phases::{PhaseMask, PhaseSet};
use super::schedule::Operation;
use super::seconds::ClosedSeconds;
use crate::results::{
    FailureSummary, OperationStats, OutcomeCounts, PhaseStats, SecondBucket, Tokens, TrafficRecord,
};

/// Statistics of one operation in one phase.
#[derive(Debug)]
struct OperationAccumulator {
    outcomes: OutcomeCounts,
    latency: LatencyHistogram,
}

/// Statistics of one phase.
#[derive(Debug)]
struct PhaseAccumulator {
    sent: u64,
    dropped: u64,
    late: u64,
    outcomes: OutcomeCounts,
    operations: [OperationAccumulator; 3],
    ttft: LatencyHistogram,
    providers: BTreeMap<String, u64>,
    tokens: BTreeMap<String, Tokens>,
    degraded: BTreeMap<String, u64>,
    failures: FailureTally,
}

/// A phase being recorded, or its final statistics once it is over and
/// its last request has finished: its histograms are then dropped, so a
/// long run's memory follows the phases still open, not how many it has
/// had (a soak with a fault every two minutes has hundreds).
#[derive(Debug)]
enum PhaseSlot {
    Open(Box<PhaseAccumulator>),
    Done(Box<PhaseStats>),
}

/// A second whose requests may still be running.
#[derive(Debug)]
struct OpenSecond {
    t: u32,
    sent: u64,
    dropped: u64,
    /// Sent and not finished yet: the second cannot close before zero.
    pending: u64,
    outcomes: OutcomeCounts,
    latency: LatencyHistogram,
    providers: BTreeMap<String, u64>,
}

/// The recorder of one run.
#[derive(Debug)]
pub struct Recorder {
    target_rate: f64,
    template: LatencyHistogram,
    phases: PhaseSet,
    phase_stats: Vec<PhaseSlot>,
    /// Open seconds, consecutive, oldest first.
    open: VecDeque<OpenSecond>,
    /// Closed seconds, in order, stored compactly.
    closed: ClosedSeconds,
    /// Every arrival intended before this offset has been sent or dropped.
    frontier: Duration,
    /// Histograms of closed seconds, reset, for reuse.
    spare: Vec<LatencyHistogram>,
    /// The live (wall-clock) window for progress and halt decisions.
    live: LiveWindow,
}

/// Increments `map[key]`, allocating the key only the first time.
fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(count) => *count += 1,
        None => {
            map.insert(key.to_owned(), 1);
        }
    }
}

impl Recorder {
    /// A recorder for `phases`; `template` is an empty histogram whose
    /// configuration every other histogram copies.
    pub fn new(target_rate: f64, phases: PhaseSet, template: LatencyHistogram) -> Self {
        let phase_stats = phases
            .windows()
            .iter()
            .map(|_| {
                PhaseSlot::Open(Box::new(PhaseAccumulator {
                    sent: 0,
                    dropped: 0,
                    late: 0,
                    outcomes: OutcomeCounts::default(),
                    operations: std::array::from_fn(|_| OperationAccumulator {
                        outcomes: OutcomeCounts::default(),
                        latency: histogram::empty_like(&template),
                    }),
                    ttft: histogram::empty_like(&template),
                    providers: BTreeMap::new(),
                    tokens: BTreeMap::new(),
                    degraded: BTreeMap::new(),
                    failures: FailureTally::default(),
                }))
            })
            .collect();
        let live = LiveWindow::new(&template);
        Self {
            target_rate,
            template,
            phases,
            phase_stats,
            open: VecDeque::new(),
            closed: ClosedSeconds::default(),
            frontier: Duration::ZERO,
            spare: Vec::new(),
            live,
        }
    }

    /// The phases a request intended at `offset` belongs to.
    pub fn phase_mask(&self, offset: Duration) -> PhaseMask {
        self.phases.mask(offset)
    }

    /// The open bucket of second `t`, creating it (and any empty seconds
    /// before it); `None` if that second already closed.
    fn second(&mut self, t: u32) -> Option<&mut OpenSecond> {
        let first = match self.open.front() {
            Some(front) => front.t,
            None => self.closed.next_t(),
        };
        if t < first {
            return None;
        }
        while self.open.len() <= (t - first) as usize {
            let next = first + self.open.len() as u32;
            let latency = self
                .spare
                .pop()
                .unwrap_or_else(|| histogram::empty_like(&self.template));
            self.open.push_back(OpenSecond {
                t: next,
                sent: 0,
                dropped: 0,
                pending: 0,
                outcomes: OutcomeCounts::default(),
                latency,
                providers: BTreeMap::new(),
            });
        }
        self.open.get_mut((t - first) as usize)
    }

    /// A request intended at `intended` was sent at `now` (late when more
    /// than [`super::LATE_AFTER`] after it).
    pub fn sent(&mut self, intended: Duration, mask: PhaseMask, now: Duration) {
        self.advance(intended);
        if let Some(second) = self.second(second_of(intended)) {
            second.sent += 1;
            second.pending += 1;
        }
        let late = u64::from(super::is_late(intended, now));
        for index in mask.indices() {
            if let Some(PhaseSlot::Open(phase)) = self.phase_stats.get_mut(index) {
                phase.sent += 1;
                phase.late += late;
            }
        }
        self.live.sent(now);
    }

    /// A request intended at `intended` was not sent: too many in flight.
    pub fn dropped(&mut self, intended: Duration, mask: PhaseMask, now: Duration) {
        self.dropped_many(intended, mask, now, 1);
    }

    /// `count` requests intended in the second of `intended` (the last of
    /// them at `intended`), all in the phases of `mask`, were not sent: too
    /// many in flight.
    pub fn dropped_many(&mut self, intended: Duration, mask: PhaseMask, now: Duration, count: u64) {
        self.advance(intended);
        if let Some(second) = self.second(second_of(intended)) {
            second.dropped += count;
        }
        for index in mask.indices() {
            if let Some(PhaseSlot::Open(phase)) = self.phase_stats.get_mut(index) {
                phase.dropped += count;
            }
        }
        self.live.dropped(now, count);
        self.close_finished_seconds();
    }

    /// A sent request finished at `now`, `latency` after its intended start.
    pub fn completed(
        &mut self,
        intended: Duration,
        mask: PhaseMask,
        operation: Operation,
        latency: Duration,
        completion: &Completion,
        now: Duration,
    ) {
        let class = completion.class;
        let report = &completion.report;
        let answered_turn = operation.is_turn() && !class.is_error();
        if let Some(second) = self.second(second_of(intended)) {
            second.pending = second.pending.saturating_sub(1);
            class.count_into(&mut second.outcomes);
            histogram::record(&mut second.latency, latency);
            if let (true, Some(provider)) = (answered_turn, &report.provider) {
                bump(&mut second.providers, provider);
            }
        }
        for index in mask.indices() {
            let Some(PhaseSlot::Open(phase)) = self.phase_stats.get_mut(index) else {
                continue;
            };
            class.count_into(&mut phase.outcomes);
            let per_operation = &mut phase.operations[operation.index()];
            class.count_into(&mut per_operation.outcomes);
            histogram::record(&mut per_operation.latency, latency);
            if let Some(ttft) = report.ttft {
                histogram::record(&mut phase.ttft, ttft);
            }
            for capability in &report.degraded {
                bump(&mut phase.degraded, capability);
            }
            phase.failures.add(operation, completion, now);
            if let Some(provider) = &report.provider {
                if answered_turn {
                    bump(&mut phase.providers, provider);
                }
                if let Some(tokens) = report.tokens {
                    let total = match phase.tokens.get_mut(provider.as_str()) {
                        Some(total) => total,
                        None => phase.tokens.entry(provider.clone()).or_default(),
                    };
                    total.input += tokens.input;
                    total.output += tokens.output;
                }
            }
        }
        self.live.completed(now, class.is_error(), latency);
        self.close_finished_seconds();
        self.freeze_finished_phases(mask);
    }

    /// Replaces the phases of `candidates` that are over (every arrival
    /// before their end has been sent or dropped) and have nothing in
    /// flight by their final statistics.
    fn freeze_finished_phases(&mut self, candidates: PhaseMask) {
        let frontier = self.frontier.as_secs_f64();
        for index in candidates.indices() {
            let (Some(window), Some(slot)) = (
                self.phases.windows().get(index),
                self.phase_stats.get_mut(index),
            ) else {
                continue;
            };
            let PhaseSlot::Open(phase) = slot else {
                continue;
            };
            if frontier >= window.end_s && phase.sent == phase.outcomes.total() {
                *slot = PhaseSlot::Done(Box::new(phase_stats(&window.name, phase, &self.template)));
            }
        }
    }

    /// Every arrival intended before `frontier` has been sent or dropped.
    pub fn advance(&mut self, frontier: Duration) {
        if frontier > self.frontier {
            let new_second = second_of(frontier) != second_of(self.frontier);
            self.frontier = frontier;
            // Make sure seconds without arrivals exist, so they close too.
            let _ = self.second(second_of(frontier));
            self.close_finished_seconds();
            if new_second {
                self.freeze_finished_phases(PhaseMask::all(self.phase_stats.len()));
            }
        }
    }

    fn close_finished_seconds(&mut self) {
        while let Some(front) = self.open.front() {
            let over = self.frontier >= Duration::from_secs(u64::from(front.t) + 1);
            if !(over && front.pending == 0) {
                break;
            }
            self.close_front();
        }
    }

    fn close_front(&mut self) {
        if let Some(second) = self.open.pop_front() {
            self.closed.push(&SecondBucket {
                t: second.t,
                sent: second.sent,
                dropped: second.dropped,
                outcomes: second.outcomes,
                latency: histogram::summarise(&second.latency),
                providers: second.providers,
            });
            let mut latency = second.latency;
            latency.reset();
            self.spare.push(latency);
        }
    }

    /// The distinct failures so far of the first phase named `name` (most
    /// frequent first), and how many failed requests are not listed.
    pub fn failures_so_far(&self, name: &str) -> (Vec<FailureSummary>, u64) {
        let index = self.phases.windows().iter().position(|w| w.name == name);
        match index.and_then(|index| self.phase_stats.get(index)) {
            Some(PhaseSlot::Open(phase)) => phase.failures.summary(),
            Some(PhaseSlot::Done(stats)) => (stats.failures.clone(), stats.other_failures),
            None => (Vec::new(), 0),
        }
    }

    /// The closed seconds from second `from` on.
    pub fn seconds_since(&self, from: u32) -> Vec<SecondBucket> {
        self.closed.since(from)
    }

    /// The live window's figures at `now`.
    pub fn live(&mut self, now: Duration) -> super::live::LiveFigures {
        self.live.figures(now)
    }

    /// Closes every second up to `end` (requests still pending are left
    /// out of their second) and returns the record.
    pub fn finish(&mut self, end: Duration) -> TrafficRecord {
        if end > Duration::ZERO {
            let last = end.as_secs_f64().ceil() as u64;
            let last = u32::try_from(last.saturating_sub(1)).unwrap_or(u32::MAX);
            let _ = self.second(last);
        }
        while !self.open.is_empty() {
            self.close_front();
        }
        let phases = self
            .phases
            .windows()
            .iter()
            .zip(&self.phase_stats)
            .map(|(window, slot)| match slot {
                PhaseSlot::Open(stats) => phase_stats(&window.name, stats, &self.template),
                PhaseSlot::Done(stats) => (**stats).clone(),
            })
            .collect();
        TrafficRecord {
            target_rate: self.target_rate,
            seconds: self.closed.since(0),
            phases,
        }
    }
}

pub(crate) fn second_of(offset: Duration) -> u32 {
    u32::try_from(offset.as_secs()).unwrap_or(u32::MAX)
}

fn phase_stats(name: &str, stats: &PhaseAccumulator, template: &LatencyHistogram) -> PhaseStats {
    let mut all = histogram::empty_like(template);
    let mut operations = BTreeMap::new();
    for operation in Operation::ALL {
        let accumulator = &stats.operations[operation.index()];
        // Both histograms auto-resize, so adding cannot run out of range.
        let _ = all.add(&accumulator.latency);
        if accumulator.outcomes.total() > 0 {
            operations.insert(
                operation.name().to_owned(),
                OperationStats {
                    outcomes: accumulator.outcomes,
                    latency: histogram::summarise(&accumulator.latency),
                },
            );
        }
    }
    let (failures, other_failures) = stats.failures.summary();
    PhaseStats {
        name: name.to_owned(),
        sent: stats.sent,
        dropped: stats.dropped,
        late: stats.late,
        outcomes: stats.outcomes,
        latency: histogram::summarise(&all),
        ttft: (!stats.ttft.is_empty()).then(|| histogram::summarise(&stats.ttft)),
        operations,
        providers: stats.providers.clone(),
        tokens: stats.tokens.clone(),
        degraded: stats.degraded.clone(),
        failures,
        other_failures,
        histogram: (!all.is_empty()).then(|| histogram::encode(&all)).flatten(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{PhaseKind, PhaseWindow};
    use crate::traffic::outcome::{OutcomeClass, Report};

    fn ms(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    fn recorder(windows: Vec<(&str, PhaseKind, f64, f64)>, warmup: Duration) -> Recorder {
        let windows = windows
            .into_iter()
            .map(|(name, kind, start_s, end_s)| PhaseWindow {
                name: name.to_owned(),
                kind,
                start_s,
                end_s,
                maintenance: false,
            })
            .collect();
        let phases = PhaseSet::new(windows, warmup).expect("valid phases");
        Recorder::new(10.0, phases, histogram::new_histogram().expect("valid"))
    }

    fn ok_from(provider: &str) -> Completion {
        Completion {
            class: OutcomeClass::Ok,
            report: Report {
                provider: Some(provider.to_owned()),
                tokens: Some(Tokens {
                    input: 10,
                    output: 5,
                }),
                ..Report::default()
            },
            failure: None,
        }
    }

    /// Sends one request at `at_ms` that finishes `latency_ms` later.
    fn request(
        recorder: &mut Recorder,
        at_ms: u64,
        latency_ms: u64,
        operation: Operation,
        completion: &Completion,
    ) {
        let intended = ms(at_ms);
        let mask = recorder.phase_mask(intended);
        recorder.sent(intended, mask, intended);
        let now = intended + ms(latency_ms);
        recorder.completed(intended, mask, operation, ms(latency_ms), completion, now);
    }

    #[test]
    fn requests_sent_behind_schedule_count_as_late_in_their_phases() {
        let mut recorder = recorder(vec![("run", PhaseKind::Run, 0.0, 10.0)], Duration::ZERO);
        for (intended, sent) in [(100, 100), (200, 210), (300, 311), (400, 900)] {
            let mask = recorder.phase_mask(ms(intended));
            recorder.sent(ms(intended), mask, ms(sent));
            recorder.completed(
                ms(intended),
                mask,
                Operation::Chat,
                ms(sent - intended + 5),
                &ok_from("p"),
                ms(sent + 5),
            );
        }
        let record = recorder.finish(ms(10_000));
        let run = &record.phases[0];
        assert_eq!(
            (run.sent, run.late),
            (4, 2),
            "10 ms behind is not late, 11 ms is"
        );
    }

    #[test]
    fn a_second_closes_only_when_over_and_its_requests_finished() {
        let mut recorder = recorder(vec![], Duration::ZERO);
        let intended = ms(900);
        let mask = recorder.phase_mask(intended);
        recorder.sent(intended, mask, intended);
        recorder.advance(ms(1_500));
        assert!(
            recorder.seconds_since(0).is_empty(),
            "second 0 still has a request out"
        );
        recorder.completed(
            intended,
            mask,
            Operation::Chat,
            ms(2_000),
            &ok_from("p"),
            ms(2_900),
        );
        let seconds = recorder.seconds_since(0);
        assert_eq!(seconds.len(), 1);
        assert_eq!(seconds[0].t, 0);
        assert_eq!(seconds[0].sent, 1);
        assert_eq!(seconds[0].outcomes.ok, 1);
        assert!((seconds[0].latency.p99_ms - 2_000.0).abs() < 2.0);
        assert_eq!(seconds[0].providers.get("p"), Some(&1));
    }

    #[test]
    fn quiet_seconds_still_get_empty_buckets() {
        let mut recorder = recorder(vec![], Duration::ZERO);
        request(&mut recorder, 100, 5, Operation::Chat, &ok_from("p"));
        request(&mut recorder, 3_100, 5, Operation::Chat, &ok_from("p"));
        recorder.advance(ms(4_000));
        let seconds = recorder.seconds_since(0);
        let ts: Vec<u32> = seconds.iter().map(|s| s.t).collect();
        assert_eq!(ts, [0, 1, 2, 3]);
        assert_eq!(seconds[1].sent + seconds[2].sent, 0);
        assert_eq!(recorder.seconds_since(2).len(), 2);
    }

    #[test]
    fn seconds_close_in_order_behind_a_slow_request() {
        let mut recorder = recorder(vec![], Duration::ZERO);
        let slow = ms(200);
        let mask = recorder.phase_mask(slow);
        recorder.sent(slow, mask, slow);
        request(&mut recorder, 1_200, 5, Operation::Chat, &ok_from("p"));
        recorder.advance(ms(2_500));
        assert!(recorder.seconds_since(0).is_empty());
        recorder.completed(
            slow,
            mask,
            Operation::Chat,
            ms(5_000),
            &ok_from("p"),
            ms(5_200),
        );
        assert_eq!(recorder.seconds_since(0).len(), 2);
    }

    #[test]
    fn a_finished_phase_keeps_its_statistics_and_drops_its_histograms() {
        let windows = vec![
            ("a", PhaseKind::Fault, 0.0, 1.0),
            ("b", PhaseKind::Fault, 1.0, 2.0),
            ("run", PhaseKind::Run, 0.0, 2.0),
        ];
        let mut frozen = recorder(windows.clone(), Duration::ZERO);
        // A slow request intended in "a" is still running when "a" ends.
        let slow = ms(900);
        let slow_mask = frozen.phase_mask(slow);
        frozen.sent(slow, slow_mask, slow);
        request(&mut frozen, 100, 10, Operation::Chat, &ok_from("p"));
        request(&mut frozen, 1_100, 20, Operation::History, &ok_from("p"));
        frozen.advance(ms(1_500));
        let open = |r: &Recorder, i: usize| matches!(r.phase_stats[i], PhaseSlot::Open(_));
        assert!(open(&frozen, 0), "a request of phase a is in flight");
        frozen.completed(
            slow,
            slow_mask,
            Operation::Chat,
            ms(3_000),
            &ok_from("p"),
            ms(3_900),
        );
        assert!(
            !open(&frozen, 0),
            "phase a is over and has nothing in flight"
        );
        assert!(
            open(&frozen, 1) && open(&frozen, 2),
            "b and run are not over"
        );
        frozen.advance(ms(2_500));
        assert!(!open(&frozen, 1) && !open(&frozen, 2));

        // The same requests into a recorder that never freezes (no advance).
        let mut plain = recorder(windows, Duration::ZERO);
        plain.sent(slow, slow_mask, slow);
        request(&mut plain, 100, 10, Operation::Chat, &ok_from("p"));
        request(&mut plain, 1_100, 20, Operation::History, &ok_from("p"));
        plain.completed(
            slow,
            slow_mask,
            Operation::Chat,
            ms(3_000),
            &ok_from("p"),
            ms(3_900),
        );
        let (frozen, plain) = (frozen.finish(ms(2_500)), plain.finish(ms(2_500)));
        assert_eq!(frozen.phases, plain.phases);
        assert_eq!(frozen.phases[0].sent, 2);
        assert!((frozen.phases[0].latency.max_ms - 3_000.0).abs() < 5.0);
    }

    #[test]
    fn dropped_load_is_counted_per_second_and_phase() {
        let mut recorder = recorder(vec![("run", PhaseKind::Run, 0.0, 10.0)], Duration::ZERO);
        let intended = ms(400);
        let mask = recorder.phase_mask(intended);
        recorder.dropped(intended, mask, intended);
        let record = recorder.finish(ms(1_000));
        assert_eq!(record.seconds.len(), 1);
        assert_eq!((record.seconds[0].sent, record.seconds[0].dropped), (0, 1));
        assert_eq!((record.phases[0].sent, record.phases[0].dropped), (0, 1));
        assert_eq!(record.phases[0].outcomes.total(), 0);
    }

    #[test]
    fn phases_get_outcomes_operations_providers_tokens_and_ttft() {
        let mut recorder = recorder(
            vec![
                ("warmup", PhaseKind::Warmup, 0.0, 1.0),
                ("baseline", PhaseKind::Baseline, 1.0, 2.0),
                ("redis-down", PhaseKind::Fault, 2.0, 3.0),
                ("run", PhaseKind::Run, 0.0, 3.0),
            ],
            Duration::from_secs(1),
        );
        request(&mut recorder, 500, 10, Operation::Chat, &ok_from("primary"));
        request(
            &mut recorder,
            1_100,
            20,
            Operation::Chat,
            &ok_from("primary"),
        );
        let stream = Completion {
            class: OutcomeClass::DegradedOk,
            report: Report {
                provider: Some("fallback".to_owned()),
                degraded: vec!["caching".to_owned()],
                tokens: None,
                ttft: Some(ms(7)),
            },
            failure: None,
        };
        request(&mut recorder, 2_100, 30, Operation::ChatStream, &stream);
        let failed = Completion {
            class: OutcomeClass::HttpError,
            report: Report {
                provider: Some("primary".to_owned()),
                ..Report::default()
            },
            failure: Some(crate::traffic::outcome::http_failure(
                503,
                br#"{"error":{"code":"llm_unavailable","message":"all down"}}"#,
            )),
        };
        request(&mut recorder, 2_200, 40, Operation::Chat, &failed);
        request(
            &mut recorder,
            2_300,
            2,
            Operation::History,
            &Completion::bare(OutcomeClass::Ok),
        );
        let record = recorder.finish(ms(3_000));
        assert_eq!(record.target_rate, 10.0);
        assert_eq!(record.seconds.len(), 3);
        let phase = |name: &str| {
            record
                .phases
                .iter()
                .find(|p| p.name == name)
                .expect("phase present")
        };
        assert_eq!(phase("warmup").sent, 1);
        assert_eq!(phase("baseline").outcomes.ok, 1);
        assert_eq!(phase("run").sent, 4, "warm-up excluded from run");
        let fault = phase("redis-down");
        assert_eq!(fault.sent, 3);
        assert_eq!(fault.outcomes.degraded_ok, 1);
        assert_eq!(fault.outcomes.http_error, 1);
        assert_eq!(fault.outcomes.ok, 1);
        assert_eq!(fault.operations["chat"].outcomes.http_error, 1);
        assert_eq!(fault.operations["chat_stream"].outcomes.degraded_ok, 1);
        assert_eq!(fault.operations["history"].outcomes.ok, 1);
        // A failed turn is not an answered turn; a history read has no provider.
        assert_eq!(fault.providers.get("fallback"), Some(&1));
        assert_eq!(fault.providers.get("primary"), None);
        assert_eq!(fault.degraded.get("caching"), Some(&1));
        assert!((fault.ttft.expect("ttft").p50_ms - 7.0).abs() < 0.1);
        assert!((fault.latency.max_ms - 40.0).abs() < 0.1);
        assert!(fault.histogram.is_some());
        // The failure is named, in its phase and in the run.
        let lines: Vec<String> = fault.failures.iter().map(FailureSummary::line).collect();
        assert_eq!(lines, ["1× chat HTTP 503 llm_unavailable: all down"]);
        assert!((fault.failures[0].first_s - 2.24).abs() < 1e-9);
        assert_eq!(phase("run").failures.len(), 1);
        assert!(phase("baseline").failures.is_empty());
        let run = phase("run");
        assert_eq!(
            run.tokens["primary"],
            Tokens {
                input: 10,
                output: 5
            }
        );
        assert_eq!(run.providers.get("primary"), Some(&1));
        assert_eq!(phase("baseline").ttft, None);
    }

    #[test]
    fn finish_closes_seconds_that_still_have_requests_out() {
        let mut recorder = recorder(vec![], Duration::ZERO);
        let intended = ms(1_500);
        let mask = recorder.phase_mask(intended);
        recorder.sent(intended, mask, intended);
        let record = recorder.finish(ms(2_000));
        assert_eq!(record.seconds.len(), 2);
        assert_eq!(record.seconds[1].sent, 1);
        assert_eq!(record.seconds[1].outcomes.total(), 0);
    }

    #[test]
    fn memory_stays_bounded_over_a_long_run() {
        let mut recorder = recorder(vec![("run", PhaseKind::Run, 0.0, 1e9)], Duration::ZERO);
        for i in 0..20_000u64 {
            request(
                &mut recorder,
                i * 50,
                3 + i % 200,
                Operation::Chat,
                &ok_from("p"),
            );
        }
        assert!(
            recorder.open.len() <= 2,
            "open seconds: {}",
            recorder.open.len()
        );
        assert!(
            recorder.spare.len() <= 2,
            "spare histograms: {}",
            recorder.spare.len()
        );
        assert_eq!(recorder.seconds_since(0).len(), 999);
    }
}
