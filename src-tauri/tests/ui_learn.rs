//! UI tier: the Learn page of the real app (embedded UI, WebKitGTK) under a private Xvfb, driven
//! through tauri-driver, against a private dockerd from berth-testkit. The images lesson is
//! left half-way, then stepped through to the end in English, then in Japanese (app.language in
//! settings.toml before launch), and quit half-way; each time nothing labelled `berth.learn` is
//! left on the engine (the stock docker CLI is the reference). Screenshots under target/ui-screenshots:
//! `learn-list.png`, `learn-step.png`, `learn-done.png`, `learn-left.png`, `learn-ja-list.png`,
//! `learn-ja-params.png`, `learn-ja-step.png`, `learn-ja-done.png`.

mod ui_support;

use std::path::{Path, PathBuf};

use berth_testkit::{wait_until, Dockerd};
use fantoccini::Locator;
use ui_support::{sh, App, Display, Driver, WAIT};

/// What the tray's Quit does when `app.on_quit` is "ask" (as in ui_engine.rs).
const ASK_TO_QUIT: &str = "window.__TAURI_INTERNALS__.invoke('plugin:event|emit', \
     { event: 'berth://quit-requested', payload: null }); return true;";

fn berth_home() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("berth-ui-learn-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("config")).expect("BERTH_HOME");
    dir
}

fn set_language(home: &Path, language: &str) {
    std::fs::write(
        home.join("config/settings.toml"),
        format!("[app]\nlanguage = \"{language}\"\n"),
    )
    .expect("settings.toml");
}

/// Everything on the engine labelled by a lesson, by kind.
fn labelled(d: &Dockerd) -> Vec<String> {
    let lists: [(&str, &[&str]); 4] = [
        ("container", &["ps", "-aq", "--filter", "label=berth.learn"]),
        ("image", &["images", "-aq", "--filter", "label=berth.learn"]),
        (
            "volume",
            &["volume", "ls", "-q", "--filter", "label=berth.learn"],
        ),
        (
            "network",
            &["network", "ls", "-q", "--filter", "label=berth.learn"],
        ),
    ];
    let mut found = Vec::new();
    for (kind, args) in lists {
        let out = sh(d.docker().args(args));
        found.extend(out.lines().map(|id| format!("{kind} {id}")));
    }
    found
}

async fn launch(d: &Dockerd, home: &Path, display: &Display) -> (Driver, App) {
    let driver = Driver::start(
        display,
        &[
            ("DOCKER_HOST", &d.docker_host()),
            ("BERTH_HOME", home.to_str().unwrap()),
        ],
    );
    let app = App::launch(&driver, display).await;
    app.wait_text("[data-testid=engine-status]", "engine running", |t| {
        !t.is_empty()
    })
    .await;
    (driver, app)
}

/// Runs the step on screen and checks that every claim it made held.
async fn run_step(app: &App) {
    let title = app
        .wait_text("[data-testid=learn-step-title]", "a step title", |t| {
            !t.is_empty()
        })
        .await;
    app.click("[data-testid=learn-run]").await;
    app.wait_for("[data-testid=learn-next]").await;
    let checks = app
        .client
        .find_all(Locator::Css("[data-testid=learn-check]"))
        .await
        .expect("the checks");
    for check in checks {
        if check.attr("data-passed").await.ok().flatten().as_deref() != Some("true") {
            let claim = check.text().await.unwrap_or_default();
            app.fail(&format!("step {title:?}: the check {claim:?} failed"))
                .await;
        }
    }
}

/// Steps through the open lesson to its end, with a screenshot of the second step's report.
async fn run_to_the_end(app: &App, shot: &str) {
    for n in 0.. {
        let next = app
            .wait_for("[data-testid=learn-run], [data-testid=learn-done]")
            .await;
        if next.attr("data-testid").await.ok().flatten().as_deref() == Some("learn-done") {
            return;
        }
        run_step(app).await;
        if n == 1 {
            app.shot(shot).await;
        }
        app.click("[data-testid=learn-next]").await;
    }
}

