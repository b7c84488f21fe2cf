//! The normalized compose model: what `berth compose config` prints and what the planner reads.
//! Field names are the Compose Specification's; maps are sorted like `docker compose config`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use sha2::{Digest, Sha256};

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Project {
    pub name: String,
    pub services: BTreeMap<String, Service>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, Network>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Volume>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, FileObject>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub configs: BTreeMap<String, FileObject>,
    /// The project directory (relative paths resolve against it).
    #[serde(skip)]
    pub working_dir: PathBuf,
    /// The compose files, in the order they were merged.
    #[serde(skip)]
    pub config_files: Vec<PathBuf>,
    /// Services present in the files but not enabled by the active profiles.
    #[serde(skip)]
    pub disabled: Vec<String>,
    /// Non-fatal findings (unset variables, obsolete `version`).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl Project {
    /// Services in an order where every service comes after what it depends on.
    /// (The loader has already rejected cycles.)
    pub fn services_in_dependency_order(&self) -> Vec<&Service> {
        let mut done: Vec<&str> = Vec::new();
        fn visit<'a>(p: &'a Project, name: &'a str, done: &mut Vec<&'a str>, depth: usize) {
            if done.contains(&name) || depth > p.services.len() {
                return;
            }
            if let Some(s) = p.services.get(name) {
                for dep in s.dependencies() {
                    visit(p, dep, done, depth + 1);
                }
                done.push(name);
            }
        }
        for name in self.services.keys() {
            visit(self, name, &mut done, 0);
        }
        done.iter().filter_map(|n| self.services.get(*n)).collect()
    }

    /// An error naming the first setting of `services` that a container cannot apply (only a
    /// swarm service has it), so that `up` refuses it rather than ignoring it.
    pub fn check_containers_apply<'a>(
        &self,
        services: impl IntoIterator<Item = &'a Service>,
    ) -> Result<(), crate::error::LoadError> {
        for s in services {
            if let Some(e) = s.not_for_containers.first() {
                return Err(e.clone());
            }
            for (refs, objects) in [(&s.secrets, &self.secrets), (&s.configs, &self.configs)] {
                for r in refs {
                    if let Some(e) = objects
                        .get(&r.source)
                        .and_then(|o| o.not_for_containers.first())
                    {
                        return Err(e.clone());
                    }
                }
            }
        }
        Ok(())
    }

    /// The normalized YAML that `config` prints.
    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Service {
    #[serde(skip)]
    pub name: String,
    /// Kept for the config hash only (the engine API Berth speaks has no annotations).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// `false`: `up` does not follow this service's logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blkio_config: Option<BlkioConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    /// `host` or `private` (the cgroup namespace).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup_parent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<FileRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<i64>,
    /// Microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_period: Option<i64>,
    /// Microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<i64>,
    /// Microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_rt_period: Option<i64>,
    /// Microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_rt_runtime: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpuset: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub depends_on: BTreeMap<String, Dependency>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_cgroup_rules: Vec<String>,
    /// The file's `deploy` section, as compose v2's config hash sees it (Berth applies it
    /// through `scale`, `cpus`, `mem_limit` and `restart`).
    #[serde(skip)]
    pub deploy: Option<Deploy>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_opt: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_search: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, Option<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expose: Vec<String>,
    /// `container[:alias]` links to containers outside the project.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_links: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    /// `gpus` and `deploy.resources.reservations.devices`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gpus: Vec<DeviceRequest>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_add: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isolation: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    /// The MAC address on the service's first network.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_limit: Option<String>,
    /// `mem_reservation` or `deploy.resources.reservations.memory`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_reservation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_swappiness: Option<i64>,
    /// Bytes or `-1` (unlimited swap).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memswap_limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, Option<ServiceNetwork>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_kill_disable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    /// `pids_limit` or `deploy.resources.limits.pids`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Run in each container once it has started.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub post_start: Vec<Hook>,
    /// Run in each container before it is stopped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pre_stop: Vec<Hook>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    #[serde(skip_serializing_if = "is_false")]
    pub privileged: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// `scale` or `deploy.replicas`; 1 when neither is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<FileRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub stdin_open: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_grace_period: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub storage_opt: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub tty: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, Ulimit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userns_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uts: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Mount>,
    /// `service[:ro|:rw]` or `container:name[:ro|:rw]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Settings in the file that only a swarm service has (`deploy.placement`, ...): kept for
    /// `berth stack deploy`, refused by `up`, `create` and `run` (see
    /// [`Project::check_containers_apply`]).
    #[serde(skip)]
    pub not_for_containers: Vec<crate::error::LoadError>,
}

