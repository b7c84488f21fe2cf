//! Swarm mode on a real engine: init with labels on the swarm's spec, a replicated service
//! scaled up and down with its tasks, and leave.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use berth_engine::ServiceCreate;
use berth_testkit::wait_until_async;
use support::{Env, TestResult, IDLE};

/// Replicas converge at the swarm's pace.
const CONVERGE: Duration = Duration::from_secs(90);

async fn running(env: &Env, service: &str) -> usize {
    env.engine
        .service_tasks(service)
        .await
        .map(|tasks| tasks.iter().filter(|t| t.is_running()).count())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_labelled_swarm_runs_a_service_scaled_up_and_down_then_is_left() -> TestResult {
    let env = Env::start().await?;
    let e = &env.engine;
    assert!(!e.swarm_state().await?.active);

    let labels = BTreeMap::from([("berth.learn".to_string(), "swarm".to_string())]);
    e.swarm_init("127.0.0.1", &labels).await?;
    let state = e.swarm_state().await?;
    assert!(state.active && state.manager, "{state:?}");
    assert_eq!(
        state.labels.get("berth.learn").map(String::as_str),
        Some("swarm")
    );

    let name = env.name("svc");
    let spec = ServiceCreate {
        name: name.clone(),
        image: env.image.clone(),
        cmd: IDLE.iter().map(|s| s.to_string()).collect(),
        replicas: 1,
        labels: labels.clone(),
    };
    e.create_service(&spec).await?;
    assert_eq!(e.inspect_service(&name).await?.replicas, Some(1));
    let listed = e.services_with_label("berth.learn=swarm").await?;
    assert_eq!(listed.len(), 1, "{listed:?}");
    wait_until_async(CONVERGE, "one task", || async {
        running(&env, &name).await == 1
    })
    .await?;

    e.scale_service(&name, 3).await?;
    wait_until_async(CONVERGE, "three tasks", || async {
        running(&env, &name).await == 3
    })
    .await?;
    let tasks = e.service_tasks(&name).await?;
    let container = tasks
        .iter()
        .find_map(|t| t.container_id.clone())
        .expect("a container");
    let info = e.inspect_container(&container).await?;
    let container_labels = info.config.and_then(|c| c.labels).unwrap_or_default();
    assert_eq!(
        container_labels["berth.learn"], "swarm",
        "task containers are labelled"
    );

    e.scale_service(&name, 1).await?;
    wait_until_async(CONVERGE, "one task again", || async {
        running(&env, &name).await == 1
    })
    .await?;

    e.remove_service(&name).await?;
    assert!(e.inspect_service(&name).await.is_err());
    e.swarm_leave(true).await?;
    assert!(!e.swarm_state().await?.active);
    Ok(())
}
