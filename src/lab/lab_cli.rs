//! `gameday lab`: brings the whole built-in lab up (managed Redis and
//! PostgreSQL, two LLM simulators, the reference platform, and Prometheus
//! scraping it when installed) and keeps it running until Ctrl-C, printing
//! every address — for exploring the platform by hand and for benchmarks.

use anyhow::Context;

use super::services::Binaries;
use super::stack::{Lab, LabOptions};

/// Arguments of `gameday lab`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the addresses as one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Seed of the LLM simulators.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Runs the lab until Ctrl-C, SIGTERM, SIGHUP or SIGQUIT.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let binaries = Binaries::locate_or_install()?;
    let options = LabOptions {
        seed: args.seed,
        monitoring: true,
        ..LabOptions::default()
    };
    let lab = Lab::start(&binaries, &options, crate::clock::system())
        .await
        .context("starting the lab")?;
    let mut addresses = serde_json::json!({
        "platform": lab.platform.url(),
        "primary": lab.primary.url(),
        "fallback": lab.fallback.url(),
        "redis": lab.redis.url(),
        "postgres": lab.postgres.url(),
    });
    // The services' URLs hold their passwords: printed masked (`***`).
    if let Some(prometheus) = &lab.prometheus {
        addresses["prometheus"] = prometheus.url().into();
    }
    if args.json {
        println!("{}", crate::terminal::clean(&addresses.to_string()));
    } else {
        for (name, url) in addresses.as_object().into_iter().flatten() {
            let url = crate::terminal::clean(url.as_str().unwrap_or_default());
            println!("{name:<10} {url}");
        }
        println!("(Ctrl-C stops everything)");
    }
    let (_trigger, shutdown) = crate::shutdown::Shutdown::on_signals();
    shutdown.wait().await;
    lab.stop().await;
    Ok(())
}
