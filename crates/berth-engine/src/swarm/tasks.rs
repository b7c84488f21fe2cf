//! Tasks: a service's (or a stack's) tasks with their node, state and error text.

use bollard::models::{Task, TaskState};
use bollard::query_parameters as q;
use serde::{Deserialize, Serialize};

use crate::{filter_map, Engine, EngineError};

/// One task of a service.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskSummary {
    pub id: String,
    pub service_id: String,
    pub slot: Option<i64>,
    pub node_id: Option<String>,
    /// The image the task runs (its spec's).
    pub image: String,
    /// `running`, `pending`, `shutdown`, `failed`, ...
    pub state: String,
    pub desired_state: String,
    pub container_id: Option<String>,
    /// What went wrong (`task: non-zero exit (1)`, ...).
    pub error: Option<String>,
    /// The engine's status message (`started`, `preparing`, ...).
    pub message: Option<String>,
    /// RFC 3339 time of the last status change.
    pub timestamp: Option<String>,
    /// The spec version the task was made from.
    pub version: u64,
}

impl TaskSummary {
    /// Running, and meant to be.
    pub fn is_running(&self) -> bool {
        self.state == "running" && self.desired_state == "running"
    }
}

fn state_text(state: Option<TaskState>) -> String {
    state.map(|s| s.to_string()).unwrap_or_default()
}

impl From<Task> for TaskSummary {
    fn from(t: Task) -> Self {
        let status = t.status.unwrap_or_default();
        TaskSummary {
            id: t.id.unwrap_or_default(),
            service_id: t.service_id.unwrap_or_default(),
            slot: t.slot,
            node_id: t.node_id.filter(|n| !n.is_empty()),
            image: t
                .spec
                .and_then(|s| s.container_spec)
                .and_then(|c| c.image)
                .unwrap_or_default(),
            state: state_text(status.state),
            desired_state: state_text(t.desired_state),
            container_id: status
                .container_status
                .and_then(|c| c.container_id)
                .filter(|c| !c.is_empty()),
            error: status.err.filter(|e| !e.is_empty()),
            message: status.message.filter(|m| !m.is_empty()),
            timestamp: status.timestamp.map(|t| t.to_string()),
            version: t.version.and_then(|v| v.index).unwrap_or(0),
        }
    }
}

impl Engine {
    /// The tasks of the service `name`, in slot order.
    pub async fn service_tasks(&self, name: &str) -> Result<Vec<TaskSummary>, EngineError> {
        self.tasks_filtered(filter_map([("service", name.to_string())]))
            .await
    }

    /// The tasks whose services carry `label` (`key=value`), e.g. a stack's.
    pub async fn tasks_with_label(&self, label: &str) -> Result<Vec<TaskSummary>, EngineError> {
        self.tasks_filtered(filter_map([("label", label.to_string())]))
            .await
    }

    async fn tasks_filtered(
        &self,
        filters: std::collections::HashMap<String, Vec<String>>,
    ) -> Result<Vec<TaskSummary>, EngineError> {
        let options = q::ListTasksOptions {
            filters: Some(filters),
        };
        let tasks = self
            .docker
            .list_tasks(Some(options))
            .await
            .map_err(self.err())?;
        let mut out: Vec<TaskSummary> = tasks.into_iter().map(TaskSummary::from).collect();
        out.sort_by(|a, b| (a.service_id.as_str(), a.slot).cmp(&(b.service_id.as_str(), b.slot)));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_from_engine_json() {
        let raw = serde_json::json!({
            "ID": "t1", "Slot": 2, "DesiredState": "running", "NodeID": "n1", "ServiceID": "s1",
            "Spec": {"ContainerSpec": {"Image": "busybox:v2"}},
            "Status": {"State": "running", "Message": "started",
                       "ContainerStatus": {"ContainerID": "c1"}}
        });
        let t: Task = serde_json::from_value(raw).unwrap();
        let summary = TaskSummary::from(t);
        assert!(summary.is_running());
        assert_eq!(summary.container_id.as_deref(), Some("c1"));
        assert_eq!(summary.node_id.as_deref(), Some("n1"));
        assert_eq!(summary.image, "busybox:v2");
        assert_eq!(summary.message.as_deref(), Some("started"));
    }

    #[test]
    fn a_failed_task_keeps_its_error_text() {
        let raw = serde_json::json!({
            "ID": "t2", "DesiredState": "shutdown",
            "Status": {"State": "failed", "Err": "task: non-zero exit (1)"}
        });
        let summary = TaskSummary::from(serde_json::from_value::<Task>(raw).unwrap());
        assert!(!summary.is_running());
        assert_eq!(summary.error.as_deref(), Some("task: non-zero exit (1)"));
    }
}
