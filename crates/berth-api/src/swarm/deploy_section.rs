//! A compose service's `deploy` section as a swarm stack reads it: `mode`, `replicas`,
//! `labels`, `update_config`, `rollback_config`, `restart_policy`, `placement`,
//! `resources` and `endpoint_mode`. berth-compose keeps the section as written (with its
//! positions), so every error here names file, line and key too.

use std::collections::BTreeMap;

use berth_compose::decode::{parse_bytes, parse_duration_ns};
use berth_compose::yaml::{Node, Value};
use berth_compose::LoadError;
use berth_engine::swarm::{
    EndpointMode, FailureAction, ServiceMode, ServiceRestart, UpdateOrder, UpdatePolicy,
};

type R<T> = Result<T, LoadError>;

/// What a stack applies of one `deploy` section.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeploySection {
    pub mode: Option<ServiceMode>,
    pub labels: BTreeMap<String, String>,
    pub update: Option<UpdatePolicy>,
    pub rollback: Option<UpdatePolicy>,
    pub restart: Option<ServiceRestart>,
    pub constraints: Vec<String>,
    pub preferences: Vec<String>,
    pub max_replicas_per_node: Option<u64>,
    pub limit_nano_cpus: Option<i64>,
    pub limit_memory: Option<i64>,
    pub limit_pids: Option<i64>,
    pub reserve_nano_cpus: Option<i64>,
    pub reserve_memory: Option<i64>,
    pub endpoint_mode: Option<EndpointMode>,
}

fn invalid(n: &Node, field: &str, message: impl Into<String>) -> LoadError {
    LoadError::Invalid {
        file: n.pos.file.to_path_buf(),
        line: n.pos.line,
        field: field.to_string(),
        message: message.into(),
    }
}

fn text(n: &Node, field: &str) -> R<String> {
    match &n.value {
        Value::Scalar { text, .. } => Ok(text.clone()),
        _ => Err(invalid(
            n,
            field,
            format!("must be a string or a number, found {}", n.kind()),
        )),
    }
}

fn entries<'a>(n: &'a Node, field: &str) -> R<&'a [(String, Node)]> {
    match &n.value {
        Value::Map(m) => Ok(m),
        Value::Null => Ok(&[]),
        _ => Err(invalid(
            n,
            field,
            format!("must be a mapping, found {}", n.kind()),
        )),
    }
}

fn items<'a>(n: &'a Node, field: &str) -> R<&'a [Node]> {
    match &n.value {
        Value::Seq(s) => Ok(s),
        Value::Null => Ok(&[]),
        _ => Err(invalid(
            n,
            field,
            format!("must be a list, found {}", n.kind()),
        )),
    }
}

fn uint(n: &Node, field: &str) -> R<u64> {
    let t = text(n, field)?;
    t.trim()
        .parse()
        .map_err(|_| invalid(n, field, format!("must be a whole number, found {t:?}")))
}

fn duration(n: &Node, field: &str) -> R<i64> {
    let t = text(n, field)?;
    parse_duration_ns(&t).ok_or_else(|| invalid(n, field, format!("invalid duration {t:?}")))
}

fn nano_cpus(n: &Node, field: &str) -> R<i64> {
    let t = text(n, field)?;
    match t.trim().parse::<f64>() {
        Ok(cpus) if (0.0..1e9).contains(&cpus) => Ok((cpus * 1e9) as i64),
        _ => Err(invalid(
            n,
            field,
            format!("must be a number of CPUs, found {t:?}"),
        )),
    }
}

fn bytes(n: &Node, field: &str) -> R<i64> {
    let t = text(n, field)?;
    parse_bytes(&t).ok_or_else(|| invalid(n, field, format!("invalid byte size {t:?}")))
}

/// `labels` as a mapping or a list of `KEY=VALUE`.
fn labels(n: &Node, field: &str) -> R<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    match &n.value {
        Value::Seq(list) => {
            for (i, item) in list.iter().enumerate() {
                let t = text(item, &format!("{field}[{i}]"))?;
                let (k, v) = t.split_once('=').unwrap_or((t.as_str(), ""));
                out.insert(k.to_string(), v.to_string());
            }
        }
        _ => {
            for (k, v) in entries(n, field)? {
                let value = if v.is_null() {
                    String::new()
                } else {
                    text(v, &format!("{field}.{k}"))?
                };
                out.insert(k.clone(), value);
            }
        }
    }
    Ok(out)
}

