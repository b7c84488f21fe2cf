//! The Troubleshoot page's commands, over `berth_api::troubleshoot`: the VM console and Berth's
//! own log, the diagnostics bundle, clean up, and reset to factory defaults. Restart is
//! `restart_engine`.

use std::path::PathBuf;

use berth_api::troubleshoot::{
    CleanUpSummary, DiagnosticsBundle, FactoryResetDone, LogSource, LogTail,
};
use berth_api::Berth;
use berth_core::ApiError;
use tauri::State;

use super::AppState;

#[tauri::command]
pub fn read_log(state: State<'_, AppState>, source: LogSource) -> LogTail {
    state.link.berth().read_log(source)
}

/// Prunes stopped containers, dangling images, unused networks and the build cache (and
/// unused volumes when `volumes`), and says what each step freed.
#[tauri::command]
pub async fn clean_up(
    state: State<'_, AppState>,
    volumes: bool,
) -> Result<CleanUpSummary, ApiError> {
    Ok((&state.link.berth().prune(volumes).await?).into())
}

/// Writes the diagnostics bundle to `path`, or, without one, beside Berth's logs folder.
#[tauri::command]
pub async fn create_diagnostics(
    state: State<'_, AppState>,
    path: Option<String>,
) -> Result<DiagnosticsBundle, ApiError> {
    let berth = state.link.berth();
    let out = match path.filter(|p| !p.trim().is_empty()) {
        Some(p) => PathBuf::from(p),
        None => berth.default_diagnostics_path(),
    };
    Ok(berth.diagnostics_bundle(&out).await?.into())
}

/// Stops the engine and its daemon and deletes the VM's disks, the settings and every stored
/// secret: the next start is a first start. The window confirmed with the user.
#[tauri::command]
pub async fn factory_reset(state: State<'_, AppState>) -> Result<FactoryResetDone, ApiError> {
    let mut berth = Berth::open_at(state.link.berth().paths().clone())?;
    Ok(berth.factory_reset().await?.into())
}
