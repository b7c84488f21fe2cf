//! Compose as the dashboard uses it: projects on the engine (whatever tool made them), one
//! project's actions, its combined logs, and Up from a file with a preview first. The CLI's
//! `berth compose` is berth-compose's own command line.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_compose::{Compose, DownOptions, LoadError, LoadOptions, Project, UpRun};
use berth_core::{ApiError, ErrorCode};
use berth_engine::{LogLine, LogOptions};
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

pub use berth_compose::runner::{ContainerInfo, ProjectSummary};
pub use berth_compose::Event;

use crate::engine_watch::EngineWatch;

/// A compose error as every caller shows it: `{ code, message }`.
pub fn error(e: berth_compose::Error) -> ApiError {
    let code = match &e {
        berth_compose::Error::Api(inner) => inner.code(),
        berth_compose::Error::Load(_) | berth_compose::Error::Usage { .. } => {
            ErrorCode::InvalidInput
        }
        berth_compose::Error::Io { .. } => ErrorCode::Io,
        _ => ErrorCode::Engine,
    };
    ApiError::from_error(code, &e)
}

impl EngineWatch {
    /// The compose engine over the watched engine, with the user's registry credentials.
    pub async fn compose(&self) -> Result<Compose, ApiError> {
        let credentials = self.berth().credentials_lookup();
        Ok(Compose::new(self.engine().await?).with_credentials(credentials))
    }
}

/// Every project on the engine, stopped ones too.
pub async fn projects(compose: &Compose) -> Result<Vec<ProjectSummary>, ApiError> {
    compose.list_projects(true).await.map_err(error)
}

/// The project's containers, stopped ones too (compose `ps -a`).
pub async fn containers(compose: &Compose, name: &str) -> Result<Vec<ContainerInfo>, ApiError> {
    compose.ps(name, true).await.map_err(error)
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectAction {
    Start,
    Stop,
    Restart,
    Down,
}

/// Runs `action` on the project `name`, with its files when they still load.
pub async fn act(compose: &Compose, name: &str, action: ProjectAction) -> Result<(), ApiError> {
    let project = project_from_labels(compose, name).await;
    match action {
        ProjectAction::Stop => compose.stop(name, &[], None).await,
        ProjectAction::Start => start(compose, name, project.as_ref()).await,
        ProjectAction::Restart => match compose.stop(name, &[], None).await {
            Ok(()) => start(compose, name, project.as_ref()).await,
            Err(e) => Err(e),
        },
        ProjectAction::Down => {
            let opts = DownOptions {
                remove_orphans: true,
                ..DownOptions::default()
            };
            compose.down(name, project.as_ref(), &opts).await
        }
    }
    .map_err(error)
}

/// Starts in dependency order when the project's files can still be read; otherwise (files
/// gone, or made on another machine) starts the stopped containers in service order.
async fn start(
    compose: &Compose,
    name: &str,
    project: Option<&Project>,
) -> berth_compose::Result<()> {
    if let Some(project) = project {
        return compose.start(project, &[]).await;
    }
    for c in compose.ps(name, true).await? {
        if c.state != "running" {
            compose.engine().start_container(&c.id).await?;
        }
    }
    Ok(())
}

/// Reloads the project from the files its containers' labels name, if they still load.
async fn project_from_labels(compose: &Compose, name: &str) -> Option<Project> {
    let projects = compose.list_projects(true).await.ok()?;
    let summary = projects.into_iter().find(|p| p.name == name)?;
    if summary.config_files.is_empty() {
        return None;
    }
    let files = summary.config_files.split(',').map(PathBuf::from).collect();
    let dir = PathBuf::from(&summary.working_dir);
    berth_compose::load(&LoadOptions {
        files,
        project_name: Some(name.to_string()),
        project_dir: Some(dir.clone()),
        working_dir: dir,
        ..LoadOptions::from_process()
    })
    .ok()
}

/// One line of a project's combined log.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectLogLine {
    pub container: String,
    pub service: String,
    #[serde(flatten)]
    pub line: LogLine,
}

/// The logs of every container of the project, followed and merged as they come.
pub async fn merged_logs(
    compose: &Compose,
    name: &str,
    tail: Option<u64>,
) -> Result<BoxStream<'static, ProjectLogLine>, ApiError> {
    let containers = compose.ps(name, true).await.map_err(error)?;
    let opts = LogOptions {
        follow: true,
        tail,
        ..LogOptions::default()
    };
    let streams = containers.into_iter().map(|c| {
        let (container, service) = (c.name, c.service);
        compose
            .engine()
            .logs(&c.id, &opts)
            .filter_map(move |line| {
                let out = line.ok().map(|line| ProjectLogLine {
                    container: container.clone(),
                    service: service.clone(),
                    line,
                });
                async move { out }
            })
            .boxed()
    });
    Ok(futures_util::stream::select_all(streams).boxed())
}

