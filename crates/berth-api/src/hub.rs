//! Sign-in, private registries and the Hub page as the dashboard uses them, over berth-hub.
//! Secrets stay in the OS keyring: the window sends a token once (to add a registry) and never
//! receives one.

use std::future::Future;

pub use crate::login::DockerConfigChoice;
use crate::login::{configure_docker, DockerConfig};
use berth_core::{ApiError, ErrorCode};
use berth_hub::hub_api::{HubApi, DOCKER_HUB_WEB_API};
pub use berth_hub::hub_api::{Repository, SearchResult};
pub use berth_hub::Account;
use berth_hub::{Hub, HubError, Sensitive};
use serde::Serialize;

pub fn error(e: HubError) -> ApiError {
    ApiError::new(e.code(), berth_hub::error_chain(&e))
}

pub fn open() -> Result<Hub, ApiError> {
    Hub::open().map_err(error)
}

pub fn docker_cli_config() -> Result<DockerConfig, ApiError> {
    DockerConfig::from_env().map_err(|e| ApiError::new(ErrorCode::Io, berth_hub::error_chain(&e)))
}

/// After a sign-in from the dashboard: points the docker CLI at Berth for the account's registry
/// as the user chose (`credHelpers` unless told otherwise), as `berth login` does.
pub fn point_docker_cli_at_berth(
    docker: &DockerConfig,
    choice: Option<DockerConfigChoice>,
    account: &Account,
) -> Result<(), ApiError> {
    configure_docker(
        docker,
        choice.unwrap_or_default(),
        account,
        &mut std::io::sink(),
    )
    .map_err(|e| ApiError::new(e.code(), berth_hub::error_chain(&e)))
}

/// The docker CLI's `config.json` back as it was before Berth first changed it.
pub fn restore_docker_cli(docker: &DockerConfig) -> Result<(), ApiError> {
    docker
        .restore()
        .map_err(|e| ApiError::new(ErrorCode::Io, berth_hub::error_chain(&e)))
}

/// An account as the header and the Registries page show it (no secret in it).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    #[serde(flatten)]
    pub account: Account,
    pub initial: String,
    /// Set when the secret lasts only until reboot (kernel keyring): the Hub page says so.
    pub persistence_note: Option<String>,
}

impl From<Account> for AccountView {
    fn from(account: Account) -> Self {
        AccountView {
            initial: account.initial(),
            account,
            persistence_note: None,
        }
    }
}

impl AccountView {
    /// The view of an account whose secret `hub`'s keyring holds.
    pub fn kept_by(account: Account, hub: &Hub) -> Self {
        AccountView {
            persistence_note: hub.secrets().persistence_note(),
            ..account.into()
        }
    }
}

/// A device-flow sign-in waiting for the user: what the Sign in button shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInStarted {
    pub user_code: String,
    pub verification_uri: String,
    /// The page with the code filled in.
    pub browser_url: String,
    pub expires_in_secs: u64,
    /// Whether the system browser was asked to open the page.
    pub browser_opened: bool,
    /// `stop_stream(stream_id)` abandons the wait.
    pub stream_id: u32,
}

/// How a sign-in ended, sent once on the channel.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub enum SignInOutcome {
    /// `docker_config_error`: signed in, but `config.json` could not be pointed at Berth.
    #[serde(rename_all = "camelCase")]
    SignedIn {
        account: AccountView,
        docker_config_error: Option<ApiError>,
    },
    Failed {
        error: ApiError,
    },
}

/// The signed-in Docker Hub account, if any.
pub fn account() -> Result<Option<AccountView>, ApiError> {
    let hub = open()?;
    let account = hub.account(None).map_err(error)?;
    Ok(account.map(|a| AccountView::kept_by(a, &hub)))
}

/// A device-flow sign-in that has its code: what to show, and the rest of the flow.
pub struct DeviceSignIn<F> {
    pub user_code: String,
    pub verification_uri: String,
    pub browser_url: String,
    pub expires_in_secs: u64,
    /// Resolves once the user approves, denies or lets the code expire; once signed in, the
    /// docker CLI has been pointed at Berth as chosen.
    pub outcome: F,
}

/// Starts the device flow (the caller opens `browser_url` in the system browser).
pub async fn start_sign_in(
    docker_config: Option<DockerConfigChoice>,
) -> Result<DeviceSignIn<impl Future<Output = SignInOutcome> + Send + 'static>, ApiError> {
    let hub = open()?;
    let persistence_note = hub.secrets().persistence_note();
    let sign_in = hub.start_device_sign_in().await.map_err(error)?;
    let prompt = sign_in.prompt();
    let outcome = async move {
        match sign_in.finish().await {
            Ok(account) => SignInOutcome::SignedIn {
                docker_config_error: docker_cli_config()
                    .and_then(|d| point_docker_cli_at_berth(&d, docker_config, &account))
                    .err(),
                account: AccountView {
                    persistence_note,
                    ..account.into()
                },
            },
            Err(e) => SignInOutcome::Failed { error: error(e) },
        }
    };
    Ok(DeviceSignIn {
        user_code: prompt.user_code,
        verification_uri: prompt.verification_uri,
        browser_url: prompt.browser_url,
        expires_in_secs: prompt.expires_in_secs,
        outcome,
    })
}

