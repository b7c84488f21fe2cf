//! Creating a service's containers: the service model mapped onto berth-engine's
//! [`ContainerSpec`], compose's labels, and the networks beyond the first.

use std::collections::BTreeMap;

use berth_engine::{
    Blkio, ContainerMount, ContainerSpec, ContainerTuning, DeviceRequest, Healthcheck, LogConfig,
    MountKind, NetworkAttachment, PublishedPort, RestartPolicy,
};
use sha2::Digest;

use super::{is_not_found, Compose, CreateContext, NetworksReady, ResourceState};
use crate::decode::{parse_bytes, parse_duration_ns};
use crate::error::{Error, Result};
use crate::model::{MountType, Project, Service, ServiceNetwork};
use crate::plan::{self, labels};

impl Compose {
    /// Creates one container of `s`; `oneoff` containers get a `-run-<suffix>` name.
    pub async fn create_container(
        &self,
        project: &Project,
        s: &Service,
        number: u32,
        oneoff: bool,
        command: Option<Vec<String>>,
    ) -> Result<String> {
        let ctx = CreateContext {
            networks: NetworksReady::done(),
            image_ids: BTreeMap::new(),
        };
        self.create_container_when(project, s, number, oneoff, command, &ctx)
            .await
    }

    /// [`Compose::create_container`] while `networks` may still be being created: an engine
    /// that refuses a container whose network is missing gets the request again once the
    /// networks exist; the extra networks are connected once they exist.
    pub(super) async fn create_container_when(
        &self,
        project: &Project,
        s: &Service,
        number: u32,
        oneoff: bool,
        command: Option<Vec<String>>,
        ctx: &CreateContext,
    ) -> Result<String> {
        let networks = &ctx.networks;
        let name = if oneoff {
            format!("{}-{}-run-{}", project.name, s.name, run_suffix())
        } else {
            plan::container_name(project, &s.name, number)
        };
        project.check_containers_apply([s])?;
        self.container_event(&name, &s.name, ResourceState::Creating);
        let mut spec = container_spec(project, s, number, oneoff)?;
        spec.name = Some(name.clone());
        if let Some(cmd) = command {
            spec.cmd = Some(cmd);
        }
        // Like compose v2, which recreates a container whose label differs from the image id.
        if let Some(id) = ctx.image_ids.get(&s.image_name(&project.name)) {
            spec.labels.insert(labels::IMAGE.into(), id.clone());
        }
        if let Some(mode) = s
            .network_mode
            .as_deref()
            .and_then(|m| m.strip_prefix("service:"))
        {
            let target = self
                .observe(&project.name)
                .await?
                .into_iter()
                .find(|o| o.service == mode && !o.oneoff)
                .ok_or_else(|| {
                    Error::service(
                        &s.name,
                        format!("network_mode service {mode} has no container"),
                    )
                })?;
            spec.network_mode = Some(format!("container:{}", target.id));
        }
        let waited = networks.is_pending();
        match self.engine.create_container_from(&spec).await {
            Ok(_) => {}
            Err(e) if waited && is_not_found(&e) => {
                networks.wait().await?;
                self.engine
                    .create_container_from(&spec)
                    .await
                    .map_err(Error::engine(format!("creating container {name}")))?;
            }
            Err(e) => return Err(Error::engine(format!("creating container {name}"))(e)),
        }
        if let Some(archive) = injected_files(project, s)? {
            self.engine
                .upload_archive(&name, "/", archive)
                .await
                .map_err(Error::engine(format!(
                    "copying secrets and configs into {name}"
                )))?;
        }
        // The engine attaches one network at create (API < 1.44); connect the others now.
        if s.network_mode.is_none() && s.networks.len() > 1 {
            networks.wait().await?;
            for (key, sn) in ordered_networks(s).into_iter().skip(1) {
                let net = &project.networks[key];
                self.engine
                    .connect_network_with(
                        &net.name,
                        &name,
                        &NetworkAttachment {
                            links: links(project, s),
                            ..attachment(s, &name, sn.as_ref(), oneoff)
                        },
                    )
                    .await
                    .map_err(Error::engine(format!("connecting {name} to {}", net.name)))?;
            }
        }
        self.container_event(&name, &s.name, ResourceState::Created);
        Ok(name)
    }
}

