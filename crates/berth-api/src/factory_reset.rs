//! Reset to factory defaults (`berth reset --yes`, the Troubleshoot page): stops the engine
//! and the daemon, then deletes the VM's disks (the engine's images, containers and volumes),
//! the settings, the run dir state, every Berth secret in the keyring and the `berth` docker
//! context Berth wrote. The next start is a first start. Logs are kept (they hold no secrets
//! and explain what happened before the reset).

use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_core::{ApiError, BerthPaths, ErrorCode, Settings};
use berth_engine::ContextStore;
use berth_hub::{Hub, HubError};
use serde::Serialize;
use tracing::warn;

use crate::{Berth, CONTEXT_NAME};

/// How long the daemon may take to end after its engine stopped.
const DAEMON_EXIT: Duration = Duration::from_secs(30);

/// What a reset removed; `warnings` says what it could not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetReport {
    pub removed: Vec<PathBuf>,
    /// Registries whose credentials were erased from the keyring.
    pub signed_out: Vec<String>,
    pub context_removed: bool,
    pub warnings: Vec<String>,
}

impl Berth {
    /// Everything back to a first start. The caller confirms with the user first.
    pub async fn factory_reset(&mut self) -> Result<ResetReport, ApiError> {
        self.quit_daemon().await?;
        // Holding the daemon lock proves the daemon is gone and keeps a new one out meanwhile.
        let lock = wait_for_lock(self.paths()).await?;
        let mut report = ResetReport::default();
        erase_secrets(self.paths(), &mut report).await;
        report.context_removed = remove_context(self.paths(), &mut report.warnings);
        let paths = self.paths().clone();
        for path in state_to_delete(&paths) {
            remove(&path, &mut report);
        }
        drop(lock);
        let _ = std::fs::remove_file(paths.daemon_lock());
        paths
            .ensure()
            .map_err(|e| ApiError::from_error(ErrorCode::Io, &e))?;
        self.replace_settings(Settings::default());
        Ok(report)
    }
}

/// The VM's disks, the whole config dir (settings, their backups) and the run dir's contents.
fn state_to_delete(paths: &BerthPaths) -> Vec<PathBuf> {
    let mut doomed = vec![paths.data_dir.join("vm"), paths.config_dir.clone()];
    if let Ok(entries) = std::fs::read_dir(&paths.run_dir) {
        doomed.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| *p != paths.daemon_lock()),
        );
    }
    doomed
}

fn remove(path: &Path, report: &mut ResetReport) {
    let result = if path.is_dir() && !path.is_symlink() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Ok(()) => report.removed.push(path.to_path_buf()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => report
            .warnings
            .push(format!("cannot delete {}: {e}", path.display())),
    }
}

async fn wait_for_lock(paths: &BerthPaths) -> Result<berth_control::lock::DaemonLock, ApiError> {
    let deadline = tokio::time::Instant::now() + DAEMON_EXIT;
    loop {
        match berth_control::lock::acquire(&paths.daemon_lock()) {
            Ok(lock) => return Ok(lock),
            Err(berth_control::lock::LockError::Held { .. })
                if tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => {
                return Err(ApiError::new(
                    ErrorCode::Timeout,
                    format!("the Berth daemon did not end, so nothing was reset: {e}"),
                ))
            }
        }
    }
}

/// Signs out of every registry (and Docker Hub's OAuth tokens) of this Berth home. A token
/// that cannot be revoked online is still erased locally first: a warning, not a failure.
async fn erase_secrets(paths: &BerthPaths, report: &mut ResetReport) {
    let hub = match Hub::for_paths(paths) {
        Ok(hub) => hub,
        Err(e) => {
            report.warnings.push(format!(
                "the keyring is not available, no secrets erased: {}",
                berth_hub::error_chain(&e)
            ));
            return;
        }
    };
    sign_out_everywhere(&hub, report).await;
}

