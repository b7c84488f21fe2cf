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
use crate::share::{self, ShareMethod};
use crate::{HostTool, Hypervisor, LinkEndpoint, StopOutcome, VmConfig, VmError, VmStatus};

/// The vsock port the guest agent listens on for the link.
pub use crate::LINK_VSOCK_PORT;
/// Raw, sparse: Virtualization.framework reads no qcow2.
pub const DATA_DISK: &str = "data.raw";
/// vfkit's `virtio-serial` is a virtio console: the guest's `hvc0`, on either architecture.
pub const CONSOLE: &str = "hvc0";
const GIB: u64 = 1 << 30;
const SOCKET_DEADLINE: Duration = Duration::from_secs(15);
const KILL_DEADLINE: Duration = Duration::from_secs(5);

/// The image's kernel command line for vfkit: every `console=` becomes one `console=hvc0` (the
/// image names the serial port of its arch, `ttyS0` or `ttyAMA0`, which vfkit has not).
pub fn vfkit_cmdline(image_cmdline: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut console = false;
    for arg in image_cmdline.split_whitespace() {
        if arg.starts_with("console=") {
            if !console {
                out.push(format!("console={CONSOLE}"));
                console = true;
            }
        } else {
            out.push(arg.to_owned());
        }
    }
    if !console {
        out.insert(0, format!("console={CONSOLE}"));
    }
    out.join(" ")
}

/// The shares vfkit can be given: vfkit splits a `--device` value at every comma (no quoting),
/// so a folder whose path has one cannot be named; it is left out with a warning.
fn shareable(shares: &[PathBuf]) -> Vec<&PathBuf> {
    shares
        .iter()
        .filter(|p| {
            let ok = !p.to_string_lossy().contains(',');
            if !ok {
                tracing::warn!(path = %p.display(), "vfkit cannot share a folder whose path has a comma");
            }
            ok
        })
        .collect()
}

/// The VM Berth boots under vfkit for `config`, `now_secs` being the host's clock (the guest
/// sets its own from it when behind: Virtualization.framework's arm64 VM has no RTC). Pure.
pub fn spec_for(config: &VmConfig, now_secs: u64) -> VfkitSpec {
    let run = &config.run_dir;
    let shares = shareable(&config.shares);
    let mut cmdline = format!(
        "{} berth.link=vsock:{LINK_VSOCK_PORT} berth.time={now_secs}",
        vfkit_cmdline(&config.image.kernel_cmdline)
    );
    for (i, path) in shares.iter().enumerate() {
        cmdline.push(' ');
        cmdline.push_str(&share::cmdline_arg(
            ShareMethod::Virtiofs,
            &share::tag(i),
            path,
        ));
    }
    let mut devices = vec![
        Device::VirtioBlk {
            path: config.image.rootfs(),
            device_id: Some(crate::qemu::spec::ROOT_SERIAL.into()),
            readonly: true,
        },
        Device::VirtioBlk {
            path: config.data_dir.join(DATA_DISK),
            device_id: Some(crate::qemu::spec::DATA_SERIAL.into()),
            readonly: false,
        },
        // The host connects to this socket; vfkit carries it to the agent's vsock port.
        Device::VirtioVsock {
            port: LINK_VSOCK_PORT,
            socket_url: run.join("link.sock"),
            mode: VsockMode::Connect,
        },
    ];
    for (i, path) in shares.iter().enumerate() {
        devices.push(Device::VirtioFs {
            shared_dir: path.to_path_buf(),
            mount_tag: share::tag(i),
        });
    }
    devices.extend([
        Device::VirtioRng,
        Device::VirtioBalloon,
        Device::VirtioSerial {
            log_file_path: config.logs_dir.join(crate::qemu::CONSOLE_LOG),
        },
        Device::VirtioNet { mac: None },
    ]);
    VfkitSpec {
        cpus: config.cpus,
        memory_mib: config.memory_mib,
        bootloader: Bootloader::Linux {
            kernel: config.image.kernel(),
            initrd: run.join("initrd.img"),
            cmdline,
        },
        devices,
        restful_uri: Some(RestfulUri::Unix(run.join("vfkit.sock"))),
    }
}

