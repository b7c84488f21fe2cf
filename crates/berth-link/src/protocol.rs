//! The control protocol: length-prefixed JSON frames.
//!
//! Every stream the host opens starts with one [`Request`] frame (`u32` big-endian length, then
//! JSON). `ping` and `shutdown` get one [`Reply`] frame back; after `open` the stream carries the
//! target's raw bytes in both directions and nothing else, except for [`Target::Udp`]: there
//! each datagram travels as one [`write_datagram`] frame (`u16` big-endian length, then the
//! payload), because a byte stream does not keep datagram boundaries.

pub use berth_core::boot::{parse_boot_marks, BootMark};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::LinkError;

/// Largest control frame accepted (a frame is a small JSON object).
pub const MAX_FRAME_LEN: usize = 64 * 1024;

/// What a data stream connects to in the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// The guest engine socket (`/var/run/docker.sock`).
    Engine,
    /// A TCP port on the guest's loopback (published ports).
    Tcp { port: u16 },
    /// A UDP port on the guest's loopback (published ports): one stream per client flow,
    /// carrying length-prefixed datagrams (protocol version 2).
    Udp { port: u16 },
}

/// The header of a stream, host -> agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Splice this stream to `target`. No reply: bytes may follow the header at once.
    Open { target: Target },
    /// Ask for [`AgentInfo`].
    Ping,
    /// Stop the engine, sync, unmount and power off.
    Shutdown,
    /// Set the guest's wall clock to the host's (after a resume it is behind by the pause).
    SetClock { secs: u64, nanos: u32 },
    /// Drop what the guest can rebuild (its page cache), so the balloon reports the freed
    /// pages to the host before the VM pauses.
    ReleaseMemory,
}

impl Request {
    pub fn name(&self) -> &'static str {
        match self {
            Request::Open { .. } => "open",
            Request::Ping => "ping",
            Request::Shutdown => "shutdown",
            Request::SetClock { .. } => "set_clock",
            Request::ReleaseMemory => "release_memory",
        }
    }
}

/// The agent's answer to `ping` and `shutdown`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Info(AgentInfo),
    ShuttingDown,
    /// `set_clock` and `release_memory` did what they say.
    Done,
    Error {
        message: String,
    },
}

impl Reply {
    pub fn name(&self) -> &'static str {
        match self {
            Reply::Info(_) => "info",
            Reply::ShuttingDown => "shutting_down",
            Reply::Done => "done",
            Reply::Error { .. } => "error",
        }
    }
}

/// What the agent says about itself and the guest engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AgentInfo {
    /// The agent's crate version.
    pub version: String,
    /// The link protocol version the session runs.
    pub protocol: u16,
    /// Whether the guest engine answered `GET /_ping` with 200 just now.
    pub docker_ready: bool,
    /// Seconds since the agent started.
    pub uptime_secs: u64,
    /// How far the guest's boot has got: each step the guest init recorded, in order.
    pub boot_marks: Vec<BootMark>,
}

/// Largest datagram payload a frame can carry (the `u16` length prefix).
pub const MAX_DATAGRAM: usize = u16::MAX as usize;

/// Write one datagram frame: `u16` big-endian length, then `payload`. One write per frame,
/// so a frame is never interleaved with another writer's.
pub async fn write_datagram<W>(w: &mut W, payload: &[u8]) -> Result<(), LinkError>
where
    W: AsyncWrite + Unpin,
{
    let len = u16::try_from(payload.len()).map_err(|_| LinkError::FrameTooLarge {
        len: payload.len(),
        max: MAX_DATAGRAM,
    })?;
    let mut frame = Vec::with_capacity(2 + payload.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    w.write_all(&frame).await?;
    w.flush().await?;
    Ok(())
}

/// Read one datagram frame into `buf` (resized to the payload). `Ok(false)` is a clean end of
/// the stream between frames; an end inside a frame is [`LinkError::Closed`].
///
/// Not cancel-safe: a frame read halfway is lost if the future is dropped. Run it in a loop
/// that owns the reader rather than in a `select!` arm.
pub async fn read_datagram<R>(r: &mut R, buf: &mut Vec<u8>) -> Result<bool, LinkError>
where
    R: AsyncRead + Unpin,
{
    let mut len = [0u8; 2];
    let first = r.read(&mut len[..1]).await?;
    if first == 0 {
        return Ok(false);
    }
    read_exact_or_closed(r, &mut len[1..]).await?;
    buf.resize(usize::from(u16::from_be_bytes(len)), 0);
    read_exact_or_closed(r, buf).await?;
    Ok(true)
}

async fn read_exact_or_closed<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut [u8],
) -> Result<(), LinkError> {
    match r.read_exact(buf).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(LinkError::Closed),
        Err(e) => Err(e.into()),
    }
}

/// Write one frame holding `msg`.
pub async fn write_frame<W, T>(w: &mut W, msg: &T) -> Result<(), LinkError>
where
    W: AsyncWrite + Unpin,
    T: Serialize,
{
    let body = serde_json::to_vec(msg).map_err(|source| LinkError::Malformed { source })?;
    if body.len() > MAX_FRAME_LEN {
        return Err(LinkError::FrameTooLarge {
            len: body.len(),
            max: MAX_FRAME_LEN,
        });
    }
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&body);
    w.write_all(&frame).await?;
    w.flush().await?;
    Ok(())
}

