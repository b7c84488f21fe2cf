//! OAuth 2.0 sign-in: the device authorization grant (RFC 8628) as the docker CLI uses it, and
//! the native-app browser flow (authorization code + PKCE + state, loopback redirect; RFC 7636,
//! RFC 8252), plus refresh and revocation (RFC 7009). The protocol is `oauth2`'s; this module
//! adds the configuration (Docker Hub's by default), the loopback listener and user names.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_core::ErrorCode;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, DeviceAuthorizationUrl,
    DeviceCodeErrorResponseType, EndpointMaybeSet, EndpointNotSet, ExtraTokenFields,
    PkceCodeChallenge, RedirectUrl, RefreshToken, RequestTokenError, RevocationUrl, Scope,
    StandardDeviceAuthorizationResponse, StandardRevocableToken, StandardTokenResponse,
    TokenResponse as _, TokenUrl,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::claims;
use crate::registry_key::DOCKER_HUB;
use crate::sensitive::Sensitive;

/// Where and as whom to sign in. Defaults are Docker Hub's (the docker CLI's public client).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthConfig {
    pub client_id: String,
    pub authorize_url: String,
    pub token_url: String,
    pub device_authorization_url: String,
    pub revocation_url: Option<String>,
    pub audience: Option<String>,
    pub scopes: Vec<String>,
    /// The registry these tokens sign in to (the credentials key the docker CLI asks for).
    pub registry: String,
}

impl OAuthConfig {
    /// Docker's identity provider, as docker CLI 27+ uses it.
    pub fn docker_hub() -> Self {
        let mut config = Self::for_tenant(
            "https://login.docker.com",
            "L4v0dmlNBpYUjGGab0C2JtgTgXr1Qz4d",
        );
        config.audience = Some("https://hub.docker.com".into());
        config
    }

    /// An Auth0-style tenant: `/authorize`, `/oauth/token`, `/oauth/device/code`, `/oauth/revoke`.
    pub fn for_tenant(base: &str, client_id: &str) -> Self {
        let base = base.trim_end_matches('/');
        OAuthConfig {
            client_id: client_id.into(),
            authorize_url: format!("{base}/authorize"),
            token_url: format!("{base}/oauth/token"),
            device_authorization_url: format!("{base}/oauth/device/code"),
            revocation_url: Some(format!("{base}/oauth/revoke")),
            audience: None,
            scopes: vec!["openid".into(), "offline_access".into()],
            registry: DOCKER_HUB.into(),
        }
    }
}

