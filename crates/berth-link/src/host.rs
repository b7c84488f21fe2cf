//! The host's handle on the link.

use std::future::Future;
#[cfg(unix)]
use std::path::Path;
use std::sync::OnceLock;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::runtime::Handle;
#[cfg(unix)]
use tokio::time::Instant;

use crate::handshake::{self, Hello, Session};
use crate::mux::{self, LinkStream, MuxHandle};
use crate::protocol::{read_frame, write_frame, AgentInfo, Reply, Request, Target};
use crate::LinkError;

/// Pause between connection attempts that failed at once.
#[cfg(unix)]
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

/// The host side of an established link. Clones share the link; when the last clone is
/// dropped the link closes.
#[derive(Debug, Clone)]
pub struct LinkClient {
    mux: MuxHandle,
    session: Session,
}

impl LinkClient {
    /// Say hello on `io` (the host end of the link's byte stream), check the agent's answer,
    /// and start multiplexing.
    ///
    /// There is no timeout here: on QEMU the hello waits in the chardev until the guest
    /// opens its port, so callers bound the wait to the boot deadline they own.
    pub async fn handshake<T>(mut io: T) -> Result<Self, LinkError>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let session =
            handshake::client(&mut io, Hello::with_nonce(handshake::next_nonce())).await?;
        tracing::debug!(
            version = session.version,
            caps = session.capabilities.0,
            "link up"
        );
        Ok(Self {
            mux: mux::client(io),
            session,
        })
    }

    /// Connect to a unix socket that leads to the agent (QEMU's chardev socket) and handshake,
    /// retrying until `deadline`: the socket may not exist yet, the agent may not run yet, and a
    /// virtio port can lose a hello that arrives while the guest is between sessions (and can
    /// hold a reply for a host that already left). Each attempt gets `attempt_timeout`; a fresh
    /// connection resets the port on both sides, so a stuck attempt heals on the next one.
    #[cfg(unix)]
    pub async fn connect_unix(
        path: &Path,
        deadline: Instant,
        attempt_timeout: std::time::Duration,
    ) -> Result<Self, LinkError> {
        let mut last_error = LinkError::Closed;
        while Instant::now() < deadline {
            let attempt_end = (Instant::now() + attempt_timeout).min(deadline);
            let attempt = async {
                let io = tokio::net::UnixStream::connect(path).await?;
                Self::handshake(io).await
            };
            match tokio::time::timeout_at(attempt_end, attempt).await {
                Ok(Ok(client)) => return Ok(client),
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "link handshake failed; retrying");
                    last_error = e;
                    // A missing socket or a refused connection fails at once: do not spin.
                    tokio::time::sleep_until(attempt_end.min(Instant::now() + RETRY_PAUSE)).await;
                }
                Err(_) => tracing::debug!("link handshake timed out; reconnecting"),
            }
        }
        Err(last_error)
    }

    /// What the handshake agreed on (version, capabilities, the agent's own hello).
    pub fn session(&self) -> Session {
        self.session
    }

    /// Open a byte-transparent stream to `target` in the guest. Returns without a round trip;
    /// if the agent cannot reach the target, the stream simply ends.
    pub async fn open(&self, target: Target) -> Result<LinkStream, LinkError> {
        let mut stream = self.mux.open().await?;
        write_frame(&mut stream, &Request::Open { target }).await?;
        Ok(stream)
    }

    /// Ask the agent about itself and the guest engine.
    pub async fn ping(&self) -> Result<AgentInfo, LinkError> {
        match self.call(Request::Ping).await? {
            Reply::Info(info) => Ok(info),
            other => Err(unexpected("ping", other)),
        }
    }

    /// Ask the agent to stop the engine, sync, unmount and power off. Returns once the agent
    /// has accepted; then wait for [`LinkClient::closed`] and for the hypervisor to exit.
    pub async fn shutdown(&self) -> Result<(), LinkError> {
        match self.call(Request::Shutdown).await? {
            Reply::ShuttingDown => Ok(()),
            other => Err(unexpected("shutdown", other)),
        }
    }

    /// Set the guest's wall clock to `now` (the host's, read just before the call).
    pub async fn set_clock(&self, now: std::time::SystemTime) -> Result<(), LinkError> {
        let since = now
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let request = Request::SetClock {
            secs: since.as_secs(),
            nanos: since.subsec_nanos(),
        };
        match self.call(request).await? {
            Reply::Done => Ok(()),
            other => Err(unexpected("set_clock", other)),
        }
    }

    /// Ask the guest to drop its page cache, so the balloon gives those pages to the host.
    pub async fn release_memory(&self) -> Result<(), LinkError> {
        match self.call(Request::ReleaseMemory).await? {
            Reply::Done => Ok(()),
            other => Err(unexpected("release_memory", other)),
        }
    }

    /// Resolves once the link has ended (the agent went away, or the byte stream broke).
    pub async fn closed(&self) {
        self.mux.closed().await
    }

    pub fn is_closed(&self) -> bool {
        self.mux.is_closed()
    }

    async fn call(&self, request: Request) -> Result<Reply, LinkError> {
        let mut stream = self.mux.open().await?;
        write_frame(&mut stream, &request).await?;
        read_frame(&mut stream).await
    }
}

