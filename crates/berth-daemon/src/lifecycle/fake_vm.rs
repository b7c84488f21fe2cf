//! Plays the VM for the lifecycle's tests: the real guest agent code and a fake engine, both
//! on unix sockets.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use berth_core::BerthPaths;
use berth_link::guest::{self, GuestConfig};
use berth_vm::{Hypervisor, LinkEndpoint, StopOutcome, VmConfig, VmError, VmStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;
use tokio::task::AbortHandle;

use super::{lock, Artifacts, Lifecycle, VmFactory};

/// What a VM that dies at boot printed.
pub(super) const BOOT_OUTPUT: &str = "qemu-system-x86_64: could not open disk";
/// How long its start takes to clean up after the exit (longer than a scheduler's hiccup).
const BOOT_CLEANUP: Duration = Duration::from_millis(100);

/// Plays the VM: the guest agent (the real `berth_link::guest::serve`) behind a unix
/// socket, and a fake engine that answers every request with 200.
pub(super) struct FakeVm {
    pub(super) dir: PathBuf,
    pub(super) status: watch::Sender<VmStatus>,
    tasks: Mutex<Vec<AbortHandle>>,
    /// Set: the agent hangs (reads and writes never complete), its port stays open. A
    /// pause sets it and a resume clears it, as a paused guest's link behaves.
    pub(super) stalled: Arc<Stall>,
    /// Set: the hypervisor exits at once, as QEMU does when it cannot open its disk.
    dies_at_boot: bool,
}

/// A link that hangs both ways while set, and goes on where it was when cleared.
#[derive(Default)]
pub(super) struct Stall {
    on: AtomicBool,
    waiting: Mutex<Vec<std::task::Waker>>,
}

impl Stall {
    pub(super) fn set(&self, on: bool) {
        self.on.store(on, Ordering::SeqCst);
        if !on {
            for waker in lock(&self.waiting).drain(..) {
                waker.wake();
            }
        }
    }

    /// Whether the caller must wait (its waker is kept for the clear).
    fn holds(&self, cx: &std::task::Context<'_>) -> bool {
        if !self.on.load(Ordering::SeqCst) {
            return false;
        }
        lock(&self.waiting).push(cx.waker().clone());
        // Cleared between the check and the push: nobody would wake us.
        self.on.load(Ordering::SeqCst)
    }
}

/// The guest end of the link, which hangs while `stalled` is set.
struct Stallable {
    inner: UnixStream,
    stalled: Arc<Stall>,
}

impl tokio::io::AsyncRead for Stallable {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.stalled.holds(cx) {
            return std::task::Poll::Pending;
        }
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Stallable {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if self.stalled.holds(cx) {
            return std::task::Poll::Pending;
        }
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl FakeVm {
    /// What QEMU's start does when the process exits under it: the exit is published at once,
    /// the start cleans up (it stops virtiofsd) and then reports the exit with QEMU's output.
    async fn die_at_boot(&self) -> Result<(), VmError> {
        self.status.send_replace(VmStatus::Exited {
            code: Some(1),
            signal: None,
            requested: false,
        });
        tokio::time::sleep(BOOT_CLEANUP).await;
        Err(VmError::BootFailed {
            status: "code Some(1), signal None".into(),
            output: BOOT_OUTPUT.into(),
        })
    }

    pub(super) fn exit(&self, requested: bool, signal: Option<i32>) {
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
        let _ = std::fs::remove_file(self.dir.join("link.sock"));
        self.status.send_replace(VmStatus::Exited {
            code: None,
            signal,
            requested,
        });
    }
}

#[async_trait]
impl Hypervisor for FakeVm {
    async fn start(&self) -> Result<(), VmError> {
        if self.dies_at_boot {
            return self.die_at_boot().await;
        }
        let engine_sock = self.dir.join("guest-docker.sock");
        let _ = std::fs::remove_file(&engine_sock);
        let engine = UnixListener::bind(&engine_sock).unwrap();
        let engine_task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = engine.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    let n = conn.read(&mut buf).await.unwrap_or(0);
                    // No container runs in this engine.
                    let answer: &[u8] = if buf[..n].starts_with(b"GET /containers/json ") {
                        b"HTTP/1.0 200 OK\r\n\r\n[]"
                    } else {
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"
                    };
                    let _ = conn.write_all(answer).await;
                });
            }
        });
        let link = UnixListener::bind(self.dir.join("link.sock")).unwrap();
        let status = self.status.clone();
        let stalled = self.stalled.clone();
        let agent_task = tokio::spawn(async move {
            let cfg = Arc::new(GuestConfig::new(engine_sock));
            let stallable = move |inner| Stallable {
                inner,
                stalled: stalled.clone(),
            };
            if guest::serve_until_shutdown(link, cfg, stallable)
                .await
                .is_ok()
            {
                // The guest powers off on its own: QEMU exits with code 0.
                status.send_replace(VmStatus::Exited {
                    code: Some(0),
                    signal: None,
                    requested: false,
                });
            }
        });
        let mut tasks = lock(&self.tasks);
        tasks.push(engine_task.abort_handle());
        tasks.push(agent_task.abort_handle());
        self.status.send_replace(VmStatus::Running { pid: 1234 });
        Ok(())
    }

    async fn stop(&self, _graceful: Duration) -> Result<StopOutcome, VmError> {
        self.exit(true, None);
        Ok(StopOutcome::Graceful)
    }

    async fn kill(&self) -> Result<(), VmError> {
        if self.status.borrow().is_running() {
            self.exit(true, Some(9));
        }
        Ok(())
    }

    fn status(&self) -> watch::Receiver<VmStatus> {
        self.status.subscribe()
    }

    fn link_endpoint(&self) -> LinkEndpoint {
        LinkEndpoint::UnixSocket(self.dir.join("link.sock"))
    }

    fn describe(&self) -> String {
        "fake".into()
    }

    async fn pause(&self) -> Result<(), VmError> {
        self.stalled.set(true);
        Ok(())
    }

    async fn resume(&self) -> Result<(), VmError> {
        self.stalled.set(false);
        Ok(())
    }

    /// Its pid is made up: no process to measure.
    fn host_memory_bytes(&self) -> Option<u64> {
        None
    }
}

