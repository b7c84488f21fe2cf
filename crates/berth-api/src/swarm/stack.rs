//! Stacks on the engine: deploy a compose project as `docker stack deploy` does (redeploy
//! updates in place), list stacks by their namespace label (whoever deployed them), a
//! stack's tasks, and remove one (services, then networks, secrets and configs).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub use berth_compose::LoadOptions;
use berth_core::{ApiError, ErrorCode};
use berth_engine::swarm::{ServiceFile, SwarmObject, SwarmObjectKind};
use berth_engine::{Engine, TaskSummary};
use serde::Serialize;

use super::deploy_source;
use super::stack_file::{self, StackObject, StackPlan, NAMESPACE_LABEL};
use super::{require_manager, stack_error};
use crate::transport::ToApi;

/// How long `rm` waits for a network or secret its tasks still hold.
const RELEASE_DEADLINE: Duration = Duration::from_secs(60);

/// What a deploy did, line by line (the docker CLI's words), and what it ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployReport {
    pub warnings: Vec<String>,
    pub actions: Vec<String>,
}

/// One stack as `docker stack ls` shows it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackSummary {
    pub name: String,
    pub services: usize,
}

/// A stack's task with its service's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackTask {
    pub service: String,
    #[serde(flatten)]
    pub task: TaskSummary,
}

fn label(stack: &str) -> String {
    format!("{NAMESPACE_LABEL}={stack}")
}

fn check_name(stack: &str) -> Result<(), ApiError> {
    if stack_file::valid_stack_name(stack) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::InvalidInput,
            format!(
                "invalid stack name {stack:?}: use letters, digits, `_` and `-`, starting with a letter or digit"
            ),
        ))
    }
}

/// Loads the compose `files` (merged in order, as `-c` repeats; relative to
/// `base.working_dir`) as the stack `stack`'s plan.
pub fn load(stack: &str, files: &[PathBuf], base: LoadOptions) -> Result<StackPlan, ApiError> {
    check_name(stack)?;
    if files.is_empty() {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            "deploy needs a compose file (-c FILE)",
        ));
    }
    let mut sources = Vec::new();
    for file in files {
        let path = base.working_dir.join(file);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            stack_error(berth_compose::LoadError::File {
                file: path.clone(),
                message: format!("cannot read: {e}"),
            })
        })?;
        sources.push((path, text));
    }
    let project_dir = sources[0]
        .0
        .parent()
        .map_or_else(|| base.working_dir.clone(), PathBuf::from);
    let env = deploy_source::environment(&project_dir, &base.environment).map_err(stack_error)?;
    let deploy = deploy_source::deploy_sections(&sources, &env).map_err(stack_error)?;
    let opts = LoadOptions {
        files: files.to_vec(),
        project_name: Some(stack.to_string()),
        ..base
    };
    let project = berth_compose::load_sources(sources, &opts).map_err(stack_error)?;
    stack_file::plan(stack, &project, &deploy).map_err(stack_error)
}

/// Makes the engine run `plan`: missing networks, secrets and configs created, services
/// created or updated in place; with `prune`, the stack's services the plan no longer has are
/// removed (`docker stack deploy --prune`).
pub async fn deploy(
    engine: &Engine,
    plan: &StackPlan,
    prune: bool,
) -> Result<DeployReport, ApiError> {
    require_manager(engine).await?;
    let mut report = DeployReport {
        warnings: plan.warnings.clone(),
        actions: Vec::new(),
    };
    deploy_networks(engine, plan, &mut report).await?;
    let secrets = deploy_objects(
        engine,
        plan,
        SwarmObjectKind::Secret,
        &plan.secrets,
        &mut report,
    )
    .await?;
    let configs = deploy_objects(
        engine,
        plan,
        SwarmObjectKind::Config,
        &plan.configs,
        &mut report,
    )
    .await?;
    let existing: BTreeMap<String, String> = engine
        .list_services(Some(&label(&plan.stack)))
        .await
        .to_api()?
        .into_iter()
        .map(|s| (s.name, s.id))
        .collect();
    for service in &plan.services {
        let mut def = service.definition.clone();
        def.secrets = files(&service.secrets, &secrets, "secret")?;
        def.configs = files(&service.configs, &configs, "config")?;
        match existing.get(&def.name) {
            Some(id) => {
                report
                    .actions
                    .push(format!("Updating service {} (id: {id})", def.name));
                engine.update_service_definition(&def).await.to_api()?;
            }
            None => {
                report
                    .actions
                    .push(format!("Creating service {}", def.name));
                engine.create_service_definition(&def).await.to_api()?;
            }
        }
    }
    if prune {
        for (name, id) in &existing {
            if !plan.services.iter().any(|s| &s.definition.name == name) {
                report.actions.push(format!("Removing service {name}"));
                engine.remove_service(id).await.to_api()?;
            }
        }
    }
    Ok(report)
}

