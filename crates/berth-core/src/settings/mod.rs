//! What the user chose: the settings model, its validation and its file.
//!
//! The file is TOML (`settings.toml` in the config dir). Keys Berth does not know are kept, so a
//! newer Berth's settings survive an older one. A file that cannot be used is never replaced
//! silently: loading it fails with the bad field named, and a copy is kept beside it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::atomic_file;

mod idle;
mod vm_backend;
pub use idle::{PauseWhenIdle, DEFAULT_PAUSE_WHEN_IDLE, MIN_PAUSE_WHEN_IDLE};
pub use vm_backend::{LinkKind, VmBackend, VmLink};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub engine: EngineSettings,
    pub vm: VmSettings,
    pub ports: PortSettings,
    pub app: AppSettings,
    /// Host folders shared into the VM at the same path. Empty means the user's home folder;
    /// a non-empty list is the whole list (berth-vm `share::folders_to_share`).
    pub shared_folders: Vec<PathBuf>,
    /// Top-level keys this Berth does not know, kept as they were.
    #[serde(flatten)]
    pub other: BTreeMap<String, toml::Value>,
}

/// Which engine Berth manages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineSettings {
    /// `None`: Berth's own VM. `Some("unix:///var/run/docker.sock")`: an existing engine.
    pub endpoint: Option<String>,
    /// Pause Berth's VM after this long with no container running and no engine connection
    /// open; the next connection wakes it.
    pub pause_when_idle: PauseWhenIdle,
    #[serde(flatten)]
    pub other: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VmSettings {
    pub cpus: u32,
    pub memory_mib: u32,
    /// Size of the data disk that holds `/var/lib/docker`. It only grows.
    pub disk_gib: u32,
    /// The hypervisor: `auto` is the OS's own.
    pub backend: VmBackend,
    /// The host<->guest byte stream: `auto` is the backend's best.
    pub link: VmLink,
    #[serde(flatten)]
    pub other: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PortSettings {
    /// Host address a port published on `0.0.0.0` in the VM is bound to.
    pub bind_address: String,
    #[serde(flatten)]
    pub other: BTreeMap<String, toml::Value>,
}

/// The dashboard's language: the system's, or one chosen in Settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    System,
    En,
    Ja,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnQuit {
    Ask,
    StopEngine,
    KeepRunning,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppSettings {
    pub start_engine_at_launch: bool,
    pub start_at_login: bool,
    pub on_quit: OnQuit,
    pub auto_restart_engine: bool,
    /// The dashboard's and tray's language.
    pub language: Language,
    #[serde(flatten)]
    pub other: BTreeMap<String, toml::Value>,
}

impl Default for VmSettings {
    fn default() -> Self {
        VmSettings {
            cpus: 2,
            memory_mib: 2048,
            disk_gib: 64,
            backend: VmBackend::Auto,
            link: VmLink::Auto,
            other: BTreeMap::new(),
        }
    }
}

impl Default for PortSettings {
    fn default() -> Self {
        PortSettings {
            bind_address: "127.0.0.1".to_owned(),
            other: BTreeMap::new(),
        }
    }
}

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings {
            start_engine_at_launch: true,
            start_at_login: false,
            on_quit: OnQuit::Ask,
            auto_restart_engine: false,
            language: Language::System,
            other: BTreeMap::new(),
        }
    }
}

