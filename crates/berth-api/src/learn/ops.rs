//! Performing a step's operation through berth-engine, as the docker command it shows would.
//! Everything made carries `berth.learn=<lesson>`; anything changed or removed must carry it
//! already, so a lesson cannot touch what the user made, whatever its name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_core::{ApiError, ErrorCode};
use berth_engine::containers::RemoveOptions;
use berth_engine::{
    BuildOptions, Engine, ExecOptions, LogOptions, Mount, NetworkCreate, RegistryAuth, RunSpec,
    VolumeCreate,
};
use futures_util::{StreamExt, TryStreamExt};

use super::base_image::{BASE_LABEL_VALUE, LABEL};
use super::model::{ContainerDef, MountDef, Op};
use crate::transport::ToApi;

/// How long a container run to completion (or an exec) may take.
const RUN_DEADLINE: Duration = Duration::from_secs(120);

/// What a running lesson knows between steps.
pub(crate) struct Ctx {
    pub engine: Engine,
    /// The lesson's id: the value of [`LABEL`] on what it makes.
    pub lesson: String,
    /// The lesson's own host folder (`{workdir}`).
    pub workdir: PathBuf,
    /// Credentials from the lesson's `login` step, kept in memory only.
    pub auth: Option<RegistryAuth>,
    /// Compose projects brought up, for their `down`.
    pub projects: BTreeMap<String, berth_compose::Project>,
}

/// What an operation printed, and the exit status of what it ran.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub output: String,
    pub status: Option<i64>,
}

impl Outcome {
    pub fn text(output: impl Into<String>) -> Outcome {
        Outcome {
            output: output.into(),
            status: None,
        }
    }
}

pub(crate) fn refused(kind: &str, name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Conflict,
        format!("the {kind} {name} was not made by this lesson; Berth leaves it alone"),
    )
}

impl Ctx {
    pub fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(LABEL.to_string(), self.lesson.clone())])
    }

    fn is_ours(&self, labels: Option<&String>) -> bool {
        labels == Some(&self.lesson)
    }

    async fn container_is_ours(&self, name: &str) -> Result<(), ApiError> {
        let info = self.engine.inspect_container(name).await.to_api()?;
        let labels = info.config.and_then(|c| c.labels).unwrap_or_default();
        if self.is_ours(labels.get(LABEL)) {
            Ok(())
        } else {
            Err(refused("container", name))
        }
    }

    /// Images: this lesson's, or the shared lesson image (tags of it included).
    async fn image_is_ours(&self, image: &str) -> Result<(), ApiError> {
        let info = self.engine.inspect_image(image).await.to_api()?;
        let labels = info.config.and_then(|c| c.labels).unwrap_or_default();
        let value = labels.get(LABEL);
        if self.is_ours(value) || value.is_some_and(|v| v == BASE_LABEL_VALUE) {
            Ok(())
        } else {
            Err(refused("image", image))
        }
    }

    async fn volume_is_ours(&self, name: &str) -> Result<(), ApiError> {
        let v = self.engine.inspect_volume(name).await.to_api()?;
        if self.is_ours(v.labels.get(LABEL)) {
            Ok(())
        } else {
            Err(refused("volume", name))
        }
    }

    async fn network_is_ours(&self, name: &str) -> Result<(), ApiError> {
        let n = self.engine.inspect_network(name).await.to_api()?;
        if self.is_ours(n.labels.get(LABEL)) {
            Ok(())
        } else {
            Err(refused("network", name))
        }
    }

    pub(crate) async fn service_is_ours(&self, name: &str) -> Result<(), ApiError> {
        let s = self.engine.inspect_service(name).await.to_api()?;
        if self.is_ours(s.labels.get(LABEL)) {
            Ok(())
        } else {
            Err(refused("service", name))
        }
    }
}

