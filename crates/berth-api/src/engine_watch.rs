//! The dashboard's one connection to the engine, and the state the tray and the window show
//! ([`EngineWatch`]: it follows the daemon, or an engine Berth does not own, and fans the
//! engine's events out to the window's stores).
//!
//! Two owners, one seam:
//! - **Berth's VM** (no engine chosen in settings, no `DOCKER_HOST`): the Berth daemon owns the
//!   engine. The state mirrors the daemon's watch stream; Start/Stop/Restart are requests to the
//!   daemon (started on demand). While the daemon says `Running`, the link follows the engine's
//!   own event stream for the stores.
//! - **An existing engine** (a socket chosen in settings or `DOCKER_HOST`): not Berth's to start
//!   or stop. A supervisor connects, follows the event stream and infers the state; when the
//!   stream ends the state turns to `Error{engine_unreachable}` and it reconnects with a backoff
//!   (or at once when the user asks for Start/Retry).
//!
//! Nothing above this module knows which one it is talking to, except that Stop is refused for
//! an engine Berth does not own.

use std::sync::Arc;
use std::time::Duration;

use crate::daemon_client::{DaemonWatch, Reply};
use crate::transport::ToApi;
use crate::Berth;
use berth_core::{ApiError, EngineState, ErrorCode};
use berth_engine::{ContainerFilter, ContainerSummary, Endpoint, Engine, EngineEvent, EventFilter};
use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::{broadcast, watch, Notify, RwLock};

const MAX_BACKOFF: Duration = Duration::from_secs(15);
/// How often the app looks again for a daemon that is not running (a `berth start` in a
/// terminal starts one): a connect attempt on a unix socket, nothing more.
const DAEMON_LOOK_MAX: Duration = Duration::from_secs(2);
/// Before reconnecting to an engine whose event stream broke while the daemon says Running.
const ENGINE_RECONNECT: Duration = Duration::from_secs(1);

/// The engine state as the app shows it: a mirror, not the state machine (the daemon holds
/// that). Same `get`/`subscribe` as `berth_core::EngineStateCell`.
pub struct StateView {
    tx: watch::Sender<EngineState>,
}

impl StateView {
    fn new(initial: EngineState) -> Self {
        StateView {
            tx: watch::Sender::new(initial),
        }
    }

    pub fn get(&self) -> EngineState {
        self.tx.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<EngineState> {
        self.tx.subscribe()
    }

    fn set(&self, next: EngineState) {
        self.tx.send_if_modified(|current| {
            if *current == next {
                return false;
            }
            tracing::debug!(state = next.name(), "engine state shown");
            *current = next;
            true
        });
    }
}

/// A published port that could not be published on the host, as the containers table shows
/// it (from the daemon's status; only Berth's own engine has any).
pub use berth_core::ports::PortWarning;

/// What a subscriber of the engine's events receives: each event, or word that it fell behind
/// a burst (the events it missed are gone) and must reload what it shows.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum EventFeedItem {
    Event { event: EngineEvent },
    Resync { missed: u64 },
}

pub struct EngineWatch {
    berth: Berth,
    /// Whether the engine is Berth's own (owned by its daemon).
    owned: bool,
    engine: RwLock<Option<Engine>>,
    state: StateView,
    /// The daemon's current port warnings (pushed by its watch when they change).
    port_warnings: watch::Sender<Vec<PortWarning>>,
    events: broadcast::Sender<EngineEvent>,
    retry: Notify,
    /// The engine the user switched to (the sidebar's switcher); `None`: the one Berth opened
    /// with ([`Berth::endpoint`]).
    chosen: std::sync::RwLock<Option<ChosenEngine>>,
    switched: Notify,
}

/// An engine of the engines list that the window follows instead of the one Berth opened with.
#[derive(Debug, Clone)]
struct ChosenEngine {
    name: String,
    endpoint: Endpoint,
}

/// Whether `berth` talks to its own VM engine (rather than an existing socket).
pub fn is_berths_engine(berth: &Berth) -> bool {
    berth.endpoint() == crate::daemon_client::engine_endpoint(berth.paths())
}

