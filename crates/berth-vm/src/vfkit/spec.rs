//! vfkit's command line as plain data: [`VfkitSpec`] -> argv ([`VfkitSpec::to_args`]) and back
//! ([`VfkitSpec::from_args`]). Pure, so it builds and is tested on every OS; only spawning vfkit
//! is macOS-only.
//!
//! The argv grammar is vfkit's `doc/usage.md`: `--cpus N --memory MiB --bootloader KIND,k=v,...
//! --device KIND,k=v,flag,... --restful-uri URI`.

use std::path::PathBuf;

/// One vfkit VM: what `vfkit` is started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VfkitSpec {
    pub cpus: u32,
    pub memory_mib: u64,
    pub bootloader: Bootloader,
    pub devices: Vec<Device>,
    /// The REST endpoint vfkit serves (`unix:///path`), used for state and graceful stop.
    pub restful_uri: Option<RestfulUri>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootloader {
    /// Direct kernel boot. On Apple silicon vfkit needs an *uncompressed* arm64 kernel (a raw
    /// `Image`; the aarch64 guest image's `vmlinuz` is one).
    Linux {
        kernel: PathBuf,
        initrd: PathBuf,
        cmdline: String,
    },
    /// EFI firmware booting the disk (macOS 13+).
    Efi {
        variable_store: PathBuf,
        create: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VsockMode {
    /// vfkit listens on the unix socket; the guest connects out (the default).
    Listen,
    /// The host connects to the unix socket; the guest listens.
    Connect,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Device {
    /// A raw (sparse) disk image; `device_id` is the virtio-blk serial the guest reads.
    VirtioBlk {
        path: PathBuf,
        device_id: Option<String>,
        readonly: bool,
    },
    VirtioVsock {
        port: u32,
        socket_url: PathBuf,
        mode: VsockMode,
    },
    VirtioFs {
        shared_dir: PathBuf,
        mount_tag: String,
    },
    VirtioRng,
    /// Virtualization.framework's traditional memory balloon: the guest gives memory back when
    /// the host inflates it (vfkit has no way to ask that yet, and the framework reports no
    /// free pages on its own).
    VirtioBalloon,
    /// The console, written to a file.
    VirtioSerial {
        log_file_path: PathBuf,
    },
    /// NAT networking through the host.
    VirtioNet {
        mac: Option<String>,
    },
    /// Rosetta for x86_64 binaries in an arm64 guest (Apple silicon only).
    Rosetta {
        mount_tag: String,
        install: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestfulUri {
    Unix(PathBuf),
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    #[error("{flag} needs a value")]
    MissingValue { flag: String },
    #[error("unknown vfkit option {flag:?}")]
    UnknownFlag { flag: String },
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
}

impl VfkitSpec {
    /// The argv after the `vfkit` program name.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec![
            "--cpus".to_owned(),
            self.cpus.to_string(),
            "--memory".to_owned(),
            self.memory_mib.to_string(),
            "--bootloader".to_owned(),
            self.bootloader.to_arg(),
        ];
        for device in &self.devices {
            args.push("--device".to_owned());
            args.push(device.to_arg());
        }
        if let Some(uri) = &self.restful_uri {
            args.push("--restful-uri".to_owned());
            args.push(match uri {
                RestfulUri::Unix(path) => format!("unix://{}", path.display()),
                RestfulUri::None => "none://".to_owned(),
            });
        }
        args
    }

    /// Parses what [`to_args`](Self::to_args) writes (the subset of vfkit's grammar Berth uses).
    pub fn from_args<S: AsRef<str>>(args: &[S]) -> Result<VfkitSpec, SpecError> {
        let mut cpus = 1;
        let mut memory_mib = 512;
        let mut bootloader = None;
        let mut devices = Vec::new();
        let mut restful_uri = None;
        let mut iter = args.iter().map(AsRef::as_ref);
        while let Some(flag) = iter.next() {
            let mut value = || {
                iter.next().ok_or_else(|| SpecError::MissingValue {
                    flag: flag.to_owned(),
                })
            };
            match flag {
                "--cpus" => cpus = parse_number(flag, value()?)?,
                "--memory" => memory_mib = parse_number(flag, value()?)?,
                "--bootloader" => bootloader = Some(Bootloader::from_arg(value()?)?),
                "--device" => devices.push(Device::from_arg(value()?)?),
                "--restful-uri" => {
                    let uri = value()?;
                    restful_uri = Some(match uri.strip_prefix("unix://") {
                        Some(path) => RestfulUri::Unix(PathBuf::from(path)),
                        None if uri.starts_with("none://") => RestfulUri::None,
                        None => {
                            return Err(invalid("--restful-uri", format!("unsupported {uri:?}")))
                        }
                    });
                }
                other => {
                    return Err(SpecError::UnknownFlag {
                        flag: other.to_owned(),
                    })
                }
            }
        }
        Ok(VfkitSpec {
            cpus,
            memory_mib,
            bootloader: bootloader.ok_or_else(|| SpecError::MissingValue {
                flag: "--bootloader".to_owned(),
            })?,
            devices,
            restful_uri,
        })
    }

    /// The unix socket the guest agent's vsock port appears on, if one is configured.
    pub fn link_socket(&self) -> Option<&PathBuf> {
        self.devices.iter().find_map(|d| match d {
            Device::VirtioVsock {
                socket_url,
                mode: VsockMode::Connect,
                ..
            } => Some(socket_url),
            _ => None,
        })
    }
}

impl Bootloader {
    fn to_arg(&self) -> String {
        match self {
            Bootloader::Linux {
                kernel,
                initrd,
                cmdline,
            } => format!(
                "linux,kernel={},initrd={},cmdline=\"{}\"",
                kernel.display(),
                initrd.display(),
                cmdline
            ),
            Bootloader::Efi {
                variable_store,
                create,
            } => {
                let mut arg = format!("efi,variable-store={}", variable_store.display());
                if *create {
                    arg.push_str(",create");
                }
                arg
            }
        }
    }

    fn from_arg(arg: &str) -> Result<Bootloader, SpecError> {
        let (kind, options) = split_options(arg)?;
        match kind.as_str() {
            "linux" => Ok(Bootloader::Linux {
                kernel: options.path("kernel")?,
                initrd: options.path("initrd")?,
                cmdline: options.required("cmdline")?.to_owned(),
            }),
            "efi" => Ok(Bootloader::Efi {
                variable_store: options.path("variable-store")?,
                create: options.flag("create"),
            }),
            other => Err(invalid("--bootloader", format!("unknown kind {other:?}"))),
        }
    }
}

impl Device {
    fn to_arg(&self) -> String {
        match self {
            Device::VirtioBlk {
                path,
                device_id,
                readonly,
            } => {
                // vfkit's own order: path, readonly, then deviceId.
                let mut arg = format!("virtio-blk,path={}", path.display());
                if *readonly {
                    arg.push_str(",readonly");
                }
                if let Some(id) = device_id {
                    arg.push_str(&format!(",deviceId={id}"));
                }
                arg
            }
            Device::VirtioVsock {
                port,
                socket_url,
                mode,
            } => format!(
                "virtio-vsock,port={port},socketURL={},{}",
                socket_url.display(),
                match mode {
                    VsockMode::Listen => "listen",
                    VsockMode::Connect => "connect",
                }
            ),
            Device::VirtioFs {
                shared_dir,
                mount_tag,
            } => format!(
                "virtio-fs,sharedDir={},mountTag={mount_tag}",
                shared_dir.display()
            ),
            Device::VirtioRng => "virtio-rng".to_owned(),
            Device::VirtioBalloon => "virtio-balloon".to_owned(),
            Device::VirtioSerial { log_file_path } => {
                format!("virtio-serial,logFilePath={}", log_file_path.display())
            }
            Device::VirtioNet { mac } => match mac {
                Some(mac) => format!("virtio-net,nat,mac={mac}"),
                None => "virtio-net,nat".to_owned(),
            },
            Device::Rosetta { mount_tag, install } => {
                let mut arg = format!("rosetta,mountTag={mount_tag}");
                if *install {
                    arg.push_str(",install");
                }
                arg
            }
        }
    }

    fn from_arg(arg: &str) -> Result<Device, SpecError> {
        let (kind, options) = split_options(arg)?;
        Ok(match kind.as_str() {
            "virtio-blk" => Device::VirtioBlk {
                path: options.path("path")?,
                device_id: options.get("deviceId").map(str::to_owned),
                readonly: options.flag("readonly"),
            },
            "virtio-vsock" => Device::VirtioVsock {
                port: parse_number("virtio-vsock port", options.required("port")?)?,
                socket_url: options.path("socketURL")?,
                mode: if options.flag("connect") {
                    VsockMode::Connect
                } else {
                    VsockMode::Listen
                },
            },
            "virtio-fs" => Device::VirtioFs {
                shared_dir: options.path("sharedDir")?,
                mount_tag: options.required("mountTag")?.to_owned(),
            },
            "virtio-rng" => Device::VirtioRng,
            "virtio-balloon" => Device::VirtioBalloon,
            "virtio-serial" => Device::VirtioSerial {
                log_file_path: options.path("logFilePath")?,
            },
            "virtio-net" => Device::VirtioNet {
                mac: options.get("mac").map(str::to_owned),
            },
            "rosetta" => Device::Rosetta {
                mount_tag: options.required("mountTag")?.to_owned(),
                install: options.flag("install"),
            },
            other => return Err(invalid("--device", format!("unknown device {other:?}"))),
        })
    }
}

/// `kind,key=value,flag,key="quoted, value"` -> (kind, options).
struct Options {
    what: String,
    pairs: Vec<(String, Option<String>)>,
}

impl Options {
    fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref())
    }

    fn required(&self, key: &str) -> Result<&str, SpecError> {
        self.get(key)
            .ok_or_else(|| invalid(&self.what, format!("missing {key}=")))
    }

    fn path(&self, key: &str) -> Result<PathBuf, SpecError> {
        self.required(key).map(PathBuf::from)
    }

    fn flag(&self, key: &str) -> bool {
        self.pairs.iter().any(|(k, v)| k == key && v.is_none())
    }
}

fn split_options(arg: &str) -> Result<(String, Options), SpecError> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in arg.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    if quoted {
        return Err(invalid(arg, "unterminated quote".to_owned()));
    }
    parts.push(current);
    let kind = parts.remove(0);
    let pairs = parts
        .into_iter()
        .map(|part| match part.split_once('=') {
            Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
            None => (part, None),
        })
        .collect();
    Ok((kind.clone(), Options { what: kind, pairs }))
}

