//! The `com.docker.compose.config-hash` label, computed the way `docker compose` v2 does, so a
//! project `up`ed by one tool is not recreated by the other.
//!
//! Compose v2 (`pkg/compose/hash.go`, `ServiceHash`) hashes `json.Marshal` of compose-go's
//! `types.ServiceConfig` after clearing `build`, `pull_policy`, `scale`, `deploy.replicas`,
//! `depends_on` and `profiles`: sha256, hex. That JSON is Go's: struct fields in declaration
//! order, `omitempty` fields left out when empty, `command` and `entrypoint` always present
//! (`null` when unset), map keys sorted, and `<`, `>`, `&`, U+2028, U+2029 escaped as
//! `\u003c`-style sequences. Values are compose-go's normalized ones: durations as Go prints
//! them (`1m30s`), byte sizes as numbers, ports in long syntax with `mode: ingress`, short
//! volume syntax as `bind: {create_host_path: true}` or `volume: {}`, the implicit
//! `networks: {default: null}`, `extra_hosts` as sorted `host=ip`.
//!
//! The encoding is checked against docker/compose's own golden hash (see the tests).
//! `env_file` matches: `docker compose up` loads with `WithDiscardEnvFile`, so its hash sees
//! only the variables merged into `environment`, as Berth keeps them.
//!
//! What does not match, because Berth's model does not keep what compose-go keeps, or because
//! compose-go changed its encoding between releases (compose's hash then differs between its
//! own versions too):
//! - A service with `build` and no `image`: compose v2 may name the image before hashing
//!   (`<project>-<service>`); Berth hashes no `image`. Not verified either way.
//! - `secrets` and `configs`: compose-go leaves `target` empty (configs) or fills it only in
//!   recent releases (secrets); Berth always resolves it.
//! - `devices`: a list of strings in older compose-go, `{source, target, permissions}` in newer
//!   ones; Berth hashes the newer form.
//! - `bind.create_host_path`: `true` is written by compose-go v2 releases and left out by the
//!   newest (an "opt-out" boolean); Berth writes it.
//! - `deploy`: `replicas`, `resources.limits` and `restart_policy` hash as compose-go's; other
//!   keys (`labels`, `mode`, `placement`, `resources.reservations`, ...) are not kept. A
//!   top-level `cpus`, `mem_limit` or `restart` equal to what `deploy` implies is taken for
//!   `deploy`'s (compose-go would hash both).
//! - `ulimits` given as one number hash as that number; `{soft: n, hard: n}` with equal values
//!   does too here (Berth keeps only soft and hard).
//! - Mounts hash their `bind` (`selinux`, `propagation`, `create_host_path`, `recursive`),
//!   `volume` (`nocopy`, `subpath`) and `tmpfs` (`size`, `mode`) sections in compose-go's order.
//! - Attributes added with the full service schema (`cpu_*`, `blkio_config`, `gpus`,
//!   `dns_opt`, `pids_limit`, `volumes_from`, ...) are written in compose-go's field order and
//!   types, not yet checked against a docker compose run; `label_file` is merged into `labels`.
//! - Attributes Berth does not model (`deploy` beyond replicas and resources, `develop`,
//!   `blkio_config`, `gpus`, `cpu_*`, `dns_opt`, ...) are absent from both sides only when
//!   the file does not use them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::decode::{parse_bytes, parse_duration_ns};
use crate::model::{
    BlkioConfig, Deploy, DeviceRequest, Healthcheck, Hook, Mount, MountType, Port, Service,
    ServiceNetwork,
};

/// The config hash of `s`, as compose v2 computes it.
pub fn service_hash(s: &Service) -> String {
    hex::encode(Sha256::digest(service_json(s).as_bytes()))
}

