//! A service's structured attributes: `build`, `depends_on`, `networks`, `healthcheck`,
//! `deploy`, `ulimits`, `extra_hosts`, `logging`, `secrets`/`configs`.

use super::*;

pub(super) fn build(n: &Node, field: &str, ctx: &Ctx) -> R<Build> {
    if let Value::Scalar { text, .. } = &n.value {
        return Ok(Build {
            context: ctx.host_path(text),
            ..Default::default()
        });
    }
    let mut b = Build {
        context: ctx.host_path("."),
        ..Default::default()
    };
    for (key, v) in map(n, field)? {
        let f = format!("{field}.{key}");
        let f = f.as_str();
        match key.as_str() {
            "context" => b.context = ctx.host_path(&scalar(v, f)?),
            "dockerfile" => b.dockerfile = opt_scalar(v, f)?,
            "args" => b.args = kv(v, f)?,
            "target" => b.target = opt_scalar(v, f)?,
            "labels" => b.labels = kv_strings(v, f)?,
            "no_cache" => b.no_cache = boolean(v, f)?,
            "pull" => b.pull = boolean(v, f)?,
            "network" => b.network = opt_scalar(v, f)?,
            "cache_from" => b.cache_from = str_list(v, f)?,
            "shm_size" => b.shm_size = Some(super::bytes(v, f)?),
            "tags" => b.tags = str_list(v, f)?,
            "platforms" => {
                b.platforms = str_list(v, f)?;
                if b.platforms.len() > 1 {
                    return Err(refused(
                        v,
                        f,
                        "a multi-platform build needs BuildKit, which Berth does not use yet (issue #19)",
                    ));
                }
            }
            "dockerfile_inline" | "cache_to" | "extra_hosts" | "ssh" | "secrets"
            | "additional_contexts"
            | "privileged" | "ulimits" | "entitlements" | "provenance" | "sbom" => {
                return Err(refused(
                    v,
                    f,
                    "Berth builds with the engine's classic builder; BuildKit builds are not implemented yet (issue #19)",
                ))
            }
            "isolation" => {
                return Err(refused(
                    v,
                    f,
                    "build isolation applies to Windows engines only",
                ))
            }
            k if k.starts_with("x-") => {}
            _ => return err(v, f, "unknown attribute"),
        }
    }
    // An argument without a value takes the variable's; unset, it is not passed at all.
    b.args = std::mem::take(&mut b.args)
        .into_iter()
        .filter_map(|(k, v)| match v {
            Some(v) => Some((k, Some(v))),
            None => ctx.env.get(&k).map(|v| (k, Some(v.clone()))),
        })
        .collect();
    Ok(b)
}

/// Ports, short (`[[ip:]host:]container[/proto]`, ranges allowed) or long syntax.
pub(super) fn depends_on(n: &Node, field: &str) -> R<BTreeMap<String, Dependency>> {
    let mut out = BTreeMap::new();
    let default = Dependency {
        condition: Condition::ServiceStarted,
        required: true,
        restart: false,
    };
    if let Value::Seq(items) = &n.value {
        for (i, item) in items.iter().enumerate() {
            out.insert(scalar(item, &format!("{field}[{i}]"))?, default.clone());
        }
        return Ok(out);
    }
    for (name, v) in map(n, field)? {
        let f = format!("{field}.{name}");
        let mut d = default.clone();
        for (key, x) in map(v, &f)? {
            let g = format!("{f}.{key}");
            match key.as_str() {
                "condition" => {
                    d.condition = match scalar(x, &g)?.as_str() {
                        "service_started" => Condition::ServiceStarted,
                        "service_healthy" => Condition::ServiceHealthy,
                        "service_completed_successfully" => Condition::ServiceCompletedSuccessfully,
                        other => return err(x, &g, format!("unknown condition {other:?}")),
                    }
                }
                "required" => d.required = boolean(x, &g)?,
                "restart" => d.restart = boolean(x, &g)?,
                _ => return err(x, &g, "unknown attribute"),
            }
        }
        out.insert(name.clone(), d);
    }
    Ok(out)
}