/// Performs `op` (its placeholders already filled in).
pub(crate) async fn perform(ctx: &mut Ctx, op: &Op) -> Result<Outcome, ApiError> {
    let e = ctx.engine.clone();
    match op {
        Op::Run(c) => run(ctx, c).await,
        Op::Create(c) => {
            let spec = run_spec(ctx, c).await?;
            let id = e.create_container(&spec).await.to_api()?;
            Ok(Outcome::text(short(&id)))
        }
        Op::Start { name } => lifecycle(ctx, name, e.start_container(name)).await,
        Op::Stop { name } => lifecycle(ctx, name, e.stop_container(name, None)).await,
        Op::Restart { name } => lifecycle(ctx, name, e.restart_container(name, None)).await,
        Op::Pause { name } => lifecycle(ctx, name, e.pause_container(name)).await,
        Op::Unpause { name } => lifecycle(ctx, name, e.unpause_container(name)).await,
        Op::Rm { name, force } => {
            let options = RemoveOptions {
                force: *force,
                volumes: true,
            };
            lifecycle(ctx, name, e.remove_container(name, options)).await
        }
        Op::Logs { name } => {
            ctx.container_is_ours(name).await?;
            Ok(Outcome::text(logs(&e, name).await?))
        }
        Op::Exec { name, cmd } => {
            ctx.container_is_ours(name).await?;
            exec(&e, name, cmd).await
        }
        Op::Build {
            tag,
            dockerfile,
            files,
        } => build(ctx, tag, dockerfile, files).await,
        Op::Tag { source, target } => {
            ctx.image_is_ours(source).await?;
            e.tag_image(source, target).await.to_api()?;
            Ok(Outcome::default())
        }
        Op::Images { reference } => images(&e, reference).await,
        Op::History { image } => history(&e, image).await,
        Op::ImageRm { image } => {
            ctx.image_is_ours(image).await?;
            let gone = e.remove_image(image, false).await.to_api()?;
            Ok(Outcome::text(removed_lines(&gone)))
        }
        Op::VolumeCreate { name } => {
            create_volume(ctx, name).await?;
            Ok(Outcome::text(name.clone()))
        }
        Op::VolumeRm { name } => {
            ctx.volume_is_ours(name).await?;
            e.remove_volume(name, false).await.to_api()?;
            Ok(Outcome::text(name.clone()))
        }
        Op::NetworkCreate { name } => {
            let spec = NetworkCreate {
                name: name.clone(),
                labels: ctx.labels(),
                ..NetworkCreate::default()
            };
            let id = e.create_network(&spec).await.to_api()?;
            Ok(Outcome::text(short(&id)))
        }
        Op::NetworkConnect { network, container } => {
            ctx.network_is_ours(network).await?;
            ctx.container_is_ours(container).await?;
            e.connect_network(network, container, &[]).await.to_api()?;
            Ok(Outcome::default())
        }
        Op::NetworkRm { name } => {
            ctx.network_is_ours(name).await?;
            e.remove_network(name).await.to_api()?;
            Ok(Outcome::text(name.clone()))
        }
        Op::WriteFile { path, content } => {
            write_host_file(Path::new(path), content)?;
            Ok(Outcome::default())
        }
        Op::ComposeUp { project, file } => super::ops_compose::up(ctx, project, file).await,
        Op::ComposeDown { project, volumes } => {
            super::ops_compose::down(ctx, project, *volumes).await
        }
        Op::Login {
            registry,
            username,
            password,
        } => super::ops_registry::login(ctx, registry, username, password).await,
        Op::Push { image } => {
            ctx.image_is_ours(image).await?;
            super::ops_registry::push(ctx, image).await
        }
        Op::Pull { image } => super::ops_registry::pull(ctx, image).await,
        Op::SwarmInit { advertise_addr } => super::ops_swarm::init(ctx, advertise_addr).await,
        Op::ServiceCreate {
            name,
            image,
            cmd,
            replicas,
        } => super::ops_swarm::create(ctx, name, image, cmd, *replicas).await,
        Op::ServiceScale { name, replicas } => super::ops_swarm::scale(ctx, name, *replicas).await,
        Op::KillTask { service } => super::ops_swarm::kill_task(ctx, service).await,
        Op::ServiceRm { name } => super::ops_swarm::remove(ctx, name).await,
        Op::SwarmLeave => super::ops_swarm::leave(ctx).await,
    }
}

