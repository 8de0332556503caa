//! The `gameday platform` subcommand.

/// Arguments of the subcommand.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the subcommand until Ctrl-C or SIGTERM.
pub async fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
