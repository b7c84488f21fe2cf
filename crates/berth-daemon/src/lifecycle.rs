//! The engine's life: start = boot -> agent handshake -> engine ping -> `Running`; stop =
//! `Shutdown` over the link, wait for the hypervisor to exit with a deadline, then force. Every
//! step is a transition of the one state machine in `berth-core`, and a VM that dies on its
//! own moves the machine to `Error` the moment its process is reaped.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_core::{
    ApiError, BerthPaths, EngineState, EngineStateCell, ErrorCode, Settings, StartPhase,
};
use berth_link::port_forwarder::ForwardEvent;
use berth_link::LinkClient;
use berth_vm::{Hypervisor, LinkEndpoint, VmConfig, VmError, VmStatus};
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::control::{AgentSummary, DaemonStatus, VmInfo};

/// How long the guest may take from QEMU start to the agent's hello (TCG boots in ~15 s).
const AGENT_DEADLINE: Duration = Duration::from_secs(180);
/// How long dockerd may take to answer once the agent is up.
const ENGINE_DEADLINE: Duration = Duration::from_secs(120);
const ENGINE_POLL: Duration = Duration::from_millis(200);
/// One ping's bound (the agent itself gives dockerd 2 s).
const PING_TIMEOUT: Duration = Duration::from_secs(5);
/// One handshake attempt's bound. Long on purpose: the hello waits in QEMU until the agent
/// opens its port (20-60 s under TCG); a reconnect is the last resort.
#[cfg(unix)]
const HANDSHAKE_TRY: Duration = Duration::from_secs(90);
/// How long the agent gets to acknowledge `Shutdown`.
const SHUTDOWN_ACK_DEADLINE: Duration = Duration::from_secs(5);
/// How long the guest gets to power off after acknowledging.
const POWEROFF_DEADLINE: Duration = Duration::from_secs(30);
/// How long a closed link waits for the VM's exit to explain it.
const LINK_GRACE: Duration = Duration::from_secs(1);
/// ACPI power-down grace when the link is gone.
const ACPI_DEADLINE: Duration = Duration::from_secs(5);

/// Names the guest agent binary to put in the initrd.
pub const AGENT_BIN_VAR: &str = "BERTH_AGENT_BIN";

/// Makes the hypervisor for a start: the real one, or a fake in tests.
pub trait VmFactory: Send + Sync {
    fn create(&self, config: VmConfig) -> Result<Arc<dyn Hypervisor>, VmError>;
}

/// This platform's hypervisor with real processes.
pub struct NativeVm;

impl VmFactory for NativeVm {
    fn create(&self, config: VmConfig) -> Result<Arc<dyn Hypervisor>, VmError> {
        berth_vm::native(config, Arc::new(berth_vm::SystemRunner)).map(Arc::from)
    }
}

/// Where the guest image and agent come from.
#[derive(Debug, Clone)]
pub struct Artifacts {
    pub image: berth_vm::GuestImage,
    pub agent: PathBuf,
}

impl Artifacts {
    /// `BERTH_VM_IMAGE_DIR` / installed / source tree image; `BERTH_AGENT_BIN` or the
    /// `berth-agent` beside the running binary.
    pub fn locate() -> Result<Artifacts, ApiError> {
        let exe = std::env::current_exe().ok();
        let image = berth_vm::image::locate(exe.as_deref()).map_err(vm_error)?;
        let agent = agent_candidates(
            std::env::var_os(AGENT_BIN_VAR).filter(|v| !v.is_empty()),
            exe.as_deref(),
            &image.dir,
        )
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::VmFailed,
                    format!(
                        "the guest agent binary is missing: set {AGENT_BIN_VAR} or put berth-agent beside berth"
                    ),
                )
            })?;
        Ok(Artifacts { image, agent })
    }
}

/// Where the guest agent binary may be, best first: the override; beside the running binary
/// (Linux packages, development builds); inside the image directory (the macOS app's
/// `Contents/Resources/vm-image/<arch>`, Windows' `<install dir>\vm-image\<arch>`).
/// With the override set, nothing else is tried.
fn agent_candidates(
    overridden: Option<std::ffi::OsString>,
    exe: Option<&Path>,
    image_dir: &Path,
) -> Vec<PathBuf> {
    if let Some(path) = overridden {
        return vec![PathBuf::from(path)];
    }
    let mut paths = Vec::new();
    if let Some(dir) = exe.and_then(Path::parent) {
        paths.push(dir.join("berth-agent"));
    }
    paths.push(image_dir.join("berth-agent"));
    paths
}

#[derive(Default)]
struct Active {
    hv: Option<Arc<dyn Hypervisor>>,
    link: Option<LinkClient>,
    tasks: Vec<AbortHandle>,
}

