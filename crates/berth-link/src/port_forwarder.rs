//! Published ports on the host: for every port a running container publishes in the guest, a
//! listener on the same host address and port whose connections are carried over the link to
//! the guest's loopback.
//!
//! TCP: each accepted connection becomes one link stream. UDP: one host socket per port, and
//! one *flow* per client address (one link stream carrying length-prefixed datagrams, see
//! [`crate::protocol::write_datagram`]); a flow with no datagram either way for [`UDP_IDLE`]
//! ends, as conntrack forgets an idle UDP "connection".
//!
//! The forwarder is a reconciler: the daemon hands it the full set of [`Binding`]s it wants
//! (computed from engine events) and [`PortForwarder::reconcile`] opens what is missing, closes
//! what is no longer wanted, and reports each change as a [`ForwardEvent`] — including a host
//! port that is already taken, which the UI shows on that container instead of failing silently.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tracing::{debug, warn};

use crate::guest::{transient_udp_error, IdleClock};
use crate::protocol::{read_datagram, write_datagram, Target, MAX_DATAGRAM};
use crate::{LinkClient, LinkStream};

/// Shared with the daemon's control protocol, so they live in berth-core.
pub use berth_core::ports::{PortWarning, Protocol};

/// A UDP flow with no datagram either way for this long ends (conntrack's UDP timeout is 30 s
/// for a one-way flow and 120 s once answered; one value keeps it simple).
pub const UDP_IDLE: Duration = Duration::from_secs(60);
/// Datagrams queued per flow while its link stream opens or is busy; beyond that they are
/// dropped, as a full socket buffer would.
const UDP_FLOW_QUEUE: usize = 256;

/// One published port: listen on `host_ip:host_port`, carry to the guest's `guest_port`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    /// The container that publishes it (for notices).
    pub container: String,
    pub host_ip: IpAddr,
    pub host_port: u16,
    /// The port the engine published in the guest (the same number as `host_port` for
    /// `-p 8080:80`: the guest listens on 8080 and forwards to the container's 80).
    pub guest_port: u16,
    pub protocol: Protocol,
}

impl Binding {
    fn key(&self) -> (IpAddr, u16, Protocol) {
        (self.host_ip, self.host_port, self.protocol)
    }
}

/// The host address for a port the engine published on `guest_ip` in the VM.
///
/// "All addresses" in the guest (`0.0.0.0`, `::`, or none given) means the user's
/// `ports.bind_address` on the host — `127.0.0.1` unless they chose otherwise — so a published
/// port is not reachable from the network by surprise. A loopback address stays loopback.
pub fn host_address(guest_ip: &str, bind_address: IpAddr) -> IpAddr {
    match guest_ip.parse::<IpAddr>() {
        Ok(ip) if ip.is_loopback() => ip,
        Ok(IpAddr::V6(_)) => match bind_address {
            IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            IpAddr::V4(v4) if v4.is_loopback() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            other => other,
        },
        // Unspecified, empty, or an address of the VM's own network: the user's choice.
        _ => bind_address,
    }
}

/// What happened to one binding during a [`PortForwarder::reconcile`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ForwardEvent {
    Listening {
        binding: Binding,
    },
    Closed {
        binding: Binding,
    },
    /// Reported once per failure, until the binding goes away or succeeds.
    Failed {
        binding: Binding,
        in_use: bool,
        message: String,
    },
    /// A binding that had `Failed` is no longer wanted (its container stopped): its warning
    /// is over.
    Withdrawn {
        binding: Binding,
    },
}

/// How the forwarder reaches a port in the guest. The link implements it; tests use a local one.
#[async_trait]
pub trait GuestDialer: Send + Sync + 'static {
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    async fn dial_tcp(&self, port: u16) -> io::Result<Self::Stream>;
    /// A stream for one UDP flow to the guest `port`: datagram frames both ways
    /// ([`crate::protocol::write_datagram`]).
    async fn dial_udp(&self, port: u16) -> io::Result<Self::Stream>;
}

#[async_trait]
impl GuestDialer for LinkClient {
    type Stream = LinkStream;

    async fn dial_tcp(&self, port: u16) -> io::Result<LinkStream> {
        self.open(Target::Tcp { port })
            .await
            .map_err(|e| io::Error::new(io::ErrorKind::BrokenPipe, e))
    }

