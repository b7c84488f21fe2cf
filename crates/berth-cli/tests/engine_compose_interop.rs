//! Engine tier: interoperability with Debian's `docker-compose` 1.29 (a real peer) and the
//! `berth compose` command line.
// The engine tier reaches its daemons over unix sockets; it runs on Linux.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use berth_compose::plan::labels;
use berth_compose::{Compose, DownOptions};
use berth_engine::{Endpoint, Engine};
use berth_testkit::{run, ChildGuard, Dockerd, Lines};

/// A project folder `name` under the daemon's root, holding `file` with `text`.
fn project_dir(d: &Dockerd, name: &str, file: &str, text: &str) -> PathBuf {
    let dir = d.root().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(file), text).unwrap();
    dir
}

fn docker_compose(d: &Dockerd, dir: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new("docker-compose");
    cmd.current_dir(dir)
        .env("DOCKER_HOST", d.docker_host())
        .env("COMPOSE_INTERACTIVE_NO_CLI", "1")
        .args(args);
    run(&mut cmd).unwrap_or_else(|e| panic!("docker-compose {args:?}: {e}"))
}

fn berth(d: &Dockerd, dir: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth-compose"));
    cmd.current_dir(dir)
        .env("DOCKER_HOST", d.docker_host())
        .env_remove("DOCKER_CONTEXT")
        .args(args);
    run(&mut cmd).unwrap_or_else(|e| panic!("berth compose {args:?}: {e}"))
}

#[test]
fn engine_compose_project_made_by_docker_compose_1_29_is_listed_stopped_and_removed() {
    let d = Dockerd::start().expect("a private dockerd");
    let image = d.test_image().unwrap();
    let yaml = format!(
        "version: '2.4'\nservices:\n  app:\n    image: {image}\n    command: [sleep, '3600']\n  side:\n    image: {image}\n    command: [sleep, '3600']\n"
    );
    let dir = project_dir(&d, "legacy", "docker-compose.yml", &yaml);
    docker_compose(&d, &dir, &["-p", "legacy", "up", "-d"]);

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let engine = Engine::connect(&Endpoint::Host(d.docker_host()))
            .await
            .unwrap();
        let compose = Compose::new(engine).with_progress(Arc::new(|_| {}));
        let projects = compose.list_projects(false).await.unwrap();
        let legacy = projects
            .iter()
            .find(|p| p.name == "legacy")
            .unwrap_or_else(|| panic!("legacy project not listed: {projects:?}"));
        assert_eq!((legacy.running, legacy.total), (2, 2));
        assert_eq!(legacy.status, "running(2)");
        assert!(
            legacy.config_files.ends_with("docker-compose.yml"),
            "{legacy:?}"
        );

        compose.stop("legacy", &[], Some(1)).await.unwrap();
        assert!(compose
            .list_projects(false)
            .await
            .unwrap()
            .iter()
            .all(|p| p.name != "legacy"));
        let all = compose.list_projects(true).await.unwrap();
        let legacy = all.iter().find(|p| p.name == "legacy").unwrap();
        assert_eq!((legacy.running, legacy.total), (0, 2));
        assert_eq!(legacy.status, "exited(2)");

        // No file needed: everything labelled with the project goes.
        compose
            .down("legacy", None, &DownOptions::default())
            .await
            .unwrap();
    });
    let filter = format!("label={}=legacy", labels::PROJECT);
    let left = run(d.docker().args(["ps", "-aq", "--filter", &filter])).unwrap();
    assert!(left.trim().is_empty(), "containers left: {left}");
    let nets = run(d
        .docker()
        .args(["network", "ls", "-q", "--filter", &filter]))
    .unwrap();
    assert!(nets.trim().is_empty(), "networks left: {nets}");
}