impl Default for OAuthConfig {
    fn default() -> Self {
        Self::docker_hub()
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    #[error("the OAuth configuration has an invalid {field}")]
    Config {
        field: &'static str,
        #[source]
        source: url::ParseError,
    },
    #[error("the sign-in was denied")]
    Denied,
    #[error("the sign-in code expired before it was approved")]
    Expired,
    #[error("the identity provider refused the request: {error}")]
    Refused { error: String },
    #[error("cannot reach the identity provider")]
    Unreachable {
        #[source]
        source: reqwest::Error,
    },
    #[error("the identity provider sent an unexpected answer: {detail}")]
    Protocol { detail: String },
    #[error("the browser sign-in did not come back (wrong state or no code)")]
    BadRedirect,
    #[error("the browser sign-in timed out")]
    TimedOut,
    #[error("the loopback redirect listener failed")]
    Loopback(#[source] std::io::Error),
    #[error("the signed-in token names no user")]
    NoUserName(#[source] claims::ClaimsError),
}

impl OAuthError {
    pub fn code(&self) -> ErrorCode {
        match self {
            OAuthError::Config { .. } => ErrorCode::InvalidSettings,
            OAuthError::Denied | OAuthError::Refused { .. } => ErrorCode::Unauthorized,
            OAuthError::Expired | OAuthError::TimedOut => ErrorCode::Timeout,
            OAuthError::Unreachable { .. } | OAuthError::Loopback(_) => ErrorCode::Io,
            _ => ErrorCode::Internal,
        }
    }
}

/// The token response with the OpenID Connect `id_token` the provider may add.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}
impl ExtraTokenFields for IdTokenFields {}

type ProviderTokenResponse = StandardTokenResponse<IdTokenFields, BasicTokenType>;
type Client = oauth2::Client<
    BasicErrorResponse,
    ProviderTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointMaybeSet,
    EndpointMaybeSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// What a successful sign-in (or refresh) yields.
#[derive(Debug, Clone)]
pub struct OAuthTokens {
    pub username: String,
    pub access_token: Sensitive<String>,
    pub refresh_token: Option<Sensitive<String>>,
    /// Seconds since the Unix epoch.
    pub expires_at: Option<u64>,
}

/// Talks to one identity provider.
#[derive(Clone)]
pub struct OAuthFlow {
    inner: Arc<FlowInner>,
}

struct FlowInner {
    config: OAuthConfig,
    client: Client,
    http: reqwest::Client,
}

fn parse<T>(
    field: &'static str,
    value: &str,
    make: impl FnOnce(String) -> Result<T, url::ParseError>,
) -> Result<T, OAuthError> {
    make(value.to_string()).map_err(|source| OAuthError::Config { field, source })
}

impl OAuthFlow {
    pub fn new(config: OAuthConfig) -> Result<Self, OAuthError> {
        let revocation = match &config.revocation_url {
            Some(url) => Some(parse("revocation_url", url, RevocationUrl::new)?),
            None => None,
        };
        let client = oauth2::Client::new(ClientId::new(config.client_id.clone()))
            .set_auth_uri_option(Some(parse(
                "authorize_url",
                &config.authorize_url,
                AuthUrl::new,
            )?))
            .set_token_uri_option(Some(parse("token_url", &config.token_url, TokenUrl::new)?))
            .set_device_authorization_url_option(Some(parse(
                "device_authorization_url",
                &config.device_authorization_url,
                DeviceAuthorizationUrl::new,
            )?))
            .set_revocation_url_option(revocation);
        // The oauth2 crate's advice: never follow redirects from token endpoints.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|source| OAuthError::Unreachable { source })?;
        Ok(OAuthFlow {
            inner: Arc::new(FlowInner {
                config,
                client,
                http,
            }),
        })
    }

    pub fn config(&self) -> &OAuthConfig {
        &self.inner.config
    }

    fn scopes(&self) -> Vec<Scope> {
        self.inner
            .config
            .scopes
            .iter()
            .map(|s| Scope::new(s.clone()))
            .collect()
    }

    /// Asks for a device code: show `user_code`, open `verification_uri_complete`, then
    /// [`DeviceLogin::wait`].
    pub async fn start_device(&self) -> Result<DeviceLogin, OAuthError> {
        let mut request = self
            .inner
            .client
            .exchange_device_code()
            .map_err(protocol)?
            .add_scopes(self.scopes());
        if let Some(audience) = &self.inner.config.audience {
            request = request.add_extra_param("audience", audience.clone());
        }
        let details: StandardDeviceAuthorizationResponse = request
            .request_async(&self.inner.http)
            .await
            .map_err(token_error)?;
        Ok(DeviceLogin {
            user_code: details.user_code().secret().clone(),
            verification_uri: details.verification_uri().to_string(),
            verification_uri_complete: details
                .verification_uri_complete()
                .map(|uri| uri.secret().clone()),
            expires_in: details.expires_in(),
            flow: self.clone(),
            details,
        })
    }

    /// Starts the browser flow: a loopback listener for the redirect, a fresh PKCE verifier and
    /// state. Open [`BrowserLogin::authorize_url`] in the browser, then [`BrowserLogin::wait`].
    pub async fn start_browser(&self) -> Result<BrowserLogin, OAuthError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(OAuthError::Loopback)?;
        let port = listener.local_addr().map_err(OAuthError::Loopback)?.port();
        let redirect = parse(
            "redirect_uri",
            &format!("http://127.0.0.1:{port}/callback"),
            RedirectUrl::new,
        )?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self
            .inner
            .client
            .authorize_url(CsrfToken::new_random)
            .map_err(protocol)?
            .add_scopes(self.scopes())
            .set_pkce_challenge(challenge)
            .set_redirect_uri(Cow::Owned(redirect.clone()));
        if let Some(audience) = &self.inner.config.audience {
            request = request.add_extra_param("audience", audience.clone());
        }
        let (url, state) = request.url();
        Ok(BrowserLogin {
            authorize_url: url.to_string(),
            listener,
            redirect,
            state,
            verifier,
            flow: self.clone(),
        })
    }

    /// A new access token from a refresh token.
    pub async fn refresh(
        &self,
        refresh_token: &Sensitive<String>,
    ) -> Result<OAuthTokens, OAuthError> {
        let token = RefreshToken::new(refresh_token.expose().clone());
        let response = self
            .inner
            .client
            .exchange_refresh_token(&token)
            .map_err(protocol)?
            .request_async(&self.inner.http)
            .await
            .map_err(token_error)?;
        let mut tokens = tokens_from(&response)?;
        if tokens.refresh_token.is_none() {
            tokens.refresh_token = Some(refresh_token.clone());
        }
        Ok(tokens)
    }

    /// Revokes a refresh token (RFC 7009). A provider without a revocation endpoint is a no-op.
    /// (Sent here rather than through `oauth2`, which insists on HTTPS even for a loopback
    /// provider.)
    pub async fn revoke(&self, refresh_token: &Sensitive<String>) -> Result<(), OAuthError> {
        let Some(url) = &self.inner.config.revocation_url else {
            return Ok(());
        };
        let response = self
            .inner
            .http
            .post(url)
            .form(&[
                ("token", refresh_token.expose().as_str()),
                ("token_type_hint", "refresh_token"),
                ("client_id", self.inner.config.client_id.as_str()),
            ])
            .send()
            .await
            .map_err(|source| OAuthError::Unreachable { source })?;
        if response.status().is_success() {
            return Ok(());
        }
        let status = response.status().as_u16();
        let error = response
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|body| body.get("error")?.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("HTTP {status}"));
        Err(OAuthError::Refused { error })
    }
}

/// A device sign-in waiting for the user.
pub struct DeviceLogin {
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub expires_in: Duration,
    flow: OAuthFlow,
    details: StandardDeviceAuthorizationResponse,
}

impl std::fmt::Debug for DeviceLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceLogin")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .finish_non_exhaustive()
    }
}

