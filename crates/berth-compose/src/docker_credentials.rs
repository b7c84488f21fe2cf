//! Registry credentials found the way the docker CLI finds them, for the `docker compose`
//! plugin (run by the docker CLI, without Berth's keyring at hand): in `$DOCKER_CONFIG/config.json`
//! (else `~/.docker/config.json`), `credHelpers` for the image's registry, else `credsStore`,
//! asked through `docker-credential-<name> get`; else an `auths` entry. With Berth's
//! `credsStore`/`credHelpers` that is `docker-credential-berth`, so the secret still comes from
//! the keyring.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use base64::Engine as _;
use berth_engine::RegistryAuth;
use serde_json::Value;

use crate::runner::CredentialsFn;

/// The key the docker CLI uses for Docker Hub.
const DOCKER_HUB: &str = "https://index.docker.io/v1/";

/// Runs a credential helper's `get`: `(program, server)` to `(user name, secret)`.
pub type RunHelper<'a> = dyn Fn(&str, &str) -> Option<(String, String)> + 'a;

/// What a credential helper answers `get` with.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperAnswer {
    username: String,
    secret: String,
}

/// A lookup over the user's docker config, asking helpers on `PATH`.
pub fn from_docker_config() -> CredentialsFn {
    Arc::new(|image: String| {
        Box::pin(async move {
            let dir = config_dir()?;
            tokio::task::spawn_blocking(move || lookup(&dir, &image, &run_helper))
                .await
                .ok()
                .flatten()
        })
    })
}

fn config_dir() -> Option<PathBuf> {
    berth_core::paths::docker_config_dir()
}

/// The registry an image pulls from, spelled as the docker CLI keys its credentials.
pub fn registry_of_image(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            let host = first.to_ascii_lowercase();
            match host.as_str() {
                "docker.io" | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
                _ => host,
            }
        }
        _ => DOCKER_HUB.to_string(),
    }
}

/// The credentials for `image` per the config in `dir`; `helper(program, server)` runs a
/// credential helper's `get`.
pub fn lookup(dir: &Path, image: &str, helper: &RunHelper<'_>) -> Option<RegistryAuth> {
    let config: Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).ok()?).ok()?;
    let server = registry_of_image(image);
    let helper_name = config
        .get("credHelpers")
        .and_then(|h| h.get(&server))
        .or_else(|| config.get("credsStore"))
        .and_then(Value::as_str)
        .filter(|name| !name.is_empty());
    if let Some(name) = helper_name {
        let (username, secret) = helper(&format!("docker-credential-{name}"), &server)?;
        return Some(auth_from(username, secret, server));
    }
    let entry = config.get("auths")?.get(&server)?;
    if let Some(token) = entry.get("identitytoken").and_then(Value::as_str) {
        return Some(auth_from("<token>".into(), token.into(), server));
    }
    let encoded = entry.get("auth").and_then(Value::as_str)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let (username, password) = String::from_utf8(decoded)
        .ok()?
        .split_once(':')
        .map(|(u, p)| (u.to_string(), p.to_string()))?;
    Some(auth_from(username, password, server))
}

/// The helper protocol's `<token>` user name marks an identity token, not a password.
fn auth_from(username: String, secret: String, server: String) -> RegistryAuth {
    if username == "<token>" {
        return RegistryAuth {
            identity_token: Some(secret),
            server_address: Some(server),
            ..RegistryAuth::default()
        };
    }
    RegistryAuth {
        username: Some(username),
        password: Some(secret),
        identity_token: None,
        server_address: Some(server),
    }
}

/// `program get` with the server on stdin; `None` when it fails (not found, not installed).
pub fn run_helper(program: &str, server: &str) -> Option<(String, String)> {
    let mut child = Command::new(program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(server.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        return None;
    }
    let answer: HelperAnswer = serde_json::from_slice(&out.stdout).ok()?;
    Some((answer.username, answer.secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn config(json: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), json).unwrap();
        dir
    }

    #[test]
    fn images_name_their_registry_as_the_docker_cli_keys_it() {
        for (image, registry) in [
            ("busybox", DOCKER_HUB),
            ("library/busybox:1", DOCKER_HUB),
            ("docker.io/alice/app", DOCKER_HUB),
            ("localhost/app", "localhost"),
            ("Reg.Example:5000/team/app:1", "reg.example:5000"),
            ("ghcr.io/o/app@sha256:ab", "ghcr.io"),
        ] {
            assert_eq!(registry_of_image(image), registry, "{image}");
        }
    }

    #[test]
    fn cred_helpers_win_over_creds_store_and_the_helper_is_asked_for_the_registry() {
        let dir =
            config(r#"{"credsStore": "desktop", "credHelpers": {"reg.example:5000": "berth"}}"#);
        let asked = RefCell::new(Vec::new());
        let helper = |program: &str, server: &str| {
            asked.borrow_mut().push(format!("{program} {server}"));
            Some(("bob".to_string(), "s3cret".to_string()))
        };
        let auth = lookup(dir.path(), "reg.example:5000/app", &helper).unwrap();
        assert_eq!(auth.username.as_deref(), Some("bob"));
        assert_eq!(auth.password.as_deref(), Some("s3cret"));
        lookup(dir.path(), "busybox", &helper).unwrap();
        assert_eq!(
            *asked.borrow(),
            [
                "docker-credential-berth reg.example:5000",
                "docker-credential-desktop https://index.docker.io/v1/"
            ]
        );
    }

    #[test]
    fn auths_entries_and_identity_tokens_are_understood() {
        let dir = config(
            r#"{"auths": {"reg.example": {"auth": "YWxpY2U6cGE6c3M="},
                          "tok.example": {"identitytoken": "idt"}}}"#,
        );
        let never =
            |_: &str, _: &str| -> Option<(String, String)> { panic!("no helper configured") };
        let auth = lookup(dir.path(), "reg.example/app", &never).unwrap();
        assert_eq!(
            (auth.username.as_deref(), auth.password.as_deref()),
            (Some("alice"), Some("pa:ss"))
        );
        let auth = lookup(dir.path(), "tok.example/app", &never).unwrap();
        assert_eq!(auth.identity_token.as_deref(), Some("idt"));
        assert_eq!(auth.username, None);
        assert!(lookup(dir.path(), "other.example/app", &never).is_none());
    }

    #[test]
    fn nothing_found_is_anonymous() {
        let none = |_: &str, _: &str| None;
        let missing = tempfile::tempdir().unwrap();
        assert!(lookup(missing.path(), "busybox", &none).is_none());
        for bad in [
            "{not json",
            r#"{"credsStore": "berth"}"#,
            r#"{"auths": {"x": {"auth": "!!"}}}"#,
        ] {
            let dir = config(bad);
            assert!(lookup(dir.path(), "x/app", &none).is_none(), "{bad}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_real_helper_is_run_with_the_server_on_stdin() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("docker-credential-fake");
        std::fs::write(
            &script,
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\n\
             [ \"$server\" = reg.example ] || { echo 'credentials not found in native keychain'; exit 1; }\n\
             printf '{\"ServerURL\":\"%s\",\"Username\":\"<token>\",\"Secret\":\"idt\"}' \"$server\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let program = script.to_str().unwrap();
        assert_eq!(
            run_helper(program, "reg.example"),
            Some(("<token>".to_string(), "idt".to_string()))
        );
        assert_eq!(run_helper(program, "other.example"), None);
        assert_eq!(run_helper("/nonexistent/docker-credential-x", "r"), None);
    }
}
