//! A compose project turned into what `docker stack deploy` makes of it: the stack's
//! networks (overlay), secrets, configs and services, every one named `STACK_name` and
//! labelled `com.docker.stack.namespace=STACK`, and the warnings for what a stack cannot use.
//! Pure: [`super::stack`] applies the plan on an engine.

use std::collections::BTreeMap;
use std::path::PathBuf;

use berth_compose::decode::parse_duration_ns;
use berth_compose::model::{FileObject, MountType, Service};
use berth_compose::yaml::Node;
use berth_compose::{LoadError, Project};
use berth_engine::swarm::{ServiceDefinition, ServiceMode, ServiceMount, ServicePort};
use berth_engine::{Healthcheck, NetworkCreate};

use super::deploy_section;

/// The label every object of a stack carries (the docker CLI's).
pub const NAMESPACE_LABEL: &str = "com.docker.stack.namespace";
/// The image a stack's service was deployed with (the docker CLI's).
pub const IMAGE_LABEL: &str = "com.docker.stack.image";

/// A secret or config the stack makes, or finds (external).
#[derive(Debug, Clone, PartialEq)]
pub struct StackObject {
    /// The key in the file (`token`).
    pub key: String,
    /// The engine's name (`app_token`; the key itself when external).
    pub name: String,
    pub external: bool,
    /// Where the data comes from.
    pub source: ObjectSource,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ObjectSource {
    File(PathBuf),
    Inline(String),
    External,
}

/// A secret or config a service is given: which stack object, where in the container, whose
/// and with which mode.
#[derive(Debug, Clone, PartialEq)]
pub struct FileUse {
    pub name: String,
    pub target: String,
    pub uid: Option<String>,
    pub gid: Option<String>,
    pub mode: Option<u32>,
}

/// One service to create or update; its secrets' and configs' ids are filled at deploy.
#[derive(Debug, Clone, PartialEq)]
pub struct StackService {
    pub definition: ServiceDefinition,
    pub secrets: Vec<FileUse>,
    pub configs: Vec<FileUse>,
}

/// Everything `deploy` makes, in the order it makes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StackPlan {
    pub stack: String,
    pub networks: Vec<NetworkCreate>,
    /// Networks the file says exist already.
    pub external_networks: Vec<String>,
    pub secrets: Vec<StackObject>,
    pub configs: Vec<StackObject>,
    pub services: Vec<StackService>,
    /// What the stack ignores, as the docker CLI words it, plus the loader's own warnings.
    pub warnings: Vec<String>,
}

/// Whether `name` can name a stack: what the docker CLI accepts (`[a-zA-Z0-9][a-zA-Z0-9_-]*`).
pub fn valid_stack_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn namespace(stack: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(NAMESPACE_LABEL.to_string(), stack.to_string())])
}

fn first_file(project: &Project) -> PathBuf {
    project.config_files.first().cloned().unwrap_or_default()
}

fn project_error(project: &Project, field: &str, message: impl std::fmt::Display) -> LoadError {
    LoadError::File {
        file: first_file(project),
        message: format!("{field}: {message}"),
    }
}

/// The plan for `project` (loaded with the stack's name as its project name), its services'
/// `deploy` sections as written in `deploy` ([`super::deploy_source`]).
pub fn plan(
    stack: &str,
    project: &Project,
    deploy: &BTreeMap<String, Node>,
) -> Result<StackPlan, LoadError> {
    let mut plan = StackPlan {
        stack: stack.to_string(),
        warnings: project.warnings.clone(),
        ..Default::default()
    };
    for net in project.networks.values() {
        if net.external {
            plan.external_networks.push(net.name.clone());
            continue;
        }
        let mut labels = net.labels.clone();
        labels.extend(namespace(stack));
        plan.networks.push(NetworkCreate {
            name: net.name.clone(),
            driver: Some(net.driver.clone().unwrap_or_else(|| "overlay".into())),
            internal: net.internal,
            attachable: net.attachable,
            subnet: net.subnets.first().cloned(),
            extra_subnets: net.subnets.iter().skip(1).cloned().collect(),
            enable_ipv6: net.enable_ipv6,
            driver_opts: net.driver_opts.clone(),
            labels,
        });
    }
    for (kind, objects) in [("secrets", &project.secrets), ("configs", &project.configs)] {
        refuse_unapplied(kind, objects)?;
    }
    plan.secrets = objects(stack, &project.secrets);
    plan.configs = objects(stack, &project.configs);
    let mut unsupported: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for service in project.services.values() {
        for key in unsupported_keys(service) {
            unsupported
                .entry(key)
                .or_default()
                .push(service.name.clone());
        }
        plan.services.push(stack_service(
            stack,
            project,
            service,
            deploy.get(&service.name),
        )?);
    }
    if !unsupported.is_empty() {
        let keys: Vec<&str> = unsupported.keys().copied().collect();
        plan.warnings
            .push(format!("Ignoring unsupported options: {}", keys.join(", ")));
    }
    Ok(plan)
}

