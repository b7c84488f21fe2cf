//! The verbs carried out: importing, starting, entering and ending distributions.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use crate::cli::{self, RunArgs, Verb};
use crate::init::HOST_MOUNT;
use crate::registry::{Entry, Registry};

/// wsl.exe's exit status for its own errors (-1, as a process exit code here).
const WSL_ERROR: u8 = 255;
/// How long a distribution may take to boot (its init saying `ready`).
const BOOT_DEADLINE: Duration = Duration::from_secs(30);

/// Management output: UTF-16LE without a BOM, as wsl.exe writes it (unless `WSL_UTF8=1`).
fn print_utf16(text: &str, to_stderr: bool) {
    let text = text.replace('\n', "\r\n");
    let bytes: Vec<u8> = if std::env::var("WSL_UTF8").as_deref() == Ok("1") {
        text.into_bytes()
    } else {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    };
    let _ = if to_stderr {
        std::io::stderr().write_all(&bytes)
    } else {
        std::io::stdout().write_all(&bytes)
    };
}

pub fn fail(message: &str) -> ExitCode {
    print_utf16(&format!("{message}\n"), true);
    ExitCode::from(WSL_ERROR)
}

fn not_found() -> ExitCode {
    fail(
        "There is no distribution with the supplied name.\nError code: \
         Wsl/Service/WSL_E_DISTRO_NOT_FOUND",
    )
}

pub fn carry_out(verb: Verb) -> ExitCode {
    let registry = match Registry::open() {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot open the stand-in's state: {e}")),
    };
    let result = match verb {
        Verb::Import {
            distro,
            install_dir,
            tar,
            version,
        } => import(&registry, &distro, &install_dir, &tar, version),
        Verb::List {
            verbose,
            quiet,
            running,
        } => return list(&registry, verbose, quiet, running),
        Verb::Terminate { distro } => match registry.find(&distro) {
            Ok(Some(entry)) => {
                terminate(&registry, &entry.name);
                Ok(())
            }
            Ok(None) => return not_found(),
            Err(e) => Err(e.to_string()),
        },
        Verb::Unregister { distro } => return unregister(&registry, &distro),
        Verb::Shutdown => registry
            .entries()
            .map(|entries| {
                for e in entries {
                    terminate(&registry, &e.name);
                }
            })
            .map_err(|e| e.to_string()),
        Verb::Status => {
            let default = registry.entries().ok().and_then(|e| e.first().cloned());
            let name = default.map_or_else(|| "(none)".to_owned(), |e| e.name);
            print_utf16(
                &format!("Default Distribution: {name}\nDefault Version: 2\n"),
                false,
            );
            Ok(())
        }
        Verb::Version => {
            print_utf16("WSL version: 2.0.0.0 (berth-wsl-standin)\n", false);
            Ok(())
        }
        Verb::Run(args) => return run(&registry, args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message),
    }
}

