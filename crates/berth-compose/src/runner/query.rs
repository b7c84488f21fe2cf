//! What a project has on the engine: `ps`, combined `logs`, and `ls` (every project).

use std::collections::BTreeMap;

use berth_engine::ContainerSummary;
use futures_util::StreamExt;

use super::{Compose, ContainerInfo, ProjectLog, ProjectSummary, Publisher};
use crate::error::Result;
use crate::plan::labels;

/// What `ls` gathers per project: containers per state, config files, working dir.
type Seen = (BTreeMap<String, usize>, Vec<String>, String);

impl Compose {
    /// The project's containers, for `ps` (`all` includes stopped ones).
    pub async fn ps(&self, name: &str, all: bool) -> Result<Vec<ContainerInfo>> {
        let list = self
            .list_containers(&format!("{}={name}", labels::PROJECT))
            .await?;
        let mut out: Vec<ContainerInfo> = list
            .into_iter()
            .map(container_info)
            .filter(|c| all || c.state == "running")
            .collect();
        out.sort_by(|a, b| (&a.service, a.number).cmp(&(&b.service, b.number)));
        Ok(out)
    }

    /// The combined logs of the project's containers (of `services`, or all), merged as they
    /// come; with `follow` the stream lasts until every container's log ends.
    pub async fn logs(
        &self,
        project: &str,
        services: &[String],
        options: &berth_engine::LogOptions,
    ) -> Result<impl futures_util::Stream<Item = ProjectLog> + Send + 'static> {
        let containers: Vec<ContainerInfo> = self
            .ps(project, true)
            .await?
            .into_iter()
            .filter(|c| services.is_empty() || services.contains(&c.service))
            .collect();
        let streams = containers.into_iter().map(|c| {
            self.engine
                .logs(&c.id, options)
                .filter_map(move |line| {
                    let item = line.ok().map(|line| ProjectLog {
                        container: c.name.clone(),
                        service: c.service.clone(),
                        line,
                    });
                    async move { item }
                })
                .boxed()
        });
        Ok(futures_util::stream::select_all(streams))
    }

    /// Every compose project on the engine, whatever made it (compose v2, 1.29, Berth).
    pub async fn list_projects(&self, all: bool) -> Result<Vec<ProjectSummary>> {
        let list = self.list_containers(labels::PROJECT).await?;
        let mut projects: BTreeMap<String, Seen> = BTreeMap::new();
        for c in list {
            let l = &c.labels;
            let name = l.get(labels::PROJECT).cloned().unwrap_or_default();
            let entry = projects.entry(name).or_default();
            let state = if c.state.is_empty() {
                "unknown".to_string()
            } else {
                c.state.clone()
            };
            *entry.0.entry(state).or_default() += 1;
            if let Some(files) = l.get(labels::CONFIG_FILES) {
                for f in files.split(',') {
                    if !entry.1.iter().any(|x| x == f) {
                        entry.1.push(f.to_string());
                    }
                }
            }
            if let Some(dir) = l.get(labels::WORKING_DIR) {
                entry.2 = dir.clone();
            }
        }
        Ok(projects
            .into_iter()
            .map(|(name, (states, files, dir))| {
                let running = states.get("running").copied().unwrap_or(0);
                let total = states.values().sum();
                ProjectSummary {
                    name,
                    status: states
                        .iter()
                        .map(|(s, n)| format!("{s}({n})"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    running,
                    total,
                    config_files: files.join(","),
                    working_dir: dir,
                }
            })
            .filter(|p| all || p.running > 0)
            .collect())
    }
}

fn container_info(c: ContainerSummary) -> ContainerInfo {
    let l = &c.labels;
    let health = if c.status.contains("(healthy)") {
        "healthy"
    } else if c.status.contains("(unhealthy)") {
        "unhealthy"
    } else if c.status.contains("(health: starting)") {
        "starting"
    } else {
        ""
    };
    ContainerInfo {
        project: l.get(labels::PROJECT).cloned().unwrap_or_default(),
        service: l.get(labels::SERVICE).cloned().unwrap_or_default(),
        number: l
            .get(labels::NUMBER)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
        health: health.into(),
        publishers: c
            .ports
            .into_iter()
            .map(|p| Publisher {
                url: p.ip.unwrap_or_default(),
                target_port: p.private_port,
                published_port: p.public_port.unwrap_or(0),
                protocol: p.protocol,
            })
            .collect(),
        id: c.id,
        name: c.name,
        image: c.image,
        command: c.command,
        state: c.state,
        status: c.status,
        created: c.created,
    }
}