#[derive(Default)]
struct Shown {
    vm: Option<VmInfo>,
    agent: Option<AgentSummary>,
    vm_status: Option<watch::Receiver<VmStatus>>,
    port_warnings: crate::published_ports::PortWarnings,
}

pub struct Lifecycle {
    paths: BerthPaths,
    factory: Arc<dyn VmFactory>,
    artifacts: Box<dyn Fn() -> Result<Artifacts, ApiError> + Send + Sync>,
    cell: Arc<EngineStateCell>,
    /// Serializes start and stop.
    op: tokio::sync::Mutex<Active>,
    /// Cancels the start in progress (a stop wins over a start).
    cancel: Mutex<CancellationToken>,
    shown: Arc<Mutex<Shown>>,
    health: crate::health::HealthPolicy,
}

impl Lifecycle {
    pub fn new(paths: BerthPaths, factory: Arc<dyn VmFactory>) -> Self {
        Self::with_artifacts(paths, factory, Artifacts::locate)
    }

    pub fn with_artifacts(
        paths: BerthPaths,
        factory: Arc<dyn VmFactory>,
        artifacts: impl Fn() -> Result<Artifacts, ApiError> + Send + Sync + 'static,
    ) -> Self {
        Lifecycle {
            paths,
            factory,
            artifacts: Box::new(artifacts),
            cell: Arc::new(EngineStateCell::default()),
            op: tokio::sync::Mutex::new(Active::default()),
            cancel: Mutex::new(CancellationToken::new()),
            shown: Arc::new(Mutex::new(Shown::default())),
            health: crate::health::HealthPolicy::default(),
        }
    }

    /// How the running engine is pinged (tests use short intervals).
    pub fn with_health(mut self, policy: crate::health::HealthPolicy) -> Self {
        self.health = policy;
        self
    }

    pub fn paths(&self) -> &BerthPaths {
        &self.paths
    }

    pub fn subscribe(&self) -> watch::Receiver<EngineState> {
        self.cell.subscribe()
    }

    /// The port warnings [`Lifecycle::status`] shows (a shared handle: subscribe to changes).
    pub(crate) fn port_warnings(&self) -> crate::published_ports::PortWarnings {
        lock(&self.shown).port_warnings.clone()
    }

    /// Every transition so far (for diagnostics).
    pub fn history(&self) -> Vec<berth_core::state::Transition> {
        self.cell.history()
    }

    pub fn status(&self) -> DaemonStatus {
        let shown = lock(&self.shown);
        let mut vm = shown.vm.clone();
        if let (Some(vm), Some(rx)) = (vm.as_mut(), shown.vm_status.as_ref()) {
            vm.pid = rx.borrow().pid();
        }
        DaemonStatus {
            state: self.cell.get(),
            daemon_pid: std::process::id(),
            endpoint: engine_host(&self.paths),
            vm,
            agent: shown.agent.clone(),
            port_warnings: shown.port_warnings.list(),
        }
    }

    /// Boots the engine; returns when it answers (or why it cannot).
    pub async fn start(&self) -> Result<DaemonStatus, ApiError> {
        let mut active = self.op.lock().await;
        if self.cell.get().is_running() {
            return Ok(self.status());
        }
        // An engine in Error may still have a VM: clear it away first.
        self.teardown(&mut active).await;
        let token = CancellationToken::new();
        *lock(&self.cancel) = token.clone();
        self.transition(EngineState::Starting {
            phase: StartPhase::BootingVm,
        });
        match self.boot(&mut active, &token).await {
            Ok(()) => {
                self.transition(EngineState::running_now());
                info!("engine running");
                Ok(self.status())
            }
            Err(err) => {
                self.teardown(&mut active).await;
                if !token.is_cancelled() {
                    self.transition(EngineState::Error {
                        code: err.code,
                        message: err.message.clone(),
                    });
                }
                Err(err)
            }
        }
    }

    /// Stops the engine: graceful first, then by force. A start in progress is abandoned.
    pub async fn stop(&self) -> Result<DaemonStatus, ApiError> {
        lock(&self.cancel).cancel();
        let mut active = self.op.lock().await;
        if self.cell.get() == EngineState::Stopped {
            return Ok(self.status());
        }
        self.transition(EngineState::Stopping);
        self.shut_down(&mut active).await;
        self.teardown(&mut active).await;
        self.transition(EngineState::Stopped);
        info!("engine stopped");
        Ok(self.status())
    }

    pub async fn restart(&self) -> Result<DaemonStatus, ApiError> {
        self.stop().await?;
        self.start().await
    }

    fn transition(&self, next: EngineState) {
        if let Err(err) = self.cell.transition(next) {
            warn!(%err, "ignored an invalid engine transition");
        }
    }