impl DeviceLogin {
    /// The page to open: the complete URI (code filled in) when the provider gives one.
    pub fn browser_url(&self) -> &str {
        self.verification_uri_complete
            .as_deref()
            .unwrap_or(&self.verification_uri)
    }

    /// Polls the token endpoint (at the provider's interval, slower after `slow_down`) until
    /// the user approves, denies, or the code expires.
    pub async fn wait(self) -> Result<OAuthTokens, OAuthError> {
        let inner = &self.flow.inner;
        let response = inner
            .client
            .exchange_device_access_token(&self.details)
            .map_err(protocol)?
            .request_async(&inner.http, tokio::time::sleep, None)
            .await
            .map_err(|error| match error {
                RequestTokenError::ServerResponse(response) => match response.error() {
                    DeviceCodeErrorResponseType::AccessDenied => OAuthError::Denied,
                    DeviceCodeErrorResponseType::ExpiredToken => OAuthError::Expired,
                    other => OAuthError::Refused {
                        error: other.to_string(),
                    },
                },
                other => token_error_other(other),
            })?;
        tokens_from(&response)
    }
}

/// A browser sign-in waiting for the redirect to the loopback listener.
pub struct BrowserLogin {
    pub authorize_url: String,
    listener: TcpListener,
    redirect: RedirectUrl,
    state: CsrfToken,
    verifier: oauth2::PkceCodeVerifier,
    flow: OAuthFlow,
}

