use berth_api::transport::{
    ImageHistoryEntry, ImageSummary, PruneReport, PullProgress, RegistryAuth,
};
use berth_core::ApiError;
use futures_util::StreamExt;
use tauri::ipc::Channel;
use tauri::State;

use super::AppState;
use berth_api::transport::ToApi;

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
    let credentials = state.link.berth().registry_credentials(&reference).await;
    let engine = state.link.engine().await?;
    let mut progress = Box::pin(engine.pull_image(&reference, credentials.as_ref()));
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

/// The registry credentials a push sends: the ones signed in to for the image's registry
/// (`Berth::registry_credentials`), else none (anonymous).
async fn push_credentials(state: &AppState, reference: &str) -> Option<RegistryAuth> {
    state.link.berth().registry_credentials(reference).await
}

/// Pushes `reference` (one of the image's tags), sending every progress message with the
/// layer it is about; resolves when the registry has the tag.
#[tauri::command]
pub async fn push_image(
    state: State<'_, AppState>,
    reference: String,
    channel: Channel<PullProgress>,
) -> Result<(), ApiError> {
    let credentials = push_credentials(&state, &reference).await;
    let engine = state.link.engine().await?;
    let mut progress = Box::pin(engine.push_image_layers(&reference, credentials.as_ref()));
    while let Some(message) = progress.next().await {
        // A closed window does not cancel the push.
        let _ = channel.send(message.to_api()?);
    }
    Ok(())
}

/// The image's layers, newest first: the instruction that made each, its size and age.
#[tauri::command]
pub async fn image_history(
    state: State<'_, AppState>,
    id: String,
) -> Result<Vec<ImageHistoryEntry>, ApiError> {
    state.link.engine().await?.image_history(&id).await.to_api()
}
