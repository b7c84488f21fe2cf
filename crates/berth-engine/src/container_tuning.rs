//! `ContainerTuning`: the rarer host settings of a container-create request (cgroup resources,
//! block I/O, DNS options, namespaces, runtime, device requests, legacy links, volumes from
//! other containers). Kept apart from [`crate::ContainerSpec`] so that stays readable; the
//! defaults leave every one of them to the engine.

use std::collections::BTreeMap;

use bollard::models::{
    DeviceRequest as BollardDeviceRequest, HostConfig, HostConfigCgroupnsModeEnum,
    HostConfigIsolationEnum, ResourcesBlkioWeightDevice, ThrottleDevice as BollardThrottle,
};

/// Host settings beyond the common ones. `None` and empty values are left out of the request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainerTuning {
    /// Relative CPU weight.
    pub cpu_shares: Option<i64>,
    /// CFS period and quota, microseconds.
    pub cpu_period: Option<i64>,
    pub cpu_quota: Option<i64>,
    /// Real-time period and runtime, microseconds.
    pub cpu_rt_period: Option<i64>,
    pub cpu_rt_runtime: Option<i64>,
    /// CPUs the container may use (`0-3`, `0,1`).
    pub cpuset_cpus: Option<String>,
    /// Windows only: the number of CPUs and the usable percentage.
    pub cpu_count: Option<i64>,
    pub cpu_percent: Option<i64>,
    /// Bytes.
    pub memory_reservation: Option<i64>,
    /// Memory plus swap, bytes; -1 for unlimited swap.
    pub memory_swap: Option<i64>,
    /// 0 to 100.
    pub memory_swappiness: Option<i64>,
    pub oom_kill_disable: Option<bool>,
    /// -1000 to 1000.
    pub oom_score_adj: Option<i64>,
    /// -1 or 0 for unlimited.
    pub pids_limit: Option<i64>,
    pub blkio: Blkio,
    /// `host` or `private`.
    pub cgroupns_mode: Option<String>,
    pub cgroup_parent: Option<String>,
    /// `host` or empty.
    pub uts_mode: Option<String>,
    pub runtime: Option<String>,
    /// `default`, `process` or `hyperv` (Windows engines).
    pub isolation: Option<String>,
    pub storage_opt: BTreeMap<String, String>,
    /// `c 1:3 rwm`-style rules.
    pub device_cgroup_rules: Vec<String>,
    pub device_requests: Vec<DeviceRequest>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,
    /// `container:alias` legacy links on the default bridge (a user-defined network takes them
    /// on its endpoint: [`crate::NetworkAttachment::links`]).
    pub links: Vec<String>,
    /// `container[:ro|:rw]`: mount every volume of these containers.
    pub volumes_from: Vec<String>,
    pub annotations: BTreeMap<String, String>,
}

/// Block I/O weights and throttles.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Blkio {
    /// 10 to 1000.
    pub weight: Option<u16>,
    pub weight_device: Vec<(String, u16)>,
    /// Bytes per second.
    pub device_read_bps: Vec<(String, i64)>,
    pub device_write_bps: Vec<(String, i64)>,
    pub device_read_iops: Vec<(String, i64)>,
    pub device_write_iops: Vec<(String, i64)>,
}

/// A request for devices from a driver (GPUs).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceRequest {
    pub driver: Option<String>,
    /// -1 for all.
    pub count: Option<i64>,
    pub device_ids: Vec<String>,
    pub capabilities: Vec<String>,
    pub options: BTreeMap<String, String>,
}

fn non_empty<T: Clone>(list: &[T]) -> Option<Vec<T>> {
    (!list.is_empty()).then(|| list.to_vec())
}

fn throttles(list: &[(String, i64)]) -> Option<Vec<BollardThrottle>> {
    (!list.is_empty()).then(|| {
        list.iter()
            .map(|(path, rate)| BollardThrottle {
                path: Some(path.clone()),
                rate: Some(*rate),
            })
            .collect()
    })
}

impl DeviceRequest {
    fn to_bollard(&self) -> BollardDeviceRequest {
        BollardDeviceRequest {
            driver: self.driver.clone(),
            count: self.count,
            device_ids: non_empty(&self.device_ids),
            capabilities: (!self.capabilities.is_empty()).then(|| vec![self.capabilities.clone()]),
            options: (!self.options.is_empty()).then(|| self.options.clone().into_iter().collect()),
        }
    }
}

