//! The versioned hello both sides exchange before the multiplexer starts.
//!
//! Wire format, 16 bytes, big endian: `b"BERTHLNK"`, `u16` protocol version, `u16` nonce,
//! `u32` capability bits. The host writes first with a fresh nonce; the agent answers with its
//! own hello carrying the same nonce, even when the versions do not fit, so the host can say
//! which agent it met.
//!
//! Both sides skip bytes until they find the magic, and the host also skips hellos with another
//! nonce: a virtio port can still hold the tail of an earlier session, in either direction.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::LinkError;

/// The first bytes on every link.
pub const MAGIC: [u8; 8] = *b"BERTHLNK";
/// The protocol version this build speaks (the highest it supports).
///
/// History: 1 = yamux; engine, TCP ports, ping, shutdown; 2 = Berth's own multiplexer
/// ([`crate::mux`]: 9-byte frame headers, per-stream credit) instead of yamux, and UDP ports
/// (`Target::Udp`, with length-prefixed datagrams on the stream).
pub const PROTOCOL_VERSION: u16 = 2;
/// The lowest protocol version this build still supports. The host and the agent ship
/// together (the agent goes into the guest at each boot), so an older peer is a stale build:
/// it is refused with [`LinkError::VersionMismatch`] instead of failing later on a UDP port.
pub const MIN_PROTOCOL_VERSION: u16 = 2;
/// Length of an encoded hello.
pub const HELLO_LEN: usize = 16;

/// Capability bits: what a side can do. The session uses the intersection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities(pub u32);

impl Capabilities {
    /// Streams to the guest engine socket.
    pub const ENGINE: Self = Self(1);
    /// Streams to guest TCP ports (the published-port forwarder).
    pub const TCP: Self = Self(1 << 1);
    /// The agent can stop the engine and power the guest off.
    pub const SHUTDOWN: Self = Self(1 << 2);
    /// Flows to guest UDP ports (protocol 2).
    pub const UDP: Self = Self(1 << 3);
    /// Everything this build implements.
    pub const ALL: Self = Self(Self::ENGINE.0 | Self::TCP.0 | Self::SHUTDOWN.0 | Self::UDP.0);

    /// Whether every bit of `other` is set here.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The bits both sides have.
    pub fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }
}

/// One side's hello.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello {
    pub version: u16,
    /// Chosen by the host per connection; the agent echoes it.
    pub nonce: u16,
    pub capabilities: Capabilities,
}

impl Hello {
    /// This build's hello.
    pub fn ours() -> Self {
        Self {
            version: PROTOCOL_VERSION,
            nonce: 0,
            capabilities: Capabilities::ALL,
        }
    }

    /// This build's hello with `nonce`.
    pub fn with_nonce(nonce: u16) -> Self {
        Self {
            nonce,
            ..Self::ours()
        }
    }

    pub fn encode(&self) -> [u8; HELLO_LEN] {
        let mut out = [0u8; HELLO_LEN];
        out[..8].copy_from_slice(&MAGIC);
        out[8..10].copy_from_slice(&self.version.to_be_bytes());
        out[10..12].copy_from_slice(&self.nonce.to_be_bytes());
        out[12..16].copy_from_slice(&self.capabilities.0.to_be_bytes());
        out
    }

    pub fn decode(bytes: &[u8; HELLO_LEN]) -> Result<Self, LinkError> {
        let mut magic = [0u8; 8];
        magic.copy_from_slice(&bytes[..8]);
        if magic != MAGIC {
            return Err(LinkError::BadMagic { found: magic });
        }
        let version = u16::from_be_bytes([bytes[8], bytes[9]]);
        let nonce = u16::from_be_bytes([bytes[10], bytes[11]]);
        let caps = u32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
        Ok(Self {
            version,
            nonce,
            capabilities: Capabilities(caps),
        })
    }
}

/// What two hellos agreed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub version: u16,
    pub capabilities: Capabilities,
    pub peer: Hello,
}

/// Agree on a session, or say why not.
pub fn negotiate(ours: Hello, theirs: Hello) -> Result<Session, LinkError> {
    let version = ours.version.min(theirs.version);
    if version < MIN_PROTOCOL_VERSION {
        return Err(LinkError::VersionMismatch {
            ours: ours.version,
            theirs: theirs.version,
            min: MIN_PROTOCOL_VERSION,
        });
    }
    Ok(Session {
        version,
        capabilities: ours.capabilities.intersection(theirs.capabilities),
        peer: theirs,
    })
}

/// Host side: write our hello, then read until the agent's answer to it (same nonce).
pub async fn client<T>(io: &mut T, ours: Hello) -> Result<Session, LinkError>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    io.write_all(&ours.encode()).await?;
    io.flush().await?;
    loop {
        let theirs = read_hello_resync(io).await?;
        if theirs.nonce == ours.nonce {
            return negotiate(ours, theirs);
        }
        tracing::debug!(nonce = theirs.nonce, "skipping a stale hello");
    }
}

/// A nonce for the next connection: successive calls differ; the start is seeded from the
/// clock so a restarted host is unlikely to repeat its predecessor's.
pub fn next_nonce() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    use std::sync::OnceLock;
    static SEED: OnceLock<u16> = OnceLock::new();
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let seed = *SEED.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| (d.subsec_nanos() >> 10) as u16)
            .unwrap_or(0)
    });
    seed.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Agent side: find the host's hello, answer with ours.
///
/// Bytes before the magic are skipped: after the host reconnects, a virtio port can still
/// hold the tail of the previous session.
pub async fn server<T>(io: &mut T, ours: Hello) -> Result<Session, LinkError>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let theirs = read_hello_resync(io).await?;
    let reply = Hello {
        nonce: theirs.nonce,
        ..ours
    };
    io.write_all(&reply.encode()).await?;
    io.flush().await?;
    negotiate(reply, theirs)
}

