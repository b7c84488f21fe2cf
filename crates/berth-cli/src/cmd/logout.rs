//! `berth logout [REGISTRY]`: erase the credentials from the keyring (and revoke Hub's token).

use std::process::ExitCode;

use berth_api::login as commands;
use berth_api::login::DockerConfig;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The registry (default: Docker Hub)
    registry: Option<String>,
    /// Also put credsStore/credHelpers in the docker CLI's config.json back as before Berth
    #[arg(long)]
    restore_docker_config: bool,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let hub = berth_api::hub::open()?;
    let docker = DockerConfig::from_env()?;
    commands::logout(
        &hub,
        &docker,
        args.registry.as_deref(),
        args.restore_docker_config,
        &mut std::io::stdout(),
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}
