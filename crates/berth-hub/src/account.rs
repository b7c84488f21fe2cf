//! [`Hub`]: what the dashboard and the CLI call to sign in, see who is signed in, sign out and
//! manage private registries. Secrets go to the keyring ([`SecretStore`]) and nowhere else.

use berth_core::ErrorCode;
use serde::{Deserialize, Serialize};

use crate::credential_helper::CredentialStore;
use crate::oauth::{BrowserLogin, DeviceLogin, OAuthConfig, OAuthError, OAuthFlow, OAuthTokens};
use crate::registry_auth::{self, RegistryError};
use crate::registry_key::{registry_key, DOCKER_HUB};
use crate::secrets::{RegistryCredential, SecretStore, SecretsError};
use crate::sensitive::Sensitive;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HubError {
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    #[error(transparent)]
    HubApi(#[from] crate::hub_api::HubApiError),
    #[error("signed out of {registry}, but the identity provider could not revoke the token")]
    RevokeFailed {
        registry: String,
        #[source]
        source: OAuthError,
    },
    #[error("not signed in to {registry}")]
    NotSignedIn { registry: String },
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
}

impl HubError {
    pub fn code(&self) -> ErrorCode {
        match self {
            HubError::Secrets(_) => ErrorCode::Io,
            HubError::Registry(e) => e.code(),
            HubError::OAuth(e) => e.code(),
            HubError::HubApi(e) => e.code(),
            HubError::RevokeFailed { source, .. } => source.code(),
            HubError::NotSignedIn { .. } => ErrorCode::NotFound,
            HubError::Empty { .. } => ErrorCode::InvalidInput,
        }
    }
}

/// How an account signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInMethod {
    /// OAuth (device or browser flow); the access token is refreshed and revoked on sign-out.
    #[serde(rename = "oauth")]
    OAuth,
    /// A user name and a password or personal access token.
    Token,
}

/// A signed-in account, as the UI shows it (no secret in it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The credentials key (`https://index.docker.io/v1/` for Hub, else `host[:port]`).
    pub registry: String,
    pub username: String,
    pub method: SignInMethod,
}

impl Account {
    /// The letter an avatar shows.
    pub fn initial(&self) -> String {
        self.username
            .chars()
            .next()
            .map(|c| c.to_uppercase().collect())
            .unwrap_or_default()
    }
}

/// The OAuth tokens kept in the keyring for a registry signed in through OAuth.
#[derive(Serialize, Deserialize)]
struct StoredTokens {
    username: String,
    refresh_token: Option<String>,
    expires_at: Option<u64>,
}

fn oauth_account(registry: &str) -> String {
    format!("oauth:{}", registry_key(registry))
}

/// Sign-in and credentials for one Berth home.
#[derive(Clone)]
pub struct Hub {
    secrets: SecretStore,
    oauth: OAuthConfig,
    http: reqwest::Client,
}

/// A device-flow sign-in in progress: show `user_code`, open `browser_url`, await `finish`.
pub struct DeviceSignIn {
    pub login: DeviceLogin,
    hub: Hub,
}

/// What the Sign in button shows while the device flow waits (no secret in it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInPrompt {
    pub user_code: String,
    pub verification_uri: String,
    /// The page with the code filled in: what to open in the browser.
    pub browser_url: String,
    pub expires_in_secs: u64,
}

impl DeviceSignIn {
    /// The code and address to show, as the UI receives them.
    pub fn prompt(&self) -> SignInPrompt {
        SignInPrompt {
            user_code: self.login.user_code.clone(),
            verification_uri: self.login.verification_uri.clone(),
            browser_url: self.login.browser_url().to_string(),
            expires_in_secs: self.login.expires_in.as_secs(),
        }
    }

    pub fn user_code(&self) -> &str {
        &self.login.user_code
    }

    pub fn browser_url(&self) -> &str {
        self.login.browser_url()
    }

    /// Waits for approval, then stores the tokens in the keyring.
    pub async fn finish(self) -> Result<Account, HubError> {
        let tokens = self.login.wait().await?;
        self.hub.keep_oauth_tokens(&tokens)
    }
}

