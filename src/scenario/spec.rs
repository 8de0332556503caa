//! The scenario file format as types, for the JSON Schema that
//! `gameday schema` prints (editors use it to complete and check files).
//!
//! These `*Spec` types mirror the YAML exactly as users write it (durations
//! as `"60s"`, comparisons as `"< 0.1%"`), which the typed model does not.
//! They are never used to load a scenario: `scenario::decode` does that with
//! located, collected errors and stricter per-value checks. They also derive
//! `Deserialize`, so a test can check that every valid example file fits
//! this description too (the schema cannot drift from the decoder unseen).

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;

/// The JSON Schema of scenario files, as pretty-printed JSON.
pub fn schema() -> String {
    let schema = schemars::schema_for!(ScenarioSpec);
    serde_json::to_string_pretty(&schema).unwrap_or_else(|_| "{}".to_string())
}

/// Declares a string-valued newtype with its own schema (a pattern and examples).
macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $schema_name:literal, $schema:tt) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Deserialize)]
        pub struct $name(#[serde(deserialize_with = "any_scalar")] pub String);

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed($schema_name)
            }

            fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
}

text_type!(
    /// `250ms`, `2s`, `1.5s`, `3m`, `1h` (or `0`).
    DurationText,
    "Duration",
    {
        "description": "A duration: a number and a unit (us, ms, s, m, h), e.g. 250ms, 1.5s, 3m; or 0.",
        "anyOf": [
            { "type": "string", "pattern": "^\\s*(0|[0-9]+(\\.[0-9]+)?\\s*(us|µs|ms|s|m|min|h))\\s*$" },
            { "const": 0 }
        ],
        "examples": ["250ms", "20s", "3m"]
    }
);

text_type!(
    /// `99.9%`.
    PercentText,
    "Percentage",
    {
        "description": "A percentage between 0% and 100%, e.g. 99.9%.",
        "type": "string",
        "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*%\\s*$",
        "examples": ["99.9%"]
    }
);

text_type!(
    /// `100/s`, `6000/m`.
    RateText,
    "Rate",
    {
        "description": "A rate: a number per second, minute or hour, e.g. 100/s or 6000/m.",
        "type": "string",
        "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*/\\s*(s|m|min|h)\\s*$",
        "examples": ["100/s", "6000/m"]
    }
);

text_type!(
    /// `< 0.1%`, `> 90%`.
    PercentComparison,
    "PercentComparison",
    {
        "description": "An operator (<, <=, >, >=) and a percentage, e.g. < 0.1% or > 90%.",
        "type": "string",
        "pattern": "^\\s*(<=|>=|<|>)\\s*[0-9]+(\\.[0-9]+)?\\s*%\\s*$",
        "examples": ["< 0.1%", "> 90%"]
    }
);

text_type!(
    /// `< 2s`.
    DurationComparison,
    "DurationComparison",
    {
        "description": "An operator (<, <=, >, >=) and a duration, e.g. < 2s.",
        "type": "string",
        "pattern": "^\\s*(<=|>=|<|>)\\s*[0-9]+(\\.[0-9]+)?\\s*(us|µs|ms|s|m|min|h)\\s*$",
        "examples": ["< 2s", "<= 500ms"]
    }
);

text_type!(
    /// `error_rate > 5% for 30s`.
    RuleText,
    "Rule",
    {
        "description": "<metric> <op> <threshold> for <window>; metric is error_rate (threshold a percentage) or p50/p95/p99 (threshold a duration).",
        "type": "string",
        "pattern": "^\\s*(error_rate|p50|p95|p99)\\s*(<=|>=|<|>)\\s*\\S+\\s+for\\s+\\S+\\s*$",
        "examples": ["error_rate > 5% for 30s", "p99 > 30s for 30s"]
    }
);

text_type!(
    /// A toxic attribute: an integer in Toxiproxy's unit, or a duration.
    AttributeValue,
    "ToxicAttribute",
    {
        "description": "An integer in Toxiproxy's unit (ms; µs for the slicer's delay; KB/s for rate; bytes for sizes) or, for times, a duration such as 300ms.",
        "type": ["integer", "string"]
    }
);

