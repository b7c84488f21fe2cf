//! The multiplexer: many byte streams over the link's one byte stream (protocol version 2).
//!
//! Every frame starts with a 9-byte header, big endian: `u8` kind, `u32` stream id, `u32`
//! length. Kinds:
//!
//! - `OPEN`: the host starts stream `id` (ids count up from 1; only the host opens). No reply:
//!   data may follow at once, so opening costs no round trip and no extra wake-up.
//! - `DATA`: `length` payload bytes for stream `id`.
//! - `FIN`: the sender will send no more on `id` (a half-close; the other way keeps flowing).
//! - `RESET`: the sender dropped `id` before both ways had ended: stop sending, reads fail.
//! - `CREDIT`: the receiver of `id` has room for `length` more payload bytes.
//!
//! Flow control is per stream and direction: a sender starts with [`WINDOW`] bytes of credit
//! and spends it on `DATA`; the receiver grants credit back as its reader consumes (in batches,
//! so a short request/response exchange sends no credit frames at all). A peer that sends
//! beyond its credit breaks the protocol and the link closes.
//!
//! One driver task owns the byte stream: it reads, parses and appends payloads to the streams'
//! buffers, and writes what the streams queued. Streams and driver share one small state under
//! one mutex (never held across an await or an I/O call); a stream's write is a copy into the
//! outgoing buffer and a wake-up of the driver, which sends everything queued in one write.
//!
//! Frames that end a stream's life and that nobody waits for are sent lazily, with the next
//! frame that matters or after [`LAZY_FLUSH`]: a host connection's FIN and RESET, and the FIN
//! that completes a stream whose other way has already ended. Each write to the link wakes
//! the other side (a thread in another process, or a vCPU); a closed connection's teardown
//! would otherwise cost two such wake-ups in the middle of the next connection's request.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{mpsc, watch};
use tokio::time::Sleep;
use tokio_util::bytes::{Buf, BufMut, BytesMut};

use crate::LinkError;

/// Credit each side of a stream starts with, and the most a receiver ever buffers per stream.
pub const WINDOW: u32 = 1 << 20;
/// Consumed bytes are granted back once this many have accumulated.
const CREDIT_BATCH: u32 = WINDOW / 4;
/// Largest payload per `DATA` frame (bigger writes are split).
const MAX_DATA_FRAME: usize = 256 * 1024;
/// Stream writes wait while this much is queued and not yet taken by the driver.
const OUT_CAP: usize = 1 << 20;
/// The driver's read buffer.
const READ_BUF: usize = 256 * 1024;
/// A payload with at least this much still to come is read straight into its stream's
/// buffer, not through the driver's.
const DIRECT_READ_MIN: u32 = 16 * 1024;
/// Reads per driver wake-up before it yields to other tasks.
const READS_PER_POLL: usize = 16;
/// How long lazy frames (see [`Shared::push_lazy`]) may wait for company.
const LAZY_FLUSH: Duration = Duration::from_millis(1);

const HEADER_LEN: usize = 9;
const KIND_OPEN: u8 = 1;
const KIND_DATA: u8 = 2;
const KIND_FIN: u8 = 3;
const KIND_RESET: u8 = 4;
const KIND_CREDIT: u8 = 5;

/// One multiplexed stream, as a tokio byte stream. `shutdown` sends a FIN (half-close): the
/// other direction keeps flowing until the peer closes too. Dropping a stream before both
/// directions ended resets it.
pub struct LinkStream {
    shared: Arc<Mutex<Shared>>,
    id: u32,
}

impl fmt::Debug for LinkStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkStream").field("id", &self.id).finish()
    }
}

/// A handle on a running multiplexer. Cheap to clone; when every clone is gone the
/// multiplexer sends what is queued and closes the connection.
#[derive(Debug, Clone)]
pub struct MuxHandle {
    owner: Arc<Owner>,
    closed: watch::Receiver<bool>,
}

/// Dropped with the last [`MuxHandle`]: tells the driver to close.
struct Owner {
    shared: Arc<Mutex<Shared>>,
}

impl fmt::Debug for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Owner")
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        let mut s = lock(&self.shared);
        s.closing = true;
        s.wake_driver();
    }
}

