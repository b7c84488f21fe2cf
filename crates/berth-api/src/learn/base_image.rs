//! The image every lesson runs, `berth-learn/busybox:latest`, made on the spot without a
//! network: from the engine's own static busybox (the Berth guest has one at /bin/busybox),
//! else from the host's, else (only when the user allows it) pulled from Docker Hub.
//!
//! The engine's busybox is read without running anything of the host: a tiny image of empty
//! folders is imported, a container of it bind-mounts the engine's `/bin/busybox` and runs it
//! once to list its applets, and the binary is copied out through the archive API. Berth then
//! writes a root filesystem (the binary, one link per applet, /etc/passwd) and imports it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_core::{ApiError, ErrorCode};
use berth_engine::containers::RemoveOptions;
use berth_engine::{BuildOptions, Engine, LogOptions, Mount, RunSpec};
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::transport::ToApi;

/// The lesson image's reference.
pub const BASE_IMAGE: &str = "berth-learn/busybox:latest";
/// The label on everything a lesson makes; its value names the lesson.
pub const LABEL: &str = "berth.learn";
/// The base image's value of [`LABEL`]: shared by every lesson, removed by the last one out.
pub const BASE_LABEL_VALUE: &str = "base";

const SEED_IMAGE: &str = "berth-learn/seed:latest";
/// Where an engine keeps a static busybox (Debian's busybox-static; the Berth guest's).
const ENGINE_BUSYBOX: [&str; 2] = ["/bin/busybox", "/usr/bin/busybox"];
/// Fixed mtime, so the same busybox always gives the same layer.
const MTIME: u64 = 1_700_000_000;
const STEP_DEADLINE: Duration = Duration::from_secs(60);

/// Where the lesson image came from.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum BaseSource {
    /// It was there already.
    Present,
    /// From the engine's own busybox (no network).
    EngineBusybox,
    /// From the host's busybox (no network).
    HostBusybox,
    /// Pulled `busybox:latest` from Docker Hub (the user allowed it).
    Pulled,
}

impl BaseSource {
    /// How a shell says where the image came from.
    pub fn describe(self) -> super::Text {
        let (en, ja) = match self {
            BaseSource::Present => ("already on the engine", "エンジンにすでにありました"),
            BaseSource::EngineBusybox => (
                "made from the engine's own busybox, without a network",
                "エンジン自身の busybox から、ネットワークを使わずに作りました",
            ),
            BaseSource::HostBusybox => (
                "made from this computer's busybox, without a network",
                "このコンピューターの busybox から、ネットワークを使わずに作りました",
            ),
            BaseSource::Pulled => (
                "made from busybox pulled from Docker Hub",
                "Docker Hub からプルした busybox から作りました",
            ),
        };
        super::Text::new(en, ja)
    }
}

fn failed(what: &str, detail: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Engine, format!("{what}: {detail}"))
}

/// Makes sure [`BASE_IMAGE`] exists on `engine`; `allow_pull` permits Docker Hub as the last
/// resort.
pub async fn ensure(engine: &Engine, allow_pull: bool) -> Result<BaseSource, ApiError> {
    if let Ok(image) = engine.inspect_image(BASE_IMAGE).await {
        let labels = image.config.and_then(|c| c.labels).unwrap_or_default();
        if labels.contains_key(LABEL) {
            return Ok(BaseSource::Present);
        }
    }
    let mut problems = Vec::new();
    match from_engine_busybox(engine).await {
        Ok(()) => return Ok(BaseSource::EngineBusybox),
        Err(e) => problems.push(format!("the engine's busybox: {}", e.message)),
    }
    match from_host_busybox(engine).await {
        Ok(()) => return Ok(BaseSource::HostBusybox),
        Err(e) => problems.push(format!("the host's busybox: {}", e.message)),
    }
    if allow_pull {
        pull(engine).await?;
        return Ok(BaseSource::Pulled);
    }
    Err(ApiError::new(
        ErrorCode::MissingTool,
        format!(
            "cannot make the lesson image {BASE_IMAGE} without a network ({}); allow a pull of busybox from Docker Hub (berth learn run --pull)",
            problems.join("; ")
        ),
    ))
}

fn label_change() -> String {
    format!("LABEL {LABEL}={BASE_LABEL_VALUE}")
}

