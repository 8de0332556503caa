//! The `gameday platform` subcommand: serves the reference agent platform
//! against Redis, PostgreSQL and LLM providers given on the command line.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;

use super::config::PlatformConfig;
use super::llm::{ApiKind, ProviderConfig};
use crate::duration::clap_parser as duration;

const AFTER_HELP: &str = "\
Providers are tried in the order given; the first is the primary:
  --provider primary=openai,http://127.0.0.1:8601,gpt-4o-mini \\
  --provider fallback=anthropic,http://127.0.0.1:8602,claude-3-5-haiku
An API key for a provider is read from GAMEDAY_<NAME>_API_KEY (e.g. GAMEDAY_PRIMARY_API_KEY).

Example (with `gameday llm-sim` instances on 8601 and 8602):
  gameday platform --redis-url redis://127.0.0.1:6379/ \\
    --postgres-url postgres://postgres@127.0.0.1:5432/postgres \\
    --provider primary=openai,http://127.0.0.1:8601,gpt-4o-mini \\
    --provider fallback=anthropic,http://127.0.0.1:8602,claude-3-5-haiku

Routes: POST /v1/chat, GET /v1/conversations/{id}, GET /health, GET /capabilities,
GET /breakers (see docs/platform-contract.md).";

/// Arguments of the subcommand.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:8700")]
    listen: SocketAddr,
    /// Allow binding a non-loopback address (anyone who reaches it can use the platform).
    #[arg(long)]
    allow_remote: bool,
    /// Redis URL for the response cache and usage counters.
    #[arg(long, env = "GAMEDAY_REDIS_URL")]
    redis_url: String,
    /// PostgreSQL URL for conversation history.
    #[arg(long, env = "GAMEDAY_POSTGRES_URL")]
    postgres_url: String,
    /// An LLM provider as NAME=KIND,BASE_URL,MODEL (KIND: openai or anthropic); repeat in failover order.
    #[arg(long = "provider", required = true, value_parser = parse_provider)]
    providers: Vec<ProviderConfig>,
    /// Timeout of one Redis command on the request path.
    #[arg(long, default_value = "250ms", value_parser = duration)]
    redis_timeout: Duration,
    /// Timeout of one PostgreSQL query on the request path.
    #[arg(long, default_value = "1s", value_parser = duration)]
    db_timeout: Duration,
    /// Timeout of one attempt against one LLM provider.
    #[arg(long, default_value = "10s", value_parser = duration)]
    attempt_timeout: Duration,
    /// Deadline of a whole completion, across failover attempts.
    #[arg(long, default_value = "30s", value_parser = duration)]
    deadline: Duration,
    /// Consecutive failures that open a provider's breaker.
    #[arg(long, default_value_t = 5)]
    breaker_threshold: u32,
    /// How long an open breaker waits before trial calls.
    #[arg(long, default_value = "30s", value_parser = duration)]
    breaker_recovery: Duration,
    /// Trial calls allowed at once while half-open.
    #[arg(long, default_value_t = 1)]
    breaker_half_open_calls: u32,
    /// Trial successes that close a half-open breaker.
    #[arg(long, default_value_t = 2)]
    breaker_successes: u32,
    /// How long an LLM health probe is reused.
    #[arg(long, default_value = "5s", value_parser = duration)]
    llm_probe_interval: Duration,
    /// How often the background health monitor refreshes capabilities.
    #[arg(long, default_value = "500ms", value_parser = duration)]
    health_interval: Duration,
}

fn parse_provider(text: &str) -> Result<ProviderConfig, String> {
    let (name, rest) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}': expected NAME=KIND,BASE_URL,MODEL"))?;
    let parts: Vec<&str> = rest.split(',').collect();
    let [kind, base_url, model] = parts.as_slice() else {
        return Err(format!("'{text}': expected NAME=KIND,BASE_URL,MODEL"));
    };
    let kind = match *kind {
        "openai" => ApiKind::OpenAi,
        "anthropic" => ApiKind::Anthropic,
        other => {
            return Err(format!(
                "unknown provider kind '{other}': use openai or anthropic"
            ));
        }
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "provider name '{name}' must be letters, digits, '-' or '_'"
        ));
    }
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        return Err(format!(
            "provider URL '{base_url}' must start with http:// or https://"
        ));
    }
    let key_variable = format!("GAMEDAY_{}_API_KEY", name.to_uppercase().replace('-', "_"));
    Ok(ProviderConfig {
        name: name.to_owned(),
        kind,
        base_url: base_url.trim_end_matches('/').to_owned(),
        model: (*model).to_owned(),
        api_key: std::env::var(key_variable).ok(),
    })
}

/// Runs the subcommand until Ctrl-C, SIGTERM, SIGHUP or SIGQUIT.
pub async fn run(args: Args) -> anyhow::Result<()> {
    crate::lab::serve::check_listen(
        args.listen,
        args.allow_remote,
        "the platform",
        "use the platform",
    )?;
    let mut config = PlatformConfig::new(args.redis_url, args.postgres_url, args.providers);
    config.timeouts.redis = args.redis_timeout;
    config.timeouts.database = args.db_timeout;
    config.failover.attempt_timeout = args.attempt_timeout;
    config.failover.deadline = args.deadline;
    config.failover.breaker.failure_threshold = args.breaker_threshold.max(1);
    config.failover.breaker.recovery_timeout = args.breaker_recovery;
    config.failover.breaker.half_open_max_calls = args.breaker_half_open_calls.max(1);
    config.failover.breaker.success_threshold = args.breaker_successes.max(1);
    config.health.llm_probe_interval = args.llm_probe_interval;
    config.health.interval = args.health_interval;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let platform = super::server::Platform::new(config, crate::clock::system())?;
    let (_trigger, shutdown) = crate::shutdown::Shutdown::on_signals();
    println!("platform listening on http://{}", listener.local_addr()?);
    super::server::serve(listener, platform, shutdown.wait())
        .await
        .context("platform server failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_provider() {
        let provider = parse_provider("primary=openai,http://127.0.0.1:8601/,gpt-4o-mini").unwrap();
        assert_eq!(provider.name, "primary");
        assert_eq!(provider.base_url, "http://127.0.0.1:8601");
        assert_eq!(provider.model, "gpt-4o-mini");
    }

    #[test]
    fn refuses_malformed_providers() {
        assert!(parse_provider("primary").is_err());
        assert!(
            parse_provider("p=azure,http://x,m")
                .unwrap_err()
                .contains("unknown provider kind")
        );
        assert!(
            parse_provider("p=openai,ftp://x,m")
                .unwrap_err()
                .contains("http://")
        );
        assert!(parse_provider("p q=openai,http://x,m").is_err());
    }
}
