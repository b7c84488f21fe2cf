//! Published ports as every layer names them: the forwarder on the host, the daemon's status
//! and the dashboard.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

/// What the user sees about a published port that could not be published: a typed value the
/// daemon keeps in its status (`berth status`, the dashboard), not just a log line.
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