async fn lifecycle(
    ctx: &Ctx,
    name: &str,
    action: impl std::future::Future<Output = Result<(), berth_engine::EngineError>>,
) -> Result<Outcome, ApiError> {
    ctx.container_is_ours(name).await?;
    action.await.to_api()?;
    Ok(Outcome::text(name))
}

pub(crate) fn short(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

/// A volume the container names is made first, labelled, as `docker run` would make it
/// (unlabelled) on the fly.
async fn run_spec(ctx: &Ctx, c: &ContainerDef) -> Result<RunSpec, ApiError> {
    let mut spec = RunSpec::new(&c.image).name(&c.name);
    spec.labels = ctx.labels();
    if !c.cmd.is_empty() {
        spec = spec.cmd(c.cmd.clone());
    }
    spec.env = c.env.clone();
    spec.network = c.network.clone();
    for m in &c.mounts {
        spec = spec.mount(match m {
            MountDef::Volume {
                source,
                target,
                read_only,
            } => {
                if ctx.engine.inspect_volume(source).await.is_err() {
                    create_volume(ctx, source).await?;
                }
                Mount::Volume {
                    source: Some(source.clone()),
                    target: target.clone(),
                    read_only: *read_only,
                }
            }
            MountDef::Bind {
                source,
                target,
                read_only,
            } => {
                std::fs::create_dir_all(source).map_err(|e| host_io(source, e))?;
                Mount::Bind {
                    source: source.clone(),
                    target: target.clone(),
                    read_only: *read_only,
                }
            }
            MountDef::Tmpfs { target } => Mount::Tmpfs {
                target: target.clone(),
                size_bytes: None,
            },
        });
    }
    Ok(spec)
}

async fn create_volume(ctx: &Ctx, name: &str) -> Result<(), ApiError> {
    let spec = VolumeCreate {
        name: Some(name.to_string()),
        labels: ctx.labels(),
        ..VolumeCreate::default()
    };
    ctx.engine.create_volume(&spec).await.to_api().map(drop)
}

async fn run(ctx: &Ctx, c: &ContainerDef) -> Result<Outcome, ApiError> {
    let e = &ctx.engine;
    let spec = run_spec(ctx, c).await?;
    if !c.wait {
        let id = e.run(&spec).await.to_api()?;
        return Ok(Outcome::text(short(&id)));
    }
    let id = e.create_container(&spec).await.to_api()?;
    let result = async {
        e.start_container(&id).await.to_api()?;
        let code = tokio::time::timeout(RUN_DEADLINE, e.wait_container(&id))
            .await
            .map_err(|_| timeout(&format!("docker run {}", c.name)))?
            .to_api()?;
        Ok(Outcome {
            output: logs(e, &id).await?,
            status: Some(code),
        })
    }
    .await;
    if c.rm {
        let force = RemoveOptions {
            force: true,
            volumes: true,
        };
        e.remove_container(&id, force).await.to_api()?;
    }
    result
}

fn timeout(what: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Timeout,
        format!("{what} did not finish within {} s", RUN_DEADLINE.as_secs()),
    )
}

pub(crate) async fn logs(e: &Engine, name: &str) -> Result<String, ApiError> {
    let lines: Vec<_> = e
        .logs(name, &LogOptions::default())
        .try_collect()
        .await
        .to_api()?;
    Ok(lines.into_iter().map(|l| l.text).collect())
}

