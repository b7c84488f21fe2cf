//! Push with per-layer progress to a real registry (docker-registry), with and without
//! credentials; the registry then serves the tag.

mod support;

use berth_engine::RegistryAuth;
use berth_testkit::Registry;
use support::{drain, Env, TestResult};

const TRANSFER: std::time::Duration = std::time::Duration::from_secs(300);

#[tokio::test]
async fn push_reports_each_layer_and_the_registry_serves_the_tag() -> TestResult {
    let env = Env::start().await?;
    let e = &env.engine;
    let registry = Registry::start_in(&env.d, None)?;
    let remote = format!("{}/berth/pushed:v1", registry.addr());
    e.tag_image(&env.image, &remote).await?;

    let progress = drain(e.push_image_layers(&remote, None), TRANSFER).await?;
    let layer = progress
        .iter()
        .find(|p| p.status == "Pushed")
        .and_then(|p| p.layer_id.clone())
        .ok_or_else(|| format!("no pushed layer in {progress:?}"))?;
    assert!(
        progress
            .iter()
            .any(|p| p.layer_id.as_deref() == Some(layer.as_str()) && p.status == "Preparing"),
        "{progress:?}"
    );
    let digest = progress
        .iter()
        .find(|p| p.status.contains("digest: sha256:"))
        .ok_or_else(|| format!("no digest line in {progress:?}"))?;
    assert_eq!(digest.layer_id, None, "{digest:?}");

    // The registry has it: drop every local name and pull it back.
    let id = e.inspect_image(&remote).await?.id.ok_or("no id")?;
    e.remove_image(&id, true).await?;
    drain(e.pull_image(&remote, None), TRANSFER).await?;
    assert_eq!(e.inspect_image(&remote).await?.id, Some(id));

    // Pushing again: every layer already exists.
    let again = drain(e.push_image_layers(&remote, None), TRANSFER).await?;
    assert!(
        again
            .iter()
            .any(|p| p.layer_id.as_deref() == Some(layer.as_str())
                && p.status == "Layer already exists"),
        "{again:?}"
    );

    let bad = drain(e.push_image_layers("has space", None), TRANSFER).await;
    let bad = bad.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(bad.starts_with("Invalid image"), "{bad}");
    Ok(())
}

#[tokio::test]
async fn push_sends_credentials_and_a_refusal_is_an_error() -> TestResult {
    let env = Env::start().await?;
    let e = &env.engine;
    let registry = Registry::start_in(&env.d, Some(("berth", "s3cret")))?;
    let remote = format!("{}/berth/private:v1", registry.addr());
    e.tag_image(&env.image, &remote).await?;
    let auth = RegistryAuth {
        username: Some("berth".into()),
        password: Some("s3cret".into()),
        identity_token: None,
        server_address: Some(registry.addr()),
    };
    let wrong = RegistryAuth {
        password: Some("nope".into()),
        ..auth.clone()
    };
    let refused = drain(e.push_image_layers(&remote, Some(&wrong)), TRANSFER).await;
    assert!(refused.is_err(), "push with a wrong password: {refused:?}");
    let anonymous = drain(e.push_image_layers(&remote, None), TRANSFER).await;
    assert!(
        anonymous.is_err(),
        "push without credentials: {anonymous:?}"
    );
    let pushed = drain(e.push_image_layers(&remote, Some(&auth)), TRANSFER).await?;
    assert!(
        pushed.iter().any(|p| p.status.contains("digest: sha256:")),
        "{pushed:?}"
    );
    Ok(())
}
