//! Swarm mode on one engine: init and leave, the swarm's state and labels, and replicated
//! services (create, scale, remove) with their tasks.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    LocalNodeState, ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated, SwarmInitRequest,
    SwarmSpec, TaskSpec, TaskSpecContainerSpec, TaskState,
};
use bollard::query_parameters as q;
use serde::{Deserialize, Serialize};

use crate::{filter_map, sorted, Engine, EngineError};

/// Where this engine stands in swarm mode.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SwarmState {
    /// The node is part of a swarm (`LocalNodeState` `active`).
    pub active: bool,
    /// It is a manager, so the swarm's spec (and its labels) can be read.
    pub manager: bool,
    pub node_id: Option<String>,
    /// The swarm spec's labels (empty unless `active` and `manager`).
    pub labels: BTreeMap<String, String>,
}

/// A replicated service to create.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceCreate {
    pub name: String,
    pub image: String,
    /// Replaces the image's CMD when non-empty.
    pub cmd: Vec<String>,
    pub replicas: u64,
    /// On the service and on every task's container.
    pub labels: BTreeMap<String, String>,
}

/// One service as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSummary {
    pub id: String,
    pub name: String,
    pub image: String,
    /// Desired replicas (`None` for a global service).
    pub replicas: Option<u64>,
    pub labels: BTreeMap<String, String>,
}

/// One task of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskSummary {
    pub id: String,
    pub slot: Option<i64>,
    /// `running`, `pending`, `shutdown`, `failed`, ...
    pub state: String,
    pub desired_state: String,
    pub container_id: Option<String>,
    pub error: Option<String>,
}

impl TaskSummary {
    /// Running, and meant to be.
    pub fn is_running(&self) -> bool {
        self.state == "running" && self.desired_state == "running"
    }
}

fn replicated(replicas: u64) -> ServiceSpecMode {
    ServiceSpecMode {
        replicated: Some(ServiceSpecModeReplicated {
            replicas: Some(i64::try_from(replicas).unwrap_or(i64::MAX)),
        }),
        ..Default::default()
    }
}

fn state_text(state: Option<TaskState>) -> String {
    state.map(|s| s.to_string()).unwrap_or_default()
}

