//! What a VM is made of (the guest image and agent) and what makes one (the hypervisor).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_core::{ApiError, ErrorCode};
use berth_vm::{Hypervisor, VmConfig, VmError};

use super::vm_error;

/// Names the guest agent binary to put in the initrd.
pub const AGENT_BIN_VAR: &str = "BERTH_AGENT_BIN";

/// Makes the hypervisor for a start: the real one, or a fake in tests.
pub trait VmFactory: Send + Sync {
    fn create(&self, config: VmConfig) -> Result<Arc<dyn Hypervisor>, VmError>;
}

/// This platform's hypervisor with real processes.
pub struct NativeVm;

impl VmFactory for NativeVm {
    fn create(&self, config: VmConfig) -> Result<Arc<dyn Hypervisor>, VmError> {
        berth_vm::native(config, Arc::new(berth_vm::SystemRunner)).map(Arc::from)
    }
}

/// Where the guest image and agent come from.
#[derive(Debug, Clone)]
pub struct Artifacts {
    pub image: berth_vm::GuestImage,
    pub agent: PathBuf,
}

impl Artifacts {
    /// `BERTH_VM_IMAGE_DIR` / installed / source tree image; `BERTH_AGENT_BIN` or the
    /// `berth-agent` beside the running binary.
    pub fn locate() -> Result<Artifacts, ApiError> {
        let exe = std::env::current_exe().ok();
        let image = berth_vm::image::locate(exe.as_deref()).map_err(vm_error)?;
        let agent = agent_candidates(
            std::env::var_os(AGENT_BIN_VAR).filter(|v| !v.is_empty()),
            exe.as_deref(),
            &image.dir,
        )
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::VmFailed,
                    format!(
                        "the guest agent binary is missing: set {AGENT_BIN_VAR} or put berth-agent beside berth"
                    ),
                )
            })?;
        Ok(Artifacts { image, agent })
    }
}

/// Where the guest agent binary may be, best first: the override; beside the running binary
/// (Linux packages, development builds); inside the image directory (the macOS app's
/// `Contents/Resources/vm-image/<arch>`, Windows' `<install dir>\vm-image\<arch>`).
/// With the override set, nothing else is tried.
pub(super) fn agent_candidates(
    overridden: Option<std::ffi::OsString>,
    exe: Option<&Path>,
    image_dir: &Path,
) -> Vec<PathBuf> {
    if let Some(path) = overridden {
        return vec![PathBuf::from(path)];
    }
    let mut paths = Vec::new();
    if let Some(dir) = exe.and_then(Path::parent) {
        paths.push(dir.join("berth-agent"));
    }
    paths.push(image_dir.join("berth-agent"));
    paths
}
