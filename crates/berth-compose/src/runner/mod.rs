//! Executes compose operations against an engine: `up` (the plan), `down`, `start`, `stop`,
//! `restart`, `ps`, `ls`, `pull`, `build`, `run` and `exec`, reporting typed progress events.
//! Everything is said to the engine through [`berth_engine::Engine`]'s methods.
//!
//! One file per verb: [`up`](self::up) executes the plan, `create` turns a service into the
//! engine's container spec, `project_resources` makes networks and volumes, `images` pulls and
//! builds, `waits` waits for `depends_on` conditions, `lifecycle` starts, stops and removes,
//! `down` tears down, `query` answers `ps`/`logs`/`ls`, `run_exec` runs one-offs and execs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use berth_engine::{ContainerFilter, ContainerSummary, Engine, RegistryAuth};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::plan::{labels, Observed, UpOptions};

mod create;
mod down;
mod hooks;
mod images;
mod lifecycle;
mod project_resources;
mod query;
mod run_exec;
mod up;
mod waits;

pub use create::container_spec;

/// The state a resource reached, as `up`/`down` report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ResourceState {
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

impl std::fmt::Display for ResourceState {
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
        status: ResourceState,
    },
    Volume {
        name: String,
        status: ResourceState,
    },
    Image {
        name: String,
        status: ResourceState,
    },
    Container {
        name: String,
        service: String,
        status: ResourceState,
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

/// Whether the engine answered that the thing asked about does not exist.
fn is_not_found(e: &berth_engine::EngineError) -> bool {
    matches!(e, berth_engine::EngineError::NotFound { .. })
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

    fn container_event(&self, name: &str, service: &str, status: ResourceState) {
        self.emit(Event::Container {
            name: name.to_string(),
            service: service.to_string(),
            status,
        });
    }

    /// The containers of project `name` (one-off ones included), with their labels.
    pub async fn observe(&self, project: &str) -> Result<Vec<Observed>> {
        let list = self
            .list_containers(&format!("{}={project}", labels::PROJECT))
            .await?;
        Ok(list
            .iter()
            .map(|c| {
                let l = &c.labels;
                Observed {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    service: l.get(labels::SERVICE).cloned().unwrap_or_default(),
                    number: l
                        .get(labels::NUMBER)
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0),
                    config_hash: l.get(labels::CONFIG_HASH).cloned().unwrap_or_default(),
                    running: c.state == "running",
                    oneoff: l
                        .get(labels::ONEOFF)
                        .is_some_and(|v| v.eq_ignore_ascii_case("true")),
                    pre_stop: hooks::from_label(l.get(labels::PRE_STOP)),
                }
            })
            .collect())
    }

    /// Every container (stopped ones too) carrying `label` (`key` or `key=value`).
    async fn list_containers(&self, label: &str) -> Result<Vec<ContainerSummary>> {
        let filter = ContainerFilter {
            all: true,
            labels: vec![label.to_string()],
            ..ContainerFilter::default()
        };
        self.engine
            .list_containers(&filter)
            .await
            .map_err(Error::engine("listing containers"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