/// The service's networks in the order they are connected: highest `priority` first, then
/// by name.
fn ordered_networks(s: &Service) -> Vec<(&String, &Option<ServiceNetwork>)> {
    let mut nets: Vec<_> = s.networks.iter().collect();
    nets.sort_by_key(|(_, sn)| {
        std::cmp::Reverse(sn.as_ref().and_then(|n| n.priority).unwrap_or(0))
    });
    nets
}

fn run_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let h = sha2::Sha256::digest(format!("{nanos}-{}", std::process::id()).as_bytes());
    hex::encode(&h[..6])
}

/// The container's settings on one of its service's networks.
fn attachment(
    s: &Service,
    container: &str,
    sn: Option<&ServiceNetwork>,
    oneoff: bool,
) -> NetworkAttachment {
    let mut aliases = if oneoff {
        Vec::new()
    } else {
        vec![s.name.clone(), container.to_string()]
    };
    if let Some(sn) = sn {
        aliases.extend(sn.aliases.iter().cloned());
    }
    NetworkAttachment {
        aliases,
        ipv4_address: sn.and_then(|n| n.ipv4_address.clone()),
        ipv6_address: sn.and_then(|n| n.ipv6_address.clone()),
        mac_address: sn.and_then(|n| n.mac_address.clone()),
        link_local_ips: sn.map(|n| n.link_local_ips.clone()).unwrap_or_default(),
        driver_opts: sn.map(|n| n.driver_opts.clone()).unwrap_or_default(),
        gw_priority: sn.and_then(|n| n.gw_priority),
        links: Vec::new(),
    }
}

/// `no`, `always`, `unless-stopped`, `on-failure[:N]` (the loader checked the name).
fn restart_policy(r: &str) -> RestartPolicy {
    let (name, max) = match r.split_once(':') {
        Some((n, m)) => (n, m.parse().ok()),
        None => (r, None),
    };
    match name {
        "always" => RestartPolicy::Always,
        "on-failure" => RestartPolicy::OnFailure { max_retries: max },
        "unless-stopped" => RestartPolicy::UnlessStopped,
        _ => RestartPolicy::No,
    }
}

/// compose's labels on replica `number` of `s`.
fn compose_labels(
    project: &Project,
    s: &Service,
    number: u32,
    oneoff: bool,
) -> BTreeMap<String, String> {
    let mut l = s.labels.clone();
    let files: Vec<String> = project
        .config_files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    let depends: Vec<String> = s
        .depends_on
        .iter()
        .map(|(n, d)| {
            let cond = serde_json::to_value(d.condition)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            format!("{n}:{cond}:{}", d.restart)
        })
        .collect();
    for (k, v) in [
        (labels::PROJECT, project.name.clone()),
        (labels::SERVICE, s.name.clone()),
        (labels::NUMBER, number.to_string()),
        (
            labels::ONEOFF,
            if oneoff { "True" } else { "False" }.to_string(),
        ),
        (labels::CONFIG_HASH, s.config_hash()),
        (
            labels::WORKING_DIR,
            project.working_dir.display().to_string(),
        ),
        (labels::CONFIG_FILES, files.join(",")),
        (labels::DEPENDS_ON, depends.join(",")),
        (labels::VERSION, labels::COMPOSE_VERSION.to_string()),
        (labels::IMAGE, s.image_name(&project.name)),
    ] {
        l.insert(k.to_string(), v);
    }
    if let Some(hooks) = super::hooks::to_label(&s.pre_stop) {
        l.insert(labels::PRE_STOP.to_string(), hooks);
    }
    l
}

