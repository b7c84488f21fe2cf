//! Volume export to `.tar.gz` and import from one, on a real engine: a round trip keeps file
//! contents, modes, symlinks and nested folders; an import refuses a volume that has files;
//! no helper container is left behind; an engine with no image at all still works.

mod support;

use std::collections::BTreeMap;
use std::io::Read;

use berth_engine::containers::RemoveOptions;
use berth_engine::{ContainerFilter, Endpoint, Engine, ErrorCode, Mount, RunSpec, VolumeCreate};
use berth_testkit::Dockerd;
use support::{code_of, Env, TestResult, STEP};

const FILL: &str = "set -e; cd /v; mkdir -p nested/deep; echo top > top.txt; \
    printf 'deep file\\n' > nested/deep/inner.txt; chmod 0640 nested/deep/inner.txt; \
    echo run > script.sh; chmod 0750 script.sh; chmod 0711 nested; \
    ln -s nested/deep/inner.txt link; ln -s /nowhere dangling";

/// `stat` of every path in the volume (name, octal mode, type, size or link target).
const DESCRIBE: &str = "cd /v && find . | sort | while read -r p; do \
    if [ -L \"$p\" ]; then echo \"$p link -> $(readlink \"$p\")\"; \
    else echo \"$p $(stat -c '%a %F %s' \"$p\")\"; fi; done; cat nested/deep/inner.txt";

/// Runs `script` in a container with volume `name` at /v; returns its output.
async fn in_volume(env: &Env, name: &str, script: &str) -> Result<String, support::Error> {
    let spec = RunSpec::new(&env.image)
        .name(env.name("vol"))
        .mount(Mount::Volume {
            source: Some(name.to_string()),
            target: "/v".into(),
            read_only: false,
        })
        .cmd(["sh", "-c", script]);
    let e = &env.engine;
    let id = e.run(&spec).await?;
    let code = tokio::time::timeout(STEP, e.wait_container(&id)).await??;
    let opts = berth_engine::LogOptions {
        follow: false,
        ..Default::default()
    };
    let lines = support::drain(e.logs(&id, &opts), STEP).await?;
    e.remove_container(&id, RemoveOptions::default()).await?;
    let out: String = lines.into_iter().map(|l| l.text).collect();
    assert_eq!(code, 0, "{script}: {out}");
    Ok(out)
}

async fn helpers_left(e: &Engine) -> Result<usize, support::Error> {
    let all = e.list_containers(&ContainerFilter::all()).await?;
    Ok(all
        .iter()
        .filter(|c| {
            c.labels
                .contains_key(berth_engine::volume_export::HELPER_LABEL)
        })
        .count())
}

/// Entry name -> (type, mode, link target) as the host reads the exported file.
fn entries(path: &std::path::Path) -> Result<BTreeMap<String, String>, support::Error> {
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(path)?);
    let mut archive = tar::Archive::new(gz);
    let mut out = BTreeMap::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        let h = entry.header();
        let link = entry
            .link_name()?
            .map(|l| l.to_string_lossy().into_owned())
            .unwrap_or_default();
        let desc = format!("{:?} {:o} {link}", h.entry_type(), h.mode()? & 0o7777);
        let mut sink = Vec::new();
        entry.read_to_end(&mut sink)?;
        out.insert(name, desc);
    }
    Ok(out)
}

