//! Bringing up the target of a scenario: the built-in lab (managed Redis and
//! PostgreSQL, two LLM simulators, the reference platform, and the embedded
//! proxy in front of every dependency), or a connection to an external
//! platform, its Toxiproxy and its `gameday llm-proxy` gateways (each checked
//! with `GET /admin/mode` before anything is applied). Either way the runner
//! then talks to the platform over HTTP only.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::Mutex;

use crate::faults::action::{FaultContext, Services, ToxiproxyOwner};
use crate::faults::toxiproxy::Client;
use crate::lab::llm_sim::RunningSim;
use crate::lab::platform::server::RunningPlatform;
use crate::lab::proxy::RunningProxy;
use crate::lab::services::{Binaries, ManagedService};
use crate::lab::stack::{Lab, LabOptions};
use crate::observe::ObserverConfig;
use crate::results::TargetInfo;
use crate::scenario::model::{Fault, Paths, Scenario, Target};
use crate::scenario::{Secret, template};
use crate::traffic::Endpoints;

/// Timeout of every control call (Toxiproxy API, simulator admin API).
pub const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);

/// A target ready for a game day.
pub struct Prepared {
    /// Where traffic goes.
    pub endpoints: Endpoints,
    /// What the observer polls.
    pub observer: ObserverConfig,
    /// How faults are applied and reverted.
    pub faults: FaultContext,
    /// For the record.
    pub info: TargetInfo,
    /// The lab's parts, when the target is the built-in lab.
    pub lab: Option<LabParts>,
    /// The lab's Prometheus, when the scenario reads it (`monitoring: { prometheus: lab }`).
    pub lab_prometheus: Option<String>,
    /// What each gateway had injected at setup (fault-effect evidence).
    pub gateway_injected: super::effect::Injected,
}

/// The running built-in lab, split so faults can act on each part.
pub struct LabParts {
    redis: Arc<Mutex<ManagedService>>,
    postgres: Arc<Mutex<ManagedService>>,
    primary: RunningSim,
    fallback: RunningSim,
    platform: RunningPlatform,
    proxy: Option<RunningProxy>,
    prometheus: Option<crate::lab::services::ManagedPrometheus>,
}

impl LabParts {
    /// Stops everything (services are also killed if their handles are dropped).
    pub async fn stop(mut self) {
        if let Some(mut prometheus) = self.prometheus.take() {
            let _ = prometheus.stop().await;
        }
        self.platform.stop().await;
        self.primary.stop().await;
        self.fallback.stop().await;
        if let Some(proxy) = self.proxy {
            let _ = proxy.stop().await;
        }
        let _ = self.redis.lock().await.stop().await;
        let _ = self.postgres.lock().await.stop().await;
    }
}

