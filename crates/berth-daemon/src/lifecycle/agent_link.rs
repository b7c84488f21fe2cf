//! The link to the guest agent: opened where the hypervisor says it is.

use std::path::Path;
#[cfg(unix)]
use std::time::Duration;

use berth_core::{ApiError, ErrorCode};
use berth_link::LinkClient;
use berth_vm::{Hypervisor, LinkEndpoint};
#[cfg(unix)]
use tracing::debug;

/// One handshake attempt's bound. Long on purpose: the hello waits in QEMU until the agent
/// opens its port (20-60 s under TCG); a reconnect is the last resort.
#[cfg(unix)]
const HANDSHAKE_TRY: Duration = Duration::from_secs(90);

/// Opens the link where the hypervisor says it is.
pub(super) async fn open_link(
    endpoint: &LinkEndpoint,
    hv: &dyn Hypervisor,
) -> Result<LinkClient, ApiError> {
    match endpoint {
        // On the link's own thread: the socket and the multiplexer are driven there, with the
        // engine relay (see berth_link::host::link_runtime).
        LinkEndpoint::UnixSocket(path) => {
            let path = path.clone();
            berth_link::host::on_link_thread(async move { connect_link(&path).await }).await
        }
        // One stream per start: a stdio link that was already used cannot be opened again.
        LinkEndpoint::Stdio => {
            let io = hv.take_link_io().ok_or_else(|| {
                ApiError::new(
                    ErrorCode::VmFailed,
                    "the agent's stdio link is gone; restart the engine",
                )
            })?;
            LinkClient::handshake(io)
                .await
                .map_err(|e| ApiError::from_error(ErrorCode::VmFailed, &e))
        }
    }
}

/// Connects to the link socket and handshakes. An attempt that gets no answer is dropped and
/// retried: the guest discards what arrives before its agent opens the port, and QEMU accepts
/// a new client once the old one hangs up. The caller bounds the whole wait.
#[cfg(not(unix))]
async fn connect_link(path: &Path) -> Result<LinkClient, ApiError> {
    Err(ApiError::new(
        ErrorCode::Unsupported,
        format!("the link socket {} is a unix socket", path.display()),
    ))
}

#[cfg(unix)]
async fn connect_link(path: &Path) -> Result<LinkClient, ApiError> {
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let stream = match tokio::net::UnixStream::connect(path).await {
            Ok(stream) => stream,
            Err(err) => {
                debug!(%err, attempt, "link socket not ready");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        match tokio::time::timeout(HANDSHAKE_TRY, LinkClient::handshake(stream)).await {
            Ok(Ok(client)) => return Ok(client),
            // Retrying cannot help: the agent in the guest is from another Berth build.
            Ok(Err(err @ berth_link::LinkError::VersionMismatch { .. })) => {
                return Err(ApiError::new(
                    ErrorCode::VmFailed,
                    format!("the guest agent does not fit this Berth ({err}); reinstall Berth or point BERTH_AGENT_BIN at a matching berth-agent"),
                ))
            }
            Ok(Err(err)) => {
                debug!(%err, attempt, "link handshake failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(_) => debug!(attempt, "no hello from the agent yet"),
        }
    }
}
