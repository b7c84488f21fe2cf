use berth_core::ApiError;
use berth_engine::{ImageSummary, PruneReport, PullProgress};
use futures_util::StreamExt;
use tauri::ipc::Channel;
use tauri::State;

use super::AppState;
use crate::error::ToApi;

#[tauri::command]
pub async fn list_images(state: State<'_, AppState>) -> Result<Vec<ImageSummary>, ApiError> {
    state.link.engine().await?.list_images(false).await.to_api()
}

/// Pulls `reference`, sending every progress message; resolves when the pull is done.
#[tauri::command]
pub async fn pull_image(
    state: State<'_, AppState>,
    reference: String,
    channel: Channel<PullProgress>,
) -> Result<(), ApiError> {
    let mut progress = Box::pin(state.link.engine().await?.pull_image(&reference, None));
    while let Some(message) = progress.next().await {
        // A closed window does not cancel the pull; the image still lands.
        let _ = channel.send(message.to_api()?);
    }
    Ok(())
}

#[tauri::command]
pub async fn remove_image(
    state: State<'_, AppState>,
    id: String,
    force: bool,
) -> Result<(), ApiError> {
    state
        .link
        .engine()
        .await?
        .remove_image(&id, force)
        .await
        .to_api()
        .map(drop)
}

#[tauri::command]
pub async fn prune_images(state: State<'_, AppState>, all: bool) -> Result<PruneReport, ApiError> {
    state.link.engine().await?.prune_images(all).await.to_api()
}

#[tauri::command]
pub async fn tag_image(
    state: State<'_, AppState>,
    id: String,
    repo: String,
    tag: String,
) -> Result<(), ApiError> {
    state
        .link
        .engine()
        .await?
        .tag_image(&id, &format!("{repo}:{tag}"))
        .await
        .to_api()
}