async fn read_hello_resync<R: AsyncRead + Unpin>(io: &mut R) -> Result<Hello, LinkError> {
    let mut buf = [0u8; HELLO_LEN];
    let mut matched = 0;
    while matched < MAGIC.len() {
        let mut byte = [0u8; 1];
        read_exact_or_closed(io, &mut byte).await?;
        if byte[0] == MAGIC[matched] {
            matched += 1;
        } else {
            matched = usize::from(byte[0] == MAGIC[0]);
        }
    }
    buf[..8].copy_from_slice(&MAGIC);
    read_exact_or_closed(io, &mut buf[8..]).await?;
    Hello::decode(&buf)
}

async fn read_exact_or_closed<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut [u8],
) -> Result<(), LinkError> {
    match io.read_exact(buf).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(LinkError::Closed),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_round_trips() {
        let hello = Hello {
            version: 7,
            nonce: 0xbeef,
            capabilities: Capabilities(0b101),
        };
        let bytes = hello.encode();
        assert_eq!(&bytes[..8], b"BERTHLNK");
        assert_eq!(Hello::decode(&bytes).unwrap(), hello);
    }

    #[test]
    fn bad_magic_is_rejected() {
        let mut bytes = Hello::ours().encode();
        bytes[0] = b'X';
        assert!(matches!(
            Hello::decode(&bytes),
            Err(LinkError::BadMagic { .. })
        ));
    }

    #[test]
    fn negotiation_takes_lower_version_and_common_capabilities() {
        let ours = Hello::ours();
        let theirs = Hello {
            version: PROTOCOL_VERSION + 3,
            nonce: 0,
            capabilities: Capabilities::ENGINE,
        };
        let s = negotiate(ours, theirs).unwrap();
        assert_eq!(s.version, PROTOCOL_VERSION);
        assert_eq!(s.capabilities, Capabilities::ENGINE);
        assert!(!s.capabilities.contains(Capabilities::TCP));
    }

    #[tokio::test]
    async fn an_agent_of_protocol_1_is_refused_with_both_versions_named() {
        let (mut a, mut b) = tokio::io::duplex(64);
        let old = Hello {
            version: 1,
            nonce: 0,
            capabilities: Capabilities(0b111),
        };
        tokio::spawn(async move { server(&mut b, old).await });
        let err = client(&mut a, Hello::with_nonce(5)).await.unwrap_err();
        assert!(
            matches!(
                err,
                LinkError::VersionMismatch {
                    theirs: 1,
                    min: 2,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("peer speaks link protocol 1, this side supports 2 to {PROTOCOL_VERSION}")
        );
    }

    #[test]
    fn too_old_peer_is_rejected() {
        let theirs = Hello {
            version: 0,
            nonce: 0,
            capabilities: Capabilities::ALL,
        };
        assert!(matches!(
            negotiate(Hello::ours(), theirs),
            Err(LinkError::VersionMismatch { theirs: 0, .. })
        ));
    }

    #[tokio::test]
    async fn both_sides_agree_over_a_socket_pair() {
        let (mut a, mut b) = tokio::io::duplex(64);
        let server = tokio::spawn(async move { server(&mut b, Hello::ours()).await });
        let host = client(&mut a, Hello::ours()).await.unwrap();
        let agent = server.await.unwrap().unwrap();
        assert_eq!(host.version, PROTOCOL_VERSION);
        assert_eq!(agent.capabilities, Capabilities::ALL);
    }

    #[tokio::test]
    async fn server_skips_stale_bytes_before_the_magic() {
        let (mut a, mut b) = tokio::io::duplex(256);
        let mut stale = b"\x00\x01BERTHgarbageBERTHLN".to_vec();
        stale.extend_from_slice(&Hello::ours().encode());
        a.write_all(&stale).await.unwrap();
        let session = server(&mut b, Hello::ours()).await.unwrap();
        assert_eq!(session.peer, Hello::ours());
    }

    #[tokio::test]
    async fn agent_echoes_the_nonce_and_host_skips_stale_replies() {
        let (mut a, mut b) = tokio::io::duplex(256);
        // Left over from an earlier session: mux bytes and a reply to another hello.
        b.write_all(&[0, 0, 0, 2, 0, 0, 0, 1]).await.unwrap();
        b.write_all(&Hello::with_nonce(1).encode()).await.unwrap();
        let agent = tokio::spawn(async move { server(&mut b, Hello::ours()).await });
        let host = client(&mut a, Hello::with_nonce(77)).await.unwrap();
        assert_eq!(host.peer.nonce, 77);
        assert_eq!(agent.await.unwrap().unwrap().peer.nonce, 77);
    }

    #[test]
    fn nonces_differ_between_connections() {
        assert_ne!(next_nonce(), next_nonce());
    }

    #[tokio::test]
    async fn client_reports_closed_peer() {
        let (mut a, b) = tokio::io::duplex(64);
        drop(b);
        assert!(matches!(
            client(&mut a, Hello::ours()).await,
            Err(LinkError::Io(_) | LinkError::Closed)
        ));
    }

    #[tokio::test]
    async fn client_never_takes_a_non_agent_for_an_agent() {
        let (mut a, mut b) = tokio::io::duplex(64);
        b.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            .await
            .unwrap();
        drop(b);
        assert!(matches!(
            client(&mut a, Hello::ours()).await,
            Err(LinkError::Closed | LinkError::Io(_))
        ));
    }
}
