//! Published ports as every layer names them: the forwarder on the host, the daemon's status
//! and the dashboard.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The forwarder's protocol (the engine's port summaries have their own `Protocol` type, so
/// the window knows this one as `PortProtocol`).
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "PortProtocol"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

/// What the user sees about a published port that could not be published: a typed value the
/// daemon keeps in its status (`berth status`, the dashboard), not just a log line.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortWarning {
    /// The container that publishes the port (its id).
    pub container: String,
    pub host_ip: IpAddr,
    pub host_port: u16,
    pub protocol: Protocol,
    /// Something else on the host holds the port.
    pub in_use: bool,
    /// One sentence for the user, with what to do.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_reaches_the_window_in_its_wire_shape() {
        let warning = PortWarning {
            container: "abc123".into(),
            host_ip: std::net::Ipv4Addr::LOCALHOST.into(),
            host_port: 8080,
            protocol: Protocol::Udp,
            in_use: true,
            message: "port 127.0.0.1:8080 is already in use".into(),
        };
        let json = serde_json::to_value(&warning).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "container": "abc123", "hostIp": "127.0.0.1", "hostPort": 8080,
                "protocol": "udp", "inUse": true,
                "message": "port 127.0.0.1:8080 is already in use"
            })
        );
    }
}
