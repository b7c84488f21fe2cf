//! The remote engines the user added: `remote-engines.json` in Berth's config folder, with each
//! TLS engine's three files copied beside it (`remote-engines/<name>/`), all owner-only and
//! written atomically.

use std::path::{Path, PathBuf};

use berth_core::{atomic_file, owner_only, ApiError, BerthPaths, ErrorCode};
use berth_engine::remote::ssh::SshTarget;
use berth_engine::{Endpoint, TlsFiles};
use serde::{Deserialize, Serialize};

/// One remote engine as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteEngine {
    pub name: String,
    /// `ssh://[user@]host[:port]` or `tcp://host:port`.
    pub host: String,
    /// Berth's copies of the CA, certificate and key, for a `tcp://` engine with TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsFiles>,
}

impl RemoteEngine {
    pub fn endpoint(&self) -> Endpoint {
        match &self.tls {
            Some(tls) => Endpoint::Tls {
                host: self.host.clone(),
                tls: tls.clone(),
            },
            None => Endpoint::Host(self.host.clone()),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StoredRemotes {
    #[serde(default)]
    remotes: Vec<RemoteEngine>,
    /// Keys a later Berth wrote, kept as they were.
    #[serde(flatten)]
    other: serde_json::Map<String, serde_json::Value>,
}

/// The file and folder of one Berth's remote engines.
#[derive(Debug, Clone)]
pub struct RemoteStore {
    file: PathBuf,
    tls_root: PathBuf,
}

impl RemoteStore {
    pub fn new(paths: &BerthPaths) -> RemoteStore {
        RemoteStore {
            file: paths.config_dir.join("remote-engines.json"),
            tls_root: paths.config_dir.join("remote-engines"),
        }
    }

    /// Every stored remote, in the order added. A missing file is an empty list; a file that
    /// cannot be read as ours is an error naming it, never silently emptied.
    pub fn list(&self) -> Result<Vec<RemoteEngine>, ApiError> {
        Ok(self.read()?.remotes)
    }

    pub fn get(&self, name: &str) -> Result<Option<RemoteEngine>, ApiError> {
        Ok(self.list()?.into_iter().find(|r| r.name == name))
    }

    /// Adds `remote` (its TLS files copied into Berth's folder first); an existing name is a
    /// conflict.
    pub fn add(&self, mut remote: RemoteEngine) -> Result<RemoteEngine, ApiError> {
        let mut stored = self.read()?;
        if stored.remotes.iter().any(|r| r.name == remote.name) {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!("a remote engine named {} exists already", remote.name),
            ));
        }
        if let Some(tls) = &remote.tls {
            remote.tls = Some(self.copy_tls(&remote.name, tls)?);
        }
        stored.remotes.push(remote.clone());
        self.write(&stored)?;
        Ok(remote)
    }

    /// Removes `name` and its TLS files; `NotFound` when there is no such remote.
    pub fn remove(&self, name: &str) -> Result<RemoteEngine, ApiError> {
        let mut stored = self.read()?;
        let Some(at) = stored.remotes.iter().position(|r| r.name == name) else {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("no remote engine named {name}"),
            ));
        };
        let removed = stored.remotes.remove(at);
        self.write(&stored)?;
        let dir = self.tls_root.join(name);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&dir, e)),
        }
        Ok(removed)
    }

    fn copy_tls(&self, name: &str, files: &TlsFiles) -> Result<TlsFiles, ApiError> {
        let dir = self.tls_root.join(name);
        owner_only::create_dir(&self.tls_root).map_err(|e| io_error(&self.tls_root, e))?;
        owner_only::create_dir(&dir).map_err(|e| io_error(&dir, e))?;
        let copy = TlsFiles::in_dir(&dir);
        for (from, to) in [
            (&files.ca, &copy.ca),
            (&files.cert, &copy.cert),
            (&files.key, &copy.key),
        ] {
            let bytes = std::fs::read(from).map_err(|e| io_error(from, e))?;
            atomic_file::write(to, &bytes, owner_only::FILE_MODE).map_err(|e| io_error(to, e))?;
        }
        Ok(copy)
    }

    fn read(&self) -> Result<StoredRemotes, ApiError> {
        let text = match std::fs::read_to_string(&self.file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(StoredRemotes::default())
            }
            Err(e) => return Err(io_error(&self.file, e)),
        };
        serde_json::from_str(&text).map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidSettings,
                format!(
                    "{} is not a list of remote engines: {e}",
                    self.file.display()
                ),
            )
        })
    }

    fn write(&self, stored: &StoredRemotes) -> Result<(), ApiError> {
        let text = serde_json::to_string_pretty(stored)
            .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        if let Some(dir) = self.file.parent() {
            owner_only::create_dir(dir).map_err(|e| io_error(dir, e))?;
        }
        atomic_file::write(&self.file, text.as_bytes(), owner_only::FILE_MODE)
            .map_err(|e| io_error(&self.file, e))
    }
}

fn io_error(path: &Path, e: std::io::Error) -> ApiError {
    ApiError::new(
        ErrorCode::Io,
        format!("cannot access {}: {e}", path.display()),
    )
}