/// Accepts any scalar as its text (so `at: 0` reads as `"0"`).
fn any_scalar<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    struct ScalarText;
    impl serde::de::Visitor<'_> for ScalarText {
        type Value = String;
        fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
            formatter.write_str("a string or a number")
        }
        fn visit_str<E>(self, value: &str) -> Result<String, E> {
            Ok(value.to_string())
        }
        fn visit_i64<E>(self, value: i64) -> Result<String, E> {
            Ok(value.to_string())
        }
        fn visit_u64<E>(self, value: u64) -> Result<String, E> {
            Ok(value.to_string())
        }
        fn visit_f64<E>(self, value: f64) -> Result<String, E> {
            Ok(value.to_string())
        }
    }
    deserializer.deserialize_any(ScalarText)
}

/// A gameday scenario: a target, synthetic traffic, a timeline of faults and
/// the expectations that must hold. See docs/scenarios.md.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "gameday scenario")]
pub struct ScenarioSpec {
    /// Short identifier, used in run ids and reports.
    pub name: String,
    /// What the game day checks.
    pub description: Option<String>,
    /// The SLO the game day defends (default 99.9%).
    pub availability: Option<PercentText>,
    /// `lab` (default) or an external platform.
    pub target: Option<TargetSpec>,
    /// `embedded` (the lab's default) or the URL of a Toxiproxy API.
    pub toxiproxy: Option<String>,
    /// The synthetic load.
    pub traffic: TrafficSpec,
    /// Production request rate, to express the budget spent in minutes of the monthly budget.
    pub production_rate: Option<RateText>,
    /// USD prices per provider.
    pub prices: Option<BTreeMap<String, PriceSpec>>,
    /// The faults.
    pub timeline: Option<Vec<TimelineEntrySpec>>,
    /// Expectations per phase: baseline, a timeline entry's name, between, recovery, run.
    pub expect: Option<BTreeMap<String, PhaseExpectationsSpec>>,
    /// Custom alert rules, in addition to the built-in error-rate-1pct-5m and p95-5s-10m.
    pub alerts: Option<Vec<AlertRuleSpec>>,
    /// Conditions that stop the experiment early (exit code 3).
    pub halt: Option<Vec<RuleText>>,
    /// How long recovery is observed after the last revert (default 30s).
    pub recovery: Option<DurationText>,
    /// The platform's Prometheus and what its alerts and queries must show.
    pub monitoring: Option<MonitoringSpec>,
}

/// `lab`, or an external platform.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TargetSpec {
    /// The built-in lab.
    Lab(LabKeyword),
    /// A platform reached by URL.
    External(Box<ExternalTargetSpec>),
}

/// The keyword `lab`.
#[derive(Debug, Deserialize, JsonSchema)]
pub enum LabKeyword {
    /// The built-in lab.
    #[serde(rename = "lab")]
    Lab,
}

/// A platform reached by URL.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalTargetSpec {
    /// Base URL, http:// or https://.
    pub url: String,
    /// Endpoint paths (defaults: /v1/chat, /v1/conversations, /health, /capabilities, /breakers).
    pub paths: Option<PathsSpec>,
    /// Headers sent with every request; `${VAR}` is filled from the environment at run time.
    pub headers: Option<BTreeMap<String, String>>,
    /// The URL of the Toxiproxy in front of the target's dependencies.
    pub toxiproxy: Option<String>,
    /// The proxy names the scenario may use (checked against every fault).
    pub proxies: Option<Vec<String>>,
    /// The `gameday llm-proxy` gateways in front of the target's LLM
    /// providers: name → base URL (`${VAR}` is filled from the environment at
    /// run time). `llm` faults name one of them.
    pub llm_proxies: Option<BTreeMap<String, String>>,
}

/// Endpoint paths of the platform contract.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PathsSpec {
    /// POST one agent turn.
    pub chat: Option<String>,
    /// GET history (`{path}/{id}`).
    pub conversations: Option<String>,
    /// Deep health.
    pub health: Option<String>,
    /// Capability booleans.
    pub capabilities: Option<String>,
    /// Breaker states.
    pub breakers: Option<String>,
}

/// The synthetic load.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrafficSpec {
    /// Arrivals per second, e.g. 100/s.
    pub rate: RateText,
    /// `poisson` (default) or `constant`.
    pub arrivals: Option<ArrivalsSpec>,
    /// Load before measurement (default 10s).
    pub warmup: Option<DurationText>,
    /// Measured load after the warm-up.
    pub duration: DurationText,
    /// Operation weights (default chat 80, chat_stream 15, history 5).
    pub mix: Option<MixSpec>,
    /// Conversation pool size (default 100).
    #[schemars(range(min = 1, max = super::limits::MAX_CONVERSATIONS))]
    pub conversations: Option<u32>,
    /// Turns before a conversation is replaced (default: never).
    #[schemars(range(min = 1, max = super::limits::MAX_TURNS_PER_CONVERSATION))]
    pub turns_per_conversation: Option<u32>,
    /// Per-request timeout (default 10s).
    pub timeout: Option<DurationText>,
    /// In-flight bound; arrivals beyond it are recorded as dropped (default 1000).
    #[schemars(range(min = 1, max = super::limits::MAX_IN_FLIGHT))]
    pub max_in_flight: Option<u32>,
    /// Seed for arrivals and mix (`--seed` overrides).
    pub seed: Option<u64>,
}

