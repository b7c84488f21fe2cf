//! Containers: list, inspect, run from a `RunSpec`, lifecycle, rename, wait.

use std::collections::BTreeMap;
use std::time::Duration;

use bollard::errors::Error as BollardError;
use bollard::models::ContainerInspectResponse;
use bollard::query_parameters as q;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::run_spec::is_object_name;
use crate::{filter_map, sorted, ContainerSpec, Engine, EngineError, RunSpec};

/// Compose's project label; the UI groups containers by it.
pub const COMPOSE_PROJECT_LABEL: &str = "com.docker.compose.project";
/// Compose's service label.
pub const COMPOSE_SERVICE_LABEL: &str = "com.docker.compose.service";

/// One row of the container list.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerSummary {
    pub id: String,
    /// The first name, without the leading `/`.
    pub name: String,
    pub image: String,
    pub image_id: String,
    pub command: String,
    /// Unix seconds.
    pub created: i64,
    /// `created`, `running`, `paused`, `restarting`, `exited`, `removing`, `dead`.
    pub state: String,
    /// Human status, e.g. "Up 2 minutes".
    pub status: String,
    pub ports: Vec<PortSummary>,
    pub labels: BTreeMap<String, String>,
    pub compose_project: Option<String>,
    pub compose_service: Option<String>,
    pub networks: Vec<String>,
}

/// A port as the list reports it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortSummary {
    pub ip: Option<String>,
    pub private_port: u16,
    pub public_port: Option<u16>,
    pub protocol: String,
}

/// Which containers to list. Every set field narrows the list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerFilter {
    /// Include stopped containers.
    pub all: bool,
    /// `key` or `key=value`.
    pub labels: Vec<String>,
    pub name: Option<String>,
    /// `running`, `exited`, ...
    pub status: Option<String>,
    pub compose_project: Option<String>,
    /// A volume name or mount destination.
    pub volume: Option<String>,
    pub network: Option<String>,
    pub id: Option<String>,
}

impl ContainerFilter {
    pub fn all() -> Self {
        ContainerFilter {
            all: true,
            ..Self::default()
        }
    }

    fn to_options(&self) -> q::ListContainersOptions {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        pairs.extend(self.labels.iter().map(|l| ("label", l.clone())));
        if let Some(p) = &self.compose_project {
            pairs.push(("label", format!("{COMPOSE_PROJECT_LABEL}={p}")));
        }
        let optional = [
            ("name", &self.name),
            ("status", &self.status),
            ("volume", &self.volume),
            ("network", &self.network),
            ("id", &self.id),
        ];
        pairs.extend(
            optional
                .into_iter()
                .filter_map(|(k, v)| v.clone().map(|v| (k, v))),
        );
        q::ListContainersOptions {
            all: self.all,
            filters: (!pairs.is_empty()).then(|| filter_map(pairs)),
            ..Default::default()
        }
    }
}

/// How to remove a container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RemoveOptions {
    /// Kill it first if it is running.
    pub force: bool,
    /// Remove its anonymous volumes too.
    pub volumes: bool,
}

impl From<bollard::models::ContainerSummary> for ContainerSummary {
    fn from(c: bollard::models::ContainerSummary) -> Self {
        let labels = sorted(c.labels);
        let name = c
            .names
            .as_ref()
            .and_then(|n| n.first())
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_default();
        let mut networks: Vec<String> = c
            .network_settings
            .and_then(|n| n.networks)
            .map(|n| n.into_keys().collect())
            .unwrap_or_default();
        networks.sort();
        ContainerSummary {
            id: c.id.unwrap_or_default(),
            name,
            image: c.image.unwrap_or_default(),
            image_id: c.image_id.unwrap_or_default(),
            command: c.command.unwrap_or_default(),
            created: c.created.unwrap_or_default(),
            state: c.state.map(|s| s.to_string()).unwrap_or_default(),
            status: c.status.unwrap_or_default(),
            ports: c
                .ports
                .unwrap_or_default()
                .into_iter()
                .map(|p| PortSummary {
                    ip: p.ip,
                    private_port: p.private_port,
                    public_port: p.public_port,
                    protocol: p.typ.map(|t| t.to_string()).unwrap_or_else(|| "tcp".into()),
                })
                .collect(),
            compose_project: labels.get(COMPOSE_PROJECT_LABEL).cloned(),
            compose_service: labels.get(COMPOSE_SERVICE_LABEL).cloned(),
            labels,
            networks,
        }
    }
}

/// A stop may legitimately take its whole grace period: give the request that long plus margin.
fn client_for_grace(docker: &bollard::Docker, grace: Option<Duration>) -> bollard::Docker {
    let needed = grace.map(|g| g + Duration::from_secs(30));
    match needed {
        Some(n) if n > crate::REQUEST_TIMEOUT => docker.clone().with_timeout(n),
        _ => docker.clone(),
    }
}