fn parse_number<T: std::str::FromStr>(what: &str, value: &str) -> Result<T, SpecError> {
    value
        .parse()
        .map_err(|_| invalid(what, format!("not a number: {value:?}")))
}

fn invalid(what: &str, message: String) -> SpecError {
    SpecError::Invalid {
        what: what.to_owned(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berth_spec() -> VfkitSpec {
        VfkitSpec {
            cpus: 4,
            memory_mib: 4096,
            bootloader: Bootloader::Linux {
                kernel: "/Users/me/Library/Berth/image/vmlinuz".into(),
                initrd: "/Users/me/Library/Berth/run/initrd".into(),
                cmdline: "console=hvc0 quiet berth.link=vsock:1024".into(),
            },
            devices: vec![
                Device::VirtioBlk {
                    path: "/Users/me/Library/Berth/image/rootfs.erofs".into(),
                    device_id: Some("berth-root".into()),
                    readonly: true,
                },
                Device::VirtioBlk {
                    path: "/Users/me/Library/Berth/data.raw".into(),
                    device_id: Some("berth-data".into()),
                    readonly: false,
                },
                Device::VirtioVsock {
                    port: 1024,
                    socket_url: "/Users/me/Library/Berth/run/link.sock".into(),
                    mode: VsockMode::Connect,
                },
                Device::VirtioFs {
                    shared_dir: "/Users".into(),
                    mount_tag: "berth-users".into(),
                },
                Device::VirtioRng,
                Device::VirtioBalloon,
                Device::VirtioSerial {
                    log_file_path: "/Users/me/Library/Logs/Berth/vm-console.log".into(),
                },
                Device::VirtioNet {
                    mac: Some("52:54:00:70:2b:71".into()),
                },
                Device::Rosetta {
                    mount_tag: "rosetta".into(),
                    install: true,
                },
            ],
            restful_uri: Some(RestfulUri::Unix(
                "/Users/me/Library/Berth/run/vfkit.sock".into(),
            )),
        }
    }

    #[test]
    fn golden_argv() {
        let args = berth_spec().to_args();
        let expected = [
            "--cpus",
            "4",
            "--memory",
            "4096",
            "--bootloader",
            "linux,kernel=/Users/me/Library/Berth/image/vmlinuz,initrd=/Users/me/Library/Berth/run/initrd,cmdline=\"console=hvc0 quiet berth.link=vsock:1024\"",
            "--device",
            "virtio-blk,path=/Users/me/Library/Berth/image/rootfs.erofs,readonly,deviceId=berth-root",
            "--device",
            "virtio-blk,path=/Users/me/Library/Berth/data.raw,deviceId=berth-data",
            "--device",
            "virtio-vsock,port=1024,socketURL=/Users/me/Library/Berth/run/link.sock,connect",
            "--device",
            "virtio-fs,sharedDir=/Users,mountTag=berth-users",
            "--device",
            "virtio-rng",
            "--device",
            "virtio-balloon",
            "--device",
            "virtio-serial,logFilePath=/Users/me/Library/Logs/Berth/vm-console.log",
            "--device",
            "virtio-net,nat,mac=52:54:00:70:2b:71",
            "--device",
            "rosetta,mountTag=rosetta,install",
            "--restful-uri",
            "unix:///Users/me/Library/Berth/run/vfkit.sock",
        ];
        assert_eq!(args, expected);
    }

    #[test]
    fn spec_round_trips_through_argv() {
        let spec = berth_spec();
        assert_eq!(VfkitSpec::from_args(&spec.to_args()).unwrap(), spec);
        let efi = VfkitSpec {
            cpus: 1,
            memory_mib: 512,
            bootloader: Bootloader::Efi {
                variable_store: "/tmp/efi-store".into(),
                create: true,
            },
            devices: vec![Device::VirtioVsock {
                port: 5,
                socket_url: "/tmp/v.sock".into(),
                mode: VsockMode::Listen,
            }],
            restful_uri: Some(RestfulUri::None),
        };
        assert_eq!(VfkitSpec::from_args(&efi.to_args()).unwrap(), efi);
    }

    #[test]
    fn parses_vfkits_documented_examples() {
        let spec = VfkitSpec::from_args(&[
            "--bootloader",
            "efi,variable-store=/Users/virtuser/efi-variable-store,create",
            "--device",
            "virtio-vsock,port=5,socketURL=/Users/virtuser/vfkit-5.sock",
            "--device",
            "virtio-fs,sharedDir=/Users/virtuser/vfkit/,mountTag=vfkit-share",
            "--device",
            "virtio-serial,logFilePath=/Users/virtuser/vfkit.log",
        ])
        .unwrap();
        assert_eq!(spec.cpus, 1, "vfkit's default");
        assert_eq!(
            spec.devices[0],
            Device::VirtioVsock {
                port: 5,
                socket_url: "/Users/virtuser/vfkit-5.sock".into(),
                mode: VsockMode::Listen
            }
        );
    }

    #[test]
    fn the_link_socket_is_the_connect_mode_vsock() {
        assert_eq!(
            berth_spec().link_socket(),
            Some(&PathBuf::from("/Users/me/Library/Berth/run/link.sock"))
        );
    }

    #[test]
    fn bad_argv_is_an_error_not_a_panic() {
        for bad in [
            &["--cpus"][..],
            &["--cpus", "many", "--bootloader", "efi,variable-store=/x"],
            &["--bootloader", "linux,kernel=/k"],
            &["--bootloader", "bios"],
            &[
                "--bootloader",
                "efi,variable-store=/x",
                "--device",
                "virtio-gpu",
            ],
            &[
                "--bootloader",
                "efi,variable-store=/x",
                "--device",
                "virtio-vsock,port=x,socketURL=/s",
            ],
            &["--bootloader", "linux,kernel=/k,initrd=/i,cmdline=\"open"],
            &["--gui"],
            &[],
        ] {
            assert!(VfkitSpec::from_args(bad).is_err(), "{bad:?}");
        }
    }
}