impl EngineWatch {
    pub fn new(berth: Berth) -> Arc<EngineWatch> {
        let owned = is_berths_engine(&berth);
        Arc::new(EngineWatch {
            berth,
            owned,
            engine: RwLock::new(None),
            state: StateView::new(EngineState::Starting {
                phase: berth_core::StartPhase::WaitingForEngine,
            }),
            events: broadcast::channel(1024).0,
            port_warnings: watch::Sender::new(Vec::new()),
            retry: Notify::new(),
            chosen: std::sync::RwLock::new(None),
            switched: Notify::new(),
        })
    }

    pub fn berth(&self) -> &Berth {
        &self.berth
    }

    /// Whether the engine followed is Berth's VM (Stop, Restart and the quit question apply).
    pub fn owns_engine(&self) -> bool {
        self.owned && self.chosen().is_none()
    }

    fn chosen(&self) -> Option<ChosenEngine> {
        self.chosen
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The name of the engine the window follows: the one switched to, else `berth` for
    /// Berth's own engine, else `None` (the engine in settings or `DOCKER_HOST`).
    pub fn followed_engine(&self) -> Option<String> {
        match self.chosen() {
            Some(chosen) => Some(chosen.name),
            None if self.owned => Some(crate::CONTEXT_NAME.to_string()),
            None => None,
        }
    }

    /// Where the followed engine is, for messages.
    fn followed_endpoint(&self) -> Endpoint {
        self.chosen()
            .map(|c| c.endpoint)
            .unwrap_or_else(|| self.berth.endpoint())
    }

    /// Follows the engine named `name` of the engines list from now on: the state, the
    /// events and every call go to it (Berth's own engine again for `berth`).
    pub fn switch_to(&self, name: &str) -> Result<(), ApiError> {
        let chosen = if name == crate::CONTEXT_NAME && self.owned {
            None
        } else {
            let endpoint = self.berth.engines().endpoint_of(name)?;
            Some(ChosenEngine {
                name: name.to_string(),
                endpoint,
            })
        };
        *self.chosen.write().unwrap_or_else(|e| e.into_inner()) = chosen;
        self.switched.notify_one();
        Ok(())
    }

    /// A connection to the followed engine when it is not Berth's own.
    async fn connect_followed(&self) -> Result<Engine, ApiError> {
        match self.chosen() {
            Some(chosen) => self.berth.engines().connect_to(&chosen.endpoint).await,
            None => self.berth.engine().await,
        }
    }

    pub fn state(&self) -> &StateView {
        &self.state
    }

    /// The ports that could not be published on the host right now.
    pub fn port_warnings(&self) -> Vec<PortWarning> {
        self.port_warnings.borrow().clone()
    }

    /// Changes whenever the port warnings do.
    pub fn subscribe_port_warnings(&self) -> watch::Receiver<Vec<PortWarning>> {
        self.port_warnings.subscribe()
    }

    fn set_port_warnings(&self, next: Vec<PortWarning>) {
        self.port_warnings.send_if_modified(|current| {
            if *current == next {
                return false;
            }
            *current = next;
            true
        });
    }

    pub fn subscribe_events(&self) -> broadcast::Receiver<EngineEvent> {
        self.events.subscribe()
    }

    /// Hands every engine event to `send`, and a [`EventFeedItem::Resync`] when this subscriber
    /// fell behind a burst, until `send` says nobody listens or the watch ends.
    pub async fn forward_events(&self, send: impl Fn(EventFeedItem) -> bool) {
        let mut rx = self.subscribe_events();
        loop {
            let item = match rx.recv().await {
                Ok(event) => EventFeedItem::Event { event },
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    EventFeedItem::Resync { missed }
                }
                Err(broadcast::error::RecvError::Closed) => break,
            };
            if !send(item) {
                break;
            }
        }
    }

    /// One container as the list shows it (stopped ones too), or `None` when it is gone: what
    /// a row needs after an event about it, instead of the whole list again.
    pub async fn container(&self, id: &str) -> Result<Option<ContainerSummary>, ApiError> {
        let filter = ContainerFilter {
            all: true,
            id: Some(id.to_owned()),
            ..ContainerFilter::default()
        };
        let list = self
            .engine()
            .await?
            .list_containers(&filter)
            .await
            .to_api()?;
        // The engine's id filter matches prefixes: take the one that is this container.
        Ok(list
            .into_iter()
            .find(|c| c.id == id || (id.len() >= 12 && c.id.starts_with(id))))
    }

