//! Engine tier: `berth compose pull`/`up` pull a private image with the credentials the command
//! line's provider finds for it, and without them the engine's refusal arrives as
//! `unauthorized` (not a generic engine error).

use std::sync::{Arc, Mutex};

use berth_compose::{Compose, CredentialsFn};
use berth_engine::{Endpoint, Engine, ErrorCode, RegistryAuth};
use berth_testkit::{run, Dockerd, Registry};

const USER: &str = "carol";
const PASS: &str = "compose-pat-3Xv";

/// Pushes the test image to the private registry, then forgets it and the login.
fn private_image(d: &Dockerd, registry: &Registry) -> String {
    let remote = format!("{}/team/private:1", registry.addr());
    let image = d.test_image().unwrap();
    registry.login(d).unwrap();
    run(d.docker().args(["tag", &image, &remote])).unwrap();
    run(d.docker().args(["push", &remote]))
        .unwrap_or_else(|e| panic!("{e}\nregistry log:\n{}", registry.log_tail(20)));
    run(d.docker().args(["rmi", &remote])).unwrap();
    run(d.docker().args(["logout", &registry.addr()])).unwrap();
    remote
}

/// A provider that records which images it was asked about.
fn provider(asked: Arc<Mutex<Vec<String>>>, server: String, password: &str) -> CredentialsFn {
    let password = password.to_string();
    Arc::new(move |image: String| {
        asked.lock().unwrap().push(image);
        let auth = RegistryAuth {
            username: Some(USER.into()),
            password: Some(password.clone()),
            identity_token: None,
            server_address: Some(server.clone()),
        };
        Box::pin(async move { Some(auth) })
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn compose_pulls_a_private_image_with_the_providers_credentials() {
    let d = Dockerd::start().unwrap();
    let registry = Registry::start_in(&d, Some((USER, PASS))).unwrap();
    let remote = private_image(&d, &registry);
    let engine = Engine::connect(&Endpoint::Host(d.docker_host()))
        .await
        .unwrap();

    let err = Compose::new(engine.clone())
        .pull_image(&remote)
        .await
        .expect_err("an anonymous pull of a private image must be refused");
    let berth_compose::Error::Api(engine_error) = &err else {
        panic!("expected the engine's error, got {err:?}");
    };
    assert_eq!(engine_error.code(), ErrorCode::Unauthorized, "{err}");

    let wrong = Compose::new(engine.clone())
        .with_credentials(provider(Arc::default(), registry.addr(), "wrong"))
        .pull_image(&remote)
        .await
        .expect_err("a wrong password must be refused");
    assert!(
        matches!(&wrong, berth_compose::Error::Api(e) if e.code() == ErrorCode::Unauthorized),
        "{wrong:?}"
    );

    let asked = Arc::new(Mutex::new(Vec::new()));
    Compose::new(engine.clone())
        .with_credentials(provider(asked.clone(), registry.addr(), PASS))
        .pull_image(&remote)
        .await
        .unwrap_or_else(|e| panic!("{e}\nregistry log:\n{}", registry.log_tail(20)));
    assert_eq!(*asked.lock().unwrap(), vec![remote.clone()]);
    engine.inspect_image(&remote).await.unwrap();
}
