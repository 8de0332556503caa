//! The results of a game day, as written to `reports/<run-id>/results.json`
//! (documented in docs/results-schema.md): the [`RunRecord`] — the journal
//! of what happened, written by the runner as the run goes — and the
//! [`Verdict`] computed from it by the pure `verdict` module. The report
//! renders [`Results`] and never touches the system under test, so any past
//! run can be re-rendered.
//!
//! Times are seconds from the run start (`*_s`, f64) unless named `*_at`
//! (RFC 3339, UTC). Rates are fractions (0.001 = 0.1%). Bump
//! [`SCHEMA_VERSION`] on any incompatible change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::monitor::record::{
    AlertSummary, AlertTimeline, FiringInterval, MonitoringRecord, MonitoringVerdict, QueryRecord,
    QuerySeries,
};

/// Version of the results.json format.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything a report needs: what happened, and the judgement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// What happened.
    #[serde(flatten)]
    pub record: RunRecord,
    /// The judgement; absent while the run is in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
}

/// The journal of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// `<scenario>-<UTC timestamp>`; also the report folder name.
    pub run_id: String,
    /// Version of gameday that ran it.
    pub gameday_version: String,
    /// The scenario as run.
    pub scenario: ScenarioInfo,
    /// What was tested.
    pub target: TargetInfo,
    /// When the run started (RFC 3339).
    pub started_at: String,
    /// When the run ended (RFC 3339); absent in a partial journal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Seed of arrivals, mix and simulators.
    pub seed: u64,
    /// Where the run got to.
    pub status: RunStatus,
    /// The resolved timeline.
    pub plan: PlanInfo,
    /// Steady-state and proxy-path checks made before any fault.
    #[serde(default)]
    pub preflight: Preflight,
    /// Every fault, applied or not.
    #[serde(default)]
    pub faults: Vec<FaultRecord>,
    /// Traffic statistics.
    #[serde(default)]
    pub traffic: TrafficRecord,
    /// What the observer saw of the target.
    #[serde(default)]
    pub observations: Observations,
    /// Machine and environment metadata (never secrets).
    #[serde(default)]
    pub environment: Environment,
    /// What the platform's Prometheus showed, when the scenario has a
    /// `monitoring` section (see `crate::monitor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<MonitoringRecord>,
}

/// Machine and environment metadata of a run (never secrets): typed fields
/// for what gameday itself reads back (junit.xml's `hostname`, the runner
/// process `gameday cleanup` checks for liveness), free-form entries for
/// the rest (`os`, `arch`, `cores`, versions).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Environment {
    /// The machine's host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The process that ran the game day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<RunnerProcess>,
    /// Everything else, by name.
    #[serde(flatten)]
    pub other: BTreeMap<String, String>,
}

/// One JSON object with every key in name order, typed fields included.
impl Serialize for Environment {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        #[derive(Serialize)]
        #[serde(untagged)]
        enum Value<'a> {
            Text(&'a str),
            Runner(&'a RunnerProcess),
        }
        let mut entries: BTreeMap<&str, Value<'_>> = self
            .other
            .iter()
            .map(|(key, value)| (key.as_str(), Value::Text(value)))
            .collect();
        if let Some(hostname) = &self.hostname {
            entries.insert("hostname", Value::Text(hostname));
        }
        if let Some(runner) = &self.runner {
            entries.insert("runner", Value::Runner(runner));
        }
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (key, value) in &entries {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl Environment {
    /// Every entry as (name, value), in name order, typed fields included.
    pub fn entries(&self) -> Vec<(String, String)> {
        let mut entries: BTreeMap<String, String> = self.other.clone();
        if let Some(hostname) = &self.hostname {
            entries.insert("hostname".to_owned(), hostname.clone());
        }
        if let Some(runner) = &self.runner {
            entries.insert("runner pid".to_owned(), runner.pid.to_string());
        }
        entries.into_iter().collect()
    }
}

/// A process, identified so that a reused pid is not mistaken for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerProcess {
    /// Its process id.
    pub pid: u32,
    /// Its start time in clock ticks since boot (`/proc/<pid>/stat`, field 22).
    pub start_time: u64,
    /// The kernel's boot id (`/proc/sys/kernel/random/boot_id`): after a reboot no runner of before is alive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
}

/// The scenario as run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    /// Its name.
    pub name: String,
    /// Its description.
    #[serde(default)]
    pub description: String,
    /// The file it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Its source text.
    #[serde(default)]
    pub source: String,
    /// The availability target as a fraction (0.999).
    pub availability: f64,
}

/// What was tested.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// `lab` or `external`.
    pub kind: String,
    /// Base URL of the platform.
    pub url: String,
    /// URL of the Toxiproxy API used (embedded or external).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toxiproxy: Option<String>,
}

