//! Images on a real engine: list, inspect, history, tag, remove, push/pull through a registry
//! with credentials, import from a tarball, build from a context directory, prune.

mod support;

use std::time::Duration;

use berth_engine::containers::RemoveOptions;
use berth_engine::{BuildOptions, ErrorCode, RegistryAuth, RunSpec};
use berth_testkit::Registry;
use futures_util::TryStreamExt;
use support::{code_of, drain, Env, TestResult, STEP};

const TRANSFER: Duration = Duration::from_secs(180);

#[tokio::test]
async fn list_inspect_history_tag_and_remove() -> TestResult {
    let env = Env::start().await?;
    let e = &env.engine;
    let images = e.list_images(false).await?;
    let test = images
        .iter()
        .find(|i| i.repo_tags.contains(&env.image))
        .ok_or("test image not listed")?;
    assert!(test.id.starts_with("sha256:") && test.size > 0, "{test:?}");

    let inspect = e.inspect_image(&env.image).await?;
    assert_eq!(inspect.id.as_deref(), Some(test.id.as_str()));
    let env_vars = inspect.config.and_then(|c| c.env).unwrap_or_default();
    assert!(env_vars.iter().any(|v| v == "PATH=/bin"), "{env_vars:?}");
    let history = e.image_history(&env.image).await?;
    assert!(!history.is_empty());

    e.tag_image(&env.image, "berth-extra/bb:t1").await?;
    let tagged = e.list_images(false).await?;
    let same = tagged
        .iter()
        .find(|i| i.id == test.id)
        .ok_or("image gone")?;
    assert!(
        same.repo_tags.iter().any(|t| t == "berth-extra/bb:t1"),
        "{same:?}"
    );
    let removed = e.remove_image("berth-extra/bb:t1", false).await?;
    assert_eq!(removed, ["berth-extra/bb:t1"]);
    e.inspect_image(&env.image).await?;
    assert_eq!(
        code_of(e.remove_image("berth-extra/bb:t1", false).await),
        ErrorCode::NotFound
    );
    assert_eq!(
        code_of(e.inspect_image("no/such:image").await),
        ErrorCode::NotFound
    );

    // An image a container uses cannot be removed without force.
    let id = e
        .create_container(&RunSpec::new(&test.id).cmd(["true"]))
        .await?;
    e.tag_image(&env.image, "berth-extra/bb:t2").await?;
    e.remove_image("berth-extra/bb:t2", false).await?;
    assert_eq!(
        code_of(e.remove_image(&test.id, false).await),
        ErrorCode::Conflict
    );
    e.remove_container(&id, RemoveOptions::default()).await?;

    // Bad references are refused before anything is sent.
    assert!(drain(e.pull_image("", None), STEP).await.is_err());
    assert_eq!(
        code_of(e.tag_image(&env.image, "has space").await),
        ErrorCode::InvalidInput
    );
    Ok(())
}

#[tokio::test]
async fn push_and_pull_with_credentials_report_per_layer_progress() -> TestResult {
    let env = Env::start().await?;
    let e = &env.engine;
    let registry = Registry::start_in(&env.d, Some(("berth", "s3cret")))?;
    let auth = RegistryAuth {
        username: Some("berth".into()),
        password: Some("s3cret".into()),
        identity_token: None,
        server_address: Some(registry.addr()),
    };
    let remote = format!("{}/berth/bb:v1", registry.addr());
    e.tag_image(&env.image, &remote).await?;

    let wrong = RegistryAuth {
        password: Some("nope".into()),
        ..auth.clone()
    };
    let refused = drain(e.push_image(&remote, Some(&wrong)), TRANSFER).await;
    assert!(
        refused.is_err(),
        "push with a wrong password succeeded: {refused:?}"
    );

    let pushed = drain(e.push_image(&remote, Some(&auth)), TRANSFER).await?;
    assert!(
        pushed.iter().any(|p| p.status.contains("digest: sha256:")),
        "no digest in push progress: {pushed:?}"
    );
    assert!(
        pushed
            .iter()
            .any(|p| p.status == "Pushed" || p.status == "Layer already exists"),
        "{pushed:?}"
    );

    // Remove every local name of the image so the pull really downloads its layer.
    let id = e.inspect_image(&env.image).await?.id.ok_or("no id")?;
    e.remove_image(&id, true).await?;
    assert_eq!(code_of(e.inspect_image(&remote).await), ErrorCode::NotFound);

    let anonymous = drain(e.pull_image(&remote, None), TRANSFER).await;
    assert!(anonymous.is_err(), "pull without credentials succeeded");

    let pulled = drain(e.pull_image(&remote, Some(&auth)), TRANSFER).await?;
    let layer = pulled
        .iter()
        .find(|p| p.status == "Pull complete")
        .and_then(|p| p.layer_id.clone())
        .ok_or_else(|| format!("no completed layer in {pulled:?}"))?;
    assert!(
        pulled
            .iter()
            .any(|p| p.layer_id.as_deref() == Some(layer.as_str())
                && p.status == "Downloading"
                && p.total.is_some_and(|t| t > 0)
                && p.current.is_some()),
        "no byte progress for layer {layer}: {pulled:?}"
    );
    assert_eq!(
        e.inspect_image(&remote).await?.id.as_deref(),
        Some(id.as_str())
    );
    Ok(())
}

