//! Sign-in, private registries and the Hub page: commands over `berth_api::hub`. Secrets stay
//! in the OS keyring: the window sends a token once (to add a registry) and never receives one.

use berth_api::hub::{
    self, AccountView, DockerConfigChoice, Repository, SearchResult, SignInOutcome, SignInStarted,
};
use berth_core::ApiError;
use tauri::ipc::Channel;
use tauri::State;

use super::AppState;

/// The signed-in Docker Hub account, if any.
#[tauri::command]
pub async fn hub_account() -> Result<Option<AccountView>, ApiError> {
    hub::account()
}

/// Starts the device flow: returns the code to show (and opens the page in the system
/// browser); the outcome arrives on `channel` once the user approves, denies or lets it expire.
/// Once signed in, the docker CLI is pointed at Berth as `docker_config` says.
#[tauri::command]
pub async fn hub_sign_in(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    channel: Channel<SignInOutcome>,
    docker_config: Option<DockerConfigChoice>,
) -> Result<SignInStarted, ApiError> {
    use tauri_plugin_opener::OpenerExt;
    let sign_in = hub::start_sign_in(docker_config).await?;
    let browser_opened = app
        .opener()
        .open_url(&sign_in.browser_url, None::<&str>)
        .is_ok();
    let outcome = sign_in.outcome;
    let stream_id = state.streams.spawn(async move {
        let _ = channel.send(outcome.await);
    });
    Ok(SignInStarted {
        user_code: sign_in.user_code,
        verification_uri: sign_in.verification_uri,
        browser_url: sign_in.browser_url,
        expires_in_secs: sign_in.expires_in_secs,
        browser_opened,
        stream_id,
    })
}

/// Signs out of `registry` (Docker Hub when absent); false when there was nothing to sign out of.
/// With `restore_docker_config` (the user opts out), `config.json` goes back to how it was.
#[tauri::command]
pub async fn hub_sign_out(
    registry: Option<String>,
    restore_docker_config: Option<bool>,
) -> Result<bool, ApiError> {
    hub::sign_out(registry.as_deref(), restore_docker_config == Some(true)).await
}

#[tauri::command]
pub async fn list_registries() -> Result<Vec<AccountView>, ApiError> {
    hub::registries()
}

/// Signs in to `registry` with a user name and personal access token, verified against the
/// registry's `/v2/` before anything is stored.
#[tauri::command]
pub async fn add_registry(
    registry: String,
    username: String,
    token: String,
    docker_config: Option<DockerConfigChoice>,
) -> Result<AccountView, ApiError> {
    hub::add_registry(&registry, &username, token, docker_config).await
}

/// The signed-in account's Hub repositories. Offline: an `io` error the page explains.
#[tauri::command]
pub async fn hub_repositories() -> Result<Vec<Repository>, ApiError> {
    hub::repositories().await
}

#[tauri::command]
pub async fn hub_search(query: String) -> Result<Vec<SearchResult>, ApiError> {
    hub::search(&query).await
}
