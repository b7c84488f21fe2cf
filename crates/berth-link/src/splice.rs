//! Copy bytes both ways between two streams until both directions have ended.

use tokio::io::{AsyncRead, AsyncWrite};

/// Buffer per direction. Big enough that a large body moves in few wake-ups.
pub const BUF_SIZE: usize = 256 * 1024;

/// Splice `a` and `b`: each EOF is forwarded as a half-close (`shutdown` of the other side's
/// write half) and the other direction keeps flowing, which hijacked connections (attach,
/// exec) rely on. Returns the bytes moved `(a -> b, b -> a)`.
pub async fn splice<A, B>(a: &mut A, b: &mut B) -> std::io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    tokio::io::copy_bidirectional_with_sizes(a, b, BUF_SIZE, BUF_SIZE).await
}
