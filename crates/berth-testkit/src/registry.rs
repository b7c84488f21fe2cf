//! Debian's `docker-registry` (distribution 2.8) inside a daemon's netns, on 127.0.0.1, which the
//! daemon treats as an insecure (plain HTTP) registry by default.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::process::{run, stop_child, tail};
use crate::wait_until;
use crate::watchdog::Watchdog;
use crate::{Dockerd, HarnessError};

const REGISTRY: &str = "/usr/bin/docker-registry";
const READY_DEADLINE: Duration = Duration::from_secs(30);
const PORT_ATTEMPTS: u32 = 10;

/// A running registry; stopped by PID and its storage removed in `Drop`.
pub struct Registry {
    addr: String,
    dir: PathBuf,
    log: PathBuf,
    creds: Option<(String, String)>,
    child: Option<Child>,
    watchdog: Option<Watchdog>,
}

impl Registry {
    /// Starts a registry in `d`'s netns on a free loopback port, with htpasswd (bcrypt) auth when
    /// `creds` are given, and waits until `/v2/` answers (200, or 401 with auth).
    pub fn start_in(d: &Dockerd, creds: Option<(&str, &str)>) -> Result<Registry, HarnessError> {
        let dir = d.root().join(d.unique_name("registry"));
        std::fs::create_dir(&dir).map_err(HarnessError::io(&dir))?;
        let htpasswd = match creds {
            Some((user, pass)) => {
                let line = run(Command::new("htpasswd").args(["-Bbn", user, pass]))?;
                let path = dir.join("htpasswd");
                std::fs::write(&path, line.trim_end()).map_err(HarnessError::io(&path))?;
                Some(path)
            }
            None => None,
        };
        let mut port = first_port_guess();
        for _ in 0..PORT_ATTEMPTS {
            let mut reg = Registry {
                addr: format!("127.0.0.1:{port}"),
                log: dir.join("registry.log"),
                dir: dir.clone(),
                creds: creds.map(|(u, p)| (u.to_owned(), p.to_owned())),
                child: None,
                watchdog: None,
            };
            reg.spawn(d, htpasswd.as_deref())?;
            match reg.wait_ready(d) {
                Ok(()) => return Ok(reg),
                Err(e) if tail(&reg.log, 20).contains("address already in use") => {
                    drop(e);
                    // Keep the dir: only the process goes.
                    reg.kill_process();
                    port = 20_000 + (port - 20_000 + 7_919) % 40_000;
                }
                Err(e) => return Err(e),
            }
        }
        Err(HarnessError::Exhausted {
            what: "registry port".into(),
            attempts: PORT_ATTEMPTS,
        })
    }

    /// `127.0.0.1:PORT`, reachable from the daemon and from [`Dockerd::netns_exec`].
    pub fn addr(&self) -> String {
        self.addr.clone()
    }

    /// Runs `docker login` against this registry with its credentials (no-op without auth).
    pub fn login(&self, d: &Dockerd) -> Result<(), HarnessError> {
        let Some((user, pass)) = &self.creds else {
            return Ok(());
        };
        let mut cmd = d.docker();
        cmd.args(["login", &self.addr, "-u", user, "-p", pass]);
        run(&mut cmd).map(|_| ())
    }

    /// Makes this registry's `127.0.0.1:<port>` answer on the host's loopback too (a socat pair
    /// through a unix socket), for code in the test process that checks credentials against
    /// `/v2/` by the same name the daemon pulls from. Stopped by PID when dropped.
    pub fn bridge_to_host(&self, d: &Dockerd) -> Result<HostBridge, HarnessError> {
        let sock = d.root().join(d.unique_name("registry-bridge.sock"));
        let mut bridge = HostBridge(Vec::new());
        let mut inner = d.netns_exec(&[
            "socat",
            &format!("UNIX-LISTEN:{},fork", sock.display()),
            &format!("TCP:{}", self.addr),
        ]);
        bridge.0.push(spawn_quiet(&mut inner)?);
        wait_until(Duration::from_secs(10), "bridge socket", || {
            sock.exists().then_some(())
        })?;
        let port = self.addr.rsplit(':').next().unwrap_or_default();
        let mut outer = Command::new("socat");
        outer
            .arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr"))
            .arg(format!("UNIX-CONNECT:{}", sock.display()));
        bridge.0.push(spawn_quiet(&mut outer)?);
        wait_until(Duration::from_secs(10), "host side of the bridge", || {
            std::net::TcpStream::connect(&self.addr).ok().map(|_| ())
        })?;
        Ok(bridge)
    }