/// Signs out of `registry` (Docker Hub when absent); false when there was nothing to sign out of.
/// With `restore_docker_config` (the user opts out), `config.json` goes back to how it was.
pub async fn sign_out(
    registry: Option<&str>,
    restore_docker_config: bool,
) -> Result<bool, ApiError> {
    let signed_out = open()?.sign_out(registry).await.map_err(error)?;
    if restore_docker_config {
        restore_docker_cli(&docker_cli_config()?)?;
    }
    Ok(signed_out)
}

/// Every registry with stored credentials, Docker Hub included.
pub fn registries() -> Result<Vec<AccountView>, ApiError> {
    let hub = open()?;
    let accounts = hub.registries().map_err(error)?;
    Ok(accounts
        .into_iter()
        .map(|a| AccountView::kept_by(a, &hub))
        .collect())
}

/// Signs in to `registry` with a user name and personal access token, verified against the
/// registry's `/v2/` before anything is stored; then points the docker CLI at Berth as chosen.
pub async fn add_registry(
    registry: &str,
    username: &str,
    token: String,
    docker_config: Option<DockerConfigChoice>,
) -> Result<AccountView, ApiError> {
    let registry = Some(registry.trim()).filter(|r| !r.is_empty());
    let hub = open()?;
    let account = hub
        .sign_in_with_token(registry, username.trim(), Sensitive::new(token))
        .await
        .map_err(error)?;
    point_docker_cli_at_berth(&docker_cli_config()?, docker_config, &account)?;
    Ok(AccountView::kept_by(account, &hub))
}

/// The signed-in account's Hub repositories. Offline: an `io` error the page explains.
pub async fn repositories() -> Result<Vec<Repository>, ApiError> {
    open()?
        .my_repositories(&HubApi::new(DOCKER_HUB_WEB_API))
        .await
        .map_err(error)
}

pub async fn search(query: &str) -> Result<Vec<SearchResult>, ApiError> {
    HubApi::new(DOCKER_HUB_WEB_API)
        .search(query.trim())
        .await
        .map_err(|e| ApiError::new(e.code(), berth_hub::error_chain(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_hub::SignInMethod;

    #[test]
    fn accounts_cross_with_their_avatar_initial_and_no_secret() {
        let view = AccountView::from(Account {
            registry: "localhost:5000".into(),
            username: "bob".into(),
            method: SignInMethod::Token,
        });
        assert_eq!(
            serde_json::to_value(&view).unwrap(),
            serde_json::json!({"registry": "localhost:5000", "username": "bob", "method": "token", "initial": "B", "persistenceNote": null})
        );
    }

    fn read_json(path: &std::path::Path) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn a_dashboard_sign_in_points_the_docker_cli_at_berth_as_chosen_and_opting_out_restores() {
        let hub_account = Account {
            registry: berth_hub::DOCKER_HUB.into(),
            username: "alice".into(),
            method: SignInMethod::OAuth,
        };
        let registry_account = Account {
            registry: "reg.example:5000".into(),
            username: "bob".into(),
            method: SignInMethod::Token,
        };
        let dir = tempfile::tempdir().unwrap();
        let original = serde_json::json!({"credsStore": "desktop", "detachKeys": "ctrl-e,e"});
        std::fs::write(dir.path().join("config.json"), original.to_string()).unwrap();
        let docker = DockerConfig::new(dir.path());

        // The default: credHelpers for the registry signed in to, nothing else touched.
        point_docker_cli_at_berth(&docker, None, &hub_account).unwrap();
        point_docker_cli_at_berth(&docker, None, &registry_account).unwrap();
        let config = read_json(&docker.file());
        assert_eq!(
            config["credHelpers"],
            serde_json::json!({berth_hub::DOCKER_HUB: "berth", "reg.example:5000": "berth"})
        );
        assert_eq!(config["credsStore"], "desktop");
        assert_eq!(config["detachKeys"], "ctrl-e,e");

        // credsStore when chosen; "none" leaves the file alone.
        point_docker_cli_at_berth(&docker, Some(DockerConfigChoice::CredsStore), &{
            let mut other = registry_account.clone();
            other.registry = "other.example".into();
            other
        })
        .unwrap();
        assert_eq!(read_json(&docker.file())["credsStore"], "berth");
        let before = std::fs::read(docker.file()).unwrap();
        point_docker_cli_at_berth(&docker, Some(DockerConfigChoice::None), &{
            let mut third = registry_account.clone();
            third.registry = "third.example".into();
            third
        })
        .unwrap();
        assert_eq!(std::fs::read(docker.file()).unwrap(), before);

        // Opting out on sign-out: back as it was.
        restore_docker_cli(&docker).unwrap();
        assert_eq!(read_json(&docker.file()), original);
        assert!(!docker.backup_file().exists());
    }

    #[test]
    fn a_signed_in_outcome_carries_the_docker_config_error() {
        let view = AccountView::from(Account {
            registry: "r".into(),
            username: "u".into(),
            method: SignInMethod::Token,
        });
        let outcome = SignInOutcome::SignedIn {
            account: view,
            docker_config_error: Some(ApiError::new(ErrorCode::Io, "config.json is read-only")),
        };
        let json = serde_json::to_value(&outcome).unwrap();
        assert_eq!(json["outcome"], "signedIn");
        assert_eq!(json["dockerConfigError"]["code"], "io");
    }

    #[test]
    fn a_sign_in_outcome_is_tagged() {
        let failed = SignInOutcome::Failed {
            error: ApiError::new(berth_core::ErrorCode::Unauthorized, "denied"),
        };
        assert_eq!(
            serde_json::to_value(&failed).unwrap(),
            serde_json::json!({"outcome": "failed", "error": {"code": "unauthorized", "message": "denied"}})
        );
    }
}
