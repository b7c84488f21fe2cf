//! Where an engine is: a socket path, a DOCKER_HOST value, or a named docker context.

use std::path::PathBuf;

use crate::context_store::{ContextStore, DEFAULT_CONTEXT};
use crate::remote::ssh::SshTarget;
use crate::remote::tls::TlsFiles;
use crate::EngineError;

/// The engine socket every Linux docker install uses.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// An engine endpoint, as a user names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Endpoint {
    /// A unix socket path.
    Unix(PathBuf),
    /// A DOCKER_HOST value: `unix:///path`, `tcp://host:port`, `http://host:port`.
    Host(String),
    /// A context of the docker CLI's context store (with its TLS files, when it has them).
    Context(String),
    /// A `tcp://host:port` engine that wants TLS: verified against `tls.ca`, Berth showing
    /// `tls.cert`.
    Tls { host: String, tls: TlsFiles },
}

/// A resolved endpoint: the address, and the TLS files to use with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub address: String,
    pub tls: Option<TlsFiles>,
}

impl Endpoint {
    /// What the docker CLI would use: `DOCKER_HOST`, then `DOCKER_CONTEXT`, then the
    /// `currentContext` of `$DOCKER_CONFIG/config.json`, else the default socket.
    pub fn from_env() -> Endpoint {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let current = || ContextStore::from_env().current().ok().flatten();
        match Self::choose(var("DOCKER_HOST"), var("DOCKER_CONTEXT"), current) {
            Endpoint::Host(host) => Self::from_docker_host_env(host),
            other => other,
        }
    }

    /// A DOCKER_HOST value read as the CLI reads it beside `DOCKER_TLS_VERIFY` and
    /// `DOCKER_CERT_PATH`: a `tcp://` host with TLS verification asked for is
    /// [`Endpoint::Tls`] with `ca.pem`, `cert.pem` and `key.pem` of the cert path (the docker
    /// config folder when unset).
    pub fn from_docker_host_env(host: String) -> Endpoint {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let cert_path = var("DOCKER_CERT_PATH")
            .map(PathBuf::from)
            .or_else(berth_core::paths::docker_config_dir);
        Self::with_tls_env(host, var("DOCKER_TLS_VERIFY").is_some(), cert_path)
    }

    /// [`Endpoint::from_docker_host_env`] without the environment.
    pub fn with_tls_env(host: String, tls_verify: bool, cert_path: Option<PathBuf>) -> Endpoint {
        match cert_path {
            Some(dir) if tls_verify && host.starts_with("tcp://") => Endpoint::Tls {
                host,
                tls: TlsFiles::in_dir(&dir),
            },
            _ => Endpoint::Host(host),
        }
    }

    /// A DOCKER_HOST value, with `unix://` read as the socket path it names.
    pub fn from_docker_host(host: String) -> Endpoint {
        match host.strip_prefix("unix://") {
            Some(path) => Endpoint::Unix(PathBuf::from(path)),
            None => Endpoint::Host(host),
        }
    }

    /// The precedence rule of [`Endpoint::from_env`], without the environment.
    pub fn choose(
        docker_host: Option<String>,
        docker_context: Option<String>,
        current_context: impl FnOnce() -> Option<String>,
    ) -> Endpoint {
        if let Some(host) = docker_host {
            return Endpoint::Host(host);
        }
        if let Some(ctx) = docker_context {
            return Endpoint::Context(ctx);
        }
        match current_context() {
            Some(ctx) => Endpoint::Context(ctx),
            None => Endpoint::Unix(PathBuf::from(DEFAULT_SOCKET)),
        }
    }

    /// The DOCKER_HOST-style address this endpoint means, looking contexts up in `store`.
    pub fn resolve(&self, store: &ContextStore) -> Result<String, EngineError> {
        self.target(store).map(|t| t.address)
    }

