//! VM tier: the stand-in boots Berth's real guest image (`vm-image/out/x86_64`, or
//! `BERTH_VM_IMAGE_DIR`) from vfkit's own command line, and its REST state machine drives the
//! real QEMU: Running, Pause (QEMU's vCPUs stop: the console stays silent), a second Pause
//! refused with Virtualization.framework's text, Resume, then Stop, which the guest answers by
//! powering off, and the process ends with status 0 leaving no process behind. The guest's
//! address came by DHCP on vmnet's subnet.
//!
//! Needs qemu-system-x86_64 and a built guest image (`vm-image/build.sh`).
//! `BERTH_VM_IMAGE_DIR=vm-image/out/aarch64` runs it against the arm64 image, the stand-in
//! playing Apple silicon under qemu-system-aarch64 (not in CI: TCG emulates a foreign CPU).
#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use berth_testkit::{wait_until, ChildGuard};
use berth_vm::vfkit::rest::RestError;
use berth_vm::vfkit::{StateChange, VfkitClient, VfkitState};

fn image_dir() -> PathBuf {
    std::env::var_os("BERTH_VM_IMAGE_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../vm-image/out/x86_64"))
}

fn kernel_cmdline(image: &Path) -> String {
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(image.join("image.json")).unwrap()).unwrap();
    let cmdline = manifest["kernel_cmdline"].as_str().unwrap();
    berth_vm::vfkit::backend::vfkit_cmdline(cmdline)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rest_state_machine_drives_a_real_vm() {
    let image = image_dir();
    assert!(
        image.join("image.json").is_file(),
        "no guest image in {} (vm-image/build.sh builds it)",
        image.display()
    );
    let dir = tempfile::Builder::new()
        .prefix("berth-standin-")
        .tempdir()
        .unwrap();
    let data = dir.path().join("data.raw");
    std::fs::File::create(&data)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let console = dir.path().join("console.log");
    let rest = dir.path().join("rest.sock");
    let d = |p: &Path| p.display().to_string();
    let boot = format!(
        "linux,kernel={},initrd={},cmdline=\"{}\"",
        d(&image.join("vmlinuz")),
        d(&image.join("initrd-base.cpio.gz")),
        kernel_cmdline(&image)
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth-vfkit-standin"));
    cmd.args(["--cpus", "1", "--memory", "1024", "--bootloader", &boot])
        .args([
            "--device",
            &format!(
                "virtio-blk,path={},readonly,deviceId=berth-root",
                d(&image.join("rootfs.erofs"))
            ),
        ])
        .args([
            "--device",
            &format!("virtio-blk,path={},deviceId=berth-data", d(&data)),
        ])
        .args([
            "--device",
            &format!("virtio-serial,logFilePath={}", d(&console)),
        ])
        .args(["--device", "virtio-net,nat", "--device", "virtio-rng"])
        .args(["--restful-uri", &format!("unix://{}", d(&rest))])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("standin.log")).unwrap());
    let mut standin = ChildGuard::spawn(&mut cmd).unwrap();
    let log = || std::fs::read_to_string(dir.path().join("standin.log")).unwrap_or_default();
    let read_console = || std::fs::read_to_string(&console).unwrap_or_default();

    let client = VfkitClient::new(&rest);
    let mut state = None;
    for _ in 0..300 {
        if let Ok(s) = client.state().await {
            if s.kind() == VfkitState::Running {
                state = Some(s);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let state = state.unwrap_or_else(|| panic!("never Running:\n{}", log()));
    assert!(state.can_pause && state.can_stop && state.can_hard_stop && !state.can_resume);

    // Pause: the vCPUs stop, so the console does not grow while paused.
    client.change_state(StateChange::Pause).await.unwrap();
    let paused = client.state().await.unwrap();
    assert_eq!(paused.kind(), VfkitState::Paused);
    assert!(paused.can_resume && !paused.can_pause && !paused.can_stop);
    let before = read_console().len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(read_console().len(), before, "the guest ran while paused");
    match client.change_state(StateChange::Pause).await {
        Err(RestError::Status { status, body, .. }) => {
            assert_eq!(status.as_u16(), 500);
            assert!(
                body.contains("Invalid virtual machine state transition."),
                "{body}"
            );
        }
        other => panic!("a second pause: {other:?}"),
    }
    client.change_state(StateChange::Resume).await.unwrap();
    assert_eq!(client.state().await.unwrap().kind(), VfkitState::Running);

    // The guest comes up with its address from DHCP on vmnet's subnet.
    let lease = wait_until(Duration::from_secs(120), "the DHCP lease", || {
        read_console()
            .lines()
            .find(|l| l.contains("by DHCP"))
            .map(str::to_owned)
    })
    .unwrap_or_else(|e| panic!("{e}\n{}\n{}", read_console(), log()));
    assert!(lease.contains(" 192.168.64."), "{lease}");
    wait_until(Duration::from_secs(120), "system ready", || {
        read_console().contains("system ready")
    })
    .unwrap();

    // Stop asks the guest (ACPI power button -> acpid -> poweroff); it may take a moment for
    // acpid to be there, so ask again until the VM goes.
    let mut status = None;
    for _ in 0..6 {
        let _ = client.change_state(StateChange::Stop).await;
        for _ in 0..50 {
            if let Some(s) = standin.try_wait().unwrap() {
                status = Some(s);
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        if status.is_some() {
            break;
        }
    }
    let status = status.unwrap_or_else(|| panic!("the guest never powered off:\n{}", log()));
    assert!(status.success(), "{status}:\n{}", log());
    assert!(log().contains("VM is stopped"), "{}", log());
    assert!(!rest.exists(), "the REST socket goes with vfkit");
    // Nothing the stand-in started is left: no process has the data disk open on its command line.
    let marker = d(&data);
    let leftovers: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&marker) && !c.contains("berth-vfkit-standin"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
