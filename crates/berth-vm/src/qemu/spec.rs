//! The QEMU command line as a plain value: [`QemuSpec::to_args`] builds the argv and
//! [`QemuSpec::from_args`] reads it back (vfkit's `ToCmdLine` idea), so golden and round-trip
//! tests run on every OS without QEMU.

use std::path::PathBuf;

/// How QEMU executes guest code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    /// Software emulation with a bounded translation cache.
    Tcg {
        tb_size_mib: u32,
    },
}

impl Accel {
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg { .. } => "tcg",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    pub fn from_name(name: &str) -> Option<Arch> {
        match name {
            "x86_64" | "amd64" => Some(Arch::X86_64),
            "aarch64" | "arm64" => Some(Arch::Aarch64),
            _ => None,
        }
    }

    pub fn qemu_binary(self) -> &'static str {
        match self {
            Arch::X86_64 => "qemu-system-x86_64",
            Arch::Aarch64 => "qemu-system-aarch64",
        }
    }

    fn machine(self) -> &'static str {
        match self {
            Arch::X86_64 => "q35",
            Arch::Aarch64 => "virt",
        }
    }
}

/// The guest serial names the guest init looks for under `/dev/disk/by-id/virtio-*`.
pub const ROOT_SERIAL: &str = "berth-root";
pub const DATA_SERIAL: &str = "berth-data";
/// The virtio-serial port name: `/dev/virtio-ports/berth.link` in the guest.
pub const LINK_PORT: &str = "berth.link";

/// How the link to the guest agent leaves the VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkDevice {
    /// A virtio-serial port named [`LINK_PORT`]; QEMU listens on `socket` for the host.
    Serial { socket: PathBuf },
    /// A `vhost-user-vsock-pci` device served by vhost-device-vsock on `vhost_socket` (guest
    /// RAM is then a shared memfd it can map); the host reaches the guest's ports through the
    /// device's hybrid-vsock socket ([`vhost_device_vsock_args`]).
    Vsock { vhost_socket: PathBuf },
}

impl LinkDevice {
    /// The kernel command-line argument that tells the guest which link to serve
    /// (vm-image/README.md, "The link").
    pub fn cmdline_arg(&self) -> String {
        match self {
            LinkDevice::Serial { .. } => "berth.link=serial".into(),
            LinkDevice::Vsock { .. } => format!("berth.link=vsock:{}", crate::LINK_VSOCK_PORT),
        }
    }
}

/// The guest's vsock context id (`--guest-cid`); 0-2 are reserved.
pub const GUEST_CID: u32 = 3;

/// The argv of the `vhost-device-vsock` (rust-vmm, 0.3) that serves the guest's vsock device on
/// `vhost_socket` (QEMU connects there) and the host side on `uds` (hybrid vsock: connect, send
/// `CONNECT <port>\n`, read `OK <port>\n`). One flag per value, so a comma in a path stays a
/// comma (`--vm key=value,...` would split it).
pub fn vhost_device_vsock_args(
    vhost_socket: &std::path::Path,
    uds: &std::path::Path,
) -> Vec<String> {
    vec![
        format!("--guest-cid={GUEST_CID}"),
        format!("--socket={}", path(vhost_socket)),
        format!("--uds-path={}", path(uds)),
    ]
}

/// A host folder served to the guest over virtio-9p by QEMU itself. The guest mounts `tag` at
/// `path` (the same path as on the host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NinePShare {
    pub tag: String,
    pub path: PathBuf,
}

/// A host folder served to the guest over virtio-fs by a `virtiofsd` listening on `socket`.
/// The guest mounts `tag` at the host path (which only virtiofsd needs to know).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtiofsShare {
    pub tag: String,
    pub socket: PathBuf,
}

