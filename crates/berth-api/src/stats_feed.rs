//! The containers list's CPU and memory cells: one stats stream per watched container on the
//! engine side, and one batch a second to the window carrying every sample since the last.
//! Twenty running rows then cost the window one IPC delivery a second instead of twenty.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_engine::{Engine, StatsSample};
use futures_util::StreamExt;
use tokio::task::AbortHandle;

/// How often the window hears from the feed (the engine samples once a second too).
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// A watched container's stream that ended (the container stopped, or the engine went away) is
/// opened again after this, for as long as the window still watches it.
const REOPEN_AFTER: Duration = Duration::from_secs(2);

type Pending = Arc<Mutex<HashMap<String, StatsSample>>>;
type Watched = Arc<Mutex<HashMap<String, AbortHandle>>>;

/// One window's feed; dropping it ends every stream it holds.
pub struct StatsFeed {
    pending: Pending,
    watched: Watched,
    flusher: AbortHandle,
}

impl StatsFeed {
    /// Opens a feed whose batches go to `send`; `send` says false once nobody listens (the
    /// window is gone), and the feed then ends every stream. Call it on a tokio runtime.
    pub fn open(send: impl Fn(Vec<StatsSample>) -> bool + Send + 'static) -> StatsFeed {
        let pending = Pending::default();
        let watched = Watched::default();
        let flusher = {
            let (pending, watched) = (pending.clone(), watched.clone());
            tokio::spawn(async move {
                let mut every = tokio::time::interval(FLUSH_EVERY);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    every.tick().await;
                    let batch: Vec<StatsSample> = lock(&pending).drain().map(|(_, s)| s).collect();
                    if !batch.is_empty() && !send(batch) {
                        // The window is gone: so is every reason to sample.
                        for (_, stream) in lock(&watched).drain() {
                            stream.abort();
                        }
                        return;
                    }
                }
            })
            .abort_handle()
        };
        StatsFeed {
            pending,
            watched,
            flusher,
        }
    }

    /// Makes `ids` the watched set: streams open for new ones and end for the ones left out.
    pub fn watch(&self, engine: &Engine, ids: Vec<String>) {
        let mut watched = lock(&self.watched);
        watched.retain(|id, stream| {
            let keep = ids.contains(id);
            if !keep {
                stream.abort();
            }
            keep
        });
        lock(&self.pending).retain(|id, _| ids.contains(id));
        for id in ids {
            if watched.contains_key(&id) {
                continue;
            }
            let (engine, pending, key) = (engine.clone(), self.pending.clone(), id.clone());
            let task = tokio::spawn(async move {
                loop {
                    let mut samples = Box::pin(engine.stats(&key, true));
                    while let Some(Ok(sample)) = samples.next().await {
                        lock(&pending).insert(key.clone(), sample);
                    }
                    tokio::time::sleep(REOPEN_AFTER).await;
                }
            });
            watched.insert(id, task.abort_handle());
        }
    }
}

/// A poisoned lock still holds usable data here (ids and samples).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Drop for StatsFeed {
    fn drop(&mut self) {
        self.flusher.abort();
        for (_, stream) in lock(&self.watched).drain() {
            stream.abort();
        }
    }
}
