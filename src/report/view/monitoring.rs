//! The report's view of the platform's own alerts: one row per alert with
//! its firing and resolving times against the fault timeline, and beside it
//! gameday's own rule on its own traffic (the detection gap).

use serde::Serialize;

use crate::results::{AlertSummary, Results};

use super::super::format;

/// One platform alert.
#[derive(Debug, Serialize)]
pub struct MonitoringRow {
    /// Alert name.
    pub name: String,
    /// When it first fired (`-` if never).
    pub fired_at: String,
    /// When that firing ended.
    pub resolved_at: String,
    /// The fault it fired in.
    pub fault: String,
    /// Time to detect.
    pub detect: String,
    /// Time to resolve.
    pub resolve: String,
    /// gameday's own rule and when it fired.
    pub gameday: String,
    /// The detection gap.
    pub gap: String,
}

/// The Prometheus the run read, and the rows.
#[derive(Debug, Serialize)]
pub struct MonitoringView {
    /// Its URL.
    pub prometheus: String,
    /// Why collecting failed, if it did.
    pub error: String,
    /// One row per alert.
    pub rows: Vec<MonitoringRow>,
}

/// The section, when the run read a Prometheus.
pub fn monitoring(results: &Results) -> Option<MonitoringView> {
    let record = results.record.monitoring.as_ref()?;
    let rows = results
        .verdict
        .as_ref()
        .and_then(|verdict| verdict.monitoring.as_ref())
        .map(|summary| summary.alerts.iter().take(50).map(row).collect())
        .unwrap_or_default();
    Some(MonitoringView {
        prometheus: format::clean_truncated(&record.prometheus, 300),
        error: format::clean_truncated(record.error.as_deref().unwrap_or(""), 500),
        rows,
    })
}

fn row(alert: &AlertSummary) -> MonitoringRow {
    let at = |t: Option<f64>| t.map_or_else(|| "-".to_string(), format::offset);
    let took = |t: Option<f64>| t.map_or_else(|| "-".to_string(), format::duration);
    let gameday = match (&alert.gameday_rule, alert.gameday_fired_at_s) {
        (Some(rule), Some(t)) => format!("{rule} at {}", format::offset(t)),
        (Some(rule), None) => format!("{rule}: did not fire"),
        (None, _) => "-".to_string(),
    };
    let gap = match alert.gap_s {
        Some(gap) if gap >= 0.0 => format!("{} after gameday's rule", format::duration(gap)),
        Some(gap) => format!("{} before gameday's rule", format::duration(-gap)),
        None => "-".to_string(),
    };
    MonitoringRow {
        name: format::clean_truncated(&alert.name, 200),
        fired_at: if alert.fired_at_s.is_some() {
            at(alert.fired_at_s)
        } else {
            "never fired".to_string()
        },
        resolved_at: match (alert.fired_at_s, alert.resolved_at_s) {
            (Some(_), None) => "still firing at the end".to_string(),
            (_, t) => at(t),
        },
        fault: format::clean_truncated(alert.fault.as_deref().unwrap_or("-"), 200),
        detect: took(alert.detect_s),
        resolve: took(alert.resolve_s),
        gameday: format::clean_truncated(&gameday, 300),
        gap,
    }
}
