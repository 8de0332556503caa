//! The observer: polls the target's `/health`, `/capabilities` and
//! `/breakers` a few times a second while a game day runs, and keeps what it
//! saw as change points (a sample is recorded only when it differs from the
//! previous one, so a one-hour run stays small). The latest view is also
//! available live, for preflight, fault-effect evidence and the progress line.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::scenario::Secret;
use serde_json::Value;
use tokio::time::Instant;

use crate::results::{BreakerSample, CapabilitySample, HealthSample, Observations, PollError};

/// Where and how often to look.
#[derive(Debug, Clone)]
pub struct ObserverConfig {
    /// Base URL of the platform.
    pub base_url: String,
    /// Path of the health route (`/health`).
    pub health_path: String,
    /// Path of the capabilities route (`/capabilities`).
    pub capabilities_path: String,
    /// Path of the breakers route (`/breakers`); `None` when the target has none.
    pub breakers_path: Option<String>,
    /// Extra headers (values are secrets, wrapped until the request is built).
    pub headers: Vec<(String, Secret)>,
    /// Time between polls.
    pub interval: Duration,
    /// Timeout of one poll.
    pub timeout: Duration,
}

/// The latest view of the target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Latest {
    /// Capability name → on, if the last poll answered.
    pub capabilities: Option<BTreeMap<String, bool>>,
    /// Provider → breaker state, if the last poll answered.
    pub breakers: Option<BTreeMap<String, String>>,
    /// Overall health status and components, if the last poll answered.
    pub health: Option<(String, BTreeMap<String, String>)>,
}

/// A running observer.
#[derive(Clone)]
pub struct Observer {
    shared: Arc<Mutex<State>>,
}

struct State {
    latest: Latest,
    record: Observations,
    last_error: BTreeMap<String, String>,
}

/// The observer could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    /// A header name or value is invalid (the value is not shown: it may be a secret).
    #[error("invalid header '{0}'")]
    Header(String),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

impl Observer {
    /// Starts polling from now until `stop` resolves; `start` is the run's time zero.
    pub fn spawn(
        config: ObserverConfig,
        start: Instant,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(Self, tokio::task::JoinHandle<()>), ObserveError> {
        let headers =
            crate::scenario::secret::header_map(&config.headers).map_err(ObserveError::Header)?;
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(config.timeout)
            .build()?;
        let observer = Self {
            shared: Arc::new(Mutex::new(State {
                latest: Latest::default(),
                record: Observations {
                    interval_s: config.interval.as_secs_f64(),
                    ..Observations::default()
                },
                last_error: BTreeMap::new(),
            })),
        };
        let task_observer = observer.clone();
        let task = tokio::spawn(async move {
            tokio::pin!(stop);
            let mut ticker = tokio::time::interval(config.interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = &mut stop => break,
                    _ = ticker.tick() => task_observer.poll_once(&http, &config, start).await,
                }
            }
        });
        Ok((observer, task))
    }

    /// The latest view.
    pub fn latest(&self) -> Latest {
        self.lock().latest.clone()
    }

    /// The last failure of a poll of `route` (a path such as `/health`),
    /// if any poll of it has failed.
    pub fn last_error(&self, route: &str) -> Option<String> {
        self.lock().last_error.get(route).cloned()
    }

    /// Everything recorded so far.
    pub fn observations(&self) -> Observations {
        self.lock().record.clone()
    }

