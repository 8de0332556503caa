//! The `monitoring` section of a scenario: where the platform's Prometheus
//! is, and what its alerts and PromQL queries must show in each phase.
//!
//! ```yaml
//! monitoring:
//!   prometheus: lab            # or { url: https://prom.example.com, headers: {...} }
//!   alertmanager: http://alertmanager:9093   # optional; must answer at preflight
//!   expect:
//!     baseline:
//!       alerts: { LlmProviderDown: silent }
//!     primary-down:
//!       alerts:
//!         LlmProviderDown: { fires_within: 30s, resolves_within: 60s }
//!       queries:
//!         - query: max(platform_breaker_state{provider="primary",state="open"})
//!           is: ">= 1"
//! ```
//!
//! Decoded by `scenario::decode::monitoring`, checked across sections by
//! `scenario::validate`, collected during a run by `crate::monitor` and
//! judged by `crate::verdict::monitoring`.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::{Comparison, HeaderTemplate};

/// Where the platform's metrics and alerts are, and the expectations on them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Monitoring {
    /// The Prometheus that scrapes the platform and evaluates its alert rules.
    pub prometheus: PrometheusSource,
    /// An Alertmanager URL: recorded in the results and checked to answer at
    /// preflight (alert states themselves are read from Prometheus); a
    /// `${VAR}` template like every URL.
    pub alertmanager: Option<String>,
    /// Expectations per phase, in file order.
    pub expect: Vec<MonitoringPhase>,
}

impl Monitoring {
    /// Whether any phase has an expectation (then an unreachable Prometheus
    /// stops the run at preflight).
    pub fn has_expectations(&self) -> bool {
        self.expect
            .iter()
            .any(|phase| !phase.alerts.is_empty() || !phase.queries.is_empty())
    }

    /// Every alert name some phase expects something of, sorted, once each.
    pub fn alert_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .expect
            .iter()
            .flat_map(|phase| phase.alerts.keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// Which Prometheus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrometheusSource {
    /// The lab's own Prometheus (`target: lab` only), which loads
    /// `monitoring/rules-lab.yml`.
    Lab,
    /// The team's Prometheus, reached by URL.
    Url {
        /// Base URL (`http://` or `https://`), without a trailing slash (a
        /// `${VAR}` template, filled when the run starts).
        url: String,
        /// Headers sent with every query; `${VAR}` parts are filled from the
        /// environment at run time.
        headers: Vec<HeaderTemplate>,
    },
}

/// The monitoring expectations of one phase.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct MonitoringPhase {
    /// `baseline`, `recovery`, `run`, `between`, or a timeline entry's name.
    pub phase: String,
    /// Alert expectations by alert name (the `alertname` label).
    pub alerts: BTreeMap<String, AlertWatch>,
    /// PromQL checks, in file order.
    pub queries: Vec<QueryCheck>,
}

/// What one alert must do in a phase.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct AlertWatch {
    /// Fires within this long of the phase's fault being applied (of the
    /// phase start for phases without a fault): the time to detect.
    pub fires_within: Option<Duration>,
    /// Stops firing within this long of the phase's fault being reverted
    /// (of the phase end for phases without a fault): the time to resolve.
    pub resolves_within: Option<Duration>,
    /// Never fires during the phase.
    pub silent: bool,
    /// gameday's own alert rule (by name) to set beside this alert in the
    /// report: the detection gap. Default: the alert's `seed_rule` label.
    pub compare_with: Option<String>,
}

/// A PromQL query and the comparison its worst value over the phase must satisfy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct QueryCheck {
    /// The PromQL expression (an instant vector; several series are judged together).
    pub query: String,
    /// The comparison every value must satisfy (`< 0.01`, `>= 1`).
    pub comparison: Comparison<f64>,
}

/// The step of range queries over a phase.
pub const QUERY_STEP: Duration = Duration::from_secs(1);