async fn deploy_networks(
    engine: &Engine,
    plan: &StackPlan,
    report: &mut DeployReport,
) -> Result<(), ApiError> {
    let names: Vec<String> = engine
        .list_networks()
        .await
        .to_api()?
        .into_iter()
        .map(|n| n.name)
        .collect();
    for external in &plan.external_networks {
        if !names.contains(external) {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!(
                    "network {external:?} is declared as external, but could not be found; create it first (`docker network create --driver overlay {external}`)"
                ),
            ));
        }
    }
    for network in &plan.networks {
        if names.contains(&network.name) {
            continue;
        }
        report
            .actions
            .push(format!("Creating network {}", network.name));
        engine.create_network(network).await.to_api()?;
    }
    Ok(())
}

/// Creates (or relabels) the plan's secrets or configs; returns each one's engine name -> id.
async fn deploy_objects(
    engine: &Engine,
    plan: &StackPlan,
    kind: SwarmObjectKind,
    objects: &[StackObject],
    report: &mut DeployReport,
) -> Result<BTreeMap<String, String>, ApiError> {
    let existing: Vec<SwarmObject> = engine.list_swarm_objects(kind, None).await.to_api()?;
    let mut ids = BTreeMap::new();
    let labels = BTreeMap::from([(NAMESPACE_LABEL.to_string(), plan.stack.clone())]);
    for o in objects {
        let found = existing.iter().find(|e| e.name == o.name);
        if o.external {
            let found = found.ok_or_else(|| {
                ApiError::new(
                    ErrorCode::NotFound,
                    format!(
                        "{kind} {:?} is declared as external, but could not be found",
                        o.name
                    ),
                )
            })?;
            ids.insert(o.name.clone(), found.id.clone());
            continue;
        }
        let data = stack_file::read_object(&kind.to_string(), o).map_err(stack_error)?;
        match found {
            Some(existing) => {
                report.actions.push(format!("Updating {kind} {}", o.name));
                engine
                    .update_swarm_object(kind, existing, &data, &labels)
                    .await
                    .map_err(|e| {
                        ApiError::new(
                            ErrorCode::Conflict,
                            format!(
                                "{kind} {} cannot be updated (its data is fixed once made; give it a new name or remove the stack first): {e}",
                                o.name
                            ),
                        )
                    })?;
                ids.insert(o.name.clone(), existing.id.clone());
            }
            None => {
                report.actions.push(format!("Creating {kind} {}", o.name));
                let id = engine
                    .create_swarm_object(kind, &o.name, &data, &labels)
                    .await
                    .to_api()?;
                ids.insert(o.name.clone(), id);
            }
        }
    }
    Ok(ids)
}

fn files(
    uses: &[stack_file::FileUse],
    ids: &BTreeMap<String, String>,
    kind: &str,
) -> Result<Vec<ServiceFile>, ApiError> {
    uses.iter()
        .map(|u| {
            let id = ids.get(&u.name).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidInput,
                    format!(
                        "{kind} {:?} is used but not defined in the stack file",
                        u.name
                    ),
                )
            })?;
            Ok(ServiceFile {
                id: id.clone(),
                name: u.name.clone(),
                target: u.target.clone(),
                uid: u.uid.clone(),
                gid: u.gid.clone(),
                mode: u.mode,
            })
        })
        .collect()
}