    async fn dial_udp(&self, port: u16) -> io::Result<LinkStream> {
        self.open(Target::Udp { port })
            .await
            .map_err(|e| io::Error::new(io::ErrorKind::BrokenPipe, e))
    }
}

impl ForwardEvent {
    /// The warning a `Failed` event stands for.
    pub fn warning(&self) -> Option<PortWarning> {
        match self {
            ForwardEvent::Failed {
                binding,
                in_use,
                message,
            } => Some(PortWarning {
                container: binding.container.clone(),
                host_ip: binding.host_ip,
                host_port: binding.host_port,
                protocol: binding.protocol,
                in_use: *in_use,
                message: message.clone(),
            }),
            _ => None,
        }
    }

    pub fn binding(&self) -> &Binding {
        match self {
            ForwardEvent::Listening { binding }
            | ForwardEvent::Closed { binding }
            | ForwardEvent::Withdrawn { binding }
            | ForwardEvent::Failed { binding, .. } => binding,
        }
    }
}

struct Active {
    binding: Binding,
    task: Option<JoinHandle<()>>,
}

impl Active {
    /// Ends the accept loop and waits until its listener is closed, so the port can be bound
    /// again at once (by a replacement binding, or by anyone else).
    async fn close(mut self) -> Binding {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        self.binding.clone()
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

pub struct PortForwarder<D: GuestDialer> {
    dialer: Arc<D>,
    active: HashMap<(IpAddr, u16, Protocol), Active>,
    failed: HashSet<Binding>,
}

impl<D: GuestDialer> PortForwarder<D> {
    pub fn new(dialer: Arc<D>) -> Self {
        PortForwarder {
            dialer,
            active: HashMap::new(),
            failed: HashSet::new(),
        }
    }

    /// The bindings listening now.
    pub fn active(&self) -> Vec<Binding> {
        let mut list: Vec<_> = self.active.values().map(|a| a.binding.clone()).collect();
        list.sort_by_key(|b| (b.host_port, b.host_ip));
        list
    }

    /// Makes the listeners match `desired` exactly.
    pub async fn reconcile(&mut self, desired: Vec<Binding>) -> Vec<ForwardEvent> {
        let mut events = Vec::new();
        let wanted: HashMap<_, _> = desired.into_iter().map(|b| (b.key(), b)).collect();

        let stale: Vec<_> = self
            .active
            .iter()
            .filter(|(key, a)| wanted.get(*key) != Some(&a.binding))
            .map(|(key, _)| *key)
            .collect();
        for key in stale {
            if let Some(active) = self.active.remove(&key) {
                debug!(port = key.1, "closing forwarded port");
                events.push(ForwardEvent::Closed {
                    binding: active.close().await,
                });
            }
        }
        let withdrawn: Vec<_> = self
            .failed
            .iter()
            .filter(|b| wanted.get(&b.key()) != Some(*b))
            .cloned()
            .collect();
        for binding in withdrawn {
            self.failed.remove(&binding);
            events.push(ForwardEvent::Withdrawn { binding });
        }

        for (key, binding) in wanted {
            if self.active.contains_key(&key) {
                continue;
            }
            match self.listen(&binding).await {
                Ok(task) => {
                    self.failed.remove(&binding);
                    events.push(ForwardEvent::Listening {
                        binding: binding.clone(),
                    });
                    self.active.insert(
                        key,
                        Active {
                            binding,
                            task: Some(task),
                        },
                    );
                }
                Err(error) => {
                    if self.failed.insert(binding.clone()) {
                        warn!(port = binding.host_port, %error, "cannot publish port on the host");
                        events.push(ForwardEvent::Failed {
                            in_use: error.kind() == io::ErrorKind::AddrInUse,
                            message: describe_failure(&binding, &error),
                            binding,
                        });
                    }
                }
            }
        }
        events
    }

    async fn listen(&self, binding: &Binding) -> io::Result<JoinHandle<()>> {
        match binding.protocol {
            Protocol::Tcp => {
                let listener =
                    TcpListener::bind(SocketAddr::new(binding.host_ip, binding.host_port)).await?;
                Ok(tokio::spawn(serve_tcp(
                    listener,
                    self.dialer.clone(),
                    binding.guest_port,
                )))
            }
            Protocol::Udp => {
                let socket =
                    UdpSocket::bind(SocketAddr::new(binding.host_ip, binding.host_port)).await?;
                Ok(tokio::spawn(serve_udp(
                    Arc::new(socket),
                    self.dialer.clone(),
                    binding.guest_port,
                    UDP_IDLE,
                )))
            }
        }
    }
}

fn describe_failure(binding: &Binding, error: &io::Error) -> String {
    let addr = SocketAddr::new(binding.host_ip, binding.host_port);
    match error.kind() {
        io::ErrorKind::AddrInUse => format!(
            "port {addr} is already in use on this computer; the container runs, but its port is not reachable from the host. Stop what uses the port, or publish another one"
        ),
        io::ErrorKind::PermissionDenied => format!(
            "Berth may not listen on {addr} (ports below 1024 need privileges); publish a port of 1024 or above"
        ),
        _ => format!("cannot listen on {addr}: {error}"),
    }
}

async fn serve_tcp<D: GuestDialer>(listener: TcpListener, dialer: Arc<D>, guest_port: u16) {
    loop {
        let (mut client, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(error) => {
                warn!(%error, "accept failed on a forwarded port");
                continue;
            }
        };
        let dialer = dialer.clone();
        tokio::spawn(async move {
            let _ = client.set_nodelay(true);
            match dialer.dial_tcp(guest_port).await {
                Ok(mut guest) => {
                    if let Err(error) = crate::splice::splice(&mut client, &mut guest).await {
                        debug!(%peer, %error, "forwarded connection ended with an error");
                    }
                }
                Err(error) => debug!(%peer, %error, "cannot reach the guest port"),
            }
        });
    }
}

/// Serve one published UDP port: a flow per client address, each over its own link stream.
/// Aborting this task ends every flow with it (they live in its `JoinSet`) and closes the
/// socket, so the port is free again at once.
async fn serve_udp<D: GuestDialer>(
    socket: Arc<UdpSocket>,
    dialer: Arc<D>,
    guest_port: u16,
    idle: Duration,
) {
    let mut flows: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let mut tasks = JoinSet::new();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        tokio::select! {
            received = socket.recv_from(&mut buf) => {
                let (n, peer) = match received {
                    Ok(got) => got,
                    Err(error) if transient_udp_error(&error) => continue,
                    Err(error) => {
                        warn!(%error, "receive failed on a forwarded UDP port");
                        continue;
                    }
                };
                let datagram = buf[..n].to_vec();
                let datagram = match flows.get(&peer) {
                    Some(tx) => match tx.try_send(datagram) {
                        // Sent; or the queue is full and it is dropped, as a full socket
                        // buffer would drop it.
                        Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => continue,
                        // The flow just ended: a new one carries this datagram.
                        Err(mpsc::error::TrySendError::Closed(d)) => d,
                    },
                    None => datagram,
                };
                let (tx, rx) = mpsc::channel(UDP_FLOW_QUEUE);
                let _ = tx.try_send(datagram);
                flows.insert(peer, tx);
                let flow = udp_flow(socket.clone(), peer, rx, dialer.clone(), guest_port, idle);
                tasks.spawn(async move {
                    if let Err(error) = flow.await {
                        debug!(%peer, %error, "UDP flow ended with an error");
                    }
                    peer
                });
            }
            Some(Ok(peer)) = tasks.join_next() => {
                // Forget the flow unless a new one for the same peer already replaced it.
                if flows.get(&peer).is_some_and(|tx| tx.is_closed()) {
                    flows.remove(&peer);
                }
            }
        }
    }
}

/// One client's flow: datagrams from `rx` go to the guest, the guest's answers go back to
/// `peer` from the published socket. Ends after `idle` without a datagram either way.
async fn udp_flow<D: GuestDialer>(
    socket: Arc<UdpSocket>,
    peer: SocketAddr,
    mut rx: mpsc::Receiver<Vec<u8>>,
    dialer: Arc<D>,
    guest_port: u16,
    idle: Duration,
) -> io::Result<()> {
    let stream = dialer.dial_udp(guest_port).await?;
    let (mut from_guest, mut to_guest) = tokio::io::split(stream);
    let clock = IdleClock::new();
    let outbound = async {
        while let Some(datagram) = rx.recv().await {
            clock.touch();
            write_datagram(&mut to_guest, &datagram)
                .await
                .map_err(io::Error::other)?;
        }
        Ok::<(), io::Error>(())
    };
    let inbound = async {
        let mut datagram = Vec::with_capacity(MAX_DATAGRAM);
        while read_datagram(&mut from_guest, &mut datagram)
            .await
            .map_err(io::Error::other)?
        {
            clock.touch();
            if let Err(error) = socket.send_to(&datagram, peer).await {
                debug!(%peer, %error, "cannot answer a UDP client");
            }
        }
        Ok(())
    };
    tokio::select! {
        done = outbound => done,
        done = inbound => done,
        () = clock.expired(idle) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
    use tokio::net::TcpStream;

    /// The "guest" is this host's loopback: dialing port N reaches a local server on N; a UDP
    /// flow runs the agent's own flow code against it.
    struct Loopback;

    #[async_trait]
    impl GuestDialer for Loopback {
        type Stream = tokio_util::either::Either<TcpStream, DuplexStream>;
        async fn dial_tcp(&self, port: u16) -> io::Result<Self::Stream> {
            Ok(tokio_util::either::Either::Left(
                TcpStream::connect(("127.0.0.1", port)).await?,
            ))
        }
        async fn dial_udp(&self, port: u16) -> io::Result<Self::Stream> {
            let (host, guest) = tokio::io::duplex(1 << 20);
            let socket = UdpSocket::bind("127.0.0.1:0").await?;
            socket.connect(("127.0.0.1", port)).await?;
            tokio::spawn(crate::guest::serve_udp_flow(
                guest,
                socket,
                crate::guest::UDP_FLOW_IDLE,
            ));
            Ok(tokio_util::either::Either::Right(host))
        }
    }

    /// A UDP server that answers each datagram with `<its port>:<the datagram>`.
    async fn udp_echo_server() -> u16 {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = socket.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut buf = vec![0u8; MAX_DATAGRAM];
            loop {
                let (n, peer) = socket.recv_from(&mut buf).await.unwrap();
                let mut reply = format!("{port}:").into_bytes();
                reply.extend_from_slice(&buf[..n]);
                let _ = socket.send_to(&reply, peer).await;
            }
        });
        port
    }

