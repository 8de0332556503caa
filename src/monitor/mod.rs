//! Monitoring in the loop: gameday reads the platform's Prometheus (the
//! lab's, or the team's) to see whether the platform's own alerts noticed
//! the faults and what its metrics showed.
//!
//! - [`PrometheusClient`]: the HTTP API (`/api/v1/query`, `/api/v1/query_range`)
//!   with the scenario's headers and a timeout on every call.
//! - [`preflight`]: before any traffic or fault, Prometheus (and the
//!   Alertmanager, when given) must answer; otherwise the run stops (exit 2).
//! - [`collect`]: after the run, before the lab stops, reads every alert's
//!   firing intervals from `ALERTS{alertstate="firing"}` (a range query at a
//!   1 s step over the run: Prometheus keeps the alert history itself, so
//!   nothing is polled during the run and a slow poll cannot miss a short
//!   firing) and each PromQL check's range query over its phase.
//! - [`record`]: the results.json types.
//!
//! Precision: alert times are those of the range query's 1 s steps (and of
//! Prometheus's own evaluation interval, 1 s in the lab).

pub mod record;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::results::PhaseWindow;
use crate::scenario::Secret;
use crate::scenario::monitoring::{Monitoring, PrometheusSource, QUERY_STEP};

use record::{AlertTimeline, FiringInterval, MonitoringRecord, QueryRecord, QuerySeries};

/// Series of a query: labels and `(unix time, value)` points.
type Series = Vec<(BTreeMap<String, String>, Vec<(f64, f64)>)>;

/// Timeout of one call to Prometheus or Alertmanager.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// At most this many series are kept per query (and alerts per run).
const MAX_SERIES: usize = 20;

/// A call to Prometheus failed.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The scenario names the lab's Prometheus but the lab has none.
    #[error(
        "the scenario reads the lab's Prometheus, but the lab has none: install it \
         (apt-get install -y --no-install-recommends prometheus) or set GAMEDAY_PROMETHEUS"
    )]
    NoLabPrometheus,
    /// A header template could not be filled from the environment.
    #[error("monitoring.prometheus.headers: {0}")]
    Headers(String),
    /// A URL template could not be filled from the environment.
    #[error(transparent)]
    Url(#[from] crate::scenario::TemplateError),
    /// The request failed or timed out.
    #[error("{url}: {message}")]
    Http {
        /// What was called (without query string).
        url: String,
        /// What went wrong.
        message: String,
    },
    /// Prometheus answered with an error.
    #[error("{url}: Prometheus says {message}")]
    Api {
        /// What was called.
        url: String,
        /// Its `errorType: error`.
        message: String,
    },
}

/// The Prometheus HTTP API.
#[derive(Debug, Clone)]
pub struct PrometheusClient {
    base: String,
    http: reqwest::Client,
}

impl PrometheusClient {
    /// A client for the scenario's Prometheus; `lab_url` is the lab's, if it runs one.
    pub fn for_scenario(
        monitoring: &Monitoring,
        lab_url: Option<&str>,
    ) -> Result<Self, MonitorError> {
        let (base, headers) = match &monitoring.prometheus {
            PrometheusSource::Lab => (
                lab_url.ok_or(MonitorError::NoLabPrometheus)?.to_owned(),
                Vec::new(),
            ),
            PrometheusSource::Url { url, headers } => {
                // The same resolution (and redaction) as the target's headers.
                let resolved = crate::scenario::secret::resolve_headers(headers)
                    .map_err(|error| MonitorError::Headers(error.to_string()))?;
                let url = crate::scenario::template::resolve_url(
                    "monitoring.prometheus.url",
                    url,
                    &|name| std::env::var(name).ok(),
                )?;
                (url, resolved)
            }
        };
        Self::new(&base, headers)
    }

