//! The guest's clean shutdown: stop dockerd, sync, unmount the data disk, power off.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use nix::errno::Errno;
use nix::mount::{umount2, MntFlags};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// How long dockerd gets to stop its containers before it is killed.
const DOCKERD_STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a busy data disk is retried before it is lazily detached.
const UNMOUNT_TIMEOUT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(50);

/// What to do when the host asks for a shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnShutdown {
    /// Stop dockerd, sync, unmount the data dir and power the machine off (the VM).
    PowerOff,
    /// Stop dockerd and sync, then exit (a WSL distro or a remote host).
    StopEngine,
    /// Just exit (tests).
    Exit,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub action: OnShutdown,
    pub dockerd_pidfile: PathBuf,
    pub data_dir: PathBuf,
}

/// Carry out the plan. With `PowerOff` this only returns on failure.
pub fn run(plan: &Plan) -> anyhow::Result<()> {
    if plan.action == OnShutdown::Exit {
        return Ok(());
    }
    stop_dockerd(&plan.dockerd_pidfile)?;
    nix::unistd::sync();
    if plan.action == OnShutdown::StopEngine {
        return Ok(());
    }
    unmount(&plan.data_dir);
    nix::unistd::sync();
    tracing::info!("powering off");
    nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_POWER_OFF).context("power off")?;
    Ok(())
}

fn stop_dockerd(pidfile: &Path) -> anyhow::Result<()> {
    let pid = match std::fs::read_to_string(pidfile) {
        Ok(text) => Pid::from_raw(
            text.trim()
                .parse()
                .with_context(|| format!("pid file {} holds {text:?}", pidfile.display()))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::info!("dockerd is not running (no pid file)");
            return Ok(());
        }
        Err(e) => return Err(e).context(format!("read {}", pidfile.display())),
    };
    tracing::info!(%pid, "stopping dockerd");
    if kill(pid, Signal::SIGTERM) == Err(Errno::ESRCH) {
        return Ok(());
    }
    if wait_gone(pid, DOCKERD_STOP_TIMEOUT) {
        return Ok(());
    }
    tracing::warn!(%pid, "dockerd did not stop in time; killing it");
    let _ = kill(pid, Signal::SIGKILL);
    wait_gone(pid, Duration::from_secs(5));
    Ok(())
}

/// Whether `pid` has exited (or become a zombie) before the deadline. It is not our child,
/// so there is nothing to wait(2) on: poll.
fn wait_gone(pid: Pid, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if kill(pid, None) == Err(Errno::ESRCH) || is_zombie(pid) {
            return true;
        }
        std::thread::sleep(POLL);
    }
    false
}

fn is_zombie(pid: Pid) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(") ")
                .map(|(_, rest)| rest.starts_with('Z'))
        })
        .unwrap_or(false)
}

fn unmount(dir: &Path) {
    let deadline = Instant::now() + UNMOUNT_TIMEOUT;
    loop {
        match umount2(dir, MntFlags::empty()) {
            Ok(()) => return,
            Err(Errno::EINVAL) | Err(Errno::ENOENT) => return, // not mounted
            Err(Errno::EBUSY) if Instant::now() < deadline => std::thread::sleep(POLL),
            Err(e) => {
                tracing::warn!(error = %e, dir = %dir.display(), "unmount failed; detaching");
                let _ = umount2(dir, MntFlags::MNT_DETACH);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_plan_touches_nothing() {
        let plan = Plan {
            action: OnShutdown::Exit,
            dockerd_pidfile: "/nonexistent/docker.pid".into(),
            data_dir: "/nonexistent".into(),
        };
        run(&plan).unwrap();
    }

    #[test]
    fn stop_engine_stops_the_process_in_the_pid_file() {
        let dir = tempfile_dir();
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let pidfile = dir.join("docker.pid");
        std::fs::write(&pidfile, format!("{}\n", child.id())).unwrap();
        let plan = Plan {
            action: OnShutdown::StopEngine,
            dockerd_pidfile: pidfile,
            data_dir: dir.clone(),
        };
        run(&plan).unwrap();
        let status = child.wait().unwrap();
        assert!(!status.success(), "sleep was terminated by a signal");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_pid_file_means_nothing_to_stop() {
        stop_dockerd(Path::new("/nonexistent/docker.pid")).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("berth-power-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