#[tokio::test]
async fn export_then_import_restores_files_modes_symlinks_and_folders() -> TestResult {
    let env = Env::start().await?;
    let e = &env.engine;
    let source = env.name("src");
    e.create_volume(&VolumeCreate {
        name: Some(source.clone()),
        ..Default::default()
    })
    .await?;
    in_volume(&env, &source, FILL).await?;
    let before = in_volume(&env, &source, DESCRIBE).await?;
    for expected in [
        "deep file",
        "./link link -> nested/deep/inner.txt",
        "./script.sh 750 regular file 4",
        "./nested/deep/inner.txt 640 regular file 10",
        "./nested 711 directory",
    ] {
        assert!(before.contains(expected), "no {expected:?} in {before}");
    }

    let dir = tempfile::tempdir()?;
    let file = dir.path().join("export.tar.gz");
    let exported = e.export_volume(&source, &file).await?;
    assert_eq!(
        exported.file_bytes,
        std::fs::metadata(&file)?.len(),
        "{exported:?}"
    );
    assert!(exported.tar_bytes > exported.file_bytes, "{exported:?}");
    assert!(!dir.path().join("export.tar.gz.part").exists());

    // The file is an ordinary tarball rooted at the volume, readable by any tar.
    let listed = entries(&file)?;
    let get = |k: &str| listed.get(k).map(String::as_str).unwrap_or("<missing>");
    assert!(
        get("./nested/deep/inner.txt").starts_with("Regular 640"),
        "{listed:?}"
    );
    assert!(get("./script.sh").starts_with("Regular 750"), "{listed:?}");
    assert!(
        get("./nested/").starts_with("Directory 711")
            || get("./nested").starts_with("Directory 711"),
        "{listed:?}"
    );
    assert_eq!(
        get("./link"),
        "Symlink 777 nested/deep/inner.txt",
        "{listed:?}"
    );
    assert_eq!(get("./dangling"), "Symlink 777 /nowhere", "{listed:?}");

    // Import into a volume that does not exist yet: it is created and matches the source.
    let copy = env.name("copy");
    let imported = e.import_volume(&copy, &file).await?;
    assert_eq!(imported.tar_bytes, exported.tar_bytes);
    let after = in_volume(&env, &copy, DESCRIBE).await?;
    assert_eq!(after, before);

    // A volume with files is refused, and keeps its files.
    assert_eq!(
        code_of(e.import_volume(&copy, &file).await),
        ErrorCode::Conflict
    );
    assert_eq!(in_volume(&env, &copy, DESCRIBE).await?, before);

    // An existing empty volume is fine.
    let empty = env.name("empty");
    e.create_volume(&VolumeCreate {
        name: Some(empty.clone()),
        ..Default::default()
    })
    .await?;
    e.import_volume(&empty, &file).await?;
    assert_eq!(in_volume(&env, &empty, DESCRIBE).await?, before);

    // A file that is not an archive is invalid input, and the volume it would have made is gone.
    let junk = dir.path().join("junk.tar.gz");
    std::fs::write(&junk, [0x1f, 0x8b, 1, 2, 3, 4, 5])?;
    let fresh = env.name("fresh");
    assert_eq!(
        code_of(e.import_volume(&fresh, &junk).await),
        ErrorCode::InvalidInput
    );
    assert_eq!(code_of(e.inspect_volume(&fresh).await), ErrorCode::NotFound);

    // Exporting a volume that does not exist creates nothing.
    let missing = dir.path().join("missing.tar.gz");
    assert_eq!(
        code_of(e.export_volume("berth-no-such-volume", &missing).await),
        ErrorCode::NotFound
    );
    assert_eq!(
        code_of(e.inspect_volume("berth-no-such-volume").await),
        ErrorCode::NotFound
    );
    assert!(!missing.exists());

    assert_eq!(helpers_left(e).await?, 0);
    Ok(())
}

#[tokio::test]
async fn an_engine_without_images_imports_its_own_helper_image() -> TestResult {
    let d = Dockerd::start()?;
    let e = Engine::connect(&Endpoint::Unix(d.socket().to_owned())).await?;
    assert!(e.list_images(false).await?.is_empty());
    let name = d.unique_name("bare");
    e.create_volume(&VolumeCreate {
        name: Some(name.clone()),
        ..Default::default()
    })
    .await?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("bare.tar.gz");
    let exported = e.export_volume(&name, &file).await?;
    assert!(exported.file_bytes > 0);
    let listed = entries(&file)?;
    assert_eq!(listed.keys().collect::<Vec<_>>(), ["./"], "{listed:?}");
    let tags: Vec<String> = e
        .list_images(false)
        .await?
        .into_iter()
        .flat_map(|i| i.repo_tags)
        .collect();
    assert_eq!(tags, [berth_engine::volume_export::HELPER_IMAGE]);

    let copy = d.unique_name("bare-copy");
    e.import_volume(&copy, &file).await?;
    e.inspect_volume(&copy).await?;
    assert_eq!(helpers_left(&e).await?, 0);
    Ok(())
}
