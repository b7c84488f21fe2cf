//! `berth daemon` (hidden): the background process `berth start` launches.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args) -> anyhow::Result<ExitCode> {
    berth_api::daemon_client::run_daemon().await?;
    Ok(ExitCode::SUCCESS)
}
