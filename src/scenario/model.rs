//! The typed scenario: what a game day is, after parsing and validation.
//!
//! Every value here is resolved to the unit the rest of the pipeline computes
//! with: durations are [`Duration`], percentages are fractions (`0.1%` is
//! `0.001`), rates are requests per second. Nothing in this module reads
//! files or YAML; `scenario::decode` builds these types from the located YAML
//! tree and `scenario::validate` checks the rules that span sections. The
//! serde form of these types is a machine form (for `results.json`); the file
//! format users write is described by `scenario::spec`.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::lab::llm_proxy::Rule as LlmRule;
use crate::lab::services::ServiceKind;

/// A whole game day: target, traffic, fault timeline, expectations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Scenario {
    /// Short identifier, used in run ids and reports.
    pub name: String,
    /// What the game day checks, in a sentence or two.
    pub description: Option<String>,
    /// The SLO the game day defends, as a fraction (`99.9%` is `0.999`).
    pub availability: f64,
    /// The system under test.
    pub target: Target,
    /// The Toxiproxy API the toxic and proxy-down faults go through; `None`
    /// only for an external target whose faults need no proxy.
    pub toxiproxy: Option<Toxiproxy>,
    /// The synthetic load.
    pub traffic: Traffic,
    /// Production requests per second, to convert the budget spent into
    /// minutes of the monthly budget.
    pub production_rate: Option<f64>,
    /// USD prices per provider (keyed by provider name), for cost accounting.
    pub prices: BTreeMap<String, Price>,
    /// The faults, in file order.
    pub timeline: Vec<TimelineEntry>,
    /// Expectations per phase, in file order.
    pub expect: Vec<PhaseExpectations>,
    /// Alert rules: the two built-in seed rules first, then the scenario's own.
    pub alerts: Vec<AlertRule>,
    /// Conditions that stop the experiment early (exit code 3).
    pub halt: Vec<Rule>,
    /// How long recovery is observed after the last revert.
    pub recovery: Duration,
    /// The file as written, for the report ("the scenario as run").
    #[schemars(skip)]
    pub source: ScenarioSource,
    /// The platform's Prometheus and what its alerts and queries must show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<super::monitoring::Monitoring>,
}

/// The text a scenario was read from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ScenarioSource {
    /// The path (or a name such as `<stdin>`) it was read from.
    pub path: String,
    /// The file's full text.
    pub text: String,
}

/// The system under test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
// One per scenario, never in a hot path: boxing would only add noise.
#[allow(clippy::large_enum_variant)]
pub enum Target {
    /// The built-in lab: reference platform, LLM simulators `primary` and
    /// `fallback`, managed Redis and PostgreSQL, and a proxy in front of each
    /// dependency, named after it.
    Lab,
    /// A platform gameday does not manage, reached over HTTP.
    External(ExternalTarget),
}

/// A platform reached by URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExternalTarget {
    /// Base URL (`http://` or `https://`), without a trailing slash; a
    /// template whose `${VAR}` parts are filled when a run starts, like every
    /// URL of the target (see [`ExternalTarget::addresses`]).
    pub url: String,
    /// Where the platform contract's endpoints live.
    pub paths: Paths,
    /// Headers sent with every request; values are templates whose `${VAR}`
    /// parts are filled from the environment at run time (see
    /// [`ExternalTarget::resolve_headers`]), so secrets never sit in the file.
    pub headers: Vec<HeaderTemplate>,
    /// The proxy names the scenario may use on the target's Toxiproxy, when
    /// the file lists them (validated against every fault); `None` = unchecked.
    pub proxies: Option<Vec<String>>,
    /// The `gameday llm-proxy` gateways in front of the target's LLM
    /// providers, by name (what an `llm` fault names), each a base URL
    /// template whose `${VAR}` parts are filled from the environment at run
    /// time (see [`ExternalTarget::addresses`]).
    pub llm_proxies: BTreeMap<String, String>,
}

/// The endpoint paths of the platform contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Paths {
    /// `POST` one agent turn.
    pub chat: String,
    /// `GET {conversations}/{id}`: history.
    pub conversations: String,
    /// Deep health.
    pub health: String,
    /// Capability booleans.
    pub capabilities: String,
    /// Per-provider breaker states.
    pub breakers: String,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            chat: "/v1/chat".to_string(),
            conversations: "/v1/conversations".to_string(),
            health: "/health".to_string(),
            capabilities: "/capabilities".to_string(),
            breakers: "/breakers".to_string(),
        }
    }
}

