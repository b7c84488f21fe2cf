//! An `sshd` in a private daemon's network namespace, whose logins reach that daemon: a remote
//! engine over ssh, as a user's build server would be, on this machine.
//!
//! The session's `docker` talks to the private dockerd (`SetEnv DOCKER_HOST=...`). The client
//! side is private too: ssh reads the passwd home, not `$HOME`, for its config, so clients run
//! [`Sshd::ssh_program`], a wrapper that passes `-F` with this server's own config (its key,
//! its known_hosts, no agent). Put [`Sshd::path_dir`] first on PATH for the docker CLI.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use crate::{run, wait_until, ChildGuard, Dockerd, HarnessError, NetnsBridge};

const SSHD: &str = "/usr/sbin/sshd";
/// Ports sshd listens on inside the namespace (the namespace is the daemon's own; each sshd of
/// a test process takes the next).
static NEXT_INNER_PORT: AtomicU16 = AtomicU16::new(2222);

/// A running sshd, its key pair for clients, and a host-side port that reaches it.
pub struct Sshd {
    dir: PathBuf,
    bridge: NetnsBridge,
    _child: ChildGuard,
}

/// What the sshd's sessions find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteShell {
    /// `docker` on PATH, talking to the daemon.
    WithDocker,
    /// No `docker` on PATH: a host with ssh but no engine client.
    WithoutDocker,
}

impl Sshd {
    /// Starts sshd in `d`'s namespace; its sessions' `docker` reaches `d`.
    pub fn start_for(d: &Dockerd, shell: RemoteShell) -> Result<Sshd, HarnessError> {
        let dir = d.root().join(d.unique_name("sshd"));
        std::fs::create_dir_all(&dir).map_err(HarnessError::io(&dir))?;
        // sshd insists on its privilege separation directory.
        std::fs::create_dir_all("/run/sshd").map_err(HarnessError::io("/run/sshd"))?;
        for key in ["host_key", "client_key", "wrong_key"] {
            keygen(&dir.join(key))?;
        }
        let authorized = dir.join("authorized_keys");
        std::fs::copy(dir.join("client_key.pub"), &authorized)
            .map_err(HarnessError::io(&authorized))?;
        let mut env = format!(
            "DOCKER_HOST={} DOCKER_CONFIG={}",
            d.docker_host(),
            dir.join("remote-docker-config").display()
        );
        if shell == RemoteShell::WithoutDocker {
            env.push_str(" PATH=/nonexistent");
        }
        let inner_port = NEXT_INNER_PORT.fetch_add(1, Ordering::Relaxed);
        let config = dir.join("sshd_config");
        let text = format!(
            "Port {inner_port}\nListenAddress 127.0.0.1\nHostKey {dir}/host_key\n\
             PidFile {dir}/sshd.pid\nAuthorizedKeysFile {dir}/authorized_keys\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\nPrintMotd no\n\
             SetEnv {env}\n",
            dir = dir.display()
        );
        std::fs::write(&config, text).map_err(HarnessError::io(&config))?;
        let log = dir.join("sshd.log");
        let log_file = std::fs::File::create(&log).map_err(HarnessError::io(&log))?;
        let mut cmd = d.netns_exec(&[SSHD, "-D", "-e", "-f", &config.display().to_string()]);
        cmd.stdin(Stdio::null()).stderr(log_file);
        let child = ChildGuard::spawn(&mut cmd)?;
        let listening = || {
            std::fs::read_to_string(&log)
                .ok()
                .filter(|l| l.contains("Server listening"))
                .map(|_| ())
        };
        if let Err(e) = wait_until(Duration::from_secs(10), "sshd listening", listening) {
            return Err(HarnessError::NotReady {
                what: "sshd".into(),
                reason: e.to_string(),
                log_tail: crate::process::tail(&log, 20),
                log,
            });
        }
        let bridge = NetnsBridge::open(d, &format!("127.0.0.1:{inner_port}"))?;
        let sshd = Sshd {
            dir,
            bridge,
            _child: child,
        };
        sshd.write_client_config()?;
        Ok(sshd)
    }

    /// `ssh://root@127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("ssh://root@127.0.0.1:{}", self.bridge.host_port())
    }

    /// The host port that reaches sshd.
    pub fn port(&self) -> u16 {
        self.bridge.host_port()
    }

    /// An `ssh` that uses this server's private client config and the authorized key.
    pub fn ssh_program(&self) -> PathBuf {
        self.dir.join("bin").join("ssh")
    }

    /// An `ssh` that offers a key the server does not know.
    pub fn wrong_key_ssh_program(&self) -> PathBuf {
        self.dir.join("wrong-bin").join("ssh")
    }

    /// A directory holding only [`Sshd::ssh_program`] as `ssh`, to put first on PATH.
    pub fn path_dir(&self) -> PathBuf {
        self.dir.join("bin")
    }

    /// sshd's log, for assertion messages.
    pub fn log_tail(&self, lines: usize) -> String {
        crate::process::tail(&self.dir.join("sshd.log"), lines)
    }

    fn write_client_config(&self) -> Result<(), HarnessError> {
        let host_key = std::fs::read_to_string(self.dir.join("host_key.pub"))
            .map_err(HarnessError::io(self.dir.join("host_key.pub")))?;
        let known = self.dir.join("known_hosts");
        let line = format!("[127.0.0.1]:{} {}", self.port(), host_key.trim());
        std::fs::write(&known, line + "\n").map_err(HarnessError::io(&known))?;
        for (bin, key) in [("bin", "client_key"), ("wrong-bin", "wrong_key")] {
            let config = self.dir.join(format!("{bin}.ssh_config"));
            let text = format!(
                "Host *\n  IdentityFile {key}\n  IdentitiesOnly yes\n  IdentityAgent none\n  \
                 UserKnownHostsFile {known}\n  StrictHostKeyChecking yes\n  LogLevel ERROR\n",
                key = self.dir.join(key).display(),
                known = known.display()
            );
            std::fs::write(&config, text).map_err(HarnessError::io(&config))?;
            write_wrapper(&self.dir.join(bin), &config)?;
        }
        Ok(())
    }
}

fn keygen(path: &Path) -> Result<(), HarnessError> {
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path))?;
    Ok(())
}

fn write_wrapper(bin: &Path, config: &Path) -> Result<(), HarnessError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(bin).map_err(HarnessError::io(bin))?;
    let wrapper = bin.join("ssh");
    let script = format!(
        "#!/bin/sh\nexec /usr/bin/ssh -F '{}' \"$@\"\n",
        config.display()
    );
    std::fs::write(&wrapper, script).map_err(HarnessError::io(&wrapper))?;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))
        .map_err(HarnessError::io(&wrapper))
}