    /// The registry's log, for assertion messages.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }

    fn spawn(&mut self, d: &Dockerd, htpasswd: Option<&Path>) -> Result<(), HarnessError> {
        let config = self.dir.join("config.yml");
        let yaml = config_yaml(&self.addr, &self.dir.join("data"), htpasswd);
        std::fs::write(&config, yaml).map_err(HarnessError::io(&config))?;
        let log = File::create(&self.log).map_err(HarnessError::io(&self.log))?;
        let log_err = log.try_clone().map_err(HarnessError::io(&self.log))?;
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/var/run/netns/{}", d.netns()))
            .arg("--")
            .args([REGISTRY, "serve"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        crate::process::own_process_group(&mut cmd);
        let child = cmd.spawn().map_err(|source| HarnessError::Spawn {
            command: crate::process::describe(&cmd),
            source,
        })?;
        let pid = child.id();
        self.child = Some(child);
        self.watchdog = Some(Watchdog::guard(pid, None, None)?);
        Ok(())
    }

    fn wait_ready(&mut self, d: &Dockerd) -> Result<(), HarnessError> {
        let url = format!("http://{}/v2/", self.addr);
        let child = self.child.as_mut().expect("spawned");
        let outcome = wait_until(READY_DEADLINE, "registry /v2/", || {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(Err(format!("docker-registry exited early ({status})")));
            }
            let out = d
                .netns_exec(&["timeout", "3", "busybox", "wget", "-q", "-O-", &url])
                .output()
                .ok()?;
            let stderr = String::from_utf8_lossy(&out.stderr);
            (out.status.success() || stderr.contains(" 401")).then_some(Ok(()))
        });
        let reason = match outcome {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(reason)) => reason,
            Err(timeout) => timeout.to_string(),
        };
        Err(HarnessError::NotReady {
            what: format!("docker-registry on {}", self.addr),
            reason,
            log: self.log.clone(),
            log_tail: tail(&self.log, 30),
        })
    }

    fn kill_process(&mut self) {
        self.watchdog = None;
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child, Duration::from_secs(5));
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.kill_process();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn config_yaml(addr: &str, storage: &Path, htpasswd: Option<&Path>) -> String {
    let mut yaml = format!(
        "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n  \
         delete:\n    enabled: true\nhttp:\n  addr: {addr}\n  secret: berth-testkit\n",
        storage.display()
    );
    if let Some(path) = htpasswd {
        yaml.push_str(&format!(
            "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
            path.display()
        ));
    }
    yaml
}

/// A port in 20000..60000 that differs between processes and calls; collisions only matter
/// within one netns and are retried anyway.
/// The processes of [`Registry::bridge_to_host`], stopped by PID in `Drop`.
pub struct HostBridge(Vec<Child>);

impl Drop for HostBridge {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn_quiet(cmd: &mut Command) -> Result<Child, HarnessError> {
    cmd.stdin(Stdio::null())
        .spawn()
        .map_err(|source| HarnessError::Spawn {
            command: crate::process::describe(cmd),
            source,
        })
}

fn first_port_guess() -> u16 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mix = nanos ^ std::process::id().wrapping_mul(2_654_435_761);
    20_000 + u16::try_from(mix % 40_000).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_has_auth_only_with_htpasswd() {
        let open = config_yaml("127.0.0.1:5000", Path::new("/s"), None);
        assert!(open.contains("addr: 127.0.0.1:5000") && open.contains("rootdirectory: /s"));
        assert!(!open.contains("auth:"));
        let closed = config_yaml("127.0.0.1:5000", Path::new("/s"), Some(Path::new("/h")));
        assert!(closed.contains("htpasswd:\n    realm: berth-test\n    path: /h"));
    }

    #[test]
    fn port_guess_is_in_range() {
        let p = first_port_guess();
        assert!((20_000..60_000).contains(&p), "{p}");
    }
}
