//! An engine over ssh, the way the docker CLI reaches one: `ssh ... host -- docker system
//! dial-stdio`, HTTP spoken over the ssh client's stdin and stdout. The user's ssh config,
//! keys and agent apply because it is their `ssh`.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

pub use super::ssh_stream::SshStream;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::oneshot;

use crate::EngineError;

/// The program Berth runs for ssh: `BERTH_SSH` when set (as `GIT_SSH` for git), else `ssh`.
pub const SSH_PROGRAM_VAR: &str = "BERTH_SSH";

/// How long ssh may take to open the TCP connection and exchange banners.
pub const SSH_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long ssh may take to end by itself once its connection is dropped before it is killed.
const SSH_EXIT_AFTER_DROP: Duration = Duration::from_secs(3);

/// At most this much of ssh's stderr is kept to explain a failure.
const STDERR_KEPT: usize = 8 * 1024;

/// `ssh://[user@]host[:port]`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl SshTarget {
    /// Parses an `ssh://` address; a path, query or empty host is refused as the CLI does.
    pub fn parse(address: &str) -> Result<SshTarget, EngineError> {
        let invalid =
            |reason: &str| EngineError::invalid("ssh address", format!("{address:?}: {reason}"));
        let rest = address
            .strip_prefix("ssh://")
            .ok_or_else(|| invalid("must start with ssh://"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#']) {
            return Err(invalid("a path or query after the host is not supported"));
        }
        let (user, host_port) = match rest.rsplit_once('@') {
            Some(("", _)) => return Err(invalid("empty user name")),
            Some((user, hp)) => (Some(user.to_string()), hp),
            None => (None, rest),
        };
        let (host, port) = split_host_port(host_port).ok_or_else(|| invalid("bad port"))?;
        if host.is_empty() || host.starts_with('-') || host.contains(char::is_whitespace) {
            return Err(invalid("no usable host name"));
        }
        Ok(SshTarget {
            user,
            host: host.to_string(),
            port,
        })
    }
}

fn split_host_port(text: &str) -> Option<(&str, Option<u16>)> {
    if let Some(v6) = text.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port.parse().ok().filter(|p| *p != 0)?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match text.rsplit_once(':') {
        Some((host, port)) => Some((host, Some(port.parse().ok().filter(|p| *p != 0)?))),
        None => Some((text, None)),
    }
}

/// The ssh client Berth runs, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshClient {
    pub program: PathBuf,
}

impl SshClient {
    /// `ssh` on PATH, or the program `BERTH_SSH` names.
    pub fn from_env() -> SshClient {
        let program = std::env::var_os(SSH_PROGRAM_VAR)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("ssh"));
        SshClient { program }
    }

    /// The arguments for one connection to `target`'s engine: as the docker CLI passes them,
    /// plus BatchMode so that a missing key fails at once instead of asking for a password
    /// nobody can type.
    pub fn args(&self, target: &SshTarget) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(user) = &target.user {
            args.extend(["-l".to_string(), user.clone()]);
        }
        if let Some(port) = target.port {
            args.extend(["-p".to_string(), port.to_string()]);
        }
        let timeout = format!("ConnectTimeout={}", SSH_CONNECT_TIMEOUT.as_secs());
        args.extend(["-o".into(), timeout, "-o".into(), "BatchMode=yes".into()]);
        args.extend(["-T".into(), "--".into(), target.host.clone()]);
        args.extend(["docker", "system", "dial-stdio"].map(String::from));
        args
    }
}

/// How one ssh connection ended, for explaining a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshExit {
    /// The exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    pub stderr: String,
}

/// Why ssh could not give us an engine, read from how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SshFailure {
    /// The server refused every key (or asked for a password BatchMode does not give).
    AuthRefused,
    /// The host key did not match known_hosts, or is unknown and may not be added.
    HostKeyRejected,
    /// No route, connection refused, timeout, unknown host.
    Unreachable,
    /// Logged in, but the remote has no `docker` command.
    NoDocker,
    /// Anything else, ssh's or the remote docker's words in the message.
    Other,
}

