//! The VM tier's harness, shared by every `tests/vm_*.rs`: the guest image and agent (built or
//! reused), a fresh `BERTH_HOME` per test that drives the real `berth` binary and the stock
//! docker CLI through the `berth` context, and ends the daemon and QEMU by PID when dropped.
//! A test adds its own `impl Env` block for what only it needs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The longest a `berth start` may take on a loaded machine under TCG.
pub const BOOT_DEADLINE: Duration = Duration::from_secs(400);

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Stdout of a command that must have succeeded; stdout and stderr in the panic otherwise.
pub fn check(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    check(out, what)
}

/// Builds (or reuses, by its input hash) the guest image, with the root as a tarball for the
/// WSL backend too; `BERTH_VM_IMAGE_DIR` names a ready one instead.
pub fn guest_image() -> PathBuf {
    if let Some(dir) = std::env::var_os("BERTH_VM_IMAGE_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let out = workspace_root().join("vm-image/out/x86_64");
    let build = workspace_root().join("vm-image/build.sh");
    run(
        Command::new("bash")
            .arg(&build)
            .arg("--wsl-tar")
            .arg("--out")
            .arg(&out),
        "vm-image/build.sh",
    );
    out
}

/// The guest agent, built in release mode, unless `BERTH_AGENT_BIN` names one.
pub fn guest_agent() -> PathBuf {
    if let Some(agent) = std::env::var_os("BERTH_AGENT_BIN").filter(|v| !v.is_empty()) {
        return PathBuf::from(agent);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(
        Command::new(cargo).current_dir(workspace_root()).args([
            "build",
            "--release",
            "-p",
            "berth-agent",
        ]),
        "cargo build --release -p berth-agent",
    );
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let agent = target.join("release/berth-agent");
    assert!(agent.is_file(), "no agent at {}", agent.display());
    agent
}

/// A fresh BERTH_HOME; ends the daemon and the VM (by pid) when dropped.
pub struct Env {
    pub home: tempfile::TempDir,
    pub image_dir: PathBuf,
    pub agent: PathBuf,
}

impl Env {
    /// A home named `<prefix>…`, with the guest image and agent built or reused.
    pub fn new(prefix: &str) -> Env {
        Env {
            home: tempfile::Builder::new().prefix(prefix).tempdir().unwrap(),
            image_dir: guest_image(),
            agent: guest_agent(),
        }
    }

    pub fn berth(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.args(args)
            .env("BERTH_HOME", self.home.path())
            .env("DOCKER_CONFIG", self.docker_config())
            .env("BERTH_VM_IMAGE_DIR", &self.image_dir)
            .env("BERTH_AGENT_BIN", &self.agent)
            .env("BERTH_KEYRING", "keyutils")
            // The daemon (started by `berth start`) logs why the engine does or does not pause.
            .env("BERTH_LOG", "info,berth_daemon::idle=debug")
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT");
        cmd
    }

    pub fn docker_config(&self) -> PathBuf {
        self.home.path().join("docker-config")
    }

    pub fn docker(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("docker");
        cmd.arg("--context")
            .arg("berth")
            .args(args)
            .env("DOCKER_CONFIG", self.docker_config())
            .env("DOCKER_CLI_HINTS", "false")
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT");
        cmd
    }

    pub fn run_dir(&self) -> PathBuf {
        self.home.path().join("run")
    }

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.home.path().join("logs").join(name)).unwrap_or_default()
    }

    /// `berth status --json`, or `None` when it printed no JSON.
    pub fn try_status(&self) -> Option<serde_json::Value> {
        let out = self.berth(&["status", "--json"]).output().ok()?;
        serde_json::from_slice(&out.stdout).ok()
    }

    pub fn status(&self) -> serde_json::Value {
        self.try_status().expect("berth status --json prints JSON")
    }

    /// The daemon's engine state, or `none` without a daemon.
    pub fn state(&self) -> String {
        self.try_status()
            .and_then(|s| s["daemon"]["state"]["state"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "none".to_owned())
    }

    pub fn qemu_pid(&self) -> Option<u32> {
        self.try_status()?["daemon"]["vm"]["pid"]
            .as_u64()
            .map(|p| p as u32)
    }

    pub fn daemon_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.run_dir().join("daemon.lock"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Runs a starting command (`berth start`, `restart`, ...) that must succeed within
    /// [`BOOT_DEADLINE`]; on failure the panic carries the console, daemon and QEMU logs.
    /// Returns its stdout and how long it took.
    pub fn booted(&self, mut cmd: Command, what: &str) -> (String, Duration) {
        let began = Instant::now();
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
        let took = began.elapsed();
        if !out.status.success() {
            panic!(
                "{what} failed: {}\nconsole:\n{}\ndaemon:\n{}\nqemu:\n{}",
                String::from_utf8_lossy(&out.stderr),
                self.log("vm-console.log"),
                self.log("daemon.log"),
                self.log("qemu.log")
            );
        }
        assert!(took < BOOT_DEADLINE, "{what} took {took:?}");
        (String::from_utf8_lossy(&out.stdout).into_owned(), took)
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let qemu = self.qemu_pid();
        let daemon = self.daemon_pid();
        let _ = self.berth(&["stop", "--quit"]).output();
        for pid in [qemu, daemon].into_iter().flatten() {
            if Path::new(&format!("/proc/{pid}")).exists() {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
    }
}

/// `docker run -d -p PORT:80` of busybox's httpd serving `body` at `/`; the container's id.
pub fn run_web(env: &Env, image: &str, port: u16, body: &str) -> String {
    let serve =
        format!("mkdir -p /www && echo {body} > /www/index.html && exec httpd -f -p 80 -h /www");
    let id = run(
        &mut env.docker(&[
            "run",
            "-d",
            "-p",
            &format!("{port}:80"),
            image,
            "sh",
            "-c",
            &serve,
        ]),
        "docker run -p (httpd)",
    );
    id.trim().to_owned()
}

/// `dir/<name>-root`: Debian's busybox-static as `/bin/busybox` with every applet linked, and
/// an empty `/tmp`. Callers add their own files before [`tar_dir`].
pub fn busybox_root(dir: &Path, name: &str) -> PathBuf {
    let root = dir.join(format!("{name}-root"));
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy("/bin/busybox", bin.join("busybox")).expect("busybox-static is installed");
    let list = run(Command::new("/bin/busybox").arg("--list"), "busybox --list");
    for applet in list
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty() && *a != "busybox")
    {
        let _ = std::os::unix::fs::symlink("busybox", bin.join(applet));
    }
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    root
}

/// `root`'s contents as the tar `tar` (for `docker import`).
pub fn tar_dir(root: &Path, tar: &Path) {
    run(
        Command::new("tar")
            .arg("-C")
            .arg(root)
            .arg("-cf")
            .arg(tar)
            .arg("."),
        "tar",
    );
}

/// [`busybox_root`] imported into the engine as `image` (`PATH=/bin`).
pub fn import_busybox(env: &Env, dir: &Path, image: &str) {
    let root = busybox_root(dir, "busybox");
    let tar = dir.join("busybox.tar");
    tar_dir(&root, &tar);
    import_tar(env, &tar, image);
}

/// A root filesystem `tar` imported into the engine as `image`, with `PATH=/bin` (which
/// `docker import` does not set).
pub fn import_tar(env: &Env, tar: &Path, image: &str) {
    run(
        &mut env.docker(&[
            "import",
            "--change",
            "ENV PATH=/bin",
            tar.to_str().unwrap(),
            image,
        ]),
        "docker import",
    );
}