/// The handle of the host's link thread: one current-thread runtime, started on first use,
/// that drives the link's byte stream, its multiplexer and the engine relay. A request through
/// the relay then crosses no thread on the host: the relay task, the multiplexer and the
/// socket reads and writes all run on this one (on a multi-thread runtime they hop between
/// workers, each hop a futex wake-up). Falls back to the caller's runtime if the thread cannot
/// start.
pub fn link_runtime() -> Handle {
    static LINK: OnceLock<Option<Handle>> = OnceLock::new();
    let handle = LINK.get_or_init(|| {
        let started = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .and_then(|rt| {
                let handle = rt.handle().clone();
                std::thread::Builder::new()
                    .name("berth-link".to_owned())
                    .spawn(move || rt.block_on(std::future::pending::<()>()))?;
                Ok(handle)
            });
        match started {
            Ok(handle) => Some(handle),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the link thread; the link shares the caller's runtime");
                None
            }
        }
    });
    handle.clone().unwrap_or_else(Handle::current)
}

/// Run `fut` on the link thread ([`link_runtime`]) and wait for it. Sockets it opens and
/// tasks it spawns stay on that thread. Dropping the returned future aborts `fut`.
pub async fn on_link_thread<F>(fut: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);
    impl<T> Drop for AbortOnDrop<T> {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let mut task = AbortOnDrop(link_runtime().spawn(fut));
    match (&mut task.0).await {
        Ok(output) => output,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only our own abort cancels it, and that happens once nobody awaits this any more.
        Err(e) => panic!("the link thread dropped a task: {e}"),
    }
}

fn unexpected(request: &'static str, reply: Reply) -> LinkError {
    match reply {
        Reply::Error { message } => LinkError::Refused { message },
        other => LinkError::UnexpectedReply {
            request,
            reply: other.name().to_owned(),
        },
    }
}

#[cfg(test)]
impl LinkClient {
    /// The raw multiplexer, to send headers the typed API would never produce.
    pub(crate) fn mux_for_tests(&self) -> &MuxHandle {
        &self.mux
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[cfg(unix)]
    #[tokio::test]
    async fn work_on_the_link_thread_runs_there_and_returns() {
        let name = on_link_thread(async { std::thread::current().name().map(str::to_owned) }).await;
        assert_eq!(name.as_deref(), Some("berth-link"));
        // Sockets made there keep working from here.
        let (a, mut b) = on_link_thread(async { tokio::net::UnixStream::pair().unwrap() }).await;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut a = a;
        a.write_all(b"hi").await.unwrap();
        let mut got = [0u8; 2];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hi");
    }

    #[tokio::test]
    async fn dropping_the_wait_aborts_the_work() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let wait = on_link_thread(async move {
            let _tx = tx;
            std::future::pending::<()>().await;
        });
        assert!(tokio::time::timeout(Duration::from_millis(50), wait)
            .await
            .is_err());
        // The task was aborted, so its end of the channel is gone.
        assert!(tokio::time::timeout(Duration::from_secs(10), rx)
            .await
            .expect("the work was aborted")
            .is_err());
    }
}