/// Arrival process.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArrivalsSpec {
    /// Random, memoryless gaps.
    Poisson,
    /// Even gaps.
    Constant,
}

/// Operation weights.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MixSpec {
    /// Non-streaming chat turns.
    pub chat: Option<f64>,
    /// Streaming chat turns.
    pub chat_stream: Option<f64>,
    /// History reads.
    pub history: Option<f64>,
}

/// USD per million tokens.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceSpec {
    /// Input tokens.
    pub input_per_mtok: f64,
    /// Output tokens.
    pub output_per_mtok: f64,
}

/// One fault window.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimelineEntrySpec {
    /// Unique name; also the fault's phase name.
    pub name: String,
    /// Apply time, from the end of the warm-up.
    pub at: DurationText,
    /// How long the fault stays applied.
    #[serde(rename = "for")]
    pub duration: DurationText,
    /// A pre-announced maintenance window (excluded from the budget).
    pub maintenance: Option<bool>,
    /// What to break.
    pub fault: FaultSpec,
}

/// What to break: exactly one of toxic, proxy_down, kill, freeze, restart, llm, exec.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum FaultSpec {
    /// A toxic on a proxy.
    Toxic(ToxicFaultSpec),
    /// A proxy disabled.
    ProxyDown(ProxyDownSpec),
    /// SIGKILL to a lab service.
    Kill(KillSpec),
    /// SIGSTOP to a lab service.
    Freeze(FreezeSpec),
    /// Stop, then start, a lab service.
    Restart(RestartSpec),
    /// An LLM simulator mode.
    Llm(LlmFaultSpec),
    /// A command and its revert command.
    Exec(ExecSpec),
}

/// A toxic; attributes depend on the type.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToxicFaultSpec {
    /// The toxic type.
    pub toxic: ToxicTypeSpec,
    /// The proxy (lab: redis, postgres, primary, fallback).
    pub proxy: String,
    /// `downstream` (default) or `upstream`.
    pub stream: Option<StreamSpec>,
    /// Chance per connection, 0..1 or a percentage (default 1).
    pub toxicity: Option<serde_json::Value>,
    /// latency: added delay.
    pub latency: Option<AttributeValue>,
    /// latency: random extra delay.
    pub jitter: Option<AttributeValue>,
    /// bandwidth: KB/s.
    pub rate: Option<AttributeValue>,
    /// slow_close: close delay (ms); slicer: delay between slices (µs).
    pub delay: Option<AttributeValue>,
    /// timeout / reset_peer: ms.
    pub timeout: Option<AttributeValue>,
    /// slicer: bytes.
    pub average_size: Option<AttributeValue>,
    /// slicer: bytes.
    pub size_variation: Option<AttributeValue>,
    /// limit_data: bytes.
    pub bytes: Option<AttributeValue>,
}

/// Toxic types.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ToxicTypeSpec {
    /// latency, jitter.
    Latency,
    /// rate.
    Bandwidth,
    /// delay.
    SlowClose,
    /// timeout.
    Timeout,
    /// timeout.
    ResetPeer,
    /// average_size, size_variation, delay.
    Slicer,
    /// bytes.
    LimitData,
}

/// Toxic direction.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StreamSpec {
    /// Client to server.
    Upstream,
    /// Server to client.
    Downstream,
}

/// `{ proxy_down: postgres }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProxyDownSpec {
    /// The proxy.
    pub proxy_down: String,
}

/// A lab service.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceSpec {
    /// redis-server.
    Redis,
    /// PostgreSQL.
    Postgres,
}

/// `{ kill: redis }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KillSpec {
    /// The service.
    pub kill: ServiceSpec,
}

/// `{ freeze: redis }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FreezeSpec {
    /// The service.
    pub freeze: ServiceSpec,
}

/// `{ restart: postgres }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestartSpec {
    /// The service.
    pub restart: ServiceSpec,
}