    async fn boot(&self, active: &mut Active, token: &CancellationToken) -> Result<(), ApiError> {
        crate::make_files_private(&self.paths);
        let settings = Settings::load(&self.paths.settings_file())
            .map_err(|e| ApiError::from_error(ErrorCode::InvalidSettings, &e))?;
        let artifacts = (self.artifacts)()?;
        let config = VmConfig {
            cpus: settings.vm.cpus,
            memory_mib: u64::from(settings.vm.memory_mib),
            disk_gib: u64::from(settings.vm.disk_gib),
            image: artifacts.image.clone(),
            agent: artifacts.agent,
            run_dir: self.paths.run_dir.clone(),
            data_dir: self.paths.data_dir.join("vm"),
            logs_dir: self.paths.logs_dir.clone(),
            shares: berth_vm::share::folders_to_share(
                &settings.shared_folders,
                berth_vm::share::home_folder(),
            ),
        };
        let hv = self.factory.create(config.clone()).map_err(vm_error)?;
        // Every host program the backend runs is there, or nothing starts.
        berth_vm::host_tools::check(&hv.host_tools()).map_err(vm_error)?;
        active.hv = Some(hv.clone());
        {
            let mut shown = lock(&self.shown);
            shown.vm = Some(VmInfo {
                pid: None,
                hypervisor: hv.describe(),
                cpus: config.cpus,
                memory_mib: config.memory_mib,
                disk_gib: config.disk_gib,
                image_hash: config.image.hash.clone(),
                docker_version: config.image.docker_version.clone(),
                console_log: config.logs_dir.join(berth_vm::qemu::CONSOLE_LOG),
            });
            shown.vm_status = Some(hv.status());
            shown.agent = None;
            shown.port_warnings.clear();
        }
        let vm_status = hv.status();
        guard(token, &vm_status, hv.start())
            .await?
            .map_err(vm_error)?;
        active.tasks.push(self.supervise(hv.status()));

        self.transition(EngineState::Starting {
            phase: StartPhase::WaitingForAgent,
        });
        let endpoint = hv.link_endpoint();
        let client = guard(token, &vm_status, async {
            tokio::time::timeout(AGENT_DEADLINE, open_link(&endpoint, hv.as_ref())).await
        })
        .await?
        .map_err(|_| {
            ApiError::new(
                ErrorCode::Timeout,
                format!(
                    "the guest agent did not answer within {} s; see `berth logs --vm`",
                    AGENT_DEADLINE.as_secs()
                ),
            )
        })??;
        active.link = Some(client.clone());

        self.transition(EngineState::Starting {
            phase: StartPhase::WaitingForEngine,
        });
        let engine_deadline = tokio::time::Instant::now() + ENGINE_DEADLINE;
        let mut client = client;
        let info = loop {
            match guard(token, &vm_status, wait_engine(&client, engine_deadline)).await? {
                Ok(info) => break info,
                // A link that stopped answering gets one fresh session (the agent re-handshakes).
                Err(EngineWait::Stalled) => {
                    warn!("the link stopped answering; reconnecting");
                    active.link = None;
                    drop(client);
                    client = guard(token, &vm_status, async {
                        tokio::time::timeout_at(engine_deadline, open_link(&endpoint, hv.as_ref()))
                            .await
                    })
                    .await?
                    .map_err(|_| engine_timeout("the link stopped answering"))??;
                    active.link = Some(client.clone());
                }
                Err(EngineWait::Failed(err)) => return Err(err),
            }
        };
        lock(&self.shown).agent = Some(AgentSummary {
            version: info.version,
            protocol: info.protocol,
        });
        // The relay runs on the link's own thread, next to the multiplexer it feeds.
        #[cfg(unix)]
        let relay =
            berth_link::relay::spawn_on_link_thread(self.paths.engine_socket(), client.clone())
                .await
                .map_err(|e| ApiError::from_error(ErrorCode::Io, &e))?;
        #[cfg(windows)]
        let relay = spawn_pipe_relay(client.clone());
        active.tasks.push(relay);
        active
            .tasks
            .push(self.forward_ports(&settings, client.clone(), token).await);
        active.tasks.push(crate::health::watch(
            client.clone(),
            self.cell.clone(),
            self.health,
        ));
        active.tasks.push(self.watch_link(client, hv.status()));
        Ok(())
    }

