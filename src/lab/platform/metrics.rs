//! The platform's Prometheus metrics (`GET /metrics`, optional in
//! docs/platform-contract.md): the golden signals counted on the request path
//! and the platform's state read at scrape time.
//!
//! Counted as requests happen (atomic counters; a label family takes a short
//! read lock to find its series, never held across an await):
//!
//! | metric | labels |
//! | --- | --- |
//! | `platform_http_requests_total` | `route`, `method`, `status_class` |
//! | `platform_http_request_duration_seconds` (histogram) | `route` |
//! | `platform_llm_calls_total` | `provider`, `model`, `outcome` |
//! | `platform_llm_tokens_total` | `provider`, `model`, `direction` |
//! | `platform_cache_lookups_total` | `result` (`hit`, `miss`, `error`) |
//!
//! Read from the platform's state on each scrape (a [`Collector`]):
//!
//! | metric | labels |
//! | --- | --- |
//! | `platform_breaker_state` (1 for the current state, 0 otherwise) | `provider`, `state` |
//! | `platform_breaker_opened_total` | `provider` |
//! | `platform_capability_enabled` (1 on, 0 off) | `capability` |
//! | `platform_component_status` (1 for the current status, 0 otherwise) | `component`, `status` |

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::health::{HealthChecker, Status};
use super::llm::{BreakerState, FailoverClient, FailureReason};

/// `Content-Type` of the Prometheus text format (0.0.4) served at `/metrics`.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Latency buckets in seconds: fine below a second, and edges at the seed's
/// 5 s alert threshold so `histogram_quantile(0.95, ...) > 5` is exact there.
const LATENCY_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 30.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status_class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    provider: String,
    model: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    provider: String,
    model: String,
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    result: &'static str,
}

/// A cache lookup's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheLookup {
    /// A cached reply was found.
    Hit,
    /// No cached reply.
    Miss,
    /// Redis failed or timed out.
    Error,
}

/// The platform's metrics: counters the request path moves, and a registry
/// that also reads breakers, capabilities and component health when scraped.
pub struct PlatformMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    llm_calls: Family<CallLabels, Counter>,
    tokens: Family<TokenLabels, Counter>,
    cache: Family<CacheLabels, Counter>,
    /// Each provider's configured model, for failed attempts (which report
    /// only the provider).
    models: HashMap<String, String>,
}

impl std::fmt::Debug for PlatformMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformMetrics").finish_non_exhaustive()
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