/// The secrets' and configs' attributes only a swarm has (`labels`, `driver`, `driver_opts`,
/// `template_driver`) that Berth's stacks do not apply yet: an error at the first, rather than
/// an object made without them. (`external` is applied.)
fn refuse_unapplied(kind: &str, objects: &BTreeMap<String, FileObject>) -> Result<(), LoadError> {
    for o in objects.values() {
        for e in &o.not_for_containers {
            let field = e.field().unwrap_or(kind);
            if field.ends_with(".external") {
                continue;
            }
            return Err(LoadError::Invalid {
                file: e.file().map(PathBuf::from).unwrap_or_default(),
                line: e.line().unwrap_or(0),
                field: field.to_string(),
                message: "not applied by berth's stacks yet".into(),
            });
        }
    }
    Ok(())
}

fn objects(stack: &str, objects: &BTreeMap<String, FileObject>) -> Vec<StackObject> {
    objects
        .iter()
        .map(|(key, o)| StackObject {
            key: key.clone(),
            // `name:` is used as it is (as the docker CLI does); else the stack's scope.
            name: match (&o.name, o.external) {
                (Some(name), _) => name.clone(),
                (None, true) => key.clone(),
                (None, false) => format!("{stack}_{key}"),
            },
            external: o.external,
            source: match (&o.file, &o.content, &o.environment_value, o.external) {
                (_, _, _, true) => ObjectSource::External,
                (Some(file), _, _, _) => ObjectSource::File(PathBuf::from(file)),
                (None, Some(text), _, _) => ObjectSource::Inline(text.clone()),
                (None, None, Some(value), _) => ObjectSource::Inline(value.clone()),
                (None, None, None, false) => ObjectSource::Inline(String::new()),
            },
        })
        .collect()
}

/// The keys a stack ignores that `service` sets (the docker CLI's list, plus `depends_on`).
fn unsupported_keys(s: &Service) -> Vec<&'static str> {
    let from_deploy = s.deploy.as_ref();
    let restart_from_deploy = from_deploy.is_some_and(|d| d.restart_condition.is_some());
    let checks: [(&'static str, bool); 18] = [
        ("build", s.build.is_some()),
        ("container_name", s.container_name.is_some()),
        ("depends_on", !s.depends_on.is_empty()),
        ("devices", !s.devices.is_empty()),
        ("domainname", s.domainname.is_some()),
        ("expose", !s.expose.is_empty()),
        ("ipc", s.ipc.is_some()),
        ("links", !s.links.is_empty()),
        ("network_mode", s.network_mode.is_some()),
        ("pid", s.pid.is_some()),
        ("privileged", s.privileged),
        ("restart", s.restart.is_some() && !restart_from_deploy),
        ("security_opt", !s.security_opt.is_empty()),
        ("shm_size", s.shm_size.is_some()),
        ("userns_mode", s.userns_mode.is_some()),
        ("pull_policy", s.pull_policy.is_some()),
        (
            "cpus",
            s.cpus.is_some() && from_deploy.and_then(|d| d.limit_cpus.as_ref()) != s.cpus.as_ref(),
        ),
        (
            "mem_limit",
            s.mem_limit.is_some()
                && from_deploy.and_then(|d| d.limit_memory.as_ref()) != s.mem_limit.as_ref(),
        ),
    ];
    let mut keys: Vec<&'static str> = checks
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(k, _)| k)
        .collect();
    if s.platform.is_some() {
        keys.push("platform");
    }
    if !s.annotations.is_empty() {
        keys.push("annotations");
    }
    keys
}

