//! The stand-in binary as a program: vfkit's documented argument forms get past the command
//! line, malformed ones end it with status 1 and vfkit's text, printed as vfkit prints it.

use std::process::{Command, Output};

fn standin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berth-vfkit-standin"))
        .args(args)
        .output()
        .expect("the stand-in runs")
}

/// The error vfkit reports: cobra's `Error: <text>` first, `main`'s `<text>` last.
fn refused(args: &[&str]) -> String {
    let out = standin(args);
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    assert!(out.stdout.is_empty(), "{args:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    let first = stderr.lines().next().unwrap_or_default();
    let last = stderr.lines().last().unwrap_or_default();
    let text = first.strip_prefix("Error: ").expect("cobra's Error: line");
    assert_eq!(text, last, "{stderr}");
    assert!(stderr.contains("Usage:\n  vfkit [flags]\n"), "{stderr}");
    text.to_owned()
}

#[test]
fn malformed_command_lines_are_refused_with_vfkits_text() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("disk.qcow2");
    std::fs::write(&disk, b"QFI\xfb\0\0\0\x03").unwrap();
    let qcow = format!("virtio-blk,path={}", disk.display());
    let efi = "efi,variable-store=/tmp/efi-store";
    let cases: Vec<(Vec<&str>, String)> = vec![
        (vec!["--gpu"], "unknown flag: --gpu".into()),
        (vec!["-x"], "unknown shorthand flag: 'x' in -x".into()),
        (vec!["--cpus"], "flag needs an argument: --cpus".into()),
        (
            vec!["--cpus", "two"],
            "invalid argument \"two\" for \"-c, --cpus\" flag: strconv.ParseUint: parsing \"two\": invalid syntax".into(),
        ),
        (
            vec!["--bootloader", "linux,cmdline=\"console=hvc0"],
            "invalid argument \"linux,cmdline=\\\"console=hvc0\" for \"-b, --bootloader\" flag: mismatched \"".into(),
        ),
        (vec![], "empty option list in --bootloader command line argument".into()),
        (vec!["--bootloader", "bios"], "unknown bootloader type: bios".into()),
        (
            vec!["--kernel", "/k", "--initrd", "/i"],
            "if any flags in the group [kernel initrd kernel-cmdline] are set they must all be set; missing [kernel-cmdline]".into(),
        ),
        (
            vec!["-b", efi, "--device", "virtio-vsock,port=x,socketURL=/s"],
            "strconv.ParseUint: parsing \"x\": invalid syntax".into(),
        ),
        (vec!["-b", efi, "--device", "virtio-snd"], "unknown device type: virtio-snd".into()),
        (vec!["-b", efi, "--device", &qcow], "vfkit does not support qcow2 image format".into()),
        (
            vec!["-b", efi, "--device", "virtio-serial"],
            "one of 'logFilePath', 'stdio' or 'pty' must be set".into(),
        ),
        (
            vec!["-b", efi, "--device", "virtio-net,nat,mac=52:54:00"],
            "address 52:54:00: invalid MAC address".into(),
        ),
        (
            vec!["-b", "linux,kernel=/absent/vmlinuz,initrd=/absent/initrd,cmdline=\"quiet\""],
            "stat /absent/vmlinuz: no such file or directory".into(),
        ),
    ];
    for (args, want) in cases {
        assert_eq!(refused(&args), want, "{args:?}");
    }
}

#[test]
fn the_rest_uri_is_checked_after_the_vm_as_vfkit_does() {
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("vmlinuz");
    let mut bz = vec![0u8; 1024];
    bz[0x202..0x206].copy_from_slice(b"HdrS");
    std::fs::write(&kernel, bz).unwrap();
    let boot = format!(
        "linux,kernel={k},initrd={k},cmdline=\"console=hvc0\"",
        k = kernel.display()
    );
    assert_eq!(
        refused(&["-b", &boot, "--restful-uri", "ftp://h:1"]),
        "invalid scheme ftp"
    );
    assert_eq!(
        refused(&["-b", &boot, "--restful-uri", "unix://"]),
        "invalid unix uri: missing path"
    );
}

#[test]
fn help_and_version_answer_and_exit() {
    let out = standin(&["--version"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("vfkit version: "));
    let out = standin(&["-h"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--restful-uri"));
}
