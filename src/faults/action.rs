//! Applying and reverting faults, whatever their backend.
//!
//! Every fault is turned into a [`FaultAction`]; before it is applied, the
//! runner asks for its [`RevertAction`] and journals it, so a revert is known
//! even if the runner dies right after applying (see `gameday cleanup`).
//! Reverts are retried with backoff, and every call is bounded by a timeout.
//! An `llm` fault switches a lab simulator's mode, or on an external target
//! a `gameday llm-proxy` gateway's (whose revert outlives the runner).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::toxiproxy::{Client, NewToxic};
use crate::lab::llm_proxy::Rule;
use crate::lab::llm_sim::Mode;
use crate::lab::services::{ManagedService, ServiceKind};

/// What to do.
#[derive(Debug, Clone)]
pub enum FaultAction {
    /// Add a toxic (named by the runner, so the revert can remove it).
    Toxic {
        /// Proxy name.
        proxy: String,
        /// The toxic; its name must be set.
        toxic: NewToxic,
    },
    /// Disable a proxy: its dependency becomes unreachable.
    ProxyDown {
        /// Proxy name.
        proxy: String,
    },
    /// SIGKILL a managed service.
    Kill {
        /// Which.
        service: ServiceKind,
    },
    /// SIGSTOP a managed service.
    Freeze {
        /// Which.
        service: ServiceKind,
    },
    /// Stop a managed service (started again on revert).
    Restart {
        /// Which.
        service: ServiceKind,
    },
    /// Switch an LLM simulator's or gateway's mode.
    Llm {
        /// Provider name: a simulator, or a gateway of the external target.
        provider: String,
        /// The mode (a `match` only on a gateway).
        mode: Rule,
    },
    /// Run a command.
    Exec {
        /// The command (`sh -c`).
        command: String,
        /// Its revert command.
        revert: String,
        /// Timeout of each.
        timeout: Duration,
    },
}

/// How to undo a fault; serializable so the journal can carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "revert", rename_all = "snake_case")]
pub enum RevertAction {
    /// Remove a toxic.
    RemoveToxic {
        /// Toxiproxy API URL.
        toxiproxy: String,
        /// Proxy.
        proxy: String,
        /// Toxic name.
        toxic: String,
        /// Which server at that URL the fault was applied on (see [`ToxiproxyOwner`]).
        #[serde(flatten)]
        owner: ToxiproxyOwner,
    },
    /// Enable a proxy again.
    EnableProxy {
        /// Toxiproxy API URL.
        toxiproxy: String,
        /// Proxy.
        proxy: String,
        /// Which server at that URL the fault was applied on (see [`ToxiproxyOwner`]).
        #[serde(flatten)]
        owner: ToxiproxyOwner,
    },
    /// Start a killed or stopped managed service again.
    StartService {
        /// Which.
        service: ServiceKind,
    },
    /// SIGCONT a frozen managed service.
    ThawService {
        /// Which.
        service: ServiceKind,
    },
    /// Put an LLM simulator back in its previous mode.
    LlmMode {
        /// Simulator base URL.
        admin_url: String,
        /// The mode to restore.
        mode: Mode,
    },
    /// Put a `gameday llm-proxy` gateway back in its previous mode (it
    /// outlives the runner, so `gameday cleanup` reverts it).
    GatewayMode {
        /// Gateway base URL.
        admin_url: String,
        /// The mode to restore, with its `match` if it had one.
        mode: Rule,
    },
    /// Run the revert command.
    Exec {
        /// The command (`sh -c`).
        command: String,
        /// Timeout in milliseconds.
        timeout_ms: u64,
    },
}

/// Which Toxiproxy server a journaled fault was applied on, so a revert is
/// never sent to whatever listens on that address later.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToxiproxyOwner {
    /// The server's instance id (`GET /version`; `gameday proxy` only, a
    /// real Toxiproxy has none and is known by its address alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The runner's own embedded proxy (the built-in lab): it dies with its
    /// runner, and its faults with it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lab: bool,
}