/// One header whose value may reference environment variables as `${VAR}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HeaderTemplate {
    /// Header name.
    pub name: String,
    /// Value template, e.g. `Bearer ${GAMEDAY_TOKEN}` (kept unresolved).
    pub template: String,
}

/// Where the Toxiproxy API lives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Toxiproxy {
    /// gameday's own proxy, started with the lab.
    Embedded,
    /// A running Toxiproxy (or `gameday proxy`) API, e.g. `http://toxiproxy:8474`
    /// (a template, like the target's URL).
    Url(String),
}

/// The synthetic load (an open model: arrivals do not wait for responses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Traffic {
    /// Target arrivals per second.
    pub rate: f64,
    /// How arrivals are spaced.
    pub arrivals: Arrivals,
    /// Load before measurement starts; the steady state must hold during it.
    pub warmup: Duration,
    /// Measured load after the warm-up.
    pub duration: Duration,
    /// Relative weights of the operations.
    pub mix: Mix,
    /// Size of the pool of multi-turn conversations.
    pub conversations: u32,
    /// Turns after which a conversation is replaced by a fresh one (`None`: never).
    pub turns_per_conversation: Option<u32>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Requests in flight beyond which new arrivals are recorded as dropped load.
    pub max_in_flight: u32,
    /// Seed for arrivals and mix (`--seed` overrides it).
    pub seed: Option<u64>,
}

/// Arrival process of the open model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Arrivals {
    /// Exponential gaps (random, memoryless): realistic load.
    Poisson,
    /// Evenly spaced requests.
    Constant,
}

/// Operation weights; only their ratios matter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Mix {
    /// Non-streaming chat turn.
    pub chat: f64,
    /// Streaming chat turn.
    pub chat_stream: f64,
    /// History read.
    pub history: f64,
}

/// Token prices of one provider, in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Price {
    /// USD per million input tokens.
    pub input_per_mtok: f64,
    /// USD per million output tokens.
    pub output_per_mtok: f64,
}

/// One fault window of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TimelineEntry {
    /// Unique name; also the name of this fault's phase.
    pub name: String,
    /// When the fault is applied, from the end of the warm-up.
    pub at: Duration,
    /// How long it stays applied (`for` in the file).
    #[serde(rename = "for")]
    pub duration: Duration,
    /// A pre-announced maintenance window: its time is excluded from the budget.
    pub maintenance: bool,
    /// What is broken.
    pub fault: Fault,
}

impl TimelineEntry {
    /// When the fault is reverted, from the end of the warm-up.
    pub fn end(&self) -> Duration {
        self.at.saturating_add(self.duration)
    }
}

/// What a timeline entry breaks, and (implicitly) how it is reverted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// A toxic on a Toxiproxy proxy; reverted by removing it.
    Toxic {
        /// Proxy name.
        proxy: String,
        /// The toxic, attributes normalized to Toxiproxy's integer units.
        toxic: Toxic,
    },
    /// The proxy disabled (connections refused); reverted by enabling it.
    ProxyDown {
        /// Proxy name.
        proxy: String,
    },
    /// SIGKILL to a managed service; reverted by starting it again.
    Kill {
        /// The service.
        #[schemars(with = "String")]
        service: ServiceKind,
    },
    /// SIGSTOP to a managed service; reverted by SIGCONT.
    Freeze {
        /// The service.
        #[schemars(with = "String")]
        service: ServiceKind,
    },
    /// A graceful stop of a managed service; reverted by starting it again.
    Restart {
        /// The service.
        #[schemars(with = "String")]
        service: ServiceKind,
    },
    /// An LLM simulator (lab) or `gameday llm-proxy` gateway (external
    /// target) switched to a failure mode; reverted to the mode it had.
    Llm {
        /// Which simulator (`primary`, `fallback`) or gateway (a name in
        /// `target.llm_proxies`).
        provider: String,
        /// The mode, exactly as the admin API accepts it; a `match` only on
        /// a gateway (validation checks it).
        #[schemars(with = "serde_json::Value")]
        mode: LlmRule,
    },
    /// A command run through `sh -c`; reverted by running `revert`.
    Exec {
        /// Applies the fault.
        command: String,
        /// Reverts it.
        revert: String,
        /// Limit for each of the two commands.
        timeout: Duration,
    },
}

