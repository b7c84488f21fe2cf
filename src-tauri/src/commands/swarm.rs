//! The Swarm page: the engine's swarm at a glance, init, a service's tasks, scaling, image
//! updates, node availability, autoscale rules with their decisions, secrets and configs.

use berth_api::swarm::autoscale::{self, AutoscaleDecision, AutoscaleRule, RuleStore};
use berth_api::swarm::{
    self, Availability, JoinTokens, SwarmJoin, SwarmObject, SwarmObjectKind, SwarmOverview,
    TaskSummary,
};
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

/// Rolls the service over to `image`, per its update policy.
#[tauri::command]
pub async fn swarm_update_image(
    state: State<'_, AppState>,
    service: String,
    image: String,
) -> Result<(), ApiError> {
    swarm::update_image(&state.link.engine().await?, &service, &image).await
}

/// Drains, pauses or activates a node.
#[tauri::command]
pub async fn swarm_set_availability(
    state: State<'_, AppState>,
    node: String,
    availability: Availability,
) -> Result<(), ApiError> {
    swarm::set_availability(&state.link.engine().await?, &node, availability).await
}

#[tauri::command]
pub fn swarm_autoscale_rules(state: State<'_, AppState>) -> Result<Vec<AutoscaleRule>, ApiError> {
    let rules = RuleStore::at(state.link.berth().paths()).load()?;
    Ok(rules.into_values().collect())
}

/// Sets the service's rule (the app applies it while it runs).
#[tauri::command]
pub fn swarm_set_autoscale(
    state: State<'_, AppState>,
    service: String,
    min: u64,
    max: u64,
    cpu_percent: f64,
) -> Result<AutoscaleRule, ApiError> {
    let rule = AutoscaleRule::new(&service, min, max, cpu_percent)?;
    RuleStore::at(state.link.berth().paths()).set(rule.clone())?;
    Ok(rule)
}

#[tauri::command]
pub fn swarm_autoscale_off(state: State<'_, AppState>, service: String) -> Result<bool, ApiError> {
    RuleStore::at(state.link.berth().paths()).remove(&service)
}

/// The logged scaling decisions, oldest first.
#[tauri::command]
pub fn swarm_autoscale_history(
    state: State<'_, AppState>,
) -> Result<Vec<AutoscaleDecision>, ApiError> {
    autoscale::history(state.link.berth().paths())
}

/// The secrets or configs (names and dates, never their data).
#[tauri::command]
pub async fn swarm_objects(
    state: State<'_, AppState>,
    kind: SwarmObjectKind,
) -> Result<Vec<SwarmObject>, ApiError> {
    swarm::objects(&state.link.engine().await?, kind).await
}

/// Creates a secret or config from text typed in or a file's bytes; returns its id.
#[tauri::command]
pub async fn swarm_create_object(
    state: State<'_, AppState>,
    kind: SwarmObjectKind,
    name: String,
    data: Vec<u8>,
) -> Result<String, ApiError> {
    swarm::create_object(&state.link.engine().await?, kind, &name, &data).await
}

/// Removes a secret or config; one a service uses is refused, naming the service.
#[tauri::command]
pub async fn swarm_remove_object(
    state: State<'_, AppState>,
    kind: SwarmObjectKind,
    name: String,
) -> Result<(), ApiError> {
    swarm::remove_object(&state.link.engine().await?, kind, &name).await
}

/// Joins the swarm a manager at `remote_addr` runs (a worker token makes this engine a worker).
#[tauri::command]
pub async fn swarm_join(
    state: State<'_, AppState>,
    remote_addr: String,
    token: String,
    advertise_addr: Option<String>,
) -> Result<(), ApiError> {
    let join = SwarmJoin {
        remote_addr,
        token,
        advertise_addr: advertise_addr.filter(|a| !a.trim().is_empty()),
        listen_addr: None,
    };
    swarm::join(&state.link.engine().await?, &join).await
}

/// The worker and manager join tokens (on a manager).
#[tauri::command]
pub async fn swarm_join_tokens(state: State<'_, AppState>) -> Result<JoinTokens, ApiError> {
    swarm::join_tokens(&state.link.engine().await?).await
}
