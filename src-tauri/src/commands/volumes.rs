use berth_api::file_listing::FileEntry;
use berth_api::transport::{PruneReport, ToApi, VolumeArchive, VolumeCreate, VolumeSummary};
use berth_api::volumes;
use berth_core::{ApiError, ErrorCode};
use tauri::{Manager, State};

use super::AppState;
use crate::text::{ShellLocale, Text};

#[tauri::command]
pub async fn list_volumes(state: State<'_, AppState>) -> Result<Vec<VolumeSummary>, ApiError> {
    state.link.engine().await?.list_volumes().await.to_api()
}

#[tauri::command]
pub async fn create_volume(
    state: State<'_, AppState>,
    name: String,
) -> Result<VolumeSummary, ApiError> {
    let spec = VolumeCreate {
        name: Some(name).filter(|n| !n.is_empty()),
        ..Default::default()
    };
    state
        .link
        .engine()
        .await?
        .create_volume(&spec)
        .await
        .to_api()
}

#[tauri::command]
pub async fn remove_volume(state: State<'_, AppState>, name: String) -> Result<(), ApiError> {
    state
        .link
        .engine()
        .await?
        .remove_volume(&name, false)
        .await
        .to_api()
}

#[tauri::command]
pub async fn prune_volumes(state: State<'_, AppState>) -> Result<PruneReport, ApiError> {
    state.link.engine().await?.prune_volumes().await.to_api()
}

/// Lists a folder of a volume (through a created, never-started container that mounts it).
#[tauri::command]
pub async fn list_volume_files(
    state: State<'_, AppState>,
    name: String,
    path: String,
) -> Result<Vec<FileEntry>, ApiError> {
    volumes::list_files(&state.link.engine().await?, &name, &path).await
}

/// Writes the volume's files to `path` as a `.tar.gz`.
#[tauri::command]
pub async fn export_volume(
    state: State<'_, AppState>,
    name: String,
    path: String,
) -> Result<VolumeArchive, ApiError> {
    volumes::export(&state.link.engine().await?, &name, &path).await
}

/// Fills volume `name` (created if missing; an existing one must be empty) from a `.tar.gz`.
#[tauri::command]
pub async fn import_volume(
    state: State<'_, AppState>,
    name: String,
    path: String,
) -> Result<VolumeArchive, ApiError> {
    volumes::import(&state.link.engine().await?, &name, &path).await
}

/// The native dialog to choose where an export goes (`save`) or which archive to import;
/// `None` when the user cancels. Typing a path in the window works without it.
#[tauri::command]
pub async fn pick_archive(
    app: tauri::AppHandle,
    save: bool,
    file_name: Option<String>,
) -> Result<Option<String>, ApiError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let parent = app.get_webview_window("main");
    let locale = app.state::<ShellLocale>().get();
    let title = if save {
        Text::ExportVolume
    } else {
        Text::ImportVolume
    };
    // GTK dialogs are made on the main thread; the answer is awaited elsewhere.
    app.run_on_main_thread(move || {
        let mut dialog = rfd::AsyncFileDialog::new()
            .set_title(title.get(locale))
            .add_filter(Text::GzipTarball.get(locale), &["gz", "tgz"])
            .set_directory(volumes::host_path("~").unwrap_or_default());
        if let Some(window) = &parent {
            dialog = dialog.set_parent(window);
        }
        if let Some(name) = file_name {
            dialog = dialog.set_file_name(name);
        }
        let chosen: std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>> = if save {
            Box::pin(dialog.save_file())
        } else {
            Box::pin(dialog.pick_file())
        };
        std::thread::spawn(move || {
            let path = tauri::async_runtime::block_on(chosen);
            let _ = tx.send(path.map(|f| f.path().display().to_string()));
        });
    })
    .map_err(|e| ApiError::from_error(ErrorCode::Internal, &e))?;
    rx.await
        .map_err(|e| ApiError::from_error(ErrorCode::Internal, &e))
}