fn import(
    registry: &Registry,
    name: &str,
    install_dir: &str,
    tar: &str,
    version: u8,
) -> Result<(), String> {
    if version != 2 {
        return Err(
            "This stand-in runs WSL 2 distributions only.\nError code: Wsl/E_INVALIDARG".into(),
        );
    }
    if registry.find(name).map_err(|e| e.to_string())?.is_some() {
        return Err(
            "A distribution with the supplied name already exists. Use --unregister to remove \
             it.\nError code: Wsl/Service/RegisterDistro/ERROR_ALREADY_EXISTS"
                .into(),
        );
    }
    if !Path::new(tar).is_file() {
        return Err(format!(
            "The system cannot find the file specified.\nError code: \
             Wsl/Service/RegisterDistro/ERROR_FILE_NOT_FOUND ({tar})"
        ));
    }
    let entry = Entry {
        name: name.to_owned(),
        install_dir: std::path::absolute(install_dir).map_err(|e| e.to_string())?,
        version,
    };
    let rootfs = entry.rootfs();
    if rootfs.exists() {
        return Err(format!(
            "{} already holds a distribution.\nError code: \
             Wsl/Service/RegisterDistro/ERROR_FILE_EXISTS",
            entry.install_dir.display()
        ));
    }
    std::fs::create_dir_all(&rootfs).map_err(|e| e.to_string())?;
    let out = Command::new("tar")
        .args([
            "--extract",
            "--numeric-owner",
            "--preserve-permissions",
            "--file",
            tar,
        ])
        .arg("--directory")
        .arg(&rootfs)
        .output()
        .map_err(|e| format!("tar: {e}"))?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&rootfs);
        return Err(format!(
            "The import failed: {}\nError code: Wsl/Service/RegisterDistro/E_FAIL",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut entries = registry.entries().map_err(|e| e.to_string())?;
    entries.push(entry);
    registry.save(&entries).map_err(|e| e.to_string())
}

fn list(registry: &Registry, verbose: bool, quiet: bool, running_only: bool) -> ExitCode {
    let entries = match registry.entries() {
        Ok(e) => e,
        Err(e) => return fail(&e.to_string()),
    };
    if entries.is_empty() {
        return fail(
            "Windows Subsystem for Linux has no installed distributions.\nYou can resolve \
             this by installing a distribution with the instructions below:\n\nUse 'wsl.exe \
             --list --online' to list available distributions\nand 'wsl.exe --install \
             <Distro>' to install.\nError code: Wsl/WSL_E_DEFAULT_DISTRO_NOT_FOUND",
        );
    }
    let mut text = String::new();
    if !quiet {
        text.push_str(if verbose {
            "  NAME      STATE           VERSION\n"
        } else {
            "Windows Subsystem for Linux Distributions:\n"
        });
    }
    for (i, e) in entries.iter().enumerate() {
        let running = registry.running(&e.name).is_some();
        if running_only && !running {
            continue;
        }
        let state = if running { "Running" } else { "Stopped" };
        text.push_str(&match (quiet, verbose) {
            (true, _) => format!("{}\n", e.name),
            (false, true) => format!(
                "{} {:<9} {:<15} {}\n",
                if i == 0 { "*" } else { " " },
                e.name,
                state,
                e.version
            ),
            (false, false) if i == 0 => format!("{} (Default)\n", e.name),
            (false, false) => format!("{}\n", e.name),
        });
    }
    print_utf16(&text, false);
    ExitCode::SUCCESS
}

/// Ends the distribution: its `unshare` is killed, which kills its init (`--kill-child`), and
/// the kernel ends every process in its PID namespace and drops its mounts with it.
fn terminate(registry: &Registry, name: &str) {
    let Some(pid) = registry.running(name) else {
        return;
    };
    let pid = Pid::from_raw(pid);
    let _ = kill(pid, Signal::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{}", pid.as_raw())).exists() && Instant::now() < deadline {
        // The unshare is our child only when this process started it; reap it if so.
        let _ = waitpid(pid, Some(WaitPidFlag::WNOHANG));
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_file(registry.pid_file(name));
}

fn unregister(registry: &Registry, name: &str) -> ExitCode {
    let entries = match registry.entries() {
        Ok(e) => e,
        Err(e) => return fail(&e.to_string()),
    };
    let Some(entry) = entries
        .iter()
        .find(|e| e.name.eq_ignore_ascii_case(name))
        .cloned()
    else {
        return not_found();
    };
    terminate(registry, &entry.name);
    if let Err(e) = std::fs::remove_dir_all(entry.rootfs()) {
        if e.kind() != std::io::ErrorKind::NotFound {
            return fail(&format!("cannot delete {}: {e}", entry.rootfs().display()));
        }
    }
    let _ = std::fs::remove_dir(&entry.install_dir);
    let rest: Vec<Entry> = entries.into_iter().filter(|e| e != &entry).collect();
    if let Err(e) = registry.save(&rest) {
        return fail(&e.to_string());
    }
    let _ = std::fs::remove_file(registry.log_file(&entry.name));
    print_utf16("The operation completed successfully.\n", false);
    ExitCode::SUCCESS
}

/// Starts `entry` unless it runs: `unshare` makes its namespaces and runs this program's init
/// in them; the distribution then outlives this process, as a WSL distribution outlives the
/// `wsl.exe` that started it. Returns the init's PID (on the host).
fn start(registry: &Registry, entry: &Entry) -> Result<i32, String> {
    if let Some(pid) = registry.running(&entry.name) {
        return init_pid(pid);
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let log = std::fs::File::create(registry.log_file(&entry.name)).map_err(|e| e.to_string())?;
    let mut command = Command::new("unshare");
    command
        .args([
            "--kill-child",
            "--pid",
            "--mount",
            "--uts",
            "--ipc",
            "--net",
            "--cgroup",
            "--propagation",
            "private",
            "--",
        ])
        .arg(exe)
        .arg("__init")
        .arg(&entry.name)
        .arg(entry.rootfs())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log);
    // Its own process group: the caller's Ctrl-C does not reach the distribution.
    command.process_group(0);
    let mut child = command.spawn().map_err(|e| format!("unshare: {e}"))?;
    let pid = child.id() as i32;
    std::fs::write(registry.pid_file(&entry.name), pid.to_string()).map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("the init has no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let ready = rx.recv_timeout(BOOT_DEADLINE).unwrap_or_default();
    if ready.trim() != "ready" {
        terminate(registry, &entry.name);
        let log = std::fs::read_to_string(registry.log_file(&entry.name)).unwrap_or_default();
        return Err(format!(
            "The distribution failed to start: {}\nError code: Wsl/Service/CreateInstance/E_FAIL",
            log.trim()
        ));
    }
    // The init now belongs to no one here; it is reaped by whoever inherits it.
    std::mem::forget(child);
    init_pid(pid)
}

/// The distribution's init: the one child of its `unshare`.
fn init_pid(unshare: i32) -> Result<i32, String> {
    let children = std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
        .map_err(|e| e.to_string())?;
    children
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| "the distribution has no init".into())
}

/// A user of the distribution: its uid, gid, home and shell from the distribution's
/// `/etc/passwd` (as WSL resolves `-u`).
fn user(root: &Path, name: &str) -> Option<(u32, u32, String, String)> {
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).ok()?;
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 7 && (f[0] == name || f[2] == name)).then(|| {
            (
                f[2].parse().unwrap_or(0),
                f[3].parse().unwrap_or(0),
                f[5].to_owned(),
                f[6].to_owned(),
            )
        })
    })
}

