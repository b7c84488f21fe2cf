//! The VM that runs the engine: one [`Hypervisor`] trait, one backend per platform, and the
//! pieces a backend is made of — a pure argv builder ([`qemu::QemuSpec`]), a [`ProcessRunner`]
//! seam for every process it spawns, the data disk ([`data_disk`]) and the guest image
//! ([`image`]).
//!
//! Three backends implement [`Hypervisor`]: QEMU (Linux), vfkit (macOS) and WSL (Windows);
//! [`create`] makes the one `vm.backend` names ([`native`]: the platform's own). Each names the
//! host programs it runs ([`host_tools`]), so a start fails before it begins when one is
//! missing.

mod backend;
pub mod data_disk;
pub mod error;
pub mod host_memory;
pub mod host_tools;
pub mod image;
pub mod initrd;
pub mod process;
mod process_watch;
pub mod qemu;
pub mod share;
pub mod vfkit;
pub mod wsl;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

pub use backend::{create, hypervisor_program, VFKIT_VAR, WSL_EXE_VAR};
pub use berth_core::settings::{LinkKind, VmBackend, VmLink};
pub use error::VmError;
pub use host_tools::HostTool;
pub use image::GuestImage;
pub use process::{LinkIo, ProcessRunner, SystemRunner};

/// What the VM gets from the host: sizes from the user's settings, files from the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmConfig {
    pub cpus: u32,
    pub memory_mib: u64,
    /// Size of the data disk that holds `/var/lib/docker`; it only ever grows.
    pub disk_gib: u64,
    pub image: GuestImage,
    /// The guest agent binary, appended to the image's initrd at start.
    pub agent: PathBuf,
    /// Private (0700): link and QMP sockets, the assembled initrd.
    pub run_dir: PathBuf,
    /// Where the data disk lives.
    pub data_dir: PathBuf,
    /// The console log and the hypervisor's own output.
    pub logs_dir: PathBuf,
    /// Host folders that appear in the guest at the same absolute path, read-write
    /// ([`share::folders_to_share`] picks them from the settings).
    pub shares: Vec<PathBuf>,
    /// The hypervisor the user chose (`vm.backend`), for [`create`].
    pub backend: VmBackend,
    /// The link the user chose (`vm.link`); each backend resolves it ([`VmLink::resolve`]).
    pub link: VmLink,
}

/// The guest port the agent listens on when the link is a vsock (`berth.link=vsock:1024`).
pub const LINK_VSOCK_PORT: u32 = 1024;

/// What the hypervisor process is doing, as a typed value (never a log line to scrape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum VmStatus {
    /// Not started yet (or stopped and reaped, after a clean stop).
    NotStarted,
    Running {
        pid: u32,
    },
    /// The process is gone. `requested` is true when Berth asked for it (stop or kill); false
    /// means it crashed or was killed from outside.
    Exited {
        code: Option<i32>,
        signal: Option<i32>,
        requested: bool,
    },
}

impl VmStatus {
    pub fn pid(&self) -> Option<u32> {
        match self {
            VmStatus::Running { pid } => Some(*pid),
            _ => None,
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self, VmStatus::Running { .. })
    }
}

/// How a stop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopOutcome {
    /// The guest powered off before the deadline.
    Graceful,
    /// The deadline passed and the process was ended by force.
    Killed,
    /// Nothing was running.
    AlreadyStopped,
}

/// Where the host reaches the guest agent: one byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEndpoint {
    /// Connect to this unix socket (QEMU's virtio-serial chardev, vfkit's vsock listener).
    UnixSocket(PathBuf),
    /// A hybrid-vsock device's unix socket (vhost-device-vsock beside QEMU): connect, send
    /// `CONNECT <port>\n`, read `OK <n>\n`, then it is the guest port's byte stream
    /// (berth_link::vsock).
    HybridVsock { socket: PathBuf, port: u32 },
    /// The stdio of the agent's own process (`wsl.exe ... berth-agent serve --stdio`): take it,
    /// once per start, with [`Hypervisor::take_link_io`]. It cannot be reconnected.
    Stdio,
}