fn write_rootfs_tar(path: &std::path::Path, file: &str, content: &[u8]) -> std::io::Result<()> {
    let mut builder = tar::Builder::new(std::fs::File::create(path)?);
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder.append_data(&mut header, file, content)?;
    builder.finish()
}

#[tokio::test]
async fn import_build_and_prune() -> TestResult {
    let env = Env::start().await?;
    let e = &env.engine;

    // Import a root filesystem tarball with Dockerfile changes.
    let tarball = env.d.root().join(env.name("rootfs") + ".tar");
    write_rootfs_tar(&tarball, "hello.txt", b"imported")?;
    let changes = [
        "ENV FOO=bar".to_string(),
        "CMD [\"/hello.txt\"]".to_string(),
    ];
    let imported = e
        .import_image(&tarball, "berth-import/rootfs:v1", &changes)
        .await?;
    let info = e.inspect_image("berth-import/rootfs:v1").await?;
    assert_eq!(info.id.as_deref(), Some(imported.as_str()));
    let config = info.config.ok_or("no config")?;
    assert!(config
        .env
        .unwrap_or_default()
        .iter()
        .any(|v| v == "FOO=bar"));
    assert_eq!(config.cmd, Some(vec!["/hello.txt".to_string()]));

    // Build FROM scratch with a COPY; .dockerignore keeps secret.txt out.
    let ctx = env.d.root().join(env.name("ctx"));
    std::fs::create_dir(&ctx)?;
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM scratch\nARG NOTE\nLABEL note=$NOTE\nCOPY . /\n",
    )?;
    std::fs::write(ctx.join(".dockerignore"), "secret.txt\n")?;
    std::fs::write(ctx.join("hello.txt"), vec![b'a'; 200_000])?;
    std::fs::write(ctx.join("secret.txt"), "do not send")?;
    let options = BuildOptions {
        tag: Some("berth-build/scratch:v1".into()),
        build_args: [("NOTE".to_string(), "first".to_string())].into(),
        ..Default::default()
    };
    let output = tokio::time::timeout(
        TRANSFER,
        e.build_image(&ctx, &options).await?.try_collect::<Vec<_>>(),
    )
    .await??;
    let text: String = output.iter().filter_map(|p| p.stream.clone()).collect();
    assert!(text.contains("Step 1/4 : FROM scratch"), "{text}");
    assert!(
        text.contains("Successfully tagged berth-build/scratch:v1"),
        "{text}"
    );
    let first = e.inspect_image("berth-build/scratch:v1").await?;
    let labels = first.config.and_then(|c| c.labels).unwrap_or_default();
    assert_eq!(labels.get("note").map(String::as_str), Some("first"));
    let history = e.image_history("berth-build/scratch:v1").await?;
    assert!(
        history.iter().any(|h| h.created_by.contains("COPY")),
        "{history:?}"
    );

    // The image holds hello.txt but not the ignored file.
    let probe = e
        .create_container(&RunSpec::new("berth-build/scratch:v1").cmd(["/none"]))
        .await?;
    let docker = berth_testkit::docker_client(e.address()).await;
    let archive = |path: &str| {
        docker
            .download_from_container(
                &probe,
                Some(bollard::query_parameters::DownloadFromContainerOptions { path: path.into() }),
            )
            .map_ok(|b| b.to_vec())
            .try_concat()
    };
    let hello = archive("/hello.txt").await?;
    assert!(hello.len() >= 200_000, "hello.txt missing from the image");
    assert!(
        archive("/secret.txt").await.is_err(),
        ".dockerignore'd file was sent"
    );
    e.remove_container(&probe, RemoveOptions::default()).await?;

    // A bad context is refused before anything is sent.
    let missing = BuildOptions {
        dockerfile: "Nope.dockerfile".into(),
        ..Default::default()
    };
    assert_eq!(
        code_of(e.build_image(&ctx, &missing).await.map(|_| ())),
        ErrorCode::InvalidInput
    );

    // Rebuilding the tag with other content leaves the first image dangling; prune reclaims it.
    std::fs::write(ctx.join("hello.txt"), vec![b'b'; 200_000])?;
    let rebuilt = tokio::time::timeout(
        TRANSFER,
        e.build_image(&ctx, &options).await?.try_collect::<Vec<_>>(),
    )
    .await??;
    assert!(!rebuilt.is_empty());
    let first_id = first.id.ok_or("no id")?;
    let report = e.prune_images(false).await?;
    assert!(report.deleted.contains(&first_id), "{report:?}");
    assert!(report.space_reclaimed >= 200_000, "{report:?}");
    assert_eq!(
        code_of(e.inspect_image(&first_id).await),
        ErrorCode::NotFound
    );
    e.inspect_image("berth-build/scratch:v1").await?;
    Ok(())
}
