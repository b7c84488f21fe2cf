//! What the primer teaches about storage: the writable layer, named volumes, bind mounts and
//! tmpfs mounts, on a real engine.

mod engine_seed_support;

use std::time::Duration;

use berth_engine::{Mount, VolumeCreate};
use engine_seed_support::{Seed, TestResult};

#[tokio::test]
async fn a_file_in_the_writable_layer_disappears_with_its_container() -> TestResult {
    let s = Seed::start().await?;
    let spec = s.idle_spec("layer");
    let first = s.run(&spec).await?;
    s.exec_ok(&first, &["sh", "-c", "echo kept-in-layer > /layer.txt"])
        .await?;
    assert_eq!(
        s.exec_ok(&first, &["cat", "/layer.txt"]).await?.trim(),
        "kept-in-layer"
    );
    // Another container of the same image has its own layer: no file there.
    let other = s.run(&s.idle_spec("layer-other")).await?;
    let (code, _) = s.exec(&other, &["cat", "/layer.txt"]).await?;
    assert_ne!(code, 0, "a second container sees the first one's layer");

    // Remove the container; a new one of the same name and image starts from the image again.
    s.remove(&first).await?;
    let again = s.run(&spec).await?;
    assert_ne!(again, first);
    let (code, out) = s.exec(&again, &["cat", "/layer.txt"]).await?;
    assert_ne!(code, 0, "the file outlived its container: {out}");
    assert!(out.contains("No such file"), "{out}");
    Ok(())
}

#[tokio::test]
async fn a_named_volume_outlives_its_containers_and_is_shared() -> TestResult {
    let s = Seed::start().await?;
    let volume = s.name("vol");
    s.engine
        .create_volume(&VolumeCreate {
            name: Some(volume.clone()),
            ..Default::default()
        })
        .await?;
    let at = |target: &str| Mount::Volume {
        source: Some(volume.clone()),
        target: target.into(),
        read_only: false,
    };
    let writer = s.run(&s.idle_spec("writer").mount(at("/data"))).await?;
    let reader = s.run(&s.idle_spec("reader").mount(at("/shared"))).await?;
    s.exec_ok(&writer, &["sh", "-c", "echo shared-note > /data/note"])
        .await?;
    // The second container sees the write at once, through its own mount point.
    assert_eq!(
        s.exec_ok(&reader, &["cat", "/shared/note"]).await?.trim(),
        "shared-note"
    );
    s.exec_ok(&reader, &["sh", "-c", "echo reply >> /shared/note"])
        .await?;
    assert_eq!(
        s.exec_ok(&writer, &["cat", "/data/note"]).await?,
        "shared-note\nreply\n"
    );

    s.remove(&writer).await?;
    s.remove(&reader).await?;
    let listed = s.engine.list_volumes().await?;
    assert!(
        listed.iter().any(|v| v.name == volume),
        "volume went away with its containers"
    );
    let later = s
        .run_once(
            &berth_engine::RunSpec::new(&s.image)
                .mount(at("/again"))
                .cmd(["cat", "/again/note"]),
        )
        .await?;
    assert_eq!(later, (0, "shared-note\nreply\n".to_owned()));
    Ok(())
}

#[tokio::test]
async fn a_bind_mount_shows_host_files_and_writes_back_to_the_host() -> TestResult {
    let s = Seed::start().await?;
    let host_dir = s.d.root().join(s.name("bind"));
    std::fs::create_dir(&host_dir)?;
    std::fs::write(host_dir.join("from-host.txt"), "written on the host\n")?;
    let id = s
        .run(&s.idle_spec("bind").mount(Mount::Bind {
            source: host_dir.to_string_lossy().into_owned(),
            target: "/src".into(),
            read_only: false,
        }))
        .await?;
    assert_eq!(
        s.exec_ok(&id, &["cat", "/src/from-host.txt"]).await?,
        "written on the host\n"
    );
    s.exec_ok(
        &id,
        &["sh", "-c", "echo written inside > /src/from-container.txt"],
    )
    .await?;
    assert_eq!(
        std::fs::read_to_string(host_dir.join("from-container.txt"))?,
        "written inside\n"
    );
    // And a host change after start shows up inside too: it is the same directory, not a copy.
    std::fs::write(host_dir.join("later.txt"), "later\n")?;
    assert_eq!(s.exec_ok(&id, &["cat", "/src/later.txt"]).await?, "later\n");
    Ok(())
}

