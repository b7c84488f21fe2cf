//! The sign-in flows end to end against the local provider: approve, deny, expiry, slow_down,
//! refresh and revoke; PKCE; PAT sign-in over the Bearer token realm.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::header;
use serde_json::Value;

use super::{FakeBearerRegistry, OAuthTestServer, ServerOptions};
use crate::account::{Hub, HubError, SignInMethod};
use crate::credential_helper::CredentialStore;
use crate::oauth::{OAuthError, OAuthFlow};
use crate::pkce;
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

/// A device sign-in the user approves at once.
async fn device_sign_in(server: &OAuthTestServer, hub: &Hub) {
    let sign_in = hub.start_device_sign_in().await.unwrap();
    assert!(server.approve(sign_in.user_code()));
    sign_in.finish().await.unwrap();
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
    device_sign_in(&server, &hub).await;
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
    device_sign_in(&server, &hub).await;
    let before = stored_secret(&hub).unwrap();
    assert!(!hub.refresh_if_expiring("reg.example").await.unwrap());
    assert!(hub.refresh_if_expiring("index.docker.io").await.unwrap());
    assert_ne!(stored_secret(&hub).unwrap(), before);

    let (server, hub) = server_default().await;
    device_sign_in(&server, &hub).await;
    assert!(!hub.refresh_if_expiring(DOCKER_HUB).await.unwrap());
}

#[tokio::test]
async fn a_hub_pull_gets_the_refreshed_access_token_as_the_password() {
    let (server, hub) = server(ServerOptions {
        token_ttl: Duration::from_secs(30),
        ..ServerOptions::default()
    })
    .await;
    device_sign_in(&server, &hub).await;
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
    device_sign_in(&server, &hub).await;
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
    device_sign_in(&server, &hub).await;
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
    device_sign_in(&server, &hub).await;
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
