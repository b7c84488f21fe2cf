//! Serves the control socket: one request line per connection (see [`crate::control`]). On
//! Windows the control endpoint is the named pipe [`CONTROL_PIPE`] instead.

use std::sync::Arc;

use berth_core::{ApiError, ErrorCode};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
#[cfg(unix)]
use tokio::net::UnixListener;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::control::{encode, Reply, Request};
use crate::lifecycle::Lifecycle;

/// Longest request line accepted.
const MAX_LINE: u64 = 4096;

pub use berth_control::endpoint::control_pipe;

/// Accepts clients until `quit` is cancelled. A `quit` request cancels it.
#[cfg(unix)]
pub async fn serve(listener: UnixListener, lifecycle: Arc<Lifecycle>, quit: CancellationToken) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((conn, _)) => {
                    tokio::spawn(handle(conn, lifecycle.clone(), quit.clone()));
                }
                Err(err) => debug!(%err, "control accept failed"),
            },
            () = quit.cancelled() => return,
        }
    }
}

/// [`serve`] on this user's control pipe ([`control_pipe`], created here owner-only; fails if
/// another process has it). Remote clients are refused; a client whose connect fails, or an
/// instance that cannot be made yet, is logged and the next client served.
#[cfg(windows)]
pub async fn serve_named_pipe(
    lifecycle: Arc<Lifecycle>,
    quit: CancellationToken,
) -> std::io::Result<()> {
    use berth_link::named_pipe::{create_owner_only, serve_each, PipeAcceptor};
    let name = control_pipe();
    let first = create_owner_only(&name, true)?;
    let serve = serve_each(PipeAcceptor::new(name, first), quit.cancelled(), |conn| {
        tokio::spawn(handle(conn, lifecycle.clone(), quit.clone()));
    });
    serve.await;
    Ok(())
}

async fn handle<C>(conn: C, lifecycle: Arc<Lifecycle>, quit: CancellationToken)
where
    C: AsyncRead + AsyncWrite + Send + 'static,
{
    let (read, mut write) = tokio::io::split(conn);
    let mut line = String::new();
    let mut reader = BufReader::new(tokio::io::AsyncReadExt::take(read, MAX_LINE));
    if reader.read_line(&mut line).await.is_err() {
        return;
    }
    let request: Request = match serde_json::from_str(line.trim()) {
        Ok(r) => r,
        Err(e) => {
            let error = ApiError::new(ErrorCode::InvalidInput, format!("bad control request: {e}"));
            let _ = write.write_all(&encode(&Reply::Error { error })).await;
            return;
        }
    };
    debug!(?request, "control request");
    if request == Request::Watch {
        watch(write, &lifecycle).await;
        return;
    }
    // The operation runs in its own task: a client that hangs up does not abandon it.
    let op = {
        let lifecycle = lifecycle.clone();
        let request = request.clone();
        tokio::spawn(async move {
            match request {
                Request::Start => lifecycle.start().await,
                Request::Stop => lifecycle.stop().await,
                Request::Restart => lifecycle.restart().await,
                Request::Pause => lifecycle
                    .pause(crate::lifecycle::PauseReason::Asked)
                    .await
                    .map(|_| lifecycle.status()),
                Request::Wake => lifecycle.wake().await,
                Request::Quit => lifecycle.stop().await,
                Request::Status | Request::Watch => Ok(lifecycle.status()),
            }
        })
    };
    let reply = match op.await {
        Ok(Ok(status)) => Reply::Status { status },
        Ok(Err(error)) => Reply::Error { error },
        Err(e) => Reply::Error {
            error: ApiError::new(ErrorCode::Internal, format!("the operation failed: {e}")),
        },
    };
    let _ = write.write_all(&encode(&reply)).await;
    if request == Request::Quit {
        // Only after the answer is out: the process ends soon after.
        let _ = write.shutdown().await;
        quit.cancel();
    }
}