async fn finish(app: &App, d: &Dockerd) {
    app.click("[data-testid=learn-finish]").await;
    app.wait_for("[data-testid=learn-left]").await;
    let left = labelled(d);
    assert!(left.is_empty(), "the lesson left {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lesson_is_stepped_through_in_english_and_in_japanese() {
    let d = Dockerd::start().expect("a private dockerd");
    let home = berth_home();
    set_language(&home, "en");
    let display = Display::start();

    let (driver, app) = launch(&d, &home, &display).await;
    app.click("[data-testid=nav-learn]").await;
    app.wait_text("[data-testid=lesson-images]", "the images lesson", |t| {
        t.contains("Images and tags") && t.contains("7 steps")
    })
    .await;
    app.shot("learn-list").await;

    // Left half-way: what the first steps made (a tag of the lesson image) is removed.
    app.click("[data-testid=learn-open-images]").await;
    run_step(&app).await;
    app.click("[data-testid=learn-next]").await;
    run_step(&app).await;
    assert!(!labelled(&d).is_empty(), "the lesson made nothing");
    app.click("[data-testid=learn-leave]").await;
    app.wait_for("[data-testid=learn-left]").await;
    let left = labelled(&d);
    assert!(left.is_empty(), "leaving the lesson left {left:?}");

    app.click("[data-testid=learn-open-images]").await;
    app.wait_text("[data-testid=learn-step-of]", "step 1", |t| {
        t == "Step 1 of 7"
    })
    .await;
    run_to_the_end(&app, "learn-step").await;
    app.shot("learn-done").await;
    finish(&app, &d).await;
    app.shot("learn-left").await;
    drop(app);
    drop(driver);

    set_language(&home, "ja");
    let (driver, app) = launch(&d, &home, &display).await;
    app.click("[data-testid=nav-learn]").await;
    app.wait_text("[data-testid=learn-page] h1", "the page in Japanese", |t| {
        t == "学ぶ"
    })
    .await;
    app.wait_text(
        "[data-testid=lesson-images]",
        "the lesson in Japanese",
        |t| t.contains("イメージとタグ") && t.contains("7 ステップ"),
    )
    .await;
    app.shot("learn-ja-list").await;
    // The registry lesson asks for its registry before it starts.
    app.click("[data-testid=learn-open-registry]").await;
    app.wait_for("[data-testid=learn-params] input[data-param=registry]")
        .await;
    app.client
        .execute(
            "document.querySelector('[data-testid=learn-params]').scrollIntoView({block: 'center'})",
            vec![],
        )
        .await
        .expect("scroll to the form");
    app.shot("learn-ja-params").await;
    app.click("[data-testid=learn-open-images]").await;
    app.wait_text("[data-testid=learn-page] h1", "the Japanese heading", |t| {
        t == "イメージとタグ"
    })
    .await;
    app.wait_text("[data-testid=learn-step-title]", "the Japanese step", |t| {
        t == "レッスン用イメージを確認する"
    })
    .await;
    run_to_the_end(&app, "learn-ja-step").await;
    app.wait_text("[data-testid=learn-done] h2", "done in Japanese", |t| {
        t == "レッスン完了"
    })
    .await;
    app.shot("learn-ja-done").await;
    finish(&app, &d).await;

    // Quitting the app half-way through a lesson removes what it made.
    app.click("[data-testid=learn-open-images]").await;
    run_step(&app).await;
    app.click("[data-testid=learn-next]").await;
    run_step(&app).await;
    assert!(!labelled(&d).is_empty(), "the lesson made nothing");
    app.client.execute(ASK_TO_QUIT, vec![]).await.expect("emit");
    app.wait_for("[data-testid=quit-keep]").await;
    // The click ends the app: its WebDriver answer may never come.
    let click = "document.querySelector('[data-testid=quit-keep]').click(); return true;";
    let _ = app.client.execute(click, vec![]).await;
    wait_until(WAIT, "the lesson's things are removed on quit", || {
        labelled(&d).is_empty()
    })
    .unwrap();
    app.client.clone().close().await.ok();
    drop(app);
    drop(driver);
    let _ = std::fs::remove_dir_all(&home);
}
