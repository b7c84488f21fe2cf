//! vfkit's VM model and its option grammar, as vfkit's `pkg/config` parses them: a bootloader
//! (`--bootloader linux,kernel=...,initrd=...,cmdline="..."`) and devices (`--device
//! KIND,key=value,flag,...`). Every message a malformed value gets is vfkit's own text (the Go
//! `fmt.Errorf` strings of `pkg/config/virtio.go` and `bootloader.go`), so what the real vfkit
//! would refuse, this refuses the same way.

use std::path::PathBuf;

/// vfkit's `option`: `key` or `key=value` (split at the first `=`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Opt {
    key: String,
    value: String,
}

/// vfkit's `strvToOptions`: empty items are skipped.
fn options(items: &[String]) -> Vec<Opt> {
    items
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| match s.split_once('=') {
            Some((k, v)) => Opt {
                key: k.to_owned(),
                value: v.to_owned(),
            },
            None => Opt {
                key: s.clone(),
                value: String::new(),
            },
        })
        .collect()
}

/// Go's `%s` of a `[]option`: `[{key value} {key value}]`.
fn go_options(opts: &[Opt]) -> String {
    let items: Vec<String> = opts
        .iter()
        .map(|o| format!("{{{} {}}}", o.key, o.value))
        .collect();
    format!("[{}]", items.join(" "))
}

