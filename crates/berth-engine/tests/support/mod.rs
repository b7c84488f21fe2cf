//! Shared by berth-engine's own `engine_*` tests: a private dockerd, an `Engine` on it, and
//! waits with deadlines.

#![allow(dead_code)] // each test file uses its own subset

use std::time::Duration;

use berth_engine::{Endpoint, Engine, EngineError, ExecOptions, RunSpec};
use berth_testkit::{wait_until_async, Dockerd};
use futures_util::{Stream, StreamExt};

pub type Error = Box<dyn std::error::Error>;
pub type TestResult = Result<(), Error>;

/// Deadline for one step (a stream item, a wait, an exec).
pub const STEP: Duration = Duration::from_secs(60);

/// Runs until stopped and stops at once on SIGTERM.
pub const IDLE: [&str; 3] = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"];

pub struct Env {
    pub engine: Engine,
    pub image: String,
    // Last: dropped after the client.
    pub d: Dockerd,
}

impl Env {
    pub async fn start() -> Result<Env, Error> {
        let d = Dockerd::start()?;
        let image = d.test_image()?;
        let engine = Engine::connect(&Endpoint::Unix(d.socket().to_owned())).await?;
        Ok(Env { engine, image, d })
    }

    pub fn name(&self, prefix: &str) -> String {
        self.d.unique_name(prefix)
    }

    pub fn idle(&self, prefix: &str) -> RunSpec {
        RunSpec::new(&self.image).name(self.name(prefix)).cmd(IDLE)
    }

    /// `cmd` in `container` without a TTY: exit code and output.
    pub async fn exec(&self, container: &str, cmd: &[&str]) -> Result<(i64, String), Error> {
        let options = ExecOptions {
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        let session = self.engine.exec(container, &options).await?;
        let text = collect_text(session.output).await?;
        let handle = session.handle;
        let code = wait_until_async(STEP, "exec exit code", || async {
            handle.exit_code().await.ok().flatten()
        })
        .await?;
        Ok((code, text))
    }

    /// The container's state string (`running`, `paused`, `exited`, ...).
    pub async fn state(&self, id: &str) -> Result<String, Error> {
        let info = self.engine.inspect_container(id).await?;
        Ok(info
            .state
            .and_then(|s| s.status)
            .map(|s| s.to_string())
            .unwrap_or_default())
    }
}

/// Reads a stream of exec output chunks to its end (bounded by [`STEP`]).
pub async fn collect_text(
    mut output: impl Stream<Item = Result<berth_engine::ExecOutput, EngineError>> + Unpin,
) -> Result<String, Error> {
    let mut text = String::new();
    let read = async {
        while let Some(chunk) = output.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk?.data));
        }
        Ok::<(), EngineError>(())
    };
    tokio::time::timeout(STEP, read)
        .await
        .map_err(|_| format!("output still open after {STEP:?}"))??;
    Ok(text)
}

/// The next item of `stream`, failing after [`STEP`].
pub async fn next<T>(
    stream: &mut (impl Stream<Item = Result<T, EngineError>> + Unpin),
    what: &str,
) -> Result<T, Error> {
    match tokio::time::timeout(STEP, stream.next()).await {
        Err(_) => Err(format!("no {what} within {STEP:?}").into()),
        Ok(None) => Err(format!("{what} stream ended").into()),
        Ok(Some(item)) => Ok(item?),
    }
}

/// Drains a finite stream (bounded by `deadline` overall).
pub async fn drain<T>(
    stream: impl Stream<Item = Result<T, EngineError>>,
    deadline: Duration,
) -> Result<Vec<T>, Error> {
    let items = tokio::time::timeout(deadline, stream.collect::<Vec<_>>())
        .await
        .map_err(|_| format!("stream still open after {deadline:?}"))?;
    Ok(items.into_iter().collect::<Result<Vec<T>, _>>()?)
}

/// The code of an expected error.
pub fn code_of<T: std::fmt::Debug>(r: Result<T, EngineError>) -> berth_engine::ErrorCode {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code(),
    }
}