    fn free_udp_port() -> u16 {
        std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    fn udp_binding(host_port: u16, guest_port: u16) -> Binding {
        Binding {
            protocol: Protocol::Udp,
            ..binding(host_port, guest_port)
        }
    }

    async fn udp_ask(client: &UdpSocket, port: u16, text: &[u8]) -> Vec<u8> {
        client.send_to(text, ("127.0.0.1", port)).await.unwrap();
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let n = tokio::time::timeout(Duration::from_secs(5), client.recv(&mut buf))
            .await
            .expect("an answer within 5 s")
            .unwrap();
        buf.truncate(n);
        buf
    }

    #[tokio::test]
    async fn udp_datagrams_are_forwarded_per_client_and_the_port_closes() {
        let guest_port = udp_echo_server().await;
        let host_port = free_udp_port();
        let mut fw = PortForwarder::new(Arc::new(Loopback));
        let events = fw.reconcile(vec![udp_binding(host_port, guest_port)]).await;
        assert!(matches!(
            events.as_slice(),
            [ForwardEvent::Listening { .. }]
        ));

        let alice = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let bob = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let want = |text: &str| format!("{guest_port}:{text}").into_bytes();
        assert_eq!(udp_ask(&alice, host_port, b"hi").await, want("hi"));
        assert_eq!(udp_ask(&bob, host_port, b"yo").await, want("yo"));
        assert_eq!(udp_ask(&alice, host_port, b"again").await, want("again"));
        let big = vec![b'x'; 60_000];
        let mut want_big = format!("{guest_port}:").into_bytes();
        want_big.extend_from_slice(&big);
        assert_eq!(udp_ask(&bob, host_port, &big).await, want_big);

        let events = fw.reconcile(vec![]).await;
        assert!(matches!(events.as_slice(), [ForwardEvent::Closed { .. }]));
        // The socket is closed with its flows: the port can be bound again at once.
        std::net::UdpSocket::bind(("127.0.0.1", host_port)).expect("the UDP port is free");
    }

    #[tokio::test]
    async fn an_idle_udp_flow_expires_and_the_next_datagram_starts_a_new_one() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        /// Counts flows dialed, and flows the guest side saw end.
        #[derive(Default)]
        struct Counting {
            dialed: AtomicUsize,
            ended: Arc<AtomicUsize>,
        }
        #[async_trait]
        impl GuestDialer for Counting {
            type Stream = DuplexStream;
            async fn dial_tcp(&self, _port: u16) -> io::Result<DuplexStream> {
                Err(io::ErrorKind::Unsupported.into())
            }
            async fn dial_udp(&self, port: u16) -> io::Result<DuplexStream> {
                self.dialed.fetch_add(1, SeqCst);
                let (host, guest) = tokio::io::duplex(1 << 20);
                let socket = UdpSocket::bind("127.0.0.1:0").await?;
                socket.connect(("127.0.0.1", port)).await?;
                let ended = self.ended.clone();
                tokio::spawn(async move {
                    let idle = Duration::from_secs(3600); // only the host side expires here
                    let _ = crate::guest::serve_udp_flow(guest, socket, idle).await;
                    ended.fetch_add(1, SeqCst);
                });
                Ok(host)
            }
        }
        let guest_port = udp_echo_server().await;
        let host = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let host_port = host.local_addr().unwrap().port();
        let dialer = Arc::new(Counting::default());
        let idle = Duration::from_millis(500);
        tokio::spawn(serve_udp(Arc::new(host), dialer.clone(), guest_port, idle));
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        udp_ask(&client, host_port, b"1").await;
        udp_ask(&client, host_port, b"2").await;
        assert_eq!(dialer.dialed.load(SeqCst), 1, "an active flow is reused");

        let quiet_since = tokio::time::Instant::now();
        let deadline = quiet_since + Duration::from_secs(10);
        while dialer.ended.load(SeqCst) == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the idle flow never ended"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(quiet_since.elapsed() >= idle - Duration::from_millis(100));
        udp_ask(&client, host_port, b"3").await;
        assert_eq!(
            dialer.dialed.load(SeqCst),
            2,
            "a new flow carried the next datagram"
        );
    }