/// Everything that varies in Berth's QEMU command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuSpec {
    pub arch: Arch,
    pub accel: Accel,
    pub cpus: u32,
    pub memory_mib: u64,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub cmdline: String,
    /// Read-only erofs root image.
    pub rootfs: PathBuf,
    /// qcow2 data disk (`/var/lib/docker`).
    pub data_disk: PathBuf,
    /// The link to the guest agent.
    pub link: LinkDevice,
    pub qmp_socket: PathBuf,
    pub console_log: PathBuf,
    /// Folders shared over virtio-9p.
    pub shares: Vec<NinePShare>,
    /// Folders shared over virtio-fs (guest RAM is then a shared memfd virtiofsd can map).
    pub virtiofs: Vec<VirtiofsShare>,
    /// `uid:gid` QEMU switches to once the VM is set up (`-runas`), so files the guest creates
    /// in a share belong to the share's owner. Only set when Berth runs as root.
    pub run_as: Option<(u32, u32)>,
}

impl QemuSpec {
    pub fn program(&self) -> &'static str {
        self.arch.qemu_binary()
    }

    pub fn to_args(&self) -> Vec<String> {
        let mut args: Vec<String> = Vec::new();
        let mut push = |flag: &str, value: String| {
            args.push(flag.to_string());
            args.push(value);
        };
        push("-name", "berth".into());
        push("-machine", self.arch.machine().into());
        push("-accel", accel_arg(self.accel));
        push("-cpu", cpu_model(self.accel).into());
        push("-smp", self.cpus.to_string());
        push("-m", format!("{}M", self.memory_mib));
        if self.needs_shared_memory() {
            push(
                "-object",
                format!(
                    "memory-backend-memfd,id=mem,size={}M,share=on",
                    self.memory_mib
                ),
            );
            push("-numa", "node,memdev=mem".into());
        }
        push("-kernel", path(&self.kernel));
        push("-initrd", path(&self.initrd));
        push("-append", self.cmdline.clone());
        push(
            "-drive",
            format!(
                "if=none,id=root,file={},format=raw,readonly=on",
                opt_path(&self.rootfs)
            ),
        );
        push(
            "-device",
            format!("virtio-blk-pci,drive=root,serial={ROOT_SERIAL}"),
        );
        push(
            "-drive",
            format!(
                "if=none,id=data,file={},format=qcow2,discard=unmap",
                opt_path(&self.data_disk)
            ),
        );
        push(
            "-device",
            format!("virtio-blk-pci,drive=data,serial={DATA_SERIAL}"),
        );
        push("-netdev", "user,id=net0".into());
        // No option ROM: iPXE would only slow the boot (the kernel is passed directly).
        push("-device", "virtio-net-pci,netdev=net0,romfile=".into());
        push("-device", "virtio-rng-pci".into());
        // The guest reports the pages it frees (free page reporting), and QEMU gives them back
        // to the host: memory a container used returns once it exits.
        push(
            "-device",
            "virtio-balloon-pci,free-page-reporting=on".into(),
        );
        for share in &self.shares {
            // security_model=none: files keep the host's owner and mode (a guest chmod is a real
            // chmod; a guest chown fails unless QEMU may do it), and a new file belongs to the
            // user QEMU runs as. multidevs=remap: a share spanning mounts keeps unique inodes.
            push(
                "-fsdev",
                format!(
                    "local,id={},path={},security_model=none,multidevs=remap",
                    share.tag,
                    opt_path(&share.path)
                ),
            );
            push(
                "-device",
                format!("virtio-9p-pci,fsdev={tag},mount_tag={tag}", tag = share.tag),
            );
        }
        for share in &self.virtiofs {
            push(
                "-chardev",
                format!(
                    "socket,id=vfs-{},path={}",
                    share.tag,
                    opt_path(&share.socket)
                ),
            );
            push(
                "-device",
                format!(
                    "vhost-user-fs-pci,chardev=vfs-{tag},tag={tag}",
                    tag = share.tag
                ),
            );
        }
        match &self.link {
            LinkDevice::Serial { socket } => {
                push("-device", "virtio-serial-pci".into());
                push(
                    "-chardev",
                    format!(
                        "socket,id=berthlink,path={},server=on,wait=off",
                        opt_path(socket)
                    ),
                );
                push(
                    "-device",
                    format!("virtserialport,chardev=berthlink,name={LINK_PORT}"),
                );
            }
            LinkDevice::Vsock { vhost_socket } => {
                push(
                    "-chardev",
                    format!("socket,id=berthvsock,path={}", opt_path(vhost_socket)),
                );
                push("-device", "vhost-user-vsock-pci,chardev=berthvsock".into());
            }
        }
        push(
            "-chardev",
            format!(
                "socket,id=qmp,path={},server=on,wait=off",
                opt_path(&self.qmp_socket)
            ),
        );
        push("-mon", "chardev=qmp,mode=control".into());
        push("-serial", format!("file:{}", path(&self.console_log)));
        if let Some((uid, gid)) = self.run_as {
            push("-runas", format!("{uid}:{gid}"));
        }
        // A guest that reboots (a kernel panic, with panic=-1) exits QEMU instead, so the daemon
        // sees the crash and moves to Error rather than serving a link to a guest that is gone.
        args.extend(
            ["-nodefaults", "-no-user-config", "-nographic", "-no-reboot"].map(String::from),
        );
        args
    }

    /// vhost-user devices (virtio-fs, vsock) map the guest's RAM: it must be a shared memfd.
    fn needs_shared_memory(&self) -> bool {
        !self.virtiofs.is_empty() || matches!(self.link, LinkDevice::Vsock { .. })
    }

    /// The socket QEMU itself creates for the host (the vsock link's socket is its backend's).
    pub fn link_socket(&self) -> Option<&std::path::Path> {
        match &self.link {
            LinkDevice::Serial { socket } => Some(socket),
            LinkDevice::Vsock { .. } => None,
        }
    }

    /// Reads back an argv made by [`QemuSpec::to_args`]. `None` when it is not one of ours.
    pub fn from_args(program: &str, args: &[String]) -> Option<QemuSpec> {
        let arch = match program.rsplit('/').next()? {
            "qemu-system-x86_64" => Arch::X86_64,
            "qemu-system-aarch64" => Arch::Aarch64,
            _ => return None,
        };
        let mut spec = QemuSpec {
            arch,
            accel: Accel::Kvm,
            cpus: 0,
            memory_mib: 0,
            kernel: PathBuf::new(),
            initrd: PathBuf::new(),
            cmdline: String::new(),
            rootfs: PathBuf::new(),
            data_disk: PathBuf::new(),
            link: LinkDevice::Serial {
                socket: PathBuf::new(),
            },
            qmp_socket: PathBuf::new(),
            console_log: PathBuf::new(),
            shares: Vec::new(),
            virtiofs: Vec::new(),
            run_as: None,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            if flag.starts_with("-no") {
                continue;
            }
            let value = it.next()?;
            match flag.as_str() {
                "-accel" => spec.accel = parse_accel(value)?,
                "-smp" => spec.cpus = value.parse().ok()?,
                "-m" => spec.memory_mib = value.strip_suffix('M')?.parse().ok()?,
                "-kernel" => spec.kernel = value.into(),
                "-initrd" => spec.initrd = value.into(),
                "-append" => spec.cmdline = value.clone(),
                "-drive" => {
                    let file = PathBuf::from(option_value(value, "file")?);
                    match option_value(value, "id")?.as_str() {
                        "root" => spec.rootfs = file,
                        "data" => spec.data_disk = file,
                        _ => return None,
                    }
                }
                "-chardev" => {
                    let sock = PathBuf::from(option_value(value, "path")?);
                    let id = option_value(value, "id")?;
                    match id.as_str() {
                        "berthlink" => spec.link = LinkDevice::Serial { socket: sock },
                        "berthvsock" => spec.link = LinkDevice::Vsock { vhost_socket: sock },
                        "qmp" => spec.qmp_socket = sock,
                        _ => spec.virtiofs.push(VirtiofsShare {
                            tag: id.strip_prefix("vfs-")?.to_string(),
                            socket: sock,
                        }),
                    }
                }
                "-serial" => spec.console_log = value.strip_prefix("file:")?.into(),
                "-fsdev" => spec.shares.push(NinePShare {
                    tag: option_value(value, "id")?,
                    path: option_value(value, "path")?.into(),
                }),
                "-runas" => {
                    let (uid, gid) = value.split_once(':')?;
                    spec.run_as = Some((uid.parse().ok()?, gid.parse().ok()?));
                }
                _ => {}
            }
        }
        Some(spec)
    }
}

