//! Tier 2: the real `berth-agent` binary (`--listen-unix`) in front of a harness dockerd.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use berth_link::{LinkClient, Target};
use berth_testkit::{wait_until, ChildGuard, Dockerd};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn start_agent(docker_socket: &Path, listen: &Path, pidfile: &Path) -> ChildGuard {
    let child = Command::new(env!("CARGO_BIN_EXE_berth-agent"))
        .args(["serve", "--on-shutdown", "stop-engine", "--listen-unix"])
        .arg(listen)
        .arg("--docker-socket")
        .arg(docker_socket)
        .arg("--dockerd-pidfile")
        .arg(pidfile)
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn berth-agent");
    let guard = ChildGuard::new(child);
    wait_until(Duration::from_secs(10), "agent socket", || {
        std::os::unix::net::UnixStream::connect(listen).ok()
    })
    .expect("agent listening");
    guard
}

async fn connect(listen: &Path) -> LinkClient {
    let io = tokio::net::UnixStream::connect(listen)
        .await
        .expect("connect to agent");
    tokio::time::timeout(Duration::from_secs(10), LinkClient::handshake(io))
        .await
        .expect("handshake in time")
        .expect("handshake")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_serves_the_engine_survives_reconnects_and_stops_the_engine() {
    let d = Dockerd::start().expect("dockerd");
    let dir = tempfile::tempdir().unwrap();
    let listen = dir.path().join("agent.sock");
    // A stand-in for dockerd's pid file: shutdown must SIGTERM exactly this process.
    let mut engine_stand_in = ChildGuard::new(Command::new("sleep").arg("600").spawn().unwrap());
    let pidfile = dir.path().join("docker.pid");
    std::fs::write(&pidfile, format!("{}\n", engine_stand_in.id())).unwrap();
    let mut agent = start_agent(d.socket(), &listen, &pidfile);

    // First host session: ping, one engine request, then the host goes away.
    let client = connect(&listen).await;
    let info = client.ping().await.expect("ping");
    assert!(info.docker_ready, "{info:?}");
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
    let mut s = client.open(Target::Engine).await.unwrap();
    s.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        .await
        .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).await.unwrap();
    assert!(resp.starts_with("HTTP/1.0 200"), "{resp}");
    assert!(resp.ends_with("OK"), "{resp}");
    drop(s);
    drop(client);

    // The agent takes a new host.
    let client = connect(&listen).await;
    assert!(
        client
            .ping()
            .await
            .expect("ping after reconnect")
            .docker_ready
    );

    // Shutdown: acknowledged, the link closes, the "engine" is stopped, the agent exits 0.
    client.shutdown().await.expect("shutdown");
    tokio::time::timeout(Duration::from_secs(10), client.closed())
        .await
        .expect("link closed");
    let status = wait_until(Duration::from_secs(30), "agent exit", || {
        agent.try_wait().unwrap()
    })
    .expect("agent exited");
    assert!(status.success(), "agent exit: {status}");
    let engine_status = engine_stand_in.try_wait().unwrap();
    assert!(
        engine_status.is_some_and(|s| !s.success()),
        "engine stand-in was signalled: {engine_status:?}"
    );
}
