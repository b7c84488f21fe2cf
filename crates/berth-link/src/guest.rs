//! The agent's side of the link: accept streams and serve what each header asks for.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;

use crate::handshake::{self, Hello};
use crate::mux::{self, LinkStream};
use crate::protocol::{
    parse_boot_marks, read_datagram, read_frame, write_datagram, write_frame, AgentInfo, Reply,
    Request, Target, MAX_DATAGRAM,
};
use crate::splice::splice;
use crate::LinkError;

/// How long `ping` waits for the engine's own `/_ping`.
const ENGINE_PING_TIMEOUT: Duration = Duration::from_secs(2);
/// A UDP flow with no datagram either way for this long is over (like conntrack's UDP
/// timeout). The host expires its flows first (`port_forwarder::UDP_IDLE`); this bound only
/// frees the guest socket when the host never closes the stream.
pub const UDP_FLOW_IDLE: Duration = Duration::from_secs(90);

/// What the agent serves.
#[derive(Debug, Clone)]
pub struct GuestConfig {
    /// The guest engine socket, e.g. `/var/run/docker.sock`.
    pub docker_socket: PathBuf,
    /// Reported in [`AgentInfo::version`].
    pub agent_version: String,
    /// When the agent started, for [`AgentInfo::uptime_secs`].
    pub started: Instant,
    /// The guest init's boot marks ([`BOOT_MARKS`]), for [`AgentInfo::boot_marks`].
    pub boot_marks: PathBuf,
    /// What `set_clock` and `release_memory` change.
    pub system: Arc<dyn GuestSystem>,
}

/// What only the guest's own system can do: the agent provides the real one; tests and
/// stand-ins that run the agent's link on a host provide theirs.
pub trait GuestSystem: Send + Sync + std::fmt::Debug {
    /// Sets the wall clock to `since_epoch`.
    fn set_clock(&self, since_epoch: Duration) -> Result<(), String>;
    /// Drops the page cache so its pages are free (and reported to the host by the balloon).
    fn release_memory(&self) -> Result<(), String>;
}

/// A system that changes nothing and says so (the default outside the guest).
#[derive(Debug)]
pub struct ReadOnlySystem;

impl GuestSystem for ReadOnlySystem {
    fn set_clock(&self, _since_epoch: Duration) -> Result<(), String> {
        Err("this agent does not own a clock".into())
    }

    fn release_memory(&self) -> Result<(), String> {
        Err("this agent does not own a memory".into())
    }
}

/// Where the guest init records its boot marks (`name seconds-since-kernel-start` lines).
pub const BOOT_MARKS: &str = "/run/berth/boot-marks";

impl GuestConfig {
    pub fn new(docker_socket: impl Into<PathBuf>) -> Self {
        Self {
            docker_socket: docker_socket.into(),
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
            started: Instant::now(),
            boot_marks: PathBuf::from(BOOT_MARKS),
            system: Arc::new(ReadOnlySystem),
        }
    }

    pub fn with_system(mut self, system: Arc<dyn GuestSystem>) -> Self {
        self.system = system;
        self
    }
}

/// Why [`serve`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The host went away (or the byte stream broke): wait for it to come back.
    HostClosed,
    /// The host asked for a shutdown, and got its acknowledgement. The caller stops the
    /// engine and powers off.
    ShutdownRequested,
}

/// Serve one host session on `io`: answer the hello, then serve streams until the host goes
/// away or asks for a shutdown.
pub async fn serve<T>(mut io: T, cfg: Arc<GuestConfig>) -> Result<Outcome, LinkError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let session = handshake::server(&mut io, Hello::ours()).await?;
    tracing::info!(version = session.version, "host connected");
    // Dropping `_mux` when this returns closes the link.
    let (_mux, mut inbound) = mux::server(io);
    let (shutdown_tx, mut shutdown_rx) = mpsc::channel::<()>(1);
    loop {
        tokio::select! {
            stream = inbound.recv() => match stream {
                Some(stream) => {
                    tokio::spawn(serve_stream(stream, cfg.clone(), session.version, shutdown_tx.clone()));
                }
                None => return Ok(Outcome::HostClosed),
            },
            Some(()) = shutdown_rx.recv() => return Ok(Outcome::ShutdownRequested),
        }
    }
}

