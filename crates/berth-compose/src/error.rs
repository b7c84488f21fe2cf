//! Errors of the compose engine.

use std::path::PathBuf;

/// An error found while loading a compose project. Messages name the file, the line and the
/// field, as `file:line: field: message`.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum LoadError {
    #[error("{}:{line}: {message}", file.display())]
    Syntax {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}:{line}: {field}: {message}", file.display())]
    Invalid {
        file: PathBuf,
        line: usize,
        field: String,
        message: String,
    },
    #[error("{}: {message}", file.display())]
    File { file: PathBuf, message: String },
    #[error("{message}")]
    Project { message: String },
}

impl LoadError {
    /// The file the error is in, when it is about one file.
    pub fn file(&self) -> Option<&std::path::Path> {
        match self {
            Self::Syntax { file, .. } | Self::Invalid { file, .. } | Self::File { file, .. } => {
                Some(file)
            }
            Self::Project { .. } => None,
        }
    }

    /// The 1-based line the error is on, when known (for an editor or the dashboard).
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Syntax { line, .. } | Self::Invalid { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The attribute path (`services.web.ports[0]`), when the error is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    pub(crate) fn at(pos: &crate::yaml::Pos, field: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            file: pos.file.to_path_buf(),
            line: pos.line,
            field: field.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn project(message: impl Into<String>) -> Self {
        Self::Project {
            message: message.into(),
        }
    }
}

/// Any error of the compose engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("engine request failed: {context}")]
    Engine {
        context: String,
        #[source]
        source: berth_engine::EngineError,
    },
    #[error(transparent)]
    Api(#[from] berth_engine::EngineError),
    #[error("service {service:?}: {message}")]
    Service { service: String, message: String },
    #[error("{message}")]
    Usage { message: String },
    #[error("i/o failed: {context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn engine(
        context: impl Into<String>,
    ) -> impl FnOnce(berth_engine::EngineError) -> Self {
        let context = context.into();
        move |source| Self::Engine { context, source }
    }

    pub(crate) fn service(service: &str, message: impl Into<String>) -> Self {
        Self::Service {
            service: service.to_string(),
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::Usage {
            message: message.into(),
        }
    }

    /// A stable code the UI can branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Load(_) => "compose_invalid",
            Self::Engine { .. } | Self::Api(_) => "engine_error",
            Self::Service { .. } => "compose_service_failed",
            Self::Usage { .. } => "usage",
            Self::Io { .. } => "io",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
