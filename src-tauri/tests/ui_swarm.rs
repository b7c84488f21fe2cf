//! UI tier: the Swarm page of the real app (embedded UI, WebKitGTK) under a private Xvfb,
//! driven through tauri-driver, against a private dockerd from berth-testkit. The page offers
//! "Initialize swarm" on an engine in none and makes it a manager; a stack the stock docker
//! CLI deploys appears on the page with its services' replicas (engine events, no reload);
//! scaling a service from the page changes the running tasks (the docker CLI is the
//! reference); an autoscale rule set on the page is stored owner-only. Screenshots under
//! target/ui-screenshots: `swarm-init.png`, `swarm.png`, `swarm-scaled.png`, `swarm-autoscale.png`,
//! `swarm-secrets.png`, `swarm-ja.png`. A secret typed in on the page reaches the engine; a task's
//! Logs opens its container's logs; in Japanese the page shows the join command for another node.

mod ui_support;

use std::path::PathBuf;
use std::time::Duration;

use berth_testkit::{wait_until, Dockerd};
use ui_support::{sh, App, Display, Driver};

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("berth-ui-swarm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("berth/config")).expect("BERTH_HOME");
    dir
}

fn running_tasks(d: &Dockerd, service: &str) -> usize {
    sh(d.docker().args([
        "service",
        "ps",
        service,
        "-q",
        "--filter",
        "desired-state=running",
    ]))
    .lines()
    .filter(|l| !l.is_empty())
    .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_swarm_page_initializes_a_swarm_shows_a_stack_and_scales_a_service() {
    let d = Dockerd::start().expect("a private dockerd");
    let image = d.test_image().expect("the busybox test image");
    let dir = scratch();
    let display = Display::start();
    let driver = Driver::start(
        &display,
        &[
            ("DOCKER_HOST", &d.docker_host()),
            ("BERTH_HOME", dir.join("berth").to_str().unwrap()),
        ],
    );
    let app = App::launch(&driver, &display).await;
    app.click("[data-testid=nav-swarm]").await;
    app.wait_for("[data-testid=swarm-page] [data-testid=swarm-inactive]")
        .await;
    app.type_into("[data-testid=swarm-advertise-addr]", "127.0.0.1")
        .await;
    app.shot("swarm-init").await;
    app.click("[data-testid=swarm-init]").await;
    app.wait_text("[data-testid=swarm-state]", "a manager", |t| {
        t.contains("Manager")
    })
    .await;
    app.wait_for("[data-testid=swarm-node-row]").await;
    let state = sh(d
        .docker()
        .args(["info", "--format", "{{.Swarm.LocalNodeState}}"]));
    assert_eq!(state, "active");

    let file = dir.join("stack.yml");
    std::fs::write(
        &file,
        format!(
            "services:\n  web:\n    image: {image}\n    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 600 & wait\"]\n    deploy:\n      replicas: 2\n"
        ),
    )
    .unwrap();
    sh(d.docker().args([
        "stack",
        "deploy",
        "--resolve-image",
        "never",
        "-c",
        file.to_str().unwrap(),
        "app",
    ]));
    app.wait_for("[data-testid=swarm-stack-row][data-name=app]")
        .await;
    app.wait_for("[data-testid=swarm-service-row][data-name=app_web][data-running='2']")
        .await;
    app.click("[data-testid=swarm-service-row][data-name=app_web] button.link")
        .await;
    app.wait_for("[data-testid=swarm-task-row][data-state=running]")
        .await;
    app.shot("swarm").await;

    app.type_into("[data-testid=swarm-scale-input]", "4").await;
    app.click("[data-testid=swarm-scale]").await;
    app.wait_for(
        "[data-testid=swarm-service-row][data-name=app_web][data-running='4'][data-desired='4']",
    )
    .await;
    wait_until(Duration::from_secs(30), "four running tasks", || {
        running_tasks(&d, "app_web") == 4
    })
    .expect("the engine runs four tasks");
    app.shot("swarm-scaled").await;

    // An autoscale rule set on the service's page is stored owner-only.
    app.type_into("#swarm-as-max", "4").await;
    app.type_into("#swarm-as-cpu", "60").await;
    app.click("[data-testid=swarm-autoscale-set]").await;
    app.wait_text("[data-testid=swarm-autoscale-rule]", "the rule", |t| {
        t.contains("1 to 4 replicas, CPU target 60%")
    })
    .await;
    let rules = dir.join("berth/config/swarm-autoscale.json");
    assert_eq!(berth_testkit::file_mode(&rules) & 0o777, 0o600);
    let stored = std::fs::read_to_string(&rules).expect("the rules file");
    assert!(stored.contains("\"service\": \"app_web\""), "{stored}");
    app.shot("swarm-autoscale").await;

    // A secret typed in reaches the engine (which never gives its data back).
    app.type_into("[data-testid=swarm-object-name]", "db_password")
        .await;
    app.type_into("[data-testid=swarm-object-text]", "hunter2")
        .await;
    app.click("[data-testid=swarm-object-create]").await;
    app.wait_for("[data-testid=swarm-object-row][data-name=db_password][data-kind=secret]")
        .await;
    let secrets = sh(d.docker().args(["secret", "ls", "--format", "{{.Name}}"]));
    assert_eq!(secrets, "db_password");
    app.shot("swarm-secrets").await;

    // A task's logs are its container's.
    app.click("[data-testid=swarm-task-logs]").await;
    app.wait_for("[data-testid=tab-logs]").await;

    sh(d.docker().args(["stack", "rm", "app"]));
    drop(app);
    drop(driver);

    // In Japanese (app.language in settings.toml before launch).
    std::fs::write(
        dir.join("berth/config/settings.toml"),
        "[app]\nlanguage = \"ja\"\n",
    )
    .expect("settings.toml");
    let driver = Driver::start(
        &display,
        &[
            ("DOCKER_HOST", &d.docker_host()),
            ("BERTH_HOME", dir.join("berth").to_str().unwrap()),
        ],
    );
    let app = App::launch(&driver, &display).await;
    app.click("[data-testid=nav-swarm]").await;
    app.wait_text("[data-testid=swarm-state]", "a manager, in Japanese", |t| {
        t.contains("マネージャー")
    })
    .await;
    app.click("[data-testid=swarm-add-node]").await;
    app.wait_text(
        "[data-testid=swarm-join-command]",
        "the join command",
        |t| t.contains("berth swarm join --token SWMTKN-1-"),
    )
    .await;
    app.shot("swarm-ja").await;
    drop(app);
    drop(driver);
    let _ = std::fs::remove_dir_all(&dir);
}