/// The binds (bind mounts that may create their host path, file secrets and configs) and the
/// other mounts of `s`.
fn binds_and_mounts(project: &Project, s: &Service) -> Result<(Vec<String>, Vec<ContainerMount>)> {
    let mut binds = Vec::new();
    let mut mounts = Vec::new();
    for m in &s.volumes {
        // The engine's bind strings create a missing host path and take SELinux labels; its
        // mount objects take submount options.
        let as_bind_string = m.kind == MountType::Bind
            && (m.create_host_path || m.selinux.is_some())
            && m.recursive.is_none();
        if as_bind_string {
            let src = m.source.clone().unwrap_or_default();
            let mut modes = vec![if m.read_only { "ro" } else { "rw" }];
            modes.extend(m.selinux.as_deref());
            modes.extend(m.propagation.as_deref());
            modes.extend(m.consistency.as_deref().filter(|c| *c != "default"));
            binds.push(format!("{src}:{}:{}", m.target, modes.join(",")));
            continue;
        }
        let source = match m.kind {
            MountType::Volume => m.source.as_ref().map(|src| {
                project
                    .volumes
                    .get(src)
                    .map_or(src.clone(), |v| v.name.clone())
            }),
            MountType::Bind => m.source.clone(),
            MountType::Tmpfs => None,
        };
        let recursive = m.recursive.as_deref();
        mounts.push(ContainerMount {
            kind: match m.kind {
                MountType::Bind => MountKind::Bind,
                MountType::Volume => MountKind::Volume,
                MountType::Tmpfs => MountKind::Tmpfs,
            },
            source,
            target: m.target.clone(),
            read_only: m.read_only,
            no_copy: m.nocopy,
            tmpfs_size: m.tmpfs_size,
            tmpfs_mode: m.tmpfs_mode.map(i64::from),
            propagation: m.propagation.clone(),
            non_recursive: recursive == Some("disabled"),
            read_only_non_recursive: recursive == Some("writable"),
            read_only_force_recursive: recursive == Some("readonly"),
            volume_labels: m.volume_labels.clone(),
            subpath: m.subpath.clone(),
            consistency: m.consistency.clone().filter(|c| c != "default"),
        });
    }
    for (refs, objects) in [
        (&s.secrets, &project.secrets),
        (&s.configs, &project.configs),
    ] {
        for r in refs {
            let object = objects.get(&r.source);
            let plain = r.uid.is_none() && r.gid.is_none() && r.mode.is_none();
            match object.and_then(|o| o.file.clone()) {
                Some(file) if plain => binds.push(format!("{file}:{}:ro", r.target)),
                // Copied in after the container is created (see `injected_files`).
                _ if object.is_some_and(|o| !o.external) => {}
                _ => {
                    return Err(Error::service(
                        &s.name,
                        format!(
                            "secret/config {:?} is external: only a swarm has those (berth stack deploy)",
                            r.source
                        ),
                    ))
                }
            }
        }
    }
    Ok((binds, mounts))
}

/// The secrets and configs of `s` that are copied into its containers rather than
/// bind-mounted (inline `content`, `environment`, or a file given an owner or mode), as one
/// tar archive to unpack at `/`; `None` when there are none. Secrets default to mode 0444,
/// as compose's do.
pub fn injected_files(project: &Project, s: &Service) -> Result<Option<Vec<u8>>> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut any = false;
    for (refs, objects) in [
        (&s.secrets, &project.secrets),
        (&s.configs, &project.configs),
    ] {
        for r in refs {
            let Some(o) = objects.get(&r.source).filter(|o| !o.external) else {
                continue;
            };
            let plain = r.uid.is_none() && r.gid.is_none() && r.mode.is_none();
            let bytes = match (&o.file, &o.content, &o.environment_value) {
                (Some(_), _, _) if plain => continue,
                (Some(file), _, _) => std::fs::read(file).map_err(|source| Error::Io {
                    context: format!("reading {file} for service {}", s.name),
                    source,
                })?,
                (None, Some(content), _) => content.clone().into_bytes(),
                (None, None, Some(value)) => value.clone().into_bytes(),
                (None, None, None) => continue,
            };
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(r.mode.unwrap_or(0o444));
            let id = |v: &Option<String>| v.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0);
            header.set_uid(id(&r.uid));
            header.set_gid(id(&r.gid));
            header.set_mtime(0);
            let path = r.target.trim_start_matches('/');
            tar.append_data(&mut header, path, bytes.as_slice())
                .map_err(|source| Error::Io {
                    context: format!("packing {} for service {}", r.target, s.name),
                    source,
                })?;
            any = true;
        }
    }
    if !any {
        return Ok(None);
    }
    tar.into_inner().map(Some).map_err(|source| Error::Io {
        context: format!("packing the secrets of service {}", s.name),
        source,
    })
}

