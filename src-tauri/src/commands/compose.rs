//! The Compose section's commands, over `berth_api::compose`: projects found on the engine,
//! one project's containers, combined logs, start/stop/restart/down, and Up from a file with
//! live progress.

use berth_api::compose::{
    self, ComposePreview, ContainerInfo, Event, ProjectAction, ProjectLogLine, ProjectSummary,
};
use berth_core::ApiError;
use futures_util::StreamExt;
use tauri::ipc::Channel;
use tauri::State;

use super::AppState;

#[tauri::command]
pub async fn list_compose_projects(
    state: State<'_, AppState>,
) -> Result<Vec<ProjectSummary>, ApiError> {
    compose::projects(&state.link.compose().await?).await
}

/// The project's containers, stopped ones too (compose `ps -a`).
#[tauri::command]
pub async fn compose_containers(
    state: State<'_, AppState>,
    name: String,
) -> Result<Vec<ContainerInfo>, ApiError> {
    compose::containers(&state.link.compose().await?, &name).await
}

#[tauri::command]
pub async fn compose_action(
    state: State<'_, AppState>,
    name: String,
    action: ProjectAction,
) -> Result<(), ApiError> {
    compose::act(&state.link.compose().await?, &name, action).await
}

/// Follows the logs of every container of the project, merged as they come.
#[tauri::command]
pub async fn stream_compose_logs(
    state: State<'_, AppState>,
    name: String,
    tail: Option<u64>,
    channel: Channel<ProjectLogLine>,
) -> Result<u32, ApiError> {
    let mut merged = compose::merged_logs(&state.link.compose().await?, &name, tail).await?;
    Ok(state.streams.spawn(async move {
        while let Some(line) = merged.next().await {
            if channel.send(line).is_err() {
                break;
            }
        }
    }))
}

#[tauri::command]
pub fn compose_preview(file: String) -> ComposePreview {
    compose::preview_file(&file)
}

/// `up -d` for `file`, with every progress event sent to `channel`; returns when it is up.
#[tauri::command]
pub async fn compose_up(
    state: State<'_, AppState>,
    file: String,
    channel: Channel<Event>,
) -> Result<(), ApiError> {
    let progress = move |e: Event| {
        let _ = channel.send(e);
    };
    compose::up_file(state.link.compose().await?, &file, progress).await
}
