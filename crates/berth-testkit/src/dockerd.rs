//! A private `dockerd` in its own network namespace.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::process::{is_running, run, signal, stop_child, tail};
use crate::wait_until;
use crate::watchdog::Watchdog;
use crate::{image, HarnessError};

const DOCKERD: &str = "/usr/sbin/dockerd";
const READY_DEADLINE: Duration = Duration::from_secs(60);
const STOP_GRACE: Duration = Duration::from_secs(20);

/// Per-process counter so several daemons of one test binary get distinct names.
static NEXT_DAEMON: AtomicU32 = AtomicU32::new(0);

/// A fresh, private `dockerd`: own netns, data root, exec root, pid file, unix socket, bridge
/// subnet and CLI config. Stopped by PID, and its netns and temp dir removed, in `Drop`.
pub struct Dockerd {
    id: String,
    root: PathBuf,
    netns: String,
    socket: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    watchdog: Option<Watchdog>,
    image: Mutex<Option<String>>,
    names: AtomicU64,
    extra_args: Vec<String>,
}

impl Dockerd {
    /// Creates the netns, starts `dockerd` in it and waits (up to 60 s) until `/_ping` answers.
    /// The first start in a process also sweeps what dead runs left behind
    /// ([`crate::sweep_orphans`]).
    pub fn start() -> Result<Dockerd, HarnessError> {
        Dockerd::start_with_args(Vec::new())
    }

    /// [`Dockerd::start`] with more `dockerd` arguments, e.g. a TLS listener
    /// (`-H tcp://127.0.0.1:PORT --tlsverify ...`) beside the private socket.
    pub fn start_with_args(extra_args: Vec<String>) -> Result<Dockerd, HarnessError> {
        static SWEEP: std::sync::Once = std::sync::Once::new();
        SWEEP.call_once(|| {
            for id in crate::sweep_orphans() {
                eprintln!("berth-testkit: cleaned up orphaned test daemon {id}");
            }
        });
        let mut d = Dockerd::reserve()?;
        d.extra_args = extra_args;
        d.spawn()?;
        d.wait_ready()?;
        Ok(d)
    }

    /// The daemon's unix socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// `unix:///...` for `DOCKER_HOST` or bollard.
    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The stock `docker` CLI pointed at this daemon, with a private `DOCKER_CONFIG`.
    pub fn docker(&self) -> Command {
        let mut cmd = Command::new("docker");
        cmd.env("DOCKER_HOST", self.docker_host())
            .env("DOCKER_CONFIG", self.root.join("cli"))
            .env("DOCKER_CLI_HINTS", "false")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH");
        cmd
    }