impl PlatformMetrics {
    /// A registry with every metric, reading state from `llm` and `health` at scrape time.
    pub fn new(llm: Arc<FailoverClient>, health: Arc<HealthChecker>) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let llm_calls = Family::<CallLabels, Counter>::default();
        let tokens = Family::<TokenLabels, Counter>::default();
        let cache = Family::<CacheLabels, Counter>::default();
        registry.register(
            "platform_http_requests",
            "HTTP requests answered, by route, method and status class",
            requests.clone(),
        );
        registry.register(
            "platform_http_request_duration_seconds",
            "Time from request to response head, by route",
            latency.clone(),
        );
        registry.register(
            "platform_llm_calls",
            "LLM provider attempts by provider, model and outcome (success, or why the \
             provider did not serve: timeout, status, connect, malformed, breaker_open, ...)",
            llm_calls.clone(),
        );
        registry.register(
            "platform_llm_tokens",
            "LLM tokens by provider, model and direction (input, output)",
            tokens.clone(),
        );
        registry.register(
            "platform_cache_lookups",
            "Response cache lookups by result (hit, miss, error)",
            cache.clone(),
        );
        let models = llm.provider_models().into_iter().collect();
        registry.register_collector(Box::new(StateCollector { llm, health }));
        Self {
            registry,
            requests,
            latency,
            llm_calls,
            tokens,
            cache,
            models,
        }
    }

    /// Counts one answered request. `route` is the matched route pattern
    /// (a fixed set, so label cardinality stays bounded).
    pub fn request(&self, route: &'static str, method: &'static str, status: u16, took: Duration) {
        let status_class = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status_class,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route })
            .observe(took.as_secs_f64());
    }

    /// Counts a served LLM call and its tokens.
    pub fn llm_success(&self, provider: &str, model: &str, input_tokens: u64, output_tokens: u64) {
        self.count_call(provider, model, "success");
        for (direction, count) in [("input", input_tokens), ("output", output_tokens)] {
            self.tokens
                .get_or_create(&TokenLabels {
                    provider: provider.to_owned(),
                    model: model.to_owned(),
                    direction,
                })
                .inc_by(count);
        }
    }

    /// Counts a provider that did not serve a call, with why.
    pub fn llm_failure(&self, provider: &str, reason: &FailureReason) {
        let model = self.models.get(provider).map_or("", String::as_str);
        self.count_call(provider, model, reason.kind());
    }

    /// Counts a provider that rejected the request itself (a 4xx not worth failing over).
    pub fn llm_rejected(&self, provider: &str) {
        let model = self.models.get(provider).map_or("", String::as_str);
        self.count_call(provider, model, "rejected");
    }

    /// Counts a stream that failed after its first token.
    pub fn llm_stream_failure(&self, provider: &str, model: &str) {
        self.count_call(provider, model, "stream_failed");
    }

    fn count_call(&self, provider: &str, model: &str, outcome: &'static str) {
        self.llm_calls
            .get_or_create(&CallLabels {
                provider: provider.to_owned(),
                model: model.to_owned(),
                outcome,
            })
            .inc();
    }

    /// Counts a cache lookup.
    pub fn cache_lookup(&self, lookup: CacheLookup) {
        let result = match lookup {
            CacheLookup::Hit => "hit",
            CacheLookup::Miss => "miss",
            CacheLookup::Error => "error",
        };
        self.cache.get_or_create(&CacheLabels { result }).inc();
    }

    /// Every metric in the Prometheus text format (0.0.4).
    pub fn render(&self) -> String {
        let mut text = String::with_capacity(8 * 1024);
        if let Err(error) =
            prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)
        {
            // Writing to a String cannot fail; keep what was written.
            tracing::warn!(%error, "encoding metrics failed");
        }
        text
    }
}

/// Reads breakers, capabilities and component health on each scrape.
struct StateCollector {
    llm: Arc<FailoverClient>,
    health: Arc<HealthChecker>,
}

