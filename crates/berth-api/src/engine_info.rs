//! The engine as the dashboard's header and Engine page show it.

use crate::transport::{Engine, VersionInfo};
use berth_core::ApiError;
use serde::Serialize;

use crate::transport::ToApi;

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineInfo {
    pub name: String,
    pub operating_system: String,
    pub cpus: i64,
    pub mem_total: i64,
    pub version: VersionInfo,
}

pub async fn engine_info(engine: &Engine) -> Result<EngineInfo, ApiError> {
    let info = engine.info().await.to_api()?;
    Ok(EngineInfo {
        name: info.name.unwrap_or_default(),
        operating_system: info.operating_system.unwrap_or_default(),
        cpus: info.ncpu.unwrap_or_default(),
        mem_total: info.mem_total.unwrap_or_default(),
        version: engine.version().await.to_api()?,
    })
}
