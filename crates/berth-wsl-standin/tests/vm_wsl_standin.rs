//! The `wsl.exe` stand-in driven with the argv Berth's WSL backend builds (`WslCommand`), its
//! management output read with the backend's own parser: a tiny distribution (busybox) is
//! imported, listed, booted by its `/etc/wsl.conf`, entered with piped stdio and exit codes
//! passed through, terminated, refused where wsl.exe refuses, and unregistered leaving nothing.
//! Needs root (namespaces, mounts), as CI has.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use berth_vm::wsl::output::{decode, parse_list, DistroState};
use berth_vm::wsl::WslCommand;

const STANDIN: &str = env!("CARGO_BIN_EXE_berth-wsl-standin");

struct Wsl {
    state: tempfile::TempDir,
}

impl Wsl {
    fn new() -> Self {
        Wsl {
            state: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, args: &[String], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(STANDIN);
        cmd.args(args)
            .env("BERTH_WSL_STANDIN_STATE", self.state.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            use std::io::Write;
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    }

    fn verb(&self, command: WslCommand) -> Output {
        self.run(&command.to_args(), None)
    }

    fn list(&self) -> Vec<berth_vm::wsl::output::Distro> {
        let out = self.verb(WslCommand::ListVerbose);
        assert!(out.status.success(), "{}", decode(&out.stderr));
        parse_list(&decode(&out.stdout)).unwrap()
    }
}

impl Drop for Wsl {
    /// Every distribution it started ends with it.
    fn drop(&mut self) {
        let _ = self.run(&["--shutdown".into()], None);
    }
}

/// A root file system of the host's static busybox, with a wsl.conf that boots.
fn tiny_distro(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    for d in ["bin", "etc", "proc", "sys", "dev", "run", "tmp", "mnt"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).expect("busybox-static");
    for applet in ["sh", "cat", "hostname", "id", "ps", "ls"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nada:x:1000:1000::/home/ada:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(
        root.join("etc/wsl.conf"),
        "[boot]\ncommand = echo booted > /run/booted\n[network]\nhostname = tiny\n",
    )
    .unwrap();
    let tar = dir.join("tiny.tar");
    let ok = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(ok.success());
    tar
}

fn exec(distro: &str, argv: &[&str]) -> WslCommand {
    WslCommand::Exec {
        distro: distro.into(),
        argv: argv.iter().map(|s| (*s).to_owned()).collect(),
    }
}

#[test]
fn wsl_verbs_on_a_tiny_distribution() {
    let wsl = Wsl::new();
    let files = tempfile::tempdir().unwrap();
    let tar = tiny_distro(files.path());
    let install_dir = files.path().join("install");

    // No distribution yet: wsl.exe fails, in UTF-16, with its error code.
    let out = wsl.verb(WslCommand::ListVerbose);
    assert_eq!(out.status.code(), Some(255));
    assert!(decode(&out.stderr).contains("WSL_E_DEFAULT_DISTRO_NOT_FOUND"));

    let import = WslCommand::Import {
        distro: "tiny".into(),
        install_dir: install_dir.clone(),
        rootfs_tar: tar.clone(),
    };
    let out = wsl.verb(import.clone());
    assert!(out.status.success(), "{}", decode(&out.stderr));
    let listed = wsl.list();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "tiny");
    assert_eq!(listed[0].state, DistroState::Stopped);
    assert!(listed[0].is_default);
    assert_eq!(listed[0].version, 2);

    // The same name again is refused as wsl.exe refuses it.
    let out = wsl.verb(import);
    assert_eq!(out.status.code(), Some(255));
    assert!(decode(&out.stderr).contains("ERROR_ALREADY_EXISTS"));

    // The first command boots it: wsl.conf's boot command ran, its hostname is set, stdin and
    // stdout are the caller's, the exit status comes back.
    let out = wsl.run(
        &exec(
            "tiny",
            &["/bin/sh", "-c", "cat /run/booted; hostname; cat; exit 3"],
        )
        .to_args(),
        Some("from the host\n"),
    );
    assert_eq!(out.status.code(), Some(3), "{}", decode(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "booted\ntiny\nfrom the host\n"
    );
    assert_eq!(wsl.list()[0].state, DistroState::Running);

    // Its own PID namespace (its init is 1), and the user from its /etc/passwd.
    let out = wsl.run(&exec("tiny", &["/bin/sh", "-c", "echo $$"]).to_args(), None);
    let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(
        pid > 1 && pid < 100,
        "pid {pid} is not in the distribution's own namespace"
    );
    let args: Vec<String> = ["-d", "tiny", "-u", "ada", "--exec", "id", "-u"]
        .map(String::from)
        .into();
    assert_eq!(
        String::from_utf8_lossy(&wsl.run(&args, None).stdout),
        "1000\n"
    );
    // `--` hands the line to the distribution's shell.
    let args: Vec<String> = ["-d", "tiny", "--", "echo", "$WSL_DISTRO_NAME"]
        .map(String::from)
        .into();
    assert_eq!(
        String::from_utf8_lossy(&wsl.run(&args, None).stdout),
        "tiny\n"
    );

    // An unknown distribution, a malformed command line.
    let out = wsl.run(&exec("nope", &["true"]).to_args(), None);
    assert_eq!(out.status.code(), Some(255));
    assert!(decode(&out.stderr).contains("WSL_E_DISTRO_NOT_FOUND"));
    let out = wsl.run(&["--frobnicate".into()], None);
    assert!(decode(&out.stderr).contains("Invalid command line argument: --frobnicate"));

    // Terminate ends every process in it; the next command boots it again.
    let out = wsl.verb(WslCommand::Terminate {
        distro: "tiny".into(),
    });
    assert!(out.status.success());
    assert_eq!(wsl.list()[0].state, DistroState::Stopped);
    let out = wsl.run(&exec("tiny", &["cat", "/run/booted"]).to_args(), None);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "booted\n");

    // Unregister: stopped, deleted, gone from the list, nothing mounted left behind.
    let out = wsl.verb(WslCommand::Unregister {
        distro: "tiny".into(),
    });
    assert!(out.status.success(), "{}", decode(&out.stderr));
    assert!(!install_dir.exists(), "{} is left", install_dir.display());
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(
        !mounts.contains(&*files.path().to_string_lossy()),
        "{mounts}"
    );
    assert_eq!(wsl.verb(WslCommand::ListVerbose).status.code(), Some(255));
}