impl Fault {
    /// A short kind name (`toxic`, `proxy_down`, `kill`, ...), as in results.json.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Toxic { .. } => "toxic",
            Fault::ProxyDown { .. } => "proxy_down",
            Fault::Kill { .. } => "kill",
            Fault::Freeze { .. } => "freeze",
            Fault::Restart { .. } => "restart",
            Fault::Llm { .. } => "llm",
            Fault::Exec { .. } => "exec",
        }
    }

    /// What the fault acts on: a proxy, a service, a provider or a command.
    pub fn target(&self) -> String {
        match self {
            Fault::Toxic { proxy, .. } | Fault::ProxyDown { proxy } => proxy.clone(),
            Fault::Kill { service } | Fault::Freeze { service } | Fault::Restart { service } => {
                service.to_string()
            }
            Fault::Llm { provider, .. } => provider.clone(),
            Fault::Exec { command, .. } => command.clone(),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Toxic { proxy, toxic } => {
                write!(f, "toxic {} on proxy {proxy}", toxic.kind)?;
                for (key, value) in &toxic.attributes {
                    write!(f, " {key}={value}{}", toxic.kind.unit_of(key))?;
                }
                write!(f, " ({}", toxic.stream)?;
                if toxic.toxicity < 1.0 {
                    write!(f, ", toxicity {}", toxic.toxicity)?;
                }
                f.write_str(")")
            }
            Fault::ProxyDown { proxy } => write!(f, "proxy {proxy} down"),
            Fault::Kill { service } => write!(f, "kill {service} (SIGKILL; restart to revert)"),
            Fault::Freeze { service } => write!(f, "freeze {service} (SIGSTOP; SIGCONT to revert)"),
            Fault::Restart { service } => write!(f, "stop {service} (start again to revert)"),
            Fault::Llm { provider, mode } => write!(f, "llm {provider} mode {mode}"),
            Fault::Exec {
                command, revert, ..
            } => write!(f, "exec `{command}` (revert `{revert}`)"),
        }
    }
}

/// A toxic: Toxiproxy's `{type, attributes, stream, toxicity}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Toxic {
    /// The toxic type.
    #[serde(rename = "type")]
    pub kind: ToxicKind,
    /// Every attribute of the type (defaults filled in), as Toxiproxy integers:
    /// milliseconds for `latency`, `jitter`, `delay` (slow_close) and
    /// `timeout`; microseconds for the slicer's `delay`; KB/s for `rate`;
    /// bytes for sizes.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// The direction it acts on.
    pub stream: Stream,
    /// The chance (0..=1) that a connection gets the toxic.
    pub toxicity: f64,
}

/// Toxic types gameday can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ToxicKind {
    /// Delay plus jitter.
    Latency,
    /// Rate limit.
    Bandwidth,
    /// Delayed close.
    SlowClose,
    /// Black hole, closing after a timeout.
    Timeout,
    /// TCP RST after a timeout.
    ResetPeer,
    /// Small chunks with delays.
    Slicer,
    /// Close after N bytes.
    LimitData,
}

impl ToxicKind {
    /// Every kind, in documentation order.
    pub const ALL: [ToxicKind; 7] = [
        ToxicKind::Latency,
        ToxicKind::Bandwidth,
        ToxicKind::SlowClose,
        ToxicKind::Timeout,
        ToxicKind::ResetPeer,
        ToxicKind::Slicer,
        ToxicKind::LimitData,
    ];

    /// The unit of one of the type's attributes, as Toxiproxy reads it:
    /// `ms` for times (`us` for the slicer's `delay`), `KB/s`, or bytes.
    pub fn unit_of(self, attribute: &str) -> &'static str {
        match (self, attribute) {
            (ToxicKind::Slicer, "delay") => "us",
            (ToxicKind::Bandwidth, "rate") => "KB/s",
            (_, "average_size" | "size_variation" | "bytes") => "B",
            _ => "ms",
        }
    }

    /// The Toxiproxy type name.
    pub fn name(self) -> &'static str {
        match self {
            ToxicKind::Latency => "latency",
            ToxicKind::Bandwidth => "bandwidth",
            ToxicKind::SlowClose => "slow_close",
            ToxicKind::Timeout => "timeout",
            ToxicKind::ResetPeer => "reset_peer",
            ToxicKind::Slicer => "slicer",
            ToxicKind::LimitData => "limit_data",
        }
    }
}

impl fmt::Display for ToxicKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The direction a toxic acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Client to server.
    Upstream,
    /// Server to client (the default).
    #[default]
    Downstream,
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stream::Upstream => "upstream",
            Stream::Downstream => "downstream",
        })
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    /// Whether `observed op bound` holds.
    pub fn holds<T: PartialOrd>(self, observed: &T, bound: &T) -> bool {
        match self {
            Op::Lt => observed < bound,
            Op::Le => observed <= bound,
            Op::Gt => observed > bound,
            Op::Ge => observed >= bound,
        }
    }

    /// The symbol as written (`<`, `<=`, `>`, `>=`).
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// `observed <op> value`, e.g. `error_rate: < 0.1%` or `p99: < 2s`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Comparison<T> {
    /// The operator.
    pub op: Op,
    /// The bound (fraction for rates and shares, a duration for latencies).
    pub value: T,
}

