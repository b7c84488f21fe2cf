//! A client for vfkit's REST API (`--restful-uri unix:///...`): the VM's state and graceful or
//! hard stop. The API is vfkit's `doc/usage.md` "RESTful API":
//! `GET /vm/state` -> `{"state": "...", "canStop": bool, ...}`, `POST /vm/state {"state": "Stop"}`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};

/// What `GET /vm/state` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmStateReply {
    /// vfkit's name for the state, e.g. `VirtualMachineStateRunning`.
    pub state: String,
    #[serde(default)]
    pub can_start: bool,
    #[serde(default)]
    pub can_pause: bool,
    #[serde(default)]
    pub can_resume: bool,
    #[serde(default)]
    pub can_stop: bool,
    #[serde(default)]
    pub can_hard_stop: bool,
}

/// vfkit's VM states (Virtualization.framework's `VZVirtualMachineState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VfkitState {
    Stopped,
    Running,
    Paused,
    Error,
    Starting,
    Pausing,
    Resuming,
    Stopping,
    Unknown,
}

impl VmStateReply {
    pub fn kind(&self) -> VfkitState {
        let name = self
            .state
            .strip_prefix("VirtualMachineState")
            .unwrap_or(&self.state);
        match name {
            "Stopped" => VfkitState::Stopped,
            "Running" => VfkitState::Running,
            "Paused" => VfkitState::Paused,
            "Error" => VfkitState::Error,
            "Starting" => VfkitState::Starting,
            "Pausing" => VfkitState::Pausing,
            "Resuming" => VfkitState::Resuming,
            "Stopping" => VfkitState::Stopping,
            _ => VfkitState::Unknown,
        }
    }
}

/// A state change vfkit accepts on `POST /vm/state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StateChange {
    /// Ask the guest to power off (ACPI-like request).
    Stop,
    /// End the VM at once.
    HardStop,
    Pause,
    Resume,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestError {
    #[error("cannot reach vfkit's REST socket {path:?}")]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("HTTP exchange with vfkit failed")]
    Http(#[source] hyper::Error),
    #[error("vfkit answered {status} to {what}: {body}")]
    Status {
        what: &'static str,
        status: StatusCode,
        body: String,
    },
    #[error("vfkit's answer to {what} is not what its API documents")]
    Decode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("vfkit did not answer {what} within {timeout:?}")]
    Timeout {
        what: &'static str,
        timeout: Duration,
    },
}

/// Talks to one vfkit over its unix socket. Each call is one short HTTP/1.1 exchange.
#[derive(Debug, Clone)]
pub struct VfkitClient {
    socket: PathBuf,
    timeout: Duration,
}

