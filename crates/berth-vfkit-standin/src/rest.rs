//! vfkit's REST API (`--restful-uri`; vfkit's `pkg/rest`): `GET /vm/state`, `POST /vm/state`
//! with `Stop`, `HardStop`, `Pause` or `Resume`, `GET /vm/inspect`. The VM's state follows
//! Virtualization.framework's `VZVirtualMachineState` and its `can*` rules; each change is one
//! QMP command to QEMU through a [`Control`]: Pause -> `stop`, Resume -> `cont`, Stop (a request
//! the guest may answer) -> `system_powerdown`, HardStop -> `quit`.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

/// Virtualization.framework's VM states (the ones this stand-in reaches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmState {
    Starting,
    Running,
    Paused,
    Stopping,
    Stopped,
    Error,
}

impl VmState {
    /// vz's `VirtualMachineState.String()`.
    pub fn name(self) -> &'static str {
        match self {
            VmState::Starting => "VirtualMachineStateStarting",
            VmState::Running => "VirtualMachineStateRunning",
            VmState::Paused => "VirtualMachineStatePaused",
            VmState::Stopping => "VirtualMachineStateStopping",
            VmState::Stopped => "VirtualMachineStateStopped",
            VmState::Error => "VirtualMachineStateError",
        }
    }

    fn can_start(self) -> bool {
        matches!(self, VmState::Stopped | VmState::Error)
    }
    fn can_pause(self) -> bool {
        self == VmState::Running
    }
    fn can_resume(self) -> bool {
        self == VmState::Paused
    }
    fn can_request_stop(self) -> bool {
        self == VmState::Running
    }
    fn can_stop(self) -> bool {
        matches!(self, VmState::Running | VmState::Paused | VmState::Error)
    }
}

/// Virtualization.framework's answer to a change the state does not allow.
pub const INVALID_TRANSITION: &str = "Invalid virtual machine state transition.";

/// What carries a state change out (QMP to QEMU; a recorder in tests).
pub trait Control: Send + Sync + 'static {
    fn execute(
        &self,
        qmp_command: &'static str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + '_>>;
}

/// The VM as the REST API sees it.
pub struct Machine {
    state: Mutex<VmState>,
    control: Box<dyn Control>,
    /// What `GET /vm/inspect` answers.
    inspect: Value,
}

impl Machine {
    pub fn new(control: Box<dyn Control>, inspect: Value) -> Arc<Machine> {
        Arc::new(Machine {
            state: Mutex::new(VmState::Starting),
            control,
            inspect,
        })
    }

    pub fn state(&self) -> VmState {
        *self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_state(&self, state: VmState) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = state;
    }

    /// vfkit's `ChangeState`: the QMP command for `change`, if the state allows it.
    pub async fn change(&self, change: &str) -> Result<(), String> {
        let state = self.state();
        let (allowed, command, after) = match change {
            "Pause" => (state.can_pause(), "stop", Some(VmState::Paused)),
            "Resume" => (state.can_resume(), "cont", Some(VmState::Running)),
            "Stop" => (state.can_request_stop(), "system_powerdown", None),
            "HardStop" => (state.can_stop(), "quit", Some(VmState::Stopped)),
            other => return Err(format!("invalid new VMState: {other}")),
        };
        if !allowed {
            return Err(INVALID_TRANSITION.into());
        }
        self.control.execute(command).await?;
        if let Some(after) = after {
            self.set_state(after);
        }
        Ok(())
    }

    fn state_reply(&self) -> Value {
        let s = self.state();
        json!({
            "state": s.name(),
            "canStart": s.can_start(),
            "canPause": s.can_pause(),
            "canResume": s.can_resume(),
            "canStop": s.can_request_stop(),
            "canHardStop": s.can_stop(),
        })
    }
}

/// Where the REST API listens (vfkit's `parseRestfulURI`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    None,
    Unix(PathBuf),
    Tcp(String),
}

