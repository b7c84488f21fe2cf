//! The host engine socket: every connection becomes one link stream to the guest engine.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::AbortHandle;

use crate::activity::{ActivityGate, Use};
use crate::create_rewrite::{relay_connection, RewriteBody};
use crate::host::LinkClient;
use crate::protocol::Target;
use crate::splice::splice;
use crate::LinkError;

/// Bind a unix socket that only the owner may connect to (mode 0600). A stale socket file
/// from an earlier run is replaced. Put it in a 0700 directory: the mode is set right after
/// `bind`, and the directory closes that window.
pub fn bind_private(path: &Path) -> std::io::Result<UnixListener> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Who a relayed socket serves: each connection passes `gate` (held while the VM is paused,
/// counted as `usage`); with `rewrite`, its container creates have their bind paths rewritten
/// on the way (a WSL distro sees the host's files elsewhere, see [`crate::create_rewrite`]).
#[derive(Clone)]
pub struct Door {
    pub gate: Arc<ActivityGate>,
    pub usage: Use,
    pub rewrite: Option<Arc<RewriteBody>>,
}

impl std::fmt::Debug for Door {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Door")
            .field("usage", &self.usage)
            .field("rewrite", &self.rewrite.is_some())
            .finish_non_exhaustive()
    }
}

impl Door {
    /// A door that is never closed (no Resource Saver).
    pub fn open() -> Self {
        Door {
            gate: ActivityGate::new(),
            usage: Use::Counted,
            rewrite: None,
        }
    }
}

/// Serve the engine socket on `listener` until the link closes. Each accepted connection
/// passes `door`, then is spliced to a fresh [`Target::Engine`] stream, byte for byte,
/// half-closes included.
pub async fn serve_unix(
    listener: UnixListener,
    client: LinkClient,
    door: Door,
) -> Result<(), LinkError> {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (conn, _) = accepted?;
                tokio::spawn(relay_one(conn, client.clone(), door.clone()));
            }
            () = client.closed() => return Ok(()),
        }
    }
}

/// Bind the engine socket at `path` ([`bind_private`]) and serve it ([`serve_unix`]) on the
/// link thread, next to the link's multiplexer (see [`crate::host::link_runtime`]). Abort the
/// returned handle to stop serving.
pub async fn spawn_on_link_thread(
    path: PathBuf,
    client: LinkClient,
    door: Door,
) -> std::io::Result<AbortHandle> {
    crate::host::on_link_thread(async move {
        let listener = bind_private(&path)?;
        Ok(tokio::spawn(serve_unix(listener, client, door)).abort_handle())
    })
    .await
}

async fn relay_one(mut conn: UnixStream, client: LinkClient, door: Door) {
    let _in_use = door.gate.enter(door.usage).await;
    let result = match &door.rewrite {
        None => relay_engine(&mut conn, &client).await,
        Some(rewrite) => match client.open(Target::Engine).await {
            Ok(stream) => relay_connection(conn, stream, rewrite.as_ref())
                .await
                .map_err(LinkError::from),
            Err(e) => Err(e),
        },
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "engine connection ended with an error");
    }
}

/// Largest first read that rides along with the stream's open.
const FIRST_READ: usize = 16 * 1024;

async fn relay_engine(conn: &mut UnixStream, client: &LinkClient) -> Result<(), LinkError> {
    // An engine API client always speaks first. Waiting for its first bytes lets the stream's
    // open, its header and the request leave in one write, so the agent wakes once per new
    // connection, not twice. A client that closes without a byte gets the same half-close
    // from the splice below.
    let mut first = vec![0u8; FIRST_READ];
    let n = conn.read(&mut first).await?;
    let mut stream = client.open(Target::Engine).await?;
    stream.write_all(&first[..n]).await?;
    splice(conn, &mut stream).await?;
    Ok(())
}
