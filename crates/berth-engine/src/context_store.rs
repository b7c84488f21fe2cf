//! The docker CLI's own context store, read and written in its format so that
//! `docker --context NAME` and Berth agree on every context.
//!
//! Layout: `$DOCKER_CONFIG/contexts/meta/<sha256 hex of name>/meta.json` holding
//! `{"Name":..,"Metadata":{..},"Endpoints":{"docker":{"Host":"unix://..","SkipTLSVerify":false}}}`;
//! the current context is `currentContext` in `$DOCKER_CONFIG/config.json`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::remote::tls::TlsFiles;
use crate::EngineError;

/// The name the CLI uses for "no stored context: DOCKER_HOST or the default socket".
pub const DEFAULT_CONTEXT: &str = "default";

/// One docker context: its name and the docker endpoint it points at.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DockerContext {
    pub name: String,
    pub description: Option<String>,
    /// A DOCKER_HOST-style address: `unix:///path`, `tcp://host:port`, ...
    pub host: String,
    pub skip_tls_verify: bool,
}

/// The directory holding `config.json` and `contexts/`.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextStore {
    config_dir: PathBuf,
}

impl ContextStore {
    pub fn new(config_dir: impl Into<PathBuf>) -> Self {
        ContextStore {
            config_dir: config_dir.into(),
        }
    }

    /// `$DOCKER_CONFIG`, else `~/.docker`, as the CLI does ([`berth_core::paths::docker_config_dir`]).
    pub fn from_env() -> Self {
        Self::new(
            berth_core::paths::docker_config_dir().unwrap_or_else(|| PathBuf::from("/.docker")),
        )
    }

    pub fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    pub fn meta_path(&self, name: &str) -> PathBuf {
        self.meta_root()
            .join(context_dir_name(name))
            .join("meta.json")
    }

    fn meta_root(&self) -> PathBuf {
        self.config_dir.join("contexts").join("meta")
    }

    fn config_path(&self) -> PathBuf {
        self.config_dir.join("config.json")
    }

