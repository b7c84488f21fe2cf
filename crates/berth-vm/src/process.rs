//! The one seam through which berth-vm starts processes (youki's `Syscall` idea): the
//! [`SystemRunner`] spawns for real, the [`RecordingRunner`] records what would have run and plays
//! back scripted results, so backends are testable without QEMU.

use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

/// A command to run: the program, its argv and where its output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    pub program: String,
    pub args: Vec<String>,
    /// Append stdout and stderr to this file (else they are discarded for spawned processes).
    /// With `stdio_link`, only stderr goes there.
    pub log: Option<PathBuf>,
    /// Pipe stdin and stdout: they carry the link to the guest agent (WSL, ssh), and
    /// [`ChildProcess::take_stdio_link`] hands them out.
    pub stdio_link: bool,
}

impl CommandSpec {
    pub fn new(
        program: impl Into<String>,
        args: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        CommandSpec {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            log: None,
            stdio_link: false,
        }
    }

    /// Keep stdin and stdout as the byte stream of the link (see [`CommandSpec::stdio_link`]).
    pub fn with_stdio_link(mut self) -> Self {
        self.stdio_link = true;
        self
    }

    pub fn log_to(mut self, path: impl Into<PathBuf>) -> Self {
        self.log = Some(path.into());
        self
    }
}

/// The result of a command run to completion.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    pub success: bool,
    pub status: String,
    pub stdout: String,
    pub stderr: String,
}

/// How a spawned process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitInfo {
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

/// A byte stream both ways: what the link runs on.
pub trait LinkIo: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> LinkIo for T {}

/// A long-lived child process.
#[async_trait]
pub trait ChildProcess: Send {
    fn pid(&self) -> u32;
    /// The child's stdout (read) and stdin (write) as one stream, once, when it was spawned
    /// with [`CommandSpec::with_stdio_link`].
    fn take_stdio_link(&mut self) -> Option<Box<dyn LinkIo>> {
        None
    }
    /// Resolves when the process has exited (and is reaped).
    async fn wait(&mut self) -> io::Result<ExitInfo>;
    /// Sends SIGKILL (or the platform's equivalent); does not wait.
    fn start_kill(&mut self) -> io::Result<()>;
}

#[async_trait]
pub trait ProcessRunner: Send + Sync {
    /// Runs to completion and captures the output.
    async fn output(&self, cmd: &CommandSpec) -> io::Result<Output>;
    /// Starts a long-lived process.
    fn spawn(&self, cmd: &CommandSpec) -> io::Result<Box<dyn ChildProcess>>;
}

/// Spawns real processes with tokio.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRunner;