/// The stacks on the engine, whoever deployed them (by the namespace label).
pub async fn list(engine: &Engine) -> Result<Vec<StackSummary>, ApiError> {
    let services = engine.list_services(Some(NAMESPACE_LABEL)).await.to_api()?;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for s in services {
        if let Some(stack) = s.labels.get(NAMESPACE_LABEL) {
            *counts.entry(stack.clone()).or_default() += 1;
        }
    }
    Ok(counts
        .into_iter()
        .map(|(name, services)| StackSummary { name, services })
        .collect())
}

/// The stack's tasks, with their services' names.
pub async fn tasks(engine: &Engine, stack: &str) -> Result<Vec<StackTask>, ApiError> {
    check_name(stack)?;
    let services: BTreeMap<String, String> = engine
        .list_services(Some(&label(stack)))
        .await
        .to_api()?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    if services.is_empty() {
        return Err(nothing_found(stack));
    }
    let tasks = engine.tasks_with_label(&label(stack)).await.to_api()?;
    Ok(tasks
        .into_iter()
        .map(|task| StackTask {
            service: services.get(&task.service_id).cloned().unwrap_or_default(),
            task,
        })
        .collect())
}

fn nothing_found(stack: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("Nothing found in stack: {stack}"),
    )
}

/// Removes the stack: its services, then its networks, secrets and configs (waiting for
/// tasks that still hold them to go). Returns what it removed, line by line.
pub async fn remove(engine: &Engine, stack: &str) -> Result<Vec<String>, ApiError> {
    check_name(stack)?;
    require_manager(engine).await?;
    let label = label(stack);
    let services = engine.list_services(Some(&label)).await.to_api()?;
    let networks = engine.networks_with_label(&label).await.to_api()?;
    let secrets = engine
        .list_swarm_objects(SwarmObjectKind::Secret, Some(&label))
        .await
        .to_api()?;
    let configs = engine
        .list_swarm_objects(SwarmObjectKind::Config, Some(&label))
        .await
        .to_api()?;
    if services.is_empty() && networks.is_empty() && secrets.is_empty() && configs.is_empty() {
        return Err(nothing_found(stack));
    }
    let mut done = Vec::new();
    for s in &services {
        done.push(format!("Removing service {}", s.name));
        engine.remove_service(&s.id).await.to_api()?;
    }
    for n in &networks {
        done.push(format!("Removing network {}", n.name));
        until_released(|| engine.remove_network(&n.id)).await?;
    }
    for o in secrets.iter().chain(&configs) {
        done.push(format!("Removing {} {}", o.kind, o.name));
        until_released(|| engine.remove_swarm_object(o.kind, &o.id)).await?;
    }
    networks_gone(engine, &label).await?;
    Ok(done)
}

/// Waits until the engine lists none of the stack's networks: a removed overlay network
/// stays on the node until its tasks' containers have let go of it.
async fn networks_gone(engine: &Engine, label: &str) -> Result<(), ApiError> {
    let deadline = tokio::time::Instant::now() + RELEASE_DEADLINE;
    loop {
        let left = engine.networks_with_label(label).await.to_api()?;
        if left.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            let names: Vec<String> = left.into_iter().map(|n| n.name).collect();
            return Err(ApiError::new(
                ErrorCode::Timeout,
                format!(
                    "the stack's networks are still on the engine after {} s: {}",
                    RELEASE_DEADLINE.as_secs(),
                    names.join(", ")
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Retries a removal the engine refuses while tasks that are going away still hold the
/// object; gone already counts as done.
async fn until_released<F, Fut>(remove: F) -> Result<(), ApiError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), berth_engine::EngineError>>,
{
    let deadline = tokio::time::Instant::now() + RELEASE_DEADLINE;
    loop {
        match remove().await {
            Ok(()) => return Ok(()),
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(()),
            Err(e)
                if matches!(e.code(), ErrorCode::Conflict | ErrorCode::InvalidInput)
                    && tokio::time::Instant::now() < deadline =>
            {
                tracing::debug!(error = %e, "still in use; waiting for the stack's tasks to go");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => return Err(e).to_api(),
        }
    }
}
