//! What happens to a running engine nobody stops: a VM that exits or a link that breaks
//! moves it to `Error`.

use std::time::Duration;

use berth_core::{EngineState, ErrorCode};
use berth_link::LinkClient;
use berth_vm::VmStatus;
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tracing::warn;

use super::Lifecycle;

/// How long a closed link waits for the VM's exit to explain it.
const LINK_GRACE: Duration = Duration::from_secs(1);

impl Lifecycle {
    /// A VM that exits while nobody asked for it moves the engine to Error at once.
    pub(super) fn supervise(&self, mut rx: watch::Receiver<VmStatus>) -> AbortHandle {
        let cell = self.cell.clone();
        let sockets = [self.paths.engine_socket(), self.paths.app_engine_socket()];
        tokio::spawn(async move {
            let Ok(status) = rx
                .wait_for(|s| matches!(s, VmStatus::Exited { .. }))
                .await
                .map(|s| s.clone())
            else {
                return;
            };
            let VmStatus::Exited {
                code,
                signal,
                requested: false,
            } = status
            else {
                return;
            };
            if matches!(cell.get(), EngineState::Stopping | EngineState::Stopped) {
                return; // the guest powered off because we asked it to
            }
            let how = match (code, signal) {
                (_, Some(signal)) => format!("was killed by signal {signal}"),
                (Some(code), None) => format!("exited with code {code}"),
                (None, None) => "exited".to_string(),
            };
            let message = format!("the VM {how}; see `berth logs --vm`");
            warn!(%message, "engine failed");
            for socket in &sockets {
                let _ = std::fs::remove_file(socket);
            }
            let _ = cell.transition(EngineState::Error {
                code: ErrorCode::VmFailed,
                message,
            });
        })
        .abort_handle()
    }

    /// A link that breaks under a running engine is an Error too (the relay is dead). When the
    /// VM itself died, the supervisor names that cause instead.
    pub(super) fn watch_link(
        &self,
        client: LinkClient,
        mut vm: watch::Receiver<VmStatus>,
    ) -> AbortHandle {
        let cell = self.cell.clone();
        tokio::spawn(async move {
            client.closed().await;
            let vm_gone = berth_vm::wait_status(&mut vm, LINK_GRACE, |s| !s.is_running())
                .await
                .is_some();
            if !vm_gone && cell.get().is_running() {
                let _ = cell.transition(EngineState::Error {
                    code: ErrorCode::VmFailed,
                    message: "the link to the guest agent closed".into(),
                });
            }
        })
        .abort_handle()
    }
}
