//! The engine state machine: one definition, held live by whoever owns the engine (the daemon),
//! watched by everyone else (tray, window, CLI).

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Mutex;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::error::ErrorCode;

/// Where a start is.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartPhase {
    /// The hypervisor is starting the guest.
    BootingVm,
    /// The guest is up; waiting for the agent's handshake on the link.
    WaitingForAgent,
    /// The agent answered; waiting for dockerd to answer `/_ping`.
    WaitingForEngine,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum EngineState {
    Stopped,
    Starting {
        phase: StartPhase,
    },
    Running {
        #[serde(with = "time::serde::rfc3339")]
        #[cfg_attr(feature = "ts", ts(type = "string"))]
        since: OffsetDateTime,
    },
    /// Resource Saver: the VM is paused (no CPU, memory given back); the next connection to the
    /// engine or to a published port, or "Wake now", resumes it.
    Paused {
        #[serde(with = "time::serde::rfc3339")]
        #[cfg_attr(feature = "ts", ts(type = "string"))]
        since: OffsetDateTime,
    },
    Stopping,
    Error {
        code: ErrorCode,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the engine cannot go from {from} to {to}")]
pub struct InvalidTransition {
    pub from: &'static str,
    pub to: &'static str,
}

impl EngineState {
    pub fn name(&self) -> &'static str {
        match self {
            EngineState::Stopped => "stopped",
            EngineState::Starting { .. } => "starting",
            EngineState::Running { .. } => "running",
            EngineState::Paused { .. } => "paused",
            EngineState::Stopping => "stopping",
            EngineState::Error { .. } => "error",
        }
    }

    pub fn running_now() -> Self {
        EngineState::Running {
            since: OffsetDateTime::now_utc(),
        }
    }

    pub fn paused_now() -> Self {
        EngineState::Paused {
            since: OffsetDateTime::now_utc(),
        }
    }

    pub fn is_paused(&self) -> bool {
        matches!(self, EngineState::Paused { .. })
    }

    pub fn is_running(&self) -> bool {
        matches!(self, EngineState::Running { .. })
    }

    /// Whether a start may be asked for now (what enables the tray's Start item).
    pub fn can_start(&self) -> bool {
        matches!(self, EngineState::Stopped | EngineState::Error { .. })
    }

    /// Whether a stop may be asked for now.
    pub fn can_stop(&self) -> bool {
        matches!(
            self,
            EngineState::Starting { .. }
                | EngineState::Running { .. }
                | EngineState::Paused { .. }
                | EngineState::Error { .. }
        )
    }

    /// The edges of the machine. Any state may fail into `Error`; phases only move forward.
    pub fn allows(&self, next: &EngineState) -> bool {
        use EngineState::*;
        match (self, next) {
            (_, Error { .. }) => true,
            (Stopped | Error { .. }, Starting { phase }) => *phase == StartPhase::BootingVm,
            (Starting { phase: a }, Starting { phase: b }) => b > a,
            (Starting { .. }, Running { .. }) => true,
            (Running { .. }, Paused { .. }) | (Paused { .. }, Running { .. }) => true,
            (Starting { .. } | Running { .. } | Paused { .. } | Error { .. }, Stopping) => true,
            (Stopping, Stopped) => true,
            // An engine that is not Berth's own (an existing socket) has no boot phases.
            (Stopped | Error { .. }, Running { .. }) => true,
            (Error { .. }, Stopped) => true,
            _ => false,
        }
    }
}

impl PartialOrd for StartPhase {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for StartPhase {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (*self as u8).cmp(&(*other as u8))
    }
}

/// One transition, kept for the diagnostics bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub from: EngineState,
    pub to: EngineState,
}

const HISTORY_LEN: usize = 200;

/// The live state: a `watch` channel that only accepts the machine's edges, plus a short history.
pub struct EngineStateCell {
    tx: watch::Sender<EngineState>,
    history: Mutex<VecDeque<Transition>>,
}

impl Default for EngineStateCell {
    fn default() -> Self {
        Self::new(EngineState::Stopped)
    }
}

impl EngineStateCell {
    pub fn new(initial: EngineState) -> Self {
        EngineStateCell {
            tx: watch::Sender::new(initial),
            history: Mutex::new(VecDeque::new()),
        }
    }

