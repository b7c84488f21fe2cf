//! Sign-in, private registries and the Hub page, over `berth-hub`. Secrets stay in the OS
//! keyring: the window sends a token once (to add a registry) and never receives one.

use berth_core::ApiError;
use berth_hub::hub_api::{HubApi, Repository, SearchResult, DOCKER_HUB_WEB_API};
use berth_hub::{Account, Hub, HubError, Sensitive};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;

use super::AppState;

fn to_api(e: HubError) -> ApiError {
    ApiError::new(e.code(), berth_hub::error_chain(&e))
}

fn hub() -> Result<Hub, ApiError> {
    Hub::open().map_err(to_api)
}

/// An account as the header and the Registries page show it (no secret in it).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    #[serde(flatten)]
    pub account: Account,
    pub initial: String,
}

impl From<Account> for AccountView {
    fn from(account: Account) -> Self {
        AccountView {
            initial: account.initial(),
            account,
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
    SignedIn { account: AccountView },
    Failed { error: ApiError },
}

/// The signed-in Docker Hub account, if any.
#[tauri::command]
pub async fn hub_account() -> Result<Option<AccountView>, ApiError> {
    Ok(hub()?.account(None).map_err(to_api)?.map(AccountView::from))
}

/// Starts the device flow: returns the code to show (and opens the page in the system
/// browser); the outcome arrives on `channel` once the user approves, denies or lets it expire.
#[tauri::command]
pub async fn hub_sign_in(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    channel: Channel<SignInOutcome>,
) -> Result<SignInStarted, ApiError> {
    use tauri_plugin_opener::OpenerExt;
    let sign_in = hub()?.start_device_sign_in().await.map_err(to_api)?;
    let prompt = sign_in.prompt();
    let browser_opened = app
        .opener()
        .open_url(&prompt.browser_url, None::<&str>)
        .is_ok();
    let stream_id = state.streams.spawn(async move {
        let outcome = match sign_in.finish().await {
            Ok(account) => SignInOutcome::SignedIn {
                account: account.into(),
            },
            Err(e) => SignInOutcome::Failed { error: to_api(e) },
        };
        let _ = channel.send(outcome);
    });
    Ok(SignInStarted {
        user_code: prompt.user_code,
        verification_uri: prompt.verification_uri,
        browser_url: prompt.browser_url,
        expires_in_secs: prompt.expires_in_secs,
        browser_opened,
        stream_id,
    })
}

/// Signs out of `registry` (Docker Hub when absent); false when there was nothing to sign out of.
#[tauri::command]
pub async fn hub_sign_out(registry: Option<String>) -> Result<bool, ApiError> {
    hub()?.sign_out(registry.as_deref()).await.map_err(to_api)
}

#[tauri::command]
pub async fn list_registries() -> Result<Vec<AccountView>, ApiError> {
    let accounts = hub()?.registries().map_err(to_api)?;
    Ok(accounts.into_iter().map(AccountView::from).collect())
}

/// Signs in to `registry` with a user name and personal access token, verified against the
/// registry's `/v2/` before anything is stored.
#[tauri::command]
pub async fn add_registry(
    registry: String,
    username: String,
    token: String,
) -> Result<AccountView, ApiError> {
    let registry = Some(registry.trim()).filter(|r| !r.is_empty());
    hub()?
        .sign_in_with_token(registry, username.trim(), Sensitive::new(token))
        .await
        .map(AccountView::from)
        .map_err(to_api)
}

/// The signed-in account's Hub repositories. Offline: an `io` error the page explains.
#[tauri::command]
pub async fn hub_repositories() -> Result<Vec<Repository>, ApiError> {
    hub()?
        .my_repositories(&HubApi::new(DOCKER_HUB_WEB_API))
        .await
        .map_err(to_api)
}

#[tauri::command]
pub async fn hub_search(query: String) -> Result<Vec<SearchResult>, ApiError> {
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
            serde_json::json!({"registry": "localhost:5000", "username": "bob", "method": "token", "initial": "B"})
        );
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
