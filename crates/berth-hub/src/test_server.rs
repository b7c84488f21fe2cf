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
        "expires_in": shared.options.token_ttl.as_secs(),
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

/// The sign-in flows end to end against the local provider: approve, deny, expiry, slow_down,
/// refresh and revoke; PKCE; PAT sign-in over the Bearer token realm.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::{Hub, HubError, SignInMethod};
    use crate::credential_helper::CredentialStore;
    use crate::oauth::{OAuthError, OAuthFlow};
    use crate::registry_auth::RegistryError;
    use crate::registry_key::DOCKER_HUB;
    use crate::secrets::{MemoryKeyring, SecretStore};
    use crate::sensitive::Sensitive;

    async fn server(options: ServerOptions) -> (OAuthTestServer, Hub) {
        let server = OAuthTestServer::start(options).await.unwrap();
        let hub = Hub::new(
            SecretStore::new(Arc::new(MemoryKeyring::default()), "flows"),
            server.config(),
        );
        (server, hub)
    }

    fn browser() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    fn stored_secret(hub: &Hub) -> Option<String> {
        hub.secrets()
            .get(DOCKER_HUB)
            .unwrap()
            .map(|c| c.secret.expose().clone())
    }

    #[tokio::test]
    async fn device_flow_approved_in_the_browser_signs_in() {
        let (server, hub) = server(ServerOptions::default()).await;
        let sign_in = hub.start_device_sign_in().await.unwrap();
        let code = sign_in.user_code().to_string();
        let url = sign_in.browser_url().to_string();
        assert!(url.ends_with(&format!("?user_code={code}")), "{url}");
        let prompt = sign_in.prompt();
        assert_eq!(
            (prompt.user_code.as_str(), prompt.browser_url.as_str()),
            (code.as_str(), url.as_str())
        );
        assert_eq!(
            prompt.verification_uri,
            format!("{}/activate", server.base_url())
        );
        assert_eq!(prompt.expires_in_secs, 60);
        let waiting = tokio::spawn(sign_in.finish());
        // The user opens verification_uri_complete and approves.
        let page = browser().get(&url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let account = waiting.await.unwrap().unwrap();
        assert_eq!(account.username, "berth-tester");
        assert_eq!(account.method, SignInMethod::OAuth);
        assert_eq!(hub.account(None).unwrap(), Some(account));
        let secret = stored_secret(&hub).unwrap();
        assert_eq!(crate::claims::user_name(&secret).unwrap(), "berth-tester");
        // The code is spent: approving again does nothing.
        assert!(!server.approve(&code));
    }

    #[tokio::test]
    async fn device_flow_denied_stores_nothing() {
        let (server, hub) = server(ServerOptions::default()).await;
        let sign_in = hub.start_device_sign_in().await.unwrap();
        let code = sign_in.user_code().to_string();
        let waiting = tokio::spawn(sign_in.finish());
        assert!(server.deny(&code));
        let err = waiting.await.unwrap().unwrap_err();
        assert!(
            matches!(err, HubError::OAuth(OAuthError::Denied)),
            "{err:?}"
        );
        assert!(hub.account(None).unwrap().is_none());
    }

    #[tokio::test]
    async fn device_flow_expires_when_nobody_approves() {
        let (server, hub) = server(ServerOptions {
            device_code_ttl: Duration::from_secs(2),
            ..ServerOptions::default()
        })
        .await;
        let sign_in = hub.start_device_sign_in().await.unwrap();
        let code = sign_in.user_code().to_string();
        let err = sign_in.finish().await.unwrap_err();
        assert!(
            matches!(err, HubError::OAuth(OAuthError::Expired)),
            "{err:?}"
        );
        assert!(
            server.polls(&code).len() >= 2,
            "the client polled while pending"
        );
        assert!(hub.account(None).unwrap().is_none());
    }

    #[tokio::test]
    async fn device_flow_slows_down_when_asked() {
        let (server, hub) = server(ServerOptions::default()).await;
        server.slow_down_next(1);
        let sign_in = hub.start_device_sign_in().await.unwrap();
        let code = sign_in.user_code().to_string();
        assert!(server.approve(&code));
        hub_finish_ok(sign_in.finish()).await;
        let polls = server.polls(&code);
        assert_eq!(polls.len(), 2, "one slow_down, then the tokens");
        let gap = polls[1].duration_since(polls[0]);
        // interval (1 s) + 5 s, per RFC 8628 section 3.5.
        assert!(gap >= Duration::from_secs(6), "polled again after {gap:?}");
    }

    async fn hub_finish_ok(
        finish: impl std::future::Future<Output = Result<crate::Account, HubError>>,
    ) {
        let account = finish.await.unwrap();
        assert_eq!(account.username, "berth-tester");
    }

    #[tokio::test]
    async fn refresh_replaces_the_access_token() {
        let (server, hub) = server(ServerOptions::default()).await;
        let sign_in = hub.start_device_sign_in().await.unwrap();
        server.approve(sign_in.user_code());
        sign_in.finish().await.unwrap();
        let before = stored_secret(&hub).unwrap();
        let account = hub.refresh().await.unwrap();
        assert_eq!(account.username, "berth-tester");
        let after = stored_secret(&hub).unwrap();
        assert_ne!(before, after);
    }

    #[tokio::test]
    async fn an_access_token_about_to_expire_is_refreshed_before_use() {
        let (server, hub) = server(ServerOptions {
            token_ttl: Duration::from_secs(30),
            ..ServerOptions::default()
        })
        .await;
        let sign_in = hub.start_device_sign_in().await.unwrap();
        server.approve(sign_in.user_code());
        sign_in.finish().await.unwrap();
        let before = stored_secret(&hub).unwrap();
        assert!(!hub.refresh_if_expiring("reg.example").await.unwrap());
        assert!(hub.refresh_if_expiring("index.docker.io").await.unwrap());
        assert_ne!(stored_secret(&hub).unwrap(), before);

        let (server, hub) = server_default().await;
        let sign_in = hub.start_device_sign_in().await.unwrap();
        server.approve(sign_in.user_code());
        sign_in.finish().await.unwrap();
        assert!(!hub.refresh_if_expiring(DOCKER_HUB).await.unwrap());
    }

    #[tokio::test]
    async fn a_hub_pull_gets_the_refreshed_access_token_as_the_password() {
        let (server, hub) = server(ServerOptions {
            token_ttl: Duration::from_secs(30),
            ..ServerOptions::default()
        })
        .await;
        let sign_in = hub.start_device_sign_in().await.unwrap();
        server.approve(sign_in.user_code());
        sign_in.finish().await.unwrap();
        let before = stored_secret(&hub).unwrap();
        let credential = hub
            .fresh_credentials_for_image("alice/app:1")
            .await
            .unwrap()
            .expect("Hub credentials");
        assert_eq!(credential.username, "berth-tester");
        let refreshed = stored_secret(&hub).unwrap();
        assert_ne!(refreshed, before);
        assert_eq!(credential.secret.expose(), &refreshed);
        assert!(hub
            .fresh_credentials_for_image("reg.example/app")
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn sign_out_while_the_provider_is_down_still_erases_and_says_so() {
        let (server, hub) = server_default().await;
        let sign_in = hub.start_device_sign_in().await.unwrap();
        server.approve(sign_in.user_code());
        sign_in.finish().await.unwrap();
        drop(server);
        let err = hub.sign_out(None).await.unwrap_err();
        assert!(matches!(err, HubError::RevokeFailed { .. }), "{err:?}");
        assert!(hub.account(None).unwrap().is_none());
        assert!(hub.secrets().list().unwrap().is_empty());
    }

    async fn server_default() -> (OAuthTestServer, Hub) {
        server(ServerOptions::default()).await
    }

    #[tokio::test]
    async fn no_token_reaches_the_logs() {
        let logs = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = logs.clone();
        let _guard = tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(move || LogSink(sink.clone()))
                .finish(),
        );
        let (server, hub) = server_default().await;
        let sign_in = hub.start_device_sign_in().await.unwrap();
        server.approve(sign_in.user_code());
        sign_in.finish().await.unwrap();
        hub.refresh().await.unwrap();
        let access = stored_secret(&hub).unwrap();
        hub.sign_out(None).await.unwrap();
        let refresh = server.revoked().pop().unwrap();
        let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
        assert!(
            logged.contains("signed in"),
            "the subscriber captured: {logged}"
        );
        assert!(!logged.contains(&access), "access token in logs");
        assert!(!logged.contains(&refresh), "refresh token in logs");
    }

    struct LogSink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for LogSink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn sign_out_erases_and_revokes_the_refresh_token() {
        let (server, hub) = server(ServerOptions::default()).await;
        let sign_in = hub.start_device_sign_in().await.unwrap();
        server.approve(sign_in.user_code());
        sign_in.finish().await.unwrap();
        assert!(hub.sign_out(None).await.unwrap());
        assert!(hub.account(None).unwrap().is_none());
        let revoked = server.revoked();
        assert_eq!(revoked.len(), 1);
        assert!(!server.refresh_token_is_live(&revoked[0]));
        // The provider no longer honours it.
        let err = OAuthFlow::new(server.config())
            .unwrap()
            .refresh(&Sensitive::new(revoked[0].clone()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, OAuthError::Refused { ref error } if error == "invalid_grant"),
            "{err:?}"
        );
        assert!(matches!(
            hub.refresh().await,
            Err(HubError::NotSignedIn { .. })
        ));
    }

    async fn follow_authorize(url: &str) -> reqwest::Response {
        let browser = browser();
        let redirect = browser.get(url).send().await.unwrap();
        assert!(redirect.status().is_redirection(), "{}", redirect.status());
        let location = redirect.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .to_string();
        assert!(location.starts_with("http://127.0.0.1:"), "{location}");
        browser.get(&location).send().await.unwrap()
    }

    #[tokio::test]
    async fn browser_flow_with_pkce_signs_in() {
        let (_server, hub) = server(ServerOptions::default()).await;
        let sign_in = hub.start_browser_sign_in().await.unwrap();
        let url = sign_in.authorize_url().to_string();
        for param in [
            "code_challenge_method=S256",
            "state=",
            "audience=",
            "redirect_uri=http%3A%2F%2F127.0.0.1%3A",
        ] {
            assert!(url.contains(param), "{param} missing from {url}");
        }
        let waiting = tokio::spawn(sign_in.finish(Duration::from_secs(20)));
        let page = follow_authorize(&url).await;
        assert_eq!(page.status(), 200);
        let account = waiting.await.unwrap().unwrap();
        assert_eq!(account.username, "berth-tester");
    }

    #[tokio::test]
    async fn browser_flow_denied() {
        let (_server, hub) = server(ServerOptions {
            approve_browser: false,
            ..ServerOptions::default()
        })
        .await;
        let sign_in = hub.start_browser_sign_in().await.unwrap();
        let url = sign_in.authorize_url().to_string();
        let waiting = tokio::spawn(sign_in.finish(Duration::from_secs(20)));
        follow_authorize(&url).await;
        let err = waiting.await.unwrap().unwrap_err();
        assert!(
            matches!(err, HubError::OAuth(OAuthError::Denied)),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn browser_flow_rejects_a_forged_state() {
        let (_server, hub) = server(ServerOptions::default()).await;
        let sign_in = hub.start_browser_sign_in().await.unwrap();
        let url = url::Url::parse(sign_in.authorize_url()).unwrap();
        let redirect = url
            .query_pairs()
            .find(|(k, _)| k == "redirect_uri")
            .unwrap()
            .1
            .to_string();
        let waiting = tokio::spawn(sign_in.finish(Duration::from_secs(20)));
        browser()
            .get(format!("{redirect}?code=stolen&state=forged"))
            .send()
            .await
            .unwrap();
        let err = waiting.await.unwrap().unwrap_err();
        assert!(
            matches!(err, HubError::OAuth(OAuthError::BadRedirect)),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn the_token_endpoint_refuses_a_wrong_pkce_verifier() {
        let (server, _hub) = server(ServerOptions::default()).await;
        let redirect = "http://127.0.0.1:9/callback";
        let challenge = pkce::s256_challenge(&"a".repeat(43));
        let authorize = browser()
            .get(format!("{}/authorize", server.base_url()))
            .query(&[
                ("response_type", "code"),
                ("client_id", "berth-test-client"),
                ("redirect_uri", redirect),
                ("state", "s"),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ])
            .send()
            .await
            .unwrap();
        let location =
            url::Url::parse(authorize.headers()[header::LOCATION].to_str().unwrap()).unwrap();
        let code = location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .to_string();
        let answer = browser()
            .post(format!("{}/oauth/token", server.base_url()))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", "berth-test-client"),
                ("redirect_uri", redirect),
                ("code", code.as_str()),
                ("code_verifier", "b".repeat(43).as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400);
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"], "invalid_grant");
    }

    #[tokio::test]
    async fn token_sign_in_through_a_bearer_token_realm() {
        let registry = FakeBearerRegistry::start("carol", "pat-123").await.unwrap();
        let hub = Hub::new(
            SecretStore::new(Arc::new(MemoryKeyring::default()), "pat"),
            crate::OAuthConfig::default(),
        );
        let err = hub
            .sign_in_with_token(
                Some(&registry.url()),
                "carol",
                Sensitive::new("wrong".into()),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                HubError::Registry(RegistryError::WrongCredentials { .. })
            ),
            "{err:?}"
        );
        assert!(hub.registries().unwrap().is_empty());

        let account = hub
            .sign_in_with_token(
                Some(&registry.url()),
                "carol",
                Sensitive::new("pat-123".into()),
            )
            .await
            .unwrap();
        assert_eq!(account.method, SignInMethod::Token);
        assert_eq!(hub.registries().unwrap(), vec![account]);
        assert!(hub.sign_out(Some(&registry.url())).await.unwrap());
        assert!(hub.registries().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_server_that_is_not_a_registry_is_named_so() {
        let (server, hub) = server(ServerOptions::default()).await;
        let err = hub
            .sign_in_with_token(Some(&server.base_url()), "u", Sensitive::new("p".into()))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                HubError::Registry(RegistryError::NotARegistry { status: 404, .. })
            ),
            "{err:?}"
        );
    }
}
