//! The engine's life: start = boot -> agent handshake -> engine ping -> `Running`; stop =
//! `Shutdown` over the link, wait for the hypervisor to exit with a deadline, then force. Every
//! step is a transition of the one state machine in `berth-core`, and a VM that dies on its
//! own moves the machine to `Error` the moment its process is reaped.
//!
//! [`artifacts`] finds what a VM is made of, [`boot`] walks a start's phases, [`agent_link`]
//! opens the link to the guest agent, [`supervision`] turns a crash or a broken link into
//! `Error`, and [`shutdown`] ends a VM gracefully or by force.

mod agent_link;
mod artifacts;
mod boot;
#[cfg(all(test, unix))]
mod fake_vm;
mod pause;
mod shutdown;
mod supervision;
#[cfg(all(test, unix))]
mod tests;

use std::sync::{Arc, Mutex};

use berth_core::boot::BootTimeline;
use berth_core::{ApiError, BerthPaths, EngineState, EngineStateCell, ErrorCode, StartPhase};
use berth_link::activity::ActivityGate;
use berth_link::LinkClient;
use berth_vm::{Hypervisor, VmError};
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::control::{AgentSummary, DaemonStatus, IdleInfo, VmInfo};

pub use artifacts::{Artifacts, NativeVm, VmFactory, AGENT_BIN_VAR};
pub use berth_control::endpoint::engine_host;
pub use pause::PauseReason;

#[derive(Default)]
struct Active {
    hv: Option<Arc<dyn Hypervisor>>,
    link: Option<LinkClient>,
    tasks: Vec<AbortHandle>,
}

#[derive(Default)]
struct Shown {
    vm: Option<VmInfo>,
    agent: Option<AgentSummary>,
    /// The VM shown: its pid and the host memory it holds are read at each status.
    hv: Option<Arc<dyn Hypervisor>>,
    /// The last start's timing.
    boot: Option<BootTimeline>,
    port_warnings: crate::published_ports::PortWarnings,
}

pub struct Lifecycle {
    paths: BerthPaths,
    factory: Arc<dyn VmFactory>,
    artifacts: Box<dyn Fn() -> Result<Artifacts, ApiError> + Send + Sync>,
    cell: Arc<EngineStateCell>,
    /// Serializes start and stop.
    op: tokio::sync::Mutex<Active>,
    /// Cancels the start in progress (a stop wins over a start).
    cancel: Mutex<CancellationToken>,
    shown: Arc<Mutex<Shown>>,
    health: crate::health::HealthPolicy,
    /// What every host listener passes: held while the VM is paused, counted for idleness.
    gate: Arc<ActivityGate>,
}

impl Lifecycle {
    pub fn new(paths: BerthPaths, factory: Arc<dyn VmFactory>) -> Self {
        Self::with_artifacts(paths, factory, Artifacts::locate)
    }

    pub fn with_artifacts(
        paths: BerthPaths,
        factory: Arc<dyn VmFactory>,
        artifacts: impl Fn() -> Result<Artifacts, ApiError> + Send + Sync + 'static,
    ) -> Self {
        Lifecycle {
            paths,
            factory,
            artifacts: Box::new(artifacts),
            cell: Arc::new(EngineStateCell::default()),
            op: tokio::sync::Mutex::new(Active::default()),
            cancel: Mutex::new(CancellationToken::new()),
            shown: Arc::new(Mutex::new(Shown::default())),
            health: crate::health::HealthPolicy::default(),
            gate: ActivityGate::new(),
        }
    }

    /// How the running engine is pinged (tests use short intervals).
    pub fn with_health(mut self, policy: crate::health::HealthPolicy) -> Self {
        self.health = policy;
        self
    }

    pub fn paths(&self) -> &BerthPaths {
        &self.paths
    }

    pub fn subscribe(&self) -> watch::Receiver<EngineState> {
        self.cell.subscribe()
    }

