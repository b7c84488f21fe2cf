//! The one task that owns the byte stream: reads and parses frames into the streams'
//! buffers, and writes what the streams queued.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{mpsc, watch};
use tokio::time::Sleep;
use tokio_util::bytes::BufMut;

use super::frame::{
    decode_header, HEADER_LEN, KIND_CREDIT, KIND_DATA, KIND_FIN, KIND_OPEN, KIND_RESET,
};
use super::stream_table::{Shared, StreamState};
use super::{lock, LinkStream, DIRECT_READ_MIN, READS_PER_POLL, WINDOW};
use crate::LinkError;

#[derive(Debug)]
pub(super) enum Exit {
    PeerClosed,
    Unused,
}

pub(super) struct Driver<T> {
    pub(super) io: T,
    pub(super) shared: Arc<Mutex<Shared>>,
    pub(super) inbound: Option<mpsc::UnboundedSender<LinkStream>>,
    pub(super) rbuf: Box<[u8]>,
    pub(super) rstart: usize,
    pub(super) rend: usize,
    /// The `DATA` frame whose payload is being read: stream id and bytes still to come.
    pub(super) payload: Option<(u32, u32)>,
    /// What the driver is writing now, taken from `Shared::out`.
    pub(super) wbuf: Vec<u8>,
    pub(super) wpos: usize,
    /// Armed while `Shared::out` holds only lazy frames.
    pub(super) lazy_timer: Option<Pin<Box<Sleep>>>,
    pub(super) lazy_flush: Duration,
}