fn update_policy(n: &Node, field: &str) -> R<UpdatePolicy> {
    let mut p = UpdatePolicy::default();
    for (k, v) in entries(n, field)? {
        let f = format!("{field}.{k}");
        match k.as_str() {
            "parallelism" => p.parallelism = Some(uint(v, &f)?),
            "delay" => p.delay_ns = Some(duration(v, &f)?),
            "monitor" => p.monitor_ns = Some(duration(v, &f)?),
            "max_failure_ratio" => {
                let t = text(v, &f)?;
                p.max_failure_ratio = Some(
                    t.parse::<f64>()
                        .ok()
                        .filter(|r| (0.0..=1.0).contains(r))
                        .ok_or_else(|| {
                            invalid(v, &f, format!("must be a ratio from 0 to 1, found {t:?}"))
                        })?,
                );
            }
            "failure_action" => {
                p.failure_action = Some(match text(v, &f)?.as_str() {
                    "continue" => FailureAction::Continue,
                    "pause" => FailureAction::Pause,
                    "rollback" => FailureAction::Rollback,
                    other => {
                        return Err(invalid(
                            v,
                            &f,
                            format!("must be continue, pause or rollback, found {other:?}"),
                        ))
                    }
                })
            }
            "order" => {
                p.order = Some(match text(v, &f)?.as_str() {
                    "stop-first" => UpdateOrder::StopFirst,
                    "start-first" => UpdateOrder::StartFirst,
                    other => {
                        return Err(invalid(
                            v,
                            &f,
                            format!("must be stop-first or start-first, found {other:?}"),
                        ))
                    }
                })
            }
            x if x.starts_with("x-") => {}
            _ => return Err(invalid(v, &f, "unknown attribute")),
        }
    }
    Ok(p)
}

fn restart_policy(n: &Node, field: &str) -> R<ServiceRestart> {
    let mut r = ServiceRestart::default();
    for (k, v) in entries(n, field)? {
        let f = format!("{field}.{k}");
        match k.as_str() {
            "condition" => {
                let c = text(v, &f)?;
                if !matches!(c.as_str(), "none" | "on-failure" | "any") {
                    return Err(invalid(
                        v,
                        &f,
                        format!("must be none, on-failure or any, found {c:?}"),
                    ));
                }
                r.condition = Some(c);
            }
            "delay" => r.delay_ns = Some(duration(v, &f)?),
            "window" => r.window_ns = Some(duration(v, &f)?),
            "max_attempts" => r.max_attempts = Some(uint(v, &f)?),
            x if x.starts_with("x-") => {}
            _ => return Err(invalid(v, &f, "unknown attribute")),
        }
    }
    Ok(r)
}

fn placement(n: &Node, field: &str, d: &mut DeploySection) -> R<()> {
    for (k, v) in entries(n, field)? {
        let f = format!("{field}.{k}");
        match k.as_str() {
            "constraints" => {
                for (i, c) in items(v, &f)?.iter().enumerate() {
                    d.constraints.push(text(c, &format!("{f}[{i}]"))?);
                }
            }
            "preferences" => {
                for (i, p) in items(v, &f)?.iter().enumerate() {
                    let g = format!("{f}[{i}]");
                    let spread = p
                        .get("spread")
                        .ok_or_else(|| invalid(p, &g, "a preference needs `spread`"))?;
                    d.preferences.push(text(spread, &format!("{g}.spread"))?);
                }
            }
            "max_replicas_per_node" => d.max_replicas_per_node = Some(uint(v, &f)?),
            x if x.starts_with("x-") => {}
            _ => return Err(invalid(v, &f, "unknown attribute")),
        }
    }
    Ok(())
}

fn resources(n: &Node, field: &str, d: &mut DeploySection) -> R<()> {
    for (k, v) in entries(n, field)? {
        let f = format!("{field}.{k}");
        match k.as_str() {
            "limits" => {
                for (key, x) in entries(v, &f)? {
                    let g = format!("{f}.{key}");
                    match key.as_str() {
                        "cpus" => d.limit_nano_cpus = Some(nano_cpus(x, &g)?),
                        "memory" => d.limit_memory = Some(bytes(x, &g)?),
                        "pids" => {
                            d.limit_pids = Some(i64::try_from(uint(x, &g)?).unwrap_or(i64::MAX))
                        }
                        _ => return Err(invalid(x, &g, "unknown attribute")),
                    }
                }
            }
            "reservations" => {
                for (key, x) in entries(v, &f)? {
                    let g = format!("{f}.{key}");
                    match key.as_str() {
                        "cpus" => d.reserve_nano_cpus = Some(nano_cpus(x, &g)?),
                        "memory" => d.reserve_memory = Some(bytes(x, &g)?),
                        _ => {
                            return Err(invalid(
                                x,
                                &g,
                                "not supported by berth's stacks yet (cpus and memory are)",
                            ))
                        }
                    }
                }
            }
            x if x.starts_with("x-") => {}
            _ => return Err(invalid(v, &f, "unknown attribute")),
        }
    }
    Ok(())
}

fn mode(n: &Node, field: &str, replicas: Option<u64>) -> R<ServiceMode> {
    match text(n, field)?.as_str() {
        "replicated" => Ok(ServiceMode::Replicated(replicas.unwrap_or(1))),
        "global" if replicas.is_some() => Err(invalid(
            n,
            field,
            "a global service runs one task per node: `replicas` cannot be set with it",
        )),
        "global" => Ok(ServiceMode::Global),
        job @ ("replicated-job" | "global-job") => Err(invalid(
            n,
            field,
            format!("{job} services are not supported by berth's stacks yet"),
        )),
        other => Err(invalid(
            n,
            field,
            format!("must be replicated or global, found {other:?}"),
        )),
    }
}

