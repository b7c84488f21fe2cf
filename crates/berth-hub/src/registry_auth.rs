//! Signing in to a registry with a user name and a password or personal access token, checked
//! the way the engine will use it: the `/v2/` challenge, then Basic on `/v2/` or a token from
//! the Bearer realm (the Docker registry token-auth spec).

use std::time::Duration;

use berth_core::ErrorCode;
use serde::Deserialize;

use crate::challenge::{Challenge, ChallengeError};
use crate::registry_key::{is_docker_hub, registry_key};
use crate::sensitive::Sensitive;

/// Where Docker Hub's registry API answers (its credentials key is `https://index.docker.io/v1/`).
pub const DOCKER_HUB_API: &str = "https://registry-1.docker.io";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    #[error("{registry} refused the user name or token")]
    WrongCredentials { registry: String },
    #[error("cannot reach the registry at {url}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} is not a container registry (HTTP {status} from /v2/)")]
    NotARegistry { url: String, status: u16 },
    #[error("{registry} sent an unusable authentication challenge")]
    BadChallenge {
        registry: String,
        #[source]
        source: ChallengeError,
    },
    #[error("the token service of {registry} answered HTTP {status}")]
    TokenService { registry: String, status: u16 },
    #[error("the token service of {registry} sent a malformed token response")]
    BadTokenResponse { registry: String },
}

impl RegistryError {
    pub fn code(&self) -> ErrorCode {
        match self {
            RegistryError::WrongCredentials { .. } => ErrorCode::Unauthorized,
            RegistryError::Unreachable { .. } => ErrorCode::Io,
            RegistryError::NotARegistry { .. } => ErrorCode::InvalidInput,
            _ => ErrorCode::Engine,
        }
    }
}

/// How the registry accepted the credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// `/v2/` answered 200 without asking: nothing to check.
    NoAuthRequired,
    Basic,
    Bearer,
}

/// A token endpoint's answer (`token`, or the OAuth-style `access_token`).
#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

impl TokenResponse {
    /// Parses a token response; a response without a non-empty token is malformed.
    pub fn parse(body: &[u8]) -> Option<(Sensitive<String>, Option<u64>)> {
        let response: TokenResponse = serde_json::from_slice(body).ok()?;
        let token = response
            .token
            .filter(|t| !t.is_empty())
            .or(response.access_token.filter(|t| !t.is_empty()))?;
        Some((Sensitive::new(token), response.expires_in))
    }
}

/// The base URLs to try for `registry`, in order: the scheme given, else HTTPS, and plain HTTP
/// too for a loopback registry (the engine treats those as insecure registries by default).
pub fn candidate_urls(registry: &str) -> Vec<String> {
    if is_docker_hub(registry) {
        return vec![DOCKER_HUB_API.to_string()];
    }
    let trimmed = registry.trim().trim_end_matches('/');
    for scheme in ["https://", "http://"] {
        if let Some(rest) = trimmed.strip_prefix(scheme) {
            let host = rest.split('/').next().unwrap_or(rest);
            return vec![format!("{scheme}{host}")];
        }
    }
    let host = registry_key(trimmed);
    let mut urls = vec![format!("https://{host}")];
    if is_loopback(&host) {
        urls.push(format!("http://{host}"));
    }
    urls
}