async fn from_engine_busybox(engine: &Engine) -> Result<(), ApiError> {
    let seed = TempFile::new("seed")?;
    write_tar(seed.path(), |tar| skeleton(tar, false))?;
    engine
        .import_image(seed.path(), SEED_IMAGE, &[label_change()])
        .await
        .to_api()?;
    let mut result = Err(failed("no busybox found", ENGINE_BUSYBOX.join(" or ")));
    for path in ENGINE_BUSYBOX {
        result = copy_busybox_out(engine, path).await;
        if result.is_ok() {
            break;
        }
    }
    let _ = engine.remove_image(SEED_IMAGE, true).await;
    let (busybox, applets) = result?;
    import_rootfs(engine, &busybox, &applets).await
}

/// Runs `path` of the engine (bind-mounted into the seed) to list its applets, then copies the
/// binary out; a missing or dynamically linked busybox fails here.
async fn copy_busybox_out(engine: &Engine, path: &str) -> Result<(Vec<u8>, Vec<String>), ApiError> {
    let spec = RunSpec::new(SEED_IMAGE)
        .cmd(["/busybox", "--list"])
        .label(LABEL, BASE_LABEL_VALUE)
        .mount(Mount::Bind {
            source: path.to_string(),
            target: "/busybox".into(),
            read_only: true,
        });
    let id = engine.create_container(&spec).await.to_api()?;
    let result = async {
        engine.start_container(&id).await.to_api()?;
        let code = tokio::time::timeout(STEP_DEADLINE, engine.wait_container(&id))
            .await
            .map_err(|_| failed("busybox --list", "no answer"))?
            .to_api()?;
        let logs: Vec<_> = engine
            .logs(&id, &LogOptions::default())
            .try_collect()
            .await
            .to_api()?;
        let listing: String = logs.into_iter().map(|l| l.text).collect();
        if code != 0 {
            return Err(failed("busybox --list", format!("exit {code}: {listing}")));
        }
        let applets = applet_names(&listing);
        let archive = engine
            .container_archive(&id, "/busybox")
            .try_fold(Vec::new(), |mut all, chunk| async move {
                all.extend_from_slice(&chunk);
                Ok(all)
            })
            .await
            .to_api()?;
        Ok((first_file(&archive)?, applets))
    }
    .await;
    let force = RemoveOptions {
        force: true,
        volumes: true,
    };
    let _ = engine.remove_container(&id, force).await;
    result
}

fn applet_names(listing: &str) -> Vec<String> {
    listing
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty() && *a != "busybox" && !a.contains('/'))
        .map(str::to_string)
        .collect()
}

/// The contents of the first regular file in a tar.
fn first_file(tar_bytes: &[u8]) -> Result<Vec<u8>, ApiError> {
    let bad = |e: std::io::Error| failed("reading the busybox archive", e);
    let mut archive = tar::Archive::new(tar_bytes);
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if entry.header().entry_type().is_file() {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).map_err(bad)?;
            return Ok(data);
        }
    }
    Err(failed("reading the busybox archive", "no file in it"))
}

async fn from_host_busybox(engine: &Engine) -> Result<(), ApiError> {
    let path = ENGINE_BUSYBOX
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .ok_or_else(|| failed("no busybox on this host", ENGINE_BUSYBOX.join(" or ")))?;
    let busybox = std::fs::read(path).map_err(|e| failed(&path.display().to_string(), e))?;
    let listing = tokio::process::Command::new(path)
        .arg("--list")
        .output()
        .await
        .map_err(|e| failed("busybox --list", e))?;
    if !listing.status.success() {
        return Err(failed("busybox --list", listing.status));
    }
    let applets = applet_names(&String::from_utf8_lossy(&listing.stdout));
    import_rootfs(engine, &busybox, &applets).await
}

async fn import_rootfs(
    engine: &Engine,
    busybox: &[u8],
    applets: &[String],
) -> Result<(), ApiError> {
    let rootfs = TempFile::new("rootfs")?;
    write_tar(rootfs.path(), |tar| {
        skeleton(tar, true)?;
        append_file(tar, "bin/busybox", 0o755, busybox)?;
        for applet in applets {
            let mut h = header(tar::EntryType::Symlink, 0o777, 0);
            tar.append_link(&mut h, format!("bin/{applet}"), "busybox")?;
        }
        Ok(())
    })?;
    let changes = [
        "ENV PATH=/bin".to_string(),
        r#"CMD ["sh"]"#.to_string(),
        label_change(),
    ];
    engine
        .import_image(rootfs.path(), BASE_IMAGE, &changes)
        .await
        .to_api()
        .map(drop)
}