impl ContainerTuning {
    /// Writes these settings into `hc`.
    pub(crate) fn apply(&self, hc: &mut HostConfig) {
        hc.cpu_shares = self.cpu_shares;
        hc.cpu_period = self.cpu_period;
        hc.cpu_quota = self.cpu_quota;
        hc.cpu_realtime_period = self.cpu_rt_period;
        hc.cpu_realtime_runtime = self.cpu_rt_runtime;
        hc.cpuset_cpus.clone_from(&self.cpuset_cpus);
        hc.cpu_count = self.cpu_count;
        hc.cpu_percent = self.cpu_percent;
        hc.memory_reservation = self.memory_reservation;
        hc.memory_swap = self.memory_swap;
        hc.memory_swappiness = self.memory_swappiness;
        hc.oom_kill_disable = self.oom_kill_disable;
        hc.oom_score_adj = self.oom_score_adj;
        hc.pids_limit = self.pids_limit;
        hc.blkio_weight = self.blkio.weight;
        hc.blkio_weight_device = (!self.blkio.weight_device.is_empty()).then(|| {
            self.blkio
                .weight_device
                .iter()
                .map(|(path, weight)| ResourcesBlkioWeightDevice {
                    path: Some(path.clone()),
                    weight: Some(usize::from(*weight)),
                })
                .collect()
        });
        hc.blkio_device_read_bps = throttles(&self.blkio.device_read_bps);
        hc.blkio_device_write_bps = throttles(&self.blkio.device_write_bps);
        hc.blkio_device_read_iops = throttles(&self.blkio.device_read_iops);
        hc.blkio_device_write_iops = throttles(&self.blkio.device_write_iops);
        hc.cgroupns_mode = self.cgroupns_mode.as_deref().map(|m| match m {
            "host" => HostConfigCgroupnsModeEnum::HOST,
            "private" => HostConfigCgroupnsModeEnum::PRIVATE,
            _ => HostConfigCgroupnsModeEnum::EMPTY,
        });
        hc.cgroup_parent.clone_from(&self.cgroup_parent);
        hc.uts_mode.clone_from(&self.uts_mode);
        hc.runtime.clone_from(&self.runtime);
        hc.isolation = self.isolation.as_deref().map(|i| match i {
            "default" => HostConfigIsolationEnum::DEFAULT,
            "process" => HostConfigIsolationEnum::PROCESS,
            "hyperv" => HostConfigIsolationEnum::HYPERV,
            _ => HostConfigIsolationEnum::EMPTY,
        });
        hc.storage_opt =
            (!self.storage_opt.is_empty()).then(|| self.storage_opt.clone().into_iter().collect());
        hc.device_cgroup_rules = non_empty(&self.device_cgroup_rules);
        hc.device_requests = (!self.device_requests.is_empty()).then(|| {
            self.device_requests
                .iter()
                .map(DeviceRequest::to_bollard)
                .collect()
        });
        hc.dns_search = non_empty(&self.dns_search);
        hc.dns_options = non_empty(&self.dns_options);
        hc.links = non_empty(&self.links);
        hc.volumes_from = non_empty(&self.volumes_from);
        hc.annotations =
            (!self.annotations.is_empty()).then(|| self.annotations.clone().into_iter().collect());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuning_reaches_the_host_config() {
        let t = ContainerTuning {
            cpu_shares: Some(512),
            cpuset_cpus: Some("0".into()),
            pids_limit: Some(64),
            oom_score_adj: Some(500),
            memory_reservation: Some(1 << 20),
            blkio: Blkio {
                weight: Some(300),
                device_read_bps: vec![("/dev/sda".into(), 1024)],
                ..Default::default()
            },
            cgroupns_mode: Some("private".into()),
            device_requests: vec![DeviceRequest {
                driver: Some("nvidia".into()),
                count: Some(-1),
                capabilities: vec!["gpu".into()],
                ..Default::default()
            }],
            dns_search: vec!["example.org".into()],
            dns_options: vec!["ndots:2".into()],
            links: vec!["db-1:database".into()],
            volumes_from: vec!["data:ro".into()],
            ..Default::default()
        };
        let mut hc = HostConfig::default();
        t.apply(&mut hc);
        assert_eq!(hc.cpu_shares, Some(512));
        assert_eq!(hc.cpuset_cpus.as_deref(), Some("0"));
        assert_eq!(hc.pids_limit, Some(64));
        assert_eq!(hc.oom_score_adj, Some(500));
        assert_eq!(hc.memory_reservation, Some(1 << 20));
        assert_eq!(hc.blkio_weight, Some(300));
        assert_eq!(
            hc.blkio_device_read_bps.unwrap()[0].rate,
            Some(1024),
            "throttle rate"
        );
        assert_eq!(hc.cgroupns_mode, Some(HostConfigCgroupnsModeEnum::PRIVATE));
        let dr = &hc.device_requests.unwrap()[0];
        assert_eq!(
            dr.capabilities.as_deref(),
            Some(&[vec!["gpu".to_string()]][..])
        );
        assert_eq!(hc.dns_search.unwrap(), ["example.org"]);
        assert_eq!(hc.dns_options.unwrap(), ["ndots:2"]);
        assert_eq!(hc.links.unwrap(), ["db-1:database"]);
        assert_eq!(hc.volumes_from.unwrap(), ["data:ro"]);
        assert!(hc.storage_opt.is_none() && hc.annotations.is_none() && hc.runtime.is_none());
    }
}