fn seconds(timeout: Option<Duration>) -> Option<i32> {
    timeout.map(|t| i32::try_from(t.as_secs()).unwrap_or(i32::MAX))
}

impl Engine {
    pub async fn list_containers(
        &self,
        filter: &ContainerFilter,
    ) -> Result<Vec<ContainerSummary>, EngineError> {
        let list = self
            .docker
            .list_containers(Some(filter.to_options()))
            .await
            .map_err(self.err())?;
        Ok(list.into_iter().map(ContainerSummary::from).collect())
    }

    pub async fn inspect_container(
        &self,
        id: &str,
    ) -> Result<ContainerInspectResponse, EngineError> {
        self.docker
            .inspect_container(id, None::<q::InspectContainerOptions>)
            .await
            .map_err(self.err())
    }

    /// Validates `spec` and creates the container; returns its id.
    pub async fn create_container(&self, spec: &RunSpec) -> Result<String, EngineError> {
        spec.validate()?;
        self.create_container_from(&spec.to_container_spec()).await
    }

    /// Creates the container `spec` describes, as it is (compose checked it when loading);
    /// returns its id.
    pub async fn create_container_from(&self, spec: &ContainerSpec) -> Result<String, EngineError> {
        let options = q::CreateContainerOptions {
            name: spec.name.clone(),
            platform: spec.platform.clone().unwrap_or_default(),
        };
        let created = self
            .docker
            .create_container(Some(options), spec.to_create_body())
            .await
            .map_err(self.err())?;
        for w in created.warnings {
            tracing::warn!(id = %created.id, warning = %w, "engine warning on create");
        }
        Ok(created.id)
    }

    /// Unpacks a tar archive at `path` inside the container (created or running); the
    /// archive's entries keep their owner and mode.
    pub async fn upload_archive(
        &self,
        id: &str,
        path: &str,
        tar: Vec<u8>,
    ) -> Result<(), EngineError> {
        let options = q::UploadToContainerOptions {
            path: path.to_string(),
            ..Default::default()
        };
        self.docker_transfer
            .upload_to_container(id, Some(options), bollard::body_full(tar.into()))
            .await
            .map_err(self.err())
    }