/// `{ llm: primary, mode: { mode: errors, rate: 1.0, status: 503 } }`, or
/// `{ llm: { provider: primary, mode: ... } }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LlmFaultSpec {
    /// The provider's name (lab: `primary` or `fallback`; external target: a
    /// name in `target.llm_proxies`), or `{ provider, mode }`.
    pub llm: LlmTargetSpec,
    /// A mode name (e.g. `hang`) or the mode object (docs/llm-sim.md), with
    /// an optional `match: { route, model }` on a gateway (docs/llm-proxy.md).
    /// Absent when `llm` gives it.
    pub mode: Option<serde_json::Value>,
}

/// What an `llm` fault switches: a name, or the name and the mode together.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum LlmTargetSpec {
    /// A lab simulator (`primary`, `fallback`) or a gateway's name.
    Name(String),
    /// `{ provider: primary, mode: { mode: errors } }`.
    WithMode {
        /// The simulator's or gateway's name.
        provider: String,
        /// A mode name or the mode object.
        mode: serde_json::Value,
    },
}

/// `{ exec: "...", revert: "...", timeout: 30s }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecSpec {
    /// Applies the fault (`sh -c`).
    pub exec: String,
    /// Reverts it.
    pub revert: String,
    /// Limit per command (default 30s).
    pub timeout: Option<DurationText>,
}

/// Expectations of one phase.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PhaseExpectationsSpec {
    /// Failed / all requests, e.g. `< 0.1%`.
    pub error_rate: Option<PercentComparison>,
    /// Median latency.
    pub p50: Option<DurationComparison>,
    /// 95th percentile latency.
    pub p95: Option<DurationComparison>,
    /// 99th percentile latency.
    pub p99: Option<DurationComparison>,
    /// Worst latency.
    pub max: Option<DurationComparison>,
    /// 95th percentile time to first token (streams).
    pub ttft_p95: Option<DurationComparison>,
    /// `all`, or per capability.
    pub capabilities: Option<CapabilitiesSpec>,
    /// Per provider: opens_within, closes_within or stays.
    pub breakers: Option<BTreeMap<String, BreakerSpec>>,
    /// Share of answered turns per provider, e.g. `"> 90%"`.
    pub providers: Option<BTreeMap<String, PercentComparison>>,
    /// Time until error rate and capabilities are back to baseline.
    pub recovery_time: Option<DurationComparison>,
    /// `within` or `exceeded`.
    pub budget: Option<BudgetSpec>,
    /// `run` only: per alert rule.
    pub alerts: Option<BTreeMap<String, AlertExpectationSpec>>,
    /// `run` only: inconclusive checks fail the run.
    pub conclusive: Option<bool>,
}

/// `all`, or a mapping.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CapabilitiesSpec {
    /// Every capability true throughout.
    All(AllKeyword),
    /// Per capability (and optionally `all` + `within`).
    Each(Box<CapabilityMapSpec>),
}

/// The keyword `all`.
#[derive(Debug, Deserialize, JsonSchema)]
pub enum AllKeyword {
    /// Every capability.
    #[serde(rename = "all")]
    All,
}

/// Capabilities by name.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CapabilityMapSpec {
    /// Every capability: `true` holds; with `within`, returns within.
    pub all: Option<bool>,
    /// Deadline for `all`.
    pub within: Option<DurationText>,
    /// Chat turns.
    pub chat: Option<CapabilitySpec>,
    /// Streaming.
    pub streaming: Option<CapabilitySpec>,
    /// History.
    pub conversation_history: Option<CapabilitySpec>,
    /// Analytics.
    pub analytics: Option<CapabilitySpec>,
    /// Caching.
    pub caching: Option<CapabilitySpec>,
    /// Real-time usage.
    pub real_time_usage: Option<CapabilitySpec>,
}

/// A capability expectation.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CapabilitySpec {
    /// Holds throughout.
    Holds(bool),
    /// `{ becomes: false, within: 5s }`.
    Becomes(BecomesSpec),
    /// `{ returns_within: 10s }`.
    Returns(ReturnsSpec),
}

/// `{ becomes: false, within: 5s }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BecomesSpec {
    /// The value to reach.
    pub becomes: bool,
    /// Deadline from the phase start.
    pub within: DurationText,
}

/// `{ returns_within: 10s }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnsSpec {
    /// Deadline from the phase start.
    pub returns_within: DurationText,
}

