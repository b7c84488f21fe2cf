//! Tier 3: settings that apply, and factory reset, on the real guest under QEMU (TCG here).
//! One test function in phases (each boot costs 30-60 s under TCG on two loaded cores):
//! a small VM (1 CPU, 1024 MiB, 8 GiB disk); invalid values refused naming the field; then
//! 2 CPUs, 1536 MiB and a 10 GiB disk and a restart: `docker info` and `df` on a volume show
//! them, the volume's data survived; shrinking refused; a hung VM (QEMU stopped with SIGSTOP)
//! is noticed by the health pings and, with `app.auto_restart_engine`, booted again;
//! `berth reset --yes` leaves no data disk, no settings and no context, and the next start is
//! a first start.
//!
//! Needs: the guest image (`vm-image/build.sh`, cached, or `BERTH_VM_IMAGE_DIR`),
//! qemu-system-x86_64, qemu-img, the docker CLI, busybox-static. A missing one fails the test.
// The VM tier boots the Linux QEMU backend.
#![cfg(target_os = "linux")]

mod vm_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use berth_testkit::wait_until;
use vm_support::{import_busybox, run, Env, BOOT_DEADLINE};

/// A hung guest is declared failed within 3 x (3 s + 10 s) of health pings; slack for load.
const HEALTH_DEADLINE: Duration = Duration::from_secs(90);
const GIB_IN_KIB: u64 = 1 << 20;
const MIB: u64 = 1 << 20;

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

impl Env {
    fn set(&self, key: &str, value: &str) -> String {
        run(
            &mut self.berth(&["settings", "set", key, value]),
            &format!("berth settings set {key} {value}"),
        )
    }

    /// A refused `settings set`: its message, which must name the key.
    fn refused(&self, key: &str, value: &str) -> String {
        let out = self
            .berth(&["settings", "set", key, value])
            .output()
            .expect("berth settings set");
        let (stdout, stderr) = text(&out);
        assert!(
            !out.status.success(),
            "{key}={value} was accepted: {stdout}"
        );
        assert!(stderr.contains(key), "the refusal names {key}: {stderr}");
        stderr
    }

    fn boot(&self, verb: &str) -> Duration {
        self.booted(self.berth(&[verb]), &format!("berth {verb}")).1
    }

    fn info(&self) -> serde_json::Value {
        let out = run(
            &mut self.docker(&["info", "--format", "{{json .}}"]),
            "docker info",
        );
        serde_json::from_str(&out).expect("docker info is JSON")
    }

    /// Size in KiB of the file system under a volume, as `df` in a container sees it.
    fn volume_fs_kib(&self, image: &str) -> u64 {
        let out = run(
            &mut self.docker(&[
                "run",
                "--rm",
                "-v",
                "data:/data",
                image,
                "df",
                "-k",
                "/data",
            ]),
            "df in a container",
        );
        out.lines()
            .nth(1)
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected df output: {out}"))
    }

    fn data_disk(&self) -> PathBuf {
        self.home.path().join("data/vm/data.qcow2")
    }

    fn settings_file(&self) -> PathBuf {
        self.home.path().join("config/settings.toml")
    }

    fn context_meta_dir(&self) -> PathBuf {
        self.docker_config().join("contexts/meta")
    }
}

