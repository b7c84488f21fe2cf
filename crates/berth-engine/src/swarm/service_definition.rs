//! A service as a stack (or the dashboard) defines it: Berth's own type, turned into the
//! engine's `ServiceSpec` here so nothing above berth-engine speaks bollard.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    EndpointPortConfig, EndpointPortConfigProtocolEnum, EndpointPortConfigPublishModeEnum,
    EndpointSpec, EndpointSpecModeEnum, HealthConfig, Limit, Mount, MountBindOptions,
    MountTmpfsOptions, MountType, MountVolumeOptions, NetworkAttachmentConfig, ResourceObject,
    ResourcesUlimits, ServiceSpec, ServiceSpecMode, ServiceSpecRollbackConfig,
    ServiceSpecRollbackConfigFailureActionEnum, ServiceSpecRollbackConfigOrderEnum,
    ServiceSpecUpdateConfig, ServiceSpecUpdateConfigFailureActionEnum,
    ServiceSpecUpdateConfigOrderEnum, TaskSpec, TaskSpecContainerSpec,
    TaskSpecContainerSpecConfigs, TaskSpecContainerSpecDnsConfig, TaskSpecContainerSpecFile,
    TaskSpecContainerSpecFile1, TaskSpecContainerSpecSecrets, TaskSpecLogDriver, TaskSpecPlacement,
    TaskSpecPlacementPreferences, TaskSpecPlacementSpread, TaskSpecResources,
    TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum,
};
use serde::{Deserialize, Serialize};

use crate::container_spec::{Healthcheck, Ulimit};

/// Replicated with a count, or one task on every node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ServiceMode {
    Replicated(u64),
    Global,
}

impl Default for ServiceMode {
    fn default() -> Self {
        ServiceMode::Replicated(1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureAction {
    Continue,
    Pause,
    Rollback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateOrder {
    StopFirst,
    StartFirst,
}

/// `update_config` or `rollback_config`; durations in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UpdatePolicy {
    pub parallelism: Option<u64>,
    pub delay_ns: Option<i64>,
    pub failure_action: Option<FailureAction>,
    pub monitor_ns: Option<i64>,
    pub max_failure_ratio: Option<f64>,
    pub order: Option<UpdateOrder>,
}

/// `deploy.restart_policy`; durations in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceRestart {
    /// `none`, `on-failure` or `any`.
    pub condition: Option<String>,
    pub delay_ns: Option<i64>,
    pub max_attempts: Option<u64>,
    pub window_ns: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointMode {
    Vip,
    Dnsrr,
}

/// A published port: `ingress` (routing mesh) or `host` mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePort {
    pub target: u16,
    pub published: Option<u16>,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
    /// `ingress` or `host`.
    pub mode: String,
}

/// A secret or config given to the service's containers as a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceFile {
    /// The object's id and name on the engine.
    pub id: String,
    pub name: String,
    /// Secrets: a name under `/run/secrets`, or a path; configs: a path.
    pub target: String,
    /// Owner of the file in the container (`0` when not given).
    pub uid: Option<String>,
    pub gid: Option<String>,
    /// `0o444` when not given.
    pub mode: Option<u32>,
}

/// A bind, volume or tmpfs mount of the service's containers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceMount {
    /// `bind`, `volume` or `tmpfs`.
    pub kind: String,
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
    pub volume_labels: BTreeMap<String, String>,
    pub no_copy: bool,
    pub tmpfs_size: Option<i64>,
}

/// Everything Berth sets on a service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceDefinition {
    pub name: String,
    /// The service's labels (`deploy.labels` and a stack's).
    pub labels: BTreeMap<String, String>,
    pub image: String,
    /// The containers' labels (the compose service's `labels`).
    pub container_labels: BTreeMap<String, String>,
    /// Replaces the image's ENTRYPOINT.
    pub entrypoint: Option<Vec<String>>,
    /// Replaces the image's CMD.
    pub args: Option<Vec<String>>,
    /// `KEY=VALUE`.
    pub env: Vec<String>,
    pub hostname: Option<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub groups: Vec<String>,
    pub tty: bool,
    pub open_stdin: bool,
    pub read_only: bool,
    pub init: Option<bool>,
    pub stop_signal: Option<String>,
    pub stop_grace_period_ns: Option<i64>,
    pub healthcheck: Option<Healthcheck>,
    /// `IP HOSTNAME` lines (the engine's `Hosts`).
    pub hosts: Vec<String>,
    pub dns: Vec<String>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub sysctls: BTreeMap<String, String>,
    pub ulimits: Vec<Ulimit>,
    pub mounts: Vec<ServiceMount>,
    pub secrets: Vec<ServiceFile>,
    pub configs: Vec<ServiceFile>,
    pub log_driver: Option<String>,
    pub log_options: BTreeMap<String, String>,
    pub mode: ServiceMode,
    pub update: Option<UpdatePolicy>,
    pub rollback: Option<UpdatePolicy>,
    pub restart: Option<ServiceRestart>,
    pub constraints: Vec<String>,
    /// `spread` descriptors, e.g. `node.labels.zone`.
    pub preferences: Vec<String>,
    pub max_replicas_per_node: Option<u64>,
    pub limit_nano_cpus: Option<i64>,
    pub limit_memory: Option<i64>,
    pub limit_pids: Option<i64>,
    pub reserve_nano_cpus: Option<i64>,
    pub reserve_memory: Option<i64>,
    /// Network names or ids, each with its aliases.
    pub networks: Vec<(String, Vec<String>)>,
    pub endpoint_mode: Option<EndpointMode>,
    pub ports: Vec<ServicePort>,
}