/// Where the run got to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RunStatus {
    /// In progress (a journal read after a crash says this).
    Running {
        /// The phase it was in.
        phase: String,
    },
    /// Ran to the end.
    Completed,
    /// Stopped early by a halt condition or a signal; faults rolled back.
    Aborted {
        /// Why.
        reason: String,
    },
    /// Could not run (setup failed, preflight failed).
    Error {
        /// Why.
        message: String,
    },
}

/// The resolved timeline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanInfo {
    /// Warm-up length (traffic on, not judged).
    pub warmup_s: f64,
    /// Measured duration after warm-up.
    pub duration_s: f64,
    /// Recovery observation after the last revert.
    pub recovery_s: f64,
    /// Every phase window, in time order.
    pub phases: Vec<PhaseWindow>,
}

/// One phase of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseWindow {
    /// `baseline`, a fault name, `between`, `recovery` or `run`.
    pub name: String,
    /// What kind of phase it is.
    pub kind: PhaseKind,
    /// Start, seconds from the run start.
    pub start_s: f64,
    /// End, seconds from the run start.
    pub end_s: f64,
    /// A pre-announced maintenance window: excluded from the budget.
    #[serde(default)]
    pub maintenance: bool,
}

/// Kinds of phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseKind {
    /// Warm-up (not judged).
    Warmup,
    /// Before the first fault.
    Baseline,
    /// A fault window.
    Fault,
    /// Between fault windows.
    Between,
    /// After the last revert.
    Recovery,
    /// The whole measured run.
    Run,
}

/// Checks made before any fault.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Preflight {
    /// Whether the steady state held during warm-up.
    pub steady_state: bool,
    /// What was observed (one line each).
    #[serde(default)]
    pub messages: Vec<String>,
    /// Proof that each proxied dependency's traffic passes through its proxy.
    #[serde(default)]
    pub proxy_paths: Vec<ProxyPathEvidence>,
}

/// Whether traffic to a dependency really crosses its proxy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProxyPathEvidence {
    /// Proxy name.
    pub proxy: String,
    /// Whether its traffic was seen crossing the proxy: `None` when nothing
    /// could be measured (unknown, not "no").
    pub passes_through: Option<bool>,
    /// What was measured.
    pub detail: String,
}

/// One fault of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRecord {
    /// Timeline entry name.
    pub name: String,
    /// `toxic`, `proxy_down`, `kill`, `freeze`, `restart`, `llm`, `exec`.
    pub kind: String,
    /// What it acts on (proxy, service, provider, command), never a secret.
    pub target: String,
    /// Human description (e.g. `latency 300ms ± 50ms downstream`).
    pub description: String,
    /// Planned apply time.
    pub planned_at_s: f64,
    /// Planned revert time.
    pub planned_end_s: f64,
    /// Pre-announced maintenance window.
    #[serde(default)]
    pub maintenance: bool,
    /// When it was applied (absent if never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_at_s: Option<f64>,
    /// Why applying failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_error: Option<String>,
    /// When it was reverted (absent if never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverted_at_s: Option<f64>,
    /// Why reverting failed, after every retry: the fault may still be in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revert_error: Option<String>,
    /// Evidence that the fault had an observable effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<FaultEffect>,
    /// Set when the runner found the fault undone before its planned end by
    /// someone else (another `gameday cleanup`, an operator, a restarted
    /// Toxiproxy): when, and what it saw. The phase then did not test what it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost: Option<String>,
}

/// Whether a fault visibly did something.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultEffect {
    /// Something changed (health, capabilities, breakers, errors, latency).
    pub observed: bool,
    /// What changed, or what was looked at.
    pub detail: String,
    /// For a toxic: the median response time of the fault's phase minus the
    /// baseline's, in ms — what the fault cost the platform's responses, as
    /// measured on gameday's own traffic (a toxic on a dependency called
    /// twice per turn adds its latency twice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_added_ms: Option<f64>,
}

/// Traffic statistics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrafficRecord {
    /// Target arrival rate, per second.
    pub target_rate: f64,
    /// One bucket per second of the run (including warm-up).
    #[serde(default)]
    pub seconds: Vec<SecondBucket>,
    /// Statistics per phase (requests are assigned by their intended start).
    #[serde(default)]
    pub phases: Vec<PhaseStats>,
}

