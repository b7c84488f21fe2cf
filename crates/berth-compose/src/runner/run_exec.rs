//! One-off containers (`run`) and commands in running ones (`exec`).

use std::time::{Duration, Instant};

use berth_engine::{ExecOptions, RemoveOptions};
use futures_util::StreamExt;

use super::{Compose, UpRun};
use crate::error::{Error, Result};
use crate::model::Project;
use crate::plan::UpOptions;

impl Compose {
    /// Runs a one-off container of `service` (its dependencies are brought up first) and
    /// returns its exit code; its output goes to `out`.
    pub async fn run(
        &self,
        project: &Project,
        service: &str,
        command: Option<Vec<String>>,
        remove: bool,
        mut out: impl std::io::Write + Send,
    ) -> Result<i64> {
        let s = project
            .services
            .get(service)
            .ok_or_else(|| Error::usage(format!("no such service: {service}")))?;
        let deps: Vec<String> = s.dependencies().map(String::from).collect();
        if !deps.is_empty() {
            let opts = UpRun {
                plan: UpOptions {
                    services: deps,
                    ..Default::default()
                },
                ..Default::default()
            };
            self.up(project, &opts).await?;
        } else {
            self.ensure_networks(project, &[s]).await?;
            self.ensure_volumes(project, &[s]).await?;
        }
        self.ensure_image(project, s, false).await?;
        let name = self.create_container(project, s, 1, true, command).await?;
        let mut logs = Box::pin(self.engine.logs(
            &name,
            &berth_engine::LogOptions {
                follow: true,
                ..Default::default()
            },
        ));
        self.engine
            .start_container(&name)
            .await
            .map_err(Error::engine(format!("starting {name}")))?;
        self.run_hooks(&name, &s.name, &s.post_start, "post_start")
            .await?;
        while let Some(line) = logs.next().await {
            match line {
                Ok(l) => {
                    let _ = out.write_all(l.text.as_bytes());
                }
                Err(_) => break,
            }
        }
        let _ = out.flush();
        let code = self.exit_code(&name).await?;
        if remove {
            let force = RemoveOptions {
                force: true,
                volumes: true,
            };
            let _ = self.engine.remove_container(&name, force).await;
        }
        Ok(code)
    }

    async fn exit_code(&self, name: &str) -> Result<i64> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let info = self
                .engine
                .inspect_container(name)
                .await
                .map_err(Error::engine(format!("inspecting {name}")))?;
            let state = info.state.unwrap_or_default();
            if !state.running.unwrap_or(false) || Instant::now() > deadline {
                return Ok(state.exit_code.unwrap_or(-1));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `cmd` in the first (or `index`th) container of `service`; returns its exit code.
    pub async fn exec(
        &self,
        project: &str,
        service: &str,
        index: u32,
        cmd: Vec<String>,
        mut out: impl std::io::Write + Send,
    ) -> Result<i64> {
        let c = self
            .observe(project)
            .await?
            .into_iter()
            .find(|o| o.service == service && o.number == index && !o.oneoff && o.running)
            .ok_or_else(|| {
                Error::usage(format!(
                    "service {service:?} is not running (container #{index})"
                ))
            })?;
        let options = ExecOptions {
            cmd,
            ..ExecOptions::default()
        };
        let mut session = self
            .engine
            .exec(&c.id, &options)
            .await
            .map_err(Error::engine(format!("exec in {}", c.name)))?;
        while let Some(Ok(chunk)) = session.output.next().await {
            let _ = out.write_all(&chunk.data);
        }
        let _ = out.flush();
        let code = session
            .exit_code()
            .await
            .map_err(Error::engine(format!("exec in {}", c.name)))?;
        Ok(code.unwrap_or(-1))
    }
}
