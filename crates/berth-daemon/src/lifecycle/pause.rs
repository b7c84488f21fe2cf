//! Resource Saver: a running engine nobody uses pauses (the guest drops its caches, the
//! balloon hands the freed pages back, the hypervisor stops the guest's CPUs), and the first
//! connection wakes it (the hypervisor resumes, the guest's clock is set from the host's, the
//! held connections go on).

use std::time::{Duration, SystemTime};

use berth_core::{ApiError, EngineState, ErrorCode};
use berth_link::LinkClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::{info, warn};

use super::{vm_error, Lifecycle};
use crate::control::DaemonStatus;

/// How long the guest gets to drop its caches.
const RELEASE_DEADLINE: Duration = Duration::from_secs(20);
/// Free page reporting sends freed pages to the host about 2 s after they are freed.
const REPORTING_DELAY: Duration = Duration::from_secs(3);
/// How long the resumed agent gets to set its clock and answer.
const WAKE_PING_DEADLINE: Duration = Duration::from_secs(10);
/// How long the engine gets to list its running containers.
const LIST_DEADLINE: Duration = Duration::from_secs(10);

/// Why a pause happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseReason {
    /// Nothing used the engine for this long.
    Idle(Duration),
    /// The user asked (`berth pause`).
    Asked,
}

impl Lifecycle {
    /// Pauses a running engine. For [`PauseReason::Idle`] it checks again, under the lock that
    /// orders every change of the engine, that nothing used it meanwhile: `Ok(false)` then.
    pub async fn pause(&self, reason: PauseReason) -> Result<bool, ApiError> {
        let active = self.op.lock().await;
        if !self.cell.get().is_running() {
            return match reason {
                PauseReason::Idle(_) => Ok(false),
                PauseReason::Asked if self.cell.get().is_paused() => Ok(true),
                PauseReason::Asked => Err(ApiError::new(
                    ErrorCode::Conflict,
                    "only a running engine can pause",
                )),
            };
        }
        let (Some(hv), Some(link)) = (active.hv.clone(), active.link.clone()) else {
            return Ok(false);
        };
        match reason {
            PauseReason::Idle(idle) => {
                if !self.gate.close_if_idle(idle) {
                    return Ok(false);
                }
            }
            // Open connections stall until the wake, as they would while a laptop sleeps.
            PauseReason::Asked => self.gate.close(),
        }
        // From here a user's connection waits (and gives the pause up); a quiet one passes.
        match tokio::time::timeout(RELEASE_DEADLINE, link.release_memory()).await {
            Ok(Ok(())) => tokio::time::sleep(REPORTING_DELAY).await,
            Ok(Err(err)) => warn!(%err, "the guest did not drop its caches"),
            Err(_) => warn!("the guest did not drop its caches in time"),
        }
        // A pause the user asked for goes ahead over Berth's own quiet connections (the port
        // follower reconnecting, the dashboard opening its event stream).
        if !self.gate.commit_pause(reason == PauseReason::Asked) {
            info!(
                ?reason,
                "pause given up: the engine was used while it was prepared"
            );
            return match reason {
                PauseReason::Idle(_) => Ok(false),
                PauseReason::Asked => Err(ApiError::new(
                    ErrorCode::Conflict,
                    "the engine was used while the pause was prepared, so it keeps running; try again",
                )),
            };
        }
        if let Err(err) = hv.pause().await {
            self.gate.resumed();
            return Err(vm_error(err));
        }
        self.transition(EngineState::paused_now());
        info!(?reason, "engine paused");
        Ok(true)
    }

    /// Resumes a paused engine and sets the guest's clock; a no-op for any other state.
    pub async fn wake(&self) -> Result<DaemonStatus, ApiError> {
        let active = self.op.lock().await;
        if !self.cell.get().is_paused() {
            self.gate.resumed();
            return Ok(self.status());
        }
        let started = std::time::Instant::now();
        if let Some(hv) = active.hv.clone() {
            if let Err(err) = hv.resume().await {
                let err = vm_error(err);
                self.transition(EngineState::Error {
                    code: err.code,
                    message: format!("the VM did not resume: {}", err.message),
                });
                self.gate.resumed();
                return Err(err);
            }
        }
        if let Some(link) = active.link.clone() {
            set_clock(&link).await;
        }
        self.transition(EngineState::running_now());
        self.gate.resumed();
        info!(ms = started.elapsed().as_millis() as u64, "engine woke");
        Ok(self.status())
    }

    /// Counts a use now (a running container keeps the engine awake).
    pub(crate) fn touch(&self) {
        self.gate.touch();
    }

    /// How long nothing has used the engine (`None`: something does).
    pub(crate) fn idle_for(&self) -> Option<Duration> {
        self.gate.idle_for()
    }

    /// Resolves when a connection (or "Wake now") asks a paused engine to wake.
    pub(crate) async fn wake_requested(&self) {
        self.gate.wake_requested().await
    }

    /// How many containers run in the guest, asked over the link itself (no socket: asking
    /// must not count as a use).
    pub(crate) async fn running_containers(&self) -> Result<usize, String> {
        let link = self.op.lock().await.link.clone();
        let link = link.ok_or("no link to the guest")?;
        tokio::time::timeout(LIST_DEADLINE, list_running(&link))
            .await
            .map_err(|_| "the engine did not list its containers in time".to_owned())?
    }
}

/// The guest's clock stood still while paused: set it from the host's, then make sure the
/// agent answers again.
async fn set_clock(link: &LinkClient) {
    match tokio::time::timeout(WAKE_PING_DEADLINE, link.set_clock(SystemTime::now())).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => warn!(%err, "cannot set the guest's clock after a wake"),
        Err(_) => warn!("the guest did not set its clock in time after a wake"),
    }
}

/// `GET /containers/json` (running ones only) over a link stream, in HTTP/1.0 so the engine
/// closes the connection after a body with no chunking.
async fn list_running(link: &LinkClient) -> Result<usize, String> {
    let mut stream = link
        .open(berth_link::protocol::Target::Engine)
        .await
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /containers/json HTTP/1.0\r\nHost: docker\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|e| e.to_string())?;
    count_containers(&response)
}

fn count_containers(response: &[u8]) -> Result<usize, String> {
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the engine's answer has no body")?;
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(format!("the engine answered {status:?}"));
    }
    serde_json::from_slice::<Vec<serde::de::IgnoredAny>>(&response[split + 4..])
        .map(|list| list.len())
        .map_err(|e| format!("the engine's container list is not JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_running_list_is_counted_and_a_refusal_is_an_error() {
        let ok = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n[{\"Id\":\"a\"},{\"Id\":\"b\"}]\n";
        assert_eq!(count_containers(ok), Ok(2));
        assert_eq!(count_containers(b"HTTP/1.0 200 OK\r\n\r\n[]"), Ok(0));
        let err = count_containers(b"HTTP/1.0 500 Internal Server Error\r\n\r\n{}").unwrap_err();
        assert!(err.contains("500"), "{err}");
        assert!(count_containers(b"HTTP/1.0 200 OK\r\n\r\nnot json").is_err());
        assert!(count_containers(b"").is_err());
    }
}
