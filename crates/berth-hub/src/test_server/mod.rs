//! A local OAuth 2.0 provider for tests: the device authorization grant (RFC 8628), the
//! authorization code grant with PKCE S256 (RFC 7636), refresh, and revocation (RFC 7009), on
//! `127.0.0.1:0`. Tests play the user through [`OAuthTestServer::approve`] / `deny`, or over
//! HTTP with `GET /activate?user_code=...` (what `verification_uri_complete` points at) and
//! `GET /deny?user_code=...`, so a UI test can drive it from another process.
//!
//! Also a fake registry with Bearer (token realm) auth, for what the real `docker-registry`
//! (Basic only) cannot show.
//!
//! By what it serves: [`device_flow`] (device codes and the user's decision),
//! [`authorize`] (the browser's authorization endpoint), [`token_endpoint`] (every grant,
//! refresh and revocation) and [`registry`] (the Bearer registry).

mod authorize;
mod device_flow;
mod registry;
#[cfg(test)]
mod tests;
mod token_endpoint;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::oauth::OAuthConfig;
use device_flow::{decide, DeviceGrant};

pub use registry::FakeBearerRegistry;

/// How the provider behaves.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub client_id: String,
    /// The account every approval signs in as.
    pub username: String,
    /// The polling interval announced with each device code, in seconds.
    pub interval_secs: u64,
    /// How long a device code lives.
    pub device_code_ttl: Duration,
    /// What `/authorize` answers: approve (redirect with a code) or deny.
    pub approve_browser: bool,
    /// The `expires_in` of every access token.
    pub token_ttl: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            client_id: "berth-test-client".into(),
            username: "berth-tester".into(),
            interval_secs: 1,
            device_code_ttl: Duration::from_secs(60),
            approve_browser: true,
            token_ttl: Duration::from_secs(3600),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Pending,
    Approved,
    Denied,
    /// Tokens were issued; the device code is spent.
    Used,
}

struct CodeGrant {
    client_id: String,
    redirect_uri: String,
    challenge: String,
}

#[derive(Default)]
struct ServerState {
    devices: HashMap<String, DeviceGrant>,
    codes: HashMap<String, CodeGrant>,
    refresh_tokens: HashMap<String, bool>,
    revoked: Vec<String>,
    slow_down_next: u32,
    counter: u64,
}

struct Shared {
    options: ServerOptions,
    base_url: String,
    state: Mutex<ServerState>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, ServerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn next_id(&self, prefix: &str) -> String {
        let mut state = self.state();
        state.counter += 1;
        format!("{prefix}-{}-{}", std::process::id(), state.counter)
    }
}

/// The running provider; stops when dropped.
pub struct OAuthTestServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for OAuthTestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl OAuthTestServer {
    pub async fn start(options: ServerOptions) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            options,
            base_url: format!("http://{addr}"),
            state: Mutex::new(ServerState::default()),
        });
        let app = Router::new()
            .route("/oauth/device/code", post(device_flow::device_code))
            .route("/oauth/token", post(token_endpoint::token))
            .route("/oauth/revoke", post(token_endpoint::revoke))
            .route("/authorize", get(authorize::authorize))
            .route("/activate", get(device_flow::activate))
            .route("/deny", get(device_flow::deny))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(OAuthTestServer { shared, addr, task })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client configuration pointing at this provider.
    pub fn config(&self) -> OAuthConfig {
        let mut config = OAuthConfig::for_tenant(&self.base_url(), &self.shared.options.client_id);
        config.audience = Some("https://hub.docker.com".into());
        config
    }

    /// The user approves `user_code` in the browser. False for an unknown code.
    pub fn approve(&self, user_code: &str) -> bool {
        decide(&self.shared, user_code, Decision::Approved)
    }

    pub fn deny(&self, user_code: &str) -> bool {
        decide(&self.shared, user_code, Decision::Denied)
    }

    /// Answers the next `n` device-code polls with `slow_down`.
    pub fn slow_down_next(&self, n: u32) {
        self.shared.state().slow_down_next = n;
    }

    /// When the client polled for `user_code`.
    pub fn polls(&self, user_code: &str) -> Vec<Instant> {
        self.shared
            .state()
            .devices
            .values()
            .find(|grant| grant.user_code == user_code)
            .map(|grant| grant.polls.clone())
            .unwrap_or_default()
    }

    /// Every token revoked so far.
    pub fn revoked(&self) -> Vec<String> {
        self.shared.state().revoked.clone()
    }

    /// Whether `refresh_token` is still accepted.
    pub fn refresh_token_is_live(&self, refresh_token: &str) -> bool {
        self.shared
            .state()
            .refresh_tokens
            .get(refresh_token)
            .copied()
            .unwrap_or(false)
    }
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

fn bad_request(error: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, error)
}

/// `Some(error response)` unless the request names our client.
fn check_client(shared: &Shared, form: &HashMap<String, String>) -> Option<Response> {
    match form.get("client_id") {
        Some(id) if *id == shared.options.client_id => None,
        _ => Some(oauth_error(StatusCode::UNAUTHORIZED, "invalid_client")),
    }
}
