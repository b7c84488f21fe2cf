//! A fake registry with Bearer (token realm) auth.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::Query;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{json, Value};

/// A registry `/v2/` with Bearer token auth: `/v2/` challenges with a realm on this server,
/// `/token` answers a token for the right Basic credentials.
pub struct FakeBearerRegistry {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeBearerRegistry {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeBearerRegistry {
    pub async fn start(user: &str, password: &str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let realm = format!("http://{addr}/token");
        let app = Router::new()
            .route(
                "/v2/",
                get(move |headers: HeaderMap| async move {
                    if headers
                        .get(header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok())
                        == Some("Bearer fake-registry-token")
                    {
                        return (StatusCode::OK, [("Docker-Distribution-API-Version", "registry/2.0")], "{}").into_response();
                    }
                    let challenge = format!(r#"Bearer realm="{realm}",service="fake-registry""#);
                    (
                        StatusCode::UNAUTHORIZED,
                        [
                            (header::WWW_AUTHENTICATE.as_str(), challenge.as_str()),
                            ("Docker-Distribution-API-Version", "registry/2.0"),
                        ],
                        "{}",
                    )
                        .into_response()
                }),
            )
            .route(
                "/token",
                get(move |headers: HeaderMap, Query(query): Query<HashMap<String, String>>| async move {
                    let authorized = headers
                        .get(header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok())
                        == Some(expected.as_str());
                    if !authorized || query.get("service").map(String::as_str) != Some("fake-registry") {
                        return (StatusCode::UNAUTHORIZED, Json(json!({"details": "incorrect username or password"}))).into_response();
                    }
                    Json(json!({"token": "fake-registry-token", "expires_in": 300})).into_response()
                }),
            )
            .route("/not-a-registry/v2/", get(|| async { Json(Value::Null) }));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeBearerRegistry { addr, task })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}
