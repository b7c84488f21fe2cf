//! UI tier: the Engines page of the real app (embedded UI, WebKitGTK) under a private Xvfb,
//! driven through tauri-driver. A private dockerd behind an sshd in its network namespace is
//! added from the "Add remote engine" dialog (its connection test first), made the current
//! docker context with Use (config.json is the reference), and a remote that does not answer
//! is refused with the reason shown. Then the sidebar's switcher moves every page to the remote:
//! the containers page shows the remote's containers instead of the first engine's.
//! Screenshots: `engines.png`, `engines-add-refused.png`, `engines-used.png`,
//! `engines-switched.png` under target/ui-screenshots.

mod ui_support;

use std::path::PathBuf;

use berth_testkit::{wait_until, Dockerd, RemoteShell, Sshd};
use ui_support::{App, Display, Driver, WAIT};

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("berth-ui-engines-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("berth/config")).expect("BERTH_HOME");
    std::fs::create_dir_all(dir.join("user/.docker")).expect("the user's docker config");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_engine_is_added_tested_and_used_from_the_engines_page() {
    // The engine the app opens with, and a remote one behind sshd, each with its own container.
    let d = Dockerd::start().expect("a private dockerd");
    let remote = Dockerd::start().expect("the remote's dockerd");
    let sshd = Sshd::start_for(&remote, RemoteShell::WithDocker).expect("sshd in front of it");
    for (engine, name) in [(&d, "on-default"), (&remote, "on-far")] {
        let image = engine.test_image().expect("the busybox test image");
        berth_testkit::run(
            engine
                .docker()
                .args(["run", "-d", "--name", name, &image, "sleep", "600"]),
        )
        .expect("a container");
    }
    let dir = scratch();
    let docker_config = dir.join("user/.docker");
    std::fs::write(
        docker_config.join("config.json"),
        r#"{"credsStore":"desktop"}"#,
    )
    .unwrap();
    let ssh = sshd.ssh_program();
    let display = Display::start();
    let driver = Driver::start(
        &display,
        &[
            ("DOCKER_HOST", &d.docker_host()),
            ("BERTH_HOME", dir.join("berth").to_str().unwrap()),
            ("HOME", dir.join("user").to_str().unwrap()),
            ("DOCKER_CONFIG", docker_config.to_str().unwrap()),
            ("BERTH_SSH", ssh.to_str().unwrap()),
        ],
    );
    let app = App::launch(&driver, &display).await;
    app.click("[data-testid=nav-engines]").await;
    app.wait_for("[data-testid=engines-page] [data-testid=engine-row][data-name=default][data-reachable=true]")
        .await;

    // A remote that never answers: refused within the deadline, the reason in the dialog.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = format!(
        "ssh://root@127.0.0.1:{}",
        silent.local_addr().unwrap().port()
    );
    app.click("[data-testid=engine-add-open]").await;
    app.type_into("[data-testid=engine-name]", "silent").await;
    app.type_into("[data-testid=engine-address]", &silent_addr)
        .await;
    app.click("[data-testid=engine-add]").await;
    app.wait_text(
        "[data-testid=engine-add-error]",
        "the reason it was refused",
        |t| t.contains("unreachable"),
    )
    .await;
    app.shot("engines-add-refused").await;

    // The real remote: tested, then added.
    app.type_into("[data-testid=engine-name]", "far").await;
    app.type_into("[data-testid=engine-address]", &sshd.address())
        .await;
    app.click("[data-testid=engine-add]").await;
    app.wait_text("[data-testid=engines-notice]", "the remote answered", |t| {
        t.contains("Added far")
    })
    .await;
    app.wait_for("[data-testid=engine-row][data-name=far][data-kind=remote][data-reachable=true]")
        .await;
    app.shot("engines").await;

    app.click("[data-testid=engine-row][data-name=far] [data-testid=engine-use]")
        .await;
    app.wait_text("[data-testid=engines-notice]", "far is current", |t| {
        t.contains("far is now the current docker context")
    })
    .await;
    wait_until(WAIT, "config.json names far, keeping credsStore", || {
        let text = std::fs::read_to_string(docker_config.join("config.json")).ok()?;
        (text.contains("\"currentContext\": \"far\"") && text.contains("credsStore")).then_some(())
    })
    .unwrap();
    app.shot("engines-used").await;

    // The switcher: the containers page follows the engine chosen in the sidebar.
    app.click("[data-testid=nav-containers]").await;
    app.wait_for("[data-testid=container-row][data-name=on-default]")
        .await;
    switch_to(&app, "far").await;
    app.wait_for("[data-testid=container-row][data-name=on-far]")
        .await;
    app.wait_gone("[data-testid=container-row][data-name=on-default]")
        .await;
    app.shot("engines-switched").await;
    switch_to(&app, "default").await;
    app.wait_for("[data-testid=container-row][data-name=on-default]")
        .await;
    app.wait_gone("[data-testid=container-row][data-name=on-far]")
        .await;
    drop(silent);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Chooses `name` in the sidebar's switcher, as a user picking it from the list does (the list
/// reloads when the control gets the focus).
async fn switch_to(app: &App, name: &str) {
    app.client
        .execute(
            "document.querySelector('[data-testid=engine-switcher]').focus()",
            vec![],
        )
        .await
        .expect("focus the switcher");
    app.wait_for(&format!(
        "[data-testid=engine-switcher] option[value='{name}']"
    ))
    .await;
    let script = format!(
        "const s = document.querySelector('[data-testid=engine-switcher]'); \
         s.value = '{name}'; s.dispatchEvent(new Event('change', {{ bubbles: true }}));"
    );
    app.client
        .execute(&script, vec![])
        .await
        .expect("choose the engine");
}