impl BrowserLogin {
    /// Waits for the browser to come back, checks `state`, and trades the code (with the PKCE
    /// verifier) for tokens.
    pub async fn wait(self, timeout: Duration) -> Result<OAuthTokens, OAuthError> {
        let callback = tokio::time::timeout(timeout, accept_callback(&self.listener))
            .await
            .map_err(|_| OAuthError::TimedOut)??;
        if callback.get("state").map(String::as_str) != Some(self.state.secret().as_str()) {
            return Err(OAuthError::BadRedirect);
        }
        if let Some(error) = callback.get("error") {
            return Err(match error.as_str() {
                "access_denied" => OAuthError::Denied,
                other => OAuthError::Refused {
                    error: other.to_string(),
                },
            });
        }
        let code = callback.get("code").ok_or(OAuthError::BadRedirect)?;
        let inner = &self.flow.inner;
        let response = inner
            .client
            .exchange_code(AuthorizationCode::new(code.clone()))
            .map_err(protocol)?
            .set_pkce_verifier(self.verifier)
            .set_redirect_uri(Cow::Owned(self.redirect))
            .request_async(&inner.http)
            .await
            .map_err(token_error)?;
        tokens_from(&response)
    }
}

/// Accepts connections until one is the redirect (`GET /callback?...`); answers the browser.
async fn accept_callback(
    listener: &TcpListener,
) -> Result<std::collections::HashMap<String, String>, OAuthError> {
    loop {
        let (mut stream, _) = listener.accept().await.map_err(OAuthError::Loopback)?;
        let mut buffer = vec![0u8; 8192];
        let mut read = 0;
        while !buffer[..read].windows(4).any(|w| w == b"\r\n\r\n") && read < buffer.len() {
            match stream.read(&mut buffer[read..]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => read += n,
            }
        }
        let request = String::from_utf8_lossy(&buffer[..read]);
        let target = request
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("GET "))
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or("");
        let Some(query) = target.strip_prefix("/callback?") else {
            let _ = stream
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
            continue;
        };
        let params = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let body =
            "<!doctype html><title>Berth</title><p>You can close this tab and return to Berth.</p>";
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        return Ok(params);
    }
}

fn tokens_from(response: &ProviderTokenResponse) -> Result<OAuthTokens, OAuthError> {
    let access_token = response.access_token().secret().clone();
    let username = claims::user_name(&access_token).or_else(|error| {
        response
            .extra_fields()
            .id_token
            .as_deref()
            .map(claims::user_name)
            .unwrap_or(Err(error))
            .map_err(OAuthError::NoUserName)
    })?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Ok(OAuthTokens {
        username,
        access_token: Sensitive::new(access_token),
        refresh_token: response
            .refresh_token()
            .map(|t| Sensitive::new(t.secret().clone())),
        expires_at: response.expires_in().map(|d| (now + d).as_secs()),
    })
}

fn protocol(error: oauth2::ConfigurationError) -> OAuthError {
    OAuthError::Protocol {
        detail: error.to_string(),
    }
}

type HttpError = oauth2::HttpClientError<reqwest::Error>;

fn token_error(error: RequestTokenError<HttpError, BasicErrorResponse>) -> OAuthError {
    match error {
        RequestTokenError::ServerResponse(response) => match response.error() {
            oauth2::basic::BasicErrorResponseType::Extension(e) if e == "access_denied" => {
                OAuthError::Denied
            }
            other => OAuthError::Refused {
                error: other.to_string(),
            },
        },
        other => token_error_other(other),
    }
}

