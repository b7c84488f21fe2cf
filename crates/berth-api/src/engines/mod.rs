//! Every engine the user can point docker and Berth at, in one list: Berth's own (`berth`, the
//! local VM), the remote engines the user added (over ssh or TLS), and every context already
//! in the docker CLI's context store (listed read-only). `use` makes one the current docker
//! context.
//!
//! A machine (another local VM) will be one more [`EngineKind`].

pub mod remote_store;

use std::time::Duration;

use berth_core::{ApiError, BerthPaths, ErrorCode};
use berth_engine::context_store::DEFAULT_CONTEXT;
use berth_engine::endpoint::DEFAULT_SOCKET;
use berth_engine::{ContextStore, DockerContext, Endpoint, Engine};
use futures_util::future::join_all;
use serde::Serialize;

use crate::transport::ToApi;
use crate::{Berth, CONTEXT_NAME};
pub use berth_engine::{SshClient, TlsFiles};
pub use remote_store::{RemoteEngine, RemoteStore};

/// How long `ls` waits for any one engine: a dead remote costs the list this at most, as all
/// engines are asked at once.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The description Berth writes into the docker contexts it makes for remote engines.
const REMOTE_CONTEXT_DESCRIPTION: &str = "Remote engine added in Berth";

/// What an engine is.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum EngineKind {
    /// Berth's own engine in its local VM.
    Berth,
    /// A remote engine the user added in Berth (ssh or TLS).
    Remote,
    /// A context of the docker CLI that Berth did not make; read-only here.
    Context,
}

/// One row of the engines list.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineEntry {
    pub name: String,
    pub kind: EngineKind,
    /// The DOCKER_HOST-style address.
    pub endpoint: String,
    /// Verified TLS with a CA and client certificate.
    pub tls: bool,
    /// The current docker context.
    pub current: bool,
    /// Berth cannot change or remove it (a context someone else made).
    pub read_only: bool,
    pub reachable: bool,
    /// Berth's engine is paused (Resource Saver): it wakes at the first use, so it was not
    /// asked for its version.
    pub paused: bool,
    /// The engine's version when it answered.
    pub version: Option<String>,
    /// Why it did not answer.
    pub error: Option<ApiError>,
}

/// What the list is made of before the engines are asked.
#[derive(Debug, Clone)]
struct Candidate {
    name: String,
    kind: EngineKind,
    address: String,
    endpoint: Endpoint,
    tls: bool,
}

/// The engines of one Berth, with the docker context store and the ssh client it uses.
#[derive(Debug, Clone)]
pub struct Engines {
    paths: BerthPaths,
    store: ContextStore,
    ssh: SshClient,
}

impl Berth {
    /// The engines list, with the docker CLI's context store and `ssh` from the environment.
    pub fn engines(&self) -> Engines {
        Engines::new(
            self.paths().clone(),
            ContextStore::from_env(),
            SshClient::from_env(),
        )
    }
}

impl Engines {
    pub fn new(paths: BerthPaths, store: ContextStore, ssh: SshClient) -> Engines {
        Engines { paths, store, ssh }
    }

    fn remotes(&self) -> RemoteStore {
        RemoteStore::new(&self.paths)
    }

    /// Every engine with its reachability and version, all asked at once.
    pub async fn list(&self) -> Result<Vec<EngineEntry>, ApiError> {
        let current = self.store.current().to_api()?;
        let current = current.as_deref().unwrap_or(DEFAULT_CONTEXT);
        let candidates = self.candidates()?;
        let probes = candidates.iter().map(|c| self.probe_entry(c));
        let answers = join_all(probes).await;
        Ok(candidates
            .into_iter()
            .zip(answers)
            .map(|(c, answer)| {
                let paused = matches!(answer, Ok(None));
                let (version, error) = match answer {
                    Ok(version) => (version, None),
                    Err(e) => (None, Some(e)),
                };
                EngineEntry {
                    current: c.name == current,
                    read_only: c.kind == EngineKind::Context,
                    reachable: version.is_some() || paused,
                    paused,
                    name: c.name,
                    kind: c.kind,
                    endpoint: c.address,
                    tls: c.tls,
                    version,
                    error,
                }
            })
            .collect())
    }

