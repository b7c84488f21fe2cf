//! `ContainerSpec`: the engine's container-create request in Berth's words. Both `docker run`
//! ([`crate::RunSpec`]) and compose fill one; this is the only place that builds bollard's
//! create body.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    ContainerCreateBody, DeviceMapping, EndpointIpamConfig, EndpointSettings, HealthConfig,
    HostConfig, HostConfigLogConfig, MountBindOptions, MountBindOptionsPropagationEnum,
    MountTmpfsOptions, MountType, MountVolumeOptions, NetworkingConfig, ResourcesUlimits,
    RestartPolicyNameEnum,
};

use crate::container_tuning::ContainerTuning;
use crate::RestartPolicy;

/// Everything the engine is told when a container is created. Empty lists and maps are left
/// out of the request; the engine's defaults apply.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainerSpec {
    /// The engine picks a name when `None`.
    pub name: Option<String>,
    pub image: String,
    /// Replaces the image's CMD when `Some`.
    pub cmd: Option<Vec<String>>,
    /// Replaces the image's ENTRYPOINT when `Some`.
    pub entrypoint: Option<Vec<String>>,
    /// `KEY=VALUE` entries.
    pub env: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub tty: bool,
    /// Keep stdin open (`-i`).
    pub stdin_open: bool,
    /// Attach stdout and stderr (and stdin when it is open), as `docker run` does.
    pub attach: bool,
    /// Ports exposed without publishing: `port[/protocol]`, tcp when no protocol is given.
    pub expose: Vec<String>,
    pub ports: Vec<PublishedPort>,
    /// `source:target[:options]` binds (the engine creates a missing host path).
    pub binds: Vec<String>,
    pub mounts: Vec<ContainerMount>,
    /// `bridge`, `host`, `none`, `container:<id>` or a network's name.
    pub network_mode: Option<String>,
    /// The network attached at create, with this container's settings on it.
    pub endpoint: Option<(String, NetworkAttachment)>,
    pub restart: Option<RestartPolicy>,
    /// Remove the container when it exits (`--rm`).
    pub auto_remove: Option<bool>,
    pub healthcheck: Option<Healthcheck>,
    pub stop_signal: Option<String>,
    /// Seconds to wait after the stop signal before killing.
    pub stop_timeout: Option<i64>,
    pub privileged: Option<bool>,
    pub read_only_rootfs: Option<bool>,
    pub init: Option<bool>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub dns: Vec<String>,
    /// `host:ip` entries.
    pub extra_hosts: Vec<String>,
    pub security_opt: Vec<String>,
    pub group_add: Vec<String>,
    pub sysctls: BTreeMap<String, String>,
    /// `path[:options]` entries.
    pub tmpfs: Vec<String>,
    /// `host[:container[:permissions]]` entries.
    pub devices: Vec<String>,
    pub ulimits: Vec<Ulimit>,
    pub log_config: Option<LogConfig>,
    /// Bytes.
    pub memory: Option<i64>,
    /// Bytes.
    pub shm_size: Option<i64>,
    /// CPU quota in billionths of a CPU.
    pub nano_cpus: Option<i64>,
    pub ipc_mode: Option<String>,
    pub pid_mode: Option<String>,
    pub userns_mode: Option<String>,
    /// `os[/arch[/variant]]` the image must be for; the engine's own when `None`.
    pub platform: Option<String>,
    /// The rarer host settings (cgroup resources, DNS options, runtime, links, ...).
    pub tuning: ContainerTuning,
}

/// A published port, as the engine takes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublishedPort {
    /// All addresses when `None`.
    pub host_ip: Option<String>,
    /// A port or a range (`8000-8010`); the engine picks a free one when `None` or empty.
    pub host_port: Option<String>,
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
}

impl PublishedPort {
    /// The engine's key for the port: `80/tcp`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.container_port, self.protocol)
    }
}

/// What a mount is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MountKind {
    #[default]
    Volume,
    Bind,
    Tmpfs,
}