/// Serves each connection `listener` accepts as a session of its own, until one asks for a
/// shutdown: the agent's vsock and unix-socket modes, and the stand-in VMs the tests run it in.
/// `wrap` sees each connection first (a test's link that can be made to stall). An accept error
/// ends it with that error.
pub async fn serve_until_shutdown<L, T>(
    listener: L,
    cfg: Arc<GuestConfig>,
    wrap: impl Fn(L::Conn) -> T,
) -> std::io::Result<()>
where
    L: crate::listener::SessionListener,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (shutdown_tx, mut shutdown_rx) = mpsc::channel::<()>(1);
    loop {
        tokio::select! {
            accepted = listener.accept_session() => {
                let conn = accepted?;
                let (io, cfg, shutdown_tx) = (wrap(conn), cfg.clone(), shutdown_tx.clone());
                tokio::spawn(async move {
                    match serve(io, cfg).await {
                        Ok(Outcome::ShutdownRequested) => { let _ = shutdown_tx.send(()).await; }
                        Ok(Outcome::HostClosed) => tracing::info!("host disconnected"),
                        Err(LinkError::Closed) => tracing::debug!("connection closed before the hello"),
                        Err(e) => tracing::warn!(error = %e, "link session failed"),
                    }
                });
            }
            Some(()) = shutdown_rx.recv() => return Ok(()),
        }
    }
}

async fn serve_stream(
    mut stream: LinkStream,
    cfg: Arc<GuestConfig>,
    protocol: u16,
    shutdown: mpsc::Sender<()>,
) {
    let request: Request = match read_frame(&mut stream).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "bad stream header");
            let reply = Reply::Error {
                message: e.to_string(),
            };
            let _ = write_frame(&mut stream, &reply).await;
            return;
        }
    };
    let result = match request {
        Request::Open { target } => open_target(&mut stream, target, &cfg.docker_socket).await,
        Request::Ping => {
            let info = AgentInfo {
                version: cfg.agent_version.clone(),
                protocol,
                docker_ready: engine_ready(&cfg.docker_socket).await,
                uptime_secs: cfg.started.elapsed().as_secs(),
                // None yet (or a guest without them) is an empty list.
                boot_marks: tokio::fs::read_to_string(&cfg.boot_marks)
                    .await
                    .map(|text| parse_boot_marks(&text))
                    .unwrap_or_default(),
            };
            write_frame(&mut stream, &Reply::Info(info)).await
        }
        Request::SetClock { secs, nanos } => {
            let reply = done_or_error(cfg.system.set_clock(Duration::new(secs, nanos)));
            write_frame(&mut stream, &reply).await
        }
        Request::ReleaseMemory => {
            let system = cfg.system.clone();
            // Dropping caches walks the whole page cache: not on the runtime's threads.
            let done = tokio::task::spawn_blocking(move || system.release_memory())
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
            write_frame(&mut stream, &done_or_error(done)).await
        }
        Request::Shutdown => {
            let acked = write_frame(&mut stream, &Reply::ShuttingDown).await;
            let _ = stream.shutdown().await;
            let _ = shutdown.send(()).await;
            acked
        }
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "stream ended with an error");
    }
}

fn done_or_error(result: Result<(), String>) -> Reply {
    match result {
        Ok(()) => Reply::Done,
        Err(message) => Reply::Error { message },
    }
}

async fn open_target(
    stream: &mut LinkStream,
    target: Target,
    docker_socket: &Path,
) -> Result<(), LinkError> {
    match target {
        Target::Engine => {
            let mut engine = connect_engine(docker_socket).await?;
            splice(stream, &mut engine).await?;
        }
        Target::Tcp { port } => {
            let mut conn = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await?;
            conn.set_nodelay(true)?;
            splice(stream, &mut conn).await?;
        }
        Target::Udp { port } => {
            let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
            socket.connect((Ipv4Addr::LOCALHOST, port)).await?;
            serve_udp_flow(stream, socket, UDP_FLOW_IDLE).await?;
        }
    }
    Ok(())
}

