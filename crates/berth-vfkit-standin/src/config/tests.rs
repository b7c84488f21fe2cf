use super::*;

fn dev(arg: &str) -> Result<Device, String> {
    Device::from_cmdline(arg)
}

fn boot(items: &[&str]) -> Result<Bootloader, String> {
    Bootloader::from_cmdline(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>())
}

#[test]
fn the_documented_device_forms_parse() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("vfkit.img");
    std::fs::write(&img, b"raw disk").unwrap();
    let img = img.display().to_string();
    assert_eq!(
        dev(&format!(
            "virtio-blk,path={img},deviceId=berth-root,readonly"
        ))
        .unwrap(),
        Device::VirtioBlk {
            disk: Disk {
                path: img.clone(),
                kind: DiskType::Default,
                readonly: true
            },
            device_id: "berth-root".into()
        }
    );
    assert!(dev(&format!("virtio-blk,path={img},type=image")).is_ok());
    assert_eq!(
        dev("virtio-net,nat,mac=52:54:00:70:2B:71").unwrap(),
        Device::VirtioNet {
            attachment: NetAttachment::Nat,
            mac: Some("52:54:00:70:2b:71".into())
        }
    );
    assert_eq!(
        dev("virtio-net,unixSocketPath=/Users/virtuser/virtio-net.sock").unwrap(),
        Device::VirtioNet {
            attachment: NetAttachment::UnixSocket("/Users/virtuser/virtio-net.sock".into()),
            mac: None
        }
    );
    assert!(dev("virtio-net,type=unixgram,path=/tmp/n.sock,offloading=off").is_ok());
    assert_eq!(
        dev("virtio-serial,logFilePath=/Users/virtuser/vfkit.log").unwrap(),
        Device::VirtioSerial(SerialOutput::LogFile("/Users/virtuser/vfkit.log".into()))
    );
    assert_eq!(
        dev("virtio-serial,stdio").unwrap(),
        Device::VirtioSerial(SerialOutput::Stdio)
    );
    assert_eq!(dev("virtio-rng").unwrap(), Device::VirtioRng);
    assert_eq!(dev("virtio-balloon").unwrap(), Device::VirtioBalloon);
    assert_eq!(
        dev("virtio-vsock,port=5,socketURL=/Users/virtuser/vfkit-5.sock").unwrap(),
        Device::VirtioVsock {
            port: 5,
            socket_url: "/Users/virtuser/vfkit-5.sock".into(),
            listen: true
        }
    );
    assert_eq!(
        dev("virtio-vsock,port=6,socketURL=/Users/virtuser/vfkit-6.sock,connect").unwrap(),
        Device::VirtioVsock {
            port: 6,
            socket_url: "/Users/virtuser/vfkit-6.sock".into(),
            listen: false
        }
    );
    assert_eq!(
        dev("virtio-fs,sharedDir=/Users/virtuser/vfkit/,mountTag=vfkit-share").unwrap(),
        Device::VirtioFs {
            shared_dir: "/Users/virtuser/vfkit/".into(),
            mount_tag: "vfkit-share".into()
        }
    );
    assert!(dev("rosetta,mountTag=rosetta-share,install").is_ok());
    assert_eq!(
        dev("virtio-gpu,width=1920,height=1080").unwrap(),
        Device::VirtioGpu {
            width: 1920,
            height: 1080
        }
    );
    assert_eq!(
        dev("virtio-input,pointing").unwrap(),
        Device::VirtioInput("pointing".into())
    );
    assert!(dev("nbd,uri=nbd://192.168.64.4:11111/export,deviceId=nbd1,timeout=3000").is_ok());
    assert!(dev(&format!("usb-mass-storage,path={img},readonly")).is_ok());
}

