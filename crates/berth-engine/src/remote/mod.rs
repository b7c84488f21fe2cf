//! Engines on other machines: over ssh (as the docker CLI reaches them) and over TCP with TLS.
//! Each is a bollard client over a hyper connector of ours, so every engine call, stream and
//! hijacked connection (attach, exec) works over them unchanged.

pub mod ssh;
mod ssh_stream;
pub mod tls;

use std::time::Duration;

use bollard::{BollardRequest, ClientVersion, Docker};
use hyper_util::client::legacy::connect::Connect;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::EngineError;
use ssh::{LastExit, SshClient, SshConnector, SshFailure, SshTarget};
use tls::TlsFiles;

/// Deadline for a remote engine to answer the first request (ssh login and `dial-stdio`, or
/// TCP and the TLS handshake): an unreachable remote is reported within 10 s.
pub const REMOTE_CONNECT_TIMEOUT: Duration = Duration::from_secs(9);

/// How long after a failed first request to wait for ssh to exit and say why.
const SSH_EXIT_GRACE: Duration = Duration::from_secs(2);

/// What to look at when the first request to a remote fails.
#[derive(Debug, Clone)]
pub(crate) enum Diagnosis {
    Local,
    Ssh(LastExit),
    Tls,
}

/// A bollard client whose requests go through `connector`; `base` is the URL bollard puts in
/// front of every path (`http://ssh` for ssh, `https://host:port` for TLS).
fn docker_over<C>(
    connector: C,
    base: &str,
    timeout_secs: u64,
    version: &ClientVersion,
) -> Result<Docker, EngineError>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let client = Client::builder(TokioExecutor::new()).build(connector);
    let transport = move |req: BollardRequest| {
        let client = client.clone();
        async move {
            // hyper hands a finished connection back to its pool from a task of its own; a
            // request made at once (bollard's first call right after the version negotiation)
            // would otherwise open another connection, which over ssh is another login.
            tokio::task::yield_now().await;
            client
                .request(req)
                .await
                .map_err(bollard::errors::Error::from)
        }
    };
    Docker::connect_with_custom_transport(transport, Some(base), timeout_secs, version)
        .map_err(|e| EngineError::from_bollard(base, e))
}

/// A client for the engine behind `ssh://...`, and where its connections' failures are kept.
pub(crate) fn docker_over_ssh(
    address: &str,
    client: &SshClient,
    timeout_secs: u64,
    version: &ClientVersion,
) -> Result<(Docker, Diagnosis), EngineError> {
    let target = SshTarget::parse(address)?;
    let connector = SshConnector::new(client.clone(), target);
    let last_exit = connector.last_exit();
    let docker = docker_over(connector, "http://ssh", timeout_secs, version)?;
    Ok((docker, Diagnosis::Ssh(last_exit)))
}

/// A client for a `tcp://host:port` engine that wants TLS with `files`.
pub(crate) fn docker_over_tls(
    address: &str,
    files: &TlsFiles,
    timeout_secs: u64,
    version: &ClientVersion,
) -> Result<(Docker, Diagnosis), EngineError> {
    let host_port = address
        .strip_prefix("tcp://")
        .or_else(|| address.strip_prefix("https://"))
        .unwrap_or(address)
        .trim_end_matches('/');
    let connector = files.connector(REMOTE_CONNECT_TIMEOUT)?;
    let docker = docker_over(
        connector,
        &format!("https://{host_port}"),
        timeout_secs,
        version,
    )?;
    Ok((docker, Diagnosis::Tls))
}

impl Diagnosis {
    /// The deadline for the first request.
    pub(crate) fn connect_timeout(&self) -> Duration {
        match self {
            Diagnosis::Local => crate::CONNECT_TIMEOUT,
            Diagnosis::Ssh(_) | Diagnosis::Tls => REMOTE_CONNECT_TIMEOUT,
        }
    }

    /// The error to report when the first request failed with `error` (`None`: it timed out).
    pub(crate) async fn explain(
        &self,
        address: &str,
        error: Option<bollard::errors::Error>,
    ) -> EngineError {
        let unreachable = |detail: String| EngineError::RemoteUnreachable {
            endpoint: address.to_string(),
            detail,
        };
        match self {
            Diagnosis::Ssh(last_exit) => match last_exit.wait(SSH_EXIT_GRACE).await {
                Some(exit) => {
                    let detail = exit.last_words();
                    let endpoint = address.to_string();
                    match exit.failure() {
                        SshFailure::AuthRefused => EngineError::SshAuthRefused { endpoint, detail },
                        SshFailure::HostKeyRejected => {
                            EngineError::SshHostKeyRejected { endpoint, detail }
                        }
                        SshFailure::NoDocker => EngineError::NoDockerOnRemote { endpoint, detail },
                        SshFailure::Unreachable | SshFailure::Other => unreachable(detail),
                    }
                }
                None if error.is_none() => unreachable(format!(
                    "no answer within {} s",
                    REMOTE_CONNECT_TIMEOUT.as_secs()
                )),
                None => local_explanation(address, error),
            },
            Diagnosis::Tls => {
                let tls = error
                    .as_ref()
                    .and_then(|e| tls::tls_failure(e as &(dyn std::error::Error + 'static)));
                match (tls, error) {
                    (Some(reason), _) => EngineError::TlsRefused {
                        endpoint: address.to_string(),
                        reason,
                    },
                    (None, None) => unreachable(format!(
                        "no answer within {} s",
                        REMOTE_CONNECT_TIMEOUT.as_secs()
                    )),
                    (None, Some(e)) => match EngineError::from_bollard(address, e) {
                        EngineError::Unreachable {
                            source: Some(source),
                            ..
                        } => unreachable(berth_core::error::chain_message(&source)),
                        other => other,
                    },
                }
            }
            Diagnosis::Local => local_explanation(address, error),
        }
    }
}

fn local_explanation(address: &str, error: Option<bollard::errors::Error>) -> EngineError {
    match error.map(|e| EngineError::from_bollard(address, e)) {
        None | Some(EngineError::Timeout { .. }) => EngineError::Unreachable {
            endpoint: address.to_string(),
            source: None,
        },
        Some(other) => other,
    }
}
