//! The link over virtio-vsock.
//!
//! In the guest the agent listens on a vsock port ([`AGENT_PORT`] unless the kernel command line
//! says otherwise, see vm-image/README.md) and serves each connection as a session. On the host
//! the port is reached one of two ways, depending on the hypervisor:
//!
//! - **Hybrid vsock** (Firecracker's protocol, spoken by rust-vmm's `vhost-device-vsock` that
//!   Berth runs beside QEMU): connect to the device's unix socket, send `CONNECT <port>\n`, read
//!   `OK <host port>\n`; the connection is then the guest port's byte stream
//!   ([`connect_hybrid`]). A port nobody listens on yet closes the connection instead.
//! - **vfkit**: `virtio-vsock,port=N,socketURL=...,listen` makes vfkit itself listen on a unix
//!   socket per port: a plain connect, nothing to say first.
//!
//! Either way the stream then carries the same handshake and multiplexer as every other link.

use std::io;
#[cfg(unix)]
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::LinkError;

/// The guest port the agent listens on by default (`berth.link=vsock:1024`).
pub const AGENT_PORT: u32 = 1024;

/// How long the device may take to answer a `CONNECT`: it asks the guest, whose kernel answers
/// at once (with a connection, or a reset when nobody listens). Longer means the guest's vsock
/// driver is not up yet; the caller retries.
pub const CONNECT_REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest `OK <port>\n` line accepted (the port is a u32).
const MAX_REPLY: usize = 32;

/// Asks a hybrid-vsock device for the guest's `port` on `io`, a fresh connection to its unix
/// socket. Returns the host-side port the device assigned; `io` then carries the guest port's
/// bytes. Reads the reply a byte at a time so nothing after it is consumed.
///
/// [`LinkError::Closed`] means the device closed the connection: nothing in the guest listens on
/// `port` (yet).
pub async fn hybrid_connect<T>(io: &mut T, port: u32) -> Result<u32, LinkError>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    io.write_all(format!("CONNECT {port}\n").as_bytes()).await?;
    io.flush().await?;
    let mut line = Vec::with_capacity(MAX_REPLY);
    loop {
        let byte = match io.read_u8().await {
            Ok(byte) => byte,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(LinkError::Closed),
            Err(e) => return Err(e.into()),
        };
        if byte == b'\n' {
            break;
        }
        line.push(byte);
        if line.len() > MAX_REPLY {
            return Err(refused(port, &line));
        }
    }
    let text = std::str::from_utf8(&line).map_err(|_| refused(port, &line))?;
    text.strip_prefix("OK ")
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| refused(port, &line))
}

fn refused(port: u32, answer: &[u8]) -> LinkError {
    LinkError::VsockRefused {
        port,
        answer: String::from_utf8_lossy(answer).into_owned(),
    }
}

/// Connects to a hybrid-vsock device's unix socket `uds` and asks for the guest's `port`
/// ([`hybrid_connect`]), waiting at most [`CONNECT_REPLY_TIMEOUT`] for the answer.
#[cfg(unix)]
pub async fn connect_hybrid(uds: &Path, port: u32) -> Result<tokio::net::UnixStream, LinkError> {
    let mut stream = tokio::net::UnixStream::connect(uds).await?;
    match tokio::time::timeout(CONNECT_REPLY_TIMEOUT, hybrid_connect(&mut stream, port)).await {
        Ok(Ok(_host_port)) => Ok(stream),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(LinkError::Io(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no answer to CONNECT {port} on {}", uds.display()),
        ))),
    }
}

