//! Networks: list, create (bridge with embedded DNS), inspect with attached containers,
//! connect, disconnect, remove, prune.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    Ipam, IpamConfig, Network, NetworkConnectRequest, NetworkCreateRequest,
    NetworkDisconnectRequest, NetworkInspect,
};
use bollard::query_parameters as q;
use serde::{Deserialize, Serialize};

use crate::images::PruneReport;
use crate::run_spec::is_object_name;
use crate::{sorted, Engine, EngineError, NetworkAttachment};

/// A network; `containers` is filled by [`Engine::inspect_network`].
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkSummary {
    pub id: String,
    pub name: String,
    pub driver: String,
    pub scope: String,
    pub internal: bool,
    pub attachable: bool,
    pub created: Option<String>,
    pub subnets: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub containers: Vec<NetworkEndpoint>,
}

/// A container attached to a network.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkEndpoint {
    pub container_id: String,
    pub name: String,
    pub ipv4_address: String,
    pub mac_address: String,
}

/// A network to create.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NetworkCreate {
    pub name: String,
    /// `bridge` when `None`: a user-defined bridge, so containers reach each other by name.
    pub driver: Option<String>,
    pub internal: bool,
    pub attachable: bool,
    /// CIDR, e.g. `172.30.0.0/24`; the engine picks one when `None`.
    pub subnet: Option<String>,
    /// Further subnets beside `subnet` (an IPv6 one, say).
    pub extra_subnets: Vec<String>,
    pub enable_ipv6: bool,
    /// The driver's own options (`com.docker.network.bridge.name`, ...).
    pub driver_opts: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
}

/// A network's IP address management: the IPAM driver, its options and address pools.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkIpam {
    pub driver: Option<String>,
    pub options: BTreeMap<String, String>,
    pub pools: Vec<IpamPool>,
    /// `Some(false)`: the network has no IPv4 addresses.
    pub enable_ipv4: Option<bool>,
}

/// One address pool of a network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpamPool {
    pub subnet: Option<String>,
    pub ip_range: Option<String>,
    pub gateway: Option<String>,
    /// Addresses the driver must not hand out, by host name.
    pub aux_addresses: BTreeMap<String, String>,
}

impl NetworkIpam {
    fn to_bollard(&self) -> Ipam {
        Ipam {
            driver: self.driver.clone(),
            options: (!self.options.is_empty()).then(|| self.options.clone().into_iter().collect()),
            config: Some(
                self.pools
                    .iter()
                    .map(|p| IpamConfig {
                        subnet: p.subnet.clone(),
                        ip_range: p.ip_range.clone(),
                        gateway: p.gateway.clone(),
                        auxiliary_addresses: (!p.aux_addresses.is_empty())
                            .then(|| p.aux_addresses.clone().into_iter().collect()),
                    })
                    .collect(),
            ),
        }
    }
}

fn subnets(ipam: Option<Ipam>) -> Vec<String> {
    ipam.and_then(|i| i.config)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| c.subnet)
        .collect()
}

impl From<Network> for NetworkSummary {
    fn from(n: Network) -> Self {
        NetworkSummary {
            id: n.id.unwrap_or_default(),
            name: n.name.unwrap_or_default(),
            driver: n.driver.unwrap_or_default(),
            scope: n.scope.unwrap_or_default(),
            internal: n.internal.unwrap_or(false),
            attachable: n.attachable.unwrap_or(false),
            created: n.created.map(|c| c.to_string()),
            subnets: subnets(n.ipam),
            labels: sorted(n.labels),
            containers: Vec::new(),
        }
    }
}

impl From<NetworkInspect> for NetworkSummary {
    fn from(n: NetworkInspect) -> Self {
        let mut containers: Vec<NetworkEndpoint> = n
            .containers
            .unwrap_or_default()
            .into_iter()
            .map(|(id, e)| NetworkEndpoint {
                container_id: id,
                name: e.name.unwrap_or_default(),
                ipv4_address: e.ipv4_address.unwrap_or_default(),
                mac_address: e.mac_address.unwrap_or_default(),
            })
            .collect();
        containers.sort_by(|a, b| a.name.cmp(&b.name));
        NetworkSummary {
            id: n.id.unwrap_or_default(),
            name: n.name.unwrap_or_default(),
            driver: n.driver.unwrap_or_default(),
            scope: n.scope.unwrap_or_default(),
            internal: n.internal.unwrap_or(false),
            attachable: n.attachable.unwrap_or(false),
            created: n.created.map(|c| c.to_string()),
            subnets: subnets(n.ipam),
            labels: sorted(n.labels),
            containers,
        }
    }
}

impl Engine {
    /// The networks carrying `label` (`key` or `key=value`).
    pub async fn networks_with_label(
        &self,
        label: &str,
    ) -> Result<Vec<NetworkSummary>, EngineError> {
        let options = q::ListNetworksOptions {
            filters: Some(crate::filter_map([("label", label.to_string())])),
        };
        let list = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(self.err())?;
        Ok(list.into_iter().map(NetworkSummary::from).collect())
    }

