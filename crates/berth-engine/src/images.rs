//! Images: list, inspect, history, pull and push with progress, tag, remove, prune, import.

use std::collections::BTreeMap;
use std::path::Path;

use bollard::auth::DockerCredentials;
use bollard::models::{CreateImageInfo, ImageInspect, ProgressDetail, PushImageInfo};
use bollard::query_parameters as q;
use futures_util::{Stream, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::{filter_map, Engine, EngineError};

/// One row of the image list.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageSummary {
    pub id: String,
    pub parent_id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    /// Unix seconds.
    pub created: i64,
    pub size: i64,
    /// -1 when the engine did not compute it.
    pub shared_size: i64,
    /// -1 when the engine did not compute it.
    pub containers: i64,
    pub labels: BTreeMap<String, String>,
}

impl From<bollard::models::ImageSummary> for ImageSummary {
    fn from(i: bollard::models::ImageSummary) -> Self {
        ImageSummary {
            id: i.id,
            parent_id: i.parent_id,
            repo_tags: i.repo_tags,
            repo_digests: i.repo_digests,
            created: i.created,
            size: i.size,
            shared_size: i.shared_size,
            containers: i.containers,
            labels: i.labels.into_iter().collect(),
        }
    }
}

/// One layer of an image's history.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageHistoryEntry {
    pub id: String,
    pub created: i64,
    pub created_by: String,
    pub tags: Vec<String>,
    pub size: i64,
    pub comment: String,
}

/// One progress message of a pull, push or import; per layer when `layer_id` is set.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullProgress {
    /// The layer (or tag) the message is about.
    pub layer_id: Option<String>,
    /// `Pulling fs layer`, `Downloading`, `Pull complete`, `Digest: ...`, ...
    pub status: String,
    pub current: Option<i64>,
    pub total: Option<i64>,
}

/// Push progress has the same shape as pull progress.
pub type PushProgress = PullProgress;

fn progress(
    id: Option<String>,
    status: Option<String>,
    detail: Option<ProgressDetail>,
) -> PullProgress {
    let detail = detail.unwrap_or_default();
    PullProgress {
        layer_id: id.filter(|i| !i.is_empty()),
        status: status.unwrap_or_default(),
        current: detail.current,
        total: detail.total,
    }
}

impl From<CreateImageInfo> for PullProgress {
    fn from(i: CreateImageInfo) -> Self {
        progress(i.id, i.status, i.progress_detail)
    }
}

impl From<PushImageInfo> for PushProgress {
    fn from(i: PushImageInfo) -> Self {
        progress(None, i.status, i.progress_detail)
    }
}

/// Credentials for one registry.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RegistryAuth {
    pub username: Option<String>,
    pub password: Option<String>,
    /// An OAuth identity token (instead of a password).
    pub identity_token: Option<String>,
    /// e.g. `https://index.docker.io/v1/` or `127.0.0.1:5000`.
    pub server_address: Option<String>,
}

impl std::fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("RegistryAuth")
            .field("username", &self.username)
            .field("password", &redact(&self.password))
            .field("identity_token", &redact(&self.identity_token))
            .field("server_address", &self.server_address)
            .finish()
    }
}

impl From<&RegistryAuth> for DockerCredentials {
    fn from(a: &RegistryAuth) -> Self {
        DockerCredentials {
            username: a.username.clone(),
            password: a.password.clone(),
            identitytoken: a.identity_token.clone(),
            serveraddress: a.server_address.clone(),
            ..Default::default()
        }
    }
}

/// What a prune removed.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneReport {
    pub deleted: Vec<String>,
    pub space_reclaimed: u64,
}

/// Splits `repo[:tag][@digest]` into the repository and the tag or digest, defaulting to
/// `latest` like the CLI (an untagged pull would fetch every tag).
pub fn split_reference(reference: &str) -> (String, String) {
    if let Some((repo, digest)) = reference.split_once('@') {
        return (repo.to_string(), digest.to_string());
    }
    let last_slash = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[last_slash..].rfind(':') {
        Some(i) => {
            let at = last_slash + i;
            (reference[..at].to_string(), reference[at + 1..].to_string())
        }
        None => (reference.to_string(), "latest".to_string()),
    }
}