    /// Publishes the containers' ports on the host for as long as this start lasts.
    async fn forward_ports(
        &self,
        settings: &Settings,
        client: LinkClient,
        token: &CancellationToken,
    ) -> AbortHandle {
        // Validated when the settings were loaded; the default is loopback only.
        let bind_address = settings
            .ports
            .bind_address
            .parse()
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        let endpoint = berth_engine::Endpoint::from_docker_host(engine_host(&self.paths));
        let token = token.child_token();
        let warnings = lock(&self.shown).port_warnings.clone();
        tokio::spawn(async move {
            let engine = match berth_engine::Engine::connect(&endpoint).await {
                Ok(engine) => engine,
                Err(error) => {
                    warn!(%error, "cannot follow the engine to publish ports");
                    return;
                }
            };
            crate::published_ports::follow(
                engine,
                Arc::new(client),
                bind_address,
                move |event| match event {
                    ForwardEvent::Failed {
                        ref message,
                        ref binding,
                        ..
                    } => {
                        warn!(container = binding.container, "{message}");
                        warnings.record(&event);
                    }
                    other => {
                        debug!(?other, "port forwarding changed");
                        warnings.record(&other);
                    }
                },
                token,
            )
            .await;
        })
        .abort_handle()
    }

    /// A VM that exits while nobody asked for it moves the engine to Error at once.
    fn supervise(&self, mut rx: watch::Receiver<VmStatus>) -> AbortHandle {
        let cell = self.cell.clone();
        let socket = self.paths.engine_socket();
        tokio::spawn(async move {
            let Ok(status) = rx
                .wait_for(|s| matches!(s, VmStatus::Exited { .. }))
                .await
                .map(|s| s.clone())
            else {
                return;
            };
            let VmStatus::Exited {
                code,
                signal,
                requested: false,
            } = status
            else {
                return;
            };
            if matches!(cell.get(), EngineState::Stopping | EngineState::Stopped) {
                return; // the guest powered off because we asked it to
            }
            let how = match (code, signal) {
                (_, Some(signal)) => format!("was killed by signal {signal}"),
                (Some(code), None) => format!("exited with code {code}"),
                (None, None) => "exited".to_string(),
            };
            let message = format!("the VM {how}; see `berth logs --vm`");
            warn!(%message, "engine failed");
            let _ = std::fs::remove_file(&socket);
            let _ = cell.transition(EngineState::Error {
                code: ErrorCode::VmFailed,
                message,
            });
        })
        .abort_handle()
    }

    /// A link that breaks under a running engine is an Error too (the relay is dead). When the
    /// VM itself died, the supervisor names that cause instead.
    fn watch_link(&self, client: LinkClient, mut vm: watch::Receiver<VmStatus>) -> AbortHandle {
        let cell = self.cell.clone();
        tokio::spawn(async move {
            client.closed().await;
            let vm_gone = berth_vm::wait_status(&mut vm, LINK_GRACE, |s| !s.is_running())
                .await
                .is_some();
            if !vm_gone && cell.get().is_running() {
                let _ = cell.transition(EngineState::Error {
                    code: ErrorCode::VmFailed,
                    message: "the link to the guest agent closed".into(),
                });
            }
        })
        .abort_handle()
    }

    /// Asks the guest to power off and waits, then forces.
    async fn shut_down(&self, active: &mut Active) {
        let Some(hv) = active.hv.clone() else {
            return;
        };
        let mut rx = hv.status();
        if !rx.borrow().is_running() {
            return;
        }
        hv.expect_exit();
        let acked = match &active.link {
            Some(link) if !link.is_closed() => matches!(
                tokio::time::timeout(SHUTDOWN_ACK_DEADLINE, link.shutdown()).await,
                Ok(Ok(()))
            ),
            _ => false,
        };
        if acked {
            let exited = berth_vm::wait_status(&mut rx, POWEROFF_DEADLINE, |s| !s.is_running())
                .await
                .is_some();
            if exited {
                info!("guest powered off");
                return;
            }
            warn!("the guest did not power off in time");
        }
        match hv.stop(ACPI_DEADLINE).await {
            Ok(outcome) => info!(?outcome, "VM stopped"),
            Err(err) => warn!(%err, "cannot stop the VM"),
        }
    }

    /// Ends every task and process of the last start; idempotent.
    async fn teardown(&self, active: &mut Active) {
        for task in active.tasks.drain(..) {
            task.abort();
        }
        active.link = None;
        if let Some(hv) = active.hv.take() {
            if let Err(err) = hv.kill().await {
                warn!(%err, "cannot kill the VM");
            }
        }
        let _ = std::fs::remove_file(self.paths.engine_socket());
        lock(&self.shown).port_warnings.clear();
    }
}