    pub async fn list_networks(&self) -> Result<Vec<NetworkSummary>, EngineError> {
        let list = self
            .docker
            .list_networks(None::<q::ListNetworksOptions>)
            .await
            .map_err(self.err())?;
        let mut out: Vec<NetworkSummary> = list.into_iter().map(NetworkSummary::from).collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The network with the containers attached to it.
    pub async fn inspect_network(&self, id: &str) -> Result<NetworkSummary, EngineError> {
        let n = self
            .docker
            .inspect_network(id, None::<q::InspectNetworkOptions>)
            .await
            .map_err(self.err())?;
        Ok(NetworkSummary::from(n))
    }

    /// Creates a network; returns its id.
    pub async fn create_network(&self, spec: &NetworkCreate) -> Result<String, EngineError> {
        self.create_network_with_ipam(spec, None).await
    }

    /// [`Engine::create_network`] with the IP address management `ipam` says (its pools
    /// replace `spec`'s subnets), and `enable_ipv4: false` when `ipv4` is `Some(false)`.
    pub async fn create_network_with_ipam(
        &self,
        spec: &NetworkCreate,
        ipam: Option<&NetworkIpam>,
    ) -> Result<String, EngineError> {
        if !is_object_name(&spec.name) {
            return Err(EngineError::invalid(
                "name",
                format!("{:?} must match [a-zA-Z0-9][a-zA-Z0-9_.-]+", spec.name),
            ));
        }
        // API 1.41 engines accept duplicate names unless asked `CheckDuplicate`, a field
        // bollard's 1.52-era model no longer has; check ourselves (newer engines always do).
        let same_name = q::ListNetworksOptions {
            filters: Some(crate::filter_map([("name", spec.name.clone())])),
        };
        let existing = self
            .docker
            .list_networks(Some(same_name))
            .await
            .map_err(self.err())?;
        if existing
            .iter()
            .any(|n| n.name.as_deref() == Some(spec.name.as_str()))
        {
            return Err(EngineError::Conflict {
                message: format!("network with name {} already exists", spec.name),
            });
        }
        let subnets: Vec<&String> = spec.subnet.iter().chain(&spec.extra_subnets).collect();
        let custom_ipam = ipam.map(NetworkIpam::to_bollard);
        let enable_ipv4 = ipam.and_then(|i| i.enable_ipv4);
        let ipam = custom_ipam.or_else(|| {
            (!subnets.is_empty()).then(|| Ipam {
                config: Some(
                    subnets
                        .into_iter()
                        .map(|s| IpamConfig {
                            subnet: Some(s.clone()),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            })
        });
        let request = NetworkCreateRequest {
            name: spec.name.clone(),
            driver: Some(spec.driver.clone().unwrap_or_else(|| "bridge".into())),
            internal: Some(spec.internal),
            attachable: Some(spec.attachable),
            enable_ipv6: spec.enable_ipv6.then_some(true),
            options: (!spec.driver_opts.is_empty())
                .then(|| spec.driver_opts.clone().into_iter().collect()),
            ipam,
            enable_ipv4,
            labels: Some(spec.labels.clone().into_iter().collect::<HashMap<_, _>>()),
            ..Default::default()
        };
        let r = self
            .docker
            .create_network(request)
            .await
            .map_err(self.err())?;
        if !r.warning.is_empty() {
            tracing::warn!(network = %spec.name, warning = %r.warning, "engine warning on network create");
        }
        Ok(r.id)
    }

    /// Attaches a container, with extra DNS `aliases` on this network.
    pub async fn connect_network(
        &self,
        network: &str,
        container: &str,
        aliases: &[String],
    ) -> Result<(), EngineError> {
        let attachment = NetworkAttachment {
            aliases: aliases.to_vec(),
            ..NetworkAttachment::default()
        };
        self.connect_network_with(network, container, &attachment)
            .await
    }

    /// Attaches a container with its settings on this network (aliases, fixed addresses).
    pub async fn connect_network_with(
        &self,
        network: &str,
        container: &str,
        attachment: &NetworkAttachment,
    ) -> Result<(), EngineError> {
        let request = NetworkConnectRequest {
            container: container.to_string(),
            endpoint_config: Some(attachment.to_endpoint_settings()),
        };
        self.docker
            .connect_network(network, request)
            .await
            .map_err(self.err())
    }

    pub async fn disconnect_network(
        &self,
        network: &str,
        container: &str,
        force: bool,
    ) -> Result<(), EngineError> {
        let request = NetworkDisconnectRequest {
            container: container.to_string(),
            force: Some(force),
        };
        self.docker
            .disconnect_network(network, request)
            .await
            .map_err(self.err())
    }

    /// Removes a network; `conflict` while containers are attached.
    pub async fn remove_network(&self, id: &str) -> Result<(), EngineError> {
        match self.docker.remove_network(id).await.map_err(self.err()) {
            // The engine answers 403 Forbidden for "has active endpoints": for a network
            // that is a conflict with its state, not a credentials problem.
            Err(EngineError::Unauthorized { message }) => Err(EngineError::Conflict { message }),
            other => other,
        }
    }

    /// Removes networks no container uses (never the predefined ones).
    pub async fn prune_networks(&self) -> Result<PruneReport, EngineError> {
        let r = self
            .docker
            .prune_networks(None::<q::PruneNetworksOptions>)
            .await
            .map_err(self.err())?;
        Ok(PruneReport {
            deleted: r.networks_deleted.unwrap_or_default(),
            space_reclaimed: 0,
        })
    }
}
