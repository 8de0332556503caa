//! An LLM provider simulator: the failing dependency of LLM game days.
//!
//! One server speaks both wire formats, OpenAI Chat Completions
//! (`POST /v1/chat/completions`) and Anthropic Messages (`POST /v1/messages`),
//! JSON and SSE streaming, with a deterministic reply. A runtime-switchable
//! [`Mode`] makes it fail the way real providers do: errors, 429 storms, 529
//! overload, latency, hangs, slow or cut streams, malformed bodies. The lab
//! runs two instances ("primary" and "fallback"). See `docs/llm-sim.md`.
//!
//! Code map, in request order (the modes, outcomes, failures and the admin
//! API are shared with the gateway and live in [`crate::lab::llm_fault`]):
//! - `body`: paced, abortable response bodies.
//! - `wire`, `openai`, `anthropic`: the two formats behind one trait.
//! - `reply`: the deterministic reply and token counting.
//! - `state`, `server`: shared state, the routes.
//! - [`stats`]: the counters the runner reads.
//! - [`cli`]: `gameday llm-sim`.
//!
//! Invariants: a request is recorded once, when its outcome is decided; every
//! wait (delay, hang, paced token) ends at shutdown; no task is spawned per
//! request; nothing a client sends can panic the server.

mod anthropic;
mod body;
pub mod cli;
mod openai;
mod reply;
mod server;
mod state;
pub mod stats;
mod wire;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::shutdown::{self, ShutdownTrigger};

// Shared with the gateway; re-exported so `llm_sim::mode::Mode` keeps working.
pub use crate::lab::llm_fault::mode;
use crate::lab::llm_fault::{failure, outcome};
pub use mode::{ErrorStatus, Mode, ModeError, Rate, TokensPerSecond};
pub use server::NAME_HEADER;
pub use stats::Stats;

use state::SimState;

/// The largest request body the provider routes accept (1 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How a simulator starts.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Seed of the generator behind every random choice (rates, jitter);
    /// `None` seeds from the clock. The same seed and the same sequence of
    /// requests give the same outcomes.
    pub seed: Option<u64>,
    /// The failure mode at start.
    pub mode: Mode,
    /// Length of a full reply in tokens (words); `max_tokens` can shorten it.
    pub reply_tokens: usize,
    /// Appears in every reply (`"<name> says: …"`) and in the
    /// `x-llm-sim-name` header, so a client can tell which provider answered.
    pub name: String,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: None,
            mode: Mode::Healthy,
            reply_tokens: 20,
            name: "llm-sim".to_owned(),
        }
    }
}

/// Serves the simulator on `listener` until `shutdown` resolves. At shutdown,
/// hung requests and delays answer 503, open streams are broken off, and the
/// function returns once every connection is closed.
pub async fn serve(
    listener: TcpListener,
    config: SimConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (trigger, signal) = shutdown::channel();
    let state = Arc::new(SimState::new(config, signal));
    serve_state(listener, state, trigger, shutdown).await
}

async fn serve_state(
    listener: TcpListener,
    state: Arc<SimState>,
    trigger: ShutdownTrigger,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(address) = listener.local_addr() {
        tracing::info!(sim = %state.name, %address, mode = %state.mode(), "llm-sim listening");
    }
    let app = server::router(state);
    let header_read_timeout = crate::lab::serve::HEADER_READ_TIMEOUT;
    crate::lab::serve::serve_http(listener, app, header_read_timeout, async move {
        shutdown.await;
        // Ends hangs, delays and streams so the graceful shutdown does
        // not wait on them.
        trigger.trigger();
    })
    .await
}

/// A simulator serving on a loopback port in a background task; for tests
/// and the lab launcher. Dropping it also stops the server (without waiting).
pub struct RunningSim {
    /// Where it listens (`127.0.0.1:<port>`).
    pub addr: SocketAddr,
    state: Arc<SimState>,
    trigger: ShutdownTrigger,
    task: JoinHandle<std::io::Result<()>>,
}

impl std::fmt::Debug for RunningSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSim")
            .field("addr", &self.addr)
            .field("name", &self.state.name)
            .finish_non_exhaustive()
    }
}

impl RunningSim {
    /// Binds `127.0.0.1:0` and serves `config` in a task.
    pub async fn start(config: SimConfig) -> std::io::Result<RunningSim> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        RunningSim::start_on(listener, config)
    }

    /// Serves `config` on a listener the caller bound, in a task. Must be
    /// called inside a tokio runtime.
    pub fn start_on(listener: TcpListener, config: SimConfig) -> std::io::Result<RunningSim> {
        let addr = listener.local_addr()?;
        let (trigger, outer) = shutdown::channel();
        let (inner_trigger, inner) = shutdown::channel();
        let state = Arc::new(SimState::new(config, inner));
        let task = tokio::spawn(serve_state(
            listener,
            Arc::clone(&state),
            inner_trigger,
            outer.wait(),
        ));
        Ok(RunningSim {
            addr,
            state,
            trigger,
            task,
        })
    }

    /// The base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Switches the mode in-process (no HTTP). Requests already decided keep
    /// their outcome.
    pub async fn set_mode(&self, mode: Mode) {
        let previous = self.state.set_mode(mode.clone());
        tracing::info!(sim = %self.state.name, from = %previous, to = %mode, "mode changed");
    }

    /// The current counters and mode.
    pub fn stats(&self) -> Stats {
        self.state.stats()
    }

    /// Zeroes the counters; returns the snapshot taken just before.
    pub fn reset_stats(&self) -> Stats {
        self.state.reset_stats()
    }

    /// Shuts the server down and waits until every connection is closed.
    pub async fn stop(self) {
        self.trigger.trigger();
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "llm-sim server failed"),
            Err(error) => tracing::warn!(%error, "llm-sim server task failed"),
        }
    }
}