/// vfkit's `util.TrimQuotes`: a value quoted at both ends loses every leading and trailing `"`.
pub fn trim_quotes(s: &str) -> &str {
    if s.starts_with('"') && s.ends_with('"') {
        s.trim_matches('"')
    } else {
        s
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootloader {
    Linux {
        kernel: String,
        initrd: String,
        cmdline: String,
    },
    Efi {
        variable_store: String,
        create: bool,
    },
    MacOs {
        machine_identifier: String,
        hardware_model: String,
        aux_image: String,
    },
}

impl Bootloader {
    /// vfkit's `BootloaderFromCmdLine` over the values `--bootloader` collected.
    pub fn from_cmdline(strv: &[String]) -> Result<Bootloader, String> {
        let Some(kind) = strv.first() else {
            return Err("empty option list in --bootloader command line argument".into());
        };
        let opts = options(&strv[1..]);
        match kind.as_str() {
            "linux" => {
                let (mut kernel, mut initrd, mut cmdline) = (String::new(), String::new(), "");
                for o in &opts {
                    match o.key.as_str() {
                        "kernel" => kernel = o.value.clone(),
                        "cmdline" => cmdline = trim_quotes(&o.value),
                        "initrd" => initrd = o.value.clone(),
                        other => {
                            return Err(format!("unknown option for Linux bootloaders: {other}"))
                        }
                    }
                }
                Ok(Bootloader::Linux {
                    kernel,
                    initrd,
                    cmdline: cmdline.to_owned(),
                })
            }
            "efi" => {
                let (mut variable_store, mut create) = (String::new(), false);
                for o in &opts {
                    match o.key.as_str() {
                        "variable-store" => variable_store = o.value.clone(),
                        "create" if o.value.is_empty() => create = true,
                        "create" => {
                            return Err(format!(
                                "unexpected value for EFI bootloader 'create' option: {}",
                                o.value
                            ))
                        }
                        other => {
                            return Err(format!("unknown option for EFI bootloaders: {other}"))
                        }
                    }
                }
                Ok(Bootloader::Efi {
                    variable_store,
                    create,
                })
            }
            "macos" => {
                let mut b = (String::new(), String::new(), String::new());
                for o in &opts {
                    match o.key.as_str() {
                        "machineIdentifierPath" => b.0 = o.value.clone(),
                        "hardwareModelPath" => b.1 = o.value.clone(),
                        "auxImagePath" => b.2 = o.value.clone(),
                        other => {
                            return Err(format!("unknown option for macOS bootloaders: {other}"))
                        }
                    }
                }
                Ok(Bootloader::MacOs {
                    machine_identifier: b.0,
                    hardware_model: b.1,
                    aux_image: b.2,
                })
            }
            other => Err(format!("unknown bootloader type: {other}")),
        }
    }
}

/// What a disk is backed by (`type=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiskType {
    #[default]
    Default,
    Image,
    Dev,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disk {
    pub path: String,
    pub kind: DiskType,
    pub readonly: bool,
}

impl Disk {
    /// vfkit's `DiskStorageConfig.FromOptions`.
    fn take(&mut self, dev_name: &str, o: &Opt) -> Result<(), String> {
        match o.key.as_str() {
            "path" => self.path = o.value.clone(),
            "type" => {
                self.kind = match o.value.as_str() {
                    "" => DiskType::Default,
                    "image" => DiskType::Image,
                    "dev" => DiskType::Dev,
                    v => return Err(format!("unexpected value for disk 'type' option: {v}")),
                }
            }
            "readonly" if o.value.is_empty() => self.readonly = true,
            "readonly" => {
                return Err(format!(
                    "unexpected value for virtio-blk 'readonly' option: {}",
                    o.value
                ))
            }
            other => return Err(format!("unknown option for {dev_name} devices: {other}")),
        }
        Ok(())
    }
}

/// Where a virtio-net device's traffic goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetAttachment {
    /// Virtualization.framework's NAT: the guest gets its address by DHCP.
    Nat,
    Fd(i64),
    UnixSocket(String),
}

/// Where a virtio-serial console goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SerialOutput {
    LogFile(String),
    Stdio,
    Pty,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Device {
    VirtioBlk {
        disk: Disk,
        device_id: String,
    },
    Nvme(Disk),
    UsbMassStorage(Disk),
    VirtioFs {
        shared_dir: String,
        mount_tag: String,
    },
    VirtioNet {
        attachment: NetAttachment,
        mac: Option<String>,
    },
    VirtioRng,
    VirtioSerial(SerialOutput),
    VirtioVsock {
        port: u32,
        socket_url: String,
        /// vfkit listens for the guest's connections (the default); `connect`: the host
        /// connects to the socket and vfkit connects to the guest's port.
        listen: bool,
    },
    VirtioInput(String),
    VirtioGpu {
        width: u32,
        height: u32,
    },
    VirtioBalloon,
    Rosetta {
        mount_tag: String,
        install: bool,
        ignore_if_missing: bool,
    },
    Nbd {
        uri: String,
        device_id: String,
        readonly: bool,
    },
}

impl Device {
    /// vfkit's `deviceFromCmdLine`: note the plain split on `,` (unlike `--bootloader`, no
    /// quoting: a comma in a path cannot be given to a device).
    pub fn from_cmdline(arg: &str) -> Result<Device, String> {
        let parts: Vec<String> = arg.split(',').map(str::to_owned).collect();
        let kind = parts[0].as_str();
        let opts = options(&parts[1..]);
        match kind {
            "virtio-blk" => virtio_blk(&opts),
            "nvme" => disk_only("nvme", &opts).map(Device::Nvme),
            "usb-mass-storage" => disk_only("usb-mass-storage", &opts).map(Device::UsbMassStorage),
            "virtio-fs" => {
                let (mut shared_dir, mut mount_tag) = (String::new(), String::new());
                for o in &opts {
                    match o.key.as_str() {
                        "sharedDir" => shared_dir = o.value.clone(),
                        "mountTag" => mount_tag = o.value.clone(),
                        other => {
                            return Err(format!("unknown option for virtio-fs devices: {other}"))
                        }
                    }
                }
                Ok(Device::VirtioFs {
                    shared_dir,
                    mount_tag,
                })
            }
            "virtio-net" => virtio_net(&opts),
            "virtio-rng" if opts.is_empty() => Ok(Device::VirtioRng),
            "virtio-rng" => Err(format!(
                "unknown options for virtio-rng devices: {}",
                go_options(&opts)
            )),
            "virtio-serial" => virtio_serial(&opts),
            "virtio-vsock" => virtio_vsock(&opts),
            "virtio-input" => {
                let mut kind = String::new();
                for o in &opts {
                    match o.key.as_str() {
                        "pointing" | "keyboard" if o.value.is_empty() => kind = o.key.clone(),
                        "pointing" | "keyboard" => {
                            return Err(format!(
                                "unexpected value for virtio-input {} option: {}",
                                o.key, o.value
                            ))
                        }
                        other => {
                            return Err(format!("unknown option for virtio-input devices: {other}"))
                        }
                    }
                }
                if kind.is_empty() {
                    return Err("unknown option for virtio-input devices: ".into());
                }
                Ok(Device::VirtioInput(kind))
            }
            "virtio-gpu" => {
                let (mut width, mut height) = (0u32, 0u32);
                for o in &opts {
                    let slot = match o.key.as_str() {
                        "width" => &mut width,
                        "height" => &mut height,
                        other => {
                            return Err(format!("unknown option for virtio-gpu devices: {other}"))
                        }
                    };
                    *slot = o.value.parse().ok().filter(|v| *v >= 1).ok_or_else(|| {
                        format!("invalid value for virtio-gpu {}: {}", o.key, o.value)
                    })?;
                }
                if width == 0 && height == 0 {
                    (width, height) = (800, 600);
                }
                if width < 1 || height < 1 {
                    return Err(format!(
                        "invalid dimensions for virtio-gpu device resolution: {width}x{height}"
                    ));
                }
                Ok(Device::VirtioGpu { width, height })
            }
            "virtio-balloon" if opts.is_empty() => Ok(Device::VirtioBalloon),
            "virtio-balloon" => Err(format!(
                "unknown options for virtio-balloon devices: {}",
                go_options(&opts)
            )),
            "rosetta" => {
                let (mut mount_tag, mut install, mut ignore_if_missing) =
                    (String::new(), false, false);
                for o in &opts {
                    match o.key.as_str() {
                        "mountTag" => mount_tag = o.value.clone(),
                        "install" => install = true,
                        "ignore-if-missing" => ignore_if_missing = true,
                        other => return Err(format!("unknown option for rosetta share: {other}")),
                    }
                }
                Ok(Device::Rosetta {
                    mount_tag,
                    install,
                    ignore_if_missing,
                })
            }
            "nbd" => {
                let (mut uri, mut device_id, mut readonly) = (String::new(), String::new(), false);
                for o in &opts {
                    match o.key.as_str() {
                        "uri" => uri = o.value.clone(),
                        "deviceId" => device_id = o.value.clone(),
                        "readonly" => readonly = true,
                        "timeout" => {
                            o.value
                                .parse::<i32>()
                                .map_err(|_| go_parse_error("ParseInt", &o.value))?;
                        }
                        "sync" if o.value == "full" || o.value == "none" => {}
                        "sync" => {
                            return Err(format!(
                                "invalid sync mode: {}, must be 'full' or 'none'",
                                o.value
                            ))
                        }
                        other => return Err(format!("unknown option for nbd devices: {other}")),
                    }
                }
                Ok(Device::Nbd {
                    uri,
                    device_id,
                    readonly,
                })
            }
            other => Err(format!("unknown device type: {other}")),
        }
    }
}

fn disk_only(dev_name: &str, opts: &[Opt]) -> Result<Disk, String> {
    let mut disk = Disk::default();
    for o in opts {
        disk.take(dev_name, o)?;
    }
    Ok(disk)
}

fn virtio_blk(opts: &[Opt]) -> Result<Device, String> {
    let mut disk = Disk::default();
    let mut device_id = String::new();
    for o in opts {
        match o.key.as_str() {
            "deviceId" => device_id = o.value.clone(),
            _ => disk.take("virtio-blk", o)?,
        }
    }
    validate_disk_image(&disk.path)?;
    Ok(Device::VirtioBlk { disk, device_id })
}

/// vfkit's `VirtioBlk.validate`: the file opens, has a header, and is not qcow2.
fn validate_disk_image(path: &str) -> Result<(), String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| {
        format!(
            "failed to open file {path}: {}",
            go_path_error("open", path, &e)
        )
    })?;
    let mut header = [0u8; 4];
    let n = file
        .read(&mut header)
        .map_err(|e| format!("failed to read the header of file {path}: {e}"))?;
    if n == 0 {
        return Err(format!("failed to read the header of file {path}: EOF"));
    }
    if &header[..n] == b"QFI\xfb" {
        return Err("vfkit does not support qcow2 image format".into());
    }
    Ok(())
}

