//! Executes compose operations against an engine: `up` (the plan), `down`, `start`, `stop`,
//! `restart`, `ps`, `ls`, `pull`, `build`, `run` and `exec`, reporting typed progress events.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_engine::{BuildOptions, Engine, RegistryAuth};
use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerCreateBody, ContainerSummaryStateEnum, EndpointIpamConfig, EndpointSettings,
    HealthConfig, HealthStatusEnum, HostConfig, HostConfigLogConfig, Ipam, IpamConfig,
    MountTmpfsOptions, MountType as BollardMountType, MountVolumeOptions, NetworkConnectRequest,
    NetworkCreateRequest, NetworkingConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
    VolumeCreateRequest,
};
use bollard::query_parameters as q;
use futures_util::StreamExt;
use serde::Serialize;
use sha2::Digest;

use crate::decode::{parse_bytes, parse_duration_ns};
use crate::error::{Error, Result};
use crate::model::{Condition, MountType, Project, Service};
use crate::plan::{self, labels, Action, Observed, Plan, UpOptions};

/// The state a resource reached, as `up`/`down` report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    Creating,
    Created,
    Exists,
    Pulling,
    Pulled,
    Building,
    Built,
    Recreate,
    Recreated,
    Starting,
    Started,
    Running,
    Waiting,
    Healthy,
    Exited,
    Stopping,
    Stopped,
    Removing,
    Removed,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let mut c = s.chars();
        match c.next() {
            Some(first) => write!(f, "{}{}", first.to_ascii_uppercase(), c.as_str()),
            None => Ok(()),
        }
    }
}

/// One progress event of a compose operation (what the CLI prints and the dashboard shows).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Event {
    Network {
        name: String,
        status: Status,
    },
    Volume {
        name: String,
        status: Status,
    },
    Image {
        name: String,
        status: Status,
    },
    Container {
        name: String,
        service: String,
        status: Status,
    },
    Warning {
        message: String,
    },
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Network { name, status } => write!(f, "Network {name}  {status}"),
            Self::Volume { name, status } => write!(f, "Volume {name}  {status}"),
            Self::Image { name, status } => write!(f, "Image {name}  {status}"),
            Self::Container { name, status, .. } => write!(f, "Container {name}  {status}"),
            Self::Warning { message } => write!(f, "WARN {message}"),
        }
    }
}

/// How long a wait goes without an engine event before it inspects again anyway (events
/// can be missed when the engine's clock runs ahead of ours).
const EVENT_SAFETY_POLL: Duration = Duration::from_millis(250);

/// How often a wait inspects when the engine's event stream is unavailable.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Whether the networks `up` creates exist yet: containers are created meanwhile, and what
/// needs a network (a retried create, connecting a second network) waits for it.
struct NetworksReady(Option<tokio::sync::watch::Receiver<bool>>);

impl NetworksReady {
    /// A sender to signal with once the networks exist, and the receiving side.
    fn pending_if(missing: bool) -> (tokio::sync::watch::Sender<bool>, Self) {
        let (tx, rx) = tokio::sync::watch::channel(!missing);
        (tx, Self(Some(rx)))
    }

    fn done() -> Self {
        Self(None)
    }

    fn is_pending(&self) -> bool {
        self.0.as_ref().is_some_and(|rx| !*rx.borrow())
    }

    async fn wait(&self) -> Result<()> {
        if let Some(rx) = &self.0 {
            // A dropped sender means creating a network failed; `up` reports that error.
            rx.clone()
                .wait_for(|ready| *ready)
                .await
                .map_err(|_| Error::usage("the project's networks could not be created"))?;
        }
        Ok(())
    }
}

/// What creating a container during `up` needs from the steps before it.
struct CreateContext {
    networks: NetworksReady,
    /// Image name -> the engine's image id, for the `com.docker.compose.image` label.
    image_ids: BTreeMap<String, String>,
}

/// Receives progress events.
pub type ProgressFn = Arc<dyn Fn(Event) + Send + Sync>;

/// Finds the registry credentials to pull an image with (`None`: anonymously). The command
/// line passes one that reads Berth's keyring; this crate never touches a keyring itself.
pub type CredentialsFn = Arc<
    dyn Fn(String) -> futures_util::future::BoxFuture<'static, Option<RegistryAuth>> + Send + Sync,
>;

/// A container of a compose project, for `ps` and the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerInfo {
    #[serde(rename = "ID")]
    pub id: String,
    pub name: String,
    pub image: String,
    pub command: String,
    pub project: String,
    pub service: String,
    pub number: u32,
    pub state: String,
    /// `healthy`, `unhealthy`, `starting` or empty.
    pub health: String,
    pub status: String,
    pub created: i64,
    pub publishers: Vec<Publisher>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Publisher {
    #[serde(rename = "URL")]
    pub url: String,
    pub target_port: u16,
    pub published_port: u16,
    pub protocol: String,
}

/// A compose project found on the engine (from container labels, whatever tool made it).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectSummary {
    pub name: String,
    /// Like compose: `running(2)`, `exited(1), running(1)`.
    pub status: String,
    pub running: usize,
    pub total: usize,
    pub config_files: String,
    pub working_dir: String,
}

/// What `ls` gathers per project: containers per state, config files, working dir.
type Seen = (BTreeMap<String, usize>, Vec<String>, String);

/// A chunk of a project's combined logs (usually one line), tagged with its container.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectLog {
    pub container: String,
    pub service: String,
    pub line: berth_engine::LogLine,
}

/// Options of `up` beyond the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct UpRun {
    pub plan: UpOptions,
    /// `--build`: build images before starting.
    pub build: bool,
    /// `--wait`: wait for services to be running/healthy.
    pub wait: bool,
    /// Deadline for `depends_on` conditions and `--wait`.
    pub timeout: Duration,
}

impl Default for UpRun {
    fn default() -> Self {
        Self {
            plan: UpOptions::default(),
            build: false,
            wait: false,
            timeout: Duration::from_secs(300),
        }
    }
}

/// Options of `down`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DownOptions {
    pub volumes: bool,
    /// `--rmi local` (images without a custom tag, i.e. built ones) or `--rmi all`.
    pub rmi: Option<Rmi>,
    pub remove_orphans: bool,
    /// Seconds to wait for a container to stop.
    pub timeout: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rmi {
    Local,
    All,
}

/// The compose engine on one Docker engine.
#[derive(Clone)]
pub struct Compose {
    engine: Engine,
    progress: ProgressFn,
    credentials: Option<CredentialsFn>,
}

fn is_not_found(e: &BollardError) -> bool {
    matches!(
        e,
        BollardError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

fn label_filter(pairs: &[String]) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), pairs.to_vec())])
}

impl Compose {
    pub fn new(engine: Engine) -> Self {
        Self {
            engine,
            progress: Arc::new(|_| {}),
            credentials: None,
        }
    }

    /// Pulls with the credentials `f` finds for each image.
    pub fn with_credentials(mut self, f: CredentialsFn) -> Self {
        self.credentials = Some(f);
        self
    }