/// One VM backend. Every method is idempotent where that makes sense: `start` on a running VM
/// and `stop`/`kill` on a stopped one are no-ops.
#[async_trait]
pub trait Hypervisor: Send + Sync {
    /// Boots the VM and returns once the hypervisor process runs and its link endpoint exists.
    async fn start(&self) -> Result<(), VmError>;
    /// Asks the guest to power off, waits up to `graceful`, then ends the process by force.
    async fn stop(&self, graceful: Duration) -> Result<StopOutcome, VmError>;
    /// Ends the process at once.
    async fn kill(&self) -> Result<(), VmError>;
    /// Resource Saver: stops the guest's CPUs where they are; memory, devices and the link's
    /// connections stay (they resume with [`resume`](Self::resume)). A backend that cannot
    /// pause says so and the engine stays running.
    async fn pause(&self) -> Result<(), VmError> {
        Err(VmError::Unsupported {
            what: format!("pausing the VM under {}", self.describe()),
        })
    }
    /// Runs a paused guest again.
    async fn resume(&self) -> Result<(), VmError> {
        Err(VmError::Unsupported {
            what: format!("resuming the VM under {}", self.describe()),
        })
    }
    /// The guest was asked (over the link) to power off: its exit is not a crash.
    fn expect_exit(&self) {}
    /// The live status; every change (including a crash) is published here at once.
    fn status(&self) -> watch::Receiver<VmStatus>;
    /// Where to connect for the link to the guest agent.
    fn link_endpoint(&self) -> LinkEndpoint;
    /// The kind of byte stream the link runs on (for status output). By default read from the
    /// endpoint, where a unix socket is QEMU's serial chardev; vfkit's is a vsock and says so.
    fn link_kind(&self) -> LinkKind {
        match self.link_endpoint() {
            LinkEndpoint::UnixSocket(_) => LinkKind::Serial,
            LinkEndpoint::HybridVsock { .. } => LinkKind::Vsock,
            LinkEndpoint::Stdio => LinkKind::Stdio,
        }
    }
    /// For [`LinkEndpoint::Stdio`]: the link's byte stream, handed out once per start.
    fn take_link_io(&self) -> Option<Box<dyn process::LinkIo>> {
        None
    }
    /// A short name for status output (`qemu (tcg)`).
    fn describe(&self) -> String;
    /// The host programs [`start`](Self::start) runs, checked before anything starts
    /// ([`host_tools::check`]).
    fn host_tools(&self) -> Vec<HostTool> {
        Vec::new()
    }
    /// How the engine must be given the host's paths of bind mounts: `None` where the guest
    /// sees the shared folders at the host's own paths (QEMU, vfkit); WSL's distro sees the
    /// host's files under its automount (`C:\x` as `/mnt/c/x`), so the engine socket's relay
    /// rewrites each container create.
    fn bind_paths(&self) -> Option<wsl::paths::DistroPaths> {
        None
    }
    /// The host's memory the VM holds now, in bytes: the hypervisor process's resident set.
    /// `None` where no process of Berth's holds it (WSL's one VM serves every distribution).
    fn host_memory_bytes(&self) -> Option<u64> {
        let pid = self.status().borrow().pid()?;
        host_memory::resident_bytes(pid)
    }
}

/// The hypervisor `config.backend` names (`auto`: this platform's own).
pub fn native(
    config: VmConfig,
    runner: Arc<dyn ProcessRunner>,
) -> Result<Box<dyn Hypervisor>, VmError> {
    create(config.backend, config, runner)
}

/// Waits on `rx` until `pred` holds or `deadline` passes. Returns the last value seen.
pub async fn wait_status(
    rx: &mut watch::Receiver<VmStatus>,
    deadline: Duration,
    pred: impl Fn(&VmStatus) -> bool,
) -> Option<VmStatus> {
    let fut = rx.wait_for(|s| pred(s));
    match tokio::time::timeout(deadline, fut).await {
        Ok(Ok(status)) => Some(status.clone()),
        _ => None,
    }
}
