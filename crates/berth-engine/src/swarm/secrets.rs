//! Secrets and configs: created from bytes, listed (by label), removed. A secret's data is
//! never read back (the engine does not give it); a config's is.

use std::collections::BTreeMap;

use base64::Engine as _;
use bollard::models::{ConfigSpec, SecretSpec};
use bollard::query_parameters as q;
use serde::{Deserialize, Serialize};

use crate::{filter_map, sorted, Engine, EngineError};

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SwarmObjectKind {
    Secret,
    Config,
}

impl std::fmt::Display for SwarmObjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SwarmObjectKind::Secret => "secret",
            SwarmObjectKind::Config => "config",
        })
    }
}

/// A secret or config as the list shows it (never its data).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SwarmObject {
    pub kind: SwarmObjectKind,
    pub id: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub created: Option<String>,
    pub version: u64,
}

fn encode(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

impl Engine {
    /// Creates a secret or config named `name` holding `data`; returns its id.
    pub async fn create_swarm_object(
        &self,
        kind: SwarmObjectKind,
        name: &str,
        data: &[u8],
        labels: &BTreeMap<String, String>,
    ) -> Result<String, EngineError> {
        if name.trim().is_empty() {
            return Err(EngineError::invalid(
                "name",
                format!("a {kind} needs a name"),
            ));
        }
        let labels = Some(labels.clone().into_iter().collect());
        let created = match kind {
            SwarmObjectKind::Secret => {
                self.docker
                    .create_secret(SecretSpec {
                        name: Some(name.to_string()),
                        labels,
                        data: Some(encode(data)),
                        ..Default::default()
                    })
                    .await
            }
            SwarmObjectKind::Config => {
                self.docker
                    .create_config(ConfigSpec {
                        name: Some(name.to_string()),
                        labels,
                        data: Some(encode(data)),
                        ..Default::default()
                    })
                    .await
            }
        }
        .map_err(self.err())?;
        Ok(created.id)
    }

    /// Rewrites a secret's or config's labels, sending `data` along: the engine refuses the
    /// update (a conflict naming the object) when the data differs, since both are immutable.
    pub async fn update_swarm_object(
        &self,
        kind: SwarmObjectKind,
        existing: &SwarmObject,
        data: &[u8],
        labels: &BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        let version = i64::try_from(existing.version).unwrap_or(i64::MAX);
        let labels = Some(labels.clone().into_iter().collect());
        let name = Some(existing.name.clone());
        match kind {
            SwarmObjectKind::Secret => {
                let spec = SecretSpec {
                    name,
                    labels,
                    data: Some(encode(data)),
                    ..Default::default()
                };
                let options = q::UpdateSecretOptions { version };
                self.docker.update_secret(&existing.id, spec, options).await
            }
            SwarmObjectKind::Config => {
                let spec = ConfigSpec {
                    name,
                    labels,
                    data: Some(encode(data)),
                    ..Default::default()
                };
                let options = q::UpdateConfigOptions { version };
                self.docker.update_config(&existing.id, spec, options).await
            }
        }
        .map_err(self.err())
    }

    /// The secrets or configs, those carrying `label` (`key=value`) when given.
    pub async fn list_swarm_objects(
        &self,
        kind: SwarmObjectKind,
        label: Option<&str>,
    ) -> Result<Vec<SwarmObject>, EngineError> {
        let filters = label.map(|l| filter_map([("label", l.to_string())]));
        let version =
            |v: Option<bollard::models::ObjectVersion>| v.and_then(|v| v.index).unwrap_or(0);
        let mut out: Vec<SwarmObject> = match kind {
            SwarmObjectKind::Secret => self
                .docker
                .list_secrets(Some(q::ListSecretsOptions { filters }))
                .await
                .map_err(self.err())?
                .into_iter()
                .map(|s| {
                    let spec = s.spec.unwrap_or_default();
                    SwarmObject {
                        kind,
                        id: s.id.unwrap_or_default(),
                        name: spec.name.unwrap_or_default(),
                        labels: sorted(spec.labels),
                        created: s.created_at.map(|t| t.to_string()),
                        version: version(s.version),
                    }
                })
                .collect(),
            SwarmObjectKind::Config => self
                .docker
                .list_configs(Some(q::ListConfigsOptions { filters }))
                .await
                .map_err(self.err())?
                .into_iter()
                .map(|c| {
                    let spec = c.spec.unwrap_or_default();
                    SwarmObject {
                        kind,
                        id: c.id.unwrap_or_default(),
                        name: spec.name.unwrap_or_default(),
                        labels: sorted(spec.labels),
                        created: c.created_at.map(|t| t.to_string()),
                        version: version(c.version),
                    }
                })
                .collect(),
        };
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Removes a secret or config by name or id.
    pub async fn remove_swarm_object(
        &self,
        kind: SwarmObjectKind,
        name: &str,
    ) -> Result<(), EngineError> {
        match kind {
            SwarmObjectKind::Secret => self.docker.delete_secret(name).await,
            SwarmObjectKind::Config => self.docker.delete_config(name).await,
        }
        .map_err(self.err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_goes_to_the_engine_in_base64() {
        assert_eq!(encode(b"s3cret"), "czNjcmV0");
        assert_eq!(SwarmObjectKind::Config.to_string(), "config");
    }
}
