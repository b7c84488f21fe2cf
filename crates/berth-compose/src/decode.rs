//! Turns the merged YAML tree into the typed model, accepting the short and long syntax of
//! every attribute. Every error names the file, line and field path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::LoadError;
use crate::model::*;
use crate::yaml::{Node, Value};

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

const UNSUPPORTED: &[&str] = &[
    "blkio_config",
    "cgroup",
    "cgroup_parent",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpuset",
    "credential_spec",
    "develop",
    "device_cgroup_rules",
    "external_links",
    "gpus",
    "isolation",
    "mac_address",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "models",
    "oom_kill_disable",
    "oom_score_adj",
    "pids_limit",
    "post_start",
    "pre_stop",
    "provider",
    "runtime",
    "storage_opt",
    "use_api_socket",
    "uts",
    "volumes_from",
];

pub fn service(name: &str, n: &Node, ctx: &Ctx) -> R<Service> {
    let base = format!("services.{name}");
    let mut s = Service {
        name: name.to_string(),
        ..Default::default()
    };
    let mut env_files: Vec<(String, bool, Node)> = Vec::new();
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
                let policy = r.split(':').next().unwrap_or_default();
                if !matches!(policy, "no" | "always" | "on-failure" | "unless-stopped") {
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
            "pull_policy" => s.pull_policy = opt_scalar(v, f)?,
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
            "dns_search" | "dns_opt" => {} // accepted, not applied
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
            "mem_limit" => s.mem_limit = opt_scalar(v, f)?,
            "cpus" => s.cpus = opt_scalar(v, f)?,
            "shm_size" => s.shm_size = opt_scalar(v, f)?,
            "annotations" => s.annotations = kv_strings(v, f)?,
            "attach" | "stop_timeout" | "container_name_prefix" => {}
            k if k.starts_with("x-") => {}
            k if UNSUPPORTED.contains(&k) => {
                return err(v, f, "this attribute is not supported by berth yet")
            }
            _ => return err(v, f, "unknown attribute"),
        }
    }
    if s.scale.is_none() {
        s.scale = replicas;
    }
    if s.image.is_none() && s.build.is_none() {
        return err(
            n,
            &base,
            "service has neither an image nor a build context specified",
        );
    }
    apply_env_files(&mut s, env_files, ctx)?;
    Ok(s)
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

fn build(n: &Node, field: &str, ctx: &Ctx) -> R<Build> {
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
fn port(n: &Node, field: &str) -> R<Vec<Port>> {
    if let Value::Map(entries) = &n.value {
        let mut p = Port {
            protocol: "tcp".into(),
            mode: "ingress".into(),
            ..Default::default()
        };
        let mut has_target = false;
        for (key, v) in entries {
            let f = format!("{field}.{key}");
            let f = f.as_str();
            match key.as_str() {
                "target" => {
                    p.target = port_number(v, f)?;
                    has_target = true;
                }
                "published" => p.published = opt_scalar(v, f)?,
                "host_ip" => p.host_ip = opt_scalar(v, f)?,
                "protocol" => p.protocol = scalar(v, f)?,
                "mode" => p.mode = scalar(v, f)?,
                "name" | "app_protocol" => {}
                _ => return err(v, f, "unknown attribute"),
            }
        }
        if !has_target {
            return err(n, field, "missing `target`");
        }
        return Ok(vec![p]);
    }
    let text = scalar(n, field)?;
    parse_port(&text).ok_or_else(|| {
        LoadError::at(
            &n.pos,
            field,
            format!("invalid port specification {text:?}"),
        )
    })
}

fn port_number(n: &Node, field: &str) -> R<u16> {
    let text = scalar(n, field)?;
    match text.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => err(n, field, format!("invalid port {text:?}")),
    }
}

fn parse_range(s: &str) -> Option<(u16, u16)> {
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b): (u16, u16) = (a.parse().ok()?, b.parse().ok()?);
            (a <= b && a > 0).then_some((a, b))
        }
        None => {
            let p: u16 = s.parse().ok()?;
            (p > 0).then_some((p, p))
        }
    }
}

pub fn parse_port(text: &str) -> Option<Vec<Port>> {
    let (spec, protocol) = match text.rsplit_once('/') {
        Some((s, p)) => (s, p.to_string()),
        None => (text, "tcp".to_string()),
    };
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return None;
    }
    // An IPv6 host address is bracketed: [::1]:8080:80
    let (host_ip, rest) = if let Some(r) = spec.strip_prefix('[') {
        let (ip, rest) = r.split_once("]:")?;
        (Some(ip.to_string()), rest)
    } else {
        (None, spec)
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (host_ip, published, container) = match (host_ip, parts.as_slice()) {
        (None, [c]) => (None, None, *c),
        (ip, [h, c]) => (ip, Some(*h), *c),
        (None, [ip, h, c]) => (Some(ip.to_string()), Some(*h), *c),
        _ => return None,
    };
    let (c0, c1) = parse_range(container)?;
    let published = published.filter(|p| !p.is_empty());
    let host_range = match published {
        Some(p) => Some(parse_range(p)?),
        None => None,
    };
    let count = c1 - c0;
    let mut out = Vec::new();
    for i in 0..=count {
        let published = match host_range {
            Some((h0, h1)) if h1 - h0 == count => Some((h0 + i).to_string()),
            Some((h0, h1)) if count == 0 => Some(if h0 == h1 {
                h0.to_string()
            } else {
                format!("{h0}-{h1}")
            }),
            Some(_) => return None,
            None => None,
        };
        out.push(Port {
            target: c0 + i,
            published,
            host_ip: host_ip.clone(),
            protocol: protocol.clone(),
            mode: "ingress".into(),
        });
    }
    Some(out)
}