/// vfkit's `NewEndpoint`, with its error texts.
pub fn endpoint(uri: &str) -> Result<Endpoint, String> {
    let Some((scheme, rest)) = uri.split_once("://").filter(|(s, _)| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    }) else {
        return Err(format!("parse {uri:?}: invalid URI for request"));
    };
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    match scheme {
        "none" => Ok(Endpoint::None),
        "unix" => {
            if path.is_empty() {
                return Err("invalid unix uri: missing path".into());
            }
            if !host.is_empty() {
                return Err("invalid unix uri: host is forbidden".into());
            }
            if path.len() > crate::machine::MAX_SOCKET_PATH {
                return Err("invalid unix uri: socket path length exceeds macOS limits".into());
            }
            Ok(Endpoint::Unix(PathBuf::from(path)))
        }
        "tcp" | "http" => {
            if host.is_empty() {
                return Err("invalid TCP uri: missing host".into());
            }
            if !path.is_empty() {
                return Err("invalid TCP uri: path is forbidden".into());
            }
            match host.rsplit_once(':') {
                Some((_, port)) if !port.is_empty() => Ok(Endpoint::Tcp(host.to_owned())),
                _ => Err("invalid TCP uri: missing port".into()),
            }
        }
        other => Err(format!("invalid scheme {other}")),
    }
}

fn reply(status: StatusCode, body: Option<Value>) -> Response<Full<Bytes>> {
    let mut builder = Response::builder().status(status);
    let bytes = match body {
        Some(v) => {
            builder = builder.header("content-type", "application/json; charset=utf-8");
            Bytes::from(v.to_string())
        }
        None => Bytes::new(),
    };
    builder
        .body(Full::new(bytes))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// gin's `ShouldBindJSON` into vfkit's `VMState` (`{"state": string}`), with Go's texts for
/// the common failures.
fn bind_state(body: &[u8]) -> Result<String, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err("EOF".into());
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    match value.get("state") {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!(
            "json: cannot unmarshal {} into Go struct field VMState.state of type string",
            match other {
                Value::Bool(_) => "bool",
                Value::Number(_) => "number",
                Value::Array(_) => "array",
                _ => "object",
            }
        )),
    }
}

/// One request, as vfkit's gin router answers it.
pub async fn answer(machine: &Machine, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    match (method, path.as_str()) {
        (Method::GET, "/vm/state") => reply(StatusCode::OK, Some(machine.state_reply())),
        (Method::GET, "/vm/inspect") => reply(StatusCode::OK, Some(machine.inspect.clone())),
        (Method::POST, "/vm/state") => {
            let body = match req.into_body().collect().await {
                Ok(b) => b.to_bytes(),
                Err(e) => {
                    return reply(
                        StatusCode::BAD_REQUEST,
                        Some(json!({ "error": e.to_string() })),
                    )
                }
            };
            let change = match bind_state(&body) {
                Ok(c) => c,
                Err(e) => return reply(StatusCode::BAD_REQUEST, Some(json!({ "error": e }))),
            };
            match machine.change(&change).await {
                Ok(()) => reply(StatusCode::ACCEPTED, None),
                Err(e) => {
                    eprintln!("level=error msg=\"failed action {change}: {e:?}\"");
                    reply(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        Some(json!({ "error": e })),
                    )
                }
            }
        }
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .header("content-type", "text/plain")
            .body(Full::new(Bytes::from_static(b"404 page not found")))
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()))),
    }
}