/// A breaker expectation.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum BreakerSpec {
    /// `{ opens_within: 10s }`.
    Opens(OpensSpec),
    /// `{ closes_within: 20s }`.
    Closes(ClosesSpec),
    /// `{ stays: closed }`.
    Stays(StaysSpec),
}

/// `{ opens_within: 10s }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpensSpec {
    /// Deadline from the phase start.
    pub opens_within: DurationText,
}

/// `{ closes_within: 20s }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClosesSpec {
    /// Deadline from the fault's revert.
    pub closes_within: DurationText,
}

/// `{ stays: closed }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StaysSpec {
    /// The state held throughout.
    pub stays: BreakerStateSpec,
}

/// Breaker states.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreakerStateSpec {
    /// Traffic flows.
    Closed,
    /// Failing fast.
    Open,
    /// Trial calls.
    HalfOpen,
}

/// Budget expectation.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BudgetSpec {
    /// Within the error budget.
    Within,
    /// Expected to overspend.
    Exceeded,
}

/// An alert expectation.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AlertExpectationSpec {
    /// `fired` or `not_fired`.
    State(AlertStateSpec),
    /// `{ fired_within: 2m }`.
    Within(FiredWithinSpec),
}

/// Whether the alert fires.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertStateSpec {
    /// It fires.
    Fired,
    /// It never fires.
    NotFired,
}

/// `{ fired_within: 2m }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FiredWithinSpec {
    /// Deadline from the first fault.
    pub fired_within: DurationText,
}

/// A custom alert rule.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertRuleSpec {
    /// Name used in `expect.run.alerts`.
    pub name: String,
    /// The condition, e.g. `error_rate > 5% for 30s`.
    pub when: RuleText,
}

text_type!(
    /// `< 0.01`, `>= 1`.
    NumberComparison,
    "NumberComparison",
    {
        "description": "An operator (<, <=, >, >=) and a number, e.g. < 0.01 or >= 1.",
        "type": "string",
        "pattern": "^\\s*(<=|>=|<|>)\\s*-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?\\s*$",
        "examples": ["< 0.01", ">= 1"]
    }
);

/// The platform's Prometheus and the expectations on it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitoringSpec {
    /// `lab` (the lab's Prometheus) or `{ url, headers }`.
    pub prometheus: PrometheusSpec,
    /// An Alertmanager URL, checked to answer at preflight.
    pub alertmanager: Option<String>,
    /// Expectations per phase: baseline, a timeline entry's name, between, recovery, run.
    pub expect: Option<BTreeMap<String, MonitoringPhaseSpec>>,
}

/// `lab`, or a Prometheus reached by URL.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PrometheusSpec {
    /// The lab's Prometheus.
    Lab(LabKeyword),
    /// A Prometheus reached by URL.
    Url(PrometheusUrlSpec),
}

/// A Prometheus reached by URL.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrometheusUrlSpec {
    /// Base URL, http:// or https://.
    pub url: String,
    /// Headers sent with every query; `${VAR}` is filled from the environment at run time.
    pub headers: Option<BTreeMap<String, String>>,
}

/// Monitoring expectations of one phase.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitoringPhaseSpec {
    /// Alert name → `silent` or `{ fires_within, resolves_within, silent, compare_with }`.
    pub alerts: Option<BTreeMap<String, AlertWatchSpec>>,
    /// PromQL checks, judged on their worst value over the phase.
    pub queries: Option<Vec<QueryCheckSpec>>,
}

/// What one alert must do in a phase.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AlertWatchSpec {
    /// The keyword `silent`.
    Silent(SilentKeyword),
    /// Deadlines.
    Detailed(AlertWatchDetailSpec),
}

/// The keyword `silent`.
#[derive(Debug, Deserialize, JsonSchema)]
pub enum SilentKeyword {
    /// Never fires in the phase.
    #[serde(rename = "silent")]
    Silent,
}

/// Deadlines of an alert.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertWatchDetailSpec {
    /// Fires within this long of the fault's apply (time to detect).
    pub fires_within: Option<DurationText>,
    /// Stops firing within this long of the fault's revert (or of `recovery`'s start).
    pub resolves_within: Option<DurationText>,
    /// Never fires in the phase.
    pub silent: Option<bool>,
    /// gameday's own alert rule to compare it with in the report.
    pub compare_with: Option<String>,
}

/// A PromQL check.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryCheckSpec {
    /// The PromQL expression.
    pub query: String,
    /// The comparison its worst value over the phase must satisfy.
    pub is: NumberComparison,
}