/// A volume mount, short (`[source:]target[:mode]`) or long syntax.
fn mount(n: &Node, field: &str, ctx: &Ctx) -> R<Mount> {
    if let Value::Map(entries) = &n.value {
        let mut m = Mount {
            kind: MountType::Volume,
            source: None,
            target: String::new(),
            read_only: false,
            create_host_path: false,
            nocopy: false,
            tmpfs_size: None,
            volume_section: false,
        };
        for (key, v) in entries {
            let f = format!("{field}.{key}");
            let f = f.as_str();
            match key.as_str() {
                "type" => {
                    m.kind = match scalar(v, f)?.as_str() {
                        "bind" => MountType::Bind,
                        "volume" => MountType::Volume,
                        "tmpfs" => MountType::Tmpfs,
                        other => {
                            return err(v, f, format!("mount type {other:?} is not supported"))
                        }
                    }
                }
                "source" => m.source = opt_scalar(v, f)?,
                "target" => m.target = scalar(v, f)?,
                "read_only" => m.read_only = boolean(v, f)?,
                "bind" => {
                    if let Some(c) = v.get("create_host_path") {
                        m.create_host_path = boolean(c, &format!("{f}.create_host_path"))?;
                    }
                }
                "volume" => {
                    m.volume_section = true;
                    if let Some(c) = v.get("nocopy") {
                        m.nocopy = boolean(c, &format!("{f}.nocopy"))?;
                    }
                }
                "tmpfs" => {
                    if let Some(size) = v.get("size") {
                        let text = scalar(size, &format!("{f}.size"))?;
                        m.tmpfs_size = Some(parse_bytes(&text).ok_or_else(|| {
                            LoadError::at(&size.pos, &format!("{f}.size"), "invalid size")
                        })?);
                    }
                }
                "consistency" => {}
                _ => return err(v, f, "unknown attribute"),
            }
        }
        if m.target.is_empty() {
            return err(n, field, "missing `target`");
        }
        if m.kind == MountType::Bind {
            match &m.source {
                Some(src) => m.source = Some(ctx.host_path(src)),
                None => return err(n, field, "a bind mount needs a `source`"),
            }
        }
        return Ok(m);
    }
    let text = scalar(n, field)?;
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [t] => (None, *t, None),
        [s, t] if t.starts_with('/') => (Some(*s), *t, None),
        [t, m] => (None, *t, Some(*m)),
        [s, t, m] => (Some(*s), *t, Some(*m)),
        _ => return err(n, field, format!("invalid volume specification {text:?}")),
    };
    if target.is_empty() {
        return err(n, field, format!("invalid volume specification {text:?}"));
    }
    let mut m = Mount {
        kind: MountType::Volume,
        source: None,
        target: target.to_string(),
        read_only: false,
        create_host_path: false,
        nocopy: false,
        tmpfs_size: None,
        volume_section: true,
    };
    if let Some(mode) = mode {
        for opt in mode.split(',') {
            match opt {
                "ro" => m.read_only = true,
                "rw" | "z" | "Z" | "cached" | "delegated" | "consistent" | "shared" | "rshared"
                | "slave" | "rslave" | "private" | "rprivate" => {}
                "nocopy" => m.nocopy = true,
                _ => return err(n, field, format!("invalid volume mode {opt:?}")),
            }
        }
    }
    if let Some(src) = source.filter(|s| !s.is_empty()) {
        if src.starts_with('.') || src.starts_with('/') || src.starts_with('~') {
            m.kind = MountType::Bind;
            m.create_host_path = true;
            m.source = Some(ctx.host_path(src));
        } else {
            m.source = Some(src.to_string());
        }
    }
    Ok(m)
}

