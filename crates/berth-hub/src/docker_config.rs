//! Pointing the docker CLI at `docker-credential-berth` in `$DOCKER_CONFIG/config.json`.
//!
//! Only `credsStore` / `credHelpers` are ever touched; every other key (and every other entry
//! under `credHelpers`) is kept. Before the first change the file is copied to
//! `config.json.berth-backup`; opting out puts the two keys back as they were in that copy.
//! Writes are atomic. Nothing secret is ever written here.

use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// The helper's name as the docker CLI spells it (`docker-credential-<name>`).
pub const HELPER_NAME: &str = "berth";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DockerConfigError {
    #[error("cannot find the docker config directory; set DOCKER_CONFIG")]
    NoDir,
    #[error("cannot read or write {path:?}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path:?} is not a JSON object")]
    NotAnObject { path: PathBuf },
}

/// How the CLI should find Berth's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelperMode {
    /// `"credsStore": "berth"`: every registry.
    CredsStore,
    /// `"credHelpers": {"<registry>": "berth"}`: only these registries.
    CredHelpers(Vec<String>),
}

/// One `config.json`.
#[derive(Debug, Clone)]
pub struct DockerConfig {
    dir: PathBuf,
}

impl DockerConfig {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DockerConfig { dir: dir.into() }
    }

    /// `$DOCKER_CONFIG`, else `~/.docker`.
    pub fn from_env() -> Result<Self, DockerConfigError> {
        berth_core::paths::docker_config_dir()
            .map(Self::new)
            .ok_or(DockerConfigError::NoDir)
    }

    pub fn file(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    pub fn backup_file(&self) -> PathBuf {
        self.dir.join("config.json.berth-backup")
    }

    /// Makes the docker CLI ask `docker-credential-berth`.
    pub fn enable(&self, mode: &HelperMode) -> Result<(), DockerConfigError> {
        let mut config = self.read(&self.file())?.unwrap_or_default();
        if !self.backup_file().exists() {
            let original = Value::Object(config.clone());
            self.write(&self.backup_file(), &original)?;
        }
        match mode {
            HelperMode::CredsStore => {
                config.insert("credsStore".into(), HELPER_NAME.into());
            }
            HelperMode::CredHelpers(registries) => {
                let helpers = config
                    .entry("credHelpers")
                    .or_insert_with(|| Value::Object(Map::new()));
                if !helpers.is_object() {
                    *helpers = Value::Object(Map::new());
                }
                if let Value::Object(helpers) = helpers {
                    for registry in registries {
                        helpers.insert(registry.clone(), HELPER_NAME.into());
                    }
                }
            }
        }
        self.write(&self.file(), &Value::Object(config))
    }

    /// Puts `credsStore` and `credHelpers` back as they were before [`DockerConfig::enable`],
    /// keeping whatever else changed since, and removes the backup.
    pub fn restore(&self) -> Result<(), DockerConfigError> {
        let Some(backup) = self.read(&self.backup_file())? else {
            return Ok(());
        };
        let mut config = self.read(&self.file())?.unwrap_or_default();
        for key in ["credsStore", "credHelpers"] {
            match backup.get(key) {
                Some(value) => config.insert(key.into(), value.clone()),
                None => config.remove(key),
            };
        }
        self.write(&self.file(), &Value::Object(config))?;
        std::fs::remove_file(self.backup_file()).map_err(|source| DockerConfigError::Io {
            path: self.backup_file(),
            source,
        })
    }

    /// True when the CLI would ask Berth for `registry`'s credentials.
    pub fn uses_berth_for(&self, registry: &str) -> Result<bool, DockerConfigError> {
        let config = self.read(&self.file())?.unwrap_or_default();
        let helper = config
            .get("credHelpers")
            .and_then(|h| h.get(registry))
            .or_else(|| config.get("credsStore"));
        Ok(helper.and_then(Value::as_str) == Some(HELPER_NAME))
    }

    fn read(&self, path: &Path) -> Result<Option<Map<String, Value>>, DockerConfigError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(DockerConfigError::Io {
                    path: path.into(),
                    source,
                })
            }
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Some(Map::new()));
        }
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Ok(Some(map)),
            _ => Err(DockerConfigError::NotAnObject { path: path.into() }),
        }
    }

    fn write(&self, path: &Path, value: &Value) -> Result<(), DockerConfigError> {
        let io_error = |source| DockerConfigError::Io {
            path: path.into(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(io_error)?;
        let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| io_error(e.into()))?;
        bytes.push(b'\n');
        berth_core::atomic_file::write(path, &bytes, 0o600).map_err(io_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config_with(content: &str) -> (tempfile::TempDir, DockerConfig) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), content).unwrap();
        let config = DockerConfig::new(dir.path());
        (dir, config)
    }

    fn read(config: &DockerConfig) -> Value {
        serde_json::from_slice(&std::fs::read(config.file()).unwrap()).unwrap()
    }

    const USER_CONFIG: &str = r#"{
        "auths": {"ghcr.io": {}},
        "credsStore": "desktop",
        "credHelpers": {"gcr.io": "gcloud"},
        "proxies": {"default": {"httpProxy": "http://proxy:3128"}},
        "detachKeys": "ctrl-e,e"
    }"#;

    #[test]
    fn creds_store_keeps_every_other_key_and_restore_puts_it_back() {
        let (_dir, config) = config_with(USER_CONFIG);
        let before = read(&config);
        config.enable(&HelperMode::CredsStore).unwrap();
        let after = read(&config);
        assert_eq!(after["credsStore"], "berth");
        for key in ["auths", "credHelpers", "proxies", "detachKeys"] {
            assert_eq!(after[key], before[key], "{key}");
        }
        assert!(config.uses_berth_for("127.0.0.1:5000").unwrap());
        assert!(!config.uses_berth_for("gcr.io").unwrap());

        config.restore().unwrap();
        assert_eq!(read(&config), before);
        assert!(!config.backup_file().exists());
    }

    #[test]
    fn cred_helpers_adds_only_the_named_registries() {
        let (_dir, config) = config_with(USER_CONFIG);
        config
            .enable(&HelperMode::CredHelpers(vec!["reg.example:5000".into()]))
            .unwrap();
        let after = read(&config);
        assert_eq!(
            after["credHelpers"],
            json!({"gcr.io": "gcloud", "reg.example:5000": "berth"})
        );
        assert_eq!(after["credsStore"], "desktop");
        config.restore().unwrap();
        assert_eq!(read(&config)["credHelpers"], json!({"gcr.io": "gcloud"}));
    }

    #[test]
    fn restore_keeps_changes_made_since_and_removes_keys_that_were_absent() {
        let (_dir, config) = config_with(r#"{"auths": {}}"#);
        config.enable(&HelperMode::CredsStore).unwrap();
        let mut edited = read(&config);
        edited["auths"] = json!({"127.0.0.1:5000": {}});
        std::fs::write(config.file(), edited.to_string()).unwrap();
        config.restore().unwrap();
        assert_eq!(read(&config), json!({"auths": {"127.0.0.1:5000": {}}}));
    }

    #[test]
    fn a_missing_or_empty_file_is_created_and_the_backup_is_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        let config = DockerConfig::new(dir.path().join("nested"));
        config.enable(&HelperMode::CredsStore).unwrap();
        assert_eq!(read(&config), json!({"credsStore": "berth"}));
        config
            .enable(&HelperMode::CredHelpers(vec!["r".into()]))
            .unwrap();
        let backup: Value =
            serde_json::from_slice(&std::fs::read(config.backup_file()).unwrap()).unwrap();
        assert_eq!(backup, json!({}));
        config.restore().unwrap();
        assert_eq!(read(&config), json!({}));

        let (_dir, empty) = config_with("  \n");
        empty.enable(&HelperMode::CredsStore).unwrap();
        assert_eq!(read(&empty), json!({"credsStore": "berth"}));
    }

    #[test]
    fn a_malformed_file_is_left_alone() {
        for content in ["{not json", "[1, 2]"] {
            let (_dir, config) = config_with(content);
            assert!(matches!(
                config.enable(&HelperMode::CredsStore),
                Err(DockerConfigError::NotAnObject { .. })
            ));
            assert_eq!(std::fs::read_to_string(config.file()).unwrap(), content);
            assert!(!config.backup_file().exists());
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private_to_the_user() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, config) = config_with("{}");
        config.enable(&HelperMode::CredsStore).unwrap();
        let mode = std::fs::metadata(config.file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
