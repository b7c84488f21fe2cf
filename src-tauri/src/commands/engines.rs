//! The Engines page: every engine (Berth's, remote ones, docker contexts), adding a remote with
//! a connection test, making one the current docker context, removing a remote.

use berth_api::engines::EngineEntry;
use berth_core::ApiError;
use tauri::State;

use super::AppState;

#[tauri::command]
pub async fn list_engines(state: State<'_, AppState>) -> Result<Vec<EngineEntry>, ApiError> {
    state.link.berth().engines().list().await
}

/// Tests the connection first; nothing is saved when the engine does not answer.
#[tauri::command]
pub async fn add_remote_engine(
    state: State<'_, AppState>,
    name: String,
    address: String,
    tls_ca: Option<String>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
) -> Result<EngineEntry, ApiError> {
    let engines = state.link.berth().engines();
    engines
        .add_from_form(&name, &address, tls_ca, tls_cert, tls_key)
        .await
}

#[tauri::command]
pub async fn use_engine(state: State<'_, AppState>, name: String) -> Result<(), ApiError> {
    state.link.berth().engines().use_engine(&name)
}

#[tauri::command]
pub async fn remove_engine(state: State<'_, AppState>, name: String) -> Result<(), ApiError> {
    state.link.berth().engines().remove(&name)
}

/// The engine every page follows (`None`: the engine chosen in settings or `DOCKER_HOST`).
#[tauri::command]
pub async fn followed_engine(state: State<'_, AppState>) -> Result<Option<String>, ApiError> {
    Ok(state.link.followed_engine())
}

/// The sidebar's switcher: every page follows `name` from now on, and it becomes the current
/// docker context too.
#[tauri::command]
pub async fn switch_engine(state: State<'_, AppState>, name: String) -> Result<(), ApiError> {
    state.link.switch_to(&name)?;
    state.link.berth().engines().use_engine(&name)
}