/// The JSON compose v2 hashes for `s` (see the module docs for what may differ).
pub fn service_json(s: &Service) -> String {
    let mut o = Obj::default();
    o.map("annotations", &s.annotations);
    if let Some(a) = s.attach {
        o.raw("attach", a.to_string());
    }
    if let Some(b) = &s.blkio_config {
        o.raw("blkio_config", blkio(b));
    }
    o.list("cap_add", &s.cap_add);
    o.list("cap_drop", &s.cap_drop);
    o.opt_str("cgroup_parent", s.cgroup_parent.as_deref());
    o.opt_str("cgroup", s.cgroup.as_deref());
    o.int("cpu_count", s.cpu_count);
    if let Some(p) = s.cpu_percent.filter(|p| *p != 0) {
        o.raw("cpu_percent", go_float32(p as f32));
    }
    o.int("cpu_period", s.cpu_period);
    o.int("cpu_quota", s.cpu_quota);
    o.int("cpu_rt_period", s.cpu_rt_period);
    o.int("cpu_rt_runtime", s.cpu_rt_runtime);
    let deploy = s.deploy.as_ref();
    // Berth applies `deploy` through top-level attributes; compose-go keeps them apart.
    let from_deploy = |top: &Option<String>, d: Option<&Option<String>>| {
        d.is_some_and(|d| d.is_some() && d == top)
    };
    let top_cpus = (!from_deploy(&s.cpus, deploy.map(|d| &d.limit_cpus))).then_some(&s.cpus);
    if let Some(cpus) = top_cpus.and_then(|c| c.as_deref()?.parse::<f32>().ok()) {
        if cpus != 0.0 {
            o.raw("cpus", go_float32(cpus));
        }
    }
    o.opt_str("cpuset", s.cpuset.as_deref());
    o.int("cpu_shares", s.cpu_shares);
    o.raw("command", opt_list(s.command.as_deref()));
    o.opt_str("container_name", s.container_name.as_deref());
    if let Some(d) = deploy {
        o.raw("deploy", deploy_json(d));
    }
    o.list("device_cgroup_rules", &s.device_cgroup_rules);
    if !s.devices.is_empty() {
        let devices: Vec<String> = s.devices.iter().map(|d| device(d)).collect();
        o.raw("devices", format!("[{}]", devices.join(",")));
    }
    o.list("dns", &s.dns);
    o.list("dns_opt", &s.dns_opt);
    o.list("dns_search", &s.dns_search);
    o.opt_str("domainname", s.domainname.as_deref());
    o.raw("entrypoint", opt_list(s.entrypoint.as_deref()));
    if !s.environment.is_empty() {
        let mut env = Obj::default();
        for (k, v) in &s.environment {
            env.raw(k, v.as_deref().map_or_else(|| "null".to_string(), string));
        }
        o.raw("environment", env.finish());
    }
    o.list("expose", &s.expose);
    o.list("external_links", &s.external_links);
    if !s.extra_hosts.is_empty() {
        let mut hosts: Vec<String> = s
            .extra_hosts
            .iter()
            .map(|h| match h.split_once(['=', ':']) {
                Some((host, ip)) => format!("{host}={}", strip_brackets(ip)),
                None => h.clone(),
            })
            .collect();
        hosts.sort();
        o.list("extra_hosts", &hosts);
    }
    o.list("group_add", &s.group_add);
    if !s.gpus.is_empty() {
        let gpus: Vec<String> = s.gpus.iter().map(device_request).collect();
        o.raw("gpus", format!("[{}]", gpus.join(",")));
    }
    o.opt_str("hostname", s.hostname.as_deref());
    if let Some(h) = &s.healthcheck {
        o.raw("healthcheck", healthcheck(h));
    }
    o.opt_str("image", s.image.as_deref());
    if let Some(init) = s.init {
        o.raw("init", init.to_string());
    }
    o.opt_str("ipc", s.ipc.as_deref());
    o.opt_str("isolation", s.isolation.as_deref());
    o.map("labels", &s.labels);
    o.list("links", &s.links);
    if let Some(l) = &s.logging {
        let mut lo = Obj::default();
        lo.opt_str("driver", l.driver.as_deref());
        lo.map("options", &l.options);
        o.raw("logging", lo.finish());
    }
    if !from_deploy(&s.mem_limit, deploy.map(|d| &d.limit_memory)) {
        o.bytes("mem_limit", s.mem_limit.as_deref());
    }
    o.bytes("mem_reservation", s.mem_reservation.as_deref());
    match s.memswap_limit.as_deref().map(str::trim) {
        Some("-1") => o.raw("memswap_limit", "-1".into()),
        other => o.bytes("memswap_limit", other),
    }
    o.int("mem_swappiness", s.mem_swappiness);
    o.opt_str("mac_address", s.mac_address.as_deref());
    o.opt_str("network_mode", s.network_mode.as_deref());
    if !s.networks.is_empty() {
        let mut nets = Obj::default();
        for (k, n) in &s.networks {
            nets.raw(k, n.as_ref().map_or_else(|| "null".into(), network));
        }
        o.raw("networks", nets.finish());
    } else if s.network_mode.is_none() {
        o.raw("networks", r#"{"default":null}"#.into());
    }
    o.flag("oom_kill_disable", s.oom_kill_disable.unwrap_or(false));
    o.int("oom_score_adj", s.oom_score_adj);
    o.opt_str("pid", s.pid.as_deref());
    let pids_from_deploy =
        deploy.is_some_and(|d| d.limit_pids.is_some() && d.limit_pids == s.pids_limit);
    if !pids_from_deploy {
        o.int("pids_limit", s.pids_limit);
    }
    o.opt_str("platform", s.platform.as_deref());
    if !s.ports.is_empty() {
        let ports: Vec<String> = s.ports.iter().map(port).collect();
        o.raw("ports", format!("[{}]", ports.join(",")));
    }
    o.flag("privileged", s.privileged);
    o.flag("read_only", s.read_only);
    let restart_from_deploy = deploy
        .and_then(|d| d.restart_condition.as_deref())
        .is_some_and(|c| {
            let with_attempts = deploy
                .and_then(|d| d.restart_max_attempts)
                .map(|n| format!("{}:{n}", restart_for(c)));
            s.restart.as_deref() == Some(restart_for(c)) || s.restart == with_attempts
        });
    if !restart_from_deploy {
        o.opt_str("restart", s.restart.as_deref());
    }
    o.opt_str("runtime", s.runtime.as_deref());
    o.list("security_opt", &s.security_opt);
    o.bytes("shm_size", s.shm_size.as_deref());
    o.flag("stdin_open", s.stdin_open);
    o.duration("stop_grace_period", s.stop_grace_period.as_deref());
    o.opt_str("stop_signal", s.stop_signal.as_deref());
    o.map("storage_opt", &s.storage_opt);
    o.map("sysctls", &s.sysctls);
    o.list("tmpfs", &s.tmpfs);
    o.flag("tty", s.tty);
    if !s.ulimits.is_empty() {
        let mut u = Obj::default();
        for (name, l) in &s.ulimits {
            let value = if l.soft == l.hard {
                l.soft.to_string()
            } else {
                format!(r#"{{"soft":{},"hard":{}}}"#, l.soft, l.hard)
            };
            u.raw(name, value);
        }
        o.raw("ulimits", u.finish());
    }
    o.opt_str("user", s.user.as_deref());
    o.opt_str("userns_mode", s.userns_mode.as_deref());
    o.opt_str("uts", s.uts.as_deref());
    if !s.volumes.is_empty() {
        let volumes: Vec<String> = s.volumes.iter().map(mount).collect();
        o.raw("volumes", format!("[{}]", volumes.join(",")));
    }
    o.list("volumes_from", &s.volumes_from);
    o.opt_str("working_dir", s.working_dir.as_deref());
    for (key, hooks) in [("post_start", &s.post_start), ("pre_stop", &s.pre_stop)] {
        if !hooks.is_empty() {
            let items: Vec<String> = hooks.iter().map(hook).collect();
            o.raw(key, format!("[{}]", items.join(",")));
        }
    }
    go_escape(&o.finish())
}

/// A JSON object written field by field, in the order the fields are added (Go's struct
/// order; callers add map entries in sorted order).
#[derive(Default)]
struct Obj(String);

impl Obj {
    fn raw(&mut self, key: &str, value: String) {
        self.0.push(if self.0.is_empty() { '{' } else { ',' });
        let _ = write!(self.0, "{}:{value}", string(key));
    }

    fn opt_str(&mut self, key: &str, value: Option<&str>) {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            self.raw(key, string(v));
        }
    }

    fn list(&mut self, key: &str, values: &[String]) {
        if !values.is_empty() {
            self.raw(key, list(values));
        }
    }

    fn map(&mut self, key: &str, values: &BTreeMap<String, String>) {
        if !values.is_empty() {
            let mut m = Obj::default();
            for (k, v) in values {
                m.raw(k, string(v));
            }
            self.raw(key, m.finish());
        }
    }

    fn int(&mut self, key: &str, value: Option<i64>) {
        if let Some(v) = value.filter(|v| *v != 0) {
            self.raw(key, v.to_string());
        }
    }

    fn flag(&mut self, key: &str, value: bool) {
        if value {
            self.raw(key, "true".into());
        }
    }

    fn bytes(&mut self, key: &str, value: Option<&str>) {
        if let Some(n) = value.and_then(parse_bytes).filter(|n| *n != 0) {
            self.raw(key, n.to_string());
        }
    }

    fn duration(&mut self, key: &str, value: Option<&str>) {
        if let Some(ns) = value.and_then(parse_duration_ns) {
            self.raw(key, string(&go_duration(ns)));
        }
    }

    fn finish(self) -> String {
        if self.0.is_empty() {
            "{}".into()
        } else {
            self.0 + "}"
        }
    }
}

fn string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn list(values: &[String]) -> String {
    let items: Vec<String> = values.iter().map(|v| string(v)).collect();
    format!("[{}]", items.join(","))
}

fn opt_list(values: Option<&[String]>) -> String {
    values.map_or_else(|| "null".into(), list)
}

/// Go's `encoding/json` escapes these even inside strings; serde_json does not. They can only
/// occur inside strings, so replacing them in the whole text is exact.
fn go_escape(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

fn strip_brackets(ip: &str) -> &str {
    ip.strip_prefix('[')
        .and_then(|i| i.strip_suffix(']'))
        .unwrap_or(ip)
}

/// Go's `float32` JSON: the shortest decimal that round-trips, without exponent for the
/// values a `cpus` takes.
fn go_float32(f: f32) -> String {
    let s = format!("{f}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_string)
}

/// The `restart` Berth's loader derives from a `deploy.restart_policy.condition`.
fn restart_for(condition: &str) -> &'static str {
    match condition {
        "any" => "always",
        "on-failure" => "on-failure",
        _ => "no",
    }
}

/// compose-go's `DeployConfig` with `replicas` cleared: `resources` and `placement` are
/// structs, which Go's `omitempty` never leaves out.
fn deploy_json(d: &Deploy) -> String {
    let mut resources = Obj::default();
    if d.limits {
        let mut l = Obj::default();
        if let Some(cpus) = d.limit_cpus.as_deref().and_then(|c| c.parse::<f32>().ok()) {
            if cpus != 0.0 {
                l.raw("cpus", go_float32(cpus));
            }
        }
        l.bytes("memory", d.limit_memory.as_deref());
        if let Some(pids) = d.limit_pids.filter(|p| *p != 0) {
            l.raw("pids", pids.to_string());
        }
        resources.raw("limits", l.finish());
    }
    let mut o = Obj::default();
    o.raw("resources", resources.finish());
    if d.restart_policy {
        let mut r = Obj::default();
        r.opt_str("condition", d.restart_condition.as_deref());
        r.duration("delay", d.restart_delay.as_deref());
        if let Some(n) = d.restart_max_attempts {
            r.raw("max_attempts", n.to_string());
        }
        r.duration("window", d.restart_window.as_deref());
        o.raw("restart_policy", r.finish());
    }
    o.raw("placement", "{}".into());
    o.finish()
}

/// compose-go's `BlkioConfig`.
fn blkio(b: &BlkioConfig) -> String {
    let mut o = Obj::default();
    o.int("weight", b.weight.map(i64::from));
    let list = |items: Vec<String>| format!("[{}]", items.join(","));
    if !b.weight_device.is_empty() {
        let items = b
            .weight_device
            .iter()
            .map(|w| format!(r#"{{"path":{},"weight":{}}}"#, string(&w.path), w.weight))
            .collect();
        o.raw("weight_device", list(items));
    }
    for (key, rates) in [
        ("device_read_bps", &b.device_read_bps),
        ("device_read_iops", &b.device_read_iops),
        ("device_write_bps", &b.device_write_bps),
        ("device_write_iops", &b.device_write_iops),
    ] {
        if !rates.is_empty() {
            let items = rates
                .iter()
                .map(|t| format!(r#"{{"path":{},"rate":{}}}"#, string(&t.path), t.rate))
                .collect();
            o.raw(key, list(items));
        }
    }
    o.finish()
}

/// compose-go's `ServiceHook`.
fn hook(h: &Hook) -> String {
    let mut o = Obj::default();
    o.raw("command", opt_list(Some(&h.command)));
    o.opt_str("user", h.user.as_deref());
    o.flag("privileged", h.privileged);
    o.opt_str("working_dir", h.working_dir.as_deref());
    if !h.environment.is_empty() {
        let mut env = Obj::default();
        for (k, v) in &h.environment {
            env.raw(k, v.as_deref().map_or_else(|| "null".to_string(), string));
        }
        o.raw("environment", env.finish());
    }
    o.finish()
}

/// compose-go's `DeviceRequest`.
fn device_request(d: &DeviceRequest) -> String {
    let mut o = Obj::default();
    o.list("capabilities", &d.capabilities);
    o.opt_str("driver", d.driver.as_deref());
    o.int("count", d.count);
    o.list("device_ids", &d.device_ids);
    o.map("options", &d.options);
    o.finish()
}

fn healthcheck(h: &Healthcheck) -> String {
    let mut o = Obj::default();
    o.list("test", &h.test);
    o.duration("timeout", h.timeout.as_deref());
    o.duration("interval", h.interval.as_deref());
    if let Some(r) = h.retries {
        o.raw("retries", r.to_string());
    }
    o.duration("start_period", h.start_period.as_deref());
    o.duration("start_interval", h.start_interval.as_deref());
    o.flag("disable", h.disable);
    o.finish()
}

fn network(n: &ServiceNetwork) -> String {
    let mut o = Obj::default();
    o.int("priority", n.priority);
    o.int("gw_priority", n.gw_priority);
    o.list("aliases", &n.aliases);
    o.opt_str("ipv4_address", n.ipv4_address.as_deref());
    o.opt_str("ipv6_address", n.ipv6_address.as_deref());
    o.list("link_local_ips", &n.link_local_ips);
    o.opt_str("mac_address", n.mac_address.as_deref());
    o.map("driver_opts", &n.driver_opts);
    o.finish()
}

fn port(p: &Port) -> String {
    let mut o = Obj::default();
    o.opt_str("mode", Some(&p.mode));
    o.opt_str("host_ip", p.host_ip.as_deref());
    if p.target != 0 {
        o.raw("target", p.target.to_string());
    }
    o.opt_str("published", p.published.as_deref());
    o.opt_str("protocol", Some(&p.protocol));
    o.finish()
}

fn mount(m: &Mount) -> String {
    let mut o = Obj::default();
    let kind = match m.kind {
        MountType::Bind => "bind",
        MountType::Volume => "volume",
        MountType::Tmpfs => "tmpfs",
    };
    o.raw("type", string(kind));
    o.opt_str("source", m.source.as_deref());
    o.opt_str("target", Some(&m.target));
    o.flag("read_only", m.read_only);
    o.opt_str("consistency", m.consistency.as_deref());
    match m.kind {
        MountType::Bind => {
            let mut b = Obj::default();
            b.opt_str("selinux", m.selinux.as_deref());
            b.opt_str("propagation", m.propagation.as_deref());
            b.flag("create_host_path", m.create_host_path);
            b.opt_str("recursive", m.recursive.as_deref());
            if !b.0.is_empty() {
                o.raw("bind", b.finish());
            }
        }
        MountType::Volume if m.volume_section => {
            let mut v = Obj::default();
            v.map("labels", &m.volume_labels);
            v.flag("nocopy", m.nocopy);
            v.opt_str("subpath", m.subpath.as_deref());
            o.raw("volume", v.finish());
        }
        MountType::Volume => {}
        MountType::Tmpfs => {
            let mut t = Obj::default();
            t.int("size", m.tmpfs_size);
            t.int("mode", m.tmpfs_mode.map(i64::from));
            if !t.0.is_empty() {
                o.raw("tmpfs", t.finish());
            }
        }
    }
    o.finish()
}

/// `host[:container[:permissions]]` as compose-go's `DeviceMapping`.
fn device(spec: &str) -> String {
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, target, permissions) = match parts.as_slice() {
        [s, t, p] => (*s, *t, *p),
        [s, t] => (*s, *t, "rwm"),
        _ => (spec, spec, "rwm"),
    };
    let mut o = Obj::default();
    o.opt_str("source", Some(source));
    o.opt_str("target", Some(target));
    o.opt_str("permissions", Some(permissions));
    o.finish()
}

/// Go's `time.Duration.String()`: `0s`, `1.5µs`, `300ms`, `10s`, `1m30s`, `1h0m0s`.
pub fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let u = ns.unsigned_abs();
    if u < 1_000_000_000 {
        let (unit, scale) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{sign}{}{unit}", fraction(u, scale));
    }
    let (h, rest) = (u / 3_600_000_000_000, u % 3_600_000_000_000);
    let (m, rest) = (rest / 60_000_000_000, rest % 60_000_000_000);
    let secs = fraction(rest, 1_000_000_000);
    match (h, m) {
        (0, 0) => format!("{sign}{secs}s"),
        (0, m) => format!("{sign}{m}m{secs}s"),
        (h, m) => format!("{sign}{h}h{m}m{secs}s"),
    }
}

/// `value / scale` with the fractional digits Go prints (trailing zeros dropped).
fn fraction(value: u64, scale: u64) -> String {
    let (whole, frac) = (value / scale, value % scale);
    if frac == 0 {
        return whole.to_string();
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{load_sources, LoadOptions};

    fn service(yaml: &str, name: &str) -> Service {
        let opts = LoadOptions {
            working_dir: "/proj".into(),
            ..Default::default()
        };
        let p = load_sources(vec![("/proj/compose.yaml".into(), yaml.into())], &opts).unwrap();
        p.services[name].clone()
    }

    #[test]
    fn durations_print_like_go() {
        for (ns, text) in [
            (0, "0s"),
            (1, "1ns"),
            (1_500, "1.5µs"),
            (300_000_000, "300ms"),
            (1_500_000, "1.5ms"),
            (10_000_000_000, "10s"),
            (1_500_000_000, "1.5s"),
            (90_000_000_000, "1m30s"),
            (3_600_000_000_000, "1h0m0s"),
            (3_725_000_000_000, "1h2m5s"),
        ] {
            assert_eq!(go_duration(ns), text, "{ns}");
        }
    }

    /// The JSON of compose v2 for the bench's db service, written out by hand from
    /// compose-go's `ServiceConfig` (field order, omitempty, `command`/`entrypoint` always
    /// present, implicit default network).
    #[test]
    fn json_is_compose_go_service_config() {
        let s = service(
            "services:\n  db:\n    image: busybox\n    command: [\"sh\", \"-c\", \"a && b\"]\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: 300ms\n      retries: 100\n    environment: {B: '2', A: null}\n    depends_on: [x]\n    labels: [z=1]\n    ports: ['127.0.0.1:8080:80']\n    volumes: ['./site:/www:ro', 'data:/data']\n    restart: always\n    stop_grace_period: 90s\n  x:\n    image: busybox\nvolumes: {data: {}}\n",
            "db",
        );
        assert_eq!(
            service_json(&s),
            concat!(
                r#"{"command":["sh","-c","a \u0026\u0026 b"],"entrypoint":null,"#,
                r#""environment":{"A":null,"B":"2"},"#,
                r#""healthcheck":{"test":["CMD","true"],"interval":"300ms","retries":100},"#,
                r#""image":"busybox","labels":{"z":"1"},"networks":{"default":null},"#,
                r#""ports":[{"mode":"ingress","host_ip":"127.0.0.1","target":80,"published":"8080","protocol":"tcp"}],"#,
                r#""restart":"always","stop_grace_period":"1m30s","#,
                r#""volumes":[{"type":"bind","source":"/proj/site","target":"/www","read_only":true,"bind":{"create_host_path":true}},"#,
                r#"{"type":"volume","source":"data","target":"/data","volume":{}}]}"#,
            )
        );
    }

    #[test]
    fn hash_ignores_what_compose_ignores_and_is_sha256_hex() {
        let a = service(
            "services:\n  web:\n    image: busybox\n    depends_on: [db]\n    scale: 2\n    pull_policy: always\n  db:\n    image: busybox\n",
            "web",
        );
        let b = service("services:\n  web:\n    image: busybox\n", "web");
        assert_eq!(service_hash(&a), service_hash(&b));
        // sha256 of the JSON, lowercase hex: the bytes compose v2 hashes for this service.
        assert_eq!(
            service_json(&b),
            r#"{"command":null,"entrypoint":null,"image":"busybox","networks":{"default":null}}"#
        );
        assert_eq!(
            service_hash(&b),
            hex::encode(Sha256::digest(
                br#"{"command":null,"entrypoint":null,"image":"busybox","networks":{"default":null}}"#
            ))
        );
        let c = service(
            "services:\n  web:\n    image: busybox\n    environment: [X=1]\n",
            "web",
        );
        assert_ne!(service_hash(&b), service_hash(&c));
    }

    #[test]
    fn deploy_hashes_as_compose_go_keeps_it() {
        let s = service(
            "services:\n  web:\n    image: busybox\n    deploy:\n      replicas: 2\n      resources:\n        limits: {cpus: '0.5', memory: 64M}\n      restart_policy: {condition: on-failure, max_attempts: 3, delay: 5s}\n",
            "web",
        );
        assert_eq!(
            service_json(&s),
            concat!(
                r#"{"command":null,"#,
                r#""deploy":{"resources":{"limits":{"cpus":0.5,"memory":67108864}},"#,
                r#""restart_policy":{"condition":"on-failure","delay":"5s","max_attempts":3},"placement":{}},"#,
                r#""entrypoint":null,"image":"busybox","networks":{"default":null}}"#,
            )
        );
        assert_eq!(s.replicas(), 2);
        assert_eq!(s.cpus.as_deref(), Some("0.5"));
    }

    /// docker/compose's own golden value (`pkg/compose/hash_test.go`, `TestHashGoldenValues`):
    /// the same service built field by field must hash to the same digest.
    #[test]
    fn matches_docker_composes_golden_hash() {
        let s = Service {
            name: "web".into(),
            image: Some("nginx:latest".into()),
            command: Some(vec!["nginx".into(), "-g".into(), "daemon off;".into()]),
            user: Some("nobody".into()),
            tty: true,
            stdin_open: true,
            restart: Some("always".into()),
            environment: [("A".into(), Some("1".into())), ("B".into(), None)].into(),
            labels: [("com.example".into(), "v".into())].into(),
            annotations: [("note".into(), "x".into())].into(),
            cap_add: vec!["NET_ADMIN".into()],
            extra_hosts: vec!["alpha:10.0.0.1".into()],
            deploy: Some(Deploy::default()),
            scale: Some(3),
            ports: vec![Port {
                target: 80,
                published: Some("8080".into()),
                host_ip: None,
                protocol: "tcp".into(),
                mode: String::new(),
            }],
            healthcheck: Some(Healthcheck {
                test: vec!["CMD".into(), "true".into()],
                ..Default::default()
            }),
            volumes: vec![Mount {
                kind: MountType::Volume,
                source: Some("data".into()),
                target: "/data".into(),
                read_only: false,
                create_host_path: false,
                nocopy: false,
                tmpfs_size: None,
                volume_section: false,
                ..Mount::default_volume()
            }],
            networks: [("default".into(), None)].into(),
            ..Default::default()
        };
        assert_eq!(
            service_hash(&s),
            "75bc312132c71fac4971d123202631b6978ac9d796336621af744d46611b42a2"
        );
    }

    #[test]
    fn network_mode_drops_the_implicit_network_and_extra_hosts_sort() {
        let s = service(
            "services:\n  web:\n    image: busybox\n    network_mode: host\n    extra_hosts: ['b:10.0.0.2', 'a=10.0.0.1']\n",
            "web",
        );
        assert_eq!(
            service_json(&s),
            r#"{"command":null,"entrypoint":null,"extra_hosts":["a=10.0.0.1","b=10.0.0.2"],"image":"busybox","network_mode":"host"}"#
        );
    }
}
