//! One error type for everything said to an engine, with a code the UI can branch on.

use bollard::errors::Error as BollardError;

pub use berth_core::ErrorCode;

/// An error from talking to a Docker engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// Nothing answered at the endpoint (no socket, connection refused, dropped connection).
    #[error("Engine unreachable at {endpoint}")]
    Unreachable {
        endpoint: String,
        #[source]
        source: Option<BollardError>,
    },
    /// A remote engine did not answer: ssh or TCP could not reach it, or it did not answer
    /// within its deadline; `detail` is what ssh or the network said.
    #[error("Remote engine unreachable at {endpoint}: {detail}")]
    RemoteUnreachable { endpoint: String, detail: String },
    /// The ssh server refused every key Berth's ssh offered (or wanted a password).
    #[error("SSH refused the login to {endpoint} (wrong or missing key): {detail}")]
    SshAuthRefused { endpoint: String, detail: String },
    /// The ssh server's host key is not the one known_hosts has, or is unknown.
    #[error("SSH did not accept the host key of {endpoint}: {detail}")]
    SshHostKeyRejected { endpoint: String, detail: String },
    /// The ssh login worked but the remote has no `docker` command to reach its engine.
    #[error("No docker on the remote {endpoint}: {detail}")]
    NoDockerOnRemote { endpoint: String, detail: String },
    /// The TLS handshake with a `tcp://` engine failed: an unknown CA, a certificate for
    /// another host, or the engine refusing Berth's client certificate.
    #[error("TLS with {endpoint} failed: {reason}")]
    TlsRefused { endpoint: String, reason: String },
    /// The engine answered 404.
    #[error("Not found: {message}")]
    NotFound { message: String },
    /// The engine answered 409 (name in use, container running, image in use, ...).
    #[error("Conflict: {message}")]
    Conflict { message: String },
    /// Input rejected before or by the engine; `field` names what was wrong.
    #[error("Invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String },
    /// A request did not complete within its deadline.
    #[error("Timed out after {seconds} s: {operation}")]
    Timeout { operation: String, seconds: u64 },
    /// The engine or a registry refused our credentials.
    #[error("Unauthorized: {message}")]
    Unauthorized { message: String },
    /// Any other answer from the engine (a 500, an error inside a progress stream, ...).
    #[error("Engine error: {message}")]
    Engine {
        status: Option<u16>,
        message: String,
    },
    /// Reading or writing a local file (context store, build context) failed.
    #[error("Cannot access {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl EngineError {
    /// The stable code the UI branches on.
    pub fn code(&self) -> ErrorCode {
        match self {
            EngineError::Unreachable { .. } | EngineError::RemoteUnreachable { .. } => {
                ErrorCode::EngineUnreachable
            }
            EngineError::SshAuthRefused { .. }
            | EngineError::SshHostKeyRejected { .. }
            | EngineError::TlsRefused { .. } => ErrorCode::Unauthorized,
            // A program Berth needs is not installed, on the remote this time.
            EngineError::NoDockerOnRemote { .. } => ErrorCode::MissingTool,
            EngineError::NotFound { .. } => ErrorCode::NotFound,
            EngineError::Conflict { .. } => ErrorCode::Conflict,
            EngineError::InvalidInput { .. } => ErrorCode::InvalidInput,
            EngineError::Timeout { .. } => ErrorCode::Timeout,
            EngineError::Unauthorized { .. } => ErrorCode::Unauthorized,
            EngineError::Engine { .. } => ErrorCode::Engine,
            EngineError::Io { .. } => ErrorCode::Io,
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        EngineError::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        EngineError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    /// An error inside a progress stream (pull, push, build): the engine's words only, its
    /// status code lost by then.
    pub(crate) fn from_stream(message: String) -> Self {
        if is_registry_auth_failure(&message) {
            return EngineError::Unauthorized { message };
        }
        EngineError::Engine {
            status: None,
            message,
        }
    }

    /// Map a bollard error; `endpoint` names where we were talking to, for unreachable errors.
    pub(crate) fn from_bollard(endpoint: &str, err: BollardError) -> Self {
        match err {
            BollardError::DockerResponseServerError {
                status_code,
                message,
            } => from_status(status_code, message),
            BollardError::RequestTimeoutError => EngineError::Timeout {
                operation: "engine request".into(),
                seconds: crate::REQUEST_TIMEOUT.as_secs(),
            },
            BollardError::DockerStreamError { error } => EngineError::from_stream(error),
            e @ (BollardError::IOError { .. }
            | BollardError::HyperLegacyError { .. }
            | BollardError::HyperResponseError { .. }
            | BollardError::SocketNotFoundError(_)) => EngineError::Unreachable {
                endpoint: endpoint.to_string(),
                source: Some(e),
            },
            other => EngineError::Engine {
                status: None,
                message: other.to_string(),
            },
        }
    }
}

fn from_status(status_code: u16, message: String) -> EngineError {
    match status_code {
        404 => EngineError::NotFound { message },
        409 => EngineError::Conflict { message },
        401 | 403 => EngineError::Unauthorized { message },
        500 if is_registry_auth_failure(&message) => EngineError::Unauthorized { message },
        400 => EngineError::InvalidInput {
            field: "request".into(),
            reason: message,
        },
        _ => EngineError::Engine {
            status: Some(status_code),
            message,
        },
    }
}

/// A registry refusing the credentials of a pull or push. dockerd (20.10 and later) answers those
/// with a 500, or an error inside the progress stream, that carries only the registry's words, so
/// the words are all there is to go on: the distribution `UNAUTHORIZED` error, and the engine's
/// own message when it had no credentials to send to a registry that asked for them.
fn is_registry_auth_failure(message: &str) -> bool {
    const MARKERS: [&str; 4] = [
        "no basic auth credentials",
        "unauthorized: ",
        "authentication required",
        "incorrect username or password",
    ];
    MARKERS.iter().any(|m| message.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status_code: u16) -> BollardError {
        BollardError::DockerResponseServerError {
            status_code,
            message: "m".into(),
        }
    }

    #[test]
    fn status_codes_map_to_error_codes() {
        let cases = [
            (404, ErrorCode::NotFound),
            (409, ErrorCode::Conflict),
            (401, ErrorCode::Unauthorized),
            (403, ErrorCode::Unauthorized),
            (400, ErrorCode::InvalidInput),
            (500, ErrorCode::Engine),
        ];
        for (status, code) in cases {
            assert_eq!(EngineError::from_bollard("e", server(status)).code(), code);
        }
    }

    #[test]
    fn registry_auth_failures_in_a_500_or_a_stream_are_unauthorized() {
        let refused = [
            r#"Head "http://127.0.0.1:5000/v2/team/app/manifests/1": no basic auth credentials"#,
            r#"Get "http://127.0.0.1:5000/v2/": unauthorized: authentication required"#,
            "unauthorized: incorrect username or password",
        ];
        for message in refused {
            let from_500 = BollardError::DockerResponseServerError {
                status_code: 500,
                message: message.into(),
            };
            assert_eq!(
                EngineError::from_bollard("e", from_500).code(),
                ErrorCode::Unauthorized,
                "{message}"
            );
            let in_stream = BollardError::DockerStreamError {
                error: message.into(),
            };
            assert_eq!(
                EngineError::from_bollard("e", in_stream).code(),
                ErrorCode::Unauthorized,
                "{message}"
            );
        }
        let other =
            r#"Head "http://127.0.0.1:5000/v2/app/manifests/1": dial tcp: connection refused"#;
        let err = BollardError::DockerResponseServerError {
            status_code: 500,
            message: other.into(),
        };
        assert_eq!(
            EngineError::from_bollard("e", err).code(),
            ErrorCode::Engine
        );
    }

    #[test]
    fn missing_socket_is_unreachable_and_names_endpoint() {
        let err = EngineError::from_bollard(
            "unix:///nope.sock",
            BollardError::SocketNotFoundError("/nope.sock".into()),
        );
        assert_eq!(err.code(), ErrorCode::EngineUnreachable);
        assert_eq!(err.to_string(), "Engine unreachable at unix:///nope.sock");
    }

    #[test]
    fn request_timeout_is_timeout() {
        let err = EngineError::from_bollard("e", BollardError::RequestTimeoutError);
        assert_eq!(err.code(), ErrorCode::Timeout);
    }
}
