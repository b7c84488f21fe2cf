//! An in-process link: the agent side (`guest::serve`, on its own runtime, as it would be in
//! the VM) fed by a real dockerd's socket, and the host side (`LinkClient` + `relay`) on
//! another runtime, joined by a socket pair. The relay's socket is what the docker CLI uses.

#![allow(dead_code)] // each test binary uses a different part

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_link::guest::{self, GuestConfig};
use berth_link::{relay, LinkClient};
use tokio::runtime::Runtime;

pub struct InProcessRelay {
    pub host_rt: Runtime,
    pub guest_rt: Runtime,
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub client: LinkClient,
}

fn runtime(name: &str) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

impl InProcessRelay {
    pub fn start(docker_socket: &Path) -> InProcessRelay {
        let host_rt = runtime("host");
        let guest_rt = runtime("guest");
        let dir = tempfile::Builder::new()
            .prefix("berth-link-")
            .tempdir()
            .expect("temp dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod run dir");
        let socket = dir.path().join("docker.sock");
        let (host_end, guest_end) = std::os::unix::net::UnixStream::pair().expect("socket pair");
        host_end.set_nonblocking(true).expect("nonblocking");
        guest_end.set_nonblocking(true).expect("nonblocking");

        let cfg = Arc::new(GuestConfig::new(docker_socket));
        guest_rt.spawn(async move {
            let io = tokio::net::UnixStream::from_std(guest_end).expect("register guest end");
            let outcome = guest::serve(io, cfg).await;
            eprintln!("agent session ended: {outcome:?}");
        });
        let client = host_rt.block_on(async {
            let io = tokio::net::UnixStream::from_std(host_end).expect("register host end");
            let client = LinkClient::handshake(io).await.expect("handshake");
            let listener = relay::bind_private(&socket).expect("bind relay socket");
            tokio::spawn(relay::serve_unix(listener, client.clone()));
            client
        });
        InProcessRelay {
            host_rt,
            guest_rt,
            dir,
            socket,
            client,
        }
    }

    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }
}