impl MuxHandle {
    /// Open a new outbound stream. Nothing waits for the peer: the `OPEN` frame leaves with
    /// the stream's first data.
    pub async fn open(&self) -> Result<LinkStream, LinkError> {
        let id = {
            let mut s = lock(&self.owner.shared);
            if s.dead || s.closing {
                return Err(LinkError::Closed);
            }
            let id = s.next_id;
            s.next_id = id.checked_add(1).ok_or_else(|| LinkError::Mux {
                reason: "stream ids exhausted; reconnect the link".to_owned(),
            })?;
            s.streams.insert(id, StreamState::new());
            s.push_frame(KIND_OPEN, id, 0, &[]);
            id
        };
        Ok(LinkStream {
            shared: self.owner.shared.clone(),
            id,
        })
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

/// Start the multiplexer as the side that opens streams (the host).
pub fn client<T>(io: T) -> MuxHandle
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    spawn(io, None, true, LAZY_FLUSH)
}

/// Start the multiplexer as the side that accepts streams (the agent); inbound streams arrive
/// on the returned receiver. Dropping the handle closes the connection.
pub fn server<T>(io: T) -> (MuxHandle, mpsc::UnboundedReceiver<LinkStream>)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    (spawn(io, Some(tx), false, LAZY_FLUSH), rx)
}

