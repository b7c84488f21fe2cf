//! Nodes: the swarm's engines with their role, availability and state; drain and activate.

use bollard::models::{Node, NodeSpecAvailabilityEnum};
use bollard::query_parameters as q;
use serde::{Deserialize, Serialize};

use crate::{Engine, EngineError};

/// Whether the swarm schedules tasks on a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Availability {
    Active,
    Pause,
    Drain,
}

/// One node as the list shows it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeSummary {
    pub id: String,
    pub hostname: String,
    /// `manager` or `worker`.
    pub role: String,
    /// `active`, `pause` or `drain`.
    pub availability: String,
    /// `ready`, `down`, `unknown`, `disconnected`.
    pub state: String,
    /// Why the node is in that state, when the engine says.
    pub message: Option<String>,
    pub addr: Option<String>,
    pub leader: bool,
    pub engine_version: Option<String>,
}

impl From<Node> for NodeSummary {
    fn from(n: Node) -> Self {
        let spec = n.spec.unwrap_or_default();
        let description = n.description.unwrap_or_default();
        let status = n.status.unwrap_or_default();
        NodeSummary {
            id: n.id.unwrap_or_default(),
            hostname: description.hostname.unwrap_or_default(),
            role: spec.role.map(|r| r.to_string()).unwrap_or_default(),
            availability: spec.availability.map(|a| a.to_string()).unwrap_or_default(),
            state: status.state.map(|s| s.to_string()).unwrap_or_default(),
            message: status.message.filter(|m| !m.is_empty()),
            addr: status.addr.filter(|a| !a.is_empty()),
            leader: n.manager_status.and_then(|m| m.leader).unwrap_or(false),
            engine_version: description.engine.and_then(|e| e.engine_version),
        }
    }
}

impl Engine {
    /// The swarm's nodes, managers first (a manager only).
    pub async fn list_nodes(&self) -> Result<Vec<NodeSummary>, EngineError> {
        let nodes = self
            .docker
            .list_nodes(None::<q::ListNodesOptions>)
            .await
            .map_err(self.err())?;
        let mut out: Vec<NodeSummary> = nodes.into_iter().map(NodeSummary::from).collect();
        out.sort_by(|a, b| {
            (a.role != "manager", &a.hostname).cmp(&(b.role != "manager", &b.hostname))
        });
        Ok(out)
    }

    /// Drains, pauses or activates the node `id` (`docker node update --availability`).
    pub async fn set_node_availability(
        &self,
        id: &str,
        availability: Availability,
    ) -> Result<(), EngineError> {
        let node = self.docker.inspect_node(id).await.map_err(self.err())?;
        let version = node.version.and_then(|v| v.index).unwrap_or(0);
        let mut spec = node.spec.unwrap_or_default();
        spec.availability = Some(match availability {
            Availability::Active => NodeSpecAvailabilityEnum::ACTIVE,
            Availability::Pause => NodeSpecAvailabilityEnum::PAUSE,
            Availability::Drain => NodeSpecAvailabilityEnum::DRAIN,
        });
        let options = q::UpdateNodeOptions {
            version: i64::try_from(version).unwrap_or(i64::MAX),
        };
        self.docker
            .update_node(id, spec, options)
            .await
            .map_err(self.err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_from_engine_json() {
        let raw = serde_json::json!({
            "ID": "n1",
            "Spec": {"Role": "manager", "Availability": "drain"},
            "Description": {"Hostname": "laptop", "Engine": {"EngineVersion": "28.0.1"}},
            "Status": {"State": "ready", "Addr": "127.0.0.1"},
            "ManagerStatus": {"Leader": true}
        });
        let node = NodeSummary::from(serde_json::from_value::<Node>(raw).unwrap());
        assert_eq!(
            (node.role.as_str(), node.availability.as_str()),
            ("manager", "drain")
        );
        assert_eq!(node.state, "ready");
        assert!(node.leader);
        assert_eq!(node.engine_version.as_deref(), Some("28.0.1"));
    }
}
