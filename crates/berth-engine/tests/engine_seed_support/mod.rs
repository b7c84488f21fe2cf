//! Shared by the `engine_seed_*` tests: the behaviour the Docker primer (the seed document)
//! teaches, checked on a real engine through `berth_engine::Engine`.

#![allow(dead_code)] // each test file uses its own subset

use std::time::Duration;

use berth_engine::containers::RemoveOptions;
use berth_engine::{Endpoint, Engine, LogOptions, RunSpec};
use berth_testkit::{wait_until_async, Dockerd};
use futures_util::StreamExt;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;
pub type Error = Box<dyn std::error::Error>;

/// Deadline for one container operation (exec, wait, logs).
pub const STEP: Duration = Duration::from_secs(60);

/// Keeps a container running and lets it stop at once on SIGTERM (busybox `sleep` as PID 1
/// ignores SIGTERM, which would make every stop wait for the kill timeout).
pub const IDLE: [&str; 3] = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"];

/// A private daemon, Berth's engine client connected to it, and the busybox test image.
pub struct Seed {
    pub engine: Engine,
    pub image: String,
    // Last: dropped after the engine client.
    pub d: Dockerd,
}

impl Seed {
    pub async fn start() -> Result<Seed, Error> {
        let d = Dockerd::start()?;
        let image = d.test_image()?;
        let engine = Engine::connect(&Endpoint::Unix(d.socket().to_owned())).await?;
        Ok(Seed { engine, image, d })
    }

    pub fn name(&self, prefix: &str) -> String {
        self.d.unique_name(prefix)
    }

    /// A spec for the test image with a unique name and the idle command.
    pub fn idle_spec(&self, prefix: &str) -> RunSpec {
        RunSpec::new(&self.image).name(self.name(prefix)).cmd(IDLE)
    }

    /// Starts `spec` and returns the container id.
    pub async fn run(&self, spec: &RunSpec) -> Result<String, Error> {
        Ok(self.engine.run(spec).await?)
    }

    /// Runs `cmd` in `container`; returns the exit code and stdout+stderr.
    pub async fn exec(&self, container: &str, cmd: &[&str]) -> Result<(i64, String), Error> {
        let options = berth_engine::ExecOptions {
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        let session = self.engine.exec(container, &options).await?;
        let mut output = session.output;
        let mut text = String::new();
        let read_all = async {
            while let Some(chunk) = output.next().await {
                text.push_str(&String::from_utf8_lossy(&chunk?.data));
            }
            Ok::<(), berth_engine::EngineError>(())
        };
        tokio::time::timeout(STEP, read_all)
            .await
            .map_err(|_| format!("exec {cmd:?} still writing after {STEP:?}: {text}"))??;
        let handle = session.handle;
        let code = wait_until_async(STEP, "exec exit code", || async {
            handle.exit_code().await.ok().flatten()
        })
        .await?;
        Ok((code, text))
    }

    /// [`Seed::exec`] that must exit 0; returns the output.
    pub async fn exec_ok(&self, container: &str, cmd: &[&str]) -> Result<String, Error> {
        let (code, out) = self.exec(container, cmd).await?;
        if code != 0 {
            return Err(format!("exec {cmd:?} exited {code}: {out}").into());
        }
        Ok(out)
    }

    /// Runs `spec` to completion (`docker run --rm` style): exit code and its log.
    pub async fn run_once(&self, spec: &RunSpec) -> Result<(i64, String), Error> {
        let id = self.engine.run(spec).await?;
        let code = tokio::time::timeout(STEP, self.engine.wait_container(&id))
            .await
            .map_err(|_| format!("container {:?} still running after {STEP:?}", spec.cmd))??;
        let mut logs = self.engine.logs(&id, &LogOptions::default());
        let mut text = String::new();
        while let Some(line) = tokio::time::timeout(STEP, logs.next()).await? {
            text.push_str(&line?.text);
        }
        self.remove(&id).await?;
        Ok((code, text))
    }

    /// Makes an image `repo:tag` from `container`'s writable layer on top of its image
    /// (`docker commit`; Berth's API has no call for it, so through bollard).
    pub async fn commit(&self, container: &str, repo: &str, tag: &str) -> Result<(), Error> {
        let options = bollard::query_parameters::CommitContainerOptionsBuilder::new()
            .container(container)
            .repo(repo)
            .tag(tag)
            .pause(true)
            .build();
        berth_testkit::docker_client(self.engine.address())
            .await
            .commit_container(options, bollard::models::ContainerConfig::default())
            .await?;
        Ok(())
    }

    /// Force-removes a container, keeping its volumes.
    pub async fn remove(&self, id: &str) -> Result<(), Error> {
        let options = RemoveOptions {
            force: true,
            volumes: false,
        };
        Ok(self.engine.remove_container(id, options).await?)
    }
}
