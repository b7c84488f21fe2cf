//! Keeps the host's forwarded ports in step with the engine: every published port of a running
//! container listens on the host (through [`PortForwarder`]), and stops when the container does.
//!
//! The engine's container events are the trigger; the running containers' port list is the
//! truth, so a missed or reordered event never leaves a port behind.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_engine::{ContainerFilter, ContainerSummary, Engine, EventFilter};
use berth_link::activity::{ActivityGate, InUse, Use};
use berth_link::mux::LinkStream;
use berth_link::port_forwarder::{
    host_address, Binding, ForwardEvent, GuestDialer, PortForwarder, PortWarning, Protocol,
};
use berth_link::LinkClient;
use futures_util::StreamExt;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// Container actions after which the set of published ports may have changed.
const ACTIONS: [&str; 7] = [
    "start", "die", "stop", "kill", "destroy", "pause", "unpause",
];
/// Events arriving this close together are handled as one change.
const DEBOUNCE: Duration = Duration::from_millis(50);
/// How long to wait before following again when the engine's event stream ends.
const RETRY: Duration = Duration::from_secs(1);

/// Where the daemon follows the engine's events: Berth's own socket, whose open connections do
/// not keep the VM awake (the named pipe on Windows, which has no Resource Saver yet).
pub fn follower_endpoint(paths: &berth_core::BerthPaths) -> berth_engine::Endpoint {
    if cfg!(windows) {
        return berth_engine::Endpoint::from_docker_host(berth_control::endpoint::engine_host(
            paths,
        ));
    }
    berth_engine::Endpoint::from_docker_host(format!(
        "unix://{}",
        paths.app_engine_socket().display()
    ))
}

/// The link as the forwarder dials it, each connection passing the Resource Saver's gate: a
/// connection to a published port of a paused VM wakes it and waits, and an open one keeps
/// the VM awake.
pub struct GatedDialer {
    link: LinkClient,
    gate: Arc<ActivityGate>,
}

impl GatedDialer {
    pub fn new(link: LinkClient, gate: Arc<ActivityGate>) -> Self {
        GatedDialer { link, gate }
    }
}

#[async_trait::async_trait]
impl GuestDialer for GatedDialer {
    type Stream = InUseStream;

    async fn dial_tcp(&self, port: u16) -> std::io::Result<InUseStream> {
        let in_use = self.gate.enter(Use::Counted).await;
        let stream = self.link.dial_tcp(port).await?;
        Ok(InUseStream {
            stream,
            _in_use: in_use,
        })
    }

    async fn dial_udp(&self, port: u16) -> std::io::Result<InUseStream> {
        let in_use = self.gate.enter(Use::Counted).await;
        let stream = self.link.dial_udp(port).await?;
        Ok(InUseStream {
            stream,
            _in_use: in_use,
        })
    }
}

/// A link stream that counts as a use of the engine until it is dropped.
pub struct InUseStream {
    stream: LinkStream,
    _in_use: InUse,
}

impl AsyncRead for InUseStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for InUseStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The host listeners that `containers` (as the engine lists them) call for.
///
/// A port published on all IPv4 and all IPv6 addresses is listed twice by the engine; when the
/// user's bind address is IPv4, one host listener serves it.
pub fn desired_bindings(containers: &[ContainerSummary], bind_address: IpAddr) -> Vec<Binding> {
    let mut seen = HashSet::new();
    let mut bindings = Vec::new();
    for c in containers.iter().filter(|c| c.state == "running") {
        let mut ports: Vec<_> = c.ports.iter().collect();
        // IPv4 entries first, so the IPv6 twin of a port is the one dropped.
        ports.sort_by_key(|p| p.ip.as_deref().is_some_and(|ip| ip.contains(':')));
        for p in ports {
            let (Some(public), Some(protocol)) = (p.public_port, protocol(&p.protocol)) else {
                continue;
            };
            let guest_ip = p.ip.as_deref().unwrap_or("");
            if guest_ip.contains(':')
                && bind_address.is_ipv4()
                && seen.contains(&(public, protocol))
            {
                continue; // the IPv6 twin of a port already bound
            }
            seen.insert((public, protocol));
            let host_ip = host_address(guest_ip, bind_address);
            let duplicate = bindings.iter().any(|b: &Binding| {
                (b.host_ip, b.host_port, b.protocol) == (host_ip, public, protocol)
            });
            if duplicate {
                continue;
            }
            bindings.push(Binding {
                container: c.id.clone(),
                host_ip,
                host_port: public,
                guest_port: public,
                protocol,
            });
        }
    }
    bindings
}