    /// The port warnings [`Lifecycle::status`] shows (a shared handle: subscribe to changes).
    pub(crate) fn port_warnings(&self) -> crate::published_ports::PortWarnings {
        lock(&self.shown).port_warnings.clone()
    }

    /// Every transition so far (for diagnostics).
    pub fn history(&self) -> Vec<berth_core::state::Transition> {
        self.cell.history()
    }

    pub fn status(&self) -> DaemonStatus {
        let (mut vm, hv, agent, boot, port_warnings) = {
            let shown = lock(&self.shown);
            (
                shown.vm.clone(),
                shown.hv.clone(),
                shown.agent.clone(),
                shown.boot.clone(),
                shown.port_warnings.list(),
            )
        };
        if let (Some(vm), Some(hv)) = (vm.as_mut(), hv) {
            vm.pid = hv.status().borrow().pid();
            vm.host_memory_bytes = hv.host_memory_bytes();
        }
        DaemonStatus {
            state: self.cell.get(),
            daemon_pid: std::process::id(),
            endpoint: engine_host(&self.paths),
            vm,
            agent,
            boot,
            port_warnings,
            idle: self.cell.get().is_running().then(|| IdleInfo {
                open_connections: self.gate.open_connections(),
                idle_secs: self.gate.idle_for().map(|d| d.as_secs()),
            }),
        }
    }

    /// Boots the engine; returns when it answers (or why it cannot).
    pub async fn start(&self) -> Result<DaemonStatus, ApiError> {
        let mut active = self.op.lock().await;
        if self.cell.get().is_running() {
            return Ok(self.status());
        }
        // An engine in Error may still have a VM: clear it away first.
        self.teardown(&mut active).await;
        let token = CancellationToken::new();
        *lock(&self.cancel) = token.clone();
        self.transition(EngineState::Starting {
            phase: StartPhase::BootingVm,
        });
        match self.boot(&mut active, &token).await {
            Ok(()) => {
                // The idle time counts from here, not from the daemon's start.
                self.gate.touch();
                self.transition(EngineState::running_now());
                info!("engine running");
                Ok(self.status())
            }
            Err(err) => {
                self.teardown(&mut active).await;
                if !token.is_cancelled() {
                    self.transition(EngineState::Error {
                        code: err.code,
                        message: err.message.clone(),
                    });
                }
                Err(err)
            }
        }
    }

    /// Stops the engine: graceful first, then by force. A start in progress is abandoned.
    pub async fn stop(&self) -> Result<DaemonStatus, ApiError> {
        lock(&self.cancel).cancel();
        let mut active = self.op.lock().await;
        if self.cell.get() == EngineState::Stopped {
            return Ok(self.status());
        }
        let was_paused = self.cell.get().is_paused();
        self.transition(EngineState::Stopping);
        if was_paused {
            // The guest powers itself off cleanly only when it runs.
            if let Some(hv) = active.hv.clone() {
                if let Err(err) = hv.resume().await {
                    warn!(%err, "cannot resume the paused VM to stop it; forcing");
                }
            }
        }
        self.shut_down(&mut active).await;
        self.teardown(&mut active).await;
        self.transition(EngineState::Stopped);
        info!("engine stopped");
        Ok(self.status())
    }

    pub async fn restart(&self) -> Result<DaemonStatus, ApiError> {
        self.stop().await?;
        self.start().await
    }

    fn transition(&self, next: EngineState) {
        if let Err(err) = self.cell.transition(next) {
            warn!(%err, "ignored an invalid engine transition");
        }
    }
}

fn vm_error(err: VmError) -> ApiError {
    let code = match err {
        VmError::Unsupported { .. } => ErrorCode::Unsupported,
        VmError::MissingTool { .. } => ErrorCode::MissingTool,
        _ => ErrorCode::VmFailed,
    };
    ApiError::from_error(code, &err)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
