//! A local OAuth 2.0 provider for tests: the device authorization grant (RFC 8628), the
//! authorization code grant with PKCE S256 (RFC 7636), refresh, and revocation (RFC 7009), on
//! `127.0.0.1:0`. Tests play the user through [`OAuthTestServer::approve`] / `deny`, or over
//! HTTP with `GET /activate?user_code=...` (what `verification_uri_complete` points at) and
//! `GET /deny?user_code=...`, so a UI test can drive it from another process.
//!
//! Also a fake registry with Bearer (token realm) auth, for what the real `docker-registry`
//! (Basic only) cannot show.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{json, Value};

use crate::claims::{unsigned_jwt, DOCKER_HUB_CLAIM};
use crate::oauth::OAuthConfig;
use crate::pkce;

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
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            client_id: "berth-test-client".into(),
            username: "berth-tester".into(),
            interval_secs: 1,
            device_code_ttl: Duration::from_secs(60),
            approve_browser: true,
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

struct DeviceGrant {
    user_code: String,
    issued: Instant,
    decision: Decision,
    polls: Vec<Instant>,
    interval: Duration,
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
            .route("/oauth/device/code", post(device_code))
            .route("/oauth/token", post(token))
            .route("/oauth/revoke", post(revoke))
            .route("/authorize", get(authorize))
            .route("/activate", get(activate))
            .route("/deny", get(deny))
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

fn decide(shared: &Shared, user_code: &str, decision: Decision) -> bool {
    let mut state = shared.state();
    match state
        .devices
        .values_mut()
        .find(|grant| grant.user_code == user_code && grant.decision == Decision::Pending)
    {
        Some(grant) => {
            grant.decision = decision;
            true
        }
        None => false,
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

async fn device_code(
    State(shared): State<Arc<Shared>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(response) = check_client(&shared, &form) {
        return response;
    }
    let device_code = shared.next_id("device");
    let user_code = {
        let n = shared.state().counter;
        format!("BRTH-{:04}", n % 10_000)
    };
    let interval = Duration::from_secs(shared.options.interval_secs);
    shared.state().devices.insert(
        device_code.clone(),
        DeviceGrant {
            user_code: user_code.clone(),
            issued: Instant::now(),
            decision: Decision::Pending,
            polls: Vec::new(),
            interval,
        },
    );
    let verification_uri = format!("{}/activate", shared.base_url);
    Json(json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": format!("{verification_uri}?user_code={user_code}"),
        "expires_in": shared.options.device_code_ttl.as_secs(),
        "interval": shared.options.interval_secs,
    }))
    .into_response()
}

async fn token(
    State(shared): State<Arc<Shared>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(response) = check_client(&shared, &form) {
        return response;
    }
    match form.get("grant_type").map(String::as_str) {
        Some("urn:ietf:params:oauth:grant-type:device_code") => device_token(&shared, &form),
        Some("authorization_code") => code_token(&shared, &form),
        Some("refresh_token") => refresh_token(&shared, &form),
        Some(_) => bad_request("unsupported_grant_type"),
        None => bad_request("invalid_request"),
    }
}

fn device_token(shared: &Shared, form: &HashMap<String, String>) -> Response {
    let now = Instant::now();
    let ttl = shared.options.device_code_ttl;
    let mut state = shared.state();
    let force_slow_down = state.slow_down_next > 0;
    if force_slow_down {
        state.slow_down_next -= 1;
    }
    let Some(grant) = form
        .get("device_code")
        .and_then(|code| state.devices.get_mut(code))
    else {
        return bad_request("invalid_grant");
    };
    let too_fast = grant
        .polls
        .last()
        .is_some_and(|last| now.duration_since(*last) < grant.interval);
    grant.polls.push(now);
    if now.duration_since(grant.issued) > ttl {
        return bad_request("expired_token");
    }
    if force_slow_down || too_fast {
        // RFC 8628 3.5: the client must add 5 seconds to its interval from now on.
        grant.interval += Duration::from_secs(5);
        return bad_request("slow_down");
    }
    match grant.decision {
        Decision::Pending => bad_request("authorization_pending"),
        Decision::Denied => bad_request("access_denied"),
        Decision::Used => bad_request("invalid_grant"),
        Decision::Approved => {
            grant.decision = Decision::Used;
            drop(state);
            issue_tokens(shared)
        }
    }
}

fn code_token(shared: &Shared, form: &HashMap<String, String>) -> Response {
    let Some(grant) = form
        .get("code")
        .and_then(|code| shared.state().codes.remove(code))
    else {
        return bad_request("invalid_grant");
    };
    let verifier = form.get("code_verifier").map(String::as_str).unwrap_or("");
    if form.get("redirect_uri") != Some(&grant.redirect_uri)
        || form.get("client_id") != Some(&grant.client_id)
        || !pkce::verify_s256(verifier, &grant.challenge)
    {
        return bad_request("invalid_grant");
    }
    issue_tokens(shared)
}

fn refresh_token(shared: &Shared, form: &HashMap<String, String>) -> Response {
    let live = form
        .get("refresh_token")
        .and_then(|token| shared.state().refresh_tokens.get(token).copied())
        .unwrap_or(false);
    if !live {
        return bad_request("invalid_grant");
    }
    issue_tokens(shared)
}

fn issue_tokens(shared: &Shared) -> Response {
    let refresh = shared.next_id("refresh");
    shared.state().refresh_tokens.insert(refresh.clone(), true);
    let access = unsigned_jwt(&json!({
        "iss": shared.base_url,
        "sub": format!("test|{}", shared.options.username),
        "aud": "https://hub.docker.com",
        "jti": shared.next_id("access"),
        DOCKER_HUB_CLAIM: {"username": shared.options.username},
    }));
    Json(json!({
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": "openid offline_access",
    }))
    .into_response()
}

async fn revoke(
    State(shared): State<Arc<Shared>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(response) = check_client(&shared, &form) {
        return response;
    }
    let Some(token) = form.get("token") else {
        return bad_request("invalid_request");
    };
    let mut state = shared.state();
    // RFC 7009 2.2: an unknown token is still a 200.
    if let Some(live) = state.refresh_tokens.get_mut(token) {
        *live = false;
    }
    state.revoked.push(token.clone());
    StatusCode::OK.into_response()
}

async fn authorize(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (Some(redirect_uri), Some(state_param)) = (query.get("redirect_uri"), query.get("state"))
    else {
        return (StatusCode::BAD_REQUEST, "missing redirect_uri or state").into_response();
    };
    let loopback =
        redirect_uri.starts_with("http://127.0.0.1:") || redirect_uri.starts_with("http://[::1]:");
    if query.get("client_id") != Some(&shared.options.client_id) || !loopback {
        return (StatusCode::BAD_REQUEST, "unknown client or redirect").into_response();
    }
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    let state_q = url::form_urlencoded::byte_serialize(state_param.as_bytes()).collect::<String>();
    let pkce_ok = query.get("response_type").map(String::as_str) == Some("code")
        && query.get("code_challenge_method").map(String::as_str) == Some("S256")
        && query.get("code_challenge").is_some_and(|c| c.len() == 43);
    if !pkce_ok {
        return Redirect::to(&format!(
            "{redirect_uri}{separator}error=invalid_request&state={state_q}"
        ))
        .into_response();
    }
    if !shared.options.approve_browser {
        return Redirect::to(&format!(
            "{redirect_uri}{separator}error=access_denied&state={state_q}"
        ))
        .into_response();
    }
    let code = shared.next_id("code");
    shared.state().codes.insert(
        code.clone(),
        CodeGrant {
            client_id: shared.options.client_id.clone(),
            redirect_uri: redirect_uri.clone(),
            challenge: query.get("code_challenge").cloned().unwrap_or_default(),
        },
    );
    Redirect::to(&format!(
        "{redirect_uri}{separator}code={code}&state={state_q}"
    ))
    .into_response()
}

async fn activate(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    user_decision(&shared, &query, Decision::Approved)
}

async fn deny(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    user_decision(&shared, &query, Decision::Denied)
}

fn user_decision(shared: &Shared, query: &HashMap<String, String>, decision: Decision) -> Response {
    match query.get("user_code") {
        Some(code) if decide(shared, code, decision) => {
            (StatusCode::OK, "Done. Return to Berth.").into_response()
        }
        _ => (StatusCode::NOT_FOUND, "unknown or used code").into_response(),
    }
}

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
