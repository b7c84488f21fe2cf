//! The QEMU machine that plays Virtualization.framework's part for a vfkit [`VirtualMachine`]:
//! its argv and the vhost-user helpers beside it (one virtiofsd per `virtio-fs` share, one
//! vhost-device-vsock for every `virtio-vsock` port). Pure: [`plan`] touches no process.
//!
//! What each vfkit device becomes:
//! - `virtio-blk` -> a raw `virtio-blk-pci` disk, `deviceId` as its serial (Virtualization.framework's
//!   `blockDeviceIdentifier` is the virtio-blk serial the guest reads), `readonly` kept.
//! - `virtio-net,nat` -> QEMU user networking on vmnet's default subnet (192.168.64.0/24,
//!   gateway .1, DHCP from .2, DNS .3 where vmnet has .1: QEMU needs them apart): the guest
//!   gets its address by DHCP, as under vmnet.
//! - `virtio-serial,logFilePath=` -> a `virtconsole` (the guest's `hvc0`) written to the file.
//! - `virtio-fs` -> `vhost-user-fs-pci` served by virtiofsd; `virtio-vsock` ->
//!   `vhost-user-vsock-pci` served by vhost-device-vsock (guest CID 3, as under vfkit).
//! - `virtio-rng`, `virtio-balloon` -> their virtio-pci devices.

use std::path::{Path, PathBuf};

use berth_vm::qemu::spec::{vhost_device_vsock_args, virtiofsd_args};
use berth_vm::qemu::{Accel, Arch};

use crate::config::{Bootloader, Device, NetAttachment, SerialOutput, VirtualMachine};

/// macOS's `sun_path` holds 104 bytes: vfkit refuses a longer REST socket path and cannot
/// listen on a longer vsock socket path.
pub const MAX_SOCKET_PATH: usize = 103;

/// vmnet's shared (NAT) network, which Virtualization.framework's NAT attachment uses.
pub const NAT_NET: &str =
    "net=192.168.64.0/24,host=192.168.64.1,dhcpstart=192.168.64.2,dns=192.168.64.3";

/// One vhost-user helper process to start before QEMU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Helper {
    /// For logs and errors.
    pub what: &'static str,
    pub args: Vec<String>,
    /// The socket it listens on for QEMU.
    pub socket: PathBuf,
}

/// Everything [`crate::vm`] starts for one VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub qemu: &'static str,
    pub args: Vec<String>,
    pub virtiofsd: Vec<Helper>,
    pub vsock: Option<Helper>,
    pub qmp: PathBuf,
    /// vhost-device-vsock's hybrid-vsock socket: `CONNECT <port>\n` reaches a guest port; a
    /// guest's connection to host port P arrives on `<uds>_P`.
    pub vsock_uds: PathBuf,
}

/// Which Mac the stand-in plays: the kernel's architecture (an arm64 `Image` means Apple
/// silicon), or `BERTH_VFKIT_STANDIN_ARCH`.
pub const ARCH_VAR: &str = "BERTH_VFKIT_STANDIN_ARCH";

/// The arm64 `Image` magic ("ARM\x64" at 0x38), which vfkit checks on Apple silicon.
pub fn is_uncompressed_arm64(head: &[u8]) -> bool {
    head.get(0x38..0x3c) == Some(b"ARMd".as_slice())
}

/// The x86 boot protocol's "HdrS" at 0x202 (a bzImage).
fn is_x86_bzimage(head: &[u8]) -> bool {
    head.get(0x202..0x206) == Some(b"HdrS".as_slice())
}

/// The architecture the kernel whose first bytes are `head` runs on, if it says.
pub fn kernel_arch(head: &[u8]) -> Option<Arch> {
    if is_uncompressed_arm64(head) {
        Some(Arch::Aarch64)
    } else if is_x86_bzimage(head) {
        Some(Arch::X86_64)
    } else {
        None
    }
}

fn host_arch() -> Arch {
    Arch::from_name(std::env::consts::ARCH).unwrap_or(Arch::X86_64)
}

/// The Mac to play for `vm`: `explicit` (from [`ARCH_VAR`]), else the kernel's, else the host's.
pub fn choose_arch(vm: &VirtualMachine, explicit: Option<&str>) -> Result<Arch, String> {
    if let Some(name) = explicit.filter(|n| !n.is_empty()) {
        return Arch::from_name(name).ok_or_else(|| format!("{ARCH_VAR}: unknown arch {name}"));
    }
    let Bootloader::Linux { kernel, .. } = &vm.bootloader else {
        return Ok(host_arch());
    };
    Ok(kernel_arch(&read_head(kernel)).unwrap_or_else(host_arch))
}

