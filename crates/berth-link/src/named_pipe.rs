//! The host engine endpoint on Windows: the named pipe `\\.\pipe\berth_engine`, each connection
//! relayed to one link stream to the guest engine, as [`crate::relay`] does for a unix socket,
//! with container-create bodies rewritten on the way ([`crate::create_rewrite`]: Windows bind
//! paths become the WSL distro's `/mnt/<drive>` paths).
//!
//! Only the pipe name is compiled everywhere; the server is `cfg(windows)`. It is compiled (not
//! run) on Linux by `scripts/check-cross.sh` for `x86_64-pc-windows-gnu`; the daemon serves it
//! in place of the unix engine socket.

/// The pipe the `berth` docker context points at, named where the daemon's clients find it.
pub use berth_control::endpoint::{engine_pipe_host, ENGINE_PIPE};

#[cfg(windows)]
pub use server::serve_named_pipe;

#[cfg(windows)]
mod server {
    use std::sync::Arc;

    use tokio::net::windows::named_pipe::{NamedPipeServer, ServerOptions};

    use super::ENGINE_PIPE;
    use crate::create_rewrite::{relay_connection, RewriteBody};
    use crate::host::LinkClient;
    use crate::protocol::Target;
    use crate::LinkError;

    /// Serves [`ENGINE_PIPE`] until the link closes. The first instance is created with
    /// `first_pipe_instance`, so a second Berth (or anyone squatting the name) makes this fail
    /// instead of sharing the pipe; remote clients are refused.
    pub async fn serve_named_pipe(
        client: LinkClient,
        rewrite: Arc<RewriteBody>,
    ) -> Result<(), LinkError> {
        let mut server = ServerOptions::new()
            .first_pipe_instance(true)
            .reject_remote_clients(true)
            .create(ENGINE_PIPE)?;
        loop {
            tokio::select! {
                connected = server.connect() => {
                    connected?;
                    let conn = std::mem::replace(
                        &mut server,
                        ServerOptions::new().reject_remote_clients(true).create(ENGINE_PIPE)?,
                    );
                    tokio::spawn(relay_one(conn, client.clone(), rewrite.clone()));
                }
                () = client.closed() => return Ok(()),
            }
        }
    }

    async fn relay_one(conn: NamedPipeServer, client: LinkClient, rewrite: Arc<RewriteBody>) {
        let stream = match client.open(Target::Engine).await {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(error = %e, "cannot open an engine stream");
                return;
            }
        };
        if let Err(e) = relay_connection(conn, stream, rewrite.as_ref()).await {
            tracing::debug!(error = %e, "engine connection ended with an error");
        }
    }
}