    /// A tar archive of `path` inside the container (running or not), as the engine streams it.
    pub fn container_archive(
        &self,
        id: &str,
        path: &str,
    ) -> impl futures_util::Stream<Item = Result<bytes::Bytes, EngineError>> + Send + 'static {
        let options = q::DownloadFromContainerOptions {
            path: path.to_string(),
        };
        let err = self.err();
        self.docker
            .download_from_container(id, Some(options))
            .map(move |r| r.map_err(&err))
    }

    /// Creates and starts a container (`docker run -d`); returns its id.
    pub async fn run(&self, spec: &RunSpec) -> Result<String, EngineError> {
        let id = self.create_container(spec).await?;
        self.start_container(&id).await?;
        Ok(id)
    }

    pub async fn start_container(&self, id: &str) -> Result<(), EngineError> {
        self.docker
            .start_container(id, None::<q::StartContainerOptions>)
            .await
            .map_err(self.err())
    }

    /// Stops with SIGTERM, then SIGKILL after `timeout` (the container's own default when `None`).
    pub async fn stop_container(
        &self,
        id: &str,
        timeout: Option<Duration>,
    ) -> Result<(), EngineError> {
        let options = q::StopContainerOptions {
            t: seconds(timeout),
            signal: None,
        };
        client_for_grace(&self.docker, timeout)
            .stop_container(id, Some(options))
            .await
            .map_err(self.err())
    }

    pub async fn restart_container(
        &self,
        id: &str,
        timeout: Option<Duration>,
    ) -> Result<(), EngineError> {
        let options = q::RestartContainerOptions {
            t: seconds(timeout),
            signal: None,
        };
        client_for_grace(&self.docker, timeout)
            .restart_container(id, Some(options))
            .await
            .map_err(self.err())
    }

    pub async fn pause_container(&self, id: &str) -> Result<(), EngineError> {
        self.docker.pause_container(id).await.map_err(self.err())
    }

    pub async fn unpause_container(&self, id: &str) -> Result<(), EngineError> {
        self.docker.unpause_container(id).await.map_err(self.err())
    }

    /// Sends `signal` (default `SIGKILL`).
    pub async fn kill_container(&self, id: &str, signal: Option<&str>) -> Result<(), EngineError> {
        let options = q::KillContainerOptions {
            signal: signal.unwrap_or("SIGKILL").to_string(),
        };
        self.docker
            .kill_container(id, Some(options))
            .await
            .map_err(self.err())
    }

    pub async fn remove_container(
        &self,
        id: &str,
        options: RemoveOptions,
    ) -> Result<(), EngineError> {
        let options = q::RemoveContainerOptions {
            force: options.force,
            v: options.volumes,
            link: false,
        };
        self.docker
            .remove_container(id, Some(options))
            .await
            .map_err(self.err())
    }

    pub async fn rename_container(&self, id: &str, new_name: &str) -> Result<(), EngineError> {
        if !is_object_name(new_name) {
            return Err(EngineError::invalid(
                "name",
                format!("{new_name:?} must match [a-zA-Z0-9][a-zA-Z0-9_.-]+"),
            ));
        }
        let options = q::RenameContainerOptions {
            name: new_name.to_string(),
        };
        self.docker
            .rename_container(id, options)
            .await
            .map_err(self.err())
    }

    /// Removes every stopped container.
    pub async fn prune_containers(&self) -> Result<crate::PruneReport, EngineError> {
        let r = self
            .docker
            .prune_containers(None::<q::PruneContainersOptions>)
            .await
            .map_err(self.err())?;
        Ok(crate::PruneReport {
            deleted: r.containers_deleted.unwrap_or_default(),
            space_reclaimed: r.space_reclaimed.unwrap_or(0).max(0) as u64,
        })
    }

    /// Removes the builder's cache (what `docker builder prune` removes).
    pub async fn prune_build_cache(&self) -> Result<crate::PruneReport, EngineError> {
        let r = self
            .docker
            .prune_build(None::<q::PruneBuildOptions>)
            .await
            .map_err(self.err())?;
        Ok(crate::PruneReport {
            deleted: r.caches_deleted.unwrap_or_default(),
            space_reclaimed: r.space_reclaimed.unwrap_or(0).max(0) as u64,
        })
    }

    /// Waits until the container is not running and returns its exit code.
    pub async fn wait_container(&self, id: &str) -> Result<i64, EngineError> {
        let options = q::WaitContainerOptions {
            condition: "not-running".into(),
        };
        let mut stream = self.docker.wait_container(id, Some(options));
        match stream.next().await {
            Some(Ok(resp)) => Ok(resp.status_code),
            // bollard reports a non-zero exit as an error; for us it is an answer.
            Some(Err(BollardError::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) => Err(self.err()(e)),
            None => Err(EngineError::Engine {
                status: None,
                message: format!("wait for {id} ended without an answer"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_grace_periods_extend_the_request_deadline() {
        let docker = bollard::Docker::connect_with_http(
            "tcp://127.0.0.1:9",
            120,
            bollard::API_DEFAULT_VERSION,
        )
        .unwrap();
        let short = client_for_grace(&docker, Some(Duration::from_secs(10)));
        assert_eq!(short.timeout(), Duration::from_secs(120));
        let long = client_for_grace(&docker, Some(Duration::from_secs(300)));
        assert_eq!(long.timeout(), Duration::from_secs(330));
    }

    #[test]
    fn filter_options() {
        let f = ContainerFilter {
            all: true,
            compose_project: Some("shop".into()),
            labels: vec!["tier=web".into()],
            status: Some("running".into()),
            ..Default::default()
        };
        let o = f.to_options();
        assert!(o.all);
        let filters = o.filters.unwrap();
        assert_eq!(
            filters["label"],
            ["tier=web", "com.docker.compose.project=shop"]
        );
        assert_eq!(filters["status"], ["running"]);
        assert!(ContainerFilter::default().to_options().filters.is_none());
    }

    #[test]
    fn summary_from_engine_json() {
        let raw = serde_json::json!({
            "Id": "abc", "Names": ["/web-1"], "Image": "busybox", "ImageID": "sha256:1",
            "Command": "sh", "Created": 5, "State": "running", "Status": "Up 1 second",
            "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}],
            "Labels": {"com.docker.compose.project": "shop", "com.docker.compose.service": "web"},
            "NetworkSettings": {"Networks": {"shop_default": {}}}
        });
        let c: bollard::models::ContainerSummary = serde_json::from_value(raw).unwrap();
        let s = ContainerSummary::from(c);
        assert_eq!(s.name, "web-1");
        assert_eq!(s.state, "running");
        assert_eq!(s.compose_project.as_deref(), Some("shop"));
        assert_eq!(s.compose_service.as_deref(), Some("web"));
        assert_eq!(s.networks, ["shop_default"]);
        assert_eq!(s.ports[0].public_port, Some(8080));
        assert_eq!(s.ports[0].protocol, "tcp");
        let json = serde_json::to_value(&s).unwrap();
        assert!(json.get("composeProject").is_some());
    }
}