fn read_head(path: &str) -> Vec<u8> {
    use std::io::Read;
    let mut buf = vec![0u8; 2048];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut buf))
        .unwrap_or(0);
    buf.truncate(n);
    buf
}

/// QEMU's option syntax doubles a comma inside a value.
fn q(path: &str) -> String {
    path.replace(',', ",,")
}

/// A locally administered MAC, as Virtualization.framework gives a NIC without `mac=`.
fn random_mac(seed: u64) -> String {
    let b = seed.to_le_bytes();
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        (b[0] & 0xfe) | 0x02,
        b[1],
        b[2],
        b[3],
        b[4],
        b[5]
    )
}

/// The machine for `vm` on `arch` with `accel`, its sockets in `run`. Checks what
/// Virtualization.framework checks when vfkit builds the VM (vfkit's `vf.NewVirtualMachine`),
/// with vfkit's text, and says so where this stand-in has no equivalent.
pub fn plan(
    vm: &VirtualMachine,
    arch: Arch,
    accel: Accel,
    run: &Path,
    mac_seed: u64,
) -> Result<Plan, String> {
    let Bootloader::Linux {
        kernel,
        initrd,
        cmdline,
    } = &vm.bootloader
    else {
        return Err("the stand-in boots Linux only (--bootloader linux)".into());
    };
    if arch == Arch::Aarch64 && !is_uncompressed_arm64(&read_head(kernel)) {
        if let Err(e) = std::fs::File::open(kernel) {
            return Err(crate::config::go_path_error("open", kernel, &e));
        }
        return Err(format!(
            "kernel must be uncompressed, {kernel} is a compressed file"
        ));
    }
    for path in [kernel, initrd].into_iter().filter(|p| !p.is_empty()) {
        std::fs::metadata(path).map_err(|e| crate::config::go_path_error("stat", path, &e))?;
    }
    let qmp = run.join("qmp.sock");
    let vsock_uds = run.join("vsock.uds");
    let mut args: Vec<String> = Vec::new();
    let mut push = |flag: &str, value: String| {
        args.push(flag.to_owned());
        args.push(value);
    };
    push("-name", "vfkit".into());
    push(
        "-machine",
        match arch {
            Arch::X86_64 => "q35".into(),
            Arch::Aarch64 => "virt".into(),
        },
    );
    match accel {
        Accel::Kvm => {
            push("-accel", "kvm".into());
            push("-cpu", "host".into());
        }
        Accel::Tcg { tb_size_mib } => {
            push("-accel", format!("tcg,thread=single,tb-size={tb_size_mib}"));
            push("-cpu", "max".into());
        }
    }
    push("-smp", vm.cpus.max(1).to_string());
    push("-m", format!("{}M", vm.memory_mib));
    // vhost-user devices map guest RAM: a shared memfd (Virtualization.framework's RAM is
    // the VM's own; nothing the guest sees changes).
    push(
        "-object",
        format!(
            "memory-backend-memfd,id=mem,size={}M,share=on",
            vm.memory_mib
        ),
    );
    push("-numa", "node,memdev=mem".into());
    push("-kernel", kernel.clone());
    if !initrd.is_empty() {
        push("-initrd", initrd.clone());
    }
    push("-append", cmdline.clone());

    let mut virtiofsd = Vec::new();
    let mut vsock_ports = 0;
    for (i, device) in vm.devices.iter().enumerate() {
        match device {
            Device::VirtioBlk { disk, device_id } => {
                let mut drive = format!("if=none,id=blk{i},file={},format=raw", q(&disk.path));
                if disk.readonly {
                    drive.push_str(",readonly=on");
                }
                push("-drive", drive);
                let mut dev = format!("virtio-blk-pci,drive=blk{i}");
                if !device_id.is_empty() {
                    dev.push_str(&format!(",serial={}", q(device_id)));
                }
                push("-device", dev);
            }
            Device::VirtioNet { attachment, mac } => {
                if *attachment != NetAttachment::Nat {
                    return Err(format!(
                        "the stand-in emulates only virtio-net,nat (not {attachment:?})"
                    ));
                }
                push("-netdev", format!("user,id=net{i},{NAT_NET}"));
                let mac = mac
                    .clone()
                    .unwrap_or_else(|| random_mac(mac_seed.wrapping_add(i as u64)));
                push(
                    "-device",
                    format!("virtio-net-pci,netdev=net{i},mac={mac},romfile="),
                );
            }
            Device::VirtioSerial(output) => {
                let chardev = match output {
                    SerialOutput::LogFile(path) => format!("file,id=con{i},path={}", q(path)),
                    SerialOutput::Stdio => format!("stdio,id=con{i},signal=off"),
                    SerialOutput::Pty => format!("pty,id=con{i}"),
                };
                push("-chardev", chardev);
                push("-device", format!("virtio-serial-pci,id=vser{i}"));
                push(
                    "-device",
                    format!("virtconsole,chardev=con{i},bus=vser{i}.0"),
                );
            }
            Device::VirtioFs {
                shared_dir,
                mount_tag,
            } => {
                if shared_dir.is_empty() {
                    return Err("missing mandatory 'sharedDir' option for virtio-fs device".into());
                }
                let tag = if mount_tag.is_empty() {
                    Path::new(shared_dir)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                } else {
                    mount_tag.clone()
                };
                let socket = run.join(format!("fs{i}.sock"));
                let dir = PathBuf::from(shared_dir);
                let owner = berth_vm::share::serve_as(std::slice::from_ref(&dir));
                virtiofsd.push(Helper {
                    what: "virtiofsd",
                    args: virtiofsd_args(&socket, &dir, owner),
                    socket: socket.clone(),
                });
                push(
                    "-chardev",
                    format!("socket,id=fs{i},path={}", q(&socket.to_string_lossy())),
                );
                push(
                    "-device",
                    format!("vhost-user-fs-pci,chardev=fs{i},tag={}", q(&tag)),
                );
            }
            // One device serves every port (vfkit: "There will only be a single virtio-vsock
            // device added to the VM regardless of the number of --device virtio-vsock").
            Device::VirtioVsock { .. } => vsock_ports += 1,
            Device::VirtioRng => push("-device", "virtio-rng-pci".into()),
            Device::VirtioBalloon => push("-device", "virtio-balloon-pci".into()),
            Device::Rosetta { .. } if arch == Arch::X86_64 => {
                return Err("rosetta is unsupported on non-arm64 platforms".into())
            }
            other => return Err(format!("the stand-in does not emulate {other:?}")),
        }
    }
    let vsock = (vsock_ports > 0).then(|| {
        let socket = run.join("vsock.sock");
        Helper {
            what: "vhost-device-vsock",
            args: vhost_device_vsock_args(&socket, &vsock_uds),
            socket,
        }
    });
    if let Some(helper) = &vsock {
        push(
            "-chardev",
            format!(
                "socket,id=vsock,path={}",
                q(&helper.socket.to_string_lossy())
            ),
        );
        push("-device", "vhost-user-vsock-pci,chardev=vsock".into());
    }
    push(
        "-chardev",
        format!(
            "socket,id=qmp,path={},server=on,wait=off",
            q(&qmp.to_string_lossy())
        ),
    );
    push("-mon", "chardev=qmp,mode=control".into());
    // Virtualization.framework has no reboot: a guest that reboots stops the VM.
    args.extend(["-nodefaults", "-no-user-config", "-nographic", "-no-reboot"].map(String::from));
    Ok(Plan {
        qemu: arch.qemu_binary(),
        args,
        virtiofsd,
        vsock,
        qmp,
        vsock_uds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmdline::{vm_configuration, Options};

    fn image(dir: &Path) -> (String, String, String) {
        let mut bz = vec![0u8; 1024];
        bz[0x202..0x206].copy_from_slice(b"HdrS");
        let kernel = dir.join("vmlinuz");
        std::fs::write(&kernel, &bz).unwrap();
        let initrd = dir.join("initrd.img");
        std::fs::write(&initrd, b"cpio").unwrap();
        let disk = dir.join("root.img");
        std::fs::write(&disk, b"erofs...").unwrap();
        let s = |p: PathBuf| p.display().to_string();
        (s(kernel), s(initrd), s(disk))
    }

    fn berth_vm(dir: &Path) -> VirtualMachine {
        let (kernel, initrd, disk) = image(dir);
        let share = dir.display().to_string();
        let opts = Options::parse(&[
            "--cpus".to_owned(),
            "2".to_owned(),
            "--memory".to_owned(),
            "2048".to_owned(),
            "--bootloader".to_owned(),
            format!("linux,kernel={kernel},initrd={initrd},cmdline=\"console=hvc0 quiet\""),
            "--device".to_owned(),
            format!("virtio-blk,path={disk},deviceId=berth-root,readonly"),
            "--device".to_owned(),
            "virtio-vsock,port=1024,socketURL=/r/link.sock,connect".to_owned(),
            "--device".to_owned(),
            format!("virtio-fs,sharedDir={share},mountTag=berth0"),
            "--device".to_owned(),
            "virtio-serial,logFilePath=/l/console.log".to_owned(),
            "--device".to_owned(),
            "virtio-net,nat".to_owned(),
            "--device".to_owned(),
            "virtio-rng".to_owned(),
        ])
        .unwrap();
        vm_configuration(&opts).unwrap()
    }

    #[test]
    fn berths_devices_become_qemus() {
        let dir = tempfile::tempdir().unwrap();
        let vm = berth_vm(dir.path());
        assert_eq!(choose_arch(&vm, None).unwrap(), Arch::X86_64);
        let plan = plan(
            &vm,
            Arch::X86_64,
            Accel::Tcg { tb_size_mib: 256 },
            Path::new("/run/s"),
            7,
        )
        .unwrap();
        assert_eq!(plan.qemu, "qemu-system-x86_64");
        let argv = plan.args.join(" ");
        for want in [
            "-machine q35",
            "-accel tcg,thread=single,tb-size=256 -cpu max",
            "-smp 2 -m 2048M",
            "-append console=hvc0 quiet",
            ",format=raw,readonly=on -device virtio-blk-pci,drive=blk0,serial=berth-root",
            "-netdev user,id=net4,net=192.168.64.0/24,host=192.168.64.1,dhcpstart=192.168.64.2",
            "-chardev file,id=con3,path=/l/console.log -device virtio-serial-pci,id=vser3 -device virtconsole,chardev=con3,bus=vser3.0",
            "-chardev socket,id=fs2,path=/run/s/fs2.sock -device vhost-user-fs-pci,chardev=fs2,tag=berth0",
            "-chardev socket,id=vsock,path=/run/s/vsock.sock -device vhost-user-vsock-pci,chardev=vsock",
            "-device virtio-rng-pci",
            "-no-reboot",
        ] {
            assert!(argv.contains(want), "{want} in {argv}");
        }
        assert_eq!(plan.virtiofsd.len(), 1);
        assert!(plan
            .vsock
            .as_ref()
            .unwrap()
            .args
            .contains(&"--guest-cid=3".to_owned()));
    }

    #[test]
    fn what_virtualization_framework_refuses_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut vm = berth_vm(dir.path());
        let tcg = Accel::Tcg { tb_size_mib: 256 };
        let run = Path::new("/run/s");
        // Apple silicon boots only an uncompressed Image; this kernel is a bzImage.
        let Bootloader::Linux { kernel, .. } = &vm.bootloader else {
            unreachable!()
        };
        assert_eq!(
            plan(&vm, Arch::Aarch64, tcg, run, 0).unwrap_err(),
            format!("kernel must be uncompressed, {kernel} is a compressed file")
        );
        vm.devices.push(Device::Rosetta {
            mount_tag: "rosetta".into(),
            install: false,
            ignore_if_missing: false,
        });
        assert_eq!(
            plan(&vm, Arch::X86_64, tcg, run, 0).unwrap_err(),
            "rosetta is unsupported on non-arm64 platforms"
        );
        vm.bootloader = Bootloader::Linux {
            kernel: "/absent/vmlinuz".into(),
            initrd: String::new(),
            cmdline: String::new(),
        };
        assert_eq!(
            plan(&vm, Arch::X86_64, tcg, run, 0).unwrap_err(),
            "stat /absent/vmlinuz: no such file or directory"
        );
    }

    #[test]
    fn an_arm64_image_means_apple_silicon() {
        let mut head = vec![0u8; 64];
        head[0x38..0x3c].copy_from_slice(b"ARMd");
        assert_eq!(kernel_arch(&head), Some(Arch::Aarch64));
        assert_eq!(kernel_arch(b"\x1f\x8b"), None);
        assert_eq!(random_mac(0).split(':').next(), Some("02"));
    }
}
