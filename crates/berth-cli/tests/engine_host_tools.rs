//! `berth start` checks the host programs its VM backend runs before it starts anything: a
//! missing one is an error naming it and its package (in the CLI and in the daemon's state,
//! which the dashboard and the tray show), never a raw `os error 2` half-way through a start.
//! The real CLI and daemon, with a PATH that holds a stand-in QEMU and, at first, no qemu-img.
#![cfg(target_os = "linux")]

use std::os::unix::fs::PermissionsExt;

use berth_testkit::file_mode as mode;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A BERTH_HOME whose daemon is ended (by `berth stop --quit`, then by pid) when dropped.
struct Home {
    dir: tempfile::TempDir,
    path_var: PathBuf,
}

impl Home {
    fn berth(&self, args: &[&str]) -> Output {
        let image = self.dir.path().join("image");
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(args)
            .env("BERTH_HOME", self.dir.path().join("berth"))
            .env("BERTH_VM_IMAGE_DIR", &image)
            .env("BERTH_AGENT_BIN", image.join("berth-agent"))
            .env("PATH", &self.path_var)
            .env("BERTH_SHARE_METHOD", "9p")
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .output()
            .expect("run berth")
    }

    fn berth_dir(&self, name: &str) -> PathBuf {
        self.dir.path().join("berth").join(name)
    }

    fn daemon_state(&self) -> serde_json::Value {
        let out = self.berth(&["status", "--json"]);
        let status: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("berth status --json prints JSON");
        status["daemon"]["state"].clone()
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let pid = std::fs::read_to_string(self.berth_dir("run").join("daemon.lock"));
        let _ = self.berth(&["stop", "--quit"]);
        if let Some(pid) = pid.ok().and_then(|p| p.trim().parse::<u32>().ok()) {
            if Path::new(&format!("/proc/{pid}")).exists() {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
    }
}

fn executable(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_missing_host_tool_is_named_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    let image = dir.path().join("image");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&image).unwrap();
    // A guest image and agent the start never gets to use.
    for name in [
        "vmlinuz",
        "initrd-base.cpio.gz",
        "rootfs.erofs",
        "berth-agent",
    ] {
        std::fs::write(image.join(name), b"x").unwrap();
    }
    std::fs::write(
        image.join("image.json"),
        r#"{"arch":"x86_64","kernel_cmdline":"console=ttyS0","hash":"t","sizes":{}}"#,
    )
    .unwrap();
    // The stand-in QEMU says it ran and exits: the boot fails, visibly, if it is reached.
    let ran = dir.path().join("qemu-ran");
    executable(
        &bin.join("qemu-system-x86_64"),
        &format!(
            "#!/bin/sh\necho ran >> '{}'\necho 'stand-in QEMU: no guest here' >&2\nexit 1\n",
            ran.display()
        ),
    );
    // Only the stand-in is on the PATH: the real qemu-img in /usr/bin is out of reach.
    let home = Home {
        dir,
        path_var: bin.clone(),
    };

    let out = home.berth(&["start"]);
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("qemu-img not found: install the qemu-utils package"),
        "{said}"
    );
    assert!(!said.contains("os error"), "no raw OS error: {said}");
    assert!(!ran.exists(), "QEMU was started: {said}");
    assert!(
        !home.berth_dir("data").join("vm/data.qcow2").exists(),
        "a data disk was made before the check"
    );
    // The daemon's state, which the dashboard and the tray show, carries the same words.
    let state = home.daemon_state();
    assert_eq!(state["state"], "error", "{state}");
    assert_eq!(state["code"], "missing_tool", "{state}");
    assert_eq!(
        state["message"],
        "qemu-img not found: install the qemu-utils package"
    );

    // qemu-img is back (what scripts/setup.sh does): the start gets past the check, makes a
    // private data disk, and fails only where the stand-in QEMU does.
    let real = Command::new("sh")
        .args(["-c", "command -v qemu-img"])
        .output()
        .unwrap();
    let real = String::from_utf8_lossy(&real.stdout).trim().to_owned();
    assert!(!real.is_empty(), "qemu-img is installed (scripts/setup.sh)");
    std::os::unix::fs::symlink(&real, bin.join("qemu-img")).unwrap();
    let out = home.berth(&["start"]);
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    // The boot fails where the stand-in exits (how the daemon words it depends on which it
    // notices first, the exit or the missing sockets): no longer at the check.
    assert!(!said.contains("not found"), "{said}");
    assert!(ran.exists(), "QEMU ran once the tools were there: {said}");
    assert_eq!(home.daemon_state()["code"], "vm_failed");
    assert_eq!(mode(&home.berth_dir("data").join("vm/data.qcow2")), 0o600);
    for name in ["config", "data", "run", "logs"] {
        assert_eq!(mode(&home.berth_dir(name)), 0o700, "{name}");
    }
    for log in [
        "qemu.log",
        "vm-console.log",
        "daemon.log",
        "daemon-output.log",
    ] {
        assert_eq!(mode(&home.berth_dir("logs").join(log)), 0o600, "{log}");
    }
}
