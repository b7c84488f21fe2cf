//! `berth-agent`: the guest side of the Berth link.
//!
//! Started by the guest init as
//! `berth-agent serve --port /dev/virtio-ports/berth.link --docker-socket /var/run/docker.sock`.
//! It serves one host session at a time on the port, and waits for the host to come back when
//! the session ends. `--vsock PORT` serves each connection to a guest vsock port as a session
//! (QEMU with vhost-device-vsock, vfkit); `--listen-unix` (tests) and `--stdio` (WSL, ssh) serve
//! other byte streams. The guest init picks the mode (vm-image/README.md, "The link").

mod cache_trim;
mod port;
mod power;
mod system;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use berth_link::guest::{self, GuestConfig, Outcome};
use berth_link::LinkError;
use clap::{Args, Parser, Subcommand};

use crate::power::{OnShutdown, Plan};

/// Pause before reading the port again. While no host is connected the port reads EOF at
/// once, and there is no event to wait for, so the agent looks again after this.
const RETRY_DELAY: Duration = Duration::from_millis(100);

#[derive(Parser)]
#[command(name = "berth-agent", version, about = "Berth's guest agent")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the link.
    Serve(ServeArgs),
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("endpoint").required(true)))]
struct ServeArgs {
    /// A virtio-serial port (e.g. /dev/virtio-ports/berth.link).
    #[arg(long, group = "endpoint")]
    port: Option<PathBuf>,
    /// Listen on this vsock port (any host CID); one session per connection.
    #[arg(long, group = "endpoint")]
    vsock: Option<u32>,
    /// Listen on a unix socket instead (tests); one session per connection.
    #[arg(long, group = "endpoint")]
    listen_unix: Option<PathBuf>,
    /// Serve one session on stdin/stdout (WSL, ssh).
    #[arg(long, group = "endpoint")]
    stdio: bool,
    /// The guest engine socket.
    #[arg(long, default_value = "/var/run/docker.sock")]
    docker_socket: PathBuf,
    /// dockerd's pid file, to stop it on shutdown.
    #[arg(long, default_value = "/var/run/docker.pid")]
    dockerd_pidfile: PathBuf,
    /// The data disk's mount point, unmounted before power-off.
    #[arg(long, default_value = "/var/lib/docker")]
    data_dir: PathBuf,
    /// What a host `shutdown` does [default: power-off with --port, exit otherwise].
    #[arg(long, value_enum)]
    on_shutdown: Option<OnShutdown>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // The console log is a file on the host: no colour codes in it.
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BERTH_AGENT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve(args).await,
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // In a VM (a port or a vsock) a shutdown powers the guest off.
    let default_action = if args.port.is_some() || args.vsock.is_some() {
        OnShutdown::PowerOff
    } else {
        OnShutdown::Exit
    };
    let plan = Plan {
        action: args.on_shutdown.unwrap_or(default_action),
        dockerd_pidfile: args.dockerd_pidfile.clone(),
        data_dir: args.data_dir.clone(),
    };
    // Only an agent that powers its machine off owns that machine's clock and memory (an agent
    // serving a unix socket runs on a host, in tests and stand-ins).
    let mut cfg = GuestConfig::new(&args.docker_socket);
    if matches!(plan.action, OnShutdown::PowerOff) {
        cfg = cfg.with_system(Arc::new(system::Guest));
        tokio::spawn(cache_trim::run(cache_trim::Policy::default()));
    }
    let cfg = Arc::new(cfg);
    if let Some(path) = &args.port {
        serve_port(path, cfg).await;
    } else if let Some(port) = args.vsock {
        serve_vsock(port, cfg).await?;
    } else if let Some(path) = &args.listen_unix {
        serve_listener(path, cfg).await?;
    } else {
        let io = tokio::io::join(tokio::io::stdin(), tokio::io::stdout());
        if guest::serve(io, cfg).await? == Outcome::HostClosed {
            return Ok(());
        }
    }
    tokio::task::spawn_blocking(move || power::run(&plan)).await?
}

/// Serve sessions on the port until one asks for a shutdown. The port is opened once and
/// kept open (see `port`): each session gets a clone.
async fn serve_port(path: &Path, cfg: Arc<GuestConfig>) {
    let port = open_port(path).await;
    loop {
        match guest::serve(port.clone(), cfg.clone()).await {
            Ok(Outcome::ShutdownRequested) => return,
            Ok(Outcome::HostClosed) => tracing::info!("host disconnected"),
            // No host on the other end yet.
            Err(LinkError::Closed) => {}
            Err(e) => tracing::warn!(error = %e, "link session failed"),
        }
        tokio::time::sleep(RETRY_DELAY).await;
    }
}

/// Open the port, waiting for its device node if it is not there yet.
async fn open_port(path: &Path) -> port::Port {
    let mut warned = false;
    loop {
        match port::open(path) {
            Ok(port) => return port,
            Err(e) if !warned => {
                tracing::warn!(error = %e, port = %path.display(), "cannot open the link port yet");
                warned = true;
            }
            Err(_) => {}
        }
        tokio::time::sleep(RETRY_DELAY).await;
    }
}

/// Serve each connection to the guest's vsock `port` as a session, until one asks for a
/// shutdown.
#[cfg(target_os = "linux")]
async fn serve_vsock(port: u32, cfg: Arc<GuestConfig>) -> anyhow::Result<()> {
    let listener =
        berth_link::vsock::listen(port).with_context(|| format!("listen on vsock port {port}"))?;
    tracing::info!(port, "listening on vsock");
    guest::serve_until_shutdown(listener, cfg, |conn| conn).await?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
async fn serve_vsock(port: u32, _cfg: Arc<GuestConfig>) -> anyhow::Result<()> {
    anyhow::bail!("vsock port {port}: vsock is a Linux guest's")
}

/// Serve each connection to a unix socket as a session, until one asks for a shutdown.
async fn serve_listener(path: &Path, cfg: Arc<GuestConfig>) -> anyhow::Result<()> {
    let listener = berth_link::relay::bind_private(path)
        .with_context(|| format!("listen on {}", path.display()))?;
    tracing::info!(socket = %path.display(), "listening");
    guest::serve_until_shutdown(listener, cfg, |conn| conn).await?;
    Ok(())
}
