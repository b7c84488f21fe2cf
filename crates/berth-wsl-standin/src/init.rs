//! The distribution's first process: PID 1 of its own PID namespace, started by `unshare` in new
//! mount, UTS, IPC, network and cgroup namespaces. It builds what WSL's init builds before a
//! distribution runs anything (`/proc`, `/sys`, the cgroup hierarchies, `/dev`, `/run`, the
//! host's files under `/mnt/host` as WSL's automount puts the Windows drives under `/mnt/c`,
//! the hostname, loopback), enters the root, starts `/etc/wsl.conf`'s `[boot] command`, says
//! `ready` on its standard output and then reaps orphans until the distribution is terminated.

use std::path::Path;
use std::process::{Command, Stdio};

/// Where the host's file system appears in the distribution (WSL: `/mnt/<drive>`).
pub const HOST_MOUNT: &str = "/mnt/host";

pub fn run(name: &str, root: &Path) -> Result<(), String> {
    let at = |p: &str| root.join(p.trim_start_matches('/'));
    let host = at(HOST_MOUNT);
    std::fs::create_dir_all(&host).map_err(|e| format!("{}: {e}", host.display()))?;
    // The root a mount of its own first (a later bind onto it would hide what is mounted
    // inside), then the host's tree.
    mount(&["--bind", &root.to_string_lossy(), &root.to_string_lossy()])?;
    mount(&["--rbind", "/", &host.to_string_lossy()])?;
    mount(&["-t", "proc", "proc", &at("proc").to_string_lossy()])?;
    mount(&["-t", "sysfs", "sysfs", &at("sys").to_string_lossy()])?;
    mount_cgroups(&at("sys/fs/cgroup"))?;
    mount(&["--rbind", "/dev", &at("dev").to_string_lossy()])?;
    mount(&[
        "-t",
        "tmpfs",
        "-o",
        "mode=755",
        "tmpfs",
        &at("run").to_string_lossy(),
    ])?;

    let conf = std::fs::read_to_string(at("etc/wsl.conf")).unwrap_or_default();
    let hostname = ini_value(&conf, "network", "hostname").unwrap_or_else(|| name.to_owned());
    nix::unistd::sethostname(&hostname).map_err(|e| format!("sethostname: {e}"))?;
    let lo = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status();
    if !lo.is_ok_and(|s| s.success()) {
        return Err("cannot bring up the loopback interface".into());
    }

    nix::unistd::chroot(root).map_err(|e| format!("chroot: {e}"))?;
    nix::unistd::chdir("/").map_err(|e| format!("chdir: {e}"))?;
    if let Some(command) = ini_value(&conf, "boot", "command") {
        Command::new("/bin/sh")
            .args(["-c", &command])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("the boot command {command:?}: {e}"))?;
    }
    // The caller reads this one line; nothing else is ever written to this pipe.
    println!("ready");
    reap_forever()
}

fn mount(args: &[&str]) -> Result<(), String> {
    let out = Command::new("mount")
        .args(args)
        .output()
        .map_err(|e| format!("mount: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "mount {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The host's cgroup hierarchies mounted afresh (so this cgroup namespace's root is theirs): a
/// cgroup2 file system as it is, or cgroup v1's tmpfs with one mount per hierarchy, as WSL
/// mounts them.
fn mount_cgroups(target: &Path) -> Result<(), String> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").map_err(|e| e.to_string())?;
    let mut v1 = Vec::new();
    for line in mounts.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [_, point, fstype, options, ..] = f[..] else {
            continue;
        };
        if point == "/sys/fs/cgroup" && fstype == "cgroup2" {
            return mount(&["-t", "cgroup2", "cgroup2", &target.to_string_lossy()]);
        }
        if let Some(name) = point.strip_prefix("/sys/fs/cgroup/") {
            if fstype == "cgroup" || fstype == "cgroup2" {
                v1.push((name.to_owned(), fstype.to_owned(), options.to_owned()));
            }
        }
    }
    mount(&[
        "-t",
        "tmpfs",
        "-o",
        "mode=755",
        "cgroup",
        &target.to_string_lossy(),
    ])?;
    for (name, fstype, options) in v1 {
        let dir = target.join(&name);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        // Only the options that choose the hierarchy; rw/nosuid/... are the mount's own.
        let keep: Vec<&str> = options
            .split(',')
            .filter(|o| !matches!(*o, "rw" | "ro" | "nosuid" | "nodev" | "noexec" | "relatime"))
            .collect();
        let mut args = vec!["-t", fstype.as_str()];
        let joined = keep.join(",");
        if !joined.is_empty() {
            args.extend(["-o", joined.as_str()]);
        }
        args.extend([fstype.as_str(), dir.to_str().unwrap_or_default()]);
        mount(&args)?;
    }
    Ok(())
}

/// `key` in `[section]` of an INI text such as `/etc/wsl.conf` (sections and keys without case).
pub fn ini_value(text: &str, section: &str, key: &str) -> Option<String> {
    let mut current = String::new();
    let mut found = None;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if let Some(name) = t.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            current = name.trim().to_ascii_lowercase();
        } else if current == section {
            if let Some((k, v)) = t.split_once('=') {
                if k.trim().eq_ignore_ascii_case(key) {
                    found = Some(v.trim().trim_matches('"').to_owned());
                }
            }
        }
    }
    found
}

fn reap_forever() -> ! {
    loop {
        if nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(-1), None).is_err() {
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_boot_command_and_hostname_of_berths_wsl_conf() {
        let conf = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../vm-image/rootfs/etc/wsl.conf"
        ))
        .unwrap();
        assert_eq!(
            ini_value(&conf, "boot", "command").as_deref(),
            Some("/usr/lib/berth/rc.wsl")
        );
        assert_eq!(
            ini_value(&conf, "network", "hostname").as_deref(),
            Some("berth")
        );
        assert_eq!(ini_value(&conf, "boot", "missing"), None);
        assert_eq!(
            ini_value(
                "[Boot]\n# command=no\nCommand = \"a b\"\n",
                "boot",
                "command"
            )
            .as_deref(),
            Some("a b")
        );
    }
}
