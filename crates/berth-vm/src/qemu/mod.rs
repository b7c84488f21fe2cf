//! The QEMU backend (Linux): assembles the initrd, makes sure the data disk exists, spawns QEMU
//! through the [`ProcessRunner`] seam and supervises it, publishing every status change at once.

pub mod accel;
pub mod qmp;
pub mod spec;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::process::{CommandSpec, ProcessRunner};
use crate::process_watch::ProcessWatch;
use crate::share::{self, ShareMethod};
use crate::{
    data_disk, initrd, HostTool, Hypervisor, LinkEndpoint, StopOutcome, VmConfig, VmError, VmStatus,
};
pub use spec::{Accel, Arch, NinePShare, QemuSpec, VirtiofsShare};

/// How long QEMU gets to create its sockets.
const SOCKET_DEADLINE: Duration = Duration::from_secs(15);
/// After a QMP `quit` or SIGKILL, how long until we call the process gone anyway.
const KILL_DEADLINE: Duration = Duration::from_secs(5);

pub use berth_control::endpoint::CONSOLE_LOG;
pub const QEMU_LOG: &str = "qemu.log";
const PID_FILE: &str = "qemu.pid";

/// Picks the sharing method: `virtiofs` or `9p`; unset, see [`choose_share_method`].
pub const SHARE_METHOD_VAR: &str = "BERTH_SHARE_METHOD";
/// The virtiofsd program (default: [`find_virtiofsd`]).
pub const VIRTIOFSD_VAR: &str = "BERTH_VIRTIOFSD";
/// Where distributions install the Rust virtiofsd outside the PATH (Debian 13, Fedora). The
/// C virtiofsd in Debian 12's `/usr/lib/qemu` is not used: it cannot map ids to the owner.
const VIRTIOFSD_LIBEXEC: &str = "/usr/libexec/virtiofsd";

/// The sharing method: the one `explicit` names, else virtio-fs when a virtiofsd was found,
/// else 9p (QEMU alone). Measured here under TCG (scripts/bench-share.sh, two runs), virtio-fs
/// untarred 5,000 small files 2.8-3.8x faster than 9p (the everyday case: sources, packages,
/// git); sequential throughput swung with the machine's load (virtio-fs 0.6-1.7x 9p's write,
/// 0.45-0.7x its read).
pub fn choose_share_method(explicit: Option<&str>, virtiofsd: Option<&Path>) -> ShareMethod {
    if let Some(method) = explicit.and_then(ShareMethod::from_name) {
        return method;
    }
    match virtiofsd {
        Some(_) => ShareMethod::Virtiofs,
        None => ShareMethod::NineP,
    }
}

/// virtiofsd: `BERTH_VIRTIOFSD`, else on the PATH, else in `/usr/libexec`.
pub fn find_virtiofsd() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(VIRTIOFSD_VAR).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(path));
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join("virtiofsd"))
        .chain([PathBuf::from(VIRTIOFSD_LIBEXEC)])
        .find(|p| p.is_file())
}

pub struct QemuHypervisor {
    config: VmConfig,
    accel: Accel,
    runner: Arc<dyn ProcessRunner>,
    process: ProcessWatch,
    qemu_img: String,
    share_method: ShareMethod,
    virtiofsd: String,
    /// One per virtio-fs share, while the VM runs.
    virtiofsd_procs: std::sync::Mutex<Vec<ProcessWatch>>,
}