pub(super) fn service_networks(
    n: &Node,
    field: &str,
) -> R<BTreeMap<String, Option<ServiceNetwork>>> {
    let mut out = BTreeMap::new();
    if let Value::Seq(items) = &n.value {
        for (i, item) in items.iter().enumerate() {
            out.insert(scalar(item, &format!("{field}[{i}]"))?, None);
        }
        return Ok(out);
    }
    for (name, v) in map(n, field)? {
        let f = format!("{field}.{name}");
        if v.is_null() {
            out.insert(name.clone(), None);
            continue;
        }
        let mut sn = ServiceNetwork::default();
        for (key, x) in map(v, &f)? {
            let g = format!("{f}.{key}");
            match key.as_str() {
                "aliases" => sn.aliases = str_list(x, &g)?,
                "ipv4_address" => sn.ipv4_address = opt_scalar(x, &g)?,
                "ipv6_address" => sn.ipv6_address = opt_scalar(x, &g)?,
                "link_local_ips" => sn.link_local_ips = str_list(x, &g)?,
                "mac_address" => sn.mac_address = opt_scalar(x, &g)?,
                "driver_opts" => sn.driver_opts = kv_strings(x, &g)?,
                "gw_priority" => sn.gw_priority = Some(super::int(x, &g)?),
                "priority" => sn.priority = Some(super::int(x, &g)?),
                k if k.starts_with("x-") => {}
                _ => return err(x, &g, "unknown attribute"),
            }
        }
        out.insert(name.clone(), Some(sn));
    }
    Ok(out)
}

pub(super) fn healthcheck(n: &Node, field: &str) -> R<Healthcheck> {
    let mut h = Healthcheck::default();
    for (key, v) in map(n, field)? {
        let f = format!("{field}.{key}");
        let f = f.as_str();
        match key.as_str() {
            "test" => {
                h.test = match &v.value {
                    Value::Scalar { text, .. } if text == "NONE" => vec!["NONE".into()],
                    Value::Scalar { text, .. } => vec!["CMD-SHELL".into(), text.clone()],
                    _ => str_list(v, f)?,
                };
                if let Some(first) = h.test.first() {
                    if !matches!(first.as_str(), "NONE" | "CMD" | "CMD-SHELL") {
                        return err(
                            v,
                            f,
                            "a test list must start with \"CMD\", \"CMD-SHELL\" or \"NONE\"",
                        );
                    }
                }
            }
            "interval" => h.interval = Some(duration(v, f)?),
            "timeout" => h.timeout = Some(duration(v, f)?),
            "start_period" => h.start_period = Some(duration(v, f)?),
            "start_interval" => h.start_interval = Some(duration(v, f)?),
            "retries" => h.retries = Some(uint(v, f)?),
            "disable" => h.disable = boolean(v, f)?,
            _ => return err(v, f, "unknown attribute"),
        }
    }
    Ok(h)
}

/// What `up` says about a `deploy` key only a swarm service has.
const SWARM_ONLY: &str =
    "only a swarm service has this setting (berth stack deploy); containers cannot apply it";

pub(super) fn deploy(n: &Node, field: &str, s: &mut Service) -> R<Option<u32>> {
    let mut replicas = None;
    let mut d = Deploy::default();
    let swarm_only = |s: &mut Service, v: &Node, f: &str| {
        s.not_for_containers.push(refused(v, f, SWARM_ONLY));
    };
    for (key, v) in map(n, field)? {
        let f = format!("{field}.{key}");
        let f = f.as_str();
        match key.as_str() {
            "replicas" => replicas = Some(uint(v, f)?),
            "resources" => {
                for (k, x) in map(v, f)? {
                    let g = format!("{f}.{k}");
                    match k.as_str() {
                        "limits" => {
                            d.limits = true;
                            limits(x, &g, &mut d)?;
                        }
                        "reservations" => reservations(x, &g, s, &mut d)?,
                        _ => return err(x, &g, "unknown attribute"),
                    }
                }
            }
            "restart_policy" => restart_policy(v, f, s, &mut d)?,
            "mode" => {
                let mode = scalar(v, f)?;
                match mode.as_str() {
                    "replicated" => {}
                    "global" | "replicated-job" | "global-job" => swarm_only(s, v, f),
                    _ => return err(v, f, format!("invalid deploy mode {mode:?}")),
                }
            }
            "labels" | "placement" | "update_config" | "rollback_config" | "endpoint_mode" => {
                swarm_only(s, v, f)
            }
            k if k.starts_with("x-") => {}
            _ => return err(v, f, "unknown attribute"),
        }
    }
    if let Some(n) = d.restart_max_attempts {
        if s.restart.as_deref() == Some("on-failure") {
            s.restart = Some(format!("on-failure:{n}"));
        }
    }
    s.deploy = Some(d);
    Ok(replicas)
}

type Same = fn(&str, &str) -> bool;

fn same_bytes(a: &str, b: &str) -> bool {
    parse_bytes(a) == parse_bytes(b)
}

