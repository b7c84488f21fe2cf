//! Creating a service's containers: the service model mapped onto berth-engine's
//! [`ContainerSpec`], compose's labels, and the networks beyond the first.

use std::collections::BTreeMap;

use berth_engine::{
    ContainerMount, ContainerSpec, Healthcheck, LogConfig, MountKind, NetworkAttachment,
    PublishedPort, RestartPolicy, Ulimit,
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
        // The engine attaches one network at create (API < 1.44); connect the others now.
        if s.network_mode.is_none() && s.networks.len() > 1 {
            networks.wait().await?;
            for (key, sn) in s.networks.iter().skip(1) {
                let net = &project.networks[key];
                self.engine
                    .connect_network_with(
                        &net.name,
                        &name,
                        &attachment(s, &name, sn.as_ref(), oneoff),
                    )
                    .await
                    .map_err(Error::engine(format!("connecting {name} to {}", net.name)))?;
            }
        }
        self.container_event(&name, &s.name, ResourceState::Created);
        Ok(name)
    }
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
    l
}

/// The binds (bind mounts that may create their host path, file secrets and configs) and the
/// other mounts of `s`.
fn binds_and_mounts(project: &Project, s: &Service) -> Result<(Vec<String>, Vec<ContainerMount>)> {
    let mut binds = Vec::new();
    let mut mounts = Vec::new();
    for m in &s.volumes {
        match m.kind {
            MountType::Bind if m.create_host_path => {
                let src = m.source.clone().unwrap_or_default();
                binds.push(format!(
                    "{src}:{}:{}",
                    m.target,
                    if m.read_only { "ro" } else { "rw" }
                ));
            }
            kind => {
                let source = match kind {
                    MountType::Volume => m.source.as_ref().map(|src| {
                        project
                            .volumes
                            .get(src)
                            .map_or(src.clone(), |v| v.name.clone())
                    }),
                    MountType::Bind => m.source.clone(),
                    MountType::Tmpfs => None,
                };
                mounts.push(ContainerMount {
                    kind: match kind {
                        MountType::Bind => MountKind::Bind,
                        MountType::Volume => MountKind::Volume,
                        MountType::Tmpfs => MountKind::Tmpfs,
                    },
                    source,
                    target: m.target.clone(),
                    read_only: m.read_only,
                    no_copy: m.nocopy,
                    tmpfs_size: m.tmpfs_size,
                });
            }
        }
    }
    for (refs, objects) in [
        (&s.secrets, &project.secrets),
        (&s.configs, &project.configs),
    ] {
        for r in refs {
            match objects.get(&r.source).and_then(|o| o.file.clone()) {
                Some(file) => binds.push(format!("{file}:{}:ro", r.target)),
                None => {
                    return Err(Error::service(
                        &s.name,
                        format!(
                            "secret/config {:?} must be file-based (others are not supported yet)",
                            r.source
                        ),
                    ))
                }
            }
        }
    }
    Ok((binds, mounts))
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
    let first_network = s.networks.iter().next();
    let network_mode = match &s.network_mode {
        Some(mode) => Some(mode.clone()),
        None => first_network.map(|(k, _)| project.networks[k].name.clone()),
    };
    let endpoint = match (&s.network_mode, first_network) {
        (None, Some((k, sn))) => Some((
            project.networks[k].name.clone(),
            attachment(s, &name, sn.as_ref(), oneoff),
        )),
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
        ulimits: s
            .ulimits
            .iter()
            .map(|(name, u)| Ulimit {
                name: name.clone(),
                soft: u.soft,
                hard: u.hard,
            })
            .collect(),
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
        ipc_mode: s.ipc.clone(),
        pid_mode: s.pid.clone(),
        userns_mode: s.userns_mode.clone(),
    })
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
