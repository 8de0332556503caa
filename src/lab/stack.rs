//! The whole built-in lab on one machine: managed Redis and PostgreSQL, two
//! LLM provider simulators (an OpenAI-style primary and an Anthropic-style
//! fallback), the reference platform wired to them, and, when asked
//! ([`LabOptions::monitoring`]), a Prometheus scraping the platform with the
//! lab alert rules (when the `prometheus` binary is installed; without it the
//! lab runs unmonitored and says so once), all on
//! loopback. Dropping a [`Lab`] stops everything (the services' own `Drop`
//! kills them).

use std::sync::Arc;
use std::time::Duration;

use super::llm_sim::{Mode, RunningSim, SimConfig};
use super::platform::config::PlatformConfig;
use super::platform::llm::{ApiKind, ProviderConfig};
use super::platform::server::{PlatformError, RunningPlatform};
use super::proxy::{RunningProxy, ServerConfig};
use super::services::service::url_for;
use super::services::{
    Binaries, ManagedPrometheus, ManagedService, PrometheusError, ServiceError, ServiceKind,
};
use crate::clock::Clock;
use crate::faults::toxiproxy::{Client, NewProxy};

/// Tuning of the lab, with defaults that make a short game day show every transition.
#[derive(Debug, Clone)]
pub struct LabOptions {
    /// Seed of the simulators (reproducible failure sequences).
    pub seed: u64,
    /// Consecutive failures that open a breaker.
    pub breaker_threshold: u32,
    /// How long an open breaker waits before trial calls.
    pub breaker_recovery: Duration,
    /// How often the platform refreshes component health.
    pub health_interval: Duration,
    /// How long the platform reuses an LLM probe.
    pub llm_probe_interval: Duration,
    /// Timeout of one LLM attempt.
    pub attempt_timeout: Duration,
    /// Timeout of one PostgreSQL query on the request path.
    pub db_timeout: Duration,
    /// Put an embedded Toxiproxy-compatible proxy in front of every
    /// dependency (proxies `redis`, `postgres`, `primary`, `fallback`).
    pub proxied: bool,
    /// Start a Prometheus scraping the platform (when the binary is
    /// installed). Off by default: `gameday lab` and runs that read the
    /// lab's Prometheus turn it on; other labs (most tests) do without.
    pub monitoring: bool,
}

impl Default for LabOptions {
    fn default() -> Self {
        Self {
            seed: 1,
            breaker_threshold: 3,
            breaker_recovery: Duration::from_secs(3),
            health_interval: Duration::from_millis(250),
            llm_probe_interval: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(2),
            db_timeout: Duration::from_secs(1),
            proxied: false,
            monitoring: false,
        }
    }
}

