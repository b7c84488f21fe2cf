//! Tier 3: the engine's core checks under every configuration this machine can run, one fresh
//! `BERTH_HOME` each: QEMU with the virtio-serial link, QEMU with the vsock link
//! (vhost-user-vsock-pci served by vhost-device-vsock), and the vfkit backend driving
//! `berth-vfkit-standin` (vfkit's command line and REST API over QEMU, `BERTH_VFKIT`), and the WSL
//! backend driving `berth-wsl-standin` (wsl.exe's verbs over the guest root imported as a distro
//! and run in its own namespaces, `BERTH_WSL_EXE`). In each: `docker run` through the `berth`
//! context, a published port on localhost, a file from the home folder in a bind mount, and a
//! volume that survives a stop and a start; a VM's guest got its address by DHCP (under the
//! vfkit stand-in, on vmnet's 192.168.64.0/24). Prints boot-to-ready for each, side by side.
//!
//! Needs what vm_engine.rs needs, plus vhost-device-vsock (`scripts/setup.sh` installs it;
//! `BERTH_VHOST_DEVICE_VSOCK` names another) and virtiofsd (the home folder's share). The
//! stand-ins are built here unless `BERTH_VFKIT` / `BERTH_WSL_EXE` name them.
// The VM tier boots the Linux QEMU backend.
#![cfg(target_os = "linux")]

mod vm_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use berth_testkit::{free_port, http_get, wait_until};
use vm_support::{import_busybox, run, Env};

/// One way to run the engine: a name for the figures and the settings that choose it.
struct Config {
    name: &'static str,
    settings: &'static [(&'static str, &'static str)],
    /// What `berth status --json` reports for it.
    hypervisor_prefix: &'static str,
    link: &'static str,
    /// The stand-in the backend drives, if any.
    standin: Option<Standin>,
    /// How the guest's DHCP lease line on the console starts its address (`None`: no VM of
    /// Berth's own, WSL's network is WSL's).
    dhcp_address: Option<&'static str>,
}

#[derive(Clone, Copy)]
enum Standin {
    /// `berth-vfkit-standin` as `BERTH_VFKIT`.
    Vfkit,
    /// `berth-wsl-standin` as `BERTH_WSL_EXE`.
    Wsl,
}

impl Standin {
    fn package(self) -> &'static str {
        match self {
            Standin::Vfkit => "berth-vfkit-standin",
            Standin::Wsl => "berth-wsl-standin",
        }
    }

    fn var(self) -> &'static str {
        match self {
            Standin::Vfkit => "BERTH_VFKIT",
            Standin::Wsl => "BERTH_WSL_EXE",
        }
    }
}

const CONFIGS: &[Config] = &[
    Config {
        name: "qemu serial",
        settings: &[("vm.backend", "qemu"), ("vm.link", "serial")],
        hypervisor_prefix: "qemu",
        link: "serial",
        standin: None,
        dhcp_address: Some("10.0.2."),
    },
    Config {
        name: "qemu vsock",
        settings: &[("vm.backend", "qemu"), ("vm.link", "vsock")],
        hypervisor_prefix: "qemu",
        link: "vsock",
        standin: None,
        dhcp_address: Some("10.0.2."),
    },
    Config {
        name: "vfkit stand-in",
        settings: &[("vm.backend", "vfkit")],
        hypervisor_prefix: "vfkit",
        link: "vsock",
        standin: Some(Standin::Vfkit),
        dhcp_address: Some("192.168.64."),
    },
    Config {
        name: "wsl stand-in",
        settings: &[("vm.backend", "wsl")],
        hypervisor_prefix: "wsl2",
        link: "stdio",
        standin: Some(Standin::Wsl),
        dhcp_address: None,
    },
];

