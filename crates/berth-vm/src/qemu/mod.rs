//! The QEMU backend (Linux): assembles the initrd, makes sure the data disk exists, spawns QEMU
//! (and its vhost-user backends, [`vhost_user`]) through the [`ProcessRunner`] seam and
//! supervises it, publishing every status change at once. The link is a virtio-serial port or a
//! vsock (`vm.link`).

pub mod accel;
pub mod qmp;
pub mod spec;
pub mod vhost_user;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::watch;
use tracing::{debug, info};

use berth_core::settings::{LinkKind, VmBackend};

use crate::process::{CommandSpec, ProcessRunner};
use crate::process_watch::ProcessWatch;
use crate::share::{self, ShareMethod};
use crate::{
    data_disk, initrd, HostTool, Hypervisor, LinkEndpoint, StopOutcome, VmConfig, VmError, VmStatus,
};
pub use spec::{Accel, Arch, LinkDevice, NinePShare, QemuSpec, VirtiofsShare};
pub use vhost_user::{choose_share_method, find_virtiofsd, SHARE_METHOD_VAR, VIRTIOFSD_VAR};
use vhost_user::{remove_if_exists, Backend};

/// How long QEMU gets to create its sockets.
const SOCKET_DEADLINE: Duration = Duration::from_secs(15);
/// After a QMP `quit` or SIGKILL, how long until we call the process gone anyway.
const KILL_DEADLINE: Duration = Duration::from_secs(5);

pub use berth_control::endpoint::CONSOLE_LOG;
pub const QEMU_LOG: &str = "qemu.log";
const PID_FILE: &str = "qemu.pid";
/// vhost-device-vsock's pid: it outlives QEMU (it waits for the next one), so a daemon that
/// died leaves it behind.
const VSOCK_PID_FILE: &str = "vsock.pid";

pub struct QemuHypervisor {
    config: VmConfig,
    accel: Accel,
    runner: Arc<dyn ProcessRunner>,
    process: ProcessWatch,
    qemu_img: String,
    share_method: ShareMethod,
    virtiofsd: String,
    vhost_device_vsock: String,
    link: LinkKind,
    /// The vhost-user backends (a virtiofsd per virtio-fs share, a vhost-device-vsock for a
    /// vsock link), while the VM runs.
    backends: std::sync::Mutex<Vec<ProcessWatch>>,
}

