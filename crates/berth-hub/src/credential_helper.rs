//! The docker credential-helper protocol (docker/docker-credential-helpers): the docker CLI runs
//! `docker-credential-<name> <action>`, writes the request on stdin and reads JSON on stdout.
//! Errors go to stdout too, with exit status 1.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use crate::secrets::{RegistryCredential, SecretsError};
use crate::sensitive::Sensitive;

/// The exact message the docker CLI recognises as "no credentials" (not a failure).
pub const NOT_FOUND: &str = "credentials not found in native keychain";
const MISSING_URL: &str = "no credentials server URL";
const MISSING_USER: &str = "no credentials username";

/// What the helper needs from a credential store.
pub trait CredentialStore {
    fn store(&self, credential: &RegistryCredential) -> Result<(), SecretsError>;
    fn get(&self, server_url: &str) -> Result<Option<RegistryCredential>, SecretsError>;
    /// Returns false when there was nothing to erase.
    fn erase(&self, server_url: &str) -> Result<bool, SecretsError>;
    /// Server URL -> user name.
    fn list(&self) -> Result<BTreeMap<String, String>, SecretsError>;
}

/// The JSON both `store` reads and `get` writes.
#[derive(Serialize, Deserialize)]
struct WireCredentials {
    #[serde(rename = "ServerURL")]
    server_url: String,
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

#[derive(Debug, thiserror::Error)]
enum HelperError {
    #[error("{0}")]
    Protocol(&'static str),
    #[error("cannot read the request: {0}")]
    Input(String),
    #[error("Unknown credential action `{0}`")]
    UnknownAction(String),
    #[error("{0}")]
    Store(String),
}

/// Runs one helper invocation. `args` excludes the program name. Returns the exit status.
pub fn run(
    args: &[String],
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    store: &dyn CredentialStore,
) -> i32 {
    let Some(action) = args.first() else {
        let _ = writeln!(
            stdout,
            "Usage: docker-credential-berth <store|get|erase|list|version>"
        );
        return 1;
    };
    match dispatch(action, stdin, stdout, store) {
        Ok(()) => 0,
        Err(error) => {
            let _ = writeln!(stdout, "{error}");
            1
        }
    }
}

fn dispatch(
    action: &str,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    store: &dyn CredentialStore,
) -> Result<(), HelperError> {
    match action {
        "store" => {
            let wire: WireCredentials = serde_json::from_str(&read_all(stdin)?)
                .map_err(|e| HelperError::Input(e.to_string()))?;
            if wire.server_url.trim().is_empty() {
                return Err(HelperError::Protocol(MISSING_URL));
            }
            if wire.username.is_empty() {
                return Err(HelperError::Protocol(MISSING_USER));
            }
            store
                .store(&RegistryCredential {
                    server_url: wire.server_url,
                    username: wire.username,
                    secret: Sensitive::new(wire.secret),
                })
                .map_err(store_error)
        }
        "get" => {
            let server_url = read_server_url(stdin)?;
            let credential = store
                .get(&server_url)
                .map_err(store_error)?
                .ok_or(HelperError::Protocol(NOT_FOUND))?;
            let wire = WireCredentials {
                server_url,
                username: credential.username,
                secret: credential.secret.into_inner(),
            };
            write_json(stdout, &wire)
        }
        "erase" => {
            let server_url = read_server_url(stdin)?;
            match store.erase(&server_url).map_err(store_error)? {
                true => Ok(()),
                false => Err(HelperError::Protocol(NOT_FOUND)),
            }
        }
        "list" => write_json(stdout, &store.list().map_err(store_error)?),
        "version" => writeln!(
            stdout,
            "docker-credential-berth (berth-hub) v{}",
            env!("CARGO_PKG_VERSION")
        )
        .map_err(|e| HelperError::Input(e.to_string())),
        other => Err(HelperError::UnknownAction(other.to_string())),
    }
}

fn store_error(error: SecretsError) -> HelperError {
    HelperError::Store(crate::error_chain(&error))
}

fn read_all(stdin: &mut dyn Read) -> Result<String, HelperError> {
    let mut input = String::new();
    stdin
        .read_to_string(&mut input)
        .map_err(|e| HelperError::Input(e.to_string()))?;
    Ok(input)
}

fn read_server_url(stdin: &mut dyn Read) -> Result<String, HelperError> {
    let url = read_all(stdin)?.trim().to_string();
    if url.is_empty() {
        return Err(HelperError::Protocol(MISSING_URL));
    }
    Ok(url)
}

fn write_json(stdout: &mut dyn Write, value: &impl Serialize) -> Result<(), HelperError> {
    serde_json::to_writer(&mut *stdout, value).map_err(|e| HelperError::Input(e.to_string()))?;
    writeln!(stdout).map_err(|e| HelperError::Input(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::{MemoryKeyring, SecretStore};

    fn invoke(store: &SecretStore, action: &str, input: &str) -> (i32, String) {
        let mut out = Vec::new();
        let code = run(
            &[action.to_string()],
            &mut input.as_bytes(),
            &mut out,
            store,
        );
        (code, String::from_utf8(out).unwrap())
    }

    fn store() -> SecretStore {
        SecretStore::new(std::sync::Arc::new(MemoryKeyring::default()), "test")
    }

    #[test]
    fn store_get_list_erase_round_trip() {
        let store = store();
        let input =
            r#"{"ServerURL":"https://index.docker.io/v1/","Username":"alice","Secret":"tok"}"#;
        assert_eq!(invoke(&store, "store", input), (0, String::new()));

        let (code, out) = invoke(&store, "get", "https://index.docker.io/v1/\n");
        assert_eq!(code, 0, "{out}");
        let got: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            got,
            serde_json::json!({"ServerURL":"https://index.docker.io/v1/","Username":"alice","Secret":"tok"})
        );

        let (code, out) = invoke(&store, "list", "");
        assert_eq!(code, 0);
        let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            listed,
            serde_json::json!({"https://index.docker.io/v1/": "alice"})
        );

        assert_eq!(
            invoke(&store, "erase", "https://index.docker.io/v1/"),
            (0, String::new())
        );
        assert_eq!(
            invoke(&store, "get", "https://index.docker.io/v1/"),
            (1, format!("{NOT_FOUND}\n"))
        );
    }

    #[test]
    fn get_finds_the_entry_under_another_spelling() {
        let store = store();
        let input = r#"{"ServerURL":"localhost:5000","Username":"u","Secret":"p"}"#;
        assert_eq!(invoke(&store, "store", input).0, 0);
        let (code, out) = invoke(&store, "get", "http://localhost:5000/");
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains(r#""ServerURL":"http://localhost:5000/""#),
            "{out}"
        );
    }

    #[test]
    fn not_found_is_the_exact_message_on_stdout_with_exit_1() {
        let store = store();
        assert_eq!(
            invoke(&store, "get", "nowhere.example"),
            (1, "credentials not found in native keychain\n".to_string())
        );
        assert_eq!(
            invoke(&store, "erase", "nowhere.example"),
            (1, "credentials not found in native keychain\n".to_string())
        );
    }

    #[test]
    fn malformed_requests_fail_with_exit_1_and_a_message() {
        let store = store();
        let (code, out) = invoke(&store, "store", "not json");
        assert_eq!(code, 1);
        assert!(out.starts_with("cannot read the request"), "{out}");
        let (code, out) = invoke(
            &store,
            "store",
            r#"{"ServerURL":"","Username":"u","Secret":"s"}"#,
        );
        assert_eq!((code, out.as_str()), (1, "no credentials server URL\n"));
        let (code, out) = invoke(
            &store,
            "store",
            r#"{"ServerURL":"r","Username":"","Secret":"s"}"#,
        );
        assert_eq!((code, out.as_str()), (1, "no credentials username\n"));
        let (code, out) = invoke(&store, "store", r#"{"ServerURL":"r","Username":"u"}"#);
        assert_eq!(code, 1, "{out}");
        assert_eq!(
            invoke(&store, "get", "  \n"),
            (1, "no credentials server URL\n".into())
        );
        assert_eq!(
            invoke(&store, "frobnicate", ""),
            (1, "Unknown credential action `frobnicate`\n".into())
        );
        let mut out = Vec::new();
        assert_eq!(run(&[], &mut "".as_bytes(), &mut out, &store), 1);
        assert!(String::from_utf8(out).unwrap().starts_with("Usage:"));
    }

    #[test]
    fn version_names_the_helper() {
        let (code, out) = invoke(&store(), "version", "");
        assert_eq!(code, 0);
        assert!(out.starts_with("docker-credential-berth"), "{out}");
    }
}