/// A name the docker CLI accepts for a context (`^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$`), and not one
/// Berth or the CLI keeps for itself.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    let invalid = |why: &str| {
        ApiError::new(
            ErrorCode::InvalidInput,
            format!("invalid engine name {name:?}: {why}"),
        )
    };
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "_.+-".contains(c));
    if !first_ok || !rest_ok || name.len() < 2 {
        return Err(invalid(
            "use two or more letters, digits, '_', '.', '+' or '-', starting with a letter or digit",
        ));
    }
    if name == crate::CONTEXT_NAME || name == "default" || name.starts_with("berth-") {
        return Err(invalid(
            "the name is kept for Berth's own engines and the docker default",
        ));
    }
    Ok(())
}

/// Checks a remote's address (and that TLS files go with `tcp://` only) before anything is
/// dialled.
pub fn check_host(host: &str, tls: Option<&TlsFiles>) -> Result<(), ApiError> {
    let invalid = |why: String| {
        ApiError::new(
            ErrorCode::InvalidInput,
            format!("invalid remote address {host:?}: {why}"),
        )
    };
    if host.starts_with("ssh://") {
        if tls.is_some() {
            return Err(invalid(
                "TLS files go with tcp:// engines, not ssh://".into(),
            ));
        }
        return SshTarget::parse(host)
            .map(|_| ())
            .map_err(|e| invalid(e.to_string()));
    }
    let Some(host_port) = host.strip_prefix("tcp://") else {
        return Err(invalid(
            "use ssh://[user@]host[:port] or tcp://host:port".into(),
        ));
    };
    let host_port = host_port.strip_suffix('/').unwrap_or(host_port);
    match host_port.rsplit_once(':') {
        Some((h, port)) if !h.is_empty() && port.parse::<u16>().is_ok_and(|p| p != 0) => Ok(()),
        _ => Err(invalid(
            "tcp:// needs host:port, e.g. tcp://build.example:2376".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(name: &str) -> RemoteEngine {
        RemoteEngine {
            name: name.into(),
            host: "ssh://me@h".into(),
            tls: None,
        }
    }

    #[test]
    fn names_follow_the_clis_rule_and_keep_berths_own() {
        for ok in ["build", "b1", "my.host-2_x+y"] {
            check_name(ok).unwrap();
        }
        for bad in [
            "",
            "a",
            "-x",
            "a b",
            "a/b",
            "berth",
            "default",
            "berth-dev",
            "é1",
        ] {
            assert_eq!(
                check_name(bad).unwrap_err().code,
                ErrorCode::InvalidInput,
                "{bad}"
            );
        }
    }

    #[test]
    fn hosts_are_checked_before_dialling() {
        check_host("ssh://me@h:22", None).unwrap();
        check_host("tcp://h:2376", None).unwrap();
        let tls = TlsFiles::in_dir(Path::new("/c"));
        check_host("tcp://h:2376", Some(&tls)).unwrap();
        for bad in [
            "h:22",
            "ssh://",
            "tcp://h",
            "tcp://:2376",
            "unix:///s",
            "http://h:1",
        ] {
            assert!(check_host(bad, None).is_err(), "{bad}");
        }
        assert!(check_host("ssh://h", Some(&tls)).is_err());
    }

    #[test]
    fn add_list_remove_keep_files_private_and_other_keys() {
        let home = tempfile::tempdir().unwrap();
        let paths = BerthPaths::under(home.path());
        let store = RemoteStore::new(&paths);
        assert!(store.list().unwrap().is_empty());
        let src = home.path().join("src");
        std::fs::create_dir(&src).unwrap();
        let files = TlsFiles::in_dir(&src);
        for p in [&files.ca, &files.cert, &files.key] {
            std::fs::write(p, "pem").unwrap();
        }
        store.add(remote("one")).unwrap();
        let two = RemoteEngine {
            name: "two".into(),
            host: "tcp://h:2376".into(),
            tls: Some(files),
        };
        let stored = store.add(two).unwrap();
        let copy = stored.tls.clone().unwrap();
        assert!(copy
            .key
            .starts_with(paths.config_dir.join("remote-engines/two")));
        assert_eq!(berth_testkit::file_mode(&copy.key), 0o600);
        assert_eq!(berth_testkit::file_mode(&store.file), 0o600);
        assert_eq!(
            store.add(remote("one")).unwrap_err().code,
            ErrorCode::Conflict
        );
        // A key a later Berth wrote survives our writes.
        let text = std::fs::read_to_string(&store.file).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["future"] = serde_json::json!(1);
        std::fs::write(&store.file, v.to_string()).unwrap();
        store.remove("two").unwrap();
        assert!(!copy.key.exists());
        let names: Vec<_> = store.list().unwrap().into_iter().map(|r| r.name).collect();
        assert_eq!(names, ["one"]);
        let text = std::fs::read_to_string(&store.file).unwrap();
        assert!(text.contains("future"), "{text}");
        assert_eq!(store.remove("two").unwrap_err().code, ErrorCode::NotFound);
        std::fs::write(&store.file, "[1]").unwrap();
        assert_eq!(store.list().unwrap_err().code, ErrorCode::InvalidSettings);
    }
}
