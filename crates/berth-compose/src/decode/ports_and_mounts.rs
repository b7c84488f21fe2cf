//! Ports and mounts, in their short (`"8080:80"`, `"./src:/app:ro"`) and long syntax.

use super::*;

pub(super) fn port(n: &Node, field: &str) -> R<Vec<Port>> {
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
                "published" => {
                    p.published = opt_scalar(v, f)?;
                    if let Some(published) = p.published.as_deref().filter(|p| !p.is_empty()) {
                        if parse_range(published).is_none() {
                            return err(v, f, format!("invalid published port {published:?}"));
                        }
                    }
                }
                "host_ip" => p.host_ip = opt_scalar(v, f)?,
                "protocol" => {
                    p.protocol = scalar(v, f)?;
                    if !matches!(p.protocol.as_str(), "tcp" | "udp" | "sctp") {
                        return err(v, f, format!("invalid protocol {:?}", p.protocol));
                    }
                }
                "mode" => {
                    p.mode = scalar(v, f)?;
                    if !matches!(p.mode.as_str(), "host" | "ingress") {
                        return err(v, f, format!("invalid port mode {:?}", p.mode));
                    }
                }
                "name" | "app_protocol" => return Err(refused(
                    v,
                    f,
                    "port names and application protocols are metadata the engine does not keep",
                )),
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
pub(super) fn mount(n: &Node, field: &str, ctx: &Ctx) -> R<Mount> {
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
            ..Mount::default_volume()
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
                        t @ ("npipe" | "cluster" | "image") => {
                            return Err(refused(
                                v,
                                f,
                                &format!(
                            "`{t}` mounts are not implemented yet (named pipes are Windows-only)"
                        ),
                            ))
                        }
                        other => {
                            return err(v, f, format!("mount type {other:?} is not supported"))
                        }
                    }
                }
                "source" => m.source = opt_scalar(v, f)?,
                "target" => m.target = scalar(v, f)?,
                "read_only" => m.read_only = boolean(v, f)?,
                "bind" => bind_options(v, f, &mut m)?,
                "volume" => {
                    m.volume_section = true;
                    for (k, x) in map(v, f)? {
                        let g = format!("{f}.{k}");
                        match k.as_str() {
                            "nocopy" => m.nocopy = boolean(x, &g)?,
                            "subpath" => m.subpath = opt_scalar(x, &g)?,
                            "labels" => m.volume_labels = kv_strings(x, &g)?,
                            _ => return err(x, &g, "unknown attribute"),
                        }
                    }
                }
                "tmpfs" => {
                    for (k, x) in map(v, f)? {
                        let g = format!("{f}.{k}");
                        match k.as_str() {
                            "size" => {
                                let text = super::resources::bytes(x, &g)?;
                                m.tmpfs_size = parse_bytes(&text);
                            }
                            "mode" => m.tmpfs_mode = Some(file_mode(x, &g)?),
                            _ => return err(x, &g, "unknown attribute"),
                        }
                    }
                }
                "consistency" => m.consistency = Some(consistency(v, f)?),
                _ => return err(v, f, "unknown attribute"),
            }
        }
        if m.target.is_empty() {
            return err(n, field, "missing `target`");
        }
        check_mount_options(n, field, &m)?;
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
        ..Mount::default_volume()
    };
    if let Some(src) = source.filter(|s| !s.is_empty()) {
        if src.starts_with('.') || src.starts_with('/') || src.starts_with('~') {
            m.kind = MountType::Bind;
            m.create_host_path = true;
            m.source = Some(ctx.host_path(src));
        } else {
            m.source = Some(src.to_string());
        }
    }
    if let Some(mode) = mode {
        for opt in mode.split(',') {
            match opt {
                "ro" => m.read_only = true,
                "rw" => {}
                "z" | "Z" => m.selinux = Some(opt.to_string()),
                "cached" | "delegated" | "consistent" => m.consistency = Some(opt.to_string()),
                "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => {
                    m.propagation = Some(opt.to_string())
                }
                "nocopy" => m.nocopy = true,
                _ => return err(n, field, format!("invalid volume mode {opt:?}")),
            }
        }
    }
    check_mount_options(n, field, &m)?;
    Ok(m)
}

const PROPAGATIONS: &[&str] = &[
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];

/// A long-syntax `bind:` section; without `create_host_path` the host path is created, as
/// compose-go defaults it.
fn bind_options(n: &Node, field: &str, m: &mut Mount) -> R<()> {
    m.create_host_path = n.get("create_host_path").is_none();
    for (k, x) in map(n, field)? {
        let g = format!("{field}.{k}");
        match k.as_str() {
            "create_host_path" => m.create_host_path = boolean(x, &g)?,
            "propagation" => {
                let p = scalar(x, &g)?;
                if !PROPAGATIONS.contains(&p.as_str()) {
                    return err(x, &g, format!("invalid propagation {p:?}"));
                }
                m.propagation = Some(p);
            }
            "selinux" => {
                let l = scalar(x, &g)?;
                if !matches!(l.as_str(), "z" | "Z") {
                    return err(x, &g, format!("must be `z` or `Z`, found {l:?}"));
                }
                m.selinux = Some(l);
            }
            "recursive" => {
                let r = scalar(x, &g)?;
                if !matches!(r.as_str(), "enabled" | "disabled" | "writable" | "readonly") {
                    return err(x, &g, format!("invalid recursive mode {r:?}"));
                }
                m.recursive = Some(r);
            }
            _ => return err(x, &g, "unknown attribute"),
        }
    }
    Ok(())
}

fn consistency(n: &Node, field: &str) -> R<String> {
    let c = scalar(n, field)?;
    if !matches!(
        c.as_str(),
        "consistent" | "cached" | "delegated" | "default"
    ) {
        return err(n, field, format!("invalid consistency {c:?}"));
    }
    Ok(c)
}

/// An octal file mode (`1777`, `0o755`) or a decimal one written as a YAML integer.
fn file_mode(n: &Node, field: &str) -> R<u32> {
    let text = scalar(n, field)?;
    let digits = text.trim_start_matches("0o");
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .map_or_else(|| err(n, field, format!("invalid file mode {text:?}")), Ok)
}

/// Options that only make sense on one kind of mount are refused on the others.
fn check_mount_options(n: &Node, field: &str, m: &Mount) -> R<()> {
    let bind_only = [
        ("propagation", m.propagation.is_some()),
        ("SELinux relabelling (z/Z)", m.selinux.is_some()),
        ("recursive", m.recursive.is_some()),
    ];
    for (what, set) in bind_only {
        if set && m.kind != MountType::Bind {
            return err(n, field, format!("{what} applies to bind mounts only"));
        }
    }
    if m.subpath.is_some() && m.kind != MountType::Volume {
        return err(n, field, "subpath applies to volume mounts only");
    }
    Ok(())
}