/// vfkit on Apple silicon boots only an uncompressed arm64 `Image` (the "ARM\x64" magic at
/// 0x38, which vfkit checks); `vm-image/build.sh` ships the aarch64 kernel in that form.
pub fn check_kernel(image: &crate::GuestImage) -> Result<(), VmError> {
    if crate::qemu::Arch::from_name(&image.arch) != Some(crate::qemu::Arch::Aarch64) {
        return Ok(());
    }
    let path = image.kernel();
    let mut head = [0u8; 64];
    let n = std::fs::File::open(&path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .map_err(VmError::io(&path))?;
    if head.get(0x38..0x3c.min(n)) == Some(b"ARMd".as_slice()) {
        return Ok(());
    }
    Err(VmError::CompressedKernel { path })
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
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
    runner: Arc<dyn ProcessRunner>,
    program: String,
    process: ProcessWatch,
}

impl VfkitHypervisor {
    pub fn new(config: VmConfig, runner: Arc<dyn ProcessRunner>) -> Self {
        VfkitHypervisor {
            config,
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
        spec_for(&self.config, now_secs())
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
        check_kernel(&c.image)?;
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

    /// An image as `vm-image/build.sh` writes it for `arch`: one kernel, `vmlinuz`, in the form
    /// that arch ships (a raw arm64 `Image` on aarch64), and that arch's console.
    fn image(root: &Path, arch: &str) -> GuestImage {
        let img = root.join(format!("img-{arch}"));
        std::fs::create_dir_all(&img).unwrap();
        let mut kernel = vec![0u8; 4096];
        let console = if arch == "aarch64" {
            kernel[0x38..0x3c].copy_from_slice(b"ARMd");
            "ttyAMA0"
        } else {
            kernel[0x202..0x206].copy_from_slice(b"HdrS");
            "ttyS0"
        };
        std::fs::write(img.join("vmlinuz"), &kernel).unwrap();
        for name in ["rootfs.erofs", "initrd-base.cpio.gz"] {
            std::fs::write(img.join(name), b"x").unwrap();
        }
        std::fs::write(
            img.join("image.json"),
            format!(r#"{{"arch":"{arch}","kernel_cmdline":"console={console} quiet panic=-1"}}"#),
        )
        .unwrap();
        GuestImage::load(&img).unwrap()
    }

    fn config(root: &Path, arch: &str, shares: Vec<PathBuf>) -> VmConfig {
        std::fs::write(root.join("agent"), b"agent").unwrap();
        VmConfig {
            cpus: 4,
            memory_mib: 4096,
            disk_gib: 1,
            image: image(root, arch),
            agent: root.join("agent"),
            run_dir: root.join("run"),
            data_dir: root.join("data"),
            logs_dir: root.join("logs"),
            shares,
            backend: crate::VmBackend::Vfkit,
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
    fn the_spec_boots_the_images_kernel_on_hvc0_with_the_shared_folders() {
        let root = tempfile::tempdir().unwrap();
        let shares = vec![
            PathBuf::from("/Users/ada"),
            PathBuf::from("/Volumes/work dir"),
        ];
        for arch in ["aarch64", "x86_64"] {
            let config = config(root.path(), arch, shares.clone());
            let spec = spec_for(&config, 1_765_000_000);
            assert_eq!((spec.cpus, spec.memory_mib), (4, 4096));
            let Bootloader::Linux {
                kernel, cmdline, ..
            } = &spec.bootloader
            else {
                panic!("linux bootloader");
            };
            assert_eq!(kernel, &config.image.kernel(), "{arch}: the one kernel");
            check_kernel(&config.image).unwrap();
            assert_eq!(
                cmdline,
                "console=hvc0 quiet panic=-1 berth.link=vsock:1024 berth.time=1765000000 \
                 berth.share=virtiofs:berth0:/Users/ada berth.share=virtiofs:berth1:/Volumes/work%20dir",
                "{arch}"
            );
            for (i, path) in shares.iter().enumerate() {
                assert!(spec.devices.contains(&Device::VirtioFs {
                    shared_dir: path.clone(),
                    mount_tag: share::tag(i),
                }));
            }
            assert!(spec.devices.contains(&Device::VirtioBlk {
                path: config.image.rootfs(),
                device_id: Some("berth-root".into()),
                readonly: true,
            }));
            assert_eq!(spec.link_socket(), Some(&config.run_dir.join("link.sock")));
            // What vfkit is given parses back to the same spec.
            assert_eq!(VfkitSpec::from_args(&spec.to_args()).unwrap(), spec);
        }
    }

    #[test]
    fn consoles_and_unshareable_folders() {
        assert_eq!(vfkit_cmdline("console=ttyS0 quiet"), "console=hvc0 quiet");
        assert_eq!(
            vfkit_cmdline("quiet console=ttyAMA0,115200 console=tty0"),
            "quiet console=hvc0"
        );
        assert_eq!(vfkit_cmdline("quiet"), "console=hvc0 quiet");
        let root = tempfile::tempdir().unwrap();
        let config = config(
            root.path(),
            "x86_64",
            vec![PathBuf::from("/Users/a,b"), PathBuf::from("/Users/c")],
        );
        let spec = spec_for(&config, 0);
        let Bootloader::Linux { cmdline, .. } = &spec.bootloader else {
            panic!("linux bootloader");
        };
        // vfkit splits a device at every comma: that folder cannot be named to it.
        assert!(
            cmdline.ends_with(" berth.share=virtiofs:berth0:/Users/c"),
            "{cmdline}"
        );
        assert!(!spec.to_args().iter().any(|a| a.contains("/Users/a,b")));
    }

    #[test]
    fn a_compressed_arm64_kernel_is_refused_before_vfkit_runs() {
        let root = tempfile::tempdir().unwrap();
        let config = config(root.path(), "aarch64", Vec::new());
        std::fs::write(config.image.kernel(), b"\x1f\x8b gzip").unwrap();
        let err = check_kernel(&config.image).unwrap_err();
        assert!(matches!(err, VmError::CompressedKernel { .. }), "{err}");
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
            config(root.path(), "aarch64", Vec::new()),
            Arc::new(runner.clone()),
        );
        hv.start().await.unwrap();
        assert_eq!(*hv.status().borrow(), VmStatus::Running { pid: FAKE_PID });
        let cmds = runner.commands();
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].program, "vfkit");
        // The devices are the spec's (the command line carries the clock, which moved on).
        assert_eq!(
            VfkitSpec::from_args(&cmds[0].args).unwrap().devices,
            hv.spec().devices
        );
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
        let hv = VfkitHypervisor::new(config(root.path(), "x86_64", Vec::new()), Arc::new(runner));
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
