//! The engine as the dashboard's Engine page shows it: what the engine says of itself, and,
//! for Berth's own VM, how much of this computer's memory it holds now.

use berth_core::ApiError;
use serde::Serialize;

use crate::engine_watch::EngineWatch;
use crate::transport::{ToApi, VersionInfo};

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineInfo {
    pub name: String,
    pub operating_system: String,
    pub cpus: i64,
    /// The memory the engine's machine has (the VM's size, for Berth's VM).
    pub mem_total: i64,
    /// The host's memory Berth's VM holds now (its process's resident set), which falls when
    /// the guest frees memory; `None` for an engine Berth does not run, or where no process of
    /// Berth's holds the VM's memory (WSL).
    pub vm_host_memory: Option<u64>,
    pub version: VersionInfo,
}

pub async fn engine_info(watch: &EngineWatch) -> Result<EngineInfo, ApiError> {
    let engine = watch.engine().await?;
    let info = engine.info().await.to_api()?;
    let vm_host_memory = if watch.owns_engine() {
        let status = watch.berth().daemon_status().await;
        status.and_then(|s| s.vm?.host_memory_bytes)
    } else {
        None
    };
    Ok(EngineInfo {
        name: info.name.unwrap_or_default(),
        operating_system: info.operating_system.unwrap_or_default(),
        cpus: info.ncpu.unwrap_or_default(),
        mem_total: info.mem_total.unwrap_or_default(),
        vm_host_memory,
        version: engine.version().await.to_api()?,
    })
}
