//! The guest image D1's `vm-image/build.sh` produces: a kernel, a stage-1 initrd without the
//! agent, a read-only erofs root and a manifest.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::VmError;

/// Overrides where the image is looked for.
pub const IMAGE_DIR_VAR: &str = "BERTH_VM_IMAGE_DIR";

pub const KERNEL: &str = "vmlinuz";
pub const BASE_INITRD: &str = "initrd-base.cpio.gz";
pub const ROOTFS: &str = "rootfs.erofs";
pub const MANIFEST: &str = "image.json";
/// The root as a tarball for `wsl --import` (`vm-image/build.sh --wsl-tar`).
pub const WSL_ROOTFS: &str = "rootfs.tar";

/// The files this platform's backend boots from: QEMU and vfkit need the kernel, the stage-1
/// initrd and the erofs root; WSL brings its own kernel and imports the root as a tarball.
pub const REQUIRED: &[&str] = if cfg!(windows) {
    &[WSL_ROOTFS, MANIFEST]
} else {
    &[KERNEL, BASE_INITRD, ROOTFS, MANIFEST]
};

/// The kernel command line used when the manifest gives none.
pub const DEFAULT_CMDLINE: &str = "console=ttyS0 quiet";

/// A complete guest image on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestImage {
    pub dir: PathBuf,
    pub arch: String,
    pub kernel_cmdline: String,
    /// The hash of the image's inputs (identifies the build).
    pub hash: String,
    pub docker_version: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    #[serde(default)]
    arch: Option<String>,
    #[serde(default)]
    kernel_cmdline: Option<String>,
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    docker_version: Option<String>,
}

impl GuestImage {
    /// Reads the image in `dir`, checking that every file is there.
    pub fn load(dir: &Path) -> Result<Self, VmError> {
        for &name in REQUIRED {
            if !dir.join(name).is_file() {
                return Err(VmError::ImageIncomplete {
                    dir: dir.to_path_buf(),
                    missing: name.to_string(),
                });
            }
        }
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(VmError::io(&path))?;
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|source| VmError::ImageManifest { path, source })?;
        Ok(GuestImage {
            dir: dir.to_path_buf(),
            arch: manifest
                .arch
                .unwrap_or_else(|| std::env::consts::ARCH.to_string()),
            kernel_cmdline: manifest
                .kernel_cmdline
                .filter(|c| !c.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_CMDLINE.to_string()),
            hash: manifest.hash.unwrap_or_default(),
            docker_version: manifest.docker_version,
        })
    }

    pub fn kernel(&self) -> PathBuf {
        self.dir.join(KERNEL)
    }

    pub fn base_initrd(&self) -> PathBuf {
        self.dir.join(BASE_INITRD)
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.join(ROOTFS)
    }
}

/// Where to look for the image, best first: `BERTH_VM_IMAGE_DIR`; the installed layouts beside
/// the running binary (Linux packages: `<prefix>/bin/berth` and `<prefix>/share/berth/vm-image/<arch>`;
/// the macOS app: `Contents/MacOS/berth` and `Contents/Resources/vm-image/<arch>`; Windows:
/// Tauri resources beside the executable, `<install dir>\vm-image\<arch>`); the source tree's
/// `vm-image/out/<arch>` (development builds).
pub fn candidate_dirs(exe: Option<&Path>) -> Vec<PathBuf> {
    let arch = std::env::consts::ARCH;
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os(IMAGE_DIR_VAR).filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(dir));
    }
    let exe_dir = exe.and_then(Path::parent);
    if let Some(prefix) = exe_dir.and_then(Path::parent) {
        dirs.push(prefix.join("share/berth/vm-image").join(arch));
        dirs.push(prefix.join("Resources/vm-image").join(arch));
    }
    if let Some(dir) = exe_dir {
        dirs.push(dir.join("vm-image").join(arch));
    }
    dirs.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../vm-image/out")
            .join(arch),
    );
    dirs
}

/// The first complete image among [`candidate_dirs`].
pub fn locate(exe: Option<&Path>) -> Result<GuestImage, VmError> {
    let dirs = candidate_dirs(exe);
    let mut first_err = None;
    for dir in &dirs {
        match GuestImage::load(dir) {
            Ok(image) => return Ok(image),
            Err(err) => {
                first_err.get_or_insert(err);
            }
        }
    }
    Err(first_err.unwrap_or(VmError::ImageIncomplete {
        dir: PathBuf::new(),
        missing: "the image directory".into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_image(dir: &Path, manifest: &str) {
        for name in [KERNEL, BASE_INITRD, ROOTFS, WSL_ROOTFS] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        std::fs::write(dir.join(MANIFEST), manifest).unwrap();
    }

    #[test]
    fn loads_a_complete_image() {
        let dir = tempfile::tempdir().unwrap();
        write_image(
            dir.path(),
            r#"{"arch":"x86_64","kernel_cmdline":"console=ttyS0 panic=-1","hash":"abc","docker_version":"26.1.5","sizes":{}}"#,
        );
        let image = GuestImage::load(dir.path()).unwrap();
        assert_eq!(image.kernel_cmdline, "console=ttyS0 panic=-1");
        assert_eq!(image.hash, "abc");
        assert_eq!(image.docker_version.as_deref(), Some("26.1.5"));
        assert_eq!(image.rootfs(), dir.path().join("rootfs.erofs"));
    }

    #[test]
    fn a_missing_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        write_image(dir.path(), "{}");
        std::fs::remove_file(dir.path().join(REQUIRED[0])).unwrap();
        let err = GuestImage::load(dir.path()).unwrap_err();
        assert!(
            matches!(err, VmError::ImageIncomplete { ref missing, .. } if missing == REQUIRED[0])
        );
    }

    #[test]
    fn installed_layouts_are_found_beside_the_binary() {
        let arch = std::env::consts::ARCH;
        let linux = candidate_dirs(Some(Path::new("/usr/bin/berth")));
        assert!(linux.contains(&PathBuf::from(format!("/usr/share/berth/vm-image/{arch}"))));
        let mac = candidate_dirs(Some(Path::new(
            "/Applications/Berth.app/Contents/MacOS/berth",
        )));
        assert!(mac.contains(&PathBuf::from(format!(
            "/Applications/Berth.app/Contents/Resources/vm-image/{arch}"
        ))));
        let win = candidate_dirs(Some(Path::new("/Program Files/Berth/berth.exe")));
        assert!(win.contains(&PathBuf::from(format!(
            "/Program Files/Berth/vm-image/{arch}"
        ))));
        // The development tree comes last.
        assert!(linux
            .last()
            .unwrap()
            .ends_with(format!("vm-image/out/{arch}")));
    }

    #[test]
    fn an_empty_manifest_gets_defaults() {
        let dir = tempfile::tempdir().unwrap();
        write_image(dir.path(), "{}");
        let image = GuestImage::load(dir.path()).unwrap();
        assert_eq!(image.kernel_cmdline, DEFAULT_CMDLINE);
    }
}