#[test]
fn vm_settings_apply_and_factory_reset() {
    let env = Env::new("berth-vmset-");
    let work = env.home.path().join("work");
    std::fs::create_dir_all(&work).unwrap();

    // --- a small VM; invalid values are refused naming the field ------------------------
    env.set("vm.cpus", "1");
    env.set("vm.memory_mib", "1024");
    env.set("vm.disk_gib", "8");
    env.refused("vm.cpus", "0");
    env.refused("vm.memory_mib", "lots");
    env.refused("vm.disk_gib", "100000");
    env.refused("ports.bind_address", "localhost:80");
    let took = env.boot("start");
    eprintln!("boot with 1 CPU / 1024 MiB / 8 GiB: {took:?}");
    assert!(env.data_disk().is_file());
    let image = "berth-vmset/busybox:1";
    import_busybox(&env, &work, image);
    let info = env.info();
    assert_eq!(info["NCPU"], 1, "NCPU with vm.cpus = 1");
    let mem_small = info["MemTotal"].as_u64().expect("MemTotal");
    assert!(mem_small < 1024 * MIB, "MemTotal {mem_small}");
    let fs_small = env.volume_fs_kib(image);
    assert!(
        fs_small < 8 * GIB_IN_KIB && fs_small > 7 * GIB_IN_KIB,
        "8 GiB disk: {fs_small} KiB"
    );
    run(
        &mut env.docker(&[
            "run",
            "--rm",
            "-v",
            "data:/data",
            image,
            "sh",
            "-c",
            "echo kept > /data/f",
        ]),
        "write to the volume",
    );

    // --- bigger: saved, a restart is asked for; shrinking is refused ----------------------
    let said = env.set("vm.cpus", "2");
    assert!(said.contains("berth restart"), "{said}");
    env.set("vm.memory_mib", "1536");
    env.set("vm.disk_gib", "10");
    let refusal = env.refused("vm.disk_gib", "9");
    assert!(refusal.contains("only grow"), "{refusal}");
    let took = env.boot("restart");
    eprintln!("restart with 2 CPUs / 1536 MiB / 10 GiB: {took:?}");
    let info = env.info();
    assert_eq!(info["NCPU"], 2, "NCPU with vm.cpus = 2");
    let mem_big = info["MemTotal"].as_u64().expect("MemTotal");
    assert!(
        mem_big > mem_small + 400 * MIB,
        "MemTotal {mem_small} -> {mem_big}"
    );
    let fs_big = env.volume_fs_kib(image);
    assert!(
        fs_big > fs_small + 3 * GIB_IN_KIB / 2,
        "the file system grew with the disk: {fs_small} -> {fs_big} KiB"
    );
    let kept = run(
        &mut env.docker(&["run", "--rm", "-v", "data:/data", image, "cat", "/data/f"]),
        "read the volume",
    );
    assert_eq!(kept.trim(), "kept", "the volume's data survived the grow");
    eprintln!(
        "MemTotal {} -> {} MiB; volume fs {} -> {} MiB",
        mem_small / MIB,
        mem_big / MIB,
        fs_small / 1024,
        fs_big / 1024
    );

    // --- a hung VM is noticed and, with auto-restart on, started again ---------------------
    env.set("app.auto_restart_engine", "true");
    let hung = env.qemu_pid().expect("a running VM");
    run(
        Command::new("kill").args(["-STOP", &hung.to_string()]),
        "kill -STOP qemu",
    );
    let noticed = Instant::now();
    wait_until(HEALTH_DEADLINE, "the hung VM to be noticed", || {
        (env.state() != "running").then_some(())
    })
    .unwrap();
    eprintln!("hung VM noticed after {:?}", noticed.elapsed());
    let log = std::fs::read_to_string(env.home.path().join("logs/daemon.log")).unwrap();
    assert!(log.contains("did not answer a ping"), "daemon log:\n{log}");
    wait_until(BOOT_DEADLINE, "the automatic restart", || {
        (env.state() == "running").then_some(())
    })
    .unwrap();
    let restarted = env.qemu_pid().expect("a new VM");
    assert_ne!(restarted, hung, "a new VM was booted");
    assert!(
        !Path::new(&format!("/proc/{hung}")).exists(),
        "the hung QEMU was killed"
    );
    eprintln!("back to running {:?} after the hang", noticed.elapsed());
    let kept = run(
        &mut env.docker(&["run", "--rm", "-v", "data:/data", image, "cat", "/data/f"]),
        "read the volume after the automatic restart",
    );
    assert_eq!(kept.trim(), "kept");

    // --- factory reset ------------------------------------------------------------------
    let out = env.berth(&["reset"]).output().unwrap();
    assert!(!out.status.success(), "reset needs --yes");
    assert!(env.data_disk().is_file() && env.settings_file().is_file());
    let qemu = env.qemu_pid().expect("a running VM");
    run(&mut env.berth(&["reset", "--yes"]), "berth reset --yes");
    assert!(
        !Path::new(&format!("/proc/{qemu}")).exists(),
        "QEMU is gone"
    );
    assert!(!env.data_disk().exists(), "no data disk after a reset");
    assert!(!env.settings_file().exists(), "no settings after a reset");
    assert!(env.daemon_pid().is_none(), "no daemon after a reset");
    let contexts = std::fs::read_dir(env.context_meta_dir())
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(contexts, 0, "the berth context is gone");

    // --- the next start is a first start -------------------------------------------------
    env.boot("start");
    let info = env.info();
    assert_eq!(info["NCPU"], 2, "the default is 2 CPUs");
    assert_eq!(info["Images"], 0, "a blank engine");
    let volumes = run(&mut env.docker(&["volume", "ls", "-q"]), "volume ls");
    assert!(volumes.trim().is_empty(), "no volumes: {volumes}");
}
