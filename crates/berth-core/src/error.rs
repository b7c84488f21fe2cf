//! Error codes that cross every boundary (control socket, CLI `--json`, the UI) so that a caller
//! can branch on what happened without reading a message.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of failure happened. Stable strings (`engine_unreachable`, ...) on the wire.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// No engine answers at the endpoint (socket missing, connection refused, timed out).
    EngineUnreachable,
    /// The object named does not exist.
    NotFound,
    /// The request conflicts with the object's state (name in use, container running, ...).
    Conflict,
    /// The request itself is wrong; the message names the field.
    InvalidInput,
    /// Credentials are missing or were refused.
    Unauthorized,
    /// The operation did not finish before its deadline.
    Timeout,
    /// The settings file cannot be used; the message names the field.
    InvalidSettings,
    /// The hypervisor or the guest failed.
    VmFailed,
    /// A program Berth runs on the host is not installed; the message names it and how to
    /// install it.
    MissingTool,
    /// This platform or build cannot do that.
    Unsupported,
    /// A file or socket on the host could not be read or written.
    Io,
    /// The engine refused the request for another reason; the message is the engine's.
    Engine,
    /// A bug in Berth.
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::EngineUnreachable => "engine_unreachable",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Timeout => "timeout",
            ErrorCode::InvalidSettings => "invalid_settings",
            ErrorCode::VmFailed => "vm_failed",
            ErrorCode::MissingTool => "missing_tool",
            ErrorCode::Unsupported => "unsupported",
            ErrorCode::Io => "io",
            ErrorCode::Engine => "engine",
            ErrorCode::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The shape every error takes when it leaves Rust: `{ "code": "...", "message": "..." }`.
/// `message` is the whole error chain, printed once.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// Builds an `ApiError` from any error, joining its `source()` chain with `: `.
    pub fn from_error(code: ErrorCode, error: &(dyn std::error::Error + 'static)) -> Self {
        ApiError::new(code, chain_message(error))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ApiError {}

/// `outer: inner: innermost`, skipping a source whose text the outer message already ends with.
pub fn chain_message(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = inner.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_stable_strings() {
        for code in [
            ErrorCode::EngineUnreachable,
            ErrorCode::NotFound,
            ErrorCode::Conflict,
            ErrorCode::InvalidInput,
            ErrorCode::Unauthorized,
            ErrorCode::Timeout,
            ErrorCode::InvalidSettings,
            ErrorCode::VmFailed,
            ErrorCode::MissingTool,
            ErrorCode::Unsupported,
            ErrorCode::Io,
            ErrorCode::Engine,
            ErrorCode::Internal,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: ErrorCode = serde_json::from_str(&json).unwrap();
            assert_eq!(back, code);
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("cannot reach the engine")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn chain_message_joins_sources() {
        let err = Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused",
        ));
        let api = ApiError::from_error(ErrorCode::EngineUnreachable, &err);
        assert_eq!(api.message, "cannot reach the engine: connection refused");
        assert_eq!(
            serde_json::to_value(&api).unwrap(),
            serde_json::json!({"code": "engine_unreachable", "message": "cannot reach the engine: connection refused"})
        );
    }
}