/// The guest side: listens on vsock `port` for any host (`VMADDR_CID_ANY`).
#[cfg(target_os = "linux")]
pub fn listen(port: u32) -> io::Result<tokio_vsock::VsockListener> {
    tokio_vsock::VsockListener::bind(tokio_vsock::VsockAddr::new(
        tokio_vsock::VMADDR_CID_ANY,
        port,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plays vhost-device-vsock's side of one connection: reads the request line and answers
    /// with `answer` (or closes when it is `None`, as for a port nobody listens on).
    async fn device<T>(mut io: T, answer: Option<&str>) -> (String, T)
    where
        T: AsyncRead + AsyncWrite + Unpin,
    {
        let mut request = Vec::new();
        loop {
            let byte = io.read_u8().await.unwrap();
            request.push(byte);
            if byte == b'\n' {
                break;
            }
        }
        if let Some(answer) = answer {
            io.write_all(answer.as_bytes()).await.unwrap();
        }
        (String::from_utf8(request).unwrap(), io)
    }

    #[tokio::test]
    async fn ok_hands_over_the_stream_with_nothing_consumed() {
        let (mut host, guest) = tokio::io::duplex(1024);
        let peer = tokio::spawn(async move {
            let (request, mut io) = device(guest, Some("OK 1073741824\nhello")).await;
            io.write_all(b" world").await.unwrap();
            request
        });
        assert_eq!(
            hybrid_connect(&mut host, AGENT_PORT).await.unwrap(),
            1 << 30
        );
        assert_eq!(peer.await.unwrap(), "CONNECT 1024\n");
        let mut rest = [0u8; 11];
        host.read_exact(&mut rest).await.unwrap();
        assert_eq!(&rest, b"hello world");
    }

    #[tokio::test]
    async fn a_closed_connection_means_nobody_listens() {
        let (mut host, guest) = tokio::io::duplex(1024);
        tokio::spawn(async move { drop(device(guest, None).await) });
        assert!(matches!(
            hybrid_connect(&mut host, 5000).await,
            Err(LinkError::Closed)
        ));
    }

    #[tokio::test]
    async fn anything_but_ok_is_refused_with_the_answer() {
        for answer in ["ERR no such port\n", "OK\n", "OK x\n", "OK 1 2\n"] {
            let (mut host, guest) = tokio::io::duplex(1024);
            let peer = tokio::spawn(async move { device(guest, Some(answer)).await.1 });
            let err = hybrid_connect(&mut host, 7).await.unwrap_err();
            assert!(
                matches!(&err, LinkError::VsockRefused { port: 7, answer: a } if a == answer.trim_end()),
                "{answer:?}: {err:?}"
            );
            drop(peer.await);
        }
        // An endless line is cut off, not buffered.
        let (mut host, guest) = tokio::io::duplex(1024);
        let peer = tokio::spawn(async move {
            device(guest, Some("OK 99999999999999999999999999999999999"))
                .await
                .1
        });
        assert!(matches!(
            hybrid_connect(&mut host, 7).await,
            Err(LinkError::VsockRefused { .. })
        ));
        drop(peer.await);
    }

    /// The whole host path against a fake device on a unix socket whose guest side is the
    /// agent's own session: after `OK` the link is the usual handshake and multiplexer.
    #[cfg(unix)]
    #[tokio::test]
    async fn a_link_session_runs_over_a_hybrid_connection() {
        use crate::guest::{self, GuestConfig, Outcome};
        use std::sync::Arc;

        let dir = tempfile::tempdir().unwrap();
        let uds = dir.path().join("vsock.uds");
        let listener = tokio::net::UnixListener::bind(&uds).unwrap();
        let cfg = Arc::new(GuestConfig::new(dir.path().join("docker.sock")));
        let peer = tokio::spawn(async move {
            // The first connection asks for a port nobody listens on: closed.
            let (conn, _) = listener.accept().await.unwrap();
            let (request, conn) = device(conn, None).await;
            assert_eq!(request, "CONNECT 2000\n");
            drop(conn);
            let (conn, _) = listener.accept().await.unwrap();
            let (request, conn) = device(conn, Some("OK 1073741825\n")).await;
            assert_eq!(request, "CONNECT 1024\n");
            guest::serve(conn, cfg).await.unwrap()
        });
        assert!(matches!(
            connect_hybrid(&uds, 2000).await,
            Err(LinkError::Closed)
        ));
        let stream = connect_hybrid(&uds, AGENT_PORT).await.unwrap();
        let client = crate::LinkClient::handshake(stream).await.unwrap();
        let info = client.ping().await.unwrap();
        assert!(!info.docker_ready);
        drop(client);
        assert_eq!(peer.await.unwrap(), Outcome::HostClosed);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn no_device_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = connect_hybrid(&dir.path().join("none.uds"), AGENT_PORT)
            .await
            .unwrap_err();
        assert!(matches!(err, LinkError::Io(_)), "{err:?}");
    }
}