/// Carry one UDP flow: every datagram frame read from `stream` is sent on `socket` (connected
/// to the guest port), every datagram the port answers is written back as a frame. Ends when
/// the host closes the stream, or after `idle` without a datagram either way.
///
/// An ICMP "port unreachable" (nothing listens yet, or any more) surfaces on a connected UDP
/// socket as `ConnectionRefused` on a later call; UDP promises nothing, so the flow goes on.
pub async fn serve_udp_flow<S>(
    stream: S,
    socket: UdpSocket,
    idle: Duration,
) -> Result<(), LinkError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut from_host, mut to_host) = tokio::io::split(stream);
    let clock = IdleClock::new();
    let outbound = async {
        let mut datagram = Vec::with_capacity(MAX_DATAGRAM);
        while read_datagram(&mut from_host, &mut datagram).await? {
            clock.touch();
            match socket.send(&datagram).await {
                Ok(_) => {}
                Err(e) if transient_udp_error(&e) => {}
                Err(e) => return Err(LinkError::Io(e)),
            }
        }
        Ok(())
    };
    let inbound = async {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            let n = match socket.recv(&mut buf).await {
                Ok(n) => n,
                Err(e) if transient_udp_error(&e) => continue,
                Err(e) => return Err(LinkError::Io(e)),
            };
            clock.touch();
            write_datagram(&mut to_host, &buf[..n]).await?;
        }
    };
    tokio::select! {
        done = outbound => done,
        done = inbound => done,
        () = clock.expired(idle) => Ok(()),
    }
}

/// Errors after which a UDP socket still works.
pub fn transient_udp_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::WouldBlock
    )
}

/// When a flow last saw a datagram, shared by the futures of one task.
pub struct IdleClock {
    start: tokio::time::Instant,
    last_ms: AtomicU64,
}

impl IdleClock {
    pub fn new() -> Self {
        Self {
            start: tokio::time::Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    pub fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Resolves once `idle` has passed since the last [`IdleClock::touch`].
    pub async fn expired(&self, idle: Duration) {
        loop {
            let last = self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            if last.elapsed() >= idle {
                return;
            }
            tokio::time::sleep_until(last + idle).await;
        }
    }
}

impl Default for IdleClock {
    fn default() -> Self {
        Self::new()
    }
}

/// The guest engine's unix socket. The agent runs in the Linux guest; a host without unix
/// sockets (Windows, where only in-process test agents run) cannot reach one.
#[cfg(unix)]
async fn connect_engine(docker_socket: &Path) -> std::io::Result<tokio::net::UnixStream> {
    tokio::net::UnixStream::connect(docker_socket).await
}

#[cfg(not(unix))]
async fn connect_engine(docker_socket: &Path) -> std::io::Result<tokio::io::DuplexStream> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        format!("{}: no unix sockets on this OS", docker_socket.display()),
    ))
}