#[test]
fn malformed_devices_get_vfkits_text() {
    let dir = tempfile::tempdir().unwrap();
    let qcow = dir.path().join("disk.qcow2");
    std::fs::write(&qcow, b"QFI\xfb\0\0\0\x03").unwrap();
    let empty = dir.path().join("empty.img");
    std::fs::write(&empty, b"").unwrap();
    let cases = [
        ("virtio-gpuu", "unknown device type: virtio-gpuu".to_owned()),
        (
            "virtio-blk,path=/nonexistent/disk.img",
            "failed to open file /nonexistent/disk.img: open /nonexistent/disk.img: no such file or directory".to_owned(),
        ),
        (
            &format!("virtio-blk,path={}", qcow.display()),
            "vfkit does not support qcow2 image format".to_owned(),
        ),
        (
            &format!("virtio-blk,path={}", empty.display()),
            format!("failed to read the header of file {}: EOF", empty.display()),
        ),
        (
            "virtio-blk,path=/x,cache=none",
            "unknown option for virtio-blk devices: cache".to_owned(),
        ),
        (
            "virtio-vsock,port=x,socketURL=/s",
            "strconv.ParseUint: parsing \"x\": invalid syntax".to_owned(),
        ),
        (
            "virtio-vsock,port=4294967296,socketURL=/s",
            "strconv.ParseUint: parsing \"4294967296\": value out of range".to_owned(),
        ),
        (
            "virtio-vsock,port=5,socketURL=/s,both",
            "unknown option for virtio-vsock devices: both".to_owned(),
        ),
        (
            "virtio-net,nat,mac=zz",
            "address zz: invalid MAC address".to_owned(),
        ),
        (
            "virtio-net",
            "one of 'nat' or 'fd' or 'unixSocketPath' must be set".to_owned(),
        ),
        (
            "virtio-net,nat,unixSocketPath=/n.sock",
            "'nat' and 'unixSocketPath' cannot be set at the same time".to_owned(),
        ),
        (
            "virtio-net,path=/n.sock",
            "'path' option requires 'type' to be specified".to_owned(),
        ),
        (
            "virtio-serial",
            "one of 'logFilePath', 'stdio' or 'pty' must be set".to_owned(),
        ),
        (
            "virtio-serial,logFilePath=/l,stdio",
            "'logFilePath' and 'stdio' cannot be set at the same time".to_owned(),
        ),
        (
            "virtio-rng,seed=1",
            "unknown options for virtio-rng devices: [{seed 1}]".to_owned(),
        ),
        (
            "virtio-fs,sharedDir=/x,tag=y",
            "unknown option for virtio-fs devices: tag".to_owned(),
        ),
        (
            "virtio-gpu,width=0",
            "invalid value for virtio-gpu width: 0".to_owned(),
        ),
    ];
    for (arg, want) in cases {
        assert_eq!(dev(arg).unwrap_err(), want, "{arg}");
    }
}

#[test]
fn bootloaders_parse_as_vfkit_reads_them() {
    assert_eq!(
        boot(&[
            "linux",
            "kernel=/k",
            "initrd=/i",
            "cmdline=\"console=hvc0 quiet\""
        ])
        .unwrap(),
        Bootloader::Linux {
            kernel: "/k".into(),
            initrd: "/i".into(),
            cmdline: "console=hvc0 quiet".into()
        }
    );
    assert_eq!(
        boot(&[
            "efi",
            "variable-store=/Users/virtuser/efi-variable-store",
            "create"
        ])
        .unwrap(),
        Bootloader::Efi {
            variable_store: "/Users/virtuser/efi-variable-store".into(),
            create: true
        }
    );
    assert_eq!(
        boot(&[]).unwrap_err(),
        "empty option list in --bootloader command line argument"
    );
    assert_eq!(
        boot(&["bios"]).unwrap_err(),
        "unknown bootloader type: bios"
    );
    assert_eq!(
        boot(&["linux", "vmlinuz=/k"]).unwrap_err(),
        "unknown option for Linux bootloaders: vmlinuz"
    );
    assert_eq!(
        boot(&["efi", "variable-store=/s", "create=yes"]).unwrap_err(),
        "unexpected value for EFI bootloader 'create' option: yes"
    );
}

#[test]
fn timesync_takes_a_vsock_port() {
    assert_eq!(timesync("vsockPort=1234"), Ok(Some(1234)));
    assert_eq!(timesync(""), Ok(None));
    assert_eq!(
        timesync("port=1").unwrap_err(),
        "unknown option for timesync parameter: port"
    );
}