/// Serves HTTP/1.1 on each connection `accept` yields until it fails.
pub async fn serve<S, F, Fut>(machine: Arc<Machine>, mut accept: F)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::io::Result<S>>,
{
    while let Ok(stream) = accept().await {
        let machine = machine.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let machine = machine.clone();
                async move { Ok::<_, Infallible>(answer(&machine, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the QMP commands it is given.
    struct Recorder(Arc<Mutex<Vec<&'static str>>>);

    impl Control for Recorder {
        fn execute(
            &self,
            qmp_command: &'static str,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + '_>>
        {
            self.0.lock().unwrap().push(qmp_command);
            Box::pin(async { Ok(()) })
        }
    }

    fn machine() -> (Arc<Machine>, Arc<Mutex<Vec<&'static str>>>) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let m = Machine::new(Box::new(Recorder(log.clone())), json!({"cpus": 1}));
        (m, log)
    }

    #[tokio::test]
    async fn the_state_machine_follows_virtualization_framework() {
        let (m, log) = machine();
        // Starting: nothing but a hard stop is refused until QEMU runs.
        assert_eq!(m.change("Pause").await.unwrap_err(), INVALID_TRANSITION);
        m.set_state(VmState::Running);
        assert_eq!(m.change("Resume").await.unwrap_err(), INVALID_TRANSITION);
        m.change("Pause").await.unwrap();
        assert_eq!(m.state(), VmState::Paused);
        assert_eq!(m.change("Pause").await.unwrap_err(), INVALID_TRANSITION);
        assert_eq!(m.change("Stop").await.unwrap_err(), INVALID_TRANSITION);
        m.change("Resume").await.unwrap();
        assert_eq!(m.state(), VmState::Running);
        // A stop request leaves the state to the guest.
        m.change("Stop").await.unwrap();
        assert_eq!(m.state(), VmState::Running);
        m.change("HardStop").await.unwrap();
        assert_eq!(m.state(), VmState::Stopped);
        assert_eq!(m.change("HardStop").await.unwrap_err(), INVALID_TRANSITION);
        assert_eq!(
            m.change("Reboot").await.unwrap_err(),
            "invalid new VMState: Reboot"
        );
        assert_eq!(
            *log.lock().unwrap(),
            ["stop", "cont", "system_powerdown", "quit"]
        );
    }

    #[test]
    fn the_state_reply_has_vfkits_fields() {
        let (m, _) = machine();
        m.set_state(VmState::Paused);
        assert_eq!(
            m.state_reply(),
            json!({"state": "VirtualMachineStatePaused", "canStart": false, "canPause": false,
                   "canResume": true, "canStop": false, "canHardStop": true})
        );
    }

    #[test]
    fn endpoints_are_checked_as_vfkit_checks_them() {
        assert_eq!(endpoint("none://"), Ok(Endpoint::None));
        assert_eq!(
            endpoint("unix:///tmp/vfkit.sock"),
            Ok(Endpoint::Unix("/tmp/vfkit.sock".into()))
        );
        assert_eq!(
            endpoint("tcp://localhost:8081"),
            Ok(Endpoint::Tcp("localhost:8081".into()))
        );
        let long = format!("unix:///{}", "x".repeat(120));
        for (uri, want) in [
            ("bogus", "parse \"bogus\": invalid URI for request"),
            ("ftp://h:1", "invalid scheme ftp"),
            ("unix://", "invalid unix uri: missing path"),
            ("unix://host/x.sock", "invalid unix uri: host is forbidden"),
            (
                long.as_str(),
                "invalid unix uri: socket path length exceeds macOS limits",
            ),
            ("tcp://", "invalid TCP uri: missing host"),
            ("tcp://localhost", "invalid TCP uri: missing port"),
            ("tcp://localhost:1/x", "invalid TCP uri: path is forbidden"),
        ] {
            assert_eq!(endpoint(uri).unwrap_err(), want, "{uri}");
        }
    }

    #[tokio::test]
    async fn http_requests_get_vfkits_answers() {
        let (m, log) = machine();
        m.set_state(VmState::Running);
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("vfkit.sock");
        let listener = Arc::new(tokio::net::UnixListener::bind(&sock).unwrap());
        tokio::spawn(serve(m.clone(), move || {
            let listener = listener.clone();
            async move { listener.accept().await.map(|(s, _)| s) }
        }));
        // Berth's own client, against this server.
        let client = berth_vm::vfkit::VfkitClient::new(&sock);
        let state = client.state().await.unwrap();
        assert_eq!(state.kind(), berth_vm::vfkit::VfkitState::Running);
        client
            .change_state(berth_vm::vfkit::StateChange::Pause)
            .await
            .unwrap();
        assert_eq!(m.state(), VmState::Paused);
        let err = client
            .change_state(berth_vm::vfkit::StateChange::Pause)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("500"), "{err}");
        assert_eq!(*log.lock().unwrap(), ["stop"]);
        assert_eq!(bind_state(b"").unwrap_err(), "EOF");
        assert_eq!(
            bind_state(br#"{"state": 3}"#).unwrap_err(),
            "json: cannot unmarshal number into Go struct field VMState.state of type string"
        );
    }
}