/// Outcome classes of a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeCounts {
    /// 2xx with nothing degraded.
    pub ok: u64,
    /// 2xx with some capability degraded.
    pub degraded_ok: u64,
    /// Non-2xx status.
    pub http_error: u64,
    /// No answer within the request timeout.
    pub timeout: u64,
    /// Connection refused, reset, or a broken stream.
    pub connection_error: u64,
}

impl OutcomeCounts {
    /// Requests that completed, whatever their outcome.
    pub fn total(&self) -> u64 {
        self.ok + self.degraded_ok + self.errors()
    }

    /// Requests that count against the error budget.
    pub fn errors(&self) -> u64 {
        self.http_error + self.timeout + self.connection_error
    }
}

/// Latency summary in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Maximum.
    pub max_ms: f64,
}

/// One second of traffic.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SecondBucket {
    /// Second offset from the run start.
    pub t: u32,
    /// Requests whose intended start fell in this second and were sent.
    pub sent: u64,
    /// Requests not sent because `max_in_flight` was reached (dropped load).
    pub dropped: u64,
    /// Outcomes of requests that started in this second.
    pub outcomes: OutcomeCounts,
    /// Latency of those requests (from intended start).
    pub latency: Latency,
    /// Answered turns by provider.
    #[serde(default)]
    pub providers: BTreeMap<String, u64>,
}

/// Statistics of one phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseStats {
    /// Phase name.
    pub name: String,
    /// Requests sent.
    pub sent: u64,
    /// Dropped load (also history reads not sent because every turn of
    /// their conversation was dropped).
    pub dropped: u64,
    /// Requests sent more than 10 ms after their intended start (the
    /// generator fell behind its schedule; their latency still counts from
    /// the intended start).
    #[serde(default)]
    pub late: u64,
    /// Outcomes.
    pub outcomes: OutcomeCounts,
    /// Latency of all requests, from intended start.
    pub latency: Latency,
    /// Time to first token of streamed turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft: Option<Latency>,
    /// Per operation (`chat`, `chat_stream`, `history`).
    #[serde(default)]
    pub operations: BTreeMap<String, OperationStats>,
    /// Answered turns by provider.
    #[serde(default)]
    pub providers: BTreeMap<String, u64>,
    /// Tokens by provider.
    #[serde(default)]
    pub tokens: BTreeMap<String, Tokens>,
    /// Requests that reported each degraded capability.
    #[serde(default)]
    pub degraded: BTreeMap<String, u64>,
    /// The distinct failures, most frequent first (at most
    /// [`MAX_FAILURES`]); empty when nothing failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<FailureSummary>,
    /// Failed requests not in `failures` (the list is bounded).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub other_failures: u64,
    /// HdrHistogram V2 (deflate, base64) of all latencies in microseconds, for merging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<String>,
}

/// Most distinct failures kept per phase in [`PhaseStats::failures`].
pub const MAX_FAILURES: usize = 20;

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// One distinct failure of a phase: requests of one operation that failed
/// the same way (same class, status and error code).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureSummary {
    /// `chat`, `chat_stream` or `history`.
    pub operation: String,
    /// `http_error`, `timeout` or `connection_error`.
    pub class: String,
    /// The HTTP status, for an answer with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `error.code` of the error body (or of a stream's `error` event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The message of the first such failure (the error body's
    /// `error.message`, or what the transport said), at most 200 characters.
    pub message: String,
    /// How many requests failed this way.
    pub count: u64,
    /// When the first and the last of them finished, seconds from the run start.
    pub first_s: f64,
    /// See `first_s`.
    pub last_s: f64,
}

impl FailureSummary {
    /// One line: `11× history HTTP 404 not_found: no such conversation`.
    pub fn line(&self) -> String {
        let what = match self.status {
            Some(status) => format!("HTTP {status}"),
            None => self.class.replace('_', " "),
        };
        let code = self
            .code
            .as_deref()
            .map(|code| format!(" {code}"))
            .unwrap_or_default();
        format!(
            "{}× {} {what}{code}: {}",
            self.count, self.operation, self.message
        )
    }
}

/// Statistics of one operation within a phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OperationStats {
    /// Outcomes.
    pub outcomes: OutcomeCounts,
    /// Latency.
    pub latency: Latency,
}

/// Token counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    /// Prompt tokens.
    pub input: u64,
    /// Completion tokens.
    pub output: u64,
}

