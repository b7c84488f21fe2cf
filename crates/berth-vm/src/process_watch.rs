//! What every backend does with its hypervisor process (QEMU, vfkit, the agent's `wsl.exe`):
//! publish `Running`, wait on it in a task, publish how it exited — noting whether Berth asked
//! for that — and end it on request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use crate::process::ChildProcess;
use crate::VmStatus;

pub(crate) struct ProcessWatch {
    status_tx: watch::Sender<VmStatus>,
    kill_tx: Mutex<Option<mpsc::UnboundedSender<()>>>,
    requested: Arc<AtomicBool>,
}

impl ProcessWatch {
    pub(crate) fn new() -> Self {
        ProcessWatch {
            status_tx: watch::channel(VmStatus::NotStarted).0,
            kill_tx: Mutex::new(None),
            requested: Arc::new(AtomicBool::new(false)),
        }
    }

    pub(crate) fn is_running(&self) -> bool {
        self.status_tx.borrow().is_running()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<VmStatus> {
        self.status_tx.subscribe()
    }

    /// The next exit is one Berth asked for (a stop, a guest power-off), not a crash.
    pub(crate) fn expect_exit(&self) {
        self.requested.store(true, Ordering::SeqCst);
    }

    /// Publishes `Running` for `child` and waits on it; `on_exit` runs once it has exited,
    /// before the exit is published. `what` names the process in logs.
    pub(crate) fn watch(
        &self,
        mut child: Box<dyn ChildProcess>,
        what: &'static str,
        on_exit: impl FnOnce() + Send + 'static,
    ) {
        let (kill_tx, mut kill_rx) = mpsc::unbounded_channel::<()>();
        *self.kill_tx.lock().unwrap_or_else(|e| e.into_inner()) = Some(kill_tx);
        self.requested.store(false, Ordering::SeqCst);
        self.status_tx
            .send_replace(VmStatus::Running { pid: child.pid() });
        let status_tx = self.status_tx.clone();
        let requested = self.requested.clone();
        tokio::spawn(async move {
            let exit = loop {
                tokio::select! {
                    exit = child.wait() => break exit,
                    Some(()) = kill_rx.recv() => {
                        if let Err(err) = child.start_kill() {
                            warn!(%err, "cannot end {what}");
                        }
                    }
                }
            };
            on_exit();
            let (code, signal) = match exit {
                Ok(info) => (info.code, info.signal),
                Err(err) => {
                    warn!(%err, "lost track of {what}");
                    (None, None)
                }
            };
            let requested = requested.load(Ordering::SeqCst);
            if requested {
                info!(?code, ?signal, "{what} stopped");
            } else {
                warn!(?code, ?signal, "{what} exited unexpectedly");
            }
            status_tx.send_replace(VmStatus::Exited {
                code,
                signal,
                requested,
            });
        });
    }

    /// Ends the process (if it runs) and waits up to `deadline` for its exit to be published.
    pub(crate) async fn kill(&self, deadline: Duration) {
        if !self.is_running() {
            return;
        }
        self.expect_exit();
        if let Some(tx) = &*self.kill_tx.lock().unwrap_or_else(|e| e.into_inner()) {
            let _ = tx.send(());
        }
        let mut rx = self.subscribe();
        crate::wait_status(&mut rx, deadline, |s| !s.is_running()).await;
    }
}