/// Read exactly one frame (never more bytes than the frame holds) and decode it.
pub async fn read_frame<R, T>(r: &mut R) -> Result<T, LinkError>
where
    R: AsyncRead + Unpin,
    T: DeserializeOwned,
{
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(LinkError::Closed),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME_LEN {
        return Err(LinkError::FrameTooLarge {
            len,
            max: MAX_FRAME_LEN,
        });
    }
    let mut body = vec![0u8; len];
    match r.read_exact(&mut body).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(LinkError::Closed),
        Err(e) => return Err(e.into()),
    }
    serde_json::from_slice(&body).map_err(|source| LinkError::Malformed { source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_have_a_stable_json_shape() {
        let open = Request::Open {
            target: Target::Tcp { port: 8080 },
        };
        assert_eq!(
            serde_json::to_string(&open).unwrap(),
            r#"{"op":"open","target":{"kind":"tcp","port":8080}}"#
        );
        assert_eq!(
            serde_json::to_string(&Request::Ping).unwrap(),
            r#"{"op":"ping"}"#
        );
        let engine: Request =
            serde_json::from_str(r#"{"op":"open","target":{"kind":"engine"}}"#).unwrap();
        assert_eq!(
            engine,
            Request::Open {
                target: Target::Engine
            }
        );
    }

    #[test]
    fn agent_info_tolerates_missing_and_extra_fields() {
        let reply: Reply =
            serde_json::from_str(r#"{"reply":"info","version":"9.9","future_field":1}"#).unwrap();
        let Reply::Info(info) = reply else {
            panic!("not info: {reply:?}")
        };
        assert_eq!(info.version, "9.9");
        assert!(!info.docker_ready);
    }

    #[tokio::test]
    async fn frames_round_trip_and_leave_following_bytes_alone() {
        let mut buf = Vec::new();
        write_frame(&mut buf, &Request::Shutdown).await.unwrap();
        buf.extend_from_slice(b"raw payload");
        let mut r = &buf[..];
        let req: Request = read_frame(&mut r).await.unwrap();
        assert_eq!(req, Request::Shutdown);
        assert_eq!(r, b"raw payload");
    }

    #[tokio::test]
    async fn oversized_frame_is_rejected_before_allocating() {
        let buf = (u32::MAX).to_be_bytes();
        let mut r = &buf[..];
        let got = read_frame::<_, Request>(&mut r).await;
        assert!(matches!(got, Err(LinkError::FrameTooLarge { .. })));
    }

    #[tokio::test]
    async fn malformed_json_is_an_error() {
        let mut buf = 5u32.to_be_bytes().to_vec();
        buf.extend_from_slice(b"{nope");
        let mut r = &buf[..];
        let got = read_frame::<_, Request>(&mut r).await;
        assert!(matches!(got, Err(LinkError::Malformed { .. })));
    }

    #[tokio::test]
    async fn unknown_op_is_malformed() {
        let mut buf = Vec::new();
        write_frame(&mut buf, &serde_json::json!({"op": "teleport"}))
            .await
            .unwrap();
        let mut r = &buf[..];
        let got = read_frame::<_, Request>(&mut r).await;
        assert!(matches!(got, Err(LinkError::Malformed { .. })));
    }

    #[test]
    fn udp_target_has_a_stable_json_shape() {
        let open = Request::Open {
            target: Target::Udp { port: 5353 },
        };
        assert_eq!(
            serde_json::to_string(&open).unwrap(),
            r#"{"op":"open","target":{"kind":"udp","port":5353}}"#
        );
    }

    #[tokio::test]
    async fn datagrams_keep_their_boundaries() {
        let mut buf = Vec::new();
        for payload in [&b"one"[..], b"", b"three!", &[0xff; 1500]] {
            write_datagram(&mut buf, payload).await.unwrap();
        }
        assert_eq!(&buf[..5], &[0, 3, b'o', b'n', b'e']);
        let mut r = &buf[..];
        let mut got = Vec::new();
        let mut out = Vec::new();
        while read_datagram(&mut r, &mut got).await.unwrap() {
            out.push(got.clone());
        }
        assert_eq!(out.len(), 4);
        assert_eq!(out[0], b"one");
        assert!(out[1].is_empty(), "an empty datagram is a datagram");
        assert_eq!(out[2], b"three!");
        assert_eq!(out[3], vec![0xff; 1500]);
    }

    #[tokio::test]
    async fn the_largest_datagram_fits_and_a_larger_one_is_refused() {
        let mut buf = Vec::new();
        write_datagram(&mut buf, &vec![7u8; MAX_DATAGRAM])
            .await
            .unwrap();
        assert_eq!(buf.len(), 2 + MAX_DATAGRAM);
        let mut got = Vec::new();
        assert!(read_datagram(&mut &buf[..], &mut got).await.unwrap());
        assert_eq!(got.len(), MAX_DATAGRAM);
        let too_big = write_datagram(&mut Vec::new(), &vec![0u8; MAX_DATAGRAM + 1]).await;
        assert!(matches!(too_big, Err(LinkError::FrameTooLarge { .. })));
    }

    #[tokio::test]
    async fn a_datagram_cut_short_reads_as_closed() {
        for cut in [&[0u8][..], &[0, 5, b'a', b'b']] {
            let mut got = Vec::new();
            let read = read_datagram(&mut &cut[..], &mut got).await;
            assert!(matches!(read, Err(LinkError::Closed)), "{cut:?}: {read:?}");
        }
    }

    #[tokio::test]
    async fn truncated_frame_reads_as_closed() {
        let mut buf = 10u32.to_be_bytes().to_vec();
        buf.extend_from_slice(b"{\"op\"");
        let mut r = &buf[..];
        let got = read_frame::<_, Request>(&mut r).await;
        assert!(matches!(got, Err(LinkError::Closed)));
    }
}