/// A stand-in: named by its variable, else built here (`cargo build -p <package>`).
fn standin_program(standin: Standin) -> PathBuf {
    if let Some(path) = std::env::var_os(standin.var()).filter(|v| !v.is_empty()) {
        return PathBuf::from(path);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let package = standin.package();
    run(
        Command::new(cargo)
            .current_dir(&root)
            .args(["build", "-p", package]),
        "cargo build (a stand-in)",
    );
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let program = target.join("debug").join(package);
    assert!(program.is_file(), "no stand-in at {}", program.display());
    program
}

/// The stand-in a configuration runs, with its own state: the WSL stand-in's distributions
/// (ended with `--shutdown` when dropped, whatever happened to the test).
struct StandinRun {
    standin: Standin,
    program: PathBuf,
    state: tempfile::TempDir,
}

impl StandinRun {
    fn new(standin: Standin) -> Self {
        StandinRun {
            standin,
            program: standin_program(standin),
            state: tempfile::Builder::new()
                .prefix("berth-standin-state-")
                .tempdir()
                .unwrap(),
        }
    }

    /// `wsl.exe --list --verbose` (in UTF-8, `WSL_UTF8=1`) under the WSL stand-in.
    fn wsl_list(&self) -> Option<String> {
        let Standin::Wsl = self.standin else {
            return None;
        };
        let out = Command::new(&self.program)
            .args(["--list", "--verbose"])
            .env("BERTH_WSL_STANDIN_STATE", self.state.path())
            .env("WSL_UTF8", "1")
            .output()
            .unwrap();
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn env(&self, cmd: &mut Command) {
        cmd.env(self.standin.var(), &self.program)
            .env("BERTH_WSL_STANDIN_STATE", self.state.path());
    }
}

impl Drop for StandinRun {
    fn drop(&mut self) {
        if let Standin::Wsl = self.standin {
            let _ = Command::new(&self.program)
                .arg("--shutdown")
                .env("BERTH_WSL_STANDIN_STATE", self.state.path())
                .status();
        }
    }
}

const IMAGE: &str = "berth-link-test/busybox:1";

/// What one configuration measured.
struct Figures {
    first_start: Duration,
    /// The daemon's marks of the first start: the agent answering, the engine answering.
    first_link_up_ms: u64,
    first_ready_ms: u64,
    second_start: Duration,
}

impl Env {
    /// `berth start` with `home` as the user's home folder (the default share) and the
    /// backend driving `standin`, if given.
    fn start_with_home(&self, home: &Path, standin: Option<&StandinRun>) -> Duration {
        let mut cmd = self.berth(&["start"]);
        cmd.env("HOME", home);
        if let Some(standin) = standin {
            standin.env(&mut cmd);
        }
        self.booted(cmd, "berth start").1
    }

    /// The daemon's `(linkUpMs, engineReadyMs)` of the last start.
    fn start_marks(&self) -> (u64, u64) {
        let status = self.status();
        let boot = &status["daemon"]["boot"];
        let mark = |key: &str| {
            boot[key]
                .as_u64()
                .unwrap_or_else(|| panic!("no daemon.boot.{key} in {status}"))
        };
        (mark("linkUpMs"), mark("engineReadyMs"))
    }
}

#[test]
fn vm_core_checks_under_each_link() {
    let mut figures = Vec::new();
    for config in CONFIGS {
        figures.push((config.name, core_checks(config)));
    }
    eprintln!("boot to ready, one run (berth start; the daemon's engine-ready mark):");
    for (name, f) in &figures {
        eprintln!(
            "  {name:<14} first start {:>6.1} s (agent at {:>6.1} s, engine at {:>6.1} s), start after stop {:>6.1} s",
            f.first_start.as_secs_f64(),
            f.first_link_up_ms as f64 / 1000.0,
            f.first_ready_ms as f64 / 1000.0,
            f.second_start.as_secs_f64(),
        );
    }
}

fn core_checks(config: &Config) -> Figures {
    let name = config.name;
    let env = Env::new("berth-vm-link-");
    // The user's home folder lives outside BERTH_HOME: the daemon's own files are not shared.
    let home = tempfile::Builder::new()
        .prefix("berth-link-home-")
        .tempdir()
        .unwrap();
    let project = home.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("file"), format!("hello from {name}\n")).unwrap();
    for (key, value) in config.settings {
        run(
            &mut env.berth(&["settings", "set", key, value]),
            "berth settings set",
        );
    }

    // --- start, and the status says how -------------------------------------------------
    let standin = config.standin.map(StandinRun::new);
    let first_start = env.start_with_home(home.path(), standin.as_ref());
    let (first_link_up_ms, first_ready_ms) = env.start_marks();
    eprintln!("{name}: first boot (blank data disk) to engine ready: {first_start:?}");
    let human = run(&mut env.berth(&["status"]), "berth status");
    let phases = human.lines().find(|l| l.contains("Last start"));
    eprintln!("{name}: {}", phases.unwrap_or("(no Last start row)").trim());
    let vm = env.status()["daemon"]["vm"].clone();
    let hypervisor = vm["hypervisor"].as_str().unwrap_or_default();
    assert!(
        hypervisor.starts_with(config.hypervisor_prefix),
        "{name}: {vm}"
    );
    assert_eq!(vm["link"], config.link, "{name}: {vm}");
    // The address came by DHCP: the guest configures none any other way, and says so.
    if let Some(dhcp_address) = config.dhcp_address {
        let console = env.log("vm-console.log");
        let lease = console.lines().find(|l| l.contains(" by DHCP from "));
        let lease =
            lease.unwrap_or_else(|| panic!("{name}: no DHCP lease on the console:\n{console}"));
        assert!(
            lease.contains(&format!(" {dhcp_address}")),
            "{name}: {lease}"
        );
        eprintln!("{name}: {}", lease.trim());
    }
    if config.link == "vsock" {
        // The agent in the guest said where it listens (its log is on the console).
        let console = env.log("vm-console.log");
        assert!(
            console.contains("listening on vsock"),
            "{name}: the agent is not on vsock:\n{console}"
        );
    }

    // --- docker run through the context ---------------------------------------------------
    let work = env.home.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    import_busybox(&env, &work, IMAGE);
    let out = run(
        &mut env.docker(&["run", "--rm", IMAGE, "echo", "hello-link"]),
        "docker run --rm",
    );
    assert_eq!(out.trim(), "hello-link", "{name}");

    // --- a published port answers on localhost --------------------------------------------
    let port = free_port();
    let web = vm_support::run_web(&env, IMAGE, port, "hello-port");
    let body = wait_until(Duration::from_secs(60), "the published port", || {
        http_get(port, "/", Duration::from_secs(10))
            .ok()
            .filter(|b| String::from_utf8_lossy(b).contains("hello-port"))
    })
    .unwrap();
    assert!(body.starts_with(b"HTTP/1."), "{name}");
    run(&mut env.docker(&["rm", "-f", web.trim()]), "docker rm -f");

    // --- a file from the home folder, through a bind mount of its host path ---------------
    let bind = format!("{}:/src", project.display());
    let out = run(
        &mut env.docker(&["run", "--rm", "-v", &bind, IMAGE, "cat", "/src/file"]),
        "docker run -v (home folder)",
    );
    assert_eq!(out, format!("hello from {name}\n"));

    // --- a volume survives stop and start ---------------------------------------------------
    run(
        &mut env.docker(&["volume", "create", "keep"]),
        "volume create",
    );
    run(
        &mut env.docker(&[
            "run",
            "--rm",
            "-v",
            "keep:/data",
            IMAGE,
            "sh",
            "-c",
            "echo kept > /data/f",
        ]),
        "write to the volume",
    );
    run(&mut env.berth(&["stop"]), "berth stop");
    assert_eq!(env.state(), "stopped", "{name}");
    if let Some(listed) = standin.as_ref().and_then(StandinRun::wsl_list) {
        // The distro itself was terminated, not only the agent's wsl.exe.
        assert!(
            listed
                .lines()
                .any(|l| l.contains("berth") && l.contains("Stopped")),
            "{name}: {listed}"
        );
    }
    let second_start = env.start_with_home(home.path(), standin.as_ref());
    eprintln!("{name}: second boot to engine ready: {second_start:?}");
    let out = run(
        &mut env.docker(&["run", "--rm", "-v", "keep:/data", IMAGE, "cat", "/data/f"]),
        "read the volume after stop/start",
    );
    assert_eq!(out.trim(), "kept", "{name}");
    run(&mut env.berth(&["stop", "--quit"]), "berth stop --quit");
    Figures {
        first_start,
        first_link_up_ms,
        first_ready_ms,
        second_start,
    }
}
