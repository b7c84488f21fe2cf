//! A Berth daemon for app tests: the real control server and lifecycle from `berth-daemon`, in
//! the test process, with a stand-in "VM": the real guest agent code (`berth_link::guest::serve`)
//! behind a unix socket, splicing to a real private dockerd from berth-testkit. Only QEMU is
//! missing (the VM tier boots the real one).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use async_trait::async_trait;
use berth_core::{ApiError, BerthPaths};
use berth_daemon::lifecycle::{Artifacts, Lifecycle, VmFactory};
use berth_link::guest::{self, GuestConfig};
use berth_vm::{Hypervisor, LinkEndpoint, StopOutcome, VmConfig, VmError, VmStatus};
use tokio::net::UnixListener;
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

pub const WAIT: Duration = Duration::from_secs(60);

/// A VM whose agent splices to the harness dockerd.
pub struct RelayVm {
    link: PathBuf,
    engine: PathBuf,
    status: watch::Sender<VmStatus>,
    tasks: Mutex<Vec<AbortHandle>>,
}

impl RelayVm {
    fn exit(&self, code: Option<i32>) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
        let _ = std::fs::remove_file(&self.link);
        self.status.send_replace(VmStatus::Exited {
            code,
            signal: None,
            requested: code.is_none(),
        });
    }
}

#[async_trait]
impl Hypervisor for RelayVm {
    async fn start(&self) -> Result<(), VmError> {
        let _ = std::fs::remove_file(&self.link);
        let listener = UnixListener::bind(&self.link).expect("bind the link socket");
        let cfg = Arc::new(GuestConfig::new(self.engine.clone()));
        let status = self.status.clone();
        let agent = tokio::spawn(async move {
            if guest::serve_until_shutdown(listener, cfg, |conn| conn)
                .await
                .is_ok()
            {
                // The guest powers off on its own, as the real agent makes it.
                status.send_replace(VmStatus::Exited {
                    code: Some(0),
                    signal: None,
                    requested: false,
                });
            }
        });
        self.tasks.lock().unwrap().push(agent.abort_handle());
        self.status.send_replace(VmStatus::Running { pid: 4242 });
        Ok(())
    }

    async fn stop(&self, _graceful: Duration) -> Result<StopOutcome, VmError> {
        self.exit(None);
        Ok(StopOutcome::Graceful)
    }

    async fn kill(&self) -> Result<(), VmError> {
        if self.status.borrow().is_running() {
            self.exit(None);
        }
        Ok(())
    }

    fn status(&self) -> watch::Receiver<VmStatus> {
        self.status.subscribe()
    }

    fn link_endpoint(&self) -> LinkEndpoint {
        LinkEndpoint::UnixSocket(self.link.clone())
    }

    fn describe(&self) -> String {
        "relay to the harness dockerd".into()
    }

    /// The test process stands in for the VM's process (its pid is made up): a real figure
    /// for the Engine page to show.
    fn host_memory_bytes(&self) -> Option<u64> {
        berth_vm::host_memory::resident_bytes(std::process::id())
    }
}

pub struct RelayFactory {
    pub engine: PathBuf,
}

impl VmFactory for RelayFactory {
    fn create(&self, config: VmConfig) -> Result<Arc<dyn Hypervisor>, VmError> {
        std::fs::create_dir_all(&config.run_dir).expect("run dir");
        Ok(Arc::new(RelayVm {
            link: config.run_dir.join("fake-link.sock"),
            engine: self.engine.clone(),
            status: watch::channel(VmStatus::NotStarted).0,
            tasks: Mutex::new(Vec::new()),
        }))
    }
}

/// The real daemon server in this process; it ends (like `berth daemon`) on a `quit` request.
pub struct Daemon {
    pub quit: CancellationToken,
    pub server: tokio::task::JoinHandle<()>,
}

impl Daemon {
    pub fn serve(paths: &BerthPaths, lifecycle: Lifecycle) -> Daemon {
        let listener =
            berth_link::relay::bind_private(&paths.control_socket()).expect("control socket");
        let quit = CancellationToken::new();
        let server = tokio::spawn(berth_daemon::server::serve(
            listener,
            Arc::new(lifecycle),
            quit.clone(),
        ));
        Daemon { quit, server }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.quit.cancel();
        self.server.abort();
    }
}

pub fn fake_artifacts(home: &Path) -> Artifacts {
    Artifacts {
        image: berth_vm::GuestImage {
            dir: home.join("img"),
            arch: "x86_64".into(),
            kernel_cmdline: String::new(),
            hash: "test".into(),
            docker_version: None,
        },
        agent: home.join("agent"),
    }
}

/// A daemon for `paths` whose engine is the dockerd at `engine`; `artifacts` can fail a start.
pub fn relay_daemon(
    paths: &BerthPaths,
    engine: &Path,
    artifacts: impl Fn() -> Result<Artifacts, ApiError> + Send + Sync + 'static,
) -> Daemon {
    let lifecycle = Lifecycle::with_artifacts(
        paths.clone(),
        Arc::new(RelayFactory {
            engine: engine.to_path_buf(),
        }),
        artifacts,
    );
    Daemon::serve(paths, lifecycle)
}

/// Once per test process, before any test spawns anything: starting the engine writes the
/// `berth` docker context, so keep it out of the user's `~/.docker`; and a daemon the app
/// would spawn (none should: each test serves its own) cannot start.
pub fn isolate_env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Under the target dir's scratch space (not /tmp): nothing is left behind outside it.
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("berth-app-test-docker-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("docker config dir");
        std::env::set_var("DOCKER_CONFIG", &dir);
        std::env::set_var(
            berth_api::daemon_client::DAEMON_EXE_VAR,
            dir.join("no-such-berth"),
        );
    });
}