fn spawn<T>(
    io: T,
    inbound: Option<mpsc::UnboundedSender<LinkStream>>,
    lazy_fin: bool,
    lazy_flush: Duration,
) -> MuxHandle
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let shared = Arc::new(Mutex::new(Shared::new(lazy_fin)));
    let (closed_tx, closed) = watch::channel(false);
    let driver = Driver {
        io,
        shared: shared.clone(),
        inbound,
        rbuf: vec![0; READ_BUF].into_boxed_slice(),
        rstart: 0,
        rend: 0,
        payload: None,
        wbuf: Vec::new(),
        wpos: 0,
        lazy_timer: None,
        lazy_flush,
    };
    tokio::spawn(driver.run(closed_tx));
    MuxHandle {
        owner: Arc::new(Owner { shared }),
        closed,
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // The state stays consistent between statements; a panic elsewhere does not poison it.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the driver and the streams share.
struct Shared {
    streams: HashMap<u32, StreamState>,
    /// Frames queued for the driver to write.
    out: Vec<u8>,
    driver: Option<Waker>,
    /// Streams waiting for `out` to drain below [`OUT_CAP`].
    blocked_writers: Vec<Waker>,
    next_id: u32,
    /// Every handle is gone: send what is queued, then close.
    closing: bool,
    /// The connection has ended.
    dead: bool,
    /// `out` holds a frame that must leave now (not only lazy ones).
    urgent: bool,
    /// Every FIN from this side is lazy (the host: its FINs come from closed connections).
    lazy_fin: bool,
}

impl Shared {
    fn new(lazy_fin: bool) -> Self {
        Self {
            streams: HashMap::new(),
            out: Vec::with_capacity(64 * 1024),
            driver: None,
            blocked_writers: Vec::new(),
            next_id: 1,
            closing: false,
            dead: false,
            urgent: false,
            lazy_fin,
        }
    }

    fn push_frame(&mut self, kind: u8, id: u32, len: u32, payload: &[u8]) {
        // A non-empty buffer with an urgent frame in it means the driver is already on its
        // way (woken, or waiting for the byte stream to take more); with only lazy frames it
        // may be waiting for its timer.
        let wake = self.out.is_empty() || !self.urgent;
        self.urgent = true;
        self.append(kind, id, len, payload);
        if wake {
            self.wake_driver();
        }
    }

    /// Queue a frame the driver may hold back for up to [`LAZY_FLUSH`]. The driver's wake-up
    /// is cheap (a task on this side); its write to the link is what costs.
    fn push_lazy(&mut self, kind: u8, id: u32, len: u32, payload: &[u8]) {
        let wake = self.out.is_empty();
        self.append(kind, id, len, payload);
        if wake {
            self.wake_driver();
        }
    }

    fn append(&mut self, kind: u8, id: u32, len: u32, payload: &[u8]) {
        self.out.push(kind);
        self.out.extend_from_slice(&id.to_be_bytes());
        self.out.extend_from_slice(&len.to_be_bytes());
        self.out.extend_from_slice(payload);
    }

    fn wake_driver(&self) {
        if let Some(w) = &self.driver {
            w.wake_by_ref();
        }
    }

    /// The connection ended: wake everyone so they see it.
    fn kill(&mut self) {
        self.dead = true;
        for st in self.streams.values_mut() {
            st.wake_all();
        }
        for w in self.blocked_writers.drain(..) {
            w.wake();
        }
    }
}

struct StreamState {
    recv: BytesMut,
    /// The peer sent FIN.
    recv_fin: bool,
    /// The peer reset the stream.
    reset: bool,
    read_waker: Option<Waker>,
    /// How many more payload bytes this side may send.
    send_credit: u32,
    write_waker: Option<Waker>,
    /// This side sent FIN.
    sent_fin: bool,
    /// How many more payload bytes the peer may send.
    recv_allowance: u32,
    /// Consumed by the reader, not yet granted back.
    ungranted: u32,
}

impl StreamState {
    fn new() -> Self {
        Self {
            recv: BytesMut::new(),
            recv_fin: false,
            reset: false,
            read_waker: None,
            send_credit: WINDOW,
            write_waker: None,
            sent_fin: false,
            recv_allowance: WINDOW,
            ungranted: 0,
        }
    }

    fn wake_all(&mut self) {
        if let Some(w) = self.read_waker.take() {
            w.wake();
        }
        if let Some(w) = self.write_waker.take() {
            w.wake();
        }
    }

    fn append(&mut self, bytes: &[u8]) {
        self.recv.extend_from_slice(bytes);
        self.wake_reader();
    }

    fn wake_reader(&mut self) {
        if let Some(w) = self.read_waker.take() {
            w.wake();
        }
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

#[derive(Debug)]
enum Exit {
    PeerClosed,
    Unused,
}

struct Driver<T> {
    io: T,
    shared: Arc<Mutex<Shared>>,
    inbound: Option<mpsc::UnboundedSender<LinkStream>>,
    rbuf: Box<[u8]>,
    rstart: usize,
    rend: usize,
    /// The `DATA` frame whose payload is being read: stream id and bytes still to come.
    payload: Option<(u32, u32)>,
    /// What the driver is writing now, taken from `Shared::out`.
    wbuf: Vec<u8>,
    wpos: usize,
    /// Armed while `Shared::out` holds only lazy frames.
    lazy_timer: Option<Pin<Box<Sleep>>>,
    lazy_flush: Duration,
}

impl<T> Driver<T>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    async fn run(mut self, closed_tx: watch::Sender<bool>) {
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
                let h = &self.rbuf[self.rstart..self.rstart + HEADER_LEN];
                let kind = h[0];
                let id = u32::from_be_bytes([h[1], h[2], h[3], h[4]]);
                let len = u32::from_be_bytes([h[5], h[6], h[7], h[8]]);
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const DEADLINE: Duration = Duration::from_secs(10);

    /// A host and an agent multiplexer joined by an in-memory pipe; the agent echoes every
    /// stream reversed once the host half-closes it.
    fn reversing_pair(pipe: usize) -> MuxHandle {
        let (a, b) = tokio::io::duplex(pipe);
        let host = client(a);
        let (agent, mut inbound) = server(b);
        tokio::spawn(async move {
            let _agent = agent;
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
        host
    }

    #[tokio::test]
    async fn streams_are_independent_and_half_close() {
        let host = reversing_pair(1 << 16);
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_concurrent_streams_carry_large_bodies_intact() {
        // A small pipe forces partial frames and writes that wait for the byte stream.
        let host = reversing_pair(4096);
        let mut tasks = Vec::new();
        for i in 0..300u32 {
            let host = host.clone();
            tasks.push(tokio::spawn(async move {
                let len = if i % 50 == 0 {
                    3 << 20
                } else {
                    1000 + i as usize
                };
                let body: Vec<u8> = (0..len).map(|n| (n as u32 ^ i) as u8).collect();
                let mut s = host.open().await.unwrap();
                let (mut r, mut w) = tokio::io::split(&mut s);
                let write = async {
                    w.write_all(&body).await.unwrap();
                    w.shutdown().await.unwrap();
                };
                let mut back = Vec::new();
                let read = r.read_to_end(&mut back);
                let (_, got) = tokio::join!(write, read);
                got.unwrap();
                back.reverse();
                assert!(back == body, "stream {i} came back altered");
            }));
        }
        for t in tasks {
            tokio::time::timeout(Duration::from_secs(60), t)
                .await
                .expect("stream finished")
                .unwrap();
        }
    }

    #[tokio::test]
    async fn a_writer_waits_for_credit_and_other_streams_keep_flowing() {
        let (a, b) = tokio::io::duplex(1 << 16);
        let host = client(a);
        let (_agent, mut inbound) = server(b);
        let mut slow = host.open().await.unwrap();
        slow.write_all(b"x").await.unwrap();
        let mut slow_far = inbound.recv().await.unwrap();

        // The peer reads nothing: exactly one window goes through, then the writer waits.
        let big = vec![7u8; WINDOW as usize + 4096];
        let mut sent = 1;
        let mut left = &big[..];
        while let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(300), slow.write(left)).await
        {
            sent += n;
            left = &left[n..];
        }
        assert_eq!(
            sent, WINDOW as usize,
            "bytes accepted before the credit ran out"
        );

        // Another stream is not held up by the stalled one.
        let mut other = host.open().await.unwrap();
        other.write_all(b"ping").await.unwrap();
        let mut other_far = inbound.recv().await.unwrap();
        let mut got = [0u8; 4];
        tokio::time::timeout(DEADLINE, other_far.read_exact(&mut got))
            .await
            .expect("other stream flows")
            .unwrap();
        assert_eq!(&got, b"ping");

        // Reading on the far side grants credit and the rest goes through.
        let reader = tokio::spawn(async move {
            let mut all = Vec::new();
            slow_far.read_to_end(&mut all).await.unwrap();
            all.len()
        });
        tokio::time::timeout(DEADLINE, slow.write_all(left))
            .await
            .expect("writer resumed")
            .unwrap();
        slow.shutdown().await.unwrap();
        assert_eq!(reader.await.unwrap(), big.len() + 1);
    }

    #[tokio::test]
    async fn dropping_a_stream_resets_it_and_the_link_survives() {
        let (a, b) = tokio::io::duplex(1 << 16);
        let host = client(a);
        let (_agent, mut inbound) = server(b);
        let mut s = host.open().await.unwrap();
        s.write_all(b"hello").await.unwrap();
        let mut far = inbound.recv().await.unwrap();
        let mut got = [0u8; 5];
        far.read_exact(&mut got).await.unwrap();
        drop(s);
        let err = tokio::time::timeout(DEADLINE, far.read(&mut got))
            .await
            .expect("reset arrives")
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
        assert_eq!(
            far.write(b"late").await.unwrap_err().kind(),
            io::ErrorKind::ConnectionReset
        );
        // Data already sent is read before the reset shows.
        let mut s = host.open().await.unwrap();
        let mut far = inbound.recv().await.unwrap();
        far.write_all(b"reply").await.unwrap();
        drop(far);
        let mut got = [0u8; 5];
        s.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"reply");
        assert!(s.read(&mut got).await.is_err());
    }

    #[tokio::test]
    async fn writes_after_shutdown_fail_and_reads_still_work() {
        let (a, b) = tokio::io::duplex(1 << 16);
        let host = client(a);
        let (_agent, mut inbound) = server(b);
        let mut s = host.open().await.unwrap();
        s.shutdown().await.unwrap();
        assert_eq!(
            s.write(b"x").await.unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
        let mut far = inbound.recv().await.unwrap();
        let mut nothing = Vec::new();
        far.read_to_end(&mut nothing).await.unwrap();
        assert!(nothing.is_empty());
        far.write_all(b"still open").await.unwrap();
        far.shutdown().await.unwrap();
        let mut got = String::new();
        s.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "still open");
    }

    #[tokio::test]
    async fn lazy_frames_leave_with_the_next_urgent_one() {
        let (a, b) = tokio::io::duplex(1 << 16);
        // Lazy frames would wait an hour on their own.
        let host = spawn(a, None, true, Duration::from_secs(3600));
        let (_agent, mut inbound) = server(b);
        let mut first = host.open().await.unwrap();
        first.write_all(b"1").await.unwrap();
        let mut first_far = inbound.recv().await.unwrap();
        let mut one = [0u8; 1];
        first_far.read_exact(&mut one).await.unwrap();
        // The host's FIN is lazy; the next stream's data is not, and takes it along.
        first.shutdown().await.unwrap();
        let mut second = host.open().await.unwrap();
        second.write_all(b"2").await.unwrap();
        let mut second_far = tokio::time::timeout(DEADLINE, inbound.recv())
            .await
            .expect("urgent frames are not held back")
            .unwrap();
        second_far.read_exact(&mut one).await.unwrap();
        assert_eq!(&one, b"2");
        let mut rest = Vec::new();
        tokio::time::timeout(DEADLINE, first_far.read_to_end(&mut rest))
            .await
            .expect("the lazy FIN went along")
            .unwrap();
        assert!(rest.is_empty());
    }

    #[tokio::test]
    async fn closed_resolves_when_the_peer_goes_away() {
        let (a, b) = tokio::io::duplex(1 << 16);
        let host = client(a);
        let (agent, inbound) = server(b);
        drop(inbound);
        drop(agent);
        tokio::time::timeout(DEADLINE, host.closed())
            .await
            .expect("host noticed the close");
        assert!(host.is_closed());
        assert!(matches!(host.open().await, Err(LinkError::Closed)));
    }

    #[tokio::test]
    async fn open_streams_fail_when_the_byte_stream_vanishes() {
        let (a, b) = tokio::io::duplex(1 << 16);
        let host = client(a);
        let (agent, mut inbound) = server(b);
        let mut s = host.open().await.unwrap();
        s.write_all(b"x").await.unwrap();
        let far = inbound.recv().await.unwrap();
        // The agent's side goes away with the stream still open.
        drop(agent);
        let mut buf = [0u8; 8];
        let err = tokio::time::timeout(DEADLINE, s.read(&mut buf))
            .await
            .expect("read ended")
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionAborted);
        assert!(s.write_all(b"more").await.is_err());
        drop(far);
        host.closed().await;
    }

    #[tokio::test]
    async fn queued_data_is_sent_before_the_last_handle_closes_the_link() {
        let (a, b) = tokio::io::duplex(64);
        let host = client(a);
        let (_agent, mut inbound) = server(b);
        let mut s = host.open().await.unwrap();
        s.write_all(&[9u8; 10_000]).await.unwrap();
        s.shutdown().await.unwrap();
        drop(host);
        let mut far = inbound.recv().await.unwrap();
        let mut got = Vec::new();
        tokio::time::timeout(DEADLINE, far.read_to_end(&mut got))
            .await
            .expect("read ended")
            .unwrap();
        assert_eq!(got.len(), 10_000);
    }

    #[tokio::test]
    async fn a_peer_that_breaks_the_protocol_closes_the_link() {
        for garbage in [
            // Unknown frame kind.
            vec![99, 0, 0, 0, 1, 0, 0, 0, 0],
            // Data beyond the window on an open stream.
            [
                &[KIND_OPEN, 0, 0, 0, 1, 0, 0, 0, 0][..],
                &[KIND_DATA, 0, 0, 0, 1][..],
                &(WINDOW + 1).to_be_bytes()[..],
            ]
            .concat(),
            // The same stream opened twice.
            [KIND_OPEN, 0, 0, 0, 1, 0, 0, 0, 0].repeat(2),
        ] {
            let (mut a, b) = tokio::io::duplex(1 << 16);
            let (agent, _inbound) = server(b);
            a.write_all(&garbage).await.unwrap();
            tokio::time::timeout(DEADLINE, agent.closed())
                .await
                .expect("agent closed the link");
        }
    }

    #[tokio::test]
    async fn the_agent_cannot_open_streams_on_the_host() {
        let (a, mut b) = tokio::io::duplex(1 << 16);
        let host = client(a);
        b.write_all(&[KIND_OPEN, 0, 0, 0, 1, 0, 0, 0, 0])
            .await
            .unwrap();
        tokio::time::timeout(DEADLINE, host.closed())
            .await
            .expect("host closed the link");
    }
}
