//! The vhost-user device backends QEMU connects to, each a process of its own beside it: one
//! `virtiofsd` per virtio-fs share, and `vhost-device-vsock` for a vsock link. Each is spawned
//! through the [`ProcessRunner`] seam before QEMU, waited for until its socket exists, and
//! ended by PID with the VM.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::warn;

use super::tail;
use crate::process::{CommandSpec, ProcessRunner};
use crate::process_watch::ProcessWatch;
use crate::share::ShareMethod;
use crate::VmError;

/// How long a backend gets to create its socket.
const SOCKET_DEADLINE: Duration = Duration::from_secs(15);
/// How long a stale backend gets to go after SIGKILL.
const KILL_DEADLINE: Duration = Duration::from_secs(5);

/// Picks the sharing method: `virtiofs` or `9p`; unset, see [`choose_share_method`].
pub const SHARE_METHOD_VAR: &str = "BERTH_SHARE_METHOD";
/// The virtiofsd program (default: [`find_virtiofsd`]).
pub const VIRTIOFSD_VAR: &str = "BERTH_VIRTIOFSD";
/// Where distributions install the Rust virtiofsd outside the PATH (Debian 13, Fedora). The
/// C virtiofsd in Debian 12's `/usr/lib/qemu` is not used: it cannot map ids to the owner.
const VIRTIOFSD_LIBEXEC: &str = "/usr/libexec/virtiofsd";

/// The sharing method: the one `explicit` names, else virtio-fs when a virtiofsd was found,
/// else 9p (QEMU alone). Measured here under TCG (scripts/bench-share.sh, two runs), virtio-fs
/// untarred 5,000 small files 2.8-3.8x faster than 9p (the everyday case: sources, packages,
/// git); sequential throughput swung with the machine's load (virtio-fs 0.6-1.7x 9p's write,
/// 0.45-0.7x its read).
pub fn choose_share_method(explicit: Option<&str>, virtiofsd: Option<&Path>) -> ShareMethod {
    if let Some(method) = explicit.and_then(ShareMethod::from_name) {
        return method;
    }
    match virtiofsd {
        Some(_) => ShareMethod::Virtiofs,
        None => ShareMethod::NineP,
    }
}

/// virtiofsd: `BERTH_VIRTIOFSD`, else on the PATH, else in `/usr/libexec`.
pub fn find_virtiofsd() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(VIRTIOFSD_VAR).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(path));
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join("virtiofsd"))
        .chain([PathBuf::from(VIRTIOFSD_LIBEXEC)])
        .find(|p| p.is_file())
}

/// The vhost-device-vsock program (default: `vhost-device-vsock` on the PATH).
pub const VHOST_DEVICE_VSOCK_VAR: &str = "BERTH_VHOST_DEVICE_VSOCK";

/// What to do when vhost-device-vsock is missing.
pub const VHOST_DEVICE_VSOCK_INSTALL: &str = "install it with `cargo install vhost-device-vsock \
     --version 0.3.0 --locked` (scripts/setup.sh does), or set vm.link = \"serial\"";

/// vhost-device-vsock: `BERTH_VHOST_DEVICE_VSOCK`, else the name (looked up on the PATH).
pub fn vhost_device_vsock() -> String {
    std::env::var(VHOST_DEVICE_VSOCK_VAR)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "vhost-device-vsock".into())
}

/// One backend to start.
pub(super) struct Backend {
    /// For logs and errors (`virtiofsd`, `vhost-device-vsock`).
    pub what: &'static str,
    pub cmd: CommandSpec,
    /// The socket it listens on for QEMU.
    pub socket: PathBuf,
}

/// Spawns `backend` and waits until its socket exists; returns its pid. Its watch goes into
/// `running` first, so whoever stops the VM ends it even when this fails half-way.
pub(super) async fn start(
    runner: &dyn ProcessRunner,
    backend: Backend,
    running: &Mutex<Vec<ProcessWatch>>,
) -> Result<u32, VmError> {
    remove_if_exists(&backend.socket)?;
    let child = runner
        .spawn(&backend.cmd)
        .map_err(|source| VmError::Spawn {
            program: backend.cmd.program.clone(),
            source,
        })?;
    let pid = child.pid();
    let watch = ProcessWatch::new();
    watch.watch(child, backend.what, || {});
    let mut rx = watch.subscribe();
    lock(running).push(watch);
    let deadline = Instant::now() + SOCKET_DEADLINE;
    while !backend.socket.exists() {
        if !rx.borrow_and_update().is_running() {
            let log = backend.cmd.log.as_deref().map(|l| tail(l, 2000));
            return Err(VmError::CommandFailed {
                program: backend.cmd.program.clone(),
                status: "exited at start".into(),
                stderr: log.unwrap_or_default(),
            });
        }
        if Instant::now() >= deadline {
            return Err(VmError::BootTimeout {
                path: backend.socket.clone(),
                seconds: SOCKET_DEADLINE.as_secs(),
            });
        }
        let _ = tokio::time::timeout(Duration::from_millis(20), rx.changed()).await;
    }
    Ok(pid)
}

/// Ends every backend in `running` (virtiofsd also exits by itself once QEMU has gone;
/// vhost-device-vsock waits for the next QEMU forever).
pub(super) async fn stop_all(running: &Mutex<Vec<ProcessWatch>>) {
    let procs = std::mem::take(&mut *lock(running));
    for watch in procs {
        watch.kill(KILL_DEADLINE).await;
    }
}

/// A process of ours left behind by a daemon that died (its pid in `pid_file`, `marker` on its
/// command line: a path only this Berth's run dir has) still holds a disk or a socket: end it.
pub(super) async fn reap_stale(runner: &dyn ProcessRunner, pid_file: &Path, marker: &Path) {
    let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
    else {
        return;
    };
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    if String::from_utf8_lossy(&cmdline).contains(&*marker.to_string_lossy()) {
        warn!(pid, "ending a process left over from an earlier daemon");
        let kill = CommandSpec::new("kill", ["-9", &pid.to_string()]);
        let _ = runner.output(&kill).await;
        let deadline = Instant::now() + KILL_DEADLINE;
        while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let _ = std::fs::remove_file(pid_file);
}

pub(super) fn remove_if_exists(path: &Path) -> Result<(), VmError> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(VmError::io(path)(err)),
        _ => Ok(()),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtiofs_is_chosen_when_virtiofsd_is_there_unless_told_otherwise() {
        let found = Some(Path::new("/usr/bin/virtiofsd"));
        assert_eq!(choose_share_method(None, found), ShareMethod::Virtiofs);
        assert_eq!(choose_share_method(None, None), ShareMethod::NineP);
        assert_eq!(choose_share_method(Some("9p"), found), ShareMethod::NineP);
        assert_eq!(
            choose_share_method(Some("virtiofs"), None),
            ShareMethod::Virtiofs
        );
        assert_eq!(choose_share_method(Some("nfs"), None), ShareMethod::NineP);
    }
}