async fn sign_out_everywhere(hub: &Hub, report: &mut ResetReport) {
    let mut registries: Vec<Option<String>> = match hub.registries() {
        Ok(accounts) => accounts.into_iter().map(|a| Some(a.registry)).collect(),
        Err(e) => {
            report
                .warnings
                .push(format!("cannot list the keyring: {e}"));
            Vec::new()
        }
    };
    registries.push(None);
    for registry in registries {
        let name = registry
            .clone()
            .unwrap_or_else(|| berth_hub::DOCKER_HUB.to_owned());
        match hub.sign_out(registry.as_deref()).await {
            Ok(true) => report.signed_out.push(name),
            Ok(false) => {}
            Err(e @ HubError::RevokeFailed { .. }) => {
                report.signed_out.push(name);
                report.warnings.push(e.to_string());
            }
            Err(e) => report
                .warnings
                .push(format!("cannot sign out of {name}: {e}")),
        }
    }
}

/// Removes the `berth` context when it is the one Berth wrote for this home (it points at
/// this engine socket); when it was the current context, `default` becomes current.
fn remove_context(paths: &BerthPaths, warnings: &mut Vec<String>) -> bool {
    let store = ContextStore::from_env();
    let Ok(ctx) = store.read(CONTEXT_NAME) else {
        return false;
    };
    if ctx.host != berth_control::endpoint::engine_host(paths) {
        return false; // another Berth's, or the user's own
    }
    if store.current().ok().flatten().as_deref() == Some(CONTEXT_NAME) {
        if let Err(e) = store.set_current(None) {
            warnings.push(format!("cannot switch the docker CLI back to default: {e}"));
        }
    }
    match store.remove(CONTEXT_NAME) {
        Ok(()) => true,
        Err(e) => {
            warn!(%e, "cannot remove the docker context");
            warnings.push(format!(
                "cannot remove the docker context {CONTEXT_NAME}: {e}"
            ));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_stored_credential_is_erased() {
        use berth_hub::credential_helper::CredentialStore;
        use berth_hub::secrets::{MemoryKeyring, RegistryCredential, SecretStore};
        let store = SecretStore::new(std::sync::Arc::new(MemoryKeyring::default()), "t");
        for server in ["https://index.docker.io/v1/", "localhost:5000"] {
            store
                .store(&RegistryCredential {
                    server_url: server.into(),
                    username: "u".into(),
                    secret: berth_hub::Sensitive::new("planted-secret".into()),
                })
                .unwrap();
        }
        let hub = Hub::new(store.clone(), berth_hub::OAuthConfig::default());
        let mut report = ResetReport::default();
        sign_out_everywhere(&hub, &mut report).await;
        assert_eq!(report.signed_out.len(), 2, "{report:?}");
        assert!(report.warnings.is_empty(), "{report:?}");
        assert!(store.list().unwrap().is_empty());
        for server in ["https://index.docker.io/v1/", "localhost:5000"] {
            assert!(store.get(server).unwrap().is_none(), "{server}");
        }
        assert!(
            store.get_secret("index").unwrap().is_none(),
            "no index left"
        );
    }

    #[tokio::test]
    async fn a_reset_leaves_no_disk_no_settings_and_keeps_logs() {
        let home = tempfile::tempdir().unwrap();
        let paths = BerthPaths::under(home.path());
        let mut berth = Berth::open_at(paths.clone()).unwrap();
        berth.set_setting("vm.cpus", "1").unwrap();
        std::fs::create_dir_all(paths.data_dir.join("vm")).unwrap();
        std::fs::write(paths.data_dir.join("vm/data.qcow2"), b"disk").unwrap();
        std::fs::write(paths.config_dir.join("settings.toml.invalid-1"), b"x").unwrap();
        std::fs::write(paths.run_dir.join("link.sock"), b"").unwrap();
        std::fs::write(paths.logs_dir.join("daemon.log"), b"kept").unwrap();
        // Hold the lock as a daemon would; the reset waits for it.
        let daemon = berth_control::lock::acquire(&paths.daemon_lock()).unwrap();
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            drop(daemon);
        });

        let report = berth.factory_reset().await.unwrap();
        release.await.unwrap();
        assert!(!paths.data_dir.join("vm").exists());
        assert!(!paths.settings_file().exists());
        assert!(!paths.config_dir.join("settings.toml.invalid-1").exists());
        assert!(!paths.run_dir.join("link.sock").exists());
        assert!(paths.run_dir.is_dir() && paths.config_dir.is_dir());
        assert!(paths.logs_dir.join("daemon.log").exists());
        assert!(report.removed.contains(&paths.data_dir.join("vm")));
        assert_eq!(berth.settings(), &Settings::default());
    }
}
