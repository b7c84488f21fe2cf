//! The project's top-level `networks`, `volumes`, `secrets` and `configs`.

use super::*;

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
            "ipam" => ipam(v, f, &mut net)?,
            "enable_ipv4" => net.enable_ipv4 = Some(boolean(v, f)?),
            x if x.starts_with("x-") => {}
            _ => return err(v, f, "unknown attribute"),
        }
    }
    net.name = engine_name(key, name, net.external, project);
    Ok(net)
}

/// `ipam`: the subnets go to `net.subnets`; anything more (driver, options, gateways, ranges,
/// reserved addresses) keeps the whole section in `net.ipam`.
fn ipam(n: &Node, field: &str, net: &mut Network) -> R<()> {
    let mut ipam = Ipam::default();
    let mut beyond_subnets = false;
    for (k, v) in map(n, field)? {
        let f = format!("{field}.{k}");
        match k.as_str() {
            "config" => {
                for (i, c) in seq(v, &f)?.iter().enumerate() {
                    let g = format!("{f}[{i}]");
                    let mut pool = IpamConfig::default();
                    for (key, x) in map(c, &g)? {
                        let h = format!("{g}.{key}");
                        match key.as_str() {
                            "subnet" => {
                                let subnet = scalar(x, &h)?;
                                net.subnets.push(subnet.clone());
                                pool.subnet = Some(subnet);
                            }
                            "gateway" => pool.gateway = Some(scalar(x, &h)?),
                            "ip_range" => pool.ip_range = Some(scalar(x, &h)?),
                            "aux_addresses" => pool.aux_addresses = kv_strings(x, &h)?,
                            _ => return err(x, &h, "unknown attribute"),
                        }
                    }
                    beyond_subnets |= pool.gateway.is_some()
                        || pool.ip_range.is_some()
                        || !pool.aux_addresses.is_empty();
                    ipam.config.push(pool);
                }
            }
            "driver" => {
                ipam.driver = opt_scalar(v, &f)?;
                beyond_subnets = true;
            }
            "options" => {
                ipam.options = kv_strings(v, &f)?;
                beyond_subnets = true;
            }
            x if x.starts_with("x-") => {}
            _ => return err(v, &f, "unknown attribute"),
        }
    }
    if beyond_subnets {
        net.ipam = Some(ipam);
    }
    Ok(())
}

/// The name a network or volume has on the engine: its `name:`, else its key when it is
/// external, else `<project>_<key>`.
fn engine_name(key: &str, name: Option<String>, external: bool, project: &str) -> String {
    match (name, external) {
        (Some(n), _) => n,
        (None, true) => key.to_string(),
        (None, false) => format!("{project}_{key}"),
    }
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
    vol.name = engine_name(key, name, vol.external, project);
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
            "external" => {
                o.external = boolean(v, f)?;
                if o.external {
                    o.not_for_containers.push(refused(
                        v,
                        f,
                        "an external secret or config is a swarm object (berth stack deploy); a container's comes from a file, content or a variable",
                    ));
                }
            }
            "name" => o.name = opt_scalar(v, f)?,
            "template_driver" | "driver" | "driver_opts" | "labels" => {
                o.not_for_containers.push(refused(
                    v,
                    f,
                    "only a swarm keeps secrets and configs as objects (berth stack deploy); a container's is a bind-mounted file",
                ))
            }
            "environment" => {
                let var = scalar(v, f)?;
                match ctx.env.get(&var) {
                    Some(value) => o.environment_value = Some(value.clone()),
                    None => return err(v, f, format!("the variable {var} is not set")),
                }
                o.environment = Some(var);
            }
            x if x.starts_with("x-") => {}
            _ => return err(v, f, "unknown attribute"),
        }
    }
    Ok(o)
}
