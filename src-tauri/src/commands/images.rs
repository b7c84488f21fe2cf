use berth_api::images;
use berth_api::transport::{ImageHistoryEntry, ImageSummary, PruneReport, PullProgress};
use berth_core::ApiError;
use tauri::ipc::Channel;
use tauri::State;

use super::AppState;
use berth_api::transport::ToApi;

#[tauri::command]
pub async fn list_images(state: State<'_, AppState>) -> Result<Vec<ImageSummary>, ApiError> {
    state.link.engine().await?.list_images(false).await.to_api()
}

/// Pulls `reference`, sending every progress message; resolves when the pull is done. A
/// closed window does not cancel the pull; the image still lands.
#[tauri::command]
pub async fn pull_image(
    state: State<'_, AppState>,
    reference: String,
    channel: Channel<PullProgress>,
) -> Result<(), ApiError> {
    let engine = state.link.engine().await?;
    images::pull(state.link.berth(), &engine, &reference, |message| {
        let _ = channel.send(message);
    })
    .await
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

/// Pushes `reference` (one of the image's tags), sending every progress message with the
/// layer it is about; resolves when the registry has the tag. A closed window does not cancel
/// the push.
#[tauri::command]
pub async fn push_image(
    state: State<'_, AppState>,
    reference: String,
    channel: Channel<PullProgress>,
) -> Result<(), ApiError> {
    let engine = state.link.engine().await?;
    images::push(state.link.berth(), &engine, &reference, |message| {
        let _ = channel.send(message);
    })
    .await
}

/// The image's layers, newest first: the instruction that made each, its size and age.
#[tauri::command]
pub async fn image_history(
    state: State<'_, AppState>,
    id: String,
) -> Result<Vec<ImageHistoryEntry>, ApiError> {
    state.link.engine().await?.image_history(&id).await.to_api()
}
