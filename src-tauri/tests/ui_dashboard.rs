//! UI tier: the real app (embedded UI, WebKitGTK) under a private Xvfb, driven through
//! tauri-driver + WebKitWebDriver, against a private dockerd from berth-testkit. The stock
//! docker CLI is the reference on the other side of every check. A screenshot of each section
//! is saved under target/ui-screenshots (or $BERTH_UI_SCREENSHOTS).

mod ui_support;

use std::process::Command;
use std::time::Instant;

use berth_testkit::wait_until;
use berth_testkit::{Dockerd, Registry};
use fantoccini::key::Key;
use ui_support::{sh, App, Display, Driver, WAIT};

fn row(name: &str) -> String {
    format!("[data-testid=container-row][data-name='{name}']")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_manages_a_real_engine() {
    let d = Dockerd::start().expect("a private dockerd");
    let image = d.test_image().expect("the busybox test image");
    let home = tempfile_dir();
    let display = Display::start();
    let driver = Driver::start(
        &display,
        &[
            ("DOCKER_HOST", &d.docker_host()),
            ("BERTH_HOME", home.to_str().unwrap()),
        ],
    );
    let app = App::launch(&driver, &display).await;

    // The engine comes up and the (empty) containers page says what to do.
    app.wait_text("[data-testid=engine-status]", "engine running", |t| {
        t.contains("running")
    })
    .await;
    app.wait_for("[data-testid=empty-state]").await;

    // A container started with the CLI appears without a reload.
    let started = Instant::now();
    sh(d.docker().args([
        "run",
        "-d",
        "--name",
        "e2e-web",
        &image,
        "sh",
        "-c",
        "echo first-line; while true; do sleep 1; done",
    ]));
    app.wait_for(&format!("{}[data-state=running]", row("e2e-web")))
        .await;
    eprintln!(
        "bench: CLI run -> row shown: {} ms",
        started.elapsed().as_millis()
    );
    sh(d.docker().args([
        "run",
        "-d",
        "--name",
        "e2e-db",
        "--label",
        "com.docker.compose.project=shop",
        &image,
        "sleep",
        "600",
    ]));
    app.wait_for(&row("e2e-db")).await;
    app.shot("containers").await;

    // Stop in the UI stops it: the CLI sees it stopped.
    app.click(&format!("{} [data-testid=stop]", row("e2e-web")))
        .await;
    app.wait_for(&format!("{}[data-state=exited]", row("e2e-web")))
        .await;
    let running = sh(d
        .docker()
        .args(["inspect", "-f", "{{.State.Running}}", "e2e-web"]));
    assert_eq!(running, "false");

    // CLI start -> the row changes.
    let started = Instant::now();
    sh(d.docker().args(["start", "e2e-web"]));
    app.wait_for(&format!("{}[data-state=running]", row("e2e-web")))
        .await;
    eprintln!(
        "bench: CLI start -> row running: {} ms",
        started.elapsed().as_millis()
    );

    // Logs stream a line written after the view opened.
    app.click(&format!("{} a", row("e2e-web"))).await;
    app.wait_text("[data-testid=logs]", "the first line", |t| {
        t.contains("first-line")
    })
    .await;
    sh(d.docker().args([
        "exec",
        "e2e-web",
        "sh",
        "-c",
        "echo written-after-open > /proc/1/fd/1",
    ]));
    app.wait_text("[data-testid=logs]", "the new line", |t| {
        t.contains("written-after-open")
    })
    .await;
    app.shot("container-logs").await;

    // The exec terminal runs echo and shows its output.
    app.click("[data-testid=tab-exec]").await;
    app.wait_for("[data-testid=terminal] .xterm-helper-textarea")
        .await;
    app.wait_text("[data-testid=terminal]", "a prompt", |t| t.contains('#'))
        .await;
    let input = app
        .wait_for("[data-testid=terminal] .xterm-helper-textarea")
        .await;
    input
        .send_keys(&format!("echo e2e-$((6*7)){}", char::from(Key::Enter)))
        .await
        .expect("type in the terminal");
    app.wait_text("[data-testid=terminal]", "the echo output", |t| {
        t.contains("e2e-42")
    })
    .await;
    app.shot("container-terminal").await;

    app.click("[data-testid=tab-stats]").await;
    app.wait_text("[data-testid=stats]", "a memory sample", |t| {
        t.contains("MB") || t.contains("KB")
    })
    .await;
    app.shot("container-stats").await;
    app.click("[data-testid=tab-inspect]").await;
    app.wait_text("[data-testid=container-details]", "inspect fields", |t| {
        t.contains("Restart policy")
    })
    .await;
    app.click("[data-testid=tab-files]").await;
    app.wait_text("[data-testid=files]", "the root folder", |t| {
        t.contains("bin")
    })
    .await;

    // Pull from a local registry shows progress and the image appears.
    let registry = Registry::start_in(&d, None).expect("a local registry");
    // An image whose layer this engine does not have, so the pull really downloads it.
    let remote = format!("{}/e2e/busy:1", registry.addr());
    d.payload_image("e2e/payload:1", 8)
        .expect("a payload image");
    sh(d.docker().args(["tag", "e2e/payload:1", &remote]));
    sh(d.docker().args(["push", &remote]));
    sh(d.docker().args(["rmi", &remote, "e2e/payload:1"]));
    app.go("/images").await;
    app.click("[data-testid=pull-open]").await;
    app.type_into("input[name=reference]", &remote).await;
    app.click("[data-testid=pull-submit]").await;
    app.wait_text("[data-testid=pull-status]", "the pull to finish", |t| {
        t.contains("Pulled")
    })
    .await;
    app.wait_text("[data-testid=pull-layers]", "layer progress", |t| {
        !t.is_empty()
    })
    .await;
    app.shot("images-pull").await;
    app.click("[role=dialog] button[aria-label=Close]").await;
    app.wait_for(&format!("[data-testid=image-row][data-name='{remote}']"))
        .await;

    // The image's layers, then a push of a new tag to the registry with per-layer progress.
    app.click(&format!(
        "[data-testid=image-row][data-name='{remote}'] [data-testid=image-details-open]"
    ))
    .await;
    app.wait_text("[data-testid=image-history]", "the image's layers", |t| {
        t.contains("B")
    })
    .await;
    app.shot("image-layers").await;
    app.click("[role=dialog] button[aria-label=Close]").await;
    let pushed = format!("{}/e2e/pushed:2", registry.addr());
    sh(d.docker().args(["tag", &remote, &pushed]));
    // The row is named by the first tag; the push dialog chooses among all of them.
    let image_row = format!("[data-testid=image-row][data-name='{remote}']");
    app.wait_text(&image_row, "the new tag on the image's row", |t| {
        t.contains(&pushed)
    })
    .await;
    app.click(&format!("{image_row} [data-testid=push-open]"))
        .await;
    app.wait_for("[data-testid=push-tag]")
        .await
        .select_by_value(&pushed)
        .await
        .expect("choose the tag to push");
    app.click("[data-testid=push-submit]").await;
    app.wait_text("[data-testid=push-status]", "the push to finish", |t| {
        t.contains("Pushed") && t.contains("sha256:")
    })
    .await;
    app.wait_text(
        "[data-testid=push-layers]",
        "per-layer push progress",
        |t| {
            t.contains("Pushed") || t.contains("Layer already exists") || t.contains("Mounted from")
        },
    )
    .await;
    app.shot("images-push").await;
    app.click("[role=dialog] button[aria-label=Close]").await;
    let tags = registry_get(
        &d,
        &format!("http://{}/v2/e2e/pushed/tags/list", registry.addr()),
    );
    assert!(tags.contains("\"2\""), "the registry lists {tags}");

    // The run dialog creates a container with a published port, and the port answers.
    app.click(&format!(
        "[data-testid=image-row][data-name='{remote}'] [data-testid=run-open]"
    ))
    .await;
    app.type_into("#run-name", "e2e-run").await;
    app.type_into("#run-ports", "18080:8080").await;
    app.type_into(
        "#run-cmd",
        r#"sh -c "echo e2e-ok > /tmp/index.html && httpd -f -p 8080 -h /tmp""#,
    )
    .await;
    app.shot("images-run").await;
    app.click("[data-testid=run-submit]").await;
    app.wait_for(&format!("{}[data-state=running]", row("e2e-run")))
        .await;
    app.wait_text(&row("e2e-run"), "the port link", |t| {
        t.contains("18080:8080")
    })
    .await;
    wait_until(WAIT, "the published port answers", || {
        d.netns_exec(&[
            "timeout",
            "3",
            "busybox",
            "wget",
            "-q",
            "-O-",
            "http://127.0.0.1:18080/",
        ])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("e2e-ok"))
    })
    .unwrap();
    app.go("/images").await;
    app.wait_for("[data-testid=image-row]").await;
    app.shot("images").await;

    // A volume is created, browsed and deleted.
    app.go("/volumes").await;
    app.click("[data-testid=volume-create-open]").await;
    app.type_into("#vol-name", "e2e-vol").await;
    app.click("[data-testid=volume-create]").await;
    app.wait_for("[data-testid=volume-row][data-name=e2e-vol]")
        .await;
    sh(d.docker().args([
        "run",
        "--rm",
        "-v",
        "e2e-vol:/v",
        &image,
        "sh",
        "-c",
        "echo hi > /v/hello.txt",
    ]));
    app.click("[data-testid=volume-row][data-name=e2e-vol] [data-testid=volume-browse]")
        .await;
    app.wait_text("[data-testid=files]", "the file in the volume", |t| {
        t.contains("hello.txt")
    })
    .await;
    app.shot("volumes").await;

    // Export the volume to a .tar.gz, delete it, import the file: the file is back.
    let archive = home.join("e2e-vol.tar.gz");
    app.click("[data-testid=volume-row][data-name=e2e-vol] [data-testid=volume-export]")
        .await;
    app.type_into("[data-testid=export-path]", archive.to_str().unwrap())
        .await;
    app.click("[data-testid=export-submit]").await;
    app.wait_text("[data-testid=export-status]", "the export", |t| {
        t.contains("Exported e2e-vol")
    })
    .await;
    app.shot("volumes-export").await;
    app.click("[role=dialog] button[aria-label=Close]").await;
    assert!(
        archive.metadata().is_ok_and(|m| m.len() > 0),
        "no {archive:?}"
    );
    app.shot("volumes").await;
    app.click("[data-testid=volume-row][data-name=e2e-vol] [data-testid=volume-delete]")
        .await;
    app.click("[data-testid=confirm]").await;
    app.wait_gone("[data-testid=volume-row][data-name=e2e-vol]")
        .await;
    let volumes = sh(d.docker().args(["volume", "ls", "-q"]));
    assert!(!volumes.lines().any(|v| v == "e2e-vol"), "{volumes}");
    app.click("[data-testid=volume-import-open]").await;
    app.type_into("[data-testid=import-path]", archive.to_str().unwrap())
        .await;
    app.type_into("[data-testid=import-name]", "e2e-restored")
        .await;
    app.click("[data-testid=import-submit]").await;
    app.wait_text("[data-testid=import-status]", "the import", |t| {
        t.contains("into e2e-restored")
    })
    .await;
    app.shot("volumes-import").await;
    app.click("[role=dialog] button[aria-label=Close]").await;
    app.wait_for("[data-testid=volume-row][data-name=e2e-restored]")
        .await;
    let restored = sh(d.docker().args([
        "run",
        "--rm",
        "-v",
        "e2e-restored:/v",
        &image,
        "cat",
        "/v/hello.txt",
    ]));
    assert_eq!(restored, "hi");

    // A network is created and a container connected.
    app.go("/networks").await;
    app.click("[data-testid=network-create-open]").await;
    app.type_into("#net-name", "e2e-net").await;
    app.click("[data-testid=network-create]").await;
    app.click("[data-testid=network-row][data-name=e2e-net] button.link")
        .await;
    app.wait_for("[data-testid=network-details]").await;
    let select = app.wait_for("[data-testid=network-connect-select]").await;
    select
        .select_by_value("e2e-web")
        .await
        .expect("choose e2e-web");
    app.click("[data-testid=network-connect]").await;
    app.wait_text("[data-testid=network-member]", "e2e-web attached", |t| {
        t.contains("e2e-web")
    })
    .await;
    let members = sh(d.docker().args([
        "network",
        "inspect",
        "-f",
        "{{range .Containers}}{{.Name}} {{end}}",
        "e2e-net",
    ]));
    assert!(members.contains("e2e-web"), "{members}");
    app.shot("networks").await;

    app.go("/engine").await;
    app.wait_for("[data-testid=disk-usage]").await;
    app.shot("engine").await;
    app.go("/containers").await;
    app.wait_for(&row("e2e-run")).await;
    // Live CPU and memory for running rows; a dash for stopped ones.
    sh(d.docker().args(["stop", "-t", "0", "e2e-db"]));
    app.wait_for(&format!("{}[data-state=exited]", row("e2e-db")))
        .await;
    app.wait_text(
        &format!("{} [data-testid=row-mem]", row("e2e-run")),
        "the memory of a running container",
        |t| t.ends_with("B"),
    )
    .await;
    app.wait_text(
        &format!("{} [data-testid=row-cpu]", row("e2e-run")),
        "the CPU of a running container",
        |t| t.ends_with('%'),
    )
    .await;
    app.wait_text(
        &format!("{} [data-testid=row-mem]", row("e2e-db")),
        "a dash for a stopped container",
        |t| t == "—",
    )
    .await;
    app.shot("containers-final").await;

    // Browse… opens the native file dialog (GTK) over the window. Last: nothing can close it.
    app.go("/volumes").await;
    app.click("[data-testid=volume-import-open]").await;
    app.click("[data-testid=import-browse]").await;
    wait_until(WAIT, "the native open dialog is shown", || {
        Command::new("xwininfo")
            .args(["-display", &display.name, "-root", "-tree"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("\"Import volume\""))
    })
    .unwrap();
    app.shot("volumes-native-picker").await;

    app.client.close().await.ok();
    drop(registry);
    drop(driver);
    drop(display);
    std::fs::remove_dir_all(&home).ok();
}

/// A GET from inside the daemon's network namespace, where the registry listens.
fn registry_get(d: &Dockerd, url: &str) -> String {
    let out = d
        .netns_exec(&["timeout", "10", "busybox", "wget", "-q", "-O-", url])
        .output()
        .expect("busybox wget");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn tempfile_dir() -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("berth-ui-home-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("BERTH_HOME");
    dir
}
