use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_core::{ApiError, BerthPaths, EngineState, ErrorCode};
use berth_vm::VmStatus;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::artifacts::agent_candidates;
use super::fake_vm::{lifecycle, lifecycle_with, FakeFactory, BOOT_OUTPUT};
use super::{lock, Lifecycle};

async fn ping_through(socket: &Path) -> String {
    let mut conn = UnixStream::connect(socket).await.unwrap();
    conn.write_all(b"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 64];
    let n = conn.read(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn start_walks_every_phase_and_serves_the_engine_socket() {
    let home = tempfile::tempdir().unwrap();
    let (lc, _factory) = lifecycle(home.path());
    let status = lc.start().await.unwrap();
    assert!(status.state.is_running());
    assert_eq!(status.vm.as_ref().unwrap().pid, Some(1234));
    assert_eq!(
        status.agent.as_ref().unwrap().protocol,
        berth_link::handshake::PROTOCOL_VERSION
    );
    // A watcher may see fast transitions merged; the history has every one.
    let phases: Vec<_> = lc.history().iter().map(|t| format!("{:?}", t.to)).collect();
    assert_eq!(phases.len(), 4, "{phases:?}");
    assert!(phases[0].contains("BootingVm") && phases[1].contains("WaitingForAgent"));
    assert!(phases[2].contains("WaitingForEngine") && phases[3].contains("Running"));

    let socket = home.path().join("run/docker.sock");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(ping_through(&socket).await.starts_with("HTTP/1.1 200"));
    // Idempotent.
    assert!(lc.start().await.unwrap().state.is_running());
}

#[tokio::test]
async fn stop_is_graceful_through_the_agent() {
    let home = tempfile::tempdir().unwrap();
    let (lc, factory) = lifecycle(home.path());
    lc.start().await.unwrap();
    let status = lc.stop().await.unwrap();
    assert_eq!(status.state, EngineState::Stopped);
    let vm = lock(&factory.last).clone().unwrap();
    // The agent powered the guest off (not a kill by the host).
    assert_eq!(
        *vm.status.borrow(),
        VmStatus::Exited {
            code: Some(0),
            signal: None,
            requested: false
        }
    );
    assert!(!home.path().join("run/docker.sock").exists());
    // Stopping a stopped engine is fine.
    assert_eq!(lc.stop().await.unwrap().state, EngineState::Stopped);
}

#[tokio::test]
async fn a_crash_is_an_error_at_once_and_start_recovers() {
    let home = tempfile::tempdir().unwrap();
    let (lc, factory) = lifecycle(home.path());
    lc.start().await.unwrap();
    let mut rx = lc.subscribe();
    let vm = lock(&factory.last).clone().unwrap();
    let crashed_at = tokio::time::Instant::now();
    vm.exit(false, Some(9));
    let state = tokio::time::timeout(
        Duration::from_secs(2),
        rx.wait_for(|s| matches!(s, EngineState::Error { .. })),
    )
    .await
    .expect("Error within 2 s")
    .unwrap()
    .clone();
    assert!(crashed_at.elapsed() < Duration::from_secs(2));
    let EngineState::Error { code, message } = state else {
        unreachable!()
    };
    assert_eq!(code, ErrorCode::VmFailed);
    assert!(message.contains("signal 9"), "{message}");
    assert!(lc.start().await.unwrap().state.is_running());
    assert!(ping_through(&home.path().join("run/docker.sock"))
        .await
        .starts_with("HTTP/1.1 200"));
}

// The exit is published before the hypervisor's start returns: a start that raced the two
// reported a bare "exited during start" and lost QEMU's own words.
#[tokio::test]
async fn a_vm_that_dies_at_boot_is_reported_with_its_output() {
    let home = tempfile::tempdir().unwrap();
    let factory = FakeFactory {
        dies_at_boot: true,
        ..FakeFactory::default()
    };
    let (lc, _factory) = lifecycle_with(home.path(), factory);
    let err = lc.start().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::VmFailed);
    assert!(err.message.contains(BOOT_OUTPUT), "{}", err.message);
    let EngineState::Error { message, .. } = lc.status().state else {
        panic!("{:?}", lc.status().state);
    };
    assert!(message.contains(BOOT_OUTPUT), "{message}");
}

fn quick_health() -> crate::health::HealthPolicy {
    crate::health::HealthPolicy {
        interval: Duration::from_millis(100),
        timeout: Duration::from_millis(300),
        misses: 2,
    }
}

#[tokio::test]
async fn a_hung_agent_is_an_error_with_the_reason() {
    let home = tempfile::tempdir().unwrap();
    let (lc, factory) = lifecycle(home.path());
    let lc = lc.with_health(quick_health());
    lc.start().await.unwrap();
    // Healthy pings keep it running.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(lc.status().state.is_running());
    let vm = lock(&factory.last).clone().unwrap();
    vm.stalled.set(true);
    let mut rx = lc.subscribe();
    let state = tokio::time::timeout(
        Duration::from_secs(10),
        rx.wait_for(|s| matches!(s, EngineState::Error { .. })),
    )
    .await
    .expect("Error once pings go unanswered")
    .unwrap()
    .clone();
    let EngineState::Error { code, message } = state else {
        unreachable!()
    };
    assert_eq!(code, ErrorCode::VmFailed);
    assert!(message.contains("did not answer a ping"), "{message}");
    assert!(vm.status.borrow().is_running(), "the VM itself still runs");
    // Retry works: a fresh VM.
    assert!(lc.start().await.unwrap().state.is_running());
}

#[tokio::test]
async fn an_engine_its_agent_reports_down_is_an_error() {
    let home = tempfile::tempdir().unwrap();
    let (lc, factory) = lifecycle(home.path());
    let lc = lc.with_health(quick_health());
    lc.start().await.unwrap();
    let vm = lock(&factory.last).clone().unwrap();
    // dockerd in the guest is gone; the agent still answers.
    std::fs::remove_file(vm.dir.join("guest-docker.sock")).unwrap();
    let mut rx = lc.subscribe();
    let state = tokio::time::timeout(
        Duration::from_secs(10),
        rx.wait_for(|s| matches!(s, EngineState::Error { .. })),
    )
    .await
    .expect("Error once the engine stays down")
    .unwrap()
    .clone();
    let EngineState::Error { message, .. } = state else {
        unreachable!()
    };
    assert!(message.contains("stopped answering its agent"), "{message}");
}

#[tokio::test]
async fn auto_restart_brings_a_hung_engine_back() {
    let home = tempfile::tempdir().unwrap();
    let (lc, factory) = lifecycle(home.path());
    std::fs::write(
        home.path().join("config/settings.toml"),
        "[app]\nauto_restart_engine = true\n",
    )
    .unwrap();
    let lc = Arc::new(lc.with_health(quick_health()));
    let backoff = crate::health::Backoff {
        base: Duration::from_millis(100),
        cap: Duration::from_secs(1),
        stable: Duration::from_secs(60),
    };
    let restarts = crate::health::auto_restart(lc.clone(), backoff);
    lc.start().await.unwrap();
    let first = lock(&factory.last).clone().unwrap();
    first.stalled.set(true);
    let mut rx = lc.subscribe();
    tokio::time::timeout(
        Duration::from_secs(10),
        rx.wait_for(|s| matches!(s, EngineState::Error { .. })),
    )
    .await
    .expect("the stall is noticed")
    .unwrap();
    tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|s| s.is_running()))
        .await
        .expect("restarted automatically")
        .unwrap();
    let second = lock(&factory.last).clone().unwrap();
    assert!(!Arc::ptr_eq(&first, &second), "a new VM was booted");
    assert!(
        !first.status.borrow().is_running(),
        "the hung VM was killed"
    );
    restarts.abort();
}