fn protocol(name: &str) -> Option<Protocol> {
    match name {
        "tcp" => Some(Protocol::Tcp),
        "udp" => Some(Protocol::Udp),
        _ => None,
    }
}

/// The ports that could not be published right now, one [`PortWarning`] per binding, kept from
/// the forwarder's events for the daemon's status (`berth status`, the dashboard). Clones share
/// the list.
#[derive(Debug, Clone, Default)]
pub struct PortWarnings {
    by_binding: Arc<Mutex<HashMap<BindingKey, PortWarning>>>,
    /// Bumped whenever the list changes, so a watch can send the new status (no polling).
    changes: Arc<tokio::sync::watch::Sender<u64>>,
}

/// A host listener's identity: address, port, protocol.
type BindingKey = (IpAddr, u16, Protocol);

impl PortWarnings {
    /// A `Failed` event adds its warning; the binding listening, closing or being withdrawn
    /// ends it.
    pub fn record(&self, event: &ForwardEvent) {
        let b = event.binding();
        let key = (b.host_ip, b.host_port, b.protocol);
        let mut map = self.by_binding.lock().unwrap_or_else(|e| e.into_inner());
        let changed = match event.warning() {
            Some(warning) => map.insert(key, warning.clone()).as_ref() != Some(&warning),
            None => map.remove(&key).is_some(),
        };
        drop(map);
        if changed {
            self.changes.send_modify(|n| *n += 1);
        }
    }

    /// Changes whenever the list does.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// The warnings now, by host port.
    pub fn list(&self) -> Vec<PortWarning> {
        let map = self.by_binding.lock().unwrap_or_else(|e| e.into_inner());
        let mut list: Vec<_> = map.values().cloned().collect();
        list.sort_by_key(|w| (w.host_port, w.host_ip, w.protocol == Protocol::Udp));
        list
    }

    /// Forget every warning (the engine stopped).
    pub fn clear(&self) {
        let mut map = self.by_binding.lock().unwrap_or_else(|e| e.into_inner());
        let changed = !map.is_empty();
        map.clear();
        drop(map);
        if changed {
            self.changes.send_modify(|n| *n += 1);
        }
    }
}

