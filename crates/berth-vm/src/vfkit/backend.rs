//! The vfkit backend (macOS): a [`VfkitSpec`] made from the user's settings, vfkit spawned
//! through the [`ProcessRunner`] seam and supervised, stopped through vfkit's REST API.
//!
//! Only spawning vfkit needs a Mac; everything else here runs (and is tested) on any OS.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::watch;
use tracing::{debug, info};

use super::rest::{StateChange, VfkitClient};
use super::spec::{Bootloader, Device, RestfulUri, VfkitSpec, VsockMode};
use crate::process::{CommandSpec, ProcessRunner};
use crate::process_watch::ProcessWatch;
use crate::{HostTool, Hypervisor, LinkEndpoint, StopOutcome, VmConfig, VmError, VmStatus};

/// The vsock port the guest agent listens on for the link.
pub use crate::LINK_VSOCK_PORT;
/// Raw, sparse: Virtualization.framework reads no qcow2.
pub const DATA_DISK: &str = "data.raw";
/// The kernel vfkit boots: arm64 `Image`, uncompressed (vfkit hangs on a compressed one).
pub const KERNEL: &str = "Image";
/// The virtio-fs tag the guest mounts the user's home from, at the same path.
pub const HOME_TAG: &str = "berth-home";
const GIB: u64 = 1 << 30;
const SOCKET_DEADLINE: Duration = Duration::from_secs(15);
const KILL_DEADLINE: Duration = Duration::from_secs(5);

/// The VM Berth boots under vfkit for `config`, sharing `home` at the same path. Pure.
pub fn spec_for(config: &VmConfig, home: &Path) -> VfkitSpec {
    let run = &config.run_dir;
    let cmdline = format!(
        "{} berth.link=vsock:{LINK_VSOCK_PORT} berth.home={}",
        config
            .image
            .kernel_cmdline
            .replace("console=ttyS0", "console=hvc0"),
        home.display()
    );
    VfkitSpec {
        cpus: config.cpus,
        memory_mib: config.memory_mib,
        bootloader: Bootloader::Linux {
            kernel: config.image.dir.join(KERNEL),
            initrd: run.join("initrd.img"),
            cmdline,
        },
        devices: vec![
            Device::VirtioBlk {
                path: config.image.rootfs(),
                device_id: Some("berth-root".into()),
            },
            Device::VirtioBlk {
                path: config.data_dir.join(DATA_DISK),
                device_id: Some("berth-data".into()),
            },
            // The host connects to this socket; vfkit carries it to the agent's vsock port.
            Device::VirtioVsock {
                port: LINK_VSOCK_PORT,
                socket_url: run.join("link.sock"),
                mode: VsockMode::Connect,
            },
            Device::VirtioFs {
                shared_dir: home.to_path_buf(),
                mount_tag: HOME_TAG.into(),
            },
            Device::VirtioRng,
            Device::VirtioSerial {
                log_file_path: config.logs_dir.join(crate::qemu::CONSOLE_LOG),
            },
            Device::VirtioNet { mac: None },
        ],
        restful_uri: Some(RestfulUri::Unix(run.join("vfkit.sock"))),
    }
}

/// Makes the raw data disk at least `size_gib` (sparse, so it costs nothing until written);
/// never shrinks it. Returns whether it changed.
pub fn ensure_raw_disk(path: &Path, size_gib: u64) -> Result<bool, VmError> {
    let wanted = size_gib * GIB;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(VmError::io(path))?;
    let current = file.metadata().map_err(VmError::io(path))?.len();
    if current >= wanted {
        return Ok(false);
    }
    file.set_len(wanted).map_err(VmError::io(path))?;
    Ok(true)
}

pub struct VfkitHypervisor {
    config: VmConfig,
    home: PathBuf,
    runner: Arc<dyn ProcessRunner>,
    program: String,
    process: ProcessWatch,
}

impl VfkitHypervisor {
    pub fn new(config: VmConfig, home: PathBuf, runner: Arc<dyn ProcessRunner>) -> Self {
        VfkitHypervisor {
            config,
            home,
            runner,
            program: "vfkit".into(),
            process: ProcessWatch::new(),
        }
    }

    /// Runs `program` instead of `vfkit` from the PATH (`BERTH_VFKIT`: another vfkit, or the
    /// stand-in).
    pub fn with_program(mut self, program: impl Into<String>) -> Self {
        self.program = program.into();
        self
    }

    pub fn spec(&self) -> VfkitSpec {
        spec_for(&self.config, &self.home)
    }

    fn rest(&self) -> VfkitClient {
        VfkitClient::new(self.config.run_dir.join("vfkit.sock"))
    }