    /// Reports progress to `f`.
    pub fn with_progress(mut self, f: ProgressFn) -> Self {
        self.progress = f;
        self
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn emit(&self, e: Event) {
        (self.progress)(e);
    }

    fn container_event(&self, name: &str, service: &str, status: Status) {
        self.emit(Event::Container {
            name: name.to_string(),
            service: service.to_string(),
            status,
        });
    }

    fn docker(&self) -> &bollard::Docker {
        self.engine.docker()
    }

    /// The containers of project `name` (one-off ones included), with their labels.
    pub async fn observe(&self, project: &str) -> Result<Vec<Observed>> {
        let list = self
            .list_containers(&[format!("{}={project}", labels::PROJECT)])
            .await?;
        Ok(list
            .iter()
            .map(|c| {
                let l = c.labels.clone().unwrap_or_default();
                Observed {
                    id: c.id.clone().unwrap_or_default(),
                    name: first_name(c.names.as_deref()),
                    service: l.get(labels::SERVICE).cloned().unwrap_or_default(),
                    number: l
                        .get(labels::NUMBER)
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0),
                    config_hash: l.get(labels::CONFIG_HASH).cloned().unwrap_or_default(),
                    running: c.state == Some(ContainerSummaryStateEnum::RUNNING),
                    oneoff: l
                        .get(labels::ONEOFF)
                        .is_some_and(|v| v.eq_ignore_ascii_case("true")),
                }
            })
            .collect())
    }

    async fn list_containers(
        &self,
        label_pairs: &[String],
    ) -> Result<Vec<bollard::models::ContainerSummary>> {
        self.docker()
            .list_containers(Some(q::ListContainersOptions {
                all: true,
                filters: Some(label_filter(label_pairs)),
                ..Default::default()
            }))
            .await
            .map_err(Error::engine("listing containers"))
    }

    /// Brings the project up: networks, volumes, images, then containers in dependency order.
    pub async fn up(&self, project: &Project, opts: &UpRun) -> Result<Plan> {
        for name in &opts.plan.services {
            if !project.services.contains_key(name) {
                return Err(Error::usage(format!("no such service: {name}")));
            }
        }
        let observed = self.observe(&project.name).await?;
        let plan = plan::plan_up(project, &observed, &opts.plan);
        for o in &plan.orphans {
            self.emit(Event::Warning {
                message: format!(
                    "found orphan container {} for this project; run with --remove-orphans to clean it up",
                    o.name
                ),
            });
        }
        for action in &plan.removals {
            if let Action::Remove { container } = action {
                self.remove_container(container, None).await?;
            }
        }
        let selected: Vec<&Service> = plan
            .steps
            .iter()
            .filter_map(|(s, _)| project.services.get(s))
            .collect();
        // One image check (pull, build) per image, however many services run it.
        let mut images: BTreeMap<String, &Service> = BTreeMap::new();
        for s in &selected {
            images.entry(s.image_name(&project.name)).or_insert(s);
        }
        let (missing_networks, (), ids) = futures_util::try_join!(
            self.missing_networks(project, &selected),
            self.ensure_volumes(project, &selected),
            futures_util::future::try_join_all(
                images
                    .values()
                    .map(|s| self.ensure_image(project, s, opts.build))
            ),
        )?;
        // Create every container first (in parallel: creating needs no dependency to be up),
        // then start them service by service once each dependency's condition holds. The
        // engine resolves a container's network when it starts it, not when it creates it,
        // so the networks are created while the containers are (see `NetworksReady`).
        let (ready_tx, networks) = NetworksReady::pending_if(!missing_networks.is_empty());
        let ctx = CreateContext {
            networks,
            image_ids: images
                .keys()
                .zip(ids)
                .filter_map(|(image, id)| Some((image.clone(), id?)))
                .collect(),
        };
        let create_networks = async move {
            for key in &missing_networks {
                self.create_network(project, key).await?;
            }
            ready_tx.send_replace(true);
            Ok(())
        };
        let deadline = Instant::now() + opts.timeout;
        let mut to_start: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let (shared_ns, independent): (Vec<_>, Vec<_>) = plan
            .steps
            .iter()
            .flat_map(|(svc, actions)| actions.iter().map(move |a| (svc, a)))
            .filter_map(|(svc, a)| project.services.get(svc).map(|s| (s, a)))
            .partition(|(s, _)| {
                s.network_mode
                    .as_deref()
                    .is_some_and(|m| m.starts_with("service:"))
            });
        let (_, prepared) = futures_util::try_join!(
            create_networks,
            futures_util::future::try_join_all(
                independent
                    .iter()
                    .map(|(s, a)| self.prepare(project, s, a, &ctx)),
            )
        )?;
        for ((s, _), name) in independent.iter().zip(prepared) {
            to_start.entry(s.name.clone()).or_default().extend(name);
        }
        // Services of one dependency level start together; a level waits for the one below.
        for level in plan::levels(project, &plan) {
            let mut batch = Vec::new();
            for (service, actions) in level {
                let Some(s) = project.services.get(service) else {
                    continue;
                };
                let names = to_start.remove(service).unwrap_or_default();
                let shares_ns = shared_ns.iter().any(|(x, _)| x.name == *service);
                batch.push(self.start_service(
                    project,
                    s,
                    actions,
                    names,
                    shares_ns.then_some(&ctx),
                    opts,
                    deadline,
                ));
            }
            futures_util::future::try_join_all(batch).await?;
        }
        if opts.wait {
            for (service, _) in &plan.steps {
                let s = &project.services[service];
                let healthy = s
                    .healthcheck
                    .as_ref()
                    .is_some_and(|h| !h.disable && h.test.first().is_some_and(|t| t != "NONE"));
                let cond = if healthy {
                    Condition::ServiceHealthy
                } else {
                    Condition::ServiceStarted
                };
                self.wait_condition(project, service, cond, deadline)
                    .await?;
            }
        }
        Ok(plan)
    }

    /// Waits for `s`'s dependencies, then starts its containers (creating them first when
    /// `create_now` says so: they share another service's network namespace).
    #[allow(clippy::too_many_arguments)]
    async fn start_service(
        &self,
        project: &Project,
        s: &Service,
        actions: &[Action],
        mut names: Vec<String>,
        create_now: Option<&CreateContext>,
        opts: &UpRun,
        deadline: Instant,
    ) -> Result<()> {
        if opts.plan.start {
            for (dep, d) in &s.depends_on {
                if project.services.contains_key(dep) {
                    self.wait_condition(project, dep, d.condition, deadline)
                        .await?;
                }
            }
        }
        // A container sharing another service's network namespace is created only now.
        if let Some(ctx) = create_now {
            for a in actions {
                names.extend(self.prepare(project, s, a, ctx).await?);
            }
        }
        if opts.plan.start {
            futures_util::future::try_join_all(
                names.iter().map(|n| self.start_container(n, &s.name)),
            )
            .await?;
        }
        Ok(())
    }

    /// Gets one action ready to start: returns the container to start, if any.
    async fn prepare(
        &self,
        project: &Project,
        s: &Service,
        action: &Action,
        ctx: &CreateContext,
    ) -> Result<Option<String>> {
        match action {
            Action::Keep { container, .. } => {
                self.container_event(&container.name, &s.name, Status::Running);
                Ok(None)
            }
            Action::Start { container, .. } => Ok(Some(container.name.clone())),
            Action::Create { number, .. } => {
                let name = self
                    .create_container_when(project, s, *number, false, None, ctx)
                    .await?;
                Ok(Some(name))
            }
            Action::Recreate { number, old, .. } => {
                self.container_event(&old.name, &s.name, Status::Recreate);
                self.stop_one(&old.id, &old.name, &s.name, s, None).await?;
                self.docker()
                    .remove_container(
                        &old.id,
                        Some(q::RemoveContainerOptions {
                            force: true,
                            ..Default::default()
                        }),
                    )
                    .await
                    .map_err(Error::engine(format!("removing {}", old.name)))?;
                let name = self
                    .create_container_when(project, s, *number, false, None, ctx)
                    .await?;
                self.container_event(&name, &s.name, Status::Recreated);
                Ok(Some(name))
            }
            Action::Remove { container } => {
                self.remove_container(container, None).await?;
                Ok(None)
            }
        }
    }

