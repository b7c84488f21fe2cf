//! Volumes: list (with sizes and the containers using them), create, inspect, remove, prune.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{Volume, VolumeCreateRequest};
use bollard::query_parameters as q;
use serde::{Deserialize, Serialize};

use crate::images::PruneReport;
use crate::run_spec::is_object_name;
use crate::{Engine, EngineError};

/// One row of the volume list.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSummary {
    pub name: String,
    pub driver: String,
    pub mountpoint: String,
    pub created_at: Option<String>,
    pub scope: String,
    pub labels: BTreeMap<String, String>,
    /// Bytes on disk, when the engine computed it (`system df`).
    pub size: Option<i64>,
    /// Containers (names) that mount this volume, running or not.
    pub containers: Vec<String>,
}

impl From<Volume> for VolumeSummary {
    fn from(v: Volume) -> Self {
        VolumeSummary {
            name: v.name,
            driver: v.driver,
            mountpoint: v.mountpoint,
            created_at: v.created_at.map(|c| c.to_string()),
            scope: v.scope.map(|s| s.to_string()).unwrap_or_default(),
            labels: v.labels.into_iter().collect(),
            size: v.usage_data.map(|u| u.size).filter(|s| *s >= 0),
            containers: Vec::new(),
        }
    }
}

/// A volume to create.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VolumeCreate {
    /// A generated name when `None`.
    pub name: Option<String>,
    /// `local` when `None`.
    pub driver: Option<String>,
    pub driver_opts: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
}

impl Engine {
    /// Every volume with its size and the containers that mount it.
    pub async fn list_volumes(&self) -> Result<Vec<VolumeSummary>, EngineError> {
        let list = self
            .docker
            .list_volumes(None::<q::ListVolumesOptions>)
            .await
            .map_err(self.err())?;
        let sizes = self.disk_usage().await?.volume_sizes;
        let users = self.volume_users().await?;
        let mut out: Vec<VolumeSummary> = list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| {
                let mut s = VolumeSummary::from(v);
                s.size = s.size.or_else(|| sizes.get(&s.name).copied());
                s.containers = users.get(&s.name).cloned().unwrap_or_default();
                s
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Volume name -> names of the containers mounting it.
    async fn volume_users(&self) -> Result<HashMap<String, Vec<String>>, EngineError> {
        let options = q::ListContainersOptions {
            all: true,
            ..Default::default()
        };
        let containers = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(self.err())?;
        let mut users: HashMap<String, Vec<String>> = HashMap::new();
        for c in containers {
            let name = c
                .names
                .as_ref()
                .and_then(|n| n.first())
                .map(|n| n.trim_start_matches('/').to_string())
                .or(c.id.clone())
                .unwrap_or_default();
            for m in c.mounts.unwrap_or_default() {
                if m.typ.as_deref() == Some("volume") {
                    if let Some(v) = m.name {
                        users.entry(v).or_default().push(name.clone());
                    }
                }
            }
        }
        for names in users.values_mut() {
            names.sort();
        }
        Ok(users)
    }

    /// The volumes carrying `label` (`key` or `key=value`), without sizes or users.
    pub async fn volumes_with_label(&self, label: &str) -> Result<Vec<VolumeSummary>, EngineError> {
        let options = q::ListVolumesOptions {
            filters: Some(crate::filter_map([("label", label.to_string())])),
        };
        let list = self
            .docker
            .list_volumes(Some(options))
            .await
            .map_err(self.err())?;
        Ok(list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(VolumeSummary::from)
            .collect())
    }

    pub async fn create_volume(&self, spec: &VolumeCreate) -> Result<VolumeSummary, EngineError> {
        if let Some(name) = &spec.name {
            if !is_object_name(name) {
                return Err(EngineError::invalid(
                    "name",
                    format!("{name:?} must match [a-zA-Z0-9][a-zA-Z0-9_.-]+"),
                ));
            }
        }
        let request = VolumeCreateRequest {
            name: spec.name.clone(),
            driver: spec.driver.clone(),
            driver_opts: Some(spec.driver_opts.clone().into_iter().collect()),
            labels: Some(spec.labels.clone().into_iter().collect()),
            ..Default::default()
        };
        let v = self
            .docker
            .create_volume(request)
            .await
            .map_err(self.err())?;
        Ok(VolumeSummary::from(v))
    }

    pub async fn inspect_volume(&self, name: &str) -> Result<Volume, EngineError> {
        self.docker.inspect_volume(name).await.map_err(self.err())
    }

    pub async fn remove_volume(&self, name: &str, force: bool) -> Result<(), EngineError> {
        self.docker
            .remove_volume(name, Some(q::RemoveVolumeOptions { force }))
            .await
            .map_err(self.err())
    }

    /// Removes volumes no container uses (at API 1.41 named ones too).
    pub async fn prune_volumes(&self) -> Result<PruneReport, EngineError> {
        let r = self
            .docker
            .prune_volumes(None::<q::PruneVolumesOptions>)
            .await
            .map_err(self.err())?;
        Ok(PruneReport {
            deleted: r.volumes_deleted.unwrap_or_default(),
            space_reclaimed: r.space_reclaimed.unwrap_or(0).max(0) as u64,
        })
    }
}
