//! What the primer teaches about registries: push an image, pull it back with per-layer
//! progress, and credentials gate both; against Debian's `docker-registry` started by the harness.

mod engine_seed_support;

use berth_engine::{PullProgress, RegistryAuth, RunSpec};
use berth_testkit::Registry;
use engine_seed_support::{Error, Seed, TestResult, STEP};
use futures_util::{Stream, StreamExt};

const PAYLOAD_MIB: u64 = 8;

/// Drains a progress stream (with a deadline): every message, or the first error.
async fn drain(
    stream: impl Stream<Item = Result<PullProgress, berth_engine::EngineError>>,
) -> Result<Result<Vec<PullProgress>, berth_engine::EngineError>, Error> {
    let collect = async {
        let mut all = Vec::new();
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = stream.next().await {
            all.push(item?);
        }
        Ok(all)
    };
    Ok(tokio::time::timeout(STEP, collect).await?)
}

#[tokio::test]
async fn push_and_pull_through_a_local_registry_with_credentials() -> TestResult {
    let s = Seed::start().await?;
    let registry = Registry::start_in(&s.d, Some(("seed-user", "seed-pass")))?;
    let local = "berth-test/payload:seed";
    s.d.payload_image(local, PAYLOAD_MIB)?;
    let remote = format!("{}/seed/payload:1", registry.addr());
    s.engine.tag_image(local, &remote).await?;
    let auth = RegistryAuth {
        username: Some("seed-user".into()),
        password: Some("seed-pass".into()),
        server_address: Some(registry.addr()),
        ..Default::default()
    };

    // Without credentials the registry refuses the push.
    let refused = drain(s.engine.push_image(&remote, None)).await?;
    let err = refused.expect_err("push without credentials succeeded");
    assert!(
        err.to_string().contains("auth"),
        "not an auth failure: {err}"
    );

    let pushed = drain(s.engine.push_image(&remote, Some(&auth)))
        .await?
        .map_err(|e| format!("{e}\n--- registry log ---\n{}", registry.log_tail(20)))?;
    assert!(
        pushed.iter().any(|p| p.status == "Pushed"),
        "no layer reported Pushed: {pushed:?}"
    );
    assert!(
        pushed.iter().any(|p| p.status.contains("digest: sha256:")),
        "no final digest: {pushed:?}"
    );

    // Remove every local name so the pull really downloads.
    s.engine.remove_image(&remote, true).await?;
    s.engine.remove_image(local, true).await?;
    assert!(s.engine.inspect_image(&remote).await.is_err());

    let anonymous = drain(s.engine.pull_image(&remote, None)).await?;
    assert!(anonymous.is_err(), "pull without credentials succeeded");

    let pulled = drain(s.engine.pull_image(&remote, Some(&auth))).await??;
    let layer_done: Vec<&PullProgress> = pulled
        .iter()
        .filter(|p| p.status == "Pull complete" && p.layer_id.is_some())
        .collect();
    assert!(
        !layer_done.is_empty(),
        "no per-layer completion: {pulled:?}"
    );
    let downloading = pulled.iter().any(|p| {
        p.status == "Downloading"
            && p.layer_id.is_some()
            && p.total.is_some_and(|t| t > 0)
            && p.current.is_some_and(|c| c > 0)
    });
    assert!(downloading, "no byte progress for a layer: {pulled:?}");
    let last = pulled.last().map(|p| p.status.as_str()).unwrap_or_default();
    assert!(last.contains("Downloaded newer image"), "{last}");

    // The pulled image is the pushed one, payload and all.
    let (code, out) = s
        .run_once(&RunSpec::new(&remote).cmd(["wc", "-c", "/payload"]))
        .await?;
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.split_whitespace().next(),
        Some((PAYLOAD_MIB * 1024 * 1024).to_string().as_str())
    );
    Ok(())
}

#[tokio::test]
async fn shared_layers_are_pushed_once_and_no_tag_means_latest() -> TestResult {
    let s = Seed::start().await?;
    let registry = Registry::start_in(&s.d, None)?;
    // No tag: the engine pushes `:latest`.
    let base = format!("{}/seed/base", registry.addr());
    s.engine.tag_image(&s.image, &base).await?;
    drain(s.engine.push_image(&base, None)).await??;

    // An image built on top of it shares the base layer and adds one of its own.
    let maker = s.run(&s.idle_spec("maker")).await?;
    s.exec_ok(&maker, &["sh", "-c", "echo extra > /extra.txt"])
        .await?;
    let derived_repo = format!("{}/seed/derived", registry.addr());
    s.commit(&maker, &derived_repo, "1").await?;
    s.remove(&maker).await?;
    let pushed = drain(s.engine.push_image(&format!("{derived_repo}:1"), None)).await??;
    // The shared layer is not uploaded again: the registry already has it (in another
    // repository, so the engine asks for a cross-repository mount).
    let reused = pushed
        .iter()
        .filter(|p| p.status == "Layer already exists" || p.status.starts_with("Mounted from"))
        .count();
    let uploaded = pushed.iter().filter(|p| p.status == "Pushed").count();
    assert_eq!((reused, uploaded), (1, 1), "{pushed:?}");

    // Pull by the untagged name: `:latest` comes back.
    s.engine.remove_image(&base, true).await?;
    s.engine.remove_image(&s.image, true).await?;
    let pulled = drain(s.engine.pull_image(&base, None)).await??;
    let last = pulled.last().map(|p| p.status.clone()).unwrap_or_default();
    assert!(last.contains(&format!("{base}:latest")), "{last}");
    let inspect = s.engine.inspect_image(&format!("{base}:latest")).await?;
    assert!(inspect
        .repo_tags
        .unwrap_or_default()
        .contains(&format!("{base}:latest")));
    Ok(())
}