    /// Reads one stored context; `NotFound` when it does not exist.
    pub fn read(&self, name: &str) -> Result<DockerContext, EngineError> {
        let path = self.meta_path(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(EngineError::NotFound {
                    message: format!("docker context {name}"),
                })
            }
            Err(e) => return Err(EngineError::io(&path, e)),
        };
        parse_meta(&text)
    }

    /// Writes (creates or replaces) a context, atomically, keeping other metadata and
    /// endpoints already in its meta.json.
    pub fn write(&self, ctx: &DockerContext) -> Result<(), EngineError> {
        if ctx.name.is_empty() || ctx.name == DEFAULT_CONTEXT {
            return Err(EngineError::invalid(
                "context name",
                "must be non-empty and not \"default\"",
            ));
        }
        let path = self.meta_path(&ctx.name);
        let existing = std::fs::read_to_string(&path).ok();
        let text = render_meta(ctx, existing.as_deref());
        write_atomic(&path, text.as_bytes())
    }

    /// Every stored context, sorted by name (the implicit `default` is not listed).
    pub fn list(&self) -> Result<Vec<DockerContext>, EngineError> {
        let root = self.meta_root();
        let entries = match std::fs::read_dir(&root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(EngineError::io(&root, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let meta = entry.map_err(|e| EngineError::io(&root, e))?.path();
            if let Ok(text) = std::fs::read_to_string(meta.join("meta.json")) {
                out.push(parse_meta(&text)?);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Where the CLI keeps a context's TLS files for its docker endpoint.
    pub fn tls_dir(&self, name: &str) -> PathBuf {
        self.config_dir
            .join("contexts")
            .join("tls")
            .join(context_dir_name(name))
            .join("docker")
    }

    /// The context's TLS files (`ca.pem`, `cert.pem`, `key.pem`) when all three are there.
    pub fn tls_files(&self, name: &str) -> Option<TlsFiles> {
        Some(TlsFiles::in_dir(&self.tls_dir(name))).filter(TlsFiles::exist)
    }

    /// Copies `files` into the context's TLS dir, readable by the owner only, so that
    /// `docker --context NAME` verifies the engine as Berth does.
    pub fn write_tls(&self, name: &str, files: &TlsFiles) -> Result<(), EngineError> {
        let dir = self.tls_dir(name);
        berth_core::owner_only::create_dir(&dir).map_err(|e| EngineError::io(&dir, e))?;
        let stored = TlsFiles::in_dir(&dir);
        for (from, to) in [
            (&files.ca, &stored.ca),
            (&files.cert, &stored.cert),
            (&files.key, &stored.key),
        ] {
            let bytes = std::fs::read(from).map_err(|e| EngineError::io(from, e))?;
            berth_core::atomic_file::write(to, &bytes, berth_core::owner_only::FILE_MODE)
                .map_err(|e| EngineError::io(to, e))?;
        }
        Ok(())
    }

    /// Removes a context (its meta and tls dirs); unsets it if it was current.
    pub fn remove(&self, name: &str) -> Result<(), EngineError> {
        let dir = self.meta_root().join(context_dir_name(name));
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(EngineError::NotFound {
                    message: format!("docker context {name}"),
                })
            }
            Err(e) => return Err(EngineError::io(&dir, e)),
        }
        let tls = self
            .config_dir
            .join("contexts")
            .join("tls")
            .join(context_dir_name(name));
        let _ = std::fs::remove_dir_all(tls);
        if self.current()?.as_deref() == Some(name) {
            self.set_current(None)?;
        }
        Ok(())
    }

    /// `currentContext` of config.json; `None` when unset, empty or "default".
    pub fn current(&self) -> Result<Option<String>, EngineError> {
        let path = self.config_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(current_in_config(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(EngineError::io(&path, e)),
        }
    }

    /// Sets (`Some`) or unsets (`None`) `currentContext`, keeping every other key of config.json.
    pub fn set_current(&self, name: Option<&str>) -> Result<(), EngineError> {
        let path = self.config_path();
        let existing = match std::fs::read_to_string(&path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(EngineError::io(&path, e)),
        };
        let text = set_current_in_config(existing.as_deref(), name)?;
        write_atomic(&path, text.as_bytes())
    }
}

/// The directory name the CLI uses for a context: the hex sha256 of its name.
pub fn context_dir_name(name: &str) -> String {
    hex::encode(Sha256::digest(name.as_bytes()))
}

/// Parses a meta.json.
pub fn parse_meta(text: &str) -> Result<DockerContext, EngineError> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| EngineError::invalid("context meta.json", e.to_string()))?;
    let name = v["Name"]
        .as_str()
        .ok_or_else(|| EngineError::invalid("context meta.json", "no Name"))?
        .to_string();
    let docker = &v["Endpoints"]["docker"];
    Ok(DockerContext {
        name,
        description: v["Metadata"]["Description"]
            .as_str()
            .filter(|d| !d.is_empty())
            .map(str::to_string),
        host: docker["Host"].as_str().unwrap_or_default().to_string(),
        skip_tls_verify: docker["SkipTLSVerify"].as_bool().unwrap_or(false),
    })
}

/// Renders a meta.json for `ctx`, merged into `existing` (so keys we do not model survive).
pub fn render_meta(ctx: &DockerContext, existing: Option<&str>) -> String {
    let mut root = existing
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .and_then(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .unwrap_or_default();
    root.insert("Name".into(), Value::String(ctx.name.clone()));
    let metadata = object_entry(&mut root, "Metadata");
    match &ctx.description {
        Some(d) => metadata.insert("Description".into(), Value::String(d.clone())),
        None => metadata.remove("Description"),
    };
    let endpoints = object_entry(&mut root, "Endpoints");
    let docker = object_entry(endpoints, "docker");
    docker.insert("Host".into(), Value::String(ctx.host.clone()));
    docker.insert("SkipTLSVerify".into(), Value::Bool(ctx.skip_tls_verify));
    Value::Object(root).to_string()
}

fn object_entry<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = map
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(m) => m,
        _ => unreachable!("slot was just made an object"),
    }
}

/// `currentContext` of a config.json text; `None` when unset, empty, "default" or unparsable.
pub fn current_in_config(text: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text).ok()?;
    v["currentContext"]
        .as_str()
        .filter(|c| !c.is_empty() && *c != DEFAULT_CONTEXT)
        .map(str::to_string)
}

/// Returns config.json with `currentContext` set or removed, every other key unchanged.
pub fn set_current_in_config(
    existing: Option<&str>,
    name: Option<&str>,
) -> Result<String, EngineError> {
    let mut root = match existing.map(str::trim).filter(|t| !t.is_empty()) {
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err(EngineError::invalid("config.json", "not a JSON object")),
            Err(e) => return Err(EngineError::invalid("config.json", e.to_string())),
        },
    };
    match name.filter(|n| *n != DEFAULT_CONTEXT) {
        Some(n) => root.insert("currentContext".into(), Value::String(n.to_string())),
        None => root.remove("currentContext"),
    };
    serde_json::to_string_pretty(&Value::Object(root))
        .map_err(|e| EngineError::invalid("config.json", e.to_string()))
}

