//! A service's resource settings: CPU, memory, pids, block I/O and device (GPU) requests.
//! Every value is checked here, so that a bad one is an error naming its file and line rather
//! than a limit that silently does not apply.

use super::*;

/// An integer (`512`, `-1`).
pub(super) fn int(n: &Node, field: &str) -> R<i64> {
    let text = scalar(n, field)?;
    text.trim()
        .parse()
        .or_else(|_| err(n, field, format!("must be an integer, found {text:?}")))
}

/// An integer in `lo..=hi`.
pub(super) fn int_in(n: &Node, field: &str, lo: i64, hi: i64) -> R<i64> {
    let v = int(n, field)?;
    if !(lo..=hi).contains(&v) {
        return err(
            n,
            field,
            format!("must be between {lo} and {hi}, found {v}"),
        );
    }
    Ok(v)
}

/// A byte size (`512m`, `1gb`, `1073741824`), returned as written.
pub(super) fn bytes(n: &Node, field: &str) -> R<String> {
    let text = scalar(n, field)?;
    match parse_bytes(&text) {
        Some(b) if b >= 0 => Ok(text),
        _ => err(
            n,
            field,
            format!("invalid byte size {text:?} (e.g. 512m, 1g)"),
        ),
    }
}

/// `memswap_limit`: a byte size or `-1` (unlimited swap).
pub(super) fn swap_bytes(n: &Node, field: &str) -> R<String> {
    let text = scalar(n, field)?;
    if text.trim() == "-1" {
        return Ok(text);
    }
    bytes(n, field)
}

/// A number of CPUs (`0.5`, `2`), returned as written.
pub(super) fn cpus(n: &Node, field: &str) -> R<String> {
    let text = scalar(n, field)?;
    match text.trim().parse::<f64>() {
        Ok(c) if c.is_finite() && c >= 0.0 => Ok(text),
        _ => err(
            n,
            field,
            format!("invalid number of CPUs {text:?} (e.g. 0.5, 2)"),
        ),
    }
}

/// Microseconds, as an integer or a duration (`cpu_period: 100ms`).
pub(super) fn micros(n: &Node, field: &str) -> R<i64> {
    let text = scalar(n, field)?;
    if let Ok(v) = text.trim().parse::<i64>() {
        return Ok(v);
    }
    match parse_duration_ns(&text) {
        Some(ns) => Ok(ns / 1000),
        None => err(
            n,
            field,
            format!("must be microseconds or a duration, found {text:?}"),
        ),
    }
}

/// `cpuset: 0-3` or `0,1`.
pub(super) fn cpuset(n: &Node, field: &str) -> R<String> {
    let text = scalar(n, field)?;
    let valid = !text.is_empty()
        && text.split(',').all(|part| {
            let mut ends = part.splitn(2, '-');
            ends.all(|e| !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()))
        });
    if !valid {
        return err(
            n,
            field,
            format!("invalid CPU set {text:?} (e.g. 0-3 or 0,1)"),
        );
    }
    Ok(text)
}

/// `blkio_config`.
pub(super) fn blkio_config(n: &Node, field: &str) -> R<BlkioConfig> {
    let mut b = BlkioConfig::default();
    for (key, v) in map(n, field)? {
        let f = format!("{field}.{key}");
        let f = f.as_str();
        match key.as_str() {
            "weight" => b.weight = Some(weight(v, f)?),
            "weight_device" => {
                for (i, item) in seq(v, f)?.iter().enumerate() {
                    let g = format!("{f}[{i}]");
                    b.weight_device.push(WeightDevice {
                        path: required(item, &g, "path", scalar)?,
                        weight: required(item, &g, "weight", weight)?,
                    });
                }
            }
            "device_read_bps" => b.device_read_bps = throttles(v, f, true)?,
            "device_write_bps" => b.device_write_bps = throttles(v, f, true)?,
            "device_read_iops" => b.device_read_iops = throttles(v, f, false)?,
            "device_write_iops" => b.device_write_iops = throttles(v, f, false)?,
            _ => return err(v, f, "unknown attribute"),
        }
    }
    Ok(b)
}

fn weight(n: &Node, field: &str) -> R<u16> {
    int_in(n, field, 10, 1000).map(|w| w as u16)
}

fn required<T>(n: &Node, field: &str, key: &str, read: fn(&Node, &str) -> R<T>) -> R<T> {
    match n.get(key) {
        Some(v) => read(v, &format!("{field}.{key}")),
        None => err(n, field, format!("missing `{key}`")),
    }
}

