//! Volumes beyond list/create/remove: browsing a volume's files, and exporting or importing
//! it as a `.tar.gz` at a path the user typed.

use std::path::PathBuf;

use crate::transport::{Engine, Mount, RemoveOptions, RunSpec, VolumeArchive};
use berth_core::{ApiError, ErrorCode};

use crate::file_listing::{self, FileEntry};
use crate::transport::ToApi;

/// Lists a folder of a volume through a created-but-never-started container that mounts it
/// read-only (the archive API needs a container; nothing runs, nothing is pulled).
pub async fn list_files(
    engine: &Engine,
    name: &str,
    path: &str,
) -> Result<Vec<FileEntry>, ApiError> {
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
            source: Some(name.to_owned()),
            target: "/berth-volume".into(),
            read_only: true,
        })
        .label("dev.berth.helper", "volume-browser")
        .cmd(["true"]);
    let helper = engine.create_container(&spec).await.to_api()?;
    let listed = file_listing::list(
        engine,
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

/// Writes the volume's files to `path` (as [`host_path`] reads it) as a `.tar.gz`.
pub async fn export(engine: &Engine, name: &str, path: &str) -> Result<VolumeArchive, ApiError> {
    let dest = host_path(path)?;
    engine.export_volume(name, &dest).await.to_api()
}

/// Fills volume `name` (created if missing; an existing one must be empty) from a `.tar.gz`.
pub async fn import(engine: &Engine, name: &str, path: &str) -> Result<VolumeArchive, ApiError> {
    let src = host_path(path)?;
    engine.import_volume(name, &src).await.to_api()
}

/// A path the user typed: `~/x` and relative paths are taken from the home folder (a window
/// has no working directory).
pub fn host_path(path: &str) -> Result<PathBuf, ApiError> {
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
