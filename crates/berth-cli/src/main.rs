//! `berth`: the command-line face of Berth. Each subcommand is a thin layer over `berth-api`.

mod cmd;
mod output;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "berth",
    version,
    about = "A Docker engine in a small VM, made to look local",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show whether the engine answers, its versions and endpoint
    Status(cmd::status::Args),
    /// Start the engine (its VM and the background daemon); wait until it answers
    Start(cmd::start::Args),
    /// Stop the engine gracefully
    Stop(cmd::stop::Args),
    /// Stop, then start the engine
    Restart(cmd::restart::Args),
    /// Pause the engine's VM now (Resource Saver); the next docker command wakes it
    Pause(cmd::pause::Args),
    /// Resume a paused engine now
    Wake(cmd::pause::Args),
    /// Show Berth's own log (`--vm`: the VM console)
    Logs(cmd::vm_logs::Args),
    /// Show or change settings (`berth settings set vm.cpus 4`); VM changes apply at restart
    Settings(cmd::settings::Args),
    /// Reset Berth to factory defaults: deletes the engine's data, settings and credentials
    Reset(cmd::reset::Args),
    /// Remove stopped containers, dangling images, unused networks and build cache
    Prune(cmd::prune::Args),
    /// Write a diagnostics bundle (versions, settings, state, logs; secrets removed)
    Diagnose(cmd::diagnose::Args),
    /// Sign in to Docker Hub (in the browser) or a registry (-u USER with an access token)
    Login(cmd::login::Args),
    /// Sign out of Docker Hub or a registry
    Logout(cmd::logout::Args),
    /// Show the accounts Berth is signed in to
    Whoami(cmd::whoami::Args),
    /// Write the `berth` docker context and put berth, its credential helper and the compose
    /// plugin on the PATH (first-run setup; `--undo` before uninstalling)
    Setup(cmd::setup::Args),
    /// Run the background daemon (started by `berth start`)
    #[command(hide = true)]
    Daemon(cmd::daemon::Args),
    /// Engines: Berth's own, remote ones over ssh or TLS, every docker context (`use` switches)
    Engines(cmd::engines::Args),
    /// Learn Docker by doing: lessons that run on your engine and clean up after themselves
    Learn(cmd::learn::Args),
    /// Define and run multi-container applications (compose files)
    Compose(berth_api::compose_cli::Args),
    /// Swarm: init/join/leave, nodes, services, scaling, rolling updates, stacks, autoscaling
    Swarm(cmd::swarm::Args),
    /// The docker CLI plugin handshake (berth installed as the `docker compose` plugin)
    #[command(name = "docker-cli-plugin-metadata", hide = true)]
    DockerCliPluginMetadata,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(matches!(cli.command, Command::Daemon(_)));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("berth: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Status(args) => cmd::status::run(args).await,
            Command::Start(args) => cmd::start::run(args).await,
            Command::Stop(args) => cmd::stop::run(args).await,
            Command::Restart(args) => cmd::restart::run(args).await,
            Command::Pause(args) => cmd::pause::pause(args).await,
            Command::Wake(args) => cmd::pause::wake(args).await,
            Command::Logs(args) => cmd::vm_logs::run(args).await,
            Command::Settings(args) => cmd::settings::run(args).await,
            Command::Reset(args) => cmd::reset::run(args).await,
            Command::Prune(args) => cmd::prune::run(args).await,
            Command::Diagnose(args) => cmd::diagnose::run(args).await,
            Command::Login(args) => cmd::login::run(args).await,
            Command::Logout(args) => cmd::logout::run(args).await,
            Command::Whoami(args) => cmd::whoami::run(args).await,
            Command::Setup(args) => cmd::setup::run(args).await,
            Command::Daemon(args) => cmd::daemon::run(args).await,
            Command::Engines(args) => cmd::engines::run(args).await,
            Command::Learn(args) => cmd::learn::run(args).await,
            Command::Compose(args) => cmd::compose::run(args).await,
            Command::Swarm(args) => cmd::swarm::run(args).await,
            Command::DockerCliPluginMetadata => cmd::compose::plugin_metadata(),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("berth: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr, quiet unless `BERTH_LOG` (an `EnvFilter` directive) asks for more. The
/// daemon writes Berth's rolling log files instead (see `berth logs`).
fn init_tracing(daemon: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BERTH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if daemon {
        if let Some(file) = berth_core::BerthPaths::from_env().ok().and_then(|paths| {
            paths.ensure().ok()?;
            berth_api::daemon_client::log_files::RollingFile::daemon(&paths.logs_dir).ok()
        }) {
            builder
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .init();
            return;
        }
    }
    builder.with_writer(std::io::stderr).init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
