//! The port forwarder against a real engine: a container's published port answers on the
//! host's loopback, two containers at once, the port closes when the container stops, a UDP
//! echo through a published UDP port, and a host port already taken is reported (and the
//! warning ends with its container).
//!
//! The harness dockerd lives in its own network namespace, which here plays the guest: the
//! dialer connects inside that namespace, as the agent does inside the VM.
// Network namespaces (setns) are Linux's; the engine tier runs on Linux.
#![cfg(target_os = "linux")]

use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use berth_daemon::published_ports::{self, PortWarnings};
use berth_engine::{Endpoint, Engine};
use berth_link::port_forwarder::{ForwardEvent, GuestDialer, Protocol};
use berth_testkit::{build_udp_echo, free_port, udp_ask, wait_until, Dockerd};
use tokio::io::DuplexStream;
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;

/// How long a published port may take to open, answer or close.
const PORT_DEADLINE: Duration = Duration::from_secs(60);

/// Dials ports inside a network namespace, as the agent does inside the VM: a short-lived
/// thread enters the namespace and makes the socket, which stays in that namespace after the
/// thread is gone. A UDP flow runs the agent's own flow code (`guest::serve_udp_flow`).
struct NetnsDialer {
    netns: std::path::PathBuf,
}

impl NetnsDialer {
    async fn in_netns<T: Send + 'static>(
        &self,
        make: impl FnOnce() -> std::io::Result<T> + Send + 'static,
    ) -> std::io::Result<T> {
        let netns = self.netns.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let result = (|| -> std::io::Result<T> {
                let ns = std::fs::File::open(&netns)?;
                nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(std::io::Error::from)?;
                make()
            })();
            let _ = tx.send(result);
        });
        rx.await.map_err(std::io::Error::other)?
    }
}

#[async_trait]
impl GuestDialer for NetnsDialer {
    type Stream = Either<tokio::net::TcpStream, DuplexStream>;

    async fn dial_tcp(&self, port: u16) -> std::io::Result<Self::Stream> {
        let stream = self
            .in_netns(move || {
                let stream = TcpStream::connect(("127.0.0.1", port))?;
                stream.set_nonblocking(true)?;
                Ok(stream)
            })
            .await?;
        Ok(Either::Left(tokio::net::TcpStream::from_std(stream)?))
    }

    async fn dial_udp(&self, port: u16) -> std::io::Result<Self::Stream> {
        let socket = self
            .in_netns(move || {
                let socket = UdpSocket::bind("127.0.0.1:0")?;
                socket.connect(("127.0.0.1", port))?;
                socket.set_nonblocking(true)?;
                Ok(socket)
            })
            .await?;
        let socket = tokio::net::UdpSocket::from_std(socket)?;
        let (host, guest) = tokio::io::duplex(1 << 20);
        tokio::spawn(berth_link::guest::serve_udp_flow(
            guest,
            socket,
            berth_link::guest::UDP_FLOW_IDLE,
        ));
        Ok(Either::Right(host))
    }
}

fn http_get(port: u16) -> std::io::Result<String> {
    berth_testkit::http_get(port, "/", Duration::from_secs(10))
        .map(|a| String::from_utf8_lossy(&a).into_owned())
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
    let warnings = PortWarnings::default();
    let cancel = CancellationToken::new();
    let follower = tokio::spawn(published_ports::follow(
        engine,
        dialer,
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        {
            let events = events.clone();
            let warnings = warnings.clone();
            move |e| {
                warnings.record(&e);
                events.lock().unwrap().push(e)
            }
        },
        cancel.clone(),
    ));

    let (a, b) = (free_port(), free_port());
    let web_a = run_web(&d, &image, a, "hello-a");
    let web_b = run_web(&d, &image, b, "hello-b");
    tokio::task::spawn_blocking(move || {
        wait_until(PORT_DEADLINE, "port a to answer", || {
            http_get(a).is_ok_and(|r| r.contains("hello-a"))
        })
        .unwrap();
        wait_until(PORT_DEADLINE, "port b to answer", || {
            http_get(b).is_ok_and(|r| r.contains("hello-b"))
        })
        .unwrap();
    })
    .await
    .unwrap();

    berth_testkit::run(d.docker().args(["stop", "-t", "1", &web_a])).unwrap();
    tokio::task::spawn_blocking(move || {
        wait_until(PORT_DEADLINE, "port a to close", || {
            TcpStream::connect(("127.0.0.1", a)).is_err()
        })
        .unwrap();
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
        wait_until(PORT_DEADLINE, "the taken port to be reported", || {
            events_seen.lock().unwrap().iter().any(|e| {
                matches!(e, ForwardEvent::Failed { binding, in_use: true, .. } if binding.host_port == taken_port)
            })
        }).unwrap()
    })
    .await
    .unwrap();
    let warning = warnings
        .list()
        .into_iter()
        .find(|w| w.host_port == taken_port)
        .expect("the warning is in the status list");
    assert!(warning.in_use && warning.message.contains("already in use"));
    let id = berth_testkit::run(d.docker().args(["inspect", "-f", "{{.Id}}", &web_c])).unwrap();
    assert_eq!(
        warning.container,
        id.trim(),
        "the warning names its container"
    );
    berth_testkit::run(d.docker().args(["rm", "-f", &web_c])).unwrap();
    let warnings_seen = warnings.clone();
    tokio::task::spawn_blocking(move || {
        wait_until(
            PORT_DEADLINE,
            "the warning to end with its container",
            || warnings_seen.list().is_empty(),
        )
        .unwrap()
    })
    .await
    .unwrap();

    // UDP: an echo server in a container answers through its published UDP port.
    let tools = tempfile::tempdir().unwrap();
    let echo = tools.path().join("udp-echo");
    build_udp_echo(tools.path(), &echo).expect("cc -static builds the UDP echo server");
    let udp_port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let web_u = d.unique_name("udp");
    berth_testkit::run(d.docker().args([
        "create",
        "--name",
        &web_u,
        "-p",
        &format!("{udp_port}:7/udp"),
        &image,
        "/udp-echo",
        "7",
    ]))
    .unwrap();
    berth_testkit::run(
        d.docker()
            .arg("cp")
            .arg(&echo)
            .arg(format!("{web_u}:/udp-echo")),
    )
    .unwrap();
    berth_testkit::run(d.docker().args(["start", &web_u])).unwrap();
    tokio::task::spawn_blocking(move || {
        let hello = udp_ask(udp_port, "hello", PORT_DEADLINE).unwrap();
        assert_eq!(hello, "udp-echo:hello");
        let again = udp_ask(udp_port, "again", PORT_DEADLINE).unwrap();
        assert_eq!(again, "udp-echo:again");
    })
    .await
    .unwrap();
    assert!(
        events.lock().unwrap().iter().any(|e| matches!(e,
            ForwardEvent::Listening { binding } if binding.host_port == udp_port && binding.protocol == Protocol::Udp)),
        "the UDP port was published as UDP"
    );
    berth_testkit::run(d.docker().args(["stop", "-t", "1", &web_u])).unwrap();
    tokio::task::spawn_blocking(move || {
        wait_until(PORT_DEADLINE, "the UDP port to be free again", || {
            UdpSocket::bind(("127.0.0.1", udp_port)).is_ok()
        })
        .unwrap()
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
    for name in [web_a, web_b, web_u] {
        let _ = berth_testkit::run(d.docker().args(["rm", "-f", &name]));
    }
    drop(taken);
}
