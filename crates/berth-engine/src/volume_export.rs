//! Volume export to a `.tar.gz` and import from one, as Docker Desktop does it: the engine has
//! no volume archive API, so a short-lived helper container mounts the volume and the
//! container archive API (`GET/PUT /containers/{id}/archive`) moves its files; gzip happens
//! on this side. The helper is only created, never started, so any local image will do, and
//! when there is none a tiny empty one is imported (nothing can be pulled).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use bollard::query_parameters as q;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::containers::RemoveOptions;
use crate::run_spec::Mount;
use crate::{Engine, EngineError, RunSpec, VolumeCreate};

/// The image imported when the engine has none at all: an empty filesystem, no command.
pub const HELPER_IMAGE: &str = "berth/volume-helper:1";
/// Where the helper mounts the volume.
const MOUNT: &str = "/berth-volume";
/// Label on helper containers, so a leftover one can be recognised.
pub const HELPER_LABEL: &str = "dev.berth.helper";
const CHUNK: usize = 256 * 1024;

/// What an export or import moved.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeArchive {
    /// Bytes of the tar stream (uncompressed).
    pub tar_bytes: u64,
    /// Bytes of the `.tar.gz` file.
    pub file_bytes: u64,
}

impl Engine {
    /// Writes the files of volume `name` to `dest` as a gzip-compressed tarball whose entries
    /// are relative to the volume's root (`./`, `./dir/file`, ...), like
    /// `tar czf dest -C <volume> .`. The file appears only once complete.
    pub async fn export_volume(
        &self,
        name: &str,
        dest: &Path,
    ) -> Result<VolumeArchive, EngineError> {
        self.inspect_volume(name).await?;
        let helper = self.create_volume_helper(name, true).await?;
        let result = self.export_from(&helper, dest).await;
        self.remove_volume_helper(&helper).await;
        result
    }

    /// Fills volume `name` from the tarball at `src` (gzip-compressed or plain). The volume is
    /// created when it does not exist; an existing one must be empty (`conflict` otherwise),
    /// so an import never mixes two volumes' files.
    pub async fn import_volume(
        &self,
        name: &str,
        src: &Path,
    ) -> Result<VolumeArchive, EngineError> {
        let file_bytes = tokio::fs::metadata(src)
            .await
            .map_err(|e| EngineError::io(src, e))?
            .len();
        let created = match self.inspect_volume(name).await {
            Ok(_) => false,
            Err(EngineError::NotFound { .. }) => {
                let spec = VolumeCreate {
                    name: Some(name.to_string()),
                    ..Default::default()
                };
                self.create_volume(&spec).await?;
                true
            }
            Err(e) => return Err(e),
        };
        let result = match self.create_volume_helper(name, false).await {
            Ok(helper) => {
                let r = self.import_into(&helper, name, created, src).await;
                self.remove_volume_helper(&helper).await;
                r
            }
            Err(e) => Err(e),
        };
        if result.is_err() && created {
            if let Err(e) = self.remove_volume(name, false).await {
                tracing::warn!(volume = name, error = %e, "could not remove the volume of a failed import");
            }
        }
        result.map(|tar_bytes| VolumeArchive {
            tar_bytes,
            file_bytes,
        })
    }

    async fn export_from(&self, helper: &str, dest: &Path) -> Result<VolumeArchive, EngineError> {
        let options = q::DownloadFromContainerOptions {
            path: format!("{MOUNT}/."),
        };
        let mut archive = Box::pin(self.docker.download_from_container(helper, Some(options)));
        let part = partial_path(dest);
        let (tx, rx) = mpsc::channel::<Bytes>(8);
        let writer = {
            let part = part.clone();
            tokio::task::spawn_blocking(move || write_gzip(&part, rx))
        };
        let mut tar_bytes = 0u64;
        let mut failed = None;
        while let Some(chunk) = archive.next().await {
            match chunk {
                Ok(bytes) => {
                    tar_bytes += bytes.len() as u64;
                    if tx.send(bytes).await.is_err() {
                        break; // the writer failed; its error says why
                    }
                }
                Err(e) => {
                    failed = Some((self.err())(e));
                    break;
                }
            }
        }
        drop(tx);
        let written = writer.await.map_err(|e| EngineError::Engine {
            status: None,
            message: format!("the archive writer stopped: {e}"),
        })?;
        let outcome = match (failed, written) {
            (Some(e), _) => Err(e),
            (None, Err(e)) => Err(EngineError::io(dest, e)),
            (None, Ok(file_bytes)) => std::fs::rename(&part, dest)
                .map(|()| VolumeArchive {
                    tar_bytes,
                    file_bytes,
                })
                .map_err(|e| EngineError::io(dest, e)),
        };
        if outcome.is_err() {
            let _ = std::fs::remove_file(&part);
        }
        outcome
    }

