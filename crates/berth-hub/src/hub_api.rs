//! Docker Hub's web API (`hub.docker.com/v2`): search public repositories, list the signed-in
//! account's repositories. Offline is an expected state, reported as [`HubApiError::Offline`]
//! so the Hub page can say so instead of failing.

use berth_core::ErrorCode;
use serde::{Deserialize, Serialize};

use crate::sensitive::Sensitive;

pub const DOCKER_HUB_WEB_API: &str = "https://hub.docker.com";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HubApiError {
    #[error("Docker Hub cannot be reached (offline?)")]
    Offline {
        #[source]
        source: reqwest::Error,
    },
    #[error("Docker Hub refused the request (HTTP {status})")]
    Http { status: u16 },
    #[error("Docker Hub sent an answer Berth does not understand")]
    BadResponse {
        #[source]
        source: reqwest::Error,
    },
}

impl HubApiError {
    pub fn code(&self) -> ErrorCode {
        match self {
            HubApiError::Offline { .. } => ErrorCode::Io,
            HubApiError::Http { status: 401 | 403 } => ErrorCode::Unauthorized,
            HubApiError::Http { status: 404 } => ErrorCode::NotFound,
            _ => ErrorCode::Internal,
        }
    }
}

/// One search hit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResult {
    pub repo_name: String,
    #[serde(default)]
    pub short_description: String,
    #[serde(default)]
    pub star_count: u64,
    #[serde(default)]
    pub pull_count: u64,
    #[serde(default)]
    pub is_official: bool,
}

/// One of the account's repositories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repository {
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub is_private: bool,
    #[serde(default)]
    pub star_count: u64,
    #[serde(default)]
    pub pull_count: u64,
    #[serde(default)]
    pub last_updated: Option<String>,
}

#[derive(Deserialize)]
struct Page<T> {
    results: Vec<T>,
}

/// A client for Hub's web API at `base` ([`DOCKER_HUB_WEB_API`] outside tests).
#[derive(Clone)]
pub struct HubApi {
    base: String,
    http: reqwest::Client,
}

impl HubApi {
    pub fn new(base: &str) -> Self {
        HubApi {
            base: base.trim_end_matches('/').to_string(),
            http: crate::registry_auth::http_client(),
        }
    }

    /// Public repositories matching `query` (first page, up to 25).
    pub async fn search(&self, query: &str) -> Result<Vec<SearchResult>, HubApiError> {
        let request = self
            .http
            .get(format!("{}/v2/search/repositories/", self.base))
            .query(&[("query", query), ("page_size", "25")]);
        Ok(send::<Page<SearchResult>>(request).await?.results)
    }

    /// The repositories of `namespace` (first page, up to 100), private ones included when
    /// `token` (the signed-in account's access token) allows.
    pub async fn repositories(
        &self,
        namespace: &str,
        token: Option<&Sensitive<String>>,
    ) -> Result<Vec<Repository>, HubApiError> {
        let mut request = self
            .http
            .get(format!("{}/v2/repositories/{namespace}/", self.base))
            .query(&[("page_size", "100")]);
        if let Some(token) = token {
            request = request.bearer_auth(token.expose());
        }
        Ok(send::<Page<Repository>>(request).await?.results)
    }
}

async fn send<T: for<'de> Deserialize<'de>>(
    request: reqwest::RequestBuilder,
) -> Result<T, HubApiError> {
    let response = request.send().await.map_err(|source| {
        if source.is_connect() || source.is_timeout() {
            HubApiError::Offline { source }
        } else {
            HubApiError::BadResponse { source }
        }
    })?;
    let status = response.status();
    if !status.is_success() {
        return Err(HubApiError::Http {
            status: status.as_u16(),
        });
    }
    response
        .json()
        .await
        .map_err(|source| HubApiError::BadResponse { source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::{Path, Query};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::get;
    use axum::{Json, Router};
    use serde_json::json;
    use std::collections::HashMap;

    async fn fake_hub() -> (String, tokio::task::JoinHandle<()>) {
        let app = Router::new()
            .route(
                "/v2/search/repositories/",
                get(|Query(q): Query<HashMap<String, String>>| async move {
                    Json(json!({"count": 1, "next": null, "results": [
                        {"repo_name": q["query"], "short_description": "Official build", "star_count": 10,
                         "pull_count": 1000, "repo_owner": "", "is_automated": false, "is_official": true}
                    ]}))
                }),
            )
            .route(
                "/v2/repositories/{namespace}/",
                get(|Path(ns): Path<String>, headers: HeaderMap| async move {
                    let private = headers.get("authorization").and_then(|v| v.to_str().ok())
                        == Some("Bearer good-token");
                    let mut results = vec![json!({"namespace": ns, "name": "public-app", "is_private": false,
                        "star_count": 0, "pull_count": 3, "last_updated": "2026-01-01T00:00:00Z", "description": null})];
                    if private {
                        results.push(json!({"namespace": ns, "name": "secret-app", "is_private": true}));
                    }
                    Json(json!({"count": results.len(), "results": results}))
                }),
            )
            .route("/v2/repositories/broken/", get(|| async { "not json" }))
            .route("/v2/repositories/denied/", get(|| async { StatusCode::FORBIDDEN.into_response() }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (url, task)
    }

    #[tokio::test]
    async fn search_and_list_repositories() {
        let (url, _task) = fake_hub().await;
        let api = HubApi::new(&url);
        let hits = api.search("nginx").await.unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].repo_name, "nginx");
        assert!(hits[0].is_official);

        let public = api.repositories("alice", None).await.unwrap();
        assert_eq!(public.len(), 1);
        let token = Sensitive::new("good-token".to_string());
        let all = api.repositories("alice", Some(&token)).await.unwrap();
        assert_eq!(all.len(), 2);
        assert!(all[1].is_private);
    }

    #[tokio::test]
    async fn the_signed_in_account_sees_its_private_repositories() {
        use crate::credential_helper::CredentialStore;
        let (url, _task) = fake_hub().await;
        let secrets = crate::secrets::SecretStore::new(
            std::sync::Arc::new(crate::secrets::MemoryKeyring::default()),
            "api",
        );
        let hub = crate::Hub::new(secrets.clone(), crate::OAuthConfig::default());
        let api = HubApi::new(&url);
        assert!(matches!(
            hub.my_repositories(&api).await,
            Err(crate::HubError::NotSignedIn { .. })
        ));
        secrets
            .store(&crate::secrets::RegistryCredential {
                server_url: crate::DOCKER_HUB.into(),
                username: "alice".into(),
                secret: Sensitive::new("good-token".into()),
            })
            .unwrap();
        let repos = hub.my_repositories(&api).await.unwrap();
        let names: Vec<_> = repos.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["public-app", "secret-app"]);
        assert!(repos.iter().all(|r| r.namespace == "alice"));
    }

    #[tokio::test]
    async fn errors_are_told_apart() {
        let (url, task) = fake_hub().await;
        let api = HubApi::new(&url);
        let err = api.repositories("denied", None).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Unauthorized);
        assert!(matches!(
            api.repositories("broken", None).await,
            Err(HubApiError::BadResponse { .. })
        ));
        task.abort();
        let _ = task.await;
        let offline = api.search("nginx").await.unwrap_err();
        assert!(
            matches!(offline, HubApiError::Offline { .. }),
            "{offline:?}"
        );
        assert_eq!(offline.code(), ErrorCode::Io);
    }
}