    async fn start_container(&self, name: &str, service: &str) -> Result<()> {
        self.container_event(name, service, Status::Starting);
        self.docker()
            .start_container(name, None::<q::StartContainerOptions>)
            .await
            .map_err(Error::engine(format!("starting {name}")))?;
        self.container_event(name, service, Status::Started);
        Ok(())
    }

    async fn ensure_networks(&self, project: &Project, services: &[&Service]) -> Result<()> {
        for key in self.missing_networks(project, services).await? {
            self.create_network(project, &key).await?;
        }
        Ok(())
    }

    /// The networks `services` use that do not exist yet (an error if one is external).
    async fn missing_networks(
        &self,
        project: &Project,
        services: &[&Service],
    ) -> Result<Vec<String>> {
        let mut missing = Vec::new();
        let used = project
            .networks
            .keys()
            .filter(|k| services.iter().any(|s| s.networks.contains_key(*k)));
        for key in used {
            let net = &project.networks[key];
            match self
                .docker()
                .inspect_network(&net.name, None::<q::InspectNetworkOptions>)
                .await
            {
                Ok(_) => continue,
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(Error::engine(format!("inspecting network {}", net.name))(e)),
            }
            if net.external {
                return Err(Error::usage(format!(
                    "network {} declared as external, but could not be found",
                    net.name
                )));
            }
            missing.push(key.clone());
        }
        Ok(missing)
    }