/// A browser-flow sign-in in progress: open `authorize_url`, await `finish`.
pub struct BrowserSignIn {
    pub login: BrowserLogin,
    hub: Hub,
}

impl BrowserSignIn {
    pub fn authorize_url(&self) -> &str {
        &self.login.authorize_url
    }

    pub async fn finish(self, timeout: std::time::Duration) -> Result<Account, HubError> {
        let tokens = self.login.wait(timeout).await?;
        self.hub.keep_oauth_tokens(&tokens)
    }
}

impl Hub {
    pub fn new(secrets: SecretStore, oauth: OAuthConfig) -> Self {
        Hub {
            secrets,
            oauth,
            http: registry_auth::http_client(),
        }
    }

    /// The OS keyring for `BERTH_HOME`; Docker Hub's identity provider unless
    /// `BERTH_OAUTH_BASE_URL` (and friends, see [`crate::provider`]) name another.
    pub fn open() -> Result<Self, HubError> {
        Self::for_paths(&berth_core::BerthPaths::from_env().map_err(SecretsError::from)?)
    }

    /// [`Hub::open`] for the Berth at `paths`: the one way Berth opens its Hub.
    pub fn for_paths(paths: &berth_core::BerthPaths) -> Result<Self, HubError> {
        Ok(Self::new(
            SecretStore::for_paths(paths)?,
            crate::provider::oauth_config_from_env(),
        ))
    }

    pub fn secrets(&self) -> &SecretStore {
        &self.secrets
    }

    /// Starts the device flow (RFC 8628) against the configured provider.
    pub async fn start_device_sign_in(&self) -> Result<DeviceSignIn, HubError> {
        let login = OAuthFlow::new(self.oauth.clone())?.start_device().await?;
        Ok(DeviceSignIn {
            login,
            hub: self.clone(),
        })
    }

    /// Starts the browser flow (authorization code + PKCE, loopback redirect).
    pub async fn start_browser_sign_in(&self) -> Result<BrowserSignIn, HubError> {
        let login = OAuthFlow::new(self.oauth.clone())?.start_browser().await?;
        Ok(BrowserSignIn {
            login,
            hub: self.clone(),
        })
    }

    fn keep_oauth_tokens(&self, tokens: &OAuthTokens) -> Result<Account, HubError> {
        let registry = self.oauth.registry.clone();
        self.secrets.set_record(
            &oauth_account(&registry),
            &StoredTokens {
                username: tokens.username.clone(),
                refresh_token: tokens.refresh_token.as_ref().map(|t| t.expose().clone()),
                expires_at: tokens.expires_at,
            },
        )?;
        self.secrets.store(&RegistryCredential {
            server_url: registry.clone(),
            username: tokens.username.clone(),
            secret: tokens.access_token.clone(),
        })?;
        tracing::info!(registry = %registry, user = %tokens.username, "signed in");
        Ok(Account {
            registry: registry_key(&registry),
            username: tokens.username.clone(),
            method: SignInMethod::OAuth,
        })
    }

    /// Signs in with a user name and a password or personal access token, checked against the
    /// registry's `/v2/` first; nothing is stored if the registry refuses it.
    pub async fn sign_in_with_token(
        &self,
        registry: Option<&str>,
        username: &str,
        token: Sensitive<String>,
    ) -> Result<Account, HubError> {
        let registry = registry.unwrap_or(DOCKER_HUB);
        if username.trim().is_empty() {
            return Err(HubError::Empty { field: "user name" });
        }
        if token.expose().is_empty() {
            return Err(HubError::Empty { field: "token" });
        }
        registry_auth::verify_login(&self.http, registry, username, &token).await?;
        // A token sign-in replaces an OAuth one: its refresh token must not outlive it.
        self.secrets.delete_secret(&oauth_account(registry))?;
        self.secrets.store(&RegistryCredential {
            server_url: registry.to_string(),
            username: username.to_string(),
            secret: token,
        })?;
        tracing::info!(registry = %registry_key(registry), user = %username, "signed in with a token");
        Ok(Account {
            registry: registry_key(registry),
            username: username.to_string(),
            method: SignInMethod::Token,
        })
    }

