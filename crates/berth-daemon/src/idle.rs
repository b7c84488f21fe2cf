//! Resource Saver's watcher: pauses a running engine after `engine.pause_when_idle` with no
//! container running and no connection to the engine open, and wakes it when a connection
//! asks.
//!
//! The setting is read at every check, so a change applies without a restart.

use std::sync::Arc;
use std::time::Duration;

use berth_core::settings::MIN_PAUSE_WHEN_IDLE;
use berth_core::{EngineState, Settings};
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::lifecycle::{Lifecycle, PauseReason};

/// How often an idle engine's idle time is looked at (a host-side counter: no guest work).
const CHECK: Duration = Duration::from_secs(1);

pub fn resource_saver(lifecycle: Arc<Lifecycle>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut states = lifecycle.subscribe();
        loop {
            let state = states.borrow_and_update().clone();
            match state {
                EngineState::Running { .. } => {
                    tokio::select! {
                        () = tokio::time::sleep(CHECK) => maybe_pause(&lifecycle).await,
                        changed = states.changed() => if changed.is_err() { return },
                    }
                }
                EngineState::Paused { .. } => {
                    tokio::select! {
                        () = lifecycle.wake_requested() => {
                            if let Err(err) = lifecycle.wake().await {
                                warn!(%err.message, "the engine did not wake");
                            }
                        }
                        changed = states.changed() => if changed.is_err() { return },
                    }
                }
                _ => {
                    if states.changed().await.is_err() {
                        return;
                    }
                }
            }
        }
    })
}

async fn maybe_pause(lifecycle: &Lifecycle) {
    // The settings file is read only once the engine has been idle as long as the shortest
    // setting allows, not every second.
    let Some(idle) = lifecycle
        .idle_for()
        .filter(|idle| *idle >= MIN_PAUSE_WHEN_IDLE)
    else {
        return;
    };
    let Some(after) = pause_when_idle(lifecycle) else {
        return;
    };
    if idle < after {
        return;
    }
    debug!(?after, "idle long enough: asking the engine what runs");
    match lifecycle.running_containers().await {
        Ok(0) => {}
        Ok(running) => {
            debug!(running, "containers run: the engine stays awake");
            lifecycle.touch();
            return;
        }
        Err(err) => {
            warn!(%err, "cannot tell whether containers run; not pausing");
            lifecycle.touch();
            return;
        }
    }
    if let Err(err) = lifecycle.pause(PauseReason::Idle(after)).await {
        warn!(%err.message, "the idle engine could not pause");
        // Not again at once: the next try waits a full idle time.
        lifecycle.touch();
    }
}

fn pause_when_idle(lifecycle: &Lifecycle) -> Option<Duration> {
    match Settings::load(&lifecycle.paths().settings_file()) {
        Ok(settings) => settings.engine.pause_when_idle.duration(),
        Err(err) => {
            debug!(%err, "cannot read the settings; not pausing");
            None
        }
    }
}
