//! The networks and volumes a project declares: found, or created with compose's labels.

use berth_engine::{IpamPool, NetworkCreate, NetworkIpam, VolumeCreate};

use super::{is_not_found, Compose, Event, ResourceState};
use crate::error::{Error, Result};
use crate::model::{MountType, Project, Service};
use crate::plan::labels;

impl Compose {
    pub(super) async fn ensure_networks(
        &self,
        project: &Project,
        services: &[&Service],
    ) -> Result<()> {
        for key in self.missing_networks(project, services).await? {
            self.create_network(project, &key).await?;
        }
        Ok(())
    }

    /// The networks `services` use that do not exist yet (an error if one is external).
    pub(super) async fn missing_networks(
        &self,
        project: &Project,
        services: &[&Service],
    ) -> Result<Vec<String>> {
        let mut missing = Vec::new();
        let used = project
            .networks
            .keys()
            .filter(|k| services.iter().any(|s| s.networks.contains_key(*k)));
        for key in used {
            let net = &project.networks[key];
            match self.engine.inspect_network(&net.name).await {
                Ok(_) => continue,
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(Error::engine(format!("inspecting network {}", net.name))(e)),
            }
            if net.external {
                return Err(Error::usage(format!(
                    "network {} declared as external, but could not be found",
                    net.name
                )));
            }
            missing.push(key.clone());
        }
        Ok(missing)
    }

    pub(super) async fn create_network(&self, project: &Project, key: &str) -> Result<()> {
        let net = &project.networks[key];
        self.emit(Event::Network {
            name: net.name.clone(),
            status: ResourceState::Creating,
        });
        let mut l = net.labels.clone();
        l.insert(labels::PROJECT.into(), project.name.clone());
        l.insert(labels::NETWORK.into(), key.to_string());
        l.insert(labels::VERSION.into(), labels::COMPOSE_VERSION.into());
        let spec = NetworkCreate {
            name: net.name.clone(),
            driver: net.driver.clone(),
            internal: net.internal,
            attachable: net.attachable,
            subnet: net.subnets.first().cloned(),
            extra_subnets: net.subnets.iter().skip(1).cloned().collect(),
            enable_ipv6: net.enable_ipv6,
            driver_opts: net.driver_opts.clone(),
            labels: l,
        };
        let ipam = (net.ipam.is_some() || net.enable_ipv4.is_some()).then(|| {
            let i = net.ipam.clone().unwrap_or_default();
            let pools = if i.config.is_empty() {
                net.subnets
                    .iter()
                    .map(|s| IpamPool {
                        subnet: Some(s.clone()),
                        ..Default::default()
                    })
                    .collect()
            } else {
                i.config
                    .into_iter()
                    .map(|c| IpamPool {
                        subnet: c.subnet,
                        ip_range: c.ip_range,
                        gateway: c.gateway,
                        aux_addresses: c.aux_addresses,
                    })
                    .collect()
            };
            NetworkIpam {
                driver: i.driver,
                options: i.options,
                pools,
                enable_ipv4: net.enable_ipv4,
            }
        });
        self.engine
            .create_network_with_ipam(&spec, ipam.as_ref())
            .await
            .map_err(Error::engine(format!("creating network {}", net.name)))?;
        self.emit(Event::Network {
            name: net.name.clone(),
            status: ResourceState::Created,
        });
        Ok(())
    }

    pub(super) async fn ensure_volumes(
        &self,
        project: &Project,
        services: &[&Service],
    ) -> Result<()> {
        for (key, vol) in &project.volumes {
            let used = services.iter().any(|s| {
                s.volumes.iter().any(|m| {
                    m.kind == MountType::Volume && m.source.as_deref() == Some(key.as_str())
                })
            });
            if !used {
                continue;
            }
            match self.engine.inspect_volume(&vol.name).await {
                Ok(_) => continue,
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(Error::engine(format!("inspecting volume {}", vol.name))(e)),
            }
            if vol.external {
                return Err(Error::usage(format!(
                    "external volume {:?} not found",
                    vol.name
                )));
            }
            self.emit(Event::Volume {
                name: vol.name.clone(),
                status: ResourceState::Creating,
            });
            let mut l = vol.labels.clone();
            l.insert(labels::PROJECT.into(), project.name.clone());
            l.insert(labels::VOLUME.into(), key.clone());
            l.insert(labels::VERSION.into(), labels::COMPOSE_VERSION.into());
            let spec = VolumeCreate {
                name: Some(vol.name.clone()),
                driver: vol.driver.clone(),
                driver_opts: vol.driver_opts.clone(),
                labels: l,
            };
            self.engine
                .create_volume(&spec)
                .await
                .map_err(Error::engine(format!("creating volume {}", vol.name)))?;
            self.emit(Event::Volume {
                name: vol.name.clone(),
                status: ResourceState::Created,
            });
        }
        Ok(())
    }
}
