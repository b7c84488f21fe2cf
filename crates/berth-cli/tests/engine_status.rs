//! `berth status` against a real engine and an absent one, through the built binary.
// The engine tier reaches its daemons over unix sockets; it runs on Linux.
#![cfg(unix)]

use std::process::Command;
use std::time::{Duration, Instant};

use berth_testkit::Dockerd;

fn berth(home: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
    cmd.env("BERTH_HOME", home).env_remove("DOCKER_CONTEXT");
    cmd
}

#[test]
fn status_json_prints_the_engines_version_and_api_version() {
    let d = Dockerd::start().expect("start a private dockerd");
    let home = tempfile::tempdir().unwrap();
    let out = berth(home.path())
        .args(["status", "--json"])
        .env("DOCKER_HOST", d.docker_host())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["reachable"], true);
    assert_eq!(status["endpoint"], d.docker_host());

    // The same versions the stock CLI reports.
    let cli = berth_testkit::run(d.docker().args([
        "version",
        "--format",
        "{{.Server.Version}} {{.Server.APIVersion}}",
    ]))
    .unwrap();
    let mut expected = cli.split_whitespace();
    assert_eq!(status["engine"]["version"], expected.next().unwrap());
    assert_eq!(status["engine"]["apiVersion"], expected.next().unwrap());
}

#[test]
fn an_engine_chosen_in_settings_is_used() {
    let d = Dockerd::start().expect("start a private dockerd");
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("settings.toml"),
        format!("[engine]\nendpoint = \"{}\"\n", d.docker_host()),
    )
    .unwrap();
    let out = berth(home.path())
        .args(["status"])
        .env_remove("DOCKER_HOST")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&d.docker_host()), "{stdout}");
    assert!(stdout.contains("API version"), "{stdout}");
}

#[test]
fn an_unreachable_engine_is_a_clear_error_not_a_hang() {
    let home = tempfile::tempdir().unwrap();
    // A socket that accepts connections and never answers: the worst kind of engine.
    let silent = home.path().join("silent.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&silent).unwrap();
    for host in [
        "unix:///nonexistent/docker.sock".to_owned(),
        format!("unix://{}", silent.display()),
    ] {
        let started = Instant::now();
        let out = berth(home.path())
            .args(["status", "--json"])
            .env("DOCKER_HOST", &host)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{host}");
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(status["reachable"], false);
        assert_eq!(
            status["error"]["code"], "engine_unreachable",
            "{host}: {status}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{host} took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn an_invalid_settings_file_names_the_field_and_keeps_a_backup() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("settings.toml"),
        "[vm]\nmemory_mib = \"lots\"\n",
    )
    .unwrap();
    let out = berth(home.path()).args(["status"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("vm.memory_mib"), "{stderr}");
    let backups: Vec<_> = std::fs::read_dir(&config)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".invalid-"))
        .collect();
    assert_eq!(backups.len(), 1, "one backup kept");
    assert_eq!(
        std::fs::read_to_string(config.join("settings.toml")).unwrap(),
        "[vm]\nmemory_mib = \"lots\"\n",
        "the user's file is not replaced"
    );
}