impl std::fmt::Debug for StateCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateCollector").finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BreakerLabels {
    provider: String,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CapabilityLabels {
    capability: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ComponentLabels {
    component: String,
    status: &'static str,
}

const BREAKER_STATES: [(BreakerState, &str); 3] = [
    (BreakerState::Closed, "closed"),
    (BreakerState::Open, "open"),
    (BreakerState::HalfOpen, "half_open"),
];

const STATUSES: [(Status, &str); 3] = [
    (Status::Healthy, "healthy"),
    (Status::Degraded, "degraded"),
    (Status::Unhealthy, "unhealthy"),
];

impl Collector for StateCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let breakers = self.llm.breakers();
        let states = Family::<BreakerLabels, Gauge>::default();
        for breaker in &breakers {
            for (state, name) in BREAKER_STATES {
                states
                    .get_or_create(&BreakerLabels {
                        provider: breaker.provider.clone(),
                        state: name,
                    })
                    .set(i64::from(breaker.snapshot.state == state));
            }
        }
        states.encode(encoder.encode_descriptor(
            "platform_breaker_state",
            "Circuit breaker state per provider: 1 for the current state, 0 for the others",
            None,
            states.metric_type(),
        )?)?;

        let opened = ConstCounter::new(0u64);
        let mut metric = encoder.encode_descriptor(
            "platform_breaker_opened",
            "Times each provider's breaker opened",
            None,
            opened.metric_type(),
        )?;
        for breaker in &breakers {
            let labels = ProviderLabels {
                provider: breaker.provider.clone(),
            };
            ConstCounter::new(breaker.snapshot.counts.opened)
                .encode(metric.encode_family(&labels)?)?;
        }

        let report = self.health.latest();
        let capabilities = report.capabilities();
        let enabled = Family::<CapabilityLabels, Gauge>::default();
        for (capability, on) in [
            ("chat", capabilities.chat),
            ("streaming", capabilities.streaming),
            ("conversation_history", capabilities.conversation_history),
            ("analytics", capabilities.analytics),
            ("caching", capabilities.caching),
            ("real_time_usage", capabilities.real_time_usage),
        ] {
            enabled
                .get_or_create(&CapabilityLabels { capability })
                .set(i64::from(on));
        }
        enabled.encode(encoder.encode_descriptor(
            "platform_capability_enabled",
            "Capability map: 1 while the capability is offered, 0 while degraded",
            None,
            enabled.metric_type(),
        )?)?;

        let components = Family::<ComponentLabels, Gauge>::default();
        for component in &report.components {
            for (status, name) in STATUSES {
                components
                    .get_or_create(&ComponentLabels {
                        component: component.name.clone(),
                        status: name,
                    })
                    .set(i64::from(component.status == status));
            }
        }
        components.encode(encoder.encode_descriptor(
            "platform_component_status",
            "Component health from the latest check: 1 for the current status, 0 for the others",
            None,
            components.metric_type(),
        )?)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::clock::ManualClock;
    use crate::lab::platform::config::HealthSettings;
    use crate::lab::platform::llm::{ApiKind, FailoverSettings, ProviderConfig};
    use crate::lab::platform::storage::cache::RedisStore;
    use crate::lab::platform::storage::history::PgHistory;

    /// Metrics for a platform with `providers` providers (nothing is connected).
    fn metrics(providers: usize) -> PlatformMetrics {
        let clock: Arc<dyn crate::clock::Clock> = Arc::new(ManualClock::new());
        let configs = (0..providers)
            .map(|i| ProviderConfig {
                name: format!("provider-{i}"),
                kind: ApiKind::OpenAi,
                base_url: "http://127.0.0.1:1".to_owned(),
                model: format!("model-{i}"),
                api_key: None,
            })
            .collect();
        let llm = Arc::new(FailoverClient::new(
            configs,
            FailoverSettings::default(),
            Arc::clone(&clock),
            reqwest::Client::new(),
        ));
        let redis = RedisStore::new(
            "redis://127.0.0.1:1/",
            Duration::from_millis(50),
            Duration::from_secs(60),
        )
        .expect("a Redis URL");
        let database = Arc::new(
            PgHistory::new("postgres://u@127.0.0.1:1/db", Duration::from_millis(50), 1)
                .expect("a PostgreSQL URL"),
        );
        let health = Arc::new(HealthChecker::new(
            redis,
            database,
            Arc::clone(&llm),
            HealthSettings::default(),
            clock,
        ));
        PlatformMetrics::new(llm, health)
    }

    #[tokio::test]
    async fn ten_providers_render_every_series_quickly() {
        let metrics = metrics(10);
        for i in 0..10 {
            let provider = format!("provider-{i}");
            metrics.llm_success(&provider, &format!("model-{i}"), 10, 20);
            metrics.llm_failure(&provider, &FailureReason::Timeout);
        }
        metrics.request("/v1/chat", "POST", 200, Duration::from_millis(30));
        metrics.cache_lookup(CacheLookup::Hit);
        let text = metrics.render();
        // 3 breaker states per provider, and each provider's opened count.
        assert_eq!(
            text.matches("platform_breaker_state{").count(),
            30,
            "{text}"
        );
        assert_eq!(text.matches("platform_breaker_opened_total{").count(), 10);
        assert!(text.contains(
            r#"platform_llm_calls_total{provider="provider-3",model="model-3",outcome="timeout"} 1"#
        ));
        // The issue's bound is 5 ms per scrape with 10 providers; a debug
        // build on a loaded machine takes well under a millisecond, so the
        // median of 21 renders is held to that bound with a wide margin.
        let mut took: Vec<Duration> = (0..21)
            .map(|_| {
                let started = tokio::time::Instant::now();
                let rendered = metrics.render();
                assert!(!rendered.is_empty());
                started.elapsed()
            })
            .collect();
        took.sort();
        assert!(took[10] < Duration::from_millis(5), "median {:?}", took[10]);
    }
}