fn check_reference(reference: &str) -> Result<(), EngineError> {
    if reference.is_empty() || reference.contains(char::is_whitespace) {
        return Err(EngineError::invalid(
            "image",
            "must be a non-empty reference without spaces",
        ));
    }
    Ok(())
}

impl Engine {
    /// Images; with `all`, intermediate layers too.
    pub async fn list_images(&self, all: bool) -> Result<Vec<ImageSummary>, EngineError> {
        let options = q::ListImagesOptions {
            all,
            ..Default::default()
        };
        let list = self
            .docker
            .list_images(Some(options))
            .await
            .map_err(self.err())?;
        Ok(list.into_iter().map(ImageSummary::from).collect())
    }

    pub async fn inspect_image(&self, reference: &str) -> Result<ImageInspect, EngineError> {
        self.docker
            .inspect_image(reference)
            .await
            .map_err(self.err())
    }

    pub async fn image_history(
        &self,
        reference: &str,
    ) -> Result<Vec<ImageHistoryEntry>, EngineError> {
        let history = self
            .docker
            .image_history(reference)
            .await
            .map_err(self.err())?;
        Ok(history
            .into_iter()
            .map(|h| ImageHistoryEntry {
                id: h.id,
                created: h.created,
                created_by: h.created_by,
                tags: h.tags,
                size: h.size,
                comment: h.comment,
            })
            .collect())
    }

