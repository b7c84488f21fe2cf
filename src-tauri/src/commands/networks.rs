use berth_api::transport::{NetworkCreate, NetworkSummary};
use berth_core::ApiError;
use tauri::State;

use super::AppState;
use berth_api::transport::ToApi;

#[tauri::command]
pub async fn list_networks(state: State<'_, AppState>) -> Result<Vec<NetworkSummary>, ApiError> {
    state.link.engine().await?.list_networks().await.to_api()
}

/// One network with its attached containers (the list omits them).
#[tauri::command]
pub async fn inspect_network(
    state: State<'_, AppState>,
    id: String,
) -> Result<NetworkSummary, ApiError> {
    state
        .link
        .engine()
        .await?
        .inspect_network(&id)
        .await
        .to_api()
}

#[tauri::command]
pub async fn create_network(state: State<'_, AppState>, name: String) -> Result<String, ApiError> {
    let spec = NetworkCreate {
        name,
        ..Default::default()
    };
    state
        .link
        .engine()
        .await?
        .create_network(&spec)
        .await
        .to_api()
}

#[tauri::command]
pub async fn remove_network(state: State<'_, AppState>, id: String) -> Result<(), ApiError> {
    state
        .link
        .engine()
        .await?
        .remove_network(&id)
        .await
        .to_api()
}

#[tauri::command]
pub async fn connect_network(
    state: State<'_, AppState>,
    network: String,
    container: String,
) -> Result<(), ApiError> {
    state
        .link
        .engine()
        .await?
        .connect_network(&network, &container, &[])
        .await
        .to_api()
}

#[tauri::command]
pub async fn disconnect_network(
    state: State<'_, AppState>,
    network: String,
    container: String,
) -> Result<(), ApiError> {
    state
        .link
        .engine()
        .await?
        .disconnect_network(&network, &container, false)
        .await
        .to_api()
}
