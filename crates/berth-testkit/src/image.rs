//! The test image: a rootfs made from Debian's static busybox, built in Rust and cached on disk
//! under a name keyed by the busybox binary's hash, then `docker import`ed into a daemon.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::{run, HarnessError};

/// The tag the test image gets in every daemon.
pub const TEST_IMAGE: &str = "berth-test/busybox:latest";

const BUSYBOX: &str = "/bin/busybox";

/// Fixed mtime so the same busybox always gives the same tar (and the same image layer).
const MTIME: u64 = 1_700_000_000;

/// Imports the busybox rootfs tar into the daemon that `docker` points at, as `tag`.
pub(crate) fn import(docker: Command, tag: &str) -> Result<(), HarnessError> {
    let tar = cached_rootfs_tar()?;
    import_tar(docker, &tar, tag)
}

/// Imports a rootfs tar with `ENV PATH=/bin` and `CMD ["sh"]`.
pub(crate) fn import_tar(mut docker: Command, tar: &Path, tag: &str) -> Result<(), HarnessError> {
    run(docker
        .arg("import")
        .args(["--change", "ENV PATH=/bin", "--change", r#"CMD ["sh"]"#])
        .arg(tar)
        .arg(tag))?;
    Ok(())
}

/// The path of the rootfs tar for the installed busybox, building it when it is not cached yet.
pub(crate) fn cached_rootfs_tar() -> Result<PathBuf, HarnessError> {
    let busybox = std::fs::read(BUSYBOX).map_err(HarnessError::io(BUSYBOX))?;
    let key = hex::encode(&Sha256::digest(&busybox)[..8]);
    let dir = std::env::temp_dir().join("berth-testkit-cache");
    std::fs::create_dir_all(&dir).map_err(HarnessError::io(&dir))?;
    let path = dir.join(format!("busybox-rootfs-{key}.tar"));
    if path.exists() {
        return Ok(path);
    }
    let applets = applets()?;
    // Write to a private name and rename: parallel tests may build the same tar at once.
    let partial = dir.join(format!(
        "busybox-rootfs-{key}.tar.{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let file = File::create(&partial).map_err(HarnessError::io(&partial))?;
    let mut out = BufWriter::new(file);
    write_rootfs(&mut out, &busybox, &applets, None).map_err(HarnessError::io(&partial))?;
    out.flush().map_err(HarnessError::io(&partial))?;
    drop(out);
    std::fs::rename(&partial, &path).map_err(HarnessError::io(&path))?;
    Ok(path)
}

/// Writes a tar of the busybox rootfs plus, if given, a `/payload` file of `payload_bytes`
/// incompressible bytes (for save/load and push tests that want a sizeable layer).
pub(crate) fn write_payload_rootfs(path: &Path, payload_bytes: u64) -> Result<(), HarnessError> {
    let busybox = std::fs::read(BUSYBOX).map_err(HarnessError::io(BUSYBOX))?;
    let applets = applets()?;
    let file = File::create(path).map_err(HarnessError::io(path))?;
    let mut out = BufWriter::new(file);
    write_rootfs(&mut out, &busybox, &applets, Some(payload_bytes))
        .and_then(|()| out.flush())
        .map_err(HarnessError::io(path))
}

fn applets() -> Result<Vec<String>, HarnessError> {
    let list = run(Command::new(BUSYBOX).arg("--list"))?;
    Ok(list
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty() && *a != "busybox" && !a.contains('/'))
        .map(str::to_owned)
        .collect())
}

fn write_rootfs<W: Write>(
    out: W,
    busybox: &[u8],
    applets: &[String],
    payload_bytes: Option<u64>,
) -> std::io::Result<()> {
    let mut tar = tar::Builder::new(out);
    for dir in ["bin", "etc", "root", "var", "home", "proc", "sys", "dev"] {
        append_dir(&mut tar, dir, 0o755)?;
    }
    append_dir(&mut tar, "tmp", 0o1777)?;
    append_file(&mut tar, "bin/busybox", 0o755, busybox)?;
    for applet in applets {
        let mut h = header(tar::EntryType::Symlink, 0o777, 0);
        tar.append_link(&mut h, format!("bin/{applet}"), "busybox")?;
    }
    append_file(
        &mut tar,
        "etc/passwd",
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )?;
    append_file(
        &mut tar,
        "etc/group",
        0o644,
        b"root:x:0:\nnogroup:x:65534:\n",
    )?;
    if let Some(len) = payload_bytes {
        let mut h = header(tar::EntryType::Regular, 0o644, len);
        tar.append_data(&mut h, "payload", Noise::new(len))?;
    }
    tar.into_inner()?.flush()
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

/// Deterministic incompressible bytes (xorshift64), so a payload layer really has its size.
struct Noise {
    left: u64,
    state: u64,
}

impl Noise {
    fn new(len: u64) -> Noise {
        Noise {
            left: len,
            state: 0x9E37_79B9_7F4A_7C15 ^ len,
        }
    }
}

impl Read for Noise {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        for chunk in buf[..n].chunks_mut(8) {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            chunk.copy_from_slice(&self.state.to_le_bytes()[..chunk.len()]);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(bytes: &[u8]) -> Vec<(String, tar::EntryType, Option<String>)> {
        let mut archive = tar::Archive::new(bytes);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let link = e
                    .link_name()
                    .unwrap()
                    .map(|l| l.to_string_lossy().into_owned());
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    e.header().entry_type(),
                    link,
                )
            })
            .collect()
    }

    #[test]
    fn rootfs_has_busybox_applet_links_and_users() {
        let mut bytes = Vec::new();
        let applets = vec!["sh".to_owned(), "echo".to_owned()];
        write_rootfs(&mut bytes, b"\x7fELF fake", &applets, None).unwrap();
        let got = entries(&bytes);
        let find = |p: &str| got.iter().find(|(path, ..)| path == p).cloned();
        assert_eq!(
            find("bin/sh"),
            Some((
                "bin/sh".into(),
                tar::EntryType::Symlink,
                Some("busybox".into())
            ))
        );
        assert!(find("bin/busybox").is_some());
        assert!(find("etc/passwd").is_some());
        assert_eq!(find("tmp/").map(|e| e.1), Some(tar::EntryType::Directory));
        assert!(find("payload").is_none());
    }

    #[test]
    fn same_input_gives_the_same_tar() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        write_rootfs(&mut a, b"bb", &["ls".to_owned()], Some(10)).unwrap();
        write_rootfs(&mut b, b"bb", &["ls".to_owned()], Some(10)).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn payload_has_the_requested_size_and_is_not_zeroes() {
        let mut bytes = Vec::new();
        write_rootfs(&mut bytes, b"bb", &[], Some(100_003)).unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut payload = archive
            .entries()
            .unwrap()
            .map(Result::unwrap)
            .find(|e| e.path().unwrap().to_str() == Some("payload"))
            .unwrap();
        let mut data = Vec::new();
        payload.read_to_end(&mut data).unwrap();
        assert_eq!(data.len(), 100_003);
        assert!(data.iter().filter(|&&b| b == 0).count() < 2_000);
    }
}