/// A compose file as the Up dialog previews it: the project, or where loading it failed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComposePreview {
    pub project: Option<ProjectPreview>,
    pub problem: Option<LoadProblem>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectPreview {
    pub name: String,
    pub working_dir: String,
    pub services: Vec<ServicePreview>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePreview {
    pub name: String,
    /// The image, or `<project>-<service>` (built) when the service has a `build`.
    pub image: String,
    pub build: bool,
    pub ports: Vec<String>,
    pub depends_on: Vec<String>,
    pub replicas: u32,
}

/// A load error with its place, so the dialog can point at the line.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadProblem {
    pub file: Option<String>,
    pub line: Option<usize>,
    pub message: String,
}

impl From<&LoadError> for LoadProblem {
    fn from(e: &LoadError) -> Self {
        let (file, line) = match e {
            LoadError::Syntax { file, line, .. } | LoadError::Invalid { file, line, .. } => {
                (Some(file.display().to_string()), Some(*line))
            }
            LoadError::File { file, .. } => (Some(file.display().to_string()), None),
            _ => (None, None),
        };
        LoadProblem {
            file,
            line,
            message: e.to_string(),
        }
    }
}

fn preview(project: &Project) -> ProjectPreview {
    let services = project
        .services_in_dependency_order()
        .into_iter()
        .map(|s| ServicePreview {
            name: s.name.clone(),
            image: s.image_name(&project.name),
            build: s.build.is_some(),
            ports: s
                .ports
                .iter()
                .map(|p| match &p.published {
                    Some(host) => format!("{host}:{}/{}", p.target, p.protocol),
                    None => format!("{}/{}", p.target, p.protocol),
                })
                .collect(),
            depends_on: s.depends_on.keys().cloned().collect(),
            replicas: s.replicas(),
        })
        .collect();
    ProjectPreview {
        name: project.name.clone(),
        working_dir: project.working_dir.display().to_string(),
        services,
        warnings: project.warnings.clone(),
    }
}

/// Loads `file` as compose would with `-f file` (its directory is the project directory).
fn load_file(file: &str) -> Result<Project, LoadError> {
    let path = Path::new(file.trim());
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    berth_compose::load(&LoadOptions {
        files: vec![path.to_path_buf()],
        working_dir: dir,
        ..LoadOptions::from_process()
    })
}

/// What the Up dialog shows for `file` before anything runs.
pub fn preview_file(file: &str) -> ComposePreview {
    match load_file(file) {
        Ok(project) => ComposePreview {
            project: Some(preview(&project)),
            problem: None,
        },
        Err(e) => ComposePreview {
            project: None,
            problem: Some(LoadProblem::from(&e)),
        },
    }
}

/// `up -d` for `file`, with every progress event given to `progress`; returns when it is up.
pub async fn up_file(
    compose: Compose,
    file: &str,
    progress: impl Fn(Event) + Send + Sync + 'static,
) -> Result<(), ApiError> {
    let project = load_file(file).map_err(|e| error(e.into()))?;
    compose
        .with_progress(Arc::new(progress))
        .up(&project, &UpRun::default())
        .await
        .map(drop)
        .map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> String {
        let file = dir.join("compose.yaml");
        std::fs::write(&file, text).unwrap();
        file.display().to_string()
    }

    #[test]
    fn a_valid_file_previews_its_services_in_dependency_order() {
        let dir = std::env::temp_dir().join(format!("berth-preview-{}-a", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = write(
            &dir,
            "name: shop\nservices:\n  web:\n    image: busybox\n    ports: [\"8080:80\"]\n    depends_on: [db]\n  db:\n    build: .\n",
        );
        let p = preview_file(&file);
        std::fs::remove_dir_all(&dir).ok();
        let project = p.project.expect("loads");
        assert!(p.problem.is_none());
        assert_eq!(project.name, "shop");
        let names: Vec<_> = project.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["db", "web"]);
        assert!(project.services[0].build);
        assert_eq!(project.services[0].image, "shop-db");
        assert_eq!(project.services[1].ports, ["8080:80/tcp"]);
        assert_eq!(project.services[1].depends_on, ["db"]);
    }

    #[test]
    fn an_invalid_file_reports_its_line() {
        let dir = std::env::temp_dir().join(format!("berth-preview-{}-b", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = write(
            &dir,
            "services:\n  web:\n    image: busybox\n    depends_on: [nope]\n",
        );
        let p = preview_file(&file);
        std::fs::remove_dir_all(&dir).ok();
        assert!(p.project.is_none());
        let problem = p.problem.expect("a problem");
        assert_eq!(problem.line, Some(4), "{problem:?}");
        assert!(problem.message.contains("nope"), "{problem:?}");
    }

    #[test]
    fn a_missing_file_is_a_problem_not_a_panic() {
        let p = preview_file("/nonexistent/berth/compose.yaml");
        assert!(p
            .problem
            .is_some_and(|e| e.file.is_some() && e.line.is_none()));
    }
}
