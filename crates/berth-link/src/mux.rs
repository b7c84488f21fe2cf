//! yamux over the link's byte stream, driven by one background task.
//!
//! A yamux `Connection` only makes progress while it is polled, so one task owns it and
//! polls it continuously; handles talk to that task through channels. The host is the yamux
//! client and opens every stream; the agent is the server and accepts them.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, BufStream, ReadBuf};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::compat::{Compat, FuturesAsyncReadCompatExt, TokioAsyncWriteCompatExt};

use crate::LinkError;

/// Largest payload per yamux data frame. The default (16 KiB) costs a wake-up per 16 KiB on
/// both sides; bigger frames keep large bodies (`save`/`load`) close to a raw socket.
const SPLIT_SEND_SIZE: usize = 256 * 1024;

/// Read and write buffers under yamux. yamux reads a 12-byte header and then the body, and
/// writes them the same way, one syscall each; the buffers turn that into one read for many
/// frames and one write per flush.
const IO_BUF_SIZE: usize = 256 * 1024;

/// The yamux settings both sides use.
pub fn config() -> yamux::Config {
    let mut cfg = yamux::Config::default();
    cfg.set_split_send_size(SPLIT_SEND_SIZE);
    cfg
}

/// One multiplexed stream, as a tokio byte stream. `shutdown` sends a FIN (half-close): the
/// other direction keeps flowing until the peer closes too.
#[derive(Debug)]
pub struct LinkStream {
    inner: Compat<yamux::Stream>,
}

impl LinkStream {
    fn new(stream: yamux::Stream) -> Self {
        Self {
            inner: stream.compat(),
        }
    }
}

impl AsyncRead for LinkStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for LinkStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

type OpenReply = oneshot::Sender<Result<yamux::Stream, LinkError>>;

/// A handle on a running multiplexer. Cheap to clone; when every clone is gone the
/// multiplexer closes the connection.
#[derive(Debug, Clone)]
pub struct MuxHandle {
    open_tx: mpsc::UnboundedSender<OpenReply>,
    closed: watch::Receiver<bool>,
}

impl MuxHandle {
    /// Open a new outbound stream.
    pub async fn open(&self) -> Result<LinkStream, LinkError> {
        let (tx, rx) = oneshot::channel();
        self.open_tx.send(tx).map_err(|_| LinkError::Closed)?;
        let stream = rx.await.map_err(|_| LinkError::Closed)??;
        Ok(LinkStream::new(stream))
    }

    /// Resolves once the connection has ended, for whatever reason.
    pub async fn closed(&self) {
        let mut rx = self.closed.clone();
        // An error means the driver is gone, which also means closed.
        let _ = rx.wait_for(|closed| *closed).await;
    }

    pub fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }
}

/// Start the multiplexer as the yamux client (the host side).
pub fn client<T>(io: T) -> MuxHandle
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    spawn(io, yamux::Mode::Client, None)
}

/// Start the multiplexer as the yamux server (the agent side); inbound streams arrive on the
/// returned receiver. Dropping the handle closes the connection.
pub fn server<T>(io: T) -> (MuxHandle, mpsc::UnboundedReceiver<LinkStream>)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    (spawn(io, yamux::Mode::Server, Some(tx)), rx)
}

fn spawn<T>(
    io: T,
    mode: yamux::Mode,
    inbound: Option<mpsc::UnboundedSender<LinkStream>>,
) -> MuxHandle
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (open_tx, open_rx) = mpsc::unbounded_channel();
    let (closed_tx, closed) = watch::channel(false);
    let driver = Driver {
        conn: yamux::Connection::new(
            BufStream::with_capacity(IO_BUF_SIZE, IO_BUF_SIZE, io).compat_write(),
            config(),
            mode,
        ),
        open_rx,
        handles_gone: false,
        pending: VecDeque::new(),
        inbound,
    };
    tokio::spawn(driver.run(closed_tx));
    MuxHandle { open_tx, closed }
}

#[derive(Debug)]
enum Exit {
    PeerClosed,
    Unused,
}