impl Service {
    /// The `ulimits` as the engine takes them (one entry per limit name).
    pub fn engine_ulimits(&self) -> Vec<berth_engine::Ulimit> {
        self.ulimits
            .iter()
            .map(|(name, u)| berth_engine::Ulimit {
                name: name.clone(),
                soft: u.soft,
                hard: u.hard,
            })
            .collect()
    }

    /// Names of the services this one must start after (depends_on, links, network_mode).
    pub fn dependencies(&self) -> impl Iterator<Item = &str> {
        let links = self
            .links
            .iter()
            .map(|l| l.split(':').next().unwrap_or(l.as_str()));
        let mode = self
            .network_mode
            .as_deref()
            .and_then(|m| m.strip_prefix("service:"));
        let ipc = self.ipc.as_deref().and_then(|m| m.strip_prefix("service:"));
        let pid = self.pid.as_deref().and_then(|m| m.strip_prefix("service:"));
        self.depends_on
            .keys()
            .map(String::as_str)
            .chain(links)
            .chain(mode)
            .chain(ipc)
            .chain(pid)
            .chain(self.volumes_from_services())
    }

    /// Whether creating this service's containers needs another service's containers to
    /// exist: `network_mode`, `ipc` or `pid` of `service:x`, `volumes_from` a service, `links`.
    pub fn needs_containers_of_others(&self) -> bool {
        let service_ns =
            |m: &Option<String>| m.as_deref().is_some_and(|m| m.starts_with("service:"));
        service_ns(&self.network_mode)
            || service_ns(&self.ipc)
            || service_ns(&self.pid)
            || self.volumes_from_services().next().is_some()
            || !self.links.is_empty()
    }

    /// The services whose volumes this one mounts (`volumes_from` entries that are not
    /// `container:`).
    pub fn volumes_from_services(&self) -> impl Iterator<Item = &str> {
        self.volumes_from
            .iter()
            .filter(|v| !v.starts_with("container:"))
            .map(|v| v.split(':').next().unwrap_or(v.as_str()))
    }

    pub fn replicas(&self) -> u32 {
        self.scale.unwrap_or(1)
    }

    /// The image a container of this service runs.
    pub fn image_name(&self, project: &str) -> String {
        match &self.image {
            Some(image) => image.clone(),
            None => format!("{project}-{}", self.name),
        }
    }

    /// The `com.docker.compose.config-hash` label: compose v2's hash of this service (build,
    /// pull policy, scale, depends_on and profiles do not count); see [`crate::config_hash`].
    pub fn config_hash(&self) -> String {
        crate::config_hash::service_hash(self)
    }

    /// The hash Berth wrote before it computed compose v2's: containers labelled with it count
    /// as up to date, so upgrading Berth recreates nothing.
    pub fn legacy_config_hash(&self) -> String {
        let mut s = self.clone();
        s.build = None;
        s.pull_policy = None;
        s.scale = None;
        s.depends_on.clear();
        s.profiles.clear();
        let mut json = serde_json::to_value(&s).unwrap_or_default();
        if let Some(obj) = json.as_object_mut() {
            obj.insert("name".into(), serde_json::Value::String(self.name.clone()));
        }
        hex::encode(Sha256::digest(json.to_string().as_bytes()))
    }
}

/// A lifecycle hook: a command run in the container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Hook {
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub privileged: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, Option<String>>,
}

/// A request for devices (GPUs) from a driver.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeviceRequest {
    pub capabilities: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// `blkio_config`: rates in bytes (or operations) per second.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BlkioConfig {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_read_bps: Vec<ThrottleDevice>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_read_iops: Vec<ThrottleDevice>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_write_bps: Vec<ThrottleDevice>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_write_iops: Vec<ThrottleDevice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weight_device: Vec<WeightDevice>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ThrottleDevice {
    pub path: String,
    pub rate: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WeightDevice {
    pub path: String,
    pub weight: u16,
}