fn virtio_net(opts: &[Opt]) -> Result<Device, String> {
    let mut nat = false;
    let mut mac = None;
    let mut fd = None;
    let mut unix_socket = String::new();
    let mut has_type = false;
    let mut type_only: Vec<&str> = Vec::new();
    for o in opts {
        match o.key.as_str() {
            "nat" if o.value.is_empty() => nat = true,
            "nat" => {
                return Err(format!(
                    "unexpected value for virtio-net 'nat' option: {}",
                    o.value
                ))
            }
            "mac" => mac = Some(parse_mac(&o.value)?),
            "fd" => {
                let v: i64 = o
                    .value
                    .parse()
                    .map_err(|_| go_parse_error("Atoi", &o.value))?;
                if !(0..=i64::from(i32::MAX)).contains(&v) {
                    return Err(format!("invalid file descriptor: {v}"));
                }
                fd = Some(v);
            }
            "unixSocketPath" => unix_socket = o.value.clone(),
            "type" if o.value == "unixgram" => has_type = true,
            "type" => {
                return Err(format!(
                    "unsupported virtio-net type: {} (only 'unixgram' is supported)",
                    o.value
                ))
            }
            "path" => {
                unix_socket = o.value.clone();
                type_only.push("path");
            }
            "vfkitMagic" if o.value == "on" || o.value == "off" => {}
            "vfkitMagic" => {
                return Err(format!(
                    "invalid value for vfkitMagic: {} (expected on/off)",
                    o.value
                ))
            }
            "offloading" if o.value == "off" => type_only.push("offloading"),
            "offloading" => {
                return Err(format!(
                    "invalid value for offloading: {} (only 'off' is supported)",
                    o.value
                ))
            }
            other => return Err(format!("unknown option for virtio-net devices: {other}")),
        }
    }
    if has_type && unix_socket.is_empty() {
        return Err("'type' option requires 'path' to be specified".into());
    }
    if let (false, Some(first)) = (has_type, type_only.first()) {
        return Err(format!("'{first}' option requires 'type' to be specified"));
    }
    let attachment = match (nat, fd, unix_socket.is_empty()) {
        (true, Some(_), _) => return Err("'nat' and 'fd' cannot be set at the same time".into()),
        (true, None, false) => {
            return Err("'nat' and 'unixSocketPath' cannot be set at the same time".into())
        }
        (false, Some(_), false) => {
            return Err("'fd' and 'unixSocketPath' cannot be set at the same time".into())
        }
        (true, None, true) => NetAttachment::Nat,
        (false, Some(fd), true) => NetAttachment::Fd(fd),
        (false, None, false) => NetAttachment::UnixSocket(unix_socket),
        (false, None, true) => {
            return Err("one of 'nat' or 'fd' or 'unixSocketPath' must be set".into())
        }
    };
    Ok(Device::VirtioNet { attachment, mac })
}