#[tokio::test]
async fn a_tmpfs_mount_lives_in_memory_and_is_empty_after_a_restart() -> TestResult {
    let s = Seed::start().await?;
    let id = s
        .run(&s.idle_spec("tmpfs").mount(Mount::Tmpfs {
            target: "/mem".into(),
            size_bytes: Some(8 * 1024 * 1024),
        }))
        .await?;
    // The kernel reports a tmpfs at /mem with the requested 8 MiB limit.
    let mounts = s.exec_ok(&id, &["cat", "/proc/mounts"]).await?;
    let line = mounts
        .lines()
        .find(|l| l.split(' ').nth(1) == Some("/mem"))
        .ok_or_else(|| format!("no /mem in {mounts}"))?;
    assert!(line.starts_with("tmpfs /mem tmpfs "), "{line}");
    assert!(line.contains("size=8192k"), "{line}");
    // The limit holds: 9 MiB do not fit.
    let (code, out) = s
        .exec(
            &id,
            &["dd", "if=/dev/zero", "of=/mem/big", "bs=1048576", "count=9"],
        )
        .await?;
    assert_ne!(code, 0, "wrote 9 MiB into an 8 MiB tmpfs: {out}");
    assert!(out.contains("No space left"), "{out}");

    s.exec_ok(
        &id,
        &[
            "sh",
            "-c",
            "echo in-memory > /mem/f; echo on-disk > /disk.txt",
        ],
    )
    .await?;
    s.engine
        .restart_container(&id, Some(Duration::from_secs(5)))
        .await?;
    let (code, _) = s.exec(&id, &["cat", "/mem/f"]).await?;
    assert_ne!(code, 0, "a tmpfs file survived a restart");
    // For contrast: the writable layer does survive a restart.
    assert_eq!(s.exec_ok(&id, &["cat", "/disk.txt"]).await?, "on-disk\n");
    Ok(())
}

#[tokio::test]
async fn an_empty_volume_is_filled_from_the_image_but_a_bind_mount_hides_it() -> TestResult {
    let s = Seed::start().await?;
    // An image whose /seed holds a file: the test image plus one committed layer.
    let maker = s.run(&s.idle_spec("maker")).await?;
    s.exec_ok(
        &maker,
        &[
            "sh",
            "-c",
            "mkdir /seed && echo from-the-image > /seed/hello.txt",
        ],
    )
    .await?;
    let image = format!("berth-test/{}:1", s.name("filled"));
    let (repo, tag) = image.rsplit_once(':').ok_or("tag")?;
    s.commit(&maker, repo, tag).await?;
    s.remove(&maker).await?;

    // A new, empty named volume mounted there is first filled with the image's files ...
    let volume = s.name("fill");
    let cat = berth_engine::RunSpec::new(&image).cmd(["cat", "/seed/hello.txt"]);
    let via_volume = cat.clone().mount(Mount::Volume {
        source: Some(volume.clone()),
        target: "/seed".into(),
        read_only: false,
    });
    assert_eq!(
        s.run_once(&via_volume).await?,
        (0, "from-the-image\n".to_owned())
    );
    // ... and the volume lives in the engine's data root on the host.
    let mountpoint = s.engine.inspect_volume(&volume).await?.mountpoint;
    assert!(
        mountpoint.starts_with(&s.d.root().join("data/volumes").display().to_string()),
        "{mountpoint}"
    );
    assert_eq!(
        std::fs::read_to_string(std::path::Path::new(&mountpoint).join("hello.txt"))?,
        "from-the-image\n"
    );

    // An empty host directory bind-mounted there hides the image's files instead.
    let empty = s.d.root().join(s.name("empty"));
    std::fs::create_dir(&empty)?;
    let via_bind = cat.mount(Mount::Bind {
        source: empty.to_string_lossy().into_owned(),
        target: "/seed".into(),
        read_only: false,
    });
    let (code, out) = s.run_once(&via_bind).await?;
    assert_ne!(
        code, 0,
        "the image's file showed through a bind mount: {out}"
    );
    assert!(out.contains("No such file"), "{out}");
    assert_eq!(
        std::fs::read_dir(&empty)?.count(),
        0,
        "bind source was filled"
    );
    Ok(())
}
