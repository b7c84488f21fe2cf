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
            "dockerfile_inline" => b.dockerfile_inline = opt_scalar(v, f)?,
            "args" => b.args = kv(v, f)?,
            "target" => b.target = opt_scalar(v, f)?,
            "labels" => b.labels = kv_strings(v, f)?,
            "network" => b.network = opt_scalar(v, f)?,
            "no_cache" => b.no_cache = boolean(v, f)?,
            "pull" => b.pull = boolean(v, f)?,
            "cache_from" | "cache_to" | "tags" | "platforms" | "shm_size" | "extra_hosts" => {}
            k if k.starts_with("x-") => {}
            "ssh"
            | "secrets"
            | "additional_contexts"
            | "isolation"
            | "privileged"
            | "ulimits"
            | "entitlements" => {
                return err(v, f, "this build attribute is not supported by berth yet")
            }
            _ => return err(v, f, "unknown attribute"),
        }
    }
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
                "priority" | "link_local_ips" | "mac_address" | "driver_opts" | "gw_priority" => {}
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

pub(super) fn deploy(n: &Node, field: &str, s: &mut Service) -> R<Option<u32>> {
    let mut replicas = None;
    let mut d = Deploy::default();
    for (key, v) in map(n, field)? {
        let f = format!("{field}.{key}");
        let f = f.as_str();
        match key.as_str() {
            "replicas" => replicas = Some(uint(v, f)?),
            "resources" => {
                if let Some(limits) = v.get("limits") {
                    let g = format!("{f}.limits");
                    d.limits = true;
                    for (k, x) in map(limits, &g)? {
                        match k.as_str() {
                            "cpus" => {
                                s.cpus = opt_scalar(x, &format!("{g}.cpus"))?;
                                d.limit_cpus.clone_from(&s.cpus);
                            }
                            "memory" => {
                                s.mem_limit = opt_scalar(x, &format!("{g}.memory"))?;
                                d.limit_memory.clone_from(&s.mem_limit);
                            }
                            "pids" => {
                                d.limit_pids = Some(i64::from(uint(x, &format!("{g}.pids"))?))
                            }
                            _ => return err(x, &format!("{g}.{k}"), "unknown attribute"),
                        }
                    }
                }
                if let Some(res) = v.get("reservations") {
                    if let Some(d) = res.get("devices") {
                        return err(
                            d,
                            &format!("{f}.reservations.devices"),
                            "device reservations (GPUs) are not supported by berth yet",
                        );
                    }
                }
            }
            "restart_policy" => {
                d.restart_policy = true;
                let g = |k: &str| format!("{f}.{k}");
                if let Some(x) = v.get("delay") {
                    d.restart_delay = Some(duration(x, &g("delay"))?);
                }
                if let Some(x) = v.get("window") {
                    d.restart_window = Some(duration(x, &g("window"))?);
                }
                if let Some(x) = v.get("max_attempts") {
                    d.restart_max_attempts = Some(uint(x, &g("max_attempts"))?);
                }
                if let Some(c) = v.get("condition") {
                    d.restart_condition = Some(scalar(c, &format!("{f}.condition"))?);
                    let cond = scalar(c, &format!("{f}.condition"))?;
                    s.restart.get_or_insert(match cond.as_str() {
                        "any" => "always".to_string(),
                        "on-failure" => "on-failure".to_string(),
                        _ => "no".to_string(),
                    });
                }
            }
            "labels" | "mode" | "placement" | "update_config" | "rollback_config"
            | "endpoint_mode" => {}
            _ => return err(v, f, "unknown attribute"),
        }
    }
    s.deploy = Some(d);
    Ok(replicas)
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
                FileRef { source, target }
            }
            _ => {
                let source = scalar(item, &f)?;
                FileRef {
                    target: source.clone(),
                    source,
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