fn nanos(project: &Project, field: &str, text: &Option<String>) -> Result<Option<i64>, LoadError> {
    text.as_deref()
        .map(|t| {
            parse_duration_ns(t)
                .ok_or_else(|| project_error(project, field, format!("invalid duration {t:?}")))
        })
        .transpose()
}

fn healthcheck(
    project: &Project,
    field: &str,
    h: &berth_compose::model::Healthcheck,
) -> Result<Healthcheck, LoadError> {
    if h.disable {
        return Ok(Healthcheck {
            test: vec!["NONE".into()],
            ..Default::default()
        });
    }
    Ok(Healthcheck {
        test: h.test.clone(),
        interval: nanos(project, &format!("{field}.interval"), &h.interval)?,
        timeout: nanos(project, &format!("{field}.timeout"), &h.timeout)?,
        retries: h.retries.map(i64::from),
        start_period: nanos(project, &format!("{field}.start_period"), &h.start_period)?,
        start_interval: nanos(
            project,
            &format!("{field}.start_interval"),
            &h.start_interval,
        )?,
    })
}

fn ports(project: &Project, s: &Service) -> Result<Vec<ServicePort>, LoadError> {
    let mut out = Vec::new();
    for (i, p) in s.ports.iter().enumerate() {
        let field = format!("services.{}.ports[{i}]", s.name);
        if p.host_ip.is_some() {
            return Err(project_error(
                project,
                &field,
                "a stack cannot publish on one host address (swarm publishes on all)",
            ));
        }
        let published = match p.published.as_deref() {
            None => None,
            Some(text) => Some(text.parse::<u16>().map_err(|_| {
                project_error(
                    project,
                    &field,
                    format!("published port {text:?} must be one port number in a stack"),
                )
            })?),
        };
        out.push(ServicePort {
            target: p.target,
            published,
            protocol: p.protocol.clone(),
            mode: if p.mode.is_empty() {
                "ingress".into()
            } else {
                p.mode.clone()
            },
        });
    }
    Ok(out)
}

/// The mount settings Berth's stacks do not pass on yet, named (an error, not dropped).
fn unapplied_mount_settings(m: &berth_compose::model::Mount) -> Vec<&'static str> {
    let checks = [
        ("bind.propagation", m.propagation.is_some()),
        ("bind.selinux", m.selinux.is_some()),
        ("bind.recursive", m.recursive.is_some()),
        ("volume.subpath", m.subpath.is_some()),
        ("tmpfs.mode", m.tmpfs_mode.is_some()),
    ];
    checks
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(k, _)| k)
        .collect()
}

fn mounts(stack: &str, project: &Project, s: &Service) -> Result<Vec<ServiceMount>, LoadError> {
    for (i, m) in s.volumes.iter().enumerate() {
        if let Some(key) = unapplied_mount_settings(m).first() {
            return Err(project_error(
                project,
                &format!("services.{}.volumes[{i}].{key}", s.name),
                "not applied by berth's stacks yet",
            ));
        }
        let volume = m.source.as_ref().and_then(|k| project.volumes.get(k));
        if m.kind == MountType::Volume
            && volume
                .is_some_and(|v| !v.external && (v.driver.is_some() || !v.driver_opts.is_empty()))
        {
            return Err(project_error(
                project,
                &format!("volumes.{}", m.source.as_deref().unwrap_or_default()),
                "a volume's driver and driver_opts are not applied by berth's stacks yet",
            ));
        }
    }
    let mut out: Vec<ServiceMount> = s
        .volumes
        .iter()
        .map(|m| {
            let (kind, source) = match m.kind {
                MountType::Bind => ("bind", m.source.clone()),
                MountType::Tmpfs => ("tmpfs", None),
                MountType::Volume => (
                    "volume",
                    m.source.as_ref().map(|key| {
                        project
                            .volumes
                            .get(key)
                            .map_or_else(|| key.clone(), |v| v.name.clone())
                    }),
                ),
            };
            let volume_labels = match (&m.source, m.kind) {
                (Some(key), MountType::Volume) => {
                    let mut labels = project
                        .volumes
                        .get(key)
                        .map(|v| v.labels.clone())
                        .unwrap_or_default();
                    labels.extend(m.volume_labels.clone());
                    labels.extend(namespace(stack));
                    labels
                }
                _ => BTreeMap::new(),
            };
            ServiceMount {
                kind: kind.into(),
                source,
                target: m.target.clone(),
                read_only: m.read_only,
                volume_labels,
                no_copy: m.nocopy,
                tmpfs_size: m.tmpfs_size,
            }
        })
        .collect();
    out.extend(s.tmpfs.iter().map(|t| ServiceMount {
        kind: "tmpfs".into(),
        source: None,
        target: t.split(':').next().unwrap_or(t).to_string(),
        read_only: false,
        volume_labels: BTreeMap::new(),
        no_copy: false,
        tmpfs_size: None,
    }));
    Ok(out)
}

