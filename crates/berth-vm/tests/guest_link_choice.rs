//! The guest's half of the link contract (vm-image/README.md, "The link"), checked against the
//! host's half: the guest init's `link-choice` script, run with a fake kernel command line and a
//! fake virtio bus, picks the link the QEMU backend's command line asks for, and without one
//! picks by the devices.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;

use berth_vm::qemu::LinkDevice;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../vm-image/rootfs/usr/lib/berth/link-choice")
}

/// What the script prints for `cmdline` on a machine with these virtio device ids, and what
/// it says on stderr.
fn choose(cmdline: &str, device_ids: &[&str]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let cmdline_file = dir.path().join("cmdline");
    std::fs::write(&cmdline_file, format!("{cmdline}\n")).unwrap();
    let devices = dir.path().join("devices");
    for (i, id) in device_ids.iter().enumerate() {
        let dev = devices.join(format!("virtio{i}"));
        std::fs::create_dir_all(&dev).unwrap();
        std::fs::write(dev.join("device"), format!("{id}\n")).unwrap();
    }
    std::fs::create_dir_all(&devices).unwrap();
    let out = Command::new("sh")
        .arg(script())
        .arg(&cmdline_file)
        .arg(&devices)
        .output()
        .expect("sh runs");
    assert!(out.status.success(), "{out:?}");
    (
        String::from_utf8(out.stdout).unwrap().trim().to_owned(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// virtio ids: 1 net, 2 block, 3 console, 4 rng, 5 balloon, 19 vsock.
const WITH_VSOCK: &[&str] = &["0x0001", "0x0002", "0x0013"];
const WITHOUT_VSOCK: &[&str] = &["0x0001", "0x0002", "0x0003"];

#[test]
fn the_guest_serves_the_link_the_host_asked_for() {
    let serial = LinkDevice::Serial {
        socket: "/run/link.sock".into(),
    };
    let vsock = LinkDevice::Vsock {
        vhost_socket: "/run/vsock.sock".into(),
    };
    let base = "console=ttyS0 quiet panic=-1";
    for devices in [WITH_VSOCK, WITHOUT_VSOCK] {
        let cmdline = format!("{base} {}", serial.cmdline_arg());
        assert_eq!(choose(&cmdline, devices).0, "serial");
        let cmdline = format!("{base} {}", vsock.cmdline_arg());
        assert_eq!(choose(&cmdline, devices).0, "vsock:1024");
    }
    // vfkit's form, another port.
    assert_eq!(choose("berth.link=vsock:2049", WITH_VSOCK).0, "vsock:2049");
}

#[test]
fn without_a_choice_the_devices_decide() {
    assert_eq!(choose("console=hvc0", WITH_VSOCK).0, "vsock:1024");
    assert_eq!(choose("console=hvc0", WITHOUT_VSOCK).0, "serial");
    assert_eq!(choose("berth.link=auto", WITH_VSOCK).0, "vsock:1024");
    assert_eq!(choose("", &[]).0, "serial");
}

#[test]
fn a_malformed_choice_is_reported_and_the_devices_decide() {
    for bad in [
        "berth.link=vsock:",
        "berth.link=vsock:12a",
        "berth.link=pigeon",
    ] {
        let (link, said) = choose(bad, WITH_VSOCK);
        assert_eq!(link, "vsock:1024", "{bad}");
        assert!(said.contains("unknown berth.link="), "{bad}: {said}");
    }
}
