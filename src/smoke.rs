//! Placeholder for the end-to-end smoke game day.

/// Arguments of `gameday smoke`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the smoke game day; returns the process exit code.
pub async fn run(_args: Args) -> anyhow::Result<u8> {
    anyhow::bail!("not implemented yet")
}
