//! Health of a running engine, and recovery.
//!
//! While the engine runs, [`watch`] pings the guest agent through the link every few seconds.
//! An agent that stops answering (a hung guest, a dead agent behind a virtio port that stays
//! open) or an engine the agent reports down moves the state to `Error` with the reason.
//! [`auto_restart`] then starts the engine again when the user enabled
//! `app.auto_restart_engine`, waiting longer after each failure ([`Backoff`]) so a VM that
//! cannot come up never restarts in a fast loop.

use std::sync::Arc;
use std::time::Duration;

use berth_core::{EngineState, EngineStateCell, ErrorCode, Settings};
use berth_link::LinkClient;
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::Instant;
use tracing::{info, warn};

use crate::lifecycle::Lifecycle;

/// How often and how patiently a running engine is pinged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthPolicy {
    pub interval: Duration,
    /// One ping's deadline; a ping that takes longer is a miss.
    pub timeout: Duration,
    /// Unanswered pings in a row that make the engine `Error`. An engine the agent reports
    /// down needs twice as many: dockerd under a heavy load can be slow to answer its agent.
    pub misses: u32,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        // A hung guest is reported within misses * (interval + timeout) (~39 s at worst); a
        // TCG guest on a loaded host answers in well under a second, and a false alarm costs
        // more than a late one (it offers a restart of a working engine).
        HealthPolicy {
            interval: Duration::from_secs(3),
            timeout: Duration::from_secs(10),
            misses: 3,
        }
    }
}

/// Pings the agent until the task is aborted (the engine stops) or the engine is declared
/// failed.
pub fn watch(client: LinkClient, cell: Arc<EngineStateCell>, policy: HealthPolicy) -> AbortHandle {
    tokio::spawn(async move {
        let mut missed = 0;
        let mut down = 0;
        loop {
            tokio::time::sleep(policy.interval).await;
            match cell.get() {
                EngineState::Running { .. } => {}
                // Spawned as the start ends: the move to Running follows at once. A paused VM
                // cannot answer; the wake pings it first.
                EngineState::Starting { .. } | EngineState::Paused { .. } => {
                    missed = 0;
                    continue;
                }
                _ => return,
            }
            let reason = match tokio::time::timeout(policy.timeout, client.ping()).await {
                Ok(Ok(info)) if info.docker_ready => {
                    missed = 0;
                    down = 0;
                    continue;
                }
                Ok(Ok(_)) => {
                    missed = 0;
                    down += 1;
                    warn!(down, "the agent reports the engine is not answering");
                    if down >= 2 * policy.misses {
                        fail(&cell, format!("the engine in the VM stopped answering its agent ({down} checks in a row); see `berth logs --vm`"));
                        return;
                    }
                    continue;
                }
                // A closed link is reported by the link watcher (or the VM supervisor).
                Ok(Err(_)) if client.is_closed() => return,
                Ok(Err(err)) => format!("a health ping failed: {err}"),
                Err(_) => format!(
                    "the guest agent did not answer a ping within {} s",
                    policy.timeout.as_secs_f32()
                ),
            };
            missed += 1;
            warn!(missed, "{reason}");
            if missed >= policy.misses {
                fail(&cell, format!("{reason} ({missed} times in a row); the VM is hung or its agent died; see `berth logs --vm`"));
                return;
            }
        }
    })
    .abort_handle()
}

fn fail(cell: &EngineStateCell, message: String) {
    warn!(%message, "engine failed");
    let _ = cell.transition(EngineState::Error {
        code: ErrorCode::VmFailed,
        message,
    });
}

/// Waits between automatic restarts: `base`, doubling per failure up to `cap`; back to `base`
/// once the engine ran for `stable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    pub stable: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(120),
            stable: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The wait before restart number `attempt` (0-based) of a run of failures.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }
}

/// Restarts a failed engine when the user's settings ask for it, with back-off. Reads the
/// setting at each failure, so turning it on or off applies at once.
pub fn auto_restart(lifecycle: Arc<Lifecycle>, backoff: Backoff) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut rx = lifecycle.subscribe();
        let mut attempt = 0u32;
        let mut running_since: Option<Instant> = None;
        loop {
            let state = rx.borrow_and_update().clone();
            match state {
                EngineState::Running { .. } => {
                    running_since.get_or_insert_with(Instant::now);
                }
                EngineState::Error { message, .. } => {
                    if running_since
                        .take()
                        .is_some_and(|since| since.elapsed() >= backoff.stable)
                    {
                        attempt = 0;
                    }
                    if enabled(&lifecycle) {
                        let delay = backoff.delay(attempt);
                        attempt = attempt.saturating_add(1);
                        info!(attempt, ?delay, %message, "restarting the failed engine");
                        tokio::time::sleep(delay).await;
                        // The user may have started or stopped it meanwhile.
                        if matches!(lifecycle.status().state, EngineState::Error { .. })
                            && enabled(&lifecycle)
                        {
                            if let Err(err) = lifecycle.start().await {
                                warn!(%err.message, "the automatic restart failed");
                            }
                        }
                        continue;
                    }
                }
                EngineState::Stopped => {
                    running_since = None;
                    attempt = 0;
                }
                EngineState::Starting { .. }
                | EngineState::Paused { .. }
                | EngineState::Stopping => {}
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    })
}

fn enabled(lifecycle: &Lifecycle) -> bool {
    Settings::load(&lifecycle.paths().settings_file())
        .map(|s| s.app.auto_restart_engine)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let b = Backoff {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(60),
            stable: Duration::from_secs(300),
        };
        let delays: Vec<u64> = (0..8).map(|i| b.delay(i).as_secs()).collect();
        assert_eq!(delays, [2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(60));
    }
}