fn throttles(n: &Node, field: &str, byte_rates: bool) -> R<Vec<ThrottleDevice>> {
    let rate = if byte_rates {
        |n: &Node, f: &str| -> R<i64> {
            let text = bytes(n, f)?;
            Ok(parse_bytes(&text).unwrap_or_default())
        }
    } else {
        |n: &Node, f: &str| -> R<i64> { int_in(n, f, 0, i64::MAX) }
    };
    seq(n, field)?
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let g = format!("{field}[{i}]");
            Ok(ThrottleDevice {
                path: required(item, &g, "path", scalar)?,
                rate: required(item, &g, "rate", rate)?,
            })
        })
        .collect()
}

/// `gpus: all` or a list of device requests (capabilities default to `gpu`).
pub(super) fn gpus(n: &Node, field: &str) -> R<Vec<DeviceRequest>> {
    if let Value::Scalar { text, .. } = &n.value {
        if text == "all" {
            return Ok(vec![DeviceRequest {
                capabilities: vec!["gpu".into()],
                count: Some(-1),
                ..Default::default()
            }]);
        }
        return err(n, field, format!("must be `all` or a list, found {text:?}"));
    }
    let mut out = device_requests(n, field)?;
    for d in &mut out {
        if d.capabilities.is_empty() {
            d.capabilities.push("gpu".into());
        }
    }
    Ok(out)
}

/// `deploy.resources.reservations.devices` and the list form of `gpus`.
pub(super) fn device_requests(n: &Node, field: &str) -> R<Vec<DeviceRequest>> {
    let mut out = Vec::new();
    for (i, item) in seq(n, field)?.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let mut d = DeviceRequest::default();
        for (key, v) in map(item, &f)? {
            let g = format!("{f}.{key}");
            match key.as_str() {
                "capabilities" => d.capabilities = str_list(v, &g)?,
                "count" => {
                    d.count = Some(match &v.value {
                        Value::Scalar { text, .. } if text == "all" => -1,
                        _ => int_in(v, &g, 1, i64::MAX)?,
                    })
                }
                "device_ids" => d.device_ids = str_list(v, &g)?,
                "driver" => d.driver = opt_scalar(v, &g)?,
                "options" => d.options = kv_strings(v, &g)?,
                _ => return err(v, &g, "unknown attribute"),
            }
        }
        if d.count.is_some() && !d.device_ids.is_empty() {
            return err(item, &f, "`count` and `device_ids` cannot both be set");
        }
        out.push(d);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(yaml: &str) -> Node {
        crate::yaml::parse(&format!("k: {yaml}\n"), Path::new("/c.yaml"))
            .unwrap()
            .get("k")
            .cloned()
            .unwrap()
    }

    #[test]
    fn bad_values_name_their_field() {
        for (value, read) in [
            ("lots", cpus as fn(&Node, &str) -> R<String>),
            ("-1", cpus),
            ("12q", bytes),
            ("0-x", cpuset),
        ] {
            let e = read(&node(value), "services.a.x").unwrap_err();
            assert_eq!(e.field(), Some("services.a.x"), "{value}");
            assert_eq!(e.line(), Some(1));
        }
        assert!(int_in(&node("2000"), "f", -1000, 1000).is_err());
        assert_eq!(micros(&node("100ms"), "f").unwrap(), 100_000);
        assert_eq!(micros(&node("2500"), "f").unwrap(), 2500);
        assert_eq!(swap_bytes(&node("-1"), "f").unwrap(), "-1");
    }

    #[test]
    fn gpus_all_and_lists() {
        assert_eq!(gpus(&node("all"), "g").unwrap()[0].count, Some(-1));
        let g = gpus(&node("[{driver: nvidia, count: 2}]"), "g").unwrap();
        assert_eq!(g[0].capabilities, ["gpu"]);
        assert_eq!(g[0].count, Some(2));
        assert!(device_requests(&node("[{count: 1, device_ids: ['0']}]"), "d").is_err());
        let b = blkio_config(
            &node("{weight: 300, device_read_bps: [{path: /dev/sda, rate: 1mb}]}"),
            "b",
        )
        .unwrap();
        assert_eq!(b.device_read_bps[0].rate, 1 << 20);
        assert!(blkio_config(&node("{weight: 5}"), "b").is_err());
    }
}
