//! One multiplexed stream, as a tokio byte stream.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::bytes::Buf;

use super::frame::{KIND_CREDIT, KIND_DATA, KIND_FIN, KIND_RESET};
use super::stream_table::Shared;
use super::{lock, CREDIT_BATCH, MAX_DATA_FRAME, OUT_CAP};

/// One multiplexed stream, as a tokio byte stream. `shutdown` sends a FIN (half-close): the
/// other direction keeps flowing until the peer closes too. Dropping a stream before both
/// directions ended resets it.
pub struct LinkStream {
    pub(super) shared: Arc<Mutex<Shared>>,
    pub(super) id: u32,
}

impl fmt::Debug for LinkStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkStream").field("id", &self.id).finish()
    }
}

impl AsyncRead for LinkStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut s = lock(&self.shared);
        let dead = s.dead;
        let Some(st) = s.streams.get_mut(&self.id) else {
            return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
        };
        if !st.recv.is_empty() && buf.remaining() > 0 {
            let n = st.recv.len().min(buf.remaining());
            buf.put_slice(&st.recv[..n]);
            st.recv.advance(n);
            // `n` is at most the buffered bytes, which never exceed WINDOW.
            st.ungranted += n as u32;
            if st.ungranted >= CREDIT_BATCH && !st.recv_fin && !st.reset && !dead {
                let grant = std::mem::take(&mut st.ungranted);
                st.recv_allowance += grant;
                s.push_frame(KIND_CREDIT, self.id, grant, &[]);
            }
            return Poll::Ready(Ok(()));
        }
        if st.recv_fin || buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        if st.reset {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        if dead {
            return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
        }
        st.read_waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl AsyncWrite for LinkStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut s = lock(&self.shared);
        if s.dead {
            return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
        }
        let blocked = s.out.len() >= OUT_CAP;
        let Some(st) = s.streams.get_mut(&self.id) else {
            return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
        };
        if st.reset {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        if st.sent_fin {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if st.send_credit == 0 {
            st.write_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        if blocked {
            s.blocked_writers.push(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.len().min(st.send_credit as usize).min(MAX_DATA_FRAME);
        st.send_credit -= n as u32;
        s.push_frame(KIND_DATA, self.id, n as u32, &buf[..n]);
        Poll::Ready(Ok(n))
    }

    /// Queued bytes are the driver's to send, in order, even if the link's last handle goes
    /// away: there is nothing to wait for.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if lock(&self.shared).dead {
            return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut s = lock(&self.shared);
        let dead = s.dead;
        let Some(st) = s.streams.get_mut(&self.id) else {
            return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
        };
        if st.sent_fin || st.reset {
            return Poll::Ready(Ok(()));
        }
        if dead {
            return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
        }
        st.sent_fin = true;
        let completes = st.recv_fin;
        if s.lazy_fin || completes {
            s.push_lazy(KIND_FIN, self.id, 0, &[]);
        } else {
            s.push_frame(KIND_FIN, self.id, 0, &[]);
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for LinkStream {
    fn drop(&mut self) {
        let mut s = lock(&self.shared);
        if let Some(st) = s.streams.remove(&self.id) {
            let ended = (st.sent_fin && st.recv_fin) || st.reset;
            if !ended && !s.dead {
                s.push_lazy(KIND_RESET, self.id, 0, &[]);
            }
        }
    }
}
