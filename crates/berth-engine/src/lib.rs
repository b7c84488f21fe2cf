//! Everything Berth says to a Docker engine, over bollard.
//!
//! [`Engine`] is a cheap, clonable handle on one engine; each resource has its own module
//! adding methods to it. Boundary types are Berth's own (camelCase serde) so the UI can
//! render them; inspect calls return bollard's typed answers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;

mod connect;
pub mod container_spec;
pub mod container_tuning;
pub mod containers;
pub mod context_store;
pub mod endpoint;
pub mod error;
pub mod events;
pub mod exec;
pub mod image_build;
pub mod image_push;
pub mod images;
pub mod logs;
pub mod networks;
pub mod remote;
pub mod run_spec;
pub mod stats;
pub mod swarm;
pub mod system;
pub mod volume_export;
pub mod volumes;

pub use container_spec::{
    ContainerMount, ContainerSpec, Healthcheck, LogConfig, MountKind, NetworkAttachment,
    PublishedPort, Ulimit,
};
pub use container_tuning::{Blkio, ContainerTuning, DeviceRequest};
pub use containers::{ContainerFilter, ContainerSummary, PortSummary, RemoveOptions};
pub use context_store::{ContextStore, DockerContext};
pub use endpoint::Endpoint;
pub use error::{EngineError, ErrorCode};
pub use events::{EngineEvent, EventFilter};
pub use exec::{ExecOptions, ExecOutput, ExecSession};
pub use image_build::{BuildOptions, BuildProgress};
pub use images::{
    ImageHistoryEntry, ImageSummary, PruneReport, PullProgress, PushProgress, RegistryAuth,
};
pub use logs::{LogLine, LogOptions, LogStream};
pub use networks::{IpamPool, NetworkCreate, NetworkEndpoint, NetworkIpam, NetworkSummary};
pub use remote::ssh::SshClient;
pub use remote::tls::TlsFiles;
pub use run_spec::{Mount, PortBinding, Protocol, RestartPolicy, RunSpec};
pub use stats::StatsSample;
pub use swarm::{ServiceCreate, ServiceSummary, SwarmState, TaskSummary};
pub use system::{DiskUsage, VersionInfo};
pub use volume_export::VolumeArchive;
pub use volumes::{VolumeCreate, VolumeSummary};

/// Deadline for reaching an engine (connect + version negotiation, ping).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Deadline for one ordinary request until the engine's answer starts (streams have none after).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Deadline for requests that upload a large body first (import, build context).
pub const TRANSFER_TIMEOUT: Duration = Duration::from_secs(3600);

/// A connected engine: bollard's client plus the API version negotiated with the engine.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    /// The same client with [`TRANSFER_TIMEOUT`], for uploads.
    docker_transfer: Docker,
    api_version: Arc<str>,
    address: Arc<str>,
}

impl Engine {
    /// Connects to `endpoint` (contexts looked up in the CLI's store from the environment),
    /// negotiates the API version, and fails with `engine_unreachable` within
    /// [`CONNECT_TIMEOUT`] when nothing answers.
    pub async fn connect(endpoint: &Endpoint) -> Result<Engine, EngineError> {
        Self::connect_with_store(endpoint, &ContextStore::from_env()).await
    }

    /// Connects where the docker CLI would: see [`Endpoint::from_env`].
    pub async fn connect_default() -> Result<Engine, EngineError> {
        Self::connect(&Endpoint::from_env()).await
    }

    /// [`Engine::connect`] with an explicit context store (and `ssh` from the environment:
    /// [`remote::ssh::SshClient::from_env`]).
    pub async fn connect_with_store(
        endpoint: &Endpoint,
        store: &ContextStore,
    ) -> Result<Engine, EngineError> {
        Self::connect_via(endpoint, store, &remote::ssh::SshClient::from_env()).await
    }

    /// The API version in use (the lower of bollard's and the engine's), e.g. "1.41".
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// The resolved address, e.g. `unix:///var/run/docker.sock`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// A mapper from bollard errors to ours that knows which endpoint we talk to.
    pub(crate) fn err(&self) -> impl Fn(bollard::errors::Error) -> EngineError + Clone + Send {
        let address = self.address.clone();
        move |e| EngineError::from_bollard(&address, e)
    }
}

/// A docker filter map (`{"label": ["a=b"]}`) from pairs.
pub(crate) fn filter_map<'a>(
    pairs: impl IntoIterator<Item = (&'a str, String)>,
) -> HashMap<String, Vec<String>> {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in pairs {
        map.entry(k.to_string()).or_default().push(v);
    }
    map
}

/// bollard maps are HashMaps; ours are BTreeMaps so the UI sees a stable order.
pub(crate) fn sorted<V>(m: Option<HashMap<String, V>>) -> std::collections::BTreeMap<String, V> {
    m.unwrap_or_default().into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // A unix:// endpoint is refused as invalid on Windows.
    #[cfg(unix)]
    #[tokio::test]
    async fn missing_socket_is_engine_unreachable_at_once() {
        let ep = Endpoint::Unix("/nonexistent/berth-test.sock".into());
        let err = Engine::connect_with_store(&ep, &ContextStore::new("/nonexistent"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::EngineUnreachable);
    }

    #[test]
    fn filter_map_groups_values() {
        let m = filter_map([
            ("label", "a".into()),
            ("label", "b".into()),
            ("name", "n".into()),
        ]);
        assert_eq!(m["label"], ["a", "b"]);
        assert_eq!(m["name"], ["n"]);
    }
}