/// Go's `net.ParseMAC` for the 6-byte forms (`aa:bb:..`, `aa-bb-..`, `aabb.ccdd.eeff`),
/// printed back lower-case with colons as Go's `HardwareAddr.String` does.
fn parse_mac(s: &str) -> Result<String, String> {
    let bad = || format!("address {s}: invalid MAC address");
    let bytes: Vec<u8> = if s.len() == 17 && (s.as_bytes()[2] == b':' || s.as_bytes()[2] == b'-') {
        let sep = char::from(s.as_bytes()[2]);
        s.split(sep)
            .map(|p| {
                (p.len() == 2)
                    .then(|| u8::from_str_radix(p, 16).ok())
                    .flatten()
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(bad)?
    } else if s.len() == 14 && s.as_bytes()[4] == b'.' {
        let hex: String = s.split('.').collect();
        (0..6)
            .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(bad)?
    } else {
        return Err(bad());
    };
    if bytes.len() != 6 {
        return Err(bad());
    }
    Ok(bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":"))
}

fn virtio_serial(opts: &[Opt]) -> Result<Device, String> {
    let (mut log, mut stdio, mut pty) = (String::new(), false, false);
    for o in opts {
        match o.key.as_str() {
            "logFilePath" => log = o.value.clone(),
            "stdio" if o.value.is_empty() => stdio = true,
            "stdio" => {
                return Err(format!(
                    "unexpected value for virtio-serial 'stdio' option: {}",
                    o.value
                ))
            }
            "pty" => pty = true,
            other => return Err(format!("unknown option for virtio-serial devices: {other}")),
        }
    }
    match (log.is_empty(), stdio, pty) {
        (false, true, _) => Err("'logFilePath' and 'stdio' cannot be set at the same time".into()),
        (false, _, true) => Err("'logFilePath' and 'pty' cannot be set at the same time".into()),
        (true, true, true) => Err("'stdio' and 'pty' cannot be set at the same time".into()),
        (true, false, false) => Err("one of 'logFilePath', 'stdio' or 'pty' must be set".into()),
        (false, false, false) => Ok(Device::VirtioSerial(SerialOutput::LogFile(log))),
        (true, true, false) => Ok(Device::VirtioSerial(SerialOutput::Stdio)),
        (true, false, true) => Ok(Device::VirtioSerial(SerialOutput::Pty)),
    }
}

fn virtio_vsock(opts: &[Opt]) -> Result<Device, String> {
    let (mut port, mut socket_url, mut listen) = (0u32, String::new(), true);
    for o in opts {
        match o.key.as_str() {
            "socketURL" => socket_url = o.value.clone(),
            "port" => port = parse_uint32(&o.value)?,
            "listen" => listen = true,
            "connect" => listen = false,
            other => return Err(format!("unknown option for virtio-vsock devices: {other}")),
        }
    }
    Ok(Device::VirtioVsock {
        port,
        socket_url,
        listen,
    })
}

/// Go's `strconv.ParseUint(s, 10, 32)` and its error text.
fn parse_uint32(s: &str) -> Result<u32, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(go_parse_error("ParseUint", s));
    }
    s.parse()
        .map_err(|_| format!("strconv.ParseUint: parsing {s:?}: value out of range"))
}