    pub fn get(&self) -> EngineState {
        self.tx.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<EngineState> {
        self.tx.subscribe()
    }

    /// Moves to `next` if the machine allows it; every accepted move is seen by every watcher.
    pub fn transition(&self, next: EngineState) -> Result<(), InvalidTransition> {
        let mut result = Ok(());
        self.tx.send_if_modified(|current| {
            if !current.allows(&next) {
                result = Err(InvalidTransition {
                    from: current.name(),
                    to: next.name(),
                });
                return false;
            }
            let from = std::mem::replace(current, next.clone());
            let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
            if history.len() == HISTORY_LEN {
                history.pop_front();
            }
            history.push_back(Transition {
                at: OffsetDateTime::now_utc(),
                from,
                to: next.clone(),
            });
            true
        });
        if result.is_ok() {
            tracing::info!(state = next.name(), "engine state changed");
        }
        result
    }

    pub fn history(&self) -> Vec<Transition> {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        history.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EngineState::*;

    fn error() -> EngineState {
        Error {
            code: ErrorCode::VmFailed,
            message: "qemu exited".into(),
        }
    }

    #[test]
    fn a_full_start_and_stop_is_allowed() {
        let cell = EngineStateCell::default();
        for next in [
            Starting {
                phase: StartPhase::BootingVm,
            },
            Starting {
                phase: StartPhase::WaitingForAgent,
            },
            Starting {
                phase: StartPhase::WaitingForEngine,
            },
            EngineState::running_now(),
            Stopping,
            Stopped,
        ] {
            cell.transition(next).unwrap();
        }
        assert_eq!(cell.history().len(), 6);
        assert_eq!(cell.get(), Stopped);
    }

    #[test]
    fn a_running_engine_pauses_and_wakes_and_a_paused_one_can_stop() {
        let paused = EngineState::paused_now();
        assert!(EngineState::running_now().allows(&paused));
        assert!(paused.allows(&EngineState::running_now()));
        assert!(paused.allows(&Stopping));
        assert!(paused.allows(&error()));
        assert!(paused.can_stop() && !paused.can_start());
        assert!(!Stopped.allows(&paused));
        assert!(!EngineState::Starting {
            phase: StartPhase::WaitingForEngine
        }
        .allows(&paused));
        assert_eq!(paused.name(), "paused");
        assert!(serde_json::to_string(&paused)
            .unwrap()
            .starts_with(r#"{"state":"paused","since":"#));
    }

    #[test]
    fn phases_never_go_backwards_and_stopped_cannot_jump_to_stopping() {
        let cell = EngineStateCell::default();
        cell.transition(Starting {
            phase: StartPhase::BootingVm,
        })
        .unwrap();
        cell.transition(Starting {
            phase: StartPhase::WaitingForEngine,
        })
        .unwrap();
        let err = cell
            .transition(Starting {
                phase: StartPhase::BootingVm,
            })
            .unwrap_err();
        assert_eq!(err.from, "starting");
        assert!(!Stopped.allows(&Stopping));
        assert!(!Stopped.allows(&Stopped));
        assert!(!Stopping.allows(&EngineState::running_now()));
    }

    #[test]
    fn any_state_can_fail_and_an_error_can_be_retried() {
        for state in [Stopped, Stopping, EngineState::running_now(), error()] {
            assert!(state.allows(&error()), "{state:?}");
        }
        assert!(error().allows(&Starting {
            phase: StartPhase::BootingVm
        }));
        assert!(error().can_start());
        assert!(!EngineState::running_now().can_start());
    }

    #[tokio::test]
    async fn watchers_see_every_accepted_transition() {
        let cell = EngineStateCell::default();
        let mut rx = cell.subscribe();
        cell.transition(error()).unwrap();
        rx.changed().await.unwrap();
        assert_eq!(rx.borrow().name(), "error");
        assert!(cell.transition(Stopping).is_ok());
        rx.changed().await.unwrap();
        assert_eq!(*rx.borrow(), Stopping);
    }

    #[test]
    fn state_json_is_tagged() {
        let json = serde_json::to_value(Starting {
            phase: StartPhase::WaitingForAgent,
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"state": "starting", "phase": "waiting_for_agent"})
        );
        let back: EngineState = serde_json::from_value(json).unwrap();
        assert_eq!(
            back,
            Starting {
                phase: StartPhase::WaitingForAgent
            }
        );
    }
}