/// `host:ip` or `host=ip` as the engine's `ip host`.
fn host_line(entry: &str) -> String {
    let (host, ip) = entry
        .split_once('=')
        .or_else(|| entry.split_once(':'))
        .unwrap_or((entry, ""));
    format!("{} {}", ip.trim_matches(['[', ']']), host)
}

fn file_uses(refs: &[berth_compose::model::FileRef], objects: &[StackObject]) -> Vec<FileUse> {
    refs.iter()
        .map(|r| FileUse {
            name: objects
                .iter()
                .find(|o| o.key == r.source)
                .map_or_else(|| r.source.clone(), |o| o.name.clone()),
            target: r.target.clone(),
            uid: r.uid.clone(),
            gid: r.gid.clone(),
            mode: r.mode,
        })
        .collect()
}

fn stack_service(
    stack: &str,
    project: &Project,
    s: &Service,
    deploy: Option<&Node>,
) -> Result<StackService, LoadError> {
    let field = format!("services.{}", s.name);
    let image = s.image.clone().ok_or_else(|| {
        project_error(
            project,
            &field,
            "a stack's service needs an `image` (a stack cannot build one)",
        )
    })?;
    let deploy = match (deploy, &s.deploy) {
        (Some(node), _) => deploy_section::read(node, &format!("{field}.deploy"))?,
        (None, None) => Default::default(),
        (None, Some(_)) => {
            return Err(project_error(
                project,
                &format!("{field}.deploy"),
                "a deploy section inherited through `extends` or `include` is not read by berth's stacks yet: write it in the service itself",
            ))
        }
    };
    let mut labels = deploy.labels.clone();
    labels.extend(namespace(stack));
    labels.insert(IMAGE_LABEL.into(), image.clone());
    let mut container_labels = s.labels.clone();
    container_labels.extend(namespace(stack));
    let mode = deploy
        .mode
        .unwrap_or(ServiceMode::Replicated(u64::from(s.replicas())));
    let networks = s
        .networks
        .iter()
        .map(|(key, attach)| {
            let name = project
                .networks
                .get(key)
                .map_or_else(|| key.clone(), |n| n.name.clone());
            let mut aliases = vec![s.name.clone()];
            aliases.extend(attach.iter().flat_map(|a| a.aliases.iter().cloned()));
            (name, aliases)
        })
        .collect();
    let secret_objects = objects(stack, &project.secrets);
    let config_objects = objects(stack, &project.configs);
    let definition = ServiceDefinition {
        name: format!("{stack}_{}", s.name),
        labels,
        image,
        container_labels,
        entrypoint: s.entrypoint.clone(),
        args: s.command.clone(),
        env: s
            .environment
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
            .collect(),
        hostname: s.hostname.clone(),
        working_dir: s.working_dir.clone(),
        user: s.user.clone(),
        groups: s.group_add.clone(),
        tty: s.tty,
        open_stdin: s.stdin_open,
        read_only: s.read_only,
        init: s.init,
        stop_signal: s.stop_signal.clone(),
        stop_grace_period_ns: nanos(
            project,
            &format!("{field}.stop_grace_period"),
            &s.stop_grace_period,
        )?,
        healthcheck: s
            .healthcheck
            .as_ref()
            .map(|h| healthcheck(project, &format!("{field}.healthcheck"), h))
            .transpose()?,
        hosts: s.extra_hosts.iter().map(|h| host_line(h)).collect(),
        dns: s.dns.clone(),
        cap_add: s.cap_add.clone(),
        cap_drop: s.cap_drop.clone(),
        sysctls: s.sysctls.clone(),
        ulimits: s.engine_ulimits(),
        mounts: mounts(stack, project, s)?,
        secrets: Vec::new(),
        configs: Vec::new(),
        log_driver: s.logging.as_ref().and_then(|l| l.driver.clone()),
        log_options: s
            .logging
            .as_ref()
            .map(|l| l.options.clone())
            .unwrap_or_default(),
        mode,
        update: deploy.update,
        rollback: deploy.rollback,
        restart: deploy.restart,
        constraints: deploy.constraints,
        preferences: deploy.preferences,
        max_replicas_per_node: deploy.max_replicas_per_node,
        limit_nano_cpus: deploy.limit_nano_cpus,
        limit_memory: deploy.limit_memory,
        limit_pids: deploy.limit_pids,
        reserve_nano_cpus: deploy.reserve_nano_cpus,
        reserve_memory: deploy.reserve_memory,
        networks,
        endpoint_mode: deploy.endpoint_mode,
        ports: ports(project, s)?,
    };
    Ok(StackService {
        definition,
        secrets: file_uses(&s.secrets, &secret_objects),
        configs: file_uses(&s.configs, &config_objects),
    })
}

