//! Long streams to the window (logs, stats, events, exec output) run as tasks that push into a
//! `tauri::ipc::Channel`; the window ends one with `stop_stream(id)`, and a task ends by itself
//! when its channel is gone.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use berth_api::transport::{ExecHandle, ExecInput};
use berth_core::{ApiError, ErrorCode};
use tokio::task::AbortHandle;

use berth_api::stats_feed::StatsFeed;

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
    feeds: Mutex<HashMap<u32, std::sync::Arc<StatsFeed>>>,
}

impl Streams {
    /// Spawns `task` and returns the id the window uses to stop it.
    pub fn spawn<F>(&self, task: F) -> u32
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let handle = tauri::async_runtime::spawn(task);
        lock(&self.tasks).insert(id, handle.inner().abort_handle());
        id
    }

    pub fn add_exec(&self, id: u32, io: ExecIo) {
        lock(&self.execs).insert(id, std::sync::Arc::new(io));
    }

    pub fn exec(&self, id: u32) -> Result<std::sync::Arc<ExecIo>, ApiError> {
        lock(&self.execs).get(&id).cloned().ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("No terminal session {id}; it has ended"),
            )
        })
    }

    /// Keeps a stats feed until `stop(id)`; dropping it ends its streams.
    pub fn add_feed(&self, feed: StatsFeed) -> u32 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        lock(&self.feeds).insert(id, std::sync::Arc::new(feed));
        id
    }

    pub fn feed(&self, id: u32) -> Result<std::sync::Arc<StatsFeed>, ApiError> {
        lock(&self.feeds).get(&id).cloned().ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("No stats feed {id}; it has ended"),
            )
        })
    }

    pub fn stop(&self, id: u32) {
        if let Some(task) = lock(&self.tasks).remove(&id) {
            task.abort();
        }
        lock(&self.execs).remove(&id);
        lock(&self.feeds).remove(&id);
    }
}

/// A poisoned lock still guards plain maps: a panicked holder left nothing half-written.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