/// The engine's create request for replica `number` of `s` (the container's name is set by
/// whoever creates it).
pub fn container_spec(
    project: &Project,
    s: &Service,
    number: u32,
    oneoff: bool,
) -> Result<ContainerSpec> {
    let name = plan::container_name(project, &s.name, number);
    let (binds, mounts) = binds_and_mounts(project, s)?;
    let ns = |d: &Option<String>| d.as_deref().and_then(parse_duration_ns);
    let healthcheck = s.healthcheck.as_ref().map(|h| Healthcheck {
        test: if h.disable {
            vec!["NONE".into()]
        } else {
            h.test.clone()
        },
        interval: ns(&h.interval),
        timeout: ns(&h.timeout),
        retries: h.retries.map(i64::from),
        start_period: ns(&h.start_period),
        start_interval: ns(&h.start_interval),
    });
    let first_network = ordered_networks(s).into_iter().next();
    if s.mac_address.is_some() && s.network_mode.is_some() {
        return Err(Error::service(
            &s.name,
            "mac_address needs a network; it cannot be set with network_mode",
        ));
    }
    let network_mode = match &s.network_mode {
        Some(mode) => Some(mode.clone()),
        None => first_network.map(|(k, _)| project.networks[k].name.clone()),
    };
    let endpoint = match (&s.network_mode, first_network) {
        (None, Some((k, sn))) => {
            let mut a = attachment(s, &name, sn.as_ref(), oneoff);
            a.links = links(project, s);
            if a.mac_address.is_none() {
                a.mac_address.clone_from(&s.mac_address);
            }
            Some((project.networks[k].name.clone(), a))
        }
        _ => None,
    };
    Ok(ContainerSpec {
        name: None,
        image: s.image_name(&project.name),
        cmd: s.command.clone(),
        entrypoint: s.entrypoint.clone(),
        env: s
            .environment
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
            .collect(),
        labels: compose_labels(project, s, number, oneoff),
        working_dir: s.working_dir.clone(),
        user: s.user.clone(),
        hostname: s.hostname.clone(),
        domainname: s.domainname.clone(),
        tty: s.tty,
        stdin_open: s.stdin_open,
        attach: false,
        expose: s.expose.clone(),
        ports: s
            .ports
            .iter()
            .map(|p| PublishedPort {
                host_ip: p.host_ip.clone(),
                host_port: p.published.clone(),
                container_port: p.target,
                protocol: p.protocol.clone(),
            })
            .collect(),
        binds,
        mounts,
        network_mode,
        endpoint,
        restart: s.restart.as_deref().map(restart_policy),
        auto_remove: None,
        healthcheck,
        stop_signal: s.stop_signal.clone(),
        stop_timeout: ns(&s.stop_grace_period).map(|ns| ns / 1_000_000_000),
        privileged: Some(s.privileged),
        read_only_rootfs: Some(s.read_only),
        init: s.init,
        cap_add: s.cap_add.clone(),
        cap_drop: s.cap_drop.clone(),
        dns: s.dns.clone(),
        extra_hosts: s.extra_hosts.clone(),
        security_opt: s.security_opt.clone(),
        group_add: s.group_add.clone(),
        sysctls: s.sysctls.clone(),
        tmpfs: s.tmpfs.clone(),
        devices: s.devices.clone(),
        ulimits: s.engine_ulimits(),
        log_config: s.logging.as_ref().map(|lg| LogConfig {
            driver: lg.driver.clone(),
            options: lg.options.clone(),
        }),
        memory: s.mem_limit.as_deref().and_then(parse_bytes),
        shm_size: s.shm_size.as_deref().and_then(parse_bytes),
        nano_cpus: s
            .cpus
            .as_deref()
            .and_then(|c| c.parse::<f64>().ok())
            .map(|c| (c * 1e9) as i64),
        ipc_mode: namespace(project, s.ipc.as_deref()),
        pid_mode: namespace(project, s.pid.as_deref()),
        userns_mode: s.userns_mode.clone(),
        platform: s.platform.clone(),
        tuning: tuning(project, s),
    })
}

