//! The control protocol: JSON lines over the daemon's unix socket (0600, in the 0700 run dir).
//!
//! A client writes one [`Request`] line. Every request but `watch` gets one [`Reply`] line and the
//! connection ends. `watch` gets the current [`Reply::Status`], then one [`Reply::State`] line per
//! transition of the engine state machine, and a fresh [`Reply::Status`] whenever the port
//! warnings change, until the client hangs up.

use std::path::PathBuf;

use berth_core::{ApiError, EngineState};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Boot the VM and wait until the engine answers. Replies with the status when `Running`.
    Start,
    /// Stop the engine gracefully (with a deadline, then by force).
    Stop,
    Restart,
    /// Resource Saver by hand: pause the VM now (connections wake it).
    Pause,
    /// Resume a paused VM ("Wake now").
    Wake,
    Status,
    /// Stream every state transition.
    Watch,
    /// Stop the engine, then end the daemon.
    Quit,
}

// One reply per request line: boxing the status would save nothing worth its noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Status { status: DaemonStatus },
    State { state: EngineState },
    Error { error: ApiError },
}

/// What `berth status` shows about the engine the daemon owns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonStatus {
    pub state: EngineState,
    pub daemon_pid: u32,
    /// `unix:///.../docker.sock`
    pub endpoint: String,
    pub vm: Option<VmInfo>,
    pub agent: Option<AgentSummary>,
    /// How long the last start took, phase by phase (once the engine answered).
    #[serde(default)]
    pub boot: Option<berth_core::boot::BootTimeline>,
    /// Published ports that could not be published on the host (taken, or not allowed),
    /// one per binding, until the port is free or the container stops.
    #[serde(default)]
    pub port_warnings: Vec<berth_core::ports::PortWarning>,
    /// What keeps a running engine awake, for Resource Saver (`None` while not running).
    #[serde(default)]
    pub idle: Option<IdleInfo>,
}

/// Resource Saver's view of a running engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdleInfo {
    /// Connections to the engine socket and published ports open now (each keeps it awake).
    pub open_connections: usize,
    /// Seconds since the last one closed, while none is open.
    pub idle_secs: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmInfo {
    pub pid: Option<u32>,
    /// The backend (`vm.backend`) as it runs: `qemu (tcg)`, `qemu (kvm)`, `vfkit`, `wsl2 (berth)`.
    pub hypervisor: String,
    /// The byte stream the link to the guest agent runs on (`vm.link` resolved).
    #[serde(default)]
    pub link: Option<berth_core::settings::LinkKind>,
    pub cpus: u32,
    pub memory_mib: u64,
    pub disk_gib: u64,
    pub image_hash: String,
    pub docker_version: Option<String>,
    pub console_log: PathBuf,
    /// The host's memory the VM holds now (its process's resident set), where one process of
    /// Berth's holds it (QEMU, vfkit; not WSL).
    #[serde(default)]
    pub host_memory_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentSummary {
    pub version: String,
    pub protocol: u16,
}

/// One line of JSON, newline-terminated.
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    let mut line = serde_json::to_vec(msg).unwrap_or_else(|e| {
        // Our own types always serialize; keep the wire well-formed regardless.
        format!(r#"{{"reply":"error","error":{{"code":"internal","message":"{e}"}}}}"#).into_bytes()
    });
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_core::{ErrorCode, StartPhase};

    #[test]
    fn requests_are_tagged_by_op() {
        assert_eq!(encode(&Request::Start), b"{\"op\":\"start\"}\n");
        let back: Request = serde_json::from_str(r#"{"op":"watch"}"#).unwrap();
        assert_eq!(back, Request::Watch);
        assert!(serde_json::from_str::<Request>(r#"{"op":"format_disk"}"#).is_err());
    }

    #[test]
    fn replies_round_trip() {
        let replies = [
            Reply::State {
                state: EngineState::Starting {
                    phase: StartPhase::WaitingForAgent,
                },
            },
            Reply::Error {
                error: ApiError::new(ErrorCode::VmFailed, "QEMU exited"),
            },
            Reply::Status {
                status: DaemonStatus {
                    state: EngineState::Stopped,
                    daemon_pid: 7,
                    endpoint: "unix:///r/docker.sock".into(),
                    vm: Some(VmInfo {
                        pid: Some(9),
                        hypervisor: "qemu (tcg)".into(),
                        link: Some(berth_core::settings::LinkKind::Vsock),
                        cpus: 2,
                        memory_mib: 2048,
                        disk_gib: 64,
                        image_hash: "h".into(),
                        docker_version: None,
                        console_log: "/l/vm-console.log".into(),
                        host_memory_bytes: Some(812 << 20),
                    }),
                    agent: None,
                    boot: Some(berth_core::boot::BootTimeline {
                        guest: berth_core::boot::parse_boot_marks("kernel 1.5\ndockerd 30.2\n"),
                        link_up_ms: 6_000,
                        engine_ready_ms: 33_000,
                    }),
                    port_warnings: vec![berth_core::ports::PortWarning {
                        container: "c0ffee".into(),
                        host_ip: std::net::Ipv4Addr::LOCALHOST.into(),
                        host_port: 8080,
                        protocol: berth_core::ports::Protocol::Udp,
                        in_use: true,
                        message: "port 127.0.0.1:8080 is already in use".into(),
                    }],
                    idle: None,
                },
            },
        ];
        for reply in replies {
            let line = encode(&reply);
            assert_eq!(line.last(), Some(&b'\n'));
            let back: Reply = serde_json::from_slice(&line).unwrap();
            assert_eq!(back, reply);
        }
        let json = serde_json::to_value(Reply::State {
            state: EngineState::Stopping,
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"reply": "state", "state": {"state": "stopping"}})
        );
    }

    #[test]
    fn a_status_without_port_warnings_still_reads() {
        let status: DaemonStatus = serde_json::from_value(serde_json::json!({
            "state": {"state": "stopped"}, "daemonPid": 1, "endpoint": "unix:///s",
            "vm": null, "agent": null
        }))
        .unwrap();
        assert!(status.port_warnings.is_empty());
        let warning = serde_json::json!({
            "container": "c", "hostIp": "127.0.0.1", "hostPort": 53, "protocol": "udp",
            "inUse": true, "message": "taken"
        });
        let status: DaemonStatus = serde_json::from_value(serde_json::json!({
            "state": {"state": "stopped"}, "daemonPid": 1, "endpoint": "unix:///s",
            "vm": null, "agent": null, "portWarnings": [warning]
        }))
        .unwrap();
        assert_eq!(status.port_warnings[0].host_port, 53);
    }
}