impl ServiceCreate {
    fn to_spec(&self) -> ServiceSpec {
        let labels: HashMap<String, String> = self.labels.clone().into_iter().collect();
        ServiceSpec {
            name: Some(self.name.clone()),
            labels: Some(labels.clone()),
            task_template: Some(TaskSpec {
                container_spec: Some(TaskSpecContainerSpec {
                    image: Some(self.image.clone()),
                    labels: Some(labels),
                    command: (!self.cmd.is_empty()).then(|| self.cmd.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            mode: Some(replicated(self.replicas)),
            ..Default::default()
        }
    }
}

impl From<bollard::models::Service> for ServiceSummary {
    fn from(s: bollard::models::Service) -> Self {
        let spec = s.spec.unwrap_or_default();
        let image = spec
            .task_template
            .and_then(|t| t.container_spec)
            .and_then(|c| c.image)
            .unwrap_or_default();
        let replicas = spec
            .mode
            .and_then(|m| m.replicated)
            .and_then(|r| r.replicas)
            .map(|n| u64::try_from(n).unwrap_or(0));
        ServiceSummary {
            id: s.id.unwrap_or_default(),
            name: spec.name.unwrap_or_default(),
            image,
            replicas,
            labels: sorted(spec.labels),
        }
    }
}

impl Engine {
    /// Whether the engine is in a swarm, and the swarm's labels when it manages one.
    pub async fn swarm_state(&self) -> Result<SwarmState, EngineError> {
        let info = self.info().await?.swarm.unwrap_or_default();
        let active = info.local_node_state == Some(LocalNodeState::ACTIVE);
        let manager = active && info.control_available.unwrap_or(false);
        let labels = if manager {
            let swarm = self.docker.inspect_swarm().await.map_err(self.err())?;
            sorted(swarm.spec.and_then(|s| s.labels))
        } else {
            BTreeMap::new()
        };
        Ok(SwarmState {
            active,
            manager,
            node_id: info.node_id.filter(|id| !id.is_empty()),
            labels,
        })
    }

    /// Makes this engine a one-node swarm (`docker swarm init --advertise-addr ADDR`), its spec
    /// carrying `labels`; returns the node id.
    pub async fn swarm_init(
        &self,
        advertise_addr: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, EngineError> {
        let request = SwarmInitRequest {
            advertise_addr: Some(advertise_addr.to_string()),
            listen_addr: Some("0.0.0.0:2377".into()),
            spec: Some(SwarmSpec {
                labels: Some(labels.clone().into_iter().collect()),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.docker.init_swarm(request).await.map_err(self.err())
    }

    /// Leaves the swarm (`--force` is needed for the last manager).
    pub async fn swarm_leave(&self, force: bool) -> Result<(), EngineError> {
        self.docker
            .leave_swarm(Some(q::LeaveSwarmOptions { force }))
            .await
            .map_err(self.err())
    }

    /// Creates a replicated service; returns its id.
    pub async fn create_service(&self, spec: &ServiceCreate) -> Result<String, EngineError> {
        if spec.name.trim().is_empty() || spec.image.trim().is_empty() {
            return Err(EngineError::invalid(
                "service",
                "a service needs a name and an image",
            ));
        }
        let created = self
            .docker
            .create_service(spec.to_spec(), None)
            .await
            .map_err(self.err())?;
        for w in created.warnings.unwrap_or_default() {
            tracing::debug!(service = %spec.name, warning = %w, "engine warning on service create");
        }
        Ok(created.id.unwrap_or_default())
    }

    pub async fn inspect_service(&self, name: &str) -> Result<ServiceSummary, EngineError> {
        self.docker
            .inspect_service(name, None::<q::InspectServiceOptions>)
            .await
            .map(ServiceSummary::from)
            .map_err(self.err())
    }

    /// Sets a replicated service's replica count (`docker service scale NAME=N`).
    pub async fn scale_service(&self, name: &str, replicas: u64) -> Result<(), EngineError> {
        let service = self
            .docker
            .inspect_service(name, None::<q::InspectServiceOptions>)
            .await
            .map_err(self.err())?;
        let version = service.version.and_then(|v| v.index).unwrap_or(0);
        let mut spec = service.spec.unwrap_or_default();
        if spec.mode.as_ref().is_some_and(|m| m.replicated.is_none()) {
            return Err(EngineError::invalid(
                "service",
                format!("{name} is not a replicated service"),
            ));
        }
        spec.mode = Some(replicated(replicas));
        let options = q::UpdateServiceOptions {
            version: i32::try_from(version).unwrap_or(i32::MAX),
            ..Default::default()
        };
        self.docker
            .update_service(name, spec, options, None)
            .await
            .map(drop)
            .map_err(self.err())
    }

    pub async fn remove_service(&self, name: &str) -> Result<(), EngineError> {
        self.docker.delete_service(name).await.map_err(self.err())
    }

    /// The services carrying `label` (`key` or `key=value`).
    pub async fn services_with_label(
        &self,
        label: &str,
    ) -> Result<Vec<ServiceSummary>, EngineError> {
        let options = q::ListServicesOptions {
            filters: Some(filter_map([("label", label.to_string())])),
            ..Default::default()
        };
        let list = self
            .docker
            .list_services(Some(options))
            .await
            .map_err(self.err())?;
        Ok(list.into_iter().map(ServiceSummary::from).collect())
    }

    /// The tasks of the service `name`, in slot order.
    pub async fn service_tasks(&self, name: &str) -> Result<Vec<TaskSummary>, EngineError> {
        let options = q::ListTasksOptions {
            filters: Some(filter_map([("service", name.to_string())])),
        };
        let tasks = self
            .docker
            .list_tasks(Some(options))
            .await
            .map_err(self.err())?;
        let mut out: Vec<TaskSummary> = tasks
            .into_iter()
            .map(|t| {
                let status = t.status.unwrap_or_default();
                TaskSummary {
                    id: t.id.unwrap_or_default(),
                    slot: t.slot,
                    state: state_text(status.state),
                    desired_state: state_text(t.desired_state),
                    container_id: status.container_status.and_then(|c| c.container_id),
                    error: status.err.filter(|e| !e.is_empty()),
                }
            })
            .collect();
        out.sort_by_key(|t| t.slot);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_spec_labels_the_service_and_its_containers() {
        let spec = ServiceCreate {
            name: "web".into(),
            image: "busybox".into(),
            cmd: vec!["sleep".into(), "60".into()],
            replicas: 3,
            labels: BTreeMap::from([("berth.learn".into(), "swarm".into())]),
        }
        .to_spec();
        assert_eq!(spec.name.as_deref(), Some("web"));
        assert_eq!(spec.labels.as_ref().unwrap()["berth.learn"], "swarm");
        let container = spec.task_template.unwrap().container_spec.unwrap();
        assert_eq!(container.labels.unwrap()["berth.learn"], "swarm");
        assert_eq!(container.command.unwrap(), ["sleep", "60"]);
        let replicas = spec.mode.unwrap().replicated.unwrap().replicas;
        assert_eq!(replicas, Some(3));
    }

    #[test]
    fn an_empty_command_keeps_the_images() {
        let spec = ServiceCreate {
            name: "web".into(),
            image: "busybox".into(),
            ..Default::default()
        }
        .to_spec();
        assert!(spec
            .task_template
            .unwrap()
            .container_spec
            .unwrap()
            .command
            .is_none());
    }

    #[test]
    fn tasks_from_engine_json() {
        let raw = serde_json::json!({
            "ID": "t1", "Slot": 2, "DesiredState": "running",
            "Status": {"State": "running", "ContainerStatus": {"ContainerID": "c1"}}
        });
        let t: bollard::models::Task = serde_json::from_value(raw).unwrap();
        let status = t.status.unwrap();
        let summary = TaskSummary {
            id: t.id.unwrap(),
            slot: t.slot,
            state: state_text(status.state),
            desired_state: state_text(t.desired_state),
            container_id: status.container_status.and_then(|c| c.container_id),
            error: None,
        };
        assert!(summary.is_running());
        assert_eq!(summary.container_id.as_deref(), Some("c1"));
    }
}
