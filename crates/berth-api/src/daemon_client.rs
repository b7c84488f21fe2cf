//! Lifecycle through the daemon: `Berth::start_engine` and friends talk to the daemon's control
//! socket, starting the daemon (detached, `berth daemon`) when it is not running. The caller
//! never holds the VM: when it exits, the engine keeps running.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

pub use berth_control::endpoint::engine_host;
pub use berth_control::log_files;
use berth_control::protocol::{encode, Request};
pub use berth_control::protocol::{DaemonStatus, Reply};
use berth_core::{ApiError, BerthPaths, ErrorCode};
use berth_engine::{ContextStore, DockerContext};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines, ReadHalf, WriteHalf};

use crate::transport::ToApi;
use crate::Berth;

/// The docker context Berth writes.
pub const CONTEXT_NAME: &str = "berth";
/// Overrides the program run as `<program> daemon` (default: the `berth` binary).
pub const DAEMON_EXE_VAR: &str = "BERTH_DAEMON_EXE";
/// How long a freshly spawned daemon may take to serve its socket.
const DAEMON_READY: Duration = Duration::from_secs(10);

/// The connection to the daemon's control socket (on Windows its named pipe).
#[cfg(unix)]
type ControlStream = tokio::net::UnixStream;
#[cfg(windows)]
type ControlStream = tokio::net::windows::named_pipe::NamedPipeClient;

#[cfg(unix)]
async fn connect_control(socket: &Path) -> std::io::Result<ControlStream> {
    tokio::net::UnixStream::connect(socket).await
}

#[cfg(windows)]
async fn connect_control(pipe: &Path) -> std::io::Result<ControlStream> {
    tokio::net::windows::named_pipe::ClientOptions::new().open(pipe)
}

/// Talks to one daemon's control socket.
#[derive(Debug, Clone)]
pub struct DaemonClient {
    socket: PathBuf,
}

/// The state stream of `watch`: the current status first, then every transition.
pub struct DaemonWatch {
    lines: Lines<BufReader<ReadHalf<ControlStream>>>,
    _write: WriteHalf<ControlStream>,
}

impl DaemonWatch {
    /// The next message; `None` when the daemon went away.
    pub async fn next(&mut self) -> Option<Reply> {
        let line = self.lines.next_line().await.ok()??;
        serde_json::from_str(&line).ok()
    }
}

impl DaemonClient {
    pub fn new(paths: &BerthPaths) -> Self {
        #[cfg(unix)]
        let socket = paths.control_socket();
        #[cfg(windows)]
        let socket = {
            let _ = paths;
            PathBuf::from(berth_control::endpoint::control_pipe())
        };
        DaemonClient { socket }
    }

    /// Whether a daemon answers on the socket.
    pub async fn is_running(&self) -> bool {
        connect_control(&self.socket).await.is_ok()
    }

    /// Sends one request and waits for its reply (a start waits for the whole boot).
    pub async fn request(&self, request: &Request) -> Result<DaemonStatus, ApiError> {
        let (mut lines, mut write) = self.connect().await?;
        write
            .write_all(&encode(request))
            .await
            .map_err(|e| unreachable_daemon(&self.socket, &e))?;
        let line = lines
            .next_line()
            .await
            .map_err(|e| unreachable_daemon(&self.socket, &e))?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::EngineUnreachable,
                    "the Berth daemon closed the connection without answering; see its log",
                )
            })?;
        match serde_json::from_str::<Reply>(&line) {
            Ok(Reply::Status { status }) => Ok(status),
            Ok(Reply::Error { error }) => Err(error),
            Ok(Reply::State { .. }) | Err(_) => Err(ApiError::new(
                ErrorCode::Internal,
                format!("unexpected answer from the Berth daemon: {line}"),
            )),
        }
    }

    /// Follows the engine state.
    pub async fn watch(&self) -> Result<DaemonWatch, ApiError> {
        let (lines, mut write) = self.connect().await?;
        write
            .write_all(&encode(&Request::Watch))
            .await
            .map_err(|e| unreachable_daemon(&self.socket, &e))?;
        Ok(DaemonWatch {
            lines,
            _write: write,
        })
    }

    async fn connect(
        &self,
    ) -> Result<
        (
            Lines<BufReader<ReadHalf<ControlStream>>>,
            WriteHalf<ControlStream>,
        ),
        ApiError,
    > {
        let stream = connect_control(&self.socket)
            .await
            .map_err(|e| unreachable_daemon(&self.socket, &e))?;
        let (read, write) = tokio::io::split(stream);
        Ok((BufReader::new(read).lines(), write))
    }
}

fn unreachable_daemon(socket: &Path, e: &std::io::Error) -> ApiError {
    ApiError::new(
        ErrorCode::EngineUnreachable,
        format!("cannot reach the Berth daemon at {}: {e}", socket.display()),
    )
}