    /// The address and TLS files this endpoint means, looking contexts (and the TLS files the
    /// CLI keeps beside them) up in `store`.
    pub fn target(&self, store: &ContextStore) -> Result<Target, EngineError> {
        let plain = |address: String| Target { address, tls: None };
        match self {
            Endpoint::Unix(path) => Ok(plain(format!("unix://{}", path.display()))),
            Endpoint::Host(host) => Ok(plain(host.clone())),
            Endpoint::Tls { host, tls } => Ok(Target {
                address: host.clone(),
                tls: Some(tls.clone()),
            }),
            Endpoint::Context(name) if name == DEFAULT_CONTEXT => {
                Ok(plain(format!("unix://{DEFAULT_SOCKET}")))
            }
            Endpoint::Context(name) => {
                let ctx = store.read(name)?;
                if ctx.host.is_empty() {
                    return Err(EngineError::invalid(
                        "context",
                        format!("{name} has no docker endpoint"),
                    ));
                }
                let tls = store
                    .tls_files(name)
                    .filter(|_| ctx.host.starts_with("tcp://"));
                Ok(Target {
                    address: ctx.host,
                    tls,
                })
            }
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "unix://{}", p.display()),
            Endpoint::Host(h) => f.write_str(h),
            Endpoint::Context(c) => write!(f, "context {c}"),
            Endpoint::Tls { host, .. } => write!(f, "{host} (TLS)"),
        }
    }
}

/// How bollard should connect to a resolved address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Transport {
    Unix(String),
    /// A Windows named pipe, as bollard wants it: `//./pipe/<name>`.
    NamedPipe(String),
    Http(String),
    /// `docker system dial-stdio` over the user's ssh.
    Ssh(SshTarget),
    /// HTTPS with the user's CA and client certificate.
    Tls(String, TlsFiles),
}

pub(crate) fn transport_for(target: &Target) -> Result<Transport, EngineError> {
    let host = target.address.as_str();
    if let Some(tls) = &target.tls {
        if !host.starts_with("tcp://") && !host.starts_with("https://") {
            return Err(EngineError::invalid(
                "endpoint",
                format!("TLS files go with a tcp:// address, not {host:?}"),
            ));
        }
        return Ok(Transport::Tls(host.to_string(), tls.clone()));
    }
    if host.starts_with("ssh://") {
        return SshTarget::parse(host).map(Transport::Ssh);
    }
    transport_for_plain(host)
}

