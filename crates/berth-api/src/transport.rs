//! The engine's types that cross to the window (and their TypeScript bindings, feature `ts`)
//! and the [`Engine`] handle the dashboard's commands call, named from berth-api so the shells
//! name one crate; and how an engine error becomes the `{ code, message }` every caller shows.

use berth_core::ApiError;

pub use berth_engine::containers::RemoveOptions;
pub use berth_engine::exec::{ExecHandle, ExecInput};
pub use berth_engine::{
    ContainerFilter, ContainerSummary, DiskUsage, Engine, EngineError, EngineEvent, ExecOptions,
    ExecSession, ImageHistoryEntry, ImageSummary, LogLine, LogOptions, Mount, NetworkCreate,
    NetworkSummary, PruneReport, PullProgress, RegistryAuth, RunSpec, StatsSample, VersionInfo,
    VolumeArchive, VolumeCreate, VolumeSummary,
};

/// `?`-friendly conversion of engine results into what a command returns.
pub trait ToApi<T> {
    fn to_api(self) -> Result<T, ApiError>;
}

impl<T> ToApi<T> for Result<T, EngineError> {
    fn to_api(self) -> Result<T, ApiError> {
        self.map_err(|e| ApiError::from_error(e.code(), &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_core::ErrorCode;

    #[test]
    fn engine_errors_keep_their_code_and_message() {
        let r: Result<(), EngineError> = Err(EngineError::NotFound {
            message: "No such container: web".into(),
        });
        let e = r.to_api().unwrap_err();
        assert_eq!(e.code, ErrorCode::NotFound);
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"code": "not_found", "message": "Not found: No such container: web"})
        );
    }
}