    /// A client for `base` (e.g. `http://127.0.0.1:9090`) sending `headers`.
    pub fn new(base: &str, headers: Vec<(String, Secret)>) -> Result<Self, MonitorError> {
        let headers = crate::scenario::secret::header_map(&headers).map_err(|name| {
            MonitorError::Headers(format!("`{name}` is not a valid HTTP header"))
        })?;
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .default_headers(headers)
            .build()
            .map_err(|error| MonitorError::Http {
                url: base.to_owned(),
                message: error.to_string(),
            })?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    /// Its base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Checks that Prometheus answers a query (`vector(1)`).
    pub async fn ready(&self) -> Result<(), MonitorError> {
        self.call("/api/v1/query", &[("query", "vector(1)".to_owned())])
            .await
            .map(|_| ())
    }

    /// An instant query: each series' labels and value.
    pub async fn query(
        &self,
        query: &str,
    ) -> Result<Vec<(BTreeMap<String, String>, f64)>, MonitorError> {
        let data = self
            .call("/api/v1/query", &[("query", query.to_owned())])
            .await?;
        Ok(data["result"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|series| {
                let value = sample_value(&series["value"])?;
                Some((labels(&series["metric"]), value.1))
            })
            .collect())
    }

    /// A range query from `start` to `end` (Unix seconds) at `step`: each
    /// series' labels and `(unix time, value)` points.
    pub async fn query_range(
        &self,
        query: &str,
        start: f64,
        end: f64,
        step: Duration,
    ) -> Result<Series, MonitorError> {
        let data = self
            .call(
                "/api/v1/query_range",
                &[
                    ("query", query.to_owned()),
                    ("start", format!("{start:.3}")),
                    ("end", format!("{end:.3}")),
                    ("step", format!("{}", step.as_secs_f64())),
                ],
            )
            .await?;
        Ok(data["result"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|series| {
                let points = series["values"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(sample_value)
                    .collect();
                (labels(&series["metric"]), points)
            })
            .collect())
    }

    /// GET `path` with `params`; the `data` of a `success` answer.
    async fn call(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<serde_json::Value, MonitorError> {
        let url = format!("{}{path}", self.base);
        let http_error = |message: String| MonitorError::Http {
            url: url.clone(),
            message,
        };
        let response = self
            .http
            .get(&url)
            .query(params)
            .send()
            .await
            .map_err(|error| http_error(without_url(&error)))?;
        let status = response.status();
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|_| http_error(format!("HTTP {status} without a Prometheus API answer")))?;
        if body["status"] != "success" {
            return Err(MonitorError::Api {
                url,
                message: body["error"]
                    .as_str()
                    .unwrap_or("an error (no message)")
                    .to_owned(),
            });
        }
        Ok(body["data"].clone())
    }
}

/// A reqwest error without the URL (which may carry query text).
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    match std::error::Error::source(error) {
        Some(source) => format!("{kind}: {source}"),
        None => kind.to_owned(),
    }
}

/// `[unix, "value"]` → `(unix, value)`.
fn sample_value(pair: &serde_json::Value) -> Option<(f64, f64)> {
    let time = pair.get(0)?.as_f64()?;
    let value: f64 = pair.get(1)?.as_str()?.parse().ok()?;
    Some((time, value))
}

fn labels(metric: &serde_json::Value) -> BTreeMap<String, String> {
    metric
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
        .collect()
}

/// Before anything runs: Prometheus answers a query, and the Alertmanager
/// (when given) answers `/-/ready`.
pub async fn preflight(
    client: &PrometheusClient,
    monitoring: &Monitoring,
) -> Result<(), MonitorError> {
    client.ready().await?;
    if let Some(alertmanager) = alertmanager_url(monitoring)? {
        let url = format!("{alertmanager}/-/ready");
        let response = client
            .http
            .get(&url)
            .send()
            .await
            .map_err(|error| MonitorError::Http {
                url: url.clone(),
                message: without_url(&error),
            })?;
        if !response.status().is_success() {
            return Err(MonitorError::Http {
                url,
                message: format!("HTTP {}", response.status()),
            });
        }
    }
    Ok(())
}

/// The Alertmanager's URL, filled from the environment.
fn alertmanager_url(monitoring: &Monitoring) -> Result<Option<String>, MonitorError> {
    let Some(template) = &monitoring.alertmanager else {
        return Ok(None);
    };
    let lookup = |name: &str| std::env::var(name).ok();
    Ok(Some(crate::scenario::template::resolve_url(
        "monitoring.alertmanager",
        template,
        &lookup,
    )?))
}

/// The Unix time of the run's start instant.
pub fn unix_time_of(start: tokio::time::Instant) -> f64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    now - start.elapsed().as_secs_f64()
}