/// A mount, as the engine takes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerMount {
    pub kind: MountKind,
    /// A volume's name (anonymous when `None`) or a host path; nothing for tmpfs.
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
    /// Volumes: do not copy the image's files into an empty volume.
    pub no_copy: bool,
    /// Tmpfs: its size in bytes.
    pub tmpfs_size: Option<i64>,
    /// Tmpfs: the file mode of its root (`0o1777`).
    pub tmpfs_mode: Option<i64>,
    /// Bind: `private`, `rprivate`, `shared`, `rshared`, `slave` or `rslave`.
    pub propagation: Option<String>,
    /// Bind: do not mount the submounts of the source.
    pub non_recursive: bool,
    /// Bind, read-only: leave submounts writable.
    pub read_only_non_recursive: bool,
    /// Bind, read-only: make submounts read-only too (the engine fails when it cannot).
    pub read_only_force_recursive: bool,
    /// Volume: labels of the volume when the engine creates it for this mount.
    pub volume_labels: BTreeMap<String, String>,
    /// Volume: mount this path inside the volume instead of its root.
    pub subpath: Option<String>,
    /// `consistent`, `cached` or `delegated` (meaningful to Docker Desktop for Mac only).
    pub consistency: Option<String>,
}

/// A container's settings on one network.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkAttachment {
    /// Extra DNS names of the container on this network.
    pub aliases: Vec<String>,
    pub ipv4_address: Option<String>,
    pub ipv6_address: Option<String>,
    pub mac_address: Option<String>,
    pub link_local_ips: Vec<String>,
    pub driver_opts: BTreeMap<String, String>,
    /// Which network's gateway is the default route (highest wins).
    pub gw_priority: Option<i64>,
    /// `container:alias` links, which a user-defined network resolves as aliases.
    pub links: Vec<String>,
}

/// A health probe; durations in nanoseconds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Healthcheck {
    /// `["CMD", ...]`, `["CMD-SHELL", "..."]` or `["NONE"]`.
    pub test: Vec<String>,
    pub interval: Option<i64>,
    pub timeout: Option<i64>,
    pub retries: Option<i64>,
    pub start_period: Option<i64>,
    pub start_interval: Option<i64>,
}

/// A resource limit (`nofile`, `nproc`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// Where the container's logs go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogConfig {
    /// The engine's default driver when `None`.
    pub driver: Option<String>,
    pub options: BTreeMap<String, String>,
}

fn non_empty<T: Clone>(list: &[T]) -> Option<Vec<T>> {
    (!list.is_empty()).then(|| list.to_vec())
}

impl NetworkAttachment {
    pub(crate) fn to_endpoint_settings(&self) -> EndpointSettings {
        let has_address = self.ipv4_address.is_some()
            || self.ipv6_address.is_some()
            || !self.link_local_ips.is_empty();
        EndpointSettings {
            aliases: non_empty(&self.aliases),
            ipam_config: has_address.then(|| EndpointIpamConfig {
                ipv4_address: self.ipv4_address.clone(),
                ipv6_address: self.ipv6_address.clone(),
                link_local_ips: non_empty(&self.link_local_ips),
            }),
            mac_address: self.mac_address.clone(),
            driver_opts: (!self.driver_opts.is_empty())
                .then(|| self.driver_opts.clone().into_iter().collect()),
            gw_priority: self.gw_priority,
            links: non_empty(&self.links),
            ..Default::default()
        }
    }
}

impl ContainerMount {
    fn to_bollard(&self) -> bollard::models::Mount {
        bollard::models::Mount {
            target: Some(self.target.clone()),
            source: self.source.clone(),
            typ: Some(match self.kind {
                MountKind::Volume => MountType::VOLUME,
                MountKind::Bind => MountType::BIND,
                MountKind::Tmpfs => MountType::TMPFS,
            }),
            read_only: match self.kind {
                MountKind::Tmpfs => self.read_only.then_some(true),
                MountKind::Volume | MountKind::Bind => Some(self.read_only),
            },
            volume_options: (self.kind == MountKind::Volume
                && (self.no_copy || self.subpath.is_some() || !self.volume_labels.is_empty()))
            .then(|| MountVolumeOptions {
                no_copy: self.no_copy.then_some(true),
                subpath: self.subpath.clone(),
                labels: (!self.volume_labels.is_empty())
                    .then(|| self.volume_labels.clone().into_iter().collect()),
                ..Default::default()
            }),
            tmpfs_options: (self.tmpfs_size.is_some() || self.tmpfs_mode.is_some()).then(|| {
                MountTmpfsOptions {
                    size_bytes: self.tmpfs_size,
                    mode: self.tmpfs_mode,
                    ..Default::default()
                }
            }),
            bind_options: (self.kind == MountKind::Bind
                && (self.propagation.is_some()
                    || self.non_recursive
                    || self.read_only_non_recursive
                    || self.read_only_force_recursive))
                .then(|| MountBindOptions {
                    propagation: self
                        .propagation
                        .as_deref()
                        .and_then(|p| p.parse::<MountBindOptionsPropagationEnum>().ok()),
                    non_recursive: self.non_recursive.then_some(true),
                    read_only_non_recursive: self.read_only_non_recursive.then_some(true),
                    read_only_force_recursive: self.read_only_force_recursive.then_some(true),
                    ..Default::default()
                }),
            consistency: self.consistency.clone(),
            ..Default::default()
        }
    }
}

