//! `RunSpec`: what `docker run` says, as a validated value.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use bollard::models::ContainerCreateBody;
use serde::{Deserialize, Serialize};

use crate::container_spec::{
    ContainerMount, ContainerSpec, MountKind, NetworkAttachment, PublishedPort,
};
use crate::EngineError;

/// Everything needed to create and start one container.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RunSpec {
    pub image: String,
    pub name: Option<String>,
    /// Replaces the image's CMD when `Some`.
    pub cmd: Option<Vec<String>>,
    /// Replaces the image's ENTRYPOINT when `Some`.
    pub entrypoint: Option<Vec<String>>,
    pub env: BTreeMap<String, String>,
    pub ports: Vec<PortBinding>,
    pub mounts: Vec<Mount>,
    /// Network to attach to (`bridge` when `None`).
    pub network: Option<String>,
    /// Extra DNS names on `network` (user-defined networks only).
    pub network_aliases: Vec<String>,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub restart: RestartPolicy,
    pub labels: BTreeMap<String, String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub tty: bool,
    /// Keep stdin open (`-i`).
    pub stdin_open: bool,
    /// Remove the container when it exits (`--rm`).
    pub auto_remove: bool,
}

/// A published port: `host_ip:host_port:container_port/protocol`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortBinding {
    /// Host address to listen on (all addresses when `None`).
    #[serde(default)]
    pub host_ip: Option<String>,
    /// Host port; the engine picks a free one when `None`.
    #[serde(default)]
    pub host_port: Option<u16>,
    pub container_port: u16,
    #[serde(default)]
    pub protocol: Protocol,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// The three mount kinds the Docker docs name.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Mount {
    /// A named volume (`source`), or an anonymous one when `source` is `None`.
    #[serde(rename_all = "camelCase")]
    Volume {
        source: Option<String>,
        target: String,
        #[serde(default)]
        read_only: bool,
    },
    /// A host path (absolute).
    #[serde(rename_all = "camelCase")]
    Bind {
        source: String,
        target: String,
        #[serde(default)]
        read_only: bool,
    },
    /// A memory-backed filesystem, optionally size-limited.
    #[serde(rename_all = "camelCase")]
    Tmpfs {
        target: String,
        size_bytes: Option<u64>,
    },
}

/// `no`, `always`, `unless-stopped`, `on-failure[:N]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum RestartPolicy {
    #[default]
    No,
    Always,
    UnlessStopped,
    OnFailure {
        max_retries: Option<u32>,
    },
}

impl fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestartPolicy::No => f.write_str("no"),
            RestartPolicy::Always => f.write_str("always"),
            RestartPolicy::UnlessStopped => f.write_str("unless-stopped"),
            RestartPolicy::OnFailure { max_retries: None } => f.write_str("on-failure"),
            RestartPolicy::OnFailure {
                max_retries: Some(n),
            } => write!(f, "on-failure:{n}"),
        }
    }
}

impl FromStr for RestartPolicy {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            EngineError::invalid(
                "restart",
                format!("{s:?} is not no, always, unless-stopped or on-failure[:N]"),
            )
        };
        match s {
            "" | "no" => Ok(RestartPolicy::No),
            "always" => Ok(RestartPolicy::Always),
            "unless-stopped" => Ok(RestartPolicy::UnlessStopped),
            "on-failure" => Ok(RestartPolicy::OnFailure { max_retries: None }),
            _ => {
                let n = s.strip_prefix("on-failure:").ok_or_else(bad)?;
                let n = n.parse().map_err(|_| bad())?;
                Ok(RestartPolicy::OnFailure {
                    max_retries: Some(n),
                })
            }
        }
    }
}

impl TryFrom<String> for RestartPolicy {
    type Error = EngineError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<RestartPolicy> for String {
    fn from(p: RestartPolicy) -> String {
        p.to_string()
    }
}

impl RunSpec {
    pub fn new(image: impl Into<String>) -> Self {
        RunSpec {
            image: image.into(),
            ..RunSpec::default()
        }
    }

    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    pub fn cmd<S: Into<String>>(mut self, cmd: impl IntoIterator<Item = S>) -> Self {
        self.cmd = Some(cmd.into_iter().map(Into::into).collect());
        self
    }