/// What a `deploy` section says beyond `replicas`, kept apart from the top-level attributes
/// Berth applies it through, because compose v2 hashes the two differently.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Deploy {
    /// `resources.limits` is present (possibly empty).
    pub limits: bool,
    pub limit_cpus: Option<String>,
    pub limit_memory: Option<String>,
    pub limit_pids: Option<i64>,
    /// `resources.reservations.memory`.
    pub reservation_memory: Option<String>,
    /// `restart_policy` is present (possibly empty).
    pub restart_policy: bool,
    pub restart_condition: Option<String>,
    pub restart_delay: Option<String>,
    pub restart_max_attempts: Option<u32>,
    pub restart_window: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Build {
    pub context: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile_inline: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cache_from: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<String>,
    /// Further names for the built image.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub no_cache: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub pull: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dependency {
    pub condition: Condition,
    pub required: bool,
    pub restart: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    ServiceStarted,
    ServiceHealthy,
    ServiceCompletedSuccessfully,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Port {
    pub target: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    pub protocol: String,
    pub mode: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MountType {
    Bind,
    Volume,
    Tmpfs,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mount {
    #[serde(rename = "type")]
    pub kind: MountType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub target: String,
    #[serde(skip_serializing_if = "is_false")]
    pub read_only: bool,
    /// bind: create the host path when missing (compose's default for the short syntax).
    #[serde(skip_serializing_if = "is_false")]
    pub create_host_path: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub nocopy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs_size: Option<i64>,
    /// tmpfs: the mode of its root directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs_mode: Option<u32>,
    /// bind: `private`, `rprivate`, `shared`, `rshared`, `slave`, `rslave`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub propagation: Option<String>,
    /// bind: `z` (shared) or `Z` (private) SELinux relabelling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selinux: Option<String>,
    /// bind: `enabled` (default), `disabled`, `writable` or `readonly` for submounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recursive: Option<String>,
    /// volume: the path inside the volume to mount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subpath: Option<String>,
    /// volume: labels of a volume the engine creates for this mount.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub volume_labels: BTreeMap<String, String>,
    /// `consistent`, `cached` or `delegated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistency: Option<String>,
    /// A volume mount written in short syntax or with a `volume:` section (compose-go then
    /// carries volume options, which its config hash sees).
    #[serde(skip)]
    pub volume_section: bool,
}

impl Mount {
    /// An anonymous volume mount with no target, for the decoder to fill in.
    pub fn default_volume() -> Self {
        Mount {
            kind: MountType::Volume,
            source: None,
            target: String::new(),
            read_only: false,
            create_host_path: false,
            nocopy: false,
            tmpfs_size: None,
            tmpfs_mode: None,
            propagation: None,
            selinux: None,
            recursive: None,
            subpath: None,
            volume_labels: BTreeMap::new(),
            consistency: None,
            volume_section: false,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServiceNetwork {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub link_local_ips: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gw_priority: Option<i64>,
    /// Networks are connected in decreasing priority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Healthcheck {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_period: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub disable: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Ulimit {
    pub soft: i64,
    pub hard: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Logging {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// A secret or config as a service uses it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FileRef {
    pub source: String,
    pub target: String,
    /// Owner and mode (numeric uid and gid, octal mode); a file given one is copied into the
    /// container rather than bind-mounted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "octal_mode")]
    pub mode: Option<u32>,
}

/// A file mode as compose prints it: `"0400"`.
fn octal_mode<S: serde::Serializer>(mode: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
    match mode {
        Some(m) => s.serialize_str(&format!("0{m:o}")),
        None => s.serialize_none(),
    }
}

/// A top-level secret or config (file-based).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FileObject {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
    /// The variable whose value is the content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// That variable's value when the project was loaded (not printed).
    #[serde(skip)]
    pub environment_value: Option<String>,
    /// The swarm object's name (a container's file has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Swarm-only settings of this object, refused by `up` (see
    /// [`Project::check_containers_apply`]).
    #[serde(skip)]
    pub not_for_containers: Vec<crate::error::LoadError>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Network {
    /// The engine-side name (`<project>_<key>` unless `name` or `external` say otherwise).
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub internal: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub attachable: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub enable_ipv6: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<String>,
    /// IPAM beyond the subnets (a driver, options, gateways, ranges, reserved addresses);
    /// `None` when the file gives subnets only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipam: Option<Ipam>,
    /// `Some(false)`: no IPv4 on this network.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_ipv4: Option<bool>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// A network's `ipam` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ipam {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<IpamConfig>,
}

/// One pool of a network's `ipam.config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IpamConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub aux_addresses: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Volume {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_hash_ignores_scale_and_depends_on_but_not_env() {
        let a = Service {
            name: "web".into(),
            image: Some("busybox".into()),
            ..Default::default()
        };
        let mut b = a.clone();
        b.scale = Some(3);
        b.depends_on.insert(
            "db".into(),
            Dependency {
                condition: Condition::ServiceStarted,
                required: true,
                restart: false,
            },
        );
        assert_eq!(a.config_hash(), b.config_hash());
        assert_eq!(a.legacy_config_hash(), b.legacy_config_hash());
        b.environment.insert("X".into(), Some("1".into()));
        assert_ne!(a.config_hash(), b.config_hash());
        assert_ne!(a.legacy_config_hash(), b.legacy_config_hash());
        assert_eq!(a.config_hash().len(), 64);
    }
}
