//! The Settings page: every setting as text by its dotted key, checked by berth-core's own
//! rules (one message per field, nothing saved while any is refused), saved with the file's
//! unknown keys kept, and the keys that wait for an engine restart named.
//!
//! The page reads the file fresh each time (the CLI or another window may have changed it).
//! "Start Berth at login" is registered through a [`LoginItem`] the shell provides.

use std::collections::BTreeMap;

use berth_core::settings::SettingsError;
use berth_core::{ApiError, ErrorCode, Settings};
use serde::Serialize;

use crate::Berth;

/// The keys the page edits (`engine.endpoint` is chosen elsewhere).
pub const PAGE_KEYS: &[&str] = &[
    "vm.cpus",
    "vm.memory_mib",
    "vm.disk_gib",
    "ports.bind_address",
    "app.start_engine_at_launch",
    "app.start_at_login",
    "app.on_quit",
    "app.auto_restart_engine",
    "engine.pause_when_idle",
    "app.language",
];

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    /// Each of [`PAGE_KEYS`] as text (`"2"`, `"127.0.0.1"`, `"true"`, `"ask"`).
    pub values: BTreeMap<String, String>,
    pub shared_folders: Vec<String>,
    /// The data disk exists, so its size can only grow.
    pub has_data_disk: bool,
    /// Whether the engine is Berth's VM (VM settings apply to it) or an existing engine.
    pub owns_engine: bool,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingsFieldError {
    pub field: String,
    pub message: String,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsSaved {
    /// Empty when saved; else nothing was saved.
    pub field_errors: Vec<SettingsFieldError>,
    /// Saved keys that take effect at the next engine start.
    pub restart_needed: Vec<String>,
    /// Saved, but something around it did not follow (the login item, ...).
    pub warnings: Vec<String>,
}

/// Where "Start Berth at login" is registered: the OS's login items (the app's autostart
/// plugin), or a recording fake in tests.
pub trait LoginItem {
    fn set_enabled(&self, enabled: bool) -> Result<(), String>;
}

/// The page as the file is now.
pub fn view(berth: &Berth, owns_engine: bool) -> Result<SettingsView, ApiError> {
    let settings = berth.settings();
    let mut values = BTreeMap::new();
    for key in PAGE_KEYS {
        let value = settings
            .get_key(key)
            .map_err(|e| ApiError::from_error(ErrorCode::InvalidSettings, &e))?;
        values.insert((*key).to_owned(), value.unwrap_or_default());
    }
    Ok(SettingsView {
        values,
        shared_folders: settings
            .shared_folders
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        has_data_disk: berth.has_data_disk(),
        owns_engine,
    })
}

/// Checks `values` (key -> text) and `shared_folders` as `berth settings set` would, without
/// saving: the per-field messages the form shows.
pub fn validate(
    berth: &Berth,
    values: &BTreeMap<String, String>,
    shared_folders: &[String],
) -> Vec<SettingsFieldError> {
    proposed(berth, values, shared_folders).1
}

/// Saves when every field is valid; otherwise returns the field errors and saves nothing.
/// A changed "start at login" is handed to `login_item`; its failure is a warning (the setting
/// stays saved, so the next save tries again).
pub fn save(
    berth: &mut Berth,
    values: &BTreeMap<String, String>,
    shared_folders: &[String],
    login_item: &dyn LoginItem,
) -> Result<SettingsSaved, ApiError> {
    let (next, field_errors) = proposed(berth, values, shared_folders);
    if !field_errors.is_empty() {
        return Ok(SettingsSaved {
            field_errors,
            ..SettingsSaved::default()
        });
    }
    let before = berth.settings().app.start_at_login;
    let after = next.app.start_at_login;
    let change = berth.apply_settings(next)?;
    Ok(SettingsSaved {
        field_errors: Vec::new(),
        restart_needed: change.restart_needed,
        warnings: sync_login_item(login_item, before, after)
            .into_iter()
            .collect(),
    })
}

/// Registers or removes the login item when the setting changed.
fn sync_login_item(item: &dyn LoginItem, before: bool, after: bool) -> Option<String> {
    if before == after {
        return None;
    }
    item.set_enabled(after).err().map(|e| {
        let what = if after { "added to" } else { "removed from" };
        format!("Saved, but Berth could not be {what} the programs that start at login: {e}")
    })
}

/// The settings the form proposes, and every field berth-core refuses in them. Each key is
/// applied on its own, so one bad field does not hide another's message.
fn proposed(
    berth: &Berth,
    values: &BTreeMap<String, String>,
    shared_folders: &[String],
) -> (Settings, Vec<SettingsFieldError>) {
    let current = berth.settings();
    let mut next = current.clone();
    let mut errors = Vec::new();
    let folders: Vec<&str> = shared_folders
        .iter()
        .map(|f| f.trim())
        .filter(|f| !f.is_empty())
        .collect();
    // A JSON array of strings is a TOML array too (same escapes).
    let folders = serde_json::to_string(&folders).unwrap_or_else(|_| "[]".into());
    let edits = values
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .chain(std::iter::once(("shared_folders", folders)));
    for (key, value) in edits {
        if let Err(e) = next.set_key(key, &value) {
            errors.extend(field_errors(key, e));
        }
    }
    if berth.has_data_disk() {
        if let Err(e) = current.check_change(&next) {
            errors.extend(field_errors("vm.disk_gib", e));
        }
    }
    (next, errors)
}

fn field_errors(key: &str, e: SettingsError) -> Vec<SettingsFieldError> {
    match e {
        SettingsError::Invalid { errors } => errors
            .into_iter()
            .map(|f| SettingsFieldError {
                field: f.field,
                message: f.message,
            })
            .collect(),
        other => vec![SettingsFieldError {
            field: key.to_owned(),
            message: other.to_string(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_core::BerthPaths;

    fn berth_with(text: &str) -> (tempfile::TempDir, Berth) {
        let home = tempfile::tempdir().unwrap();
        let paths = BerthPaths::under(home.path());
        paths.ensure().unwrap();
        std::fs::write(paths.settings_file(), text).unwrap();
        let berth = Berth::open_at(paths).unwrap();
        (home, berth)
    }

    fn form(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_view_names_every_page_key_as_text() {
        let (_home, berth) = berth_with("[vm]\ncpus = 3\n");
        let view = view(&berth, true).unwrap();
        assert_eq!(view.values["vm.cpus"], "3");
        assert_eq!(view.values["ports.bind_address"], "127.0.0.1");
        assert_eq!(view.values["app.on_quit"], "ask");
        assert_eq!(view.values.len(), PAGE_KEYS.len());
        assert!(!view.has_data_disk);
    }

    #[test]
    fn every_bad_field_is_named_and_good_ones_apply() {
        let (_home, berth) = berth_with("");
        let (_, errors) = proposed(
            &berth,
            &form(&[
                ("vm.cpus", "0"),
                ("vm.memory_mib", "lots"),
                ("ports.bind_address", "localhost"),
                ("vm.disk_gib", "80"),
            ]),
            &["relative/dir".into()],
        );
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "ports.bind_address",
                "vm.cpus",
                "vm.memory_mib",
                "shared_folders[0]"
            ]
        );
        let (next, errors) = proposed(
            &berth,
            &form(&[("vm.cpus", "4"), ("app.on_quit", "keep_running")]),
            &["/home/u/src".into(), " ".into()],
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(next.vm.cpus, 4);
        assert_eq!(
            next.shared_folders,
            [std::path::PathBuf::from("/home/u/src")]
        );
    }

    struct Recorder(std::cell::RefCell<Vec<bool>>, Result<(), String>);

    impl LoginItem for Recorder {
        fn set_enabled(&self, enabled: bool) -> Result<(), String> {
            self.0.borrow_mut().push(enabled);
            self.1.clone()
        }
    }

    #[test]
    fn the_login_item_follows_only_a_change_and_a_failure_is_a_warning() {
        let ok = Recorder(Default::default(), Ok(()));
        assert_eq!(sync_login_item(&ok, false, false), None);
        assert_eq!(sync_login_item(&ok, false, true), None);
        assert_eq!(sync_login_item(&ok, true, false), None);
        assert_eq!(*ok.0.borrow(), [true, false]);
        let failing = Recorder(Default::default(), Err("no home folder".into()));
        let warning = sync_login_item(&failing, false, true).unwrap();
        assert!(warning.contains("added to"), "{warning}");
        assert!(warning.contains("no home folder"), "{warning}");
    }

    #[test]
    fn a_save_with_a_bad_field_saves_nothing_and_a_good_one_saves_and_syncs() {
        let (_home, mut berth) = berth_with("[vm]\ncpus = 2\n");
        let item = Recorder(Default::default(), Ok(()));
        let refused = save(&mut berth, &form(&[("vm.cpus", "0")]), &[], &item).unwrap();
        assert_eq!(refused.field_errors.len(), 1, "{refused:?}");
        let reread = Berth::open_at(berth.paths().clone()).unwrap();
        assert_eq!(reread.settings().vm.cpus, 2);
        let saved = save(
            &mut berth,
            &form(&[("vm.cpus", "3"), ("app.start_at_login", "true")]),
            &[],
            &item,
        )
        .unwrap();
        assert!(saved.field_errors.is_empty(), "{saved:?}");
        assert_eq!(saved.restart_needed, ["vm.cpus"]);
        assert_eq!(*item.0.borrow(), [true]);
        let reread = Berth::open_at(berth.paths().clone()).unwrap();
        assert_eq!(reread.settings().vm.cpus, 3);
    }

    #[test]
    fn a_shrinking_disk_is_refused_once_it_exists() {
        let (home, berth) = berth_with("[vm]\ndisk_gib = 64\n");
        let disk_dir = berth.paths().data_dir.join("vm");
        std::fs::create_dir_all(&disk_dir).unwrap();
        std::fs::write(disk_dir.join("data.qcow2"), b"").unwrap();
        let (_, errors) = proposed(&berth, &form(&[("vm.disk_gib", "32")]), &[]);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "vm.disk_gib");
        assert!(errors[0].message.contains("only grow"), "{errors:?}");
        drop(home);
    }
}