    /// Polls every route once, concurrently, and records what changed.
    pub async fn poll_once(&self, http: &reqwest::Client, config: &ObserverConfig, start: Instant) {
        let url = |path: &str| format!("{}{}", config.base_url.trim_end_matches('/'), path);
        let health = fetch(http, url(&config.health_path));
        let capabilities = fetch(http, url(&config.capabilities_path));
        let breakers = async {
            match &config.breakers_path {
                Some(path) => Some(fetch(http, url(path)).await),
                None => None,
            }
        };
        let (health, capabilities, breakers) = tokio::join!(health, capabilities, breakers);
        let t = start.elapsed().as_secs_f64();
        let mut state = self.lock();
        match capabilities.and_then(|v| parse_capabilities(&v)) {
            Ok(caps) => {
                if state.record.capabilities.last().map(|s| &s.capabilities) != Some(&caps) {
                    state.record.capabilities.push(CapabilitySample {
                        t,
                        capabilities: caps.clone(),
                    });
                }
                state.latest.capabilities = Some(caps);
            }
            Err(message) => state.poll_error(t, &config.capabilities_path, message),
        }
        match health.and_then(|v| parse_health(&v)) {
            Ok((status, components)) => {
                let changed = state
                    .record
                    .health
                    .last()
                    .is_none_or(|s| s.status != status || s.components != components);
                if changed {
                    state.record.health.push(HealthSample {
                        t,
                        status: status.clone(),
                        components: components.clone(),
                    });
                }
                state.latest.health = Some((status, components));
            }
            Err(message) => state.poll_error(t, &config.health_path, message),
        }
        if let Some(result) = breakers {
            match result.and_then(|v| parse_breakers(&v)) {
                Ok(states) => {
                    if state.record.breakers.last().map(|s| &s.states) != Some(&states) {
                        state.record.breakers.push(BreakerSample {
                            t,
                            states: states.clone(),
                        });
                    }
                    state.latest.breakers = Some(states);
                }
                Err(message) => {
                    let route = config.breakers_path.clone().unwrap_or_default();
                    state.poll_error(t, &route, message);
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    /// Records a failed poll when its message differs from the last one for that route.
    fn poll_error(&mut self, t: f64, route: &str, message: String) {
        if self.last_error.get(route) == Some(&message) {
            return;
        }
        self.last_error.insert(route.to_owned(), message.clone());
        // Bounded: a target that never answers still yields a small record.
        if self.record.poll_errors.len() < 1000 {
            self.record.poll_errors.push(PollError {
                t,
                route: route.to_owned(),
                message,
            });
        }
    }
}

/// GETs a JSON body. Health routes answer 503 with a body when unhealthy, so any status with JSON counts.
async fn fetch(http: &reqwest::Client, url: String) -> Result<Value, String> {
    let response = http.get(&url).send().await.map_err(|e| {
        if e.is_timeout() {
            "timed out".to_owned()
        } else {
            format!("no answer: {}", without_url(&e))
        }
    })?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("body: {}", without_url(&e)))?;
    serde_json::from_slice(&body).map_err(|_| format!("HTTP {status}: not JSON"))
}

/// The error and its causes (a bad certificate named as such), without the URL.
fn without_url(error: &reqwest::Error) -> String {
    let mut text = crate::traffic::failures::describe_error(error);
    if let Some(url) = error.url() {
        text = text.replace(&format!(" for url ({url})"), "");
        text = text.replace(url.as_str(), "<url>");
    }
    text
}

/// `{"chat": true, ...}` → map of booleans (non-boolean fields ignored).
pub fn parse_capabilities(value: &Value) -> Result<BTreeMap<String, bool>, String> {
    let object = value
        .as_object()
        .ok_or("capabilities: expected a JSON object")?;
    let caps: BTreeMap<String, bool> = object
        .iter()
        .filter_map(|(name, v)| v.as_bool().map(|b| (name.clone(), b)))
        .collect();
    if caps.is_empty() {
        return Err("capabilities: no boolean fields".to_owned());
    }
    Ok(caps)
}

/// `{"status", "components": [{"name", "status"}]}` (components may also be an object by name).
pub fn parse_health(value: &Value) -> Result<(String, BTreeMap<String, String>), String> {
    let status = value
        .get("status")
        .and_then(Value::as_str)
        .ok_or("health: no \"status\" string")?
        .to_owned();
    let mut components = BTreeMap::new();
    match value.get("components") {
        Some(Value::Array(list)) => {
            for component in list {
                if let (Some(name), Some(status)) = (
                    component.get("name").and_then(Value::as_str),
                    component.get("status").and_then(Value::as_str),
                ) {
                    components.insert(name.to_owned(), status.to_owned());
                }
            }
        }
        Some(Value::Object(map)) => {
            for (name, component) in map {
                let status = component
                    .as_str()
                    .or_else(|| component.get("status").and_then(Value::as_str));
                if let Some(status) = status {
                    components.insert(name.clone(), status.to_owned());
                }
            }
        }
        _ => {}
    }
    Ok((status, components))
}

/// `{"providers": [{"provider", "state"}]}`, or a list at the top level, or an object by provider.
pub fn parse_breakers(value: &Value) -> Result<BTreeMap<String, String>, String> {
    let list = value.get("providers").unwrap_or(value);
    let mut states = BTreeMap::new();
    match list {
        Value::Array(items) => {
            for item in items {
                let name = item
                    .get("provider")
                    .or_else(|| item.get("name"))
                    .and_then(Value::as_str);
                if let (Some(name), Some(state)) = (name, item.get("state").and_then(Value::as_str))
                {
                    states.insert(name.to_owned(), state.to_owned());
                }
            }
        }
        Value::Object(map) => {
            for (name, item) in map {
                let state = item
                    .as_str()
                    .or_else(|| item.get("state").and_then(Value::as_str));
                if let Some(state) = state {
                    states.insert(name.clone(), state.to_owned());
                }
            }
        }
        _ => return Err("breakers: expected a list or an object".to_owned()),
    }
    Ok(states)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_reference_shapes() {
        let caps = parse_capabilities(&json!({"chat": true, "caching": false, "x": 1})).unwrap();
        assert_eq!(caps.len(), 2);
        assert!(!caps["caching"]);
        let (status, components) = parse_health(&json!({
            "status": "degraded",
            "components": [{"name": "redis", "status": "unhealthy"}]
        }))
        .unwrap();
        assert_eq!(status, "degraded");
        assert_eq!(components["redis"], "unhealthy");
        let breakers = parse_breakers(&json!({"providers": [
            {"provider": "primary", "state": "open"}, {"provider": "fallback", "state": "closed"}
        ]}))
        .unwrap();
        assert_eq!(breakers["primary"], "open");
    }

    #[test]
    fn accepts_other_common_shapes_and_refuses_nonsense() {
        let breakers = parse_breakers(&json!({"openai": {"state": "half_open"}})).unwrap();
        assert_eq!(breakers["openai"], "half_open");
        let (_, components) =
            parse_health(&json!({"status": "healthy", "components": {"db": "healthy"}})).unwrap();
        assert_eq!(components["db"], "healthy");
        assert!(parse_capabilities(&json!([1, 2])).is_err());
        assert!(parse_capabilities(&json!({})).is_err());
        assert!(parse_health(&json!({"components": []})).is_err());
        assert!(parse_breakers(&json!(3)).is_err());
    }
}
