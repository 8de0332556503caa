//! The `gameday proxy` subcommand: serves the Toxiproxy-compatible API.
//!
//! The API can break any traffic that passes its proxies, so it binds
//! loopback only unless `--allow-remote` is given, and then warns.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use tokio::net::TcpListener;

use super::{ProxyServer, ServerConfig, request, serve};
use crate::shutdown::Shutdown;

/// Arguments of the subcommand.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address of the HTTP API (Toxiproxy's default is 127.0.0.1:8474).
    #[arg(long, default_value = "127.0.0.1:8474")]
    pub listen: SocketAddr,
    /// Allow the API to listen on a non-loopback address. Anyone who can
    /// reach the port can then break or intercept proxied traffic.
    #[arg(long)]
    pub allow_remote: bool,
    /// Proxies to create at start: a JSON array in `POST /populate` format.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Seed for toxicity rolls, jitter and slicing (reproducible runs).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Most connections relayed at once, across all proxies; more are
    /// accepted and closed at once. Default: what the open-file limit holds
    /// (two descriptors per connection, 128 kept for the API and logs),
    /// after raising the soft limit to the hard one.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
}

/// Runs the subcommand until Ctrl-C, SIGTERM, SIGHUP or SIGQUIT.
pub async fn run(args: Args) -> anyhow::Result<()> {
    crate::lab::serve::check_listen(
        args.listen,
        args.allow_remote,
        "the proxy API",
        "break or intercept proxied traffic",
    )?;
    let server = ProxyServer::new(ServerConfig {
        seed: args.seed,
        max_connections: args.max_connections.map(|n| n as usize),
    });
    if let Some(path) = &args.config {
        let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let specs = request::populate(&text)
            .with_context(|| format!("invalid proxy config {}", path.display()))?;
        server
            .populate(specs)
            .await
            .map_err(|(error, _)| error)
            .with_context(|| format!("creating the proxies of {}", path.display()))?;
    }
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding the proxy API on {}", args.listen))?;
    tracing::info!(
        listen = %args.listen,
        max_connections = server.max_connections(),
        "proxy API listening"
    );
    let (_trigger, shutdown) = Shutdown::on_signals();
    serve(listener, server, shutdown.wait()).await?;
    Ok(())
}