    /// The connected engine, or `engine_unreachable` saying where Berth looked.
    pub async fn engine(&self) -> Result<Engine, ApiError> {
        if let Some(engine) = self.engine.read().await.clone() {
            return Ok(engine);
        }
        // The daemon said Running before the event follower connected: connect for this call.
        // A paused engine wakes for it (the user asked for something).
        let state = self.state.get();
        if self.owns_engine() && (state.is_running() || state.is_paused()) {
            if let Ok(engine) = self.berth.engine().await {
                return Ok(engine);
            }
        }
        Err(ApiError::new(
            ErrorCode::EngineUnreachable,
            format!(
                "No engine answers at {}. Start it, or choose another engine in settings.",
                self.followed_endpoint()
            ),
        ))
    }

    /// Start (or Retry). Berth's VM: asks the daemon (starting it if needed) and returns once
    /// the engine runs. An existing engine: reconnect now instead of waiting for the backoff.
    pub async fn start(&self) -> Result<(), ApiError> {
        if !self.owns_engine() {
            self.retry.notify_one();
            return Ok(());
        }
        let result = async {
            self.berth.ensure_daemon().await?;
            // Follow the (maybe just spawned) daemon's states from the first one.
            self.retry.notify_one();
            self.berth.start_engine(false).await
        }
        .await;
        self.after_request(result).await
    }

    pub async fn stop(&self) -> Result<(), ApiError> {
        self.ensure_owned("stop")?;
        let result = self.berth.stop_engine().await;
        self.after_request(result).await
    }

    pub async fn restart(&self) -> Result<(), ApiError> {
        self.ensure_owned("restart")?;
        let result = async {
            self.berth.ensure_daemon().await?;
            self.retry.notify_one();
            self.berth.restart_engine().await
        }
        .await;
        self.after_request(result).await
    }

    /// Resource Saver by hand: pauses the VM now.
    pub async fn pause(&self) -> Result<(), ApiError> {
        self.ensure_owned("pause")?;
        let result = self.berth.pause_engine().await;
        self.after_request(result).await
    }

    /// "Wake now": resumes a paused engine.
    pub async fn wake(&self) -> Result<(), ApiError> {
        self.ensure_owned("wake")?;
        let result = self.berth.wake_engine().await;
        self.after_request(result).await
    }

    /// Quit with "stop the engine": stops it and ends the daemon (nothing is left running).
    pub async fn stop_for_quit(&self) -> Result<(), ApiError> {
        if !self.owned {
            return Ok(());
        }
        self.berth.quit_daemon().await
    }

    fn ensure_owned(&self, what: &str) -> Result<(), ApiError> {
        if self.owns_engine() {
            return Ok(());
        }
        Err(ApiError::new(
            ErrorCode::Unsupported,
            format!(
                "The engine at {} was not started by Berth; {what} it where it was started.",
                self.followed_endpoint()
            ),
        ))
    }

    /// A request that never reached the daemon (it could not be started) leaves no state
    /// behind on the daemon's side: show the failure here so the tray can say why.
    async fn after_request<T>(&self, result: Result<T, ApiError>) -> Result<(), ApiError> {
        match result {
            Ok(_) => Ok(()),
            Err(error) => {
                if !self.berth.daemon().is_running().await {
                    self.state.set(EngineState::Error {
                        code: error.code,
                        message: error.message.clone(),
                    });
                }
                Err(error)
            }
        }
    }

    /// Runs forever: keeps the state (and the engine's events) current, for the engine
    /// followed; a switch starts over on the new one.
    pub async fn supervise(self: Arc<Self>) {
        loop {
            if self.owns_engine() {
                let events = tokio::spawn(self.clone().follow_engine_while_running());
                tokio::select! {
                    () = self.follow_daemon() => {}
                    () = self.switched.notified() => {}
                }
                events.abort();
            } else {
                tokio::select! {
                    () = self.supervise_existing() => {}
                    () = self.switched.notified() => {}
                }
            }
            *self.engine.write().await = None;
            self.set_port_warnings(Vec::new());
            self.state.set(EngineState::Starting {
                phase: berth_core::StartPhase::WaitingForEngine,
            });
        }
    }

