//! Engine tier: the dashboard's pull path (`berth_api::images::pull`: the credentials signed
//! in for the image's registry, then the engine's pull) fetches a private image from a real
//! `docker-registry` after a PAT sign-in stored the token in the OS keyring (keyutils here),
//! and is refused as `unauthorized` without it.
//!
//! Berth checks the PAT against `/v2/` from this process while the registry listens on
//! 127.0.0.1 in the daemon's network namespace, so a socat pair makes the same
//! `127.0.0.1:<port>` answer on the host too: both sides name the registry identically.

use berth_api::Berth;
use berth_core::{ApiError, BerthPaths, ErrorCode};
use berth_hub::secrets::SecretStore;
use berth_hub::{Hub, OAuthConfig, Sensitive};
use berth_testkit::{run, Dockerd, Registry};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const USER: &str = "dora";
const PAT: &str = "dashboard-pat-Qw8";

/// What the dashboard's Pull button does.
async fn pull(berth: &Berth, image: &str) -> Result<(), ApiError> {
    let engine = berth.engine().await?;
    let mut messages = 0;
    let pulled = berth_api::images::pull(berth, &engine, image, |_| messages += 1).await;
    if pulled.is_ok() {
        assert!(messages > 0, "a pull that landed sent no progress");
    }
    pulled
}

#[test]
fn dashboard_pull_uses_the_pat_from_the_keyring_and_is_unauthorized_without() -> TestResult {
    let rt = tokio::runtime::Runtime::new()?;
    let d = Dockerd::start()?;
    let registry = Registry::start_in(&d, Some((USER, PAT)))?;
    let addr = registry.addr();
    let _bridge = registry.bridge_to_host(&d)?;

    // A private image in the registry, then forgotten by the daemon and the CLI.
    let remote = format!("{addr}/team/dashboard:1");
    registry.login(&d)?;
    run(d.docker().args(["tag", &d.test_image()?, &remote]))?;
    run(d.docker().args(["push", &remote]))?;
    run(d.docker().args(["rmi", &remote]))?;
    run(d.docker().args(["logout", &addr]))?;

    // A Berth whose engine is this daemon.
    let home = tempfile::tempdir()?;
    let paths = BerthPaths::under(home.path());
    let mut berth = Berth::open_at(paths.clone())?;
    let mut settings = berth.settings().clone();
    settings.engine.endpoint = Some(d.docker_host());
    berth.save_settings(settings)?;

    // Not signed in: refused, and said so.
    assert!(rt.block_on(berth.registry_credentials(&remote)).is_none());
    let err = rt.block_on(pull(&berth, &remote)).unwrap_err();
    assert_eq!(err.code, ErrorCode::Unauthorized, "{err}");

    // PAT sign-in (checked against /v2/, stored in the keyring), then the same pull works.
    let hub = Hub::new(SecretStore::for_paths(&paths)?, OAuthConfig::default());
    rt.block_on(hub.sign_in_with_token(Some(&addr), USER, Sensitive::new(PAT.into())))?;
    let credentials = rt
        .block_on(berth.registry_credentials(&remote))
        .expect("credentials after sign-in");
    assert_eq!(credentials.username.as_deref(), Some(USER));
    assert_eq!(credentials.server_address.as_deref(), Some(addr.as_str()));
    rt.block_on(pull(&berth, &remote))
        .map_err(|e| format!("{e}\nregistry log:\n{}", registry.log_tail(20)))?;
    run(d.docker().args(["image", "inspect", &remote]))?;

    // Signed out: refused again.
    rt.block_on(hub.sign_out(Some(&addr)))?;
    run(d.docker().args(["rmi", &remote]))?;
    let err = rt.block_on(pull(&berth, &remote)).unwrap_err();
    assert_eq!(err.code, ErrorCode::Unauthorized, "{err}");
    Ok(())
}
