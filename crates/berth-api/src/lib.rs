//! The application API: one [`Berth`] value that the dashboard and the `berth` CLI both use.
//!
//! It knows where this Berth's files are, what the user chose, and which engine to talk to.
//! It has no idea a window exists.

pub mod cleanup;
pub mod compose;
pub mod compose_cli;
pub mod containers;
mod credentials;
pub mod daemon_client;
pub mod diagnostics;
pub mod engine_info;
pub mod engine_watch;
pub mod engines;
pub mod factory_reset;
pub mod file_listing;
pub mod hub;
pub mod images;
pub mod language;
pub mod learn;
pub mod login;
pub mod settings_change;
pub mod settings_form;
pub mod setup;
pub mod stats_feed;
mod status;
pub mod swarm;
pub mod transport;
pub mod troubleshoot;
pub mod volumes;

pub use cleanup::{PruneStep, PruneSummary};
pub use credentials::{registry_auth, CredentialsLookup};
pub use daemon_client::{DaemonClient, CONTEXT_NAME};
pub use factory_reset::ResetReport;
pub use settings_change::SettingsChange;
pub use status::StatusReport;

use berth_core::{ApiError, BerthPaths, ErrorCode, Settings};
use berth_engine::{Endpoint, Engine};

use crate::transport::ToApi;

/// One Berth: its paths and settings, and the door to its engine.
#[derive(Debug, Clone)]
pub struct Berth {
    paths: BerthPaths,
    settings: Settings,
}

impl Berth {
    /// Opens the Berth that `BERTH_HOME` (or the OS's conventional places) names.
    pub fn open() -> Result<Berth, ApiError> {
        let paths = BerthPaths::from_env()
            .map_err(|e| ApiError::from_error(ErrorCode::InvalidSettings, &e))?;
        Berth::open_at(paths)
    }

    /// Opens the Berth at `paths`: creates its directories and reads its settings. A settings
    /// file that cannot be used is an error naming the field (and a backup of it is kept).
    pub fn open_at(paths: BerthPaths) -> Result<Berth, ApiError> {
        paths
            .ensure()
            .map_err(|e| ApiError::from_error(ErrorCode::Io, &e))?;
        let settings = Settings::load(&paths.settings_file())
            .map_err(|e| ApiError::from_error(ErrorCode::InvalidSettings, &e))?;
        Ok(Berth { paths, settings })
    }

    pub fn paths(&self) -> &BerthPaths {
        &self.paths
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Validates and saves new settings, keeping the file's unknown keys.
    pub fn save_settings(&mut self, settings: Settings) -> Result<(), ApiError> {
        settings
            .save(&self.paths.settings_file())
            .map_err(|e| ApiError::from_error(ErrorCode::InvalidSettings, &e))?;
        self.settings = settings;
        Ok(())
    }

    /// Forgets the settings read at open (after a factory reset deleted the file).
    fn replace_settings(&mut self, settings: Settings) {
        self.settings = settings;
    }

    /// Which engine this Berth talks to: `DOCKER_HOST` when the user set it for this process,
    /// else the engine chosen in settings, else Berth's own engine socket.
    pub fn endpoint(&self) -> Endpoint {
        let docker_host = std::env::var("DOCKER_HOST").ok().filter(|v| !v.is_empty());
        choose_endpoint(docker_host, &self.settings, &self.paths)
    }

    /// A connection to the engine (negotiated API version, timeouts set).
    pub async fn engine(&self) -> Result<Engine, ApiError> {
        Engine::connect(&self.endpoint()).await.to_api()
    }

    /// Whether the engine answers, and its versions.
    pub async fn status(&self) -> StatusReport {
        StatusReport::probe(self).await
    }
}

fn choose_endpoint(
    docker_host: Option<String>,
    settings: &Settings,
    paths: &BerthPaths,
) -> Endpoint {
    if let Some(host) = docker_host {
        return Endpoint::from_docker_host_env(host);
    }
    if let Some(endpoint) = &settings.engine.endpoint {
        return Endpoint::Host(endpoint.clone());
    }
    daemon_client::engine_endpoint(paths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn docker_host_wins_then_settings_then_berths_own_socket() {
        let paths = BerthPaths::under(Path::new("/b"));
        let mut settings = Settings::default();
        // Berth's own socket for its own clients: their open connections do not keep the VM
        // from pausing (the user's `docker` goes through run/docker.sock).
        assert_eq!(
            choose_endpoint(None, &settings, &paths),
            Endpoint::Unix("/b/run/berth-engine.sock".into())
        );
        settings.engine.endpoint = Some("unix:///var/run/docker.sock".into());
        assert_eq!(
            choose_endpoint(None, &settings, &paths),
            Endpoint::Host("unix:///var/run/docker.sock".into())
        );
        assert_eq!(
            choose_endpoint(Some("unix:///x.sock".into()), &settings, &paths),
            Endpoint::Host("unix:///x.sock".into())
        );
    }

    #[test]
    fn open_reports_a_bad_settings_field() {
        let home = tempfile::tempdir().unwrap();
        let paths = BerthPaths::under(home.path());
        paths.ensure().unwrap();
        std::fs::write(paths.settings_file(), "[vm]\ncpus = -1\n").unwrap();
        let err = Berth::open_at(paths).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidSettings);
        assert!(err.message.contains("vm.cpus"), "{}", err.message);
    }
}