/// A fault could not be applied or reverted.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// The toxiproxy API refused or failed.
    #[error("toxiproxy: {0}")]
    Toxiproxy(#[from] super::toxiproxy::ClientError),
    /// No Toxiproxy is configured.
    #[error("no Toxiproxy is configured for proxy '{0}'")]
    NoToxiproxy(String),
    /// Process control needs the built-in lab.
    #[error(
        "{0} is not a managed service here (kill/freeze/restart need the built-in lab; use exec for others)"
    )]
    NoService(ServiceKind),
    /// A managed service refused.
    #[error("{0}")]
    Service(#[from] crate::lab::services::ServiceError),
    /// Unknown LLM provider.
    #[error(
        "no LLM simulator or gateway named '{0}' (the lab has primary and fallback; an external target declares target.llm_proxies)"
    )]
    NoSimulator(String),
    /// A `match` sent to a simulator, which fails every request.
    #[error("the LLM simulator '{0}' takes no `match` (only a gameday llm-proxy gateway does)")]
    MatchOnSimulator(String),
    /// An HTTP call failed.
    #[error("{0}")]
    Http(String),
    /// An exec command failed.
    #[error("{0}")]
    Exec(String),
    /// The thing to break is already broken by someone else; left alone.
    #[error("{0}")]
    NotOurs(String),
}

impl FaultError {
    /// Whether a failed apply may have changed something, so that its
    /// revert must run. A Toxiproxy API refusal (e.g. 409: a toxic of that
    /// name exists) changed nothing, and reverting it would undo what
    /// someone else applied.
    pub fn may_have_applied(&self) -> bool {
        !matches!(
            self,
            FaultError::Toxiproxy(super::toxiproxy::ClientError::Api { .. })
                | FaultError::NoToxiproxy(_)
                | FaultError::NoService(_)
                | FaultError::NoSimulator(_)
                | FaultError::NotOurs(_)
        )
    }
}

/// Managed services the runner may break.
#[derive(Debug, Clone)]
pub struct Services {
    /// Redis.
    pub redis: Arc<Mutex<ManagedService>>,
    /// PostgreSQL.
    pub postgres: Arc<Mutex<ManagedService>>,
}

/// Everything fault backends need.
#[derive(Debug, Clone)]
pub struct FaultContext {
    /// The Toxiproxy API (embedded or external).
    pub toxiproxy: Option<Client>,
    /// Its URL, for the journal.
    pub toxiproxy_url: Option<String>,
    /// Which server that is, for the journal.
    pub toxiproxy_owner: ToxiproxyOwner,
    /// Managed services (built-in lab only).
    pub services: Option<Services>,
    /// LLM simulator base URLs by provider name (built-in lab only).
    pub simulators: BTreeMap<String, String>,
    /// `gameday llm-proxy` gateway base URLs by name (external target only).
    pub gateways: BTreeMap<String, String>,
    /// HTTP client for simulator admin calls (with a timeout).
    pub http: reqwest::Client,
}

/// Whether `existing` is the toxic `wanted` describes (same name, stream,
/// type, attributes and toxicity).
fn same_toxic(existing: &super::toxiproxy::Toxic, wanted: &NewToxic) -> bool {
    wanted.name.as_deref() == Some(existing.name.as_str())
        && existing.stream == wanted.stream
        && existing.kind == wanted.kind
        && (existing.toxicity - wanted.toxicity.unwrap_or(1.0)).abs() < 1e-6
}

/// How many times a revert is tried, and the first backoff (doubled each time).
const REVERT_ATTEMPTS: u32 = 4;
const REVERT_BACKOFF: Duration = Duration::from_millis(250);