/// Go's `strconv.<func>: parsing "s": invalid syntax`.
pub fn go_parse_error(func: &str, s: &str) -> String {
    format!("strconv.{func}: parsing {s:?}: invalid syntax")
}

/// Go's `*fs.PathError` text: `open /x: no such file or directory`.
pub fn go_path_error(op: &str, path: &str, e: &std::io::Error) -> String {
    let text = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    };
    format!("{op} {path}: {text}")
}

/// The VM vfkit was asked for, after its command line was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualMachine {
    pub cpus: u64,
    pub memory_mib: u64,
    pub bootloader: Bootloader,
    pub devices: Vec<Device>,
    /// `--timesync vsockPort=N`.
    pub timesync_port: Option<u32>,
}

impl VirtualMachine {
    /// The vsock ports and where each is exposed on the host.
    pub fn vsock_ports(&self) -> Vec<(u32, PathBuf, bool)> {
        self.devices
            .iter()
            .filter_map(|d| match d {
                Device::VirtioVsock {
                    port,
                    socket_url,
                    listen,
                } if !socket_url.is_empty() => Some((*port, PathBuf::from(socket_url), *listen)),
                _ => None,
            })
            .collect()
    }
}

/// vfkit's `--timesync` value (`vsockPort=N`).
pub fn timesync(value: &str) -> Result<Option<u32>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    let parts: Vec<String> = value.split(',').map(str::to_owned).collect();
    let mut port = None;
    for o in options(&parts) {
        match o.key.as_str() {
            "vsockPort" => port = Some(parse_uint32(&o.value)?),
            other => return Err(format!("unknown option for timesync parameter: {other}")),
        }
    }
    port.map(Some)
        .ok_or_else(|| "missing 'vsockPort' option for timesync parameter".into())
}

#[cfg(test)]
mod tests;