    /// The busybox test image (`berth-test/busybox:latest`, `ENV PATH=/bin`), imported into this
    /// daemon on first use.
    pub fn test_image(&self) -> Result<String, HarnessError> {
        let mut cached = self.image.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tag) = cached.as_ref() {
            return Ok(tag.clone());
        }
        image::import(self.docker(), image::TEST_IMAGE)?;
        *cached = Some(image::TEST_IMAGE.to_owned());
        Ok(image::TEST_IMAGE.to_owned())
    }

    /// Imports, as `tag`, the busybox rootfs plus a `/payload` file of `mib` MiB of
    /// incompressible data: an image of known size for save/load and push tests.
    pub fn payload_image(&self, tag: &str, mib: u64) -> Result<(), HarnessError> {
        let tar = self
            .root
            .join(format!("payload-{}.tar", self.unique_name("p")));
        image::write_payload_rootfs(&tar, mib * 1024 * 1024)?;
        let result = image::import_tar(self.docker(), &tar, tag);
        let _ = std::fs::remove_file(&tar);
        result
    }

    /// A host command run inside the daemon's network namespace (`nsenter --net=...`), e.g. to
    /// reach a published port on 127.0.0.1.
    pub fn netns_exec(&self, argv: &[&str]) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/var/run/netns/{}", self.netns))
            .arg("--")
            .args(argv);
        cmd
    }

    /// The network namespace name (`berth-t-<pid>-<n>`).
    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// A name unique to this daemon and test process: `<prefix>-<pid>-<n>-<k>`.
    pub fn unique_name(&self, prefix: &str) -> String {
        let k = self.names.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}-{}-{k}", self.id)
    }

    /// The per-daemon temp dir (`/tmp/bt-<pid>-<n>`), removed on drop; handy for bind mounts.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The last lines of the daemon's log, for assertion messages.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }

    /// Claims a unique temp dir and netns. Both names come from the pid and a counter; a name
    /// left over by a dead run with the same pid is skipped, never reused.
    fn reserve() -> Result<Dockerd, HarnessError> {
        const ATTEMPTS: u32 = 100;
        let pid = std::process::id();
        for _ in 0..ATTEMPTS {
            let n = NEXT_DAEMON.fetch_add(1, Ordering::Relaxed);
            let id = format!("{pid}-{n}");
            let root = PathBuf::from(format!("/tmp/bt-{id}"));
            match std::fs::create_dir(&root) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(HarnessError::io(&root)(e)),
            }
            let netns = format!("berth-t-{id}");
            if run(Command::new("ip").args(["netns", "add", &netns])).is_err() {
                let _ = std::fs::remove_dir(&root);
                continue;
            }
            // From here on, Drop cleans up whatever follows fails.
            let d = Dockerd {
                socket: root.join("docker.sock"),
                log: root.join("dockerd.log"),
                id,
                root,
                netns,
                child: None,
                watchdog: None,
                image: Mutex::new(None),
                names: AtomicU64::new(0),
                extra_args: Vec::new(),
            };
            run(Command::new("ip").args(["-n", &d.netns, "link", "set", "lo", "up"]))?;
            return Ok(d);
        }
        Err(HarnessError::Exhausted {
            what: "daemon temp dir and netns name".into(),
            attempts: ATTEMPTS,
        })
    }

    fn spawn(&mut self) -> Result<(), HarnessError> {
        // An empty config file so the host's /etc/docker/daemon.json cannot leak in.
        let config = self.root.join("daemon.json");
        std::fs::write(&config, "{}\n").map_err(HarnessError::io(&config))?;
        let log = File::create(&self.log).map_err(HarnessError::io(&self.log))?;
        let log_err = log.try_clone().map_err(HarnessError::io(&self.log))?;
        let (bip, pool) = subnets(&self.id);
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/var/run/netns/{}", self.netns))
            .arg("--")
            .arg(DOCKERD)
            .arg("--config-file")
            .arg(&config)
            .arg("--data-root")
            .arg(self.root.join("data"))
            // Short: containerd's socket lives under it and unix socket paths max out at 108.
            .arg("--exec-root")
            .arg(self.root.join("x"))
            .arg("--pidfile")
            .arg(self.root.join("dockerd.pid"))
            .arg("-H")
            .arg(self.docker_host())
            .args(["--bip", &bip, "--default-address-pool", &pool])
            .args(["--iptables=true", "--shutdown-timeout", "3"])
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        crate::process::own_process_group(&mut cmd);
        let child = cmd.spawn().map_err(|source| HarnessError::Spawn {
            command: crate::process::describe(&cmd),
            source,
        })?;
        // nsenter execs dockerd in place (no --fork), so this PID is dockerd's.
        let pid = child.id();
        self.child = Some(child);
        self.watchdog = Some(Watchdog::guard(pid, Some(&self.netns), Some(&self.root))?);
        Ok(())
    }

    fn wait_ready(&mut self) -> Result<(), HarnessError> {
        let socket = self.socket.clone();
        let child = self.child.as_mut().expect("spawned");
        let outcome = wait_until(READY_DEADLINE, "dockerd /_ping", || {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(Err(format!("dockerd exited early ({status})")));
            }
            ping(&socket).then_some(Ok(()))
        });
        let reason = match outcome {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(reason)) => reason,
            Err(timeout) => timeout.to_string(),
        };
        Err(HarnessError::NotReady {
            what: format!("dockerd in netns {}", self.netns),
            reason,
            log: self.log.clone(),
            log_tail: tail(&self.log, 40),
        })
    }

    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        stop_child(&mut child, STOP_GRACE);
        // dockerd stops its containerd on a clean exit; after a SIGKILL it cannot.
        let containerd_pid = self.root.join("x/containerd/containerd.pid");
        if let Ok(pid) = std::fs::read_to_string(&containerd_pid) {
            if let Ok(pid) = pid.trim().parse::<u32>() {
                if is_running(pid) {
                    signal(pid, "KILL");
                }
            }
        }
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // The watchdog goes first so it can never signal a PID that has been reused.
        self.watchdog = None;
        self.stop();
        if let Err(e) = run(Command::new("ip").args(["netns", "del", &self.netns])) {
            eprintln!("berth-testkit: could not delete netns {}: {e}", self.netns);
        }
        remove_tree(&self.root);
    }
}

/// `GET /_ping` over the unix socket; true when the daemon answers `200 OK`.
#[cfg(unix)]
fn ping(socket: &Path) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::os::unix::net::UnixStream::connect(socket) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply.starts_with("HTTP/1.") && reply.split(' ').nth(1) == Some("200")
}

#[cfg(not(unix))]
fn ping(_socket: &Path) -> bool {
    false
}

/// The daemon's `--bip` and `--default-address-pool`, derived from its id. Each daemon has its own
/// netns, so these cannot clash anyway; distinct values keep logs and inspect output unambiguous.
fn subnets(id: &str) -> (String, String) {
    let h = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let bip = format!("10.{}.{}.1/24", 128 + (h % 64), (h >> 8) % 256);
    let pool = format!("base=10.{}.0.0/16,size=24", 64 + ((h >> 16) % 64));
    (bip, pool)
}

/// Removes a daemon's temp dir; if a mount under it is still busy (a crashed dockerd), detach it
/// lazily first.
pub(crate) fn remove_tree(root: &Path) {
    if std::fs::remove_dir_all(root).is_ok() || !root.exists() {
        return;
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let prefix = root.to_string_lossy().into_owned();
    let mut points: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| p.starts_with(&prefix))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for point in points {
        let _ = Command::new("umount").args(["-l", point]).status();
    }
    if let Err(e) = std::fs::remove_dir_all(root) {
        eprintln!("berth-testkit: could not remove {}: {e}", root.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_are_private_and_differ_between_daemons() {
        let (bip_a, pool_a) = subnets("100-0");
        let (bip_b, _) = subnets("100-1");
        assert!(
            bip_a.starts_with("10.") && bip_a.ends_with(".1/24"),
            "{bip_a}"
        );
        assert!(pool_a.starts_with("base=10.") && pool_a.ends_with("/16,size=24"));
        assert_ne!(bip_a, bip_b);
    }

    #[test]
    fn bip_and_pool_never_overlap() {
        for n in 0..500 {
            let (bip, pool) = subnets(&format!("4242-{n}"));
            let second = |s: &str| s.split('.').nth(1).unwrap().parse::<u32>().unwrap();
            let pool_octet = second(pool.trim_start_matches("base="));
            assert!((128..192).contains(&second(&bip)), "{bip}");
            assert!((64..128).contains(&pool_octet), "{pool}");
        }
    }

    #[test]
    fn ping_is_false_without_a_daemon() {
        assert!(!ping(Path::new("/nonexistent/docker.sock")));
    }
}