impl FaultContext {
    /// The revert of `action`, computed before it is applied (this may ask
    /// the simulator for its current mode).
    pub async fn revert_for(&self, action: &FaultAction) -> Result<RevertAction, FaultError> {
        Ok(match action {
            FaultAction::Toxic { proxy, toxic } => RevertAction::RemoveToxic {
                toxiproxy: self.toxiproxy_url(proxy)?,
                proxy: proxy.clone(),
                toxic: toxic.name.clone().unwrap_or_else(|| {
                    format!("{}_{}", toxic.kind.type_name(), toxic.stream.as_str())
                }),
                owner: self.toxiproxy_owner.clone(),
            },
            FaultAction::ProxyDown { proxy } => {
                // A proxy someone else already took down is theirs to bring
                // back: this run would otherwise enable it under them.
                if !self.client(proxy)?.proxy(proxy).await?.enabled {
                    return Err(FaultError::NotOurs(format!(
                        "proxy {proxy} is already disabled (by another run or by hand); \
                         leaving it as it is"
                    )));
                }
                RevertAction::EnableProxy {
                    toxiproxy: self.toxiproxy_url(proxy)?,
                    proxy: proxy.clone(),
                    owner: self.toxiproxy_owner.clone(),
                }
            }
            FaultAction::Kill { service } | FaultAction::Restart { service } => {
                RevertAction::StartService { service: *service }
            }
            FaultAction::Freeze { service } => RevertAction::ThawService { service: *service },
            FaultAction::Llm { provider, .. } => match self.gateways.get(provider) {
                Some(admin_url) => RevertAction::GatewayMode {
                    admin_url: admin_url.clone(),
                    mode: self.current_mode(admin_url).await?,
                },
                None => {
                    let admin_url = self.simulator(provider)?;
                    let mode = self.current_mode(&admin_url).await?;
                    RevertAction::LlmMode { admin_url, mode }
                }
            },
            FaultAction::Exec {
                revert, timeout, ..
            } => RevertAction::Exec {
                command: revert.clone(),
                timeout_ms: timeout.as_millis() as u64,
            },
        })
    }

    /// Applies the fault once (no retries: a half-applied fault is reverted by its revert).
    pub async fn apply(&self, action: &FaultAction) -> Result<(), FaultError> {
        match action {
            FaultAction::Toxic { proxy, toxic } => {
                let client = self.client(proxy)?;
                match client.add_toxic(proxy, toxic).await {
                    Ok(_) => {}
                    // Applies are safe to repeat: when a request whose
                    // connection died went out again after its first copy
                    // had created the toxic, the toxic exists, with this
                    // run's name and attributes. Anything else of that name
                    // is not ours.
                    Err(error) if error.status() == Some(409) => {
                        let name = toxic.name.as_deref().unwrap_or_default();
                        match client.toxic(proxy, name).await {
                            Ok(existing) if same_toxic(&existing, toxic) => {}
                            _ => return Err(error.into()),
                        }
                    }
                    Err(error) => return Err(error.into()),
                }
            }
            FaultAction::ProxyDown { proxy } => {
                self.client(proxy)?.set_enabled(proxy, false).await?;
            }
            FaultAction::Kill { service } => self.service(*service)?.lock().await.kill().await?,
            FaultAction::Freeze { service } => self.service(*service)?.lock().await.freeze()?,
            FaultAction::Restart { service } => self.service(*service)?.lock().await.stop().await?,
            FaultAction::Llm { provider, mode } => match self.gateways.get(provider) {
                Some(admin_url) => self.set_mode(admin_url, mode).await?,
                None => {
                    let admin_url = self.simulator(provider)?;
                    if mode.matcher.is_some() {
                        return Err(FaultError::MatchOnSimulator(provider.clone()));
                    }
                    self.set_mode(&admin_url, &mode.mode).await?;
                }
            },
            FaultAction::Exec {
                command, timeout, ..
            } => super::exec::run(command, *timeout)
                .await
                .map_err(FaultError::Exec)?,
        }
        Ok(())
    }

    /// Reverts, retrying with backoff; the error is the last attempt's.
    pub async fn revert(&self, revert: &RevertAction) -> Result<(), FaultError> {
        let mut backoff = REVERT_BACKOFF;
        let mut attempt = 1;
        loop {
            match self.revert_once(revert).await {
                Ok(()) => return Ok(()),
                Err(error) if attempt >= REVERT_ATTEMPTS => return Err(error),
                Err(error) => {
                    tracing::warn!(%error, attempt, "revert failed, retrying");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                }
            }
        }
    }