impl<T: PartialOrd> Comparison<T> {
    /// Whether an observed value satisfies the comparison.
    pub fn holds(&self, observed: &T) -> bool {
        self.op.holds(observed, &self.value)
    }
}

/// The six capabilities of the platform contract.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Answering chat turns.
    Chat,
    /// Streaming answers.
    Streaming,
    /// Reading conversation history.
    ConversationHistory,
    /// Usage analytics.
    Analytics,
    /// Response caching.
    Caching,
    /// Real-time usage counters.
    RealTimeUsage,
}

impl Capability {
    /// Every capability, in contract order.
    pub const ALL: [Capability; 6] = [
        Capability::Chat,
        Capability::Streaming,
        Capability::ConversationHistory,
        Capability::Analytics,
        Capability::Caching,
        Capability::RealTimeUsage,
    ];

    /// The field name in `GET /capabilities`.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Chat => "chat",
            Capability::Streaming => "streaming",
            Capability::ConversationHistory => "conversation_history",
            Capability::Analytics => "analytics",
            Capability::Caching => "caching",
            Capability::RealTimeUsage => "real_time_usage",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one capability must do during a phase.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CapabilityExpectation {
    /// Has this value throughout the phase.
    Holds(bool),
    /// Reaches `value` within `within` of the phase start and keeps it to the
    /// end of the phase.
    Becomes {
        /// The value it must reach.
        value: bool,
        /// Deadline from the phase start.
        within: Duration,
    },
    /// Is `true` again within `within` of the phase start (for `recovery`,
    /// the last revert) and stays true.
    Returns {
        /// Deadline from the phase start.
        within: Duration,
    },
}

/// What a provider's circuit breaker must do during a phase.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreakerExpectation {
    /// Opens within this long of the phase start.
    OpensWithin(Duration),
    /// Is closed within this long after the phase's fault is reverted (for
    /// `recovery`/`baseline`/`run`: of the phase start).
    ClosesWithin(Duration),
    /// Stays in this state throughout the phase.
    Stays(BreakerState),
}

/// Circuit breaker states of the platform contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Traffic flows.
    Closed,
    /// Failing fast.
    Open,
    /// Admitting trial calls.
    HalfOpen,
}

/// Whether the run's error budget must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BudgetExpectation {
    /// errors / requests <= 1 - availability.
    Within,
    /// The run is expected to overspend (a documented, expected failure).
    Exceeded,
}

/// What an alert rule must do over the run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertExpectation {
    /// Fires at some point.
    Fired,
    /// Never fires.
    NotFired,
    /// Fires within this long of the first fault being applied.
    FiredWithin(Duration),
}

/// The expectations of one phase.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct PhaseExpectations {
    /// `baseline`, `recovery`, `run`, `between`, or a timeline entry's name.
    pub phase: String,
    /// Failed requests / requests (fraction).
    pub error_rate: Option<Comparison<f64>>,
    /// Median latency.
    pub p50: Option<Comparison<Duration>>,
    /// 95th percentile latency.
    pub p95: Option<Comparison<Duration>>,
    /// 99th percentile latency.
    pub p99: Option<Comparison<Duration>>,
    /// Worst latency.
    pub max: Option<Comparison<Duration>>,
    /// 95th percentile time to first token of streaming turns.
    pub ttft_p95: Option<Comparison<Duration>>,
    /// Capability expectations (`all` already expanded to the six).
    pub capabilities: BTreeMap<Capability, CapabilityExpectation>,
    /// Breaker expectations, by provider name.
    pub breakers: BTreeMap<String, BreakerExpectation>,
    /// Share of answered turns served by each provider (fraction).
    pub providers: BTreeMap<String, Comparison<f64>>,
    /// Time from the (last) revert until error rate and capabilities are back
    /// to their baseline.
    pub recovery_time: Option<Comparison<Duration>>,
    /// Error budget of this phase (or of the run).
    pub budget: Option<BudgetExpectation>,
    /// Alert expectations by rule name (`run` only).
    pub alerts: BTreeMap<String, AlertExpectation>,
    /// `run` only: an inconclusive check fails the run.
    pub conclusive: Option<bool>,
}

/// A metric a [`Rule`] watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleMetric {
    /// Failed requests / requests over the window.
    ErrorRate,
    /// Median latency over the window.
    P50,
    /// 95th percentile latency over the window.
    P95,
    /// 99th percentile latency over the window.
    P99,
}