    #[tokio::test]
    async fn udp_and_tcp_ports_travel_over_a_real_link_to_the_agent() {
        let (host_io, agent_io) = tokio::io::duplex(1 << 20);
        tokio::spawn(crate::guest::serve(
            agent_io,
            Arc::new(crate::guest::GuestConfig::new("/nonexistent")),
        ));
        let client = LinkClient::handshake(host_io).await.unwrap();
        let (udp_guest, tcp_guest) = (udp_echo_server().await, echo_server().await);
        let (udp_host, tcp_host) = (free_udp_port(), free_port());
        let mut fw = PortForwarder::new(Arc::new(client));
        let events = fw
            .reconcile(vec![
                udp_binding(udp_host, udp_guest),
                binding(tcp_host, tcp_guest),
            ])
            .await;
        assert!(events.iter().all(|e| e.warning().is_none()), "{events:?}");
        let clients = [
            UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            UdpSocket::bind("127.0.0.1:0").await.unwrap(),
        ];
        for round in 0..3 {
            for (i, c) in clients.iter().enumerate() {
                let text = format!("client {i} round {round}");
                let want = format!("{udp_guest}:{text}").into_bytes();
                assert_eq!(udp_ask(c, udp_host, text.as_bytes()).await, want);
            }
        }
        assert_eq!(roundtrip(tcp_host, b"tcp too").await.unwrap(), b"tcp too");
    }