fn token_error_other<T: oauth2::ErrorResponse + 'static>(
    error: RequestTokenError<HttpError, T>,
) -> OAuthError {
    match error {
        RequestTokenError::Request(oauth2::HttpClientError::Reqwest(source)) => {
            OAuthError::Unreachable { source: *source }
        }
        other => OAuthError::Protocol {
            detail: crate::error_chain(&other),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_defaults_match_the_docker_cli() {
        let config = OAuthConfig::default();
        assert_eq!(config.client_id, "L4v0dmlNBpYUjGGab0C2JtgTgXr1Qz4d");
        assert_eq!(
            config.device_authorization_url,
            "https://login.docker.com/oauth/device/code"
        );
        assert_eq!(config.token_url, "https://login.docker.com/oauth/token");
        assert_eq!(config.audience.as_deref(), Some("https://hub.docker.com"));
        assert_eq!(config.scopes, ["openid", "offline_access"]);
        assert_eq!(config.registry, DOCKER_HUB);
        assert!(OAuthFlow::new(config).is_ok());
    }

    #[test]
    fn a_bad_endpoint_is_a_config_error() {
        let config = OAuthConfig {
            token_url: "not a url".into(),
            ..OAuthConfig::default()
        };
        assert!(matches!(
            OAuthFlow::new(config),
            Err(OAuthError::Config {
                field: "token_url",
                ..
            })
        ));
    }

    #[test]
    fn device_authorization_responses_parse_and_malformed_ones_fail() {
        let ok: StandardDeviceAuthorizationResponse = serde_json::from_str(
            r#"{"device_code":"d","user_code":"ABCD-EFGH","verification_uri":"https://x/activate",
               "verification_uri_complete":"https://x/activate?user_code=ABCD-EFGH","expires_in":900,"interval":5}"#,
        )
        .unwrap();
        assert_eq!(ok.user_code().secret(), "ABCD-EFGH");
        assert_eq!(ok.interval(), Duration::from_secs(5));
        let default_interval: StandardDeviceAuthorizationResponse = serde_json::from_str(
            r#"{"device_code":"d","user_code":"u","verification_uri":"https://x","expires_in":60}"#,
        )
        .unwrap();
        assert_eq!(default_interval.interval(), Duration::from_secs(5));
        for bad in [
            r#"{"user_code":"u","verification_uri":"https://x","expires_in":60}"#,
            r#"{"device_code":"d","user_code":"u","expires_in":60}"#,
            r#"{"device_code":"d","user_code":"u","verification_uri":"https://x","expires_in":-1}"#,
            r#"[]"#,
        ] {
            assert!(
                serde_json::from_str::<StandardDeviceAuthorizationResponse>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn token_responses_yield_the_user_name_from_claims() {
        let access = claims::unsigned_jwt(
            &serde_json::json!({"https://hub.docker.com": {"username": "alice"}}),
        );
        let body = serde_json::json!({"access_token": access, "token_type": "Bearer",
            "refresh_token": "r1", "expires_in": 3600});
        let response: ProviderTokenResponse = serde_json::from_value(body).unwrap();
        let tokens = tokens_from(&response).unwrap();
        assert_eq!(tokens.username, "alice");
        assert_eq!(tokens.refresh_token.unwrap().expose(), "r1");
        assert!(tokens.expires_at.is_some());

        // An opaque access token: the name comes from the ID token.
        let id = claims::unsigned_jwt(&serde_json::json!({"nickname": "bob"}));
        let body =
            serde_json::json!({"access_token": "opaque", "token_type": "bearer", "id_token": id});
        let response: ProviderTokenResponse = serde_json::from_value(body).unwrap();
        assert_eq!(tokens_from(&response).unwrap().username, "bob");

        let body = serde_json::json!({"access_token": "opaque", "token_type": "bearer"});
        let response: ProviderTokenResponse = serde_json::from_value(body).unwrap();
        assert!(matches!(
            tokens_from(&response),
            Err(OAuthError::NoUserName(_))
        ));
    }

    #[test]
    fn malformed_token_responses_fail_to_parse() {
        for bad in [
            r#"{"token_type":"bearer"}"#,
            r#"{"access_token":"a"}"#,
            r#"{"access_token":5,"token_type":"bearer"}"#,
            r#"{"access_token":"a","token_type":"bearer","expires_in":"soon"}"#,
        ] {
            assert!(
                serde_json::from_str::<ProviderTokenResponse>(bad).is_err(),
                "{bad}"
            );
        }
    }
}