    /// Whether an applied fault is still in place, for the faults this can
    /// see from outside (a toxic, a disabled proxy): `Some(what was seen)`
    /// when it is gone; `None` when it is in place or cannot be told (an
    /// unanswered call is no evidence).
    pub async fn undone(&self, revert: &RevertAction) -> Option<String> {
        match revert {
            RevertAction::RemoveToxic { proxy, toxic, .. } => {
                match self.client(proxy).ok()?.toxic(proxy, toxic).await {
                    Err(error) if error.status() == Some(404) => {
                        Some(format!("toxic {toxic} is no longer on proxy {proxy}"))
                    }
                    _ => None,
                }
            }
            RevertAction::EnableProxy { proxy, .. } => {
                match self.client(proxy).ok()?.proxy(proxy).await {
                    Ok(found) if found.enabled => Some(format!("proxy {proxy} is enabled again")),
                    Err(error) if error.status() == Some(404) => {
                        Some(format!("proxy {proxy} no longer exists"))
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    async fn revert_once(&self, revert: &RevertAction) -> Result<(), FaultError> {
        match revert {
            RevertAction::RemoveToxic { proxy, toxic, .. } => {
                match self.client(proxy)?.remove_toxic(proxy, toxic).await {
                    Ok(()) => Ok(()),
                    // Already gone is what we wanted.
                    Err(error) if error.status() == Some(404) => Ok(()),
                    Err(error) => Err(error.into()),
                }
            }
            RevertAction::EnableProxy { proxy, .. } => {
                self.client(proxy)?.set_enabled(proxy, true).await?;
                Ok(())
            }
            RevertAction::StartService { service } => {
                let service = self.service(*service)?;
                let mut service = service.lock().await;
                if service.state() != crate::lab::services::ServiceState::Running {
                    service.restart().await?;
                }
                Ok(())
            }
            RevertAction::ThawService { service } => {
                Ok(self.service(*service)?.lock().await.thaw()?)
            }
            RevertAction::LlmMode { admin_url, mode } => self.set_mode(admin_url, mode).await,
            RevertAction::GatewayMode { admin_url, mode } => self.set_mode(admin_url, mode).await,
            RevertAction::Exec {
                command,
                timeout_ms,
            } => {
                // A run checked its variables before applying anything;
                // `gameday cleanup` may run in another environment, where a
                // missing one would silently expand to nothing.
                let lookup = |name: &str| std::env::var(name).ok();
                crate::scenario::template::check_command("revert", command, &lookup).map_err(
                    |error| {
                        FaultError::Exec(format!(
                            "{error}: set it as for the run, then revert again \
                             (`gameday cleanup`)"
                        ))
                    },
                )?;
                super::exec::run(command, Duration::from_millis(*timeout_ms))
                    .await
                    .map_err(FaultError::Exec)
            }
        }
    }

    fn client(&self, proxy: &str) -> Result<&Client, FaultError> {
        self.toxiproxy
            .as_ref()
            .ok_or_else(|| FaultError::NoToxiproxy(proxy.to_owned()))
    }

    fn toxiproxy_url(&self, proxy: &str) -> Result<String, FaultError> {
        self.toxiproxy_url
            .clone()
            .ok_or_else(|| FaultError::NoToxiproxy(proxy.to_owned()))
    }

    fn service(&self, kind: ServiceKind) -> Result<&Arc<Mutex<ManagedService>>, FaultError> {
        let services = self.services.as_ref().ok_or(FaultError::NoService(kind))?;
        Ok(match kind {
            ServiceKind::Redis => &services.redis,
            ServiceKind::Postgres => &services.postgres,
        })
    }

    fn simulator(&self, provider: &str) -> Result<String, FaultError> {
        self.simulators
            .get(provider)
            .cloned()
            .ok_or_else(|| FaultError::NoSimulator(provider.to_owned()))
    }

    async fn current_mode<M: DeserializeOwned>(&self, admin_url: &str) -> Result<M, FaultError> {
        let url = format!("{admin_url}/admin/mode");
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| FaultError::Http(format!("GET {url}: {e}")))?;
        if !response.status().is_success() {
            return Err(FaultError::Http(format!(
                "GET {url}: {}",
                response.status()
            )));
        }
        response
            .json()
            .await
            .map_err(|e| FaultError::Http(format!("GET {url}: {e}")))
    }

    async fn set_mode(&self, admin_url: &str, mode: &impl Serialize) -> Result<(), FaultError> {
        let url = format!("{admin_url}/admin/mode");
        let response = self
            .http
            .put(&url)
            .json(mode)
            .send()
            .await
            .map_err(|e| FaultError::Http(format!("PUT {url}: {e}")))?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            return Err(FaultError::Http(format!("PUT {url}: {status}: {body}")));
        }
        Ok(())
    }
}
