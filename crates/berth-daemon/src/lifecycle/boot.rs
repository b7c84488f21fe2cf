//! A start's phases: boot the VM, wait for the agent, wait for the engine, then serve it.

use std::sync::Arc;
use std::time::Duration;

use berth_core::boot::BootTimeline;
use berth_core::{ApiError, EngineState, ErrorCode, Settings, StartPhase};
#[cfg(unix)]
use berth_link::activity::Use;
use berth_link::port_forwarder::ForwardEvent;
#[cfg(unix)]
use berth_link::relay::Door;
use berth_link::LinkClient;
use berth_vm::{VmConfig, VmStatus};
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::agent_link::open_link;
use super::{lock, vm_error, Active, Lifecycle};
use crate::control::{AgentSummary, VmInfo};

/// How long the guest may take from QEMU start to the agent's hello (TCG boots in ~15 s).
const AGENT_DEADLINE: Duration = Duration::from_secs(180);
/// How long dockerd may take to answer once the agent is up.
const ENGINE_DEADLINE: Duration = Duration::from_secs(120);
const ENGINE_POLL: Duration = Duration::from_millis(200);
/// One ping's bound (the agent itself gives dockerd 2 s).
const PING_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the guest's last boot marks may trail the engine answering.
const BOOT_MARKS_DEADLINE: Duration = Duration::from_secs(5);

impl Lifecycle {
    pub(super) async fn boot(
        &self,
        active: &mut Active,
        token: &CancellationToken,
    ) -> Result<(), ApiError> {
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
            backend: settings.vm.backend,
            link: settings.vm.link,
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
                link: Some(hv.link_kind()),
                cpus: config.cpus,
                memory_mib: config.memory_mib,
                disk_gib: config.disk_gib,
                image_hash: config.image.hash.clone(),
                docker_version: config.image.docker_version.clone(),
                console_log: config.logs_dir.join(berth_vm::qemu::CONSOLE_LOG),
                host_memory_bytes: None,
            });
            shown.hv = Some(hv.clone());
            shown.agent = None;
            shown.boot = None;
            shown.port_warnings.clear();
        }
        // Not raced against the VM's exit: the backend's start watches for that itself and
        // says why, with the hypervisor's own output (BootFailed), which `guard` cannot.
        let booting = std::time::Instant::now();
        unless_cancelled(token, hv.start())
            .await?
            .map_err(vm_error)?;
        let vm_status = hv.status();
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
        let link_up = booting.elapsed();

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
        let timeline = BootTimeline {
            guest: info.boot_marks,
            link_up_ms: millis(link_up),
            engine_ready_ms: millis(booting.elapsed()),
        };
        {
            let mut shown = lock(&self.shown);
            shown.agent = Some(AgentSummary {
                version: info.version,
                protocol: info.protocol,
            });
            shown.boot = Some(timeline.clone());
        }
        active
            .tasks
            .push(self.complete_boot_marks(client.clone(), timeline));
        // The relays run on the link's own thread, next to the multiplexer they feed: the
        // user's socket, and Berth's own (whose open connections do not keep the VM awake).
        let rewrite = bind_path_rewrite(hv.as_ref());
        #[cfg(unix)]
        for (socket, usage) in [
            (self.paths.engine_socket(), Use::Counted),
            (self.paths.app_engine_socket(), Use::Quiet),
        ] {
            let door = Door {
                gate: self.gate.clone(),
                usage,
                rewrite: rewrite.clone(),
            };
            let relay = berth_link::relay::spawn_on_link_thread(socket, client.clone(), door)
                .await
                .map_err(|e| ApiError::from_error(ErrorCode::Io, &e))?;
            active.tasks.push(relay);
        }
        #[cfg(windows)]
        active.tasks.push(spawn_pipe_relay(client.clone(), rewrite));
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

    /// The guest init notes `dockerd` up to one log poll (200 ms) after the engine answers the
    /// agent: asks again until the mark is there (a few seconds at most), then logs the phases.
    fn complete_boot_marks(&self, client: LinkClient, mut timeline: BootTimeline) -> AbortHandle {
        let shown = self.shown.clone();
        tokio::spawn(async move {
            let has_dockerd = |t: &BootTimeline| t.guest.iter().any(|m| m.name == "dockerd");
            let deadline = tokio::time::Instant::now() + BOOT_MARKS_DEADLINE;
            while !has_dockerd(&timeline) && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(ENGINE_POLL).await;
                if let Ok(Ok(info)) = tokio::time::timeout(PING_TIMEOUT, client.ping()).await {
                    timeline.guest = info.boot_marks;
                }
            }
            if let Some(boot) = lock(&shown).boot.as_mut() {
                boot.guest = timeline.guest.clone();
            }
            info!("engine ready in {}", timeline.summary());
        })
        .abort_handle()
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
        // Berth's own socket: the follower's event stream must not keep the VM awake.
        let endpoint = crate::published_ports::follower_endpoint(&self.paths);
        let token = token.child_token();
        let dialer = Arc::new(crate::published_ports::GatedDialer::new(
            client,
            self.gate.clone(),
        ));
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
                dialer,
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
}

/// Runs `fut` unless the start is cancelled first.
async fn unless_cancelled<T>(
    token: &CancellationToken,
    fut: impl std::future::Future<Output = T>,
) -> Result<T, ApiError> {
    tokio::select! {
        out = fut => Ok(out),
        () = token.cancelled() => Err(cancelled()),
    }
}

fn cancelled() -> ApiError {
    ApiError::new(ErrorCode::Conflict, "the start was cancelled by a stop")
}

/// Runs `fut` unless the start is cancelled or the VM exits first. For the phases after the
/// hypervisor's own start has returned: a VM that exits then has nobody else to report it.
async fn guard<T>(
    token: &CancellationToken,
    vm: &watch::Receiver<VmStatus>,
    fut: impl std::future::Future<Output = T>,
) -> Result<T, ApiError> {
    let mut vm = vm.clone();
    tokio::select! {
        out = fut => Ok(out),
        () = token.cancelled() => Err(cancelled()),
        status = vm.wait_for(|s| matches!(s, VmStatus::Exited { .. })) => {
            let detail = status.map(|s| format!("{:?}", *s)).unwrap_or_default();
            Err(ApiError::new(ErrorCode::VmFailed, format!("the VM exited during start ({detail}); see `berth logs --vm`")))
        }
    }
}

/// The rewrite of container creates' bind paths, for a guest that sees the host's files
/// elsewhere than at their own paths (WSL: `C:\x` is `/mnt/c/x`).
fn bind_path_rewrite(
    hv: &dyn berth_vm::Hypervisor,
) -> Option<Arc<berth_link::create_rewrite::RewriteBody>> {
    let paths = hv.bind_paths()?;
    Some(Arc::new(move |body: &[u8]| {
        paths.rewrite_create_body(body).map_err(|e| e.to_string())
    }))
}

/// Serves the engine pipe over `client` until the link closes, rewriting the bind paths of
/// container creates to the WSL distro's (`C:\x` -> `/mnt/c/x`).
#[cfg(windows)]
fn spawn_pipe_relay(
    client: LinkClient,
    rewrite: Option<Arc<berth_link::create_rewrite::RewriteBody>>,
) -> AbortHandle {
    let rewrite = rewrite.unwrap_or_else(|| Arc::new(|_: &[u8]| Ok(None)));
    tokio::spawn(async move {
        if let Err(error) = berth_link::named_pipe::serve_named_pipe(client, rewrite).await {
            warn!(%error, "the engine pipe stopped serving");
        }
    })
    .abort_handle()
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

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
