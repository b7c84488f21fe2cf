//! The Compose section: projects found on the engine (whatever tool made them), one project's
//! containers, combined logs, start/stop/restart/down, and Up from a file with live progress.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_compose::runner::{ContainerInfo, ProjectSummary};
use berth_compose::{Compose, DownOptions, Event, LoadError, LoadOptions, Project, UpRun};
use berth_core::{ApiError, ErrorCode};
use berth_engine::{LogLine, LogOptions};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::State;

use super::AppState;

fn to_api(e: berth_compose::Error) -> ApiError {
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

async fn compose(state: &AppState) -> Result<Compose, ApiError> {
    let credentials = state.link.berth().credentials_lookup();
    Ok(Compose::new(state.link.engine().await?).with_credentials(credentials))
}

#[tauri::command]
pub async fn list_compose_projects(
    state: State<'_, AppState>,
) -> Result<Vec<ProjectSummary>, ApiError> {
    compose(&state)
        .await?
        .list_projects(true)
        .await
        .map_err(to_api)
}

/// The project's containers, stopped ones too (compose `ps -a`).
#[tauri::command]
pub async fn compose_containers(
    state: State<'_, AppState>,
    name: String,
) -> Result<Vec<ContainerInfo>, ApiError> {
    compose(&state).await?.ps(&name, true).await.map_err(to_api)
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectAction {
    Start,
    Stop,
    Restart,
    Down,
}

#[tauri::command]
pub async fn compose_action(
    state: State<'_, AppState>,
    name: String,
    action: ProjectAction,
) -> Result<(), ApiError> {
    let compose = compose(&state).await?;
    let project = project_from_labels(&compose, &name).await;
    match action {
        ProjectAction::Stop => compose.stop(&name, &[], None).await,
        ProjectAction::Start => start(&compose, &name, project.as_ref()).await,
        ProjectAction::Restart => match compose.stop(&name, &[], None).await {
            Ok(()) => start(&compose, &name, project.as_ref()).await,
            Err(e) => Err(e),
        },
        ProjectAction::Down => {
            let opts = DownOptions {
                remove_orphans: true,
                ..DownOptions::default()
            };
            compose.down(&name, project.as_ref(), &opts).await
        }
    }
    .map_err(to_api)
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

/// Follows the logs of every container of the project, merged as they come.
#[tauri::command]
pub async fn stream_compose_logs(
    state: State<'_, AppState>,
    name: String,
    tail: Option<u64>,
    channel: Channel<ProjectLogLine>,
) -> Result<u32, ApiError> {
    let compose = compose(&state).await?;
    let containers = compose.ps(&name, true).await.map_err(to_api)?;
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
    let mut merged = futures_util::stream::select_all(streams);
    Ok(state.streams.spawn(async move {
        while let Some(line) = merged.next().await {
            if channel.send(line).is_err() {
                break;
            }
        }
    }))
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

#[tauri::command]
pub fn compose_preview(file: String) -> ComposePreview {
    match load_file(&file) {
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

/// `up -d` for `file`, with every progress event sent to `channel`; returns when it is up.
#[tauri::command]
pub async fn compose_up(
    state: State<'_, AppState>,
    file: String,
    channel: Channel<Event>,
) -> Result<(), ApiError> {
    let project = load_file(&file).map_err(|e| to_api(e.into()))?;
    let progress = Arc::new(move |e: Event| {
        let _ = channel.send(e);
    });
    compose(&state)
        .await?
        .with_progress(progress)
        .up(&project, &UpRun::default())
        .await
        .map(drop)
        .map_err(to_api)
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
        let p = compose_preview(file);
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
        let p = compose_preview(file);
        std::fs::remove_dir_all(&dir).ok();
        assert!(p.project.is_none());
        let problem = p.problem.expect("a problem");
        assert_eq!(problem.line, Some(4), "{problem:?}");
        assert!(problem.message.contains("nope"), "{problem:?}");
    }

    #[test]
    fn a_missing_file_is_a_problem_not_a_panic() {
        let p = compose_preview("/nonexistent/berth/compose.yaml".into());
        assert!(p
            .problem
            .is_some_and(|e| e.file.is_some() && e.line.is_none()));
    }
}
