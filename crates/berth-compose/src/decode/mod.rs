//! Turns the merged YAML tree into the typed model, accepting the short and long syntax of
//! every attribute. Every error names the file, line and field path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::LoadError;
use crate::model::*;
use crate::yaml::{Node, Value};

mod ports_and_mounts;
mod resources;
mod service_attributes;
#[cfg(test)]
mod tests;
mod top_level;

pub use ports_and_mounts::parse_port;
use ports_and_mounts::{mount, port};
use resources::{blkio_config, bytes, cpus, cpuset, gpus, int, int_in, micros, swap_bytes};
use service_attributes::{
    build, depends_on, deploy, extra_hosts, file_refs, healthcheck, logging, reconcile_deploy,
    service_networks, ulimits,
};
pub use top_level::{file_object, network, volume};

type R<T> = Result<T, LoadError>;

/// What decoding needs to know besides the tree.
pub struct Ctx<'a> {
    pub project_dir: &'a Path,
    pub home: Option<&'a Path>,
    /// Variables for bare `environment` entries (`- FOO`) and env_file interpolation.
    pub env: &'a BTreeMap<String, String>,
}

fn err<T>(n: &Node, field: &str, message: impl Into<String>) -> R<T> {
    Err(LoadError::at(&n.pos, field, message))
}

pub fn scalar(n: &Node, field: &str) -> R<String> {
    match &n.value {
        Value::Scalar { text, .. } => Ok(text.clone()),
        _ => err(n, field, format!("must be a string, found {}", n.kind())),
    }
}

fn opt_scalar(n: &Node, field: &str) -> R<Option<String>> {
    match &n.value {
        Value::Null => Ok(None),
        _ => scalar(n, field).map(Some),
    }
}

fn boolean(n: &Node, field: &str) -> R<bool> {
    match &n.value {
        Value::Scalar { text, .. } => match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" => Ok(true),
            "false" | "no" | "off" => Ok(false),
            _ => err(n, field, format!("must be a boolean, found {text:?}")),
        },
        Value::Null => Ok(false),
        _ => err(n, field, format!("must be a boolean, found {}", n.kind())),
    }
}

fn uint(n: &Node, field: &str) -> R<u32> {
    let text = scalar(n, field)?;
    text.parse().or_else(|_| {
        err(
            n,
            field,
            format!("must be a non-negative integer, found {text:?}"),
        )
    })
}

fn seq<'n>(n: &'n Node, field: &str) -> R<&'n [Node]> {
    match &n.value {
        Value::Seq(items) => Ok(items),
        Value::Null => Ok(&[]),
        _ => err(n, field, format!("must be a sequence, found {}", n.kind())),
    }
}

fn map<'n>(n: &'n Node, field: &str) -> R<&'n [(String, Node)]> {
    match &n.value {
        Value::Map(entries) => Ok(entries),
        Value::Null => Ok(&[]),
        _ => err(n, field, format!("must be a mapping, found {}", n.kind())),
    }
}

fn str_list(n: &Node, field: &str) -> R<Vec<String>> {
    seq(n, field)?
        .iter()
        .enumerate()
        .map(|(i, item)| scalar(item, &format!("{field}[{i}]")))
        .collect()
}

/// A string or a list of strings.
fn str_or_list(n: &Node, field: &str) -> R<Vec<String>> {
    match &n.value {
        Value::Scalar { text, .. } => Ok(vec![text.clone()]),
        _ => str_list(n, field),
    }
}

/// `KEY=VALUE` list or mapping; a bare `KEY` / null value is `None`.
pub fn kv(n: &Node, field: &str) -> R<BTreeMap<String, Option<String>>> {
    let mut out = BTreeMap::new();
    match &n.value {
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let text = scalar(item, &format!("{field}[{i}]"))?;
                match text.split_once('=') {
                    Some((k, v)) => out.insert(k.to_string(), Some(v.to_string())),
                    None => out.insert(text, None),
                };
            }
        }
        _ => {
            for (k, v) in map(n, field)? {
                let sub = format!("{field}.{k}");
                match &v.value {
                    Value::Seq(_) | Value::Map(_) => return err(v, &sub, "must be a scalar"),
                    _ => out.insert(k.clone(), opt_scalar(v, &sub)?),
                };
            }
        }
    }
    Ok(out)
}

