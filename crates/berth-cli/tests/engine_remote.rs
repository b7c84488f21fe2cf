//! `berth engines` with real remote engines, through the built binary and the stock docker CLI:
//! a private dockerd behind an sshd in its network namespace, added as `ssh://`, used as the
//! current context by `docker` and listed by Berth; a dockerd serving TLS added as `tcp://` and
//! verified; a wrong ssh key, an unknown CA and an unreachable remote refused with their names,
//! the last within 10 s, and nothing saved for any of them.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use berth_api::engines::{Engines, SshClient};
use berth_core::BerthPaths;
use berth_engine::{ContainerFilter, ContextStore};
use berth_testkit::{file_mode, Dockerd, NetnsBridge, RemoteShell, Sshd, TlsCerts};

/// One user's Berth and docker CLI config, private to the test.
struct User {
    dir: tempfile::TempDir,
}

impl User {
    fn new() -> User {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("docker")).unwrap();
        // Keys of the user's docker config that Berth must keep.
        std::fs::write(
            dir.path().join("docker/config.json"),
            r#"{"auths":{"r.example:5000":{}},"credsStore":"desktop"}"#,
        )
        .unwrap();
        User { dir }
    }

    fn berth_home(&self) -> PathBuf {
        self.dir.path().join("berth")
    }

    fn docker_config(&self) -> PathBuf {
        self.dir.path().join("docker")
    }

    /// `berth` with this user's homes and `ssh` being `ssh_program`.
    fn berth(&self, ssh_program: &Path, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(args)
            .env("BERTH_HOME", self.berth_home())
            .env("DOCKER_CONFIG", self.docker_config())
            .env("BERTH_SSH", ssh_program)
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .output()
            .unwrap()
    }

    /// The stock docker CLI with this user's config and `path_first` before PATH (its `ssh`).
    fn docker(&self, path_first: &Path, args: &[&str]) -> Output {
        let path = format!(
            "{}:{}",
            path_first.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new("docker")
            .args(args)
            .env("DOCKER_CONFIG", self.docker_config())
            .env("PATH", path)
            .env("DOCKER_CLI_HINTS", "false")
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .output()
            .unwrap()
    }

    fn config_json(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.docker_config().join("config.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn engines_json(&self, ssh_program: &Path) -> Vec<serde_json::Value> {
        let out = ok(self.berth(ssh_program, &["engines", "ls", "--json"]));
        serde_json::from_str(&out).unwrap()
    }
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn failed(out: Output) -> String {
    assert!(
        !out.status.success(),
        "should have failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn entry<'a>(list: &'a [serde_json::Value], name: &str) -> Option<&'a serde_json::Value> {
    list.iter().find(|e| e["name"] == name)
}

#[test]
fn an_ssh_remote_is_added_used_by_docker_and_listed_by_berth() {
    let d = Dockerd::start().expect("start a private dockerd");
    let image = d.test_image().unwrap();
    let sshd = Sshd::start_for(&d, RemoteShell::WithDocker).expect("start sshd");
    let ssh = sshd.ssh_program();
    let user = User::new();

    let added = ok(user.berth(&ssh, &["engines", "add", "far", &sshd.address()]));
    assert!(added.contains("Added far"), "{added}");
    let stored = user.berth_home().join("config/remote-engines.json");
    assert_eq!(file_mode(&stored), 0o600);

    let list = user.engines_json(&ssh);
    let far = entry(&list, "far").expect("far is listed");
    assert_eq!(far["kind"], "remote");
    assert_eq!(far["reachable"], true, "{far}");
    let server =
        berth_testkit::run(
            d.docker()
                .args(["version", "--format", "{{.Server.Version}}"]),
        )
        .unwrap();
    assert_eq!(far["version"], server.trim());
    assert_eq!(entry(&list, "berth").unwrap()["kind"], "berth");
    assert_eq!(entry(&list, "default").unwrap()["readOnly"], true);

    ok(user.berth(&ssh, &["engines", "use", "far"]));
    let config = user.config_json();
    assert_eq!(config["currentContext"], "far");
    assert_eq!(config["credsStore"], "desktop", "{config}");
    assert!(config["auths"]["r.example:5000"].is_object(), "{config}");

    // The stock CLI runs a container through the context Berth wrote, over its own ssh.
    let name = d.unique_name("via-ssh");
    let said = ok(user.docker(
        &sshd.path_dir(),
        &[
            "--context",
            "far",
            "run",
            "--name",
            &name,
            &image,
            "echo",
            "hello over ssh",
        ],
    ));
    assert_eq!(said.trim(), "hello over ssh");

    // Berth's own container list, over the same remote.
    let engines = Engines::new(
        BerthPaths::under(&user.berth_home()),
        ContextStore::new(user.docker_config()),
        SshClient {
            program: ssh.clone(),
        },
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listed = runtime.block_on(async {
        let engine = engines.connect("far").await.expect("connect to far");
        engine
            .list_containers(&ContainerFilter {
                all: true,
                ..Default::default()
            })
            .await
            .expect("list containers over ssh")
    });
    assert!(listed.iter().any(|c| c.name == name), "{listed:?}");

    // An ssh:// engine chosen in settings is the engine Berth's own commands talk to.
    std::fs::write(
        user.berth_home().join("config/settings.toml"),
        format!("[engine]\nendpoint = \"{}\"\n", sshd.address()),
    )
    .unwrap();
    let status = ok(user.berth(&ssh, &["status", "--json"]));
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["reachable"], true, "{status}");
    assert_eq!(status["engine"]["version"], server.trim());
    std::fs::remove_file(user.berth_home().join("config/settings.toml")).unwrap();

    // A key the server does not know is refused, by name, and not saved.
    let wrong = failed(user.berth(
        &sshd.wrong_key_ssh_program(),
        &["engines", "add", "wrong", &sshd.address()],
    ));
    assert!(wrong.contains("wrong or missing key"), "{wrong}");
    assert!(entry(&user.engines_json(&ssh), "wrong").is_none());

    // A remote that accepts the connection and never answers is reported within 10 s.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = format!(
        "ssh://root@127.0.0.1:{}",
        silent.local_addr().unwrap().port()
    );
    let started = Instant::now();
    let gone = failed(user.berth(&ssh, &["engines", "add", "gone", &silent_addr]));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(gone.contains("unreachable"), "{gone}");

    ok(user.berth(&ssh, &["engines", "rm", "far"]));
    assert!(user.config_json().get("currentContext").is_none());
    assert_eq!(user.config_json()["credsStore"], "desktop");
    assert!(entry(&user.engines_json(&ssh), "far").is_none());
    let rm_default = failed(user.berth(&ssh, &["engines", "rm", "default"]));
    assert!(rm_default.contains("it is not removed"), "{rm_default}");
}

#[test]
fn a_tls_remote_is_verified_when_added_and_by_docker() {
    let scratch = tempfile::tempdir().unwrap();
    let certs = TlsCerts::make(scratch.path()).unwrap();
    let d = Dockerd::start_with_args(certs.dockerd_args("127.0.0.1:2376")).unwrap();
    let bridge = NetnsBridge::open(&d, "127.0.0.1:2376").unwrap();
    let address = format!("tcp://127.0.0.1:{}", bridge.host_port());
    let user = User::new();
    let ssh = PathBuf::from("/nonexistent/ssh");
    let path = |p: &Path| p.display().to_string();

    let unknown_ca = failed(user.berth(
        &ssh,
        &[
            "engines",
            "add",
            "secure",
            &address,
            "--tlscacert",
            &path(&certs.other_ca),
            "--tlscert",
            &path(&certs.client_cert),
            "--tlskey",
            &path(&certs.client_key),
        ],
    ));
    assert!(unknown_ca.contains("unknown CA"), "{unknown_ca}");
    let stranger = failed(user.berth(
        &ssh,
        &[
            "engines",
            "add",
            "secure",
            &address,
            "--tlscacert",
            &path(&certs.ca),
            "--tlscert",
            &path(&certs.stranger_cert),
            "--tlskey",
            &path(&certs.stranger_key),
        ],
    ));
    assert!(stranger.contains("client certificate"), "{stranger}");
    let half = failed(user.berth(
        &ssh,
        &[
            "engines",
            "add",
            "secure",
            &address,
            "--tlscacert",
            &path(&certs.ca),
        ],
    ));
    assert!(half.contains("--tlscert"), "{half}");

    ok(user.berth(
        &ssh,
        &[
            "engines",
            "add",
            "secure",
            &address,
            "--tlscacert",
            &path(&certs.ca),
            "--tlscert",
            &path(&certs.client_cert),
            "--tlskey",
            &path(&certs.client_key),
        ],
    ));
    let list = user.engines_json(&ssh);
    let secure = entry(&list, "secure").unwrap();
    assert_eq!(secure["tls"], true);
    assert_eq!(secure["reachable"], true, "{secure}");
    let key_copy = user
        .berth_home()
        .join("config/remote-engines/secure/key.pem");
    assert_eq!(file_mode(&key_copy), 0o600);

    // DOCKER_HOST with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, as the docker CLI reads them.
    let status = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["status", "--json"])
        .env("BERTH_HOME", user.berth_home())
        .env("DOCKER_CONFIG", user.docker_config())
        .env("DOCKER_HOST", &address)
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", &certs.dir)
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_str(&ok(status)).unwrap();
    assert_eq!(status["reachable"], true, "{status}");

    // The docker CLI verifies the engine with the files Berth put in the context.
    ok(user.berth(&ssh, &["engines", "use", "secure"]));
    let server = ok(user.docker(
        scratch.path(),
        &["version", "--format", "{{.Server.Version}}"],
    ));
    assert_eq!(secure["version"], server.trim());
}