/// The program that runs `daemon`: `BERTH_DAEMON_EXE`, else this binary when it is `berth`,
/// else the `berth` beside it (the app bundles both).
fn daemon_exe() -> Result<PathBuf, ApiError> {
    if let Some(exe) = std::env::var_os(DAEMON_EXE_VAR).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(exe));
    }
    let exe = std::env::current_exe().map_err(|e| ApiError::from_error(ErrorCode::Io, &e))?;
    if exe.file_stem().is_some_and(|s| s == "berth") {
        return Ok(exe);
    }
    Ok(exe.with_file_name("berth"))
}

/// Starts `berth daemon` detached (own process group; it logs to the rolling `daemon.log`
/// itself, its raw output goes to `daemon-output.log`) and waits until it serves its control
/// socket. Two racing callers are fine: the daemon's lock
/// lets one win and the other exits.
async fn spawn_daemon(paths: &BerthPaths, client: &DaemonClient) -> Result<(), ApiError> {
    let exe = daemon_exe()?;
    let log_path = paths.logs_dir.join(log_files::DAEMON_OUTPUT);
    let log = berth_core::owner_only::create(&log_path)
        .map_err(|e| ApiError::from_error(ErrorCode::Io, &e))?;
    let log_err = log
        .try_clone()
        .map_err(|e| ApiError::from_error(ErrorCode::Io, &e))?;
    let mut cmd = tokio::process::Command::new(&exe);
    cmd.arg("daemon")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    #[cfg(unix)]
    cmd.process_group(0);
    // DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP: no console, no Ctrl-C from ours.
    #[cfg(windows)]
    cmd.creation_flags(0x0000_0008 | 0x0000_0200);
    if std::env::var_os("BERTH_LOG").is_none() {
        cmd.env("BERTH_LOG", "info");
    }
    let mut child = cmd.spawn().map_err(|e| {
        ApiError::new(
            ErrorCode::Io,
            format!("cannot start the Berth daemon ({}): {e}", exe.display()),
        )
    })?;
    let deadline = tokio::time::Instant::now() + DAEMON_READY;
    loop {
        if client.is_running().await {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            // Lost the race to another daemon, which may still be binding its socket.
            if !status.success() && !client.is_running().await {
                return Err(ApiError::new(
                    ErrorCode::Internal,
                    format!(
                        "the Berth daemon exited ({status}); see {}",
                        log_path.display()
                    ),
                ));
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ApiError::new(
                ErrorCode::Timeout,
                format!(
                    "the Berth daemon did not come up within {} s; see {}",
                    DAEMON_READY.as_secs(),
                    log_path.display()
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Berth {
    pub fn daemon(&self) -> DaemonClient {
        DaemonClient::new(self.paths())
    }

    /// Starts the daemon when it is not running.
    pub async fn ensure_daemon(&self) -> Result<DaemonClient, ApiError> {
        let client = self.daemon();
        if !client.is_running().await {
            spawn_daemon(self.paths(), &client).await?;
        }
        Ok(client)
    }

    /// Starts the engine (and the daemon, if needed); returns once the engine answers. Writes
    /// the `berth` docker context; `use_context` also makes it the current one.
    pub async fn start_engine(&self, use_context: bool) -> Result<DaemonStatus, ApiError> {
        let client = self.ensure_daemon().await?;
        let status = client.request(&Request::Start).await?;
        self.write_context(use_context)?;
        Ok(status)
    }

    /// Stops the engine; a daemon that is not running means it is stopped already.
    pub async fn stop_engine(&self) -> Result<Option<DaemonStatus>, ApiError> {
        let client = self.daemon();
        if !client.is_running().await {
            return Ok(None);
        }
        client.request(&Request::Stop).await.map(Some)
    }

    pub async fn restart_engine(&self) -> Result<DaemonStatus, ApiError> {
        let client = self.daemon();
        if !client.is_running().await {
            return self.start_engine(false).await;
        }
        let status = client.request(&Request::Restart).await?;
        self.write_context(false)?;
        Ok(status)
    }

    /// Pauses the engine's VM now (Resource Saver by hand): the next connection wakes it.
    pub async fn pause_engine(&self) -> Result<DaemonStatus, ApiError> {
        self.running_daemon().await?.request(&Request::Pause).await
    }

    /// Resumes a paused engine ("Wake now"); any other state is left as it is.
    pub async fn wake_engine(&self) -> Result<DaemonStatus, ApiError> {
        self.running_daemon().await?.request(&Request::Wake).await
    }

    async fn running_daemon(&self) -> Result<DaemonClient, ApiError> {
        let client = self.daemon();
        if !client.is_running().await {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "the engine is not running: start it with `berth start`",
            ));
        }
        Ok(client)
    }

    /// Stops the engine and ends the daemon.
    pub async fn quit_daemon(&self) -> Result<(), ApiError> {
        let client = self.daemon();
        if client.is_running().await {
            client.request(&Request::Quit).await?;
        }
        Ok(())
    }

    /// The daemon's view (state, phase, VM pid, resources); `None` when no daemon runs.
    pub async fn daemon_status(&self) -> Option<DaemonStatus> {
        self.daemon().request(&Request::Status).await.ok()
    }

    /// Berth's own log files (the daemon's), oldest first.
    pub fn daemon_log_files(&self) -> Vec<PathBuf> {
        log_files::files(&self.paths().logs_dir, log_files::DAEMON_LOG)
    }

    /// The guest console log of the current (or last) boot.
    pub fn vm_console_log(&self) -> PathBuf {
        self.paths()
            .logs_dir
            .join(berth_control::endpoint::CONSOLE_LOG)
    }

    fn write_context(&self, make_current: bool) -> Result<(), ApiError> {
        let store = ContextStore::from_env();
        let ctx = DockerContext {
            name: CONTEXT_NAME.into(),
            description: Some("Berth's engine".into()),
            host: engine_host(self.paths()),
            skip_tls_verify: false,
        };
        store.write(&ctx).to_api()?;
        if make_current {
            store.set_current(Some(CONTEXT_NAME)).to_api()?;
        }
        Ok(())
    }
}

/// Where Berth's own engine is served on this OS (unix socket, or the Windows named pipe).
///
/// Berth's own clients use the engine's second socket: their open connections (the
/// dashboard's event stream) do not keep the VM from pausing when idle.
pub fn engine_endpoint(paths: &BerthPaths) -> berth_engine::Endpoint {
    if cfg!(windows) {
        return berth_engine::Endpoint::from_docker_host(engine_host(paths));
    }
    berth_engine::Endpoint::from_docker_host(format!(
        "unix://{}",
        paths.app_engine_socket().display()
    ))
}

/// Runs the daemon of the Berth `BERTH_HOME` names, in this process, until it is told to quit.
/// Only the `berth` binary has it (feature `daemon`): the app is a client, and does not link
/// the VM and link stack.
#[cfg(feature = "daemon")]
pub async fn run_daemon() -> Result<(), ApiError> {
    let paths =
        BerthPaths::from_env().map_err(|e| ApiError::from_error(ErrorCode::InvalidSettings, &e))?;
    berth_daemon::run(paths, std::sync::Arc::new(berth_daemon::NativeVm))
        .await
        .map_err(|e| ApiError::from_error(ErrorCode::Internal, &e))
}

// The fake daemon listens on a unix socket.
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use tokio::net::UnixListener;

    /// A daemon stand-in that answers one request with a canned line.
    async fn fake_daemon(
        paths: &BerthPaths,
        answer: &'static str,
    ) -> tokio::task::JoinHandle<String> {
        let listener = UnixListener::bind(paths.control_socket()).unwrap();
        tokio::spawn(async move {
            let (conn, _) = listener.accept().await.unwrap();
            let (read, mut write) = conn.into_split();
            let mut lines = BufReader::new(read).lines();
            let request = lines.next_line().await.unwrap().unwrap();
            write.write_all(answer.as_bytes()).await.unwrap();
            request
        })
    }

    #[tokio::test]
    async fn request_maps_replies() {
        let home = tempfile::tempdir().unwrap();
        let paths = BerthPaths::under(home.path());
        paths.ensure().unwrap();
        let client = DaemonClient::new(&paths);
        assert!(!client.is_running().await);

        let server = fake_daemon(
            &paths,
            "{\"reply\":\"error\",\"error\":{\"code\":\"vm_failed\",\"message\":\"boom\"}}\n",
        )
        .await;
        let err = client.request(&Request::Start).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::VmFailed);
        assert_eq!(server.await.unwrap(), r#"{"op":"start"}"#);
        std::fs::remove_file(paths.control_socket()).unwrap();

        let server = fake_daemon(
            &paths,
            "{\"reply\":\"status\",\"status\":{\"state\":{\"state\":\"stopped\"},\"daemonPid\":3,\"endpoint\":\"unix:///x\",\"vm\":null,\"agent\":null}}\n",
        )
        .await;
        let status = client.request(&Request::Status).await.unwrap();
        assert_eq!(status.daemon_pid, 3);
        server.await.unwrap();
    }

    #[tokio::test]
    async fn no_daemon_means_stopped() {
        let home = tempfile::tempdir().unwrap();
        let berth = Berth::open_at(BerthPaths::under(home.path())).unwrap();
        assert_eq!(berth.stop_engine().await.unwrap(), None);
        assert_eq!(berth.daemon_status().await, None);
    }
}
