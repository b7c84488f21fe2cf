//! A virtio-serial port (`/dev/virtio-ports/<name>`) as a non-blocking tokio byte stream.
//!
//! A character device in non-blocking mode behaves like a FIFO towards epoll, so tokio's pipe
//! halves register it: one fd for reading, a duplicate for writing. Their `AsyncRead` and
//! `AsyncWrite` are not used: they treat a short read or write as "drained" and wait for the
//! next edge, but a virtio port returns one host buffer per read (and takes at most 32 KiB per
//! write) while more is ready, which stalls the link. Here only `WouldBlock` waits.
//!
//! The port stays open for the agent's whole life and each host session gets a clone of it:
//! closing a virtio port discards what the host already sent, so a host that connects while
//! the agent is between sessions would lose its hello and both sides would wait forever.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::unix::pipe;

/// An open port; clones share the fd. While no host is connected, reads return EOF at once
/// (that is how the virtio console driver reports a closed host side), so callers retry after
/// a short pause.
#[derive(Clone)]
pub struct Port {
    halves: Arc<Halves>,
}

struct Halves {
    rx: pipe::Receiver,
    tx: pipe::Sender,
}

pub fn open(path: &Path) -> io::Result<Port> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let halves = Halves {
        rx: pipe::Receiver::from_file_unchecked(file.try_clone()?)?,
        tx: pipe::Sender::from_file_unchecked(file)?,
    };
    Ok(Port {
        halves: Arc::new(halves),
    })
}

impl AsyncRead for Port {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.halves.rx.poll_read_ready(cx))?;
            match self.halves.rx.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                // Readiness was cleared; the next poll registers for the next edge.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for Port {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.halves.tx.poll_write_ready(cx))?;
            match self.halves.tx.try_write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    // A FIFO stands in for the character device: the same non-blocking fd path.
    #[tokio::test]
    async fn reads_and_writes_through_a_nonblocking_fd() {
        let dir = std::env::temp_dir().join(format!("berth-port-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("port");
        let _ = std::fs::remove_file(&fifo);
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let mut port = open(&fifo).unwrap();
        port.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        port.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        // Short reads must not lose the rest: read one byte at a time.
        port.write_all(b"abc").await.unwrap();
        for want in b"abc" {
            let mut one = [0u8; 1];
            port.read_exact(&mut one).await.unwrap();
            assert_eq!(one[0], *want);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