    fn prepare(&self, spec: &VfkitSpec) -> Result<(), VmError> {
        let c = &self.config;
        for dir in [&c.run_dir, &c.data_dir, &c.logs_dir] {
            std::fs::create_dir_all(dir).map_err(VmError::io(dir))?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&c.run_dir, std::fs::Permissions::from_mode(0o700))
                .map_err(VmError::io(&c.run_dir))?;
        }
        for sock in [c.run_dir.join("link.sock"), c.run_dir.join("vfkit.sock")] {
            match std::fs::remove_file(&sock) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(VmError::io(&sock)(e))
                }
                _ => {}
            }
        }
        let grown = ensure_raw_disk(&c.data_dir.join(DATA_DISK), c.disk_gib)?;
        debug!(grown, "data disk ready");
        let Bootloader::Linux { initrd, .. } = &spec.bootloader else {
            return Ok(());
        };
        crate::initrd::assemble(&c.image.base_initrd(), &c.agent, initrd)
    }

    async fn wait_for_sockets(&self) -> Result<(), VmError> {
        let link = self.config.run_dir.join("link.sock");
        let rest = self.config.run_dir.join("vfkit.sock");
        let deadline = Instant::now() + SOCKET_DEADLINE;
        let mut rx = self.process.subscribe();
        loop {
            if let VmStatus::Exited { code, signal, .. } = &*rx.borrow_and_update() {
                return Err(VmError::BootFailed {
                    status: format!("code {code:?}, signal {signal:?}"),
                    output: crate::qemu::tail(&self.config.logs_dir.join("vfkit.log"), 2000),
                });
            }
            if link.exists() && rest.exists() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = self.kill().await;
                return Err(VmError::BootTimeout {
                    path: link,
                    seconds: SOCKET_DEADLINE.as_secs(),
                });
            }
            let _ = tokio::time::timeout(Duration::from_millis(20), rx.changed()).await;
        }
    }
}

#[async_trait]
impl Hypervisor for VfkitHypervisor {
    async fn start(&self) -> Result<(), VmError> {
        if self.process.is_running() {
            return Ok(());
        }
        let spec = self.spec();
        self.prepare(&spec)?;
        let cmd = CommandSpec::new(self.program.clone(), spec.to_args())
            .log_to(self.config.logs_dir.join("vfkit.log"));
        let child = self.runner.spawn(&cmd).map_err(|source| VmError::Spawn {
            program: cmd.program.clone(),
            source,
        })?;
        let pid = child.pid();
        info!(
            pid,
            cpus = spec.cpus,
            memory_mib = spec.memory_mib,
            "VM booting"
        );
        self.process.watch(child, "vfkit", || {});
        self.wait_for_sockets().await
    }

    async fn stop(&self, graceful: Duration) -> Result<StopOutcome, VmError> {
        if !self.process.is_running() {
            return Ok(StopOutcome::AlreadyStopped);
        }
        self.process.expect_exit();
        if let Err(err) = self.rest().change_state(StateChange::Stop).await {
            debug!(%err, "vfkit refused a graceful stop");
        }
        let mut rx = self.status();
        if crate::wait_status(&mut rx, graceful, |s| !s.is_running())
            .await
            .is_some()
        {
            return Ok(StopOutcome::Graceful);
        }
        self.kill().await?;
        Ok(StopOutcome::Killed)
    }

    async fn kill(&self) -> Result<(), VmError> {
        if !self.process.is_running() {
            return Ok(());
        }
        self.process.expect_exit();
        if let Err(err) = self.rest().change_state(StateChange::HardStop).await {
            debug!(%err, "vfkit refused a hard stop; ending the process");
        }
        self.process.kill(KILL_DEADLINE).await;
        Ok(())
    }

    async fn pause(&self) -> Result<(), VmError> {
        self.rest()
            .change_state(StateChange::Pause)
            .await
            .map_err(|err| VmError::VfkitRest {
                detail: format!("pause: {err}"),
            })
    }

    async fn resume(&self) -> Result<(), VmError> {
        self.rest()
            .change_state(StateChange::Resume)
            .await
            .map_err(|err| VmError::VfkitRest {
                detail: format!("resume: {err}"),
            })
    }

    fn expect_exit(&self) {
        self.process.expect_exit();
    }

    fn status(&self) -> watch::Receiver<VmStatus> {
        self.process.subscribe()
    }

    fn link_endpoint(&self) -> LinkEndpoint {
        LinkEndpoint::UnixSocket(self.config.run_dir.join("link.sock"))
    }

    fn describe(&self) -> String {
        "vfkit".into()
    }

    /// The unix socket vfkit listens on leads to the guest's vsock port.
    fn link_kind(&self) -> crate::LinkKind {
        crate::LinkKind::Vsock
    }

