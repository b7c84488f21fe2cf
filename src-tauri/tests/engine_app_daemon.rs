//! Engine tier: the app's engine link against the real Berth daemon (see `daemon_support`:
//! its control server and lifecycle in this process, the real agent code relaying to a private
//! dockerd). The link speaks the real control protocol and the engine is a real one.

mod daemon_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_api::engine_watch::EngineWatch;
use berth_api::language::Locale;
use berth_api::Berth;
use berth_app::tray;
use berth_core::{ApiError, BerthPaths, EngineState, ErrorCode};
use berth_testkit::Dockerd;
use daemon_support::{fake_artifacts, isolate_env, relay_daemon, WAIT};

fn berth_at(home: &std::path::Path) -> (BerthPaths, Berth) {
    let paths = BerthPaths::under(home);
    paths.ensure().expect("berth dirs");
    let berth = Berth::open_at(paths.clone()).expect("open berth");
    (paths, berth)
}

async fn wait_state(
    link: &EngineWatch,
    what: &str,
    pred: impl Fn(&EngineState) -> bool,
) -> EngineState {
    let mut rx = link.state().subscribe();
    let shown = match tokio::time::timeout(WAIT, rx.wait_for(|s| pred(s))).await {
        Ok(Ok(state)) => Some(state.clone()),
        _ => None,
    };
    shown.unwrap_or_else(|| panic!("the app never showed {what}; last {:?}", link.state().get()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_follows_and_drives_berths_daemon() {
    isolate_env();
    let d = Dockerd::start().expect("a private dockerd");
    let image = d.test_image().expect("the busybox test image");
    let home = tempfile::tempdir().unwrap();
    let (paths, berth) = berth_at(home.path());
    let artifacts = fake_artifacts(home.path());
    let daemon = relay_daemon(&paths, d.socket(), move || Ok(artifacts.clone()));

    let link = EngineWatch::new(berth);
    assert!(
        link.owns_engine(),
        "with no endpoint in settings and no DOCKER_HOST, the engine is Berth's VM"
    );
    let mut seen = link.state().subscribe();
    tokio::spawn(link.clone().supervise());
    wait_state(&link, "the daemon's stopped engine", |s| {
        *s == EngineState::Stopped
    })
    .await;
    seen.mark_unchanged();
    let states = Arc::new(Mutex::new(Vec::new()));
    let record = states.clone();
    tokio::spawn(async move {
        while seen.changed().await.is_ok() {
            let s = seen.borrow_and_update().clone();
            record.lock().unwrap().push(s.name());
        }
    });

    // Start: a request to the daemon, returning once the engine runs.
    link.start().await.expect("start through the daemon");
    wait_state(&link, "running", EngineState::is_running).await;
    let tray_line = tray::view(&link.state().get(), link.owns_engine(), Locale::En);
    assert_eq!(tray_line.state_line, "Engine running");
    assert!(tray_line.can_stop);
    assert_eq!(states.lock().unwrap().first(), Some(&"starting"));

    // The engine behind the daemon's socket is the harness dockerd, and its events reach the app.
    let mut events = link.subscribe_events();
    let name = d.unique_name("app-daemon");
    let run = d
        .docker()
        .args(["run", "-d", "--name", &name, &image, "sleep", "600"])
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let event = tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(e) if e.kind == "container" && e.action == "start" => break e,
                Ok(_) => continue,
                Err(e) => panic!("event stream: {e}"),
            }
        }
    })
    .await
    .expect("a container start event through the daemon's engine socket");
    assert_eq!(event.name.as_deref(), Some(name.as_str()));
    let engine = link.engine().await.expect("an engine while running");
    let all = berth_engine::ContainerFilter {
        all: true,
        ..Default::default()
    };
    let listed = engine.list_containers(&all).await.unwrap();
    assert!(listed.iter().any(|c| c.name == name), "{listed:?}");

    // Restart is one request: the engine goes down and comes back, running since later (the
    // states between may be coalesced away by the daemon's watch on a loaded machine).
    let EngineState::Running { since: before } = link.state().get() else {
        panic!("running before the restart");
    };
    link.restart().await.expect("restart through the daemon");
    wait_state(
        &link,
        "running again, since later",
        |s| matches!(s, EngineState::Running { since } if *since > before),
    )
    .await;

    // Stop.
    link.stop().await.expect("stop through the daemon");
    wait_state(&link, "stopped", |s| *s == EngineState::Stopped).await;
    assert!(link.engine().await.is_err());

    // Quit with "stop the engine" ends the daemon; the app shows a stopped engine.
    link.start().await.expect("start again");
    link.stop_for_quit().await.expect("quit the daemon");
    tokio::time::timeout(WAIT, async {
        while !daemon.server.is_finished() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the daemon ends after quit");
    wait_state(&link, "stopped after quit", |s| *s == EngineState::Stopped).await;
    assert!(
        !berth_api::Berth::open_at(paths.clone())
            .unwrap()
            .daemon()
            .is_running()
            .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_start_shows_the_daemons_reason_in_the_tray() {
    isolate_env();
    let home = tempfile::tempdir().unwrap();
    let (paths, berth) = berth_at(home.path());
    let _daemon = relay_daemon(&paths, &home.path().join("no-engine.sock"), || {
        Err(ApiError::new(
            ErrorCode::VmFailed,
            "the guest image is missing",
        ))
    });
    let link = EngineWatch::new(berth);
    tokio::spawn(link.clone().supervise());
    wait_state(&link, "stopped", |s| *s == EngineState::Stopped).await;

    let err = link.start().await.expect_err("no guest image");
    assert_eq!(err.code, ErrorCode::VmFailed);
    let state = wait_state(&link, "the error", |s| {
        matches!(s, EngineState::Error { .. })
    })
    .await;
    let view = tray::view(&state, true, Locale::En);
    assert_eq!(view.state_line, "Error: the guest image is missing");
    assert_eq!(view.tooltip, "Berth — Error: the guest image is missing");
    assert!(view.can_start);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_daemon_the_engine_is_stopped_and_a_failed_spawn_is_shown() {
    isolate_env();
    let home = tempfile::tempdir().unwrap();
    let (_paths, berth) = berth_at(home.path());
    // No daemon runs for this home, and the one the app would spawn cannot start.
    let link = EngineWatch::new(berth);
    tokio::spawn(link.clone().supervise());
    wait_state(&link, "stopped", |s| *s == EngineState::Stopped).await;
    let err = link
        .start()
        .await
        .expect_err("the daemon cannot be spawned");
    assert!(err.message.contains("no-such-berth"), "{}", err.message);
    let state = wait_state(&link, "the spawn failure", |s| {
        matches!(s, EngineState::Error { .. })
    })
    .await;
    assert!(
        tray::view(&state, true, Locale::En)
            .state_line
            .starts_with("Error: "),
        "{state:?}"
    );
}