    #[tokio::test]
    async fn a_taken_udp_port_is_a_warning() {
        let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let mut fw = PortForwarder::new(Arc::new(Loopback));
        let events = fw.reconcile(vec![udp_binding(port, 9)]).await;
        let warning = events[0].warning().expect("a warning");
        assert!(warning.in_use);
        assert_eq!(warning.protocol, Protocol::Udp);
        assert_eq!(warning.host_port, port);
        assert_eq!(warning.container, "c1");
        assert!(warning.message.contains("already in use"));
        assert_eq!(
            serde_json::to_value(&warning).unwrap()["hostPort"],
            serde_json::json!(port)
        );
    }

    async fn echo_server() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        port
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// Whether connecting to `port` is refused within a deadline (the abort is asynchronous).
    async fn wait_refused(port: u16) -> bool {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while tokio::time::Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).await.is_err() {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        false
    }

    fn binding(host_port: u16, guest_port: u16) -> Binding {
        Binding {
            container: "c1".into(),
            host_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            host_port,
            guest_port,
            protocol: Protocol::Tcp,
        }
    }

    async fn roundtrip(port: u16, text: &[u8]) -> io::Result<Vec<u8>> {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
        s.write_all(text).await?;
        s.shutdown().await?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await?;
        Ok(out)
    }

