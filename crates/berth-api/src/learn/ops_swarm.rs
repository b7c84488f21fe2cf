//! Swarm steps. A swarm the lesson makes carries the lesson's label in its spec (and whether
//! `docker_gwbridge` came with it), so the lesson, or a cleanup after a crash, leaves only a
//! swarm it made; a user's swarm is used as it is and never left.

use std::collections::BTreeMap;

use berth_core::{ApiError, ErrorCode};
use berth_engine::containers::RemoveOptions;
use berth_engine::{Engine, ServiceCreate};

use super::base_image::LABEL;
use super::ops::{short, Ctx, Outcome};
use crate::transport::ToApi;

/// The swarm label saying `docker_gwbridge` was made by the lesson's `swarm init`.
pub(crate) const GWBRIDGE_LABEL: &str = "berth.learn.gwbridge";
const GWBRIDGE: &str = "docker_gwbridge";

pub(crate) async fn init(ctx: &Ctx, advertise_addr: &str) -> Result<Outcome, ApiError> {
    let e = &ctx.engine;
    let state = e.swarm_state().await.to_api()?;
    if state.active {
        return Ok(Outcome::text(
            "This engine is already part of a swarm: the lesson uses it and will not leave it.\n",
        ));
    }
    let had_gwbridge = e.inspect_network(GWBRIDGE).await.is_ok();
    let mut labels = ctx.labels();
    labels.insert(GWBRIDGE_LABEL.into(), (!had_gwbridge).to_string());
    let node = e.swarm_init(advertise_addr, &labels).await.to_api()?;
    Ok(Outcome::text(format!(
        "Swarm initialized: current node ({}) is now a manager.\n",
        short(&node)
    )))
}

pub(crate) async fn create(
    ctx: &Ctx,
    name: &str,
    image: &str,
    cmd: &[String],
    replicas: u64,
) -> Result<Outcome, ApiError> {
    let spec = ServiceCreate {
        name: name.to_string(),
        image: image.to_string(),
        cmd: cmd.to_vec(),
        replicas,
        labels: ctx.labels(),
    };
    let id = ctx.engine.create_service(&spec).await.to_api()?;
    Ok(Outcome::text(format!("{}\n", short(&id))))
}

pub(crate) async fn scale(ctx: &Ctx, name: &str, replicas: u64) -> Result<Outcome, ApiError> {
    ctx.service_is_ours(name).await?;
    ctx.engine.scale_service(name, replicas).await.to_api()?;
    Ok(Outcome::text(format!("{name} scaled to {replicas}\n")))
}

pub(crate) async fn kill_task(ctx: &Ctx, service: &str) -> Result<Outcome, ApiError> {
    ctx.service_is_ours(service).await?;
    let tasks = ctx.engine.service_tasks(service).await.to_api()?;
    let (slot, container) = tasks
        .iter()
        .filter(|t| t.is_running())
        .find_map(|t| Some((t.slot, t.container_id.clone()?)))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("{service} has no running task to remove"),
            )
        })?;
    let force = RemoveOptions {
        force: true,
        volumes: true,
    };
    ctx.engine
        .remove_container(&container, force)
        .await
        .to_api()?;
    Ok(Outcome::text(format!(
        "{} (task {} of {service})\n",
        short(&container),
        slot.unwrap_or_default()
    )))
}

pub(crate) async fn remove(ctx: &Ctx, name: &str) -> Result<Outcome, ApiError> {
    ctx.service_is_ours(name).await?;
    ctx.engine.remove_service(name).await.to_api()?;
    Ok(Outcome::text(format!("{name}\n")))
}

pub(crate) async fn leave(ctx: &Ctx) -> Result<Outcome, ApiError> {
    if leave_if_made_by(&ctx.engine, &ctx.lesson).await? {
        Ok(Outcome::text("Node left the swarm.\n"))
    } else {
        Ok(Outcome::text(
            "The swarm was here before the lesson: Berth leaves it as it was.\n",
        ))
    }
}

/// Leaves the swarm when its spec says `lesson` made it, and removes `docker_gwbridge` when it
/// came with that swarm; returns whether it left.
pub(crate) async fn leave_if_made_by(engine: &Engine, lesson: &str) -> Result<bool, ApiError> {
    let state = engine.swarm_state().await.to_api()?;
    if !state.active || !made_by(&state.labels, lesson) {
        return Ok(false);
    }
    let remove_gwbridge = state
        .labels
        .get(GWBRIDGE_LABEL)
        .is_some_and(|v| v == "true");
    engine.swarm_leave(true).await.to_api()?;
    if remove_gwbridge {
        // Task containers may still be detaching; a bridge in use stays (and says why in logs).
        for _ in 0..50 {
            match engine.remove_network(GWBRIDGE).await {
                Ok(()) => break,
                Err(e) if e.code() == ErrorCode::NotFound => break,
                Err(e) => tracing::debug!(error = %e, "docker_gwbridge still in use"),
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
    Ok(true)
}

fn made_by(labels: &BTreeMap<String, String>, lesson: &str) -> bool {
    labels.get(LABEL).is_some_and(|v| v == lesson)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_swarm_labelled_by_the_lesson_is_its_own() {
        let mut labels = BTreeMap::new();
        assert!(!made_by(&labels, "swarm"));
        labels.insert(LABEL.to_string(), "other".to_string());
        assert!(!made_by(&labels, "swarm"));
        labels.insert(LABEL.to_string(), "swarm".to_string());
        assert!(made_by(&labels, "swarm"));
    }
}