/// What the observer saw, as change points (a value is recorded when it
/// differs from the previous sample), sampled a few times a second.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observations {
    /// Sampling interval, seconds.
    pub interval_s: f64,
    /// Capability map changes.
    #[serde(default)]
    pub capabilities: Vec<CapabilitySample>,
    /// Breaker state changes.
    #[serde(default)]
    pub breakers: Vec<BreakerSample>,
    /// Health status changes.
    #[serde(default)]
    pub health: Vec<HealthSample>,
    /// Polls that failed (the target did not answer its own health routes).
    #[serde(default)]
    pub poll_errors: Vec<PollError>,
}

/// The capability map at `t`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapabilitySample {
    /// Seconds from the run start.
    pub t: f64,
    /// Capability name → on.
    pub capabilities: BTreeMap<String, bool>,
}

/// Breaker states at `t`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakerSample {
    /// Seconds from the run start.
    pub t: f64,
    /// Provider → `closed` | `open` | `half_open`.
    pub states: BTreeMap<String, String>,
}

/// Health at `t`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthSample {
    /// Seconds from the run start.
    pub t: f64,
    /// Overall status.
    pub status: String,
    /// Component → status.
    pub components: BTreeMap<String, String>,
}

/// A failed observer poll.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollError {
    /// Seconds from the run start.
    pub t: f64,
    /// Which route.
    pub route: String,
    /// What went wrong.
    pub message: String,
}

/// The judgement of a run (computed by `verdict`, a pure function).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The overall outcome.
    pub outcome: Outcome,
    /// Every expectation checked, in scenario order.
    pub checks: Vec<Check>,
    /// The error budget.
    pub budget: Budget,
    /// Alert rules and whether they fired.
    #[serde(default)]
    pub alerts: Vec<AlertResult>,
    /// Cost by provider and phase, when the scenario has a price table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    /// The platform's alerts against the fault timeline and gameday's own
    /// rules, when the run read its Prometheus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<MonitoringVerdict>,
}

/// Overall outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every check passed.
    Passed,
    /// A check failed.
    Failed,
    /// No check failed, but some could not be decided from the sample.
    Inconclusive,
    /// Stopped by a halt condition or a signal.
    Aborted,
    /// Could not run.
    Error,
}

/// Status of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// Held.
    Pass,
    /// Did not hold.
    Fail,
    /// The sample cannot tell.
    Inconclusive,
}

/// One expectation and what was observed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// E.g. `error_rate`, `capability caching`, `breaker primary`.
    pub name: String,
    /// The phase it applies to.
    pub phase: String,
    /// Its status.
    pub status: CheckStatus,
    /// What was expected, as written (`< 0.1%`, `becomes false within 5s`).
    pub expected: String,
    /// What was observed (`0.02% (3 of 14,980)`, `false after 1.2s`).
    pub observed: String,
    /// 95% confidence interval of a rate, when the check is about a rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<Interval>,
}

/// A confidence interval of a fraction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// The error budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Allowed error fraction (1 − availability).
    pub allowed: f64,
    /// Errors over the judged run (maintenance windows excluded).
    pub errors: u64,
    /// Requests over the judged run.
    pub requests: u64,
    /// errors / requests.
    pub spent: f64,
    /// spent / allowed (1.0 = the whole budget).
    pub spent_of_allowed: f64,
    /// 95% interval of the error fraction.
    pub confidence: Interval,
    /// Whether the run stayed within the budget, could not tell, or did not.
    pub status: CheckStatus,
    /// Seconds excluded as maintenance.
    pub maintenance_excluded_s: f64,
    /// Budget minutes per month at the availability target (43.8 at 99.9%).
    pub monthly_budget_minutes: f64,
    /// Minutes of the monthly budget this run's errors would cost at the
    /// production rate, when the scenario gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_minutes_spent: Option<f64>,
    /// Per phase.
    #[serde(default)]
    pub phases: Vec<PhaseBudget>,
}

/// The budget of one phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseBudget {
    /// Phase name.
    pub phase: String,
    /// Errors.
    pub errors: u64,
    /// Requests.
    pub requests: u64,
    /// errors / requests.
    pub spent: f64,
    /// Excluded as maintenance.
    pub maintenance: bool,
}

/// One alert rule's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertResult {
    /// Rule name.
    pub name: String,
    /// The rule as written.
    pub rule: String,
    /// Whether it fired.
    pub fired: bool,
    /// When it first fired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fired_at_s: Option<f64>,
    /// Seconds from the start of the fault window it fired in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detection_s: Option<f64>,
    /// The fault it detected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

/// Cost accounting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// Currency (USD).
    pub currency: String,
    /// Total.
    pub total: f64,
    /// Phase → provider → cost.
    pub by_phase: BTreeMap<String, BTreeMap<String, f64>>,
}