/// Whether the engine answers `GET /_ping` with 200 within the timeout.
pub async fn engine_ready(docker_socket: &Path) -> bool {
    let probe = async {
        let mut conn = connect_engine(docker_socket).await?;
        conn.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            .await?;
        let mut status = [0u8; 12];
        conn.read_exact(&mut status).await?;
        Ok::<bool, std::io::Error>(status.starts_with(b"HTTP/1.") && &status[9..12] == b"200")
    };
    matches!(
        tokio::time::timeout(ENGINE_PING_TIMEOUT, probe).await,
        Ok(Ok(true))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::LinkClient;
    use tokio::net::TcpListener;

    fn pair() -> (tokio::io::DuplexStream, tokio::io::DuplexStream) {
        tokio::io::duplex(1 << 20)
    }

    #[tokio::test]
    async fn ping_reports_engine_down_when_socket_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Arc::new(GuestConfig::new(dir.path().join("docker.sock")));
        let (host_io, agent_io) = pair();
        let agent = tokio::spawn(serve(agent_io, cfg));
        let client = LinkClient::handshake(host_io).await.unwrap();
        let info = client.ping().await.unwrap();
        assert!(!info.docker_ready);
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(info.protocol, handshake::PROTOCOL_VERSION);
        drop(client);
        assert_eq!(agent.await.unwrap().unwrap(), Outcome::HostClosed);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn ping_sees_a_fake_engine_and_engine_streams_are_spliced() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("docker.sock");
        let listener = tokio::net::UnixListener::bind(&sock).unwrap();
        tokio::spawn(async move {
            loop {
                let (mut c, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    let n = c.read(&mut buf).await.unwrap();
                    if buf[..n].starts_with(b"GET /_ping") {
                        c.write_all(b"HTTP/1.0 200 OK\r\n\r\nOK").await.unwrap();
                    } else {
                        c.write_all(&buf[..n]).await.unwrap();
                    }
                });
            }
        });
        let (host_io, agent_io) = pair();
        tokio::spawn(serve(agent_io, Arc::new(GuestConfig::new(&sock))));
        let client = LinkClient::handshake(host_io).await.unwrap();
        assert!(client.ping().await.unwrap().docker_ready);
        let mut s = client.open(Target::Engine).await.unwrap();
        s.write_all(b"echo me").await.unwrap();
        let mut back = [0u8; 7];
        s.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"echo me");
    }

    #[tokio::test]
    async fn tcp_streams_reach_guest_loopback_ports() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut c, _) = listener.accept().await.unwrap();
            c.write_all(b"hello from the guest").await.unwrap();
        });
        let (host_io, agent_io) = pair();
        tokio::spawn(serve(agent_io, Arc::new(GuestConfig::new("/nonexistent"))));
        let client = LinkClient::handshake(host_io).await.unwrap();
        let mut s = client.open(Target::Tcp { port }).await.unwrap();
        let mut got = String::new();
        s.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "hello from the guest");
    }

    #[tokio::test]
    async fn udp_flows_reach_guest_loopback_ports_datagram_by_datagram() {
        let server = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = server.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            loop {
                let (n, peer) = server.recv_from(&mut buf).await.unwrap();
                let mut reply = b"echo:".to_vec();
                reply.extend_from_slice(&buf[..n]);
                server.send_to(&reply, peer).await.unwrap();
            }
        });
        let (host_io, agent_io) = pair();
        tokio::spawn(serve(agent_io, Arc::new(GuestConfig::new("/nonexistent"))));
        let client = LinkClient::handshake(host_io).await.unwrap();
        assert!(client
            .session()
            .capabilities
            .contains(handshake::Capabilities::UDP));
        let mut s = client.open(Target::Udp { port }).await.unwrap();
        for msg in [&b"a"[..], b"bb", b"ccc"] {
            write_datagram(&mut s, msg).await.unwrap();
        }
        let mut got = Vec::new();
        for want in [&b"echo:a"[..], b"echo:bb", b"echo:ccc"] {
            assert!(read_datagram(&mut s, &mut got).await.unwrap());
            assert_eq!(got, want);
        }
    }

    #[tokio::test]
    async fn a_udp_flow_survives_a_port_with_no_listener_yet() {
        // Nothing listens: the first send draws an ICMP error, which must not end the flow.
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let (mut host, guest) = tokio::io::duplex(1 << 16);
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        socket.connect((Ipv4Addr::LOCALHOST, port)).await.unwrap();
        let mut flow = tokio::spawn(serve_udp_flow(guest, socket, Duration::from_secs(30)));
        write_datagram(&mut host, b"lost").await.unwrap();
        write_datagram(&mut host, b"lost too").await.unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(300), &mut flow)
                .await
                .is_err(),
            "the flow outlives the refusals"
        );
        let server = UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).await.unwrap();
        write_datagram(&mut host, b"found").await.unwrap();
        let mut buf = [0u8; 64];
        let (n, _) = tokio::time::timeout(Duration::from_secs(5), server.recv_from(&mut buf))
            .await
            .expect("the flow still carries datagrams")
            .unwrap();
        assert_eq!(&buf[..n], b"found");
        drop(host);
        tokio::time::timeout(Duration::from_secs(5), flow)
            .await
            .expect("the flow ends with its stream")
            .unwrap()
            .unwrap();
    }

    #[derive(Debug, Default)]
    struct Recording(std::sync::Mutex<Vec<String>>);

    impl GuestSystem for Recording {
        fn set_clock(&self, since_epoch: Duration) -> Result<(), String> {
            let mut calls = self.0.lock().unwrap();
            calls.push(format!("clock {}", since_epoch.as_secs()));
            Ok(())
        }

        fn release_memory(&self) -> Result<(), String> {
            self.0.lock().unwrap().push("release".into());
            Err("drop_caches: permission denied".into())
        }
    }

    #[tokio::test]
    async fn clock_and_memory_requests_reach_the_guest_system_and_its_errors_come_back() {
        let system = Arc::new(Recording::default());
        let (host_io, agent_io) = pair();
        let cfg = GuestConfig::new("/nonexistent").with_system(system.clone());
        tokio::spawn(serve(agent_io, Arc::new(cfg)));
        let client = LinkClient::handshake(host_io).await.unwrap();
        let at = std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        client.set_clock(at).await.unwrap();
        let err = client.release_memory().await.unwrap_err();
        assert!(err.to_string().contains("permission denied"), "{err}");
        assert_eq!(*system.0.lock().unwrap(), ["clock 1800000000", "release"]);

        // An agent outside a guest refuses instead of pretending.
        let (host_io, agent_io) = pair();
        tokio::spawn(serve(agent_io, Arc::new(GuestConfig::new("/nonexistent"))));
        let client = LinkClient::handshake(host_io).await.unwrap();
        let err = client.set_clock(at).await.unwrap_err();
        assert!(err.to_string().contains("does not own a clock"), "{err}");
    }

    #[tokio::test]
    async fn an_idle_udp_flow_expires() {
        let (_host, guest) = tokio::io::duplex(1 << 16);
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        socket.connect((Ipv4Addr::LOCALHOST, 9)).await.unwrap();
        let started = tokio::time::Instant::now();
        let idle = Duration::from_millis(300);
        tokio::time::timeout(Duration::from_secs(10), serve_udp_flow(guest, socket, idle))
            .await
            .expect("the idle flow ends")
            .unwrap();
        assert!(started.elapsed() >= idle);
    }

    #[tokio::test]
    async fn unreachable_target_just_ends_the_stream() {
        let (host_io, agent_io) = pair();
        tokio::spawn(serve(agent_io, Arc::new(GuestConfig::new("/nonexistent"))));
        let client = LinkClient::handshake(host_io).await.unwrap();
        let mut s = client.open(Target::Engine).await.unwrap();
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got).await;
        assert!(got.is_empty());
        // The link itself is still fine.
        client.ping().await.unwrap();
    }

    #[tokio::test]
    async fn malformed_header_gets_an_error_reply_and_the_link_survives() {
        let (host_io, agent_io) = pair();
        tokio::spawn(serve(agent_io, Arc::new(GuestConfig::new("/nonexistent"))));
        let client = LinkClient::handshake(host_io).await.unwrap();
        let mut s = client.mux_for_tests().open().await.unwrap();
        s.write_all(&3u32.to_be_bytes()).await.unwrap();
        s.write_all(b"{{{").await.unwrap();
        let reply: Reply = read_frame(&mut s).await.unwrap();
        assert!(matches!(reply, Reply::Error { .. }));
        client.ping().await.unwrap();
    }

    #[tokio::test]
    async fn shutdown_is_acknowledged_then_the_link_closes() {
        let (host_io, agent_io) = pair();
        let agent = tokio::spawn(serve(agent_io, Arc::new(GuestConfig::new("/nonexistent"))));
        let client = LinkClient::handshake(host_io).await.unwrap();
        client.shutdown().await.unwrap();
        assert_eq!(agent.await.unwrap().unwrap(), Outcome::ShutdownRequested);
        tokio::time::timeout(Duration::from_secs(5), client.closed())
            .await
            .expect("link closed after shutdown");
    }

    #[tokio::test]
    async fn host_that_is_not_berth_is_rejected() {
        let (mut host_io, agent_io) = pair();
        let agent = tokio::spawn(serve(agent_io, Arc::new(GuestConfig::new("/nonexistent"))));
        host_io.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        drop(host_io);
        assert!(matches!(agent.await.unwrap(), Err(LinkError::Closed)));
    }
}