impl SshExit {
    /// What went wrong. ssh reports every failure as exit 255 with words on stderr and has no
    /// machine-readable form, so this one function reads the words (fixture-tested below);
    /// a command missing on the remote is exit 127, as in any POSIX shell.
    pub fn failure(&self) -> SshFailure {
        let err = self.stderr.as_str();
        let has = |needle: &str| err.contains(needle);
        if self.code == Some(127) || (has("docker") && (has("not found") || has("No such file"))) {
            return SshFailure::NoDocker;
        }
        if has("Permission denied") || has("Too many authentication failures") {
            return SshFailure::AuthRefused;
        }
        if has("Host key verification failed") || has("REMOTE HOST IDENTIFICATION HAS CHANGED") {
            return SshFailure::HostKeyRejected;
        }
        let unreachable = [
            "Connection refused",
            "Connection timed out",
            "timed out during banner exchange",
            "Connection closed by",
            "No route to host",
            "Network is unreachable",
            "Could not resolve hostname",
            "Name or service not known",
        ];
        if unreachable.iter().any(|w| has(w)) {
            return SshFailure::Unreachable;
        }
        SshFailure::Other
    }

    /// The last non-empty line of stderr: what ssh (or the remote docker) said last.
    pub fn last_words(&self) -> String {
        let line = self.stderr.lines().rev().find(|l| !l.trim().is_empty());
        match (line, self.code) {
            (Some(line), _) => line.trim().to_string(),
            (None, Some(code)) => format!("ssh exited with code {code}"),
            (None, None) => "ssh was ended by a signal".to_string(),
        }
    }
}

/// The last ssh connection that ended on its own with a failure, shared with the connector.
#[derive(Debug, Clone, Default)]
pub struct LastExit(Arc<Mutex<Option<SshExit>>>);

impl LastExit {
    pub fn get(&self) -> Option<SshExit> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, exit: SshExit) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(exit);
    }

    /// Waits up to `deadline` for a failed connection to have been recorded.
    pub async fn wait(&self, deadline: Duration) -> Option<SshExit> {
        let start = tokio::time::Instant::now();
        loop {
            if let Some(exit) = self.get() {
                return Some(exit);
            }
            if start.elapsed() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A hyper connector whose every connection is one `ssh ... docker system dial-stdio`.
#[derive(Debug, Clone)]
pub struct SshConnector {
    client: SshClient,
    target: SshTarget,
    last_exit: LastExit,
}

impl SshConnector {
    pub fn new(client: SshClient, target: SshTarget) -> SshConnector {
        SshConnector {
            client,
            target,
            last_exit: LastExit::default(),
        }
    }

    /// Where failed connections are recorded.
    pub fn last_exit(&self) -> LastExit {
        self.last_exit.clone()
    }

    /// Starts one `ssh ... docker system dial-stdio`.
    pub(super) fn spawn(&self) -> io::Result<SshPipes> {
        let mut cmd = Command::new(&self.client.program);
        cmd.args(self.client.args(&self.target))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot run {}: {e}", self.client.program.display()),
            )
        })?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(io::Error::other("ssh started without its pipes"));
        };
        let (end_tx, end_rx) = oneshot::channel();
        tokio::spawn(watch(child, stderr, end_rx, self.last_exit.clone()));
        Ok(SshPipes {
            stdin,
            stdout,
            _end: end_tx,
        })
    }
}

/// A running ssh child's pipes: its stdout (what the engine says) and stdin (what we say).
#[derive(Debug)]
pub struct SshPipes {
    pub(super) stdin: ChildStdin,
    pub(super) stdout: ChildStdout,
    /// Dropped with the pipes: the watcher then ends the child.
    pub(super) _end: oneshot::Sender<()>,
}

/// Waits for one ssh child: records how it ended if it failed by itself; kills it when the
/// connection using it is dropped.
async fn watch(
    mut child: Child,
    mut stderr: tokio::process::ChildStderr,
    end: oneshot::Receiver<()>,
    last_exit: LastExit,
) {
    let read_stderr = async move {
        let mut kept = Vec::new();
        let mut buf = [0u8; 1024];
        while let Ok(n) = stderr.read(&mut buf).await {
            if n == 0 {
                break;
            }
            let room = STDERR_KEPT.saturating_sub(kept.len());
            kept.extend_from_slice(&buf[..n.min(room)]);
        }
        String::from_utf8_lossy(&kept).into_owned()
    };
    let record = |status: std::io::Result<std::process::ExitStatus>, stderr: String| {
        if let Ok(status) = status {
            if !status.success() {
                tracing::debug!(?status, %stderr, "ssh connection to the engine ended");
                last_exit.set(SshExit {
                    code: status.code(),
                    stderr,
                });
            }
        }
    };
    let mut waited = Box::pin(async { tokio::join!(child.wait(), read_stderr) });
    tokio::select! {
        biased;
        (status, stderr) = &mut waited => return record(status, stderr),
        _ = end => {}
    }
    // The connection was dropped: its stdin is closed, so ssh ends by itself unless it hangs;
    // a failure that closed the connection is recorded on the way.
    match tokio::time::timeout(SSH_EXIT_AFTER_DROP, &mut waited).await {
        Ok((status, stderr)) => record(status, stderr),
        Err(_) => {
            drop(waited);
            let _ = child.kill().await;
        }
    }
}

