//! The `gameday llm-proxy` subcommand: parse flags, check the upstream, bind,
//! print the URL on stdout, serve until Ctrl-C, SIGTERM, SIGHUP or SIGQUIT.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::duration::clap_parser as duration;
use crate::shutdown::Shutdown;

use super::{ProxyConfig, Rule, ServeError, serve};

const AFTER_HELP: &str = r#"Every request except the admin routes is forwarded to --upstream + its path
(and query), with its method, body and headers (API keys untouched; only
hop-by-hop headers are dropped); the answer comes back the same way, streams
chunk by chunk as they arrive. The active mode can fail it first.

Admin routes (never forwarded, never affected by the mode):
  GET  /admin/mode            the active mode
  PUT  /admin/mode            switch the mode (body: mode JSON)
  GET  /admin/stats           counters: requests, by_status, by_route, passed_through,
                              injected (by mode), streams_cut, hung, upstream_errors, mode
  POST /admin/stats/reset     zero the counters (answers with the counters before the reset)

Modes (--mode takes JSON, or a bare name for the defaults), as in llm-sim:
  healthy                                             pass everything through
  {"mode":"latency","latency_ms":800,"jitter_ms":200} wait before forwarding
  {"mode":"errors","rate":0.5,"status":503}           500/502/503, provider error body
  {"mode":"rate_limit","rate":1,"retry_after_s":10}   429 + Retry-After
  {"mode":"overloaded","rate":0.3}                    529 overloaded_error
  hang                                                read the request, never answer
  {"mode":"slow_stream","tokens_per_s":2,"first_token_delay_ms":1500,"stall_after_first_ms":3000}
  {"mode":"cut_stream","after_tokens":5}              forward 5 content events, then break
  malformed                                           a garbage event / a half JSON body
  Any mode takes "match": {"route": "/v1/chat/completions", "model": "gpt-4o"}:
  only matching requests are affected; the others pass through.
  Error bodies are Anthropic's on /v1/messages, OpenAI's elsewhere.

Staging: point the platform's provider base URL (e.g. OPENAI_BASE_URL) at the
gateway, run the game day, then point it back.

Examples:
  gameday llm-proxy --upstream https://api.openai.com --listen 127.0.0.1:8611 --name primary
  gameday llm-proxy --upstream https://llm.internal:8443 --upstream-ca ca.pem
  curl -X PUT localhost:8611/admin/mode -d '{"mode":"rate_limit","retry_after_s":5}'

The listening URL is printed on stdout (one line); logs go to stderr. Request
bodies and headers are never logged.
Reference: docs/llm-proxy.md"#;

/// Arguments of the subcommand.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Base URL of the provider to forward to (http:// or https://, optionally with a path prefix).
    #[arg(long, value_name = "URL")]
    pub upstream: String,

    /// Address to listen on. Only loopback addresses unless --allow-remote.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8610")]
    pub listen: SocketAddr,

    /// Name of this gateway: in logs and the x-gameday-llm-proxy header of the answers it makes up.
    #[arg(long, default_value = "llm-proxy")]
    pub name: String,

    /// PEM file of CA certificates to trust for an https:// upstream, besides the system's roots.
    #[arg(long, value_name = "FILE")]
    pub upstream_ca: Option<PathBuf>,

    /// Allow a non-loopback --listen address (the gateway has no authentication).
    #[arg(long)]
    pub allow_remote: bool,

    /// Failure mode at start: mode JSON or a bare mode name (see below).
    #[arg(long, value_name = "MODE", default_value = "healthy", value_parser = Rule::parse)]
    pub mode: Rule,

    /// Seed for every random choice (rates, jitter); default: from the clock.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Bound on connecting to the upstream, on its response head, and on the
    /// gap between two chunks of its body (e.g. 300s, 5m).
    #[arg(long, value_name = "DURATION", default_value = "300s", value_parser = duration)]
    pub upstream_timeout: Duration,
}

/// Runs the subcommand until Ctrl-C, SIGTERM, SIGHUP or SIGQUIT.
pub async fn run(args: Args) -> anyhow::Result<()> {
    crate::lab::serve::check_listen(
        args.listen,
        args.allow_remote,
        "the LLM gateway",
        "use the upstream through it and change its mode",
    )?;
    let upstream_ca_pem = match &args.upstream_ca {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("cannot read --upstream-ca {}", path.display()))?,
        ),
        None => None,
    };
    let config = ProxyConfig {
        upstream: args.upstream,
        upstream_ca_pem,
        upstream_timeout: args.upstream_timeout,
        name: args.name,
        mode: args.mode,
        seed: args.seed,
    };
    // Check the upstream before binding, so a bad URL or CA is reported
    // without a URL line on stdout.
    super::forward::Upstream::new(
        &config.upstream,
        config.upstream_ca_pem.as_deref(),
        config.upstream_timeout,
    )
    .context("invalid upstream")?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener
        .local_addr()
        .context("cannot read the listening address")?;
    println!("http://{address}");

    // Keep the trigger alive: dropping it would stop the server at once.
    let (_trigger, shutdown) = Shutdown::on_signals();
    match serve(listener, config, shutdown.wait()).await {
        Ok(()) => Ok(()),
        Err(ServeError::Upstream(error)) => Err(error).context("invalid upstream"),
        Err(error) => Err(error).context("llm-proxy server failed"),
    }
}
