//! The one error type of the link.

/// Everything that can go wrong on the link.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The byte stream under the link failed.
    #[error("link i/o failed")]
    Io(#[from] std::io::Error),
    /// The peer did not start with the link magic: it is not a Berth agent (or host).
    #[error("peer is not a Berth link endpoint (bad magic {found:02x?})")]
    BadMagic { found: [u8; 8] },
    /// The peer's protocol version is outside what this side supports.
    #[error("peer speaks link protocol {theirs}, this side supports {min} to {ours}")]
    VersionMismatch { ours: u16, theirs: u16, min: u16 },
    /// A control frame announced a length above the limit.
    #[error("control frame of {len} bytes exceeds the {max} byte limit")]
    FrameTooLarge { len: usize, max: usize },
    /// A control frame did not hold the JSON message expected.
    #[error("malformed control message")]
    Malformed {
        #[source]
        source: serde_json::Error,
    },
    /// The peer answered a request with an error.
    #[error("agent refused the request: {message}")]
    Refused { message: String },
    /// The peer answered with a reply that does not fit the request.
    #[error("unexpected reply {reply} to {request}")]
    UnexpectedReply {
        request: &'static str,
        reply: String,
    },
    /// The peer broke the multiplexing protocol.
    #[error("link multiplexer failed: {reason}")]
    Mux { reason: String },
    /// A hybrid-vsock device answered `CONNECT` with something other than `OK <port>`.
    #[error("the vsock device refused port {port}: {answer:?}")]
    VsockRefused { port: u32, answer: String },
    /// The link has closed (the peer went away or the link was shut down).
    #[error("the link is closed")]
    Closed,
}