fn map(m: &BTreeMap<String, String>) -> Option<HashMap<String, String>> {
    (!m.is_empty()).then(|| m.clone().into_iter().collect())
}

fn list(v: &[String]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| v.to_vec())
}

fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn mode_spec(mode: ServiceMode) -> ServiceSpecMode {
    match mode {
        ServiceMode::Replicated(n) => ServiceSpecMode {
            replicated: Some(bollard::models::ServiceSpecModeReplicated {
                replicas: Some(i64_of(n)),
            }),
            ..Default::default()
        },
        ServiceMode::Global => ServiceSpecMode {
            global: Some(HashMap::new()),
            ..Default::default()
        },
    }
}

fn update_spec(p: &UpdatePolicy) -> ServiceSpecUpdateConfig {
    ServiceSpecUpdateConfig {
        parallelism: p.parallelism.map(i64_of),
        delay: p.delay_ns,
        failure_action: p.failure_action.map(|a| match a {
            FailureAction::Continue => ServiceSpecUpdateConfigFailureActionEnum::CONTINUE,
            FailureAction::Pause => ServiceSpecUpdateConfigFailureActionEnum::PAUSE,
            FailureAction::Rollback => ServiceSpecUpdateConfigFailureActionEnum::ROLLBACK,
        }),
        monitor: p.monitor_ns,
        max_failure_ratio: p.max_failure_ratio,
        order: p.order.map(|o| match o {
            UpdateOrder::StopFirst => ServiceSpecUpdateConfigOrderEnum::STOP_FIRST,
            UpdateOrder::StartFirst => ServiceSpecUpdateConfigOrderEnum::START_FIRST,
        }),
    }
}

fn rollback_spec(p: &UpdatePolicy) -> ServiceSpecRollbackConfig {
    ServiceSpecRollbackConfig {
        parallelism: p.parallelism.map(i64_of),
        delay: p.delay_ns,
        failure_action: p.failure_action.map(|a| match a {
            FailureAction::Continue => ServiceSpecRollbackConfigFailureActionEnum::CONTINUE,
            // A rollback cannot roll back; the engine pauses it.
            FailureAction::Pause | FailureAction::Rollback => {
                ServiceSpecRollbackConfigFailureActionEnum::PAUSE
            }
        }),
        monitor: p.monitor_ns,
        max_failure_ratio: p.max_failure_ratio,
        order: p.order.map(|o| match o {
            UpdateOrder::StopFirst => ServiceSpecRollbackConfigOrderEnum::STOP_FIRST,
            UpdateOrder::StartFirst => ServiceSpecRollbackConfigOrderEnum::START_FIRST,
        }),
    }
}

fn restart_spec(r: &ServiceRestart) -> TaskSpecRestartPolicy {
    TaskSpecRestartPolicy {
        condition: r.condition.as_deref().map(|c| match c {
            "none" => TaskSpecRestartPolicyConditionEnum::NONE,
            "on-failure" => TaskSpecRestartPolicyConditionEnum::ON_FAILURE,
            _ => TaskSpecRestartPolicyConditionEnum::ANY,
        }),
        delay: r.delay_ns,
        max_attempts: r.max_attempts.map(i64_of),
        window: r.window_ns,
    }
}

fn health_spec(h: &Healthcheck) -> HealthConfig {
    HealthConfig {
        test: Some(h.test.clone()),
        interval: h.interval,
        timeout: h.timeout,
        retries: h.retries,
        start_period: h.start_period,
        start_interval: h.start_interval,
    }
}