/// After the run: every alert's firing intervals over `[0, end_s]` and each
/// PromQL check's values over its phase windows. A failed call is recorded
/// (the verdict makes the affected checks inconclusive), never raised.
pub async fn collect(
    client: &PrometheusClient,
    monitoring: &Monitoring,
    start_unix: f64,
    end_s: f64,
    phases: &[PhaseWindow],
) -> MonitoringRecord {
    let mut record = MonitoringRecord {
        prometheus: client.url().to_owned(),
        alertmanager: alertmanager_url(monitoring).ok().flatten(),
        ..MonitoringRecord::default()
    };
    let step = QUERY_STEP.as_secs_f64();
    match client
        .query_range(
            r#"ALERTS{alertstate="firing"}"#,
            start_unix,
            start_unix + end_s,
            QUERY_STEP,
        )
        .await
    {
        Ok(series) => {
            record.alerts = alert_timelines(series, start_unix, start_unix + end_s, step);
        }
        Err(error) => record.error = Some(error.to_string()),
    }
    for phase in &monitoring.expect {
        for check in &phase.queries {
            let mut query = QueryRecord {
                phase: phase.phase.clone(),
                query: check.query.clone(),
                series: Vec::new(),
                error: None,
            };
            for window in phases.iter().filter(|w| w.name == phase.phase) {
                match client
                    .query_range(
                        &check.query,
                        start_unix + window.start_s,
                        start_unix + window.end_s,
                        QUERY_STEP,
                    )
                    .await
                {
                    Ok(series) => {
                        for (labels, points) in series {
                            let values = points
                                .into_iter()
                                .map(|(t, v)| (round3(t - start_unix), v))
                                .collect();
                            if query.series.len() < MAX_SERIES {
                                query.series.push(QuerySeries { labels, values });
                            }
                        }
                    }
                    Err(error) => query.error = Some(error.to_string()),
                }
            }
            record.queries.push(query);
        }
    }
    record
}

/// Firing intervals per alert name from `ALERTS{alertstate="firing"}`
/// points of a range query that ended at `end_unix`: points closer than 1.5
/// steps belong to one interval; an interval ends one step after its last
/// point (the first step not seen firing), unless that step is past the end
/// of the query (still firing when the run ended).
fn alert_timelines(
    series: Series,
    start_unix: f64,
    end_unix: f64,
    step: f64,
) -> Vec<AlertTimeline> {
    let mut by_name: BTreeMap<String, (BTreeMap<String, String>, Vec<f64>)> = BTreeMap::new();
    for (mut labels, points) in series {
        let Some(name) = labels.remove("alertname") else {
            continue;
        };
        labels.remove("alertstate");
        let entry = by_name.entry(name).or_insert_with(|| (labels, Vec::new()));
        entry.1.extend(points.iter().map(|(t, _)| *t));
    }
    let mut timelines: Vec<AlertTimeline> = by_name
        .into_iter()
        .map(|(name, (labels, mut times))| {
            times.sort_by(f64::total_cmp);
            times.dedup();
            let mut firing: Vec<FiringInterval> = Vec::new();
            let mut previous: Option<f64> = None;
            for t in times {
                match (previous, firing.last_mut()) {
                    (Some(p), Some(_)) if t - p <= step * 1.5 => {}
                    (Some(p), Some(open)) => {
                        open.end_s = Some(round3(p + step - start_unix));
                        firing.push(FiringInterval {
                            start_s: round3(t - start_unix),
                            end_s: None,
                        });
                    }
                    _ => firing.push(FiringInterval {
                        start_s: round3(t - start_unix),
                        end_s: None,
                    }),
                }
                previous = Some(t);
            }
            if let (Some(p), Some(open)) = (previous, firing.last_mut())
                && p + step <= end_unix
            {
                open.end_s = Some(round3(p + step - start_unix));
            }
            AlertTimeline {
                name,
                labels,
                firing,
            }
        })
        .collect();
    timelines.truncate(MAX_SERIES);
    timelines
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(name: &str, times: &[f64]) -> (BTreeMap<String, String>, Vec<(f64, f64)>) {
        let labels = BTreeMap::from([
            ("alertname".to_owned(), name.to_owned()),
            ("alertstate".to_owned(), "firing".to_owned()),
            ("severity".to_owned(), "page".to_owned()),
        ]);
        (labels, times.iter().map(|t| (*t, 1.0)).collect())
    }

    #[test]
    fn firing_points_become_intervals_relative_to_the_run_start() {
        let timelines = alert_timelines(
            vec![
                alert("A", &[1010.0, 1011.0, 1012.0, 1020.0, 1021.0]),
                alert("B", &[1030.0]),
            ],
            1000.0,
            1030.5,
            1.0,
        );
        assert_eq!(timelines.len(), 2);
        assert_eq!(timelines[0].name, "A");
        assert_eq!(timelines[0].labels["severity"], "page");
        assert!(!timelines[0].labels.contains_key("alertstate"));
        assert_eq!(
            timelines[0].firing,
            [
                FiringInterval {
                    start_s: 10.0,
                    end_s: Some(13.0)
                },
                FiringInterval {
                    start_s: 20.0,
                    end_s: Some(22.0)
                },
            ]
        );
        // Alone, an alert that stopped before the end is resolved too.
        let alone = alert_timelines(vec![alert("A", &[1010.0, 1011.0])], 1000.0, 1030.5, 1.0);
        assert_eq!(alone[0].firing[0].end_s, Some(12.0));
        // B fires at the last step before the end: still firing when the run ended.
        assert_eq!(
            timelines[1].firing,
            [FiringInterval {
                start_s: 30.0,
                end_s: None
            }]
        );
    }
}
