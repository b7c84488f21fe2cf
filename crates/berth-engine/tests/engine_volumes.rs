//! Volumes on a real engine: create, inspect, list with sizes and users, remove, prune.

mod support;

use std::collections::BTreeMap;

use berth_engine::containers::RemoveOptions;
use berth_engine::{ErrorCode, Mount, RunSpec, VolumeCreate};
use support::{code_of, Env, TestResult, STEP};

#[tokio::test]
async fn volumes_list_sizes_and_users_and_prune_reclaims_space() -> TestResult {
    let env = Env::start().await?;
    let e = &env.engine;
    let name = env.name("data");
    let created = e
        .create_volume(&VolumeCreate {
            name: Some(name.clone()),
            labels: BTreeMap::from([("team".to_string(), "berth".to_string())]),
            ..Default::default()
        })
        .await?;
    assert_eq!(
        (created.name.as_str(), created.driver.as_str()),
        (name.as_str(), "local")
    );
    let inspected = e.inspect_volume(&name).await?;
    assert_eq!(
        inspected.labels.get("team").map(String::as_str),
        Some("berth")
    );
    assert!(inspected.mountpoint.ends_with("/_data"));
    assert_eq!(
        code_of(
            e.create_volume(&VolumeCreate {
                name: Some("a b".into()),
                ..Default::default()
            })
            .await
        ),
        ErrorCode::InvalidInput
    );

    // A container writes 1 MiB into it.
    let writer = env.name("writer");
    let spec = RunSpec::new(&env.image)
        .name(&writer)
        .mount(Mount::Volume {
            source: Some(name.clone()),
            target: "/data".into(),
            read_only: false,
        })
        .cmd([
            "sh",
            "-c",
            "dd if=/dev/zero of=/data/blob bs=1024 count=1024 2>/dev/null",
        ]);
    let id = e.run(&spec).await?;
    assert_eq!(tokio::time::timeout(STEP, e.wait_container(&id)).await??, 0);

    let listed = e.list_volumes().await?;
    let v = listed
        .iter()
        .find(|v| v.name == name)
        .ok_or("volume not listed")?;
    assert!(v.size.is_some_and(|s| s >= 1024 * 1024), "{v:?}");
    assert_eq!(v.containers, [writer]);
    assert_eq!(v.labels.get("team").map(String::as_str), Some("berth"));
    let usage = e.disk_usage().await?;
    assert!(usage.volumes.size >= 1024 * 1024, "{usage:?}");
    assert_eq!(usage.volume_sizes.get(&name).copied(), v.size);

    // In use: removing conflicts. Unused: prune removes it and reports the space.
    assert_eq!(
        code_of(e.remove_volume(&name, false).await),
        ErrorCode::Conflict
    );
    e.remove_container(&id, RemoveOptions::default()).await?;
    let report = e.prune_volumes().await?;
    assert!(report.deleted.contains(&name), "{report:?}");
    assert!(report.space_reclaimed >= 1024 * 1024, "{report:?}");
    assert_eq!(code_of(e.inspect_volume(&name).await), ErrorCode::NotFound);

    // Create then remove directly.
    let other = e.create_volume(&VolumeCreate::default()).await?;
    assert!(!other.name.is_empty(), "no generated name");
    e.remove_volume(&other.name, false).await?;
    assert_eq!(
        code_of(e.remove_volume(&other.name, false).await),
        ErrorCode::NotFound
    );
    Ok(())
}
