//! Swarm mode: init, join and leave, the swarm's state and labels, its join tokens; and per
//! resource, in submodules: nodes, services (the Learn lesson's simple ones and a stack's full
//! definitions), tasks, and secrets and configs.

use std::collections::BTreeMap;

use bollard::models::{LocalNodeState, SwarmInitRequest, SwarmJoinRequest, SwarmSpec};
use bollard::query_parameters as q;
use serde::{Deserialize, Serialize};

use crate::{sorted, Engine, EngineError};

pub mod nodes;
pub mod secrets;
pub mod service_definition;
pub mod services;
pub mod tasks;

pub use nodes::{Availability, NodeSummary};
pub use secrets::{SwarmObject, SwarmObjectKind};
pub use service_definition::{
    EndpointMode, FailureAction, ServiceDefinition, ServiceFile, ServiceMode, ServiceMount,
    ServicePort, ServiceRestart, UpdateOrder, UpdatePolicy,
};
pub use services::{ServiceCreate, ServiceSummary};
pub use tasks::TaskSummary;

/// Where this engine stands in swarm mode.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    /// `inactive`, `pending`, `active`, `error`, `locked` (the engine's words).
    pub local_node_state: String,
    /// What the engine says went wrong, when `local_node_state` is `error`.
    pub error: Option<String>,
    /// The address other nodes reach this one at (`NodeAddr`).
    pub node_addr: Option<String>,
    pub nodes: Option<u64>,
    pub managers: Option<u64>,
}

/// The tokens another engine joins this swarm with (`docker swarm join-token`).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinTokens {
    pub worker: String,
    pub manager: String,
}

/// How to join a swarm (`docker swarm join --token T [--advertise-addr A] HOST:PORT`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SwarmJoin {
    /// A manager's address, `HOST:PORT` (2377 when no port is given).
    pub remote_addr: String,
    pub token: String,
    pub advertise_addr: Option<String>,
    /// `0.0.0.0:2377` when `None`.
    pub listen_addr: Option<String>,
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
        let count = |n: Option<i64>| n.and_then(|n| u64::try_from(n).ok());
        Ok(SwarmState {
            active,
            manager,
            node_id: info.node_id.filter(|id| !id.is_empty()),
            labels,
            local_node_state: info
                .local_node_state
                .map(|s| s.to_string())
                .unwrap_or_default(),
            error: info.error.filter(|e| !e.is_empty()),
            node_addr: info.node_addr.filter(|a| !a.is_empty()),
            nodes: count(info.nodes),
            managers: count(info.managers),
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

    /// Joins the swarm a manager at `join.remote_addr` runs.
    pub async fn swarm_join(&self, join: &SwarmJoin) -> Result<(), EngineError> {
        if join.remote_addr.trim().is_empty() || join.token.trim().is_empty() {
            return Err(EngineError::invalid(
                "join",
                "joining a swarm needs a manager's address and a join token",
            ));
        }
        let request = SwarmJoinRequest {
            listen_addr: Some(
                join.listen_addr
                    .clone()
                    .unwrap_or_else(|| "0.0.0.0:2377".into()),
            ),
            advertise_addr: join.advertise_addr.clone(),
            remote_addrs: Some(vec![join.remote_addr.clone()]),
            join_token: Some(join.token.clone()),
            ..Default::default()
        };
        self.docker.join_swarm(request).await.map_err(self.err())
    }

    /// The worker and manager join tokens (a manager only).
    pub async fn swarm_join_tokens(&self) -> Result<JoinTokens, EngineError> {
        let swarm = self.docker.inspect_swarm().await.map_err(self.err())?;
        let tokens = swarm.join_tokens.unwrap_or_default();
        Ok(JoinTokens {
            worker: tokens.worker.unwrap_or_default(),
            manager: tokens.manager.unwrap_or_default(),
        })
    }

    /// Leaves the swarm (`--force` is needed for the last manager).
    pub async fn swarm_leave(&self, force: bool) -> Result<(), EngineError> {
        self.docker
            .leave_swarm(Some(q::LeaveSwarmOptions { force }))
            .await
            .map_err(self.err())
    }
}