/// `service:<name>` (an ipc or pid namespace) as the engine names it: `container:<id or name>`.
fn namespace(project: &Project, mode: Option<&str>) -> Option<String> {
    let mode = mode?;
    Some(match mode.strip_prefix("service:") {
        Some(svc) => format!("container:{}", plan::container_name(project, svc, 1)),
        None => mode.to_string(),
    })
}

/// `volumes_from` entries as the engine takes them: `container[:ro|:rw]`.
fn volumes_from(project: &Project, s: &Service) -> Vec<String> {
    s.volumes_from
        .iter()
        .map(|v| {
            if let Some(rest) = v.strip_prefix("container:") {
                return rest.to_string();
            }
            match v.split_once(':') {
                Some((svc, mode)) => {
                    format!("{}:{mode}", plan::container_name(project, svc, 1))
                }
                None => plan::container_name(project, v, 1),
            }
        })
        .collect()
}

/// Legacy links, `container:alias`: `links` (to the first container of a service) and
/// `external_links`.
fn links(project: &Project, s: &Service) -> Vec<String> {
    let service_links = s.links.iter().map(|l| {
        let (svc, alias) = l.split_once(':').unwrap_or((l, l));
        format!("{}:{alias}", plan::container_name(project, svc, 1))
    });
    let external = s.external_links.iter().map(|l| match l.split_once(':') {
        Some((c, alias)) => format!("{c}:{alias}"),
        None => format!("{l}:{l}"),
    });
    service_links.chain(external).collect()
}

/// The host settings beyond the common ones.
fn tuning(project: &Project, s: &Service) -> ContainerTuning {
    let blkio = s.blkio_config.clone().unwrap_or_default();
    let rates = |list: &[crate::model::ThrottleDevice]| -> Vec<(String, i64)> {
        list.iter().map(|t| (t.path.clone(), t.rate)).collect()
    };
    ContainerTuning {
        cpu_shares: s.cpu_shares,
        cpu_period: s.cpu_period,
        cpu_quota: s.cpu_quota,
        cpu_rt_period: s.cpu_rt_period,
        cpu_rt_runtime: s.cpu_rt_runtime,
        cpuset_cpus: s.cpuset.clone(),
        cpu_count: s.cpu_count,
        cpu_percent: s.cpu_percent,
        memory_reservation: s.mem_reservation.as_deref().and_then(parse_bytes),
        memory_swap: s.memswap_limit.as_deref().and_then(|m| match m.trim() {
            "-1" => Some(-1),
            other => parse_bytes(other),
        }),
        memory_swappiness: s.mem_swappiness,
        oom_kill_disable: s.oom_kill_disable,
        oom_score_adj: s.oom_score_adj,
        pids_limit: s.pids_limit,
        blkio: Blkio {
            weight: blkio.weight,
            weight_device: blkio
                .weight_device
                .iter()
                .map(|w| (w.path.clone(), w.weight))
                .collect(),
            device_read_bps: rates(&blkio.device_read_bps),
            device_write_bps: rates(&blkio.device_write_bps),
            device_read_iops: rates(&blkio.device_read_iops),
            device_write_iops: rates(&blkio.device_write_iops),
        },
        cgroupns_mode: s.cgroup.clone(),
        cgroup_parent: s.cgroup_parent.clone(),
        uts_mode: s.uts.clone(),
        runtime: s.runtime.clone(),
        isolation: s.isolation.clone(),
        storage_opt: s.storage_opt.clone(),
        device_cgroup_rules: s.device_cgroup_rules.clone(),
        device_requests: s
            .gpus
            .iter()
            .map(|d| DeviceRequest {
                driver: d.driver.clone(),
                count: d.count,
                device_ids: d.device_ids.clone(),
                capabilities: d.capabilities.clone(),
                options: d.options.clone(),
            })
            .collect(),
        dns_search: s.dns_search.clone(),
        dns_options: s.dns_opt.clone(),
        // On a user-defined network the endpoint takes the links (see `container_spec`).
        links: match s.network_mode.as_deref() {
            Some("bridge" | "default") => links(project, s),
            _ => Vec::new(),
        },
        volumes_from: volumes_from(project, s),
        annotations: s.annotations.clone(),
    }
}

