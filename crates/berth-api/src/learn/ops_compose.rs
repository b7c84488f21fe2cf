//! `docker compose up` and `down` of a lesson's inline compose file, through berth-compose.
//! Every service, network and volume of the project gets the lesson's label.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_compose::{Compose, DownOptions, LoadOptions, Project, UpRun};
use berth_core::ApiError;
use berth_engine::ContainerFilter;

use super::base_image::LABEL;
use super::ops::{host_io, refused, Ctx, Outcome};
use crate::compose::error;
use crate::transport::ToApi;

/// How long `up --wait` waits for health checks and `depends_on` conditions.
const UP_TIMEOUT: Duration = Duration::from_secs(120);

/// Adds `labels` to every service, network and volume of `project`.
pub(crate) fn label(project: &mut Project, labels: &BTreeMap<String, String>) {
    for s in project.services.values_mut() {
        s.labels.extend(labels.clone());
    }
    for n in project.networks.values_mut() {
        n.labels.extend(labels.clone());
    }
    for v in project.volumes.values_mut() {
        v.labels.extend(labels.clone());
    }
}

/// Refuses a project that has containers the lesson did not make.
async fn project_is_ours(ctx: &Ctx, name: &str) -> Result<(), ApiError> {
    let filter = ContainerFilter {
        all: true,
        compose_project: Some(name.to_string()),
        ..ContainerFilter::default()
    };
    let containers = ctx.engine.list_containers(&filter).await.to_api()?;
    if containers
        .iter()
        .all(|c| c.labels.get(LABEL) == Some(&ctx.lesson))
    {
        Ok(())
    } else {
        Err(refused("compose project", name))
    }
}

/// A compose engine that records its progress lines.
fn compose(ctx: &Ctx) -> (Compose, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let compose = Compose::new(ctx.engine.clone()).with_progress(Arc::new(move |event| {
        if let Ok(mut lines) = sink.lock() {
            lines.push(event.to_string());
        }
    }));
    (compose, lines)
}

fn joined(lines: &Mutex<Vec<String>>) -> String {
    lines
        .lock()
        .map(|l| l.iter().map(|line| format!("{line}\n")).collect())
        .unwrap_or_default()
}

pub(crate) async fn up(ctx: &mut Ctx, name: &str, file: &str) -> Result<Outcome, ApiError> {
    project_is_ours(ctx, name).await?;
    let dir = ctx.workdir.join(name);
    let path = dir.join("compose.yaml");
    std::fs::create_dir_all(&dir).map_err(|e| host_io(&dir, e))?;
    std::fs::write(&path, file).map_err(|e| host_io(&path, e))?;
    let options = LoadOptions {
        files: vec![path],
        project_name: Some(name.to_string()),
        project_dir: Some(dir.clone()),
        working_dir: dir,
        ..LoadOptions::default()
    };
    let mut project = berth_compose::load(&options).map_err(|e| error(e.into()))?;
    label(&mut project, &ctx.labels());
    let (compose, lines) = compose(ctx);
    let run = UpRun {
        wait: true,
        timeout: UP_TIMEOUT,
        ..UpRun::default()
    };
    compose.up(&project, &run).await.map_err(error)?;
    ctx.projects.insert(name.to_string(), project);
    Ok(Outcome::text(joined(&lines)))
}

pub(crate) async fn down(ctx: &mut Ctx, name: &str, volumes: bool) -> Result<Outcome, ApiError> {
    project_is_ours(ctx, name).await?;
    let (compose, lines) = compose(ctx);
    let options = DownOptions {
        volumes,
        remove_orphans: true,
        ..DownOptions::default()
    };
    compose
        .down(name, ctx.projects.get(name), &options)
        .await
        .map_err(error)?;
    ctx.projects.remove(name);
    Ok(Outcome::text(joined(&lines)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_of_a_project_gets_the_label() {
        let yaml = "services:\n  db:\n    image: x\n  web:\n    image: x\n    labels: {tier: web}\nvolumes:\n  data: {}\n";
        let options = LoadOptions {
            project_name: Some("learn-app".into()),
            working_dir: "/tmp".into(),
            ..LoadOptions::default()
        };
        let mut project =
            berth_compose::load_sources(vec![("/tmp/compose.yaml".into(), yaml.into())], &options)
                .unwrap();
        let labels = BTreeMap::from([(LABEL.to_string(), "compose".to_string())]);
        label(&mut project, &labels);
        for s in project.services.values() {
            assert_eq!(s.labels[LABEL], "compose", "{}", s.name);
        }
        assert_eq!(project.services["web"].labels["tier"], "web");
        assert!(project
            .networks
            .values()
            .all(|n| n.labels[LABEL] == "compose"));
        assert_eq!(project.volumes["data"].labels[LABEL], "compose");
    }
}
