//! UI tier: the Compose section and the Sign in button of the real app (under a private Xvfb,
//! through tauri-driver + WebKitWebDriver), against a private dockerd from berth-testkit and
//! berth-hub's local OAuth provider (RFC 8628). The references on the other side are Debian's
//! `docker-compose` 1.29 and the stock docker CLI. Screenshots go to target/ui-screenshots.

mod ui_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use berth_hub::test_server::{OAuthTestServer, ServerOptions};
use berth_testkit::wait_until;
use berth_testkit::Dockerd;
use ui_support::{sh, App, Display, Driver, WAIT};

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("berth-ui-{what}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

/// A one-service project in `dir`; the service prints `greeting` and then waits.
fn write_project(dir: &Path, image: &str, greeting: &str) -> PathBuf {
    std::fs::create_dir_all(dir).expect("project dir");
    let file = dir.join("docker-compose.yml");
    std::fs::write(
        &file,
        format!(
            "version: \"3.8\"\nservices:\n  web:\n    image: {image}\n    command: [\"sh\", \"-c\", \"echo {greeting}; while true; do sleep 1; done\"]\n"
        ),
    )
    .expect("write the compose file");
    file
}

fn project_row(name: &str) -> String {
    format!("[data-testid=project-row][data-name='{name}']")
}

/// The names of the running containers of compose project `project`, per the stock CLI.
fn running_in(d: &Dockerd, project: &str) -> String {
    sh(d.docker().args([
        "ps",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
        "--format",
        "{{.Names}}",
    ]))
}

/// Waits until the element's `textContent` is `want`. (WebKitWebDriver's visible-text
/// command answers "" for the spans inside the account button, so ask the DOM.)
async fn wait_content(app: &App, css: &str, want: &str) {
    let script = format!("return document.querySelector({css:?})?.textContent ?? null");
    let deadline = std::time::Instant::now() + ui_support::WAIT;
    loop {
        let got = app.client.execute(&script, vec![]).await.ok();
        if got.as_ref().and_then(|v| v.as_str()) == Some(want) {
            return;
        }
        if std::time::Instant::now() > deadline {
            app.fail(&format!("{css}: want {want:?}, last {got:?}"))
                .await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_and_compose_projects_in_the_dashboard() {
    let d = Dockerd::start().expect("a private dockerd");
    let image = d.test_image().expect("the busybox test image");
    let oauth = OAuthTestServer::start(ServerOptions {
        username: "e2e-alice".into(),
        ..ServerOptions::default()
    })
    .await
    .expect("the local OAuth provider");
    let home = temp_dir("home");
    let work = temp_dir("projects");
    // The docker CLI's config the sign-in points at Berth: a private one, never the user's.
    let docker_config = home.join("docker-config");
    std::fs::create_dir_all(&docker_config).expect("the docker config dir");
    std::fs::write(
        docker_config.join("config.json"),
        r#"{"detachKeys":"ctrl-e,e"}"#,
    )
    .expect("a config.json of the user's");

    // A project made by another tool: Debian's docker-compose 1.29.
    let legacy = write_project(&work.join("legacy"), &image, "hello-from-legacy");
    sh(Command::new("docker-compose")
        .env("DOCKER_HOST", d.docker_host())
        .args(["-p", "e2elegacy", "-f"])
        .arg(&legacy)
        .args(["up", "-d"]));

    let display = Display::start();
    let base_url = oauth.base_url();
    let driver = Driver::start(
        &display,
        &[
            ("DOCKER_HOST", &d.docker_host()),
            ("BERTH_HOME", home.to_str().unwrap()),
            ("BERTH_OAUTH_BASE_URL", &base_url),
            ("BERTH_OAUTH_CLIENT_ID", "berth-test-client"),
            // The kernel store: no desktop keyring under Xvfb. Namespaced by BERTH_HOME.
            ("BERTH_KEYRING", "keyutils"),
            ("DOCKER_CONFIG", docker_config.to_str().unwrap()),
        ],
    );
    let app = App::launch(&driver, &display).await;
    app.wait_text("[data-testid=engine-status]", "engine running", |t| {
        t.contains("running")
    })
    .await;

    // Sign in: the button shows the code; the provider approves it; the account appears.
    app.click("[data-testid=sign-in]").await;
    let code = app
        .wait_text("[data-testid=sign-in-code]", "a user code", |t| {
            !t.trim().is_empty()
        })
        .await;
    app.shot("sign-in-code").await;
    assert!(
        oauth.approve(code.trim()),
        "the provider does not know the code {code:?} the dashboard shows"
    );
    wait_content(&app, "[data-testid=account-name]", "e2e-alice").await;
    wait_content(&app, "[data-testid=account-initial]", "E").await;
    app.wait_gone("[data-testid=sign-in-code]").await;
    app.shot("signed-in").await;
    // The docker CLI now asks docker-credential-berth for Hub (credHelpers, the default), and
    // the user's other keys are kept.
    let config: serde_json::Value = serde_json::from_slice(
        &std::fs::read(docker_config.join("config.json")).expect("config.json"),
    )
    .expect("config.json is JSON");
    assert_eq!(
        config["credHelpers"]["https://index.docker.io/v1/"], "berth",
        "{config}"
    );
    assert_eq!(config["detachKeys"], "ctrl-e,e", "{config}");

    // The Hub page says it is offline (this machine cannot reach hub.docker.com).
    app.click("[data-testid=nav-hub]").await;
    app.wait_text("[data-testid=hub-offline]", "the offline message", |t| {
        t.contains("offline")
    })
    .await;
    app.shot("hub-offline").await;

    // Compose: the docker-compose project is listed with its counts.
    app.click("[data-testid=nav-compose]").await;
    let legacy_row = project_row("e2elegacy");
    app.wait_text(
        &format!("{legacy_row} [data-testid=project-counts]"),
        "1/1 running",
        |t| t.contains("1/1"),
    )
    .await;
    app.shot("compose-projects").await;

    // Its view shows the service and the combined log; Stop stops it for the CLI too.
    app.click(&format!("{legacy_row} a")).await;
    app.wait_for("[data-testid=service-row][data-service=web]")
        .await;
    app.wait_text("[data-testid=project-logs]", "the web log line", |t| {
        t.contains("hello-from-legacy")
    })
    .await;
    app.shot("compose-project").await;
    app.click("[data-testid=project-stop]").await;
    app.wait_for("[data-testid=service-row][data-state=exited]")
        .await;
    assert_eq!(running_in(&d, "e2elegacy"), "");
    // Start again: Berth reloads the project from the files its labels name.
    app.click("[data-testid=project-start]").await;
    app.wait_for("[data-testid=service-row][data-state=running]")
        .await;
    assert_eq!(running_in(&d, "e2elegacy"), "e2elegacy_web_1");

    // Up from a file: the preview lists the service, Up brings it up, the CLI sees it.
    let fresh = write_project(&work.join("fresh"), &image, "hello-from-berth");
    app.go("/compose").await;
    app.click("[data-testid=compose-up-open]").await;
    app.type_into("[data-testid=compose-file]", fresh.to_str().unwrap())
        .await;
    app.click("[data-testid=compose-check]").await;
    app.wait_for("[data-testid=preview-service][data-name=web]")
        .await;
    app.click("[data-testid=compose-up]").await;
    app.wait_for("[data-testid=compose-up-done]").await;
    app.shot("compose-up").await;
    wait_until(WAIT, "the CLI sees fresh-web-1 running", || {
        running_in(&d, "fresh") == "fresh-web-1"
    })
    .unwrap();
    app.click("[data-testid=compose-open-project]").await;
    app.wait_text("[data-testid=project-logs]", "the new project's log", |t| {
        t.contains("hello-from-berth")
    })
    .await;

    // Down (confirmed) removes it: back on the list, and no container left for the CLI.
    app.click("[data-testid=project-down]").await;
    app.click("[data-testid=confirm]").await;
    app.wait_for("[data-testid=compose-page]").await;
    app.wait_gone(&project_row("fresh")).await;
    let left = sh(d.docker().args([
        "ps",
        "-a",
        "--filter",
        "label=com.docker.compose.project=fresh",
        "-q",
    ]));
    assert_eq!(left, "", "down left containers behind");

    // Sign out: the button is back, and the keyring holds nothing for this home.
    app.click("[data-testid=account-menu]").await;
    app.click("[data-testid=sign-out]").await;
    app.wait_for("[data-testid=sign-in]").await;
    assert!(
        !oauth.revoked().is_empty(),
        "sign-out did not revoke the refresh token"
    );

    let _ = std::fs::remove_dir_all(&home);
    let _ = std::fs::remove_dir_all(&work);
}