#[test]
fn engine_compose_cli_config_up_ps_ls_logs_down() {
    let d = Dockerd::start().expect("a private dockerd");
    let image = d.test_image().unwrap();
    let yaml = format!(
        "services:\n  talker:\n    image: {image}\n    command: [sh, -c, 'echo $$GREETING; sleep 3600']\n    environment:\n      GREETING: ${{GREETING}}\n"
    );
    let dir = project_dir(&d, "cli-demo", "compose.yaml", &yaml);
    std::fs::write(dir.join(".env"), "GREETING=hi-from-dotenv\n").unwrap();

    let config = berth(&d, &dir, &["config"]);
    assert!(config.contains("GREETING: hi-from-dotenv"), "{config}");
    assert!(config.contains("name: cli-demo"), "{config}");
    assert_eq!(berth(&d, &dir, &["config", "--services"]).trim(), "talker");

    berth(&d, &dir, &["up", "-d", "--wait"]);
    let ps = berth(&d, &dir, &["ps", "--format", "json"]);
    let row: serde_json::Value = serde_json::from_str(ps.lines().next().unwrap()).unwrap();
    assert_eq!(row["Name"], "cli-demo-talker-1");
    assert_eq!(row["Service"], "talker");
    assert_eq!(row["State"], "running");
    let ls = berth(&d, &dir, &["ls"]);
    assert!(
        ls.lines()
            .any(|l| l.starts_with("cli-demo") && l.contains("running(1)")),
        "{ls}"
    );
    let logs = berth(&d, &dir, &["logs", "--no-color"]);
    assert_eq!(logs.trim(), "cli-demo-talker-1 | hi-from-dotenv");
    // A second plain `up -d` (no --wait) is a no-op that still succeeds.
    berth(&d, &dir, &["up", "-d"]);
    berth(&d, &dir, &["down"]);
    assert!(berth(&d, &dir, &["ps", "-a", "-q"]).trim().is_empty());
}

#[test]
fn engine_compose_docker_cli_plugin_serves_docker_compose() {
    let d = Dockerd::start().expect("a private dockerd");
    let image = d.test_image().unwrap();
    let dir = project_dir(
        &d,
        "plugged",
        "compose.yaml",
        &format!("services:\n  one:\n    image: {image}\n    command: [sleep, '3600']\n"),
    );
    // The stock CLI finds plugins in $DOCKER_CONFIG/cli-plugins.
    let plugins = d.root().join("cli").join("cli-plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_berth-compose"),
        plugins.join("docker-compose"),
    )
    .unwrap();
    let version = run(d.docker().args(["compose", "version"])).unwrap();
    assert!(version.contains("Berth Compose"), "{version}");
    run(d.docker().current_dir(&dir).args(["compose", "up", "-d"])).unwrap();
    let ls = run(d.docker().args(["compose", "ls", "--format", "json"])).unwrap();
    let projects: serde_json::Value = serde_json::from_str(ls.trim()).unwrap();
    assert_eq!(projects[0]["Name"], "plugged", "{ls}");
    assert_eq!(projects[0]["Status"], "running(1)", "{ls}");
    run(d.docker().current_dir(&dir).args(["compose", "down"])).unwrap();
    let left = run(d.docker().args(["ps", "-aq"])).unwrap();
    assert!(left.trim().is_empty(), "{left}");
}

#[test]
fn engine_compose_attached_up_streams_logs_and_stops_on_interrupt() {
    let d = Dockerd::start().expect("a private dockerd");
    let image = d.test_image().unwrap();
    let yaml = format!(
        "services:\n  ticker:\n    image: {image}\n    init: true\n    command: [sh, -c, 'echo tick-started; exec sleep 3600']\n"
    );
    let dir = project_dir(&d, "attached", "compose.yaml", &yaml);
    let child = Command::new(env!("CARGO_BIN_EXE_berth-compose"))
        .current_dir(&dir)
        .env("DOCKER_HOST", d.docker_host())
        .env_remove("DOCKER_CONTEXT")
        .args(["up"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut child = ChildGuard::new(child);
    let needle = "attached-ticker-1 | tick-started";
    Lines::read(child.stdout.take().unwrap()).wait_for(
        std::time::Duration::from_secs(60),
        needle,
        |l| l.contains(needle),
    );
    // Ctrl-C: the project is stopped (not removed) and `up` exits.
    run(Command::new("kill").args(["-INT", &child.id().to_string()])).unwrap();
    let status =
        berth_testkit::wait_until(std::time::Duration::from_secs(60), "up to exit", || {
            child.try_wait().ok().flatten()
        })
        .unwrap();
    assert!(status.success(), "{status}");
    let state = run(d
        .docker()
        .args(["inspect", "-f", "{{.State.Status}}", "attached-ticker-1"]))
    .unwrap();
    assert_eq!(state.trim(), "exited");
    berth(&d, &dir, &["down"]);
}