    /// Uploads `src` into the helper's mount; returns the tar bytes sent.
    async fn import_into(
        &self,
        helper: &str,
        name: &str,
        created: bool,
        src: &Path,
    ) -> Result<u64, EngineError> {
        if !created && !self.helper_mount_is_empty(helper).await? {
            return Err(EngineError::Conflict {
                message: format!("volume {name} is not empty; import into a new or empty volume"),
            });
        }
        let (tx, mut rx) = mpsc::channel::<std::io::Result<Bytes>>(8);
        let reader = {
            let src = src.to_path_buf();
            tokio::task::spawn_blocking(move || read_tarball(&src, tx))
        };
        let body =
            bollard::body_try_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
        let options = q::UploadToContainerOptions {
            path: MOUNT.to_string(),
            ..Default::default()
        };
        let uploaded = self
            .docker_transfer
            .upload_to_container(helper, Some(options), body)
            .await
            .map_err(self.err());
        let read = reader.await.map_err(|e| EngineError::Engine {
            status: None,
            message: format!("the archive reader stopped: {e}"),
        })?;
        // A file that is not an archive fails while reading: say that, not the aborted upload.
        let tar_bytes =
            read.map_err(|e| EngineError::invalid("archive", format!("{}: {e}", src.display())))?;
        uploaded?;
        Ok(tar_bytes)
    }

    /// True when the mount holds nothing but its root: the archive's second entry is the
    /// first file, so reading stops there.
    async fn helper_mount_is_empty(&self, helper: &str) -> Result<bool, EngineError> {
        let options = q::DownloadFromContainerOptions {
            path: format!("{MOUNT}/."),
        };
        let mut archive = Box::pin(self.docker.download_from_container(helper, Some(options)));
        let mut head = Vec::new();
        while let Some(chunk) = archive.next().await {
            head.extend_from_slice(&chunk.map_err(self.err())?);
            if complete_entries(&head) >= 2 {
                return Ok(false);
            }
        }
        Ok(complete_entries(&head) < 2)
    }

    /// A created (never started) container with volume `name` mounted at [`MOUNT`].
    async fn create_volume_helper(
        &self,
        name: &str,
        read_only: bool,
    ) -> Result<String, EngineError> {
        let image = self.volume_helper_image().await?;
        // The command is never run; it only satisfies images that have none.
        let spec = RunSpec::new(image)
            .mount(Mount::Volume {
                source: Some(name.to_string()),
                target: MOUNT.into(),
                read_only,
            })
            .label(HELPER_LABEL, "volume-archive")
            .cmd(["berth-volume-helper"]);
        self.create_container(&spec).await
    }

    async fn remove_volume_helper(&self, helper: &str) {
        let options = RemoveOptions {
            force: true,
            volumes: true, // anonymous volumes of the image's VOLUMEs; never named ones
        };
        if let Err(e) = self.remove_container(helper, options).await {
            tracing::warn!(helper, error = %e, "could not remove the volume helper container");
        }
    }

    /// Any local image (the helper never runs), else [`HELPER_IMAGE`], imported if need be.
    async fn volume_helper_image(&self) -> Result<String, EngineError> {
        if let Some(image) = self.list_images(false).await?.into_iter().next() {
            return Ok(image.id);
        }
        let (repo, tag) = crate::images::split_reference(HELPER_IMAGE);
        let options = q::CreateImageOptions {
            from_src: Some("-".into()),
            repo: Some(repo),
            tag: Some(tag),
            ..Default::default()
        };
        // An empty tar: two zero blocks.
        let body = bollard::body_full(Bytes::from(vec![0u8; 1024]));
        let mut progress = Box::pin(self.docker_transfer.create_image(
            Some(options),
            Some(body),
            None,
        ));
        while let Some(message) = progress.next().await {
            message.map_err(self.err())?;
        }
        Ok(HELPER_IMAGE.to_string())
    }
}

