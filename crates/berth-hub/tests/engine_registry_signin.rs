//! Registry sign-in against a real `docker-registry` with htpasswd auth (tier 2), then the stock
//! `docker` CLI pushing and pulling through `docker-credential-berth` with the secret from the
//! keyring, and refused again after sign-out. No secret may show up in logs, files or `ps`.
//!
//! The registry listens on 127.0.0.1 inside the daemon's network namespace. The daemon (which
//! pushes and pulls) reaches it there; Berth's own `/v2/` check runs in the test process, so a
//! socat pair bridges the same `127.0.0.1:<port>` on the host loopback to it. Both sides then
//! name the registry identically, as the credentials key requires.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use berth_core::BerthPaths;
use berth_hub::credential_helper::CredentialStore;
use berth_hub::docker_config::{DockerConfig, HelperMode};
use berth_hub::registry_auth::RegistryError;
use berth_hub::secrets::SecretStore;
use berth_hub::{Hub, HubError, OAuthConfig, Sensitive};
use berth_testkit::{run, Dockerd, Registry};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const USER: &str = "alice";
const SECRET: &str = "pat-7Qz9-never-printed";

/// Captures every log line the library emits, at every level.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn helper_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_docker-credential-berth"))
        .parent()
        .expect("binary has a directory")
        .to_path_buf()
}

/// The stock CLI pointed at `d`, finding `docker-credential-berth` and Berth's home.
fn docker(d: &Dockerd, berth_home: &Path) -> Command {
    let mut cmd = d.docker();
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("PATH", format!("{}:{path}", helper_dir().display()))
        .env("BERTH_HOME", berth_home);
    cmd
}

fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return hits;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            hits.extend(files_containing(&path, needle));
        } else if std::fs::read(&path)
            .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
            .unwrap_or(false)
        {
            hits.push(path);
        }
    }
    hits
}