/// Runs `fut` unless the start is cancelled or the VM exits first.
async fn guard<T>(
    token: &CancellationToken,
    vm: &watch::Receiver<VmStatus>,
    fut: impl std::future::Future<Output = T>,
) -> Result<T, ApiError> {
    let mut vm = vm.clone();
    tokio::select! {
        out = fut => Ok(out),
        () = token.cancelled() => Err(ApiError::new(ErrorCode::Conflict, "the start was cancelled by a stop")),
        status = vm.wait_for(|s| matches!(s, VmStatus::Exited { .. })) => {
            let detail = status.map(|s| format!("{:?}", *s)).unwrap_or_default();
            Err(ApiError::new(ErrorCode::VmFailed, format!("the VM exited during start ({detail}); see `berth logs --vm`")))
        }
    }
}

pub use berth_control::endpoint::engine_host;

/// Serves the engine pipe over `client` until the link closes, rewriting the bind paths of
/// container creates to the WSL distro's (`C:\x` -> `/mnt/c/x`).
#[cfg(windows)]
fn spawn_pipe_relay(client: LinkClient) -> AbortHandle {
    let rewrite: Arc<berth_link::create_rewrite::RewriteBody> = Arc::new(|body: &[u8]| {
        berth_vm::wsl::paths::rewrite_create_body(body, berth_vm::wsl::DISTRO)
            .map_err(|e| e.to_string())
    });
    tokio::spawn(async move {
        if let Err(error) = berth_link::named_pipe::serve_named_pipe(client, rewrite).await {
            warn!(%error, "the engine pipe stopped serving");
        }
    })
    .abort_handle()
}

/// Opens the link where the hypervisor says it is.
async fn open_link(endpoint: &LinkEndpoint, hv: &dyn Hypervisor) -> Result<LinkClient, ApiError> {
    match endpoint {
        // On the link's own thread: the socket and the multiplexer are driven there, with the
        // engine relay (see berth_link::host::link_runtime).
        LinkEndpoint::UnixSocket(path) => {
            let path = path.clone();
            berth_link::host::on_link_thread(async move { connect_link(&path).await }).await
        }
        // One stream per start: a stdio link that was already used cannot be opened again.
        LinkEndpoint::Stdio => {
            let io = hv.take_link_io().ok_or_else(|| {
                ApiError::new(
                    ErrorCode::VmFailed,
                    "the agent's stdio link is gone; restart the engine",
                )
            })?;
            LinkClient::handshake(io)
                .await
                .map_err(|e| ApiError::from_error(ErrorCode::VmFailed, &e))
        }
    }
}

/// Connects to the link socket and handshakes. An attempt that gets no answer is dropped and
/// retried: the guest discards what arrives before its agent opens the port, and QEMU accepts
/// a new client once the old one hangs up. The caller bounds the whole wait.
#[cfg(not(unix))]
async fn connect_link(path: &Path) -> Result<LinkClient, ApiError> {
    Err(ApiError::new(
        ErrorCode::Unsupported,
        format!("the link socket {} is a unix socket", path.display()),
    ))
}

