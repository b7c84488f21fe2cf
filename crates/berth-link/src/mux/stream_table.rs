//! What the driver and the streams share: the table of streams and the outgoing frames.

use std::collections::HashMap;
use std::task::Waker;

use tokio_util::bytes::BytesMut;

use super::frame;
use super::WINDOW;

/// What the driver and the streams share.
pub(super) struct Shared {
    pub(super) streams: HashMap<u32, StreamState>,
    /// Frames queued for the driver to write.
    pub(super) out: Vec<u8>,
    pub(super) driver: Option<Waker>,
    /// Streams waiting for `out` to drain below [`OUT_CAP`].
    pub(super) blocked_writers: Vec<Waker>,
    pub(super) next_id: u32,
    /// Every handle is gone: send what is queued, then close.
    pub(super) closing: bool,
    /// The connection has ended.
    pub(super) dead: bool,
    /// `out` holds a frame that must leave now (not only lazy ones).
    pub(super) urgent: bool,
    /// Every FIN from this side is lazy (the host: its FINs come from closed connections).
    pub(super) lazy_fin: bool,
}

impl Shared {
    pub(super) fn new(lazy_fin: bool) -> Self {
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

    pub(super) fn push_frame(&mut self, kind: u8, id: u32, len: u32, payload: &[u8]) {
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

    /// Queue a frame the driver may hold back for up to [`LAZY_FLUSH`](super::LAZY_FLUSH). The driver's wake-up
    /// is cheap (a task on this side); its write to the link is what costs.
    pub(super) fn push_lazy(&mut self, kind: u8, id: u32, len: u32, payload: &[u8]) {
        let wake = self.out.is_empty();
        self.append(kind, id, len, payload);
        if wake {
            self.wake_driver();
        }
    }

    fn append(&mut self, kind: u8, id: u32, len: u32, payload: &[u8]) {
        frame::encode(&mut self.out, kind, id, len, payload);
    }

    pub(super) fn wake_driver(&self) {
        if let Some(w) = &self.driver {
            w.wake_by_ref();
        }
    }

    /// The connection ended: wake everyone so they see it.
    pub(super) fn kill(&mut self) {
        self.dead = true;
        for st in self.streams.values_mut() {
            st.wake_all();
        }
        for w in self.blocked_writers.drain(..) {
            w.wake();
        }
    }
}

pub(super) struct StreamState {
    pub(super) recv: BytesMut,
    /// The peer sent FIN.
    pub(super) recv_fin: bool,
    /// The peer reset the stream.
    pub(super) reset: bool,
    pub(super) read_waker: Option<Waker>,
    /// How many more payload bytes this side may send.
    pub(super) send_credit: u32,
    pub(super) write_waker: Option<Waker>,
    /// This side sent FIN.
    pub(super) sent_fin: bool,
    /// How many more payload bytes the peer may send.
    pub(super) recv_allowance: u32,
    /// Consumed by the reader, not yet granted back.
    pub(super) ungranted: u32,
}

impl StreamState {
    pub(super) fn new() -> Self {
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

    pub(super) fn wake_all(&mut self) {
        if let Some(w) = self.read_waker.take() {
            w.wake();
        }
        if let Some(w) = self.write_waker.take() {
            w.wake();
        }
    }

    pub(super) fn append(&mut self, bytes: &[u8]) {
        self.recv.extend_from_slice(bytes);
        self.wake_reader();
    }

    pub(super) fn wake_reader(&mut self) {
        if let Some(w) = self.read_waker.take() {
            w.wake();
        }
    }
}