#[derive(Default)]
pub(super) struct FakeFactory {
    pub(super) last: Mutex<Option<Arc<FakeVm>>>,
    /// Every VM made exits at boot.
    pub(super) dies_at_boot: bool,
}

impl VmFactory for FakeFactory {
    fn create(&self, config: VmConfig) -> Result<Arc<dyn Hypervisor>, VmError> {
        std::fs::create_dir_all(&config.run_dir).unwrap();
        let vm = Arc::new(FakeVm {
            dir: config.run_dir.clone(),
            status: watch::channel(VmStatus::NotStarted).0,
            tasks: Mutex::new(Vec::new()),
            stalled: Arc::new(Stall::default()),
            dies_at_boot: self.dies_at_boot,
        });
        *lock(&self.last) = Some(vm.clone());
        Ok(vm)
    }
}

pub(super) fn lifecycle(home: &Path) -> (Lifecycle, Arc<FakeFactory>) {
    lifecycle_with(home, FakeFactory::default())
}

pub(super) fn lifecycle_with(home: &Path, factory: FakeFactory) -> (Lifecycle, Arc<FakeFactory>) {
    let paths = BerthPaths::under(home);
    paths.ensure().unwrap();
    let factory = Arc::new(factory);
    let image = berth_vm::GuestImage {
        dir: home.join("img"),
        arch: "x86_64".into(),
        kernel_cmdline: String::new(),
        hash: "h1".into(),
        docker_version: Some("26.1.5".into()),
    };
    let agent = home.join("agent");
    let lc = Lifecycle::with_artifacts(paths, factory.clone(), move || {
        Ok(Artifacts {
            image: image.clone(),
            agent: agent.clone(),
        })
    });
    (lc, factory)
}