    /// The account for `registry` (Hub when `None`), if signed in.
    pub fn account(&self, registry: Option<&str>) -> Result<Option<Account>, HubError> {
        let registry = registry.unwrap_or(DOCKER_HUB);
        let Some(credential) = self.secrets.get(registry)? else {
            return Ok(None);
        };
        let oauth = self
            .secrets
            .get_record::<StoredTokens>(&oauth_account(registry))?
            .is_some();
        Ok(Some(Account {
            registry: registry_key(registry),
            username: credential.username,
            method: if oauth {
                SignInMethod::OAuth
            } else {
                SignInMethod::Token
            },
        }))
    }

    /// The stored credentials for pulling or pushing `image` (for the engine's `X-Registry-Auth`
    /// on dashboard and `berth compose` pulls), if any.
    pub fn credentials_for_image(
        &self,
        image: &str,
    ) -> Result<Option<RegistryCredential>, HubError> {
        let registry = crate::registry_key::registry_of_image(image);
        Ok(self.secrets.get(&registry)?)
    }

    /// [`Hub::credentials_for_image`], after refreshing an OAuth access token that is about to
    /// expire (as the docker CLI does before a pull). A failed refresh is logged and the stored
    /// token used: the registry then says whether it still takes it.
    pub async fn fresh_credentials_for_image(
        &self,
        image: &str,
    ) -> Result<Option<RegistryCredential>, HubError> {
        let registry = crate::registry_key::registry_of_image(image);
        if let Err(e) = self.refresh_if_expiring(&registry).await {
            tracing::warn!(registry = %registry, error = %crate::error_chain(&e), "cannot refresh the access token");
        }
        self.credentials_for_image(image)
    }

    /// The signed-in Hub account's repositories (private ones too), for the Hub page.
    pub async fn my_repositories(
        &self,
        api: &crate::hub_api::HubApi,
    ) -> Result<Vec<crate::hub_api::Repository>, HubError> {
        let credential = self
            .secrets
            .get(DOCKER_HUB)?
            .ok_or_else(|| HubError::NotSignedIn {
                registry: DOCKER_HUB.to_string(),
            })?;
        Ok(api
            .repositories(&credential.username, Some(&credential.secret))
            .await?)
    }

    /// Every registry with stored credentials.
    pub fn registries(&self) -> Result<Vec<Account>, HubError> {
        let mut accounts = Vec::new();
        for server in self.secrets.list()?.keys() {
            if let Some(account) = self.account(Some(server))? {
                accounts.push(account);
            }
        }
        Ok(accounts)
    }

    /// A fresh access token for an OAuth account (stored in place of the old one).
    pub async fn refresh(&self) -> Result<Account, HubError> {
        let registry = self.oauth.registry.clone();
        let stored: StoredTokens = self
            .secrets
            .get_record(&oauth_account(&registry))?
            .ok_or_else(|| HubError::NotSignedIn {
                registry: registry_key(&registry),
            })?;
        let refresh_token = stored.refresh_token.ok_or_else(|| HubError::NotSignedIn {
            registry: registry_key(&registry),
        })?;
        let tokens = OAuthFlow::new(self.oauth.clone())?
            .refresh(&Sensitive::new(refresh_token))
            .await?;
        self.keep_oauth_tokens(&tokens)
    }