/// Reads the section `n` of the service at `field` (`services.web.deploy`).
pub fn read(n: &Node, field: &str) -> R<DeploySection> {
    let mut d = DeploySection::default();
    let replicas = n
        .get("replicas")
        .map(|r| uint(r, &format!("{field}.replicas")))
        .transpose()?;
    if let Some(r) = replicas {
        d.mode = Some(ServiceMode::Replicated(r));
    }
    for (k, v) in entries(n, field)? {
        let f = format!("{field}.{k}");
        match k.as_str() {
            "replicas" => {}
            "mode" => d.mode = Some(mode(v, &f, replicas)?),
            "labels" => d.labels = labels(v, &f)?,
            "update_config" => d.update = Some(update_policy(v, &f)?),
            "rollback_config" => d.rollback = Some(update_policy(v, &f)?),
            "restart_policy" => d.restart = Some(restart_policy(v, &f)?),
            "placement" => placement(v, &f, &mut d)?,
            "resources" => resources(v, &f, &mut d)?,
            "endpoint_mode" => {
                d.endpoint_mode = Some(match text(v, &f)?.as_str() {
                    "vip" => EndpointMode::Vip,
                    "dnsrr" => EndpointMode::Dnsrr,
                    other => {
                        return Err(invalid(
                            v,
                            &f,
                            format!("must be vip or dnsrr, found {other:?}"),
                        ))
                    }
                })
            }
            x if x.starts_with("x-") => {}
            _ => return Err(invalid(v, &f, "unknown attribute")),
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn section(yaml: &str) -> Node {
        let root = berth_compose::yaml::parse(yaml, Path::new("/p/stack.yml")).unwrap();
        root.get("deploy").unwrap().clone()
    }

    #[test]
    fn every_swarm_key_is_read() {
        let n = section(
            "deploy:\n  replicas: 3\n  labels: [tier=web]\n  update_config:\n    parallelism: 1\n    delay: 2s\n    failure_action: rollback\n    monitor: 10s\n    order: start-first\n  rollback_config: {parallelism: 0}\n  restart_policy: {condition: on-failure, max_attempts: 3}\n  placement:\n    constraints: [node.role == manager]\n    preferences: [{spread: node.labels.zone}]\n    max_replicas_per_node: 2\n  resources:\n    limits: {cpus: '0.5', memory: 64M}\n    reservations: {cpus: '0.25', memory: 32M}\n  endpoint_mode: dnsrr\n",
        );
        let d = read(&n, "services.web.deploy").unwrap();
        assert_eq!(d.mode, Some(ServiceMode::Replicated(3)));
        assert_eq!(d.labels["tier"], "web");
        let u = d.update.unwrap();
        assert_eq!(u.parallelism, Some(1));
        assert_eq!(u.delay_ns, Some(2_000_000_000));
        assert_eq!(u.failure_action, Some(FailureAction::Rollback));
        assert_eq!(u.order, Some(UpdateOrder::StartFirst));
        assert_eq!(d.rollback.unwrap().parallelism, Some(0));
        assert_eq!(d.restart.unwrap().max_attempts, Some(3));
        assert_eq!(d.constraints, ["node.role == manager"]);
        assert_eq!(d.preferences, ["node.labels.zone"]);
        assert_eq!(d.max_replicas_per_node, Some(2));
        assert_eq!(d.limit_nano_cpus, Some(500_000_000));
        assert_eq!(d.limit_memory, Some(64 * 1024 * 1024));
        assert_eq!(d.reserve_nano_cpus, Some(250_000_000));
        assert_eq!(d.endpoint_mode, Some(EndpointMode::Dnsrr));
    }

    #[test]
    fn a_bad_value_names_file_line_and_key() {
        let n = section("deploy:\n  update_config:\n    failure_action: explode\n");
        let e = read(&n, "services.web.deploy").unwrap_err();
        assert_eq!(e.line(), Some(3));
        assert_eq!(
            e.field(),
            Some("services.web.deploy.update_config.failure_action")
        );
        assert!(e.to_string().starts_with("/p/stack.yml:3:"), "{e}");
        assert!(e.to_string().contains("explode"), "{e}");
    }

    #[test]
    fn global_with_replicas_and_jobs_are_refused() {
        let n = section("deploy:\n  mode: global\n  replicas: 2\n");
        assert!(read(&n, "s").unwrap_err().to_string().contains("global"));
        let n = section("deploy:\n  mode: replicated-job\n");
        assert!(read(&n, "s").is_err());
        let n = section("deploy:\n  mode: global\n");
        assert_eq!(read(&n, "s").unwrap().mode, Some(ServiceMode::Global));
    }
}