// Paused time: the sleeps below advance the clock instantly and exactly, so the count and
// the gaps do not depend on how loaded the machine is.
#[tokio::test(start_paused = true)]
async fn auto_restart_backs_off_and_only_when_enabled() {
    let home = tempfile::tempdir().unwrap();
    let paths = BerthPaths::under(home.path());
    paths.ensure().unwrap();
    std::fs::write(paths.settings_file(), "[app]\nauto_restart_engine = true\n").unwrap();
    let attempts = Arc::new(Mutex::new(Vec::<tokio::time::Instant>::new()));
    let seen = attempts.clone();
    let lc = Arc::new(Lifecycle::with_artifacts(
        paths.clone(),
        Arc::new(FakeFactory::default()),
        move || {
            lock(&seen).push(tokio::time::Instant::now());
            Err(ApiError::new(ErrorCode::VmFailed, "no image"))
        },
    ));
    let backoff = crate::health::Backoff {
        base: Duration::from_millis(100),
        cap: Duration::from_millis(400),
        stable: Duration::from_secs(60),
    };
    let restarts = crate::health::auto_restart(lc.clone(), backoff);
    assert!(lc.start().await.is_err());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let times = lock(&attempts).clone();
    // 1 + restarts after 100, 200, 400, 400 ms: a fast loop would make hundreds.
    assert!((3..=6).contains(&times.len()), "{} attempts", times.len());
    for (i, pair) in times.windows(2).enumerate() {
        let gap = pair[1] - pair[0];
        assert!(gap >= backoff.delay(i as u32), "gap {i} was {gap:?}");
    }
    // Turned off: the next failure stays an Error.
    std::fs::write(
        paths.settings_file(),
        "[app]\nauto_restart_engine = false\n",
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let count = lock(&attempts).len();
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(lock(&attempts).len(), count, "no restart once disabled");
    assert!(matches!(lc.status().state, EngineState::Error { .. }));
    restarts.abort();
}

#[test]
fn the_agent_is_looked_for_beside_berth_then_in_the_image() {
    let image = Path::new("/Applications/Berth.app/Contents/Resources/vm-image/aarch64");
    let exe = Path::new("/Applications/Berth.app/Contents/MacOS/berth");
    assert_eq!(
        agent_candidates(None, Some(exe), image),
        [
            PathBuf::from("/Applications/Berth.app/Contents/MacOS/berth-agent"),
            image.join("berth-agent")
        ]
    );
    assert_eq!(
        agent_candidates(Some("/x/agent".into()), Some(exe), image),
        [PathBuf::from("/x/agent")]
    );
}

#[tokio::test]
async fn missing_artifacts_are_an_error_state() {
    let home = tempfile::tempdir().unwrap();
    let paths = BerthPaths::under(home.path());
    paths.ensure().unwrap();
    let lc = Lifecycle::with_artifacts(paths, Arc::new(FakeFactory::default()), || {
        Err(ApiError::new(ErrorCode::VmFailed, "no image"))
    });
    let err = lc.start().await.unwrap_err();
    assert_eq!(err.message, "no image");
    assert!(matches!(lc.status().state, EngineState::Error { .. }));
}

/// A paused VM holds a new connection (it does not fail) until the Resource Saver wakes it.
#[tokio::test]
async fn an_idle_engine_pauses_and_the_next_connection_wakes_it() {
    let home = tempfile::tempdir().unwrap();
    let (lc, factory) = lifecycle(home.path());
    let lc = Arc::new(lc);
    let saver = crate::idle::resource_saver(lc.clone());
    lc.start().await.unwrap();
    // Berth's own socket: an open connection there does not keep the engine awake.
    let app_socket = home.path().join("run/berth-engine.sock");
    let quiet = UnixStream::connect(&app_socket).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        lc.pause(super::PauseReason::Idle(Duration::from_millis(10)))
            .await
            .unwrap(),
        "nothing counted is open"
    );
    assert!(lc.status().state.is_paused());
    let vm = lock(&factory.last).clone().unwrap();

    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        ping_through(&home.path().join("run/docker.sock")),
    )
    .await
    .expect("the connection is answered after the wake");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(lc.status().state.is_running());
    let states: Vec<_> = lc.history().iter().map(|t| t.to.name()).collect();
    assert_eq!(states[states.len() - 2..], ["paused", "running"]);

    // An open counted connection keeps it from pausing; so does nothing else.
    let counted = UnixStream::connect(home.path().join("run/docker.sock"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let idle = lc
        .status()
        .idle
        .expect("a running engine says what keeps it awake");
    assert_eq!((idle.open_connections, idle.idle_secs), (1, None));
    assert!(!lc
        .pause(super::PauseReason::Idle(Duration::ZERO))
        .await
        .unwrap());
    assert!(lc.status().state.is_running());
    drop(counted);
    drop(quiet);

    // Stopped while paused: the guest is resumed and powers off through its agent.
    lc.pause(super::PauseReason::Asked).await.unwrap();
    assert!(lc.status().state.is_paused());
    assert_eq!(lc.stop().await.unwrap().state, EngineState::Stopped);
    assert_eq!(
        *vm.status.borrow(),
        VmStatus::Exited {
            code: Some(0),
            signal: None,
            requested: false
        },
        "a graceful power-off, not a kill"
    );
    saver.abort();
}

#[tokio::test]
async fn wake_now_resumes_and_a_pause_needs_a_running_engine() {
    let home = tempfile::tempdir().unwrap();
    let (lc, _factory) = lifecycle(home.path());
    let err = lc.pause(super::PauseReason::Asked).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    lc.start().await.unwrap();
    lc.pause(super::PauseReason::Asked).await.unwrap();
    assert!(lc.wake().await.unwrap().state.is_running());
    assert!(ping_through(&home.path().join("run/docker.sock"))
        .await
        .starts_with("HTTP/1.1 200"));
    // Waking a running engine changes nothing.
    assert!(lc.wake().await.unwrap().state.is_running());
    lc.stop().await.unwrap();
}