/// The files of a plan's secrets and configs, read now: `(name, bytes)`; a missing file is an
/// error naming the key and the path.
pub fn read_object(kind: &str, o: &StackObject) -> Result<Vec<u8>, LoadError> {
    match &o.source {
        ObjectSource::File(path) => std::fs::read(path).map_err(|e| LoadError::File {
            file: path.clone(),
            message: format!("{kind}s.{}: cannot read the file: {e}", o.key),
        }),
        ObjectSource::Inline(text) => Ok(text.clone().into_bytes()),
        ObjectSource::External => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_compose::{load_sources, LoadOptions};

    fn project(yaml: &str) -> Result<(Project, BTreeMap<String, Node>), LoadError> {
        let dir = std::env::temp_dir();
        let opts = LoadOptions {
            project_name: Some("app".into()),
            working_dir: dir.clone(),
            ..Default::default()
        };
        let sources = vec![(dir.join("stack.yml"), yaml.to_string())];
        let deploy = super::super::deploy_source::deploy_sections(&sources, &BTreeMap::new())?;
        Ok((load_sources(sources, &opts)?, deploy))
    }

    fn plan_of(yaml: &str) -> Result<StackPlan, LoadError> {
        let (project, deploy) = project(yaml)?;
        plan("app", &project, &deploy)
    }

    const STACK: &str = "services:
  web:
    image: busybox
    command: [sleep, '600']
    labels: {role: front}
    networks: [front]
    secrets: [token]
    configs: [{source: site, target: /etc/site.conf}]
    deploy:
      replicas: 3
      labels: {tier: web}
      update_config: {parallelism: 1, failure_action: rollback}
  worker:
    image: busybox
    build: .
    container_name: w
    depends_on: {web: {condition: service_healthy}}
    deploy: {mode: global}
networks:
  front: {}
secrets:
  token: {file: ./token.txt}
configs:
  site: {content: hello}
";

    #[test]
    fn names_labels_and_deploy_follow_docker_stack_deploy() {
        let plan = plan_of(STACK).unwrap();
        let nets: Vec<&str> = plan.networks.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(nets, ["app_default", "app_front"]);
        assert!(plan
            .networks
            .iter()
            .all(|n| n.driver.as_deref() == Some("overlay")));
        assert_eq!(plan.networks[0].labels[NAMESPACE_LABEL], "app");
        assert_eq!(plan.secrets[0].name, "app_token");
        assert!(matches!(plan.secrets[0].source, ObjectSource::File(_)));
        assert_eq!(plan.configs[0].source, ObjectSource::Inline("hello".into()));

        let web = &plan.services[0];
        let d = &web.definition;
        assert_eq!(d.name, "app_web");
        assert_eq!(d.mode, ServiceMode::Replicated(3));
        assert_eq!(d.labels["tier"], "web");
        assert_eq!(d.labels[NAMESPACE_LABEL], "app");
        assert_eq!(d.labels[IMAGE_LABEL], "busybox");
        assert_eq!(d.container_labels["role"], "front");
        assert_eq!(d.container_labels[NAMESPACE_LABEL], "app");
        assert_eq!(
            d.networks,
            [("app_front".to_string(), vec!["web".to_string()])]
        );
        assert_eq!(d.update.as_ref().unwrap().parallelism, Some(1));
        assert_eq!(web.secrets[0].name, "app_token");
        assert_eq!(web.configs[0].target, "/etc/site.conf");
        assert_eq!(plan.services[1].definition.mode, ServiceMode::Global);
    }

    #[test]
    fn keys_a_stack_cannot_use_are_named_in_one_warning() {
        let plan = plan_of(STACK).unwrap();
        let warning = plan
            .warnings
            .iter()
            .find(|w| w.starts_with("Ignoring unsupported options"))
            .expect("a warning");
        assert_eq!(
            warning,
            "Ignoring unsupported options: build, container_name, depends_on"
        );
    }

    #[test]
    fn a_bad_deploy_value_names_file_line_and_key() {
        let yaml = "services:\n  web:\n    image: busybox\n    deploy:\n      endpoint_mode: round-robin\n";
        let e = plan_of(yaml).unwrap_err();
        assert_eq!(e.line(), Some(5));
        assert_eq!(e.field(), Some("services.web.deploy.endpoint_mode"));
        assert!(e.to_string().contains("stack.yml:5:"), "{e}");
    }

    #[test]
    fn a_service_without_an_image_is_refused() {
        let e = plan_of("services:\n  web:\n    build: .\n").unwrap_err();
        assert!(e.to_string().contains("services.web"), "{e}");
        assert!(e.to_string().contains("image"), "{e}");
    }

    #[test]
    fn object_names_variables_and_file_modes_are_applied() {
        let yaml = "services:\n  web:\n    image: busybox\n    secrets:\n      - source: token\n        target: token\n        uid: '1000'\n        mode: 0400\nsecrets:\n  token: {environment: TOKEN_VALUE, name: shared_token}\n";
        let dir = std::env::temp_dir();
        let opts = LoadOptions {
            project_name: Some("app".into()),
            working_dir: dir.clone(),
            environment: BTreeMap::from([("TOKEN_VALUE".to_string(), "s3cret".to_string())]),
            ..Default::default()
        };
        let sources = vec![(dir.join("stack.yml"), yaml.to_string())];
        let project = load_sources(sources, &opts).unwrap();
        let plan = plan("app", &project, &BTreeMap::new()).unwrap();
        assert_eq!(plan.secrets[0].name, "shared_token");
        assert_eq!(
            plan.secrets[0].source,
            ObjectSource::Inline("s3cret".into())
        );
        let used = &plan.services[0].secrets[0];
        assert_eq!(used.name, "shared_token");
        assert_eq!(
            (used.uid.as_deref(), used.mode),
            (Some("1000"), Some(0o400))
        );
    }

    #[test]
    fn secret_labels_a_stack_cannot_apply_yet_are_an_error_at_their_line() {
        let yaml = "services:\n  web:\n    image: busybox\nsecrets:\n  token:\n    file: ./t\n    labels: {a: b}\n";
        let e = plan_of(yaml).unwrap_err();
        assert_eq!(e.line(), Some(7), "{e}");
        assert_eq!(e.field(), Some("secrets.token.labels"), "{e}");
    }

    #[test]
    fn mount_settings_a_stack_cannot_pass_on_are_named() {
        let yaml = "services:\n  web:\n    image: busybox\n    volumes:\n      - type: volume\n        source: data\n        target: /data\n        volume: {subpath: sub}\nvolumes:\n  data: {}\n";
        let e = plan_of(yaml).unwrap_err();
        assert!(
            e.to_string()
                .contains("services.web.volumes[0].volume.subpath"),
            "{e}"
        );
        let yaml = "services:\n  web:\n    image: busybox\n    volumes: [data:/data]\nvolumes:\n  data: {driver: nfs}\n";
        let e = plan_of(yaml).unwrap_err();
        assert!(e.to_string().contains("volumes.data"), "{e}");
        let yaml = "services:\n  web:\n    image: busybox\n    volumes: [data:/data]\nvolumes:\n  data: {labels: {k: v}}\n";
        let plan = plan_of(yaml).unwrap();
        let mount = &plan.services[0].definition.mounts[0];
        assert_eq!(mount.source.as_deref(), Some("app_data"));
        assert_eq!(mount.volume_labels["k"], "v");
        assert_eq!(mount.volume_labels[NAMESPACE_LABEL], "app");
    }

    #[test]
    fn stack_names_are_checked() {
        assert!(valid_stack_name("app_1-b"));
        assert!(!valid_stack_name(""));
        assert!(!valid_stack_name("-app"));
        assert!(!valid_stack_name("app/x"));
    }
}