impl VfkitClient {
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        VfkitClient {
            socket: socket.into(),
            timeout: Duration::from_secs(5),
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    pub async fn state(&self) -> Result<VmStateReply, RestError> {
        let body = self.exchange("GET /vm/state", Method::GET, None).await?;
        serde_json::from_slice(&body).map_err(|source| RestError::Decode {
            what: "GET /vm/state",
            source,
        })
    }

    pub async fn change_state(&self, change: StateChange) -> Result<(), RestError> {
        #[derive(Serialize)]
        struct Body {
            state: StateChange,
        }
        let body =
            serde_json::to_vec(&Body { state: change }).map_err(|source| RestError::Decode {
                what: "POST /vm/state",
                source,
            })?;
        self.exchange("POST /vm/state", Method::POST, Some(body))
            .await
            .map(drop)
    }

    async fn exchange(
        &self,
        what: &'static str,
        method: Method,
        body: Option<Vec<u8>>,
    ) -> Result<Bytes, RestError> {
        tokio::time::timeout(self.timeout, self.exchange_now(what, method, body))
            .await
            .map_err(|_| RestError::Timeout {
                what,
                timeout: self.timeout,
            })?
    }

    async fn exchange_now(
        &self,
        what: &'static str,
        method: Method,
        body: Option<Vec<u8>>,
    ) -> Result<Bytes, RestError> {
        let stream = connect(&self.socket)
            .await
            .map_err(|source| RestError::Connect {
                path: self.socket.clone(),
                source,
            })?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(RestError::Http)?;
        tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri("/vm/state")
            .header(hyper::header::HOST, "vfkit");
        if body.is_some() {
            request = request.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .expect("a request with a static path and known headers is valid");
        let response = sender
            .send_request(request)
            .await
            .map_err(RestError::Http)?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(RestError::Http)?
            .to_bytes();
        if !status.is_success() {
            return Err(RestError::Status {
                what,
                status,
                body: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
        Ok(bytes)
    }
}

/// vfkit's REST API listens on a unix socket (vfkit is the macOS backend).
#[cfg(unix)]
async fn connect(socket: &Path) -> std::io::Result<tokio::net::UnixStream> {
    tokio::net::UnixStream::connect(socket).await
}

#[cfg(not(unix))]
async fn connect(socket: &Path) -> std::io::Result<tokio::io::DuplexStream> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        format!("{}: no unix sockets on this OS", socket.display()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(unix)]
    use hyper::service::service_fn;
    #[cfg(unix)]
    use hyper::Response;
    #[cfg(unix)]
    use std::convert::Infallible;
    #[cfg(unix)]
    use std::sync::{Arc, Mutex};

    /// A stand-in for vfkit that serves its documented API on a unix socket and records what
    /// it was asked.
    #[cfg(unix)]
    struct FakeVfkit {
        socket: PathBuf,
        state: Arc<Mutex<String>>,
        posted: Arc<Mutex<Vec<String>>>,
        _dir: tempfile::TempDir,
    }

    #[cfg(unix)]
    impl FakeVfkit {
        fn start() -> FakeVfkit {
            let dir = tempfile::tempdir().unwrap();
            let socket = dir.path().join("vfkit.sock");
            let listener = tokio::net::UnixListener::bind(&socket).unwrap();
            let state = Arc::new(Mutex::new("VirtualMachineStateRunning".to_owned()));
            let posted = Arc::new(Mutex::new(Vec::new()));
            let (s, p) = (state.clone(), posted.clone());
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    let (s, p) = (s.clone(), p.clone());
                    tokio::spawn(async move {
                        let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                            let (s, p) = (s.clone(), p.clone());
                            async move { Ok::<_, Infallible>(answer(req, s, p).await) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
            FakeVfkit {
                socket,
                state,
                posted,
                _dir: dir,
            }
        }
    }

    #[cfg(unix)]
    async fn answer(
        req: Request<hyper::body::Incoming>,
        state: Arc<Mutex<String>>,
        posted: Arc<Mutex<Vec<String>>>,
    ) -> Response<Full<Bytes>> {
        let reply = |status: u16, body: String| {
            Response::builder()
                .status(status)
                .body(Full::new(Bytes::from(body)))
                .unwrap()
        };
        if req.uri().path() != "/vm/state" {
            return reply(404, "not found".into());
        }
        match *req.method() {
            Method::GET => {
                let current = state.lock().unwrap().clone();
                let running = current.ends_with("Running");
                reply(
                    200,
                    serde_json::json!({
                        "state": current, "canStart": !running, "canPause": running,
                        "canResume": false, "canStop": running, "canHardStop": running
                    })
                    .to_string(),
                )
            }
            Method::POST => {
                let body = req.into_body().collect().await.unwrap().to_bytes();
                let value: serde_json::Value = match serde_json::from_slice(&body) {
                    Ok(v) => v,
                    Err(_) => return reply(400, "bad json".into()),
                };
                let Some(change) = value["state"].as_str() else {
                    return reply(400, "no state".into());
                };
                posted.lock().unwrap().push(change.to_owned());
                match change {
                    "Stop" | "HardStop" => {
                        *state.lock().unwrap() = "VirtualMachineStateStopped".into()
                    }
                    "Pause" => *state.lock().unwrap() = "VirtualMachineStatePaused".into(),
                    "Resume" => *state.lock().unwrap() = "VirtualMachineStateRunning".into(),
                    _ => return reply(400, format!("invalid state {change}")),
                }
                reply(200, String::new())
            }
            _ => reply(405, "method not allowed".into()),
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn reads_state_and_stops_the_vm() {
        let vfkit = FakeVfkit::start();
        let client = VfkitClient::new(&vfkit.socket);
        let state = client.state().await.unwrap();
        assert_eq!(state.kind(), VfkitState::Running);
        assert!(state.can_stop && state.can_hard_stop && !state.can_start);

        client.change_state(StateChange::Stop).await.unwrap();
        assert_eq!(client.state().await.unwrap().kind(), VfkitState::Stopped);
        client.change_state(StateChange::HardStop).await.unwrap();
        assert_eq!(*vfkit.posted.lock().unwrap(), ["Stop", "HardStop"]);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn pause_and_resume_are_sent_by_their_api_names() {
        let vfkit = FakeVfkit::start();
        let client = VfkitClient::new(&vfkit.socket);
        client.change_state(StateChange::Pause).await.unwrap();
        assert_eq!(client.state().await.unwrap().kind(), VfkitState::Paused);
        client.change_state(StateChange::Resume).await.unwrap();
        assert_eq!(*vfkit.state.lock().unwrap(), "VirtualMachineStateRunning");
    }

    #[tokio::test]
    async fn a_missing_socket_is_a_connect_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = VfkitClient::new(dir.path().join("absent.sock"))
            .state()
            .await
            .unwrap_err();
        assert!(matches!(err, RestError::Connect { .. }), "{err}");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_silent_vfkit_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("silent.sock");
        let _listener = tokio::net::UnixListener::bind(&socket).unwrap();
        let mut client = VfkitClient::new(&socket);
        client.timeout = Duration::from_millis(200);
        let err = client.state().await.unwrap_err();
        assert!(matches!(err, RestError::Timeout { .. }), "{err}");
    }

    #[test]
    fn state_names_map_with_or_without_the_prefix() {
        let reply = |s: &str| VmStateReply {
            state: s.into(),
            can_start: false,
            can_pause: false,
            can_resume: false,
            can_stop: false,
            can_hard_stop: false,
        };
        assert_eq!(
            reply("VirtualMachineStateStopping").kind(),
            VfkitState::Stopping
        );
        assert_eq!(reply("Running").kind(), VfkitState::Running);
        assert_eq!(reply("Weird").kind(), VfkitState::Unknown);
    }

    #[test]
    fn a_reply_with_only_a_state_decodes() {
        let reply: VmStateReply =
            serde_json::from_str(r#"{"state":"VirtualMachineStateRunning"}"#).unwrap();
        assert_eq!(reply.kind(), VfkitState::Running);
        assert!(serde_json::from_str::<VmStateReply>("[]").is_err());
    }
}