fn same_cpus(a: &str, b: &str) -> bool {
    a.trim().parse::<f64>().ok() == b.trim().parse::<f64>().ok()
}

/// `top` takes `from_deploy` when it has no value of its own; two different values are an
/// error at `deploy` (`what`: the deploy field, the top-level key, how values compare).
fn reconcile(
    top: &mut Option<String>,
    from_deploy: &Option<String>,
    (deploy_field, top_key, same): (&String, &str, Same),
    deploy_node: &Node,
) -> R<()> {
    match (top.as_deref(), from_deploy.as_deref()) {
        (Some(a), Some(b)) if !same(a, b) => err(
            deploy_node,
            deploy_field,
            format!("{b:?} differs from the service's {top_key} {a:?}; give one value"),
        ),
        (None, Some(b)) => {
            *top = Some(b.to_string());
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Applies `deploy`'s limits and reservation through the service's own attributes; a value
/// given both ways must be the same (as compose requires), or nothing says which one applies.
pub(super) fn reconcile_deploy(s: &mut Service, deploy_node: &Node, field: &str) -> R<()> {
    let Some(d) = s.deploy.clone() else {
        return Ok(());
    };
    let at = |key: &str| format!("{field}.{key}");
    let cpus = (&at("resources.limits.cpus"), "cpus", same_cpus as Same);
    reconcile(&mut s.cpus, &d.limit_cpus, cpus, deploy_node)?;
    let memory = (
        &at("resources.limits.memory"),
        "mem_limit",
        same_bytes as Same,
    );
    reconcile(&mut s.mem_limit, &d.limit_memory, memory, deploy_node)?;
    let reserved = (
        &at("resources.reservations.memory"),
        "mem_reservation",
        same_bytes as Same,
    );
    reconcile(
        &mut s.mem_reservation,
        &d.reservation_memory,
        reserved,
        deploy_node,
    )?;
    match (s.pids_limit, d.limit_pids) {
        (Some(a), Some(b)) if a != b => err(
            deploy_node,
            &format!("{field}.resources.limits.pids"),
            format!("{b} differs from the service's pids_limit {a}; give one value"),
        ),
        (None, Some(b)) => {
            s.pids_limit = Some(b);
            Ok(())
        }
        _ => Ok(()),
    }
}

fn limits(n: &Node, field: &str, d: &mut Deploy) -> R<()> {
    for (k, x) in map(n, field)? {
        let g = format!("{field}.{k}");
        match k.as_str() {
            "cpus" => d.limit_cpus = Some(super::cpus(x, &g)?),
            "memory" => d.limit_memory = Some(super::bytes(x, &g)?),
            "pids" => d.limit_pids = Some(super::int(x, &g)?),
            _ => return err(x, &g, "unknown attribute"),
        }
    }
    Ok(())
}

fn reservations(n: &Node, field: &str, s: &mut Service, d: &mut Deploy) -> R<()> {
    for (k, x) in map(n, field)? {
        let g = format!("{field}.{k}");
        match k.as_str() {
            "memory" => d.reservation_memory = Some(super::bytes(x, &g)?),
            "devices" => s.gpus.extend(super::resources::device_requests(x, &g)?),
            "cpus" => {
                super::cpus(x, &g)?;
                s.not_for_containers.push(refused(
                    x,
                    &g,
                    "the engine has no CPU reservation for a container (use cpu_shares)",
                ));
            }
            "generic_resources" => s.not_for_containers.push(refused(x, &g, SWARM_ONLY)),
            _ => return err(x, &g, "unknown attribute"),
        }
    }
    Ok(())
}

fn restart_policy(n: &Node, field: &str, s: &mut Service, d: &mut Deploy) -> R<()> {
    d.restart_policy = true;
    for (k, x) in map(n, field)? {
        let g = format!("{field}.{k}");
        match k.as_str() {
            "condition" => {
                let cond = scalar(x, &g)?;
                let restart = match cond.as_str() {
                    "any" => "always",
                    "on-failure" => "on-failure",
                    "none" => "no",
                    _ => return err(x, &g, format!("invalid restart condition {cond:?}")),
                };
                s.restart.get_or_insert(restart.to_string());
                d.restart_condition = Some(cond);
            }
            "max_attempts" => d.restart_max_attempts = Some(uint(x, &g)?),
            "delay" | "window" => {
                let value = Some(duration(x, &g)?);
                if k == "delay" {
                    d.restart_delay = value;
                } else {
                    d.restart_window = value;
                }
                s.not_for_containers.push(refused(
                    x,
                    &g,
                    "the engine restarts a container at once and has no restart window; only a swarm service applies this (berth stack deploy)",
                ));
            }
            _ => return err(x, &g, "unknown attribute"),
        }
    }
    Ok(())
}

/// `nofile: 1024` or `nofile: {soft: 1024, hard: 2048}`.
pub(super) fn ulimits(n: &Node, field: &str) -> R<BTreeMap<String, Ulimit>> {
    let mut out = BTreeMap::new();
    let int = |x: &Node, f: &str| -> R<i64> {
        let t = scalar(x, f)?;
        t.parse()
            .or_else(|_| err(x, f, format!("must be an integer, found {t:?}")))
    };
    for (name, v) in map(n, field)? {
        let f = format!("{field}.{name}");
        let limit = match &v.value {
            Value::Map(_) => {
                let get = |k: &str| -> R<i64> {
                    match v.get(k) {
                        Some(x) => int(x, &format!("{f}.{k}")),
                        None => err(v, &f, format!("missing `{k}`")),
                    }
                };
                Ulimit {
                    soft: get("soft")?,
                    hard: get("hard")?,
                }
            }
            _ => {
                let both = int(v, &f)?;
                Ulimit {
                    soft: both,
                    hard: both,
                }
            }
        };
        out.insert(name.clone(), limit);
    }
    Ok(out)
}

pub(super) fn extra_hosts(n: &Node, field: &str) -> R<Vec<String>> {
    match &n.value {
        Value::Map(_) => Ok(kv_strings(n, field)?
            .into_iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect()),
        _ => Ok(str_list(n, field)?
            .into_iter()
            .map(|h| match h.split_once('=') {
                Some((k, v)) => format!("{k}:{v}"),
                None => h,
            })
            .collect()),
    }
}

pub(super) fn logging(n: &Node, field: &str) -> R<Logging> {
    let mut l = Logging::default();
    for (key, v) in map(n, field)? {
        let f = format!("{field}.{key}");
        match key.as_str() {
            "driver" => l.driver = opt_scalar(v, &f)?,
            "options" => l.options = kv_strings(v, &f)?,
            _ => return err(v, &f, "unknown attribute"),
        }
    }
    Ok(l)
}

pub(super) fn file_refs(n: &Node, field: &str, prefix: &str) -> R<Vec<FileRef>> {
    let mut out = Vec::new();
    for (i, item) in seq(n, field)?.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let r = match &item.value {
            Value::Map(_) => {
                let source = item
                    .get("source")
                    .map(|s| scalar(s, &format!("{f}.source")))
                    .transpose()?
                    .ok_or_else(|| LoadError::at(&item.pos, &f, "missing `source`"))?;
                let target = item
                    .get("target")
                    .map(|t| scalar(t, &format!("{f}.target")))
                    .transpose()?
                    .unwrap_or_else(|| source.clone());
                let mut r = FileRef {
                    source,
                    target,
                    ..FileRef::default()
                };
                for key in ["uid", "gid", "mode"] {
                    let Some(x) = item.get(key) else { continue };
                    let g = format!("{f}.{key}");
                    let value = scalar(x, &g)?;
                    match key {
                        "mode" => {
                            r.mode = Some(
                                u32::from_str_radix(value.trim_start_matches("0o"), 8)
                                    .ok()
                                    .filter(|m| *m <= 0o7777)
                                    .map_or_else(
                                        || err(x, &g, format!("invalid file mode {value:?}")),
                                        Ok,
                                    )?,
                            )
                        }
                        _ => {
                            if value.parse::<u32>().is_err() {
                                return err(
                                    x,
                                    &g,
                                    format!("must be a numeric id, found {value:?}"),
                                );
                            }
                            if key == "uid" {
                                r.uid = Some(value);
                            } else {
                                r.gid = Some(value);
                            }
                        }
                    }
                }
                if let Some((k, x)) = map(item, &f)?.iter().find(|(k, _)| {
                    !matches!(k.as_str(), "source" | "target" | "uid" | "gid" | "mode")
                }) {
                    return err(x, &format!("{f}.{k}"), "unknown attribute");
                }
                r
            }
            _ => {
                let source = scalar(item, &f)?;
                FileRef {
                    target: source.clone(),
                    source,
                    ..FileRef::default()
                }
            }
        };
        let target = if r.target.starts_with('/') {
            r.target.clone()
        } else {
            format!("{prefix}{}", r.target)
        };
        out.push(FileRef { target, ..r });
    }
    Ok(out)
}
