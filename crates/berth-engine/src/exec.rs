//! Running a command in a container, optionally on an interactive, resizable TTY.

use std::pin::Pin;

use bollard::container::LogOutput;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use bollard::query_parameters as q;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWrite;

use crate::logs::LogStream;
use crate::{Engine, EngineError};

/// What to run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExecOptions {
    pub cmd: Vec<String>,
    pub tty: bool,
    /// Attach stdin (interactive).
    pub stdin: bool,
    /// `KEY=VALUE` entries.
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    /// Run with extended privileges (compose's `privileged` hooks).
    pub privileged: bool,
}

impl ExecOptions {
    /// An interactive TTY session running `cmd`.
    pub fn interactive<S: Into<String>>(cmd: impl IntoIterator<Item = S>) -> Self {
        ExecOptions {
            cmd: cmd.into_iter().map(Into::into).collect(),
            tty: true,
            stdin: true,
            ..Default::default()
        }
    }
}

/// A chunk of output from an exec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecOutput {
    pub stream: LogStream,
    pub data: Vec<u8>,
}

impl From<LogOutput> for ExecOutput {
    fn from(o: LogOutput) -> Self {
        let (stream, data) = match o {
            LogOutput::StdOut { message } => (LogStream::Stdout, message),
            LogOutput::StdErr { message } => (LogStream::Stderr, message),
            LogOutput::StdIn { message } => (LogStream::Stdin, message),
            LogOutput::Console { message } => (LogStream::Console, message),
        };
        ExecOutput {
            stream,
            data: data.to_vec(),
        }
    }
}

pub type ExecInput = Pin<Box<dyn AsyncWrite + Send>>;
pub type ExecOutputStream = Pin<Box<dyn Stream<Item = Result<ExecOutput, EngineError>> + Send>>;

/// A running exec: write to `input`, read `output`, resize the TTY, ask for the exit code.
pub struct ExecSession {
    pub handle: ExecHandle,
    pub input: ExecInput,
    pub output: ExecOutputStream,
}

impl std::fmt::Debug for ExecSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecSession")
            .field("id", &self.handle.id)
            .finish_non_exhaustive()
    }
}

/// The part of an exec session that controls it (cheap to clone, usable after the
/// input and output were moved elsewhere).
#[derive(Debug, Clone)]
pub struct ExecHandle {
    id: String,
    engine: Engine,
}

impl ExecHandle {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Resizes the exec's TTY to `cols` x `rows`.
    pub async fn resize(&self, cols: u16, rows: u16) -> Result<(), EngineError> {
        if cols == 0 || rows == 0 {
            return Err(EngineError::invalid(
                "size",
                "cols and rows must be positive",
            ));
        }
        let options = q::ResizeExecOptions {
            w: i32::from(cols),
            h: i32::from(rows),
        };
        self.engine
            .docker
            .resize_exec(&self.id, options)
            .await
            .map_err(self.engine.err())
    }

    /// The exit code once the command ended, `None` while it runs.
    pub async fn exit_code(&self) -> Result<Option<i64>, EngineError> {
        let info = self
            .engine
            .docker
            .inspect_exec(&self.id)
            .await
            .map_err(self.engine.err())?;
        Ok(if info.running.unwrap_or(false) {
            None
        } else {
            info.exit_code
        })
    }
}

impl ExecSession {
    pub fn id(&self) -> &str {
        &self.handle.id
    }

    pub async fn resize(&self, cols: u16, rows: u16) -> Result<(), EngineError> {
        self.handle.resize(cols, rows).await
    }

    pub async fn exit_code(&self) -> Result<Option<i64>, EngineError> {
        self.handle.exit_code().await
    }
}

impl Engine {
    /// Starts `options.cmd` in `container` and attaches to it.
    pub async fn exec(
        &self,
        container: &str,
        options: &ExecOptions,
    ) -> Result<ExecSession, EngineError> {
        if options.cmd.is_empty() {
            return Err(EngineError::invalid("cmd", "empty command"));
        }
        let config = ExecConfig {
            cmd: Some(options.cmd.clone()),
            tty: Some(options.tty),
            attach_stdin: Some(options.stdin),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            env: (!options.env.is_empty()).then(|| options.env.clone()),
            working_dir: options.working_dir.clone(),
            user: options.user.clone(),
            privileged: options.privileged.then_some(true),
            ..Default::default()
        };
        let created = self
            .docker
            .create_exec(container, config)
            .await
            .map_err(self.err())?;
        let start = StartExecOptions {
            detach: false,
            tty: options.tty,
            output_capacity: None,
        };
        let started = self
            .docker
            .start_exec(&created.id, Some(start))
            .await
            .map_err(self.err())?;
        let StartExecResults::Attached { output, input } = started else {
            return Err(EngineError::Engine {
                status: None,
                message: "exec started detached".into(),
            });
        };
        let err = self.err();
        let output = output.map(move |r| r.map(ExecOutput::from).map_err(&err));
        Ok(ExecSession {
            handle: ExecHandle {
                id: created.id,
                engine: self.clone(),
            },
            input,
            output: Box::pin(output),
        })
    }
}
