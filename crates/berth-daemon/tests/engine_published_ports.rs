//! The port forwarder against a real engine: a container's published port answers on the
//! host's loopback, two containers at once, the port closes when the container stops, and a
//! host port already taken is reported.
//!
//! The harness dockerd lives in its own network namespace, which here plays the guest: the
//! dialer connects inside that namespace, as the agent does inside the VM.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use berth_daemon::published_ports;
use berth_engine::{Endpoint, Engine};
use berth_link::port_forwarder::{ForwardEvent, GuestDialer};
use berth_testkit::Dockerd;
use tokio_util::sync::CancellationToken;

/// Dials TCP ports inside a network namespace: a short-lived thread enters the namespace and
/// makes the socket, which stays in that namespace after the thread is gone.
struct NetnsDialer {
    netns: std::path::PathBuf,
}

#[async_trait]
impl GuestDialer for NetnsDialer {
    type Stream = tokio::net::TcpStream;

    async fn dial_tcp(&self, port: u16) -> std::io::Result<tokio::net::TcpStream> {
        let netns = self.netns.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let result = (|| -> std::io::Result<TcpStream> {
                let ns = std::fs::File::open(&netns)?;
                nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(std::io::Error::from)?;
                let stream = TcpStream::connect(("127.0.0.1", port))?;
                stream.set_nonblocking(true)?;
                Ok(stream)
            })();
            let _ = tx.send(result);
        });
        let stream = rx.await.map_err(std::io::Error::other)??;
        tokio::net::TcpStream::from_std(stream)
    }
}

fn free_host_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get(port: u16) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run_web(d: &Dockerd, image: &str, host_port: u16, text: &str) -> String {
    let name = d.unique_name("web");
    let script =
        format!("mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 80 -h /www");
    berth_testkit::run(d.docker().args([
        "run",
        "-d",
        "--name",
        &name,
        "-p",
        &format!("{host_port}:80"),
        image,
        "sh",
        "-c",
        &script,
    ]))
    .unwrap();
    name
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_ports_follow_the_containers() {
    let d = Dockerd::start().expect("start a private dockerd");
    let image = d.test_image().unwrap();
    let engine = Engine::connect(&Endpoint::Unix(d.socket().to_owned()))
        .await
        .unwrap();
    let dialer = Arc::new(NetnsDialer {
        netns: format!("/var/run/netns/{}", d.netns()).into(),
    });
    let events: Arc<Mutex<Vec<ForwardEvent>>> = Arc::default();
    let cancel = CancellationToken::new();
    let follower = tokio::spawn(published_ports::follow(
        engine,
        dialer,
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        {
            let events = events.clone();
            move |e| events.lock().unwrap().push(e)
        },
        cancel.clone(),
    ));

    let (a, b) = (free_host_port(), free_host_port());
    let web_a = run_web(&d, &image, a, "hello-a");
    let web_b = run_web(&d, &image, b, "hello-b");
    tokio::task::spawn_blocking(move || {
        wait_until("port a to answer", || {
            http_get(a).is_ok_and(|r| r.contains("hello-a"))
        });
        wait_until("port b to answer", || {
            http_get(b).is_ok_and(|r| r.contains("hello-b"))
        });
    })
    .await
    .unwrap();

    berth_testkit::run(d.docker().args(["stop", "-t", "1", &web_a])).unwrap();
    tokio::task::spawn_blocking(move || {
        wait_until("port a to close", || {
            TcpStream::connect(("127.0.0.1", a)).is_err()
        });
        assert!(http_get(b).unwrap().contains("hello-b"), "b still answers");
    })
    .await
    .unwrap();

    // A host port that something else holds: the container runs, the user is told.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    let web_c = run_web(&d, &image, taken_port, "hello-c");
    let events_seen = events.clone();
    tokio::task::spawn_blocking(move || {
        wait_until("the taken port to be reported", || {
            events_seen.lock().unwrap().iter().any(|e| {
                matches!(e, ForwardEvent::Failed { binding, in_use: true, .. } if binding.host_port == taken_port)
            })
        })
    })
    .await
    .unwrap();

    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(10), follower)
        .await
        .expect("the follower stops when cancelled")
        .unwrap();
    assert!(
        TcpStream::connect(("127.0.0.1", b)).is_err(),
        "cancelling closes every listener"
    );
    for name in [web_a, web_b, web_c] {
        let _ = berth_testkit::run(d.docker().args(["rm", "-f", &name]));
    }
    drop(taken);
}