fn is_loopback(host_port: &str) -> bool {
    let host = if let Some(bracketed) = host_port.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or("")
    } else {
        host_port.rsplit_once(':').map_or(host_port, |(h, _)| h)
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// An HTTP client with the timeouts a sign-in should have.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// Checks `username` / `secret` against `registry`.
pub async fn verify_login(
    http: &reqwest::Client,
    registry: &str,
    username: &str,
    secret: &Sensitive<String>,
) -> Result<Verified, RegistryError> {
    let mut last_error = None;
    for base in candidate_urls(registry) {
        match http.get(format!("{base}/v2/")).send().await {
            Ok(ping) => return check_ping(http, registry, &base, ping, username, secret).await,
            Err(source) => {
                tracing::debug!(url = %base, error = %source, "registry ping failed");
                last_error = Some(RegistryError::Unreachable { url: base, source });
            }
        }
    }
    Err(last_error.unwrap_or(RegistryError::NotARegistry {
        url: registry.to_string(),
        status: 0,
    }))
}

async fn check_ping(
    http: &reqwest::Client,
    registry: &str,
    base: &str,
    ping: reqwest::Response,
    username: &str,
    secret: &Sensitive<String>,
) -> Result<Verified, RegistryError> {
    let status = ping.status().as_u16();
    let challenge = ping
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let is_registry = ping
        .headers()
        .contains_key("docker-distribution-api-version");
    let not_a_registry = || RegistryError::NotARegistry {
        url: base.to_string(),
        status,
    };
    match (status, challenge) {
        (200, _) if is_registry => Ok(Verified::NoAuthRequired),
        (401, Some(header)) => {
            let challenge =
                Challenge::parse(&header).map_err(|source| RegistryError::BadChallenge {
                    registry: registry.to_string(),
                    source,
                })?;
            match challenge {
                Challenge::Basic { .. } => basic(http, registry, base, username, secret).await,
                Challenge::Bearer { realm, service, .. } => {
                    bearer(http, registry, &realm, service.as_deref(), username, secret).await
                }
            }
        }
        _ => Err(not_a_registry()),
    }
}

async fn basic(
    http: &reqwest::Client,
    registry: &str,
    base: &str,
    username: &str,
    secret: &Sensitive<String>,
) -> Result<Verified, RegistryError> {
    let response = http
        .get(format!("{base}/v2/"))
        .basic_auth(username, Some(secret.expose()))
        .send()
        .await
        .map_err(|source| RegistryError::Unreachable {
            url: base.to_string(),
            source,
        })?;
    match response.status().as_u16() {
        200 => Ok(Verified::Basic),
        401 | 403 => Err(RegistryError::WrongCredentials {
            registry: registry.to_string(),
        }),
        status => Err(RegistryError::NotARegistry {
            url: base.to_string(),
            status,
        }),
    }
}

async fn bearer(
    http: &reqwest::Client,
    registry: &str,
    realm: &str,
    service: Option<&str>,
    username: &str,
    secret: &Sensitive<String>,
) -> Result<Verified, RegistryError> {
    let mut query = vec![("account", username)];
    if let Some(service) = service {
        query.push(("service", service));
    }
    let response = http
        .get(realm)
        .query(&query)
        .basic_auth(username, Some(secret.expose()))
        .send()
        .await
        .map_err(|source| RegistryError::Unreachable {
            url: realm.to_string(),
            source,
        })?;
    match response.status().as_u16() {
        200 => {}
        401 | 403 => {
            return Err(RegistryError::WrongCredentials {
                registry: registry.to_string(),
            })
        }
        status => {
            return Err(RegistryError::TokenService {
                registry: registry.to_string(),
                status,
            })
        }
    }
    let bad = || RegistryError::BadTokenResponse {
        registry: registry.to_string(),
    };
    let body = response.bytes().await.map_err(|_| bad())?;
    TokenResponse::parse(&body).ok_or_else(bad)?;
    Ok(Verified::Bearer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_responses_accept_token_or_access_token() {
        let (token, expires) = TokenResponse::parse(br#"{"token":"t1","expires_in":300}"#).unwrap();
        assert_eq!((token.expose().as_str(), expires), ("t1", Some(300)));
        let (token, _) = TokenResponse::parse(br#"{"access_token":"t2"}"#).unwrap();
        assert_eq!(token.expose(), "t2");
        let (token, _) = TokenResponse::parse(br#"{"token":"","access_token":"t3"}"#).unwrap();
        assert_eq!(token.expose(), "t3");
    }

    #[test]
    fn malformed_token_responses_are_rejected() {
        for body in [
            &b""[..],
            b"null",
            b"[]",
            b"{}",
            br#"{"token":""}"#,
            br#"{"token":5}"#,
            br#"{"token":"t","expires_in":"soon"}"#,
            b"<html>login</html>",
        ] {
            assert!(
                TokenResponse::parse(body).is_none(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn candidate_urls_follow_the_engine_rules() {
        assert_eq!(candidate_urls("docker.io"), vec![DOCKER_HUB_API]);
        assert_eq!(
            candidate_urls("reg.example.com"),
            vec!["https://reg.example.com"]
        );
        assert_eq!(
            candidate_urls("127.0.0.1:5000"),
            vec!["https://127.0.0.1:5000", "http://127.0.0.1:5000"]
        );
        assert_eq!(
            candidate_urls("localhost:5000"),
            vec!["https://localhost:5000", "http://localhost:5000"]
        );
        assert_eq!(
            candidate_urls("[::1]:5000"),
            vec!["https://[::1]:5000", "http://[::1]:5000"]
        );
        assert_eq!(
            candidate_urls("http://reg.lan:5000/"),
            vec!["http://reg.lan:5000"]
        );
    }
}
