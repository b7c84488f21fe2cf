//! UI tier: the real app (under a private Xvfb, through tauri-driver + WebKitWebDriver) with
//! Berth's own engine, i.e. no `DOCKER_HOST` and no engine in settings. The daemon is the real
//! one (see `daemon_support`: its control server and lifecycle in this process, the real agent
//! code relaying to a private dockerd), so the app speaks the real control protocol; only QEMU
//! is missing. The app must not spawn a daemon of its own (`BERTH_DAEMON_EXE` points nowhere).

mod daemon_support;
mod ui_support;

use berth_api::daemon_client::DaemonClient;
use berth_core::{BerthPaths, EngineState};
use berth_daemon::control::Request;
use berth_testkit::Dockerd;
use daemon_support::{fake_artifacts, isolate_env, relay_daemon};
use ui_support::{sh, App, Display, Driver};

/// What the tray's Quit does when `app.on_quit` is "ask" (the tray cannot be clicked through
/// WebDriver; its menu handler emits exactly this event to the window).
const ASK_TO_QUIT: &str = "window.__TAURI_INTERNALS__.invoke('plugin:event|emit', \
     { event: 'berth://quit-requested', payload: null }); return true;";

/// Clicks a button that ends the app: the WebDriver answer may never come, so click from JS
/// and do not insist on one.
async fn click_and_let_go(app: &App, testid: &str) {
    let script = format!("document.querySelector('[data-testid={testid}]').click(); return true;");
    let _ = app.client.execute(&script, vec![]).await;
}