    /// Refreshes the OAuth access token for `server_url` if it expires within a minute (what
    /// the credential helper does before answering the docker CLI). False when there was
    /// nothing to do: not the OAuth registry, no tokens, no refresh token, or still fresh.
    pub async fn refresh_if_expiring(&self, server_url: &str) -> Result<bool, HubError> {
        if registry_key(server_url) != registry_key(&self.oauth.registry) {
            return Ok(false);
        }
        let stored: Option<StoredTokens> = self
            .secrets
            .get_record(&oauth_account(&self.oauth.registry))?;
        let Some(StoredTokens {
            refresh_token: Some(_),
            expires_at: Some(expires_at),
            ..
        }) = stored
        else {
            return Ok(false);
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        if expires_at > now + 60 {
            return Ok(false);
        }
        self.refresh().await?;
        Ok(true)
    }

    /// Erases `registry`'s credentials (Hub when `None`). An OAuth refresh token is erased
    /// first and then revoked, so a failed revocation never leaves a usable secret behind.
    /// Returns false when there was nothing to sign out of.
    pub async fn sign_out(&self, registry: Option<&str>) -> Result<bool, HubError> {
        let registry = registry.unwrap_or(DOCKER_HUB);
        let stored: Option<StoredTokens> = self.secrets.get_record(&oauth_account(registry))?;
        let had_tokens = self.secrets.delete_secret(&oauth_account(registry))?;
        let erased = self.secrets.erase(registry)?;
        if let Some(refresh_token) = stored.and_then(|s| s.refresh_token) {
            let flow = OAuthFlow::new(self.oauth.clone())?;
            flow.revoke(&Sensitive::new(refresh_token))
                .await
                .map_err(|source| HubError::RevokeFailed {
                    registry: registry_key(registry),
                    source,
                })?;
        }
        if erased || had_tokens {
            tracing::info!(registry = %registry_key(registry), "signed out");
        }
        Ok(erased || had_tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MemoryKeyring;
    use std::sync::Arc;

    fn hub() -> Hub {
        Hub::new(
            SecretStore::new(Arc::new(MemoryKeyring::default()), "t"),
            OAuthConfig::default(),
        )
    }

    #[test]
    fn accounts_serialise_for_the_ui() {
        let account = Account {
            registry: DOCKER_HUB.into(),
            username: "alice".into(),
            method: SignInMethod::OAuth,
        };
        assert_eq!(
            serde_json::to_value(&account).unwrap(),
            serde_json::json!({"registry": DOCKER_HUB, "username": "alice", "method": "oauth"})
        );
    }

    #[test]
    fn avatar_initial_is_the_first_letter_upper_cased() {
        let account = Account {
            registry: DOCKER_HUB.into(),
            username: "émile".into(),
            method: SignInMethod::Token,
        };
        assert_eq!(account.initial(), "É");
    }

    #[tokio::test]
    async fn empty_user_or_token_is_refused_before_any_request() {
        let hub = hub();
        let err = hub
            .sign_in_with_token(Some("127.0.0.1:1"), " ", Sensitive::new("t".into()))
            .await
            .unwrap_err();
        assert!(matches!(err, HubError::Empty { field: "user name" }));
        let err = hub
            .sign_in_with_token(Some("127.0.0.1:1"), "u", Sensitive::new(String::new()))
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
    }

    #[tokio::test]
    async fn an_unreachable_registry_is_reported_and_nothing_is_stored() {
        let hub = hub();
        // A port nobody listens on: bind, learn it, drop.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let registry = format!("127.0.0.1:{port}");
        let err = hub
            .sign_in_with_token(Some(&registry), "u", Sensitive::new("p".into()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, HubError::Registry(RegistryError::Unreachable { .. })),
            "{err:?}"
        );
        assert!(hub.account(Some(&registry)).unwrap().is_none());
    }

    #[tokio::test]
    async fn credentials_for_an_image_come_from_its_registry() {
        let hub = hub();
        hub.secrets
            .store(&RegistryCredential {
                server_url: "Reg.Example:5000".into(),
                username: "bob".into(),
                secret: Sensitive::new("s3".into()),
            })
            .unwrap();
        let found = hub
            .fresh_credentials_for_image("reg.example:5000/team/app:1")
            .await
            .unwrap()
            .expect("credentials for reg.example:5000");
        assert_eq!(
            (found.username.as_str(), found.secret.expose().as_str()),
            ("bob", "s3")
        );
        for other in ["team/app:1", "other.example/app", "reg.example/app"] {
            assert!(
                hub.fresh_credentials_for_image(other)
                    .await
                    .unwrap()
                    .is_none(),
                "{other}"
            );
        }
    }

    #[tokio::test]
    async fn sign_out_of_nothing_is_false() {
        assert!(!hub().sign_out(Some("reg.example")).await.unwrap());
    }
}
