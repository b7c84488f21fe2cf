//! An in-process link: the agent side (`guest::serve`, on its own runtime, as it would be in
//! the VM) fed by a real dockerd's socket, and the host side (`LinkClient` + `relay`) on
//! another runtime, joined by a socket pair. The relay's socket is what the docker CLI uses.
//!
//! Each side's runtime is driven by its own thread. `BERTH_LINK_RT=multi` gives each side a
//! two-worker multi-thread runtime instead of a current-thread one.

#![allow(dead_code)] // each test binary uses a different part

use std::future::Future;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use berth_link::guest::{self, GuestConfig};
use berth_link::{relay, LinkClient};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// A runtime driven by a thread of its own until dropped.
pub struct Side {
    pub handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Side {
    fn start(name: &str) -> Side {
        let multi = std::env::var("BERTH_LINK_RT").is_ok_and(|v| v == "multi");
        let mut builder = if multi {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(2);
            b
        } else {
            tokio::runtime::Builder::new_current_thread()
        };
        let rt = builder
            .thread_name(name)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let handle = rt.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let _ = rt.block_on(stopped);
            })
            .expect("runtime thread");
        Side {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Run `fut` on this side and wait for it.
    pub fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle
            .block_on(self.handle.spawn(fut))
            .expect("task panicked")
    }
}

impl Drop for Side {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub struct InProcessRelay {
    pub host: Side,
    pub guest: Side,
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub client: LinkClient,
}

impl InProcessRelay {
    pub fn start(docker_socket: &Path) -> InProcessRelay {
        let host = Side::start("host");
        let guest = Side::start("guest");
        let dir = tempfile::Builder::new()
            .prefix("berth-link-")
            .tempdir()
            .expect("temp dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod run dir");
        let socket = dir.path().join("docker.sock");
        let (host_end, guest_end) = std::os::unix::net::UnixStream::pair().expect("socket pair");
        host_end.set_nonblocking(true).expect("nonblocking");
        guest_end.set_nonblocking(true).expect("nonblocking");

        let cfg = Arc::new(GuestConfig::new(docker_socket));
        guest.handle.spawn(async move {
            let io = tokio::net::UnixStream::from_std(guest_end).expect("register guest end");
            let io = Counted(io, &LINK_WRITES.guest);
            let outcome = guest::serve(io, cfg).await;
            eprintln!("agent session ended: {outcome:?}");
        });
        let relay_socket = socket.clone();
        let client = host.block_on(async move {
            let io = tokio::net::UnixStream::from_std(host_end).expect("register host end");
            let io = Counted(io, &LINK_WRITES.host);
            let client = LinkClient::handshake(io).await.expect("handshake");
            let listener = relay::bind_private(&relay_socket).expect("bind relay socket");
            tokio::spawn(relay::serve_unix(
                listener,
                client.clone(),
                relay::Door::open(),
            ));
            client
        });
        InProcessRelay {
            host,
            guest,
            dir,
            socket,
            client,
        }
    }

    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }
}

/// Writes to the link's byte stream so far, per side. Each one can wake the other side (in a
/// VM: a vCPU), so fewer per request is cheaper whatever the machine's load.
pub struct LinkWrites {
    pub host: AtomicU64,
    pub guest: AtomicU64,
}

pub static LINK_WRITES: LinkWrites = LinkWrites {
    host: AtomicU64::new(0),
    guest: AtomicU64::new(0),
};

impl LinkWrites {
    /// `(host, guest)` writes so far.
    pub fn get(&self) -> (u64, u64) {
        (
            self.host.load(Ordering::Relaxed),
            self.guest.load(Ordering::Relaxed),
        )
    }
}

/// A byte stream that counts its writes that moved bytes.
struct Counted<T>(T, &'static AtomicU64);

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.0).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            if n > 0 {
                self.1.fetch_add(1, Ordering::Relaxed);
            }
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
