//! The `gameday llm-sim` subcommand: parse flags, bind, print the URL on
//! stdout, serve until Ctrl-C, SIGTERM, SIGHUP or SIGQUIT.

use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::shutdown::Shutdown;

use super::{Mode, SimConfig, serve};

const AFTER_HELP: &str = r#"Routes:
  POST /v1/chat/completions   OpenAI Chat Completions (JSON or SSE with "stream": true)
  POST /v1/messages           Anthropic Messages (JSON or SSE with "stream": true)
  GET  /admin/mode            the active failure mode
  PUT  /admin/mode            switch the mode (body: mode JSON)
  GET  /admin/stats           counters: requests, by_status, by_route, streams_cut, hung, mode
  POST /admin/stats/reset     zero the counters (answers with the counters before the reset)
  GET  /health                liveness of the simulator itself (ignores the mode)

Modes (--mode takes JSON, or a bare name for the defaults):
  healthy
  {"mode":"latency","latency_ms":800,"jitter_ms":200}
  {"mode":"errors","rate":0.5,"status":503}           status: 500, 502 or 503 (default 503)
  {"mode":"rate_limit","rate":1,"retry_after_s":10}   429 + Retry-After
  {"mode":"overloaded","rate":0.3}                    529 overloaded_error
  hang                                                read the request, never answer
  {"mode":"slow_stream","tokens_per_s":2,"first_token_delay_ms":1500,"stall_after_first_ms":3000}
  {"mode":"cut_stream","after_tokens":5}              break the connection mid-body
  malformed                                           200 with a body that is not JSON
  rate defaults to 1 (every request) and is a per-request probability in [0, 1].

Examples:
  gameday llm-sim --name primary --listen 127.0.0.1:8601 --seed 7
  gameday llm-sim --mode '{"mode":"errors","rate":0.5,"status":503}'
  curl -X PUT localhost:8600/admin/mode -d '{"mode":"overloaded","rate":1}'
  curl localhost:8600/v1/chat/completions -d '{"model":"x","messages":[{"role":"user","content":"hi"}]}'

The listening URL is printed on stdout (one line); logs go to stderr.
Reference: docs/llm-sim.md"#;

/// Arguments of the subcommand.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Address to listen on. Only loopback addresses unless --allow-remote.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8600")]
    pub listen: SocketAddr,

    /// Allow a non-loopback --listen address (the simulator has no authentication).
    #[arg(long)]
    pub allow_remote: bool,

    /// Seed for every random choice (error rates, jitter); same seed and same
    /// request sequence give the same outcomes. Default: from the clock.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Failure mode at start: mode JSON or a bare mode name (see below).
    #[arg(long, value_name = "MODE", default_value = "healthy", value_parser = Mode::parse)]
    pub mode: Mode,

    /// Length of a full reply, in tokens (whitespace-separated words), at most 100000.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = parse_reply_tokens)]
    pub reply_tokens: usize,

    /// Name of this simulator: in every reply and the x-llm-sim-name header.
    #[arg(long, default_value = "llm-sim")]
    pub name: String,
}

/// The longest reply the CLI accepts; every reply is built in memory.
const MAX_REPLY_TOKENS: usize = 100_000;

fn parse_reply_tokens(text: &str) -> Result<usize, String> {
    let tokens: usize = text
        .parse()
        .map_err(|error| format!("not a token count: {error}"))?;
    if tokens > MAX_REPLY_TOKENS {
        return Err(format!("at most {MAX_REPLY_TOKENS} tokens, got {tokens}"));
    }
    Ok(tokens)
}

/// Runs the subcommand until Ctrl-C, SIGTERM, SIGHUP or SIGQUIT.
pub async fn run(args: Args) -> anyhow::Result<()> {
    crate::lab::serve::check_listen(
        args.listen,
        args.allow_remote,
        "the LLM simulator",
        "change its mode",
    )?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener
        .local_addr()
        .context("cannot read the listening address")?;
    println!("http://{address}");

    let config = SimConfig {
        seed: args.seed,
        mode: args.mode,
        reply_tokens: args.reply_tokens,
        name: args.name,
    };
    // Keep the trigger alive: dropping it would stop the server at once.
    let (_trigger, shutdown) = Shutdown::on_signals();
    serve(listener, config, shutdown.wait())
        .await
        .context("llm-sim server failed")?;
    Ok(())
}
