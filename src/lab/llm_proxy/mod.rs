//! `gameday llm-proxy`: a fault-injecting gateway in front of a real LLM
//! provider, for game days in staging, where the platform talks to real
//! providers over TLS and Toxiproxy cannot answer a 429 or cut a stream
//! after three tokens.
//!
//! The platform under test uses the gateway as its provider base URL. In
//! mode `healthy` every request and answer passes through unchanged (any
//! path, method, headers but the hop-by-hop ones, status, streamed bodies
//! chunk by chunk); the simulator's modes, with an optional match on route
//! and model, make it fail like a provider. The modes, the provider-shaped
//! errors and the admin API are the simulator's ([`crate::lab::llm_fault`]).
//! See `docs/llm-proxy.md`.
//!
//! Code map, in request order:
//! - [`rule`]: the mode plus its optional `match`.
//! - `state`: the rule, the seeded generator, the counters ([`ProxyStats`]).
//! - `server`: routes; deciding and carrying out each request's outcome.
//! - `forward`: the upstream client (rustls, private CA, timeouts) and headers.
//! - `body`: forwarding answers chunk by chunk, or paced, cut or garbled by SSE event.
//! - [`cli`]: `gameday llm-proxy`.

mod body;
pub mod cli;
mod forward;
pub mod rule;
mod server;
mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::shutdown::{self, Shutdown, ShutdownTrigger};

pub use forward::UpstreamError;
pub use rule::{Match, Rule};
pub use server::{DEFAULT_UPSTREAM_TIMEOUT, MAX_BODY_BYTES, NAME_HEADER};
pub use state::ProxyStats;

use forward::Upstream;
use server::Gateway;
use state::ProxyState;

/// How a gateway starts.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyConfig {
    /// The provider's base URL (`https://api.openai.com`,
    /// `http://127.0.0.1:8601`); request paths are appended to it.
    pub upstream: String,
    /// PEM certificates trusted for an `https://` upstream besides the
    /// system's roots (a private CA).
    pub upstream_ca_pem: Option<Vec<u8>>,
    /// Bound on connecting to the upstream, on its response head and on the
    /// gap between two chunks of its body.
    pub upstream_timeout: Duration,
    /// The gateway's name (logs, the `x-gameday-llm-proxy` header).
    pub name: String,
    /// The mode at start.
    pub mode: Rule,
    /// Seed of the generator behind `rate` and jitter; `None` from the clock.
    pub seed: Option<u64>,
}

impl ProxyConfig {
    /// A healthy gateway in front of `upstream` with every default.
    pub fn new(upstream: impl Into<String>) -> ProxyConfig {
        ProxyConfig {
            upstream: upstream.into(),
            upstream_ca_pem: None,
            upstream_timeout: DEFAULT_UPSTREAM_TIMEOUT,
            name: "llm-proxy".to_owned(),
            mode: Rule::default(),
            seed: None,
        }
    }
}

fn gateway(config: ProxyConfig, shutdown: Shutdown) -> Result<Arc<Gateway>, UpstreamError> {
    let upstream = Upstream::new(
        &config.upstream,
        config.upstream_ca_pem.as_deref(),
        config.upstream_timeout,
    )?;
    let state = Arc::new(ProxyState::new(
        config.name,
        config.mode,
        config.seed,
        shutdown,
    ));
    Ok(Arc::new(Gateway { state, upstream }))
}

/// Serves the gateway on `listener` until `shutdown` resolves. At shutdown,
/// hung and waiting requests answer 503, open streams are broken off, and
/// the function returns once every connection is closed.
pub async fn serve(
    listener: TcpListener,
    config: ProxyConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (trigger, signal) = shutdown::channel();
    let gateway = gateway(config, signal)?;
    serve_gateway(listener, gateway, trigger, shutdown)
        .await
        .map_err(ServeError::Io)
}

/// Why the gateway could not serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The upstream configuration is invalid.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// The listener failed.
    #[error("serving failed: {0}")]
    Io(std::io::Error),
}

async fn serve_gateway(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    trigger: ShutdownTrigger,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(address) = listener.local_addr() {
        tracing::info!(
            gateway = %gateway.state.name,
            %address,
            upstream = %gateway.upstream.base(),
            mode = %gateway.state.rule(),
            "llm-proxy listening"
        );
    }
    let app = server::router(gateway);
    crate::lab::serve::serve_http(
        listener,
        app,
        crate::lab::serve::HEADER_READ_TIMEOUT,
        async move {
            shutdown.await;
            // Ends hangs, delays and streams so the graceful shutdown does not
            // wait on them.
            trigger.trigger();
        },
    )
    .await
}

/// A gateway serving in a background task; for tests and launchers.
/// Dropping it also stops the server (without waiting).
pub struct RunningProxy {
    /// Where it listens.
    pub addr: SocketAddr,
    gateway: Arc<Gateway>,
    trigger: ShutdownTrigger,
    task: JoinHandle<std::io::Result<()>>,
}

impl std::fmt::Debug for RunningProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningProxy")
            .field("addr", &self.addr)
            .field("name", &self.gateway.state.name)
            .finish_non_exhaustive()
    }
}

impl RunningProxy {
    /// Binds `127.0.0.1:0` and serves `config` in a task.
    pub async fn start(config: ProxyConfig) -> Result<RunningProxy, ServeError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(ServeError::Io)?;
        RunningProxy::start_on(listener, config)
    }

    /// Serves `config` on a listener the caller bound, in a task. Must be
    /// called inside a tokio runtime.
    pub fn start_on(
        listener: TcpListener,
        config: ProxyConfig,
    ) -> Result<RunningProxy, ServeError> {
        let addr = listener.local_addr().map_err(ServeError::Io)?;
        let (trigger, outer) = shutdown::channel();
        let (inner_trigger, inner) = shutdown::channel();
        let gateway = gateway(config, inner)?;
        let task = tokio::spawn(serve_gateway(
            listener,
            Arc::clone(&gateway),
            inner_trigger,
            outer.wait(),
        ));
        Ok(RunningProxy {
            addr,
            gateway,
            trigger,
            task,
        })
    }

    /// The base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Switches the mode in-process. Requests already decided keep their outcome.
    pub fn set_mode(&self, rule: Rule) {
        let previous = self.gateway.state.set_rule(rule.clone());
        tracing::info!(gateway = %self.gateway.state.name, from = %previous, to = %rule, "mode changed");
    }

    /// The current counters and mode.
    pub fn stats(&self) -> ProxyStats {
        self.gateway.state.stats()
    }

    /// Shuts the gateway down and waits until every connection is closed.
    pub async fn stop(self) {
        self.trigger.trigger();
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "llm-proxy server failed"),
            Err(error) => tracing::warn!(%error, "llm-proxy server task failed"),
        }
    }
}