    /// Berth's VM: mirror the daemon's watch stream; no daemon means a stopped engine.
    async fn follow_daemon(&self) {
        let mut backoff = Duration::from_millis(250);
        loop {
            match self.berth.daemon().watch().await {
                Ok(watch) => {
                    backoff = Duration::from_millis(250);
                    let last = self.mirror(watch).await;
                    self.set_port_warnings(Vec::new());
                    self.state.set(state_after_daemon_gone(&last));
                }
                Err(_) => self.state.set(state_without_daemon(&self.state.get())),
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = self.retry.notified() => {}
            }
            backoff = (backoff * 2).min(DAEMON_LOOK_MAX);
        }
    }

    /// Shows every state the daemon reports until it goes away; returns the last one.
    async fn mirror(&self, mut watch: DaemonWatch) -> EngineState {
        let mut last = self.state.get();
        while let Some(reply) = watch.next().await {
            if let Reply::Status { status } = &reply {
                self.set_port_warnings(status.port_warnings.clone());
            }
            if let Some(state) = state_from_reply(reply) {
                last = state.clone();
                self.state.set(state);
            }
        }
        last
    }

    /// Berth's VM: while the daemon says Running, follow the engine's event stream.
    async fn follow_engine_while_running(self: Arc<Self>) {
        let mut rx = self.state.subscribe();
        loop {
            if rx.wait_for(EngineState::is_running).await.is_err() {
                return;
            }
            match self.berth.engine().await {
                Ok(engine) => self.follow_events_while_running(engine, &mut rx).await,
                Err(error) => tracing::debug!(%error, "engine not answering yet"),
            }
            tokio::select! {
                () = tokio::time::sleep(ENGINE_RECONNECT) => {}
                changed = rx.changed() => if changed.is_err() { return },
            }
        }
    }

    async fn follow_events_while_running(
        &self,
        engine: Engine,
        rx: &mut watch::Receiver<EngineState>,
    ) {
        let mut stream = Box::pin(engine.events(&EventFilter::default()));
        *self.engine.write().await = Some(engine);
        loop {
            tokio::select! {
                event = stream.next() => match event {
                    Some(Ok(event)) => {
                        let _ = self.events.send(event);
                    }
                    _ => break,
                },
                changed = rx.changed() => {
                    if changed.is_err() || !rx.borrow_and_update().is_running() {
                        break;
                    }
                }
            }
        }
        *self.engine.write().await = None;
    }