    fn host_tools(&self) -> Vec<HostTool> {
        vec![HostTool::new(
            self.program.clone(),
            "install vfkit (`brew install vfkit`), or name it with BERTH_VFKIT",
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::{ExitInfo, RecordingRunner, FAKE_PID};
    use crate::GuestImage;

    fn config(root: &Path) -> VmConfig {
        let img = root.join("img");
        std::fs::create_dir_all(&img).unwrap();
        for name in ["vmlinuz", KERNEL, "rootfs.erofs", "initrd-base.cpio.gz"] {
            std::fs::write(img.join(name), b"x").unwrap();
        }
        std::fs::write(
            img.join("image.json"),
            r#"{"arch":"aarch64","kernel_cmdline":"console=ttyS0 quiet"}"#,
        )
        .unwrap();
        std::fs::write(root.join("agent"), b"agent").unwrap();
        VmConfig {
            cpus: 4,
            memory_mib: 4096,
            disk_gib: 1,
            image: GuestImage::load(&img).unwrap(),
            agent: root.join("agent"),
            run_dir: root.join("run"),
            data_dir: root.join("data"),
            logs_dir: root.join("logs"),
            shares: Vec::new(),
            backend: crate::VmBackend::Auto,
            link: crate::VmLink::Auto,
        }
    }

    /// Plays vfkit's part: creates the sockets its command line names.
    fn fake_vfkit(cmd: &CommandSpec) {
        let spec = VfkitSpec::from_args(&cmd.args).unwrap();
        std::fs::write(spec.link_socket().unwrap(), b"").unwrap();
        if let Some(RestfulUri::Unix(path)) = &spec.restful_uri {
            std::fs::write(path, b"").unwrap();
        }
    }

    #[test]
    fn the_spec_follows_the_settings_and_shares_home_at_the_same_path() {
        let root = tempfile::tempdir().unwrap();
        let config = config(root.path());
        let spec = spec_for(&config, Path::new("/Users/ada"));
        assert_eq!((spec.cpus, spec.memory_mib), (4, 4096));
        let Bootloader::Linux {
            kernel, cmdline, ..
        } = &spec.bootloader
        else {
            panic!("linux bootloader");
        };
        assert!(kernel.ends_with("Image"), "uncompressed arm64 kernel");
        assert_eq!(
            cmdline,
            "console=hvc0 quiet berth.link=vsock:1024 berth.home=/Users/ada"
        );
        assert!(spec.devices.contains(&Device::VirtioFs {
            shared_dir: "/Users/ada".into(),
            mount_tag: HOME_TAG.into()
        }));
        assert_eq!(spec.link_socket(), Some(&config.run_dir.join("link.sock")));
        // What vfkit is given parses back to the same spec.
        assert_eq!(VfkitSpec::from_args(&spec.to_args()).unwrap(), spec);
    }

    #[test]
    fn the_raw_disk_is_sparse_and_only_grows() {
        let dir = tempfile::tempdir().unwrap();
        let disk = dir.path().join(DATA_DISK);
        assert!(ensure_raw_disk(&disk, 2).unwrap());
        assert_eq!(std::fs::metadata(&disk).unwrap().len(), 2 * GIB);
        assert!(!ensure_raw_disk(&disk, 1).unwrap(), "never shrinks");
        assert!(ensure_raw_disk(&disk, 3).unwrap());
        assert_eq!(std::fs::metadata(&disk).unwrap().len(), 3 * GIB);
    }

    #[tokio::test]
    async fn start_spawns_vfkit_and_a_crash_is_published() {
        let root = tempfile::tempdir().unwrap();
        let runner = RecordingRunner::new();
        runner.on_spawn(fake_vfkit);
        let hv = VfkitHypervisor::new(
            config(root.path()),
            "/Users/ada".into(),
            Arc::new(runner.clone()),
        );
        hv.start().await.unwrap();
        assert_eq!(*hv.status().borrow(), VmStatus::Running { pid: FAKE_PID });
        let cmds = runner.commands();
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].program, "vfkit");
        assert_eq!(VfkitSpec::from_args(&cmds[0].args).unwrap(), hv.spec());
        hv.start().await.unwrap();
        assert_eq!(runner.commands().len(), 1, "start is idempotent");

        let mut rx = hv.status();
        runner.exit_children(ExitInfo {
            code: None,
            signal: Some(9),
        });
        let status = crate::wait_status(&mut rx, Duration::from_secs(2), |s| !s.is_running()).await;
        assert_eq!(
            status,
            Some(VmStatus::Exited {
                code: None,
                signal: Some(9),
                requested: false
            })
        );
    }

    #[tokio::test]
    async fn stop_without_an_answer_ends_the_process() {
        let root = tempfile::tempdir().unwrap();
        let runner = RecordingRunner::new();
        runner.on_spawn(fake_vfkit);
        let hv = VfkitHypervisor::new(config(root.path()), "/Users/ada".into(), Arc::new(runner));
        assert_eq!(
            hv.stop(Duration::from_millis(10)).await.unwrap(),
            StopOutcome::AlreadyStopped
        );
        hv.start().await.unwrap();
        assert_eq!(
            hv.stop(Duration::from_millis(100)).await.unwrap(),
            StopOutcome::Killed
        );
        assert!(matches!(
            *hv.status().borrow(),
            VmStatus::Exited {
                requested: true,
                ..
            }
        ));
    }
}
