//! Services: the Learn lesson's simple replicated ones ([`ServiceCreate`]) and full
//! definitions ([`ServiceDefinition`]); inspect, list, scale, image update, rollback, remove.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{Service, ServiceSpec, TaskSpec, TaskSpecContainerSpec};
use bollard::query_parameters as q;
use serde::{Deserialize, Serialize};

use super::service_definition::{mode_spec, ServiceDefinition, ServiceMode};
use crate::{filter_map, sorted, Engine, EngineError};

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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSummary {
    pub id: String,
    pub name: String,
    pub image: String,
    /// Desired replicas (`None` for a global service).
    pub replicas: Option<u64>,
    pub labels: BTreeMap<String, String>,
    /// `replicated`, `global`, or the job modes.
    pub mode: String,
    /// Running tasks (filled by [`Engine::list_services`]).
    pub running: Option<u64>,
    /// Tasks the swarm wants running (filled by [`Engine::list_services`]).
    pub desired: Option<u64>,
    /// Published ports, `8080:80/tcp`.
    pub ports: Vec<String>,
    /// The rolling update's state (`updating`, `completed`, `rollback_completed`, ...).
    pub update_state: Option<String>,
    /// The engine's words on the update (why it rolled back, say).
    pub update_message: Option<String>,
    /// The spec version, for updates.
    pub version: u64,
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
            mode: Some(mode_spec(ServiceMode::Replicated(self.replicas))),
            ..Default::default()
        }
    }
}

fn mode_name(mode: Option<&bollard::models::ServiceSpecMode>) -> &'static str {
    match mode {
        Some(m) if m.global.is_some() => "global",
        Some(m) if m.replicated_job.is_some() => "replicated-job",
        Some(m) if m.global_job.is_some() => "global-job",
        _ => "replicated",
    }
}

impl From<Service> for ServiceSummary {
    fn from(s: Service) -> Self {
        let spec = s.spec.unwrap_or_default();
        let image = spec
            .task_template
            .as_ref()
            .and_then(|t| t.container_spec.as_ref())
            .and_then(|c| c.image.clone())
            .unwrap_or_default();
        let replicas = spec
            .mode
            .as_ref()
            .and_then(|m| m.replicated.as_ref())
            .and_then(|r| r.replicas)
            .map(|n| u64::try_from(n).unwrap_or(0));
        let ports = s
            .endpoint
            .and_then(|e| e.ports)
            .unwrap_or_default()
            .into_iter()
            .map(|p| {
                let protocol = p.protocol.map(|x| x.to_string()).unwrap_or_default();
                match p.published_port {
                    Some(published) => format!(
                        "{published}:{}/{protocol}",
                        p.target_port.unwrap_or_default()
                    ),
                    None => format!("{}/{protocol}", p.target_port.unwrap_or_default()),
                }
            })
            .collect();
        let status = s.service_status.unwrap_or_default();
        let update = s.update_status.unwrap_or_default();
        ServiceSummary {
            id: s.id.unwrap_or_default(),
            name: spec.name.unwrap_or_default(),
            image,
            replicas,
            labels: sorted(spec.labels),
            mode: mode_name(spec.mode.as_ref()).to_string(),
            running: status.running_tasks,
            desired: status.desired_tasks,
            ports,
            update_state: update
                .state
                .map(|x| x.to_string())
                .filter(|x| !x.is_empty()),
            update_message: update.message.filter(|m| !m.is_empty()),
            version: s.version.and_then(|v| v.index).unwrap_or(0),
        }
    }
}

fn spec_version(service: &Service) -> i32 {
    let index = service.version.as_ref().and_then(|v| v.index).unwrap_or(0);
    i32::try_from(index).unwrap_or(i32::MAX)
}

impl Engine {
    /// Creates a replicated service; returns its id.
    pub async fn create_service(&self, spec: &ServiceCreate) -> Result<String, EngineError> {
        if spec.name.trim().is_empty() || spec.image.trim().is_empty() {
            return Err(EngineError::invalid(
                "service",
                "a service needs a name and an image",
            ));
        }
        self.create_service_spec(&spec.name, spec.to_spec()).await
    }

    /// Creates a service from a full definition; returns its id.
    pub async fn create_service_definition(
        &self,
        def: &ServiceDefinition,
    ) -> Result<String, EngineError> {
        if def.name.trim().is_empty() || def.image.trim().is_empty() {
            return Err(EngineError::invalid(
                "service",
                "a service needs a name and an image",
            ));
        }
        self.create_service_spec(&def.name, def.to_spec()).await
    }

    async fn create_service_spec(
        &self,
        name: &str,
        spec: ServiceSpec,
    ) -> Result<String, EngineError> {
        let created = self
            .docker
            .create_service(spec, None)
            .await
            .map_err(self.err())?;
        for w in created.warnings.unwrap_or_default() {
            tracing::debug!(service = %name, warning = %w, "engine warning on service create");
        }
        Ok(created.id.unwrap_or_default())
    }

    /// Replaces the service's spec with `def` (a stack's redeploy): tasks are replaced per
    /// its update policy when what they run changed.
    pub async fn update_service_definition(
        &self,
        def: &ServiceDefinition,
    ) -> Result<(), EngineError> {
        self.update_service_with(&def.name, None, |spec| {
            *spec = def.to_spec();
            Ok(())
        })
        .await
    }

