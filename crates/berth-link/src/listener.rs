//! What the agent accepts link sessions on: a unix socket (the agent's test mode, the stand-in
//! VMs) or, in the guest, a vsock port ([`crate::vsock::listen`]).

use std::future::Future;
use std::io;

/// A listening socket whose every connection is one link session
/// ([`crate::guest::serve_until_shutdown`]).
pub trait SessionListener {
    type Conn: Send + 'static;
    fn accept_session(&self) -> impl Future<Output = io::Result<Self::Conn>> + Send;
}

#[cfg(unix)]
impl SessionListener for tokio::net::UnixListener {
    type Conn = tokio::net::UnixStream;

    async fn accept_session(&self) -> io::Result<Self::Conn> {
        self.accept().await.map(|(conn, _)| conn)
    }
}

#[cfg(target_os = "linux")]
impl SessionListener for tokio_vsock::VsockListener {
    type Conn = tokio_vsock::VsockStream;

    async fn accept_session(&self) -> io::Result<Self::Conn> {
        let (conn, peer) = self.accept().await?;
        tracing::debug!(cid = peer.cid(), port = peer.port(), "vsock connection");
        Ok(conn)
    }
}
