//! Published ports on the host: for every port a running container publishes in the guest, a
//! listener on the same host address and port whose connections are carried over the link to
//! the guest's loopback.
//!
//! The forwarder is a reconciler: the daemon hands it the full set of [`Binding`]s it wants
//! (computed from engine events) and [`PortForwarder::reconcile`] opens what is missing, closes
//! what is no longer wanted, and reports each change as a [`ForwardEvent`] — including a host
//! port that is already taken, which the UI shows on that container instead of failing silently.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::protocol::Target;
use crate::{LinkClient, LinkStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

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
}

/// How the forwarder reaches a port in the guest. The link implements it; tests use a local one.
#[async_trait]
pub trait GuestDialer: Send + Sync + 'static {
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    async fn dial_tcp(&self, port: u16) -> io::Result<Self::Stream>;
}

#[async_trait]
impl GuestDialer for LinkClient {
    type Stream = LinkStream;

    async fn dial_tcp(&self, port: u16) -> io::Result<LinkStream> {
        self.open(Target::Tcp { port })
            .await
            .map_err(|e| io::Error::new(io::ErrorKind::BrokenPipe, e))
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
        self.failed.retain(|b| wanted.get(&b.key()) == Some(b));

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
            Protocol::Udp => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "UDP ports are not forwarded yet",
            )),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// The "guest" is this host's loopback: dialing port N reaches a local server on N.
    struct Loopback;

    #[async_trait]
    impl GuestDialer for Loopback {
        type Stream = TcpStream;
        async fn dial_tcp(&self, port: u16) -> io::Result<TcpStream> {
            TcpStream::connect(("127.0.0.1", port)).await
        }
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
