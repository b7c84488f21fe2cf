//! Ending a VM: gracefully through the agent, then by ACPI, then by force.

use std::time::Duration;

use tracing::{debug, info, warn};

use super::{lock, Active, Lifecycle};

/// How long the agent gets to acknowledge `Shutdown`.
const SHUTDOWN_ACK_DEADLINE: Duration = Duration::from_secs(5);
/// How long the guest gets to power off after acknowledging.
const POWEROFF_DEADLINE: Duration = Duration::from_secs(30);
/// How long a guest whose link failed under the shutdown request gets to exit by itself.
const LOST_ANSWER_GRACE: Duration = Duration::from_secs(2);
/// ACPI power-down grace when the link is gone.
const ACPI_DEADLINE: Duration = Duration::from_secs(5);

impl Lifecycle {
    /// Asks the guest to power off and waits, then forces.
    pub(super) async fn shut_down(&self, active: &mut Active) {
        let Some(hv) = active.hv.clone() else {
            return;
        };
        let mut rx = hv.status();
        if !rx.borrow().is_running() {
            return;
        }
        hv.expect_exit();
        // How long the guest gets to power off: the full time once it answered; a moment when
        // the link failed under the request (a guest powering off can take its answer with it).
        let poweroff = match &active.link {
            Some(link) if !link.is_closed() => {
                match tokio::time::timeout(SHUTDOWN_ACK_DEADLINE, link.shutdown()).await {
                    Ok(Ok(())) => Some(POWEROFF_DEADLINE),
                    Ok(Err(err)) => {
                        debug!(%err, "the shutdown request got no answer");
                        Some(LOST_ANSWER_GRACE)
                    }
                    Err(_) => None,
                }
            }
            _ => None,
        };
        if let Some(deadline) = poweroff {
            let exited = berth_vm::wait_status(&mut rx, deadline, |s| !s.is_running())
                .await
                .is_some();
            if exited {
                info!("guest powered off");
                return;
            }
            warn!("the guest did not power off in time");
        }
        match hv.stop(ACPI_DEADLINE).await {
            Ok(outcome) => info!(?outcome, "VM stopped"),
            Err(err) => warn!(%err, "cannot stop the VM"),
        }
    }

    /// Ends every task and process of the last start; idempotent.
    pub(super) async fn teardown(&self, active: &mut Active) {
        for task in active.tasks.drain(..) {
            task.abort();
        }
        active.link = None;
        if let Some(hv) = active.hv.take() {
            if let Err(err) = hv.kill().await {
                warn!(%err, "cannot kill the VM");
            }
        }
        let _ = std::fs::remove_file(self.paths.engine_socket());
        let _ = std::fs::remove_file(self.paths.app_engine_socket());
        // Connections held for a wake go on, and find no engine.
        self.gate.resumed();
        lock(&self.shown).port_warnings.clear();
    }
}