async fn exec(e: &Engine, name: &str, cmd: &[String]) -> Result<Outcome, ApiError> {
    let options = ExecOptions {
        cmd: cmd.to_vec(),
        ..ExecOptions::default()
    };
    let session = e.exec(name, &options).await.to_api()?;
    let read = session
        .output
        .try_fold(String::new(), |mut text, chunk| async move {
            text.push_str(&String::from_utf8_lossy(&chunk.data));
            Ok(text)
        });
    let output = tokio::time::timeout(RUN_DEADLINE, read)
        .await
        .map_err(|_| timeout(&format!("docker exec {name}")))?
        .to_api()?;
    let handle = session.handle;
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(code) = handle.exit_code().await.to_api()? {
            break code;
        }
        if started.elapsed() > Duration::from_secs(10) {
            return Err(timeout(&format!("docker exec {name}")));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    Ok(Outcome {
        output,
        status: Some(status),
    })
}

async fn build(
    ctx: &Ctx,
    tag: &str,
    dockerfile: &str,
    files: &BTreeMap<String, String>,
) -> Result<Outcome, ApiError> {
    let dir = ctx
        .workdir
        .join(format!("build-{}", tag.replace(['/', ':'], "-")));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| host_io(&dir, e))?;
    }
    write_host_file(&dir.join("Dockerfile"), dockerfile)?;
    for (name, content) in files {
        write_host_file(&dir.join(name), content)?;
    }
    let options = BuildOptions {
        tag: Some(tag.to_string()),
        labels: ctx.labels(),
        ..BuildOptions::default()
    };
    let mut stream = ctx.engine.build_image(&dir, &options).await.to_api()?;
    let mut output = String::new();
    while let Some(progress) = stream.next().await {
        if let Some(text) = progress.to_api()?.stream {
            output.push_str(&text);
        }
    }
    Ok(Outcome::text(output))
}

async fn images(e: &Engine, reference: &str) -> Result<Outcome, ApiError> {
    let (repo, tag) = match reference.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
        Some((r, t)) => (r, Some(t)),
        None => (reference, None),
    };
    let mut rows = vec![format!(
        "{:<32} {:<10} {:<14} {}",
        "REPOSITORY", "TAG", "IMAGE ID", "SIZE"
    )];
    for image in e.list_images(false).await.to_api()? {
        for repo_tag in &image.repo_tags {
            let Some((r, t)) = repo_tag.rsplit_once(':') else {
                continue;
            };
            if r == repo && tag.is_none_or(|want| want == t) {
                let size = human_size(image.size);
                rows.push(format!("{r:<32} {t:<10} {:<14} {size}", short(&image.id)));
            }
        }
    }
    Ok(Outcome::text(rows.join("\n") + "\n"))
}

async fn history(e: &Engine, image: &str) -> Result<Outcome, ApiError> {
    let mut rows = vec![format!("{:<14} {:<60} {}", "IMAGE", "CREATED BY", "SIZE")];
    for h in e.image_history(image).await.to_api()? {
        let id = if h.id.starts_with("sha256:") {
            short(&h.id)
        } else {
            "<missing>".to_string()
        };
        let by: String = h.created_by.chars().take(60).collect();
        rows.push(format!("{id:<14} {by:<60} {}", human_size(h.size)));
    }
    Ok(Outcome::text(rows.join("\n") + "\n"))
}

/// A size as the docker CLI prints it: `39B`, `1.98MB`.
fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{}B", bytes.max(0));
    }
    let mut value = bytes as f64;
    let mut unit = "B";
    for u in UNITS {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = u;
    }
    let digits = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.digits$}{unit}")
}

fn removed_lines(gone: &[String]) -> String {
    gone.iter()
        .map(|g| {
            if g.starts_with("sha256:") {
                format!("Deleted: {g}\n")
            } else {
                format!("Untagged: {g}\n")
            }
        })
        .collect()
}

pub(crate) fn host_io(path: impl AsRef<Path>, e: std::io::Error) -> ApiError {
    ApiError::new(
        ErrorCode::Io,
        format!("cannot write {}: {e}", path.as_ref().display()),
    )
}

fn write_host_file(path: &Path, content: &str) -> Result<(), ApiError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| host_io(parent, e))?;
    }
    std::fs::write(path, content).map_err(|e| host_io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_shortened_like_the_cli() {
        assert_eq!(short("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(short("abc"), "abc");
    }

    #[test]
    fn sizes_read_like_the_cli() {
        assert_eq!(human_size(39), "39B");
        assert_eq!(human_size(1_984_241), "1.98MB");
        assert_eq!(human_size(24_500), "24.5kB");
        assert_eq!(human_size(123_456_789), "123MB");
    }

    #[test]
    fn removal_lines_say_untagged_or_deleted() {
        let text = removed_lines(&["berth-learn/a:v1".into(), "sha256:ff".into()]);
        assert_eq!(text, "Untagged: berth-learn/a:v1\nDeleted: sha256:ff\n");
    }
}