    pub async fn inspect_service(&self, name: &str) -> Result<ServiceSummary, EngineError> {
        self.docker
            .inspect_service(name, None::<q::InspectServiceOptions>)
            .await
            .map(ServiceSummary::from)
            .map_err(self.err())
    }

    /// Reads the spec, lets `change` edit it and writes it back at the version read
    /// (`rollback: Some("previous")` asks the engine for the previous spec instead).
    async fn update_service_with(
        &self,
        name: &str,
        rollback: Option<&str>,
        change: impl FnOnce(&mut ServiceSpec) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        let service = self
            .docker
            .inspect_service(name, None::<q::InspectServiceOptions>)
            .await
            .map_err(self.err())?;
        let version = spec_version(&service);
        let mut spec = service.spec.unwrap_or_default();
        change(&mut spec)?;
        let options = q::UpdateServiceOptions {
            version,
            rollback: rollback.map(str::to_string),
            ..Default::default()
        };
        let answer = self
            .docker
            .update_service(name, spec, options, None)
            .await
            .map_err(self.err())?;
        for w in answer.warnings.unwrap_or_default() {
            tracing::debug!(service = %name, warning = %w, "engine warning on service update");
        }
        Ok(())
    }

    /// Sets a replicated service's replica count (`docker service scale NAME=N`).
    pub async fn scale_service(&self, name: &str, replicas: u64) -> Result<(), EngineError> {
        self.update_service_with(name, None, |spec| {
            if spec.mode.as_ref().is_some_and(|m| m.replicated.is_none()) {
                return Err(EngineError::invalid(
                    "service",
                    format!(
                        "{name} is a {} service: only a replicated service can be scaled",
                        mode_name(spec.mode.as_ref())
                    ),
                ));
            }
            spec.mode = Some(mode_spec(ServiceMode::Replicated(replicas)));
            Ok(())
        })
        .await
    }

    /// Rolls the service's tasks over to `image` (`docker service update --image`), per the
    /// service's update policy.
    pub async fn update_service_image(&self, name: &str, image: &str) -> Result<(), EngineError> {
        if image.trim().is_empty() {
            return Err(EngineError::invalid("image", "the image must not be empty"));
        }
        self.update_service_with(name, None, |spec| {
            let task = spec.task_template.get_or_insert_with(Default::default);
            let container = task.container_spec.get_or_insert_with(Default::default);
            container.image = Some(image.to_string());
            Ok(())
        })
        .await
    }

    /// Goes back to the service's previous spec (`docker service rollback`).
    pub async fn rollback_service(&self, name: &str) -> Result<(), EngineError> {
        self.update_service_with(name, Some("previous"), |_| Ok(()))
            .await
    }

    pub async fn remove_service(&self, name: &str) -> Result<(), EngineError> {
        self.docker.delete_service(name).await.map_err(self.err())
    }

    /// The services carrying `label` (`key` or `key=value`); `None` lists them all. Running
    /// and desired task counts are filled in.
    pub async fn list_services(
        &self,
        label: Option<&str>,
    ) -> Result<Vec<ServiceSummary>, EngineError> {
        let options = q::ListServicesOptions {
            filters: label.map(|l| filter_map([("label", l.to_string())])),
            status: Some(true),
        };
        let list = self
            .docker
            .list_services(Some(options))
            .await
            .map_err(self.err())?;
        let mut out: Vec<ServiceSummary> = list.into_iter().map(ServiceSummary::from).collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The services carrying `label` (`key` or `key=value`).
    pub async fn services_with_label(
        &self,
        label: &str,
    ) -> Result<Vec<ServiceSummary>, EngineError> {
        self.list_services(Some(label)).await
    }

    /// The names of the secrets (`secrets`) or configs the service's containers are given.
    pub async fn service_file_names(
        &self,
        name: &str,
    ) -> Result<(Vec<String>, Vec<String>), EngineError> {
        let service = self
            .docker
            .inspect_service(name, None::<q::InspectServiceOptions>)
            .await
            .map_err(self.err())?;
        let container = service
            .spec
            .and_then(|s| s.task_template)
            .and_then(|t| t.container_spec)
            .unwrap_or_default();
        let secrets = container
            .secrets
            .unwrap_or_default()
            .into_iter()
            .filter_map(|s| s.secret_name)
            .collect();
        let configs = container
            .configs
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| c.config_name)
            .collect();
        Ok((secrets, configs))
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
    fn a_listed_service_says_its_mode_counts_ports_and_update() {
        let raw = serde_json::json!({
            "ID": "s1", "Version": {"Index": 12},
            "Spec": {"Name": "app_web", "Mode": {"Global": {}},
                     "TaskTemplate": {"ContainerSpec": {"Image": "busybox"}}},
            "Endpoint": {"Ports": [{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080}]},
            "ServiceStatus": {"RunningTasks": 2, "DesiredTasks": 3},
            "UpdateStatus": {"State": "rollback_completed", "Message": "update rolled back"}
        });
        let s: Service = serde_json::from_value(raw).unwrap();
        let summary = ServiceSummary::from(s);
        assert_eq!(summary.mode, "global");
        assert_eq!(summary.replicas, None);
        assert_eq!((summary.running, summary.desired), (Some(2), Some(3)));
        assert_eq!(summary.ports, ["8080:80/tcp"]);
        assert_eq!(summary.update_state.as_deref(), Some("rollback_completed"));
        assert_eq!(summary.version, 12);
    }
}
