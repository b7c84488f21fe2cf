//! Changing settings from the Settings page or `berth settings set`: validated per field,
//! saved atomically with the file's unknown keys kept, and the keys that wait for an engine
//! restart named so the caller can ask the user to restart.

use berth_core::{ApiError, ErrorCode, Settings};
use serde::Serialize;

use crate::Berth;

/// What a saved change means for the running engine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsChange {
    /// Changed keys that take effect at the next engine start (`vm.cpus`, ...).
    pub restart_needed: Vec<String>,
}

impl Berth {
    /// One setting by its dotted key; `None` for an unset optional key.
    pub fn get_setting(&self, key: &str) -> Result<Option<String>, ApiError> {
        self.settings().get_key(key).map_err(invalid)
    }

    /// Sets one key from text (see [`Settings::set_key`]) and saves.
    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<SettingsChange, ApiError> {
        let mut next = self.reload_settings()?;
        next.set_key(key, value).map_err(invalid)?;
        self.apply_settings(next)
    }

    /// Saves a whole new settings value (the Settings page): refuses an invalid field or a
    /// shrinking disk, and says which changes need a restart.
    pub fn apply_settings(&mut self, next: Settings) -> Result<SettingsChange, ApiError> {
        let current = self.reload_settings()?;
        // Before the first start there is no disk to lose: any size is fine.
        if self.has_data_disk() {
            current.check_change(&next).map_err(invalid)?;
        }
        let restart_needed = current
            .restart_needed_for(&next)
            .into_iter()
            .map(str::to_owned)
            .collect();
        self.save_settings(next)?;
        Ok(SettingsChange { restart_needed })
    }

    /// Whether the VM's data disk exists (`data.qcow2`, `data.raw` on macOS).
    pub fn has_data_disk(&self) -> bool {
        std::fs::read_dir(self.paths().data_dir.join("vm"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("data."))
    }

    /// The file as it is now (another window may have saved since this value was opened).
    fn reload_settings(&self) -> Result<Settings, ApiError> {
        Settings::load(&self.paths().settings_file()).map_err(invalid)
    }
}

fn invalid(e: berth_core::settings::SettingsError) -> ApiError {
    ApiError::from_error(ErrorCode::InvalidSettings, &e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_core::BerthPaths;

    #[test]
    fn set_saves_keeps_unknown_keys_and_names_restart_keys() {
        let home = tempfile::tempdir().unwrap();
        let paths = BerthPaths::under(home.path());
        paths.ensure().unwrap();
        std::fs::write(paths.settings_file(), "future = \"x\"\n[vm]\ncpus = 1\n").unwrap();
        let mut berth = Berth::open_at(paths.clone()).unwrap();
        let change = berth.set_setting("vm.cpus", "2").unwrap();
        assert_eq!(change.restart_needed, ["vm.cpus"]);
        let change = berth.set_setting("app.start_at_login", "true").unwrap();
        assert!(change.restart_needed.is_empty());
        let text = std::fs::read_to_string(paths.settings_file()).unwrap();
        assert!(text.contains("future"), "{text}");
        assert_eq!(Settings::load(&paths.settings_file()).unwrap().vm.cpus, 2);
        assert_eq!(berth.get_setting("vm.cpus").unwrap().as_deref(), Some("2"));
    }

    #[test]
    fn invalid_values_and_a_shrinking_disk_are_refused_with_the_field() {
        let home = tempfile::tempdir().unwrap();
        let paths = BerthPaths::under(home.path());
        let mut berth = Berth::open_at(paths.clone()).unwrap();
        for (key, value) in [("vm.memory_mib", "10"), ("vm.disk_gib", "2")] {
            let err = berth.set_setting(key, value).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidSettings);
            assert!(err.message.contains(key), "{}", err.message);
        }
        assert!(!paths.settings_file().exists(), "nothing was saved");
        // No disk yet: any size; then it only grows.
        berth.set_setting("vm.disk_gib", "16").unwrap();
        std::fs::create_dir_all(paths.data_dir.join("vm")).unwrap();
        std::fs::write(paths.data_dir.join("vm/data.qcow2"), b"").unwrap();
        let err = berth.set_setting("vm.disk_gib", "8").unwrap_err();
        assert!(err.message.contains("only grow"), "{}", err.message);
        berth.set_setting("vm.disk_gib", "80").unwrap();
        assert_eq!(berth.settings().vm.disk_gib, 80);
    }
}