fn transport_for_plain(host: &str) -> Result<Transport, EngineError> {
    if let Some(path) = host.strip_prefix("unix://") {
        if path.is_empty() {
            return Err(EngineError::invalid("endpoint", "unix:// without a path"));
        }
        return Ok(Transport::Unix(path.to_string()));
    }
    if let Some(path) = host.strip_prefix("npipe://") {
        if path.is_empty() {
            return Err(EngineError::invalid("endpoint", "npipe:// without a path"));
        }
        return Ok(Transport::NamedPipe(path.to_string()));
    }
    if host.starts_with("tcp://") || host.starts_with("http://") {
        return Ok(Transport::Http(host.to_string()));
    }
    if host.starts_with('/') {
        return Ok(Transport::Unix(host.to_string()));
    }
    Err(EngineError::invalid(
        "endpoint",
        format!("unsupported address {host:?} (use unix://, npipe://, tcp:// or ssh://)"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context_store::DockerContext;

    #[test]
    fn docker_host_wins_then_context_then_current() {
        let host = Endpoint::choose(Some("tcp://h:1".into()), Some("c".into()), || {
            Some("cur".into())
        });
        assert_eq!(host, Endpoint::Host("tcp://h:1".into()));
        let ctx = Endpoint::choose(None, Some("c".into()), || Some("cur".into()));
        assert_eq!(ctx, Endpoint::Context("c".into()));
        let cur = Endpoint::choose(None, None, || Some("cur".into()));
        assert_eq!(cur, Endpoint::Context("cur".into()));
        let def = Endpoint::choose(None, None, || None);
        assert_eq!(def, Endpoint::Unix(DEFAULT_SOCKET.into()));
    }

    #[test]
    fn docker_tls_verify_makes_a_tcp_host_tls_with_the_cert_path() {
        let dir = Some(PathBuf::from("/certs"));
        let tls = Endpoint::with_tls_env("tcp://h:2376".into(), true, dir.clone());
        assert_eq!(
            tls,
            Endpoint::Tls {
                host: "tcp://h:2376".into(),
                tls: TlsFiles::in_dir(std::path::Path::new("/certs")),
            }
        );
        let plain = Endpoint::with_tls_env("tcp://h:2375".into(), false, dir.clone());
        assert_eq!(plain, Endpoint::Host("tcp://h:2375".into()));
        let unix = Endpoint::with_tls_env("unix:///s".into(), true, dir);
        assert_eq!(unix, Endpoint::Host("unix:///s".into()));
    }

    #[test]
    fn resolve_reads_context_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContextStore::new(dir.path());
        store
            .write(&DockerContext {
                name: "berth".into(),
                description: None,
                host: "unix:///run/b.sock".into(),
                skip_tls_verify: false,
            })
            .unwrap();
        let e = Endpoint::Context("berth".into());
        assert_eq!(e.resolve(&store).unwrap(), "unix:///run/b.sock");
        let missing = Endpoint::Context("nope".into()).resolve(&store);
        assert_eq!(missing.unwrap_err().code(), berth_core::ErrorCode::NotFound);
        let def = Endpoint::Context("default".into()).resolve(&store).unwrap();
        assert_eq!(def, "unix:///var/run/docker.sock");
        let unix = Endpoint::Unix("/tmp/x.sock".into())
            .resolve(&store)
            .unwrap();
        assert_eq!(unix, "unix:///tmp/x.sock");
    }

    fn plain(address: &str) -> Target {
        Target {
            address: address.into(),
            tls: None,
        }
    }

    #[test]
    fn transports() {
        let transport_for = |a: &str| super::transport_for(&plain(a));
        assert_eq!(
            transport_for("unix:///a/b.sock").unwrap(),
            Transport::Unix("/a/b.sock".into())
        );
        assert_eq!(
            transport_for("tcp://127.0.0.1:2375").unwrap(),
            Transport::Http("tcp://127.0.0.1:2375".into())
        );
        assert_eq!(
            transport_for("npipe:////./pipe/berth_engine").unwrap(),
            Transport::NamedPipe("//./pipe/berth_engine".into())
        );
        assert!(transport_for("npipe://").is_err());
        assert_eq!(
            transport_for("ssh://u@x:2").unwrap(),
            Transport::Ssh(SshTarget::parse("ssh://u@x:2").unwrap())
        );
        assert!(transport_for("ssh://").is_err());
        assert!(transport_for("unix://").is_err());
        let files = TlsFiles::in_dir(std::path::Path::new("/c"));
        let tls = Target {
            address: "tcp://h:2376".into(),
            tls: Some(files.clone()),
        };
        assert_eq!(
            super::transport_for(&tls).unwrap(),
            Transport::Tls("tcp://h:2376".into(), files.clone())
        );
        let tls_on_unix = Target {
            address: "unix:///s".into(),
            tls: Some(files),
        };
        assert!(super::transport_for(&tls_on_unix).is_err());
    }

    #[test]
    fn a_tcp_context_with_tls_files_resolves_to_tls() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContextStore::new(dir.path());
        let ctx = DockerContext {
            name: "far".into(),
            description: None,
            host: "tcp://10.0.0.2:2376".into(),
            skip_tls_verify: false,
        };
        store.write(&ctx).unwrap();
        let e = Endpoint::Context("far".into());
        assert_eq!(e.target(&store).unwrap().tls, None);
        let src = dir.path().join("src");
        std::fs::create_dir(&src).unwrap();
        let files = TlsFiles::in_dir(&src);
        for p in [&files.ca, &files.cert, &files.key] {
            std::fs::write(p, "pem").unwrap();
        }
        store.write_tls("far", &files).unwrap();
        let target = e.target(&store).unwrap();
        assert_eq!(target.address, "tcp://10.0.0.2:2376");
        assert_eq!(target.tls, Some(TlsFiles::in_dir(&store.tls_dir("far"))));
    }
}