impl tower_service::Service<hyper::Uri> for SshConnector {
    type Response = TokioIo<SshStream>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<TokioIo<SshStream>>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// The connection starts ssh at its first write: hyper opens a connection while it waits
    /// for an idle one and keeps whichever comes first, and an ssh login for a connection that
    /// is never used would cost a login's time and a process.
    fn call(&mut self, _uri: hyper::Uri) -> Self::Future {
        let stream = SshStream::new(self.clone());
        Box::pin(async move { Ok(TokioIo::new(stream)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(user: Option<&str>, host: &str, port: Option<u16>) -> SshTarget {
        SshTarget {
            user: user.map(str::to_string),
            host: host.into(),
            port,
        }
    }

    #[test]
    fn parses_user_host_and_port() {
        let t = SshTarget::parse("ssh://alice@build.example:2222").unwrap();
        assert_eq!(t, target(Some("alice"), "build.example", Some(2222)));
        assert_eq!(
            SshTarget::parse("ssh://h").unwrap(),
            target(None, "h", None)
        );
        assert_eq!(
            SshTarget::parse("ssh://[::1]:22/").unwrap(),
            target(None, "::1", Some(22))
        );
        for bad in [
            "tcp://h",
            "ssh://",
            "ssh://@h",
            "ssh://h:0",
            "ssh://h:port",
            "ssh://h/path",
            "ssh://-oProxyCommand=x",
            "ssh://[::1",
        ] {
            let err = SshTarget::parse(bad).unwrap_err();
            assert_eq!(err.code(), crate::ErrorCode::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn argv_is_the_docker_clis_with_batch_mode() {
        let client = SshClient {
            program: "ssh".into(),
        };
        let args = client.args(&target(Some("bob"), "h", Some(2200)));
        assert_eq!(
            args.join(" "),
            "-l bob -p 2200 -o ConnectTimeout=5 -o BatchMode=yes -T -- h docker system dial-stdio"
        );
        let args = client.args(&target(None, "h", None));
        assert_eq!(
            args.join(" "),
            "-o ConnectTimeout=5 -o BatchMode=yes -T -- h docker system dial-stdio"
        );
    }

    #[test]
    fn failures_are_read_from_how_ssh_ended() {
        let exit = |code: i32, stderr: &str| SshExit {
            code: Some(code),
            stderr: stderr.into(),
        };
        let cases = [
            (
                exit(255, "root@127.0.0.1: Permission denied (publickey).\r\n"),
                SshFailure::AuthRefused,
            ),
            (
                exit(255, "Host key verification failed.\r\n"),
                SshFailure::HostKeyRejected,
            ),
            (
                exit(
                    255,
                    "ssh: connect to host 127.0.0.1 port 1: Connection refused\r\n",
                ),
                SshFailure::Unreachable,
            ),
            (
                exit(255, "Connection timed out during banner exchange\r\n"),
                SshFailure::Unreachable,
            ),
            (
                exit(
                    255,
                    "ssh: Could not resolve hostname nope: Name or service not known\r\n",
                ),
                SshFailure::Unreachable,
            ),
            (
                exit(127, "bash: line 1: docker: command not found\n"),
                SshFailure::NoDocker,
            ),
            (
                exit(127, "sh: 1: docker: not found\n"),
                SshFailure::NoDocker,
            ),
            (
                exit(
                    1,
                    "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\n",
                ),
                SshFailure::Other,
            ),
        ];
        for (exit, expected) in cases {
            assert_eq!(exit.failure(), expected, "{}", exit.stderr);
        }
        assert_eq!(exit(1, "a\nlast words\n\n").last_words(), "last words");
        assert_eq!(exit(3, "").last_words(), "ssh exited with code 3");
    }
}