/// `host[:container[:permissions]]`.
fn device(spec: &str) -> DeviceMapping {
    let mut parts = spec.split(':');
    let host = parts.next().unwrap_or_default().to_string();
    let container = parts.next().map_or_else(|| host.clone(), str::to_string);
    DeviceMapping {
        path_on_host: Some(host),
        path_in_container: Some(container),
        cgroup_permissions: Some(parts.next().unwrap_or("rwm").to_string()),
    }
}

fn to_bollard_restart(p: RestartPolicy) -> bollard::models::RestartPolicy {
    let (name, max) = match p {
        RestartPolicy::No => (RestartPolicyNameEnum::NO, None),
        RestartPolicy::Always => (RestartPolicyNameEnum::ALWAYS, None),
        RestartPolicy::UnlessStopped => (RestartPolicyNameEnum::UNLESS_STOPPED, None),
        RestartPolicy::OnFailure { max_retries } => (
            RestartPolicyNameEnum::ON_FAILURE,
            max_retries.map(i64::from),
        ),
    };
    bollard::models::RestartPolicy {
        name: Some(name),
        maximum_retry_count: max,
    }
}

impl ContainerSpec {
    pub fn new(image: impl Into<String>) -> Self {
        ContainerSpec {
            image: image.into(),
            ..ContainerSpec::default()
        }
    }

    /// The ports the container exposes: `expose`, then every published port.
    fn exposed_ports(&self) -> Vec<String> {
        let mut exposed: Vec<String> = self
            .expose
            .iter()
            .map(|e| {
                if e.contains('/') {
                    e.clone()
                } else {
                    format!("{e}/tcp")
                }
            })
            .collect();
        for p in &self.ports {
            let key = p.key();
            if !exposed.contains(&key) {
                exposed.push(key);
            }
        }
        exposed
    }

    fn port_bindings(&self) -> HashMap<String, Option<Vec<bollard::models::PortBinding>>> {
        let mut bindings: HashMap<String, Option<Vec<bollard::models::PortBinding>>> =
            HashMap::new();
        for p in &self.ports {
            bindings
                .entry(p.key())
                .or_insert_with(|| Some(Vec::new()))
                .get_or_insert_with(Vec::new)
                .push(bollard::models::PortBinding {
                    host_ip: p.host_ip.clone(),
                    host_port: p.host_port.clone(),
                });
        }
        bindings
    }

    fn host_config(&self) -> HostConfig {
        let bindings = self.port_bindings();
        let mut hc = HostConfig {
            binds: non_empty(&self.binds),
            mounts: (!self.mounts.is_empty())
                .then(|| self.mounts.iter().map(ContainerMount::to_bollard).collect()),
            port_bindings: (!bindings.is_empty()).then_some(bindings),
            restart_policy: self.restart.map(to_bollard_restart),
            auto_remove: self.auto_remove,
            network_mode: self.network_mode.clone(),
            cap_add: non_empty(&self.cap_add),
            cap_drop: non_empty(&self.cap_drop),
            dns: non_empty(&self.dns),
            extra_hosts: non_empty(&self.extra_hosts),
            init: self.init,
            privileged: self.privileged,
            readonly_rootfs: self.read_only_rootfs,
            security_opt: non_empty(&self.security_opt),
            shm_size: self.shm_size,
            sysctls: (!self.sysctls.is_empty()).then(|| self.sysctls.clone().into_iter().collect()),
            tmpfs: (!self.tmpfs.is_empty()).then(|| {
                self.tmpfs
                    .iter()
                    .map(|t| match t.split_once(':') {
                        Some((p, o)) => (p.to_string(), o.to_string()),
                        None => (t.clone(), String::new()),
                    })
                    .collect()
            }),
            log_config: self.log_config.as_ref().map(|lg| HostConfigLogConfig {
                typ: lg.driver.clone(),
                config: Some(lg.options.clone().into_iter().collect()),
            }),
            memory: self.memory,
            ulimits: (!self.ulimits.is_empty()).then(|| {
                self.ulimits
                    .iter()
                    .map(|u| ResourcesUlimits {
                        name: Some(u.name.clone()),
                        soft: Some(u.soft),
                        hard: Some(u.hard),
                    })
                    .collect()
            }),
            devices: (!self.devices.is_empty())
                .then(|| self.devices.iter().map(|d| device(d)).collect()),
            group_add: non_empty(&self.group_add),
            ipc_mode: self.ipc_mode.clone(),
            pid_mode: self.pid_mode.clone(),
            userns_mode: self.userns_mode.clone(),
            nano_cpus: self.nano_cpus,
            ..HostConfig::default()
        };
        self.tuning.apply(&mut hc);
        hc
    }