#[async_trait]
impl ProcessRunner for SystemRunner {
    async fn output(&self, cmd: &CommandSpec) -> io::Result<Output> {
        let out = tokio::process::Command::new(&cmd.program)
            .args(&cmd.args)
            .stdin(Stdio::null())
            .output()
            .await?;
        Ok(Output {
            success: out.status.success(),
            status: out.status.to_string(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    fn spawn(&self, cmd: &CommandSpec) -> io::Result<Box<dyn ChildProcess>> {
        let mut command = tokio::process::Command::new(&cmd.program);
        command.args(&cmd.args).stdin(Stdio::null());
        let log = match &cmd.log {
            // A hypervisor's log shows the guest's console and paths: the user's alone.
            Some(path) => Some(berth_core::owner_only::append(path)?),
            None => None,
        };
        if cmd.stdio_link {
            command.stdin(Stdio::piped()).stdout(Stdio::piped());
        } else {
            match &log {
                Some(file) => command.stdout(file.try_clone()?),
                None => command.stdout(Stdio::null()),
            };
        }
        match log {
            Some(file) => command.stderr(file),
            None => command.stderr(Stdio::null()),
        };
        // Its own process group: a Ctrl-C meant for whoever started the daemon does not reach it.
        #[cfg(unix)]
        command.process_group(0);
        let child = command.spawn()?;
        let pid = child.id().unwrap_or(0);
        Ok(Box::new(SystemChild { child, pid }))
    }
}

struct SystemChild {
    child: tokio::process::Child,
    pid: u32,
}

#[async_trait]
impl ChildProcess for SystemChild {
    fn pid(&self) -> u32 {
        self.pid
    }

    fn take_stdio_link(&mut self) -> Option<Box<dyn LinkIo>> {
        let stdout = self.child.stdout.take()?;
        let stdin = self.child.stdin.take()?;
        Some(Box::new(tokio::io::join(stdout, stdin)))
    }

    async fn wait(&mut self) -> io::Result<ExitInfo> {
        let status = self.child.wait().await?;
        #[cfg(unix)]
        let signal = std::os::unix::process::ExitStatusExt::signal(&status);
        #[cfg(not(unix))]
        let signal = None;
        Ok(ExitInfo {
            code: status.code(),
            signal,
        })
    }

    fn start_kill(&mut self) -> io::Result<()> {
        self.child.start_kill()
    }
}

/// Records every command and answers `output` from a script (default: success, empty output).
/// Spawned fake children run until killed or until [`RecordingRunner::exit_children`].
#[derive(Debug, Clone, Default)]
pub struct RecordingRunner {
    inner: Arc<Mutex<Recorded>>,
    exit_tx: Arc<Mutex<Option<watch::Sender<Option<ExitInfo>>>>>,
}

#[derive(Debug, Default)]
struct Recorded {
    commands: Vec<CommandSpec>,
    outputs: VecDeque<Output>,
    spawn_hook: Option<fn(&CommandSpec)>,
    /// The far end of the last stdio link handed out: the test plays the agent on it.
    guest_stdio: Option<tokio::io::DuplexStream>,
}

impl RecordingRunner {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues the answer of the next `output` call.
    pub fn push_output(&self, output: Output) {
        self.lock().outputs.push_back(output);
    }

    /// Called (synchronously) on every spawn: lets a test create the files a real process would.
    pub fn on_spawn(&self, hook: fn(&CommandSpec)) {
        self.lock().spawn_hook = Some(hook);
    }

    /// The agent's end of the last spawned child's stdio link.
    pub fn take_guest_stdio(&self) -> Option<tokio::io::DuplexStream> {
        self.lock().guest_stdio.take()
    }

    /// Every command run or spawned so far, in order.
    pub fn commands(&self) -> Vec<CommandSpec> {
        self.lock().commands.clone()
    }

    /// Makes every fake child spawned so far exit as if it crashed with `info`.
    pub fn exit_children(&self, info: ExitInfo) {
        if let Some(tx) = self
            .exit_tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            let _ = tx.send(Some(info));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl ProcessRunner for RecordingRunner {
    async fn output(&self, cmd: &CommandSpec) -> io::Result<Output> {
        let mut rec = self.lock();
        rec.commands.push(cmd.clone());
        Ok(rec.outputs.pop_front().unwrap_or(Output {
            success: true,
            status: "exit status: 0".into(),
            ..Output::default()
        }))
    }

    fn spawn(&self, cmd: &CommandSpec) -> io::Result<Box<dyn ChildProcess>> {
        let hook = {
            let mut rec = self.lock();
            rec.commands.push(cmd.clone());
            rec.spawn_hook
        };
        if let Some(hook) = hook {
            hook(cmd);
        }
        let (tx, rx) = watch::channel(None);
        *self.exit_tx.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
        let stdio = cmd.stdio_link.then(|| {
            let (host, guest) = tokio::io::duplex(64 * 1024);
            self.lock().guest_stdio = Some(guest);
            host
        });
        Ok(Box::new(FakeChild {
            exit: rx,
            killed: false,
            stdio,
        }))
    }
}

struct FakeChild {
    exit: watch::Receiver<Option<ExitInfo>>,
    killed: bool,
    stdio: Option<tokio::io::DuplexStream>,
}

/// The pid every fake child reports.
pub const FAKE_PID: u32 = 4242;

#[async_trait]
impl ChildProcess for FakeChild {
    fn pid(&self) -> u32 {
        FAKE_PID
    }

    fn take_stdio_link(&mut self) -> Option<Box<dyn LinkIo>> {
        self.stdio.take().map(|s| Box::new(s) as Box<dyn LinkIo>)
    }

    async fn wait(&mut self) -> io::Result<ExitInfo> {
        loop {
            if self.killed {
                return Ok(ExitInfo {
                    code: None,
                    signal: Some(9),
                });
            }
            if let Some(info) = *self.exit.borrow_and_update() {
                return Ok(info);
            }
            if self.exit.changed().await.is_err() {
                // The runner is gone: behave like a process that never exits.
                std::future::pending::<()>().await;
            }
        }
    }

    fn start_kill(&mut self) -> io::Result<()> {
        self.killed = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn system_runner_captures_output() {
        let out = SystemRunner
            .output(&CommandSpec::new(
                "sh",
                ["-c", "echo out; echo err >&2; exit 3"],
            ))
            .await
            .unwrap();
        assert!(!out.success);
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
    }

    #[tokio::test]
    async fn system_runner_spawn_reports_a_kill() {
        let mut child = SystemRunner
            .spawn(&CommandSpec::new("sleep", ["30"]))
            .unwrap();
        assert!(child.pid() > 0);
        child.start_kill().unwrap();
        let info = child.wait().await.unwrap();
        assert_eq!(info.signal, Some(9));
    }

    #[tokio::test]
    async fn a_stdio_link_carries_bytes_both_ways() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut child = SystemRunner
            .spawn(&CommandSpec::new("cat", Vec::<String>::new()).with_stdio_link())
            .unwrap();
        let mut link = child.take_stdio_link().expect("piped");
        assert!(child.take_stdio_link().is_none(), "handed out once");
        link.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        link.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        child.start_kill().unwrap();
        child.wait().await.unwrap();
    }

    #[tokio::test]
    async fn recording_runner_records_and_plays_back() {
        let runner = RecordingRunner::new();
        runner.push_output(Output {
            success: false,
            status: "exit status: 1".into(),
            stderr: "nope".into(),
            ..Output::default()
        });
        let first = runner.output(&CommandSpec::new("a", ["1"])).await.unwrap();
        let second = runner.output(&CommandSpec::new("b", ["2"])).await.unwrap();
        assert!(!first.success && second.success);
        let programs: Vec<_> = runner.commands().into_iter().map(|c| c.program).collect();
        assert_eq!(programs, ["a", "b"]);
    }
}
