//! Live resource usage of a container.

use bollard::models::ContainerStatsResponse;
use bollard::query_parameters as q;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::{Engine, EngineError};

/// One sample of a container's usage, with CPU already turned into a percentage.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsSample {
    pub id: String,
    pub name: String,
    /// RFC 3339 time of the sample.
    pub read: String,
    /// Percent of one CPU times the number of CPUs (like `docker stats`).
    pub cpu_percent: f64,
    pub memory_usage: u64,
    pub memory_limit: u64,
    pub network_rx_bytes: u64,
    pub network_tx_bytes: u64,
    pub block_read_bytes: u64,
    pub block_write_bytes: u64,
    pub pids: u64,
}

impl From<ContainerStatsResponse> for StatsSample {
    fn from(s: ContainerStatsResponse) -> Self {
        let cpu = s.cpu_stats.unwrap_or_default();
        let pre = s.precpu_stats.unwrap_or_default();
        let total = |c: &bollard::models::ContainerCpuStats| {
            c.cpu_usage
                .as_ref()
                .and_then(|u| u.total_usage)
                .unwrap_or(0)
        };
        let cpu_delta = total(&cpu).saturating_sub(total(&pre)) as f64;
        let sys_delta = cpu
            .system_cpu_usage
            .unwrap_or(0)
            .saturating_sub(pre.system_cpu_usage.unwrap_or(0)) as f64;
        let online = cpu
            .online_cpus
            .map(u64::from)
            .or_else(|| {
                cpu.cpu_usage
                    .as_ref()
                    .and_then(|u| u.percpu_usage.as_ref())
                    .map(|p| p.len() as u64)
            })
            .unwrap_or(1)
            .max(1) as f64;
        let cpu_percent = if sys_delta > 0.0 && cpu_delta > 0.0 {
            cpu_delta / sys_delta * online * 100.0
        } else {
            0.0
        };
        let mem = s.memory_stats.unwrap_or_default();
        let (rx, tx) = s
            .networks
            .unwrap_or_default()
            .values()
            .fold((0, 0), |(rx, tx), n| {
                (rx + n.rx_bytes.unwrap_or(0), tx + n.tx_bytes.unwrap_or(0))
            });
        let (br, bw) = s
            .blkio_stats
            .and_then(|b| b.io_service_bytes_recursive)
            .unwrap_or_default()
            .iter()
            .fold((0, 0), |(r, w), e| {
                let v = e.value.unwrap_or(0);
                match e.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
                    Some("read") => (r + v, w),
                    Some("write") => (r, w + v),
                    _ => (r, w),
                }
            });
        StatsSample {
            id: s.id.unwrap_or_default(),
            name: s
                .name
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            read: s.read.map(|r| r.to_string()).unwrap_or_default(),
            cpu_percent,
            memory_usage: mem.usage.unwrap_or(0),
            memory_limit: mem.limit.unwrap_or(0),
            network_rx_bytes: rx,
            network_tx_bytes: tx,
            block_read_bytes: br,
            block_write_bytes: bw,
            pids: s.pids_stats.and_then(|p| p.current).unwrap_or(0),
        }
    }
}

impl Engine {
    /// A sample about every second until the container stops or the stream is dropped
    /// (one sample when `stream` is false).
    pub fn stats(
        &self,
        id: &str,
        stream: bool,
    ) -> impl Stream<Item = Result<StatsSample, EngineError>> + Send + 'static {
        let opts = q::StatsOptions {
            stream,
            one_shot: false,
        };
        let err = self.err();
        self.docker
            .stats(id, Some(opts))
            .map(move |r| r.map(StatsSample::from).map_err(&err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_percent_and_totals() {
        let raw = serde_json::json!({
            "id": "c1", "name": "/web",
            "read": "2024-01-01T00:00:01Z",
            "cpu_stats": {"cpu_usage": {"total_usage": 300}, "system_cpu_usage": 2000, "online_cpus": 2},
            "precpu_stats": {"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 1000},
            "memory_stats": {"usage": 1024, "limit": 4096},
            "networks": {"eth0": {"rx_bytes": 10, "tx_bytes": 20}, "eth1": {"rx_bytes": 1, "tx_bytes": 2}},
            "blkio_stats": {"io_service_bytes_recursive": [
                {"major": 8, "minor": 0, "op": "Read", "value": 7},
                {"major": 8, "minor": 0, "op": "Write", "value": 9}]},
            "pids_stats": {"current": 3}
        });
        let s: ContainerStatsResponse = serde_json::from_value(raw).unwrap();
        let sample = StatsSample::from(s);
        assert_eq!(sample.name, "web");
        assert!((sample.cpu_percent - 40.0).abs() < 1e-9);
        assert_eq!((sample.memory_usage, sample.memory_limit), (1024, 4096));
        assert_eq!((sample.network_rx_bytes, sample.network_tx_bytes), (11, 22));
        assert_eq!((sample.block_read_bytes, sample.block_write_bytes), (7, 9));
        assert_eq!(sample.pids, 3);
    }
}
