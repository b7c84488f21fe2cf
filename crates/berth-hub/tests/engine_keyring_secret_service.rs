//! The Secret Service keyring for real: gnome-keyring on a private D-Bus session bus
//! (`dbus-run-session`), with its data in a temp HOME. Needs `gnome-keyring` and `dbus`
//! (the README's setup installs them); without them this test fails, it does not skip.
//!
//! The test re-runs itself inside `dbus-run-session` so the bus, and everything on it, ends with
//! it. Inside, it starts `gnome-keyring-daemon` (unlocked, secrets only), stores a credential
//! through Berth, and reads, lists and erases it with `docker-credential-berth` in another process.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use berth_core::BerthPaths;
use berth_hub::credential_helper::CredentialStore;
use berth_hub::secrets::{RegistryCredential, SecretStore, KEYRING_VAR};
use berth_hub::Sensitive;
use berth_testkit::{wait_until, ChildGuard};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const INSIDE_VAR: &str = "BERTH_TEST_SECRET_SERVICE_DIR";
const TEST_NAME: &str = "secret_service_round_trip_under_gnome_keyring";

#[test]
fn secret_service_round_trip_under_gnome_keyring() -> TestResult {
    match std::env::var_os(INSIDE_VAR) {
        Some(dir) => inside_the_session(Path::new(&dir)),
        None => {
            let dir = tempfile::tempdir()?;
            let out = Command::new("dbus-run-session")
                .arg("--")
                .arg(std::env::current_exe()?)
                .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
                .env(INSIDE_VAR, dir.path())
                .env(KEYRING_VAR, "secret-service")
                .output()?;
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && stdout.contains("1 passed"),
                "inner run failed ({}):\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            Ok(())
        }
    }
}

fn helper(berth_home: &Path, action: &str, input: &str) -> std::io::Result<(bool, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_docker-credential-berth"))
        .arg(action)
        .env("BERTH_HOME", berth_home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(input.as_bytes())?;
    let out = child.wait_with_output()?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

fn inside_the_session(dir: &Path) -> TestResult {
    let home = dir.join("home");
    let runtime = dir.join("run");
    std::fs::create_dir_all(&home)?;
    std::fs::create_dir_all(&runtime)?;
    // Stopped by its PID when the test ends.
    let mut daemon = ChildGuard::spawn(
        Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdin(Stdio::piped())
            .stdout(Stdio::null()),
    )?;
    // The new login keyring's password, then EOF.
    daemon
        .stdin
        .take()
        .expect("piped")
        .write_all(b"berth-test-password")?;
    wait_until(
        Duration::from_secs(20),
        "gnome-keyring control socket",
        || runtime.join("keyring/control").exists().then_some(()),
    )?;
    let berth_home = dir.join("berth");
    let paths = BerthPaths::under(&berth_home);
    let store = wait_until(Duration::from_secs(20), "the Secret Service", || {
        SecretStore::for_paths(&paths).ok()
    })?;
    assert_eq!(store.keyring_name(), "Secret Service");

    store.store(&RegistryCredential {
        server_url: "reg.example:5000".into(),
        username: "sam".into(),
        secret: Sensitive::new("ss-secret-1".into()),
    })?;
    // Another process (as the docker CLI runs it) reads it from the same keyring.
    let (ok, out) = helper(&berth_home, "get", "reg.example:5000")?;
    assert!(ok, "{out}");
    assert!(out.contains(r#""Secret":"ss-secret-1""#), "{out}");
    let (ok, out) = helper(&berth_home, "list", "")?;
    assert!(ok && out.contains(r#""reg.example:5000":"sam""#), "{out}");
    let (ok, out) = helper(&berth_home, "erase", "reg.example:5000")?;
    assert!(ok, "{out}");
    assert!(store.get("reg.example:5000")?.is_none());
    // Nothing was written in the clear: the only files are gnome-keyring's encrypted ones.
    let keyrings = home.join("data/keyrings");
    for entry in std::fs::read_dir(&keyrings)? {
        let bytes = std::fs::read(entry?.path())?;
        assert!(!bytes.windows(11).any(|w| w == b"ss-secret-1"));
    }
    Ok(())
}