    /// An existing engine: connect, follow events, mark it down when the stream ends, retry.
    async fn supervise_existing(&self) {
        let mut backoff = Duration::from_millis(500);
        loop {
            match self.connect_followed().await {
                Ok(engine) => {
                    backoff = Duration::from_millis(500);
                    self.follow_existing(engine).await;
                }
                Err(error) => self.state.set(EngineState::Error {
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

    async fn follow_existing(&self, engine: Engine) {
        // Subscribe before announcing Running so no change between list and follow is lost.
        let mut stream = Box::pin(engine.events(&EventFilter::default()));
        *self.engine.write().await = Some(engine);
        self.state.set(EngineState::running_now());
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
        self.state.set(EngineState::Error {
            code: ErrorCode::EngineUnreachable,
            message: ended.message,
        });
    }
}

/// The engine state a daemon message carries (errors answer requests; a watch has none).
pub fn state_from_reply(reply: Reply) -> Option<EngineState> {
    match reply {
        Reply::Status { status } => Some(status.state),
        Reply::State { state } => Some(state),
        Reply::Error { .. } => None,
    }
}

/// No daemon answers. It never ran or it quit: the engine is stopped. A failure already shown
/// (a daemon that could not start, or died) stays until the user retries.
pub fn state_without_daemon(shown: &EngineState) -> EngineState {
    match shown {
        EngineState::Error { .. } => shown.clone(),
        _ => EngineState::Stopped,
    }
}

/// The daemon's stream ended while it last said `last`. A daemon that quits stops its engine
/// first, so anything but Stopped (or an error it reported) means it died.
pub fn state_after_daemon_gone(last: &EngineState) -> EngineState {
    match last {
        EngineState::Stopped | EngineState::Error { .. } => last.clone(),
        _ => EngineState::Error {
            code: ErrorCode::EngineUnreachable,
            message: "the Berth daemon ended unexpectedly; see daemon.log in Berth's logs".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon_client::DaemonStatus;
    use berth_core::{BerthPaths, StartPhase};

    fn failed() -> EngineState {
        EngineState::Error {
            code: ErrorCode::VmFailed,
            message: "QEMU exited".into(),
        }
    }

    #[test]
    fn daemon_messages_map_to_the_shown_state() {
        let status = DaemonStatus {
            state: EngineState::Stopped,
            daemon_pid: 1,
            endpoint: "unix:///r/docker.sock".into(),
            vm: None,
            agent: None,
            boot: None,
            port_warnings: vec![],
            idle: None,
        };
        assert_eq!(
            state_from_reply(Reply::Status { status }),
            Some(EngineState::Stopped)
        );
        let booting = EngineState::Starting {
            phase: StartPhase::BootingVm,
        };
        assert_eq!(
            state_from_reply(Reply::State {
                state: booting.clone()
            }),
            Some(booting)
        );
        let error = ApiError::new(ErrorCode::VmFailed, "boom");
        assert_eq!(state_from_reply(Reply::Error { error }), None);
    }

    #[test]
    fn no_daemon_is_a_stopped_engine_but_keeps_a_shown_failure() {
        let placeholder = EngineState::Starting {
            phase: StartPhase::WaitingForEngine,
        };
        assert_eq!(state_without_daemon(&placeholder), EngineState::Stopped);
        assert_eq!(
            state_without_daemon(&EngineState::running_now()),
            EngineState::Stopped
        );
        assert_eq!(state_without_daemon(&failed()), failed());
    }

    #[test]
    fn a_daemon_that_vanishes_mid_run_is_an_error() {
        assert_eq!(
            state_after_daemon_gone(&EngineState::Stopped),
            EngineState::Stopped
        );
        assert_eq!(state_after_daemon_gone(&failed()), failed());
        for last in [
            EngineState::running_now(),
            EngineState::Stopping,
            EngineState::Starting {
                phase: StartPhase::WaitingForAgent,
            },
        ] {
            let EngineState::Error { code, message } = state_after_daemon_gone(&last) else {
                panic!("{last:?} should turn into an error");
            };
            assert_eq!(code, ErrorCode::EngineUnreachable);
            assert!(message.contains("daemon"), "{message}");
        }
    }

    #[test]
    fn the_shown_state_only_notifies_on_change() {
        let view = StateView::new(EngineState::Stopped);
        let mut rx = view.subscribe();
        view.set(EngineState::Stopped);
        assert!(!rx.has_changed().unwrap());
        // A mirror takes any state the daemon reports, even across missed transitions.
        view.set(EngineState::running_now());
        assert!(rx.has_changed().unwrap());
        assert!(rx.borrow_and_update().is_running());
        view.set(EngineState::Stopped);
        assert_eq!(*rx.borrow_and_update(), EngineState::Stopped);
    }

    #[test]
    fn the_engine_is_berths_own_unless_an_endpoint_is_chosen() {
        // `DOCKER_HOST` overrides settings (berth-api's tests cover that order).
        let no_docker_host = std::env::var_os("DOCKER_HOST").is_none_or(|v| v.is_empty());
        let home = tempfile::tempdir().unwrap();
        let paths = BerthPaths::under(home.path());
        let berth = Berth::open_at(paths.clone()).unwrap();
        assert_eq!(is_berths_engine(&berth), no_docker_host);
        std::fs::write(
            paths.settings_file(),
            "[engine]\nendpoint = \"unix:///var/run/docker.sock\"\n",
        )
        .unwrap();
        let berth = Berth::open_at(paths).unwrap();
        assert!(!is_berths_engine(&berth));
    }
}
