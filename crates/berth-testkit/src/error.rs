use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong while setting up or using the harness.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    #[error("could not run `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status})\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}")]
    Command {
        command: String,
        status: String,
        stdout: String,
        stderr: String,
    },
    #[error(
        "timed out after {waited:?} waiting for {what}{}",
        .last.as_ref().map(|seen| format!("; last saw: {seen}")).unwrap_or_default()
    )]
    Timeout {
        what: String,
        waited: Duration,
        /// The last observation a check reported, when it could say one.
        last: Option<String>,
    },
    #[error("{what} did not become ready: {reason}\n--- tail of {log} ---\n{log_tail}")]
    NotReady {
        what: String,
        reason: String,
        log: PathBuf,
        log_tail: String,
    },
    #[error("I/O error on {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no free {what} after {attempts} attempts")]
    Exhausted { what: String, attempts: u32 },
}

impl HarnessError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> HarnessError {
        let path = path.into();
        move |source| HarnessError::Io { path, source }
    }
}