    /// Pulls `reference` (`:latest` when untagged), streaming per-layer progress.
    pub fn pull_image(
        &self,
        reference: &str,
        auth: Option<&RegistryAuth>,
    ) -> impl Stream<Item = Result<PullProgress, EngineError>> + Send + 'static {
        let checked = check_reference(reference);
        let (repo, tag) = split_reference(reference);
        let options = if tag.contains(':') {
            // A digest: the engine wants it as the whole reference.
            q::CreateImageOptions {
                from_image: Some(reference.to_string()),
                ..Default::default()
            }
        } else {
            q::CreateImageOptions {
                from_image: Some(repo),
                tag: Some(tag),
                ..Default::default()
            }
        };
        let err = self.err();
        let stream = self
            .docker
            .create_image(Some(options), None, auth.map(DockerCredentials::from))
            .map(move |r| r.map(PullProgress::from).map_err(&err));
        match checked {
            Ok(()) => stream.left_stream(),
            Err(e) => futures_util::stream::once(async move { Err(e) }).right_stream(),
        }
    }

    /// Pushes `reference` (`:latest` when untagged), streaming progress.
    pub fn push_image(
        &self,
        reference: &str,
        auth: Option<&RegistryAuth>,
    ) -> impl Stream<Item = Result<PushProgress, EngineError>> + Send + 'static {
        let checked = check_reference(reference);
        let (repo, tag) = split_reference(reference);
        let options = q::PushImageOptions {
            tag: Some(tag),
            platform: None,
        };
        let err = self.err();
        let stream = self
            .docker
            .push_image(&repo, Some(options), auth.map(DockerCredentials::from))
            .map(move |r| r.map(PushProgress::from).map_err(&err));
        match checked {
            Ok(()) => stream.left_stream(),
            Err(e) => futures_util::stream::once(async move { Err(e) }).right_stream(),
        }
    }

    /// Gives `source` the additional name `target` (`repo[:tag]`).
    pub async fn tag_image(&self, source: &str, target: &str) -> Result<(), EngineError> {
        check_reference(target)?;
        let (repo, tag) = split_reference(target);
        let options = q::TagImageOptions {
            repo: Some(repo),
            tag: Some(tag),
        };
        self.docker
            .tag_image(source, Some(options))
            .await
            .map_err(self.err())
    }

    /// Removes an image (or one of its tags); returns what was untagged and deleted.
    pub async fn remove_image(
        &self,
        reference: &str,
        force: bool,
    ) -> Result<Vec<String>, EngineError> {
        let options = q::RemoveImageOptions {
            force,
            noprune: false,
            platforms: None,
        };
        let items = self
            .docker
            .remove_image(reference, Some(options), None)
            .await
            .map_err(self.err())?;
        Ok(items
            .into_iter()
            .flat_map(|i| i.untagged.into_iter().chain(i.deleted))
            .collect())
    }

    /// Removes dangling images, or every unused image when `all`.
    pub async fn prune_images(&self, all: bool) -> Result<PruneReport, EngineError> {
        let filters = filter_map([("dangling", (!all).to_string())]);
        let options = q::PruneImagesOptions {
            filters: Some(filters),
        };
        let r = self
            .docker
            .prune_images(Some(options))
            .await
            .map_err(self.err())?;
        Ok(PruneReport {
            deleted: r
                .images_deleted
                .unwrap_or_default()
                .into_iter()
                .flat_map(|i| i.deleted.into_iter().chain(i.untagged))
                .collect(),
            space_reclaimed: r.space_reclaimed.unwrap_or(0).max(0) as u64,
        })
    }

    /// Imports a root filesystem tarball as `reference`, applying Dockerfile `changes`
    /// (e.g. `ENV PATH=/bin`); returns the new image id.
    pub async fn import_image(
        &self,
        tarball: &Path,
        reference: &str,
        changes: &[String],
    ) -> Result<String, EngineError> {
        check_reference(reference)?;
        let (repo, tag) = split_reference(reference);
        let file = tokio::fs::File::open(tarball)
            .await
            .map_err(|e| EngineError::io(tarball, e))?;
        let body = bollard::body_try_stream(tokio_util::io::ReaderStream::new(file));
        let options = q::CreateImageOptions {
            from_src: Some("-".into()),
            repo: Some(repo),
            tag: Some(tag),
            changes: changes.to_vec(),
            ..Default::default()
        };
        let infos: Vec<CreateImageInfo> = self
            .docker_transfer
            .create_image(Some(options), Some(body), None)
            .map_err(self.err())
            .try_collect()
            .await?;
        infos
            .into_iter()
            .filter_map(|i| i.status)
            .find(|s| s.starts_with("sha256:"))
            .ok_or_else(|| EngineError::Engine {
                status: None,
                message: "import finished without an image id".into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_like_the_cli() {
        let cases = [
            ("busybox", ("busybox", "latest")),
            ("busybox:1.36", ("busybox", "1.36")),
            (
                "127.0.0.1:5000/team/app",
                ("127.0.0.1:5000/team/app", "latest"),
            ),
            (
                "127.0.0.1:5000/team/app:v2",
                ("127.0.0.1:5000/team/app", "v2"),
            ),
            ("app@sha256:abc", ("app", "sha256:abc")),
        ];
        for (input, (repo, tag)) in cases {
            assert_eq!(
                split_reference(input),
                (repo.to_string(), tag.to_string()),
                "{input}"
            );
        }
    }

    #[test]
    fn auth_debug_redacts_secrets() {
        let a = RegistryAuth {
            username: Some("u".into()),
            password: Some("hunter2".into()),
            identity_token: None,
            server_address: Some("r:5000".into()),
        };
        let dbg = format!("{a:?}");
        assert!(!dbg.contains("hunter2"));
        assert!(dbg.contains("<redacted>"));
        let creds = DockerCredentials::from(&a);
        assert_eq!(creds.password.as_deref(), Some("hunter2"));
    }

    #[test]
    fn pull_progress_from_engine_json() {
        let raw = serde_json::json!({"status": "Downloading", "id": "a1b2",
            "progressDetail": {"current": 10, "total": 100}, "progress": "[=>  ]"});
        let info: CreateImageInfo = serde_json::from_value(raw).unwrap();
        let p = PullProgress::from(info);
        assert_eq!(p.layer_id.as_deref(), Some("a1b2"));
        assert_eq!((p.current, p.total), (Some(10), Some(100)));
    }

    #[test]
    fn empty_reference_is_invalid() {
        assert_eq!(
            check_reference("").unwrap_err().code(),
            berth_core::ErrorCode::InvalidInput
        );
    }
}