/// Brings up or connects to the scenario's target.
pub async fn prepare(scenario: &Scenario, seed: u64) -> anyhow::Result<Prepared> {
    let http = reqwest::Client::builder()
        .timeout(CONTROL_TIMEOUT)
        .build()
        .context("building the control HTTP client")?;
    check_exec_variables(scenario)?;
    match &scenario.target {
        Target::Lab => {
            let mut binaries = Binaries::locate_or_install()?;
            let reads_lab_prometheus = scenario.monitoring.as_ref().is_some_and(|m| {
                m.prometheus == crate::scenario::monitoring::PrometheusSource::Lab
            });
            if reads_lab_prometheus {
                binaries.install_prometheus_if_missing();
            }
            let options = LabOptions {
                seed,
                proxied: true,
                // The lab's Prometheus only when the scenario reads it.
                monitoring: reads_lab_prometheus,
                ..LabOptions::default()
            };
            let lab = Lab::start(&binaries, &options, crate::clock::system())
                .await
                .context("starting the built-in lab")?;
            let Lab {
                redis,
                postgres,
                primary,
                fallback,
                platform,
                proxy,
                prometheus,
            } = lab;
            let lab_prometheus = prometheus.as_ref().map(|p| p.url());
            let toxiproxy_url = proxy.as_ref().map(RunningProxy::api_url);
            // The lab's proxy lives in this process: its faults die with it.
            let toxiproxy_owner = ToxiproxyOwner {
                instance: proxy.as_ref().map(|p| p.server().instance().to_owned()),
                lab: true,
            };
            let toxiproxy = match &toxiproxy_url {
                Some(url) => Some(Client::new(url)?.with_timeout(CONTROL_TIMEOUT)),
                None => None,
            };
            let base_url = platform.url();
            let paths = Paths::default();
            let parts = LabParts {
                redis: Arc::new(Mutex::new(redis)),
                postgres: Arc::new(Mutex::new(postgres)),
                primary,
                fallback,
                platform,
                proxy,
                prometheus,
            };
            let simulators = BTreeMap::from([
                ("primary".to_owned(), parts.primary.url()),
                ("fallback".to_owned(), parts.fallback.url()),
            ]);
            Ok(Prepared {
                endpoints: endpoints(&base_url, &paths, Vec::new()),
                observer: observer(&base_url, &paths, Vec::new()),
                faults: FaultContext {
                    toxiproxy,
                    toxiproxy_url: toxiproxy_url.clone(),
                    toxiproxy_owner,
                    services: Some(Services {
                        redis: Arc::clone(&parts.redis),
                        postgres: Arc::clone(&parts.postgres),
                    }),
                    simulators,
                    gateways: BTreeMap::new(),
                    http,
                },
                info: TargetInfo {
                    kind: "lab".to_owned(),
                    url: base_url,
                    toxiproxy: toxiproxy_url,
                },
                lab: Some(parts),
                lab_prometheus,
                gateway_injected: Default::default(),
            })
        }
        Target::External(external) => {
            let headers = external
                .resolve_headers()
                .context("resolving the target's headers")?;
            let addresses = external
                .addresses(scenario.toxiproxy.as_ref())
                .context("filling the target's URLs from the environment")?;
            let toxiproxy_url = addresses.toxiproxy.clone();
            let toxiproxy = match &toxiproxy_url {
                Some(url) => Some(
                    Client::new(url)
                        .with_context(|| format!("Toxiproxy URL {url}"))?
                        .with_timeout(CONTROL_TIMEOUT),
                ),
                None => None,
            };
            let mut toxiproxy_owner = ToxiproxyOwner::default();
            if let Some(client) = &toxiproxy {
                let identity = client.identity().await.with_context(|| {
                    format!(
                        "Toxiproxy at {} does not answer",
                        toxiproxy_url.as_deref().unwrap_or("")
                    )
                })?;
                toxiproxy_owner.instance = identity.instance;
            }
            let gateways = addresses.llm_proxies;
            for (name, url) in &gateways {
                check_gateway(&http, name, url).await?;
            }
            let gateway_injected = super::effect::read_injected(&http, &gateways).await;
            Ok(Prepared {
                endpoints: endpoints(&addresses.url, &external.paths, headers.clone()),
                observer: observer(&addresses.url, &external.paths, headers),
                faults: FaultContext {
                    toxiproxy,
                    toxiproxy_url: toxiproxy_url.clone(),
                    toxiproxy_owner,
                    services: None,
                    simulators: BTreeMap::new(),
                    gateways,
                    http,
                },
                info: TargetInfo {
                    kind: "external".to_owned(),
                    url: addresses.url,
                    toxiproxy: toxiproxy_url,
                },
                lab: None,
                lab_prometheus: None,
                gateway_injected,
            })
        }
    }
}

/// Every `${NAME}` an `exec` command or its revert references must be set
/// before anything starts (the shell would expand a missing one to nothing);
/// their values are masked from now on (see [`crate::scenario::template`]).
fn check_exec_variables(scenario: &Scenario) -> anyhow::Result<()> {
    let lookup = |name: &str| std::env::var(name).ok();
    for (index, entry) in scenario.timeline.iter().enumerate() {
        if let Fault::Exec {
            command, revert, ..
        } = &entry.fault
        {
            let field = format!("timeline[{index}].fault");
            template::check_command(&format!("{field}.exec"), command, &lookup)?;
            template::check_command(&format!("{field}.revert"), revert, &lookup)?;
        }
    }
    Ok(())
}

/// A gateway must answer `GET /admin/mode` with a mode before the run starts.
async fn check_gateway(http: &reqwest::Client, name: &str, url: &str) -> anyhow::Result<()> {
    let mode_url = format!("{url}/admin/mode");
    let response = http
        .get(&mode_url)
        .send()
        .await
        .with_context(|| format!("LLM gateway `{name}` at {url} does not answer"))?;
    anyhow::ensure!(
        response.status().is_success(),
        "LLM gateway `{name}`: GET {mode_url} answered {}",
        response.status()
    );
    response
        .json::<crate::lab::llm_proxy::Rule>()
        .await
        .with_context(|| {
            format!("LLM gateway `{name}`: GET {mode_url} did not answer a mode (is it `gameday llm-proxy`?)")
        })?;
    Ok(())
}

fn endpoints(base_url: &str, paths: &Paths, headers: Vec<(String, Secret)>) -> Endpoints {
    Endpoints {
        base_url: base_url.trim_end_matches('/').to_owned(),
        chat_path: paths.chat.clone(),
        conversations_path: paths.conversations.clone(),
        headers,
    }
}

fn observer(base_url: &str, paths: &Paths, headers: Vec<(String, Secret)>) -> ObserverConfig {
    ObserverConfig {
        base_url: base_url.trim_end_matches('/').to_owned(),
        health_path: paths.health.clone(),
        capabilities_path: paths.capabilities.clone(),
        breakers_path: (!paths.breakers.is_empty()).then(|| paths.breakers.clone()),
        headers,
        interval: Duration::from_millis(250),
        timeout: Duration::from_secs(2),
    }
}