/// `dest` with `.part` appended: the export is written there and renamed when complete.
fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

/// Gzips what arrives on `rx` into `path`; returns the file's size.
fn write_gzip(path: &Path, mut rx: mpsc::Receiver<Bytes>) -> std::io::Result<u64> {
    let file = std::fs::File::create(path)?;
    let mut gz = flate2::write::GzEncoder::new(
        std::io::BufWriter::new(file),
        flate2::Compression::default(),
    );
    while let Some(chunk) = rx.blocking_recv() {
        gz.write_all(&chunk)?;
    }
    let file = gz.finish()?.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(file.metadata()?.len())
}

/// Sends the tar stream of `path` (gunzipped when it is gzip) to `tx`; returns its size.
fn read_tarball(path: &Path, tx: mpsc::Sender<std::io::Result<Bytes>>) -> std::io::Result<u64> {
    let mut file = std::fs::File::open(path)?;
    let mut magic = [0u8; 2];
    let gzip = file.read(&mut magic)? == 2 && magic == [0x1f, 0x8b];
    drop(file);
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut reader: Box<dyn Read> = if gzip {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut total = 0u64;
    loop {
        let mut buf = vec![0u8; CHUNK];
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // Abort the upload too, so the engine does not extract half an archive as whole.
                let _ = tx.blocking_send(Err(std::io::Error::new(e.kind(), e.to_string())));
                return Err(e);
            }
        };
        buf.truncate(n);
        total += n as u64;
        if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
            return Ok(total); // the upload ended early; its error says why
        }
    }
}

/// How many entries of a (possibly truncated) tar stream have complete headers.
fn complete_entries(head: &[u8]) -> usize {
    let mut archive = tar::Archive::new(head);
    match archive.entries() {
        Ok(entries) => entries.take_while(Result::is_ok).count(),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(names: &[&str]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for n in names {
            let mut h = tar::Header::new_gnu();
            if n.ends_with('/') {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                h.set_mode(0o755);
                h.set_cksum();
                b.append_data(&mut h, n, std::io::empty()).unwrap();
            } else {
                h.set_size(5);
                h.set_mode(0o644);
                h.set_cksum();
                b.append_data(&mut h, n, &b"hello"[..]).unwrap();
            }
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn an_archive_of_just_the_root_is_empty() {
        let root_only = tar_of(&["./"]);
        assert_eq!(complete_entries(&root_only), 1);
        let with_file = tar_of(&["./", "./a.txt"]);
        assert_eq!(complete_entries(&with_file), 2);
        // The second header alone is enough to know.
        assert_eq!(complete_entries(&with_file[..1024]), 2);
        assert_eq!(complete_entries(&with_file[..700]), 1);
        assert_eq!(complete_entries(&[]), 0);
    }

    #[test]
    fn partial_files_sit_next_to_the_destination() {
        assert_eq!(
            partial_path(Path::new("/tmp/x/data.tar.gz")),
            Path::new("/tmp/x/data.tar.gz.part")
        );
    }

    #[test]
    fn gzip_round_trip_through_the_writer_and_reader() {
        let dir = std::env::temp_dir().join(format!("berth-volarch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.tar.gz");
        let tar = tar_of(&["./", "./a.txt"]);
        let (tx, rx) = mpsc::channel(4);
        tx.try_send(Bytes::from(tar.clone())).unwrap();
        drop(tx);
        let size = write_gzip(&path, rx).unwrap();
        assert_eq!(size, std::fs::metadata(&path).unwrap().len());
        let (tx, mut rx) = mpsc::channel(64);
        let total = read_tarball(&path, tx).unwrap();
        let mut back = Vec::new();
        while let Ok(chunk) = rx.try_recv() {
            back.extend_from_slice(&chunk.unwrap());
        }
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(total, tar.len() as u64);
        assert_eq!(back, tar);
    }
}
