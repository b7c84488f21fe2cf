//! A TCP port inside a daemon's network namespace made reachable on the host's loopback: a
//! socat pair joined by a unix socket in the daemon's temp dir.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{free_port, wait_until, ChildGuard, Dockerd, HarnessError};

/// The two socat processes of one bridge, stopped by PID when dropped.
pub struct NetnsBridge {
    host_port: u16,
    _inner: ChildGuard,
    _outer: ChildGuard,
}

impl NetnsBridge {
    /// Makes `inner` (an `addr:port` inside `d`'s namespace) answer on `127.0.0.1:<port>` of
    /// the host, at a free port.
    pub fn open(d: &Dockerd, inner: &str) -> Result<NetnsBridge, HarnessError> {
        let sock = d.root().join(d.unique_name("bridge.sock"));
        let mut inner_cmd = d.netns_exec(&[
            "socat",
            &format!("UNIX-LISTEN:{},fork", sock.display()),
            &format!("TCP:{inner}"),
        ]);
        let inner_child = ChildGuard::spawn(inner_cmd.stdin(Stdio::null()))?;
        wait_until(Duration::from_secs(10), "bridge socket", || {
            sock.exists().then_some(())
        })?;
        let host_port = free_port();
        let mut outer = Command::new("socat");
        outer
            .arg(format!(
                "TCP-LISTEN:{host_port},bind=127.0.0.1,fork,reuseaddr"
            ))
            .arg(format!("UNIX-CONNECT:{}", sock.display()))
            .stdin(Stdio::null());
        let outer_child = ChildGuard::spawn(&mut outer)?;
        wait_until(Duration::from_secs(10), "host side of the bridge", || {
            std::net::TcpStream::connect(("127.0.0.1", host_port))
                .ok()
                .map(|_| ())
        })?;
        Ok(NetnsBridge {
            host_port,
            _inner: inner_child,
            _outer: outer_child,
        })
    }

    /// The host port that reaches the inner address.
    pub fn host_port(&self) -> u16 {
        self.host_port
    }
}