fn depends_on(n: &Node, field: &str) -> R<BTreeMap<String, Dependency>> {
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

fn service_networks(n: &Node, field: &str) -> R<BTreeMap<String, Option<ServiceNetwork>>> {
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

fn healthcheck(n: &Node, field: &str) -> R<Healthcheck> {
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

fn deploy(n: &Node, field: &str, s: &mut Service) -> R<Option<u32>> {
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
fn ulimits(n: &Node, field: &str) -> R<BTreeMap<String, Ulimit>> {
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

fn extra_hosts(n: &Node, field: &str) -> R<Vec<String>> {
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

fn logging(n: &Node, field: &str) -> R<Logging> {
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

fn file_refs(n: &Node, field: &str, prefix: &str) -> R<Vec<FileRef>> {
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

pub fn network(key: &str, n: &Node, field: &str, project: &str) -> R<Network> {
    let mut net = Network::default();
    let mut name = None;
    for (k, v) in map(n, field)? {
        let f = format!("{field}.{k}");
        let f = f.as_str();
        match k.as_str() {
            "name" => name = opt_scalar(v, f)?,
            "driver" => net.driver = opt_scalar(v, f)?,
            "driver_opts" => net.driver_opts = kv_strings(v, f)?,
            "external" => net.external = external(v, f, &mut name)?,
            "internal" => net.internal = boolean(v, f)?,
            "attachable" => net.attachable = boolean(v, f)?,
            "enable_ipv6" => net.enable_ipv6 = boolean(v, f)?,
            "labels" => net.labels = kv_strings(v, f)?,
            "ipam" => {
                for (i, c) in v
                    .get("config")
                    .map(|c| seq(c, &format!("{f}.config")))
                    .transpose()?
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    if let Some(sub) = c.get("subnet") {
                        net.subnets
                            .push(scalar(sub, &format!("{f}.config[{i}].subnet"))?);
                    }
                }
            }
            "enable_ipv4" => {}
            x if x.starts_with("x-") => {}
            _ => return err(v, f, "unknown attribute"),
        }
    }
    net.name = match (name, net.external) {
        (Some(n), _) => n,
        (None, true) => key.to_string(),
        (None, false) => format!("{project}_{key}"),
    };
    Ok(net)
}

/// `external: true` or the legacy `external: {name: x}`.
fn external(v: &Node, f: &str, name: &mut Option<String>) -> R<bool> {
    if let Some(n) = v.get("name") {
        *name = Some(scalar(n, &format!("{f}.name"))?);
        return Ok(true);
    }
    boolean(v, f)
}

pub fn volume(key: &str, n: &Node, field: &str, project: &str) -> R<Volume> {
    let mut vol = Volume::default();
    let mut name = None;
    for (k, v) in map(n, field)? {
        let f = format!("{field}.{k}");
        let f = f.as_str();
        match k.as_str() {
            "name" => name = opt_scalar(v, f)?,
            "driver" => vol.driver = opt_scalar(v, f)?,
            "driver_opts" => vol.driver_opts = kv_strings(v, f)?,
            "external" => vol.external = external(v, f, &mut name)?,
            "labels" => vol.labels = kv_strings(v, f)?,
            x if x.starts_with("x-") => {}
            _ => return err(v, f, "unknown attribute"),
        }
    }
    vol.name = match (name, vol.external) {
        (Some(n), _) => n,
        (None, true) => key.to_string(),
        (None, false) => format!("{project}_{key}"),
    };
    Ok(vol)
}

pub fn file_object(n: &Node, field: &str, ctx: &Ctx) -> R<FileObject> {
    let mut o = FileObject::default();
    for (k, v) in map(n, field)? {
        let f = format!("{field}.{k}");
        let f = f.as_str();
        match k.as_str() {
            "file" => o.file = Some(ctx.host_path(&scalar(v, f)?)),
            "content" => o.content = opt_scalar(v, f)?,
            "external" => o.external = boolean(v, f)?,
            "name" => {}
            "environment" => {
                return err(
                    v,
                    f,
                    "environment-based secrets/configs are not supported by berth yet",
                )
            }
            x if x.starts_with("x-") => {}
            _ => return err(v, f, "unknown attribute"),
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ports() {
        let p = parse_port("127.0.0.1:8080:80/udp").unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(p[0].published.as_deref(), Some("8080"));
        assert_eq!(p[0].target, 80);
        assert_eq!(p[0].protocol, "udp");
        let p = parse_port("3000").unwrap();
        assert_eq!((p[0].target, p[0].published.clone()), (3000, None));
        let p = parse_port("9090-9091:8080-8081").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].published.as_deref(), Some("9091"));
        assert_eq!(p[1].target, 8081);
        let p = parse_port("[::1]:6000:6000").unwrap();
        assert_eq!(p[0].host_ip.as_deref(), Some("::1"));
        for bad in ["", "abc", "80:90:100:1", "1-2:3-5", "0", "80/xyz", "70000"] {
            assert!(parse_port(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn shell_split() {
        assert_eq!(
            shell_words(r#"sh -c 'echo "a b"' x\ y "q\"z""#).unwrap(),
            vec!["sh", "-c", "echo \"a b\"", "x y", "q\"z"]
        );
        assert!(shell_words("echo 'open").is_none());
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration_ns("1m30s"), Some(90_000_000_000));
        assert_eq!(parse_duration_ns("500ms"), Some(500_000_000));
        assert_eq!(parse_duration_ns("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_duration_ns("10"), None);
        assert_eq!(parse_bytes("64m"), Some(64 * 1024 * 1024));
        assert_eq!(parse_bytes("1gb"), Some(1024 * 1024 * 1024));
        assert_eq!(parse_bytes("x"), None);
    }
}
