//! `berth compose ...`: hands over to the compose command line (berth_api::compose_cli), on Berth's engine
//! unless `-H`, `--context`, `DOCKER_HOST` or `DOCKER_CONTEXT` name another one, pulling with
//! the credentials signed in to Berth (the OS keyring) for each image's registry.
//! Installed as `~/.docker/cli-plugins/docker-compose`, the same binary serves
//! `docker compose ...` (the docker CLI runs it as `docker-compose compose ...`).

use std::process::ExitCode;

use berth_api::Berth;

pub async fn run(args: berth_api::compose_cli::Args) -> anyhow::Result<ExitCode> {
    let berth = Berth::open().ok();
    let endpoint = berth.as_ref().map(Berth::endpoint);
    let credentials = berth.as_ref().map(Berth::credentials_lookup);
    let code = berth_api::compose_cli::run(args, endpoint, credentials).await?;
    Ok(ExitCode::from(code))
}

/// The docker CLI plugin handshake (`docker-cli-plugin-metadata`).
pub fn plugin_metadata() -> anyhow::Result<ExitCode> {
    println!("{}", berth_api::compose_cli::plugin_metadata());
    Ok(ExitCode::SUCCESS)
}