    fn candidates(&self) -> Result<Vec<Candidate>, ApiError> {
        let mut out = vec![Candidate {
            name: CONTEXT_NAME.into(),
            kind: EngineKind::Berth,
            address: berth_control::endpoint::engine_host(&self.paths),
            endpoint: crate::daemon_client::engine_endpoint(&self.paths),
            tls: false,
        }];
        let remotes = self.remotes().list()?;
        for r in &remotes {
            out.push(Candidate {
                name: r.name.clone(),
                kind: EngineKind::Remote,
                address: r.host.clone(),
                endpoint: r.endpoint(),
                tls: r.tls.is_some(),
            });
        }
        // The CLI's `default` context is DOCKER_HOST when set, else the default socket.
        let default_host = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| format!("unix://{DEFAULT_SOCKET}"));
        out.push(Candidate {
            name: DEFAULT_CONTEXT.into(),
            kind: EngineKind::Context,
            endpoint: Endpoint::Host(default_host.clone()),
            address: default_host,
            tls: false,
        });
        for ctx in self.store.list().to_api()? {
            let ours = ctx.name == CONTEXT_NAME || remotes.iter().any(|r| r.name == ctx.name);
            if ours {
                continue;
            }
            out.push(Candidate {
                tls: self.store.tls_files(&ctx.name).is_some(),
                endpoint: Endpoint::Context(ctx.name.clone()),
                name: ctx.name,
                kind: EngineKind::Context,
                address: ctx.host,
            });
        }
        Ok(out)
    }

    /// The engine's version; `None` for Berth's engine while it is paused, which asking would
    /// wake (as `berth status` does, its state is the answer).
    async fn probe_entry(&self, candidate: &Candidate) -> Result<Option<String>, ApiError> {
        if candidate.kind == EngineKind::Berth {
            let daemon = crate::DaemonClient::new(&self.paths);
            let status = daemon
                .request(&berth_control::protocol::Request::Status)
                .await;
            if status.is_ok_and(|s| s.state.is_paused()) {
                return Ok(None);
            }
        }
        self.probe(&candidate.endpoint).await.map(Some)
    }

    /// The engine's version, within [`PROBE_TIMEOUT`].
    async fn probe(&self, endpoint: &Endpoint) -> Result<String, ApiError> {
        let ask = async {
            let engine = Engine::connect_via(endpoint, &self.store, &self.ssh)
                .await
                .to_api()?;
            engine.version().await.to_api().map(|v| v.version)
        };
        match tokio::time::timeout(PROBE_TIMEOUT, ask).await {
            Ok(answer) => answer,
            Err(_) => Err(ApiError::new(
                ErrorCode::EngineUnreachable,
                format!(
                    "{endpoint} did not answer within {} s",
                    PROBE_TIMEOUT.as_secs()
                ),
            )),
        }
    }

    /// Adds a remote engine after checking that it answers; nothing is saved when it does not,
    /// and the error says why (unreachable, ssh key refused, unknown CA, no docker there).
    pub async fn add(
        &self,
        name: &str,
        host: &str,
        tls: Option<TlsFiles>,
    ) -> Result<EngineEntry, ApiError> {
        remote_store::check_name(name)?;
        remote_store::check_host(host, tls.as_ref())?;
        if self.remotes().get(name)?.is_some() || self.store.read(name).is_ok() {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!("an engine or docker context named {name} exists already"),
            ));
        }
        let remote = RemoteEngine {
            name: name.into(),
            host: host.into(),
            tls,
        };
        let version = self.probe(&remote.endpoint()).await?;
        let remote = self.remotes().add(remote)?;
        Ok(EngineEntry {
            name: remote.name,
            kind: EngineKind::Remote,
            endpoint: remote.host,
            tls: remote.tls.is_some(),
            current: false,
            read_only: false,
            reachable: true,
            paused: false,
            version: Some(version),
            error: None,
        })
    }

    /// Removes a remote engine Berth added, with the docker context it made for it.
    pub fn remove(&self, name: &str) -> Result<(), ApiError> {
        if self.remotes().get(name)?.is_none() {
            return Err(self.not_ours(name));
        }
        let removed = self.remotes().remove(name)?;
        if let Ok(ctx) = self.store.read(name) {
            if ctx.host == removed.host {
                self.store.remove(name).to_api()?;
            }
        }
        Ok(())
    }

    fn not_ours(&self, name: &str) -> ApiError {
        if name == CONTEXT_NAME || name == DEFAULT_CONTEXT {
            ApiError::new(
                ErrorCode::InvalidInput,
                format!(
                    "{name} is Berth's own engine or the docker CLI's default; it is not removed"
                ),
            )
        } else if self.store.read(name).is_ok() {
            ApiError::new(
                ErrorCode::InvalidInput,
                format!("{name} is a docker context Berth did not add; `docker context rm {name}` removes it"),
            )
        } else {
            ApiError::new(ErrorCode::NotFound, format!("no engine named {name}"))
        }
    }

    /// Makes `name` the current docker context: for a remote, its context is written first
    /// (TLS files included); other contexts and config.json's other keys are kept.
    pub fn use_engine(&self, name: &str) -> Result<(), ApiError> {
        if name == DEFAULT_CONTEXT {
            return self.store.set_current(None).to_api();
        }
        if name == CONTEXT_NAME {
            self.store
                .write(&DockerContext {
                    name: CONTEXT_NAME.into(),
                    description: Some("Berth's engine".into()),
                    host: berth_control::endpoint::engine_host(&self.paths),
                    skip_tls_verify: false,
                })
                .to_api()?;
        } else if let Some(remote) = self.remotes().get(name)? {
            self.write_remote_context(&remote)?;
        } else {
            self.store.read(name).to_api()?;
        }
        self.store.set_current(Some(name)).to_api()
    }

    fn write_remote_context(&self, remote: &RemoteEngine) -> Result<(), ApiError> {
        self.store
            .write(&DockerContext {
                name: remote.name.clone(),
                description: Some(REMOTE_CONTEXT_DESCRIPTION.into()),
                host: remote.host.clone(),
                skip_tls_verify: false,
            })
            .to_api()?;
        if let Some(tls) = &remote.tls {
            self.store.write_tls(&remote.name, tls).to_api()?;
        }
        Ok(())
    }

    /// [`Engines::add`] from a form's fields: the TLS files are all three or none, an empty
    /// field being none.
    pub async fn add_from_form(
        &self,
        name: &str,
        address: &str,
        tls_ca: Option<String>,
        tls_cert: Option<String>,
        tls_key: Option<String>,
    ) -> Result<EngineEntry, ApiError> {
        let given = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let tls = match (given(tls_ca), given(tls_cert), given(tls_key)) {
            (None, None, None) => None,
            (Some(ca), Some(cert), Some(key)) => Some(TlsFiles {
                ca: ca.into(),
                cert: cert.into(),
                key: key.into(),
            }),
            _ => {
                return Err(ApiError::new(
                    ErrorCode::InvalidInput,
                    "TLS needs all three files: the CA, the certificate and its key",
                ))
            }
        };
        self.add(name.trim(), address.trim(), tls).await
    }

    /// Where the engine named `name` (any kind) is.
    pub fn endpoint_of(&self, name: &str) -> Result<Endpoint, ApiError> {
        self.candidates()?
            .into_iter()
            .find(|c| c.name == name)
            .map(|c| c.endpoint)
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no engine named {name}")))
    }

    /// A connection to the engine at `endpoint`, with this list's context store and ssh.
    pub async fn connect_to(&self, endpoint: &Endpoint) -> Result<Engine, ApiError> {
        Engine::connect_via(endpoint, &self.store, &self.ssh)
            .await
            .to_api()
    }

    /// A connection to the engine named `name` (any kind).
    pub async fn connect(&self, name: &str) -> Result<Engine, ApiError> {
        self.connect_to(&self.endpoint_of(name)?).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engines(home: &std::path::Path) -> Engines {
        Engines::new(
            BerthPaths::under(&home.join("berth")),
            ContextStore::new(home.join("docker")),
            SshClient {
                program: "/nonexistent/ssh".into(),
            },
        )
    }

    #[tokio::test]
    async fn the_list_has_berth_remotes_default_and_other_contexts_once_each() {
        let home = tempfile::tempdir().unwrap();
        let e = engines(home.path());
        let remote = RemoteEngine {
            name: "far".into(),
            host: "ssh://me@far.invalid".into(),
            tls: None,
        };
        e.remotes().add(remote.clone()).unwrap();
        e.write_remote_context(&remote).unwrap();
        e.store
            .write(&DockerContext {
                name: "colima".into(),
                description: None,
                host: "unix:///nonexistent/colima.sock".into(),
                skip_tls_verify: false,
            })
            .unwrap();
        e.use_engine("colima").unwrap();
        let list = e.list().await.unwrap();
        let rows: Vec<_> = list
            .iter()
            .map(|r| (r.name.as_str(), r.kind, r.current, r.read_only))
            .collect();
        assert_eq!(
            rows,
            [
                ("berth", EngineKind::Berth, false, false),
                ("far", EngineKind::Remote, false, false),
                ("default", EngineKind::Context, false, true),
                ("colima", EngineKind::Context, true, true),
            ]
        );
        let foreign = e.remove("colima").unwrap_err();
        assert!(
            foreign.message.contains("docker context rm colima"),
            "{}",
            foreign.message
        );
        let colima = &list[3];
        assert!(!colima.reachable);
        assert_eq!(
            colima.error.as_ref().unwrap().code,
            ErrorCode::EngineUnreachable
        );
    }

    #[test]
    fn use_writes_a_remotes_context_and_keeps_config_keys() {
        let home = tempfile::tempdir().unwrap();
        let e = engines(home.path());
        std::fs::create_dir_all(home.path().join("docker")).unwrap();
        std::fs::write(
            home.path().join("docker/config.json"),
            r#"{"auths":{"r:5000":{}},"credsStore":"berth"}"#,
        )
        .unwrap();
        let remote = RemoteEngine {
            name: "far".into(),
            host: "ssh://me@far.invalid".into(),
            tls: None,
        };
        e.remotes().add(remote).unwrap();
        e.use_engine("far").unwrap();
        assert_eq!(e.store.current().unwrap().as_deref(), Some("far"));
        assert_eq!(e.store.read("far").unwrap().host, "ssh://me@far.invalid");
        let config = std::fs::read_to_string(home.path().join("docker/config.json")).unwrap();
        assert!(
            config.contains("credsStore") && config.contains("r:5000"),
            "{config}"
        );
        assert_eq!(e.use_engine("nope").unwrap_err().code, ErrorCode::NotFound);
        e.remove("far").unwrap();
        assert_eq!(e.store.current().unwrap(), None);
        assert!(e.store.read("far").is_err());
        assert_eq!(
            e.remove("default").unwrap_err().code,
            ErrorCode::InvalidInput
        );
        assert_eq!(e.remove("berth").unwrap_err().code, ErrorCode::InvalidInput);
        assert_eq!(e.remove("nope").unwrap_err().code, ErrorCode::NotFound);
    }

    #[tokio::test]
    async fn the_form_wants_all_three_tls_files_or_none() {
        let home = tempfile::tempdir().unwrap();
        let e = engines(home.path());
        let some = |s: &str| Some(s.to_string());
        let half = e
            .add_from_form("far", "tcp://h:2376", some("/ca"), None, some(" "))
            .await
            .unwrap_err();
        assert_eq!(half.code, ErrorCode::InvalidInput);
        assert!(half.message.contains("all three"), "{}", half.message);
        let missing = e
            .add_from_form(
                "far",
                "tcp://h:2376",
                some("/x/ca"),
                some("/x/c"),
                some("/x/k"),
            )
            .await
            .unwrap_err();
        assert_eq!(missing.code, ErrorCode::Io, "{}", missing.message);
    }

    #[tokio::test]
    async fn add_checks_the_input_and_the_connection_before_saving() {
        let home = tempfile::tempdir().unwrap();
        let e = engines(home.path());
        let bad_name = e.add("a b", "ssh://h", None).await.unwrap_err();
        assert_eq!(bad_name.code, ErrorCode::InvalidInput);
        let bad_host = e.add("far", "h:22", None).await.unwrap_err();
        assert_eq!(bad_host.code, ErrorCode::InvalidInput);
        // No ssh program here: the connection test fails and nothing is saved.
        let err = e.add("far", "ssh://me@h", None).await.unwrap_err();
        assert_ne!(err.code, ErrorCode::InvalidInput, "{err}");
        assert!(e.remotes().list().unwrap().is_empty());
    }
}
