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
//!
//! [`frame`] is the wire format, [`stream_table`] the state the driver and the streams share,
//! [`link_stream`] one stream as a tokio byte stream, and [`driver`] the task that moves bytes.

mod driver;
mod frame;
mod link_stream;
mod stream_table;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};

use crate::LinkError;
use driver::Driver;
use frame::KIND_OPEN;
use stream_table::{Shared, StreamState};

pub use link_stream::LinkStream;

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
