//! The Settings page over `berth_api::settings_form`; the login item is the autostart plugin.

use std::collections::BTreeMap;

use berth_api::settings_form::{self, LoginItem, SettingsFieldError, SettingsSaved, SettingsView};
use berth_api::{language, Berth};
use berth_core::ApiError;
use tauri::{Manager, State};

use super::AppState;
use crate::text::ShellLocale;

#[tauri::command]
pub fn get_settings(state: State<'_, AppState>) -> Result<SettingsView, ApiError> {
    settings_form::view(&fresh(&state)?, state.link.owns_engine())
}

#[tauri::command]
pub fn validate_settings(
    state: State<'_, AppState>,
    values: BTreeMap<String, String>,
    shared_folders: Vec<String>,
) -> Result<Vec<SettingsFieldError>, ApiError> {
    Ok(settings_form::validate(
        &fresh(&state)?,
        &values,
        &shared_folders,
    ))
}

#[tauri::command]
pub fn save_settings(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    values: BTreeMap<String, String>,
    shared_folders: Vec<String>,
) -> Result<SettingsSaved, ApiError> {
    let mut berth = fresh(&state)?;
    let saved = settings_form::save(&mut berth, &values, &shared_folders, &AutostartPlugin(&app))?;
    // The tray and the native dialogs speak the saved language at once, as the window does.
    app.state::<ShellLocale>()
        .set(language::of(berth.settings()));
    Ok(saved)
}

/// The autostart plugin (an XDG autostart entry on Linux, a launch agent on macOS, the `Run`
/// key on Windows).
struct AutostartPlugin<'a>(&'a tauri::AppHandle);

impl LoginItem for AutostartPlugin<'_> {
    fn set_enabled(&self, enabled: bool) -> Result<(), String> {
        use tauri::Manager;
        let Some(manager) = self
            .0
            .try_state::<tauri_plugin_autostart::AutoLaunchManager>()
        else {
            return Err("the autostart plugin did not start".into());
        };
        let result = if enabled {
            manager.enable()
        } else {
            manager.disable()
        };
        result.map_err(|e| e.to_string())
    }
}

/// The file as it is now (the CLI or another window may have changed it).
fn fresh(state: &AppState) -> Result<Berth, ApiError> {
    Berth::open_at(state.link.berth().paths().clone())
}