    #[test]
    fn all_addresses_in_the_guest_mean_the_users_bind_address() {
        let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        assert_eq!(host_address("0.0.0.0", local), local);
        assert_eq!(host_address("", local), local);
        assert_eq!(host_address("0.0.0.0", any), any);
        assert_eq!(host_address("::", local), IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(host_address("::", any), IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        assert_eq!(
            host_address("127.0.0.2", any),
            "127.0.0.2".parse::<IpAddr>().unwrap()
        );
        assert_eq!(host_address("10.0.2.15", local), local);
    }

    #[tokio::test]
    async fn a_binding_forwards_connections_and_closes_when_removed() {
        let guest_port = echo_server().await;
        let host_port = free_port();
        let mut fw = PortForwarder::new(Arc::new(Loopback));
        let events = fw.reconcile(vec![binding(host_port, guest_port)]).await;
        assert!(matches!(
            events.as_slice(),
            [ForwardEvent::Listening { .. }]
        ));
        assert_eq!(roundtrip(host_port, b"hello").await.unwrap(), b"hello");

        // Unchanged desired state: nothing happens.
        assert_eq!(fw.reconcile(vec![binding(host_port, guest_port)]).await, []);

        let events = fw.reconcile(vec![]).await;
        assert!(matches!(events.as_slice(), [ForwardEvent::Closed { .. }]));
        assert!(wait_refused(host_port).await, "the listener is gone");
    }

    #[tokio::test]
    async fn two_ports_at_once_and_a_taken_port_is_reported_once() {
        let guest_a = echo_server().await;
        let guest_b = echo_server().await;
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let taken_port = taken.local_addr().unwrap().port();
        let (a, b) = (free_port(), free_port());
        let desired = vec![
            binding(a, guest_a),
            binding(b, guest_b),
            binding(taken_port, guest_a),
        ];
        let mut fw = PortForwarder::new(Arc::new(Loopback));
        let events = fw.reconcile(desired.clone()).await;
        let failed: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                ForwardEvent::Failed {
                    binding,
                    in_use,
                    message,
                } => Some((binding.host_port, *in_use, message.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].0, taken_port);
        assert!(failed[0].1, "reported as in use");
        assert!(failed[0].2.contains("already in use"), "{}", failed[0].2);
        assert_eq!(roundtrip(a, b"a").await.unwrap(), b"a");
        assert_eq!(roundtrip(b, b"b").await.unwrap(), b"b");
        assert_eq!(fw.active().len(), 2);

        // Asking again does not repeat the warning; freeing the port lets it through.
        assert_eq!(fw.reconcile(desired.clone()).await, []);
        drop(taken);
        let events = fw.reconcile(desired).await;
        assert!(
            matches!(events.as_slice(), [ForwardEvent::Listening { binding }] if binding.host_port == taken_port)
        );
        // A failed binding that is no longer wanted withdraws its warning.
        let mut fw = PortForwarder::new(Arc::new(Loopback));
        let second = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let second_port = second.local_addr().unwrap().port();
        fw.reconcile(vec![binding(second_port, guest_a)]).await;
        let events = fw.reconcile(vec![]).await;
        assert!(
            matches!(events.as_slice(), [ForwardEvent::Withdrawn { binding }] if binding.host_port == second_port)
        );
        assert_eq!(fw.reconcile(vec![]).await, []);
    }

    #[tokio::test]
    async fn a_changed_target_replaces_the_listener() {
        let first = echo_server().await;
        let second = echo_server().await;
        let port = free_port();
        let mut fw = PortForwarder::new(Arc::new(Loopback));
        fw.reconcile(vec![binding(port, first)]).await;
        let events = fw.reconcile(vec![binding(port, second)]).await;
        assert!(matches!(
            events.as_slice(),
            [ForwardEvent::Closed { .. }, ForwardEvent::Listening { .. }]
        ));
        assert_eq!(roundtrip(port, b"x").await.unwrap(), b"x");
    }
}