impl RuleMetric {
    /// The name as written in a rule.
    pub fn name(self) -> &'static str {
        match self {
            RuleMetric::ErrorRate => "error_rate",
            RuleMetric::P50 => "p50",
            RuleMetric::P95 => "p95",
            RuleMetric::P99 => "p99",
        }
    }
}

/// `metric op threshold for window`, e.g. `error_rate > 5% for 30s`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Rule {
    /// What is measured.
    pub metric: RuleMetric,
    /// How it is compared.
    pub op: Op,
    /// A fraction for `error_rate`; seconds for the latency percentiles.
    pub threshold: f64,
    /// How long the condition must hold continuously (sliding window).
    pub window: Duration,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let threshold = match self.metric {
            RuleMetric::ErrorRate => format!("{}%", trim_float(self.threshold * 100.0)),
            // `try_`: a hand-built rule may hold a negative or NaN threshold.
            _ => match Duration::try_from_secs_f64(self.threshold) {
                Ok(threshold) => format_duration(threshold),
                Err(_) => format!("{}s", self.threshold),
            },
        };
        write!(
            f,
            "{} {} {threshold} for {}",
            self.metric.name(),
            self.op,
            format_duration(self.window)
        )
    }
}

/// A named alert rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AlertRule {
    /// Name used in `expect.run.alerts`.
    pub name: String,
    /// The condition.
    pub rule: Rule,
    /// One of the seed's built-in rules (always defined).
    pub builtin: bool,
}

/// The seed's built-in alert rules, defined in every scenario:
/// `error-rate-1pct-5m` (error_rate > 1% for 5m) and `p95-5s-10m` (p95 > 5s for 10m).
pub fn builtin_alerts() -> Vec<AlertRule> {
    vec![
        AlertRule {
            name: "error-rate-1pct-5m".to_string(),
            rule: Rule {
                metric: RuleMetric::ErrorRate,
                op: Op::Gt,
                threshold: 0.01,
                window: Duration::from_secs(300),
            },
            builtin: true,
        },
        AlertRule {
            name: "p95-5s-10m".to_string(),
            rule: Rule {
                metric: RuleMetric::P95,
                op: Op::Gt,
                threshold: 5.0,
                window: Duration::from_secs(600),
            },
            builtin: true,
        },
    ]
}

impl Scenario {
    /// The expectations of a phase, if the scenario has any.
    pub fn expectations_for(&self, phase: &str) -> Option<&PhaseExpectations> {
        self.expect
            .iter()
            .find(|expectations| expectations.phase == phase)
    }

    /// The alert rule with this name (built-in or custom).
    pub fn alert(&self, name: &str) -> Option<&AlertRule> {
        self.alerts.iter().find(|alert| alert.name == name)
    }
}

/// Renders a duration the way a scenario file writes it (`250ms`, `1.5s`, `3m`, `1h`).
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis == 0 && duration.as_nanos() > 0 {
        return format!("{}us", duration.as_micros());
    }
    if millis.is_multiple_of(3_600_000) && millis > 0 {
        format!("{}h", millis / 3_600_000)
    } else if millis.is_multiple_of(60_000) && millis > 0 {
        format!("{}m", millis / 60_000)
    } else if millis.is_multiple_of(1000) {
        format!("{}s", millis / 1000)
    } else if millis > 1000 {
        format!("{}s", trim_float(duration.as_secs_f64()))
    } else {
        format!("{millis}ms")
    }
}

/// `0.1` not `0.10000000000000001`; integers without a decimal point.
pub(crate) fn trim_float(value: f64) -> String {
    let rounded = (value * 1e6).round() / 1e6;
    let text = format!("{rounded}");
    if text == "-0" { "0".to_string() } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_hold_by_operator() {
        let bound = Comparison {
            op: Op::Lt,
            value: 0.001,
        };
        assert!(bound.holds(&0.0));
        assert!(!bound.holds(&0.001));
        let at_least = Comparison {
            op: Op::Ge,
            value: 0.9,
        };
        assert!(at_least.holds(&0.9));
        assert!(!at_least.holds(&0.5));
    }

    #[test]
    fn durations_render_in_their_largest_exact_unit() {
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_secs(180)), "3m");
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn builtin_rules_render_as_written() {
        let rules: Vec<String> = builtin_alerts()
            .iter()
            .map(|alert| alert.rule.to_string())
            .collect();
        assert_eq!(rules, ["error_rate > 1% for 5m", "p95 > 5s for 10m"]);
    }
}