async fn daemon_state(client: &DaemonClient) -> EngineState {
    client
        .request(&Request::Status)
        .await
        .expect("the daemon answers")
        .state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_drives_berths_daemon_and_asks_how_to_quit() {
    isolate_env();
    assert!(
        std::env::var_os("DOCKER_HOST").is_none(),
        "DOCKER_HOST would make the app use that engine instead of Berth's"
    );
    let d = Dockerd::start().expect("a private dockerd");
    let image = d.test_image().expect("the busybox test image");
    let home_dir = tempfile::tempdir().expect("BERTH_HOME");
    let home = home_dir.path().to_path_buf();
    let paths = BerthPaths::under(&home);
    paths.ensure().expect("berth dirs");
    let artifacts = fake_artifacts(&home);
    let daemon = relay_daemon(&paths, d.socket(), move || Ok(artifacts.clone()));
    let client = DaemonClient::new(&paths);
    assert_eq!(daemon_state(&client).await, EngineState::Stopped);

    let display = Display::start();
    let driver = Driver::start(&display, &[("BERTH_HOME", home.to_str().unwrap())]);
    let app = App::launch(&driver, &display).await;

    // start_engine_at_launch (the default): the app asks the daemon to start the engine.
    app.wait_for("[data-testid=engine-status][data-state=running]")
        .await;
    assert!(daemon_state(&client).await.is_running());

    // The engine behind the daemon's socket feeds the stores live.
    let name = d.unique_name("ui-engine");
    sh(d.docker()
        .args(["run", "-d", "--name", &name, &image, "sleep", "600"]));
    app.wait_for(&format!(
        "[data-testid=container-row][data-name='{name}'][data-state=running]"
    ))
    .await;

    // A published port something else holds on the host: the container runs, and its row (and
    // its details) say the port is not published, pushed by the daemon's port forwarder.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("hold a host port");
    let port = taken.local_addr().expect("its address").port();
    let web = d.unique_name("ui-port");
    sh(d.docker().args([
        "run",
        "-d",
        "--name",
        &web,
        "-p",
        &format!("{port}:80"),
        &image,
        "sleep",
        "600",
    ]));
    let badge_css =
        format!("[data-testid=container-row][data-name='{web}'] [data-testid=port-warning]");
    // Until the table has the container's published ports, the badge names the port alone.
    let expected = format!("⚠ {port}:80");
    app.wait_text(&badge_css, "the taken port as a badge", |t| t == expected)
        .await;
    let badge = app.wait_for(&badge_css).await;
    let title = badge
        .attr("title")
        .await
        .expect("badge title")
        .unwrap_or_default();
    assert!(
        title.contains(&format!("127.0.0.1:{port}")) && title.contains("already in use"),
        "{title}"
    );
    let others =
        format!("[data-testid=container-row][data-name='{name}'] [data-testid=port-warning]");
    assert!(app
        .client
        .find(fantoccini::Locator::Css(&others))
        .await
        .is_err());
    app.shot("port-warning-row").await;
    app.go(&format!("/containers/{web}/inspect")).await;
    app.wait_text(
        "[data-testid=port-warning-detail]",
        "the port warning",
        |t| {
            t.contains(&format!(
                "Port {port} on 127.0.0.1 is not published on the host"
            ))
        },
    )
    .await;
    app.shot("port-warning-details").await;
    // Removing the container ends the warning.
    app.go("/containers").await;
    app.wait_for(&badge_css).await;
    sh(d.docker().args(["rm", "-f", &web]));
    app.wait_gone("[data-testid=port-warning]").await;
    drop(taken);

    // The Engine page shows what the VM holds of this computer's memory, from the daemon (the
    // stand-in VM reports the test process's own resident set).
    app.go("/engine").await;
    app.wait_text(
        "[data-testid=vm-host-memory]",
        "the VM's memory on the host",
        |t| t.ends_with("B in use on this computer") && !t.starts_with('—'),
    )
    .await;
    app.shot("engine-host-memory").await;

    // Stop and Start from the Engine page are requests to the daemon.
    app.click("[data-testid=engine-stop]").await;
    app.wait_for("[data-testid=engine-status][data-state=stopped]")
        .await;
    assert_eq!(daemon_state(&client).await, EngineState::Stopped);
    app.wait_text("[data-testid=engine-state]", "stopped", |t| {
        t.contains("Engine stopped")
    })
    .await;
    app.shot("engine-stopped").await;
    app.click("[data-testid=engine-start]").await;
    app.wait_for("[data-testid=engine-status][data-state=running]")
        .await;
    assert!(daemon_state(&client).await.is_running());
    // Restart: the daemon comes back Running with a new `since` (a watch may coalesce the
    // short Stopping state away on a loaded machine, so the sequence itself is not asserted).
    let EngineState::Running { since: before } = daemon_state(&client).await else {
        panic!("running before the restart");
    };
    let mut watch = client.watch().await.expect("watch the daemon");
    assert!(
        watch.next().await.is_some(),
        "the watch starts with a status"
    );
    app.click("[data-testid=engine-restart]").await;
    let mut seen = Vec::new();
    tokio::time::timeout(ui_support::WAIT, async {
        while let Some(reply) = watch.next().await {
            if let berth_daemon::control::Reply::State { state } = reply {
                seen.push(state.name());
                if matches!(state, EngineState::Running { since } if since > before) {
                    return;
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the daemon restarts the engine (seen {seen:?})"));
    app.wait_for("[data-testid=engine-status][data-state=running]")
        .await;

    // Quit asks (on_quit = "ask"): Cancel keeps everything; "Keep running" ends only the app.
    app.client.execute(ASK_TO_QUIT, vec![]).await.expect("emit");
    let question = app.wait_for("[data-testid=quit-question]").await;
    let deadline = std::time::Instant::now() + ui_support::WAIT;
    while !question.is_displayed().await.unwrap_or(false) {
        assert!(
            std::time::Instant::now() < deadline,
            "the question never showed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    app.shot("quit-dialog").await;
    app.click("[data-testid=quit-cancel]").await;
    app.wait_gone("[data-testid=quit-question]").await;
    app.client.execute(ASK_TO_QUIT, vec![]).await.expect("emit");
    app.wait_for("[data-testid=quit-keep]").await;
    click_and_let_go(&app, "quit-keep").await;
    // The app is gone; the engine is not.
    let deadline = std::time::Instant::now() + ui_support::WAIT;
    while app
        .client
        .find(fantoccini::Locator::Css("body"))
        .await
        .is_ok()
    {
        assert!(std::time::Instant::now() < deadline, "the app did not quit");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(daemon_state(&client).await.is_running());
    // End the WebDriver session of the app that quit, or the driver refuses a second one
    // ("Maximum number of active sessions").
    app.client.clone().close().await.ok();
    drop(app);

    // A new app follows the running engine; "Stop engine and quit" (remembered) ends the engine
    // and the daemon.
    let app = App::launch(&driver, &display).await;
    app.wait_for("[data-testid=engine-status][data-state=running]")
        .await;
    app.client.execute(ASK_TO_QUIT, vec![]).await.expect("emit");
    app.wait_for("[data-testid=quit-stop]").await;
    app.click("[data-testid=quit-remember]").await;
    click_and_let_go(&app, "quit-stop").await;
    let deadline = std::time::Instant::now() + ui_support::WAIT;
    while !daemon.server.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "the daemon did not end on Stop engine and quit"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!client.is_running().await);
    // "Remember my choice" made it the setting.
    let settings = berth_core::Settings::load(&paths.settings_file()).expect("settings");
    assert_eq!(
        settings.app.on_quit,
        berth_core::settings::OnQuit::StopEngine
    );
}