    async fn create_network(&self, project: &Project, key: &str) -> Result<()> {
        let net = &project.networks[key];
        self.emit(Event::Network {
            name: net.name.clone(),
            status: Status::Creating,
        });
        let mut l: HashMap<String, String> = net.labels.clone().into_iter().collect();
        l.insert(labels::PROJECT.into(), project.name.clone());
        l.insert(labels::NETWORK.into(), key.to_string());
        l.insert(labels::VERSION.into(), labels::COMPOSE_VERSION.into());
        let ipam = (!net.subnets.is_empty()).then(|| Ipam {
            config: Some(
                net.subnets
                    .iter()
                    .map(|s| IpamConfig {
                        subnet: Some(s.clone()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        });
        self.docker()
            .create_network(NetworkCreateRequest {
                name: net.name.clone(),
                driver: net.driver.clone(),
                internal: Some(net.internal),
                attachable: Some(net.attachable),
                enable_ipv6: net.enable_ipv6.then_some(true),
                options: Some(net.driver_opts.clone().into_iter().collect()),
                labels: Some(l),
                ipam,
                ..Default::default()
            })
            .await
            .map_err(Error::engine(format!("creating network {}", net.name)))?;
        self.emit(Event::Network {
            name: net.name.clone(),
            status: Status::Created,
        });
        Ok(())
    }

    async fn ensure_volumes(&self, project: &Project, services: &[&Service]) -> Result<()> {
        for (key, vol) in &project.volumes {
            let used = services.iter().any(|s| {
                s.volumes.iter().any(|m| {
                    m.kind == MountType::Volume && m.source.as_deref() == Some(key.as_str())
                })
            });
            if !used {
                continue;
            }
            match self.docker().inspect_volume(&vol.name).await {
                Ok(_) => continue,
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(Error::engine(format!("inspecting volume {}", vol.name))(e)),
            }
            if vol.external {
                return Err(Error::usage(format!(
                    "external volume {:?} not found",
                    vol.name
                )));
            }
            self.emit(Event::Volume {
                name: vol.name.clone(),
                status: Status::Creating,
            });
            let mut l: HashMap<String, String> = vol.labels.clone().into_iter().collect();
            l.insert(labels::PROJECT.into(), project.name.clone());
            l.insert(labels::VOLUME.into(), key.clone());
            l.insert(labels::VERSION.into(), labels::COMPOSE_VERSION.into());
            self.docker()
                .create_volume(VolumeCreateRequest {
                    name: Some(vol.name.clone()),
                    driver: vol.driver.clone(),
                    driver_opts: Some(vol.driver_opts.clone().into_iter().collect()),
                    labels: Some(l),
                    ..Default::default()
                })
                .await
                .map_err(Error::engine(format!("creating volume {}", vol.name)))?;
            self.emit(Event::Volume {
                name: vol.name.clone(),
                status: Status::Created,
            });
        }
        Ok(())
    }

    /// The engine's id (`sha256:...`) of `image`, if it has it.
    async fn image_id(&self, image: &str) -> Result<Option<String>> {
        match self.docker().inspect_image(image).await {
            Ok(info) => Ok(Some(info.id.unwrap_or_default())),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(Error::engine(format!("inspecting image {image}"))(e)),
        }
    }

    /// Builds, pulls or finds `s`'s image as its pull policy says; returns the image's id.
    async fn ensure_image(
        &self,
        project: &Project,
        s: &Service,
        force_build: bool,
    ) -> Result<Option<String>> {
        let image = s.image_name(&project.name);
        let policy = s.pull_policy.as_deref().unwrap_or("missing");
        if s.build.is_some() && (force_build || policy == "build") {
            self.build_service(project, s).await?;
            return self.image_id(&image).await;
        }
        let id = self.image_id(&image).await?;
        if policy == "always" || (id.is_none() && policy != "never") {
            if s.build.is_some() && id.is_none() {
                self.build_service(project, s).await?;
            } else {
                self.pull_image(&image).await?;
            }
            return self.image_id(&image).await;
        }
        if id.is_none() {
            return Err(Error::service(
                &s.name,
                format!("image {image} is not present and pull_policy is {policy}"),
            ));
        }
        Ok(id)
    }

    /// Pulls one image, reporting Pulling/Pulled.
    pub async fn pull_image(&self, image: &str) -> Result<()> {
        self.emit(Event::Image {
            name: image.to_string(),
            status: Status::Pulling,
        });
        let auth = match &self.credentials {
            Some(find) => find(image.to_string()).await,
            None => None,
        };
        let mut stream = Box::pin(self.engine.pull_image(image, auth.as_ref()));
        while let Some(item) = stream.next().await {
            // Kept as the engine's error, so `unauthorized` reaches the dashboard as such.
            item?;
        }
        self.emit(Event::Image {
            name: image.to_string(),
            status: Status::Pulled,
        });
        Ok(())
    }

    /// Builds a service's image (`<project>-<service>` unless `image` is set).
    pub async fn build_service(&self, project: &Project, s: &Service) -> Result<()> {
        let Some(build) = &s.build else {
            return Ok(());
        };
        if build.dockerfile_inline.is_some() {
            return Err(Error::service(
                &s.name,
                "build.dockerfile_inline is not supported by berth yet",
            ));
        }
        let image = s.image_name(&project.name);
        self.emit(Event::Image {
            name: image.clone(),
            status: Status::Building,
        });
        let mut l = build.labels.clone();
        l.insert(labels::PROJECT.into(), project.name.clone());
        l.insert(labels::SERVICE.into(), s.name.clone());
        l.insert(labels::VERSION.into(), labels::COMPOSE_VERSION.into());
        let options = BuildOptions {
            dockerfile: build
                .dockerfile
                .clone()
                .unwrap_or_else(|| "Dockerfile".into()),
            tag: Some(image.clone()),
            build_args: build
                .args
                .iter()
                .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
                .collect(),
            labels: l,
            no_cache: build.no_cache,
            pull: build.pull,
            target: build.target.clone(),
        };
        let mut stream = Box::pin(
            self.engine
                .build_image(std::path::Path::new(&build.context), &options)
                .await
                .map_err(|e| Error::service(&s.name, format!("build failed: {e}")))?,
        );
        while let Some(item) = stream.next().await {
            item.map_err(|e| Error::service(&s.name, format!("build failed: {e}")))?;
        }
        self.emit(Event::Image {
            name: image,
            status: Status::Built,
        });
        Ok(())
    }

    /// Creates one container of `s`; `oneoff` containers get a `-run-<suffix>` name.
    pub async fn create_container(
        &self,
        project: &Project,
        s: &Service,
        number: u32,
        oneoff: bool,
        command: Option<Vec<String>>,
    ) -> Result<String> {
        let ctx = CreateContext {
            networks: NetworksReady::done(),
            image_ids: BTreeMap::new(),
        };
        self.create_container_when(project, s, number, oneoff, command, &ctx)
            .await
    }

    /// [`Compose::create_container`] while `networks` may still be being created: an engine
    /// that refuses a container whose network is missing gets the request again once the
    /// networks exist; the extra networks are connected once they exist.
    async fn create_container_when(
        &self,
        project: &Project,
        s: &Service,
        number: u32,
        oneoff: bool,
        command: Option<Vec<String>>,
        ctx: &CreateContext,
    ) -> Result<String> {
        let networks = &ctx.networks;
        let name = if oneoff {
            format!("{}-{}-run-{}", project.name, s.name, run_suffix())
        } else {
            plan::container_name(project, &s.name, number)
        };
        self.container_event(&name, &s.name, Status::Creating);
        let mut body = container_body(project, s, number, oneoff)?;
        if let Some(cmd) = command {
            body.cmd = Some(cmd);
        }
        // Like compose v2, which recreates a container whose label differs from the image id.
        if let (Some(id), Some(l)) = (
            ctx.image_ids.get(&s.image_name(&project.name)),
            body.labels.as_mut(),
        ) {
            l.insert(labels::IMAGE.into(), id.clone());
        }
        if let Some(mode) = s
            .network_mode
            .as_deref()
            .and_then(|m| m.strip_prefix("service:"))
        {
            let target = self
                .observe(&project.name)
                .await?
                .into_iter()
                .find(|o| o.service == mode && !o.oneoff)
                .ok_or_else(|| {
                    Error::service(
                        &s.name,
                        format!("network_mode service {mode} has no container"),
                    )
                })?;
            if let Some(hc) = body.host_config.as_mut() {
                hc.network_mode = Some(format!("container:{}", target.id));
            }
        }
        let options = q::CreateContainerOptions {
            name: Some(name.clone()),
            ..Default::default()
        };
        let waited = networks.is_pending();
        match self
            .docker()
            .create_container(Some(options.clone()), body.clone())
            .await
        {
            Ok(_) => {}
            Err(e) if waited && is_not_found(&e) => {
                networks.wait().await?;
                self.docker()
                    .create_container(Some(options), body)
                    .await
                    .map_err(Error::engine(format!("creating container {name}")))?;
            }
            Err(e) => return Err(Error::engine(format!("creating container {name}"))(e)),
        }
        // The engine attaches one network at create (API < 1.44); connect the others now.
        if s.network_mode.is_none() && s.networks.len() > 1 {
            networks.wait().await?;
            for (key, sn) in s.networks.iter().skip(1) {
                let net = &project.networks[key];
                self.docker()
                    .connect_network(
                        &net.name,
                        NetworkConnectRequest {
                            container: name.clone(),
                            endpoint_config: Some(endpoint(s, &name, sn.as_ref(), oneoff)),
                        },
                    )
                    .await
                    .map_err(Error::engine(format!("connecting {name} to {}", net.name)))?;
            }
        }
        self.container_event(&name, &s.name, Status::Created);
        Ok(name)
    }

    /// Waits until `service`'s containers meet `condition`.
    async fn wait_condition(
        &self,
        project: &Project,
        service: &str,
        condition: Condition,
        deadline: Instant,
    ) -> Result<()> {
        let containers: Vec<Observed> = self
            .observe(&project.name)
            .await?
            .into_iter()
            .filter(|o| o.service == service && !o.oneoff)
            .collect();
        for c in containers {
            // A running container is started: nothing more to ask the engine.
            if condition == Condition::ServiceStarted && c.running {
                continue;
            }
            if condition != Condition::ServiceStarted {
                self.container_event(&c.name, service, Status::Waiting);
            }
            self.wait_container(&c, service, condition, deadline)
                .await?;
        }
        Ok(())
    }

    /// Waits for one container: inspects it, then again on each of its `health_status` or
    /// `die` events (the engine reports a health change the moment its probe ends, where a
    /// poll would lag by up to its interval), or after [`EVENT_SAFETY_POLL`] without one.
    async fn wait_container(
        &self,
        c: &Observed,
        service: &str,
        condition: Condition,
        deadline: Instant,
    ) -> Result<()> {
        // Replaying a few seconds of this container's events only costs a re-inspect each;
        // it closes the gap between the first inspect and the subscription.
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs().saturating_sub(2));
        let (mut events, mut polling) = (None, false);
        loop {
            if self.condition_met(c, service, condition).await? {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::service(
                    service,
                    format!("timed out waiting for {}", c.name),
                ));
            }
            let wake = deadline
                .saturating_duration_since(Instant::now())
                .min(EVENT_SAFETY_POLL);
            if polling {
                tokio::time::sleep(wake.min(POLL_INTERVAL)).await;
                continue;
            }
            let stream = events.get_or_insert_with(|| {
                Box::pin(self.docker().events(Some(q::EventsOptions {
                    since: Some(since.to_string()),
                    until: None,
                    filters: Some(HashMap::from([
                        ("type".to_string(), vec!["container".to_string()]),
                        ("container".to_string(), vec![c.id.clone()]),
                        (
                            "event".to_string(),
                            vec!["health_status".to_string(), "die".to_string()],
                        ),
                    ])),
                })))
            });
            tokio::select! {
                ev = stream.next() => {
                    if !matches!(ev, Some(Ok(_))) {
                        tracing::debug!(container = %c.name, "event stream ended; polling");
                        polling = true;
                    }
                }
                () = tokio::time::sleep(wake) => {}
            }
        }
    }

    /// Whether `c` meets `condition` now; an error when it never will.
    async fn condition_met(
        &self,
        c: &Observed,
        service: &str,
        condition: Condition,
    ) -> Result<bool> {
        let info = self
            .docker()
            .inspect_container(&c.id, None::<q::InspectContainerOptions>)
            .await
            .map_err(Error::engine(format!("inspecting {}", c.name)))?;
        let state = info.state.unwrap_or_default();
        let running = state.running.unwrap_or(false);
        let exit = state.exit_code.unwrap_or(0);
        let health = state.health.and_then(|h| h.status);
        let exited = || Error::service(service, format!("container {} exited ({exit})", c.name));
        match condition {
            Condition::ServiceStarted if !running && exit != 0 => Err(exited()),
            Condition::ServiceStarted => Ok(true),
            Condition::ServiceHealthy => match health {
                Some(HealthStatusEnum::HEALTHY) => {
                    self.container_event(&c.name, service, Status::Healthy);
                    Ok(true)
                }
                Some(HealthStatusEnum::UNHEALTHY) => Err(Error::service(
                    service,
                    format!("container {} is unhealthy", c.name),
                )),
                None | Some(HealthStatusEnum::NONE) | Some(HealthStatusEnum::EMPTY) => {
                    Err(Error::service(
                        service,
                        format!("container {} has no healthcheck configured", c.name),
                    ))
                }
                Some(HealthStatusEnum::STARTING) if !running => Err(exited()),
                Some(HealthStatusEnum::STARTING) => Ok(false),
            },
            Condition::ServiceCompletedSuccessfully if running => Ok(false),
            Condition::ServiceCompletedSuccessfully if exit == 0 => {
                self.container_event(&c.name, service, Status::Exited);
                Ok(true)
            }
            Condition::ServiceCompletedSuccessfully => Err(exited()),
        }
    }

    async fn stop_one(
        &self,
        id: &str,
        name: &str,
        service: &str,
        s: &Service,
        timeout: Option<i32>,
    ) -> Result<()> {
        let t = timeout.or_else(|| {
            s.stop_grace_period
                .as_deref()
                .and_then(parse_duration_ns)
                .map(|ns| i32::try_from(ns / 1_000_000_000).unwrap_or(i32::MAX))
        });
        self.stop_by_id(id, name, service, t).await
    }

    async fn stop_by_id(&self, id: &str, name: &str, service: &str, t: Option<i32>) -> Result<()> {
        self.container_event(name, service, Status::Stopping);
        match self
            .docker()
            .stop_container(
                id,
                Some(q::StopContainerOptions {
                    t,
                    ..Default::default()
                }),
            )
            .await
        {
            Ok(()) => {}
            // 304: already stopped.
            Err(BollardError::DockerResponseServerError {
                status_code: 304, ..
            }) => {}
            Err(e) => return Err(Error::engine(format!("stopping {name}"))(e)),
        }
        self.container_event(name, service, Status::Stopped);
        Ok(())
    }

    async fn remove_container(&self, c: &Observed, timeout: Option<i32>) -> Result<()> {
        if c.running {
            self.stop_by_id(&c.id, &c.name, &c.service, timeout).await?;
        }
        self.container_event(&c.name, &c.service, Status::Removing);
        match self
            .docker()
            .remove_container(
                &c.id,
                Some(q::RemoveContainerOptions {
                    force: true,
                    v: false,
                    ..Default::default()
                }),
            )
            .await
        {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(Error::engine(format!("removing {}", c.name))(e)),
        }
        self.container_event(&c.name, &c.service, Status::Removed);
        Ok(())
    }

    /// Stops and removes the project's containers and networks (and volumes with `-v`).
    /// `project` is the loaded file when there is one: without it everything labelled with
    /// the project name goes.
    pub async fn down(
        &self,
        name: &str,
        project: Option<&Project>,
        opts: &DownOptions,
    ) -> Result<()> {
        let observed = self.observe(name).await?;
        // Dependents first: reverse dependency order, unknown services (orphans) first.
        let order: Vec<String> = project
            .map(|p| {
                p.services_in_dependency_order()
                    .iter()
                    .rev()
                    .map(|s| s.name.clone())
                    .collect()
            })
            .unwrap_or_default();
        let rank = |svc: &str| order.iter().position(|s| s == svc).unwrap_or(0);
        let mut doomed: Vec<&Observed> = observed
            .iter()
            .filter(|o| {
                let known = project.is_none_or(|p| {
                    p.services.contains_key(&o.service) || p.disabled.contains(&o.service)
                });
                known || opts.remove_orphans || o.oneoff
            })
            .collect();
        doomed.sort_by_key(|o| rank(&o.service));
        for o in &observed {
            if !doomed.iter().any(|d| d.id == o.id) {
                self.emit(Event::Warning {
                    message: format!(
                        "found orphan container {}; run with --remove-orphans to clean it up",
                        o.name
                    ),
                });
            }
        }
        let mut images: Vec<String> = Vec::new();
        for o in &doomed {
            if let Ok(info) = self
                .docker()
                .inspect_container(&o.id, None::<q::InspectContainerOptions>)
                .await
            {
                if let Some(img) = info.config.and_then(|c| c.image) {
                    if !images.contains(&img) {
                        images.push(img);
                    }
                }
            }
            self.remove_container(o, opts.timeout).await?;
        }
        let pf = [format!("{}={name}", labels::PROJECT)];
        let networks = self
            .docker()
            .list_networks(Some(q::ListNetworksOptions {
                filters: Some(label_filter(&pf)),
            }))
            .await
            .map_err(Error::engine("listing networks"))?;
        for n in networks {
            let net_name = n.name.unwrap_or_default();
            self.emit(Event::Network {
                name: net_name.clone(),
                status: Status::Removing,
            });
            match self.docker().remove_network(&net_name).await {
                Ok(()) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(Error::engine(format!("removing network {net_name}"))(e)),
            }
            self.emit(Event::Network {
                name: net_name,
                status: Status::Removed,
            });
        }
        if opts.volumes {
            let vols = self
                .docker()
                .list_volumes(Some(q::ListVolumesOptions {
                    filters: Some(label_filter(&pf)),
                }))
                .await
                .map_err(Error::engine("listing volumes"))?;
            for v in vols.volumes.unwrap_or_default() {
                self.emit(Event::Volume {
                    name: v.name.clone(),
                    status: Status::Removing,
                });
                match self
                    .docker()
                    .remove_volume(&v.name, None::<q::RemoveVolumeOptions>)
                    .await
                {
                    Ok(()) => {}
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => return Err(Error::engine(format!("removing volume {}", v.name))(e)),
                }
                self.emit(Event::Volume {
                    name: v.name,
                    status: Status::Removed,
                });
            }
        }
        if let Some(rmi) = opts.rmi {
            let local: Vec<String> = project
                .map(|p| {
                    p.services
                        .values()
                        .filter(|s| s.image.is_none())
                        .map(|s| s.image_name(&p.name))
                        .collect()
                })
                .unwrap_or_default();
            for img in images {
                let built = local.contains(&img) || img.starts_with(&format!("{name}-"));
                if rmi == Rmi::All || built {
                    self.emit(Event::Image {
                        name: img.clone(),
                        status: Status::Removing,
                    });
                    match self
                        .docker()
                        .remove_image(&img, None::<q::RemoveImageOptions>, None)
                        .await
                    {
                        Ok(_) => {}
                        Err(e) if is_not_found(&e) => {}
                        Err(e) => {
                            self.emit(Event::Warning {
                                message: format!("image {img} not removed: {e}"),
                            });
                            continue;
                        }
                    }
                    self.emit(Event::Image {
                        name: img,
                        status: Status::Removed,
                    });
                }
            }
        }
        Ok(())
    }

    /// Stops the project's containers (of `services`, or all), dependents first.
    pub async fn stop(&self, name: &str, services: &[String], timeout: Option<i32>) -> Result<()> {
        for o in self.observe(name).await?.iter().rev() {
            if o.running && (services.is_empty() || services.contains(&o.service)) {
                self.stop_by_id(&o.id, &o.name, &o.service, timeout).await?;
            }
        }
        Ok(())
    }

    /// Starts the project's stopped containers in dependency order.
    pub async fn start(&self, project: &Project, services: &[String]) -> Result<()> {
        let observed = self.observe(&project.name).await?;
        if observed.iter().all(|o| o.oneoff) {
            return Err(Error::usage(format!(
                "project {} has no containers to start; use `up`",
                project.name
            )));
        }
        for name in plan::selected_services(project, services) {
            for o in observed.iter().filter(|o| o.service == name && !o.oneoff) {
                if !o.running {
                    self.start_container(&o.name, &name).await?;
                }
            }
        }
        Ok(())
    }

    /// Restarts the project's containers.
    pub async fn restart(
        &self,
        project: &Project,
        services: &[String],
        timeout: Option<i32>,
    ) -> Result<()> {
        self.stop(&project.name, services, timeout).await?;
        self.start(project, services).await
    }

    /// The project's containers, for `ps` (`all` includes stopped ones).
    pub async fn ps(&self, name: &str, all: bool) -> Result<Vec<ContainerInfo>> {
        let list = self
            .list_containers(&[format!("{}={name}", labels::PROJECT)])
            .await?;
        let mut out: Vec<ContainerInfo> = list
            .into_iter()
            .map(container_info)
            .filter(|c| all || c.state == "running")
            .collect();
        out.sort_by(|a, b| (&a.service, a.number).cmp(&(&b.service, b.number)));
        Ok(out)
    }

    /// The combined logs of the project's containers (of `services`, or all), merged as they
    /// come; with `follow` the stream lasts until every container's log ends.
    pub async fn logs(
        &self,
        project: &str,
        services: &[String],
        options: &berth_engine::LogOptions,
    ) -> Result<impl futures_util::Stream<Item = ProjectLog> + Send + 'static> {
        let containers: Vec<ContainerInfo> = self
            .ps(project, true)
            .await?
            .into_iter()
            .filter(|c| services.is_empty() || services.contains(&c.service))
            .collect();
        let streams = containers.into_iter().map(|c| {
            self.engine
                .logs(&c.id, options)
                .filter_map(move |line| {
                    let item = line.ok().map(|line| ProjectLog {
                        container: c.name.clone(),
                        service: c.service.clone(),
                        line,
                    });
                    async move { item }
                })
                .boxed()
        });
        Ok(futures_util::stream::select_all(streams))
    }

    /// Every compose project on the engine, whatever made it (compose v2, 1.29, Berth).
    pub async fn list_projects(&self, all: bool) -> Result<Vec<ProjectSummary>> {
        let list = self.list_containers(&[labels::PROJECT.to_string()]).await?;
        let mut projects: BTreeMap<String, Seen> = BTreeMap::new();
        for c in list.into_iter().map(|c| {
            let l = c.labels.clone().unwrap_or_default();
            (c, l)
        }) {
            let (c, l) = c;
            let name = l.get(labels::PROJECT).cloned().unwrap_or_default();
            let entry = projects.entry(name).or_default();
            let state = c
                .state
                .map(|s| s.to_string())
                .unwrap_or_else(|| "unknown".into());
            *entry.0.entry(state).or_default() += 1;
            if let Some(files) = l.get(labels::CONFIG_FILES) {
                for f in files.split(',') {
                    if !entry.1.iter().any(|x| x == f) {
                        entry.1.push(f.to_string());
                    }
                }
            }
            if let Some(dir) = l.get(labels::WORKING_DIR) {
                entry.2 = dir.clone();
            }
        }
        Ok(projects
            .into_iter()
            .map(|(name, (states, files, dir))| {
                let running = states.get("running").copied().unwrap_or(0);
                let total = states.values().sum();
                ProjectSummary {
                    name,
                    status: states
                        .iter()
                        .map(|(s, n)| format!("{s}({n})"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    running,
                    total,
                    config_files: files.join(","),
                    working_dir: dir,
                }
            })
            .filter(|p| all || p.running > 0)
            .collect())
    }

    /// Runs a one-off container of `service` (its dependencies are brought up first) and
    /// returns its exit code; its output goes to `out`.
    pub async fn run(
        &self,
        project: &Project,
        service: &str,
        command: Option<Vec<String>>,
        remove: bool,
        mut out: impl std::io::Write + Send,
    ) -> Result<i64> {
        let s = project
            .services
            .get(service)
            .ok_or_else(|| Error::usage(format!("no such service: {service}")))?;
        let deps: Vec<String> = s.dependencies().map(String::from).collect();
        if !deps.is_empty() {
            let opts = UpRun {
                plan: UpOptions {
                    services: deps,
                    ..Default::default()
                },
                ..Default::default()
            };
            self.up(project, &opts).await?;
        } else {
            self.ensure_networks(project, &[s]).await?;
            self.ensure_volumes(project, &[s]).await?;
        }
        self.ensure_image(project, s, false).await?;
        let name = self.create_container(project, s, 1, true, command).await?;
        let mut logs = Box::pin(self.engine.logs(
            &name,
            &berth_engine::LogOptions {
                follow: true,
                ..Default::default()
            },
        ));
        self.docker()
            .start_container(&name, None::<q::StartContainerOptions>)
            .await
            .map_err(Error::engine(format!("starting {name}")))?;
        while let Some(line) = logs.next().await {
            match line {
                Ok(l) => {
                    let _ = out.write_all(l.text.as_bytes());
                }
                Err(_) => break,
            }
        }
        let _ = out.flush();
        let code = self.exit_code(&name).await?;
        if remove {
            let _ = self
                .docker()
                .remove_container(
                    &name,
                    Some(q::RemoveContainerOptions {
                        force: true,
                        v: true,
                        ..Default::default()
                    }),
                )
                .await;
        }
        Ok(code)
    }

    async fn exit_code(&self, name: &str) -> Result<i64> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let info = self
                .docker()
                .inspect_container(name, None::<q::InspectContainerOptions>)
                .await
                .map_err(Error::engine(format!("inspecting {name}")))?;
            let state = info.state.unwrap_or_default();
            if !state.running.unwrap_or(false) || Instant::now() > deadline {
                return Ok(state.exit_code.unwrap_or(-1));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `cmd` in the first (or `index`th) container of `service`; returns its exit code.
    pub async fn exec(
        &self,
        project: &str,
        service: &str,
        index: u32,
        cmd: Vec<String>,
        mut out: impl std::io::Write + Send,
    ) -> Result<i64> {
        let c = self
            .observe(project)
            .await?
            .into_iter()
            .find(|o| o.service == service && o.number == index && !o.oneoff && o.running)
            .ok_or_else(|| {
                Error::usage(format!(
                    "service {service:?} is not running (container #{index})"
                ))
            })?;
        let exec = self
            .docker()
            .create_exec(
                &c.id,
                bollard::models::ExecConfig {
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    cmd: Some(cmd),
                    ..Default::default()
                },
            )
            .await
            .map_err(Error::engine(format!("exec in {}", c.name)))?;
        if let bollard::exec::StartExecResults::Attached { mut output, .. } = self
            .docker()
            .start_exec(&exec.id, None::<bollard::exec::StartExecOptions>)
            .await
            .map_err(Error::engine(format!("exec in {}", c.name)))?
        {
            while let Some(Ok(chunk)) = output.next().await {
                let _ = out.write_all(&chunk.into_bytes());
            }
        }
        let _ = out.flush();
        let info = self
            .docker()
            .inspect_exec(&exec.id)
            .await
            .map_err(Error::engine(format!("exec in {}", c.name)))?;
        Ok(info.exit_code.unwrap_or(-1))
    }
}

fn first_name(names: Option<&[String]>) -> String {
    names
        .and_then(|n| n.first())
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_default()
}

fn container_info(c: bollard::models::ContainerSummary) -> ContainerInfo {
    let l = c.labels.clone().unwrap_or_default();
    let status = c.status.clone().unwrap_or_default();
    let health = if status.contains("(healthy)") {
        "healthy"
    } else if status.contains("(unhealthy)") {
        "unhealthy"
    } else if status.contains("(health: starting)") {
        "starting"
    } else {
        ""
    };
    ContainerInfo {
        id: c.id.clone().unwrap_or_default(),
        name: first_name(c.names.as_deref()),
        image: c.image.clone().unwrap_or_default(),
        command: c.command.clone().unwrap_or_default(),
        project: l.get(labels::PROJECT).cloned().unwrap_or_default(),
        service: l.get(labels::SERVICE).cloned().unwrap_or_default(),
        number: l
            .get(labels::NUMBER)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
        state: c.state.map(|s| s.to_string()).unwrap_or_default(),
        health: health.into(),
        status,
        created: c.created.unwrap_or(0),
        publishers: c
            .ports
            .unwrap_or_default()
            .into_iter()
            .map(|p| Publisher {
                url: p.ip.unwrap_or_default(),
                target_port: p.private_port,
                published_port: p.public_port.unwrap_or(0),
                protocol: p.typ.map(|t| t.to_string()).unwrap_or_default(),
            })
            .collect(),
    }
}

fn run_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let h = sha2::Sha256::digest(format!("{nanos}-{}", std::process::id()).as_bytes());
    hex::encode(&h[..6])
}

fn endpoint(
    s: &Service,
    container: &str,
    sn: Option<&crate::model::ServiceNetwork>,
    oneoff: bool,
) -> EndpointSettings {
    let mut aliases = if oneoff {
        Vec::new()
    } else {
        vec![s.name.clone(), container.to_string()]
    };
    if let Some(sn) = sn {
        aliases.extend(sn.aliases.iter().cloned());
    }
    EndpointSettings {
        aliases: Some(aliases),
        ipam_config: sn
            .filter(|n| n.ipv4_address.is_some() || n.ipv6_address.is_some())
            .map(|n| EndpointIpamConfig {
                ipv4_address: n.ipv4_address.clone(),
                ipv6_address: n.ipv6_address.clone(),
                ..Default::default()
            }),
        ..Default::default()
    }
}

/// `host[:container[:permissions]]`.
fn device(spec: &str) -> bollard::models::DeviceMapping {
    let mut parts = spec.split(':');
    let host = parts.next().unwrap_or_default().to_string();
    let container = parts.next().map_or_else(|| host.clone(), str::to_string);
    bollard::models::DeviceMapping {
        path_on_host: Some(host),
        path_in_container: Some(container),
        cgroup_permissions: Some(parts.next().unwrap_or("rwm").to_string()),
    }
}

/// The engine's create request for replica `number` of `s`.
pub fn container_body(
    project: &Project,
    s: &Service,
    number: u32,
    oneoff: bool,
) -> Result<ContainerCreateBody> {
    let name = plan::container_name(project, &s.name, number);
    let mut l: HashMap<String, String> = s.labels.clone().into_iter().collect();
    let files: Vec<String> = project
        .config_files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    let depends: Vec<String> = s
        .depends_on
        .iter()
        .map(|(n, d)| {
            let cond = serde_json::to_value(d.condition)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            format!("{n}:{cond}:{}", d.restart)
        })
        .collect();
    for (k, v) in [
        (labels::PROJECT, project.name.clone()),
        (labels::SERVICE, s.name.clone()),
        (labels::NUMBER, number.to_string()),
        (
            labels::ONEOFF,
            if oneoff { "True" } else { "False" }.to_string(),
        ),
        (labels::CONFIG_HASH, s.config_hash()),
        (
            labels::WORKING_DIR,
            project.working_dir.display().to_string(),
        ),
        (labels::CONFIG_FILES, files.join(",")),
        (labels::DEPENDS_ON, depends.join(",")),
        (labels::VERSION, labels::COMPOSE_VERSION.to_string()),
        (labels::IMAGE, s.image_name(&project.name)),
    ] {
        l.insert(k.to_string(), v);
    }

    let mut exposed: Vec<String> = s
        .expose
        .iter()
        .map(|e| {
            if e.contains('/') {
                e.clone()
            } else {
                format!("{e}/tcp")
            }
        })
        .collect();
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for p in &s.ports {
        let key = format!("{}/{}", p.target, p.protocol);
        if !exposed.contains(&key) {
            exposed.push(key.clone());
        }
        bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: p.host_ip.clone(),
                host_port: p.published.clone(),
            });
    }

    let mut binds = Vec::new();
    let mut mounts = Vec::new();
    for m in &s.volumes {
        match m.kind {
            MountType::Bind if m.create_host_path => {
                let src = m.source.clone().unwrap_or_default();
                binds.push(format!(
                    "{src}:{}:{}",
                    m.target,
                    if m.read_only { "ro" } else { "rw" }
                ));
            }
            kind => {
                let source = match kind {
                    MountType::Volume => m.source.as_ref().map(|src| {
                        project
                            .volumes
                            .get(src)
                            .map_or(src.clone(), |v| v.name.clone())
                    }),
                    MountType::Bind => m.source.clone(),
                    MountType::Tmpfs => None,
                };
                mounts.push(bollard::models::Mount {
                    target: Some(m.target.clone()),
                    source,
                    typ: Some(match kind {
                        MountType::Bind => BollardMountType::BIND,
                        MountType::Volume => BollardMountType::VOLUME,
                        MountType::Tmpfs => BollardMountType::TMPFS,
                    }),
                    read_only: Some(m.read_only),
                    volume_options: (kind == MountType::Volume && m.nocopy).then(|| {
                        MountVolumeOptions {
                            no_copy: Some(true),
                            ..Default::default()
                        }
                    }),
                    tmpfs_options: m.tmpfs_size.map(|size| MountTmpfsOptions {
                        size_bytes: Some(size),
                        ..Default::default()
                    }),
                    ..Default::default()
                });
            }
        }
    }
    for (refs, objects) in [
        (&s.secrets, &project.secrets),
        (&s.configs, &project.configs),
    ] {
        for r in refs {
            match objects.get(&r.source).and_then(|o| o.file.clone()) {
                Some(file) => binds.push(format!("{file}:{}:ro", r.target)),
                None => {
                    return Err(Error::service(
                        &s.name,
                        format!(
                            "secret/config {:?} must be file-based (others are not supported yet)",
                            r.source
                        ),
                    ))
                }
            }
        }
    }

    let healthcheck = s.healthcheck.as_ref().map(|h| {
        let ns = |d: &Option<String>| d.as_deref().and_then(parse_duration_ns);
        HealthConfig {
            test: Some(if h.disable {
                vec!["NONE".into()]
            } else {
                h.test.clone()
            }),
            interval: ns(&h.interval),
            timeout: ns(&h.timeout),
            retries: h.retries.map(i64::from),
            start_period: ns(&h.start_period),
            start_interval: ns(&h.start_interval),
        }
    });
    let restart_policy = s.restart.as_deref().map(|r| {
        let (name, max) = match r.split_once(':') {
            Some((n, m)) => (n, m.parse().ok()),
            None => (r, None),
        };
        RestartPolicy {
            name: Some(match name {
                "always" => RestartPolicyNameEnum::ALWAYS,
                "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
                "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
                _ => RestartPolicyNameEnum::NO,
            }),
            maximum_retry_count: max,
        }
    });
    let first_network = s.networks.iter().next();
    let network_mode = match &s.network_mode {
        Some(mode) => Some(mode.clone()),
        None => first_network.map(|(k, _)| project.networks[k].name.clone()),
    };
    let networking_config = match (&s.network_mode, first_network) {
        (None, Some((k, sn))) => Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                project.networks[k].name.clone(),
                endpoint(s, &name, sn.as_ref(), oneoff),
            )])),
        }),
        _ => None,
    };
    let env: Vec<String> = s
        .environment
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
    let stop_timeout = s
        .stop_grace_period
        .as_deref()
        .and_then(parse_duration_ns)
        .map(|ns| ns / 1_000_000_000);
    let nano_cpus = s
        .cpus
        .as_deref()
        .and_then(|c| c.parse::<f64>().ok())
        .map(|c| (c * 1e9) as i64);
    let host_config = HostConfig {
        binds: (!binds.is_empty()).then_some(binds),
        mounts: (!mounts.is_empty()).then_some(mounts),
        port_bindings: (!bindings.is_empty()).then_some(bindings),
        restart_policy,
        network_mode,
        cap_add: (!s.cap_add.is_empty()).then(|| s.cap_add.clone()),
        cap_drop: (!s.cap_drop.is_empty()).then(|| s.cap_drop.clone()),
        dns: (!s.dns.is_empty()).then(|| s.dns.clone()),
        extra_hosts: (!s.extra_hosts.is_empty()).then(|| s.extra_hosts.clone()),
        init: s.init,
        privileged: Some(s.privileged),
        readonly_rootfs: Some(s.read_only),
        security_opt: (!s.security_opt.is_empty()).then(|| s.security_opt.clone()),
        shm_size: s.shm_size.as_deref().and_then(parse_bytes),
        sysctls: (!s.sysctls.is_empty()).then(|| s.sysctls.clone().into_iter().collect()),
        tmpfs: (!s.tmpfs.is_empty()).then(|| {
            s.tmpfs
                .iter()
                .map(|t| match t.split_once(':') {
                    Some((p, o)) => (p.to_string(), o.to_string()),
                    None => (t.clone(), String::new()),
                })
                .collect()
        }),
        log_config: s.logging.as_ref().map(|lg| HostConfigLogConfig {
            typ: lg.driver.clone(),
            config: Some(lg.options.clone().into_iter().collect()),
        }),
        memory: s.mem_limit.as_deref().and_then(parse_bytes),
        ulimits: (!s.ulimits.is_empty()).then(|| {
            s.ulimits
                .iter()
                .map(|(name, u)| bollard::models::ResourcesUlimits {
                    name: Some(name.clone()),
                    soft: Some(u.soft),
                    hard: Some(u.hard),
                })
                .collect()
        }),
        devices: (!s.devices.is_empty()).then(|| s.devices.iter().map(|d| device(d)).collect()),
        group_add: (!s.group_add.is_empty()).then(|| s.group_add.clone()),
        ipc_mode: s.ipc.clone(),
        pid_mode: s.pid.clone(),
        userns_mode: s.userns_mode.clone(),
        nano_cpus,
        ..Default::default()
    };
    Ok(ContainerCreateBody {
        image: Some(s.image_name(&project.name)),
        cmd: s.command.clone(),
        entrypoint: s.entrypoint.clone(),
        env: Some(env),
        working_dir: s.working_dir.clone(),
        user: s.user.clone(),
        hostname: s.hostname.clone(),
        domainname: s.domainname.clone(),
        tty: Some(s.tty),
        open_stdin: Some(s.stdin_open),
        labels: Some(l),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        healthcheck,
        stop_signal: s.stop_signal.clone(),
        stop_timeout,
        host_config: Some(host_config),
        networking_config,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{load_sources, LoadOptions};

    #[tokio::test]
    async fn creates_wait_for_the_networks_only_while_they_are_being_created() {
        let (tx, ready) = NetworksReady::pending_if(true);
        assert!(ready.is_pending());
        let waiter = tokio::spawn(async move { ready.wait().await.is_ok() });
        tx.send_replace(true);
        assert!(waiter.await.unwrap());

        let (_tx, nothing_missing) = NetworksReady::pending_if(false);
        assert!(!nothing_missing.is_pending());
        assert!(NetworksReady::done().wait().await.is_ok());

        // Creating a network failed: a waiting create gets an error instead of hanging.
        let (tx, ready) = NetworksReady::pending_if(true);
        drop(tx);
        assert!(ready.wait().await.is_err());
    }

    #[test]
    fn container_body_carries_labels_ports_mounts_and_health() {
        let opts = LoadOptions {
            working_dir: "/proj".into(),
            ..Default::default()
        };
        let p = load_sources(
            vec![(
                "/proj/compose.yaml".into(),
                "name: demo\nservices:\n  web:\n    image: busybox\n    ports: ['127.0.0.1:8080:80']\n    volumes: ['./site:/www:ro', 'data:/data', {type: tmpfs, target: /tmp}]\n    healthcheck: {test: [CMD, true], interval: 2s}\n    restart: on-failure:3\n    depends_on: {db: {condition: service_healthy}}\n    networks: {front: {aliases: [www]}, default: null}\n  db:\n    image: busybox\nvolumes: {data: {}}\nnetworks: {front: {}}\n".into(),
            )],
            &opts,
        )
        .unwrap();
        let body = container_body(&p, &p.services["web"], 2, false).unwrap();
        let l = body.labels.unwrap();
        assert_eq!(l[labels::PROJECT], "demo");
        assert_eq!(l[labels::SERVICE], "web");
        assert_eq!(l[labels::NUMBER], "2");
        assert_eq!(l[labels::ONEOFF], "False");
        assert_eq!(l[labels::DEPENDS_ON], "db:service_healthy:false");
        assert_eq!(l[labels::CONFIG_FILES], "/proj/compose.yaml");
        assert_eq!(l[labels::WORKING_DIR], "/proj");
        assert_eq!(l[labels::CONFIG_HASH], p.services["web"].config_hash());
        let hc = body.host_config.unwrap();
        assert_eq!(hc.binds.unwrap(), vec!["/proj/site:/www:ro"]);
        let mounts = hc.mounts.unwrap();
        assert_eq!(mounts[0].source.as_deref(), Some("demo_data"));
        assert_eq!(mounts[1].typ, Some(BollardMountType::TMPFS));
        let pb = hc.port_bindings.unwrap();
        let b = pb["80/tcp"].as_ref().unwrap();
        assert_eq!(b[0].host_port.as_deref(), Some("8080"));
        assert_eq!(b[0].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(hc.restart_policy.unwrap().maximum_retry_count, Some(3));
        assert_eq!(hc.network_mode.as_deref(), Some("demo_default"));
        let health = body.healthcheck.unwrap();
        assert_eq!(health.interval, Some(2_000_000_000));
        let eps = body.networking_config.unwrap().endpoints_config.unwrap();
        assert_eq!(
            eps["demo_default"].aliases.as_deref().unwrap(),
            ["web", "demo-web-2"]
        );
    }
}