impl QemuHypervisor {
    pub fn new(config: VmConfig, accel: Accel, runner: Arc<dyn ProcessRunner>) -> Self {
        let virtiofsd = find_virtiofsd();
        let share_method = choose_share_method(
            std::env::var(SHARE_METHOD_VAR).ok().as_deref(),
            virtiofsd.as_deref(),
        );
        QemuHypervisor {
            link: config.link.resolve(VmBackend::Qemu),
            config,
            accel,
            runner,
            process: ProcessWatch::new(),
            qemu_img: "qemu-img".into(),
            share_method,
            virtiofsd: virtiofsd.map_or_else(|| "virtiofsd".into(), |p| path_string(&p)),
            vhost_device_vsock: vhost_user::vhost_device_vsock(),
            backends: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Shares folders over `method` instead of the one `BERTH_SHARE_METHOD` picked.
    pub fn with_share_method(mut self, method: ShareMethod) -> Self {
        self.share_method = method;
        self
    }

    pub fn link_socket(&self) -> PathBuf {
        self.config.run_dir.join("link.sock")
    }

    /// The vhost-user socket of the vsock device (vhost-device-vsock listens, QEMU connects).
    pub fn vsock_socket(&self) -> PathBuf {
        self.config.run_dir.join("vsock.sock")
    }

    /// Where the host reaches the guest's vsock ports (hybrid vsock).
    pub fn vsock_uds(&self) -> PathBuf {
        self.config.run_dir.join("vsock.uds")
    }

    fn link_device(&self) -> LinkDevice {
        match self.link {
            LinkKind::Vsock => LinkDevice::Vsock {
                vhost_socket: self.vsock_socket(),
            },
            LinkKind::Serial | LinkKind::Stdio => LinkDevice::Serial {
                socket: self.link_socket(),
            },
        }
    }

    pub fn qmp_socket(&self) -> PathBuf {
        self.config.run_dir.join("qmp.sock")
    }

    pub fn console_log(&self) -> PathBuf {
        self.config.logs_dir.join(CONSOLE_LOG)
    }

    /// The spec this hypervisor boots (pure: no file is touched).
    pub fn spec(&self) -> QemuSpec {
        let c = &self.config;
        let method = self.share_method;
        let link = self.link_device();
        let mut cmdline = format!("{} {}", c.image.kernel_cmdline, link.cmdline_arg());
        for (i, path) in c.shares.iter().enumerate() {
            cmdline.push(' ');
            cmdline.push_str(&share::cmdline_arg(method, &share::tag(i), path));
        }
        let (shares, virtiofs) = match method {
            ShareMethod::NineP => (
                c.shares
                    .iter()
                    .enumerate()
                    .map(|(i, path)| NinePShare {
                        tag: share::tag(i),
                        path: path.clone(),
                    })
                    .collect(),
                Vec::new(),
            ),
            ShareMethod::Virtiofs => (
                Vec::new(),
                (0..c.shares.len())
                    .map(|i| VirtiofsShare {
                        tag: share::tag(i),
                        socket: self.virtiofs_socket(i),
                    })
                    .collect(),
            ),
        };
        QemuSpec {
            arch: Arch::from_name(&c.image.arch).unwrap_or(Arch::X86_64),
            accel: self.accel,
            cpus: c.cpus,
            memory_mib: c.memory_mib,
            kernel: c.image.kernel(),
            initrd: c.run_dir.join("initrd.img"),
            cmdline,
            rootfs: c.image.rootfs(),
            data_disk: c.data_dir.join(data_disk::FILE_NAME),
            link,
            qmp_socket: self.qmp_socket(),
            console_log: self.console_log(),
            // virtiofsd, not QEMU, touches the files with virtio-fs (and maps ids itself).
            run_as: match method {
                ShareMethod::NineP => share::serve_as(&c.shares),
                ShareMethod::Virtiofs => None,
            },
            shares,
            virtiofs,
        }
    }

    fn virtiofs_socket(&self, index: usize) -> PathBuf {
        self.config
            .run_dir
            .join(format!("vfs-{}.sock", share::tag(index)))
    }

    /// Starts the vhost-user backends QEMU will connect to (one virtiofsd per virtio-fs share,
    /// vhost-device-vsock for a vsock link) and waits until each listens.
    async fn start_backends(&self, spec: &QemuSpec) -> Result<(), VmError> {
        // Those of the last boot (after a crash) may still run; end them now.
        vhost_user::stop_all(&self.backends).await;
        let runner = self.runner.as_ref();
        let owner = share::serve_as(&self.config.shares);
        for (vfs, dir) in spec.virtiofs.iter().zip(&self.config.shares) {
            // virtiofsd locks `<socket>.pid`; one still shutting down would make the new one
            // fail ("Error creating pid file"): a fresh file has no lock on it.
            let mut pid_file = vfs.socket.clone().into_os_string();
            pid_file.push(".pid");
            remove_if_exists(Path::new(&pid_file))?;
            let log = self
                .config
                .logs_dir
                .join(format!("virtiofsd-{}.log", vfs.tag));
            let args = spec::virtiofsd_args(&vfs.socket, dir, owner);
            let backend = Backend {
                what: "virtiofsd",
                cmd: CommandSpec::new(self.virtiofsd.clone(), args).log_to(&log),
                socket: vfs.socket.clone(),
            };
            vhost_user::start(runner, backend, &self.backends).await?;
        }
        if let LinkDevice::Vsock { vhost_socket } = &spec.link {
            let pid_file = self.config.run_dir.join(VSOCK_PID_FILE);
            vhost_user::reap_stale(runner, &pid_file, vhost_socket).await;
            remove_if_exists(&self.vsock_uds())?;
            let args = spec::vhost_device_vsock_args(vhost_socket, &self.vsock_uds());
            let log = self.config.logs_dir.join("vhost-device-vsock.log");
            let backend = Backend {
                what: "vhost-device-vsock",
                cmd: CommandSpec::new(self.vhost_device_vsock.clone(), args).log_to(&log),
                socket: vhost_socket.clone(),
            };
            let pid = vhost_user::start(runner, backend, &self.backends).await?;
            std::fs::write(&pid_file, format!("{pid}\n")).map_err(VmError::io(&pid_file))?;
        }
        Ok(())
    }

    async fn prepare(&self, spec: &QemuSpec) -> Result<(), VmError> {
        let c = &self.config;
        create_dir(&c.run_dir, Some(0o700))?;
        create_dir(&c.data_dir, None)?;
        create_dir(&c.logs_dir, None)?;
        // A QEMU left behind by a daemon that died still holds the data disk: end it.
        let pid_file = c.run_dir.join(PID_FILE);
        vhost_user::reap_stale(self.runner.as_ref(), &pid_file, &spec.qmp_socket).await;
        for sock in spec
            .link_socket()
            .into_iter()
            .chain([spec.qmp_socket.as_path()])
        {
            remove_if_exists(sock)?;
        }
        let action = data_disk::ensure(
            self.runner.as_ref(),
            &self.qemu_img,
            &spec.data_disk,
            c.disk_gib,
        )
        .await?;
        debug!(?action, disk = ?spec.data_disk, "data disk ready");
        initrd::assemble(&c.image.base_initrd(), &c.agent, &spec.initrd)?;
        let old = spec.console_log.with_extension("log.1");
        if spec.console_log.exists() {
            std::fs::rename(&spec.console_log, &old).map_err(VmError::io(&old))?;
        }
        // QEMU keeps the mode of a file that exists: the console log is born private.
        berth_core::owner_only::create(&spec.console_log)
            .map_err(VmError::io(&spec.console_log))?;
        Ok(())
    }

    /// Waits until QEMU's sockets exist (it is then running the guest), or it died.
    async fn wait_for_sockets(&self, spec: &QemuSpec) -> Result<(), VmError> {
        let mut rx = self.process.subscribe();
        let deadline = Instant::now() + SOCKET_DEADLINE;
        loop {
            if let VmStatus::Exited { code, signal, .. } = &*rx.borrow_and_update() {
                let output = tail(&self.config.logs_dir.join(QEMU_LOG), 2000);
                return Err(VmError::BootFailed {
                    status: format!("code {code:?}, signal {signal:?}"),
                    output,
                });
            }
            let missing = spec
                .link_socket()
                .into_iter()
                .chain([spec.qmp_socket.as_path()])
                .find(|sock| !sock.exists());
            let Some(missing) = missing else {
                return Ok(());
            };
            if Instant::now() >= deadline {
                let _ = self.kill().await;
                return Err(VmError::BootTimeout {
                    path: missing.to_path_buf(),
                    seconds: SOCKET_DEADLINE.as_secs(),
                });
            }
            let _ = tokio::time::timeout(Duration::from_millis(20), rx.changed()).await;
        }
    }
}

#[async_trait]
impl Hypervisor for QemuHypervisor {
    async fn start(&self) -> Result<(), VmError> {
        if self.process.is_running() {
            return Ok(());
        }
        let spec = self.spec();
        self.prepare(&spec).await?;
        if let Err(err) = self.start_backends(&spec).await {
            vhost_user::stop_all(&self.backends).await;
            return Err(err);
        }
        let log = self.config.logs_dir.join(QEMU_LOG);
        let cmd = CommandSpec::new(spec.program(), spec.to_args()).log_to(&log);
        let child = match self.runner.spawn(&cmd) {
            Ok(child) => child,
            Err(source) => {
                vhost_user::stop_all(&self.backends).await;
                return Err(VmError::Spawn {
                    program: cmd.program.clone(),
                    source,
                });
            }
        };
        let pid = child.pid();
        let pid_file = self.config.run_dir.join(PID_FILE);
        std::fs::write(&pid_file, format!("{pid}\n")).map_err(VmError::io(&pid_file))?;
        info!(
            pid,
            accel = self.accel.name(),
            cpus = spec.cpus,
            memory_mib = spec.memory_mib,
            "VM booting"
        );
        self.process.watch(child, "QEMU", move || {
            let _ = std::fs::remove_file(pid_file);
        });
        let waited = self.wait_for_sockets(&spec).await;
        if waited.is_err() {
            vhost_user::stop_all(&self.backends).await;
        }
        waited
    }

    async fn stop(&self, graceful: Duration) -> Result<StopOutcome, VmError> {
        if !self.process.is_running() {
            // QEMU went by itself (a crash, a guest power-off): vhost-device-vsock stays for a
            // next QEMU that will not come.
            vhost_user::stop_all(&self.backends).await;
            return Ok(StopOutcome::AlreadyStopped);
        }
        self.expect_exit();
        if let Err(err) = qmp::execute(&self.qmp_socket(), "system_powerdown").await {
            debug!(%err, "ACPI power-down request failed");
        }
        let mut rx = self.status();
        if crate::wait_status(&mut rx, graceful, |s| !s.is_running())
            .await
            .is_some()
        {
            vhost_user::stop_all(&self.backends).await;
            return Ok(StopOutcome::Graceful);
        }
        self.kill().await?;
        Ok(StopOutcome::Killed)
    }

    async fn kill(&self) -> Result<(), VmError> {
        self.process.kill(KILL_DEADLINE).await;
        vhost_user::stop_all(&self.backends).await;
        Ok(())
    }

    async fn pause(&self) -> Result<(), VmError> {
        qmp::execute(&self.qmp_socket(), "stop").await.map(drop)
    }

    async fn resume(&self) -> Result<(), VmError> {
        qmp::execute(&self.qmp_socket(), "cont").await.map(drop)
    }

    fn expect_exit(&self) {
        self.process.expect_exit();
        // Its backends go with it: not a crash either.
        for watch in lock(&self.backends).iter() {
            watch.expect_exit();
        }
    }

    fn status(&self) -> watch::Receiver<VmStatus> {
        self.process.subscribe()
    }

    fn link_endpoint(&self) -> LinkEndpoint {
        match self.link {
            LinkKind::Vsock => LinkEndpoint::HybridVsock {
                socket: self.vsock_uds(),
                port: crate::LINK_VSOCK_PORT,
            },
            LinkKind::Serial | LinkKind::Stdio => LinkEndpoint::UnixSocket(self.link_socket()),
        }
    }

    fn link_kind(&self) -> LinkKind {
        self.link
    }

    fn describe(&self) -> String {
        format!("qemu ({})", self.accel.name())
    }

    fn host_tools(&self) -> Vec<HostTool> {
        let spec = self.spec();
        let system_package = match spec.arch {
            Arch::X86_64 => "qemu-system-x86",
            Arch::Aarch64 => "qemu-system-arm",
        };
        let mut tools = vec![
            HostTool::from_package(spec.program(), system_package),
            HostTool::from_package(self.qemu_img.clone(), "qemu-utils"),
        ];
        if !spec.virtiofs.is_empty() {
            tools.push(HostTool::new(
                self.virtiofsd.clone(),
                format!(
                    "install virtiofsd (the virtiofsd package, or `cargo install virtiofsd`), \
                     or set {SHARE_METHOD_VAR}=9p"
                ),
            ));
        }
        if matches!(spec.link, LinkDevice::Vsock { .. }) {
            tools.push(HostTool::new(
                self.vhost_device_vsock.clone(),
                vhost_user::VHOST_DEVICE_VSOCK_INSTALL,
            ));
        }
        tools
    }
}

fn path_string(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn create_dir(path: &Path, mode: Option<u32>) -> Result<(), VmError> {
    std::fs::create_dir_all(path).map_err(VmError::io(path))?;
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(VmError::io(path))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    Ok(())
}

/// The last `max` bytes of a log file (for error messages).
pub fn tail(path: &Path, max: usize) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let start = bytes.len().saturating_sub(max);
    String::from_utf8_lossy(&bytes[start..]).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits until `program` has been spawned, so a crash aimed at it reaches it.
    async fn spawned(runner: &RecordingRunner, program: &str) {
        let spawned = || {
            let commands = runner.commands();
            std::future::ready(commands.iter().any(|c| c.program.contains(program)))
        };
        let what = format!("{program} to be spawned");
        berth_testkit::wait_until_async(Duration::from_secs(10), &what, spawned)
            .await
            .unwrap();
    }
    use crate::process::{ExitInfo, RecordingRunner, FAKE_PID};
    use crate::GuestImage;

    fn config(root: &Path) -> VmConfig {
        let img = root.join("img");
        std::fs::create_dir_all(&img).unwrap();
        for name in ["vmlinuz", "rootfs.erofs", "initrd-base.cpio.gz"] {
            std::fs::write(img.join(name), b"x").unwrap();
        }
        std::fs::write(img.join("image.json"), r#"{"arch":"x86_64"}"#).unwrap();
        std::fs::write(root.join("agent"), b"agent").unwrap();
        VmConfig {
            cpus: 2,
            memory_mib: 2048,
            disk_gib: 64,
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

    /// Plays QEMU's part: creates the sockets named on its command line (and those of
    /// virtiofsd and vhost-device-vsock).
    fn fake_qemu(cmd: &CommandSpec) {
        let backend_socket = match cmd.program.as_str() {
            "virtiofsd" => cmd.args[0].strip_prefix("--socket-path="),
            "vhost-device-vsock" => cmd.args[1].strip_prefix("--socket="),
            _ => None,
        };
        if let Some(sock) = backend_socket {
            std::fs::write(sock, b"").unwrap();
            return;
        }
        if let Some(spec) = QemuSpec::from_args(&cmd.program, &cmd.args) {
            for sock in spec.link_socket().into_iter().chain([&*spec.qmp_socket]) {
                std::fs::write(sock, b"").unwrap();
            }
        }
    }

    #[tokio::test]
    async fn start_prepares_disk_and_initrd_then_spawns() {
        let root = tempfile::tempdir().unwrap();
        let runner = RecordingRunner::new();
        runner.on_spawn(fake_qemu);
        let hv = QemuHypervisor::new(
            config(root.path()),
            Accel::Tcg { tb_size_mib: 256 },
            Arc::new(runner.clone()),
        );
        hv.start().await.unwrap();
        assert_eq!(*hv.status().borrow(), VmStatus::Running { pid: FAKE_PID });
        let cmds = runner.commands();
        assert_eq!(cmds[0].program, "qemu-img");
        assert_eq!(cmds[0].args[0], "create");
        assert_eq!(cmds[1].program, "qemu-system-x86_64");
        let spec = QemuSpec::from_args(&cmds[1].program, &cmds[1].args).unwrap();
        assert_eq!(spec, hv.spec());
        let initrd = std::fs::read(&spec.initrd).unwrap();
        assert!(initrd.windows(5).any(|w| w == b"agent"));
        assert_eq!(hv.describe(), "qemu (tcg)");
        // The serial link is the default, and the guest is told so.
        assert!(
            spec.cmdline.ends_with(" berth.link=serial"),
            "{}",
            spec.cmdline
        );
        assert_eq!(
            hv.link_endpoint(),
            LinkEndpoint::UnixSocket(hv.link_socket())
        );
        assert_eq!(hv.host_tools().len(), 2, "QEMU and qemu-img only");
        // Idempotent: a second start spawns nothing.
        hv.start().await.unwrap();
        assert_eq!(runner.commands().len(), 2);
    }

    #[test]
    fn shares_reach_the_argv_and_the_kernel_cmdline() {
        let root = tempfile::tempdir().unwrap();
        let mut cfg = config(root.path());
        let home = root.path().join("home dir");
        std::fs::create_dir_all(&home).unwrap();
        cfg.shares = vec![home.clone(), root.path().join("img")];
        let hv = QemuHypervisor::new(cfg, Accel::Kvm, Arc::new(RecordingRunner::new()))
            .with_share_method(ShareMethod::NineP);
        let spec = hv.spec();
        let tags: Vec<(&str, &Path)> = spec
            .shares
            .iter()
            .map(|s| (s.tag.as_str(), s.path.as_path()))
            .collect();
        assert_eq!(
            tags,
            [
                ("berth0", home.as_path()),
                ("berth1", root.path().join("img").as_path())
            ]
        );
        let parsed: Vec<_> = spec
            .cmdline
            .split(' ')
            .filter_map(share::parse_cmdline_arg)
            .collect();
        assert_eq!(
            parsed,
            [
                (ShareMethod::NineP, "berth0".to_string(), home.clone()),
                (
                    ShareMethod::NineP,
                    "berth1".to_string(),
                    root.path().join("img")
                )
            ]
        );
        // The tempdir belongs to whoever runs the test: no uid switch is needed for it.
        assert_eq!(spec.run_as, None);
        assert_eq!(
            QemuSpec::from_args(spec.program(), &spec.to_args()),
            Some(spec)
        );
    }

    #[tokio::test]
    async fn virtiofs_shares_start_virtiofsd_before_qemu() {
        let root = tempfile::tempdir().unwrap();
        let mut cfg = config(root.path());
        let home = root.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        cfg.shares = vec![home.clone()];
        let runner = RecordingRunner::new();
        runner.on_spawn(fake_qemu);
        let mut hv = QemuHypervisor::new(cfg, Accel::Kvm, Arc::new(runner.clone()))
            .with_share_method(ShareMethod::Virtiofs);
        hv.virtiofsd = "virtiofsd".into();
        // A pid file left by the virtiofsd of a crashed boot (maybe still locked) goes.
        let stale_pid = root.path().join("run/vfs-berth0.sock.pid");
        std::fs::create_dir_all(root.path().join("run")).unwrap();
        std::fs::write(&stale_pid, b"123\n").unwrap();
        hv.start().await.unwrap();
        assert!(!stale_pid.exists());
        let cmds = runner.commands();
        let programs: Vec<&str> = cmds.iter().map(|c| c.program.as_str()).collect();
        assert_eq!(programs, ["qemu-img", "virtiofsd", "qemu-system-x86_64"]);
        let socket = root.path().join("run/vfs-berth0.sock");
        assert_eq!(cmds[1].args, spec::virtiofsd_args(&socket, &home, None));
        let spec = QemuSpec::from_args(&cmds[2].program, &cmds[2].args).unwrap();
        assert!(spec.shares.is_empty());
        assert_eq!(
            spec.virtiofs,
            [VirtiofsShare {
                tag: "berth0".into(),
                socket
            }]
        );
        assert!(spec.cmdline.ends_with(&share::cmdline_arg(
            ShareMethod::Virtiofs,
            "berth0",
            &home
        )));
        hv.kill().await.unwrap();
        assert!(lock(&hv.backends).is_empty());
    }

    #[tokio::test]
    async fn a_vsock_link_runs_vhost_device_vsock_before_qemu_and_ends_it_with_the_vm() {
        let root = tempfile::tempdir().unwrap();
        let mut cfg = config(root.path());
        cfg.link = crate::VmLink::Vsock;
        let runner = RecordingRunner::new();
        runner.on_spawn(fake_qemu);
        let mut hv = QemuHypervisor::new(cfg, Accel::Kvm, Arc::new(runner.clone()));
        hv.vhost_device_vsock = "vhost-device-vsock".into();
        hv.start().await.unwrap();
        let cmds = runner.commands();
        let programs: Vec<&str> = cmds.iter().map(|c| c.program.as_str()).collect();
        assert_eq!(
            programs,
            ["qemu-img", "vhost-device-vsock", "qemu-system-x86_64"]
        );
        let run = root.path().join("run");
        assert_eq!(
            cmds[1].args,
            spec::vhost_device_vsock_args(&run.join("vsock.sock"), &run.join("vsock.uds"))
        );
        let spec = QemuSpec::from_args(&cmds[2].program, &cmds[2].args).unwrap();
        assert_eq!(
            spec.link,
            LinkDevice::Vsock {
                vhost_socket: run.join("vsock.sock")
            }
        );
        assert!(
            spec.cmdline.ends_with(" berth.link=vsock:1024"),
            "{}",
            spec.cmdline
        );
        assert_eq!(
            hv.link_endpoint(),
            LinkEndpoint::HybridVsock {
                socket: run.join("vsock.uds"),
                port: 1024
            }
        );
        // Its pid is kept, so a later daemon can end one that a crashed daemon left behind.
        let pid = std::fs::read_to_string(run.join(VSOCK_PID_FILE)).unwrap();
        assert_eq!(pid.trim(), FAKE_PID.to_string());
        assert_eq!(
            hv.host_tools().last().unwrap().program,
            "vhost-device-vsock"
        );
        // QEMU gone by itself: a stop still ends the vsock device, which would wait for
        // another QEMU forever.
        hv.process.kill(KILL_DEADLINE).await;
        assert_eq!(lock(&hv.backends).len(), 1);
        let outcome = hv.stop(Duration::from_millis(10)).await.unwrap();
        assert_eq!(outcome, StopOutcome::AlreadyStopped);
        assert!(lock(&hv.backends).is_empty());
    }

    #[tokio::test]
    async fn a_virtiofsd_that_dies_fails_the_start_without_qemu() {
        let root = tempfile::tempdir().unwrap();
        let mut cfg = config(root.path());
        cfg.shares = vec![root.path().to_path_buf()];
        std::fs::create_dir_all(root.path().join("logs")).unwrap();
        std::fs::write(
            root.path().join("logs/virtiofsd-berth0.log"),
            "virtiofsd: no such directory\n",
        )
        .unwrap();
        let runner = RecordingRunner::new();
        let mut hv = QemuHypervisor::new(cfg, Accel::Kvm, Arc::new(runner.clone()))
            .with_share_method(ShareMethod::Virtiofs);
        hv.virtiofsd = "virtiofsd".into();
        let start = hv.start();
        let crash = async {
            spawned(&runner, "virtiofsd").await;
            runner.exit_children(ExitInfo {
                code: Some(1),
                signal: None,
            });
        };
        let (result, ()) = tokio::join!(start, crash);
        let err = result.unwrap_err();
        assert!(
            matches!(err, VmError::CommandFailed { ref stderr, .. } if stderr.contains("no such directory")),
            "{err}"
        );
        let programs: Vec<String> = runner.commands().into_iter().map(|c| c.program).collect();
        assert_eq!(programs, ["qemu-img", "virtiofsd"]);
    }

    #[tokio::test]
    async fn a_crash_is_published_at_once() {
        let root = tempfile::tempdir().unwrap();
        let runner = RecordingRunner::new();
        runner.on_spawn(fake_qemu);
        let hv = QemuHypervisor::new(config(root.path()), Accel::Kvm, Arc::new(runner.clone()));
        hv.start().await.unwrap();
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
    async fn stop_without_a_guest_answer_kills_after_the_deadline() {
        let root = tempfile::tempdir().unwrap();
        let runner = RecordingRunner::new();
        runner.on_spawn(fake_qemu);
        let hv = QemuHypervisor::new(config(root.path()), Accel::Kvm, Arc::new(runner));
        assert_eq!(
            hv.stop(Duration::from_millis(10)).await.unwrap(),
            StopOutcome::AlreadyStopped
        );
        hv.start().await.unwrap();
        let outcome = hv.stop(Duration::from_millis(200)).await.unwrap();
        assert_eq!(outcome, StopOutcome::Killed);
        assert!(matches!(
            *hv.status().borrow(),
            VmStatus::Exited {
                requested: true,
                ..
            }
        ));
    }

    #[tokio::test]
    async fn qemu_that_dies_at_boot_reports_its_output() {
        let root = tempfile::tempdir().unwrap();
        let runner = RecordingRunner::new();
        let hv = QemuHypervisor::new(config(root.path()), Accel::Kvm, Arc::new(runner.clone()));
        std::fs::create_dir_all(root.path().join("logs")).unwrap();
        std::fs::write(
            root.path().join("logs").join(QEMU_LOG),
            "qemu: could not open disk\n",
        )
        .unwrap();
        let start = hv.start();
        let crash = async {
            spawned(&runner, "qemu-system").await;
            runner.exit_children(ExitInfo {
                code: Some(1),
                signal: None,
            });
        };
        let (result, ()) = tokio::join!(start, crash);
        let err = result.unwrap_err();
        assert!(
            matches!(err, VmError::BootFailed { ref output, .. } if output.contains("could not open disk")),
            "{err}"
        );
    }
}
