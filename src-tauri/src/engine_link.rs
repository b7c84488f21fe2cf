//! The app's one connection to the engine. A supervisor task connects, follows the engine's
//! event stream and fans it out to the window and the tray; when the stream ends the engine
//! state turns to `Error{engine_unreachable}` and the task reconnects with a backoff (or at
//! once when the user asks for Start/Retry).
//!
//! Seam: today the engine is an existing socket (settings or `DOCKER_HOST`), whose state this
//! module infers. When Berth's daemon owns the engine, `state` follows the daemon's control
//! socket instead and start/stop are requests to it; nothing above this module changes.

use std::sync::Arc;
use std::time::Duration;

use berth_api::Berth;
use berth_core::{ApiError, EngineState, EngineStateCell, ErrorCode};
use berth_engine::{Engine, EngineEvent, EventFilter};
use futures_util::StreamExt;
use tokio::sync::{broadcast, Notify, RwLock};

const MAX_BACKOFF: Duration = Duration::from_secs(15);

pub struct EngineLink {
    berth: Berth,
    engine: RwLock<Option<Engine>>,
    state: EngineStateCell,
    events: broadcast::Sender<EngineEvent>,
    retry: Notify,
}

impl EngineLink {
    pub fn new(berth: Berth) -> Arc<EngineLink> {
        Arc::new(EngineLink {
            berth,
            engine: RwLock::new(None),
            state: EngineStateCell::new(EngineState::Starting {
                phase: berth_core::StartPhase::WaitingForEngine,
            }),
            events: broadcast::channel(1024).0,
            retry: Notify::new(),
        })
    }

    pub fn berth(&self) -> &Berth {
        &self.berth
    }

    pub fn state(&self) -> &EngineStateCell {
        &self.state
    }

    pub fn subscribe_events(&self) -> broadcast::Receiver<EngineEvent> {
        self.events.subscribe()
    }

    /// The connected engine, or `engine_unreachable` saying where Berth looked.
    pub async fn engine(&self) -> Result<Engine, ApiError> {
        if let Some(engine) = self.engine.read().await.clone() {
            return Ok(engine);
        }
        Err(ApiError::new(
            ErrorCode::EngineUnreachable,
            format!(
                "No engine answers at {}. Start it, or choose another engine in settings.",
                self.berth.endpoint()
            ),
        ))
    }

    /// Start (or Retry): reconnect now instead of waiting for the backoff.
    pub fn start(&self) {
        self.retry.notify_one();
    }

    /// An existing engine is not Berth's to stop.
    pub fn stop(&self) -> Result<(), ApiError> {
        Err(ApiError::new(
            ErrorCode::Unsupported,
            format!(
                "The engine at {} was not started by Berth; stop it where it was started.",
                self.berth.endpoint()
            ),
        ))
    }

    /// Runs forever: connect, follow events, mark the engine down when the stream ends, retry.
    pub async fn supervise(self: Arc<Self>) {
        let mut backoff = Duration::from_millis(500);
        loop {
            match self.berth.engine().await {
                Ok(engine) => {
                    backoff = Duration::from_millis(500);
                    self.follow(engine).await;
                }
                Err(error) => self.set(EngineState::Error {
                    code: error.code,
                    message: error.message,
                }),
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = self.retry.notified() => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn follow(&self, engine: Engine) {
        // Subscribe before announcing Running so no change between list and follow is lost.
        let mut stream = Box::pin(engine.events(&EventFilter::default()));
        *self.engine.write().await = Some(engine);
        self.set(EngineState::running_now());
        let ended = loop {
            match stream.next().await {
                Some(Ok(event)) => {
                    // Nobody listening is fine: the window may be closed.
                    let _ = self.events.send(event);
                }
                Some(Err(e)) => break ApiError::from_error(e.code(), &e),
                None => {
                    break ApiError::new(
                        ErrorCode::EngineUnreachable,
                        "The engine closed its event stream",
                    )
                }
            }
        };
        *self.engine.write().await = None;
        tracing::warn!(error = %ended, "lost the engine");
        self.set(EngineState::Error {
            code: ErrorCode::EngineUnreachable,
            message: ended.message,
        });
    }

    fn set(&self, next: EngineState) {
        if self.state.get() == next {
            return;
        }
        if let Err(e) = self.state.transition(next) {
            tracing::debug!(error = %e, "ignored engine state change");
        }
    }
}
