//! A virtio-serial port (`/dev/virtio-ports/<name>`) as a non-blocking tokio byte stream.
//!
//! A character device in non-blocking mode behaves like a FIFO towards epoll, so tokio's
//! pipe halves drive it: one fd for reading, a duplicate for writing.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use tokio::io::Join;
use tokio::net::unix::pipe;

/// An open port. While no host is connected, reads return EOF at once (that is how the
/// virtio console driver reports a closed host side), so callers retry after a short pause.
pub type Port = Join<pipe::Receiver, pipe::Sender>;

pub fn open(path: &Path) -> io::Result<Port> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let rx = pipe::Receiver::from_file_unchecked(file.try_clone()?)?;
    let tx = pipe::Sender::from_file_unchecked(file)?;
    Ok(tokio::io::join(rx, tx))
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
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