/// The argv of the `virtiofsd` (Rust, 1.11 or later) that serves `dir` on `socket`. With
/// `owner`, every guest uid and gid is squashed to it on the host, so what a container (root
/// in the guest) writes belongs to the folder's owner; host ids show through unchanged.
pub fn virtiofsd_args(
    socket: &std::path::Path,
    dir: &std::path::Path,
    owner: Option<(u32, u32)>,
) -> Vec<String> {
    let mut args = vec![
        format!("--socket-path={}", path(socket)),
        format!("--shared-dir={}", path(dir)),
        // auto: attributes are re-checked after a second, so a host-side change is seen.
        "--cache=auto".to_string(),
        "--sandbox=namespace".to_string(),
    ];
    if let Some((uid, gid)) = owner {
        args.push(format!("--translate-uid=squash-guest:0:{uid}:4294967295"));
        args.push(format!("--translate-gid=squash-guest:0:{gid}:4294967295"));
    }
    args
}

fn accel_arg(accel: Accel) -> String {
    match accel {
        Accel::Kvm => "kvm".into(),
        // One host thread for all vCPUs: with multi-threaded TCG the guest kernel's live
        // code patching (text_poke_bp, int3) raced with translated code and oopsed at boot
        // ("Oops: int3" in kmem_cache_alloc) often enough to fail a start in ten.
        Accel::Tcg { tb_size_mib } => format!("tcg,thread=single,tb-size={tb_size_mib}"),
    }
}

