//! UI tier: the Settings and Troubleshoot pages of the real app (embedded UI, WebKitGTK) under a
//! private Xvfb, driven through tauri-driver, against a private dockerd from berth-testkit.
//! settings.toml and the stock docker CLI are the references on the other side. Screenshots:
//! `settings.png`, `settings-invalid.png`, `troubleshoot.png` under target/ui-screenshots.

mod ui_support;

use std::path::{Path, PathBuf};

use berth_testkit::wait_until;
use berth_testkit::Dockerd;
use ui_support::{sh, App, Display, Driver, WAIT};

fn berth_home() -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("berth-ui-settings-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("config")).expect("BERTH_HOME");
    std::fs::create_dir_all(dir.join("logs")).expect("BERTH_HOME/logs");
    dir
}

fn settings_text(home: &Path) -> String {
    std::fs::read_to_string(home.join("config/settings.toml")).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_and_troubleshoot_pages_work_on_a_real_engine() {
    let d = Dockerd::start().expect("a private dockerd");
    let image = d.test_image().expect("the busybox test image");
    let home = berth_home();
    // A key this Berth does not know must survive the page's save.
    std::fs::write(
        home.join("config/settings.toml"),
        "future_key = \"kept\"\n[vm]\ncpus = 2\n",
    )
    .unwrap();
    std::fs::write(home.join("logs/daemon.log"), "INFO e2e-first-line\n").unwrap();
    std::fs::write(
        home.join("logs/vm-console.log"),
        "[ 0.0] e2e-console-line\n",
    )
    .unwrap();
    // A private home: the login item and the docker CLI's config (a reset removes Berth's
    // context there) stay inside the test.
    let user_home = home.join("user");
    std::fs::create_dir_all(&user_home).unwrap();
    let display = Display::start();
    let driver = Driver::start(
        &display,
        &[
            ("DOCKER_HOST", &d.docker_host()),
            ("BERTH_HOME", home.to_str().unwrap()),
            ("HOME", user_home.to_str().unwrap()),
            ("DOCKER_CONFIG", user_home.join(".docker").to_str().unwrap()),
        ],
    );
    let app = App::launch(&driver, &display).await;
    app.wait_text("[data-testid=engine-status]", "engine running", |t| {
        t.contains("running")
    })
    .await;

    // A valid change lands in settings.toml, unknown keys kept.
    app.click("[data-testid=nav-settings]").await;
    app.wait_for("[data-testid=settings-page] [data-key='vm.cpus']")
        .await;
    app.wait_text("[data-testid=bind-explainer]", "the binding address", |t| {
        t.contains("127.0.0.1:8080")
    })
    .await;
    app.type_into("[data-key='vm.cpus']", "3").await;
    app.click("[data-testid=settings-save]").await;
    // An existing engine (this test's dockerd) is not Berth's to restart: no restart offer.
    app.wait_for("[data-testid=settings-saved]").await;
    wait_until(WAIT, "settings.toml has cpus = 3", || {
        settings_text(&home).contains("cpus = 3")
    })
    .unwrap();
    let text = settings_text(&home);
    assert!(text.contains("future_key = \"kept\""), "{text}");
    app.shot("settings").await;
    assert!(app
        .client
        .find(fantoccini::Locator::Css("[data-testid=restart-needed]"))
        .await
        .is_err());

    // An invalid value is refused with the field named, and nothing is saved.
    app.type_into("[data-key='vm.memory_mib']", "10").await;
    app.click("[data-testid=settings-save]").await;
    let message = app
        .wait_text(
            "[data-testid=field-error][data-field='vm.memory_mib']",
            "the memory field refused",
            |t| t.contains("Memory") && t.contains("512"),
        )
        .await;
    eprintln!("refused: {message}");
    app.shot("settings-invalid").await;
    let text = settings_text(&home);
    assert!(!text.contains("memory_mib = 10"), "{text}");

    // "Start Berth at login" adds the login item (XDG autostart here) and removes it again.
    app.type_into("[data-key='vm.memory_mib']", "2048").await;
    let login_item = user_home.join(".config/autostart/Berth.desktop");
    app.click("[data-key='app.start_at_login']").await;
    app.click("[data-testid=settings-save]").await;
    wait_until(WAIT, "the login item exists", || login_item.is_file()).unwrap();
    let entry = std::fs::read_to_string(&login_item).unwrap();
    assert!(entry.contains("berth-app"), "{entry}");
    assert!(settings_text(&home).contains("start_at_login = true"));
    app.click("[data-key='app.start_at_login']").await;
    app.click("[data-testid=settings-save]").await;
    wait_until(WAIT, "the login item is gone", || !login_item.exists()).unwrap();

    // Clean up removes a stopped container (the CLI sees it gone) and shows the summary.
    sh(d.docker()
        .args(["create", "--name", "e2e-stopped", &image, "true"]));
    app.go("/troubleshoot").await;
    app.wait_text("[data-testid=log-text]", "Berth's log", |t| {
        t.contains("e2e-first-line")
    })
    .await;
    app.click("[data-testid=ts-cleanup]").await;
    app.click("[data-testid=confirm-cleanup]").await;
    let summary = app
        .wait_text(
            "[data-testid=cleanup-summary]",
            "the clean-up summary",
            |t| t.contains("Containers: 1 removed"),
        )
        .await;
    eprintln!("clean up: {summary}");
    assert!(summary.contains("Clean up freed"), "{summary}");
    let left = sh(d
        .docker()
        .args(["ps", "-aq", "--filter", "name=e2e-stopped"]));
    assert!(
        left.is_empty(),
        "the stopped container is still there: {left}"
    );

    // The logs view: the VM console, and a line written after it opened shows on Refresh.
    app.click("[data-testid=log-vm]").await;
    app.wait_text("[data-testid=log-text]", "the VM console", |t| {
        t.contains("e2e-console-line")
    })
    .await;
    app.click("[data-testid=log-berth]").await;
    app.wait_text("[data-testid=log-text]", "Berth's log", |t| {
        t.contains("e2e-first-line")
    })
    .await;
    std::fs::write(
        home.join("logs/daemon.log"),
        "INFO e2e-first-line\nINFO e2e-later-line\n",
    )
    .unwrap();
    app.click("[data-testid=log-refresh]").await;
    app.wait_text("[data-testid=log-text]", "the new line", |t| {
        t.contains("e2e-later-line")
    })
    .await;

    // A diagnostics bundle is written where the page says.
    app.click("[data-testid=ts-diagnostics]").await;
    let result = app
        .wait_text(
            "[data-testid=diagnostics-result]",
            "the bundle's path",
            |t| t.contains(".tar.gz"),
        )
        .await;
    let bundle = result
        .split_whitespace()
        .find(|w| w.ends_with(".tar.gz"))
        .expect("a path in the result");
    assert!(Path::new(bundle).is_file(), "{bundle} is not a file");
    app.shot("troubleshoot").await;

    // Reset to factory defaults, after the typed confirmation: the settings are gone and the
    // page shows the defaults again.
    app.click("[data-testid=ts-reset]").await;
    app.type_into("[data-testid=reset-typed]", "reset").await;
    app.click("[data-testid=confirm-reset]").await;
    app.wait_text("[data-testid=reset-result]", "the reset", |t| {
        t.contains("factory defaults")
    })
    .await;
    assert!(
        !home.join("config/settings.toml").exists(),
        "{}",
        settings_text(&home)
    );
    app.go("/settings").await;
    let cpus = app.wait_for("[data-key='vm.cpus']").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while cpus.prop("value").await.ok().flatten().as_deref() != Some("2") {
        assert!(
            std::time::Instant::now() < deadline,
            "CPUs is not back to 2"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    drop(app);
    drop(driver);
    end_session_helpers(&user_home);
    let _ = std::fs::remove_dir_all(&home);
}

/// WebKitGTK starts session helpers (dbus-daemon, xdg-document-portal with a FUSE mount under
/// `$HOME/.cache/doc`, ...) that outlive the app. The ones that got this test's private HOME
/// were started for this test: end them by their pid so the mount goes and the dir can go.
fn end_session_helpers(home: &Path) {
    let marker = format!("HOME={}", home.display());
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in procs.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ
            .split(|b| *b == 0)
            .any(|var| var == marker.as_bytes())
        {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
        }
    }
    wait_until(WAIT, "the document portal's mount is gone", || {
        !std::fs::read_to_string("/proc/mounts")
            .unwrap_or_default()
            .contains(&home.display().to_string())
    })
    .unwrap();
}
