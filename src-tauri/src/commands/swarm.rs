//! The Swarm page: the engine's swarm at a glance, init, a service's tasks, scaling.

use berth_api::swarm::{self, SwarmOverview, TaskSummary};
use berth_core::ApiError;
use tauri::State;

use super::AppState;

#[tauri::command]
pub async fn swarm_overview(state: State<'_, AppState>) -> Result<SwarmOverview, ApiError> {
    swarm::overview(&state.link.engine().await?).await
}

/// Makes the engine a one-node swarm; returns the node id.
#[tauri::command]
pub async fn swarm_init(
    state: State<'_, AppState>,
    advertise_addr: Option<String>,
) -> Result<String, ApiError> {
    let addr = advertise_addr.filter(|a| !a.trim().is_empty());
    swarm::init(&state.link.engine().await?, addr.as_deref()).await
}

#[tauri::command]
pub async fn swarm_tasks(
    state: State<'_, AppState>,
    service: String,
) -> Result<Vec<TaskSummary>, ApiError> {
    swarm::tasks(&state.link.engine().await?, &service).await
}

#[tauri::command]
pub async fn swarm_scale(
    state: State<'_, AppState>,
    service: String,
    replicas: u64,
) -> Result<(), ApiError> {
    swarm::scale(&state.link.engine().await?, &[(service, replicas)])
        .await
        .map(drop)
}