#[cfg(test)]
mod tests {
    use bollard::models::MountType as BollardMountType;

    use super::*;
    use crate::load::{load_sources, LoadOptions};

    #[test]
    fn container_body_carries_labels_ports_mounts_and_health() {
        let opts = LoadOptions {
            working_dir: "/proj".into(),
            ..Default::default()
        };
        let p = load_sources(
            vec![(
                "/proj/compose.yaml".into(),
                "name: demo\nservices:\n  web:\n    image: busybox\n    ports: ['127.0.0.1:8080:80']\n    volumes: ['./site:/www:ro', 'data:/data', {type: tmpfs, target: /tmp}]\n    healthcheck: {test: [CMD, true], interval: 2s}\n    restart: on-failure:3\n    depends_on: {db: {condition: service_healthy}}\n    networks: {front: {aliases: [www]}, default: null}\n  db:\n    image: busybox\nvolumes: {data: {}}\nnetworks: {front: {}}\n".into(),
            )],
            &opts,
        )
        .unwrap();
        let body = container_spec(&p, &p.services["web"], 2, false)
            .unwrap()
            .to_create_body();
        let l = body.labels.unwrap();
        assert_eq!(l[labels::PROJECT], "demo");
        assert_eq!(l[labels::SERVICE], "web");
        assert_eq!(l[labels::NUMBER], "2");
        assert_eq!(l[labels::ONEOFF], "False");
        assert_eq!(l[labels::DEPENDS_ON], "db:service_healthy:false");
        assert_eq!(l[labels::CONFIG_FILES], "/proj/compose.yaml");
        assert_eq!(l[labels::WORKING_DIR], "/proj");
        assert_eq!(l[labels::CONFIG_HASH], p.services["web"].config_hash());
        let hc = body.host_config.unwrap();
        assert_eq!(hc.binds.unwrap(), vec!["/proj/site:/www:ro"]);
        let mounts = hc.mounts.unwrap();
        assert_eq!(mounts[0].source.as_deref(), Some("demo_data"));
        assert_eq!(mounts[1].typ, Some(BollardMountType::TMPFS));
        let pb = hc.port_bindings.unwrap();
        let b = pb["80/tcp"].as_ref().unwrap();
        assert_eq!(b[0].host_port.as_deref(), Some("8080"));
        assert_eq!(b[0].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(hc.restart_policy.unwrap().maximum_retry_count, Some(3));
        assert_eq!(hc.network_mode.as_deref(), Some("demo_default"));
        let health = body.healthcheck.unwrap();
        assert_eq!(health.interval, Some(2_000_000_000));
        let eps = body.networking_config.unwrap().endpoints_config.unwrap();
        assert_eq!(
            eps["demo_default"].aliases.as_deref().unwrap(),
            ["web", "demo-web-2"]
        );
    }

    #[test]
    fn newly_applied_keys_reach_the_create_body() {
        let opts = LoadOptions {
            working_dir: "/proj".into(),
            ..Default::default()
        };
        let p = load_sources(
            vec![(
                "/proj/compose.yaml".into(),
                "name: demo\nservices:\n  data:\n    image: busybox\n  web:\n    image: busybox\n    platform: linux/arm64\n    cpu_shares: 256\n    pids_limit: 32\n    oom_score_adj: 200\n    dns_search: [example.org]\n    dns_opt: ['ndots:1']\n    volumes_from: ['data:ro', 'container:other']\n    links: ['data:store']\n    mac_address: '02:42:ac:11:00:09'\n    gpus: all\n    annotations: {a: b}\n    volumes: ['./x:/x:z,rshared', {type: bind, source: /h, target: /h, bind: {propagation: rslave, recursive: disabled}}, {type: bind, source: /r, target: /r, read_only: true, bind: {recursive: readonly}}, {type: volume, target: /v, volume: {labels: {l: x}}}]\n    deploy: {restart_policy: {condition: on-failure, max_attempts: 4}}\n    networks: {front: {priority: 1}, back: {priority: 5, gw_priority: 3}}\nnetworks: {front: {}, back: {}}\n".into(),
            )],
            &opts,
        )
        .unwrap();
        let spec = container_spec(&p, &p.services["web"], 1, false).unwrap();
        assert_eq!(spec.platform.as_deref(), Some("linux/arm64"));
        let (net, endpoint) = spec.endpoint.clone().unwrap();
        assert_eq!(
            net, "demo_back",
            "the highest priority network is attached first"
        );
        assert_eq!(endpoint.gw_priority, Some(3));
        assert_eq!(endpoint.mac_address.as_deref(), Some("02:42:ac:11:00:09"));
        assert_eq!(endpoint.links, ["demo-data-1:store"]);
        let body = spec.to_create_body();
        let hc = body.host_config.unwrap();
        assert_eq!(hc.cpu_shares, Some(256));
        assert_eq!(hc.pids_limit, Some(32));
        assert_eq!(hc.oom_score_adj, Some(200));
        assert_eq!(hc.dns_search.unwrap(), ["example.org"]);
        assert_eq!(hc.dns_options.unwrap(), ["ndots:1"]);
        assert_eq!(hc.volumes_from.unwrap(), ["demo-data-1:ro", "other"]);
        assert!(
            hc.links.is_none(),
            "links go on the endpoint of a user-defined network"
        );
        assert_eq!(hc.device_requests.unwrap()[0].count, Some(-1));
        assert_eq!(hc.annotations.unwrap()["a"], "b");
        assert_eq!(hc.restart_policy.unwrap().maximum_retry_count, Some(4));
        assert_eq!(hc.binds.unwrap(), ["/proj/x:/x:rw,z,rshared"]);
        let mounts = hc.mounts.unwrap();
        let m = &mounts[0];
        let bind = m.bind_options.as_ref().unwrap();
        assert_eq!(bind.non_recursive, Some(true));
        assert_eq!(
            bind.propagation,
            Some(bollard::models::MountBindOptionsPropagationEnum::RSLAVE)
        );
        let forced = mounts[1].bind_options.as_ref().unwrap();
        assert_eq!(forced.read_only_force_recursive, Some(true));
        let labels = mounts[2].volume_options.as_ref().unwrap().labels.clone();
        assert_eq!(labels.unwrap()["l"], "x");
    }

    #[test]
    fn restart_policies_map_onto_the_engine_s() {
        assert_eq!(restart_policy("no"), RestartPolicy::No);
        assert_eq!(restart_policy("always"), RestartPolicy::Always);
        assert_eq!(
            restart_policy("unless-stopped"),
            RestartPolicy::UnlessStopped
        );
        assert_eq!(
            restart_policy("on-failure:3"),
            RestartPolicy::OnFailure {
                max_retries: Some(3)
            }
        );
        assert_eq!(
            restart_policy("on-failure"),
            RestartPolicy::OnFailure { max_retries: None }
        );
    }
}