/// The lab failed to come up.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// Redis or PostgreSQL.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// A simulator could not bind.
    #[error("LLM simulator: {0}")]
    Simulator(#[from] std::io::Error),
    /// The embedded proxy could not start or be configured.
    #[error("embedded proxy: {0}")]
    Proxy(String),
    /// The platform.
    #[error(transparent)]
    Platform(#[from] PlatformError),
    /// The lab's Prometheus.
    #[error(transparent)]
    Prometheus(#[from] PrometheusError),
}

/// Everything running.
pub struct Lab {
    /// The managed Redis.
    pub redis: ManagedService,
    /// The managed PostgreSQL.
    pub postgres: ManagedService,
    /// The primary provider (OpenAI wire format).
    pub primary: RunningSim,
    /// The fallback provider (Anthropic wire format).
    pub fallback: RunningSim,
    /// The reference platform.
    pub platform: RunningPlatform,
    /// The embedded fault proxy, when the lab is proxied.
    pub proxy: Option<RunningProxy>,
    /// Prometheus scraping the platform (job `platform`) with the lab rules,
    /// when monitoring is on and the binary is installed.
    pub prometheus: Option<ManagedPrometheus>,
}

impl Lab {
    /// Starts every part and waits until each is ready.
    pub async fn start(
        binaries: &Binaries,
        options: &LabOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, LabError> {
        let (redis, postgres) = tokio::join!(
            ManagedService::start_redis(binaries),
            ManagedService::start_postgres(binaries)
        );
        let (redis, postgres) = (redis?, postgres?);
        let simulator = |name: &str, seed: u64| SimConfig {
            seed: Some(seed),
            mode: Mode::Healthy,
            name: name.to_owned(),
            ..SimConfig::default()
        };
        let primary = RunningSim::start(simulator("primary", options.seed)).await?;
        let fallback =
            RunningSim::start(simulator("fallback", options.seed.wrapping_add(1))).await?;
        // Where the platform reaches each dependency: directly, or through its proxy.
        let mut redis_addr = redis.addr();
        let mut postgres_addr = postgres.addr();
        let mut primary_addr = primary.addr;
        let mut fallback_addr = fallback.addr;
        let proxy = if options.proxied {
            let proxy = RunningProxy::start(ServerConfig {
                seed: Some(options.seed),
                max_connections: None,
            })
            .await
            .map_err(|e| LabError::Proxy(e.to_string()))?;
            let client =
                Client::new(&proxy.api_url()).map_err(|e| LabError::Proxy(e.to_string()))?;
            for (name, addr) in [
                ("redis", &mut redis_addr),
                ("postgres", &mut postgres_addr),
                ("primary", &mut primary_addr),
                ("fallback", &mut fallback_addr),
            ] {
                // An explicit port, so a proxy disabled and enabled again keeps it.
                let listen = free_loopback_port().map_err(|e| LabError::Proxy(e.to_string()))?;
                let created = client
                    .create_proxy(&NewProxy::new(name, listen.to_string(), addr.to_string()))
                    .await
                    .map_err(|e| LabError::Proxy(format!("creating proxy {name}: {e}")))?;
                *addr = created.listen.parse().map_err(|_| {
                    LabError::Proxy(format!("proxy {name} listens on '{}'", created.listen))
                })?;
            }
            Some(proxy)
        } else {
            None
        };
        let providers = vec![
            ProviderConfig {
                name: "primary".to_owned(),
                kind: ApiKind::OpenAi,
                base_url: format!("http://{primary_addr}"),
                model: "gpt-4o-mini".to_owned(),
                api_key: None,
            },
            ProviderConfig {
                name: "fallback".to_owned(),
                kind: ApiKind::Anthropic,
                base_url: format!("http://{fallback_addr}"),
                model: "claude-3-5-haiku-latest".to_owned(),
                api_key: None,
            },
        ];
        let mut config = PlatformConfig::new(
            url_for(ServiceKind::Redis, redis_addr, redis.password()),
            url_for(ServiceKind::Postgres, postgres_addr, postgres.password()),
            providers,
        );
        config.failover.breaker.failure_threshold = options.breaker_threshold;
        config.failover.breaker.recovery_timeout = options.breaker_recovery;
        config.failover.attempt_timeout = options.attempt_timeout;
        config.failover.deadline = options.attempt_timeout * 3;
        config.timeouts.database = options.db_timeout;
        config.health.interval = options.health_interval;
        config.health.llm_probe_interval = options.llm_probe_interval;
        let platform = RunningPlatform::start(config, clock).await?;
        let prometheus = match (&binaries.prometheus, options.monitoring) {
            (Some(binary), true) => Some(ManagedPrometheus::start(binary, platform.addr()).await?),
            (None, true) => {
                static NOTED: std::sync::Once = std::sync::Once::new();
                NOTED.call_once(|| {
                    eprintln!(
                        "gameday: prometheus is not installed; the lab runs without monitoring \
                         (apt-get install -y --no-install-recommends prometheus, or set \
                         GAMEDAY_PROMETHEUS)"
                    );
                });
                None
            }
            (_, false) => None,
        };
        Ok(Self {
            redis,
            postgres,
            primary,
            fallback,
            platform,
            proxy,
            prometheus,
        })
    }

    /// Stops the platform and simulators, then the services.
    pub async fn stop(mut self) {
        if let Some(mut prometheus) = self.prometheus.take() {
            let _ = prometheus.stop().await;
        }
        self.platform.stop().await;
        self.primary.stop().await;
        self.fallback.stop().await;
        if let Some(proxy) = self.proxy.take() {
            let _ = proxy.stop().await;
        }
        let _ = self.redis.stop().await;
        let _ = self.postgres.stop().await;
    }
}

/// A loopback address with a port that was free a moment ago.
fn free_loopback_port() -> std::io::Result<std::net::SocketAddr> {
    std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()
}
