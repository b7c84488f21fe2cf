//! Long streams to the window (logs, stats, events, exec output) run as tasks that push into a
//! `tauri::ipc::Channel`; the window ends one with `stop_stream(id)`, and a task ends by itself
//! when its channel is gone.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use berth_core::{ApiError, ErrorCode};
use berth_engine::exec::{ExecHandle, ExecInput};
use tokio::task::AbortHandle;

/// An exec session's input side; the output side is a stream task.
pub struct ExecIo {
    pub handle: ExecHandle,
    pub input: tokio::sync::Mutex<ExecInput>,
}

#[derive(Default)]
pub struct Streams {
    next: AtomicU32,
    tasks: Mutex<HashMap<u32, AbortHandle>>,
    execs: Mutex<HashMap<u32, std::sync::Arc<ExecIo>>>,
}

impl Streams {
    /// Spawns `task` and returns the id the window uses to stop it.
    pub fn spawn<F>(&self, task: F) -> u32
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let handle = tauri::async_runtime::spawn(task);
        self.lock_tasks().insert(id, handle.inner().abort_handle());
        id
    }

    pub fn add_exec(&self, id: u32, io: ExecIo) {
        self.lock_execs().insert(id, std::sync::Arc::new(io));
    }

    pub fn exec(&self, id: u32) -> Result<std::sync::Arc<ExecIo>, ApiError> {
        self.lock_execs().get(&id).cloned().ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("No terminal session {id}; it has ended"),
            )
        })
    }

    pub fn stop(&self, id: u32) {
        if let Some(task) = self.lock_tasks().remove(&id) {
            task.abort();
        }
        self.lock_execs().remove(&id);
    }

    fn lock_tasks(&self) -> std::sync::MutexGuard<'_, HashMap<u32, AbortHandle>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_execs(&self) -> std::sync::MutexGuard<'_, HashMap<u32, std::sync::Arc<ExecIo>>> {
        self.execs.lock().unwrap_or_else(|e| e.into_inner())
    }
}