#[cfg(unix)]
async fn connect_link(path: &Path) -> Result<LinkClient, ApiError> {
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let stream = match tokio::net::UnixStream::connect(path).await {
            Ok(stream) => stream,
            Err(err) => {
                debug!(%err, attempt, "link socket not ready");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        match tokio::time::timeout(HANDSHAKE_TRY, LinkClient::handshake(stream)).await {
            Ok(Ok(client)) => return Ok(client),
            // Retrying cannot help: the agent in the guest is from another Berth build.
            Ok(Err(err @ berth_link::LinkError::VersionMismatch { .. })) => {
                return Err(ApiError::new(
                    ErrorCode::VmFailed,
                    format!("the guest agent does not fit this Berth ({err}); reinstall Berth or point BERTH_AGENT_BIN at a matching berth-agent"),
                ))
            }
            Ok(Err(err)) => {
                debug!(%err, attempt, "link handshake failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(_) => debug!(attempt, "no hello from the agent yet"),
        }
    }
}

enum EngineWait {
    /// Pings stopped getting answers: the link needs a new session.
    Stalled,
    Failed(ApiError),
}

fn engine_timeout(last: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Timeout,
        format!(
            "the guest engine did not answer within {} s ({last}); see `berth logs --vm`",
            ENGINE_DEADLINE.as_secs()
        ),
    )
}

async fn wait_engine(
    client: &LinkClient,
    deadline: tokio::time::Instant,
) -> Result<berth_link::AgentInfo, EngineWait> {
    let mut last: String;
    let mut unanswered = 0;
    loop {
        match tokio::time::timeout(PING_TIMEOUT, client.ping()).await {
            Ok(Ok(info)) if info.docker_ready => return Ok(info),
            Ok(Ok(_)) => {
                unanswered = 0;
                last = "the agent reports the engine is not ready".into();
            }
            Ok(Err(err)) => {
                return Err(EngineWait::Failed(ApiError::from_error(
                    ErrorCode::VmFailed,
                    &err,
                )))
            }
            Err(_) => {
                unanswered += 1;
                last = format!("a ping got no answer within {} s", PING_TIMEOUT.as_secs());
                warn!("{last}");
                if unanswered >= 2 {
                    return Err(EngineWait::Stalled);
                }
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(EngineWait::Failed(engine_timeout(&last)));
        }
        tokio::time::sleep(ENGINE_POLL).await;
    }
}

fn vm_error(err: VmError) -> ApiError {
    let code = match err {
        VmError::Unsupported { .. } => ErrorCode::Unsupported,
        VmError::MissingTool { .. } => ErrorCode::MissingTool,
        _ => ErrorCode::VmFailed,
    };
    ApiError::from_error(code, &err)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// The fake VM serves its agent and engine on unix sockets.
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use berth_link::guest::{self, GuestConfig, Outcome};
    use berth_vm::StopOutcome;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::UnixListener;
    use tokio::net::UnixStream;

    /// Plays the VM: the guest agent (the real `berth_link::guest::serve`) behind a unix
    /// socket, and a fake engine that answers every request with 200.
    struct FakeVm {
        dir: PathBuf,
        status: watch::Sender<VmStatus>,
        tasks: Mutex<Vec<AbortHandle>>,
        /// Set: the agent hangs (reads and writes never complete), its port stays open.
        stalled: Arc<AtomicBool>,
    }

    /// The guest end of the link, which hangs once `stalled` is set.
    struct Stallable {
        inner: UnixStream,
        stalled: Arc<AtomicBool>,
    }

    impl tokio::io::AsyncRead for Stallable {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            if self.stalled.load(Ordering::SeqCst) {
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
            if self.stalled.load(Ordering::SeqCst) {
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
        fn exit(&self, requested: bool, signal: Option<i32>) {
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
            let engine_sock = self.dir.join("guest-docker.sock");
            let _ = std::fs::remove_file(&engine_sock);
            let engine = UnixListener::bind(&engine_sock).unwrap();
            let engine_task = tokio::spawn(async move {
                while let Ok((mut conn, _)) = engine.accept().await {
                    tokio::spawn(async move {
                        let mut buf = [0u8; 1024];
                        let _ = conn.read(&mut buf).await;
                        let _ = conn
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
                            .await;
                    });
                }
            });
            let link = UnixListener::bind(self.dir.join("link.sock")).unwrap();
            let status = self.status.clone();
            let stalled = self.stalled.clone();
            let agent_task = tokio::spawn(async move {
                let cfg = Arc::new(GuestConfig::new(engine_sock));
                while let Ok((conn, _)) = link.accept().await {
                    let conn = Stallable {
                        inner: conn,
                        stalled: stalled.clone(),
                    };
                    if let Ok(Outcome::ShutdownRequested) = guest::serve(conn, cfg.clone()).await {
                        // The guest powers off on its own: QEMU exits with code 0.
                        status.send_replace(VmStatus::Exited {
                            code: Some(0),
                            signal: None,
                            requested: false,
                        });
                        return;
                    }
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
    }

    #[derive(Default)]
    struct FakeFactory {
        last: Mutex<Option<Arc<FakeVm>>>,
    }

    impl VmFactory for FakeFactory {
        fn create(&self, config: VmConfig) -> Result<Arc<dyn Hypervisor>, VmError> {
            std::fs::create_dir_all(&config.run_dir).unwrap();
            let vm = Arc::new(FakeVm {
                dir: config.run_dir.clone(),
                status: watch::channel(VmStatus::NotStarted).0,
                tasks: Mutex::new(Vec::new()),
                stalled: Arc::new(AtomicBool::new(false)),
            });
            *lock(&self.last) = Some(vm.clone());
            Ok(vm)
        }
    }

    fn lifecycle(home: &Path) -> (Lifecycle, Arc<FakeFactory>) {
        let paths = BerthPaths::under(home);
        paths.ensure().unwrap();
        let factory = Arc::new(FakeFactory::default());
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

    async fn ping_through(socket: &Path) -> String {
        let mut conn = UnixStream::connect(socket).await.unwrap();
        conn.write_all(b"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n")
            .await
            .unwrap();
        let mut buf = vec![0u8; 64];
        let n = conn.read(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[tokio::test]
    async fn start_walks_every_phase_and_serves_the_engine_socket() {
        let home = tempfile::tempdir().unwrap();
        let (lc, _factory) = lifecycle(home.path());
        let status = lc.start().await.unwrap();
        assert!(status.state.is_running());
        assert_eq!(status.vm.as_ref().unwrap().pid, Some(1234));
        assert_eq!(
            status.agent.as_ref().unwrap().protocol,
            berth_link::handshake::PROTOCOL_VERSION
        );
        // A watcher may see fast transitions merged; the history has every one.
        let phases: Vec<_> = lc.history().iter().map(|t| format!("{:?}", t.to)).collect();
        assert_eq!(phases.len(), 4, "{phases:?}");
        assert!(phases[0].contains("BootingVm") && phases[1].contains("WaitingForAgent"));
        assert!(phases[2].contains("WaitingForEngine") && phases[3].contains("Running"));

        let socket = home.path().join("run/docker.sock");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(ping_through(&socket).await.starts_with("HTTP/1.1 200"));
        // Idempotent.
        assert!(lc.start().await.unwrap().state.is_running());
    }

    #[tokio::test]
    async fn stop_is_graceful_through_the_agent() {
        let home = tempfile::tempdir().unwrap();
        let (lc, factory) = lifecycle(home.path());
        lc.start().await.unwrap();
        let status = lc.stop().await.unwrap();
        assert_eq!(status.state, EngineState::Stopped);
        let vm = lock(&factory.last).clone().unwrap();
        // The agent powered the guest off (not a kill by the host).
        assert_eq!(
            *vm.status.borrow(),
            VmStatus::Exited {
                code: Some(0),
                signal: None,
                requested: false
            }
        );
        assert!(!home.path().join("run/docker.sock").exists());
        // Stopping a stopped engine is fine.
        assert_eq!(lc.stop().await.unwrap().state, EngineState::Stopped);
    }

    #[tokio::test]
    async fn a_crash_is_an_error_at_once_and_start_recovers() {
        let home = tempfile::tempdir().unwrap();
        let (lc, factory) = lifecycle(home.path());
        lc.start().await.unwrap();
        let mut rx = lc.subscribe();
        let vm = lock(&factory.last).clone().unwrap();
        let crashed_at = tokio::time::Instant::now();
        vm.exit(false, Some(9));
        let state = tokio::time::timeout(
            Duration::from_secs(2),
            rx.wait_for(|s| matches!(s, EngineState::Error { .. })),
        )
        .await
        .expect("Error within 2 s")
        .unwrap()
        .clone();
        assert!(crashed_at.elapsed() < Duration::from_secs(2));
        let EngineState::Error { code, message } = state else {
            unreachable!()
        };
        assert_eq!(code, ErrorCode::VmFailed);
        assert!(message.contains("signal 9"), "{message}");
        assert!(lc.start().await.unwrap().state.is_running());
        assert!(ping_through(&home.path().join("run/docker.sock"))
            .await
            .starts_with("HTTP/1.1 200"));
    }

    fn quick_health() -> crate::health::HealthPolicy {
        crate::health::HealthPolicy {
            interval: Duration::from_millis(100),
            timeout: Duration::from_millis(300),
            misses: 2,
        }
    }

    #[tokio::test]
    async fn a_hung_agent_is_an_error_with_the_reason() {
        let home = tempfile::tempdir().unwrap();
        let (lc, factory) = lifecycle(home.path());
        let lc = lc.with_health(quick_health());
        lc.start().await.unwrap();
        // Healthy pings keep it running.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(lc.status().state.is_running());
        let vm = lock(&factory.last).clone().unwrap();
        vm.stalled.store(true, Ordering::SeqCst);
        let mut rx = lc.subscribe();
        let state = tokio::time::timeout(
            Duration::from_secs(10),
            rx.wait_for(|s| matches!(s, EngineState::Error { .. })),
        )
        .await
        .expect("Error once pings go unanswered")
        .unwrap()
        .clone();
        let EngineState::Error { code, message } = state else {
            unreachable!()
        };
        assert_eq!(code, ErrorCode::VmFailed);
        assert!(message.contains("did not answer a ping"), "{message}");
        assert!(vm.status.borrow().is_running(), "the VM itself still runs");
        // Retry works: a fresh VM.
        assert!(lc.start().await.unwrap().state.is_running());
    }

    #[tokio::test]
    async fn an_engine_its_agent_reports_down_is_an_error() {
        let home = tempfile::tempdir().unwrap();
        let (lc, factory) = lifecycle(home.path());
        let lc = lc.with_health(quick_health());
        lc.start().await.unwrap();
        let vm = lock(&factory.last).clone().unwrap();
        // dockerd in the guest is gone; the agent still answers.
        std::fs::remove_file(vm.dir.join("guest-docker.sock")).unwrap();
        let mut rx = lc.subscribe();
        let state = tokio::time::timeout(
            Duration::from_secs(10),
            rx.wait_for(|s| matches!(s, EngineState::Error { .. })),
        )
        .await
        .expect("Error once the engine stays down")
        .unwrap()
        .clone();
        let EngineState::Error { message, .. } = state else {
            unreachable!()
        };
        assert!(message.contains("stopped answering its agent"), "{message}");
    }

    #[tokio::test]
    async fn auto_restart_brings_a_hung_engine_back() {
        let home = tempfile::tempdir().unwrap();
        let (lc, factory) = lifecycle(home.path());
        std::fs::write(
            home.path().join("config/settings.toml"),
            "[app]\nauto_restart_engine = true\n",
        )
        .unwrap();
        let lc = Arc::new(lc.with_health(quick_health()));
        let backoff = crate::health::Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
            stable: Duration::from_secs(60),
        };
        let restarts = crate::health::auto_restart(lc.clone(), backoff);
        lc.start().await.unwrap();
        let first = lock(&factory.last).clone().unwrap();
        first.stalled.store(true, Ordering::SeqCst);
        let mut rx = lc.subscribe();
        tokio::time::timeout(
            Duration::from_secs(10),
            rx.wait_for(|s| matches!(s, EngineState::Error { .. })),
        )
        .await
        .expect("the stall is noticed")
        .unwrap();
        tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|s| s.is_running()))
            .await
            .expect("restarted automatically")
            .unwrap();
        let second = lock(&factory.last).clone().unwrap();
        assert!(!Arc::ptr_eq(&first, &second), "a new VM was booted");
        assert!(
            !first.status.borrow().is_running(),
            "the hung VM was killed"
        );
        restarts.abort();
    }

    // Paused time: the sleeps below advance the clock instantly and exactly, so the count and
    // the gaps do not depend on how loaded the machine is.
    #[tokio::test(start_paused = true)]
    async fn auto_restart_backs_off_and_only_when_enabled() {
        let home = tempfile::tempdir().unwrap();
        let paths = BerthPaths::under(home.path());
        paths.ensure().unwrap();
        std::fs::write(paths.settings_file(), "[app]\nauto_restart_engine = true\n").unwrap();
        let attempts = Arc::new(Mutex::new(Vec::<tokio::time::Instant>::new()));
        let seen = attempts.clone();
        let lc = Arc::new(Lifecycle::with_artifacts(
            paths.clone(),
            Arc::new(FakeFactory::default()),
            move || {
                lock(&seen).push(tokio::time::Instant::now());
                Err(ApiError::new(ErrorCode::VmFailed, "no image"))
            },
        ));
        let backoff = crate::health::Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_millis(400),
            stable: Duration::from_secs(60),
        };
        let restarts = crate::health::auto_restart(lc.clone(), backoff);
        assert!(lc.start().await.is_err());
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let times = lock(&attempts).clone();
        // 1 + restarts after 100, 200, 400, 400 ms: a fast loop would make hundreds.
        assert!((3..=6).contains(&times.len()), "{} attempts", times.len());
        for (i, pair) in times.windows(2).enumerate() {
            let gap = pair[1] - pair[0];
            assert!(gap >= backoff.delay(i as u32), "gap {i} was {gap:?}");
        }
        // Turned off: the next failure stays an Error.
        std::fs::write(
            paths.settings_file(),
            "[app]\nauto_restart_engine = false\n",
        )
        .unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
        let count = lock(&attempts).len();
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert_eq!(lock(&attempts).len(), count, "no restart once disabled");
        assert!(matches!(lc.status().state, EngineState::Error { .. }));
        restarts.abort();
    }

    #[test]
    fn the_agent_is_looked_for_beside_berth_then_in_the_image() {
        let image = Path::new("/Applications/Berth.app/Contents/Resources/vm-image/aarch64");
        let exe = Path::new("/Applications/Berth.app/Contents/MacOS/berth");
        assert_eq!(
            agent_candidates(None, Some(exe), image),
            [
                PathBuf::from("/Applications/Berth.app/Contents/MacOS/berth-agent"),
                image.join("berth-agent")
            ]
        );
        assert_eq!(
            agent_candidates(Some("/x/agent".into()), Some(exe), image),
            [PathBuf::from("/x/agent")]
        );
    }

    #[tokio::test]
    async fn missing_artifacts_are_an_error_state() {
        let home = tempfile::tempdir().unwrap();
        let paths = BerthPaths::under(home.path());
        paths.ensure().unwrap();
        let lc = Lifecycle::with_artifacts(paths, Arc::new(FakeFactory::default()), || {
            Err(ApiError::new(ErrorCode::VmFailed, "no image"))
        });
        let err = lc.start().await.unwrap_err();
        assert_eq!(err.message, "no image");
        assert!(matches!(lc.status().state, EngineState::Error { .. }));
    }
}
