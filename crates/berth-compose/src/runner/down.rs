//! `down`: stops and removes a project's containers, then its networks, and with `-v` its
//! volumes and with `--rmi` its images.

use super::{is_not_found, Compose, DownOptions, Event, ResourceState, Rmi};
use crate::error::{Error, Result};
use crate::model::Project;
use crate::plan::{labels, Observed};

impl Compose {
    /// Stops and removes the project's containers and networks (and volumes with `-v`).
    /// `project` is the loaded file when there is one: without it everything labelled with
    /// the project name goes.
    pub async fn down(
        &self,
        name: &str,
        project: Option<&Project>,
        opts: &DownOptions,
    ) -> Result<()> {
        let observed = self.observe(name).await?;
        // Dependents first: reverse dependency order, unknown services (orphans) first.
        let order: Vec<String> = project
            .map(|p| {
                p.services_in_dependency_order()
                    .iter()
                    .rev()
                    .map(|s| s.name.clone())
                    .collect()
            })
            .unwrap_or_default();
        let rank = |svc: &str| order.iter().position(|s| s == svc).unwrap_or(0);
        let mut doomed: Vec<&Observed> = observed
            .iter()
            .filter(|o| {
                let known = project.is_none_or(|p| {
                    p.services.contains_key(&o.service) || p.disabled.contains(&o.service)
                });
                known || opts.remove_orphans || o.oneoff
            })
            .collect();
        doomed.sort_by_key(|o| rank(&o.service));
        for o in &observed {
            if !doomed.iter().any(|d| d.id == o.id) {
                self.emit(Event::Warning {
                    message: format!(
                        "found orphan container {}; run with --remove-orphans to clean it up",
                        o.name
                    ),
                });
            }
        }
        let mut images: Vec<String> = Vec::new();
        for o in &doomed {
            if let Ok(info) = self.engine.inspect_container(&o.id).await {
                if let Some(img) = info.config.and_then(|c| c.image) {
                    if !images.contains(&img) {
                        images.push(img);
                    }
                }
            }
            self.remove_container(o, opts.timeout, opts.volumes).await?;
        }
        let project_label = format!("{}={name}", labels::PROJECT);
        let networks = self
            .engine
            .networks_with_label(&project_label)
            .await
            .map_err(Error::engine("listing networks"))?;
        for n in networks {
            let net_name = n.name;
            self.emit(Event::Network {
                name: net_name.clone(),
                status: ResourceState::Removing,
            });
            match self.engine.remove_network(&net_name).await {
                Ok(()) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(Error::engine(format!("removing network {net_name}"))(e)),
            }
            self.emit(Event::Network {
                name: net_name,
                status: ResourceState::Removed,
            });
        }
        if opts.volumes {
            let vols = self
                .engine
                .volumes_with_label(&project_label)
                .await
                .map_err(Error::engine("listing volumes"))?;
            for v in vols {
                self.emit(Event::Volume {
                    name: v.name.clone(),
                    status: ResourceState::Removing,
                });
                match self.engine.remove_volume(&v.name, false).await {
                    Ok(()) => {}
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => return Err(Error::engine(format!("removing volume {}", v.name))(e)),
                }
                self.emit(Event::Volume {
                    name: v.name,
                    status: ResourceState::Removed,
                });
            }
        }
        if let Some(rmi) = opts.rmi {
            let local: Vec<String> = project
                .map(|p| {
                    p.services
                        .values()
                        .filter(|s| s.image.is_none())
                        .map(|s| s.image_name(&p.name))
                        .collect()
                })
                .unwrap_or_default();
            for img in images {
                let built = local.contains(&img) || img.starts_with(&format!("{name}-"));
                if rmi == Rmi::All || built {
                    self.emit(Event::Image {
                        name: img.clone(),
                        status: ResourceState::Removing,
                    });
                    match self.engine.remove_image(&img, false).await {
                        Ok(_) => {}
                        Err(e) if is_not_found(&e) => {}
                        Err(e) => {
                            self.emit(Event::Warning {
                                message: format!("image {img} not removed: {e}"),
                            });
                            continue;
                        }
                    }
                    self.emit(Event::Image {
                        name: img,
                        status: ResourceState::Removed,
                    });
                }
            }
        }
        Ok(())
    }
}
