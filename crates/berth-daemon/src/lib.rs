//! `berth daemon`: the one long-lived host process per BERTH_HOME. It owns the VM, the link
//! to the guest agent and the engine socket relay, and serves a control socket that the CLI
//! and the app use ([`control`]). A CLI command that exits leaves the engine running.

pub mod health;
pub mod idle;
pub mod lifecycle;
pub mod published_ports;
pub mod server;

/// The contract with the daemon's clients lives in berth-control; named here as before.
pub use berth_control::protocol as control;
pub use berth_control::{lock, log_files};

use std::sync::Arc;

use berth_core::BerthPaths;
use tokio_util::sync::CancellationToken;
use tracing::info;

pub use lifecycle::{Lifecycle, NativeVm, VmFactory};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    #[error("cannot prepare Berth's directories")]
    Paths(#[source] berth_core::paths::PathsError),
    #[error(transparent)]
    Lock(#[from] lock::LockError),
    #[error("cannot serve the control socket {path:?}")]
    Control {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Runs the daemon until a `quit` request, SIGTERM or SIGINT; then stops the engine.
pub async fn run(paths: BerthPaths, factory: Arc<dyn VmFactory>) -> Result<(), DaemonError> {
    paths.ensure().map_err(DaemonError::Paths)?;
    let _lock = lock::acquire(&paths.daemon_lock())?;
    #[cfg(unix)]
    let control = paths.control_socket();
    #[cfg(windows)]
    let control = std::path::PathBuf::from(server::control_pipe());
    #[cfg(unix)]
    let listener =
        berth_link::relay::bind_private(&control).map_err(|source| DaemonError::Control {
            path: control.clone(),
            source,
        })?;
    let lifecycle = Arc::new(Lifecycle::new(paths.clone(), factory));
    let quit = CancellationToken::new();
    spawn_signal_handlers(quit.clone()).map_err(|source| DaemonError::Control {
        path: control.clone(),
        source,
    })?;
    info!(pid = std::process::id(), socket = %control.display(), "daemon ready");
    let restarts = health::auto_restart(lifecycle.clone(), health::Backoff::default());
    let saver = idle::resource_saver(lifecycle.clone());
    #[cfg(unix)]
    server::serve(listener, lifecycle.clone(), quit).await;
    #[cfg(windows)]
    let served = server::serve_named_pipe(lifecycle.clone(), quit).await;
    restarts.abort();
    saver.abort();
    let _ = lifecycle.stop().await;
    #[cfg(unix)]
    let _ = std::fs::remove_file(&control);
    #[cfg(windows)]
    served.map_err(|source| DaemonError::Control {
        path: control.clone(),
        source,
    })?;
    info!("daemon exiting");
    Ok(())
}

/// What an older Berth left readable by others (disk, logs, settings) becomes the user's alone,
/// at every engine start. The folders are private already ([`BerthPaths::ensure`]); this is
/// the files in them.
pub(crate) fn make_files_private(paths: &BerthPaths) {
    for dir in [
        paths.config_dir.clone(),
        paths.logs_dir.clone(),
        paths.logs_dir.join("vm"),
        paths.data_dir.join("vm"),
    ] {
        if let Err(err) = berth_core::owner_only::restrict_files_in(&dir) {
            tracing::warn!(%err, dir = %dir.display(), "cannot make these files private");
        }
    }
}

#[cfg(windows)]
fn spawn_signal_handlers(quit: CancellationToken) -> std::io::Result<()> {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            quit.cancel();
        }
    });
    Ok(())
}

#[cfg(unix)]
fn spawn_signal_handlers(quit: CancellationToken) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    // The terminal that started `berth start` may close: that must not end the engine.
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = hup.recv() => continue,
            }
        }
        quit.cancel();
    });
    Ok(())
}
