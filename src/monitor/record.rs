//! What a run kept of the platform's monitoring (`monitoring` in
//! results.json) and what the verdict made of it (`verdict.monitoring`):
//! plain data, so `gameday report` re-renders and re-judges offline.
//!
//! Times are seconds from the run start, like every `*_s` in results.json.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The monitoring side of a run, collected from Prometheus after the run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MonitoringRecord {
    /// The Prometheus queried (no credentials: headers are never recorded).
    pub prometheus: String,
    /// The Alertmanager checked at preflight, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alertmanager: Option<String>,
    /// Every alert that fired during the run, from `ALERTS{alertstate="firing"}`.
    #[serde(default)]
    pub alerts: Vec<AlertTimeline>,
    /// Every PromQL check's query and values over its phase.
    #[serde(default)]
    pub queries: Vec<QueryRecord>,
    /// Why collecting failed, if it did (the checks are then inconclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One alert (by `alertname`) and when it was firing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertTimeline {
    /// The `alertname` label.
    pub name: String,
    /// The other labels of its first series (`severity`, `seed_rule`, `provider`, ...).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Firing intervals, in time order (any series of the alert firing).
    pub firing: Vec<FiringInterval>,
}

/// A stretch of time an alert was firing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FiringInterval {
    /// First sample seen firing.
    pub start_s: f64,
    /// First sample no longer firing; absent while it still fired when the run ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_s: Option<f64>,
}

/// A PromQL check's query and what Prometheus answered over the phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryRecord {
    /// The phase it was judged over.
    pub phase: String,
    /// The PromQL expression.
    pub query: String,
    /// One entry per series returned (capped).
    #[serde(default)]
    pub series: Vec<QuerySeries>,
    /// Why the query failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One series of a range query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuerySeries {
    /// Its labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `[t_s, value]` pairs, one per query step.
    pub values: Vec<(f64, f64)>,
}

/// The verdict's reading of the alerts: when each fired and resolved, against
/// the fault timeline and against gameday's own rule on its own traffic.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MonitoringVerdict {
    /// One row per alert that fired or was expected.
    pub alerts: Vec<AlertSummary>,
}

/// One alert against the fault timeline.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AlertSummary {
    /// The alert name.
    pub name: String,
    /// When it first fired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fired_at_s: Option<f64>,
    /// When that firing ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at_s: Option<f64>,
    /// The fault it fired in (the one whose window holds the firing, else the
    /// last one applied before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    /// Time to detect: from that fault's apply to the firing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detect_s: Option<f64>,
    /// Time to resolve: from that fault's revert to the end of the firing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve_s: Option<f64>,
    /// gameday's own alert rule compared with it (the alert's `seed_rule`
    /// label, or the expectation's `compare_with`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gameday_rule: Option<String>,
    /// When that rule fired on gameday's own traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gameday_fired_at_s: Option<f64>,
    /// The detection gap: the platform's alert time minus gameday's rule time
    /// (positive: users saw the problem that much before the pager did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap_s: Option<f64>,
}
