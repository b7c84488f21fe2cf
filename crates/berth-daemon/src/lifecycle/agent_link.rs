//! The link to the guest agent: opened where the hypervisor says it is.

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
        #[cfg(unix)]
        LinkEndpoint::UnixSocket(path) => {
            let path = path.clone();
            let connect = move || {
                let path = path.clone();
                async move { Ok(tokio::net::UnixStream::connect(&path).await?) }
            };
            berth_link::host::on_link_thread(async move { connect_link(connect).await }).await
        }
        // A vsock through vhost-device-vsock: a port nobody listens on yet closes the
        // connection, so this retries until the agent listens.
        #[cfg(unix)]
        LinkEndpoint::HybridVsock { socket, port } => {
            let (socket, port) = (socket.clone(), *port);
            let connect = move || {
                let socket = socket.clone();
                async move { berth_link::vsock::connect_hybrid(&socket, port).await }
            };
            berth_link::host::on_link_thread(async move { connect_link(connect).await }).await
        }
        #[cfg(not(unix))]
        LinkEndpoint::UnixSocket(_) | LinkEndpoint::HybridVsock { .. } => Err(ApiError::new(
            ErrorCode::Unsupported,
            "a link over a unix socket needs a unix host",
        )),
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

/// Connects (with `connect`) and handshakes. An attempt that gets no answer is dropped and
/// retried: the guest discards what arrives before its agent opens the port, and QEMU accepts
/// a new client once the old one hangs up. The caller bounds the whole wait.
#[cfg(unix)]
async fn connect_link<F, Fut>(connect: F) -> Result<LinkClient, ApiError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<tokio::net::UnixStream, berth_link::LinkError>>,
{
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let stream = match connect().await {
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