struct Driver<T> {
    conn: yamux::Connection<Compat<BufStream<T>>>,
    open_rx: mpsc::UnboundedReceiver<OpenReply>,
    handles_gone: bool,
    pending: VecDeque<OpenReply>,
    inbound: Option<mpsc::UnboundedSender<LinkStream>>,
}

impl<T> Driver<T>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    async fn run(mut self, closed_tx: watch::Sender<bool>) {
        match poll_fn(|cx| self.poll_drive(cx)).await {
            Ok(Exit::Unused) => {
                if let Err(e) = poll_fn(|cx| self.conn.poll_close(cx)).await {
                    tracing::debug!(error = %e, "closing the link multiplexer");
                }
            }
            Ok(Exit::PeerClosed) => tracing::debug!("link closed by the peer"),
            Err(e) => tracing::warn!(error = %e, "link multiplexer ended"),
        }
        for reply in self.pending.drain(..) {
            let _ = reply.send(Err(LinkError::Closed));
        }
        closed_tx.send_replace(true);
    }

    fn poll_drive(&mut self, cx: &mut Context<'_>) -> Poll<Result<Exit, LinkError>> {
        loop {
            while !self.handles_gone {
                match self.open_rx.poll_recv(cx) {
                    Poll::Ready(Some(reply)) => self.pending.push_back(reply),
                    Poll::Ready(None) => self.handles_gone = true,
                    Poll::Pending => break,
                }
            }
            while !self.pending.is_empty() {
                match self.conn.poll_new_outbound(cx) {
                    Poll::Ready(Ok(stream)) => {
                        if let Some(reply) = self.pending.pop_front() {
                            // A requester that gave up drops the stream, which resets it.
                            let _ = reply.send(Ok(stream));
                        }
                    }
                    Poll::Ready(Err(source)) => return Poll::Ready(Err(LinkError::Mux { source })),
                    Poll::Pending => break,
                }
            }
            if self.handles_gone && self.pending.is_empty() {
                return Poll::Ready(Ok(Exit::Unused));
            }
            match self.conn.poll_next_inbound(cx) {
                Poll::Ready(Some(Ok(stream))) => self.deliver(stream),
                Poll::Ready(Some(Err(source))) => {
                    return Poll::Ready(Err(LinkError::Mux { source }))
                }
                Poll::Ready(None) => return Poll::Ready(Ok(Exit::PeerClosed)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn deliver(&mut self, stream: yamux::Stream) {
        match &self.inbound {
            Some(tx) => {
                // A closed receiver drops the stream (reset): nobody serves it any more.
                let _ = tx.send(LinkStream::new(stream));
            }
            None => tracing::debug!("ignoring a stream opened by the agent"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn streams_are_independent_and_half_close() {
        let (a, b) = tokio::io::duplex(1 << 16);
        let host = client(a);
        let (_agent, mut inbound) = server(b);
        tokio::spawn(async move {
            while let Some(mut s) = inbound.recv().await {
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    s.read_to_end(&mut buf).await.unwrap();
                    buf.reverse();
                    s.write_all(&buf).await.unwrap();
                    s.shutdown().await.unwrap();
                });
            }
        });
        let mut tasks = Vec::new();
        for i in 0..20u8 {
            let host = host.clone();
            tasks.push(tokio::spawn(async move {
                let mut s = host.open().await.unwrap();
                s.write_all(&[i, 1, 2]).await.unwrap();
                s.shutdown().await.unwrap();
                let mut back = Vec::new();
                s.read_to_end(&mut back).await.unwrap();
                assert_eq!(back, vec![2, 1, i]);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }

    #[tokio::test]
    async fn closed_resolves_when_the_peer_goes_away() {
        let (a, b) = tokio::io::duplex(1 << 16);
        let host = client(a);
        let (agent, inbound) = server(b);
        drop(inbound);
        drop(agent);
        tokio::time::timeout(std::time::Duration::from_secs(5), host.closed())
            .await
            .expect("host noticed the close");
        assert!(host.is_closed());
        assert!(matches!(host.open().await, Err(LinkError::Closed)));
    }
}