/// One field that failed validation, named by its dotted path (`vm.cpus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    #[error("cannot read {path:?}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path:?} is not valid TOML at line {line}, column {column}: {message}; a copy was kept at {backup:?}")]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
        backup: PathBuf,
    },
    #[error("{path:?}: field `{field}`: {message}; a copy was kept at {backup:?}")]
    Field {
        path: PathBuf,
        field: String,
        message: String,
        backup: PathBuf,
    },
    #[error("invalid settings: {}", join(.errors))]
    Invalid { errors: Vec<FieldError> },
    #[error("cannot write {path:?}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot encode settings")]
    Encode(#[source] toml::ser::Error),
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Limits a user can set through the UI; the VM cannot use more than the host has.
pub const MAX_CPUS: u32 = 64;
pub const MIN_MEMORY_MIB: u32 = 512;
pub const MAX_MEMORY_MIB: u32 = 256 * 1024;
pub const MIN_DISK_GIB: u32 = 8;
pub const MAX_DISK_GIB: u32 = 4096;

impl Settings {
    /// Every field that is out of range, each with a message a person can act on.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let mut errors = Vec::new();
        let mut bad = |field: &str, message: String| {
            errors.push(FieldError {
                field: field.to_owned(),
                message,
            })
        };
        if !(1..=MAX_CPUS).contains(&self.vm.cpus) {
            bad(
                "vm.cpus",
                format!("must be between 1 and {MAX_CPUS}, got {}", self.vm.cpus),
            );
        }
        if !(MIN_MEMORY_MIB..=MAX_MEMORY_MIB).contains(&self.vm.memory_mib) {
            bad(
                "vm.memory_mib",
                format!(
                    "must be between {MIN_MEMORY_MIB} and {MAX_MEMORY_MIB} MiB, got {}",
                    self.vm.memory_mib
                ),
            );
        }
        if !(MIN_DISK_GIB..=MAX_DISK_GIB).contains(&self.vm.disk_gib) {
            bad(
                "vm.disk_gib",
                format!(
                    "must be between {MIN_DISK_GIB} and {MAX_DISK_GIB} GiB, got {}",
                    self.vm.disk_gib
                ),
            );
        }
        if let Some(conflict) = self.vm.link.conflict(self.vm.backend) {
            bad("vm.link", conflict);
        }
        if self.ports.bind_address.parse::<IpAddr>().is_err() {
            bad(
                "ports.bind_address",
                format!(
                    "must be an IP address such as 127.0.0.1 or 0.0.0.0, got {:?}",
                    self.ports.bind_address
                ),
            );
        }
        if let Some(endpoint) = &self.engine.endpoint {
            if !is_endpoint(endpoint) {
                bad(
                    "engine.endpoint",
                    format!("must look like unix:///path/to/docker.sock, npipe://..., tcp://host:port or ssh://host, got {endpoint:?}"),
                );
            }
        }
        for (i, folder) in self.shared_folders.iter().enumerate() {
            if folder.is_relative() {
                bad(
                    &format!("shared_folders[{i}]"),
                    format!("must be an absolute path, got {folder:?}"),
                );
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(SettingsError::Invalid { errors })
        }
    }

    /// Reads the settings file; a missing file means the defaults.
    ///
    /// A file that is not valid TOML, has a value of the wrong type or out of range is left in
    /// place, copied to `settings.toml.invalid-<unix seconds>`, and reported with its field.
    pub fn load(path: &Path) -> Result<Settings, SettingsError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
            Err(source) => {
                return Err(SettingsError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        match Self::parse(&text) {
            Ok(settings) => Ok(settings),
            Err(problem) => {
                let backup = keep_backup(path, &text)?;
                let path = path.to_path_buf();
                Err(match problem {
                    Problem::Syntax {
                        line,
                        column,
                        message,
                    } => SettingsError::Syntax {
                        path,
                        line,
                        column,
                        message,
                        backup,
                    },
                    Problem::Field { field, message } => SettingsError::Field {
                        path,
                        field,
                        message,
                        backup,
                    },
                })
            }
        }
    }

    fn parse(text: &str) -> Result<Settings, Problem> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let (line, column) = e
                .span()
                .map(|span| line_column(text, span.start))
                .unwrap_or((0, 0));
            Problem::Syntax {
                line,
                column,
                message: e.message().trim().replace('\n', "; "),
            }
        })?;
        let settings: Settings = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| Problem::Field {
                field: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        if let Err(SettingsError::Invalid { errors }) = settings.validate() {
            let (first, rest) = errors
                .split_first()
                .expect("Invalid has at least one error");
            let mut message = first.message.clone();
            if !rest.is_empty() {
                message.push_str(&format!("; also {}", join(rest)));
            }
            return Err(Problem::Field {
                field: first.field.clone(),
                message,
            });
        }
        Ok(settings)
    }

    /// Keys in the file that this Berth does not know (kept on save): a newer Berth's, or a typo
    /// worth showing to the user.
    pub fn unknown_keys(&self) -> Vec<String> {
        let sections: [(&str, &BTreeMap<String, toml::Value>); 4] = [
            ("engine.", &self.engine.other),
            ("vm.", &self.vm.other),
            ("ports.", &self.ports.other),
            ("app.", &self.app.other),
        ];
        let nested = sections
            .into_iter()
            .flat_map(|(prefix, map)| map.keys().map(move |k| format!("{prefix}{k}")));
        self.other.keys().cloned().chain(nested).collect()
    }

    /// Validates, then writes atomically (0600: the file may name private hosts).
    pub fn save(&self, path: &Path) -> Result<(), SettingsError> {
        self.validate()?;
        let text = toml::to_string_pretty(self).map_err(SettingsError::Encode)?;
        atomic_file::write(path, text.as_bytes(), 0o600).map_err(|source| SettingsError::Write {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// The keys `berth settings get/set` and the Settings page address, by dotted path.
pub const KEYS: &[&str] = &[
    "vm.cpus",
    "vm.memory_mib",
    "vm.disk_gib",
    "vm.backend",
    "vm.link",
    "ports.bind_address",
    "engine.endpoint",
    "engine.pause_when_idle",
    "app.start_engine_at_launch",
    "app.start_at_login",
    "app.on_quit",
    "app.auto_restart_engine",
    "app.language",
    "shared_folders",
];

/// Keys whose new value takes effect only when the engine restarts.
const RESTART_KEYS: &[&str] = &[
    "vm.cpus",
    "vm.memory_mib",
    "vm.disk_gib",
    "vm.backend",
    "vm.link",
    "ports.bind_address",
    "engine.endpoint",
    "shared_folders",
];

impl Settings {
    /// The value of one key as TOML text (`2`, `"127.0.0.1"`, `["/a"]`); an unset optional
    /// key is `None`.
    pub fn get_key(&self, key: &str) -> Result<Option<String>, SettingsError> {
        known_key(key)?;
        let table = self.to_table()?;
        Ok(lookup(&table, key).map(render_value))
    }

    /// Sets one key from text: TOML (`4`, `true`, `["/a", "/b"]`) or a bare string
    /// (`0.0.0.0`). A wrong type or an out-of-range value is refused naming the key; nothing
    /// changes then. An empty value unsets an optional key (`engine.endpoint`).
    pub fn set_key(&mut self, key: &str, value: &str) -> Result<(), SettingsError> {
        known_key(key)?;
        let mut table = self.to_table()?;
        let (section, leaf) = match key.split_once('.') {
            Some((section, leaf)) => {
                let entry = table
                    .entry(section.to_owned())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                let toml::Value::Table(inner) = entry else {
                    return Err(field_error(key, "is not a table in this file"));
                };
                (inner, leaf)
            }
            None => (&mut table, key),
        };
        if value.trim().is_empty() && key == "engine.endpoint" {
            section.remove(leaf);
        } else {
            section.insert(leaf.to_owned(), parse_value(value));
        }
        let next: Settings = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| field_error(key, &e.inner().to_string()))?;
        next.validate()?;
        *self = next;
        Ok(())
    }

    /// Refuses a change that cannot be applied: the data disk never shrinks (that would lose
    /// the engine's data).
    pub fn check_change(&self, next: &Settings) -> Result<(), SettingsError> {
        if next.vm.disk_gib < self.vm.disk_gib {
            return Err(field_error(
                "vm.disk_gib",
                &format!(
                    "the data disk can only grow: it is {} GiB, so {} GiB would lose data (a factory reset starts over with a new disk)",
                    self.vm.disk_gib, next.vm.disk_gib
                ),
            ));
        }
        Ok(())
    }

    /// The keys whose change needs an engine restart to take effect.
    pub fn restart_needed_for(&self, next: &Settings) -> Vec<&'static str> {
        RESTART_KEYS
            .iter()
            .copied()
            .filter(|key| self.get_key(key).ok().flatten() != next.get_key(key).ok().flatten())
            .collect()
    }

    fn to_table(&self) -> Result<toml::Table, SettingsError> {
        toml::Table::try_from(self).map_err(SettingsError::Encode)
    }
}

fn known_key(key: &str) -> Result<(), SettingsError> {
    if KEYS.contains(&key) {
        return Ok(());
    }
    Err(field_error(
        key,
        &format!("is not a setting; known keys: {}", KEYS.join(", ")),
    ))
}

fn field_error(field: &str, message: &str) -> SettingsError {
    SettingsError::Invalid {
        errors: vec![FieldError {
            field: field.to_owned(),
            message: message.to_owned(),
        }],
    }
}

fn lookup<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    match key.split_once('.') {
        Some((section, leaf)) => table.get(section)?.as_table()?.get(leaf),
        None => table.get(key),
    }
}

fn render_value(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// TOML when the text is a TOML value, else the text itself as a string.
fn parse_value(text: &str) -> toml::Value {
    let text = text.trim();
    format!("v = {text}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_owned()))
}

enum Problem {
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    Field {
        field: String,
        message: String,
    },
}

/// 1-based line and column (in characters) of a byte offset from the TOML parser, which may
/// point inside a multi-byte character: it is moved back to that character's start.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn keep_backup(path: &Path, text: &str) -> Result<PathBuf, SettingsError> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".invalid-{stamp}"));
    let backup = path.with_file_name(name);
    atomic_file::write(&backup, text.as_bytes(), 0o600).map_err(|source| SettingsError::Write {
        path: backup.clone(),
        source,
    })?;
    Ok(backup)
}

fn is_endpoint(endpoint: &str) -> bool {
    ["unix:///", "npipe://", "tcp://", "ssh://"]
        .iter()
        .any(|scheme| endpoint.starts_with(scheme) && endpoint.len() > scheme.len())
}

#[cfg(test)]
mod tests;
