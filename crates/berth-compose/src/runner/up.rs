//! `up`: executes the plan — networks, volumes and images, then containers created together and
//! started level by level as their dependencies' conditions hold.

use std::collections::BTreeMap;
use std::time::Instant;

use super::{Compose, CreateContext, Event, NetworksReady, ResourceState, UpRun};
use crate::error::{Error, Result};
use crate::model::{Condition, Project, Service};
use crate::plan::{self, Action, Plan};

impl Compose {
    /// Brings the project up: networks, volumes, images, then containers in dependency order.
    pub async fn up(&self, project: &Project, opts: &UpRun) -> Result<Plan> {
        for name in &opts.plan.services {
            if !project.services.contains_key(name) {
                return Err(Error::usage(format!("no such service: {name}")));
            }
        }
        // Refuse a swarm-only setting before anything is created.
        let selected = plan::selected_services(project, &opts.plan.services);
        project.check_containers_apply(selected.iter().filter_map(|n| project.services.get(n)))?;
        let observed = self.observe(&project.name).await?;
        let plan = plan::plan_up(project, &observed, &opts.plan);
        for o in &plan.orphans {
            self.emit(Event::Warning {
                message: format!(
                    "found orphan container {} for this project; run with --remove-orphans to clean it up",
                    o.name
                ),
            });
        }
        for action in &plan.removals {
            if let Action::Remove { container } = action {
                self.remove_container(container, None, false).await?;
            }
        }
        let selected: Vec<&Service> = plan
            .steps
            .iter()
            .filter_map(|(s, _)| project.services.get(s))
            .collect();
        // One image check (pull, build) per image, however many services run it.
        let mut images: BTreeMap<String, &Service> = BTreeMap::new();
        for s in &selected {
            images.entry(s.image_name(&project.name)).or_insert(s);
        }
        let (missing_networks, (), ids) = futures_util::try_join!(
            self.missing_networks(project, &selected),
            self.ensure_volumes(project, &selected),
            futures_util::future::try_join_all(
                images
                    .values()
                    .map(|s| self.ensure_image(project, s, opts.build))
            ),
        )?;
        // Create every container first (in parallel: creating needs no dependency to be up),
        // then start them service by service once each dependency's condition holds. The
        // engine resolves a container's network when it starts it, not when it creates it,
        // so the networks are created while the containers are (see `NetworksReady`).
        let (ready_tx, networks) = NetworksReady::pending_if(!missing_networks.is_empty());
        let ctx = CreateContext {
            networks,
            image_ids: images
                .keys()
                .zip(ids)
                .filter_map(|(image, id)| Some((image.clone(), id?)))
                .collect(),
        };
        let create_networks = async move {
            for key in &missing_networks {
                self.create_network(project, key).await?;
            }
            ready_tx.send_replace(true);
            Ok(())
        };
        let deadline = Instant::now() + opts.timeout;
        let mut to_start: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let (created_late, independent): (Vec<_>, Vec<_>) = plan
            .steps
            .iter()
            .flat_map(|(svc, actions)| actions.iter().map(move |a| (svc, a)))
            .filter_map(|(svc, a)| project.services.get(svc).map(|s| (s, a)))
            .partition(|(s, _)| s.needs_containers_of_others());
        let (_, prepared) = futures_util::try_join!(
            create_networks,
            futures_util::future::try_join_all(
                independent
                    .iter()
                    .map(|(s, a)| self.prepare(project, s, a, &ctx)),
            )
        )?;
        for ((s, _), name) in independent.iter().zip(prepared) {
            to_start.entry(s.name.clone()).or_default().extend(name);
        }
        // Services of one dependency level start together; a level waits for the one below.
        for level in plan::levels(project, &plan) {
            let mut batch = Vec::new();
            for (service, actions) in level {
                let Some(s) = project.services.get(service) else {
                    continue;
                };
                let names = to_start.remove(service).unwrap_or_default();
                let late = created_late.iter().any(|(x, _)| x.name == *service);
                batch.push(self.start_service(
                    project,
                    s,
                    actions,
                    names,
                    late.then_some(&ctx),
                    opts,
                    deadline,
                ));
            }
            futures_util::future::try_join_all(batch).await?;
        }
        if opts.wait {
            for (service, _) in &plan.steps {
                let s = &project.services[service];
                let healthy = s
                    .healthcheck
                    .as_ref()
                    .is_some_and(|h| !h.disable && h.test.first().is_some_and(|t| t != "NONE"));
                let cond = if healthy {
                    Condition::ServiceHealthy
                } else {
                    Condition::ServiceStarted
                };
                self.wait_condition(project, service, cond, deadline)
                    .await?;
            }
        }
        Ok(plan)
    }

    /// Waits for `s`'s dependencies, then starts its containers (creating them first when
    /// `create_now` says so: they need another service's containers, whose namespace or
    /// volumes they share or which they link to).
    #[allow(clippy::too_many_arguments)]
    async fn start_service(
        &self,
        project: &Project,
        s: &Service,
        actions: &[Action],
        mut names: Vec<String>,
        create_now: Option<&CreateContext>,
        opts: &UpRun,
        deadline: Instant,
    ) -> Result<()> {
        if opts.plan.start {
            for (dep, d) in &s.depends_on {
                if project.services.contains_key(dep) {
                    self.wait_condition(project, dep, d.condition, deadline)
                        .await?;
                }
            }
        }
        // A container that needs another service's containers is created only now.
        if let Some(ctx) = create_now {
            for a in actions {
                names.extend(self.prepare(project, s, a, ctx).await?);
            }
        }
        if opts.plan.start {
            futures_util::future::try_join_all(names.iter().map(|n| async move {
                self.start_container(n, &s.name).await?;
                self.run_hooks(n, &s.name, &s.post_start, "post_start")
                    .await
            }))
            .await?;
        }
        Ok(())
    }

    /// Gets one action ready to start: returns the container to start, if any.
    async fn prepare(
        &self,
        project: &Project,
        s: &Service,
        action: &Action,
        ctx: &CreateContext,
    ) -> Result<Option<String>> {
        match action {
            Action::Keep { container, .. } => {
                self.container_event(&container.name, &s.name, ResourceState::Running);
                Ok(None)
            }
            Action::Start { container, .. } => Ok(Some(container.name.clone())),
            Action::Create { number, .. } => {
                let name = self
                    .create_container_when(project, s, *number, false, None, ctx)
                    .await?;
                Ok(Some(name))
            }
            Action::Recreate { number, old, .. } => {
                self.container_event(&old.name, &s.name, ResourceState::Recreate);
                if old.running {
                    self.stop_one(&old.id, &old.name, &s.name, &old.pre_stop, s, None)
                        .await?;
                }
                let force = berth_engine::RemoveOptions {
                    force: true,
                    volumes: false,
                };
                self.engine
                    .remove_container(&old.id, force)
                    .await
                    .map_err(Error::engine(format!("removing {}", old.name)))?;
                let name = self
                    .create_container_when(project, s, *number, false, None, ctx)
                    .await?;
                self.container_event(&name, &s.name, ResourceState::Recreated);
                Ok(Some(name))
            }
            Action::Remove { container } => {
                self.remove_container(container, None, false).await?;
                Ok(None)
            }
        }
    }
}