fn mount_spec(m: &ServiceMount) -> Mount {
    let typ = match m.kind.as_str() {
        "bind" => MountType::BIND,
        "tmpfs" => MountType::TMPFS,
        _ => MountType::VOLUME,
    };
    Mount {
        target: Some(m.target.clone()),
        source: m.source.clone(),
        read_only: Some(m.read_only),
        volume_options: (typ == MountType::VOLUME).then(|| MountVolumeOptions {
            no_copy: Some(m.no_copy),
            labels: map(&m.volume_labels),
            ..Default::default()
        }),
        tmpfs_options: m.tmpfs_size.map(|size| MountTmpfsOptions {
            size_bytes: Some(size),
            ..Default::default()
        }),
        bind_options: (typ == MountType::BIND).then(MountBindOptions::default),
        typ: Some(typ),
        ..Default::default()
    }
}

fn port_spec(p: &ServicePort) -> EndpointPortConfig {
    EndpointPortConfig {
        protocol: Some(match p.protocol.as_str() {
            "udp" => EndpointPortConfigProtocolEnum::UDP,
            "sctp" => EndpointPortConfigProtocolEnum::SCTP,
            _ => EndpointPortConfigProtocolEnum::TCP,
        }),
        target_port: Some(i64::from(p.target)),
        published_port: p.published.map(i64::from),
        publish_mode: Some(match p.mode.as_str() {
            "host" => EndpointPortConfigPublishModeEnum::HOST,
            _ => EndpointPortConfigPublishModeEnum::INGRESS,
        }),
        ..Default::default()
    }
}

impl ServiceDefinition {
    fn container_spec(&self) -> TaskSpecContainerSpec {
        let owner = |id: &Option<String>| Some(id.clone().unwrap_or_else(|| "0".into()));
        let secrets = self
            .secrets
            .iter()
            .map(|s| TaskSpecContainerSpecSecrets {
                file: Some(TaskSpecContainerSpecFile {
                    name: Some(s.target.clone()),
                    uid: owner(&s.uid),
                    gid: owner(&s.gid),
                    mode: Some(s.mode.unwrap_or(0o444)),
                }),
                secret_id: Some(s.id.clone()),
                secret_name: Some(s.name.clone()),
            })
            .collect::<Vec<_>>();
        let configs = self
            .configs
            .iter()
            .map(|c| TaskSpecContainerSpecConfigs {
                file: Some(TaskSpecContainerSpecFile1 {
                    name: Some(c.target.clone()),
                    uid: owner(&c.uid),
                    gid: owner(&c.gid),
                    mode: Some(c.mode.unwrap_or(0o444)),
                }),
                config_id: Some(c.id.clone()),
                config_name: Some(c.name.clone()),
                ..Default::default()
            })
            .collect::<Vec<_>>();
        TaskSpecContainerSpec {
            image: Some(self.image.clone()),
            labels: map(&self.container_labels),
            command: self.entrypoint.clone(),
            args: self.args.clone(),
            hostname: self.hostname.clone(),
            env: list(&self.env),
            dir: self.working_dir.clone(),
            user: self.user.clone(),
            groups: list(&self.groups),
            tty: Some(self.tty),
            open_stdin: Some(self.open_stdin),
            read_only: Some(self.read_only),
            mounts: (!self.mounts.is_empty()).then(|| self.mounts.iter().map(mount_spec).collect()),
            stop_signal: self.stop_signal.clone(),
            stop_grace_period: self.stop_grace_period_ns,
            health_check: self.healthcheck.as_ref().map(health_spec),
            hosts: list(&self.hosts),
            dns_config: (!self.dns.is_empty()).then(|| TaskSpecContainerSpecDnsConfig {
                nameservers: Some(self.dns.clone()),
                ..Default::default()
            }),
            secrets: (!secrets.is_empty()).then_some(secrets),
            configs: (!configs.is_empty()).then_some(configs),
            init: self.init,
            sysctls: map(&self.sysctls),
            capability_add: list(&self.cap_add),
            capability_drop: list(&self.cap_drop),
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
            ..Default::default()
        }
    }

    fn resources(&self) -> Option<TaskSpecResources> {
        let limits = (self.limit_nano_cpus.is_some()
            || self.limit_memory.is_some()
            || self.limit_pids.is_some())
        .then_some(Limit {
            nano_cpus: self.limit_nano_cpus,
            memory_bytes: self.limit_memory,
            pids: self.limit_pids,
        });
        let reservations = (self.reserve_nano_cpus.is_some() || self.reserve_memory.is_some())
            .then_some(ResourceObject {
                nano_cpus: self.reserve_nano_cpus,
                memory_bytes: self.reserve_memory,
                ..Default::default()
            });
        (limits.is_some() || reservations.is_some()).then(|| TaskSpecResources {
            limits,
            reservations,
            ..Default::default()
        })
    }