fn run(registry: &Registry, args: RunArgs) -> ExitCode {
    let entry = match &args.distro {
        Some(name) => registry.find(name),
        None => registry.entries().map(|e| e.into_iter().next()),
    };
    let entry = match entry {
        Ok(Some(entry)) => entry,
        Ok(None) => return not_found(),
        Err(e) => return fail(&e.to_string()),
    };
    let init = match start(registry, &entry) {
        Ok(pid) => pid,
        Err(e) => return fail(&e),
    };
    let root = Path::new("/proc").join(init.to_string()).join("root");
    let user_name = args.user.as_deref().unwrap_or("root");
    let Some((uid, gid, home, shell)) = user(&root, user_name) else {
        return fail(&format!(
            "User not found.\nError code: Wsl/Service/CreateInstance/E_INVALIDARG ({user_name})"
        ));
    };
    // WSL starts in the Windows folder it was run from, under /mnt/c; here, under /mnt/host.
    let cwd = match args.cd.as_deref() {
        Some("~") => home.clone(),
        Some(dir) => dir.to_owned(),
        None => std::env::current_dir()
            .map(|d| format!("{HOST_MOUNT}{}", d.display()))
            .unwrap_or_else(|_| "/".into()),
    };
    let argv: Vec<String> = match args.command {
        cli::Command::Exec(argv) => argv,
        cli::Command::Line(words) => vec!["/bin/sh".into(), "-c".into(), words.join(" ")],
        cli::Command::Shell => vec![shell.clone(), "-l".into()],
    };
    let mut command = Command::new("nsenter");
    command
        .arg(format!("--target={init}"))
        .args([
            "--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup", "--root",
        ])
        // nsenter opens the folder before it enters: through the init's root, it is the
        // distribution's own folder.
        .arg(format!(
            "--wd={}",
            root.join(cwd.trim_start_matches('/')).display()
        ))
        .arg(format!("--setuid={uid}"))
        .arg(format!("--setgid={gid}"))
        .arg("--")
        .args(&argv)
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("HOME", &home)
        .env("SHELL", &shell)
        .env("USER", user_name)
        .env("LOGNAME", user_name)
        .env("WSL_DISTRO_NAME", &entry.name);
    if let Ok(term) = std::env::var("TERM") {
        command.env("TERM", term);
    }
    match command.status() {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => ExitCode::from(code as u8),
            (None, Some(signal)) => ExitCode::from((128 + signal) as u8),
            _ => ExitCode::FAILURE,
        },
        Err(e) => fail(&format!("nsenter: {e}")),
    }
}