/// Follows the engine until `cancel`: reconciles the forwarded ports at start and after every
/// container change, and hands each [`ForwardEvent`] to `report` (the daemon turns failures into
/// notices on the container).
pub async fn follow<D: GuestDialer>(
    engine: Engine,
    dialer: Arc<D>,
    bind_address: IpAddr,
    report: impl Fn(ForwardEvent) + Send,
    cancel: CancellationToken,
) {
    let mut forwarder = PortForwarder::new(dialer);
    let filter = EventFilter {
        kinds: vec!["container".into()],
        actions: ACTIONS.iter().map(|a| a.to_string()).collect(),
        ..EventFilter::default()
    };
    while !cancel.is_cancelled() {
        // Subscribe before listing, so a change between the two is not lost.
        let mut events = Box::pin(engine.events(&filter));
        reconcile(&engine, &mut forwarder, bind_address, &report).await;
        loop {
            let next = tokio::select! {
                _ = cancel.cancelled() => break,
                next = events.next() => next,
            };
            match next {
                Some(Ok(event)) => {
                    debug!(action = event.action, id = event.id, "container changed");
                    // Let a burst (stop = kill + die + stop) settle into one reconcile.
                    while let Ok(Some(Ok(_))) = tokio::time::timeout(DEBOUNCE, events.next()).await
                    {
                    }
                    reconcile(&engine, &mut forwarder, bind_address, &report).await;
                }
                Some(Err(error)) => {
                    warn!(%error, "lost the engine's events; following again");
                    break;
                }
                None => break,
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = tokio::time::sleep(RETRY) => {}
        }
    }
    // Close every listener before returning.
    for event in forwarder.reconcile(Vec::new()).await {
        report(event);
    }
}

async fn reconcile<D: GuestDialer>(
    engine: &Engine,
    forwarder: &mut PortForwarder<D>,
    bind_address: IpAddr,
    report: &impl Fn(ForwardEvent),
) {
    let filter = ContainerFilter {
        status: Some("running".into()),
        ..ContainerFilter::default()
    };
    match engine.list_containers(&filter).await {
        Ok(containers) => {
            let desired = desired_bindings(&containers, bind_address);
            for event in forwarder.reconcile(desired).await {
                report(event);
            }
        }
        Err(error) => warn!(%error, "cannot list containers to forward their ports"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::PortSummary;
    use std::net::Ipv4Addr;

    fn container(
        id: &str,
        state: &str,
        ports: &[(&str, u16, Option<u16>, &str)],
    ) -> ContainerSummary {
        ContainerSummary {
            id: id.into(),
            name: id.into(),
            image: "img".into(),
            image_id: "sha".into(),
            command: String::new(),
            created: 0,
            state: state.into(),
            status: String::new(),
            ports: ports
                .iter()
                .map(|(ip, private, public, proto)| PortSummary {
                    ip: (!ip.is_empty()).then(|| ip.to_string()),
                    private_port: *private,
                    public_port: *public,
                    protocol: proto.to_string(),
                })
                .collect(),
            labels: Default::default(),
            compose_project: None,
            compose_service: None,
            networks: vec![],
        }
    }

    const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn running_published_ports_become_bindings() {
        let containers = [
            container(
                "web",
                "running",
                &[
                    ("0.0.0.0", 80, Some(8080), "tcp"),
                    ("::", 80, Some(8080), "tcp"),
                    ("0.0.0.0", 53, Some(5353), "udp"),
                    ("", 9000, None, "tcp"),
                ],
            ),
            container("stopped", "exited", &[("0.0.0.0", 80, Some(8081), "tcp")]),
            container(
                "local",
                "running",
                &[("127.0.0.1", 5432, Some(15432), "tcp")],
            ),
        ];
        let bindings = desired_bindings(&containers, LOCAL);
        let summary: Vec<_> = bindings
            .iter()
            .map(|b| {
                (
                    b.container.as_str(),
                    b.host_ip,
                    b.host_port,
                    b.guest_port,
                    b.protocol,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("web", LOCAL, 8080, 8080, Protocol::Tcp),
                ("web", LOCAL, 5353, 5353, Protocol::Udp),
                ("local", LOCAL, 15432, 15432, Protocol::Tcp),
            ]
        );
    }

    #[test]
    fn warnings_follow_the_forwarders_events() {
        let binding = |port| Binding {
            container: "web".into(),
            host_ip: LOCAL,
            host_port: port,
            guest_port: port,
            protocol: Protocol::Tcp,
        };
        let failed = |port| ForwardEvent::Failed {
            binding: binding(port),
            in_use: true,
            message: format!("port {port} is already in use"),
        };
        let warnings = PortWarnings::default();
        let mut changes = warnings.subscribe();
        warnings.record(&failed(9000));
        assert!(changes.has_changed().unwrap());
        changes.mark_unchanged();
        // The same warning again, or an end for a binding without one, is no change.
        warnings.record(&failed(9000));
        warnings.record(&ForwardEvent::Listening {
            binding: binding(7000),
        });
        assert!(!changes.has_changed().unwrap());
        warnings.record(&failed(8000));
        warnings.record(&ForwardEvent::Listening {
            binding: binding(7000),
        });
        let ports: Vec<_> = warnings.list().iter().map(|w| w.host_port).collect();
        assert_eq!(ports, [8000, 9000]);
        assert!(warnings.list()[0].in_use);
        assert_eq!(warnings.list()[0].container, "web");

        warnings.record(&ForwardEvent::Listening {
            binding: binding(8000),
        });
        warnings.clone().record(&ForwardEvent::Withdrawn {
            binding: binding(9000),
        });
        assert_eq!(warnings.list(), []);
        warnings.record(&failed(9000));
        changes.mark_unchanged();
        warnings.clear();
        assert_eq!(warnings.list(), []);
        assert!(changes.has_changed().unwrap());
    }

    #[test]
    fn an_all_addresses_ipv6_bind_is_one_dual_stack_listener() {
        let containers = [container(
            "web",
            "running",
            &[
                ("0.0.0.0", 80, Some(8080), "tcp"),
                ("::", 80, Some(8080), "tcp"),
            ],
        )];
        let any6: IpAddr = "::".parse().unwrap();
        let bindings = desired_bindings(&containers, any6);
        assert_eq!(bindings.len(), 1);
        assert_eq!(bindings[0].host_ip, any6);
    }
}
