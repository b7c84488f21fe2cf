//! `berth login [-u USER] [--token-stdin] [REGISTRY]`: Docker Hub in the browser (device flow)
//! by default; any registry with a user name and an access token.

use std::process::ExitCode;

use berth_api::login::DockerConfig;
use berth_api::login::{self as commands, DockerConfigChoice, LoginOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The registry (default: Docker Hub)
    registry: Option<String>,
    /// Sign in with this user name and an access token instead of the browser
    #[arg(short, long)]
    username: Option<String>,
    /// Read the access token from stdin
    #[arg(long)]
    token_stdin: bool,
    /// How the docker CLI finds these credentials in its config.json
    #[arg(long, value_enum, default_value_t = DockerConfigArg::CredHelpers)]
    docker_config: DockerConfigArg,
    /// Print the address instead of opening the browser
    #[arg(long)]
    no_browser: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum DockerConfigArg {
    /// `credHelpers` for this registry only
    CredHelpers,
    /// `credsStore`: Berth answers for every registry
    CredsStore,
    /// Leave config.json alone
    None,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let hub = berth_api::hub::open()?;
    let docker = DockerConfig::from_env()?;
    let options = LoginOptions {
        registry: args.registry,
        username: args.username,
        token_stdin: args.token_stdin,
        docker_config: match args.docker_config {
            DockerConfigArg::CredHelpers => DockerConfigChoice::CredHelpers,
            DockerConfigArg::CredsStore => DockerConfigChoice::CredsStore,
            DockerConfigArg::None => DockerConfigChoice::None,
        },
        open_browser: !args.no_browser,
    };
    commands::login(
        &hub,
        &docker,
        &options,
        &mut std::io::BufReader::new(std::io::stdin()),
        &mut std::io::stdout(),
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}
