//! Resource Saver's view of the host's listeners (the engine socket, published ports): how long
//! nothing has used the engine, and, while the VM is paused, a door every new connection
//! waits at until the VM runs again.
//!
//! A connection that arrives while the VM is paused asks for a wake and is held (its bytes
//! wait in the socket) until [`ActivityGate::resumed`]: the caller notices nothing but the
//! delay. Connections are [`Use::Counted`] (the user's: the VM never pauses while one is open)
//! or [`Use::Quiet`] (Berth's own: the dashboard's event stream, `berth status`, the daemon's
//! port follower: one wakes a paused VM when it arrives, but none counts as a use, so the
//! dashboard left open does not keep the VM awake).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Counted,
    Quiet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateState {
    /// The VM runs: connections pass at once.
    Open,
    /// A pause is being prepared (the guest gives its memory back) and the VM still runs: a
    /// counted connection cancels the pause and waits for the door to open again; a quiet one
    /// passes, and the pause is given up if it is still open when the VM would stop.
    Pausing,
    /// The VM is paused: connections wait. `wake` once one asked.
    Paused { wake: bool },
}

#[derive(Debug)]
struct Counts {
    open: usize,
    /// The last time a counted connection arrived or closed.
    last_use: Instant,
    /// Quiet connections that arrived while [`GateState::Pausing`] and are still open.
    quiet_in_window: usize,
    /// A counted connection (or "Wake now") arrived while [`GateState::Pausing`].
    interrupted: bool,
}

/// Shared by the listeners (which [`enter`](ActivityGate::enter)) and the idle watcher (which
/// reads [`idle_for`](ActivityGate::idle_for), pauses and resumes).
#[derive(Debug)]
pub struct ActivityGate {
    counts: Mutex<Counts>,
    state: watch::Sender<GateState>,
}

/// A connection in progress that the gate counts: dropping it closes it.
#[derive(Debug)]
pub struct InUse {
    gate: Option<(Arc<ActivityGate>, Use)>,
}

impl Drop for InUse {
    fn drop(&mut self) {
        if let Some((gate, usage)) = self.gate.take() {
            let mut counts = gate.counts();
            match usage {
                Use::Counted => {
                    counts.open -= 1;
                    counts.last_use = Instant::now();
                }
                Use::Quiet => counts.quiet_in_window -= 1,
            }
        }
    }
}

impl ActivityGate {
    pub fn new() -> Arc<Self> {
        Arc::new(ActivityGate {
            counts: Mutex::new(Counts {
                open: 0,
                last_use: Instant::now(),
                quiet_in_window: 0,
                interrupted: false,
            }),
            state: watch::channel(GateState::Open).0,
        })
    }

    /// A connection arrived. While the VM is paused this asks for a wake and waits until it
    /// runs again. The returned guard counts the connection (for [`Use::Counted`]) until it is
    /// dropped.
    pub async fn enter(self: &Arc<Self>, usage: Use) -> InUse {
        let mut rx = self.state.subscribe();
        loop {
            {
                // The count and the state change together: a pause never starts between a
                // connection's check and its count.
                let mut counts = self.counts();
                let state = *rx.borrow_and_update();
                match (state, usage) {
                    (GateState::Open, Use::Quiet) => return InUse { gate: None },
                    (GateState::Open, Use::Counted) => {
                        counts.last_use = Instant::now();
                        counts.open += 1;
                        return InUse {
                            gate: Some((self.clone(), Use::Counted)),
                        };
                    }
                    (GateState::Pausing, Use::Quiet) => {
                        counts.quiet_in_window += 1;
                        return InUse {
                            gate: Some((self.clone(), Use::Quiet)),
                        };
                    }
                    (GateState::Pausing, Use::Counted) => counts.interrupted = true,
                    (GateState::Paused { wake: false }, _) => {
                        self.state.send_replace(GateState::Paused { wake: true });
                    }
                    (GateState::Paused { wake: true }, _) => {}
                }
            }
            if rx.changed().await.is_err() {
                return InUse { gate: None };
            }
        }
    }

    /// How long nothing has used the engine; `None` while a counted connection is open.
    pub fn idle_for(&self) -> Option<Duration> {
        let counts = self.counts();
        (counts.open == 0).then(|| counts.last_use.elapsed())
    }

    /// Counted connections open now.
    pub fn open_connections(&self) -> usize {
        self.counts().open
    }

    /// Counts this moment as a use (a container that ran keeps the VM up for the full idle
    /// time after it ends).
    pub fn touch(&self) {
        self.counts().last_use = Instant::now();
    }

    /// Starts a pause if nothing has used the engine for `at_least`: from now on counted
    /// connections wait (and cancel it). Returns false (and changes nothing) if something did.
    pub fn close_if_idle(&self, at_least: Duration) -> bool {
        let mut counts = self.counts();
        if counts.open > 0 || counts.last_use.elapsed() < at_least {
            return false;
        }
        counts.interrupted = false;
        self.state.send_replace(GateState::Pausing);
        true
    }

    /// Starts a pause whatever is open (one the user asked for).
    pub fn close(&self) {
        let mut counts = self.counts();
        counts.interrupted = false;
        self.state.send_replace(GateState::Pausing);
    }

