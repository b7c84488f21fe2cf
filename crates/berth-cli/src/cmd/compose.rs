//! `berth compose ...`: hands over to berth-compose's command line, on Berth's engine
//! unless `-H`, `--context`, `DOCKER_HOST` or `DOCKER_CONTEXT` name another one.
//! Installed as `~/.docker/cli-plugins/docker-compose`, the same binary serves
//! `docker compose ...` (the docker CLI runs it as `docker-compose compose ...`).

use std::process::ExitCode;

use berth_api::Berth;

pub async fn run(args: berth_compose::cli::Args) -> anyhow::Result<ExitCode> {
    let endpoint = Berth::open().ok().map(|b| b.endpoint());
    let code = berth_compose::cli::run(args, endpoint).await?;
    Ok(ExitCode::from(code))
}

/// The docker CLI plugin handshake (`docker-cli-plugin-metadata`).
pub fn plugin_metadata() -> anyhow::Result<ExitCode> {
    println!("{}", berth_compose::cli::plugin_metadata());
    Ok(ExitCode::SUCCESS)
}