/// `FROM busybox:latest` with the lesson label, built after a pull.
async fn pull(engine: &Engine) -> Result<(), ApiError> {
    let had_busybox = engine.inspect_image("busybox:latest").await.is_ok();
    let mut progress = Box::pin(engine.pull_image("busybox:latest", None));
    while let Some(p) = progress.next().await {
        p.to_api()?;
    }
    let dir = TempFile::new("pull-build")?;
    std::fs::create_dir_all(dir.path()).map_err(|e| failed("a build folder", e))?;
    std::fs::write(dir.path().join("Dockerfile"), "FROM busybox:latest\n")
        .map_err(|e| failed("a build folder", e))?;
    let options = BuildOptions {
        tag: Some(BASE_IMAGE.into()),
        labels: BTreeMap::from([(LABEL.to_string(), BASE_LABEL_VALUE.to_string())]),
        ..BuildOptions::default()
    };
    let mut build = engine.build_image(dir.path(), &options).await.to_api()?;
    while let Some(p) = build.next().await {
        p.to_api()?;
    }
    drop(build);
    if !had_busybox {
        let _ = engine.remove_image("busybox:latest", false).await;
    }
    Ok(())
}

type Tar<'a> = tar::Builder<&'a mut std::io::BufWriter<std::fs::File>>;

fn write_tar(
    path: &Path,
    fill: impl FnOnce(&mut Tar<'_>) -> std::io::Result<()>,
) -> Result<(), ApiError> {
    let io = |e: std::io::Error| failed(&format!("writing {}", path.display()), e);
    let file = std::fs::File::create(path).map_err(io)?;
    let mut out = std::io::BufWriter::new(file);
    {
        let mut tar = tar::Builder::new(&mut out);
        fill(&mut tar).map_err(io)?;
        tar.finish().map_err(io)?;
    }
    out.flush().map_err(io)
}

/// The folders of a root filesystem, and (for the real one) its users and groups.
fn skeleton<W: Write>(tar: &mut tar::Builder<W>, users: bool) -> std::io::Result<()> {
    for dir in ["bin", "etc", "root", "var", "home", "proc", "sys", "dev"] {
        append_dir(tar, dir, 0o755)?;
    }
    append_dir(tar, "tmp", 0o1777)?;
    if users {
        append_file(
            tar,
            "etc/passwd",
            0o644,
            b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        )?;
        append_file(tar, "etc/group", 0o644, b"root:x:0:\nnogroup:x:65534:\n")?;
    }
    Ok(())
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(MTIME);
    h
}

fn append_dir<W: Write>(tar: &mut tar::Builder<W>, path: &str, mode: u32) -> std::io::Result<()> {
    let mut h = header(tar::EntryType::Directory, mode, 0);
    tar.append_data(&mut h, format!("{path}/"), std::io::empty())
}

fn append_file<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    mode: u32,
    data: &[u8],
) -> std::io::Result<()> {
    let mut h = header(tar::EntryType::Regular, mode, data.len() as u64);
    tar.append_data(&mut h, path, data)
}

/// A path in the temp folder, removed (file or folder) when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(what: &str) -> Result<TempFile, ApiError> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("berth-learn-{what}-{}-{n}", std::process::id()));
        Ok(TempFile(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.0.is_dir() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_is_described_in_both_languages() {
        for source in [
            BaseSource::Present,
            BaseSource::EngineBusybox,
            BaseSource::HostBusybox,
            BaseSource::Pulled,
        ] {
            super::super::validate::text(&source.describe(), "source").unwrap();
        }
    }

    #[test]
    fn applets_are_names_only() {
        let names = applet_names("sh\nbusybox\n\n  ls \nsbin/odd\n");
        assert_eq!(names, ["sh", "ls"]);
    }

    #[test]
    fn the_first_file_of_an_archive_is_the_binary() {
        let mut bytes = Vec::new();
        {
            let mut tar = tar::Builder::new(&mut bytes);
            append_dir(&mut tar, "x", 0o755).unwrap();
            append_file(&mut tar, "busybox", 0o755, b"\x7fELF").unwrap();
            tar.finish().unwrap();
        }
        assert_eq!(first_file(&bytes).unwrap(), b"\x7fELF");
        assert!(first_file(&[]).is_err());
    }

    #[test]
    fn a_rootfs_tar_is_written_and_removed_with_its_guard() {
        let file = TempFile::new("test").unwrap();
        write_tar(file.path(), |tar| {
            skeleton(tar, true)?;
            append_file(tar, "bin/busybox", 0o755, b"bb")
        })
        .unwrap();
        let mut archive = tar::Archive::new(std::fs::File::open(file.path()).unwrap());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert!(names.contains(&"etc/passwd".to_string()), "{names:?}");
        assert!(names.contains(&"tmp/".to_string()) || names.contains(&"tmp".to_string()));
        let path = file.path().to_path_buf();
        drop(file);
        assert!(!path.exists());
    }
}