/// Writes via a temp file in the same directory and a rename, so readers never see half a file.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).map_err(|e| EngineError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| EngineError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(name: &str, host: &str) -> DockerContext {
        DockerContext {
            name: name.into(),
            description: Some("Berth engine".into()),
            host: host.into(),
            skip_tls_verify: false,
        }
    }

    #[test]
    fn dir_name_is_sha256_hex_of_name() {
        assert_eq!(
            context_dir_name("berth"),
            "5c2f64c7f21efd5fb5e3d6a499abe5eacb248ae6f6f0085387c9a056d10ef5fd"
        );
        assert_eq!(
            context_dir_name(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn render_meta_golden() {
        let text = render_meta(&ctx("berth", "unix:///run/berth/docker.sock"), None);
        assert_eq!(
            text,
            r#"{"Endpoints":{"docker":{"Host":"unix:///run/berth/docker.sock","SkipTLSVerify":false}},"Metadata":{"Description":"Berth engine"},"Name":"berth"}"#
        );
        assert_eq!(
            parse_meta(&text).unwrap(),
            ctx("berth", "unix:///run/berth/docker.sock")
        );
    }

    #[test]
    fn render_meta_keeps_unknown_keys() {
        let existing = r#"{"Name":"x","Metadata":{"Owner":"me"},"Endpoints":{"docker":{"Host":"tcp://a:1"},"kubernetes":{"k":1}}}"#;
        let text = render_meta(&ctx("x", "unix:///s"), Some(existing));
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["Metadata"]["Owner"], "me");
        assert_eq!(v["Endpoints"]["kubernetes"]["k"], 1);
        assert_eq!(v["Endpoints"]["docker"]["Host"], "unix:///s");
    }

    #[test]
    fn parse_meta_as_the_cli_writes_it() {
        let cli = r#"{"Name":"remote","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://10.0.0.2:2375","SkipTLSVerify":true}}}"#;
        let c = parse_meta(cli).unwrap();
        assert_eq!(c.name, "remote");
        assert_eq!(c.description, None);
        assert_eq!(c.host, "tcp://10.0.0.2:2375");
        assert!(c.skip_tls_verify);
        assert_eq!(
            parse_meta("{}").unwrap_err().code(),
            berth_core::ErrorCode::InvalidInput
        );
    }

    #[test]
    fn set_current_keeps_other_keys() {
        let existing = r#"{"auths":{"r:5000":{"auth":"eA=="}},"credsStore":"berth"}"#;
        let text = set_current_in_config(Some(existing), Some("berth")).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["currentContext"], "berth");
        assert_eq!(v["auths"]["r:5000"]["auth"], "eA==");
        assert_eq!(v["credsStore"], "berth");
        assert_eq!(current_in_config(&text).as_deref(), Some("berth"));

        let unset = set_current_in_config(Some(&text), None).unwrap();
        let v: Value = serde_json::from_str(&unset).unwrap();
        assert!(v.get("currentContext").is_none());
        assert_eq!(v["credsStore"], "berth");
        assert_eq!(current_in_config(&unset), None);
    }

    #[test]
    fn set_current_default_means_unset_and_bad_config_is_refused() {
        let text = set_current_in_config(None, Some("default")).unwrap();
        assert_eq!(text, "{}");
        assert!(set_current_in_config(Some("[1]"), Some("x")).is_err());
        assert!(set_current_in_config(Some("{nope"), Some("x")).is_err());
    }

    #[test]
    fn store_write_list_current_remove_roundtrip() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContextStore::new(dir.path());
        std::fs::write(dir.path().join("config.json"), r#"{"auths":{}}"#).unwrap();
        store.write(&ctx("berth", "unix:///a.sock")).unwrap();
        store.write(&ctx("alpha", "tcp://127.0.0.1:1")).unwrap();
        assert!(store.meta_path("berth").ends_with(format!(
            "contexts/meta/{}/meta.json",
            context_dir_name("berth")
        )));
        let names: Vec<_> = store.list().unwrap().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["alpha", "berth"]);
        store.set_current(Some("berth")).unwrap();
        assert_eq!(store.current().unwrap().as_deref(), Some("berth"));
        store.remove("berth").unwrap();
        assert_eq!(store.current().unwrap(), None);
        assert_eq!(
            store.read("berth").unwrap_err().code(),
            berth_core::ErrorCode::NotFound
        );
        let cfg = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
        assert!(cfg.contains("auths"));
        assert!(store.write(&ctx("default", "unix:///x")).is_err());
    }
}
