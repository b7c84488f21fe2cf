//! The host<->guest link.
//!
//! One reliable byte stream (a virtio-serial port or a vsock on QEMU, a vsock on vfkit, the
//! stdio of `wsl.exe` or `ssh`) joins the host and the guest agent. The host speaks first:
//!
//! 1. **Handshake** ([`handshake`]): both sides exchange a fixed 16-byte hello (magic, protocol
//!    version, capabilities) and agree on the lower version.
//! 2. **Multiplexing** ([`mux`]): a small purpose-built multiplexer (length-prefixed frames,
//!    per-stream credit) runs over the rest of the byte stream; the host opens every stream,
//!    the agent accepts them.
//! 3. **Per-stream header** ([`protocol`]): each stream begins with one length-prefixed JSON
//!    [`protocol::Request`]: `open` a target (the engine socket, a guest TCP port), `ping`, or
//!    `shutdown`. After an `open` header the stream is a raw, byte-transparent pipe; the host
//!    does not wait for a reply, so opening costs no extra round trip.
//!
//! [`host::LinkClient`] is the host's handle; [`relay::serve_unix`] turns it into the host engine
//! socket; [`guest::serve`] is the agent's side.

pub mod activity;
pub mod create_rewrite;
pub mod error;
pub mod guest;
pub mod handshake;
pub mod host;
pub mod listener;
pub mod mux;
pub mod named_pipe;
pub mod port_forwarder;
pub mod protocol;
#[cfg(unix)]
pub mod relay;
pub mod splice;
pub mod vsock;

pub use error::LinkError;
pub use host::LinkClient;
pub use mux::LinkStream;
pub use protocol::{AgentInfo, BootMark, Target};