fn kv_strings(n: &Node, field: &str) -> R<BTreeMap<String, String>> {
    Ok(kv(n, field)?
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

/// A command: a string (split like a shell would) or a list.
fn command(n: &Node, field: &str) -> R<Option<Vec<String>>> {
    match &n.value {
        Value::Null => Ok(None),
        Value::Scalar { text, .. } => match shell_words(text) {
            Some(words) => Ok(Some(words)),
            None => err(n, field, "unbalanced quotes"),
        },
        _ => str_list(n, field).map(Some),
    }
}

/// Splits a command line like a POSIX shell (quotes and backslashes, no expansion).
pub fn shell_words(text: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => cur.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\' | '$' | '`') => cur.push(c),
                            c => {
                                cur.push('\\');
                                cur.push(c);
                            }
                        },
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    cur.push(c);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Some(words)
}

/// Checks a Go-style duration (`1m30s`, `10s`, `500ms`) and returns it unchanged.
fn duration(n: &Node, field: &str) -> R<String> {
    let text = scalar(n, field)?;
    match parse_duration_ns(&text) {
        Some(_) => Ok(text),
        None => err(n, field, format!("invalid duration {text:?}")),
    }
}

/// Nanoseconds of a Go-style duration.
pub fn parse_duration_ns(text: &str) -> Option<i64> {
    let mut total: f64 = 0.0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    if rest == "0" {
        return Some(0);
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "d" => 86400e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * scale;
    }
    (total < 9.2e18).then_some(total as i64)
}

/// Parses a byte size like `64m`, `1gb`, `512` into bytes.
pub fn parse_bytes(text: &str) -> Option<i64> {
    let t = text.trim().to_ascii_lowercase();
    let digits = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let value: f64 = t[..digits].parse().ok()?;
    let scale: f64 = match t[digits..].trim_end_matches('b') {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = value * scale;
    (bytes < 9.2e18).then_some(bytes as i64)
}

impl Ctx<'_> {
    /// Makes a relative host path absolute against the project directory (`~` is HOME).
    pub fn host_path(&self, p: &str) -> String {
        if let Some(rest) = p.strip_prefix("~") {
            if let Some(home) = self.home {
                if rest.is_empty() || rest.starts_with('/') {
                    return format!("{}{rest}", home.display());
                }
            }
        }
        let path = Path::new(p);
        if path.is_absolute() {
            return p.to_string();
        }
        clean(&self.project_dir.join(path)).display().to_string()
    }
}

/// Lexically removes `.` and `..` components.
pub fn clean(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Service attributes of the Compose Specification that Berth refuses, with the reason. Every
/// other attribute of the spec's schema is applied (`decode::tests` checks against the schema).
pub const REFUSED_SERVICE_KEYS: &[(&str, &str)] = &[
    (
        "credential_spec",
        "it configures gMSA for Windows containers, and Berth's engine runs Linux containers",
    ),
    (
        "develop",
        "`berth compose watch` is not implemented yet (issue #19)",
    ),
    (
        "models",
        "AI models (Docker Model Runner) are not provided by Berth's engine",
    ),
    (
        "provider",
        "provider services run an external compose plugin, which Berth does not",
    ),
    (
        "pull_refresh_after",
        "Berth does not record when an image was pulled, so it cannot refresh it on a schedule",
    ),
    (
        "use_api_socket",
        "Berth does not hand its engine socket and registry credentials to containers yet",
    ),
];

/// The error for a refused attribute.
pub(crate) fn refused(n: &Node, field: &str, reason: &str) -> LoadError {
    LoadError::at(&n.pos, field, format!("not supported by berth: {reason}"))
}

pub fn service(name: &str, n: &Node, ctx: &Ctx) -> R<Service> {
    let base = format!("services.{name}");
    let mut s = Service {
        name: name.to_string(),
        ..Default::default()
    };
    let mut env_files: Vec<(String, bool, Node)> = Vec::new();
    let mut label_files: Vec<(String, Node)> = Vec::new();
    let mut replicas = None;
    for (key, v) in map(n, &base)? {
        let f = format!("{base}.{key}");
        let f = f.as_str();
        match key.as_str() {
            "image" => s.image = opt_scalar(v, f)?,
            "build" => s.build = Some(build(v, f, ctx)?),
            "command" => s.command = command(v, f)?,
            "entrypoint" => s.entrypoint = command(v, f)?,
            "environment" => s.environment = kv(v, f)?,
            "env_file" => env_files = env_file_list(v, f)?,
            "ports" => {
                for (i, p) in seq(v, f)?.iter().enumerate() {
                    s.ports.extend(port(p, &format!("{f}[{i}]"))?);
                }
            }
            "expose" => s.expose = str_list(v, f)?,
            "volumes" => {
                for (i, m) in seq(v, f)?.iter().enumerate() {
                    s.volumes.push(mount(m, &format!("{f}[{i}]"), ctx)?);
                }
            }
            "depends_on" => s.depends_on = depends_on(v, f)?,
            "networks" => s.networks = service_networks(v, f)?,
            "network_mode" => s.network_mode = opt_scalar(v, f)?,
            "healthcheck" => s.healthcheck = Some(healthcheck(v, f)?),
            "restart" => {
                let r = scalar(v, f)?;
                let valid = match r.split_once(':') {
                    Some(("on-failure", n)) => n.parse::<u32>().is_ok(),
                    Some(_) => false,
                    None => matches!(
                        r.as_str(),
                        "no" | "always" | "on-failure" | "unless-stopped"
                    ),
                };
                if !valid {
                    return err(v, f, format!("invalid restart policy {r:?}"));
                }
                s.restart = Some(r);
            }
            "working_dir" => s.working_dir = opt_scalar(v, f)?,
            "user" => s.user = opt_scalar(v, f)?,
            "hostname" => s.hostname = opt_scalar(v, f)?,
            "domainname" => s.domainname = opt_scalar(v, f)?,
            "container_name" => s.container_name = opt_scalar(v, f)?,
            "platform" => s.platform = opt_scalar(v, f)?,
            "pull_policy" => s.pull_policy = pull_policy(v, f)?,
            "stop_signal" => s.stop_signal = opt_scalar(v, f)?,
            "stop_grace_period" => s.stop_grace_period = Some(duration(v, f)?),
            "labels" => s.labels = kv_strings(v, f)?,
            "profiles" => s.profiles = str_list(v, f)?,
            "scale" => s.scale = Some(uint(v, f)?),
            "deploy" => replicas = deploy(v, f, &mut s)?,
            "tty" => s.tty = boolean(v, f)?,
            "stdin_open" => s.stdin_open = boolean(v, f)?,
            "privileged" => s.privileged = boolean(v, f)?,
            "read_only" => s.read_only = boolean(v, f)?,
            "init" => s.init = Some(boolean(v, f)?),
            "cap_add" => s.cap_add = str_list(v, f)?,
            "cap_drop" => s.cap_drop = str_list(v, f)?,
            "dns" => s.dns = str_or_list(v, f)?,
            "dns_search" => s.dns_search = str_or_list(v, f)?,
            "dns_opt" => s.dns_opt = str_list(v, f)?,
            "extra_hosts" => s.extra_hosts = extra_hosts(v, f)?,
            "tmpfs" => s.tmpfs = str_or_list(v, f)?,
            "security_opt" => s.security_opt = str_list(v, f)?,
            "sysctls" => s.sysctls = kv_strings(v, f)?,
            "logging" => s.logging = Some(logging(v, f)?),
            "secrets" => s.secrets = file_refs(v, f, "/run/secrets/")?,
            "configs" => s.configs = file_refs(v, f, "/")?,
            "links" => s.links = str_list(v, f)?,
            "devices" => s.devices = str_list(v, f)?,
            "group_add" => s.group_add = str_list(v, f)?,
            "ipc" => s.ipc = opt_scalar(v, f)?,
            "pid" => s.pid = opt_scalar(v, f)?,
            "userns_mode" => s.userns_mode = opt_scalar(v, f)?,
            "ulimits" => s.ulimits = ulimits(v, f)?,
            "mem_limit" => s.mem_limit = Some(bytes(v, f)?),
            "cpus" => s.cpus = Some(cpus(v, f)?),
            "shm_size" => s.shm_size = Some(bytes(v, f)?),
            "annotations" => s.annotations = kv_strings(v, f)?,
            "attach" => s.attach = Some(boolean(v, f)?),
            "label_file" => {
                label_files = str_or_list(v, f)?
                    .into_iter()
                    .map(|p| (p, v.clone()))
                    .collect()
            }
            "extends" => return err(v, f, "extends must be resolved before decoding"),
            "volumes_from" => s.volumes_from = str_list(v, f)?,
            "post_start" => s.post_start = hooks(v, f, ctx)?,
            "pre_stop" => s.pre_stop = hooks(v, f, ctx)?,
            "external_links" => s.external_links = str_list(v, f)?,
            k if k.starts_with("x-") => {}
            k => match REFUSED_SERVICE_KEYS.iter().find(|(key, _)| *key == k) {
                Some((_, reason)) => return Err(refused(v, f, reason)),
                None => {
                    if !tuning(&mut s, k, v, f)? {
                        return err(v, f, "unknown attribute");
                    }
                }
            },
        }
    }
    if s.scale.is_none() {
        s.scale = replicas;
    }
    if let Some(d) = n.get("deploy") {
        reconcile_deploy(&mut s, d, &format!("{base}.deploy"))?;
    }
    if s.image.is_none() && s.build.is_none() {
        return err(
            n,
            &base,
            "service has neither an image nor a build context specified",
        );
    }
    apply_env_files(&mut s, env_files, ctx)?;
    apply_label_files(&mut s, label_files, ctx)?;
    Ok(s)
}

/// The host-tuning attributes (cgroup resources, namespaces, runtime, ...); false when `key`
/// is none of them.
fn tuning(s: &mut Service, key: &str, v: &Node, f: &str) -> R<bool> {
    match key {
        "blkio_config" => s.blkio_config = Some(blkio_config(v, f)?),
        "cgroup" => {
            let mode = scalar(v, f)?;
            if !matches!(mode.as_str(), "host" | "private") {
                return err(v, f, format!("must be `host` or `private`, found {mode:?}"));
            }
            s.cgroup = Some(mode);
        }
        "cgroup_parent" => s.cgroup_parent = opt_scalar(v, f)?,
        "cpu_count" => s.cpu_count = Some(int_in(v, f, 0, i64::MAX)?),
        "cpu_percent" => s.cpu_percent = Some(int_in(v, f, 0, 100)?),
        "cpu_period" => s.cpu_period = Some(micros(v, f)?),
        "cpu_quota" => s.cpu_quota = Some(micros(v, f)?),
        "cpu_rt_period" => s.cpu_rt_period = Some(micros(v, f)?),
        "cpu_rt_runtime" => s.cpu_rt_runtime = Some(micros(v, f)?),
        "cpu_shares" => s.cpu_shares = Some(int_in(v, f, 0, i64::MAX)?),
        "cpuset" => s.cpuset = Some(cpuset(v, f)?),
        "device_cgroup_rules" => s.device_cgroup_rules = str_list(v, f)?,
        "gpus" => s.gpus = gpus(v, f)?,
        "isolation" => s.isolation = opt_scalar(v, f)?,
        "mac_address" => s.mac_address = opt_scalar(v, f)?,
        "mem_reservation" => s.mem_reservation = Some(bytes(v, f)?),
        "mem_swappiness" => s.mem_swappiness = Some(int_in(v, f, 0, 100)?),
        "memswap_limit" => s.memswap_limit = Some(swap_bytes(v, f)?),
        "oom_kill_disable" => s.oom_kill_disable = Some(boolean(v, f)?),
        "oom_score_adj" => s.oom_score_adj = Some(int_in(v, f, -1000, 1000)?),
        "pids_limit" => s.pids_limit = Some(int(v, f)?),
        "runtime" => s.runtime = opt_scalar(v, f)?,
        "storage_opt" => s.storage_opt = kv_strings(v, f)?,
        "uts" => s.uts = opt_scalar(v, f)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// `always`, `never`, `missing` (or `if_not_present`), `build`; the scheduled policies
/// (`refresh`, `daily`, `weekly`, `every_<duration>`) are refused.
fn pull_policy(v: &Node, f: &str) -> R<Option<String>> {
    let Some(p) = opt_scalar(v, f)? else {
        return Ok(None);
    };
    match p.as_str() {
        "always" | "never" | "missing" | "if_not_present" | "build" => Ok(Some(p)),
        "daily" | "weekly" | "refresh" => Err(refused(
            v,
            f,
            "Berth does not record when an image was pulled, so it cannot pull on a schedule",
        )),
        _ if p.starts_with("every_") => Err(refused(
            v,
            f,
            "Berth does not record when an image was pulled, so it cannot pull on a schedule",
        )),
        _ => err(v, f, format!("invalid pull policy {p:?}")),
    }
}

/// `post_start` / `pre_stop`: a list of `{command, user, privileged, working_dir,
/// environment}`.
fn hooks(n: &Node, field: &str, ctx: &Ctx) -> R<Vec<Hook>> {
    let mut out = Vec::new();
    for (i, item) in seq(n, field)?.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let mut h = Hook::default();
        for (k, v) in map(item, &f)? {
            let g = format!("{f}.{k}");
            match k.as_str() {
                "command" => h.command = command(v, &g)?.unwrap_or_default(),
                "user" => h.user = opt_scalar(v, &g)?,
                "privileged" => h.privileged = boolean(v, &g)?,
                "working_dir" => h.working_dir = opt_scalar(v, &g)?,
                "environment" => h.environment = kv(v, &g)?,
                x if x.starts_with("x-") => {}
                _ => return err(v, &g, "unknown attribute"),
            }
        }
        if h.command.is_empty() {
            return err(item, &f, "missing `command`");
        }
        // A bare name takes its value from the environment, as a service's does.
        for (k, v) in h.environment.iter_mut() {
            if v.is_none() {
                *v = ctx.env.get(k).cloned();
            }
        }
        out.push(h);
    }
    Ok(out)
}

/// Labels read from `label_file`s; the service's own `labels` win.
fn apply_label_files(s: &mut Service, files: Vec<(String, Node)>, ctx: &Ctx) -> R<()> {
    for (path, node) in files {
        let full = PathBuf::from(ctx.host_path(&path));
        let text = std::fs::read_to_string(&full).map_err(|e| {
            LoadError::at(
                &node.pos,
                &format!("services.{}.label_file", s.name),
                format!("cannot read {}: {e}", full.display()),
            )
        })?;
        let pairs =
            crate::dotenv::parse(&text, ctx.env).map_err(|(line, message)| LoadError::Syntax {
                file: full.clone(),
                line,
                message,
            })?;
        for (k, v) in pairs {
            s.labels.entry(k).or_insert(v.unwrap_or_default());
        }
    }
    Ok(())
}

fn env_file_list(n: &Node, field: &str) -> R<Vec<(String, bool, Node)>> {
    if let Value::Scalar { text, .. } = &n.value {
        return Ok(vec![(text.clone(), true, n.clone())]);
    }
    let mut out = Vec::new();
    for (i, item) in seq(n, field)?.iter().enumerate() {
        let f = format!("{field}[{i}]");
        match &item.value {
            Value::Map(_) => {
                let path = item
                    .get("path")
                    .map(|p| scalar(p, &format!("{f}.path")))
                    .transpose()?
                    .ok_or_else(|| LoadError::at(&item.pos, &f, "missing `path`"))?;
                let required = item
                    .get("required")
                    .map(|r| boolean(r, &format!("{f}.required")))
                    .transpose()?
                    .unwrap_or(true);
                out.push((path, required, item.clone()));
            }
            _ => out.push((scalar(item, &f)?, true, item.clone())),
        }
    }
    Ok(out)
}

fn apply_env_files(s: &mut Service, files: Vec<(String, bool, Node)>, ctx: &Ctx) -> R<()> {
    let mut from_files: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (path, required, node) in files {
        let full = PathBuf::from(ctx.host_path(&path));
        let text = match std::fs::read_to_string(&full) {
            Ok(t) => t,
            Err(_) if !required => continue,
            Err(e) => {
                return err(
                    &node,
                    &format!("services.{}.env_file", s.name),
                    format!("cannot read {}: {e}", full.display()),
                )
            }
        };
        let pairs =
            crate::dotenv::parse(&text, ctx.env).map_err(|(line, message)| LoadError::Syntax {
                file: full.clone(),
                line,
                message,
            })?;
        from_files.extend(pairs);
    }
    for (k, v) in from_files {
        s.environment.entry(k).or_insert(v);
    }
    for (k, v) in s.environment.iter_mut() {
        if v.is_none() {
            *v = ctx.env.get(k).cloned();
        }
    }
    Ok(())
}
