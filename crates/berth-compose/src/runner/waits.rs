//! Waiting for a service's containers to meet a `depends_on` condition (or `--wait`).

use std::time::{Duration, Instant};

use berth_engine::EventFilter;
use bollard::models::HealthStatusEnum;
use futures_util::StreamExt;

use super::{Compose, ResourceState};
use crate::error::{Error, Result};
use crate::model::{Condition, Project};
use crate::plan::Observed;

/// How long a wait goes without an engine event before it inspects again anyway (events
/// can be missed when the engine's clock runs ahead of ours).
const EVENT_SAFETY_POLL: Duration = Duration::from_millis(250);

/// How often a wait inspects when the engine's event stream is unavailable.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

impl Compose {
    /// Waits until `service`'s containers meet `condition`.
    pub(super) async fn wait_condition(
        &self,
        project: &Project,
        service: &str,
        condition: Condition,
        deadline: Instant,
    ) -> Result<()> {
        let containers: Vec<Observed> = self
            .observe(&project.name)
            .await?
            .into_iter()
            .filter(|o| o.service == service && !o.oneoff)
            .collect();
        for c in containers {
            // A running container is started: nothing more to ask the engine.
            if condition == Condition::ServiceStarted && c.running {
                continue;
            }
            if condition != Condition::ServiceStarted {
                self.container_event(&c.name, service, ResourceState::Waiting);
            }
            self.wait_container(&c, service, condition, deadline)
                .await?;
        }
        Ok(())
    }

    /// Waits for one container: inspects it, then again on each of its `health_status` or
    /// `die` events (the engine reports a health change the moment its probe ends, where a
    /// poll would lag by up to its interval), or after [`EVENT_SAFETY_POLL`] without one.
    async fn wait_container(
        &self,
        c: &Observed,
        service: &str,
        condition: Condition,
        deadline: Instant,
    ) -> Result<()> {
        // Replaying a few seconds of this container's events only costs a re-inspect each;
        // it closes the gap between the first inspect and the subscription.
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs().saturating_sub(2));
        let (mut events, mut polling) = (None, false);
        loop {
            if self.condition_met(c, service, condition).await? {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::service(
                    service,
                    format!("timed out waiting for {}", c.name),
                ));
            }
            let wake = deadline
                .saturating_duration_since(Instant::now())
                .min(EVENT_SAFETY_POLL);
            if polling {
                tokio::time::sleep(wake.min(POLL_INTERVAL)).await;
                continue;
            }
            let stream = events.get_or_insert_with(|| {
                Box::pin(self.engine.events(&EventFilter {
                    kinds: vec!["container".to_string()],
                    containers: vec![c.id.clone()],
                    actions: vec!["health_status".to_string(), "die".to_string()],
                    since: Some(i64::try_from(since).unwrap_or(i64::MAX)),
                    ..EventFilter::default()
                }))
            });
            tokio::select! {
                ev = stream.next() => {
                    if !matches!(ev, Some(Ok(_))) {
                        tracing::debug!(container = %c.name, "event stream ended; polling");
                        polling = true;
                    }
                }
                () = tokio::time::sleep(wake) => {}
            }
        }
    }

    /// Whether `c` meets `condition` now; an error when it never will.
    async fn condition_met(
        &self,
        c: &Observed,
        service: &str,
        condition: Condition,
    ) -> Result<bool> {
        let info = self
            .engine
            .inspect_container(&c.id)
            .await
            .map_err(Error::engine(format!("inspecting {}", c.name)))?;
        let state = info.state.unwrap_or_default();
        let running = state.running.unwrap_or(false);
        let exit = state.exit_code.unwrap_or(0);
        let health = state.health.and_then(|h| h.status);
        let exited = || Error::service(service, format!("container {} exited ({exit})", c.name));
        match condition {
            Condition::ServiceStarted if !running && exit != 0 => Err(exited()),
            Condition::ServiceStarted => Ok(true),
            Condition::ServiceHealthy => match health {
                Some(HealthStatusEnum::HEALTHY) => {
                    self.container_event(&c.name, service, ResourceState::Healthy);
                    Ok(true)
                }
                Some(HealthStatusEnum::UNHEALTHY) => Err(Error::service(
                    service,
                    format!("container {} is unhealthy", c.name),
                )),
                None | Some(HealthStatusEnum::NONE) | Some(HealthStatusEnum::EMPTY) => {
                    Err(Error::service(
                        service,
                        format!("container {} has no healthcheck configured", c.name),
                    ))
                }
                Some(HealthStatusEnum::STARTING) if !running => Err(exited()),
                Some(HealthStatusEnum::STARTING) => Ok(false),
            },
            Condition::ServiceCompletedSuccessfully if running => Ok(false),
            Condition::ServiceCompletedSuccessfully if exit == 0 => {
                self.container_event(&c.name, service, ResourceState::Exited);
                Ok(true)
            }
            Condition::ServiceCompletedSuccessfully => Err(exited()),
        }
    }
}
