//! vfkit's `socketURL` semantics (`pkg/vf/vsock.go`) over vhost-device-vsock's hybrid vsock:
//! one unix socket per `--device virtio-vsock` port.
//! - `connect`: vfkit listens on `socketURL`; each host connection becomes a connection to the
//!   guest's port (here: `CONNECT <port>\n` on the hybrid-vsock socket, `OK <n>\n`, then bytes).
//! - `listen` (the default): the guest connects to host port P (CID 2); vfkit dials `socketURL`
//!   for each such connection (here: vhost-device-vsock delivers it on `<uds>_P`).

use std::path::{Path, PathBuf};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// One exposed port; the socket file goes with it (Go's `UnixListener.Close` unlinks it).
pub struct Exposed {
    socket: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Exposed {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Exposes guest `port` on `socket_url` as vfkit does (`listen` picks the direction).
pub fn expose(port: u32, socket_url: &Path, listen: bool, uds: &Path) -> std::io::Result<Exposed> {
    if socket_url.as_os_str().len() > crate::machine::MAX_SOCKET_PATH {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "listen unix {}: bind: invalid argument (longer than macOS allows)",
                socket_url.display()
            ),
        ));
    }
    if listen {
        let guest_side = PathBuf::from(format!("{}_{port}", uds.display()));
        let _ = std::fs::remove_file(&guest_side);
        let listener = UnixListener::bind(&guest_side)?;
        let target = socket_url.to_path_buf();
        let task = tokio::spawn(async move {
            while let Ok((guest, _)) = listener.accept().await {
                let target = target.clone();
                tokio::spawn(async move {
                    if let Ok(host) = UnixStream::connect(&target).await {
                        splice(guest, host).await;
                    }
                });
            }
        });
        return Ok(Exposed {
            socket: guest_side,
            task,
        });
    }
    let listener = UnixListener::bind(socket_url)?;
    let uds = uds.to_path_buf();
    let task = tokio::spawn(async move {
        while let Ok((host, _)) = listener.accept().await {
            let uds = uds.clone();
            tokio::spawn(async move {
                match connect_guest(&uds, port).await {
                    Ok(guest) => splice(host, guest).await,
                    Err(e) => eprintln!("level=warning msg=\"vsock port {port}: {e}\""),
                }
            });
        }
    });
    Ok(Exposed {
        socket: socket_url.to_path_buf(),
        task,
    })
}

/// A connection to the guest's `port` through the hybrid-vsock socket `uds`.
pub async fn connect_guest(uds: &Path, port: u32) -> std::io::Result<UnixStream> {
    let mut stream = UnixStream::connect(uds).await?;
    stream
        .write_all(format!("CONNECT {port}\n").as_bytes())
        .await?;
    // Read the answer a byte at a time: what follows the newline is the guest's.
    let mut reader = BufReader::with_capacity(1, stream);
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    if !line.starts_with("OK ") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            format!("the guest refused port {port}: {:?}", line.trim_end()),
        ));
    }
    Ok(reader.into_inner())
}

async fn splice(mut a: UnixStream, mut b: UnixStream) {
    let _ = tokio::io::copy_bidirectional(&mut a, &mut b).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// Plays vhost-device-vsock's hybrid side: answers `CONNECT 1024` and echoes.
    async fn fake_hybrid(uds: PathBuf) {
        let listener = UnixListener::bind(&uds).unwrap();
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut r = BufReader::new(s);
                    let mut line = String::new();
                    r.read_line(&mut line).await.unwrap();
                    let mut s = r.into_inner();
                    if line == "CONNECT 1024\n" {
                        s.write_all(b"OK 5000\n").await.unwrap();
                        let mut buf = [0u8; 5];
                        s.read_exact(&mut buf).await.unwrap();
                        s.write_all(&buf).await.unwrap();
                    }
                });
            }
        });
    }

    #[tokio::test]
    async fn connect_mode_reaches_the_guest_port_and_listen_mode_the_host_socket() {
        let dir = tempfile::tempdir().unwrap();
        let uds = dir.path().join("vsock.uds");
        fake_hybrid(uds.clone()).await;
        let link = dir.path().join("link.sock");
        let exposed = expose(1024, &link, false, &uds).unwrap();
        let mut c = UnixStream::connect(&link).await.unwrap();
        c.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 5];
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello");
        assert!(connect_guest(&uds, 7).await.is_err(), "a refused port");

        // listen: the guest's connection to port 5 arrives on <uds>_5 and is carried to the
        // host's socket.
        let host_sock = dir.path().join("host-5.sock");
        let host = UnixListener::bind(&host_sock).unwrap();
        let _listen = expose(5, &host_sock, true, &uds).unwrap();
        let mut guest = UnixStream::connect(format!("{}_5", uds.display()))
            .await
            .unwrap();
        guest.write_all(b"ping").await.unwrap();
        let (mut accepted, _) = host.accept().await.unwrap();
        let mut got = [0u8; 4];
        accepted.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");

        drop(exposed);
        assert!(!link.exists(), "the socket goes with the port");
    }
}
