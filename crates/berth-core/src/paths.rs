//! Where one Berth keeps its files.
//!
//! A whole Berth — settings, VM disks, sockets, logs — lives under four directories. By default
//! they follow each OS's conventions; `BERTH_HOME` puts all four under one directory, so a test
//! or a user can run an isolated Berth beside the usual one.

use std::io;
use std::path::{Path, PathBuf};

use crate::owner_only;

/// The variable that moves a whole Berth under one directory.
pub const BERTH_HOME_VAR: &str = "BERTH_HOME";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BerthPaths {
    /// `settings.toml` and other small files the user may edit.
    pub config_dir: PathBuf,
    /// VM disks, the guest image cache, state that must survive restarts.
    pub data_dir: PathBuf,
    /// Sockets, lock and pid files: gone after a reboot, private to the user (0700).
    pub run_dir: PathBuf,
    /// Rolling logs of Berth itself and the VM console.
    pub logs_dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PathsError {
    #[error("cannot find the user's home directory; set {BERTH_HOME_VAR}")]
    NoHome,
    #[error("{BERTH_HOME_VAR} must be an absolute path, got {path:?}")]
    RelativeHome { path: PathBuf },
    #[error("cannot create {path:?}")]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl BerthPaths {
    /// All four directories under one root (what `BERTH_HOME` selects).
    pub fn under(home: &Path) -> Self {
        BerthPaths {
            config_dir: home.join("config"),
            data_dir: home.join("data"),
            run_dir: home.join("run"),
            logs_dir: home.join("logs"),
        }
    }

    /// `BERTH_HOME` when set, else the OS's conventional places.
    pub fn from_env() -> Result<Self, PathsError> {
        Self::resolve(std::env::var_os(BERTH_HOME_VAR))
    }

    /// [`from_env`](Self::from_env) with the value of `BERTH_HOME` given.
    pub fn resolve(berth_home: Option<std::ffi::OsString>) -> Result<Self, PathsError> {
        match berth_home {
            Some(home) if !home.is_empty() => {
                let home = PathBuf::from(home);
                if home.is_relative() {
                    return Err(PathsError::RelativeHome { path: home });
                }
                Ok(Self::under(&home))
            }
            _ => Self::os_default(),
        }
    }

    fn os_default() -> Result<Self, PathsError> {
        let dirs =
            directories::ProjectDirs::from("dev", "berth", "Berth").ok_or(PathsError::NoHome)?;
        let data_dir = dirs.data_local_dir().to_path_buf();
        // macOS and Windows have no runtime dir: keep sockets beside the data, in their own folder.
        let run_dir = dirs
            .runtime_dir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| data_dir.join("run"));
        Ok(BerthPaths {
            config_dir: dirs.config_dir().to_path_buf(),
            logs_dir: data_dir.join("logs"),
            data_dir,
            run_dir,
        })
    }

    pub fn settings_file(&self) -> PathBuf {
        self.config_dir.join("settings.toml")
    }

    /// The host end of the engine: what `docker --context berth` talks to.
    pub fn engine_socket(&self) -> PathBuf {
        self.run_dir.join("docker.sock")
    }

    /// The same engine for Berth's own clients (the dashboard, the CLI's own commands, the
    /// daemon's port follower): an open connection here does not keep the VM from pausing
    /// when idle, as one on [`engine_socket`](Self::engine_socket) does.
    pub fn app_engine_socket(&self) -> PathBuf {
        self.run_dir.join("berth-engine.sock")
    }

    /// The daemon's control socket.
    pub fn control_socket(&self) -> PathBuf {
        self.run_dir.join("control.sock")
    }

    /// Held (flock) by the one daemon of this Berth.
    pub fn daemon_lock(&self) -> PathBuf {
        self.run_dir.join("daemon.lock")
    }

    /// Creates the directories that are missing and makes all four private to the user
    /// (0700; on Windows an ACL for the user alone), fixing up those of an older install.
    pub fn ensure(&self) -> Result<(), PathsError> {
        for dir in [
            &self.config_dir,
            &self.data_dir,
            &self.logs_dir,
            &self.run_dir,
        ] {
            owner_only::create_dir(dir).map_err(|source| PathsError::Create {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        Ok(())
    }
}

/// Where the docker CLI keeps its config (`config.json`, contexts, plugins): `$DOCKER_CONFIG`,
/// else `.docker` in the home folder (`$HOME`, or `%USERPROFILE%` on Windows), as the CLI
/// resolves it. `None` only when neither is set.
pub fn docker_config_dir() -> Option<PathBuf> {
    docker_config_dir_from(
        std::env::var_os("DOCKER_CONFIG"),
        std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE")),
    )
}

fn docker_config_dir_from(
    docker_config: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    match docker_config.filter(|d| !d.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => home
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".docker")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berth_home_puts_everything_under_one_root() {
        let paths = BerthPaths::under(Path::new("/tmp/b"));
        assert_eq!(paths.config_dir, Path::new("/tmp/b/config"));
        assert_eq!(paths.data_dir, Path::new("/tmp/b/data"));
        assert_eq!(paths.run_dir, Path::new("/tmp/b/run"));
        assert_eq!(paths.logs_dir, Path::new("/tmp/b/logs"));
        assert_eq!(
            paths.settings_file(),
            Path::new("/tmp/b/config/settings.toml")
        );
        assert_eq!(paths.engine_socket(), Path::new("/tmp/b/run/docker.sock"));
    }

    #[test]
    fn the_docker_config_dir_is_resolved_as_the_cli_does() {
        let dir = |c: Option<&str>, h: Option<&str>| {
            docker_config_dir_from(c.map(Into::into), h.map(Into::into))
        };
        assert_eq!(dir(Some("/c"), Some("/h")), Some(PathBuf::from("/c")));
        assert_eq!(dir(Some(""), Some("/h")), Some(PathBuf::from("/h/.docker")));
        assert_eq!(dir(None, Some("/h")), Some(PathBuf::from("/h/.docker")));
        assert_eq!(dir(None, None), None);
    }

    #[test]
    fn a_relative_berth_home_is_refused() {
        let err = BerthPaths::resolve(Some("relative/dir".into())).unwrap_err();
        assert!(matches!(err, PathsError::RelativeHome { .. }), "{err}");
        // Absolute on every OS ("/abs" is not, on Windows).
        let dir = std::env::temp_dir().join("abs");
        let abs = BerthPaths::resolve(Some(dir.clone().into_os_string())).unwrap();
        assert_eq!(abs, BerthPaths::under(&dir));
    }

    #[cfg(unix)]
    #[test]
    fn ensure_makes_all_four_folders_private_and_fixes_up_old_ones() {
        use std::os::unix::fs::PermissionsExt;
        let home = tempfile::tempdir().unwrap();
        let paths = BerthPaths::under(home.path());
        paths.ensure().unwrap();
        let all = [
            &paths.config_dir,
            &paths.data_dir,
            &paths.logs_dir,
            &paths.run_dir,
        ];
        // An install from before: folders anyone could read.
        for dir in all {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        paths.ensure().unwrap();
        for dir in all {
            let mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{dir:?}");
        }
    }
}