    fn placement(&self) -> Option<TaskSpecPlacement> {
        let preferences = self
            .preferences
            .iter()
            .map(|p| TaskSpecPlacementPreferences {
                spread: Some(TaskSpecPlacementSpread {
                    spread_descriptor: Some(p.clone()),
                }),
            })
            .collect::<Vec<_>>();
        (!self.constraints.is_empty()
            || !preferences.is_empty()
            || self.max_replicas_per_node.is_some())
        .then(|| TaskSpecPlacement {
            constraints: list(&self.constraints),
            preferences: (!preferences.is_empty()).then_some(preferences),
            max_replicas: self.max_replicas_per_node.map(i64_of),
            ..Default::default()
        })
    }

    /// The engine's spec for this definition.
    pub fn to_spec(&self) -> ServiceSpec {
        let networks = self
            .networks
            .iter()
            .map(|(target, aliases)| NetworkAttachmentConfig {
                target: Some(target.clone()),
                aliases: list(aliases),
                ..Default::default()
            })
            .collect::<Vec<_>>();
        let endpoint =
            (self.endpoint_mode.is_some() || !self.ports.is_empty()).then(|| EndpointSpec {
                mode: self.endpoint_mode.map(|m| match m {
                    EndpointMode::Vip => EndpointSpecModeEnum::VIP,
                    EndpointMode::Dnsrr => EndpointSpecModeEnum::DNSRR,
                }),
                ports: list_of(self.ports.iter().map(port_spec).collect()),
            });
        ServiceSpec {
            name: Some(self.name.clone()),
            labels: map(&self.labels),
            task_template: Some(TaskSpec {
                container_spec: Some(self.container_spec()),
                resources: self.resources(),
                restart_policy: self.restart.as_ref().map(restart_spec),
                placement: self.placement(),
                networks: list_of(networks),
                log_driver: self.log_driver.as_ref().map(|name| TaskSpecLogDriver {
                    name: Some(name.clone()),
                    options: map(&self.log_options),
                }),
                ..Default::default()
            }),
            mode: Some(mode_spec(self.mode)),
            update_config: self.update.as_ref().map(update_spec),
            rollback_config: self.rollback.as_ref().map(rollback_spec),
            endpoint_spec: endpoint,
            ..Default::default()
        }
    }
}

fn list_of<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stack_service_becomes_the_engines_spec() {
        let def = ServiceDefinition {
            name: "app_web".into(),
            image: "busybox".into(),
            labels: BTreeMap::from([("com.docker.stack.namespace".into(), "app".into())]),
            mode: ServiceMode::Replicated(3),
            update: Some(UpdatePolicy {
                parallelism: Some(1),
                failure_action: Some(FailureAction::Rollback),
                order: Some(UpdateOrder::StartFirst),
                ..Default::default()
            }),
            secrets: vec![ServiceFile {
                id: "s1".into(),
                name: "app_token".into(),
                target: "token".into(),
                uid: None,
                gid: Some("1000".into()),
                mode: None,
            }],
            networks: vec![("app_default".into(), vec!["web".into()])],
            endpoint_mode: Some(EndpointMode::Dnsrr),
            limit_nano_cpus: Some(500_000_000),
            ..Default::default()
        };
        let json = serde_json::to_value(def.to_spec()).unwrap();
        assert_eq!(json["Mode"]["Replicated"]["Replicas"], 3);
        assert_eq!(json["UpdateConfig"]["Parallelism"], 1);
        assert_eq!(json["UpdateConfig"]["FailureAction"], "rollback");
        assert_eq!(json["UpdateConfig"]["Order"], "start-first");
        let secret = &json["TaskTemplate"]["ContainerSpec"]["Secrets"][0];
        assert_eq!(secret["SecretID"], "s1");
        assert_eq!(secret["File"]["Name"], "token");
        assert_eq!(secret["File"]["Mode"], 0o444);
        assert_eq!(
            (&secret["File"]["UID"], &secret["File"]["GID"]),
            (&"0".into(), &"1000".into())
        );
        assert_eq!(json["TaskTemplate"]["Networks"][0]["Target"], "app_default");
        assert_eq!(json["TaskTemplate"]["Networks"][0]["Aliases"][0], "web");
        assert_eq!(json["EndpointSpec"]["Mode"], "dnsrr");
        assert_eq!(
            json["TaskTemplate"]["Resources"]["Limits"]["NanoCPUs"],
            500_000_000
        );
    }

    #[test]
    fn a_global_service_has_no_replica_count() {
        let def = ServiceDefinition {
            name: "agent".into(),
            image: "busybox".into(),
            mode: ServiceMode::Global,
            ..Default::default()
        };
        let json = serde_json::to_value(def.to_spec()).unwrap();
        assert!(json["Mode"]["Global"].is_object(), "{json}");
        assert!(json["Mode"]["Replicated"].is_null());
    }
}
