//! `berth compose pull` through the built binary against a real private registry: refused as
//! unauthorized before `berth login`, then pulls with the token `berth login` kept in the
//! keyring (keyutils), without touching the docker CLI's config.
//!
//! `berth login` checks the token against `/v2/` from this process while the registry listens
//! on 127.0.0.1 in the daemon's network namespace, so a socat pair makes the same
//! `127.0.0.1:<port>` answer on the host too.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use berth_testkit::{run, Dockerd, Registry};

const USER: &str = "erin";
const PAT: &str = "cli-compose-pat-9Zk";

fn berth(home: &Path, d: &Dockerd) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
    cmd.env("BERTH_HOME", home)
        .env("BERTH_KEYRING", "keyutils")
        .env("DOCKER_HOST", d.docker_host())
        .env("DOCKER_CONFIG", home.join("docker-config"))
        .env_remove("DOCKER_CONTEXT");
    cmd
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn compose_pull_uses_the_token_berth_login_kept() {
    let d = Dockerd::start().expect("a private dockerd");
    let registry = Registry::start_in(&d, Some((USER, PAT))).expect("a registry");
    let addr = registry.addr();
    let _bridge = registry.bridge_to_host(&d).expect("registry bridge");

    let remote = format!("{addr}/team/cli:1");
    registry.login(&d).unwrap();
    run(d.docker().args(["tag", &d.test_image().unwrap(), &remote])).unwrap();
    run(d.docker().args(["push", &remote])).unwrap();
    run(d.docker().args(["rmi", &remote])).unwrap();
    run(d.docker().args(["logout", &addr])).unwrap();

    let home = tempfile::tempdir().unwrap();
    let project = home.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("compose.yaml"),
        format!("services:\n  app:\n    image: {remote}\n"),
    )
    .unwrap();
    let pull = |home: &Path| {
        berth(home, &d)
            .current_dir(&project)
            .args(["compose", "-p", "clipull", "pull"])
            .output()
            .unwrap()
    };

    let refused = pull(home.path());
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(
        text(&refused).contains("Unauthorized"),
        "{}",
        text(&refused)
    );

    let mut login = berth(home.path(), &d)
        .args([
            "login",
            "-u",
            USER,
            "--token-stdin",
            "--docker-config",
            "none",
            &addr,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    login
        .stdin
        .take()
        .unwrap()
        .write_all(PAT.as_bytes())
        .unwrap();
    let login = login.wait_with_output().unwrap();
    assert!(login.status.success(), "{}", text(&login));

    let pulled = pull(home.path());
    assert!(
        pulled.status.success(),
        "{}\nregistry log:\n{}",
        text(&pulled),
        registry.log_tail(20)
    );
    run(d.docker().args(["image", "inspect", &remote])).unwrap();
    assert!(!home.path().join("docker-config/config.json").exists());

    let logout = berth(home.path(), &d)
        .args(["logout", &addr])
        .output()
        .unwrap();
    assert!(logout.status.success(), "{}", text(&logout));
}
