//! Lists one folder of a container's filesystem through the engine's archive API (which works
//! on stopped containers too, and needs no shell or `ls` in the image).

use berth_core::{ApiError, ErrorCode};
use berth_engine::{Engine, EngineError};
use futures_util::StreamExt;
use serde::Serialize;

/// Archives larger than this are not listed (the archive API sends the whole subtree).
const MAX_ARCHIVE: usize = 256 * 1024 * 1024;

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileEntry {
    pub name: String,
    /// `file`, `dir`, `symlink` or `other`.
    pub kind: String,
    pub size: u64,
    pub mode: u32,
    pub modified: u64,
}

pub async fn list(
    engine: &Engine,
    container: &str,
    path: &str,
) -> Result<Vec<FileEntry>, ApiError> {
    let mut stream = Box::pin(engine.container_archive(container, path));
    let mut archive = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| archive_error(path, e))?;
        archive.extend_from_slice(&chunk);
        if archive.len() > MAX_ARCHIVE {
            return Err(ApiError::new(
                ErrorCode::Unsupported,
                format!("{path} is too large to list (over 256 MB)"),
            ));
        }
    }
    // The archive of a folder holds the folder itself as its top entry, except for `/`.
    let has_top = !path.trim_matches('/').is_empty();
    children(&archive, has_top).map_err(|e| ApiError::from_error(ErrorCode::Io, &e))
}

fn archive_error(path: &str, e: EngineError) -> ApiError {
    match e {
        EngineError::NotFound { .. } => ApiError::new(
            ErrorCode::NotFound,
            format!("{path} does not exist in this container"),
        ),
        other => ApiError::from_error(ErrorCode::Engine, &other),
    }
}

/// The direct children of the archive's top folder (of its root when `has_top` is false).
pub fn children(archive: &[u8], has_top: bool) -> std::io::Result<Vec<FileEntry>> {
    let mut out: Vec<FileEntry> = Vec::new();
    let mut reader = tar::Archive::new(archive);
    for entry in reader.entries()? {
        let entry = entry?;
        let path = entry
            .path()?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        let mut parts = path.split('/').filter(|p| !p.is_empty());
        if has_top {
            parts.next();
        }
        let Some(name) = parts.next() else {
            continue;
        };
        let deeper = parts.next().is_some();
        if out.iter().any(|e| e.name == name) {
            continue;
        }
        let header = entry.header();
        let kind = if deeper || header.entry_type().is_dir() {
            "dir"
        } else if header.entry_type().is_symlink() {
            "symlink"
        } else if header.entry_type().is_file() {
            "file"
        } else {
            "other"
        };
        out.push(FileEntry {
            name: name.to_string(),
            kind: kind.into(),
            size: if kind == "file" {
                header.size().unwrap_or(0)
            } else {
                0
            },
            mode: header.mode().unwrap_or(0) & 0o7777,
            modified: header.mtime().unwrap_or(0),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut dir = tar::Header::new_gnu();
        dir.set_entry_type(tar::EntryType::Directory);
        dir.set_mode(0o755);
        dir.set_size(0);
        b.append_data(&mut dir.clone(), "etc/", std::io::empty())
            .unwrap();
        b.append_data(&mut dir, "etc/ssl/", std::io::empty())
            .unwrap();
        let mut file = tar::Header::new_gnu();
        file.set_mode(0o644);
        file.set_size(5);
        b.append_data(&mut file.clone(), "etc/hosts", &b"hello"[..])
            .unwrap();
        b.append_data(&mut file, "etc/ssl/cert.pem", &b"hello"[..])
            .unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn lists_only_direct_children_with_their_kind() {
        let mut entries = children(&archive(), true).unwrap();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let names: Vec<_> = entries
            .iter()
            .map(|e| (e.name.as_str(), e.kind.as_str(), e.size))
            .collect();
        assert_eq!(names, [("hosts", "file", 5), ("ssl", "dir", 0)]);
        assert_eq!(entries[0].mode, 0o644);
    }

    #[test]
    fn the_root_archive_has_no_top_folder() {
        let entries = children(&archive(), false).unwrap();
        let names: Vec<_> = entries
            .iter()
            .map(|e| (e.name.as_str(), e.kind.as_str()))
            .collect();
        assert_eq!(names, [("etc", "dir")]);
    }
}
