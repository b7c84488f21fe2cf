//! Reaching an engine: the transport its address asks for, the API version negotiated within a
//! deadline, and a failure named for what it was (no socket, wrong ssh key, unknown CA, ...).

use bollard::Docker;

use crate::endpoint::{self, Transport};
use crate::remote::{self, ssh::SshClient, Diagnosis};
use crate::{ContextStore, Endpoint, Engine, EngineError, REQUEST_TIMEOUT, TRANSFER_TIMEOUT};

impl Engine {
    /// [`Engine::connect_with_store`] with an explicit ssh client for `ssh://` engines.
    pub async fn connect_via(
        endpoint: &Endpoint,
        store: &ContextStore,
        ssh: &SshClient,
    ) -> Result<Engine, EngineError> {
        let target = endpoint.target(store)?;
        let address = target.address.clone();
        let (docker, diagnosis) = client_for(&endpoint::transport_for(&target)?, &address, ssh)?;
        let deadline = diagnosis.connect_timeout();
        let docker = match tokio::time::timeout(deadline, docker.negotiate_version()).await {
            Err(_elapsed) => return Err(diagnosis.explain(&address, None).await),
            Ok(Err(e)) => return Err(diagnosis.explain(&address, Some(e)).await),
            Ok(Ok(d)) => d,
        };
        let v = docker.client_version();
        let api_version = format!("{}.{}", v.major_version, v.minor_version);
        tracing::debug!(%address, %api_version, "connected to engine");
        Ok(Engine {
            docker_transfer: docker.clone().with_timeout(TRANSFER_TIMEOUT),
            docker,
            api_version: api_version.into(),
            address: address.into(),
        })
    }
}

fn client_for(
    transport: &Transport,
    address: &str,
    ssh: &SshClient,
) -> Result<(Docker, Diagnosis), EngineError> {
    let secs = REQUEST_TIMEOUT.as_secs();
    let version = bollard::API_DEFAULT_VERSION;
    let local = |docker: Result<Docker, bollard::errors::Error>| {
        docker
            .map(|d| (d, Diagnosis::Local))
            .map_err(|e| EngineError::from_bollard(address, e))
    };
    match transport {
        #[cfg(unix)]
        Transport::Unix(path) => local(Docker::connect_with_unix(path, secs, version)),
        #[cfg(windows)]
        Transport::NamedPipe(path) => local(Docker::connect_with_named_pipe(path, secs, version)),
        Transport::Http(host) => local(Docker::connect_with_http(host, secs, version)),
        Transport::Ssh(_) => remote::docker_over_ssh(address, ssh, secs, version),
        Transport::Tls(host, files) => remote::docker_over_tls(host, files, secs, version),
        #[allow(unreachable_patterns)]
        _ => Err(EngineError::invalid(
            "endpoint",
            format!("{address:?} is not reachable on this operating system"),
        )),
    }
}
