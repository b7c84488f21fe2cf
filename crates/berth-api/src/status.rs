//! `berth status`: is the engine there, and what is it.

use berth_core::ApiError;
use berth_engine::VersionInfo;
use serde::Serialize;

use crate::transport::ToApi;
use crate::Berth;

/// What `berth status` reports (also its `--json` shape).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub berth_version: String,
    pub endpoint: String,
    pub reachable: bool,
    /// The engine's versions, when it answered.
    pub engine: Option<VersionInfo>,
    /// Why it did not, when it did not.
    pub error: Option<ApiError>,
    /// The daemon's view (state, phase, VM pid, resources), when a daemon runs.
    pub daemon: Option<berth_control::protocol::DaemonStatus>,
}

impl StatusReport {
    pub(crate) async fn probe(berth: &Berth) -> StatusReport {
        let daemon = berth.daemon_status().await;
        // Asking a paused engine its version would wake it: its state is the answer (a
        // connection wakes it, so it is reachable).
        if daemon.as_ref().is_some_and(|d| d.state.is_paused())
            && crate::engine_watch::is_berths_engine(berth)
        {
            return StatusReport {
                berth_version: env!("CARGO_PKG_VERSION").to_owned(),
                endpoint: berth.endpoint().to_string(),
                reachable: true,
                engine: None,
                error: None,
                daemon,
            };
        }
        let version = match berth.engine().await {
            Ok(engine) => engine.version().await.to_api(),
            Err(error) => Err(error),
        };
        let (engine, error) = match version {
            Ok(version) => (Some(version), None),
            Err(error) => (None, Some(error)),
        };
        StatusReport {
            berth_version: env!("CARGO_PKG_VERSION").to_owned(),
            endpoint: berth.endpoint().to_string(),
            reachable: engine.is_some(),
            engine,
            error,
            daemon,
        }
    }
}