async fn watch<W: AsyncWrite + Unpin>(mut write: W, lifecycle: &Lifecycle) {
    let mut rx = lifecycle.subscribe();
    rx.mark_unchanged();
    let mut warnings = lifecycle.port_warnings().subscribe();
    warnings.mark_unchanged();
    let status = lifecycle.status();
    if write
        .write_all(&encode(&Reply::Status { status }))
        .await
        .is_err()
    {
        return;
    }
    loop {
        let reply = tokio::select! {
            changed = rx.changed() => {
                if changed.is_err() {
                    return;
                }
                Reply::State { state: rx.borrow_and_update().clone() }
            }
            // The port warnings changed: the whole status, which carries them.
            changed = warnings.changed() => {
                if changed.is_err() {
                    return;
                }
                warnings.mark_unchanged();
                Reply::Status { status: lifecycle.status() }
            }
        };
        if write.write_all(&encode(&reply)).await.is_err() {
            return;
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use berth_core::BerthPaths;
    use tokio::net::UnixStream;

    /// A control server over a fresh home; the lifecycle behind it boots no VM.
    fn serving(
        home: &std::path::Path,
    ) -> (
        BerthPaths,
        Arc<Lifecycle>,
        CancellationToken,
        tokio::task::JoinHandle<()>,
    ) {
        let paths = BerthPaths::under(home);
        paths.ensure().unwrap();
        let listener = UnixListener::bind(paths.control_socket()).unwrap();
        let lifecycle = Arc::new(Lifecycle::new(paths.clone(), Arc::new(crate::NativeVm)));
        let quit = CancellationToken::new();
        let server = tokio::spawn(serve(listener, lifecycle.clone(), quit.clone()));
        (paths, lifecycle, quit, server)
    }

    #[tokio::test]
    async fn quit_answers_before_the_server_ends() {
        let home = tempfile::tempdir().unwrap();
        let (paths, _lifecycle, quit, server) = serving(home.path());

        let ask = |request: &'static [u8]| {
            let socket = paths.control_socket();
            async move {
                let conn = UnixStream::connect(socket).await.unwrap();
                let (read, mut write) = conn.into_split();
                write.write_all(request).await.unwrap();
                let mut line = String::new();
                BufReader::new(read).read_line(&mut line).await.unwrap();
                serde_json::from_str::<Reply>(&line).unwrap()
            }
        };
        let bad = ask(b"{\"op\":\"explode\"}\n").await;
        assert!(matches!(bad, Reply::Error { ref error } if error.code == ErrorCode::InvalidInput));
        let status = ask(b"{\"op\":\"status\"}\n").await;
        assert!(matches!(status, Reply::Status { .. }));
        let reply = ask(b"{\"op\":\"quit\"}\n").await;
        assert!(
            matches!(reply, Reply::Status { ref status } if status.state == berth_core::EngineState::Stopped)
        );
        tokio::time::timeout(std::time::Duration::from_secs(5), server)
            .await
            .expect("server ends after quit")
            .unwrap();
        assert!(quit.is_cancelled());
    }

    #[tokio::test]
    async fn a_watch_gets_a_new_status_when_the_port_warnings_change() {
        use berth_link::port_forwarder::{Binding, ForwardEvent, Protocol};
        let home = tempfile::tempdir().unwrap();
        let (paths, lifecycle, quit, server) = serving(home.path());

        let conn = UnixStream::connect(paths.control_socket()).await.unwrap();
        let (read, mut write) = conn.into_split();
        write.write_all(b"{\"op\":\"watch\"}\n").await.unwrap();
        let mut lines = BufReader::new(read).lines();
        let mut next = async || {
            let line = tokio::time::timeout(std::time::Duration::from_secs(5), lines.next_line())
                .await
                .expect("a watch line in time")
                .unwrap()
                .expect("the watch goes on");
            serde_json::from_str::<Reply>(&line).unwrap()
        };
        let Reply::Status { status } = next().await else {
            panic!("a watch starts with the status");
        };
        assert!(status.port_warnings.is_empty());

        let binding = Binding {
            container: "web".into(),
            host_ip: std::net::Ipv4Addr::LOCALHOST.into(),
            host_port: 8080,
            guest_port: 80,
            protocol: Protocol::Tcp,
        };
        lifecycle.port_warnings().record(&ForwardEvent::Failed {
            binding: binding.clone(),
            in_use: true,
            message: "port 8080 is already in use".into(),
        });
        let Reply::Status { status } = next().await else {
            panic!("a new warning sends the status");
        };
        assert_eq!(status.port_warnings.len(), 1);
        assert_eq!(status.port_warnings[0].container, "web");
        lifecycle
            .port_warnings()
            .record(&ForwardEvent::Withdrawn { binding });
        let Reply::Status { status } = next().await else {
            panic!("an ended warning sends the status");
        };
        assert!(status.port_warnings.is_empty());

        quit.cancel();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), server).await;
    }
}