    /// The VM is about to stop: true if the pause goes ahead (connections now wait for a
    /// wake); false, with the door open again, if a counted connection arrived meanwhile or
    /// (unless `over_quiet`: the user asked for this pause) a quiet one that arrived meanwhile
    /// is still open (it would stall with the VM).
    pub fn commit_pause(&self, over_quiet: bool) -> bool {
        let counts = self.counts();
        let state = *self.state.borrow();
        let quiet_open = counts.quiet_in_window > 0 && !over_quiet;
        if state != GateState::Pausing || counts.interrupted || quiet_open {
            self.state.send_replace(GateState::Open);
            return false;
        }
        self.state.send_replace(GateState::Paused { wake: false });
        true
    }

    /// The VM runs again (or never stopped): every held connection goes on.
    pub fn resumed(&self) {
        let _counts = self.counts();
        self.state.send_replace(GateState::Open);
    }

    pub fn state(&self) -> GateState {
        *self.state.borrow()
    }

    /// Resolves once a connection (or [`ActivityGate::request_wake`]) asked for a wake while
    /// the VM is paused.
    pub async fn wake_requested(&self) {
        let mut rx = self.state.subscribe();
        let _ = rx
            .wait_for(|s| matches!(s, GateState::Paused { wake: true }))
            .await;
    }

    /// Asks for a wake as a connection would ("Wake now"); a pause in preparation is given up.
    pub fn request_wake(&self) {
        let mut counts = self.counts();
        // Copied out: the watch's read guard must be gone before it is written.
        let state = *self.state.borrow();
        match state {
            GateState::Pausing => counts.interrupted = true,
            GateState::Paused { wake: false } => {
                self.state.send_replace(GateState::Paused { wake: true });
            }
            _ => {}
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_time_runs_only_while_no_counted_connection_is_open() {
        let gate = ActivityGate::new();
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(gate.idle_for().unwrap() >= Duration::from_secs(30));
        let conn = gate.enter(Use::Counted).await;
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(gate.idle_for(), None);
        assert_eq!(gate.open_connections(), 1);
        assert!(
            !gate.close_if_idle(Duration::from_secs(1)),
            "an open connection keeps it up"
        );
        drop(conn);
        assert!(
            gate.idle_for().unwrap() < Duration::from_secs(1),
            "the close is a use"
        );

        let quiet = gate.enter(Use::Quiet).await;
        tokio::time::advance(Duration::from_secs(20)).await;
        assert!(
            gate.idle_for().unwrap() >= Duration::from_secs(20),
            "an open quiet connection does not count"
        );
        assert!(!gate.close_if_idle(Duration::from_secs(25)));
        assert!(gate.close_if_idle(Duration::from_secs(20)));
        assert_eq!(gate.state(), GateState::Pausing);
        assert!(
            gate.commit_pause(false),
            "a quiet connection from before does not hold it"
        );
        drop(quiet);
        assert_eq!(gate.state(), GateState::Paused { wake: false });
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_to_a_paused_vm_asks_for_a_wake_and_waits_for_it() {
        let gate = ActivityGate::new();
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(gate.close_if_idle(Duration::from_secs(10)));
        assert!(gate.commit_pause(false));
        let entering = tokio::spawn({
            let gate = gate.clone();
            async move { gate.enter(Use::Counted).await }
        });
        tokio::time::timeout(Duration::from_secs(5), gate.wake_requested())
            .await
            .expect("the connection asked for a wake");
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!entering.is_finished(), "held while the VM is paused");
        assert!(gate.idle_for().is_some(), "not counted while held");
        gate.resumed();
        let conn = entering.await.unwrap();
        assert_eq!(gate.idle_for(), None);
        drop(conn);
        assert_eq!(gate.state(), GateState::Open);
    }

    #[tokio::test(start_paused = true)]
    async fn use_while_a_pause_is_prepared_gives_it_up() {
        // A counted connection waits, then goes on when the pause is given up.
        let gate = ActivityGate::new();
        gate.close();
        let entering = tokio::spawn({
            let gate = gate.clone();
            async move { gate.enter(Use::Counted).await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!entering.is_finished());
        assert!(!gate.commit_pause(false), "a user came");
        assert_eq!(gate.state(), GateState::Open);
        drop(entering.await.unwrap());

        // A quiet one passes at once; still open at the stop, it gives the pause up too.
        gate.close();
        let quiet = gate.enter(Use::Quiet).await;
        assert!(!gate.commit_pause(false), "it would stall with the VM");
        drop(quiet);
        gate.close();
        drop(gate.enter(Use::Quiet).await);
        assert!(gate.commit_pause(false), "one that ended in time does not");
        gate.resumed();
        gate.close();
        let _quiet = gate.enter(Use::Quiet).await;
        assert!(
            gate.commit_pause(true),
            "a pause the user asked for goes over it"
        );

        // "Wake now" while preparing gives it up as well.
        gate.resumed();
        gate.close();
        gate.request_wake();
        assert!(!gate.commit_pause(false));
    }

    #[tokio::test(start_paused = true)]
    async fn wake_now_asks_like_a_connection_and_only_while_paused() {
        let gate = ActivityGate::new();
        gate.request_wake();
        assert_eq!(gate.state(), GateState::Open);
        assert!(gate.close_if_idle(Duration::ZERO));
        assert!(gate.commit_pause(false));
        gate.request_wake();
        assert_eq!(gate.state(), GateState::Paused { wake: true });
        tokio::time::timeout(Duration::from_secs(1), gate.wake_requested())
            .await
            .unwrap();
    }
}
