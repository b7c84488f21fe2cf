//! Starting, stopping, restarting and removing a project's containers.

use std::time::Duration;

use berth_engine::{EngineError, RemoveOptions};

use super::{is_not_found, Compose, ResourceState};
use crate::decode::parse_duration_ns;
use crate::error::{Error, Result};
use crate::model::{Hook, Project, Service};
use crate::plan::{self, Observed};

/// A stop timeout in seconds as the engine takes it; a negative one (wait for ever) becomes
/// the longest the engine accepts.
fn grace(seconds: Option<i32>) -> Option<Duration> {
    seconds.map(|t| Duration::from_secs(u64::try_from(t).unwrap_or(i32::MAX as u64)))
}

impl Compose {
    pub(super) async fn start_container(&self, name: &str, service: &str) -> Result<()> {
        self.container_event(name, service, ResourceState::Starting);
        self.engine
            .start_container(name)
            .await
            .map_err(Error::engine(format!("starting {name}")))?;
        self.container_event(name, service, ResourceState::Started);
        Ok(())
    }

    pub(super) async fn stop_one(
        &self,
        id: &str,
        name: &str,
        service: &str,
        pre_stop: &[Hook],
        s: &Service,
        timeout: Option<i32>,
    ) -> Result<()> {
        let t = timeout.or_else(|| {
            s.stop_grace_period
                .as_deref()
                .and_then(parse_duration_ns)
                .map(|ns| i32::try_from(ns / 1_000_000_000).unwrap_or(i32::MAX))
        });
        self.stop_by_id(id, name, service, pre_stop, t).await
    }

    /// Stops a container, running its `pre_stop` hooks first.
    async fn stop_by_id(
        &self,
        id: &str,
        name: &str,
        service: &str,
        pre_stop: &[Hook],
        t: Option<i32>,
    ) -> Result<()> {
        self.container_event(name, service, ResourceState::Stopping);
        self.run_hooks(id, service, pre_stop, "pre_stop").await?;
        match self.engine.stop_container(id, grace(t)).await {
            Ok(()) => {}
            // 304: already stopped.
            Err(EngineError::Engine {
                status: Some(304), ..
            }) => {}
            Err(e) => return Err(Error::engine(format!("stopping {name}"))(e)),
        }
        self.container_event(name, service, ResourceState::Stopped);
        Ok(())
    }

    /// Stops (with its `pre_stop` hooks) and removes a container; `volumes`: its anonymous
    /// volumes too (`down -v`).
    pub(super) async fn remove_container(
        &self,
        c: &Observed,
        timeout: Option<i32>,
        volumes: bool,
    ) -> Result<()> {
        if c.running {
            self.stop_by_id(&c.id, &c.name, &c.service, &c.pre_stop, timeout)
                .await?;
        }
        self.container_event(&c.name, &c.service, ResourceState::Removing);
        let force = RemoveOptions {
            force: true,
            volumes,
        };
        match self.engine.remove_container(&c.id, force).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(Error::engine(format!("removing {}", c.name))(e)),
        }
        self.container_event(&c.name, &c.service, ResourceState::Removed);
        Ok(())
    }

    /// Stops the project's containers (of `services`, or all), dependents first.
    pub async fn stop(&self, name: &str, services: &[String], timeout: Option<i32>) -> Result<()> {
        for o in self.observe(name).await?.iter().rev() {
            if o.running && (services.is_empty() || services.contains(&o.service)) {
                self.stop_by_id(&o.id, &o.name, &o.service, &o.pre_stop, timeout)
                    .await?;
            }
        }
        Ok(())
    }

    /// Starts the project's stopped containers in dependency order.
    pub async fn start(&self, project: &Project, services: &[String]) -> Result<()> {
        let observed = self.observe(&project.name).await?;
        if observed.iter().all(|o| o.oneoff) {
            return Err(Error::usage(format!(
                "project {} has no containers to start; use `up`",
                project.name
            )));
        }
        for name in plan::selected_services(project, services) {
            for o in observed.iter().filter(|o| o.service == name && !o.oneoff) {
                if !o.running {
                    self.start_container(&o.name, &name).await?;
                    if let Some(s) = project.services.get(&name) {
                        self.run_hooks(&o.name, &name, &s.post_start, "post_start")
                            .await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Restarts the project's containers.
    pub async fn restart(
        &self,
        project: &Project,
        services: &[String],
        timeout: Option<i32>,
    ) -> Result<()> {
        self.stop(&project.name, services, timeout).await?;
        self.start(project, services).await
    }
}