#[test]
fn token_sign_in_then_the_docker_cli_pushes_and_pulls_through_the_keyring() -> TestResult {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let _subscriber = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish(),
    );
    let rt = tokio::runtime::Runtime::new()?;

    let d = Dockerd::start()?;
    let registry = Registry::start_in(&d, Some((USER, SECRET)))?;
    let addr = registry.addr();
    let _bridge = registry.bridge_to_host(&d)?;

    let berth_home = tempfile::tempdir()?;
    let paths = BerthPaths::under(berth_home.path());
    let secrets = SecretStore::for_paths(&paths)?;
    let hub = Hub::new(secrets.clone(), OAuthConfig::default());

    // Wrong token: refused clearly, nothing stored.
    let err = rt
        .block_on(hub.sign_in_with_token(Some(&addr), USER, Sensitive::new("wrong".into())))
        .unwrap_err();
    assert!(
        matches!(
            err,
            HubError::Registry(RegistryError::WrongCredentials { .. })
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), berth_core::ErrorCode::Unauthorized);
    assert!(hub.account(Some(&addr))?.is_none());

    // Right token: verified against /v2/ (Basic) and stored in the keyring.
    let account =
        rt.block_on(hub.sign_in_with_token(Some(&addr), USER, Sensitive::new(SECRET.into())))?;
    assert_eq!(
        (account.registry.as_str(), account.username.as_str()),
        (addr.as_str(), USER)
    );
    assert_eq!(
        secrets.get(&addr)?.map(|c| c.secret.expose().clone()),
        Some(SECRET.to_string())
    );

    // The CLI is configured by Berth: credsStore=berth, every other key kept.
    let cli_dir = d.root().join("cli");
    std::fs::create_dir_all(&cli_dir)?;
    std::fs::write(cli_dir.join("config.json"), r#"{"detachKeys":"ctrl-e,e"}"#)?;
    let config = DockerConfig::new(&cli_dir);
    config.enable(&HelperMode::CredsStore)?;
    assert!(config.uses_berth_for(&addr)?);

    // The helper answers the CLI's question from the keyring.
    let get_out = {
        let mut child = Command::new(env!("CARGO_BIN_EXE_docker-credential-berth"))
            .arg("get")
            .env("BERTH_HOME", berth_home.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        child.stdin.take().unwrap().write_all(addr.as_bytes())?;
        child.wait_with_output()?
    };
    assert!(get_out.status.success());
    assert!(String::from_utf8_lossy(&get_out.stdout).contains(&format!(r#""Username":"{USER}""#)));

    // Push and pull with the stock CLI; it gets the secret only through the helper.
    let image = d.test_image()?;
    let remote = format!("{addr}/berth/busybox:signin");
    run(d.docker().args(["tag", &image, &remote]))?;
    // What the dashboard and `berth compose pull` hand the engine for this image.
    let for_image = hub
        .credentials_for_image(&remote)?
        .expect("credentials for the image");
    assert_eq!(for_image.username, USER);
    let push = run(docker(&d, berth_home.path()).args(["push", &remote]))
        .map_err(|e| format!("{e}\nregistry log:\n{}", registry.log_tail(20)))?;
    assert!(push.contains("signin: digest:"), "{push}");
    run(d.docker().args(["rmi", &remote]))?;
    run(docker(&d, berth_home.path()).args(["pull", &remote]))?;

    // Security: the secret is nowhere but the keyring.
    let ps = run(Command::new("ps").args(["-eo", "args"]))?;
    assert!(!ps.contains(SECRET), "secret in ps output");
    assert_eq!(files_containing(&cli_dir, SECRET), Vec::<PathBuf>::new());
    assert_eq!(
        files_containing(berth_home.path(), SECRET),
        Vec::<PathBuf>::new()
    );
    let config_text = std::fs::read_to_string(config.file())?;
    assert!(!config_text.contains("\"auth\""), "{config_text}");
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        logged.contains("signed in with a token"),
        "logs were captured: {logged}"
    );
    assert!(!logged.contains(SECRET), "secret in logs");

    // Sign out: the keyring entry goes, and the next pull is refused.
    assert!(rt.block_on(hub.sign_out(Some(&addr)))?);
    assert!(secrets.get(&addr)?.is_none());
    run(d.docker().args(["rmi", &remote]))?;
    let refused = docker(&d, berth_home.path())
        .args(["pull", &remote])
        .output()?;
    assert!(!refused.status.success(), "pull succeeded after sign-out");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("no basic auth credentials") || stderr.contains("unauthorized"),
        "{stderr}"
    );

    // Opting out puts config.json back as it was.
    config.restore()?;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(config.file())?)?,
        serde_json::json!({"detachKeys": "ctrl-e,e"})
    );
    Ok(())
}

#[test]
fn docker_login_with_the_stock_cli_stores_through_the_helper() -> TestResult {
    let d = Dockerd::start()?;
    let registry = Registry::start_in(&d, Some((USER, SECRET)))?;
    let addr = registry.addr();
    let berth_home = tempfile::tempdir()?;
    let secrets = SecretStore::for_paths(&BerthPaths::under(berth_home.path()))?;
    let cli_dir = d.root().join("cli");
    DockerConfig::new(&cli_dir).enable(&HelperMode::CredHelpers(vec![addr.clone()]))?;

    let mut login = docker(&d, berth_home.path())
        .args(["login", "-u", USER, "--password-stdin", &addr])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    login.stdin.take().unwrap().write_all(SECRET.as_bytes())?;
    let out = login.wait_with_output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let stored = secrets.get(&addr)?.expect("the helper stored the login");
    assert_eq!(
        (stored.username.as_str(), stored.secret.expose().as_str()),
        (USER, SECRET)
    );
    assert_eq!(files_containing(&cli_dir, SECRET), Vec::<PathBuf>::new());

    run(docker(&d, berth_home.path()).args(["logout", &addr]))?;
    assert!(secrets.get(&addr)?.is_none());
    Ok(())
}