impl QemuHypervisor {
    pub fn new(config: VmConfig, accel: Accel, runner: Arc<dyn ProcessRunner>) -> Self {
        let virtiofsd = find_virtiofsd();
        let share_method = choose_share_method(
            std::env::var(SHARE_METHOD_VAR).ok().as_deref(),
            virtiofsd.as_deref(),
        );
        QemuHypervisor {
            config,
            accel,
            runner,
            process: ProcessWatch::new(),
            qemu_img: "qemu-img".into(),
            share_method,
            virtiofsd: virtiofsd.map_or_else(|| "virtiofsd".into(), |p| path_string(&p)),
            virtiofsd_procs: std::sync::Mutex::new(Vec::new()),
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
        let mut cmdline = c.image.kernel_cmdline.clone();
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
            link_socket: self.link_socket(),
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

    /// Starts one virtiofsd per virtio-fs share and waits until each listens.
    async fn start_virtiofsd(&self, spec: &QemuSpec) -> Result<(), VmError> {
        // Those of the last boot (after a crash) exit once QEMU has gone; end them now.
        self.stop_virtiofsd().await;
        let owner = share::serve_as(&self.config.shares);
        for (vfs, dir) in spec.virtiofs.iter().zip(&self.config.shares) {
            remove_if_exists(&vfs.socket)?;
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
            let cmd = CommandSpec::new(self.virtiofsd.clone(), args).log_to(&log);
            let child = self.runner.spawn(&cmd).map_err(|source| VmError::Spawn {
                program: cmd.program.clone(),
                source,
            })?;
            let watch = ProcessWatch::new();
            watch.watch(child, "virtiofsd", || {});
            let mut rx = watch.subscribe();
            lock(&self.virtiofsd_procs).push(watch);
            let deadline = Instant::now() + SOCKET_DEADLINE;
            while !vfs.socket.exists() {
                if !rx.borrow_and_update().is_running() {
                    return Err(VmError::CommandFailed {
                        program: self.virtiofsd.clone(),
                        status: "exited at start".into(),
                        stderr: tail(&log, 2000),
                    });
                }
                if Instant::now() >= deadline {
                    return Err(VmError::BootTimeout {
                        path: vfs.socket.clone(),
                        seconds: SOCKET_DEADLINE.as_secs(),
                    });
                }
                let _ = tokio::time::timeout(Duration::from_millis(20), rx.changed()).await;
            }
        }
        Ok(())
    }

    /// Ends every virtiofsd (each also exits by itself once QEMU has gone).
    async fn stop_virtiofsd(&self) {
        let procs = std::mem::take(&mut *lock(&self.virtiofsd_procs));
        for watch in procs {
            watch.kill(KILL_DEADLINE).await;
        }
    }

    async fn prepare(&self, spec: &QemuSpec) -> Result<(), VmError> {
        let c = &self.config;
        create_dir(&c.run_dir, Some(0o700))?;
        create_dir(&c.data_dir, None)?;
        create_dir(&c.logs_dir, None)?;
        self.reap_stale().await;
        for sock in [&spec.link_socket, &spec.qmp_socket] {
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

    /// A QEMU left behind by a daemon that died still holds the data disk: end it.
    async fn reap_stale(&self) {
        let pid_file = self.config.run_dir.join(PID_FILE);
        let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
        else {
            return;
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let ours =
            String::from_utf8_lossy(&cmdline).contains(&*self.link_socket().to_string_lossy());
        if ours {
            warn!(pid, "ending a QEMU left over from an earlier daemon");
            let kill = CommandSpec::new("kill", ["-9", &pid.to_string()]);
            let _ = self.runner.output(&kill).await;
            let deadline = Instant::now() + KILL_DEADLINE;
            while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let _ = std::fs::remove_file(pid_file);
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
            if spec.link_socket.exists() && spec.qmp_socket.exists() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = self.kill().await;
                return Err(VmError::BootTimeout {
                    path: spec.link_socket.clone(),
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
        if let Err(err) = self.start_virtiofsd(&spec).await {
            self.stop_virtiofsd().await;
            return Err(err);
        }
        let log = self.config.logs_dir.join(QEMU_LOG);
        let cmd = CommandSpec::new(spec.program(), spec.to_args()).log_to(&log);
        let child = match self.runner.spawn(&cmd) {
            Ok(child) => child,
            Err(source) => {
                self.stop_virtiofsd().await;
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
            self.stop_virtiofsd().await;
        }
        waited
    }

    async fn stop(&self, graceful: Duration) -> Result<StopOutcome, VmError> {
        if !self.process.is_running() {
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
            self.stop_virtiofsd().await;
            return Ok(StopOutcome::Graceful);
        }
        self.kill().await?;
        Ok(StopOutcome::Killed)
    }

    async fn kill(&self) -> Result<(), VmError> {
        self.process.kill(KILL_DEADLINE).await;
        self.stop_virtiofsd().await;
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
        // virtiofsd exits by itself once QEMU has gone: not a crash either.
        for watch in lock(&self.virtiofsd_procs).iter() {
            watch.expect_exit();
        }
    }

    fn status(&self) -> watch::Receiver<VmStatus> {
        self.process.subscribe()
    }

    fn link_endpoint(&self) -> LinkEndpoint {
        LinkEndpoint::UnixSocket(self.link_socket())
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

fn remove_if_exists(path: &Path) -> Result<(), VmError> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(VmError::io(path)(err)),
        _ => Ok(()),
    }
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
        }
    }

    /// Plays QEMU's part: creates the sockets named on its command line (and virtiofsd's).
    fn fake_qemu(cmd: &CommandSpec) {
        if cmd.program == "virtiofsd" {
            let sock = cmd.args[0].strip_prefix("--socket-path=").unwrap();
            std::fs::write(sock, b"").unwrap();
            return;
        }
        if let Some(spec) = QemuSpec::from_args(&cmd.program, &cmd.args) {
            std::fs::write(spec.link_socket, b"").unwrap();
            std::fs::write(spec.qmp_socket, b"").unwrap();
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

    #[test]
    fn virtiofs_is_chosen_when_virtiofsd_is_there_unless_told_otherwise() {
        let found = Some(Path::new("/usr/bin/virtiofsd"));
        assert_eq!(choose_share_method(None, found), ShareMethod::Virtiofs);
        assert_eq!(choose_share_method(None, None), ShareMethod::NineP);
        assert_eq!(choose_share_method(Some("9p"), found), ShareMethod::NineP);
        assert_eq!(
            choose_share_method(Some("virtiofs"), None),
            ShareMethod::Virtiofs
        );
        assert_eq!(choose_share_method(Some("nfs"), None), ShareMethod::NineP);
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
        assert!(lock(&hv.virtiofsd_procs).is_empty());
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