impl<T> Driver<T>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    pub(super) async fn run(mut self, closed_tx: watch::Sender<bool>) {
        match std::future::poll_fn(|cx| self.poll_drive(cx)).await {
            Ok(Exit::Unused) => tracing::debug!("link closed: no handle left"),
            Ok(Exit::PeerClosed) => tracing::debug!("link closed by the peer"),
            Err(e) => tracing::warn!(error = %e, "link multiplexer ended"),
        }
        lock(&self.shared).kill();
        // Inbound streams can no longer arrive.
        self.inbound = None;
        closed_tx.send_replace(true);
    }

    fn poll_drive(&mut self, cx: &mut Context<'_>) -> Poll<Result<Exit, LinkError>> {
        let closing = {
            let mut s = lock(&self.shared);
            if !s.driver.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                s.driver = Some(cx.waker().clone());
            }
            s.closing
        };
        let mut busy = false;
        if !closing {
            busy = true;
            for _ in 0..READS_PER_POLL {
                match self.poll_read_some(cx) {
                    Poll::Ready(Ok(true)) => {}
                    Poll::Ready(Ok(false)) => return Poll::Ready(Ok(Exit::PeerClosed)),
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {
                        busy = false;
                        break;
                    }
                }
            }
        }
        match self.poll_write_out(cx, closing) {
            Poll::Ready(Ok(())) if closing => {
                ready!(Pin::new(&mut self.io).poll_shutdown(cx)).ok();
                return Poll::Ready(Ok(Exit::Unused));
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
            Poll::Ready(Ok(())) | Poll::Pending => {}
        }
        if busy {
            // More to read: let other tasks run first, then come back.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }

    /// One read from the byte stream, parsed. `Ok(false)` at EOF.
    fn poll_read_some(&mut self, cx: &mut Context<'_>) -> Poll<Result<bool, LinkError>> {
        if self.rstart == self.rend {
            if let Some((id, left)) = self.payload.filter(|(_, left)| *left >= DIRECT_READ_MIN) {
                if let Some(read) = self.poll_read_payload(cx, id, left) {
                    return read;
                }
            }
            self.rstart = 0;
            self.rend = 0;
        } else if self.rbuf.len() - self.rend < HEADER_LEN {
            self.rbuf.copy_within(self.rstart..self.rend, 0);
            self.rend -= self.rstart;
            self.rstart = 0;
        }
        let mut rb = ReadBuf::new(&mut self.rbuf[self.rend..]);
        ready!(Pin::new(&mut self.io).poll_read(cx, &mut rb))?;
        let n = rb.filled().len();
        if n == 0 {
            return Poll::Ready(Ok(false));
        }
        self.rend += n;
        self.parse()?;
        Poll::Ready(Ok(true))
    }

    /// Read the rest of a large payload straight into its stream's buffer (one copy fewer for
    /// big bodies). `None` when the stream is gone: its bytes go the usual way, to be dropped.
    fn poll_read_payload(
        &mut self,
        cx: &mut Context<'_>,
        id: u32,
        left: u32,
    ) -> Option<Poll<Result<bool, LinkError>>> {
        let shared = self.shared.clone();
        let mut s = lock(&shared);
        let st = s.streams.get_mut(&id)?;
        // The allowance check at the frame's header bounds `left` by the window.
        st.recv.reserve(left as usize);
        let mut dst = (&mut st.recv).limit(left as usize);
        let n = match tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut dst) {
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(e)) => return Some(Poll::Ready(Err(e.into()))),
            Poll::Pending => return Some(Poll::Pending),
        };
        if n == 0 {
            return Some(Poll::Ready(Ok(false)));
        }
        st.wake_reader();
        let left = left - n as u32;
        self.payload = (left > 0).then_some((id, left));
        Some(Poll::Ready(Ok(true)))
    }

    /// Apply every complete frame (and any partial payload) in the read buffer.
    fn parse(&mut self) -> Result<(), LinkError> {
        let mut opened = Vec::new();
        {
            let shared = self.shared.clone();
            let mut s = lock(&shared);
            loop {
                if let Some((id, left)) = self.payload {
                    let take = (self.rend - self.rstart).min(left as usize);
                    if take == 0 {
                        break;
                    }
                    if let Some(st) = s.streams.get_mut(&id) {
                        st.append(&self.rbuf[self.rstart..self.rstart + take]);
                    }
                    self.rstart += take;
                    let left = left - take as u32;
                    self.payload = (left > 0).then_some((id, left));
                    continue;
                }
                if self.rend - self.rstart < HEADER_LEN {
                    break;
                }
                let (kind, id, len) =
                    decode_header(&self.rbuf[self.rstart..self.rstart + HEADER_LEN]);
                self.rstart += HEADER_LEN;
                self.apply(&mut s, kind, id, len, &mut opened)?;
            }
        }
        for id in opened {
            let stream = LinkStream {
                shared: self.shared.clone(),
                id,
            };
            if let Some(tx) = &self.inbound {
                // A closed receiver drops the stream (reset): nobody serves it any more.
                let _ = tx.send(stream);
            }
        }
        Ok(())
    }

    fn apply(
        &mut self,
        s: &mut Shared,
        kind: u8,
        id: u32,
        len: u32,
        opened: &mut Vec<u32>,
    ) -> Result<(), LinkError> {
        let broken = |reason: &str| LinkError::Mux {
            reason: format!("{reason} (stream {id})"),
        };
        match kind {
            KIND_OPEN => {
                if self.inbound.is_none() {
                    return Err(broken("the agent opened a stream"));
                }
                if s.streams.contains_key(&id) {
                    return Err(broken("a stream was opened twice"));
                }
                s.streams.insert(id, StreamState::new());
                opened.push(id);
            }
            KIND_DATA => {
                // Data for a stream this side already dropped is discarded.
                if let Some(st) = s.streams.get_mut(&id) {
                    st.recv_allowance = st
                        .recv_allowance
                        .checked_sub(len)
                        .ok_or_else(|| broken("the peer sent beyond its credit"))?;
                }
                if len > 0 {
                    self.payload = Some((id, len));
                }
            }
            KIND_FIN => {
                if let Some(st) = s.streams.get_mut(&id) {
                    st.recv_fin = true;
                    st.wake_all();
                }
            }
            KIND_RESET => {
                if let Some(st) = s.streams.get_mut(&id) {
                    st.reset = true;
                    st.wake_all();
                }
            }
            KIND_CREDIT => {
                if let Some(st) = s.streams.get_mut(&id) {
                    st.send_credit = st
                        .send_credit
                        .checked_add(len)
                        .filter(|c| *c <= WINDOW)
                        .ok_or_else(|| broken("the peer granted more than a window"))?;
                    if let Some(w) = st.write_waker.take() {
                        w.wake();
                    }
                }
            }
            other => return Err(broken(&format!("unknown frame kind {other}"))),
        }
        Ok(())
    }

    /// Write everything queued. Ready once nothing is left (or only lazy frames, not yet due)
    /// and the byte stream is flushed.
    fn poll_write_out(&mut self, cx: &mut Context<'_>, closing: bool) -> Poll<io::Result<()>> {
        loop {
            if self.wpos == self.wbuf.len() {
                self.wbuf.clear();
                self.wpos = 0;
                let mut s = lock(&self.shared);
                if s.out.is_empty() {
                    drop(s);
                    return Pin::new(&mut self.io).poll_flush(cx);
                }
                if !s.urgent && !closing {
                    let timer = self
                        .lazy_timer
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep(self.lazy_flush)));
                    if timer.as_mut().poll(cx).is_pending() {
                        return Poll::Ready(Ok(()));
                    }
                }
                self.lazy_timer = None;
                s.urgent = false;
                std::mem::swap(&mut s.out, &mut self.wbuf);
                for w in s.blocked_writers.drain(..) {
                    w.wake();
                }
            }
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.wbuf[self.wpos..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.wpos += n;
        }
    }
}