    /// The engine's create body.
    pub fn to_create_body(&self) -> ContainerCreateBody {
        let exposed = self.exposed_ports();
        let networking_config = self
            .endpoint
            .as_ref()
            .map(|(net, attachment)| NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    net.clone(),
                    attachment.to_endpoint_settings(),
                )])),
            });
        ContainerCreateBody {
            image: Some(self.image.clone()),
            cmd: self.cmd.clone(),
            entrypoint: self.entrypoint.clone(),
            env: non_empty(&self.env),
            working_dir: self.working_dir.clone(),
            user: self.user.clone(),
            hostname: self.hostname.clone(),
            domainname: self.domainname.clone(),
            tty: Some(self.tty),
            open_stdin: Some(self.stdin_open),
            attach_stdin: self.attach.then_some(self.stdin_open),
            attach_stdout: self.attach.then_some(true),
            attach_stderr: self.attach.then_some(true),
            labels: (!self.labels.is_empty()).then(|| self.labels.clone().into_iter().collect()),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            healthcheck: self.healthcheck.as_ref().map(|h| HealthConfig {
                test: Some(h.test.clone()),
                interval: h.interval,
                timeout: h.timeout,
                retries: h.retries,
                start_period: h.start_period,
                start_interval: h.start_interval,
            }),
            stop_signal: self.stop_signal.clone(),
            stop_timeout: self.stop_timeout,
            host_config: Some(self.host_config()),
            networking_config,
            ..ContainerCreateBody::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposes_published_ports_once_after_the_exposed_ones() {
        let spec = ContainerSpec {
            expose: vec!["9000".into(), "53/udp".into()],
            ports: vec![
                PublishedPort {
                    host_port: Some("8080".into()),
                    container_port: 80,
                    protocol: "tcp".into(),
                    ..Default::default()
                },
                PublishedPort {
                    host_port: Some("8081".into()),
                    container_port: 80,
                    protocol: "tcp".into(),
                    ..Default::default()
                },
            ],
            ..ContainerSpec::new("img")
        };
        let body = spec.to_create_body();
        assert_eq!(
            body.exposed_ports.unwrap(),
            ["9000/tcp", "53/udp", "80/tcp"]
        );
        let bindings = body.host_config.unwrap().port_bindings.unwrap();
        assert_eq!(bindings["80/tcp"].as_ref().unwrap().len(), 2);
    }

    #[test]
    fn host_settings_reach_the_host_config() {
        let spec = ContainerSpec {
            devices: vec!["/dev/fuse".into(), "/dev/a:/dev/b:r".into()],
            tmpfs: vec!["/run:size=1m".into(), "/tmp".into()],
            ulimits: vec![Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: 2048,
            }],
            endpoint: Some((
                "net".into(),
                NetworkAttachment {
                    ipv4_address: Some("10.0.0.5".into()),
                    ..Default::default()
                },
            )),
            ..ContainerSpec::new("img")
        };
        let body = spec.to_create_body();
        let hc = body.host_config.unwrap();
        let devices = hc.devices.unwrap();
        assert_eq!(devices[0].path_in_container.as_deref(), Some("/dev/fuse"));
        assert_eq!(devices[0].cgroup_permissions.as_deref(), Some("rwm"));
        assert_eq!(devices[1].path_in_container.as_deref(), Some("/dev/b"));
        assert_eq!(devices[1].cgroup_permissions.as_deref(), Some("r"));
        let tmpfs = hc.tmpfs.unwrap();
        assert_eq!(tmpfs["/run"], "size=1m");
        assert_eq!(tmpfs["/tmp"], "");
        assert_eq!(hc.ulimits.unwrap()[0].hard, Some(2048));
        let eps = body.networking_config.unwrap().endpoints_config.unwrap();
        assert_eq!(
            eps["net"]
                .ipam_config
                .as_ref()
                .unwrap()
                .ipv4_address
                .as_deref(),
            Some("10.0.0.5")
        );
        assert!(eps["net"].aliases.is_none());
        assert!(body.env.is_none() && body.labels.is_none());
    }
}
