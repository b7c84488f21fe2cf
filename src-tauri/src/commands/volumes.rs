use berth_api::transport::RemoveOptions;
use berth_api::transport::{
    Mount, PruneReport, RunSpec, VolumeArchive, VolumeCreate, VolumeSummary,
};
use berth_core::{ApiError, ErrorCode};
use std::path::PathBuf;

use tauri::{Manager, State};

use super::AppState;
use berth_api::file_listing::{self, FileEntry};
use berth_api::transport::ToApi;

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

/// Lists a folder of a volume through a created-but-never-started container that mounts it
/// read-only (the archive API needs a container; nothing runs, nothing is pulled).
#[tauri::command]
pub async fn list_volume_files(
    state: State<'_, AppState>,
    name: String,
    path: String,
) -> Result<Vec<FileEntry>, ApiError> {
    let engine = state.link.engine().await?;
    let image = engine
        .list_images(false)
        .await
        .to_api()?
        .into_iter()
        .next()
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unsupported,
                "Browsing a volume needs one local image; pull any image first",
            )
        })?;
    let spec = RunSpec::new(image.id)
        .mount(Mount::Volume {
            source: Some(name),
            target: "/berth-volume".into(),
            read_only: true,
        })
        .label("dev.berth.helper", "volume-browser")
        .cmd(["true"]);
    let helper = engine.create_container(&spec).await.to_api()?;
    let listed = file_listing::list(
        &engine,
        &helper,
        &format!("/berth-volume/{}", path.trim_start_matches('/')),
    )
    .await;
    let removed = engine
        .remove_container(
            &helper,
            RemoveOptions {
                force: true,
                volumes: false,
            },
        )
        .await;
    if let Err(e) = removed {
        tracing::warn!(error = %e, "could not remove the volume browser container");
    }
    listed
}

/// `~/x` and relative paths are taken from the home folder (the window has no working dir).
fn host_path(path: &str) -> Result<PathBuf, ApiError> {
    let path = path.trim();
    if path.is_empty() {
        return Err(ApiError::new(ErrorCode::InvalidInput, "Enter a file path"));
    }
    let home = || {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
    };
    Ok(match path.strip_prefix("~/") {
        Some(rest) => home().join(rest),
        None if path == "~" => home(),
        None if PathBuf::from(path).is_relative() => home().join(path),
        None => PathBuf::from(path),
    })
}

/// Writes the volume's files to `path` as a `.tar.gz`.
#[tauri::command]
pub async fn export_volume(
    state: State<'_, AppState>,
    name: String,
    path: String,
) -> Result<VolumeArchive, ApiError> {
    let dest = host_path(&path)?;
    let engine = state.link.engine().await?;
    engine.export_volume(&name, &dest).await.to_api()
}

/// Fills volume `name` (created if missing; an existing one must be empty) from a `.tar.gz`.
#[tauri::command]
pub async fn import_volume(
    state: State<'_, AppState>,
    name: String,
    path: String,
) -> Result<VolumeArchive, ApiError> {
    let src = host_path(&path)?;
    let engine = state.link.engine().await?;
    engine.import_volume(&name, &src).await.to_api()
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
    // GTK dialogs are made on the main thread; the answer is awaited elsewhere.
    app.run_on_main_thread(move || {
        let mut dialog = rfd::AsyncFileDialog::new()
            .set_title(if save {
                "Export volume"
            } else {
                "Import volume"
            })
            .add_filter("Gzip-compressed tarball", &["gz", "tgz"])
            .set_directory(host_path("~").unwrap_or_default());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_against_home() {
        let home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
        assert_eq!(host_path("~/a.tar.gz").unwrap(), home.join("a.tar.gz"));
        assert_eq!(host_path("b.tar.gz").unwrap(), home.join("b.tar.gz"));
        assert_eq!(
            host_path(" /tmp/c.tar.gz ").unwrap(),
            PathBuf::from("/tmp/c.tar.gz")
        );
        assert_eq!(host_path("  ").unwrap_err().code, ErrorCode::InvalidInput);
    }
}