    pub fn entrypoint<S: Into<String>>(mut self, ep: impl IntoIterator<Item = S>) -> Self {
        self.entrypoint = Some(ep.into_iter().map(Into::into).collect());
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    pub fn port(mut self, port: PortBinding) -> Self {
        self.ports.push(port);
        self
    }

    pub fn mount(mut self, mount: Mount) -> Self {
        self.mounts.push(mount);
        self
    }

    pub fn network(mut self, network: impl Into<String>) -> Self {
        self.network = Some(network.into());
        self
    }

    pub fn network_alias(mut self, alias: impl Into<String>) -> Self {
        self.network_aliases.push(alias.into());
        self
    }

    pub fn restart(mut self, policy: RestartPolicy) -> Self {
        self.restart = policy;
        self
    }

    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    pub fn working_dir(mut self, dir: impl Into<String>) -> Self {
        self.working_dir = Some(dir.into());
        self
    }

    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    pub fn tty(mut self, tty: bool) -> Self {
        self.tty = tty;
        self
    }

    pub fn stdin_open(mut self, open: bool) -> Self {
        self.stdin_open = open;
        self
    }

    pub fn auto_remove(mut self, auto_remove: bool) -> Self {
        self.auto_remove = auto_remove;
        self
    }

    /// Rejects bad input, naming the field, before anything is sent to the engine.
    pub fn validate(&self) -> Result<(), EngineError> {
        if self.image.trim().is_empty() || self.image.contains(char::is_whitespace) {
            return Err(EngineError::invalid(
                "image",
                "must be a non-empty reference without spaces",
            ));
        }
        if let Some(name) = &self.name {
            if !is_object_name(name.strip_prefix('/').unwrap_or(name)) {
                return Err(EngineError::invalid(
                    "name",
                    format!("{name:?} must match [a-zA-Z0-9][a-zA-Z0-9_.-]+"),
                ));
            }
        }
        for key in self.env.keys() {
            if key.is_empty()
                || key.contains('=')
                || key.contains(|c: char| c.is_whitespace() || c == '\0')
            {
                return Err(EngineError::invalid(
                    "env",
                    format!("bad variable name {key:?}"),
                ));
            }
        }
        for key in self.labels.keys() {
            if key.trim().is_empty() {
                return Err(EngineError::invalid("labels", "empty label key"));
            }
        }
        for (i, p) in self.ports.iter().enumerate() {
            validate_port(i, p)?;
        }
        for (i, m) in self.mounts.iter().enumerate() {
            validate_mount(i, m)?;
        }
        if let Some(dir) = &self.working_dir {
            if !dir.starts_with('/') {
                return Err(EngineError::invalid(
                    "workingDir",
                    "must be an absolute path",
                ));
            }
        }
        if self.cmd.as_ref().is_some_and(|c| c.is_empty()) {
            return Err(EngineError::invalid(
                "cmd",
                "empty command (use None for the image default)",
            ));
        }
        if !self.network_aliases.is_empty() && self.network.is_none() {
            return Err(EngineError::invalid(
                "networkAliases",
                "aliases need a user-defined network",
            ));
        }
        if matches!(self.network.as_deref(), Some("")) {
            return Err(EngineError::invalid("network", "empty network name"));
        }
        Ok(())
    }

    /// The engine's create request. Call [`RunSpec::validate`] first.
    pub fn to_container_spec(&self) -> ContainerSpec {
        ContainerSpec {
            name: self.name.clone(),
            image: self.image.clone(),
            cmd: self.cmd.clone(),
            entrypoint: self.entrypoint.clone(),
            env: self.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            labels: self.labels.clone(),
            working_dir: self.working_dir.clone(),
            user: self.user.clone(),
            tty: self.tty,
            stdin_open: self.stdin_open,
            attach: true,
            ports: self
                .ports
                .iter()
                .map(|p| PublishedPort {
                    host_ip: p.host_ip.clone(),
                    host_port: Some(p.host_port.map(|h| h.to_string()).unwrap_or_default()),
                    container_port: p.container_port,
                    protocol: p.protocol.as_str().to_string(),
                })
                .collect(),
            mounts: self.mounts.iter().map(ContainerMount::from).collect(),
            network_mode: self.network.clone(),
            endpoint: match (&self.network, self.network_aliases.is_empty()) {
                (Some(net), false) => Some((
                    net.clone(),
                    NetworkAttachment {
                        aliases: self.network_aliases.clone(),
                        ..NetworkAttachment::default()
                    },
                )),
                _ => None,
            },
            restart: Some(self.restart),
            auto_remove: Some(self.auto_remove),
            ..ContainerSpec::default()
        }
    }

    /// The engine's create body. Call [`RunSpec::validate`] first.
    pub fn to_create_body(&self) -> ContainerCreateBody {
        self.to_container_spec().to_create_body()
    }
}

/// Docker's rule for container, volume and network names.
pub(crate) fn is_object_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    first_ok
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn validate_port(i: usize, p: &PortBinding) -> Result<(), EngineError> {
    let field = format!("ports[{i}]");
    if p.container_port == 0 {
        return Err(EngineError::invalid(
            field,
            "container port 0 is out of range 1-65535",
        ));
    }
    if p.host_port == Some(0) {
        return Err(EngineError::invalid(
            field,
            "host port 0 is out of range 1-65535 (omit it for a free port)",
        ));
    }
    if let Some(ip) = &p.host_ip {
        if ip.parse::<IpAddr>().is_err() {
            return Err(EngineError::invalid(
                field,
                format!("host IP {ip:?} is not an IP address"),
            ));
        }
    }
    Ok(())
}

fn validate_mount(i: usize, m: &Mount) -> Result<(), EngineError> {
    let field = format!("mounts[{i}]");
    let target = match m {
        Mount::Volume { target, .. } | Mount::Bind { target, .. } | Mount::Tmpfs { target, .. } => {
            target
        }
    };
    if !target.starts_with('/') {
        return Err(EngineError::invalid(
            field,
            format!("target {target:?} must be an absolute path"),
        ));
    }
    match m {
        Mount::Bind { source, .. } if !std::path::Path::new(source).is_absolute() => {
            Err(EngineError::invalid(
                field,
                format!("bind source {source:?} must be an absolute path"),
            ))
        }
        Mount::Volume {
            source: Some(s), ..
        } if !is_object_name(s) => Err(EngineError::invalid(
            field,
            format!("volume name {s:?} must match [a-zA-Z0-9][a-zA-Z0-9_.-]+"),
        )),
        Mount::Tmpfs {
            size_bytes: Some(0),
            ..
        } => Err(EngineError::invalid(field, "tmpfs size must be positive")),
        Mount::Tmpfs {
            size_bytes: Some(n),
            ..
        } if i64::try_from(*n).is_err() => Err(EngineError::invalid(field, "tmpfs size too large")),
        _ => Ok(()),
    }
}

impl From<&Mount> for ContainerMount {
    fn from(m: &Mount) -> Self {
        match m {
            Mount::Volume {
                source,
                target,
                read_only,
            } => ContainerMount {
                kind: MountKind::Volume,
                source: source.clone(),
                target: target.clone(),
                read_only: *read_only,
                ..ContainerMount::default()
            },
            Mount::Bind {
                source,
                target,
                read_only,
            } => ContainerMount {
                kind: MountKind::Bind,
                source: Some(source.clone()),
                target: target.clone(),
                read_only: *read_only,
                ..ContainerMount::default()
            },
            Mount::Tmpfs { target, size_bytes } => ContainerMount {
                kind: MountKind::Tmpfs,
                target: target.clone(),
                tmpfs_size: size_bytes.and_then(|n| i64::try_from(n).ok()),
                ..ContainerMount::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_core::ErrorCode;

    fn field_of(spec: &RunSpec) -> String {
        match spec.validate().unwrap_err() {
            EngineError::InvalidInput { field, .. } => field,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    fn port(container_port: u16, host_port: Option<u16>) -> PortBinding {
        PortBinding {
            host_ip: None,
            host_port,
            container_port,
            protocol: Protocol::Tcp,
        }
    }

    #[test]
    fn valid_spec_passes() {
        let spec = RunSpec::new("busybox:latest")
            .name("web-1")
            .env("A_B", "x=y")
            .port(port(80, Some(8080)))
            .mount(Mount::Tmpfs {
                target: "/t".into(),
                size_bytes: Some(1 << 20),
            })
            .mount(Mount::Volume {
                source: Some("data".into()),
                target: "/d".into(),
                read_only: false,
            })
            .mount(Mount::Bind {
                // A host path: absolute on this OS.
                source: if cfg!(windows) { r"C:\srv" } else { "/srv" }.into(),
                target: "/srv".into(),
                read_only: true,
            })
            .restart(RestartPolicy::OnFailure {
                max_retries: Some(3),
            });
        spec.validate().unwrap();
    }

    #[test]
    fn bad_input_names_the_field() {
        assert_eq!(field_of(&RunSpec::new("")), "image");
        assert_eq!(field_of(&RunSpec::new("a").name("-x")), "name");
        assert_eq!(field_of(&RunSpec::new("a").env("A=B", "c")), "env");
        assert_eq!(field_of(&RunSpec::new("a").env("", "c")), "env");
        assert_eq!(field_of(&RunSpec::new("a").port(port(0, None))), "ports[0]");
        assert_eq!(
            field_of(&RunSpec::new("a").port(port(80, Some(0)))),
            "ports[0]"
        );
        let bad_ip = PortBinding {
            host_ip: Some("localhost".into()),
            ..port(80, None)
        };
        assert_eq!(field_of(&RunSpec::new("a").port(bad_ip)), "ports[0]");
        let rel_bind = Mount::Bind {
            source: "./src".into(),
            target: "/src".into(),
            read_only: false,
        };
        assert_eq!(field_of(&RunSpec::new("a").mount(rel_bind)), "mounts[0]");
        let rel_target = Mount::Tmpfs {
            target: "tmp".into(),
            size_bytes: None,
        };
        assert_eq!(field_of(&RunSpec::new("a").mount(rel_target)), "mounts[0]");
        let zero = Mount::Tmpfs {
            target: "/t".into(),
            size_bytes: Some(0),
        };
        assert_eq!(field_of(&RunSpec::new("a").mount(zero)), "mounts[0]");
        let vol = Mount::Volume {
            source: Some("a b".into()),
            target: "/v".into(),
            read_only: false,
        };
        assert_eq!(field_of(&RunSpec::new("a").mount(vol)), "mounts[0]");
        assert_eq!(
            field_of(&RunSpec::new("a").working_dir("rel")),
            "workingDir"
        );
        assert_eq!(
            field_of(&RunSpec::new("a").network_alias("x")),
            "networkAliases"
        );
        let empty: [&str; 0] = [];
        assert_eq!(field_of(&RunSpec::new("a").cmd(empty)), "cmd");
        assert_eq!(
            RunSpec::new("").validate().unwrap_err().code(),
            ErrorCode::InvalidInput
        );
    }

    #[test]
    fn restart_policy_strings_roundtrip() {
        for s in [
            "no",
            "always",
            "unless-stopped",
            "on-failure",
            "on-failure:5",
        ] {
            let p: RestartPolicy = s.parse().unwrap();
            assert_eq!(p.to_string(), s);
        }
        assert!("sometimes".parse::<RestartPolicy>().is_err());
        assert!("on-failure:x".parse::<RestartPolicy>().is_err());
        let json = serde_json::to_string(&RestartPolicy::OnFailure {
            max_retries: Some(2),
        })
        .unwrap();
        assert_eq!(json, "\"on-failure:2\"");
    }

    #[test]
    fn spec_serde_is_camel_case_and_defaults() {
        let spec: RunSpec = serde_json::from_str(
            r#"{"image":"x","ports":[{"containerPort":80,"hostPort":8080}],
                "mounts":[{"type":"tmpfs","target":"/t","sizeBytes":1024},
                          {"type":"bind","source":"/a","target":"/b","readOnly":true}],
                "restart":"unless-stopped","stdinOpen":true}"#,
        )
        .unwrap();
        assert_eq!(spec.ports[0].protocol, Protocol::Tcp);
        assert_eq!(spec.restart, RestartPolicy::UnlessStopped);
        assert!(spec.stdin_open);
        assert_eq!(
            spec.mounts[0],
            Mount::Tmpfs {
                target: "/t".into(),
                size_bytes: Some(1024)
            }
        );
        let back: RunSpec = serde_json::from_value(serde_json::to_value(&spec).unwrap()).unwrap();
        assert_eq!(back, spec);
    }

    #[test]
    fn create_body_golden() {
        let spec = RunSpec::new("img")
            .name("n1")
            .cmd(["sh", "-c", "true"])
            .env("K", "V")
            .port(PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(8080),
                container_port: 80,
                protocol: Protocol::Tcp,
            })
            .port(PortBinding {
                host_ip: None,
                host_port: None,
                container_port: 53,
                protocol: Protocol::Udp,
            })
            .mount(Mount::Tmpfs {
                target: "/t".into(),
                size_bytes: Some(4096),
            })
            .network("net1")
            .network_alias("web")
            .restart(RestartPolicy::OnFailure {
                max_retries: Some(2),
            })
            .label("com.docker.compose.project", "p");
        let v = serde_json::to_value(spec.to_create_body()).unwrap();
        assert_eq!(v["Image"], "img");
        assert_eq!(v["Cmd"], serde_json::json!(["sh", "-c", "true"]));
        assert_eq!(v["Env"], serde_json::json!(["K=V"]));
        assert_eq!(
            v["ExposedPorts"],
            serde_json::json!({"53/udp": {}, "80/tcp": {}})
        );
        let hc = &v["HostConfig"];
        assert_eq!(
            hc["PortBindings"]["80/tcp"],
            serde_json::json!([{"HostIp": "127.0.0.1", "HostPort": "8080"}])
        );
        assert_eq!(
            hc["PortBindings"]["53/udp"],
            serde_json::json!([{"HostPort": ""}])
        );
        assert_eq!(
            hc["Mounts"][0],
            serde_json::json!({"Target": "/t", "Type": "tmpfs", "TmpfsOptions": {"SizeBytes": 4096}})
        );
        assert_eq!(hc["NetworkMode"], "net1");
        assert_eq!(
            hc["RestartPolicy"],
            serde_json::json!({"Name": "on-failure", "MaximumRetryCount": 2})
        );
        assert_eq!(
            v["NetworkingConfig"]["EndpointsConfig"]["net1"]["Aliases"],
            serde_json::json!(["web"])
        );
        assert_eq!(v["Labels"]["com.docker.compose.project"], "p");
    }
}