fn parse_accel(value: &str) -> Option<Accel> {
    if value == "kvm" {
        return Some(Accel::Kvm);
    }
    let size = value
        .strip_prefix("tcg,thread=single,tb-size=")?
        .parse()
        .ok()?;
    Some(Accel::Tcg { tb_size_mib: size })
}

fn cpu_model(accel: Accel) -> &'static str {
    match accel {
        Accel::Kvm => "host",
        Accel::Tcg { .. } => "max",
    }
}

fn path(p: &std::path::Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A path inside a QEMU `key=value,...` option: commas are doubled.
fn opt_path(p: &std::path::Path) -> String {
    path(p).replace(',', ",,")
}

/// The value of `key` in a QEMU option string (`a=1,key=x,,y` -> `x,y`).
fn option_value(opts: &str, key: &str) -> Option<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = opts.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ',' {
            if chars.peek() == Some(&',') {
                chars.next();
                current.push(',');
            } else {
                parts.push(std::mem::take(&mut current));
            }
        } else {
            current.push(c);
        }
    }
    parts.push(current);
    parts.into_iter().find_map(|part| {
        let (k, v) = part.split_once('=')?;
        (k == key).then(|| v.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> QemuSpec {
        QemuSpec {
            arch: Arch::X86_64,
            accel: Accel::Tcg { tb_size_mib: 256 },
            cpus: 2,
            memory_mib: 2048,
            kernel: "/img/vmlinuz".into(),
            initrd: "/run/initrd.img".into(),
            cmdline: "console=ttyS0 quiet".into(),
            rootfs: "/img/rootfs.erofs".into(),
            data_disk: "/data/data.qcow2".into(),
            link: LinkDevice::Serial {
                socket: "/run/link.sock".into(),
            },
            qmp_socket: "/run/qmp.sock".into(),
            console_log: "/logs/vm-console.log".into(),
            shares: Vec::new(),
            virtiofs: Vec::new(),
            run_as: None,
        }
    }

    fn with_virtiofs() -> QemuSpec {
        let mut spec = sample();
        spec.virtiofs = vec![VirtiofsShare {
            tag: "berth0".into(),
            socket: "/run/vfs,0.sock".into(),
        }];
        spec
    }

    #[test]
    fn golden_virtiofsd_argv() {
        let sock = std::path::Path::new("/run/vfs-berth0.sock");
        let dir = std::path::Path::new("/home/a b");
        assert_eq!(
            virtiofsd_args(sock, dir, Some((1000, 100))),
            [
                "--socket-path=/run/vfs-berth0.sock",
                "--shared-dir=/home/a b",
                "--cache=auto",
                "--sandbox=namespace",
                "--translate-uid=squash-guest:0:1000:4294967295",
                "--translate-gid=squash-guest:0:100:4294967295",
            ]
        );
        assert_eq!(virtiofsd_args(sock, dir, None).len(), 4);
    }

    /// The `n` lines after `line` in an argv of lines.
    fn after<'a>(lines: &'a [String], line: &str, n: usize) -> &'a [String] {
        let at = lines.iter().position(|l| l == line).unwrap();
        &lines[at + 1..at + 1 + n]
    }

    /// vhost-user devices need the guest's memory shared: right after `-m`.
    fn assert_shared_memory(lines: &[String]) {
        assert_eq!(
            after(lines, "-m 2048M", 2),
            [
                "-object memory-backend-memfd,id=mem,size=2048M,share=on",
                "-numa node,memdev=mem",
            ]
        );
    }

    #[test]
    fn golden_argv_with_virtiofs() {
        let lines = argv_lines(&with_virtiofs().to_args());
        assert_shared_memory(&lines);
        assert_eq!(
            after(
                &lines,
                "-device virtio-balloon-pci,free-page-reporting=on",
                3
            ),
            [
                "-chardev socket,id=vfs-berth0,path=/run/vfs,,0.sock",
                "-device vhost-user-fs-pci,chardev=vfs-berth0,tag=berth0",
                "-device virtio-serial-pci",
            ]
        );
        assert!(!argv_lines(&sample().to_args())
            .iter()
            .any(|l| l.starts_with("-object") || l.starts_with("-numa")));
    }

    fn with_vsock() -> QemuSpec {
        let mut spec = sample();
        spec.link = LinkDevice::Vsock {
            vhost_socket: "/run/a,b/vsock.sock".into(),
        };
        spec
    }

    #[test]
    fn golden_argv_with_a_vsock_link() {
        let lines = argv_lines(&with_vsock().to_args());
        assert_shared_memory(&lines);
        assert_eq!(
            after(
                &lines,
                "-device virtio-balloon-pci,free-page-reporting=on",
                3
            ),
            [
                "-chardev socket,id=berthvsock,path=/run/a,,b/vsock.sock",
                "-device vhost-user-vsock-pci,chardev=berthvsock",
                "-chardev socket,id=qmp,path=/run/qmp.sock,server=on,wait=off",
            ]
        );
        assert!(!lines.iter().any(|l| l.contains("virtio-serial")));
        assert_eq!(with_vsock().link_socket(), None);
        assert_eq!(with_vsock().link.cmdline_arg(), "berth.link=vsock:1024");
        assert_eq!(sample().link.cmdline_arg(), "berth.link=serial");
    }

    #[test]
    fn golden_vhost_device_vsock_argv() {
        assert_eq!(
            vhost_device_vsock_args(
                std::path::Path::new("/run/a,b/vsock.sock"),
                std::path::Path::new("/run/a,b/vsock.uds")
            ),
            [
                "--guest-cid=3",
                "--socket=/run/a,b/vsock.sock",
                "--uds-path=/run/a,b/vsock.uds",
            ]
        );
    }

    fn with_shares() -> QemuSpec {
        let mut spec = sample();
        spec.shares = vec![
            NinePShare {
                tag: "berth0".into(),
                path: "/home/alice".into(),
            },
            NinePShare {
                tag: "berth1".into(),
                path: "/srv/a,b c".into(),
            },
        ];
        spec.run_as = Some((1000, 1000));
        spec
    }

    /// The argv as `flag value` lines (flags without a value alone).
    fn argv_lines(args: &[String]) -> Vec<String> {
        let mut lines = Vec::new();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            if flag.starts_with("-no") {
                lines.push(flag.clone());
            } else {
                lines.push(format!("{flag} {}", it.next().unwrap()));
            }
        }
        lines
    }

    #[test]
    fn golden_argv_with_shares() {
        let lines = argv_lines(&with_shares().to_args());
        let start = lines
            .iter()
            .position(|l| l == "-device virtio-balloon-pci,free-page-reporting=on")
            .unwrap();
        assert_eq!(
            lines[start + 1..start + 5],
            [
                "-fsdev local,id=berth0,path=/home/alice,security_model=none,multidevs=remap",
                "-device virtio-9p-pci,fsdev=berth0,mount_tag=berth0",
                "-fsdev local,id=berth1,path=/srv/a,,b c,security_model=none,multidevs=remap",
                "-device virtio-9p-pci,fsdev=berth1,mount_tag=berth1",
            ]
        );
        let serial = lines
            .iter()
            .position(|l| l == "-serial file:/logs/vm-console.log")
            .unwrap();
        assert_eq!(lines[serial + 1], "-runas 1000:1000");
        assert_eq!(lines[serial + 2], "-nodefaults");
    }

    #[test]
    fn golden_argv() {
        let golden = [
            "-name berth",
            "-machine q35",
            "-accel tcg,thread=single,tb-size=256",
            "-cpu max",
            "-smp 2",
            "-m 2048M",
            "-kernel /img/vmlinuz",
            "-initrd /run/initrd.img",
            "-append console=ttyS0 quiet",
            "-drive if=none,id=root,file=/img/rootfs.erofs,format=raw,readonly=on",
            "-device virtio-blk-pci,drive=root,serial=berth-root",
            "-drive if=none,id=data,file=/data/data.qcow2,format=qcow2,discard=unmap",
            "-device virtio-blk-pci,drive=data,serial=berth-data",
            "-netdev user,id=net0",
            "-device virtio-net-pci,netdev=net0,romfile=",
            "-device virtio-rng-pci",
            "-device virtio-balloon-pci,free-page-reporting=on",
            "-device virtio-serial-pci",
            "-chardev socket,id=berthlink,path=/run/link.sock,server=on,wait=off",
            "-device virtserialport,chardev=berthlink,name=berth.link",
            "-chardev socket,id=qmp,path=/run/qmp.sock,server=on,wait=off",
            "-mon chardev=qmp,mode=control",
            "-serial file:/logs/vm-console.log",
            "-nodefaults",
            "-no-user-config",
            "-nographic",
            "-no-reboot",
        ];
        let lines = argv_lines(&sample().to_args());
        assert_eq!(lines, golden);
        assert_eq!(sample().program(), "qemu-system-x86_64");
    }

    #[test]
    fn kvm_uses_the_host_cpu() {
        let mut spec = sample();
        spec.accel = Accel::Kvm;
        let args = spec.to_args();
        let joined = args.join(" ");
        assert!(joined.contains("-accel kvm -cpu host"), "{joined}");
    }

    #[test]
    fn round_trips_through_argv() {
        let mut specs = vec![sample(), with_shares(), with_virtiofs(), with_vsock()];
        let mut odd = sample();
        odd.accel = Accel::Kvm;
        odd.arch = Arch::Aarch64;
        odd.cpus = 8;
        odd.memory_mib = 8192;
        odd.data_disk = "/home/a,b/My Disk,,x.qcow2".into();
        odd.link = LinkDevice::Serial {
            socket: "/run/with,comma/link.sock".into(),
        };
        odd.cmdline = "console=ttyAMA0 a=b,c".into();
        specs.push(odd);
        for spec in specs {
            let back = QemuSpec::from_args(spec.program(), &spec.to_args());
            assert_eq!(back.as_ref(), Some(&spec));
        }
    }

    #[test]
    fn commas_in_paths_are_escaped() {
        let mut spec = sample();
        spec.data_disk = "/a,b.qcow2".into();
        let args = spec.to_args();
        assert!(args
            .iter()
            .any(|a| a.contains("file=/a,,b.qcow2,format=qcow2")));
    }

    #[test]
    fn foreign_argv_is_refused() {
        assert_eq!(QemuSpec::from_args("qemu-img", &[]), None);
        let args = vec!["-drive".to_string(), "if=none,id=other,file=x".to_string()];
        assert_eq!(QemuSpec::from_args("qemu-system-x86_64", &args), None);
    }
}
